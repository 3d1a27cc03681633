"""Biases for every activation: gaussian closed form, expressions in z by quadrature, mpmath reference.

References: SymPy derivatives of the Gaussian integral, 20-digit mpmath quadrature
(``copyavg.numeric._bias_mp``: Plackett's identity for the erf family, a 1-D quadrature for ReLU,
2-D Gauss-Legendre otherwise), the bias-free ``Problem`` (Hermite-series kernels), finite differences.
"""

from __future__ import annotations

import json

import mpmath
import numpy as np
import pytest
import sympy as sp

from copyavg.numeric import Problem, get_activation
from copyavg.numeric._bias_kernels import _gaussian_family, pair_moments, quadrature_moments
from copyavg.numeric._bias_mp import loss_mp, pair_mp
from copyavg.numeric._bias_quadrature import max_norm, norm_limit
from copyavg.numeric.biased import BiasedProblem

#: (C11, C22, C12, m1, m2) test pairs: generic, negative correlation, nearly collinear
PAIRS = [(0.3, 0.5, 0.2, 0.4, -0.7), (0.8, 0.2, -0.35, -1.1, 0.6), (0.49, 0.49, 0.49 * (1 - 1e-7), 0.3, 0.25)]


def test_gaussian_closed_form_matches_sympy_derivatives():
    # the Hermite recursion against SymPy's derivatives of det(S)^(-1/2) exp(-m'S^-1 m / 2)
    m1, m2 = sp.symbols("m1 m2", real=True)
    C11, C22, C12 = sp.Rational(3, 10), sp.Rational(1, 2), sp.Rational(1, 5)
    S = sp.Matrix([[1 + C11, C12], [C12, 1 + C22]])
    m = sp.Matrix([m1, m2])
    g = sp.exp(-(m.T * S.inv() * m)[0] / 2) / sp.sqrt(S.det())
    M = _gaussian_family(4, 0.3, 0.5, 0.2, 0.3 * 0.5 - 0.04, 0.4, -0.7)
    for (a, b), v in M.items():
        ref = float(sp.diff(g, m1, a, m2, b).subs({m1: sp.Rational(2, 5), m2: sp.Rational(-7, 10)}))
        assert abs(v - ref) <= 1e-14 * (1 + abs(ref)), (a, b)  # float64 rounding of a short recursion


@pytest.mark.parametrize("case", PAIRS)
def test_gaussian_closed_form_matches_quadrature(case):
    # independent route: 64 x 64 Gauss-Hermite of exp(-u^2/2) derivatives (at |w| < 1 it converges
    # to ~1e-15: the integrand is entire and only mildly narrower than the weight)
    C11, C22, C12, m1, m2 = case
    act = get_activation("gaussian")
    D = C11 * C22 - C12 * C12
    M = pair_moments(act, 4, C11, C22, C12, D, m1, m2)
    Q = quadrature_moments(act, 4, C11, C22, C12, D, m1, m2, nodes=64)
    for key in M:
        assert abs(M[key] - Q[key]) <= 1e-12, key  # quadrature error ~1e-15, rounding of order-4 terms


def test_quadrature_family_has_a_norm_range():
    # tanh's poles at u = +-i pi/2 limit it: its range is decided at first use (1.5 with 512 nodes)
    tanh = get_activation("tanh")
    assert 1.0 <= max_norm(tanh) < 4.0
    assert norm_limit(get_activation("gaussian")) == 100.0
    P = BiasedProblem(np.ones(1), np.eye(1, 2), [0.1], "tanh")
    with pytest.raises(ValueError, match="W: every row must have norm"):
        P.loss(np.ones(1), np.full((1, 2), 5.0), [0.0])


@pytest.mark.parametrize("name", ["tanh", "softplus", "gaussian", "gelu"])
def test_zero_biases_reproduce_problem(name):
    # Problem's kernels come from Mehler (Hermite) series (quadrature family) or a closed form
    # (gaussian, gelu): an independent route; its stated bound is ~1e-10 relative
    rng = np.random.default_rng(3)
    V, W = 0.4 * rng.normal(size=(2, 3)), 0.4 * rng.normal(size=(2, 3))
    a, b = np.array([0.7, -0.4]), np.array([1.0, 0.5])
    P0, P = Problem(b, V, name), BiasedProblem(b, V, None, name)
    L0, G0 = P0.loss(a, W), P0.gradient(a, W)
    L, G = P.loss(a, W, np.zeros(2)), P.gradient(a, W, np.zeros(2))
    assert abs(L - L0) <= 1e-9 * (1 + abs(L0))  # both routes' error bounds are ~1e-10 of the scale
    ga, gW = G0 if isinstance(G0, tuple) else (G0[:2], G0[2:].reshape(2, 3))
    assert np.allclose(G[0], ga, atol=1e-9) and np.allclose(G[1], gW, atol=1e-9)


@pytest.mark.parametrize("name", ["tanh", "gaussian", "gelu"])
def test_gradient_and_hessian_match_finite_differences(name):
    rng = np.random.default_rng(4)
    P = BiasedProblem(np.array([1.0, -0.6]), 0.4 * rng.normal(size=(2, 2)), [0.3, -0.2], name)
    a, W, c = np.array([0.8, 0.3]), 0.4 * rng.normal(size=(2, 2)), np.array([0.1, -0.4])
    ga, gW, gc = P.gradient(a, W, c)
    theta = np.concatenate((a, W.ravel(), c))
    grad = np.concatenate((ga, gW.ravel(), gc))
    h = 1e-5
    for i in range(theta.size):
        e = np.zeros(theta.size)
        e[i] = h
        f = [P.loss(t[:2], t[2:6].reshape(2, 2), t[6:]) for t in (theta + e, theta - e)]
        # central differences: h^2 L''' ~ 1e-10 plus rounding eps L / h ~ 1e-11
        assert abs((f[0] - f[1]) / (2 * h) - grad[i]) <= 1e-8, i
    # Hessian (order a, W, c) against central differences of the gradient
    def g(t):
        return np.concatenate([x.ravel() for x in P.gradient(t[:2], t[2:6].reshape(2, 2), t[6:])])

    H = P.hessian(a, W, c)
    Hf = np.array([(g(theta + h * e) - g(theta - h * e)) / (2 * h) for e in np.eye(theta.size)])
    assert np.abs(H - Hf).max() <= 1e-8  # same error budget as above; measured ~1e-10


@pytest.mark.parametrize("name", ["erf2", "relu"])
def test_loss_and_gradient_match_mpmath(name):
    # 30-digit reference (Plackett's identity / 1-D quadrature, no Owen's T); the gradient along
    # a random direction by a 30-digit central difference (step 1e-10: error ~1e-20)
    rng = np.random.default_rng(5)
    P = BiasedProblem(np.array([1.0, 0.5]), rng.normal(size=(2, 2)), [0.4, -0.8], name)
    a, W, c = np.array([0.9, -0.3]), rng.normal(size=(2, 2)), np.array([-0.2, 0.6])
    L = P.loss(a, W, c)
    ref = loss_mp(P, a, W, c, dps=30)
    assert abs(L - float(ref)) <= 1e-14 * (1 + abs(L))  # float64 kernels: measured worst ~3e-16
    ga, gW, gc = P.gradient(a, W, c)
    da, dW, dc = rng.normal(size=2), rng.normal(size=(2, 2)), rng.normal(size=2)
    h = mpmath.mpf("1e-10")
    with mpmath.workdps(30):
        plus = loss_mp(P, *_shift(a, W, c, da, dW, dc, h), dps=30)
        minus = loss_mp(P, *_shift(a, W, c, da, dW, dc, -h), dps=30)
        dd = float((plus - minus) / (2 * h))
    ref_g = float(ga @ da + np.sum(gW * dW) + gc @ dc)
    assert abs(dd - ref_g) <= 1e-12 * (1 + abs(dd))  # float64 gradient: a few ulps of its terms


def _shift(a, W, c, da, dW, dc, h):
    """The student moved by ``h (da, dW, dc)`` as lists of mpf (exact in the current precision)."""
    mv = lambda x, y: [mpmath.mpf(p) + h * mpmath.mpf(q) for p, q in zip(x, y)]  # noqa: E731
    return mv(a, da), [mv(r, s) for r, s in zip(W, dW)], mv(c, dc)


@pytest.mark.heavy
@pytest.mark.slow
@pytest.mark.parametrize("name", ["tanh", "softplus", "gaussian"])
def test_pair_kernel_matches_20_digit_quadrature(name):
    # 2-D Gauss-Legendre at 20 digits (about 25 s per pair on a loaded machine)
    act = get_activation(name)
    C11, C22, C12, m1, m2 = PAIRS[0]
    with mpmath.workdps(20):
        ref = float(pair_mp(act, C11, C22, C12, m1, m2))
    v = pair_moments(act, 0, C11, C22, C12, C11 * C22 - C12 * C12, m1, m2)[0, 0]
    assert abs(v - ref) <= 1e-10 * (1 + abs(ref))  # the accepted error estimate is 1e-10 of the scale


@pytest.mark.heavy
@pytest.mark.slow
def test_cli_flow_tanh_with_biases_converges(capsys):
    # several minutes on a loaded machine: 512 x 512 nodes per pair at |w| ~ 1.5
    from copyavg.cli.main import main

    rc = main(["flow", "--biases", "--activation", "tanh(z)", "--k", "3", "--n", "2", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["status"] == "converged" and out["grad_max"] <= 1e-8


@pytest.mark.slow
def test_tanh_loss_matches_mpmath():
    # one student and one teacher neuron: one 2-D 20-digit quadrature (~30 s on a loaded machine)
    P = BiasedProblem(np.array([0.9]), np.array([[0.6, -0.5]]), [0.4], "tanh")
    a, W, c = np.array([-0.7]), np.array([[0.3, 0.8]]), np.array([-0.25])
    ref = loss_mp(P, a, W, c, dps=20)
    L = P.loss(a, W, c)
    assert abs(L - float(ref)) <= 1e-10 * (1 + abs(L))  # the accepted quadrature estimate: 1e-10 of the scale


def test_gelu_hessian_with_zero_biases_matches_problem():
    """gelu with biases (closed form, copyavg.numeric._bias_gelu) at zero biases against the
    closed-form ``Problem`` Hessian (copyavg.symbolic.kernels_gelu): two independent derivations."""
    rng = np.random.default_rng(8)
    V, W = 0.6 * rng.normal(size=(2, 3)), 0.6 * rng.normal(size=(2, 3))
    a, b = np.array([0.7, -0.4]), np.array([1.0, 0.5])
    H0 = Problem(b, V, "gelu").hessian(a, W)
    H = BiasedProblem(b, V, None, "gelu").hessian(a, W, np.zeros(2))
    # both closed forms round at ~eps of terms of size ~1; measured ~1e-16
    assert np.abs(H[:8, :8] - H0).max() <= 1e-12


@pytest.mark.heavy
@pytest.mark.slow
def test_gelu_pair_kernel_matches_30_digit_quadrature():
    # E[gelu(u1) gelu(u2)] with means at 30 digits (_bias_mp: outer 1-D mpmath.quad, inner conditional
    # mean in closed form)
    act = get_activation("gelu")
    C11, C22, C12, m1, m2 = PAIRS[1]
    with mpmath.workdps(30):
        ref = float(pair_mp(act, C11, C22, C12, m1, m2))
    v = pair_moments(act, 0, C11, C22, C12, C11 * C22 - C12 * C12, m1, m2)[0, 0]
    assert abs(v - ref) <= 1e-14 * (1 + abs(ref))  # closed form: rounding of terms of size ~1


@pytest.mark.slow
def test_cli_flow_gelu_with_biases_converges(capsys):
    # about 2 s (closed-form kernels; heavy while gelu used the quadrature route)
    from copyavg.cli.main import main

    rc = main(["flow", "--biases", "--activation", "gelu", "--teacher-bias", "0.3", "--k", "2", "--n", "2",
               "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["status"] == "converged" and out["grad_max"] <= 1e-8
    assert np.allclose(out["c"], 0.3, atol=1e-8)  # n = k: the student copies the teacher

