"""The kernels beyond the paper's activations (hermite2..hermite5, sin, cos, gaussian, normal_cdf,
monomial2..monomial5, gelu)
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
from hypothesis import event, given, settings
from hypothesis import strategies as st

from copyavg.numeric import ACTIVATIONS, diag_kernel, hessian, loss, loss_and_gradient, pair_kernel
from copyavg.numeric._generated_kernels_mp import KERNELS as MP_KERNELS
from copyavg.numeric._geometry import HESSIAN_MAX_SQUARED_NORM, MAX_NORM
from copyavg.numeric.kernels import PARTIAL_NAMES
from copyavg.numeric.mp import gradient_mp, loss_mp, pair_kernel_mp
from copyavg.numeric.oracles import kernel_monte_carlo, kernel_quad_mp

#: orthogonal, generic, anti-correlated, collinear (the 1-D branch of the quadrature), a zero vector
_POINTS = [(1.0, 1.0, 0.0), (1.3, 0.7, 0.4), (2.0, 0.5, -0.9), (1.5, 1.5, 1.5), (0.0, 2.0, 0.0)]


def test_extra_names_are_registered():
    assert EXTRA_NAMES == sorted(["cos", "gaussian", "hermite2", "hermite3", "hermite4", "hermite5",
                                  "normal_cdf", "sin", "monomial2", "monomial3", "monomial4", "monomial5",
                                  "gelu"])
    for name in EXTRA_NAMES:
        assert ACTIVATIONS[name].smooth and not ACTIVATIONS[name].kinks


#: the monomials are also checked exactly against their moment generating function
#: (tests/test_kernels_gelu.py): their quadrature cases run in the slow suite only
_QUAD_NAMES = [pytest.param(n, marks=pytest.mark.slow) if n.startswith("monomial") else n for n in EXTRA_NAMES]


@pytest.mark.parametrize("activation", _QUAD_NAMES)
@pytest.mark.parametrize("C", _POINTS)
def test_extra_kernel_matches_quadrature(activation, C):
    """Closed form vs nested Gauss-Legendre quadrature (shares only sigma with the closed form).
    At dps 18 the rule (12 nodes per panel of width <= 2; 4x cheaper in 2-D than 24 at dps > 20)
    integrates these analytic integrands (sin/cos of frequency <= 2 per unit: <= 4 radians per
    panel) to ~1e-15 relative, like the float closed form. 1e-10 leaves a wide margin, and a floor of 1e-3 of the Cauchy-Schwarz bound
    keeps g ~ 0 (odd sigma at C12 = 0) from turning absolute error into relative."""
    exact = float(pair_kernel(activation, *C))
    quad = float(kernel_quad_mp(activation, *C, dps=18))
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


# --- loss and gradient over the accepted range -------------------------------------------------
_FUZZ_EXAMPLES = {"ci": 60, "fuzz": 3000}.get(os.environ.get("HYPOTHESIS_PROFILE", "dev"), 40)
_REL, _ABS = 1e-9, 1e-300  # the documented accuracy, and the subnormal floor (as in test_fuzz.py)


@st.composite
def extra_cases(draw):
    """An activation, shapes n, k <= 3, d <= 4, normal entries; W and V scaled by 10^e up to a
    little beyond the family's norm limit (so refusals are drawn too), a and b by 10^e' in -30..30."""
    act = draw(st.sampled_from(EXTRA_NAMES))
    n, k, d = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 4))
    top = math.log10(MAX_NORM[ACTIVATIONS[act].family]) + 0.3
    ew, ev, ea = draw(st.floats(-3, top)), draw(st.floats(-3, top)), draw(st.integers(-30, 30))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    W, V = rng.normal(size=(n, d)) * 10.0**ew, rng.normal(size=(k, d)) * 10.0**ev
    return act, rng.normal(size=n) * 10.0**ea, W, rng.normal(size=k) * 10.0**ea, V


def _diag_moments(act, q):
    """``(s, t, u) = (E sigma^2, E sigma'^2, E sigma''^2)`` at ``|w|^2 = q`` (50 digits), by Price's
    theorem from the generated kernel: ``t = g3(q, q, q)``, ``u = g33(q, q, q)``."""
    out = MP_KERNELS[act][2](q, q, q, mpmath.mpf(0))
    return out[0], out[3], out[9]


def _cs_scales(act, a, W, b, V):
    """Cauchy-Schwarz scales (50 digits): loss ``S^2``, ``S = sum_m |U_m| sqrt(s_m)``; ``dL/da_i``:
    ``2 sum_m |U_m| sqrt(s_i s_m)``; row ``dL/dw_i``: ``2 |a_i| (sum_{m != i} |U_m| (2 G1 |w_i| +
    G3 |y_m|) + |a_i s'_i| |w_i|)`` with ``|g1_im| <= G1 = sqrt(u_i s_m) / 2`` (Price in the
    variance: g1 = E[sigma''(X) sigma(Y)] / 2) and ``|g3_im| <= G3 = sqrt(t_i t_m)``. Unlike the
    scales of test_fuzz.py these bound the terms rather than measure them: polynomial kernels pass
    through 0 by cancellation (``g1 = C22 - 1`` for He_2), where only this absolute accuracy exists."""
    with mpmath.workdps(50):
        Y = [[mpmath.mpf(x) for x in y] for y in list(W) + list(V)]
        U = [mpmath.mpf(x) for x in list(a) + [-x for x in b]]
        q = [mpmath.fsum(x * x for x in y) for y in Y]
        mom = [_diag_moments(act, qm) for qm in q]
        S = mpmath.fsum(abs(u) * mpmath.sqrt(m[0]) for u, m in zip(U, mom))
        sa, sW = [], []
        for i in range(len(a)):
            s_i, t_i, u_i = mom[i]
            sa.append(2 * mpmath.fsum(abs(U[m]) * mpmath.sqrt(s_i * mom[m][0]) for m in range(len(Y))))
            tw = [abs(U[i] * MP_KERNELS[act][3](q[i])[1]) * mpmath.sqrt(q[i])]
            tw += [abs(U[m]) * (mpmath.sqrt(u_i * mom[m][0]) * mpmath.sqrt(q[i]) + mpmath.sqrt(t_i * mom[m][1])
                                * mpmath.sqrt(q[m])) for m in range(len(Y)) if m != i]
            sW.append(2 * abs(U[i]) * mpmath.fsum(tw))
        return S, float(S * S), np.array([float(x) for x in sa]), np.array([float(x) for x in sW])


def _outside(act, a, W, b, V, S):
    """``(outside, borderline)`` of the documented range at 50 digits (borderline: within relative
    1e-6 of a limit, where float and exact evaluation may decide differently)."""
    with mpmath.workdps(50):
        norms = [mpmath.sqrt(mpmath.fsum(mpmath.mpf(x) ** 2 for x in y)) for y in list(W) + list(V)]
        checks = [(max(abs(mpmath.mpf(x)) for x in list(a) + list(b)), 1e150),
                  (max(norms), MAX_NORM[ACTIVATIONS[act].family]), (S, 1e150)]
        return any(v > lim for v, lim in checks), any(abs(v / lim - 1) < 1e-6 for v, lim in checks)


@settings(max_examples=_FUZZ_EXAMPLES)
@given(case=extra_cases())
def test_extra_loss_and_gradient_match_mp_or_refuse(case):
    """Accepted input: loss and gradient agree with the 50-digit route to 1e-9 of the Cauchy-Schwarz
    scales (float rounding of |w|^2, w.v and of sums of <= 6 terms costs ~1e-15 of them; the
    conditioning of the kernels in C is bounded by the same Cauchy-Schwarz factors), and the Hessian
    is finite and symmetric or refused as documented; outside the range: a ValueError."""
    act, a, W, b, V = case
    S, sL, sa, sW = _cs_scales(act, a, W, b, V)
    outside, border = _outside(act, a, W, b, V, S)
    try:
        L, ga, gW = loss_and_gradient(a, W, b, V, act)
        L0 = loss(a, W, b, V, act)
    except ValueError as exc:
        assert outside or border, f"refused inside the documented range: {exc}"
        event("refused: outside the documented range")
        return
    assert border or not outside, "accepted outside the documented range"
    event(f"compared with the 50-digit route: {act}")
    with mpmath.workdps(50):
        err_L = float(abs(mpmath.mpf(L) - loss_mp(a, W, b, V, act, dps=50)))
        ga_mp, gW_mp = gradient_mp(a, W, b, V, act, dps=50)
        err_a = np.array([float(abs(mpmath.mpf(x) - y)) for x, y in zip(ga, ga_mp)])
        err_W = np.array([float(mpmath.sqrt(mpmath.fsum((mpmath.mpf(x) - y) ** 2 for x, y in zip(r, rm))))
                          for r, rm in zip(gW, gW_mp)])
    with np.errstate(under="ignore"):
        assert err_L <= _REL * sL + _ABS and abs(L0 - L) <= _REL * sL + _ABS, (L, L0, sL)
        assert np.all(err_a <= _REL * sa + _ABS), (ga, sa)
        assert np.all(err_W <= _REL * sW + _ABS), (gW, sW)
    try:
        H = hessian(a, W, b, V, act)
    except ValueError:  # documented: some |w_i| > 1e6 (gaussian: 100) or |w_i| |y_m| > 1e75
        qw = max(float(np.sum(w * w)) for w in W)
        qlim = HESSIAN_MAX_SQUARED_NORM.get(ACTIVATIONS[act].family, 1e12)
        assert qw > qlim * (1 - 1e-6) or qw * max(float(np.sum(y * y)) for y in np.concatenate((W, V))) > 1e150 * (1 - 1e-6)
        return
    assert np.all(np.isfinite(H))
    with np.errstate(under="ignore"):  # blocks (i, l), (l, i) computed apart: only gross asymmetry
        assert np.max(np.abs(H - H.T)) <= 1e-4 * np.max(np.abs(H)) + _ABS


@pytest.mark.parametrize("activation", EXTRA_NAMES)
def test_extra_hessian_matches_finite_differences(activation):
    """Hessian vs central differences of the 50-digit gradient (step 1e-20: truncation ~1e-40,
    rounding ~1e-30): the float Hessian is a few hundred operations on O(1) terms, 1e-9 of max|H|."""
    rng = np.random.default_rng(7)
    a, W, b, V = rng.normal(size=2), rng.normal(size=(2, 2)) * 0.8, rng.normal(size=2), rng.normal(size=(2, 2)) * 0.8
    H = hessian(a, W, b, V, activation)
    th = [mpmath.mpf(x) for x in np.concatenate([a, W.ravel()])]
    Hf = np.zeros_like(H)
    with mpmath.workdps(50):
        for p in range(len(th)):
            cols = []
            for sg in (1, -1):
                t = list(th)
                t[p] += sg * mpmath.mpf("1e-20")
                ga, gW = gradient_mp(t[:2], [t[2:4], t[4:6]], b, V, activation, dps=50)
                cols.append(list(ga) + [x for r in gW for x in r])
            Hf[:, p] = [float((u - v) / mpmath.mpf("2e-20")) for u, v in zip(*cols)]
    assert np.max(np.abs(H - Hf)) <= 1e-9 * np.max(np.abs(Hf))
