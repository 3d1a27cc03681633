"""The global certificate of the average profile (copyavg.proofs.one_neuron_profile; docs/theory.md §4,
claim 7d). References: mpmath quadrature (1-D, 30 digits) of the derivative integrals and of the
t -> infinity limit, central differences of the float Gauss-Hermite profile; a wrong bound must fail."""

from __future__ import annotations

import math

import mpmath
import pytest
from flint import arb, fmpq

from copyavg.proofs import one_neuron_profile as onp


def _contains(ball, x, slack=0.0):
    return float(ball.lower()) - slack <= float(x) <= float(ball.upper()) + slack


def _float_F(name, m, t):
    """F(t) = T - L(t) on the average profile by the float route of copyavg.numeric.one_neuron_search
    (Gauss-Hermite coefficients of the Mehler series: an algorithm independent of the arb integrals)."""
    import numpy as np

    from copyavg.numeric.one_neuron_search import Problem

    prob = Problem(name, m)
    w = np.zeros(m + 1)
    w[:m] = float(t) / math.sqrt(m)
    return prob.T - prob.loss(w)


def test_derivative_integrals_contain_mpmath_quadrature():
    t = fmpq(1, 2)
    cs, es, s, ds = onp.derivative_parts("tanh", t, 3, 96)
    with mpmath.workdps(30):
        tt = mpmath.mpf(1) / 2
        e1 = mpmath.quad(lambda z: mpmath.sech(tt * z) ** 2 * z * z * mpmath.npdf(z), [-mpmath.inf, 0, mpmath.inf])
        e3 = mpmath.quad(lambda z: mpmath.sech(tt * z) ** 2 * z * (z**3 - 3 * z) / mpmath.sqrt(6) * mpmath.npdf(z),
                         [-mpmath.inf, 0, mpmath.inf])
        ds_ref = mpmath.quad(lambda z: 2 * mpmath.tanh(tt * z) * mpmath.sech(tt * z) ** 2 * z * mpmath.npdf(z),
                             [-mpmath.inf, 0, mpmath.inf])
    # balls of radius ~1e-20: containment of a 30-digit value is the test (no slack)
    assert _contains(es[1], e1) and _contains(es[3], e3) and _contains(ds, ds_ref)
    assert es[0] == 0 and es[2] == 0  # parity: exact zeros
    # a ball in t encloses the values at its points
    _, es_b, _, _ = onp.derivative_parts("tanh", arb(t) + arb(0, 0.01), 1, 96)
    assert _contains(es_b[1], e1)


@pytest.mark.parametrize("name", onp.NAMES)
def test_dF_and_G_inf_against_mpmath(name):
    m = 20  # 17 Hermite terms: cheap
    prof = onp._Profile(name, m)
    t = fmpq(3, 10)
    h = 1e-4
    fd = (_float_F(name, m, 0.3 + h) - _float_F(name, m, 0.3 - h)) / (2 * h)
    with mpmath.workdps(20):
        rho = 1 / mpmath.sqrt(m)
        sig = mpmath.tanh if name == "tanh" else (lambda x: 1 / (1 + mpmath.exp(-x)))
        # G_inf = m E[step(Z) sigma(V)], E[sign Z | V] = 2 Phi(rho V / sqrt(1 - rho^2)) - 1
        cond = lambda v: 2 * mpmath.ncdf(rho * v / mpmath.sqrt(1 - rho**2)) - 1  # noqa: E731
        step = cond if name == "tanh" else (lambda v: (1 + cond(v)) / 2)
        Ginf = m * mpmath.quad(lambda v: step(v) * sig(v) * mpmath.npdf(v), [-mpmath.inf, 0, mpmath.inf])
    # central difference: O(h^2 F''') ~ 1e-8 plus rounding 1e-15/h ~ 1e-11 (F ~ 10..100)
    assert _contains(prof.dF(t), fd, slack=1e-6)
    assert _contains(prof.G_inf(), Ginf, slack=1e-15)  # 1-D quadrature at 20 digits


def test_cover_fails_across_the_maximum():
    prof = onp._Profile("sigmoid", 20)
    mid = fmpq(18639612, 10**8)  # the float optimum of the profile (one_neuron_table.md: 0.1863961..)
    bound = prof.F(mid).lower()
    ok, _, bad = onp.cover_below(prof, mid - fmpq(1, 100), mid + fmpq(1, 100), bound)
    assert not ok and bad is not None
    # and a true statement away from it holds (F decreases past the optimum)
    ok, n, _ = onp.cover_below(prof, fmpq(28, 100), fmpq(3, 10), bound)
    assert ok and n >= 1


def test_small_t_lemma_bound_is_an_upper_bound():
    # the tanh bound F(t) <= m c_1(1)^2 a^2 / s(a) for t <= a, checked against mpmath F at points below a
    m, a = 5, mpmath.mpf(0.05)
    with mpmath.workdps(20):
        c1 = mpmath.quad(lambda z: z * mpmath.tanh(z) * mpmath.npdf(z), [-mpmath.inf, 0, mpmath.inf])
        s_a = mpmath.quad(lambda z: mpmath.tanh(a * z) ** 2 * mpmath.npdf(z), [-mpmath.inf, 0, mpmath.inf])
        bound = m * c1**2 * a**2 / s_a
    for t in (float(a) / 7, float(a) / 2, float(a)):
        assert _float_F("tanh", m, t) <= float(bound)  # the margin at t = a is ~1e-4 >> the float error


@pytest.mark.slow
@pytest.mark.heavy
def test_sigmoid_m20_profile_certificate():
    """The whole certificate at one cheap m (~10 s): proved, and its bracket holds the optimum of the
    independent float profile (Gauss-Hermite Mehler series, copyavg.numeric.one_neuron_search)."""
    from copyavg.numeric.one_neuron_search import Problem

    ok, note, data = onp.certify_profile_m("sigmoid", 20)
    assert ok, note
    t_float, _ = Problem("sigmoid", 20).average_profile()
    assert float(data["t1"]) < t_float < float(data["t2"])  # bracket half-width 1.9e-4 >> float error ~1e-7
