"""The erf-family Hessian over the whole accepted range, against an independent 50-digit Hessian.

Reference: ``tests/_hessian_mp.py`` (the chain rule through the C-partials of the generated mpmath
kernels, at 40 digits beyond its own cancellation), itself checked here against central
differences of ``copyavg.numeric.mp.gradient_mp``. The float Hessian (``copyavg.numeric.hessian``:
chain rule for norms <= 10, ``copyavg.numeric._hessian_erf`` beyond) must agree to 1e-9 of
``max|H|`` (the documented accuracy), or raise the documented overflow ``ValueError``. Its terms
are bounded by the size of their block, so rounding leaves ~1e-15 of ``max|H|`` (measured worst
~1e-13); 1e-9 is the promise and leaves room for the ~1e-13 of the kernels near anti-collinear
pairs.
"""

from __future__ import annotations

import os

import mpmath
import numpy as np
import pytest
from _hessian_mp import hessian_mp
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from copyavg.numeric import hessian
from copyavg.numeric._geometry import directions, row_norms
from copyavg.numeric._hessian_erf import erf_hessian
from copyavg.numeric.mp import gradient_mp

_REL = 1e-9  # documented accuracy (module docstring of copyavg.numeric.population)
_ABS = 1e-300  # entries below the normal float range carry only absolute accuracy
_EXAMPLES = {"ci": 100, "fuzz": 5000}.get(os.environ.get("HYPOTHESIS_PROFILE", "dev"), 40)


def _ref(a, W, b, V, act):
    return np.array([[float(x) for x in row] for row in hessian_mp(a, W, b, V, act)])


def _check(act, a, W, b, V):
    """Match within 1e-9 of max|H_ref|, or the documented overflow refusal."""
    try:
        H = hessian(a, W, b, V, act)
    except ValueError as exc:
        assert "overflows float64" in str(exc), exc
        event("refused: overflow")
        return
    R = _ref(a, W, b, V, act)
    with np.errstate(under="ignore"):
        assert np.max(np.abs(H - R)) <= _REL * np.max(np.abs(R)) + _ABS, (np.max(np.abs(H - R)), np.max(np.abs(R)))


@st.composite
def erf_cases(draw):
    """Rows ``w_i`` = random direction x ``10^u``, ``u`` uniform in -3..74.9 (log-uniform norms);
    ``|a_i|`` log-uniform in 1e-3..1e12 (the W-W blocks dominate at the top); teacher norms
    ordinary or log-uniform too; optionally a student row collinear (an exact float multiple) with
    another row."""
    act = draw(st.sampled_from(["erf2", "erf"]))
    n, k, d = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))

    def unit(m):
        X = rng.normal(size=(m, d))
        return X / np.linalg.norm(X, axis=1)[:, None]

    W = unit(n) * 10.0 ** rng.uniform(-3, 74.9, size=(n, 1))
    V = unit(k) * (10.0 ** rng.uniform(-3, 74.9, size=(k, 1)) if draw(st.booleans()) else 1.0)
    a = rng.choice([-1.0, 1.0], size=n) * 10.0 ** rng.uniform(-3, 12, size=n)
    b = rng.normal(size=k)
    if draw(st.booleans()):  # collinear with another row: w_0 = c y_m (c a float)
        m = draw(st.integers(1, n + k - 1))
        W[0] = np.concatenate((W, V))[m] * rng.choice([-1.0, 1.0]) * 10.0 ** rng.uniform(-3, 3)
        if not np.linalg.norm(W[0]) <= 1e75:
            W[0] /= 1e6
    return act, a, W, b, V


@settings(max_examples=_EXAMPLES)
@example(case=("erf2", np.array([1e3, -1.5e3]), np.array([[1e3], [-2.5e3]]), np.ones(1), np.ones((1, 1))))
@example(case=("erf", np.array([1e3, 2e3]), np.array([[1e3], [3e3]]), np.ones(1), np.ones((1, 1))))
@example(case=("erf", np.array([1.0, -2.0]), np.array([[6e5, 8e5], [-1.2e6, -1.6e6]]), np.ones(1), np.eye(1, 2)))
@example(case=("erf2", np.array([3.0]), np.array([[1e8]]), np.ones(1), np.array([[1e8]])))
@example(case=("erf2", np.array([1e3, -1e3]), np.array([[0.6e16, 0.8e16], [1.8e16, 2.4e16]]), np.ones(1), np.eye(1, 2)))
@example(case=("erf", np.array([1e6, 1e-3]), np.array([[1e75 / 3, 0, 0], [0, 1e-3, 0]]), np.ones(2), np.eye(2, 3) * 1e74))
@given(case=erf_cases())
def test_erf_hessian_matches_mp_over_the_accepted_range(case):
    act, a, W, b, V = case
    _check(act, a, W, b, V)


# |w| = 1e3, 1e6, 1e8, 1e16 (d = 1: every pair collinear; d = 2: collinear students). Before
# copyavg.numeric._hessian_erf the chain rule in float64 missed the two 1e3 cases by 1.4e-7 and
# 7.4e-7 of max|H| and refused the others (|w_i| > 1e6; its error at 1e8 is 1.4e-8). The last
# case (|w| ~ 1e12, a row times 1.1: collinear only up to rounding) needs the exact minors of
# near-collinear pairs: 2.8e-8 without them. The last (d = 1, |a| = 1e8: the W-W blocks dominate)
# needs the projector I - w^ w^T formed as exactly 0 before it is scaled: 4.6e-7 otherwise.
@pytest.mark.parametrize("case", [
    ("erf2", [1e3, -1.5e3], [[1e3], [-2.5e3]], [1.0], [[1.0]]),
    ("erf", [1e3, 2e3], [[1e3], [3e3]], [1.0], [[1.0]]),
    ("erf", [1.0, -2.0], [[6e5, 8e5], [-1.2e6, -1.6e6]], [1.0], [[1.0, 0.0]]),
    ("erf2", [1e3, -2e3], [[1e6], [-3e6]], [1.0], [[1.0]]),
    ("erf2", [3.0], [[1e8]], [1.0], [[1e8]]),
    ("erf", [1e2, 3e2], [[1e8, 0.0], [-2e8, 0.0]], [1.0], [[0.6, 0.8]]),
    ("erf2", [1e3, -1e3], [[0.6e16, 0.8e16], [1.8e16, 2.4e16]], [1.0], [[1.0, 0.0]]),
    ("erf2", [1e6, -1e6], [[0.6e12, 0.8e12], [0.6e12 * 1.1, 0.8e12 * 1.1]], [1.0], [[1.0, 0.0]]),
    ("erf2", [1e8, 1e8], [[1e5], [-2e5]], [1.0], [[1.0]]),
])
def test_erf_hessian_pinned_large_norms(case):
    act, a, W, b, V = (case[0],) + tuple(np.array(x, dtype=float) for x in case[1:])
    H = hessian(a, W, b, V, act)
    R = _ref(a, W, b, V, act)
    assert np.max(np.abs(H - R)) <= _REL * np.max(np.abs(R))


@pytest.mark.parametrize("act", ["erf2", "erf"])
@pytest.mark.parametrize("seed", range(4))
def test_both_routes_agree_at_ordinary_norms(act, seed):
    """Norms <= 10 take the chain rule; the cancellation-free form must give the same Hessian
    there (both ~1e-14 of max|H| from the reference, measured)."""
    rng = np.random.default_rng(seed)
    n, k, d = 2, 2, 1 + seed % 3
    a, b = rng.normal(size=n) * 10.0 ** rng.uniform(-3, 6), rng.normal(size=k)
    W, V = rng.uniform(-5, 5, size=(n, d)), rng.uniform(-5, 5, size=(k, d))
    if seed % 2:
        W[1] = -0.5 * W[0]  # collinear students
    Y, U = np.concatenate((W, V)), np.concatenate((a, -b))
    nY = row_norms(Y)
    lam = {"erf2": 2 ** -0.5, "erf": 1.0}[act]
    with np.errstate(under="ignore"):
        H2 = erf_hessian(lam, a, Y, U, nY, directions(Y, nY))
    H1, R = hessian(a, W, b, V, act), _ref(a, W, b, V, act)
    for H in (H1, H2):
        assert np.max(np.abs(H - R)) <= _REL * np.max(np.abs(R))


def _fd_hessian(a, W, b, V, act, dps):
    """Central differences of the ``dps``-digit gradient, relative step 1e-25: truncation ~1e-50,
    rounding ~10^-dps / 1e-25 of the gradient's terms (dps covers their cancellation)."""
    n, d = W.shape
    th = [mpmath.mpf(x) for x in np.concatenate([a, W.ravel()])]
    H = np.zeros((len(th), len(th)))
    with mpmath.workdps(dps):
        for p in range(len(th)):
            h = mpmath.mpf(10) ** -25 * max(1, abs(th[p]))
            cols = []
            for sg in (1, -1):
                t = list(th)
                t[p] += sg * h
                ga, gW = gradient_mp(t[:n], [t[n + i * d:n + (i + 1) * d] for i in range(n)], b, V, act, dps=dps)
                cols.append(list(ga) + [x for r in gW for x in r])
            H[:, p] = [float((u - v) / (2 * h)) for u, v in zip(*cols)]
    return H


@pytest.mark.parametrize("act, a, W, b, V", [
    ("erf2", [1e3, -1.5e3], [[1e3], [-2.5e3]], [1.0], [[1.0]]),
    ("erf", [1.0, 2.0], [[3e7, 4e7], [1e-3, 2.0]], [1.0], [[0.6, 0.8]]),
    ("erf2", [5.0], [[1e-3, 1e20, 2e19]], [1.0, -1.0], [[1e10, 0.0, 0.0], [0.0, 3.0, 1.0]]),
])
def test_reference_hessian_matches_differences_of_the_mp_gradient(act, a, W, b, V):
    """The reference itself, against another route: differences of ``gradient_mp`` at 90 digits
    plus twice the digits its pair terms cancel (~(|w| |y|)^2 at collinear pairs); agreement to
    ~1e-20 of max|H| in mpmath; compared after rounding to float64: 1e-15."""
    a, W, b, V = (np.array(x, dtype=float) for x in (a, W, b, V))
    q = float(max(np.sum(np.concatenate((W, V)) ** 2, axis=1)))
    R = _ref(a, W, b, V, act)
    F = _fd_hessian(a, W, b, V, act, 90 + 2 * int(np.log10(max(q, 1.0))))
    assert np.max(np.abs(R - F)) <= 1e-15 * np.max(np.abs(R))  # both rounded to float64 once


def test_two_product_is_exact():
    """Dekker's product: p + err equals x y exactly (checked in rationals) for random doubles of
    mixed sizes, the basis of the minors of near-parallel rows; a broken split leaves an error
    of order eps |x y| in err, which the rational check sees."""
    from fractions import Fraction

    from copyavg.numeric._hessian_erf import _two_product

    rng = np.random.default_rng(7)
    x = rng.normal(size=200) * 10.0 ** rng.integers(-30, 30, size=200)
    y = rng.normal(size=200) * 10.0 ** rng.integers(-30, 30, size=200)
    p, err = _two_product(x, y)
    for xi, yi, pi, ei in zip(x, y, p, err):
        assert Fraction(float(pi)) + Fraction(float(ei)) == Fraction(float(xi)) * Fraction(float(yi))
