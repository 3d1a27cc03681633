r"""Pair kernel of GELU, ``sigma(z) = z Phi(z)``, by Price's theorem twice.

``sigma''(z) = (2 - z^2) phi(z)`` is a polynomial times the standard normal density, so

    d^2 g / dC12^2 = E[sigma''(X) sigma''(Y)]

is a Gaussian integral: with ``F(s, u) = E[exp(s X + u Y - X^2/2 - Y^2/2)]`` (one exponential of a
quadratic, ``gaussian_expectation_of_exp``), ``E[p(X) phi(X) p(Y) phi(Y)] = p(d_s) p(d_u) F / (2 pi)``
at ``s = u = 0``. The result depends on C12 only through ``P = M - C12^2``,
``M = (1 + C11)(1 + C22)``, as ``sum_k c_k P^{-(2k+1)/2}`` with ``c_k`` free of C12.

Integrating back in C12 goes through ``C12 = sqrt(M) sin(theta)`` (``P = M cos^2 theta``), where every
term is a one-line trigonometric integral (``P^{-(2k+1)/2} dC12 = M^{-k} cos^{-2k} theta dtheta``):
once from ``dg/dC12 = E[sigma'(X)] E[sigma'(Y)]`` at ``C12 = 0``, once more from
``g = E[sigma(X)] E[sigma(Y)]`` there. (Integrating in C12 directly sends SymPy into Piecewise
branches and minutes of work.) ``theta = asin(C12/sqrt(M))``, ``cos theta = sqrt(P/M) >= 0`` map the
result back; it is then collected over ``asin``, ``sqrt(P)`` and ``1/sqrt(P)`` in the variables
``sqrt(1 + C11)``, ``sqrt(1 + C22)``, where the ``sqrt(M)`` terms cancel exactly.

The result, ``g = C12/4 + (C12/2pi) asin(C12/sqrt(M)) + (C11 C22 - 1) sqrt(P)/(2 pi M) + 1/(2 pi sqrt(P))``,
is certified independently of these integrations in ``copyavg.proofs.kernels`` (its second
C12-derivative is the Price integrand, and its value and first derivative at ``C12 = 0`` are the
boundary values, each by exact simplification). ``P = 1 + C11 + C22 + D >= 1``: the safe form has no
singularity at collinear vectors.
"""

from __future__ import annotations

import sympy as sp

from .activations import SymbolicActivation, z

_s, _u = sp.symbols("s u", real=True)
_theta, _phi = sp.symbols("theta phi", real=True)
_P = sp.Symbol("P", positive=True)


def _kernels():
    from . import kernels  # late: kernels imports kernels_extra, which imports this module

    return kernels


def bump_polynomial(sigma: sp.Expr, order: int = 2) -> sp.Expr:
    """``p`` with ``sigma^(order)(z) = p(z) phi(z)``, ``phi`` the standard normal density;
    ValueError when the quotient is not a polynomial."""
    phi = sp.exp(-z**2 / 2) / sp.sqrt(2 * sp.pi)
    p = sp.simplify(sp.diff(sigma, z, order) / phi)
    if not p.is_polynomial(z):
        raise ValueError(f"sigma^({order}) is not a polynomial times phi: {sp.diff(sigma, z, order)}")
    return sp.expand(p)


def _apply(poly: sp.Expr, F: sp.Expr, var: sp.Symbol) -> sp.Expr:
    """``poly(d/dvar) F``."""
    return sp.Add(*[c * sp.diff(F, var, k) for (k,), c in sp.Poly(poly, z).terms()])


def price_integrand(sigma: sp.Expr) -> sp.Expr:
    """``E[sigma''(X) sigma''(Y)]`` in C11, C22, C12 for ``sigma'' = p phi`` (see the module docstring)."""
    K = _kernels()
    p = bump_polynomial(sigma)
    expo = _s * K.X_REP + _u * K.Y_REP - K.X_REP**2 / 2 - K.Y_REP**2 / 2
    F = K.gaussian_expectation_of_exp(expo, (K.z2, K.z1))
    e = _apply(p, _apply(p, F, _s), _u).subs({_s: 0, _u: 0}) / (2 * sp.pi)
    return sp.simplify(e.subs(K.D, K.D_EXPR))


def _inverse_powers_of_P(price: sp.Expr, M: sp.Expr) -> dict:
    """``{k: c_k}`` with ``price = sum_k c_k P^{-(2k+1)/2}``, ``P = M - C12^2``; ValueError if not."""
    K = _kernels()
    in_P = sp.expand(sp.simplify(price.subs(K.C12, sp.sqrt(M - _P))))
    if in_P.has(K.C12):
        raise ValueError(f"Price integrand is not a function of P = M - C12^2: {price}")
    out = {}
    for power, c in sp.collect(in_P, _P, evaluate=False).items():
        e = sp.Integer(0) if power == 1 else (power.exp if power.is_Pow else sp.Integer(1))
        k = -(2 * e + 1) / 2
        if not (k.is_integer and k >= 0 and not c.has(_P)):
            raise ValueError(f"Price integrand term {c} * {power} is not c P^(-(2k+1)/2)")
        out[int(k)] = sp.factor(c)
    return out


def _collect_form(g: sp.Expr, M: sp.Expr) -> sp.Expr:
    """Collect ``g`` over ``asin``, ``sqrt(P)`` and ``1/sqrt(P)`` (rational coefficients in
    ``sqrt(1 + C11)``, ``sqrt(1 + C22)``, where the sqrt(M) terms cancel)."""
    K = _kernels()
    A, R, sa, sb = sp.symbols("A R s_a s_b", positive=True)
    Pe = sp.expand(M - K.C12**2)
    asins = {e for e in g.atoms(sp.asin)}
    if len(asins) != 1:
        raise ValueError(f"expected one arcsine in {g}")
    (asin,) = asins
    e = g.subs(asin, A)
    e = e.replace(lambda x: isinstance(x, sp.Pow) and x.exp in (sp.S.Half, -sp.S.Half)
                  and sp.expand(x.base - Pe) == 0, lambda x: R ** (2 * x.exp))
    back = {sa: sp.sqrt(1 + K.C11), sb: sp.sqrt(1 + K.C22)}
    e = e.subs({v: k for k, v in back.items()}).subs({K.C11: sa**2 - 1, K.C22: sb**2 - 1})
    if e.has(K.C11, K.C22):
        raise ValueError(f"could not rewrite {g} in sqrt(1 + C11), sqrt(1 + C22)")
    parts = sp.collect(sp.expand(sp.apart(sp.cancel(e), R)), [A, R], evaluate=False)
    out = sum(sp.factor(sp.expand(c.subs(back))) * k for k, c in parts.items())
    return out.subs({A: asin, R: sp.sqrt(M - K.C12**2)})


def derive_gelu(act: SymbolicActivation, steps: list) -> tuple[sp.Expr, sp.Expr]:
    """``(g, g at C12 = 0)`` for ``sigma = z Phi(z)``; appends its steps (module docstring)."""
    K = _kernels()
    step = K.DerivationStep
    M = (1 + K.C11) * (1 + K.C22)
    p = bump_polynomial(act.sigma)
    price = price_integrand(act.sigma)
    coef = _inverse_powers_of_P(price, M)
    Ps = sp.Symbol("P", positive=True)
    steps.append(step(
        "Price's theorem twice: sigma'' is a polynomial times phi",
        rf"\sigma(z) = {sp.latex(act.sigma)},\quad \sigma''(z) = ({sp.latex(p)})\,\varphi(z),\quad "
        rf"\frac{{\partial^2 g}}{{\partial C_{{12}}^2}} = \mathbb{{E}}[\sigma''(X)\sigma''(Y)] = "
        + sp.latex(sum(c * Ps ** (-sp.Rational(2 * k + 1, 2)) for k, c in coef.items()))
        + rf",\quad P = {sp.latex(M)} - C_{{12}}^2",
        "p(d/ds) p(d/du) of E[exp(sX + uY - X^2/2 - Y^2/2)] at s = u = 0, over 2 pi; "
        "then written in powers of P (exact).",
    ))
    d1 = sp.diff(act.sigma, z)
    first0 = sp.simplify(K.gaussian_expectation(d1, sp.sqrt(K.C11)) * K.gaussian_expectation(d1, sp.sqrt(K.C22)))
    val0 = sp.simplify(K.gaussian_expectation(act.sigma, sp.sqrt(K.C11))
                       * K.gaussian_expectation(act.sigma, sp.sqrt(K.C22)))
    steps.append(step(
        "Boundary values at C12 = 0 (X, Y independent)",
        rf"\partial_{{C_{{12}}}} g\big|_0 = \mathbb{{E}}[\sigma'(X)]\mathbb{{E}}[\sigma'(Y)] = {sp.latex(first0)},"
        rf"\quad g\big|_0 = \mathbb{{E}}[\sigma(X)]\mathbb{{E}}[\sigma(Y)] = {sp.latex(val0)}",
    ))
    # C12 = sqrt(M) sin(theta): P^{-(2k+1)/2} dC12 = M^{-k} cos(theta)^{-2k} dtheta
    g3 = first0 + sum(c * M ** (-k) * sp.integrate(sp.cos(_phi) ** (-2 * k), (_phi, 0, _theta))
                      for k, c in coef.items())
    integrand = sp.expand(g3.subs(_theta, _phi) * sp.sqrt(M) * sp.cos(_phi))
    g = val0 + sp.Add(*[sp.integrate(term, (_phi, 0, _theta)) for term in sp.Add.make_args(integrand)])
    P_expr = M - K.C12**2
    back = {sp.sin(_theta): K.C12 / sp.sqrt(M), sp.cos(_theta): sp.sqrt(P_expr) / sp.sqrt(M),
            sp.tan(_theta): K.C12 / sp.sqrt(P_expr)}
    g = g.subs(back).subs(_theta, sp.asin(K.C12 / sp.sqrt(M)))
    if g.has(_theta):
        raise ValueError(f"theta left after substituting back: {g}")
    g = _collect_form(g, M)
    steps.append(step(
        "Integrate back twice in C12 (C12 = sqrt(M) sin theta, M = (1 + C11)(1 + C22))",
        rf"g = {sp.latex(g)}",
        "P^(-(2k+1)/2) dC12 = M^(-k) cos(theta)^(-2k) d theta, integrated term by term; "
        "theta = asin(C12/sqrt(M)), cos theta = sqrt(P/M); collected over asin, sqrt(P), 1/sqrt(P).",
    ))
    return g, val0
