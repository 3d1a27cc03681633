"""The arb Hermite-series kernel of the quadrature family and the certified one-neuron local minimisers."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from flint import arb, fmpq

from copyavg.proofs import hermite_kernel as hk
from copyavg.proofs import one_neuron_hermite as onh
from copyavg.proofs.certificates import Status

_SIG = {"tanh": mpmath.tanh, "sigmoid": lambda x: 1 / (1 + mpmath.exp(-x)),
        "softplus": lambda x: mpmath.log1p(mpmath.exp(x)), "silu": lambda x: x / (1 + mpmath.exp(-x))}


def _contains(ball, value: mpmath.mpf) -> bool:
    """The ball meets [value -+ 1e-28]: 1e-28 allows for the 30-digit quadrature's own error, far below the
    balls' radii (>= 1e-25), so a wrong enclosure still fails."""
    from flint import ctx

    old, ctx.prec = ctx.prec, 128
    try:
        return bool(ball.overlaps(arb(mpmath.nstr(value, 34), mpmath.mpf("1e-28"))))
    finally:
        ctx.prec = old


def _he(n, z):
    """Probabilists' He_n(z) = 2^(-n/2) H_n(z/sqrt 2) through mpmath's physicists' Hermite polynomial."""
    return mpmath.hermite(n, z / mpmath.sqrt(2)) / mpmath.sqrt(2) ** n


@pytest.mark.parametrize("name,q,ns", [("tanh", fmpq(7, 10), (1, 3, 9)), ("sigmoid", fmpq(3, 2), (0, 1, 5)),
                                       ("softplus", 2, (0, 1, 2, 6)), ("silu", fmpq(1, 3), (0, 1, 4))])
def test_coefficients_contain_mpmath_quadrature(name, q, ns):
    """Each c_n(q) and s(q) ball contains an independent 30-digit mpmath.quad of the defining integral."""
    cs, s = hk.coefficients(name, q, max(ns))
    with mpmath.workdps(30):
        sq = mpmath.sqrt(mpmath.mpf(int(q.p)) / int(q.q) if isinstance(q, fmpq) else mpmath.mpf(q))
        E = lambda f: mpmath.quad(lambda z: f(z) * mpmath.npdf(z), [-mpmath.inf, 0, mpmath.inf])  # noqa: E731
        for n in ns:
            ref = E(lambda z: _SIG[name](sq * z) * _he(n, z)) / mpmath.sqrt(mpmath.factorial(n))
            assert _contains(cs[n], ref), (n, cs[n], ref)
            assert cs[n].rad() < 1e-18  # certified to ~20 digits: the bracket certificates need ~1e-14
        assert _contains(s, E(lambda z: _SIG[name](sq * z) ** 2))


@pytest.mark.parametrize("name", ["tanh", "softplus"])
def test_gaussian_tail_bound_is_honest(monkeypatch, name):
    """With the cut-off moved to R = 3 the tail beyond R is ~1e-3 of the integrals: the balls (tail bound
    as radius) must still contain the 30-digit mpmath values, and they do not without the tail term."""
    monkeypatch.setattr(hk, "R_CUT", 3)
    cs, s = hk.coefficients(name, fmpq(9, 4), 2)
    with mpmath.workdps(30):
        E = lambda f: mpmath.quad(lambda z: f(z) * mpmath.npdf(z), [-mpmath.inf, 0, mpmath.inf])  # noqa: E731
        n = 1 if name == "tanh" else 2
        ref = E(lambda z: _SIG[name](1.5 * z) * _he(n, z)) / mpmath.sqrt(mpmath.factorial(n))
        ref_s = E(lambda z: _SIG[name](1.5 * z) ** 2)
    assert _contains(cs[n], ref) and _contains(s, ref_s)
    assert cs[n].rad() > 1e-6  # the tail term is what makes the ball wide enough here
    monkeypatch.setattr(hk, "_tail_sq", lambda name, q: arb(0))
    cs0, s0 = hk.coefficients(name, fmpq(9, 4), 2)
    assert not _contains(s0, ref_s)  # without the tail bound the enclosure is wrong: the bound is needed


def test_truncation_bound_is_honest():
    """A 4-term series' ball (the truncation bound as its radius) contains the 40-term value; if the
    bound were too small (e.g. without the tails T_N) it would not."""
    q1, q2, c = fmpq(1, 2), 1, fmpq(1, 2)
    short, full = hk.pair_kernel_arb("tanh", q1, q2, c, N=4), hk.pair_kernel_arb("tanh", q1, q2, c, N=40)
    assert short.rad() > 1e-6 and full.rad() < 1e-13  # the short ball is wide, the long one tight
    assert short.contains(full.mid())
    c1, s1 = hk.coefficients("tanh", q1, 4)
    c2, s2 = hk.coefficients("tanh", q2, 4)
    no_tail = sum(a * b * (arb(c) / arb(q1).sqrt()) ** n for n, (a, b) in enumerate(zip(c1, c2)))
    assert not no_tail.contains(full.mid())  # the truncation error is real: the bound is needed


@pytest.mark.parametrize("name", ["tanh", "softplus"])
def test_kernel_matches_the_float_quadrature(name):
    """The arb kernel against the project's 2-D float quadrature (error bound ~1e-10 of its scale)."""
    from copyavg.numeric.kernels import pair_kernel

    q1, q2, c = 0.64, 1.0, 0.3
    ball = hk.pair_kernel_arb(name, fmpq(16, 25), 1, fmpq(3, 10))
    ref = float(pair_kernel(name, np.array([q1]), np.array([q2]), np.array([c]))[0])
    assert abs(float(ball.mid()) - ref) < 1e-9 and ball.rad() < 1e-12  # 1e-9: 10x the float kernel's bound


def test_bad_input():
    with pytest.raises(ValueError, match="activation"):
        hk.coefficients("relu", 1, 3)
    with pytest.raises(ValueError, match="q"):
        hk.coefficients("tanh", 0, 3)
    with pytest.raises(ValueError, match="N"):
        hk.coefficients("tanh", 1, -1)
    with pytest.raises(ValueError, match="c12"):
        hk.pair_kernel_arb("tanh", 1, 1, 2)


def test_bracket_criterion_can_fail():
    """Three points left of the tanh m = 10 optimum (|w| ~ 0.1813): L decreases, no certified bracket."""
    teacher = hk.coefficients("tanh", 1, 26, 128)
    L = [onh.loss_ball("tanh", 10, fmpq(k, 100), teacher, 26)[0] for k in (15, 16, 17)]
    assert bool(L[1] > L[2])  # the middle is not below its right neighbour
    assert not (bool(L[1] < L[0]) and bool(L[1] < L[2]))


@pytest.mark.slow
def test_tanh_m10_bracket_contains_the_float_optimum():
    """tanh, m = 10: the certified bracket contains the float profile optimum (float quadrature kernel,
    an independent route) and its loss ball is within the float kernel's error of that optimum's loss."""
    from copyavg.numeric.one_neuron_any import profile_optimum

    ok, _, d = onh.certify_m("tanh", 10, hk.coefficients("tanh", 1, onh._terms(10), 128))
    assert ok
    t1, t2 = float(d["t1"]), float(d["t2"])
    ref = profile_optimum("tanh", 10, "average")
    # the float maximiser is good to ~sqrt(1e-10 / curvature) ~ 1e-5 (kernel error 1e-10)
    assert t1 - 1e-5 < ref["norm"] < t2 + 1e-5
    L_mid = float(d["loss_mid"].mid())
    assert abs(L_mid - ref["loss"]) < 1e-9  # the float loss carries the kernel's ~1e-10 error


@pytest.mark.slow
@pytest.mark.heavy
def test_kernel_contains_mpmath_2d_quadrature():
    """g(q1, 1, c) ball contains a 20-digit nested mpmath quadrature (conditional Gaussian)."""
    q1, c = mpmath.mpf(16) / 25, mpmath.mpf(3) / 10
    ball = hk.pair_kernel_arb("tanh", fmpq(16, 25), 1, fmpq(3, 10))
    with mpmath.workdps(20):
        a = c  # u1 = a z2 + b z1, z2 the teacher's variable
        b = mpmath.sqrt(q1 - a * a)
        inner = lambda y: mpmath.quad(lambda x: mpmath.tanh(a * y + b * x) * mpmath.npdf(x),  # noqa: E731
                                      [-mpmath.inf, 0, mpmath.inf])
        ref = mpmath.quad(lambda y: mpmath.tanh(y) * inner(y) * mpmath.npdf(y), [-mpmath.inf, 0, mpmath.inf])
    assert abs(float(ball.mid()) - float(ref)) < 1e-15 and ball.rad() < 1e-13  # 1e-15: 20-digit reference


@pytest.mark.slow
@pytest.mark.heavy
@pytest.mark.parametrize("name", onh.NAMES)
def test_local_certificates_prove(name):
    c = onh.one_neuron_local(name)
    assert c.status == Status.PROVED, c.evidence


def test_linear_growth_constants_bound_each_part():
    """|part(x)| <= A + B|x| for every x is what the tail bound needs: A must be at least
    sup |part(x) - B|x||, e.g. softplus's even part log(2 cosh(x/2)) - |x|/2 <= log 2 with equality
    at 0, so A >= log 2 exactly (checked in arb, not in floats)."""
    import flint
    from flint import acb, arb

    old, flint.ctx.prec = flint.ctx.prec, 128  # decides tanh(3) < 1 and log 2 <= A
    try:
        for name in hk.NAMES:
            f, parity, A, B = hk._part(name)
            for x in ("0", "0.5", "3"):
                xb = arb(x)
                assert abs(f(acb(xb), False).real) <= arb(A) + arb(B) * xb, (name, x)
        assert arb(hk._part("softplus")[2]) >= arb(2).log()
    finally:
        flint.ctx.prec = old
