"""The kernels beyond the paper's activations (hermite2..hermite5, sin, cos, gaussian, normal_cdf)
against independent routes, and loss/gradient against the 50-digit route over their accepted range.

    pair_kernel (float)   vs kernel_quad_mp (2-D Gauss-Legendre, dps 25)   rel 1e-10
    all partials (float)  vs the 50-digit route                            rel 1e-11 (floor below)
    diag_kernel s(q)      vs 1-D mpmath quadrature of E[sigma(sqrt(q) Z)^2]  rel 1e-12
    s'(q), s''(q)         vs central differences of the 50-digit s(q)     rel 1e-12
    pair_kernel           vs Monte Carlo                                  5 standard errors
    loss / gradient       vs loss_mp / gradient_mp, 50 digits            1e-9 of a Cauchy-Schwarz scale
"""

from __future__ import annotations

import math
import os

import mpmath
import numpy as np
import pytest
from _helpers import EXTRA_NAMES, covariances, cs_bound
from hypothesis import given, settings
from hypothesis import strategies as st

from copyavg.numeric import ACTIVATIONS, diag_kernel, hessian, loss, loss_and_gradient, pair_kernel
from copyavg.numeric._generated_kernels_mp import KERNELS as MP_KERNELS
from copyavg.numeric._geometry import MAX_NORM
from copyavg.numeric.kernels import PARTIAL_NAMES
from copyavg.numeric.mp import gradient_mp, loss_mp, pair_kernel_mp
from copyavg.numeric.oracles import kernel_monte_carlo, kernel_quad_mp

#: orthogonal, generic, anti-correlated, collinear (the 1-D branch of the quadrature), a zero vector
_POINTS = [(1.0, 1.0, 0.0), (1.3, 0.7, 0.4), (2.0, 0.5, -0.9), (1.5, 1.5, 1.5), (0.0, 2.0, 0.0)]


def test_extra_names_are_registered():
    assert EXTRA_NAMES == sorted(["cos", "gaussian", "hermite2", "hermite3", "hermite4", "hermite5",
                                  "normal_cdf", "sin"])
    for name in EXTRA_NAMES:
        assert ACTIVATIONS[name].smooth and not ACTIVATIONS[name].kinks


@pytest.mark.parametrize("activation", EXTRA_NAMES)
@pytest.mark.parametrize("C", _POINTS)
def test_extra_kernel_matches_quadrature(activation, C):
    """Closed form vs nested Gauss-Legendre quadrature (shares only sigma with the closed form).
    At dps 25 the rule (24 nodes per panel of width <= 2) integrates these analytic integrands
    (sin/cos of frequency <= 2 per unit: <= 4 radians per panel) to ~1e-20; the float closed form
    is good to ~1e-15. 1e-10 leaves a wide margin, and a floor of 1e-3 of the Cauchy-Schwarz bound
    keeps g ~ 0 (odd sigma at C12 = 0) from turning absolute error into relative."""
    exact = float(pair_kernel(activation, *C))
    quad = float(kernel_quad_mp(activation, *C, dps=25))
    scale = max(abs(exact), 1e-3 * cs_bound(activation, C[0], C[1]))
    assert abs(exact - quad) <= 1e-10 * scale, (exact, quad)


@pytest.mark.parametrize("activation", EXTRA_NAMES)
@given(C=covariances(log10_norm=(-1.0, 0.6), max_abs_rho=0.999))
def test_extra_partials_match_mp_route(activation, C):
    """Float vs 50-digit evaluation of all partials up to order 2. Floor: the Cauchy-Schwarz bound
    over ``prod (1 + c_var)`` (hermite partials like ``g1 = C22 - 1`` vanish by cancellation, where
    only absolute accuracy ~eps of that size exists); 1e-11: a few dozen float operations per
    partial with terms up to ~100 times the result (degree-5 polynomials)."""
    num = np.array(pair_kernel(activation, *C, order=2), dtype=float)
    with mpmath.workdps(50):
        ref = np.array([float(x) for x in pair_kernel_mp(activation, *C, order=2)])
    c = {"1": 1 + C[0], "2": 1 + C[1], "3": math.sqrt((1 + C[0]) * (1 + C[1]))}
    G0 = cs_bound(activation, C[0], C[1])
    floor = np.array([G0 / math.prod(c[v] for v in nm[1:]) for nm in PARTIAL_NAMES[2]])
    err = np.abs(num - ref) / np.maximum(np.abs(ref), floor)
    assert np.all(err <= 1e-11), dict(zip(PARTIAL_NAMES[2], err))


@pytest.mark.parametrize("activation", EXTRA_NAMES)
@pytest.mark.parametrize("q", [0.01, 0.5, 1.0, 3.0, 10.0])
def test_extra_diagonal_matches_1d_quadrature(activation, q):
    """s(q) = E[sigma(sqrt(q) Z)^2] by mpmath's adaptive 1-D quadrature (30 digits; ~1e-25 on these
    smooth integrands); s', s'' by central differences of the 50-digit s with step 1e-12
    (truncation ~1e-24, rounding ~1e-50/1e-12). Float closed forms: ~1e-15; bound 1e-12."""
    act = ACTIVATIONS[activation]
    s, s1, s2 = (float(x) for x in diag_kernel(activation, q))
    with mpmath.workdps(30):
        ref = mpmath.quad(lambda u: act.sigma_mp(mpmath.sqrt(q) * u) ** 2 * mpmath.npdf(u), [-mpmath.inf, 0, mpmath.inf])
    assert abs(s - float(ref)) <= 1e-12 * abs(float(ref))
    with mpmath.workdps(50):
        h, qm = mpmath.mpf("1e-12"), mpmath.mpf(q)
        f = lambda x: MP_KERNELS[activation][3](x)[0]  # noqa: E731
        d1 = (f(qm + h) - f(qm - h)) / (2 * h)
        d2 = (f(qm + h) - 2 * f(qm) + f(qm - h)) / h**2
    assert abs(s1 - float(d1)) <= 1e-12 * max(abs(float(d1)), abs(s) / (1 + q))
    assert abs(s2 - float(d2)) <= 1e-10 * max(abs(float(d2)), abs(s) / (1 + q) ** 2)  # d2: rounding 1e-26


@pytest.mark.parametrize("activation", EXTRA_NAMES)
@settings(max_examples=min(settings().max_examples, 5))
@given(C=covariances(log10_norm=(-0.5, 0.5), max_abs_rho=0.99), seed=st.integers(0, 2**32 - 1))
def test_extra_kernel_matches_monte_carlo(activation, C, seed):
    mean, stderr = kernel_monte_carlo(activation, *C, n_samples=20_000, rng=np.random.default_rng(seed))
    exact = float(pair_kernel(activation, *C))
    # 5 standard errors: a correct kernel fails with probability ~6e-7 per example (polynomials of
    # degree <= 10 in Gaussians: the mean of 2e4 samples is close to normal at these norms)
    assert abs(mean - exact) <= 5 * stderr, (mean, stderr, exact)
