"""The matrix-free route of the gradient flow (``copyavg.numeric.hvp``, ``copyavg.numeric.flow_krylov``).

References: the dense Hessian of ``Problem.hessian`` (assembled block by block, a different code
path from the regrouped product), central differences of the exact gradient, the dense route of
``gradient_flow``/``flow_and_polish``, and SciPy's explicit DOP853 at tight tolerance for the flow
itself (a different integrator, no Jacobian).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from copyavg.numeric import Problem
from copyavg.numeric.flow import flow_and_polish, glorot_init, gradient_flow, polish
from copyavg.numeric.flow_krylov import choose_route
from copyavg.numeric.curvature import endpoint_curvature, lanczos_extremes, no_negative_curvature
from copyavg.numeric.hvp import HessianOperator


def _point(n, d, seed, scale=1.0):
    rng = np.random.default_rng(seed)
    return scale * rng.standard_normal(n), scale * rng.standard_normal((n, d)) / np.sqrt(d)


def _grad(P, y, n):
    _, ga, gW = P.loss_and_gradient(y[:n], y[n:].reshape(n, P.d))
    return np.concatenate((ga, gW.ravel()))


@pytest.mark.parametrize("act", ["erf2", "erf", "hermite3", "sin", "gaussian", "cos"])
def test_hvp_matches_dense_hessian_and_differences(act):
    n, d, k = 3, 4, 2
    P = Problem(np.array([1.0, -0.7]), np.eye(k, d) + 0.1, act)
    for seed in range(3):
        a, W = _point(n, d, seed)
        op = HessianOperator(P, a, W)
        assert op.kind == "exact"
        H = P.hessian(a, W)
        V = np.random.default_rng(seed + 10).standard_normal((op.N, 3))
        y = np.concatenate((a, W.ravel()))
        for v in V.T:
            Hv = op.matvec(v)
            # same partials, different assembly: only rounding of O(N) terms of size max|H| |v|
            assert np.abs(Hv - H @ v).max() <= 1e-12 * np.abs(H).max() * np.abs(v).sum()
            # central differences: truncation h^2 |d^3 g| ~ 1e-8 and rounding eps/h ~ 1e-12, relative
            h = 1e-4
            fd = (_grad(P, y + h * v, n) - _grad(P, y - h * v, n)) / (2 * h)
            assert np.abs(Hv - fd).max() <= 1e-6 * max(1.0, np.abs(Hv).max())
        # the diagonal: exact up to rounding of the same sums
        assert np.abs(op.diagonal() - np.diag(H)).max() <= 1e-12 * np.abs(H).max() * op.N


def test_hvp_difference_route_for_relu_and_large_norms():
    P = Problem(np.ones(2), np.eye(2, 3), "relu")
    a, W = _point(3, 3, 1)
    op = HessianOperator(P, a, W)
    assert op.kind == "difference"
    v = np.random.default_rng(0).standard_normal(op.N)
    H = P.hessian(a, W)
    # central differences with step 6e-6 |theta|/|v|: relative error ~1e-8 (documented 1e-7)
    assert np.abs(op.matvec(v) - H @ v).max() <= 1e-6 * np.abs(H @ v).max()
    P2 = Problem(np.ones(2), np.eye(2, 3), "erf2")
    a2, W2 = _point(3, 3, 2, scale=20.0)  # |w|^2 > 100: the erf chain rule is not used there
    op2 = HessianOperator(P2, a2, W2)
    assert op2.kind == "difference"
    H2 = P2.hessian(a2, W2)
    assert np.abs(op2.matvec(v) - H2 @ v).max() <= 1e-6 * max(1.0, np.abs(H2 @ v).max())


def test_hvp_bad_input():
    P = Problem(np.ones(2), np.eye(2, 3))
    with pytest.raises(ValueError, match="W"):
        HessianOperator(P, np.ones(2), np.ones((2, 4)))
    op = HessianOperator(P, np.ones(2), np.eye(2, 3))
    with pytest.raises(ValueError, match="length N = 8"):
        op.matvec(np.ones(5))


def test_route_choice_and_bad_route():
    assert choose_route("auto", "BDF", 10) == "dense"
    assert choose_route("auto", "LSODA", 10 ** 6) == "dense"
    assert choose_route("auto", "BDF", 10 ** 6) == "krylov"
    P = Problem(np.ones(2), np.eye(2, 3))
    with pytest.raises(ValueError, match="route must be"):
        gradient_flow(P, np.ones(2), np.eye(2, 3), route="sparse")
    with pytest.raises(ValueError, match="needs method='BDF'"):
        gradient_flow(P, np.ones(2), np.eye(2, 3), route="krylov", method="LSODA")
    with pytest.raises(ValueError, match="route must be"):
        polish(P, np.ones(2), np.eye(2, 3), route="x")


def test_krylov_flow_is_the_gradient_flow():
    """Same trajectory: theta(T) of the Krylov BDF, the dense BDF and DOP853 (explicit, no Jacobian)
    agree within the integrators' tolerances."""
    d, k, n = 6, 5, 3
    P = Problem(np.ones(k), np.eye(k, d))
    a0, W0 = glorot_init(n, d, 3)
    T = 30.0
    kw = dict(tol=1e-14, t_max=T, rtol=1e-8, atol=1e-11, n_save=5)
    yk = gradient_flow(P, a0, W0, route="krylov", **kw)
    yd = gradient_flow(P, a0, W0, route="dense", **kw)
    assert yk.route == "krylov" and yd.route == "dense" and yk.n_hvp > 0 and yd.n_hvp == 0
    assert yk.t_final == yd.t_final == T
    with np.errstate(under="ignore"):  # SciPy's step-size floor underflows at t = 0
        ref = solve_ivp(lambda t, y: -_grad(P, y, n), (0, T), np.concatenate((a0, W0.ravel())),
                        method="DOP853", rtol=1e-11, atol=1e-13)
    yr = ref.y[:, -1]
    for res in (yk, yd):
        y = np.concatenate((res.a, res.W.ravel()))
        # global error of a BDF run at rtol 1e-8 over this stretch: ~1e-6 (error accumulation on a
        # trajectory of length ~1); the two BDF routes differ by their Newton solves only
        assert np.abs(y - yr).max() <= 1e-5


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_krylov_endpoints_agree_with_dense(seed):
    d, k, n = 6, 5, 3
    P = Problem(np.ones(k), np.eye(k, d))
    a0, W0 = glorot_init(n, d, seed)
    rk = flow_and_polish(P, a0, W0, route="krylov", n_save=10)
    rd = flow_and_polish(P, a0, W0, route="dense", n_save=10)
    assert rk.status == rd.status == "converged"
    assert rk.flow.route == "krylov" and rk.polish.route == "krylov" and rd.polish.route == "dense"
    assert rk.grad_max <= 1e-12
    # the same critical value: |L - L'| <= |grad| * distance + curvature * distance^2 ~ 1e-20 at
    # polished points of the same basin; 1e-12 leaves room for rounding of L (~1e-15)
    assert abs(rk.loss - rd.loss) <= 1e-12
    ck = endpoint_curvature(P, rk.a, rk.W)
    cd = endpoint_curvature(P, rd.a, rd.W)
    assert ck["method"] == cd["method"] == "dense"
    assert ck["classification"] == cd["classification"]
    cl = endpoint_curvature(P, rk.a, rk.W, max_dense=0)
    assert cl["method"] == "lanczos"
    if cl["classification"] != "undecided":
        assert cl["classification"] == ck["classification"]
    # Lanczos extremes against the dense spectrum (ARPACK tol 1e-10 relative to |H| ~ 10)
    lam = np.linalg.eigvalsh(P.hessian(rk.a, rk.W))
    assert abs(cl["eig_max"] - lam[-1]) <= 1e-8 and abs(cl["eig_min"] - lam[0]) <= 1e-8


def test_lanczos_proves_a_saddle():
    P = Problem(np.ones(3), np.eye(3, 4))
    a, W = np.array([0.4, 0.4, -0.2]), np.eye(3, 4)[[0, 0, 1]] * 0.7  # two copies: not a minimum
    lam = np.linalg.eigvalsh(P.hessian(a, W))
    assert lam[0] < -1e-3  # dense reference: negative curvature here
    r = endpoint_curvature(P, a, W, max_dense=0)
    assert r["classification"] == "saddle"
    assert abs(r["eig_min"] - lam[0]) <= 1e-8  # ARPACK tol 1e-10 relative, |H| ~ 1
    ext = lanczos_extremes(HessianOperator(P, a, W), which=("SA",))
    assert "max" not in ext and ext["min"] >= lam[0] - 1e-10  # a Rayleigh quotient


@pytest.mark.parametrize("max_dense", [0, 3000])
def test_handover_test_dense_and_lanczos_agree_with_the_spectrum(max_dense):
    # reference: numpy's full spectrum of the dense Hessian; the test says "no eigenvalue below
    # -neg_curvature", decided by Cholesky (max_dense = 3000) or Lanczos (max_dense = 0)
    P = Problem(np.ones(3), np.eye(3, 4))
    a, W = np.array([0.4, 0.4, -0.2]), np.eye(3, 4)[[0, 0, 1]] * 0.7  # a saddle (test above)
    y = np.concatenate((a, W.ravel()))
    lam0 = float(np.linalg.eigvalsh(P.hessian(a, W))[0])
    assert lam0 < -1e-3
    # thresholds 10% either side of |lambda_min|: far beyond rounding (1e-15) and ARPACK's 1e-8
    assert no_negative_curvature(P, y, 3, 0.9 * -lam0, max_dense=max_dense) is False
    assert no_negative_curvature(P, y, 3, 1.1 * -lam0, max_dense=max_dense) is True
    yc = np.concatenate((np.ones(3), np.eye(3, 4).ravel()))  # the teacher: a minimum
    lamc = float(np.linalg.eigvalsh(P.hessian(np.ones(3), np.eye(3, 4)))[0])
    assert lamc > 1e-3 and no_negative_curvature(P, yc, 3, 1e-6, max_dense=max_dense) is True


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(6))
def test_krylov_endpoints_agree_with_dense_paper_size(seed):
    from copyavg.experiments.sweep import RunSpec, initial_point

    d, k, n = 51, 50, 25
    P = Problem(np.ones(k), np.eye(k, d))
    a0, W0 = initial_point(RunSpec("erf2", k, n, d, seed))
    rk = flow_and_polish(P, a0, W0, route="krylov", n_save=10)
    rd = flow_and_polish(P, a0, W0, route="dense", n_save=10)
    assert rk.status == rd.status == "converged" and rk.grad_max <= 1e-12
    assert abs(rk.loss - rd.loss) <= 1e-12  # as in the fast test
    ck, cd = endpoint_curvature(P, rk.a, rk.W), endpoint_curvature(P, rd.a, rd.W)
    assert ck["classification"] == cd["classification"]


def test_sweep_endpoint_type_by_lanczos_above_the_dense_limit(monkeypatch):
    from copyavg.experiments import runs, sweep

    P = Problem(np.ones(3), np.eye(3, 4))
    a, W = np.array([0.4, 0.4, -0.2]), np.eye(3, 4)[[0, 0, 1]] * 0.7  # a saddle of the dense spectrum
    dense = sweep.endpoint_hessian(P, a, W, "erf2", 0.0)
    assert dense["inertia"]["method"] == "dense" and dense["inertia"]["negative"] > 0
    monkeypatch.setattr(runs, "MAX_DENSE_HESSIAN", 0)  # read where endpoint_hessian lives
    lz = sweep.endpoint_hessian(P, a, W, "erf2", 0.0)
    assert lz["inertia"]["method"] == "lanczos" and lz["hessian_type"] == "saddle"
    assert abs(lz["inertia"]["eig_min"] - dense["inertia"]["eig_min"]) <= 1e-8  # ARPACK tol 1e-10, |H| ~ 1
    P2 = Problem(np.ones(2), np.eye(2, 3))
    assert sweep.endpoint_hessian(P2, np.ones(2), np.eye(2, 3), "erf2", 0.0)["hessian_type"] == "minimum"
