"""CA criticality for the homogeneous activations, gelu and the quadrature family (docs/theory.md §5,
claim 9b), checked against independent routes:

* monomials: the gradient entries recomputed from Gaussian moments (Isserlis: ``E[x^alpha]`` =
  product of ``(alpha_i - 1)!!``) of the polynomial network, no kernel involved;
* gelu: the entries from the 30-digit population loss (``copyavg.numeric.mp.loss_mp``, kernel pairs
  summed directly; ``dL/da`` exactly from three values of the quadratic in ``a``, ``dL/dw`` by a
  central difference) and ``mu(q) = E[gelu(sqrt q z)]`` by mpmath quadrature;
* the quadrature family: the arb enclosure of the cross entry against the float64 gradient
  (Gauss-Hermite kernels of ``copyavg.numeric``).
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy as sp

from copyavg.proofs import ca_critical_more as ccm
from copyavg.proofs.certificates import Status


def _gauss_moment(poly: sp.Poly) -> sp.Expr:
    """E[poly(x)] for x ~ N(0, I): each monomial x^alpha contributes prod (alpha_i - 1)!! (0 if odd)."""
    total = sp.Integer(0)
    for alpha, coeff in poly.terms():
        if any(k % 2 for k in alpha):
            continue
        total += coeff * sp.prod([sp.factorial2(k - 1) for k in alpha])
    return total


@pytest.mark.parametrize("p", [2, 3, 4, 5])
def test_monomial_entries_from_gaussian_moments(p):
    """Partition (1, 3), k = d = 4: copy w_1 = e_1, a_1 = 1; group neuron w_2 = e_2 + e_3 + e_4 (norm
    sqrt 3, on its ray a|w|^p = A(3)). dL/da_1 = 2 E[(f - f*) x_1^p] and dL/dw_1 . e_2 =
    2 a_1 E[(f - f*) p x_1^(p-1) x_2] from Isserlis moments, against sympy.diff of the kernel loss
    and the closed-form J prediction (the one at t = 1: it must not depend on the norm)."""
    X = sp.symbols("x0:4")
    A3 = ccm.monomial_A(p, sp.Integer(3))
    a2 = sp.nsimplify(sp.simplify(A3 / sp.sqrt(3) ** p))
    resid = X[0] ** p + a2 * (X[1] + X[2] + X[3]) ** p - sum(x**p for x in X)
    da = 2 * _gauss_moment(sp.Poly(sp.expand(resid * X[0] ** p), *X))
    dw = 2 * _gauss_moment(sp.Poly(sp.expand(resid * p * X[0] ** (p - 1) * X[1]), *X))
    a, W, V = ccm.ca_config(f"monomial{p}", (1, 3), (1, sp.sqrt(3)), (1, A3))
    ex = ccm.exact_entries(f"monomial{p}", a, W, V, js=(1,))
    assert sp.simplify(ex["a"] - da) == 0 and sp.simplify(ex[1] - dw) == 0
    exact, pred, fl, _ = ccm.monomial_witness(p, (1, 3), (1, 1))
    if p % 2 == 0:
        assert da != 0 and dw == 0 and sp.simplify(da - pred) == 0
    else:
        assert da == 0 and dw != 0 and sp.simplify(dw - pred) == 0
    # float64 gradient of polynomial kernel terms of size <= 10^3: rounding ~1e-13 relative
    assert abs(fl - float(exact)) < 1e-10 * max(1.0, abs(float(exact)))


@pytest.mark.parametrize("p", [2, 3, 4, 5])
def test_monomial_all_copies_is_critical(p):
    """The refutation needs a group of size >= 2: with all groups copies (on their rays) the entry is 0."""
    exact, pred, fl, _ = ccm.monomial_witness(p, (1, 1, 1), (2, sp.Rational(1, 3), 1))
    assert exact == 0 and pred == 0
    assert abs(fl) < 1e-12  # float64 rounding of O(1) terms


def test_monomial_certificate_fails_with_the_wrong_ray(monkeypatch):
    """With a|w|^p = m (even p) or sqrt(m) (odd p) the cross terms vanish: no longer refuted."""
    real = ccm.monomial_A
    monkeypatch.setattr(ccm, "monomial_A", lambda p, mv=ccm._m: mv if p % 2 == 0 else sp.sqrt(mv))
    for name in ("monomial2", "monomial3"):
        assert ccm.monomial_ca(name).status != Status.REFUTED
    monkeypatch.setattr(ccm, "monomial_A", real)
    assert all(ok for _, ok in ccm.monomial_steps(3))


def test_gelu_mean_and_slope_by_quadrature():
    """mu(q) = q/sqrt(2 pi (1 + q)) and nu = 1/2 (used in ca-critical:gelu) by mpmath quadrature."""
    with mpmath.workdps(20):
        gelu = lambda u: u * mpmath.ncdf(u)  # noqa: E731
        dgelu = lambda u: mpmath.ncdf(u) + u * mpmath.npdf(u)  # noqa: E731
        for q in (mpmath.mpf("0.3"), mpmath.mpf(64)):
            mu = mpmath.quad(lambda z: gelu(mpmath.sqrt(q) * z) * mpmath.npdf(z), [-mpmath.inf, 0, mpmath.inf])
            nu = mpmath.quad(lambda z: dgelu(mpmath.sqrt(q) * z) * mpmath.npdf(z), [-mpmath.inf, 0, mpmath.inf])
            assert abs(mu - q / mpmath.sqrt(2 * mpmath.pi * (1 + q))) < 1e-15  # 20-digit quadrature
            assert abs(nu - mpmath.mpf(1) / 2) < 1e-15


def test_gelu_entries_from_the_mp_loss():
    """Partition (1, 3), group neuron at norm t with any a: the copy's entries from the 30-digit
    population loss against 2 mu(1)(a mu(t^2) - 3 mu(1)) and (a t/sqrt 3 - 1)/2; at a t = sqrt 3 the
    first is < 0 (the certificate's argument)."""
    from copyavg.numeric.mp import loss_mp

    V = [[int(i == j) for j in range(5)] for i in range(4)]
    mu = lambda q: q / mpmath.sqrt(2 * mpmath.pi * (1 + q))  # noqa: E731
    with mpmath.workdps(30):
        for t, a in ((mpmath.mpf(2), mpmath.mpf("0.7")), (mpmath.mpf(3), mpmath.sqrt(3) / 3)):
            w2 = [0] + [t / mpmath.sqrt(3)] * 3 + [0]
            L = lambda a1, w1: loss_mp([a1, a], [w1, w2], [1] * 4, V, "gelu", dps=30)  # noqa: E731
            Lm, L0, Lp = (L(a1, [1, 0, 0, 0, 0]) for a1 in (0, 1, 2))
            da = (Lp - Lm) / 2  # the loss is quadratic in a_1: exact at a_1 = 1
            h = mpmath.mpf(10) ** -8
            dw = (L(1, [1, h, 0, 0, 0]) - L(1, [1, -h, 0, 0, 0])) / (2 * h)  # O(h^2) ~ 1e-16
            assert abs(da - 2 * mu(1) * (a * mu(t * t) - 3 * mu(1))) < 1e-20
            assert abs(dw - (a * t / mpmath.sqrt(3) - 1) / 2) < 1e-12
        assert abs(dw) < 1e-12 and da < -0.05  # a t = sqrt 3: the slope matches, the mean cannot


def test_gelu_witness_vanishes_for_a_copy():
    """At m = 1 (the group neuron an exact copy, t = 1, a = 1) both entries are exactly 0: the
    refutation needs m >= 2."""
    a, W, V = ccm.ca_config("gelu", (1, 1), (1, 1), (1, 1))
    ex = ccm.exact_entries("gelu", a, W, V, js=(1,))
    assert ex["a"] == 0 and ex[1] == 0


def test_quadrature_enclosure_matches_the_float_gradient():
    """sigmoid, partition (1, 3), |w| = 1/2: the arb ball of dL/dw_1 . e_2 (Hermite series, 16 terms)
    contains the float64 gradient of copyavg.numeric at the same point up to its kernel error."""
    from flint import arb, fmpq

    from copyavg.numeric import gradient
    from copyavg.proofs.ca_critical_quadrature import entries_ball
    from copyavg.proofs.hermite_kernel import coefficients

    N = 16  # rho^17 = 3^-8.5 ~ 1e-4 times the (tiny) tails: radius ~1e-15, far below the ~1e-3 entries
    teacher = coefficients("sigmoid", 1, N, 64)
    a, da, dw = entries_ball("sigmoid", 3, arb(fmpq(1, 2)), teacher, N, prec=64)
    W = np.zeros((2, 5))
    W[0, 0] = 1.0
    W[1, 1:4] = 0.5 / math.sqrt(3)
    ga, gW = gradient(np.array([1.0, float(a.mid())]), W, np.ones(4), np.eye(4, 5), "sigmoid")
    # the float kernel is good to ~1e-10 of its scale (O(1) terms); 1e-9 leaves room for a few of them
    for ball, f in ((da, ga[0]), (dw, gW[0, 1])):
        assert abs(f - float(ball.mid())) < float(ball.rad()) + 1e-9
    assert dw < 0 < da and abs(float(dw.mid())) > 1e-4


def test_quadrature_cover_refuses_a_copy():
    """m = 1: the group neuron at t near 1 is (nearly) an exact copy, J3 = 0 at t = 1: the cover
    must not decide a sign (a wrong group size flips the status)."""
    from flint import fmpq

    from copyavg.proofs.ca_critical_quadrature import _cover
    from copyavg.proofs.hermite_kernel import coefficients

    N = 20
    teacher = coefficients("sigmoid", 1, N, 96)
    cov = _cover("sigmoid", 1, fmpq(999, 1000), fmpq(1001, 1000), teacher, N, max_depth=1)
    assert cov["J3"][0] is None and cov["J0"][0] is None


@pytest.mark.slow
@pytest.mark.heavy
@pytest.mark.parametrize("name", ["tanh", "sigmoid", "softplus", "silu"])
def test_quadrature_certificates_refuted(name):
    """``copyavg verify --heavy`` set, 8-30 s each on a loaded machine: refuted on the whole certified bracket."""
    from copyavg.proofs.ca_critical_quadrature import ca_quadrature

    cert = ca_quadrature(name)
    assert cert.status == Status.REFUTED, (cert.residual, cert.evidence)
