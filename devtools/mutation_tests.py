"""Test command for sampled mutation testing: run the fast tests that exercise the mutated module.

cosmic-ray applies one mutation in place and runs this script from the project root; the mutated
file is the one ``git diff --name-only`` reports. The tests selected are the test files that import
that module (a private module no test imports: those of the modules importing it, one level up at
a time until some test does), and the tests of the modules one level further up, which check it
through its callers. Every import is read statically (``ast``), so the selection is reproducible.
Tests marked ``slow`` are left out, pytest stops at the first failure (``-x``) and hypothesis uses
the ``ci`` profile. A mutant of ``proofs/`` that the tests miss then meets ``copyavg verify`` on the
default certificates defined in its module or in the proofs modules importing it. Exit status: pytest's (non-zero = mutant killed).

    python devtools/mutation_tests.py --show numeric/population.py   # print the selection only
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("numeric", "proofs", "symbolic", "experiments", "cli")
#: subprocess-driven suites that exercise the command line rather than a module's values
#: (minutes per run); a mutant they would catch is caught by the value tests of its module
EXCLUDED_TESTS = {"test_cli.py", "test_store.py", "test_experiments.py", "test_doctests.py", "test_lazy_imports.py"}


def _module_of(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """The copyavg modules ``path`` imports (``copyavg.numeric.x`` → ``numeric.x``; relative imports resolved)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    here = _module_of(path) if path.is_relative_to(ROOT) else ""
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            name = name.removeprefix("copyavg.")
            if name.split(".")[0] in PACKAGES:
                found.add(name)
    return found


def _graph() -> tuple[dict, dict]:
    """(module -> modules importing it, test file -> modules it imports, re-exports included)."""
    importers: dict[str, set[str]] = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            mod = _module_of(path)
            for dep in _imports(path):
                importers.setdefault(dep, set()).add(mod)
    packages = {pkg: _imports(ROOT / pkg / "__init__.py") for pkg in PACKAGES}
    tests = {}
    for p in sorted((ROOT / "tests").glob("test_*.py")):
        if p.name not in EXCLUDED_TESTS:
            deps = _imports(p)  # a package's names are its __init__'s re-exports
            tests[p] = deps.union(*(packages[d] for d in deps if d in packages))
    return importers, tests


def select_tests(module: str, extra_levels: int = 1) -> list[Path]:
    """Test files for ``module`` (dotted, without the ``copyavg.`` prefix), nearest first.

    Level 0 is the module itself, level ``i + 1`` the modules importing those of level ``i``; the
    selection is the first level some test imports plus ``extra_levels`` more (a private module is
    mostly checked through its callers' tests). Within a level, files named after the module come
    first (``pytest -x`` stops at the first failure)."""
    importers, tests = _graph()
    level, seen, chosen, found_at = {module}, set(), [], None
    depth = 0
    while level and (found_at is None or depth <= found_at + extra_levels):
        hits = [p for p, deps in tests.items() if deps & level and p not in chosen]
        if hits and found_at is None:
            found_at = depth
        stem = module.rpartition(".")[2].lstrip("_")
        chosen += sorted(hits, key=lambda p: (stem not in p.stem, p.name))
        seen |= level
        level = {imp for mod in level for imp in importers.get(mod, ())} - seen
        depth += 1
    return chosen


def _mutated_files() -> list[str]:
    out = subprocess.run(["git", "diff", "--name-only"], cwd=ROOT, capture_output=True, text=True, check=True)
    return [f for f in out.stdout.split() if f.endswith(".py")]


def main(argv: list[str]) -> int:
    show = argv[:1] == ["--show"]
    files = argv[1:] if show else _mutated_files()
    if not files:
        print("mutation_tests: no modified file: nothing is mutated", file=sys.stderr)
        return 2
    selected = list(dict.fromkeys(p for f in files for p in select_tests(_module_of(ROOT / f))))
    if show:
        print("\n".join(str(p.relative_to(ROOT)) for p in selected))
        return 0
    if not selected:
        print(f"mutation_tests: no test imports {files}", file=sys.stderr)
        return 0  # nothing can catch it: the mutant survives
    env = dict(os.environ, HYPOTHESIS_PROFILE="ci")
    cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-m", "not slow",
           *[str(p) for p in selected]]
    rc = subprocess.run(cmd, cwd=ROOT, env=env).returncode
    proofs = [_module_of(ROOT / f) for f in files if f.startswith("proofs/")]
    if rc == 0 and proofs:  # the certificates of the module and of its importers, as `verify` runs them
        rc = subprocess.run([sys.executable, "-c", VERIFY_SNIPPET, *proofs], cwd=ROOT, env=env).returncode
    return rc


#: runs ``copyavg verify`` on the default certificates defined in the given proofs modules or in
#: the proofs modules importing them (exit 1 when an outcome is not the expected one)
VERIFY_SNIPPET = """
import sys
sys.path.insert(0, "devtools")
from mutation_tests import _graph
from copyavg.proofs.registry import all_checks
from copyavg.cli.main import main
importers, _ = _graph()
mods = set(sys.argv[1:])
mods |= {i for m in list(mods) for i in importers.get(m, ()) if i.startswith("proofs.")}
ids = [k for k, f in all_checks().items()
       if getattr(getattr(f, "func", f), "__module__", "").removeprefix("copyavg.") in mods]
sys.exit(main(["verify", "--quiet", *ids]) if ids else 0)
"""


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
