"""The default search of ``copyavg thresholds`` for k > 201 (copyavg.numeric.thresholds_locate) and the
change-point certificates at k > 50 (copyavg.proofs.stability, ``copyavg verify --heavy``).

Independent routes: the committed tables docs/results/thresholds_erf2_k*.txt (every n; k = 10 was
produced by the dense Hessian route), the dense loss of ``copyavg.numeric.population.Problem``, and a
synthetic row sequence with two changes (the search must say so, not hide it).
"""

import re
from pathlib import Path

import numpy as np
import pytest

from copyavg.cli.main import main as cli
from copyavg.numeric import thresholds_locate as tl
from copyavg.numeric.thresholds_locate import locate

RESULTS = Path(__file__).parents[1] / "docs/results"


def _committed_brackets(k):
    """(n, n + 1) of the last P-n-C change, the CA change and the loss crossing in the committed table."""
    text = (RESULTS / f"thresholds_erf2_k{k}.txt").read_text()
    pnc = re.findall(r"saddle \(n = (\d+)\) -> minimum \(n = (\d+)\)", text)
    ca = re.findall(r"minimum \(n = (\d+)\) -> saddle \(n = (\d+)\)", text.split("optimal-CA type changes:")[1])
    loss = re.findall(r"between n = (\d+) and n = (\d+)", text)
    pick = (lambda m: tuple(map(int, m[-1])) if m else None)
    return {"pnc_minimum": pick(pnc), "ca_saddle": pick(ca), "loss_crossing": pick(loss)}


@pytest.mark.parametrize("k", [5, 20, 50])  # k = 10, 30: same code, committed tables of the same kind
def test_located_change_points_are_those_of_the_committed_full_tables(k):
    out = locate(k, checks=0)
    assert out["brackets"] == _committed_brackets(k)
    assert out["consistent"]
    if k >= 20:
        assert out["evaluated"] <= 8  # O(log k) rows, not k - 1


def test_a_second_change_is_reported_not_hidden(monkeypatch):
    """Synthetic rows: the P-n-C point is a minimum on [10, 19] and from 60 on (two changes). The
    search from the prediction finds one of them; the evenly spaced checks contradict a single
    change, so ``consistent`` is False. Without the checks nothing is evaluated in [10, 19]."""
    def fake_row(k, n, activation, guess=None):
        mini = 10 <= n < 20 or n >= 60
        return {"n": n, "pnc_type": "minimum" if mini else "saddle", "ca_type": "minimum",
                "pnc_loss": 1.0, "ca_loss": 0.0, "pnc_alpha": 1.0, "pnc_beta": 0.0, "pnc_gamma": 0.0,
                "pnc_c": 1.0}, None

    monkeypatch.setattr(tl, "_row", fake_row)
    out = locate(100, checks=8)
    assert out["brackets"]["pnc_minimum"] == (59, 60)
    assert out["brackets"]["ca_saddle"] is None and out["brackets"]["loss_crossing"] is None
    assert not out["consistent"]
    assert locate(100, checks=0)["consistent"]  # the reason for the checks


def test_cli_says_it_bisects(capsys):
    assert cli(["thresholds", "--k", "202", "--quiet"]) == 0  # the smallest k with the search
    out = capsys.readouterr().out
    assert "bisection in n" in out and "--all evaluates every n" in out and "agree with one change each" in out
    assert all(len(line) <= 100 for line in out.splitlines())


def test_bad_input():
    with pytest.raises(ValueError, match="k must be"):
        locate(2)
    with pytest.raises(ValueError, match="checks"):
        locate(10, checks=-1)
    with pytest.raises(ValueError, match="which"):
        tl.predict(10, "nope")


def test_change_point_certificates_k1000():
    """The opt-in set at k = 1000 (each certificate ~0.5 s): all three proved."""
    from copyavg.proofs.registry import heavy_checks

    checks = heavy_checks()
    for name in ("ca-stability-change:erf2-k1000", "pnc-stability-change:erf2-k1000",
                 "pnc-ca-loss-crossing:erf2-k1000"):
        cert = checks[name]()
        assert cert.status.value == "proved", (name, cert.residual, cert.evidence)


def test_certificates_refuse_the_wrong_side():
    """Shifted by one, the claims are false (n = 45 is already a saddle at k = 50, the P-n-C loss is
    already lower at 38): refuted, with the certified side as witness."""
    from copyavg.proofs.stability import ca_stability_change, pnc_ca_loss_crossing

    assert ca_stability_change(50, 45).status.value == "refuted"  # n = 45 certified a saddle
    assert pnc_ca_loss_crossing(50, 38).status.value == "refuted"  # P-n-C certified lower at n = 38
    with pytest.raises(ValueError, match="4 <= n"):
        ca_stability_change(50, 49)


def test_mean_value_loss_encloses_the_dense_loss():
    """The P-n-C loss enclosure of the loss-crossing certificate (k = 50, n = 38) against the dense
    float64 loss at the same point: sums of ~k^2 O(1) kernel terms, error ~1e-13, so 1e-12."""
    from copyavg.numeric.pnc_reduced import solve_pnc_reduced
    from copyavg.numeric.population import Problem
    from copyavg.proofs.stability import krawczyk_pnc, pnc_loss_arb

    k, n = 50, 38
    X, info = krawczyk_pnc(k, n)
    enc = pnc_loss_arb(k, n, X)
    p = solve_pnc_reduced(k, n)
    W = np.zeros((n, k + 1))
    W[:, :n] = p["gamma"]
    W[np.arange(n), np.arange(n)] = p["alpha"]
    W[:, n:k] = p["beta"]
    dense = Problem(np.ones(k), np.eye(k, k + 1)).loss(np.full(n, p["c"]), W)
    assert float(enc.rad()) < 1e-12  # measured 9e-16 (box 1e-10 times a gradient ~1e-5 over it); the plain
    # interval loss over the same kind of box was 2e-4 wide at k = 1000, too wide to order the losses
    assert abs(float(enc.mid()) - dense) < 1e-12


@pytest.mark.slow
@pytest.mark.heavy
def test_every_opt_in_certificate_is_proved():
    """``copyavg verify --heavy`` set: k = 100 ... 10^4 (~10 s)."""
    from copyavg.proofs.registry import heavy_checks

    for name, check in heavy_checks().items():
        cert = check()
        assert cert.status.value == "proved", (name, cert.residual, cert.evidence)
