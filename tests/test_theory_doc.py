"""docs/theory.md is the project's own theory document: every citation points at it, every
certificate is documented in it, and every test it names exists.

* no tracked file mentions the private reference the project used to cite (the name is built
  from two pieces so that this file does not mention it either);
* every certificate id of ``copyavg.proofs.registry.all_checks()`` appears in docs/theory.md, in
  backticks (so ``one-neuron:erf`` is not satisfied by ``one-neuron:erf2``); the checks are not run;
* every ``tests/FILE.py::NAME`` reference in docs/theory.md names an existing file that defines
  ``def NAME``.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
THEORY = ROOT / "docs" / "theory.md"
FORBIDDEN = "MATH" + ".md"
TEST_REF = re.compile(r"(tests/[\w/]+\.py)::(\w+)")


def _tracked_files() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:  # not a git checkout (e.g. an sdist)
        pytest.skip(f"git ls-files not available: {exc}")
    return [ROOT / p for p in out.decode().split("\0") if p]


def _text(path: Path) -> str | None:
    """The file as text, or None for binary files (NUL bytes or not UTF-8) and missing ones."""
    try:
        data = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        return None
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def files_mentioning(needle: str, files) -> list[str]:
    return [str(p.relative_to(ROOT)) for p in files if needle in (_text(p) or "")]


def undocumented(ids, doc: str) -> list[str]:
    return [t for t in ids if f"`{t}`" not in doc]


def stale_test_references(doc: str, root: Path = ROOT) -> list[str]:
    bad = []
    for path, name in sorted(set(TEST_REF.findall(doc))):
        src = _text(root / path)
        if src is None or not re.search(rf"^\s*def {re.escape(name)}\(", src, re.MULTILINE):
            bad.append(f"{path}::{name}")
    return bad


def test_no_tracked_file_cites_the_private_reference():
    files = _tracked_files()
    assert len(files) > 20 and THEORY in files, "docs/theory.md must be tracked"
    assert files_mentioning(FORBIDDEN, files) == []


def test_every_certificate_is_documented():
    from copyavg.proofs.registry import all_checks

    ids = list(all_checks(heavy=True))  # the keys only: nothing is run (the opt-in --heavy set too)
    assert len(ids) >= 30
    assert undocumented(ids, THEORY.read_text(encoding="utf-8")) == []


def test_test_references_exist():
    doc = THEORY.read_text(encoding="utf-8")
    refs = set(TEST_REF.findall(doc))
    assert len(refs) >= 30  # the document names the tests behind its numeric claims
    assert stale_test_references(doc) == []


# -- the checks above can fail ------------------------------------------------------------------
def test_checks_detect_violations(tmp_path):
    cited = tmp_path / "README.md"
    cited.write_text(f"see {FORBIDDEN} claim 1\n", encoding="utf-8")
    binary = tmp_path / "figure.png"
    binary.write_bytes(b"\x89PNG\0" + FORBIDDEN.encode())
    clean = tmp_path / "ok.py"
    clean.write_text("docs/theory.md\n", encoding="utf-8")
    files = [cited, binary, clean]
    found = [p.name for p in files if FORBIDDEN in (_text(p) or "")]
    assert found == ["README.md"]  # the binary file is skipped, the text file is caught

    doc = "`one-neuron:erf2` and `kernel-closed-form:erf2`"
    assert undocumented(["one-neuron:erf2", "one-neuron:erf", "kernel-closed-form:erf"], doc) == [
        "one-neuron:erf", "kernel-closed-form:erf"]

    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text("def test_here():\n    pass\n", encoding="utf-8")
    doc = ("`tests/test_x.py::test_here`, `tests/test_x.py::test_gone`, "
           "`tests/test_missing.py::test_here`, `tests/test_x.py::test_her`")
    assert stale_test_references(doc, tmp_path) == [
        "tests/test_missing.py::test_here", "tests/test_x.py::test_gone", "tests/test_x.py::test_her"]
