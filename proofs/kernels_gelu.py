"""The GELU closed form by Price's equation, independently of SymPy's integrations.

``kernel-closed-form:gelu`` compares the derived kernel with the closed form of docs/theory.md §2
(claim 1b) by exact simplification. Since that derivation integrates twice (``copyavg.symbolic.
kernels_gelu``), the certificate also checks the closed form ``G`` directly:

1. ``d^2 G / dC12^2 = E[sigma''(X) sigma''(Y)]`` (the Price integrand, a Gaussian integral of a
   polynomial times ``exp(-X^2/2 - Y^2/2)``), exact simplification to 0;
2. ``G(C12 = 0) = E[sigma(X)] E[sigma(Y)]`` and ``dG/dC12 (C12 = 0) = E[sigma'(X)] E[sigma'(Y)]``
   (X, Y independent there), exact simplification to 0.

For fixed ``C11, C22 > 0`` both ``G`` and the kernel ``g`` solve the linear ODE ``y'' = f(C12)`` with
``f`` continuous on ``|C12| < sqrt((1 + C11)(1 + C22))`` (which contains ``|C12| <= sqrt(C11 C22)``),
with the same value and slope at 0, so they coincide. (Price's theorem applies: ``sigma = z Phi(z)``
grows linearly and ``sigma''`` is continuous and bounded.) ``quadrature_evidence`` adds a 30-digit
1-D quadrature of the defining expectation (through the conditional law of Y given X) at a few
points, as evidence only.
"""

from __future__ import annotations

import mpmath
import sympy as sp

from copyavg.symbolic.activations import z
from copyavg.symbolic.kernels import C11, C12, C22, gaussian_expectation
from copyavg.symbolic.kernels_gelu import price_integrand

from .certificates import Status

#: generic, anti-correlated, near-collinear (|rho| = 0.999), small and large norms
_QUAD_POINTS = (("1.3", "0.7", "0.4"), ("2", "0.5", "-0.9"), ("1.5", "1.5", "1.4985"), ("0.01", "9", "0.2"))


def price_ode_check(G: sp.Expr, sigma: sp.Expr) -> tuple[Status, str, tuple]:
    """``(status, residual, evidence)`` of checks 1 and 2 of the module docstring for ``G``."""
    price = price_integrand(sigma)
    residuals = {
        "d2G/dC12^2 - E[sigma''(X) sigma''(Y)]": sp.simplify(sp.diff(G, C12, 2) - price),
        "G(C12 = 0) - E[sigma(X)] E[sigma(Y)]": sp.simplify(
            G.subs(C12, 0) - gaussian_expectation(sigma, sp.sqrt(C11)) * gaussian_expectation(sigma, sp.sqrt(C22))),
        "dG/dC12(C12 = 0) - E[sigma'(X)] E[sigma'(Y)]": sp.simplify(
            sp.diff(G, C12).subs(C12, 0) - gaussian_expectation(sp.diff(sigma, z), sp.sqrt(C11))
            * gaussian_expectation(sp.diff(sigma, z), sp.sqrt(C22))),
    }
    evidence = (f"Price integrand E[sigma''(X) sigma''(Y)] = {sp.sstr(price)}",) + tuple(
        f"{k} = {sp.sstr(v)}" for k, v in residuals.items())
    if all(v == 0 for v in residuals.values()):
        return Status.PROVED, "0", evidence
    return Status.UNDECIDED, "; ".join(f"{k} = {sp.sstr(v)}" for k, v in residuals.items() if v != 0), evidence


def _conditional_quad(c11, c22, c12):
    """``E[X Phi(X) Y Phi(Y)]`` as a 1-D quadrature over ``X ~ N(0, C11)`` of ``X Phi(X)`` times the
    closed-form conditional mean ``E[Y Phi(Y) | X]``: ``Y | X ~ N(mu, s^2)``, ``mu = C12 X / C11``,
    ``s^2 = C22 - C12^2 / C11``, and by Stein's lemma ``E[Z Phi(Z)] = mu Phi(r) + s^2 phi(r) / sqrt(1 + s^2)``
    with ``r = mu / sqrt(1 + s^2)`` (independent of the kernel's derivation)."""
    s2 = c22 - c12 * c12 / c11
    t = mpmath.sqrt(1 + s2)

    def f(x):
        mu = c12 * x / c11
        r = mu / t
        inner = mu * mpmath.ncdf(r) + s2 * mpmath.npdf(r) / t
        return x * mpmath.ncdf(x) * inner * mpmath.npdf(x, 0, mpmath.sqrt(c11))

    sd = mpmath.sqrt(c11)
    return mpmath.quad(f, [-mpmath.inf, -4 * sd, -sd, 0, sd, 4 * sd, mpmath.inf])


def quadrature_evidence(name: str, G: sp.Expr, dps: int = 30) -> str:
    """Largest relative difference between ``G`` (``dps`` + 10 digits) and a 1-D quadrature of the
    defining expectation through the conditional law (``_conditional_quad``) at ``dps`` digits."""
    worst = mpmath.mpf(0)
    with mpmath.workdps(dps + 10):
        for c11, c22, c12 in _QUAD_POINTS:
            val = mpmath.mpf(str(sp.N(G.subs({C11: sp.Rational(c11), C22: sp.Rational(c22), C12: sp.Rational(c12)}),
                                      dps + 10)))
            with mpmath.workdps(dps):
                quad = _conditional_quad(mpmath.mpf(c11), mpmath.mpf(c22), mpmath.mpf(c12))
            worst = max(worst, abs(val - quad) / abs(val))
    pts = ", ".join(f"({a}, {b}, {c})" for a, b, c in _QUAD_POINTS)
    return (f"1-D quadrature (conditional law of Y given X, closed-form inner mean) of E[sigma(X) sigma(Y)] at "
            f"{dps} digits at (C11, C22, C12) = {pts}: largest relative difference {mpmath.nstr(worst, 3)}")
