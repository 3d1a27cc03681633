"""Loss, gradient and Hessian of ``copyavg.numeric`` against independent routes and invariants.

Routes: the 50-digit mpmath evaluation (``loss_mp``, ``gradient_mp``), central finite differences
of the 50-digit loss and gradient (step 1e-15: truncation error ~ h^2 |L'''| ~ 1e-30, rounding
~ 1e-50 / h ~ 1e-35, so the difference quotients are exact to far below float precision), and
Monte Carlo. Properties: PSD Gram matrices, L >= 0 with equality at the teacher, rotation /
permutation / sign-flip invariance, covariance of the gradient, symmetric Hessian, the CA copy
point.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from _helpers import ACT_NAMES, EXTRA_NAMES, ODD, gradient_scales, loss_scale, networks
from hypothesis import example, given
from hypothesis import strategies as st

from copyavg.numeric import (
    ACTIVATIONS,
    Problem,
    gradient,
    hessian,
    loss,
    loss_and_gradient,
    pair_kernel,
)
from copyavg.numeric.mp import gradient_mp, loss_mp
from copyavg.numeric.oracles import loss_monte_carlo

_FD_DPS = 50
_FD_H = mpmath.mpf("1e-15")


def _mp_to_float(x):
    return np.array([[float(v) for v in row] for row in x]) if isinstance(x[0], list) else np.array(
        [float(v) for v in x])


def _flat_theta(a, W):
    return [mpmath.mpf(float(x)) for x in np.concatenate((a, W.ravel()))]


def _unflat(theta, n, d):
    return theta[:n], [theta[n + i * d: n + (i + 1) * d] for i in range(n)]


@pytest.mark.parametrize("activation", ACT_NAMES)
@given(net=networks())
def test_loss_and_gradient_match_mp(activation, net):
    a, W, b, V = net
    L = loss(a, W, b, V, activation)
    L_mp = float(loss_mp(a, W, b, V, activation, dps=50))
    # L = U^T G U is a sum of (n + k)^2 <= 36 terms of size up to loss_scale (Cauchy-Schwarz): float
    # summation leaves ~36 eps * scale ~ 1e-14 * scale; kernel values carry <= ~1e-13 relative
    # (ReLU near anti-collinear); 1e-12 * scale covers both. Relative to L itself would fail near a
    # perfect fit, where L is small by cancellation.
    assert abs(L - L_mp) <= 1e-12 * loss_scale(activation, a, W, b, V)
    ga, gW = gradient(a, W, b, V, activation)
    ga_mp, gW_mp = (_mp_to_float(x) for x in gradient_mp(a, W, b, V, activation, dps=50))
    sa, sW = gradient_scales(activation, a, W, b, V)
    # same argument per component, relative to the sum of |terms| of that component
    assert np.all(np.abs(ga - ga_mp) <= 1e-12 * sa + 1e-300)
    assert np.all(np.abs(gW - gW_mp) <= 1e-12 * sW + 1e-300)
    L2, ga2, gW2 = loss_and_gradient(a, W, b, V, activation)
    P = Problem(b, V, activation)
    L3, ga3, gW3 = P.loss_and_gradient(a, W)
    # the one-pass routes share code (same floats); ``loss`` evaluates g from the order-0 kernel
    # expression, ``loss_and_gradient`` from the order-1 one: equal up to rounding (as above)
    assert L2 == L3
    assert abs(L2 - L) <= 1e-12 * loss_scale(activation, a, W, b, V)
    np.testing.assert_array_equal(ga2, ga3)
    np.testing.assert_array_equal(gW2, gW3)
    np.testing.assert_allclose(ga2, ga, rtol=0, atol=0)


def _fd_gradient_of_loss(a, W, b, V, activation):
    n, d = W.shape
    theta = _flat_theta(a, W)
    out = []
    with mpmath.workdps(_FD_DPS):
        for p in range(len(theta)):
            vals = []
            for sgn in (1, -1):
                t = list(theta)
                t[p] = t[p] + sgn * _FD_H
                aa, WW = _unflat(t, n, d)
                vals.append(loss_mp(aa, WW, b, V, activation, dps=_FD_DPS))
            out.append((vals[0] - vals[1]) / (2 * _FD_H))
    return out


@pytest.mark.parametrize("activation", ACT_NAMES)
@given(net=networks(n_max=3, k_max=3, d_max=4))
def test_gradient_matches_finite_differences_of_loss_mp(activation, net):
    a, W, b, V = net
    n, d = W.shape
    fd = _fd_gradient_of_loss(a, W, b, V, activation)
    ga, gW = gradient(a, W, b, V, activation)
    num = np.concatenate((ga, gW.ravel()))
    fd_f = np.array([float(x) for x in fd])
    sa, sW = gradient_scales(activation, a, W, b, V)
    scale = np.concatenate((sa, sW.ravel()))
    # float gradient ~1e-13 relative to its |terms| scale; the FD quotient is exact to ~1e-30.
    # The brief's bound 1e-8 is used, relative to max(scale, |fd|).
    assert np.all(np.abs(num - fd_f) <= 1e-8 * np.maximum(scale, np.abs(fd_f)))
    # and the mpmath chain rule against the same FD: both at 50 digits, so agreement to 1e-25
    ga_mp, gW_mp = gradient_mp(a, W, b, V, activation, dps=_FD_DPS)
    flat_mp = list(ga_mp) + [x for row in gW_mp for x in row]
    with mpmath.workdps(_FD_DPS):
        for x, y, s in zip(flat_mp, fd, scale):
            assert abs(x - y) <= mpmath.mpf("1e-25") * max(s, 1e-300)


def _fd_hessian_of_gradient_mp(a, W, b, V, activation):
    n, d = W.shape
    theta = _flat_theta(a, W)
    N = len(theta)
    H = np.empty((N, N))
    with mpmath.workdps(_FD_DPS):
        for p in range(N):
            cols = []
            for sgn in (1, -1):
                t = list(theta)
                t[p] = t[p] + sgn * _FD_H
                aa, WW = _unflat(t, n, d)
                ga, gW = gradient_mp(aa, WW, b, V, activation, dps=_FD_DPS)
                cols.append(list(ga) + [x for row in gW for x in row])
            H[:, p] = [float((u - v) / (2 * _FD_H)) for u, v in zip(*cols)]
    return H


@pytest.mark.parametrize("activation", ACT_NAMES)
@given(net=networks(n_max=3, k_max=3, d_min=2, d_max=4, max_abs_cos=0.99))
def test_hessian_matches_finite_differences_of_gradient_mp(activation, net):
    """Points with no (near-)collinear pairs (|cos| <= 0.99), where central differences with step
    1e-15 are accurate for every activation; at and near collinear neurons of the piecewise-linear
    family see test_collinear_hessian.py."""
    a, W, b, V = net
    H = hessian(a, W, b, V, activation)
    H_fd = _fd_hessian_of_gradient_mp(a, W, b, V, activation)
    # FD of the 50-digit gradient is exact to ~1e-30; the float Hessian carries ~1e-13 relative
    # error in its largest entries (second partials ~ 1/sqrt(D), D >= 0.02 C11 C22 here). The
    # brief's 1e-8 relative to the largest entry.
    assert np.max(np.abs(H - H_fd)) <= 1e-8 * max(np.max(np.abs(H_fd)), 1e-300)


@pytest.mark.parametrize("activation", ACT_NAMES)
@given(net=networks(n_max=3, k_max=3, d_max=5), seed=st.integers(0, 2**32 - 1))
def test_loss_matches_monte_carlo(activation, net, seed):
    a, W, b, V = net
    mean, stderr = loss_monte_carlo(a, W, b, V, activation, n_samples=20_000, rng=np.random.default_rng(seed))
    # 5 standard errors: false alarm probability ~6e-7 per example for a near-normal sample mean
    assert abs(mean - loss(a, W, b, V, activation)) <= 5 * stderr


@pytest.mark.parametrize("activation", ACT_NAMES)
@given(m=st.integers(1, 7), d=st.integers(1, 5), seed=st.integers(0, 2**32 - 1),
       log_scale=st.floats(-2, 2))
def test_gram_matrix_is_psd(activation, m, d, seed, log_scale):
    """G_ij = E[sigma(x_i.z) sigma(x_j.z)] is a covariance matrix, hence PSD."""
    X = np.random.default_rng(seed).normal(size=(m, d)) * 10.0**log_scale
    q = np.einsum("ij,ij->i", X, X)
    G = pair_kernel(activation, q[:, None], q[None, :], X @ X.T)
    G = (G + G.T) / 2
    lam_min = np.linalg.eigvalsh(G).min()
    # eigenvalues move by at most ||dG||_2 <= m max|dG| ~ m * 1e-15 * max G_ii: 1e-12 * max G_ii
    assert lam_min >= -1e-12 * max(np.max(np.diag(G)), 1e-300)


@pytest.mark.parametrize("activation", ACT_NAMES)
@given(net=networks())
def test_loss_nonnegative_and_zero_at_teacher(activation, net):
    a, W, b, V = net
    # L >= 0 up to rounding of the cancelling terms (see test_loss_and_gradient_match_mp)
    assert loss(a, W, b, V, activation) >= -1e-14 * loss_scale(activation, a, W, b, V)
    L0 = loss(b, V, b, V, activation)
    # student = teacher: every term cancels exactly in exact arithmetic; float summation of
    # <= 36 terms of size <= scale leaves a few eps * scale (1e-14 absolute for scale <= ~10)
    assert abs(L0) <= 1e-14 * max(1.0, loss_scale(activation, b, V, b, V))


def _random_orthogonal(rng, d):
    Q, R = np.linalg.qr(rng.normal(size=(d, d)))
    return Q * np.sign(np.diag(R))


@pytest.mark.parametrize("activation", ACT_NAMES)
@given(net=networks(), seed=st.integers(0, 2**32 - 1))
def test_rotation_and_permutation_invariance(activation, net, seed):
    a, W, b, V = net
    rng = np.random.default_rng(seed)
    n, d = W.shape
    Q = _random_orthogonal(rng, d)
    ps, pt = rng.permutation(n), rng.permutation(len(b))
    L, ga, gW = loss_and_gradient(a, W, b, V, activation)
    scale = loss_scale(activation, a, W, b, V)
    sa, sW = gradient_scales(activation, a, W, b, V)
    Lr, gar, gWr = loss_and_gradient(a, W @ Q, b, V @ Q, activation)
    # rotation changes the Gram entries by rounding only (~1e-15 relative): 1e-12 * scale
    assert abs(Lr - L) <= 1e-12 * scale
    assert np.all(np.abs(gar - ga) <= 1e-12 * sa)
    # covariance: dL/dW at (WQ, VQ) equals (dL/dW) Q; the bound is the rotated |terms| scale
    assert np.all(np.abs(gWr - gW @ Q) <= 1e-12 * np.sqrt(d) * np.max(sW, axis=1, keepdims=True))
    Lp, gap, gWp = loss_and_gradient(a[ps], W[ps], b[pt], V[pt], activation)
    # permutation only reorders sums: 1e-13 * scale
    assert abs(Lp - L) <= 1e-13 * scale
    assert np.all(np.abs(gap - ga[ps]) <= 1e-13 * sa[ps])
    assert np.all(np.abs(gWp - gW[ps]) <= 1e-13 * sW[ps])


@pytest.mark.parametrize("activation", ODD)
@given(net=networks(), flips=st.lists(st.booleans(), min_size=3, max_size=3))
def test_sign_flip_invariance_for_odd_sigma(activation, net, flips):
    a, W, b, V = net
    s = np.where(np.array(flips[: len(a)]), -1.0, 1.0)
    L = loss(a, W, b, V, activation)
    Lf = loss(s * a, s[:, None] * W, b, V, activation)
    # (a_i, w_i) -> (-a_i, -w_i) leaves every term of L unchanged for odd sigma (the kernel
    # evaluations are of negated C12 in an odd-in-C12 formula): 1e-13 * scale for rounding
    assert abs(Lf - L) <= 1e-13 * loss_scale(activation, a, W, b, V)


@pytest.mark.parametrize("activation", ACT_NAMES)
@given(net=networks(d_min=2, max_abs_cos=0.99))
def test_hessian_symmetric(activation, net):
    a, W, b, V = net
    H = hessian(a, W, b, V, activation)
    # blocks (i, l) and (l, i) are computed separately: a few ulps of the largest entry
    assert np.max(np.abs(H - H.T)) <= 1e-13 * max(np.max(np.abs(H)), 1e-300)


@pytest.mark.parametrize("k", range(1, 9))
def test_copy_point_is_exact_for_erf2(k):
    """n = k, student = unit-orthonormal teacher (V = first k rows of eye(k, k+1), b = 1):
    L = 0 and gradient 0."""
    V = np.eye(k, k + 1)
    b = np.ones(k)
    L, ga, gW = loss_and_gradient(b.copy(), V.copy(), b, V, "erf2")
    # exact cancellation in exact arithmetic; float sums of 2k terms of size <= 1/3 leave ~k eps
    assert abs(L) <= 1e-14
    assert np.max(np.abs(ga)) <= 1e-14
    assert np.max(np.abs(gW)) <= 1e-14


@pytest.mark.parametrize("activation", ACT_NAMES)
@example(seed=0)
@given(seed=st.integers(0, 2**32 - 1))
def test_problem_matches_free_functions(activation, seed):
    """The cached ``Problem`` route equals the free functions (same code, same floats)."""
    rng = np.random.default_rng(seed)
    a, W, b, V = rng.normal(size=2), rng.normal(size=(2, 3)), rng.normal(size=3), rng.normal(size=(3, 3))
    P = Problem(b, V, activation)
    assert P.loss(a, W) == loss(a, W, b, V, activation)
    # random normal vectors: no zero or collinear rows, so the Hessian exists for every activation
    np.testing.assert_array_equal(P.hessian(a, W), hessian(a, W, b, V, activation))


def test_activation_lists_cover_registry():
    assert set(ACT_NAMES) | set(EXTRA_NAMES) == set(ACTIVATIONS)


@pytest.mark.parametrize("q", [1e6, 1e10])
def test_large_norm_self_term_gradient_match_mp(q):
    """erf2 with |w|^2 = q >= 1e3 (the general path's large-norm self term a s'(q) w): a teacher
    neuron orthogonal to w leaves the component of dL/dw along w to the self term alone, whose pair
    pieces 2 g1 + g3 cancel to relative 1/q. Reference: the 50-digit mpmath gradient. Each entry is
    compared relative to itself: the self-term route is accurate to ~1e-15, the cancelling pieces
    would lose ~1e-16 q (1e-6 at q = 1e10); 1e-9 separates the two."""
    a, W = np.array([1.3]), np.array([[np.sqrt(q), 0.0]])
    b, V = np.ones(1), np.array([[0.0, 1.0]])
    ga, gW = gradient(a, W, b, V, "erf2")
    ga_mp, gW_mp = gradient_mp(a, W, b, V, "erf2", dps=50)
    ref = np.array([float(ga_mp[0])] + [float(x) for x in gW_mp[0]])
    num = np.concatenate((ga, gW.ravel()))
    assert np.all(np.abs(num - ref) <= 1e-9 * np.abs(ref))
