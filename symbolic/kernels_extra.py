r"""Pair kernels of the activations outside the erf and piecewise-linear families.

Same conventions and Cholesky form as ``copyavg.symbolic.kernels`` (docs/theory.md §2):
``X = sqrt(C11) z1``, ``Y = (C12/sqrt(C11)) z1 + sqrt(D/C11) z2`` with independent standard normals.

Routes:

* ``hermite`` (``He_2`` .. ``He_5``) and ``monomial``: ``sigma(X) sigma(Y)`` is a polynomial in ``z1, z2``; its
  expectation is exact through the moments ``E[z^k] = (k - 1)!!`` (k even; Isserlis/Wick).
* ``trig`` (sin, cos) and ``gaussian`` (``exp(-z^2/2)``): ``sigma`` is a sum of exponentials of
  quadratics (``sin z = (e^{iz} - e^{-iz}) / 2i``), so ``E[sigma(X) sigma(Y)]`` is a sum of
  Gaussian integrals (``gaussian_expectation_of_exp``, z2 then z1). The numerically safe form of
  the trig kernels is ``e^{-(C11+C22)/2} sinh(C12)`` / ``cosh(C12)`` (``safe_extra``; exact
  rewriting, checked), which has no cancellation; ``gaussian`` becomes ``1/sqrt(1 + C11 + C22 + D)``
  by the generic safe form.
* ``normal_cdf``: ``sigma' = phi`` is a Gaussian bump, so the erf route of
  ``copyavg.symbolic.kernels`` applies unchanged (Price's theorem once, integrated back in C12).
* ``monomial`` (``z^2`` .. ``z^5``): polynomials, the ``hermite`` route.
* ``gelu`` (``z Phi(z)``): Price's theorem twice, ``sigma'' = (2 - z^2) phi``
  (``copyavg.symbolic.kernels_gelu``).
"""

from __future__ import annotations

import sympy as sp

from .activations import SymbolicActivation, z

_TRIG = {"sin": sp.sinh, "cos": sp.cosh}

#: families whose partials are not simplified (``copyavg.symbolic.kernels.derive_kernel``)
LIGHT_TIDY_FAMILIES = ("gelu",)


def _kernels():
    from . import kernels  # late: kernels imports this module

    return kernels


def _moment(k: int) -> sp.Integer:
    """``E[Z^k]`` for a standard normal Z: ``(k - 1)!!`` for even k, 0 for odd."""
    return sp.Integer(0) if k % 2 else sp.factorial2(k - 1)


def _derive_hermite(act: SymbolicActivation, steps: list) -> tuple[sp.Expr, sp.Expr]:
    K = _kernels()
    prod = sp.expand(act.sigma.subs(z, K.X_REP) * act.sigma.subs(z, K.Y_REP))
    poly = sp.Poly(prod, K.z1, K.z2)
    e = sum(c * _moment(i) * _moment(j) for (i, j), c in poly.terms())
    g = sp.expand(sp.simplify(e.subs(K.D, K.D_EXPR)))
    steps.append(_step(
        "Isserlis/Wick moments of the Cholesky form",
        rf"\sigma(z) = {sp.latex(act.sigma)},\quad g = \mathbb{{E}}[\sigma(X)\sigma(Y)] = {sp.latex(g)}",
        "sigma(X) sigma(Y) expanded in z1, z2; E[z^k] = (k-1)!! for even k, 0 for odd; exact.",
    ))
    boundary = sp.expand(_poly_mean(act, K.C11) * _poly_mean(act, K.C22))
    return g, boundary


def _poly_mean(act: SymbolicActivation, c: sp.Expr) -> sp.Expr:
    """``E[sigma(sqrt(c) Z)]`` of a polynomial sigma by the moments."""
    p = sp.Poly(sp.expand(act.sigma.subs(z, sp.sqrt(c) * z)), z)
    return sp.expand(sum(coef * _moment(k) for (k,), coef in p.terms()))


def _exp_terms(sigma: sp.Expr) -> list:
    """``sigma`` as a list of ``(c, exponent)`` with ``sigma = sum c exp(exponent)``, exponent a
    polynomial of degree <= 2 in z (complex coefficients for sin, cos)."""
    e = sp.expand(sigma.rewrite(sp.exp))
    out = []
    for term in sp.Add.make_args(e):
        c, rest = term.as_independent(z)
        if rest == 1:
            out.append((c, sp.Integer(0)))
            continue
        if not isinstance(rest, sp.exp):
            raise ValueError(f"not an exponential of a quadratic: {term}")
        out.append((c, sp.expand(rest.args[0])))
    return out


def _derive_exponential(act: SymbolicActivation, steps: list) -> tuple[sp.Expr, sp.Expr]:
    K = _kernels()
    terms = _exp_terms(act.sigma)
    total = sp.Integer(0)
    for c1, e1 in terms:
        for c2, e2 in terms:
            expo = e1.subs(z, K.X_REP) + e2.subs(z, K.Y_REP)
            total += c1 * c2 * K.gaussian_expectation_of_exp(expo, (K.z2, K.z1))
    g_raw = sp.simplify(sp.expand(total.subs(K.D, K.D_EXPR)))
    steps.append(_step(
        "Sum of Gaussian integrals of exponentials of quadratics",
        rf"\sigma(z) = {sp.latex(sp.expand(act.sigma.rewrite(sp.exp)))},\quad g = {sp.latex(g_raw)}",
        "each E[exp(quadratic in X, Y)] integrated over z2 then z1; D substituted back.",
    ))
    boundary = sp.simplify(K.gaussian_expectation(act.sigma, sp.sqrt(K.C11))
                           * K.gaussian_expectation(act.sigma, sp.sqrt(K.C22)))
    return g_raw, boundary


def _gelu_safe() -> sp.Expr:
    """GELU: ``C12/4 + (C12/2pi) atan2(C12, sqrt(P)) + (C11 C22 P + C12^2) / (2 pi M sqrt(P))`` with
    ``P = 1 + C11 + C22 + D``, ``M = (1 + C11)(1 + C22)``: the ``sqrt(P)`` and ``1/sqrt(P)`` terms of
    the derived form, ``((C11 C22 - 1) sqrt(P)/M + 1/sqrt(P)) / 2pi``, cancel to O(C^2) at small
    norms (-1 + 1); over the common denominator the numerator ``(C11 C22 - 1) P + M`` is
    ``C11 C22 P + C12^2``, a sum of non-negative terms, and ``P`` carries D (no ``C11 C22 - C12^2``
    cancellation near collinear pairs)."""
    K = _kernels()
    P = 1 + K.C11 + K.C22 + K.D
    return (K.C12 / 4 + K.C12 * sp.atan2(K.C12, sp.sqrt(P)) / (2 * sp.pi)
            + (K.C11 * K.C22 * P + K.C12**2) / (2 * sp.pi * (1 + K.C11) * (1 + K.C22) * sp.sqrt(P)))


def safe_extra(act: SymbolicActivation, g: sp.Expr) -> sp.Expr | None:
    """The trig kernels as ``e^{-(C11+C22)/2} sinh(C12)`` (sin) or ``cosh(C12)`` (cos): no
    cancellation, each factor accurate to relative eps; GELU as ``_gelu_safe``. Each is checked
    equal to the derived ``g`` by exact simplification (ValueError otherwise). None for the other
    families (the generic safe form)."""
    if act.family not in ("trig", "gelu"):
        return None
    K = _kernels()
    if act.family == "gelu":
        safe = _gelu_safe()
        # the generic rewriting asin(C12/sqrt(M)) = atan2(C12, sqrt(P)) first, then the algebraic rest
        diff = sp.simplify((safe - K.safe_form(g)).subs(K.D, K.D_EXPR))
    else:
        safe = sp.exp(-(K.C11 + K.C22) / 2) * _TRIG[act.name](K.C12)
        diff = sp.simplify((safe - g).rewrite(sp.exp))
    if diff != 0:
        raise ValueError(f"{act.name}: rewritten kernel {safe} differs from the derived {g}")
    return safe


def derive_extra(act: SymbolicActivation, steps: list) -> tuple[sp.Expr, sp.Expr]:
    """``(g, g at C12 = 0)`` for an activation of ``EXTRA_FAMILIES``; appends its steps."""
    if act.family in ("hermite", "monomial"):  # polynomials: the same moment route
        return _derive_hermite(act, steps)
    if act.family == "gelu":
        from .kernels_gelu import derive_gelu

        return derive_gelu(act, steps)
    if act.family in ("trig", "gaussian"):
        return _derive_exponential(act, steps)
    if act.family == "normal_cdf":
        return _kernels()._derive_erf(act, steps)
    raise ValueError(f"{act.name}: no derivation route for family {act.family!r}")


def diag_extra(act: SymbolicActivation, s: sp.Expr) -> dict | None:
    """Diagonal ``s(q)`` and derivatives in forms without cancellation, or None for the default.

    trig: ``s = e^{-q} sinh(q)`` (or cosh); ``s'``, ``s''`` from the exponential form (``s' = +-e^{-2q}``),
    where differentiating ``e^{-q} sinh(q)`` would cancel at large q. gelu: ``s`` is the safe form
    at ``C11 = C22 = C12 = q``, ``D = 0``, not simplified.
    """
    K = _kernels()
    if act.family == "gelu":  # s as substituted: simplify merges it into one fraction whose numerator
        q = list(s.free_symbols)[0]  # cancels at small q; s', s'' simplified (positive coefficients
        s = _gelu_safe().subs({K.C11: q, K.C22: q, K.C12: q, K.D: 0}, simultaneous=True)  # in s')
        s1 = sp.simplify(sp.diff(s, q))
        return {"s": s, "s1": s1, "s2": sp.simplify(sp.diff(s1, q))}
    if act.family != "trig":
        return None
    q = list(s.free_symbols)[0]
    e = sp.expand(s.rewrite(sp.exp))
    s1 = sp.simplify(sp.diff(e, q))
    return {"s": s, "s1": s1, "s2": sp.simplify(sp.diff(s1, q))}


def _step(title: str, latex: str, note: str = ""):
    """A ``DerivationStep`` (imported late)."""
    return _kernels().DerivationStep(title, latex, note)
