"""The piecewise-linear Hessian at and near collinear neurons, against the 50-digit route.

Reference: finite differences of ``gradient_mp`` at 60 digits (an independent route: it uses only
the first C-partials, finite at collinear vectors). Central differences with step h = 1e-25 near
collinear points: the Hessian varies on the angular scale theta, so the truncation error is about
(h / theta)^2 times its scale, below 1e-24 for theta >= 1e-12; rounding 1e-60 / h = 1e-35. At
exactly collinear points the gradient is C^1 but not C^2, so the one-sided quotients
``(grad(x + h u) - grad(x)) / h`` converge with error O(h) = 1e-25 (h > 0 and h < 0: both sides).
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from _helpers import networks
from hypothesis import given
from hypothesis import strategies as st

from copyavg.numeric import hessian
from copyavg.numeric.angular import pair_weight_hessian
from copyavg.numeric.mp import gradient_mp, pair_kernel_mp

KINKED = ["relu", "abs", "leaky_relu"]
_DPS = 60
_H = "1e-25"
#: K(0) and K(pi): the weight-space mixed block d2g/dw dv^T at parallel / antiparallel vectors is
#: K I, with K = (alpha^2 + beta^2)/2 at theta = 0 and alpha beta at theta = pi (for unit norms:
#: d/dv E[sigma(w.x) sigma'(v.x) x] at v = +-w), written out by hand here
K_LIMITS = {"relu": (0.5, 0.0), "abs": (1.0, -1.0), "leaky_relu": (0.50005, 0.01)}


def _flat(a, W):
    return [mpmath.mpf(float(x)) for x in np.concatenate((a, np.asarray(W).ravel()))]


def _grad_flat(theta, n, d, b, V, act):
    ga, gW = gradient_mp(theta[:n], [theta[n + i * d:n + (i + 1) * d] for i in range(n)], b, V, act, _DPS)
    return list(ga) + [x for row in gW for x in row]


def _fd_hessian(a, W, b, V, act, one_sided=0):
    """Central (one_sided = 0) or one-sided (+1 / -1) differences of the 60-digit gradient."""
    n, d = W.shape
    theta = _flat(a, W)
    H = np.empty((len(theta), len(theta)))
    with mpmath.workdps(_DPS):
        h = mpmath.mpf(_H)
        base = _grad_flat(theta, n, d, b, V, act) if one_sided else None
        for p in range(len(theta)):
            cols = []
            for sgn in ((1, -1) if not one_sided else (one_sided,)):
                t = list(theta)
                t[p] += sgn * h
                cols.append(_grad_flat(t, n, d, b, V, act))
            if one_sided:
                H[:, p] = [float((u - v) / (one_sided * h)) for u, v in zip(cols[0], base)]
            else:
                H[:, p] = [float((u - v) / (2 * h)) for u, v in zip(*cols)]
    return H


def _network(eps, sign, student_pair):
    """n = 2 students, k = 2 teachers, d = 3; w_0 at angle ~eps from sign * (a teacher or w_1)."""
    V = np.array([[1.0, 0.0, 0.0], [0.0, 0.6, 0.8]])
    w1 = np.array([0.3, -0.7, 0.5])
    axis = w1 / np.linalg.norm(w1) if student_pair else V[0]
    perp = np.cross(axis, [0.2, 0.5, 0.9])
    perp /= np.linalg.norm(perp)
    w0 = sign * 1.7 * (np.cos(eps) * axis + np.sin(eps) * perp)
    return np.array([0.8, -1.3]), np.array([w0, w1]), np.array([1.0, 0.9]), V


@pytest.mark.parametrize("act", KINKED)
@pytest.mark.parametrize("eps", [1e-3, 1e-8, 1e-12, 0.0])
@pytest.mark.parametrize("sign", [1.0, -1.0])
@pytest.mark.parametrize("student_pair", [False, True])
def test_hessian_near_and_at_collinear_matches_60_digit_differences(act, eps, sign, student_pair):
    a, W, b, V = _network(eps, sign, student_pair)
    H = hessian(a, W, b, V, act)
    ref = _fd_hessian(a, W, b, V, act)
    # the weight-space blocks carry absolute error ~ a few eps x their scale at every angle (no
    # 1/sin(theta) cancellation); 1e-14 of the largest entry is ~50 ulps. The chain rule through
    # the C-partials loses ~5 digits at eps = 1e-6 and has no value from eps ~ 1e-8 (D rounds to 0).
    assert np.max(np.abs(H - ref)) <= 1e-14 * np.max(np.abs(ref))


@pytest.mark.parametrize("act", KINKED)
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_one_sided_differences_at_collinear_agree_with_the_hessian(act, sign):
    """Exactly collinear (w_0 = +-1.7 v_0): both one-sided difference quotients give the Hessian,
    so the gradient is differentiable there (not merely the one-sided limits exist)."""
    a, W, b, V = _network(0.0, sign, False)
    H = hessian(a, W, b, V, act)
    for side in (1, -1):
        ref = _fd_hessian(a, W, b, V, act, one_sided=side)
        # one-sided error O(h) = 1e-25 relative; the float Hessian ~50 ulps as above
        assert np.max(np.abs(H - ref)) <= 1e-14 * np.max(np.abs(ref)), side


def _pair_grad_mp(act, w, v):
    """(dg/dw, dg/dv) by the chain rule through the first C-partials (60 digits)."""
    C11, C22, C12 = (mpmath.fsum(x * y for x, y in zip(p, q)) for p, q in ((w, w), (v, v), (w, v)))
    _, g1, g2, g3 = pair_kernel_mp(act, C11, C22, C12, order=1)
    return [2 * g1 * x + g3 * y for x, y in zip(w, v)] + [2 * g2 * y + g3 * x for x, y in zip(w, v)]


@pytest.mark.parametrize("act", KINKED)
@given(sign=st.sampled_from([1.0, -1.0]), log_eps=st.sampled_from([None, -14.0, -9.0, -4.0, -1.0]),
       seed=st.integers(0, 2**32 - 1), d=st.integers(1, 4))
def test_pair_weight_hessian_matches_differences(act, sign, log_eps, seed, d):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=d) + 0.5 * np.sign(rng.normal(size=d))
    v = sign * rng.uniform(0.3, 3.0) * w
    if log_eps is not None and d > 1:
        v = v + 10.0**log_eps * np.linalg.norm(v) * rng.normal(size=d)
    H = pair_weight_hessian(act, w, v)
    x = [mpmath.mpf(float(t)) for t in np.concatenate((w, v))]
    ref = np.empty((2 * d, 2 * d))
    with mpmath.workdps(_DPS):
        h = mpmath.mpf(_H)
        for p in range(2 * d):
            up, dn = list(x), list(x)
            up[p] += h
            dn[p] -= h
            gu, gd = _pair_grad_mp(act, up[:d], up[d:]), _pair_grad_mp(act, dn[:d], dn[d:])
            ref[:, p] = [float((u - l) / (2 * h)) for u, l in zip(gu, gd)]
    # blocks of size O(1) (K, A, s/r <= 10): 1e-13 absolute is ~500 ulps of them, far below any
    # formula error (which would be O(1))
    assert np.max(np.abs(H - ref)) <= 1e-13 * max(1.0, np.max(np.abs(ref)))


@pytest.mark.parametrize("act", KINKED)
def test_pair_weight_hessian_limits(act):
    """At v = +-w the mixed block is K(0) I or K(pi) I and the pure blocks vanish (the limits of
    the certificate collinear-hessian:ACT), for d = 1 (always collinear) and d = 3."""
    k0, kpi = K_LIMITS[act]
    for w in (np.array([1.3]), np.array([0.6, -0.8, 0.0])):
        d = w.size
        for sign, k in ((1.0, k0), (-1.0, kpi)):
            H = pair_weight_hessian(act, w, sign * 2.0 * w)
            expect = np.zeros((2 * d, 2 * d))
            expect[:d, d:] = expect[d:, :d] = k * np.eye(d)
            # a few ulps of O(1) numbers
            assert np.max(np.abs(H - expect)) <= 1e-15, (d, sign)


def test_relu_flow_runs_through_to_a_split_neuron():
    """A sweep run (k = 10, n = 4, seed 3) that used to stop with "no Hessian at collinear
    neurons": the flow now converges, to a point where students 1 and 2 are exactly positively
    collinear (a split neuron); the endpoint is critical by the 40-digit gradient and its Hessian
    matches 60-digit one-sided differences there."""
    from copyavg.experiments.sweep import RunSpec, initial_point
    from copyavg.numeric import Problem
    from copyavg.numeric.flow import flow_and_polish

    spec = RunSpec("relu", 10, 4, 11, 3)
    b, V = np.ones(10), np.eye(10, 11)
    res = flow_and_polish(Problem(b, V, "relu"), *initial_point(spec))
    assert res.status == "converged"
    a, W = res.a, res.W
    Wh = W / np.linalg.norm(W, axis=1)[:, None]
    assert Wh[1] @ Wh[2] > 1 - 1e-12  # collinear to rounding
    ga, gW = gradient_mp(a, W, b, V, "relu", dps=40)
    # polished to 1e-12 in float64; the 40-digit gradient differs by rounding of the point only
    assert max(abs(float(x)) for x in list(ga) + [v for row in gW for v in row]) < 1e-11
    H = hessian(a, W, b, V, "relu")
    ref = _fd_hessian(a, W, b, V, "relu", one_sided=1)
    # as above: ~50 ulps of the largest entry (one-sided error O(h) = 1e-25)
    assert np.max(np.abs(H - ref)) <= 1e-14 * np.max(np.abs(ref))


@pytest.mark.parametrize("act", KINKED)
@given(net=networks(n_max=3, k_max=3, d_min=1, d_max=4, min_norm=0.3), pick=st.integers(0, 5),
       sign=st.sampled_from([1.0, -1.0]), log_scale=st.floats(-1.0, 1.0),
       log_eps=st.sampled_from([None, -12.0, -8.0, -3.0]), seed=st.integers(0, 2**32 - 1))
def test_hessian_with_a_drawn_collinear_pair_matches_differences(act, net, pick, sign, log_scale, log_eps, seed):
    """Random networks (shapes drawn) with student 0 put (nearly) collinear with another row of
    [W; V]: the Hessian matches 60-digit central differences of the gradient at every angle."""
    a, W, b, V = net
    Y = np.concatenate((W, V))
    m = 1 + pick % (len(Y) - 1)
    W = W.copy()
    W[0] = sign * 10.0**log_scale * Y[m]
    if log_eps is not None:
        W[0] += 10.0**log_eps * np.linalg.norm(W[0]) * np.random.default_rng(seed).normal(size=W.shape[1])
    H = hessian(a, W, b, V, act)
    ref = _fd_hessian(a, W, b, V, act)
    # as in the parametrized test: ~50 ulps of the largest entry, at every angle
    assert np.max(np.abs(H - ref)) <= 1e-14 * np.max(np.abs(ref))


def test_student_block_hessian_refuses_activations_without_angular_coefficients():
    """The erf family has no angular coefficients: a ValueError naming the activation, not a KeyError."""
    from copyavg.numeric.angular import student_block_hessian

    W = np.eye(1, 2)
    with pytest.raises(ValueError, match="angular coefficients"):
        student_block_hessian("erf2", np.ones(1), W, np.vstack((W, W)), np.array([1.0, -1.0]))
