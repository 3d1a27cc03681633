"""Teacher files (``copyavg.experiments.teacher``) and the model options of ``flow`` and ``sweep``
(``--teacher``, ``--train``, ``--a-fixed``): every bad file or option is one line on stderr with a
non-zero exit before any work; a custom teacher is really the one used (Monte Carlo check of the
loss); runs with a fixed second layer or another teacher are stored apart from the default runs."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pytest

from copyavg.cli.main import main as cli
from copyavg.experiments.teacher import Teacher, load_teacher, orthonormal_teacher


def _json_file(tmp_path, obj, name="t.json"):
    p = tmp_path / name
    p.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return str(p)


def _one_error_line(capsys, *needles):
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


GOOD = {"b": [1.0, -0.5], "V": [[0.6, 0.8, 0.0], [0.0, 0.3, -1.2]]}


def test_load_json_and_npz(tmp_path):
    t = load_teacher(_json_file(tmp_path, GOOD))
    assert (t.k, t.d) == (2, 3) and t.b.tolist() == GOOD["b"] and t.V.tolist() == GOOD["V"]
    p = tmp_path / "t.npz"
    np.savez(p, b=np.array(GOOD["b"]), V=np.array(GOOD["V"]))
    t2 = load_teacher(p, d=3)
    assert t2.digest == t.digest and not t.unit_orthonormal and t.store_options() == {"teacher_sha256": t.digest}
    o = orthonormal_teacher(3, 4)
    assert o.unit_orthonormal and o.store_options() == {}
    assert Teacher(np.ones(2), 2 * np.eye(2, 3)).digest != orthonormal_teacher(2, 3).digest


@pytest.mark.parametrize("content,needle", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "must hold a JSON object"),
    ({"b": [1.0], "V": [[1.0, 0.0]], "c": [0.0]}, "teacher biases (key 'c') are not supported yet"),
    ({"b": [1.0], "V": [[1.0, 0.0]], "x": 1}, "unknown key(s) 'x'"),
    ({"V": [[1.0, 0.0]]}, "missing key(s) 'b'"),
    ({"b": [1.0, 2.0], "V": [[1.0, 0.0]]}, "b has 2 entries but V has 1 rows"),
    ({"b": [[1.0]], "V": [[1.0, 0.0]]}, "b must have shape (k,)"),
    ({"b": [1.0], "V": [1.0, 0.0]}, "V must have shape (k, d)"),
    ({"b": [1.0], "V": [[1.0], [0.0, 1.0]]}, "V must be a real numeric array"),
    ({"b": ["1"], "V": [[1.0, 0.0]]}, "b must be a real numeric array"),
    ({"b": [True], "V": [[1.0, 0.0]]}, "b must be a real numeric array"),
    ('{"b": [NaN], "V": [[1.0, 0.0]]}', "b must be finite"),
    ({"b": [1.0], "V": [[1e300, 0.0]]}, "V"),  # beyond the erf family's norm limit
    ({"b": [], "V": []}, "V must have shape (k, d)"),
])
def test_bad_json_files(tmp_path, content, needle):
    with pytest.raises(ValueError) as exc:
        load_teacher(_json_file(tmp_path, content))
    msg = str(exc.value)
    assert needle in msg and msg.startswith("teacher file ") and "\n" not in msg


def test_bad_files_and_d_mismatch(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        load_teacher(tmp_path / "missing.json")
    with pytest.raises(ValueError, match="extension must be .npz or .json"):
        load_teacher(tmp_path / "t.txt")
    with pytest.raises(ValueError, match="is a directory"):
        (tmp_path / "dir.json").mkdir()
        load_teacher(tmp_path / "dir.json")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip archive")
    with pytest.raises(ValueError, match="cannot read it|not a readable .npz"):
        load_teacher(bad)
    nan = tmp_path / "nan.npz"
    np.savez(nan, b=np.array([np.nan]), V=np.eye(1, 2))
    with pytest.raises(ValueError, match="b must be finite"):
        load_teacher(nan)
    obj = tmp_path / "obj.npz"
    np.savez(obj, b=np.array([1.0]), V=np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="V must be a real numeric array"):
        load_teacher(obj)
    with pytest.raises(ValueError, match="V has d = 3 columns but d = 4"):
        load_teacher(_json_file(tmp_path, GOOD), d=4)
    with pytest.raises(ValueError, match="teacher file .*norm <= 16 for the trig family"):
        load_teacher(_json_file(tmp_path, {"b": [1.0], "V": [[20.0, 0.0]]}), activation="sin")


@pytest.mark.parametrize("extra,needles", [
    (["--teacher", "{missing}"], ["teacher file", "no such file"]),
    (["--teacher", "{good}", "--d", "4"], ["d = 4"]),
    (["--teacher", "{good}", "--k", "3"], ["--k 3 differs from k = 2"]),
    (["--teacher", "{bias}"], ["teacher biases"]),
    (["--a-fixed", "2"], ["--a-fixed needs --train W"]),
    (["--train", "W", "--a-fixed", "0"], ["--a-fixed must be non-zero"]),
    (["--train", "W", "--a-fixed", "nan"], ["--a-fixed must satisfy"]),
    (["--train", "W", "--a-fixed", "1e9"], ["--a-fixed must satisfy"]),
])
@pytest.mark.parametrize("command", ["flow", "sweep"])
def test_cli_errors_before_work(tmp_path, capsys, monkeypatch, command, extra, needles):
    def no_work(*args, **kwargs):
        raise AssertionError("the work started before the options were checked")

    monkeypatch.setattr("copyavg.experiments.sweep.run_one", no_work)
    monkeypatch.setattr("copyavg.experiments.sweep.sweep", no_work)
    files = {"{missing}": str(tmp_path / "none.json"), "{good}": _json_file(tmp_path, GOOD),
             "{bias}": _json_file(tmp_path, {"b": [1.0, 1.0], "V": [[1, 0], [0, 1]], "c": [0, 0]}, "b.json")}
    argv = [command, "--n", "1"] + [files.get(a, a) for a in extra]
    if "--teacher" not in extra:
        argv += ["--k", "2"]
    if command == "sweep":
        argv += ["--out", str(tmp_path / "s.sqlite")]
    t0 = time.perf_counter()
    assert cli(argv) != 0
    assert time.perf_counter() - t0 < 5
    _one_error_line(capsys, *needles)
    assert not (tmp_path / "s.sqlite").exists()


def test_cli_k_required_without_teacher(capsys):
    assert cli(["flow", "--n", "1"]) == 2
    _one_error_line(capsys, "--k is required")


@pytest.mark.parametrize("argv", [["ca", "--k", "3", "--partition", "1,2"], ["pnc", "--k", "3", "--n", "1"],
                                  ["thresholds", "--k", "3"], ["one-neuron", "--m", "2"]])
def test_orthonormal_only_commands_do_not_offer_teacher(capsys, argv):
    """These commands are about the unit-orthonormal teacher (CA and P-n-C points): no --teacher."""
    assert cli(argv + ["--teacher", "x.json"]) == 2
    # one-neuron: argparse reads --teacher as an abbreviation of its --teacher-norm (a number)
    needle = "--teacher-norm: invalid float value" if argv[0] == "one-neuron" else "unrecognized arguments: --teacher"
    _one_error_line(capsys, needle)


def test_flow_uses_the_file_teacher(tmp_path):
    """The loss of the endpoint against the file's teacher, by Monte Carlo (5 standard errors)."""
    from copyavg.experiments.sweep import RunSpec, run_one

    t = load_teacher(_json_file(tmp_path, GOOD), activation="erf2")
    rec = run_one(RunSpec("erf2", 2, 1, 3, 0), {"train": "W", "a_fixed": 0.8}, t)
    assert rec["status"] == "converged" and rec["train"] == "W" and rec["a_fixed"] == 0.8
    assert rec["teacher_sha256"] == t.digest and rec["endpoint"] == "unclassified"
    from scipy.special import erf

    a, W = np.array(rec["a"]), np.array(rec["W"])
    assert a.tolist() == [0.8]
    X = np.random.default_rng(5).standard_normal((400_000, 3))
    r = erf(X @ W.T / math.sqrt(2)) @ a - erf(X @ t.V.T / math.sqrt(2)) @ t.b
    mc, se = np.mean(r ** 2), np.std(r ** 2) / math.sqrt(len(r))
    assert abs(rec["loss"] - mc) <= 5 * se
    # and not the loss against the default teacher (which is far off: > 20 standard errors)
    r0 = erf(X @ W.T / math.sqrt(2)) @ a - erf(X[:, :2] / math.sqrt(2)).sum(axis=1)
    assert abs(rec["loss"] - np.mean(r0 ** 2)) > 20 * se


def test_cli_flow_with_teacher_and_fixed_a(tmp_path, capsys):
    path = _json_file(tmp_path, GOOD)
    assert cli(["flow", "--teacher", path, "--n", "2", "--train", "W", "--json", "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["train"] == "W" and out["a_fixed"] == 1.0 and out["endpoint"] == "unclassified"
    assert out["grad_max"] <= 1e-12 and out["teacher_sha256"] == load_teacher(path).digest


def test_sweep_stores_modes_apart(tmp_path, capsys):
    from copyavg.experiments.store import open_store

    store = str(tmp_path / "s.sqlite")
    base = ["sweep", "--k", "2", "--n", "1", "--seeds", "1", "--workers", "1", "--out", store, "--quiet"]
    ortho = _json_file(tmp_path, {"b": [1, 1], "V": [[1, 0, 0], [0, 1, 0]]}, "ortho.json")
    assert cli(base) == 0
    assert cli(base + ["--train", "W"]) == 0
    assert cli(base + ["--train", "W", "--a-fixed", "2"]) == 0
    assert cli(["sweep", "--teacher", _json_file(tmp_path, GOOD), "--n", "1", "--seeds", "1", "--workers", "1",
                "--out", store, "--quiet"]) == 0
    assert cli(base[:1] + ["--teacher", ortho] + base[3:]) == 0  # the default teacher from a file: resumed
    out = capsys.readouterr().out
    assert out.strip().splitlines()[-1].startswith("0 runs finished")
    with open_store(store, write=False) as st:
        sets = st.flow_sets()
        rows = list(st.rows())
    assert len(sets) == 4 and sorted(c for _, c in sets.values()) == [1, 1, 1, 1]
    opts = sorted(json.dumps(p["flow_options"], sort_keys=True) for _, p in rows)
    assert '{"a_fixed": 1.0, "train": "W"}' in opts and '{"a_fixed": 2.0, "train": "W"}' in opts
    recs = {json.dumps(p["flow_options"], sort_keys=True): r for r, p in rows}
    assert recs['{"a_fixed": 2.0, "train": "W"}']["a"] == [2.0]
    assert recs["{}"]["train"] == "aW"


def test_teacher_with_more_neurons_than_dimensions(tmp_path, capsys):
    """A teacher file may have d < k (the --d >= k rule is for the orthonormal teacher)."""
    path = _json_file(tmp_path, {"b": [1, 1, 1], "V": [[1, 0], [0, 1], [0.6, 0.8]]})
    assert cli(["flow", "--teacher", path, "--n", "2", "--json", "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "converged" and out["endpoint"] == "unclassified" and out["loss"] > 0
