"""docs/theory.md §6, claim 12 (optimal CA configuration, erf2, unit-orthonormal teacher, loss E[(f - f*)^2])."""

import flint
import mpmath
import pytest
import sympy as sp
from sympy.functions.combinatorial.numbers import partition as npartitions

from copyavg.proofs import optimal_ca
from copyavg.proofs.certificates import Status
from copyavg.proofs.optimal_ca import (
    LSTAR_ERF2,
    lstar_increasing_concave,
    optimal_ca_partition,
    partitions,
)

m = optimal_ca.m


@pytest.fixture(scope="module")
def certificates():
    return {name: check() for name, check in optimal_ca.all_checks().items()}


def test_ids():
    assert set(optimal_ca.all_checks()) == {"ca-loss-additive", "lstar-increasing-concave", "optimal-ca-partition",
                                            "lstar-increasing-concave:erf", "optimal-ca-partition:erf"}


@pytest.mark.parametrize("name", ["ca-loss-additive", "lstar-increasing-concave", "optimal-ca-partition",
                                  "lstar-increasing-concave:erf", "optimal-ca-partition:erf"])
def test_certificate_proved(certificates, name):
    cert = certificates[name]
    assert cert.theorem == name
    assert cert.status == Status.PROVED, cert.to_json()
    assert cert.as_expected
    assert cert.residual == "0"


def test_enumeration_counts(certificates):
    ev = " ".join(certificates["optimal-ca-partition"].evidence)
    n_parts = sum(int(npartitions(k)) - 1 for k in range(2, 31))  # n = k excluded
    assert f"{n_parts} partitions" in ev
    n_cmp = n_parts - sum(k - 1 for k in range(2, 31))  # the optimum itself, once per (k, n)
    assert f"{n_cmp} comparisons" in ev
    assert "0 undecided" in ev


def test_flint_precision_restored():
    before = flint.ctx.prec
    optimal_ca_partition(kmax=6)
    assert flint.ctx.prec == before


def test_partitions_generator():
    for k in range(1, 16):
        assert sum(1 for n in range(1, k + 1) for _ in partitions(k, n)) == npartitions(k)
        for n in range(1, k + 1):
            ps = list(partitions(k, n))
            assert len(set(ps)) == len(ps)
            assert all(len(p) == n and sum(p) == k and list(p) == sorted(p, reverse=True) for p in ps)


def test_user_symbol_accepted():
    mm = sp.Symbol("mm")  # no assumptions: rewritten in the positive module symbol
    expr = mm / 3 - 2 / sp.pi * mm**2 * sp.asin(1 / (2 * mm))
    assert lstar_increasing_concave(expr).status == Status.PROVED
    assert optimal_ca_partition(kmax=8, expr=expr).status == Status.PROVED


# --- L* against an independent route: maximise over the norm r with the direction u_j = 1/sqrt(m) ----
def _lstar_by_optimisation(mv: int):
    """min over (a, r) of a^2 s(r^2) - 2 a m h(r) + m/3 (erf2 kernel, u_j = 1/sqrt(m)).

    Eliminating a (a = m h / s) leaves m/3 - m^2 max_r h(r)^2 / s(r^2); the maximiser is found by a
    grid scan and then mpmath.findroot on the derivative.
    """
    with mpmath.workdps(45):
        M = mpmath.mpf(mv)

        def g(c11, c22, c12):
            return 2 / mpmath.pi * mpmath.asin(c12 / mpmath.sqrt((1 + c11) * (1 + c22)))

        def phi(r):
            h = g(r**2, 1, r / mpmath.sqrt(M))  # student vs one teacher neuron, cosine 1/sqrt(m)
            s = g(r**2, r**2, r**2)
            return h**2 / s

        grid = [mpmath.mpf(i) / 200 for i in range(1, 800)]
        r0 = max(grid, key=phi)
        r = mpmath.findroot(lambda x: mpmath.diff(phi, x), r0)
        a = M * g(r**2, 1, r / mpmath.sqrt(M)) / g(r**2, r**2, r**2)
        teacher = M * g(1, 1, 1)  # + m(m-1) g(1, 1, 0) = 0
        Lmin = a**2 * g(r**2, r**2, r**2) - 2 * a * M * g(r**2, 1, r / mpmath.sqrt(M)) + teacher
        return Lmin, a, r


@pytest.mark.parametrize("mv", range(1, 7))
def test_lstar_closed_form_vs_optimisation(mv):
    Lmin, a, r = _lstar_by_optimisation(mv)
    with mpmath.workdps(45):
        closed = mpmath.mpf(sp.N(LSTAR_ERF2.subs(m, mv), 50))
        assert abs(Lmin - closed) < mpmath.mpf("1e-20")
        # the optimiser lands on the CA construction too: a = m, r^2 = 1/(2m - 1)
        assert abs(a - mv) < mpmath.mpf("1e-15")
        assert abs(r**2 - mpmath.mpf(1) / (2 * mv - 1)) < mpmath.mpf("1e-15")


# --- negative tests: a wrong L* must never be proved ----------------------------------------------
def test_convex_lstar_refuted_with_witness():
    wrong = m**2 - m  # L(1) = 0 but convex
    cert = optimal_ca_partition(kmax=8, expr=wrong)
    assert cert.status == Status.REFUTED
    assert "(2, 2)" in cert.residual and "k=4" in cert.residual
    assert lstar_increasing_concave(wrong).status == Status.REFUTED


def test_sign_flipped_lstar_refuted():
    flipped = -LSTAR_ERF2  # L(1) = 0, decreasing and convex
    c1 = lstar_increasing_concave(flipped)
    assert c1.status == Status.REFUTED and "L'" in c1.residual
    c2 = optimal_ca_partition(kmax=8, expr=flipped)
    assert c2.status == Status.REFUTED
    plus = m / 3 + 2 / sp.pi * m**2 * sp.asin(1 / (2 * m))  # the asin term's sign flipped
    assert lstar_increasing_concave(plus).status == Status.REFUTED
    assert optimal_ca_partition(kmax=8, expr=plus).status != Status.PROVED


def test_linear_lstar_never_proved():
    # ties everywhere: balls never separate, concavity not strict
    lin = m - 1
    assert lstar_increasing_concave(lin).status == Status.UNDECIDED
    cert = optimal_ca_partition(kmax=8, expr=lin)
    assert cert.status == Status.UNDECIDED


def test_ca_loss_additive_numeric_evidence(certificates):
    cert = certificates["ca-loss-additive"]
    assert any("worst |diff|" in e and ": True" in e for e in cert.evidence)


def test_erf_certificates_name_erf_not_erf2():
    """The :erf certificates check erf's L*; their statement and assumptions must say so."""
    from copyavg.proofs.optimal_ca import _derived_lstar

    L = _derived_lstar("erf")
    for c in (lstar_increasing_concave(L, "erf"), optimal_ca_partition(kmax=6, expr=L, activation="erf")):
        text = c.statement + " ".join(c.assumptions)
        assert c.status == Status.PROVED
        assert "erf2" not in text and "sigma = erf: sigma(z) = erf(z)" in text
