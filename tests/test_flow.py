"""Gradient flow and Newton polish (``copyavg.numeric.flow``) at small sizes.

Independent checks: the optimal copy-average loss ``L*(m) = m/3 - (2/pi) m^2 asin(1/(2m))``
(docs/theory.md §4, claim 5) for the flow's endpoint at (d, k, n) = (6, 5, 2) and (4, 3, 2); exact critical
points (the teacher itself, copy-average points) for the polish; the closed-form endpoint of the
linear n = 1 flow, from the conserved quantity ``a^2 - |w|^2`` and ``a w = sum_j b_j v_j``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from copyavg.numeric import Problem
from copyavg.numeric.flow import (
    FlowPolishResult,
    FlowResult,
    PolishResult,
    flow_and_polish,
    glorot_init,
    gradient_flow,
    polish,
)


def l_star(m: int) -> float:
    return m / 3 - (2 / math.pi) * m * m * math.asin(1 / (2 * m))


def teacher(d, k, activation="erf2"):
    return Problem(np.ones(k), np.eye(k, d), activation)


def grad_max(P, a, W):
    _, ga, gW = P.loss_and_gradient(a, W)
    return max(np.abs(ga).max(), np.abs(gW).max())


def ca_point(d, groups):
    """Copy-average point for erf2 and the unit-orthonormal teacher v_j = e_j (0-based groups)."""
    a = np.empty(len(groups))
    W = np.zeros((len(groups), d))
    for i, g in enumerate(groups):
        m = len(g)
        r = math.sqrt(1.0 / (2 * m - 1))
        W[i, list(g)] = r / math.sqrt(m)
        a[i] = m
    return a, W


# -- flow + polish -------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [(6, 5, 2), (4, 3, 2)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_flow_and_polish_converges(size, seed):
    d, k, n = size
    P = teacher(d, k)
    a0, W0 = glorot_init(n, d, np.random.default_rng(seed))
    r = flow_and_polish(P, a0, W0)
    assert isinstance(r, FlowPolishResult)
    assert r.status == "converged", r.message
    assert r.grad_max <= 1e-12
    assert grad_max(P, r.a, r.W) == r.grad_max
    assert r.loss == P.loss_and_gradient(r.a, r.W)[0]
    # these seeds reach the optimal CA point: n - 1 copies, one average of k - n + 1 teachers
    assert r.loss == pytest.approx(l_star(k - n + 1), abs=1e-12)
    assert r.polish is not None and r.polish.distance < 1.0
    assert r.flow.status == "handover"


@pytest.mark.parametrize("seed", [5, 6, 7])
def test_stiff_flat_minimum_is_polished_after_the_flow(seed):
    """n = 1, k = 50: curvatures from ~1e-6 to ~3e3 along the flow. An early polish would move the
    averaging neuron's a by ~6 (refused: max_distance = 1); the flow's gradient then stays at its
    integration-error floor (~1e-7) until t_max, and the end point must still be polished."""
    d, k, n = 51, 50, 1
    P = teacher(d, k)
    from copyavg.experiments.sweep import RunSpec, initial_point

    a0, W0 = initial_point(RunSpec("erf2", k, n, d, seed))  # the sweep runs that ended on the budget
    r = flow_and_polish(P, a0, W0)
    assert r.status == "converged", r.message
    assert r.grad_max <= 1e-12
    # L*(50) in float64 is accurate to ~1e-15 (cancellation of 16.7 - 15.9); the loss sums 2550 terms
    assert r.loss == pytest.approx(l_star(k), abs=1e-12)
    assert abs(abs(r.a[0]) - k) <= 1e-8  # |a| = m at the one-neuron optimum (docs/theory.md §4), or its mirror image


@pytest.mark.parametrize("method", ["BDF", "Radau", "LSODA"])
def test_flow_alone_converges_and_loss_decreases(method):
    d, k, n = 6, 5, 2
    P = teacher(d, k)
    a0, W0 = glorot_init(n, d, np.random.default_rng(3))
    r = gradient_flow(P, a0, W0, method=method, tol=1e-9)
    assert isinstance(r, FlowResult)
    assert r.status == "converged", r.message
    assert r.grad_max <= 1e-9
    assert r.n_rhs > 0 and r.n_jac > 0 and r.n_steps > 0 and r.wall_time > 0
    # trajectory: starts at the initial point, ends at the final one, times increase
    assert r.t[0] == 0.0 and r.t[-1] == r.t_final
    assert np.all(np.diff(r.t) > 0)
    np.testing.assert_array_equal(r.thetas[0], np.concatenate((a0, W0.ravel())))
    np.testing.assert_array_equal(r.thetas[-1], np.concatenate((r.a, r.W.ravel())))
    assert len(r.t) <= 200 + 2
    # gradient flow descends: the loss never increases (rounding slack)
    assert np.all(np.diff(r.losses) <= 1e-14)
    for t, th, L in zip(r.t[::17], r.thetas[::17], r.losses[::17]):
        assert P.loss_and_gradient(th[:n], th[n:].reshape(n, d))[0] == L
    assert r.loss == pytest.approx(l_star(k - n + 1), abs=1e-9)


def test_trajectory_memory_is_bounded():
    P = teacher(4, 3)
    a0, W0 = glorot_init(2, 4, np.random.default_rng(0))
    r = gradient_flow(P, a0, W0, n_save=10, tol=1e-9)
    assert len(r.t) <= 12
    assert r.thetas.shape == (len(r.t), 2 + 2 * 4)


def test_flow_matches_accurate_flow_endpoint():
    """Loose default tolerances + polish land on the same point as a tight-tolerance flow."""
    d, k, n = 4, 3, 2
    P = teacher(d, k)
    a0, W0 = glorot_init(n, d, np.random.default_rng(1))
    r = flow_and_polish(P, a0, W0)
    ref = gradient_flow(P, a0, W0, method="Radau", rtol=1e-9, atol=1e-12, tol=1e-10)
    assert ref.status == "converged"
    # max|grad| = 1e-10 at a minimum with smallest curvature ~1e-2: within ~1e-8 of it
    assert np.abs(r.a - ref.a).max() < 1e-7
    assert np.abs(r.W - ref.W).max() < 1e-7
    ref_p = polish(P, ref.a, ref.W)
    assert ref_p.status == "converged" and ref_p.distance < 1e-7
    assert np.abs(r.a - ref_p.a).max() < 1e-10
    assert np.abs(r.W - ref_p.W).max() < 1e-10


# -- linear activation, n = 1: closed-form endpoint ---------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_linear_n1_closed_form_endpoint(seed):
    """sigma(z) = z: L = |a w - u|^2 with u = sum_j b_j v_j. The flow conserves c = a^2 - |w|^2 and
    converges to a w = u, so a^2 = (c + sqrt(c^2 + 4|u|^2)) / 2 with the sign of a0 (c > 0 here:
    a never crosses 0), w = u / a."""
    rng = np.random.default_rng(seed)
    d, k = 4, 3
    V = rng.normal(size=(k, d))
    b = rng.normal(size=k)
    P = Problem(b, V, "linear")
    u = b @ V
    a0 = np.array([1.5 * np.sign(rng.normal())])
    W0 = rng.normal(scale=0.3, size=(1, d))
    c = a0[0] ** 2 - W0[0] @ W0[0]
    assert c > 0
    a_end = np.sign(a0[0]) * math.sqrt((c + math.sqrt(c * c + 4 * (u @ u))) / 2)
    w_end = u / a_end
    # The minima form a curve (a w = u): a zero mode of the Hessian. Where the flow ends on it is
    # fixed by the conserved c, which the solver keeps only to its tolerance, and the Newton polish
    # lands on the curve ~switch_tol / curvature away from where the flow would: the defaults
    # (rtol = 1e-3, switch_tol = 1e-5) end within ~1e-3 of the exact endpoint, tight ones closer.
    for rtol, switch_tol, close in ((1e-3, 1e-5, 1e-2), (1e-10, 1e-10, 1e-7)):
        r = flow_and_polish(P, a0, W0, rtol=rtol, atol=1e-12, switch_tol=switch_tol)
        assert r.status == "converged", r.message
        assert r.grad_max <= 1e-12
        np.testing.assert_allclose(r.a[0] * r.W[0], u, atol=1e-12)
        assert abs(r.a[0] - a_end) < close
        np.testing.assert_allclose(r.W[0], w_end, atol=close)
    # and with a tight flow alone, to solver accuracy
    f = gradient_flow(P, a0, W0, method="Radau", rtol=1e-10, atol=1e-12, tol=1e-10)
    assert f.status == "converged"
    assert abs(f.a[0] - a_end) < 1e-8
    cs = f.thetas[:, 0] ** 2 - np.sum(f.thetas[:, 1:] ** 2, axis=1)
    assert np.abs(cs - c).max() < 1e-7


# -- polish -------------------------------------------------------------------------------------
def test_polish_teacher_point():
    d, k = 4, 3
    P = teacher(d, k)
    a, W = np.ones(k), np.eye(k, d)
    rng = np.random.default_rng(0)
    r = polish(P, a + 1e-4 * rng.normal(size=k), W + 1e-4 * rng.normal(size=W.shape))
    assert isinstance(r, PolishResult)
    assert r.status == "converged", r.message
    assert r.grad_max <= 1e-12
    assert np.abs(r.a - a).max() < 1e-10 and np.abs(r.W - W).max() < 1e-10
    assert r.loss < 1e-20
    assert r.distance < 1e-3 and r.grad_max_start > r.grad_max


@pytest.mark.parametrize("groups", [[(0, 1, 2)], [(0,), (1, 2)], [(0, 1), (2, 3, 4)], [(0,), (1,), (2, 3, 4)]])
def test_polish_copy_average_points(groups):
    """CA points are exact critical points (docs/theory.md §5, claim 8); several are saddles. A point 1e-5 away
    polishes back to them without sliding off."""
    k = sum(len(g) for g in groups)
    d = k + 1
    P = teacher(d, k)
    a, W = ca_point(d, groups)
    assert grad_max(P, a, W) < 1e-14
    H = P.hessian(a, W)
    rng = np.random.default_rng(len(groups))
    a1 = a + 1e-5 * rng.normal(size=a.shape)
    W1 = W + 1e-5 * rng.normal(size=W.shape)
    r = polish(P, a1, W1)
    assert r.status == "converged", r.message
    assert r.grad_max <= 1e-12
    assert r.distance < 1e-4
    assert np.abs(r.a - a).max() < 1e-8 and np.abs(r.W - W).max() < 1e-8
    assert r.loss == pytest.approx(sum(l_star(len(g)) for g in groups) + 0.0, abs=1e-12)
    if np.linalg.eigvalsh(H).min() < -1e-8:  # a saddle: the polish must still stay on it
        assert r.loss <= P.loss(a1, W1) + 1e-8


def test_polish_reports_failure():
    P = teacher(4, 3)
    a0, W0 = glorot_init(2, 4, np.random.default_rng(0))
    r = polish(P, a0, W0, max_iter=1)
    assert r.status == "not_converged"
    assert "max_iter" in r.message and r.grad_max > 1e-12
    r = polish(P, a0, W0, max_distance=1e-6)
    assert r.status == "not_converged" and r.distance <= 1e-6
    assert "max_distance" in r.message


def test_polish_at_critical_point_is_noop():
    P = teacher(4, 3)
    a, W = ca_point(4, [(0,), (1, 2)])
    r = polish(P, a, W)
    assert r.status == "converged" and r.n_iter == 0 and r.distance == 0.0


# -- budgets, divergence, bad input --------------------------------------------------------------
def test_budgets():
    P = teacher(6, 5)
    a0, W0 = glorot_init(2, 6, np.random.default_rng(0))
    r = gradient_flow(P, a0, W0, t_max=1.0)
    assert r.status == "budget" and "t_max" in r.message and r.t_final == 1.0
    r = gradient_flow(P, a0, W0, max_steps=5)
    assert r.status == "budget" and r.n_steps == 5 and "max_steps" in r.message
    r = gradient_flow(P, a0, W0, max_wall=1e-9)
    assert r.status == "budget" and "max_wall" in r.message
    seen = []
    r = gradient_flow(P, a0, W0, callback=lambda t, a, W, L, g: seen.append(L) or len(seen) >= 3)
    assert r.status == "stopped" and len(seen) == 3
    r = flow_and_polish(P, a0, W0, max_steps=5)
    assert r.status == "budget" and r.polish is None


class _Refusing(Problem):
    """erf2 teacher whose loss refuses the calls where ``refuse(i, a, W)`` (``i``: the call's number,
    0 = the first) with the ValueError a kernel raises outside its accepted range."""

    def __init__(self, d, k, refuse):
        super().__init__(np.ones(k), np.eye(k, d), "erf2")
        self.calls, self.refused, self._refuse = 0, 0, refuse

    def loss_and_gradient(self, a, W):
        i, self.calls = self.calls, self.calls + 1
        if self._refuse(i, a, W):
            self.refused += 1
            raise ValueError("W: the rows of W must be finite with norm <= 4 (simulated)")
        return super().loss_and_gradient(a, W)


def test_a_refused_trial_point_is_a_shorter_step_not_an_exit():
    """A Newton trial point of BDF where the loss cannot be evaluated (call 1: the first iterate of
    the first step; call 0 is the start) is not on the trajectory: the solver must retry and reach
    the same endpoint as without the refusal. (Before, the flow stopped there as "diverged": 4
    softplus sweep runs whose states stayed at |w| <= 0.72 stopped on trial points at |w| = 7..56.)"""
    a0, W0 = glorot_init(2, 6, np.random.default_rng(0))
    plain = gradient_flow(teacher(6, 5), a0, W0)
    P = _Refusing(6, 5, lambda i, a, W: i == 1)
    r = gradient_flow(P, a0, W0)
    assert P.refused == 1 and r.status == plain.status == "converged"
    # both flows stop at max|grad| <= 1e-10 on the same minimum; the Hessian there is well
    # conditioned (eigenvalues >= ~1e-2), so the endpoints agree to ~1e-8
    assert np.allclose(r.W, plain.W, atol=1e-7) and r.loss == pytest.approx(plain.loss, abs=1e-12)


def test_a_trajectory_leaving_the_accepted_range_ends_the_flow_with_the_reason():
    """A range the true trajectory leaves (here |a_1| <= 3, which the flow from this start crosses
    on its way to a_1 = -4): the accepted states stay inside, the step size collapses at the border,
    and the flow ends as "diverged", saying which range it met."""
    a0, W0 = glorot_init(2, 6, np.random.default_rng(0))
    P = _Refusing(6, 5, lambda i, a, W: np.abs(a).max() > 3)
    r = gradient_flow(P, a0, W0)
    assert r.status == "diverged" and "outside the loss's accepted range" in r.message
    assert "norm <= 4 (simulated)" in r.message and P.refused > 0
    assert np.abs(r.a).max() <= 3 and np.abs(r.a).max() == pytest.approx(3, abs=1e-3)


def test_divergence_by_norm():
    """Linear n = 1 towards a large target: |theta| grows past max_norm."""
    P = Problem(np.array([1e4]), np.eye(1, 2), "linear")
    r = gradient_flow(P, np.array([1.0]), np.array([[1.0, 0.0]]), max_norm=10.0)
    assert r.status == "diverged" and "max_norm" in r.message
    assert np.isfinite(r.loss) and np.isfinite(r.a).all() and np.isfinite(r.W).all()


class _NaNAfter(Problem):
    """A Problem whose gradient turns NaN after a number of calls (stands in for a blow-up)."""

    def __init__(self, *args, after=20):
        super().__init__(*args)
        self.calls = 0
        self.after = after

    def loss_and_gradient(self, a, W):
        self.calls += 1
        L, ga, gW = super().loss_and_gradient(a, W)
        if self.calls > self.after:
            ga = ga * np.nan
        return L, ga, gW


@pytest.mark.parametrize("method", ["BDF", "Radau", "LSODA"])
def test_divergence_non_finite(method):
    P = _NaNAfter(np.ones(3), np.eye(3, 4), "erf2")
    a0, W0 = glorot_init(2, 4, np.random.default_rng(0))
    r = gradient_flow(P, a0, W0, method=method)
    assert r.status == "diverged" and "non-finite" in r.message
    assert np.isfinite(r.loss) and np.isfinite(r.grad_max)
    assert np.isfinite(r.thetas).all() and np.isfinite(r.losses).all()


def test_bad_input():
    P = teacher(4, 3)
    a0, W0 = glorot_init(2, 4, np.random.default_rng(0))
    with pytest.raises(ValueError, match="problem"):
        gradient_flow("erf2", a0, W0)
    with pytest.raises(ValueError, match="W0"):
        gradient_flow(P, a0, W0[:, :3])
    with pytest.raises(ValueError, match="a0"):
        gradient_flow(P, a0[None], W0)
    with pytest.raises(ValueError, match="finite"):
        gradient_flow(P, np.array([np.nan, 1.0]), W0)
    with pytest.raises(ValueError, match="method"):
        gradient_flow(P, a0, W0, method="RK45")
    for name in ("tol", "t_max", "rtol", "atol", "max_norm", "max_steps", "n_save", "max_wall"):
        with pytest.raises(ValueError, match=name):
            gradient_flow(P, a0, W0, **{name: -1.0})
    with pytest.raises(ValueError, match="n_save"):
        gradient_flow(P, a0, W0, n_save=2.5)
    with pytest.raises(ValueError, match="callback"):
        gradient_flow(P, a0, W0, callback=3)
    with pytest.raises(ValueError, match="factorization"):
        gradient_flow(P, a0, W0, factorization="qr")
    with pytest.raises(ValueError, match="tol"):
        polish(P, a0, W0, tol=0.0)
    with pytest.raises(ValueError, match="max_iter"):
        polish(P, a0, W0, max_iter=0)
    with pytest.raises(ValueError, match="W"):
        polish(P, a0, W0.T)
    with pytest.raises(ValueError, match="switch_tol"):
        flow_and_polish(P, a0, W0, switch_tol=float("nan"))
    with pytest.raises(ValueError, match="tol"):
        flow_and_polish(P, a0, W0, tol=-1.0)
    with pytest.raises(ValueError, match="n must"):
        glorot_init(0, 4, 0)
    with pytest.raises(ValueError, match="d must"):
        glorot_init(2, 2.5, 0)
    with pytest.raises(ValueError, match="rng"):
        glorot_init(2, 4, "seed")


def test_glorot_init():
    n, d = 400, 300
    a0, W0 = glorot_init(n, d, np.random.default_rng(0))
    assert a0.shape == (n,) and W0.shape == (n, d)
    assert np.var(W0) == pytest.approx(2 / (d + n), rel=0.02)
    assert np.var(a0) == pytest.approx(2 / (n + 1), rel=0.2)
    a1, W1 = glorot_init(n, d, 0)
    np.testing.assert_array_equal(a0, a1)
    np.testing.assert_array_equal(W0, W1)


def test_results_are_frozen():
    P = teacher(4, 3)
    a0, W0 = glorot_init(2, 4, np.random.default_rng(0))
    r = gradient_flow(P, a0, W0, max_steps=3)
    with pytest.raises(AttributeError):
        r.status = "x"


def test_flow_started_at_a_critical_point_stops_at_once():
    """The student equal to the teacher (k = n = 2) has gradient exactly 0, below any tol: the flow
    returns "converged" with no solver step and t unchanged (the start is its end point)."""
    P = Problem(np.ones(2), np.eye(3)[:2], activation="erf2")
    r = gradient_flow(P, np.ones(2), np.eye(3)[:2], tol=1e-12)
    assert r.status == "converged" and r.n_steps == 0 and "at the start" in r.message
    assert r.grad_max == 0.0
