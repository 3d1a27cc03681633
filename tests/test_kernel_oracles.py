"""The generated pair kernels against independent routes: mpmath evaluation, 2-D quadrature, Monte
Carlo; registry consistency; edge cases (collinear, correlations past +-1, tiny and huge norms).

Routes and bounds (each with its own tolerance, see the comments at the asserts):

    pair_kernel (float)  vs  pair_kernel_mp (50 digits)   rel 1e-12   norms in [0.1, 10], |rho| <= 0.99
    closed form          vs  kernel_quad_mp (dps 15)      rel 1e-10 (erf family), 1e-9 (piecewise linear)
    closed form          vs  kernel_monte_carlo           5 standard errors
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from _helpers import ACT_NAMES, ERF_FAMILY, PL_FAMILY, covariances, cs_bound
from hypothesis import example, given, settings, target
from hypothesis import strategies as st

from copyavg.numeric import ACTIVATIONS, diag_kernel, pair_kernel
from copyavg.numeric.kernels import PARTIAL_NAMES
from copyavg.numeric.mp import pair_kernel_mp
from copyavg.numeric.oracles import kernel_monte_carlo, kernel_quad_mp

#: (index pairs of) the variables each partial differentiates in: 1 = C11, 2 = C22, 3 = C12
_VARS = {name: tuple(int(c) for c in name[1:]) for name in PARTIAL_NAMES[2]}


def _partial_floor(activation, C11, C22, C12):
    """Natural size of each partial: ``G0 / prod c_var`` with ``G0`` the Cauchy-Schwarz bound on
    |g| and ``c_1 = C11``, ``c_2 = C22``, ``c_3 = sqrt(C11 C22)`` (the piecewise-linear g is
    |w||v| times a function of the angle, so a partial in C_a scales like g / c_a); for the erf
    family g is smooth at C = 0 so ``1 + C`` replaces ``C``. Where a partial passes through 0 by
    cancellation, its error is measured against this size instead of against itself."""
    shift = 1.0 if ACTIVATIONS[activation].family == "erf" else 0.0
    c = {1: C11 + shift, 2: C22 + shift, 3: math.sqrt((C11 + shift) * (C22 + shift))}
    G0 = cs_bound(activation, C11, C22)
    return np.array([G0 / math.prod(c[v] for v in _VARS[nm]) for nm in PARTIAL_NAMES[2]])


@pytest.mark.parametrize("activation", ACT_NAMES)
@given(C=covariances(log10_norm=(-1.0, 1.0), max_abs_rho=0.99))
@example(C=(1.0, 1.0, 0.0))
@example(C=(0.01, 100.0, -0.99 * 1.0))  # norms at the ends of the region, anti-correlated
@example(C=(100.0, 100.0, 99.0))
def test_generated_kernel_matches_mp_route(activation, C):
    """Float evaluation of the generated kernel and all partials up to order 2 vs the same
    expressions evaluated at 50 digits from the same (exactly representable) inputs.

    Region: norms in [0.1, 10] and |rho| <= 0.99, so D >= 0.0199 C11 C22 (the piecewise-linear
    second partials grow like 1/sqrt(D); near rho = +-1 their float error grows with them).
    """
    num = np.array(pair_kernel(activation, *C, order=2), dtype=float)
    with mpmath.workdps(50):
        ref = np.array([float(x) for x in pair_kernel_mp(activation, *C, order=2)])
    floor = _partial_floor(activation, *C)
    err = np.abs(num - ref) / np.maximum(np.abs(ref), floor)
    target(float(err.max()), label=f"relative error {activation}")
    # 1e-12: each partial is a few dozen float operations (rounding ~ 1e-15 each); the worst
    # measured conditioning in the region (ReLU g at rho = -0.99, where g ~ (pi - theta)^3 is a
    # cancellation of O(1) terms) costs ~ 1e2, leaving a margin of ~10 to 1e-12.
    assert np.all(err <= 1e-12), dict(zip(PARTIAL_NAMES[2], err))


_QUAD_DPS = 15  # the quadrature rule is accurate to ~1e-15 at dps 15 (measured against closed forms)


def _check_quad(activation, C):
    exact = float(pair_kernel(activation, *C))
    quad = float(kernel_quad_mp(activation, *C, dps=_QUAD_DPS))
    scale = max(abs(exact), cs_bound(activation, C[0], C[1]) * 1e-3)
    if scale == 0:  # a zero vector: sigma(0) = 0 for every registered activation, so g = 0 exactly
        assert quad == exact == 0.0
        return
    rel = abs(quad - exact) / scale
    target(rel, label=f"quad error {activation}")
    # erf family: both routes are accurate to ~1e-14 (float closed form ~1e-15, Gauss-Legendre
    # panels ~1e-15 at dps 15); 1e-10 is the brief's bound with ample margin.
    # Piecewise linear: the outer integrand has a smoothed kink of width ~ sqrt(1 - rho^2), which
    # the graded panels resolve to ~1e-13 (measured at rho = 1 - 1e-6); 1e-9 allows for rho closer
    # to 1. The floor 1e-3 * Cauchy-Schwarz bound keeps near-zero g (C12 ~ 0 for odd sigma, rho ~ -1
    # for ReLU) from turning absolute quadrature error into huge relative error.
    tol = 1e-10 if ACTIVATIONS[activation].family == "erf" else 1e-9
    assert rel <= tol, (activation, C, exact, quad)


@pytest.mark.parametrize("activation", ACT_NAMES)
@settings(max_examples=min(settings().max_examples, 2))
@given(C=covariances(log10_norm=(-0.5, 0.5), max_abs_rho=0.95))
def test_closed_form_matches_quadrature(activation, C):
    """Closed form vs nested 2-D Gauss-Legendre quadrature of E[sigma(X) sigma(Y)] (quick subset)."""
    _check_quad(activation, C)


@pytest.mark.slow
@pytest.mark.parametrize("activation", ACT_NAMES)
@settings(max_examples=min(settings().max_examples, 10))
@given(C=covariances(log10_norm=(-2.0, 2.0), max_abs_rho=0.999999))
@example(C=(1.0, 1.0, 1.0))  # collinear: D = 0, the 1-D branch of the quadrature
@example(C=(2.0, 2.0, -2.0))  # anti-collinear
@example(C=(0.0, 3.0, 0.0))  # zero vector
@example(C=(1e4, 1.0, 50.0))  # steep erf step in the outer integral
def test_closed_form_matches_quadrature_wide(activation, C):
    """Closed form vs quadrature over norms in [0.01, 100] and |rho| up to 1 - 1e-6."""
    _check_quad(activation, C)


@pytest.mark.parametrize("activation", ACT_NAMES)
@given(C=covariances(log10_norm=(-1.0, 1.0), max_abs_rho=0.999), seed=st.integers(0, 2**32 - 1))
def test_closed_form_matches_monte_carlo(activation, C, seed):
    mean, stderr = kernel_monte_carlo(activation, *C, n_samples=20_000, rng=np.random.default_rng(seed))
    exact = float(pair_kernel(activation, *C))
    # 5 standard errors: a correct kernel fails with probability ~6e-7 per example (the sample
    # mean of 2e4 products of sub-Gaussian / Gaussian-tailed factors is close to normal).
    assert abs(mean - exact) <= 5 * stderr, (mean, stderr, exact)


def test_registries_agree():
    """Numeric and symbolic registries: same names, same sigma; the numeric ``odd`` flag is right.

    (Oddness is checked on sigma itself, not against ``SymbolicActivation.is_odd``, which relies on
    ``sympy.simplify`` and answers False for ``linear`` = Min(z, 0) + Max(z, 0).)"""
    import sympy as sp

    from copyavg.symbolic.activations import ACTIVATIONS as SYM
    from copyavg.symbolic.activations import z

    assert set(SYM) == set(ACTIVATIONS)
    points = [-2.5, -0.3, 0.0, 0.7, 3.0]
    for name, act in ACTIVATIONS.items():
        f = sp.lambdify(z, SYM[name].sigma, modules="mpmath")
        xs = np.array(points)
        assert np.array_equal(act.sigma(-xs) == -act.sigma(xs), np.full(xs.shape, True)) == act.odd, name
        with mpmath.workdps(30):
            for x in points:
                ref = f(mpmath.mpf(x))
                # sigma_mp at 30 digits: agreement to 1e-25 (a few ulps at 30 digits)
                assert abs(act.sigma_mp(mpmath.mpf(x)) - ref) <= 1e-25 * max(1, abs(ref)), (name, x)
                # float sigma: a few float ulps (scipy erf is accurate to ~1 ulp)
                assert abs(float(act.sigma(x)) - float(ref)) <= 4e-16 * max(1.0, abs(float(ref))), (name, x)


def _collinear(n1, n2, sign):
    return (n1 * n1, n2 * n2, sign * n1 * n2)


_PAST_ONE = math.nextafter(1.0, 2.0)  # correlation that rounds just past +1


@pytest.mark.parametrize("activation", ACT_NAMES)
@given(C=covariances(log10_norm=(-12.0, 8.0), max_abs_rho=1.0))
@example(C=_collinear(1.0, 1.0, 1.0))
@example(C=_collinear(0.3, 7.0, -1.0))
@example(C=(0.1, 0.1, 0.1 * _PAST_ONE))  # C12^2 > C11 C22 by rounding
@example(C=(3.0, 5.0, -math.sqrt(15.0) * _PAST_ONE))
@example(C=_collinear(1e-12, 1e-12, 1.0))
@example(C=_collinear(1e8, 1e8, -1.0))
@example(C=_collinear(1e-12, 1e8, 1.0))
@example(C=(1e16, 1e16, 0.0))
def test_kernel_edge_cases(activation, C):
    """Finite values, Cauchy-Schwarz, and the diagonal kernel at extreme inputs."""
    C11, C22, C12 = C
    out = pair_kernel(activation, C11, C22, C12, order=2)
    D = C11 * C22 - C12 * C12
    first = np.array(out[:4], dtype=float)
    assert np.all(np.isfinite(first)), first
    second = np.array(out[4:], dtype=float)
    if ACTIVATIONS[activation].smooth or D > 0:
        assert np.all(np.isfinite(second)), second
    else:  # documented: second partials of the piecewise-linear family are inf at collinear vectors
        assert not np.any(np.isnan(second)), second
    g = float(out[0])
    bound = cs_bound(activation, C11, C22)
    # Cauchy-Schwarz |g| <= sqrt(s(C11) s(C22)); 1e-12 relative slack for rounding at |rho| = 1
    # where the bound is attained.
    assert abs(g) <= bound * (1 + 1e-12), (g, bound)


@pytest.mark.parametrize("activation", ACT_NAMES)
@given(logq=st.floats(-24.0, 16.0))
@example(logq=0.0)
def test_diag_kernel_is_pair_kernel_on_the_diagonal(activation, logq):
    """s(q) = g(q, q, q) and s'(q) = (g1 + g2 + g3)(q, q, q) (chain rule); s'' for smooth kernels."""
    q = 10.0**logq
    s, s1, s2 = (float(x) for x in diag_kernel(activation, q))
    out = [float(x) for x in pair_kernel(activation, q, q, q, order=2)]
    # 1e-14 relative: the two are different float expressions of the same function (few ulps)
    assert s == pytest.approx(out[0], rel=1e-14, abs=0)
    # s' = g1 + g2 + g3 cancels at large q (g1, g2 < 0 < g3 for the erf family): 1e-14 relative
    # to |g1| + |g2| + |g3|, a few ulps of the summands
    assert abs(s1 - (out[1] + out[2] + out[3])) <= 1e-14 * (abs(out[1]) + abs(out[2]) + abs(out[3]))
    if ACTIVATIONS[activation].smooth:
        g11, g12, g13, g22, g23, g33 = out[4:]
        s2_chain = g11 + g22 + g33 + 2 * (g12 + g13 + g23)
        # sum of six second partials with cancellation: 1e-10 relative to their absolute sum
        tol = 1e-10 * (abs(g11) + abs(g22) + abs(g33) + 2 * (abs(g12) + abs(g13) + abs(g23)))
        assert abs(s2 - s2_chain) <= tol, (s2, s2_chain)


@pytest.mark.parametrize("activation", ERF_FAMILY)
@given(C=covariances(log10_norm=(-1.0, 1.0), max_abs_rho=0.99))
def test_erf_family_matches_known_arcsine(activation, C):
    """The erf-family kernel equals the textbook arcsine (docs/theory.md §2), written independently here:
    ``(2/pi) asin(2 lam^2 C12 / sqrt((1 + 2 lam^2 C11)(1 + 2 lam^2 C22)))``."""
    lam2 = ACTIVATIONS[activation].params["lam"] ** 2
    C11, C22, C12 = C
    ref = 2 / math.pi * math.asin(2 * lam2 * C12 / math.sqrt((1 + 2 * lam2 * C11) * (1 + 2 * lam2 * C22)))
    # 1e-13 absolute (|g| < 1): asin of an argument with ~1e-15 relative rounding
    assert float(pair_kernel(activation, *C)) == pytest.approx(ref, rel=1e-12, abs=1e-13)


@pytest.mark.parametrize("activation", PL_FAMILY)
@given(C=covariances(log10_norm=(-1.0, 1.0), max_abs_rho=1.0))
def test_piecewise_linear_matches_arc_cosine_kernel(activation, C):
    """alpha min(z,0) + beta max(z,0) = ((alpha+beta)/2) z + ((beta-alpha)/2) |z|, so
    g = ((a+b)/2)^2 C12 + ((b-a)/2)^2 (2|w||v|/pi)(sin t + (pi/2 - t) cos t) (cross terms vanish
    by symmetry): the arc-cosine kernel, written independently here."""
    p = ACTIVATIONS[activation].params
    al, be = p["alpha"], p["beta"]
    C11, C22, C12 = C
    nw, nv = math.sqrt(C11), math.sqrt(C22)
    cos_t = max(-1.0, min(1.0, C12 / (nw * nv)))
    t = math.acos(cos_t)
    abs_k = 2 * nw * nv / math.pi * (math.sin(t) + (math.pi / 2 - t) * cos_t)
    ref = ((al + be) / 2) ** 2 * C12 + ((be - al) / 2) ** 2 * abs_k
    # 1e-12 relative to the Cauchy-Schwarz scale: acos near |cos t| = 1 loses digits (t ~ sqrt(eps))
    # but sin t and the (pi/2 - t) cos t term are then O(eps) relative to |w||v|.
    assert abs(float(pair_kernel(activation, *C)) - ref) <= 1e-12 * cs_bound(activation, C11, C22)
