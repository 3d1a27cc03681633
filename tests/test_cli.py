"""The `copyavg` command behaves like a finished tool: help with defaults, --version, one-line
errors with the right exit status, checks before work (output paths, memory), strict JSON,
readable text, progress on stderr, byte-stable proofs.md, no traceback anywhere."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from importlib import resources
from importlib.metadata import version
from pathlib import Path

import pytest

from copyavg.cli import commands
from copyavg.cli.common import dumps, format_value
from copyavg.cli.main import build_parser
from copyavg.cli.main import main as cli
from copyavg.proofs.certificates import Certificate, Status
from copyavg.proofs.report import render_markdown

ROOT = Path(__file__).resolve().parents[1]
OWN_COMMANDS = ["derive", "verify", "one-neuron", "ca", "pnc", "thresholds", "flow"]


def _strict_json(text):
    def bad(const):
        raise AssertionError(f"non-strict JSON constant {const}")
    return json.loads(text, parse_constant=bad)


def _one_error_line(capsys, *needles):
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


# -- help, version ------------------------------------------------------------------------------
def _subparsers(parser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices
    raise AssertionError("no subcommands")


@pytest.mark.parametrize("name", OWN_COMMANDS)
def test_every_argument_has_help_and_its_default(name, capsys):
    sub = _subparsers(build_parser())[name]
    for action in sub._actions:
        assert action.help, f"{name} {action.dest}: no help text"
    assert cli([name, "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for action in sub._actions:
        if all(action.default is not v for v in (None, False, argparse.SUPPRESS)) and action.option_strings:
            assert f"default: {action.default}" in text, f"{name} {action.dest}: default not shown"
        if action.default is None and action.option_strings and not action.required and action.nargs != 0:
            assert "default" in action.help, f"{name} {action.dest}: what happens when not given?"
    if any(a.dest == "activation" for a in sub._actions):
        from copyavg.numeric import ACTIVATIONS

        # every catalogue name, the quadrature names and the expressions in z are listed
        assert all(n in text for n in ACTIVATIONS) and "default: erf2" in text
        assert "tanh, softplus, sigmoid, silu" in text and "expression in z" in text


def test_top_level_help_describes_copyavg_with_examples(capsys):
    assert cli(["--help"]) == 0
    out = capsys.readouterr().out
    assert "two-layer student networks" in out and "examples:" in out
    assert "copyavg flow --k" in out and "exit status" in out


def test_version(capsys):
    assert cli(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"copyavg {version('copyavg')}"


def test_version_subprocess_and_no_traceback_on_bad_command():
    r = subprocess.run([sys.executable, "-m", "copyavg.cli.main", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == f"copyavg {version('copyavg')}"
    r = subprocess.run([sys.executable, "-m", "copyavg.cli.main", "frobnicate"], capture_output=True, text=True)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_readme_documents_flow():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "copyavg flow --" in readme and "not converge" in readme


# -- argument errors: one line naming the parameter, exit 2 -------------------------------------
@pytest.mark.parametrize("argv,needle", [
    (["one-neuron", "--m", "1e308"], "--m"),
    (["one-neuron", "--m", "nan"], "--m"),
    (["one-neuron", "--m", "3", "--teacher-norm", "0"], "--teacher-norm"),
    (["one-neuron", "--m", "3", "--teacher-norm", "1e300"], "--teacher-norm"),
    (["one-neuron", "--m", "1", "--teacher-norm", "1e10"], "--teacher-norm"),  # was a ZeroDivisionError
    (["one-neuron", "--m", "3", "--teacher-norm", "1e-6"], "--teacher-norm"),  # float64 form meaningless
    (["one-neuron", "--m", "3", "--activation", "tanh(y)"], "--activation"),
    # activations whose one-neuron solution is for the unit teacher only: other norms refused
    (["one-neuron", "--m", "2", "--activation", "sin", "--teacher-norm", "2"], "--teacher-norm"),
    (["one-neuron"], "--m"),
    (["one-neuron", "--table", "t.md", "--m-max", "0"], "--m-max"),
    (["ca", "--k", "0", "--partition", "1"], "--k"),
    (["ca", "--k", "x", "--partition", "1"], "--k"),
    (["ca", "--k", "5", "--partition", "1,1"], "--partition"),
    (["ca", "--k", "5", "--partition", "5", "--d", "3"], "--d"),
    (["pnc", "--k", "10", "--n", "10"], "--n"),
    (["pnc", "--k", "10", "--n", "5", "--max-memory", "-1"], "--max-memory"),
    (["thresholds", "--k", "1"], "--k"),
    (["flow", "--k", "3", "--n", "2", "--seed", "-1"], "--seed"),
    (["flow", "--k", "3", "--n", "0"], "--n"),
    (["flow", "--k", "3", "--n", "2", "--plot", "curve.xyz"], "--plot"),
    (["verify", "--properties", "--examples", "0"], "--examples"),
    ([], "COMMAND"),
])
def test_argument_errors_are_one_line_naming_the_parameter(capsys, argv, needle):
    assert cli(argv) == 2
    line = _one_error_line(capsys, needle, "error")
    assert len(line) <= 300


def test_range_error_states_the_allowed_range(capsys):
    assert cli(["one-neuron", "--m", "1e308", "--json"]) == 2
    _one_error_line(capsys, "--m", "1 <= m <= 1e+15")


# -- strict JSON ---------------------------------------------------------------------------------
def test_one_neuron_json_is_strict_at_the_largest_m(capsys):
    assert cli(["one-neuron", "--m", "1e15", "--json"]) == 0
    out = _strict_json(capsys.readouterr().out)
    assert out["m"] == 10**15 and out["loss"] > 0


def test_non_finite_numbers_become_null():
    import numpy as np

    text = dumps({"a": float("inf"), "b": [np.float64("nan"), np.int64(3)], "c": np.array([1.0, -np.inf])})
    assert _strict_json(text) == {"a": None, "b": [None, 3], "c": [1.0, None]}


@pytest.mark.parametrize("argv", [
    ["ca", "--activation", "relu", "--k", "4", "--partition", "1,3", "--json"],
    ["pnc", "--k", "4", "--n", "2", "--json"],
    ["thresholds", "--k", "3", "--json"],
    ["flow", "--activation", "relu", "--k", "10", "--n", "1", "--seed", "1", "--json"],
    ["flow", "--activation", "sin", "--k", "3", "--n", "2", "--seed", "0", "--json"],  # loss/grad/Hessian only
    ["flow", "--activation", "hermite3", "--k", "3", "--n", "2", "--seed", "0", "--json"],
])
def test_json_output_is_strict(capsys, argv):
    assert cli(argv) in (0, 1)
    _strict_json(capsys.readouterr().out)


# -- checks before the work: output paths, memory ---------------------------------------------
@pytest.fixture
def not_a_dir(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    return f


@pytest.mark.parametrize("argv,option", [
    (["verify", "--markdown", "{bad}/report.md"], "--markdown"),
    (["flow", "--k", "10", "--n", "5", "--plot", "{bad}/curve.png"], "--plot"),
    (["derive", "--docs", "{bad}/docs"], "--docs"),
])
def test_unwritable_output_path_fails_before_the_work(capsys, monkeypatch, not_a_dir, argv, option):
    from copyavg.proofs import registry

    def no_work(*args, **kwargs):
        raise AssertionError("the work started before the output path was checked")

    monkeypatch.setattr(registry, "all_checks", lambda heavy=False: {"x": no_work})
    monkeypatch.setattr("copyavg.experiments.sweep.run_one", no_work)
    monkeypatch.setattr("copyavg.symbolic.codegen.check_generated", no_work)
    t0 = time.perf_counter()
    assert cli([a.replace("{bad}", str(not_a_dir)) for a in argv]) == 1
    assert time.perf_counter() - t0 < 5
    _one_error_line(capsys, option, "Not a directory")


@pytest.mark.parametrize("argv,needles", [
    (["ca", "--k", "100000", "--partition", "100000"], ["Hessian alone 74.5 GiB", "limit of 16.0 GiB"]),
    (["pnc", "--k", "300", "--n", "299"], ["Hessian alone 60.8 GiB", "limit of 16.0 GiB"]),
    (["thresholds", "--k", "300", "--dense"], ["GiB", "limit of 16.0 GiB"]),
    (["flow", "--k", "300", "--n", "300"], ["GiB", "limit of 16.0 GiB"]),
])
def test_too_large_is_refused_with_estimate_and_limit(capsys, argv, needles):
    t0 = time.perf_counter()
    assert cli(argv + ["--max-memory", "16"]) == 1
    assert time.perf_counter() - t0 < 5
    _one_error_line(capsys, "--max-memory", *needles)


def test_default_memory_limit_comes_from_available_memory(capsys, monkeypatch):
    monkeypatch.setattr("copyavg.cli.common.available_memory", lambda: 10 * 2.0**30)
    assert cli(["ca", "--k", "100000", "--partition", "100000"]) == 1
    _one_error_line(capsys, "limit of 8.0 GiB", "80% of available memory")


def test_small_problem_within_a_small_limit_runs(capsys):
    assert cli(["ca", "--k", "5", "--partition", "1,1,3", "--max-memory", "0.01"]) == 0


# -- Ctrl-C and the backstop ---------------------------------------------------------------------
@pytest.mark.parametrize("exc,code,needle", [
    (KeyboardInterrupt(), 130, "interrupted"),
    (RuntimeError("boom\nsecond line"), 1, "please report"),
    (MemoryError(), 1, "out of memory"),
])
def test_interrupt_and_unexpected_errors_are_one_line(capsys, monkeypatch, exc, code, needle):
    def fail(args):
        raise exc

    monkeypatch.setattr(commands, "_cmd_one_neuron", fail)
    assert cli(["one-neuron", "--m", "3"]) == code
    _one_error_line(capsys, needle)


def test_ctrl_c_exits_130_with_one_line():
    """A real SIGINT in the middle of a long command (thresholds --k 40 --dense runs for minutes)."""
    import signal

    proc = subprocess.Popen([sys.executable, "-m", "copyavg.cli.main", "thresholds", "--k", "40", "--dense", "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(4)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip() == "copyavg thresholds: interrupted"


def test_closed_pipe_is_not_a_traceback():
    """`copyavg ... | head`: the reader is gone before the output is written."""
    proc = subprocess.Popen([sys.executable, "-m", "copyavg.cli.main", "one-neuron", "--m", "3", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.close()
    with proc.stderr:
        err = proc.stderr.read()
    proc.wait(timeout=60)
    assert err == "" and proc.returncode == 1


# -- text for people -------------------------------------------------------------------------------
_REPR = re.compile(r"\{'|\['|': |\bTrue\b|\bFalse\b|\bNone\b")


@pytest.mark.parametrize("argv", [
    ["one-neuron", "--activation", "relu", "--m", "3"],
    ["ca", "--k", "5", "--partition", "1,1,3"],
    ["ca", "--activation", "relu", "--k", "5", "--partition", "1,1,3", "--polish"],
    ["pnc", "--k", "5", "--n", "2"],
    ["thresholds", "--k", "4"],
    ["flow", "--k", "12", "--n", "4", "--seed", "0"],
    ["verify", "ca-critical-variant:uncovered-teacher", "kernel-closed-form:linear"],
])
def test_text_output_has_no_reprs_and_short_lines(capsys, argv):
    assert cli(argv) in (0, 1)
    out = capsys.readouterr().out
    assert out.strip()
    for line in out.splitlines():
        assert len(line) <= 100, line
        assert not _REPR.search(line.split(": ", 1)[-1] if "note" not in line else ""), line


def test_long_vectors_are_summarised():
    assert format_value(list(range(100))).startswith("100 values in [0, 99]")
    assert format_value([[1.0, 2.0], [3.0, 4.0]]).startswith("2 x 2 array")
    assert format_value([1, 1, 3]) == "1, 1, 3"


def test_flow_failure_message_is_shown(capsys):
    """A ReLU run that stops at the kink: status, which neuron and when, and exit 1."""
    assert cli(["flow", "--activation", "relu", "--k", "10", "--n", "1", "--seed", "1"]) == 1
    out = capsys.readouterr().out
    assert "status: nondifferentiable" in out
    assert re.search(r"neuron\(s\) \[0\] reached w = 0", " ".join(out.split()))


# -- progress ------------------------------------------------------------------------------------
@pytest.mark.parametrize("argv,needle", [
    (["verify", "kernel-closed-form:linear"], "theorems"),
    (["thresholds", "--k", "3"], "/2 ["),
    (["pnc", "--k", "4", "--n", "2"], "P-n-C solve"),
    (["flow", "--k", "3", "--n", "2", "--seed", "1"], "flow"),
    (["ca", "--k", "5", "--partition", "1,1,3"], "Hessian"),
    (["verify", "--properties", "--examples", "1"], "properties"),
])
def test_progress_on_stderr_when_forced_and_silenced_by_quiet(capsys, argv, needle):
    assert cli(argv + ["--progress"]) == 0
    captured = capsys.readouterr()
    assert needle in captured.err and "/s]" in captured.err  # a tqdm bar: count, rate
    assert "/s]" not in captured.out
    assert cli(argv + ["--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_derive_shows_progress_per_activation(capsys, monkeypatch):
    monkeypatch.setattr("copyavg.symbolic.kernels.derive_kernel", lambda name: None)
    monkeypatch.setattr("copyavg.symbolic.one_neuron.solution", lambda name: None)
    monkeypatch.setattr("copyavg.symbolic.codegen.check_generated", lambda: [])
    assert cli(["derive", "--check", "--progress"]) == 0
    err = capsys.readouterr().err
    assert "deriving" in err and "activation/s]" in err


# -- derivation documents ----------------------------------------------------------------------------
def _cert(seconds, **kw):
    args = dict(theorem="t:1", statement="x | y", assumptions=("a | b",), status=Status.PROVED,
                method="m | n", residual="2*asin(C12/sqrt(C11 + 1))/pi",
                evidence=("derived: sqrt(C11)*C12", "holds=True (numeric | residual 0.0)"), seconds=seconds)
    args.update(kw)
    return Certificate(**args)


def test_proofs_markdown_is_byte_stable_escapes_pipes_and_renders_latex():
    a = render_markdown([_cert(0.5)], timings=False)
    b = render_markdown([_cert(7.25)], timings=False)
    assert a == b and "time" not in a
    for line in a.splitlines():
        if line.startswith("| `t:1`"):
            assert len(re.findall(r"(?<!\\)\|", line)) == 5  # 4 cells, pipes inside escaped
    assert "m \\| n" in a and "a \\| b" in a
    assert "\\operatorname{asin}" in a and "$" in a  # residual rendered as LaTeX
    assert "derived: $" in a


def test_committed_proofs_md_has_no_timings_and_balanced_tables():
    text = (ROOT / "docs" / "derivations" / "proofs.md").read_text(encoding="utf-8")
    assert "time (s)" not in text
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert rows and all(len(re.findall(r"(?<!\\)\|", r)) == 5 for r in rows)
    assert "$" in text


def test_derive_docs_writes_only_under_dir(tmp_path, monkeypatch, capsys):
    from copyavg.proofs import registry
    from copyavg.symbolic import codegen, docs

    def forbidden(*args, **kwargs):
        raise AssertionError("derive --docs must not write the generated code")

    monkeypatch.setattr(codegen, "write_generated", forbidden)
    monkeypatch.setattr(docs, "render_kernels_markdown", lambda: "# kernels\n")
    monkeypatch.setattr(registry, "all_checks", lambda heavy=False: {"t:1": lambda: _cert(1.0)})
    monkeypatch.setattr(commands, "_derive_all", lambda args: None)
    out = tmp_path / "new" / "docs"
    assert cli(["derive", "--docs", str(out), "--quiet"]) == 0
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == [
        "new/docs/kernels.md", "new/docs/proofs.md"]
    first = (out / "proofs.md").read_bytes()
    assert cli(["derive", "--docs", str(out), "--quiet"]) == 0
    assert (out / "proofs.md").read_bytes() == first


# -- packaging -------------------------------------------------------------------------------------
@pytest.mark.parametrize("package", ["symbolic", "numeric", "proofs", "cli", "experiments"])
def test_py_typed_marker_in_every_package(package):
    assert resources.files(f"copyavg.{package}").joinpath("py.typed").is_file()


def test_license_and_package_data():
    assert "MIT License" in (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "the copyavg developers" in (ROOT / "LICENSE").read_text(encoding="utf-8")
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'"\*" = \["py.typed"\]', pyproject)
