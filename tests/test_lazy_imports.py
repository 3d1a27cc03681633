"""``import copyavg.numeric`` stays quick: it loads neither SciPy's special functions (about 0.2 s
of import time) nor mpmath nor SymPy; they are imported when first needed (``Activation.sigma``
of the erf family, the mpmath route). Each check runs in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("scipy.special", "mpmath", "sympy")


def _run(code: str) -> list[str]:
    """Run ``code`` after ``import copyavg.numeric`` in a new interpreter; return its output lines."""
    r = subprocess.run([sys.executable, "-c", "import sys\nimport copyavg.numeric\n" + code],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def _loaded() -> str:
    return f"print(*(m for m in {HEAVY!r} if m in sys.modules))"


def test_import_numeric_loads_no_heavy_module():
    assert _run(_loaded()) == []


def test_population_loss_and_gradient_need_no_heavy_module():
    code = ("import numpy as np\n"
            "for act in ('erf2', 'relu'):\n"
            "    P = copyavg.numeric.Problem(np.ones(2), np.eye(2, 3), act)\n"
            "    P.loss_and_gradient(np.ones(2), np.eye(2, 3) + 0.5)\n"
            "    copyavg.numeric.loss(np.ones(2), np.eye(2, 3), np.ones(2), np.eye(2, 3), act)\n"
            + _loaded())
    assert _run(code) == []


@pytest.mark.parametrize("use, loads", [
    ("copyavg.numeric.get_activation('erf2').sigma([0.5])", "scipy.special"),
    ("copyavg.numeric.get_activation('erf2').sigma_mp(0.5)", "mpmath"),
    ("copyavg.numeric.get_activation('leaky_relu').params_mp()", "mpmath"),
])
def test_heavy_modules_load_when_used(use, loads):
    """The lazy imports still work (and so the checks above would see an eager import)."""
    out = _run(f"v = {use}\nprint(type(v).__name__)\n" + _loaded())
    assert loads in out[1:], out
