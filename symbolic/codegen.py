"""Render the derived kernels into committed NumPy and mpmath modules under ``numeric/``.

Each activation ``NAME`` gets, in both modules::

    NAME_pair0(C11, C22, C12, D) -> g
    NAME_pair1(C11, C22, C12, D) -> (g, g1, g2, g3)
    NAME_pair2(C11, C22, C12, D) -> (g, g1, g2, g3, g11, g12, g13, g22, g23, g33)
    NAME_grad1(C11, C22, C12, D) -> (g, g1, g3)   what loss and gradient need (no g2); table GRADIENT
    NAME_diag2(q)                -> (s, s', s'')      s(q) = g(q, q, q)
    NAME_angular(theta)          -> (A, K, K')        piecewise-linear family only

(``NAME_angular``: the angular coefficients of ``copyavg.symbolic.angular``, from which the
weight-space Hessian blocks are assembled, finite through collinear vectors; table ``ANGULAR``)

with ``D = C11 C22 - C12^2`` supplied by the caller (clipped at 0). The code is common
subexpression-eliminated (``sympy.cse``), contains no ``Piecewise``/``Max``/``Heaviside`` (case
analysis lives in the hand-written wrapper ``copyavg.numeric.kernels``), and the file header records
the SymPy version and a SHA-256 of the source expressions. Files are written atomically.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import tempfile
from pathlib import Path

import sympy as sp
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.pycode import MpmathPrinter

from .activations import ACTIVATIONS
from .angular import derive_angular, piecewise_linear_names, theta
from .kernels import C11, C12, C22, D, DIAG_PARTIALS, PARTIALS_0, PARTIALS_1, PARTIALS_2, derive_kernel, q

NUMERIC_DIR = Path(__file__).resolve().parent.parent / "numeric"
GRADIENT_PARTIALS = ("g", "g1", "g3")
TARGETS = {"numpy": "_generated_kernels.py", "mpmath": "_generated_kernels_mp.py"}

#: families with a derived one-neuron solution (``copyavg.symbolic.one_neuron``)
ONE_NEURON_FAMILIES = ("erf", "piecewise_linear")

_FORBIDDEN = (sp.Piecewise, sp.Heaviside, sp.Max, sp.Min, sp.DiracDelta)


class _NumpyPrinter(NumPyPrinter):
    def __init__(self):
        super().__init__({"fully_qualified_modules": False, "inline": True, "allow_unknown_functions": False})


class _MpPrinter(MpmathPrinter):
    def __init__(self):
        super().__init__({"fully_qualified_modules": False, "inline": True, "allow_unknown_functions": False})


def _printer(backend: str):
    return _NumpyPrinter() if backend == "numpy" else _MpPrinter()


def _render_function(fname: str, args: tuple, exprs: list, backend: str, allow_nan: bool = False) -> str:
    for e in exprs:
        if e.has(*_FORBIDDEN):
            raise ValueError(f"{fname}: expression contains case analysis, not printable: {e}")
        if allow_nan and e is sp.nan:
            continue
        if e.has(sp.zoo, sp.nan, sp.oo):
            raise ValueError(f"{fname}: expression contains infinities: {e}")
    pr = _printer(backend)
    repl, reduced = sp.cse(exprs, symbols=sp.numbered_symbols("x"), optimizations="basic")
    argnames = ", ".join(str(a) for a in args)
    lines = [f"def {fname}({argnames}):"]
    for sym, sub in repl:
        lines.append(f"    {sym} = {pr.doprint(sub)}")
    outs = []
    for e in reduced:
        if e.free_symbols:
            outs.append(pr.doprint(e))
        else:  # constant: broadcast to the shape of the last argument (D, or q)
            val = pr.doprint(e)
            if backend == "numpy":
                outs.append(f"_full({args[-1]}, {val})")
            else:
                outs.append(f"mpf({val})")
    if len(outs) == 1:
        lines.append(f"    return {outs[0]}")
    else:
        lines.append("    return (")
        lines.extend(f"        {o}," for o in outs)
        lines.append("    )")
    return "\n".join(lines) + "\n"


def source_hash() -> str:
    h = hashlib.sha256()
    for name in ACTIVATIONS:
        h.update(derive_kernel(name).source_hash().encode())
    for name in piecewise_linear_names():
        for e in derive_angular(name).coefficients():
            h.update(sp.srepr(e).encode())
    return h.hexdigest()


def render(backend: str) -> str:
    """The full text of the generated module for ``backend`` ("numpy" or "mpmath")."""
    if backend not in TARGETS:
        raise ValueError(f"backend must be one of {sorted(TARGETS)}, got {backend!r}")
    header = [
        "# *** GENERATED FILE: DO NOT EDIT ***",
        "# Rendered by `copyavg derive` from the kernels derived in copyavg.symbolic.kernels.",
        f"# sympy {sp.__version__}; source expressions sha256 {source_hash()}",
        "# Regenerate with `copyavg derive`; `copyavg derive --check` verifies this file is fresh.",
        '"""Generated pair kernels g(C11, C22, C12) and their partial derivatives (' + backend + ')."""',
        "",
    ]
    if backend == "numpy":
        header += [
            "import numpy",
            "from numpy import arcsin, arctan, arctan2, cos, cosh, exp, nan, pi, sin, sinh, sqrt",
            "",
            "",
            "def _full(like, value):",
            "    return numpy.full(numpy.shape(like), float(value))",
        ]
    else:
        header += [
            "import mpmath",
            "from mpmath import asin, atan, atan2, cos, cosh, exp, mpf, nan, pi, sin, sinh, sqrt",
        ]
    body = []
    table = []
    one_table = []
    ang_table = []
    grad_table = []
    pair_args = (C11, C22, C12, D)
    for name in ACTIVATIONS:
        k = derive_kernel(name)
        fns = []
        for order, names in enumerate((PARTIALS_0, PARTIALS_1, PARTIALS_2)):
            fname = f"{name}_pair{order}"
            body.append(_render_function(fname, pair_args, [k.partials[n] for n in names], backend))
            fns.append(fname)
        fname = f"{name}_grad1"  # loss + gradient: g2 is not needed (the first argument is the student)
        body.append(_render_function(fname, pair_args, [k.partials[n] for n in GRADIENT_PARTIALS], backend))
        grad_table.append(f'    "{name}": {fname},')
        fname = f"{name}_diag2"
        body.append(_render_function(fname, (q,), [k.diag[n] for n in DIAG_PARTIALS], backend))
        fns.append(fname)
        table.append(f'    "{name}": ({", ".join(fns)}),')
        if name in piecewise_linear_names():
            fname = f"{name}_angular"
            body.append(_render_function(fname, (theta,), list(derive_angular(name).coefficients()), backend))
            ang_table.append(f'    "{name}": {fname},')
        if ACTIVATIONS[name].family not in ONE_NEURON_FAMILIES:
            continue  # one-neuron solution not derived for this family (yet)
        # one-neuron solution (copyavg.symbolic.one_neuron): (|w|^2, a, a|w|, L*) in (m, rho), then
        # (a|w|, L) of the best point with w along sum_j v_j (the CA group point; = optimum unless |z|)
        from .one_neuron import m as m_sym, rho as rho_sym, solution

        sol = solution(name)
        keys = ("norm2", "a", "ar", "loss", "ar_average", "loss_average")
        outs = [sol[key] if sol[key] is not None else sp.nan for key in keys]
        fname = f"{name}_one_neuron"
        body.append(_render_function(fname, (m_sym, rho_sym), outs, backend, allow_nan=True))
        one_table.append(f'    "{name}": {fname},')
    text = "\n".join(header) + "\n\n\n" + "\n\n".join(body) + "\n\n"
    text += "#: name -> (pair0, pair1, pair2, diag2)\nKERNELS = {\n" + "\n".join(table) + "\n}\n"
    text += ("\n#: name -> f(C11, C22, C12, D) = (g, g1, g3), the partials loss and gradient need\n"
             "GRADIENT = {\n" + "\n".join(grad_table) + "\n}\n")
    text += ("\n#: name -> f(m, rho) = (|w|^2, a, a|w|, L*(m)) at the one-neuron optimum (nan: not fixed),\n"
             "#: then (a|w|, L) at the best point with w along sum_j v_j (the average direction)\n"
             "ONE_NEURON = {\n" + "\n".join(one_table) + "\n}\n")
    text += ("\n#: name -> f(theta) = (A, K, K'), the angular coefficients of the weight-space Hessian "
             "(piecewise-linear family)\nANGULAR = {\n" + "\n".join(ang_table) + "\n}\n")
    return text


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_generated(directory: Path | None = None) -> list[Path]:
    """Render every backend and write it (atomically) into ``directory`` (default ``numeric/``)."""
    directory = Path(directory) if directory is not None else NUMERIC_DIR
    written = []
    for backend, fname in TARGETS.items():
        path = directory / fname
        _atomic_write(path, render(backend))
        written.append(path)
    return written


def check_generated(directory: Path | None = None) -> list[str]:
    """Compare committed generated files with a fresh render. Returns a list of problems (empty
    when everything is fresh); each problem names the file and shows the start of the diff."""
    directory = Path(directory) if directory is not None else NUMERIC_DIR
    problems = []
    for backend, fname in TARGETS.items():
        path = directory / fname
        fresh = render(backend)
        if not path.exists():
            problems.append(f"{path}: missing (run `copyavg derive`)")
            continue
        committed = path.read_text(encoding="utf-8")
        if committed != fresh:
            diff = list(difflib.unified_diff(committed.splitlines(), fresh.splitlines(),
                                             "committed/" + fname, "fresh/" + fname, lineterm="", n=1))
            problems.append(f"{path}: differs from a fresh render (run `copyavg derive`)\n" + "\n".join(diff[:20]))
    return problems
