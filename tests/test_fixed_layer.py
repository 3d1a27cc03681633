"""Fixed second layer (``train="W"``, ``copyavg.numeric.training``): the soft committee machine
(``erf2``, ``a = b = 1``) and the unit-output-weight ReLU model, ``L = E[(f - f*)^2]`` (no 1/2).

Independent routes:

* the W-only gradient and Hessian against the blocks of the full ones and against central finite
  differences of the loss with ``a`` held fixed;
* the symmetric plateau of the soft committee machine (n = k, orthonormal teacher, all
  ``w_i = alpha (1, ..., 1)``): a 1-D reduced problem solved by Gauss-Hermite quadrature of the
  Gaussian integrals (no pair kernel), and by hand from the erf2 kernel
  ``g = (2/pi) asin(C12 / sqrt((1 + C11)(1 + C22)))``: with ``Q = k alpha^2`` the reduced loss is
  ``(2/pi) [k^2 asin(Q/(1+Q)) - 2 k^2 asin(alpha / sqrt(2 (1+Q)))] + k/3`` and its derivative
  vanishes iff ``Q = 1/(2k - 1)``, where both arguments equal ``1/(2k)``; the plateau loss is
  ``k/3 - (2 k^2/pi) asin(1/(2k))`` (checked with SymPy here, evaluated with mpmath);
* the perfect solution ``W = V`` (loss 0, positive-definite W-block);
* a spurious local minimum of the ReLU model at k = n = 6 (seed 283 of the Glorot-normal
  initialisation below; about 1 run in 300 at k = 6 ends there, as reported for this model), with
  its loss against a Monte Carlo estimate with a standard-error bound and its W-Hessian certified
  positive definite.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
import sympy as sp
from scipy.optimize import brentq
from scipy.special import erf

from copyavg.numeric import Problem
from copyavg.numeric._flow_base import _Evaluator
from copyavg.numeric.classify import hessian_inertia
from copyavg.numeric.flow import flow_and_polish, glorot_init, gradient_flow, nearby_critical_point, polish
from copyavg.numeric.training import (
    check_train,
    hessian_block,
    trained_gradient,
    w_symmetry_zero_modes,
)

EPS = np.finfo(float).eps
#: entry-wise accuracy of Problem.hessian relative to max|H| (population module docstring: 1e-9 of
#: max|H| against a 50-digit Hessian); used to bound the error of computed eigenvalues (Weyl)
HESS_REL_ERR = 1e-9


def _point(rng, n, d, scale=0.7):
    return rng.normal(size=n), scale * rng.normal(size=(n, d))


# -- W-only gradient and Hessian ------------------------------------------------------------------
@pytest.mark.parametrize("act", ["erf2", "relu", "erf"])
def test_w_blocks_equal_full_blocks(act):
    rng = np.random.default_rng(1)
    P = Problem(rng.normal(size=3), rng.normal(size=(3, 4)), act)
    a, W = _point(rng, 2, 4)
    ev = _Evaluator(P, a, "W")
    L, g = ev.loss_grad(W.ravel())
    Lf, ga, gW = P.loss_and_gradient(a, W)
    H = P.hessian(a, W)
    # the same floating-point computation sliced: equal to the last bit
    assert L == Lf and np.array_equal(g, gW.ravel())
    assert np.array_equal(ev.hessian(W.ravel()), H[2:, 2:])
    assert np.array_equal(hessian_block(H, 2, "W"), H[2:, 2:]) and hessian_block(H, 2) is not None
    assert np.array_equal(trained_gradient(ga, gW, "aW"), np.concatenate((ga, gW.ravel())))


@pytest.mark.parametrize("act", ["erf2", "relu"])
def test_w_gradient_and_hessian_match_finite_differences(act):
    rng = np.random.default_rng(2)
    P = Problem(np.ones(3), np.eye(3, 3), act)
    a, W = np.ones(2), 0.6 * rng.normal(size=(2, 3))
    ev = _Evaluator(P, a, "W")
    y = W.ravel()
    loss = lambda z: P.loss(a, z.reshape(W.shape))  # noqa: E731 - a held fixed
    _, g = ev.loss_grad(y)
    H = ev.hessian(y)
    N = y.size
    # gradient: central differences, h = 1e-5: truncation h^2 |L'''| ~ 1e-10, rounding eps L / h ~ 1e-11
    h = 1e-5
    fd = np.array([(loss(y + h * e) - loss(y - h * e)) / (2 * h) for e in np.eye(N)])
    assert np.max(np.abs(fd - g)) <= 1e-8 * max(1.0, np.abs(g).max())
    # Hessian: second differences of the loss, h = 3e-4: truncation h^2 |L''''| ~ 1e-6 (ReLU's
    # fourth derivatives are the larger), rounding 4 eps L / h^2 ~ 1e-8; tolerance 1e-5 of max|H|
    h = 3e-4
    E = np.eye(N)
    fdH = np.empty((N, N))
    for i in range(N):
        for j in range(N):
            fdH[i, j] = (loss(y + h * (E[i] + E[j])) - loss(y + h * (E[i] - E[j]))
                         - loss(y - h * (E[i] - E[j])) + loss(y - h * (E[i] + E[j]))) / (4 * h * h)
    assert np.max(np.abs(fdH - H)) <= 1e-5 * np.abs(H).max()


def test_train_mode_checks():
    assert check_train("W") == "W"
    for bad in ("a", "Wa", None, 1):
        with pytest.raises(ValueError, match="train must be one of"):
            check_train(bad)
    with pytest.raises(ValueError, match="n must be"):
        hessian_block(np.eye(4), 4, "W")
    with pytest.raises(ValueError, match="H must be a square"):
        hessian_block(np.ones((2, 3)), 1, "W")
    P = Problem(np.ones(2), np.eye(2, 3))
    with pytest.raises(ValueError, match="train must be one of"):
        flow_and_polish(P, np.ones(2), np.eye(2, 3), train="b")
    with pytest.raises(ValueError, match="train must be one of"):
        polish(P, np.ones(2), np.eye(2, 3), train="")
    with pytest.raises(ValueError, match="H must have size"):
        hessian_inertia(np.eye(8), np.ones(2), np.eye(2, 3), "erf2", train="W")
    assert w_symmetry_zero_modes([0.0, 1.0, 0.0], 5) == 10


def test_flow_and_polish_keep_a_fixed():
    rng = np.random.default_rng(3)
    P = Problem(np.ones(3), np.eye(3, 4), "erf2")
    a = np.array([1.0, 0.5, -0.7])
    W0 = 0.5 * rng.normal(size=(3, 4))
    res = flow_and_polish(P, a, W0, train="W")
    assert res.train == "W" and res.flow.train == "W" and res.polish.train == "W"
    assert np.array_equal(res.a, a) and np.all(res.flow.thetas[:, :3] == a)  # a never moves
    _, _, gW = P.loss_and_gradient(a, res.W)
    assert res.status == "converged" and np.abs(gW).max() <= 1e-12
    assert res.flow.losses[-1] <= res.flow.losses[0]
    # the full gradient is not zero there (a would move if it were trained): a is really held fixed
    _, ga, _ = P.loss_and_gradient(a, res.W)
    assert np.abs(ga).max() > 1e-6
    fl = gradient_flow(P, a, W0, train="W", tol=1e-6)
    assert fl.status == "converged" and fl.thetas.shape[1] == 3 + 12
    near = nearby_critical_point(P, a, W0, train="W")
    assert near["status"] == "converged" and np.array_equal(near["a"], a)


# -- soft committee machine: the symmetric plateau -----------------------------------------------
def _gauss_hermite(m):
    x, w = np.polynomial.hermite_e.hermegauss(m)  # weight exp(-x^2/2)
    return x, w / math.sqrt(2 * math.pi)


def _reduced(alpha, k, m=120):
    """Reduced loss of w_i = alpha (1, ..., 1), a = b = 1, n = k, and its alpha-derivative, by
    Gauss-Hermite quadrature in (x_1, z) with 1.x = x_1 + sqrt(k - 1) z (no pair kernel used)."""
    x, w = _gauss_hermite(m)
    X1, Z = np.meshgrid(x, x, indexing="ij")
    with np.errstate(under="ignore"):  # far nodes: weights and exp underflow to 0, harmless
        WW = np.outer(w, w)
        S = X1 + math.sqrt(k - 1) * Z
        f = erf(alpha * S / math.sqrt(2))
        df = math.sqrt(2 / math.pi) * S * np.exp(-alpha ** 2 * S ** 2 / 2)
        t = erf(X1 / math.sqrt(2))
        L = k * k * np.sum(WW * f * f) - 2 * k * k * np.sum(WW * f * t) + k * np.sum(WW * t * t)
        dL = 2 * k * k * np.sum(WW * f * df) - 2 * k * k * np.sum(WW * df * t)
    return float(L), float(dL)


def test_plateau_closed_form_symbolic():
    """The hand derivation of the module docstring, checked exactly for general k."""
    t, al = sp.symbols("t alpha", positive=True)
    k = (t ** 2 + 1) / 2  # any k > 1/2, with 2k - 1 = t^2 (so SymPy can take the square root)
    Q = k * al ** 2
    ell = k ** 2 * sp.asin(Q / (1 + Q)) - 2 * k ** 2 * sp.asin(al / sp.sqrt(2 * (1 + Q)))
    star = 1 / sp.sqrt(k * (2 * k - 1))
    deriv = sp.simplify(sp.diff(ell, al).subs(al, star))
    # factor under the square roots so that sqrt((t^2 + 2)(t^2 + 1)^2) = (t^2 + 1) sqrt(t^2 + 2)
    deriv = deriv.replace(lambda x: x.is_Pow and x.exp == sp.S.Half, lambda x: sp.sqrt(sp.factor(x.base)))
    assert sp.simplify(deriv) == 0
    for kk in (2, 3, 7):
        val = (2 / sp.pi * ell + k / 3).subs({al: star}).subs(t, sp.sqrt(2 * kk - 1))
        assert sp.simplify(val - (sp.Rational(kk, 3) - 2 * kk ** 2 / sp.pi * sp.asin(sp.Rational(1, 2 * kk)))) == 0


@pytest.mark.parametrize("k,d", [(3, 3), (4, 5)])
def test_soft_committee_plateau(k, d):
    # reduced 1-D solve by quadrature; 120 vs 60 nodes agree to ~1e-15 (smooth integrands)
    alpha = brentq(lambda s: _reduced(s, k)[1], 0.05, 0.9, xtol=1e-15)
    assert abs(_reduced(alpha, k)[0] - _reduced(alpha, k, 60)[0]) <= 1e-13
    assert alpha == pytest.approx(1 / math.sqrt(k * (2 * k - 1)), abs=1e-13)  # the closed form
    P = Problem(np.ones(k), np.eye(k, d), "erf2")
    a = np.ones(k)
    W = np.zeros((k, d))
    W[:, :k] = alpha
    L, _, gW = P.loss_and_gradient(a, W)
    # the full W-gradient vanishes: alpha is accurate to ~1e-15 and the Hessian is O(k), so
    # max|dL/dW| is at the rounding level; 1e-12 leaves a margin of 100
    assert np.abs(gW).max() <= 1e-12
    mp.mp.dps = 30
    exact = mp.mpf(k) / 3 - 2 * k * k / mp.pi * mp.asin(mp.mpf(1) / (2 * k))
    # the exact loss: float rounding of a sum of O(k^2) terms of size O(1): 1e-13 is 100x eps k^2
    assert abs(L - float(exact)) <= 1e-13
    assert abs(_reduced(alpha, k)[0] - float(exact)) <= 1e-13  # the quadrature route
    # the plateau is a saddle of the W-only loss (it has descent directions: the flow leaves it)
    inert = hessian_inertia(hessian_block(P.hessian(a, W), k, "W"), a, W, "erf2", train="W")
    assert inert.classification == "saddle" and inert.n_negative >= 1
    # Monte Carlo cross-check of the loss: 5 standard errors (false alarm probability ~6e-7)
    rng = np.random.default_rng(11)
    X = rng.standard_normal((200_000, d))
    r = k * erf(X @ W[0] / math.sqrt(2)) - erf(X[:, :k] / math.sqrt(2)).sum(axis=1)
    mc, se = np.mean(r ** 2), np.std(r ** 2) / math.sqrt(len(r))
    assert abs(L - mc) <= 5 * se


def _certified_positive_definite(H):
    """(eig_min, bound): eig_min > bound certifies H positive definite: Weyl's inequality with the
    Hessian's entry-wise error HESS_REL_ERR max|H| (norm <= N times that) plus the eigensolver's
    backward error (N eps ||H||_2)."""
    lam = np.linalg.eigvalsh(0.5 * (H + H.T))
    N = H.shape[0]
    bound = N * HESS_REL_ERR * np.abs(H).max() + N * EPS * np.abs(lam).max()
    return float(lam[0]), float(bound)


@pytest.mark.parametrize("act", ["erf2", "relu"])
def test_perfect_solution_is_a_minimum(act):
    k = 4
    P = Problem(np.ones(k), np.eye(k, k + 1), act)
    a, W = np.ones(k), np.eye(k, k + 1)
    L, _, gW = P.loss_and_gradient(a, W)
    assert abs(L) <= 1e-14 and np.abs(gW).max() <= 1e-14  # exact zero up to rounding of O(k^2) terms
    H = hessian_block(P.hessian(a, W), k, "W")
    lam_min, bound = _certified_positive_definite(H)
    assert lam_min > bound and lam_min > 1e-3  # no zero modes: a != 0 everywhere
    inert = hessian_inertia(H, a, W, act, train="W")
    assert inert.classification == "minimum" and inert.n_zero == 0 and inert.n_symmetry_zero == 0


# -- unit-output-weight ReLU model: a spurious local minimum --------------------------------------
def _relu_run(k, seed):
    P = Problem(np.ones(k), np.eye(k), "relu")
    _, W0 = glorot_init(k, k, np.random.default_rng([seed, k]))
    return P, flow_and_polish(P, np.ones(k), W0, train="W", max_wall=120)


def _check_spurious_minimum(P, res, k, n_mc=400_000):
    a = np.ones(k)
    L, _, gW = P.loss_and_gradient(a, res.W)
    assert res.status == "converged" and np.abs(gW).max() <= 1e-12
    # loss > 0 far beyond rounding (the global minimum has L = 0 to ~1e-15): a spurious minimum
    assert L > 1e-3
    H = hessian_block(P.hessian(a, res.W), k, "W")
    lam_min, bound = _certified_positive_definite(H)
    assert lam_min > 10 * bound, (lam_min, bound)
    # the W-gradient moves the point by |H^-1 g| <= 1e-12 / lam_min: far too little to change the
    # sign of an eigenvalue lam_min > 1e-6 (the Hessian is locally Lipschitz)
    assert lam_min > 1e-6
    # Monte Carlo: 5 standard errors
    rng = np.random.default_rng(7)
    X = rng.standard_normal((n_mc, k))
    r = np.maximum(X @ res.W.T, 0).sum(axis=1) - np.maximum(X, 0).sum(axis=1)
    mc, se = np.mean(r ** 2), np.std(r ** 2) / math.sqrt(n_mc)
    assert abs(L - mc) <= 5 * se, (L, mc, se)
    return L


def test_relu_spurious_minimum_k6():
    P, res = _relu_run(6, 283)
    L = _check_spurious_minimum(P, res, 6)
    assert L == pytest.approx(0.0501612, abs=1e-6)  # the value this seed reaches (regression)


@pytest.mark.slow
def test_relu_spurious_minima_are_common_k8():
    """k = n = 8: among 40 seeds, gradient flow ends at the global minimum (loss 0) for most and at
    a certified spurious minimum for at least one."""
    spurious = 0
    for seed in range(40):
        P, res = _relu_run(8, seed)
        if res.loss > 1e-8:
            _check_spurious_minimum(P, res, 8, n_mc=200_000)
            spurious += 1
        else:
            assert res.loss <= 1e-12
    assert 1 <= spurious <= 20


@pytest.mark.slow
@pytest.mark.parametrize("k", [6, 10])
def test_soft_committee_plateau_larger_k(k):
    test_soft_committee_plateau(k, k + 1)
