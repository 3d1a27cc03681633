"""``copyavg thresholds --certify`` (copyavg.proofs.change_points): the change points of any k,
located and then proved by the stability certificates, one k or a batch appended to a table.

Independent route: the committed table docs/results/thresholds_erf2_k10.txt was produced by the
dense Hessian route (every n, float64 eigenvalues of the full Hessian), not by the symmetry blocks
or the bisection that the certificates use. Wrong claims (a change point shifted by one) must come
out refuted, never proved. About 3 s of CPU in all (small k: each certificate ~0.1 s).
"""

import json

import pytest

from copyavg.cli.main import main as cli
from copyavg.proofs.stability import ca_stability_change, pnc_ca_loss_crossing, pnc_stability_change

from test_thresholds_locate import _committed_brackets

NAMES = {"pnc_minimum": 1, "ca_saddle": 3, "loss_crossing": 5}  # table columns of the n


def _rows(path):
    return {int(line.split()[0]): line.split() for line in path.read_text().splitlines()
            if line.strip() and not line.startswith("#")}


def test_batch_table_proves_the_dense_change_points_and_resumes(tmp_path, capsys):
    out = tmp_path / "t.txt"
    assert cli(["thresholds", "--k", "9..10", "--certify", "--out", str(out), "--quiet"]) == 0
    rows = _rows(out)
    assert sorted(rows) == [9, 10]
    want = _committed_brackets(10)
    for which, col in NAMES.items():
        assert int(rows[10][col]) == want[which][0]
        assert rows[10][col + 1] == "proved"
    text = out.read_text()
    assert "not part of the certificate" in text  # the locate premise is stated in the table
    # a rerun skips the k already in the file and appends only the new one
    assert cli(["thresholds", "--k", "9..11:2", "--certify", "--out", str(out), "--quiet"]) == 0
    assert sorted(_rows(out)) == [9, 10, 11]
    assert out.read_text().startswith(text)
    assert "1 already in" in capsys.readouterr().out


def test_single_k_text_and_json(capsys):
    assert cli(["thresholds", "--k", "7", "--certify", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.count(" proved ") == 3 and "is not part of the" in " ".join(out.split())
    assert all(len(line) <= 100 for line in out.splitlines())
    assert cli(["thresholds", "--k", "7", "--certify", "--quiet", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)["results"][0]
    assert {w: c["status"] for w, c in res["certificates"].items()} == dict.fromkeys(NAMES, "proved")


@pytest.mark.parametrize("argv, needle", [
    (["--k", "5..20"], "--certify"),
    (["--k", "10", "--out", "x.txt"], "--certify"),
    (["--k", "4", "--certify"], "5 <= k"),
    (["--k", "9..5", "--certify"], "A <= B"),
    (["--k", "10", "--certify", "--activation", "erf"], "erf2 only"),
    (["--k", "10", "--certify", "--grid", "3"], "--grid"),
])
def test_bad_arguments_one_line(capsys, argv, needle):
    assert cli(["thresholds", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err


def test_shifted_claims_are_refuted_not_proved():
    """At k = 10 the changes are at 5/6 (P-n-C), 8/9 (CA), 7/8 (losses), by the dense table: one
    step off, a side is certified to be the other outcome, so the claim is refuted."""
    assert _committed_brackets(10) == {"pnc_minimum": (5, 6), "ca_saddle": (8, 9), "loss_crossing": (7, 8)}
    for cert in (pnc_stability_change(10, 4), pnc_stability_change(10, 6), ca_stability_change(10, 7),
                 pnc_ca_loss_crossing(10, 6), pnc_ca_loss_crossing(10, 8)):
        assert cert.status.value == "refuted", (cert.theorem, cert.residual)
    with pytest.raises(ValueError, match="3 <= n"):
        pnc_stability_change(10, 2)


def test_cli_reports_a_wrong_location_as_refuted(monkeypatch, capsys):
    """A locate step that is off by one (simulated) must not yield "proved": the CLI prints refuted
    with the witness and exits 1; a located n outside the certificates' range is undecided."""
    from copyavg.numeric import thresholds_locate

    def wrong(k, activation="erf2", **kw):
        return {"brackets": {"pnc_minimum": (4, 5), "ca_saddle": (8, 9), "loss_crossing": (2, 3)},
                "consistent": True, "evaluated": 0, "rows": []}

    monkeypatch.setattr(thresholds_locate, "locate", wrong)
    assert cli(["thresholds", "--k", "10", "--certify", "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "n = 4/5  refuted" in out and "5: 'saddle'" in out  # witness: n = 5 certified a saddle
    assert "n = 8/9  proved" in out
    assert "n = 2/3  undecided" in out and "outside 3 <= n" in out
