"""Generated code: fresh, marked DO NOT EDIT, free of case analysis; --check catches tampering."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from copyavg.symbolic import codegen

NUMERIC = Path(codegen.__file__).resolve().parent.parent / "numeric"


def test_committed_generated_code_is_fresh():
    assert codegen.check_generated() == []


def test_header_marks_generated_and_records_provenance():
    import sympy

    for fname in codegen.TARGETS.values():
        head = (NUMERIC / fname).read_text().splitlines()[:4]
        assert "DO NOT EDIT" in head[0]
        assert f"sympy {sympy.__version__}" in head[2]
        assert codegen.source_hash() in head[2]


def test_no_case_analysis_in_printed_code():
    """Kernel functions carry no case analysis and no nan/inf; only the one-neuron table may use
    nan (for "not fixed", e.g. |w| for ReLU)."""
    for fname in codegen.TARGETS.values():
        text = (NUMERIC / fname).read_text().split("\n#: name -> ")[0]  # functions only, not the tables
        blocks = [b for b in text.split("\ndef ")[1:] if not b.split("(")[0].endswith("_one_neuron")]
        assert len(blocks) >= 4 * 6
        for block in blocks:
            for bad in ("Piecewise", "Heaviside", "select(", "amax", "amin", "DiracDelta", "nan", "zoo", "inf"):
                assert bad not in block, (fname, bad, block[:60])


def test_check_detects_tampered_file(tmp_path):
    for fname in codegen.TARGETS.values():
        shutil.copy(NUMERIC / fname, tmp_path / fname)
    assert codegen.check_generated(tmp_path) == []
    target = tmp_path / codegen.TARGETS["numpy"]
    text = target.read_text()
    target.write_text(text.replace("2*arctan", "2.0000001*arctan", 1))
    problems = codegen.check_generated(tmp_path)
    assert len(problems) == 1 and codegen.TARGETS["numpy"] in problems[0]


def test_cli_check_exits_nonzero_on_tampered_file(tmp_path, monkeypatch):
    """`copyavg derive --check` itself (the CLI entry point) fails on a tampered file."""
    from copyavg.cli import main as cli_main

    for fname in codegen.TARGETS.values():
        shutil.copy(NUMERIC / fname, tmp_path / fname)
    mp_file = tmp_path / codegen.TARGETS["mpmath"]
    mp_file.write_text(mp_file.read_text() + "\n# edited by hand\n")
    monkeypatch.setattr(codegen, "NUMERIC_DIR", tmp_path)
    assert cli_main.main(["derive", "--check"]) == 1
    mp_file.write_text(codegen.render("mpmath"))
    assert cli_main.main(["derive", "--check"]) == 0


@pytest.mark.slow  # a second full derivation (~40 s); CI's main job runs `copyavg derive --check` itself
def test_cli_derive_check_subprocess():
    r = subprocess.run([sys.executable, "-m", "copyavg.cli.main", "derive", "--check"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr


def test_numeric_does_not_import_sympy():
    r = subprocess.run([sys.executable, "-c",
                        "import copyavg.numeric, copyavg.numeric.mp, sys; assert 'sympy' not in sys.modules"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def test_docs_written(tmp_path):
    from copyavg.symbolic.docs import write_docs

    (path,) = write_docs(tmp_path)
    text = path.read_text()
    for name in ("erf2", "erf", "relu", "linear"):
        assert f"## `{name}`" in text
    assert "Price" in text and "Invariants checked" in text and "| NO |" not in text


@pytest.mark.parametrize("backend", ["fortran"])
def test_render_rejects_unknown_backend(backend):
    with pytest.raises(ValueError, match="backend"):
        codegen.render(backend)
