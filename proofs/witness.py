"""Certified witnesses: a claim is *refuted* only with an exact or certified counterexample.

``certified_sign`` evaluates a constant SymPy expression as an arb ball (python-flint, rigorous
enclosure) at increasing precision and returns its sign only when the ball excludes 0.
``nonzero_witness`` substitutes exact rational points into an expression with free symbols and
returns the first point where the value is certified non-zero. "simplify did not return 0" or a
float64 mismatch is never a witness: without one the status is *undecided*.
"""

from __future__ import annotations

import sympy as sp

from .arb_eval import _arb_sign, _NotArb, _to_arb  # noqa: F401 - re-exported helpers

#: rational sample values used for free symbols: distinct rationals in (0, 2) other than 1, i.e. away
#: from the usual singularities 0 and 1 (poles of 1/x, zeros of log x, branch points of asin x and of
#: sqrt(1 - x^2)); any such values serve
DEFAULT_POINTS = (sp.Rational(1, 3), sp.Rational(3, 7), sp.Rational(5, 4), sp.Rational(2, 9), sp.Rational(7, 5))


def default_points(syms) -> list[dict]:
    """The default sample points for the symbols ``syms`` (any number): point ``s`` gives the
    ``i``-th symbol ``DEFAULT_POINTS[(i + s) % len(DEFAULT_POINTS)]``, a Latin square: at each point
    up to ``len(DEFAULT_POINTS)`` symbols get pairwise distinct values, and over the points each
    symbol takes every value."""
    return [{x: DEFAULT_POINTS[(i + shift) % len(DEFAULT_POINTS)] for i, x in enumerate(syms)}
            for shift in range(len(DEFAULT_POINTS))]


def certified_sign(expr) -> tuple[int | None, str]:
    """Sign (+1 / -1) of the constant ``expr`` certified by arb ball arithmetic, or (None, why)."""
    expr = sp.sympify(expr)
    if expr.free_symbols:
        return None, f"not a constant: free symbols {sorted(map(str, expr.free_symbols))}"
    if expr == 0:
        return None, "exactly 0"
    if expr.is_Rational:
        return (1 if expr > 0 else -1), f"exact rational {expr}"
    return _arb_sign(expr)


def nonzero_witness(expr, points=None) -> str | None:
    """A point (exact rationals for the free symbols) where ``expr`` is certified non-zero, as text
    ``"at {x: 1/3, ..}: value in [ball] (sign +1)"``, or None when no such point was certified.
    A point whose substitution or evaluation raises TypeError, ValueError or ZeroDivisionError, or
    gives a complex or infinite value, is skipped: it is no witness."""
    expr = sp.sympify(expr)
    syms = sorted(expr.free_symbols, key=str)
    pts = list(points) if points is not None else default_points(syms)
    for pt in pts:
        try:
            val = expr.subs(pt, simultaneous=True)
            if val.has(sp.zoo, sp.nan, sp.oo, sp.I):
                continue
            sgn, ball = certified_sign(val)
        except (_NotArb, TypeError, ValueError, ZeroDivisionError):
            continue
        if sgn is not None:
            where = ", ".join(f"{k} = {v}" for k, v in pt.items())
            return f"at {where or 'the constant'}: value {ball} (certified sign {sgn:+d}, arb)"
    return None
