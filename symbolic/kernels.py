r"""Derivation of the pair kernel ``g(C11, C22, C12) = E[sigma(w.x) sigma(v.x)]``.

Conventions (docs/theory.md §1): ``x ~ N(0, I_d)``, ``C11 = |w|^2``, ``C22 = |v|^2``, ``C12 = w.v``. The pair
``(X, Y) = (w.x, v.x)`` is centred Gaussian with covariance ``[[C11, C12], [C12, C22]]``; we write
it through two independent standard normals (Cholesky factor)

    X = sqrt(C11) z1,    Y = (C12 / sqrt(C11)) z1 + sqrt(D / C11) z2,    D = C11 C22 - C12^2,

so every expectation below is an iterated one-dimensional Gaussian integral that SymPy does with a
*positive* quadratic coefficient (docs/theory.md §2).

Routes (Price's theorem, ``d/dC12 E[f(X) h(Y)] = E[f'(X) h'(Y)]``):

* erf family, ``sigma(z) = erf(lam z)``: ``dg/dC12 = E[sigma'(X) sigma'(Y)]`` where
  ``sigma'(z) = sigma'(0) exp(-lam^2 z^2)``, a Gaussian integral of an exponential of a quadratic;
  integrate back in C12 from ``g(C12 = 0) = E[sigma(X)] E[sigma(Y)]``.
* piecewise-linear family, ``sigma(z) = alpha min(z,0) + beta max(z,0)``:
  ``d2g/dC12^2 = E[sigma''(X) sigma''(Y)]`` with ``sigma'' = (beta - alpha) delta``; integrate back
  twice from ``g`` and ``dg/dC12`` at ``C12 = 0`` (independent factors there).

Every step is recorded (``DerivationStep``) for the derivation document, and the result is checked
against its invariants (``InvariantCheck``): symmetry in ``w <-> v``, the value at ``C12 = 0`` and
the value at ``w = v`` (which must be ``E[sigma^2]``).

Numerically safe form: ``asin(N / sqrt(M))`` is rewritten as ``atan2(N, sqrt(M - N^2))`` and every
occurrence of ``C11 C22 - C12^2`` as the symbol ``D``, which the numeric wrapper supplies clipped at
``>= 0``. Partial derivatives in ``(C11, C22, C12)`` are taken of the safe form with ``D`` treated as
the dependent quantity it is (``dD/dC11 = C22``, ``dD/dC22 = C11``, ``dD/dC12 = -2 C12``).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field

import mpmath
import sympy as sp

from .activations import ACTIVATIONS, SymbolicActivation, z
from .kernels_extra import LIGHT_TIDY_FAMILIES, derive_extra, diag_extra, safe_extra

# --- symbols ---------------------------------------------------------------------------------
C11, C22 = sp.symbols("C11 C22", positive=True)
C12 = sp.Symbol("C12", real=True)
D = sp.Symbol("D", nonnegative=True)  # C11*C22 - C12**2 >= 0 (not positive: keeps atan2 unevaluated)
q = sp.Symbol("q", positive=True)  # |w|^2 on the diagonal w = v
z1, z2 = sp.symbols("z1 z2", real=True)
t = sp.Symbol("t", real=True)  # integration variable in C12

X_REP = sp.sqrt(C11) * z1
Y_REP = C12 / sp.sqrt(C11) * z1 + sp.sqrt(D / C11) * z2
D_EXPR = C11 * C22 - C12**2

#: names of the partial derivatives generated, in order; g_ij = d2 g / dC_i dC_j with
#: 1 = C11, 2 = C22, 3 = C12.
PARTIALS_0 = ("g",)
PARTIALS_1 = ("g", "g1", "g2", "g3")
PARTIALS_2 = ("g", "g1", "g2", "g3", "g11", "g12", "g13", "g22", "g23", "g33")
DIAG_PARTIALS = ("s", "s1", "s2")  # s(q) = g(q, q, q) and its first two q-derivatives


@dataclass(frozen=True)
class DerivationStep:
    """One step of a derivation, for the document: a title, a LaTeX formula, a note."""

    title: str
    latex: str
    note: str = ""


@dataclass(frozen=True)
class InvariantCheck:
    """A checked property of a derived kernel.

    ``method`` is ``"exact"`` (SymPy simplification to 0) or ``"numeric"`` (mpmath at
    ``digits`` digits, with the largest discrepancy in ``residual``).
    """

    name: str
    holds: bool
    method: str
    residual: str = "0"


@dataclass(frozen=True)
class KernelDerivation:
    """The derived kernel of one activation, its safe form, partials and checks."""

    activation: SymbolicActivation
    g: sp.Expr  # in C11, C22, C12
    g_safe: sp.Expr  # in C11, C22, C12, D
    partials: dict = field(hash=False)  # name -> expr in C11, C22, C12, D
    diag: dict = field(hash=False)  # name -> expr in q
    steps: tuple = ()
    invariants: tuple = ()

    @property
    def ok(self) -> bool:
        return all(c.holds for c in self.invariants)

    def source_hash(self) -> str:
        """SHA-256 of the canonical string form of every expression that gets rendered."""
        h = hashlib.sha256()
        h.update(self.activation.name.encode())
        for name in PARTIALS_2:
            h.update(sp.srepr(self.partials[name]).encode())
        for name in DIAG_PARTIALS:
            h.update(sp.srepr(self.diag[name]).encode())
        return h.hexdigest()


# --- Gaussian integrals ----------------------------------------------------------------------
_p = sp.Symbol("p", positive=True)
_beta = sp.Symbol("beta", real=True)
_u = sp.Symbol("u", real=True)


@functools.lru_cache(maxsize=None)
def _base_gaussian() -> sp.Expr:
    """``E[exp(-p u^2 + beta u)]`` over ``u ~ N(0, 1)`` with ``p > 0`` (absorbing the density's
    ``-u^2/2`` into ``p``), integrated by SymPy once: ``exp(beta^2/(4p)) / sqrt(2 p)``."""
    r = sp.integrate(sp.exp(-_p * _u**2 + _beta * _u), (_u, -sp.oo, sp.oo)) / sp.sqrt(2 * sp.pi)
    return sp.simplify(r)


def gaussian_expectation_of_exp(exponent: sp.Expr, variables) -> sp.Expr:
    """``E[exp(exponent)]`` for independent standard normal ``variables``, ``exponent`` a quadratic
    polynomial in them. Integrates one variable at a time: the exponent plus the density's
    ``-u^2/2`` is ``-A u^2 + B u + C``; the one-dimensional integral is taken with a positive symbol
    for ``A`` and ``A`` substituted back (it is positive whenever the expectation is finite)."""
    base = _base_gaussian()
    prefactor = sp.Integer(1)
    expo = sp.expand(exponent)
    for u in variables:
        expo = sp.expand(expo)
        A = -expo.coeff(u, 2)
        B = expo.coeff(u, 1)
        C = expo.coeff(u, 0)
        # base = exp(beta^2/(4p)) * c(p): split into its p-only prefactor and the exponential
        one_d = base.subs({_p: A + sp.Rational(1, 2), _beta: B}, simultaneous=True)
        pref = sp.simplify(one_d / sp.exp(B**2 / (4 * (A + sp.Rational(1, 2)))))
        prefactor *= pref
        expo = sp.expand(C + B**2 / (4 * (A + sp.Rational(1, 2))))
    return sp.simplify(prefactor * sp.exp(sp.simplify(expo)))


def gaussian_expectation(expr_in_z: sp.Expr, scale: sp.Expr) -> sp.Expr:
    """``E[f(s Z)]`` for ``Z ~ N(0,1)``, ``f`` given as an expression in ``z`` and ``s = scale``."""
    integrand = expr_in_z.subs(z, scale * _u) * sp.exp(-_u**2 / 2) / sp.sqrt(2 * sp.pi)
    integrand = sp.expand(integrand.rewrite(sp.Heaviside))
    return sp.simplify(sp.integrate(integrand, (_u, -sp.oo, sp.oo)))


def _price_delta_delta() -> sp.Expr:
    """``E[delta(X) delta(Y)]`` by integrating the Dirac deltas against the Cholesky form."""
    dens = sp.exp(-(z1**2 + z2**2) / 2) / (2 * sp.pi)
    inner = sp.integrate(sp.DiracDelta(Y_REP) * sp.DiracDelta(X_REP) * dens, (z2, -sp.oo, sp.oo))
    outer = sp.integrate(inner, (z1, -sp.oo, sp.oo))
    return sp.simplify(outer)


def _integrate_in_c12(expr_in_c12: sp.Expr, lower_value: sp.Expr) -> sp.Expr:
    """``lower_value + int_0^C12 expr(t) dt``."""
    integrand = expr_in_c12.subs(C12, t)
    val = sp.integrate(integrand, (t, 0, C12), conds="none")
    if isinstance(val, sp.Piecewise):  # take the branch valid for |C12| <= sqrt(C11 C22)
        val = val.args[-1][0]
    return sp.simplify(lower_value + val)


def _inverse_sqrt_poly(price: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """Write a positive ``price`` as ``K / sqrt(P)`` with ``P`` a polynomial in C11, C22, C12.
    Returns ``(K, P)``."""
    inv_sq = sp.factor(sp.simplify(1 / price**2))
    num, den = sp.fraction(inv_sq)
    # price = sqrt(den / num) = sqrt(den) / sqrt(num)
    K = sp.sqrt(den)
    return sp.simplify(K), sp.expand(num)


# --- derivations per family ------------------------------------------------------------------
def _derive_erf(act: SymbolicActivation, steps: list) -> tuple[sp.Expr, sp.Expr]:
    sigma = act.sigma
    dsigma = sp.diff(sigma, z)
    s0 = dsigma.subs(z, 0)
    expo = sp.simplify(sp.log(sp.simplify(dsigma / s0)), force=True)
    if sp.Poly(expo, z).degree() != 2:
        raise ValueError(f"{act.name}: sigma' is not a Gaussian bump: {dsigma}")
    steps.append(DerivationStep(
        "Derivative of the activation",
        rf"\sigma(z) = {sp.latex(sigma)},\quad \sigma'(z) = {sp.latex(s0)}\,\exp\!\left({sp.latex(expo)}\right)",
    ))
    pair_expo = expo.subs(z, X_REP) + expo.subs(z, Y_REP)
    e = gaussian_expectation_of_exp(pair_expo, (z2, z1))
    price = sp.simplify((s0**2 * e).subs(D, D_EXPR))
    K, P = _inverse_sqrt_poly(price)
    steps.append(DerivationStep(
        "Price's theorem: Gaussian integral of sigma'(X) sigma'(Y)",
        rf"\frac{{\partial g}}{{\partial C_{{12}}}} = \mathbb{{E}}[\sigma'(X)\sigma'(Y)] = {sp.latex(K)} \Big/ \sqrt{{{sp.latex(P)}}}",
        "z2 then z1 integrated with a positive quadratic coefficient; D substituted back.",
    ))
    boundary = sp.simplify(gaussian_expectation(sigma, sp.sqrt(C11)) * gaussian_expectation(sigma, sp.sqrt(C22)))
    steps.append(DerivationStep(
        "Boundary value at C12 = 0 (X, Y independent)",
        rf"g\big|_{{C_{{12}}=0}} = \mathbb{{E}}[\sigma(X)]\,\mathbb{{E}}[\sigma(Y)] = {sp.latex(boundary)}",
    ))
    # integrate K / sqrt(P(t)) with P = A - B t^2, A, B > 0 as positive symbols
    A_, B_ = sp.symbols("A B", positive=True)
    PP = sp.Poly(P, C12)
    if PP.degree() != 2 or PP.coeff_monomial(C12) != 0:
        raise ValueError(f"{act.name}: unexpected Price denominator {P}")
    A_val, B_val = PP.coeff_monomial(1), -PP.coeff_monomial(C12**2)
    prim = sp.integrate(1 / sp.sqrt(A_ - B_ * t**2), (t, 0, C12), conds="none")
    if isinstance(prim, sp.Piecewise):
        prim = prim.args[0][0]
    g = sp.simplify(boundary + K * prim.subs({A_: A_val, B_: B_val}, simultaneous=True))
    steps.append(DerivationStep(
        "Integrate back in C12",
        rf"g = g\big|_{{C_{{12}}=0}} + \int_0^{{C_{{12}}}} \frac{{\partial g}}{{\partial C_{{12}}}}\,dt = {sp.latex(g)}",
    ))
    return g, boundary


def _derive_piecewise_linear(act: SymbolicActivation, steps: list) -> tuple[sp.Expr, sp.Expr]:
    sigma = act.sigma.rewrite(sp.Heaviside)
    d1 = sp.diff(sigma, z)
    d2 = sp.simplify(sp.diff(d1, z))
    jump = sp.simplify(sp.integrate(d2, (z, -1, 1)))  # weight of the delta at 0
    steps.append(DerivationStep(
        "Derivatives of the activation (distributional)",
        rf"\sigma(z) = {sp.latex(act.sigma)},\quad \sigma''(z) = {sp.latex(jump)}\,\delta(z)",
    ))
    dd = _price_delta_delta().subs(D, D_EXPR)
    second = sp.simplify(jump**2 * dd)
    steps.append(DerivationStep(
        "Price's theorem twice: E[delta(X) delta(Y)]",
        rf"\frac{{\partial^2 g}}{{\partial C_{{12}}^2}} = ({sp.latex(jump)})^2\,\mathbb{{E}}[\delta(X)\delta(Y)] = {sp.latex(second)}",
        "Dirac deltas integrated against the Cholesky representation (z2, then z1).",
    ))
    first0 = sp.simplify(gaussian_expectation(d1, sp.sqrt(C11)) * gaussian_expectation(d1, sp.sqrt(C22)))
    val0 = sp.simplify(gaussian_expectation(sigma, sp.sqrt(C11)) * gaussian_expectation(sigma, sp.sqrt(C22)))
    steps.append(DerivationStep(
        "Boundary values at C12 = 0 (X, Y independent)",
        rf"\partial_{{C_{{12}}}} g\big|_0 = \mathbb{{E}}[\sigma'(X)]\mathbb{{E}}[\sigma'(Y)] = {sp.latex(first0)},\quad g\big|_0 = {sp.latex(val0)}",
    ))
    if second == 0:
        first = first0 + 0 * C12
    else:
        # second = c / sqrt(C11 C22 - C12^2); integrate with R^2 = C11 C22 as a positive symbol
        R = sp.Symbol("R", positive=True)
        second_R = sp.simplify(second.subs(C11, R**2 / C22))
        first = sp.simplify(first0 + sp.integrate(second_R.subs(C12, t), (t, 0, C12), conds="none"))
        if isinstance(first, sp.Piecewise):
            first = first.args[0][0]
        g_R = val0.subs(C11, R**2 / C22)
        g_R = g_R + sp.integrate(first.subs(C12, t), (t, 0, C12), conds="none")
        if isinstance(g_R, sp.Piecewise):
            g_R = g_R.args[0][0]
        g = sp.simplify(sp.simplify(g_R).subs(R, sp.sqrt(C11 * C22)))
        steps.append(DerivationStep(
            "Integrate back twice in C12 (R^2 = C11 C22)",
            rf"\partial_{{C_{{12}}}} g = {sp.latex(first.subs(R, sp.sqrt(C11*C22)))},\quad g = {sp.latex(g)}",
        ))
        return g, val0
    g = sp.simplify(val0 + first0 * C12)
    steps.append(DerivationStep("Integrate back in C12", rf"g = {sp.latex(g)}"))
    return g, val0


# --- safe form and partials ------------------------------------------------------------------
def _to_D(poly: sp.Expr) -> sp.Expr:
    """Rewrite a polynomial in C11, C22, C12 so that C11*C22 - C12^2 appears as D."""
    e = sp.expand(poly)
    e = sp.expand(e.subs(C11 * C22, D + C12**2))
    return e


def safe_form(expr: sp.Expr) -> sp.Expr:
    """``asin(N/sqrt(M)) -> atan2(N, sqrt(M - N^2))``; ``sqrt(poly) -> sqrt(poly with D)``."""

    def asin_to_atan2(arg):
        num, den = sp.fraction(sp.together(arg))
        M = sp.expand(sp.powsimp(den**2, force=True))
        return sp.atan2(num, sp.sqrt(_to_D(M - num**2)))

    out = expr.replace(lambda e: isinstance(e, sp.asin), lambda e: asin_to_atan2(e.args[0]))
    out = out.replace(
        lambda e: isinstance(e, sp.Pow) and e.exp in (sp.S.Half, -sp.S.Half) and e.base.has(C12),
        lambda e: sp.Pow(_to_D(e.base), e.exp),
    )
    return out


_DD = {C11: C22, C22: C11, C12: -2 * C12}
_VARS = {"1": C11, "2": C22, "3": C12}


def total_derivative(expr: sp.Expr, var: sp.Symbol) -> sp.Expr:
    """d expr / d var with D = C11 C22 - C12^2 depending on var."""
    return sp.diff(expr, var) + sp.diff(expr, D) * _DD[var]


def _tidy(expr: sp.Expr) -> sp.Expr:
    """Simplify so that removable 0/0 at D = 0 cancel."""
    e = sp.simplify(sp.together(expr))
    e = sp.factor_terms(e)
    return e


def compute_partials(g_safe: sp.Expr, tidy=_tidy) -> dict:
    """First and second partials of ``g_safe`` (``total_derivative``), each passed through ``tidy``."""
    out = {"g": g_safe}
    first = {}
    for i, var in _VARS.items():
        first[i] = tidy(total_derivative(g_safe, var))
        out["g" + i] = first[i]
    for name in PARTIALS_2[4:]:
        i, j = name[1], name[2]
        out[name] = tidy(total_derivative(first[i], _VARS[j]))
    return out


def compute_diag(g_safe: sp.Expr) -> dict:
    s = sp.simplify(g_safe.subs({C11: q, C22: q, C12: q, D: 0}, simultaneous=True))
    s1 = sp.simplify(sp.diff(s, q))
    s2 = sp.simplify(sp.diff(s1, q))
    return {"s": s, "s1": s1, "s2": s2}


# --- invariants ------------------------------------------------------------------------------
def _numeric_equal(e1: sp.Expr, e2: sp.Expr, points, digits: int = 30) -> tuple[bool, str]:
    worst = mpmath.mpf(0)
    with mpmath.workdps(digits + 10):
        for pt in points:
            v1 = sp.N(e1.subs(pt), digits + 10)
            v2 = sp.N(e2.subs(pt), digits + 10)
            diff = abs(complex(v1 - v2)) if (v1 - v2).is_real is False else abs(mpmath.mpf(str(sp.re(v1 - v2))))
            worst = max(worst, mpmath.mpf(diff))
    return bool(worst < mpmath.mpf(10) ** (-(digits - 5))), mpmath.nstr(worst, 3)


_SAMPLE_POINTS = [
    {C11: sp.Rational(3, 2), C22: sp.Rational(2, 3), C12: sp.Rational(1, 3)},
    {C11: sp.Rational(1, 5), C22: 4, C12: -sp.Rational(4, 5)},
    {C11: 7, C22: sp.Rational(1, 2), C12: sp.Rational(5, 4)},
]


def _second_moment_numeric(act: SymbolicActivation, qv) -> mpmath.mpf:
    """E[sigma(sqrt(q) Z)^2] by mpmath quadrature (split at 0)."""
    f = sp.lambdify(z, act.sigma, modules="mpmath")
    s = mpmath.sqrt(qv)
    integrand = lambda u: f(s * u) ** 2 * mpmath.npdf(u)
    return mpmath.quad(integrand, [-mpmath.inf, 0, mpmath.inf])


def check_invariants(act, g, g_safe, partials, diag, boundary) -> tuple:
    checks = []
    # 1. symmetry in (w <-> v): swap C11 <-> C22 (D and C12 invariant)
    sw = g_safe.subs({C11: C22, C22: C11}, simultaneous=True)
    checks.append(InvariantCheck("symmetric in w <-> v", sp.simplify(sw - g_safe) == 0, "exact"))
    # 2. safe form equals the derived form
    back = g_safe.subs(D, D_EXPR)
    exact = sp.simplify(back - g) == 0
    if exact:
        checks.append(InvariantCheck("safe form (atan2, D) equals derived form", True, "exact"))
    else:
        ok, res = _numeric_equal(back, g, _SAMPLE_POINTS)
        checks.append(InvariantCheck("safe form (atan2, D) equals derived form", ok, "numeric", res))
    # 3. value at C12 = 0
    at0 = g_safe.subs({C12: 0, D: C11 * C22}, simultaneous=True)
    at0 = at0.replace(lambda e: isinstance(e, sp.Pow) and e.exp in (sp.S.Half, -sp.S.Half),  # sqrt of a
                      lambda e: sp.Pow(sp.factor(e.base), e.exp))  # product of positive factors: split
    at0 = sp.simplify(at0 - boundary)
    checks.append(InvariantCheck("g(C12 = 0) = E[sigma(X)] E[sigma(Y)]", at0 == 0, "exact"))
    # 4. value at w = v equals E[sigma^2]
    if act.family in ("piecewise_linear", "hermite", "monomial"):  # exact integrals of (piecewise) polynomials
        m2 = gaussian_expectation(act.sigma.rewrite(sp.Heaviside) ** 2, sp.sqrt(q))
        checks.append(InvariantCheck("g(w, w) = E[sigma(w.x)^2]", sp.simplify(diag["s"] - m2) == 0, "exact"))
    else:
        worst = mpmath.mpf(0)
        with mpmath.workdps(40):
            for qv in (mpmath.mpf("0.3"), mpmath.mpf(2), mpmath.mpf(17)):
                ref = _second_moment_numeric(act, qv)
                val = sp.N(diag["s"].subs(q, sp.Float(str(qv), 40)), 40)
                worst = max(worst, abs(mpmath.mpf(str(val)) - ref))
        checks.append(InvariantCheck("g(w, w) = E[sigma(w.x)^2]", bool(worst < mpmath.mpf("1e-30")),
                                     "numeric (mpmath quad, 40 digits)", mpmath.nstr(worst, 3)))
    # 5. first partials finite at D = 0 (collinear w, v with nonzero norms)
    finite = True
    for name in PARTIALS_1:
        v = partials[name].subs({D: 0, C11: 2, C22: sp.Rational(1, 2), C12: 1})
        finite &= bool(v.is_finite)
    checks.append(InvariantCheck("g and first partials finite at collinear w, v", finite, "exact"))
    # 6. generated partials agree with the derivative of the derived form
    worst_ok = True
    worst_res = mpmath.mpf(0)
    for name in PARTIALS_2[1:]:
        e = g
        for ch in name[1:]:
            e = sp.diff(e, _VARS[ch])
        ok, res = _numeric_equal(partials[name].subs(D, D_EXPR), e, _SAMPLE_POINTS[:2], digits=25)
        worst_ok &= ok
        worst_res = max(worst_res, mpmath.mpf(res))
    checks.append(InvariantCheck("partials (D-aware) equal direct derivatives of g", worst_ok,
                                 "numeric (25 digits, 2 points)", mpmath.nstr(worst_res, 3)))
    return tuple(checks)


@functools.lru_cache(maxsize=None)
def derive_kernel(name: str) -> KernelDerivation:
    """Derive, rewrite safely, differentiate and check the kernel of activation ``name``."""
    try:
        act = ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {name!r}") from None
    steps: list[DerivationStep] = []
    if act.family == "erf":
        g, boundary = _derive_erf(act, steps)
    elif act.family == "piecewise_linear":
        g, boundary = _derive_piecewise_linear(act, steps)
    else:
        g, boundary = derive_extra(act, steps)
    g_safe = safe_extra(act, g) or safe_form(g)
    steps.append(DerivationStep(
        "Numerically safe form",
        rf"g = {sp.latex(g_safe)},\quad D = C_{{11}}C_{{22}} - C_{{12}}^2 \ge 0",
        "asin(N/sqrt(M)) = atan2(N, sqrt(M - N^2)); D is clipped at 0 by the numeric wrapper.",
    ))
    # gelu: no removable 0/0 (P = 1 + C11 + C22 + D >= 1), and simplify takes minutes on its second
    # partials: only common factors are pulled out; the generated code shares subexpressions (cse)
    partials = compute_partials(g_safe, sp.factor_terms if act.family in LIGHT_TIDY_FAMILIES else _tidy)
    diag = compute_diag(g_safe)
    diag = diag_extra(act, diag["s"]) or diag
    steps.append(DerivationStep(
        "Diagonal w = v (|w|^2 = q)",
        rf"s(q) = {sp.latex(diag['s'])},\quad s'(q) = {sp.latex(diag['s1'])},\quad s''(q) = {sp.latex(diag['s2'])}",
    ))
    inv = check_invariants(act, g, g_safe, partials, diag, boundary)
    return KernelDerivation(act, g, g_safe, partials, diag, tuple(steps), inv)
