"""Biases for the monomials ``z^p`` (p = 2..5): closed-form kernels (binomial expansion and Isserlis).

References: exact SymPy moments in the Cholesky factor (``u1 = m1 + L11 z1``, ``u2 = m2 + L21 z1 +
L22 z2``, ``E[z^n] = (n-1)!!``, derivatives in the means by SymPy), the bias-free ``Problem`` (its
own derived kernels), finite differences, and the CLI.
"""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

from copyavg.numeric import Problem, get_activation
from copyavg.numeric._bias_kernels import diag_moments, pair_moments
from copyavg.numeric.biased import BiasedProblem

#: exact (L11, L21, L22, m1, m2): generic, negative correlation, collinear (L22 = 0), a zero row
CHOL = [("3/5", "1/4", "1/2", "2/5", "-7/10"), ("9/10", "-1/3", "1/5", "-11/10", "3/5"),
        ("7/10", "7/20", "0", "3/10", "1/4"), ("0", "1/2", "1/3", "1/2", "-1/5")]


def _gauss_moment(n: int) -> int:
    return 0 if n % 2 else int(sp.factorial2(n - 1)) if n else 1


def _expect(poly, z1, z2):
    """E over independent standard normals z1, z2 of a polynomial, exactly."""
    P = sp.Poly(sp.expand(poly), z1, z2)
    return sum(c * _gauss_moment(i) * _gauss_moment(j) for (i, j), c in P.terms())


@pytest.mark.parametrize("p", [2, 3, 4, 5])
def test_pair_moments_match_exact_sympy_moments(p):
    # every M[a, b] = d^(a+b) g / dm1^a dm2^b, a + b <= 4, from SymPy derivatives of the exact
    # expectation (another route than the Isserlis sum), at rational points; float64 evaluation of
    # a polynomial with positive and negative terms of size <= ~1e3: relative 1e-13 is generous
    z1, z2, M1, M2 = sp.symbols("z1 z2 M1 M2")
    act = get_activation(f"monomial{p}")
    for row in CHOL:
        L11, L21, L22, m1, m2 = (sp.Rational(x) for x in row)
        g = sp.Poly(_expect((M1 + L11 * z1) ** p * (M2 + L21 * z1 + L22 * z2) ** p, z1, z2), M1, M2)
        C11, C22, C12 = L11 ** 2, L21 ** 2 + L22 ** 2, L11 * L21
        M = pair_moments(act, 4, float(C11), float(C22), float(C12), float(C11 * C22 - C12 ** 2),
                         float(m1), float(m2))
        for (a, b), v in M.items():
            ref = float(g.diff((M1, a), (M2, b)).eval({M1: m1, M2: m2})) if a + b else float(g.eval({M1: m1, M2: m2}))
            assert abs(float(v) - ref) <= 1e-13 * (1 + abs(ref)), (row, a, b)


def test_diag_moments_match_exact_sympy_moments():
    # d^k/dc^k E[(sqrt(q) z + c)^(2p)] by SymPy at rational sqrt(q), c; tolerance as above
    z, cc = sp.symbols("z cc")
    for p in (2, 3, 4, 5):
        act = get_activation(f"monomial{p}")
        for r, c in ((Fraction(3, 5), Fraction(-4, 5)), (Fraction(0), Fraction(1, 2))):
            s = _expect((sp.Rational(r) * z + cc) ** (2 * p), z, sp.Symbol("unused"))
            got = diag_moments(act, 4, float(r * r), float(c))
            for k in range(5):
                ref = float(sp.diff(s, cc, k).subs(cc, sp.Rational(c)))
                assert abs(float(got[k]) - ref) <= 1e-13 * (1 + abs(ref)), (p, r, c, k)


@pytest.mark.parametrize("p", [2, 3, 4, 5])
def test_zero_biases_reproduce_problem(p):
    # Problem's monomial kernels are derived by SymPy (copyavg derive): an independent route.
    # Loss up to ~1e6 at p = 5 (|w| ~ 1): 1e-13 relative is ~500 ulp of room for the sums
    rng = np.random.default_rng(11)
    V, W = 0.6 * rng.normal(size=(2, 3)), 0.6 * rng.normal(size=(2, 3))
    a, b = np.array([0.7, -0.4]), np.array([1.0, 0.5])
    name = f"monomial{p}"
    P0, P = Problem(b, V, name), BiasedProblem(b, V, None, name)
    L0, L = P0.loss(a, W), P.loss(a, W, np.zeros(2))
    assert abs(L - L0) <= 1e-13 * abs(L0)
    H0, H = P0.hessian(a, W), P.hessian(a, W, np.zeros(2))
    assert np.abs(H[:8, :8] - H0).max() <= 1e-13 * np.abs(H0).max()  # same budget, relative to the scale


@pytest.mark.parametrize("p", [3, 4])
def test_gradient_and_hessian_match_finite_differences(p):
    rng = np.random.default_rng(12)
    P = BiasedProblem(np.array([1.0, -0.6]), 0.5 * rng.normal(size=(2, 2)), [0.3, -0.2], f"monomial{p}")
    a, W, c = np.array([0.8, 0.3]), 0.5 * rng.normal(size=(2, 2)), np.array([0.1, -0.4])

    def g(t):
        return np.concatenate([x.ravel() for x in P.gradient(t[:2], t[2:6].reshape(2, 2), t[6:])])

    theta = np.concatenate((a, W.ravel(), c))
    grad, h = g(theta), 1e-5
    fd = np.array([(P.loss(theta[:2] + e[:2], (theta + e)[2:6].reshape(2, 2), (theta + e)[6:])
                    - P.loss(theta[:2] - e[:2], (theta - e)[2:6].reshape(2, 2), (theta - e)[6:])) / (2 * h)
                   for e in h * np.eye(theta.size)])
    # central differences: truncation h^2 f''' / 6 plus rounding eps |f| / h, both ~2e-11 of the
    # scale of f when its derivatives are of that scale (polynomials of degree 2p at |w|, |c| < 1):
    # 1e-9 of the scale (loss and gradient ~10 to 1e3 here); measured <= 3e-10 of it
    tol = 1e-9 * max(abs(P.loss(a, W, c)), np.abs(grad).max())
    assert np.abs(fd - grad).max() <= tol
    H = P.hessian(a, W, c)
    Hf = np.array([(g(theta + h * e) - g(theta - h * e)) / (2 * h) for e in np.eye(theta.size)])
    assert np.abs(H - Hf).max() <= 1e-9 * max(np.abs(H).max(), np.abs(grad).max())  # same budget
    assert np.allclose(H, H.T, rtol=0, atol=1e-12 * abs(H).max())


def test_cli_flow_monomial3_with_biases(capsys):
    # polynomial kernels: a few hundred flow steps take well under a second
    from copyavg.cli.main import main

    rc = main(["flow", "--biases", "--activation", "monomial3", "--teacher-bias", "0.3", "--k", "2", "--n", "2",
               "--json"])
    out = json.loads(capsys.readouterr().out)
    # n = k: the student can represent the teacher (cubic polynomials: not only by copying)
    assert rc == 0 and out["status"] == "converged" and out["grad_max"] <= 1e-8
    assert abs(out["loss"]) <= 1e-10 and len(out["c"]) == 2
