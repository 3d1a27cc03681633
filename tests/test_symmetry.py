"""Symmetry-reduced Hessians (copyavg.numeric.symmetry) against the dense Hessian.

Independent route: ``Problem.hessian`` of the full network (the chain rule over all neuron pairs,
itself checked against 50-digit Hessians in tests/test_erf_hessian.py) and ``np.linalg.eigvalsh``;
the blocks never form it. Eigenvalue multisets are compared after sorting, to relative 1e-10 of
``||H||_2``: both sides are backward-stable float64 eigenvalue computations (error about
``sqrt(N) eps ||H||`` <= 1e-13 ||H|| for the sizes here) plus entry rounding of the same order,
so 1e-10 leaves a margin of ~1000 while any wrong block entry or multiplicity shows at O(1).
"""

import mpmath
import numpy as np
import pytest

from copyavg.cli.main import main as cli
from copyavg.numeric.one_neuron import ca_configuration
from copyavg.numeric.pnc import solve_pnc, summarize_thresholds, unpack
from copyavg.numeric.pnc_reduced import ca_point_reduced, solve_pnc_reduced
from copyavg.numeric.population import Problem
from copyavg.numeric.symmetry import (Structure, _pencils, block_classification, block_spectrum, ca_structure,
                                      pnc_structure, symmetry_blocks)
from copyavg.numeric.thresholds_reduced import scan, table

#: relative to ||H||_2, see the module docstring
RTOL = 1e-10


def _dense_point(st: Structure):
    """(a, W) of a Structure written out in the original coordinates (teacher e_j, d columns)."""
    k, d, N = st.k, st.d, st.N
    rows, a = [], []
    for c in range(N):
        w = np.zeros(d)
        w[:N] = st.t
        w[c] = st.o
        w[N:k] = st.p
        rows.append(w)
        a.append(st.a)
    if st.extra:
        w = np.zeros(d)
        w[:N] = st.tE
        w[N:k] = st.pE
        rows.append(w)
        a.append(st.aE)
    return np.array(a), np.array(rows)


def _compare(st: Structure) -> float:
    a, W = _dense_point(st)
    dense = np.linalg.eigvalsh(Problem(np.ones(st.k), np.eye(st.k, st.d), st.activation).hessian(a, W))
    lam, mult = block_spectrum(st)
    ours = np.sort(np.repeat(lam, mult))
    assert len(ours) == len(dense)
    return float(np.max(np.abs(ours - dense)) / np.max(np.abs(dense)))


@pytest.mark.parametrize("k", [5, 10])
def test_ca_blocks_match_dense_every_n(k):
    for n in range(1, k):
        assert _compare(ca_structure(k, n)) < RTOL, n


@pytest.mark.parametrize("k", [5, 10])
def test_pnc_blocks_match_dense_at_the_solved_points(k):
    for n in range(1, k):
        p = solve_pnc(k, n)
        assert _compare(pnc_structure(k, n, [p.alpha, p.beta, p.gamma, p.c])) < RTOL, n


def test_blocks_match_dense_off_critical_points_and_other_d():
    """The identity does not use criticality: random members of both structures, d = k and k + 3."""
    rng = np.random.default_rng(3)
    for k, n, d in [(7, 3, 7), (7, 5, 10), (9, 6, 9), (6, 1, 8)]:
        o, t, p, a, tE, pE, aE = rng.normal(size=7) * 0.7
        for extra in (False, True):
            N = n - 1 if extra else n
            st = Structure("erf2", k, d, N, 1.0 + o, t, p, a, extra, tE, pE, aE)
            assert _compare(st) < RTOL, (k, n, d, extra)
    st = Structure("erf", 8, 9, 5, 0.9, 0.2, -0.3, 1.3)
    assert _compare(st) < RTOL


def test_block_sizes_do_not_depend_on_k():
    shapes = {k: [(b.sector, b.irrep, b.matrix.shape) for b in symmetry_blocks(ca_structure(k, 8))] for k in (20, 5000)}
    assert shapes[20] == shapes[5000]
    assert max(b.matrix.shape[0] for b in symmetry_blocks(pnc_structure(5000, 700, [1.0, 0.1, 0.0, 1.0]))) <= 7


def test_multiplicities_add_up_to_the_parameter_count():
    for k, n, d in [(12, 6, 15), (300, 250, 301)]:
        for st in (ca_structure(k, n, d), pnc_structure(k, n, [1.0, 0.01, 0.02, 1.0], d)):
            assert sum(b.multiplicity * len(b.matrix) for b in symmetry_blocks(st)) == n + n * d


def test_reduced_pnc_solve_agrees_with_the_dense_solve():
    for k, n in [(6, 1), (6, 3), (6, 5)]:
        p, r = solve_pnc(k, n), solve_pnc_reduced(k, n)
        x = np.array([r["alpha"], r["beta"], r["gamma"], r["c"]])
        assert np.allclose(x, [p.alpha, p.beta, p.gamma, p.c], atol=1e-9)  # both polished to max|grad| ~ 1e-15
        assert r["classification"] == p.classification
        assert abs(r["loss"] - p.loss) < 1e-13  # float64 summation of O(1) terms
        a, W = unpack(x, k, n, k + 1)
        ga, gW = Problem(np.ones(k), np.eye(k, k + 1)).gradient(a, W)
        assert max(np.max(np.abs(ga)), np.max(np.abs(gW))) < 1e-12  # critical in the full network


def test_ca_point_reduced_loss_and_gradient_against_the_dense_problem():
    for k, n in [(7, 2), (7, 6)]:
        a, W, b, V = ca_configuration("erf2", (1,) * (n - 1) + (k - n + 1,))
        r = ca_point_reduced(k, n)
        assert abs(r["loss"] - Problem(b, V).loss(a, W)) < 1e-14  # float64 sums of O(0.1) terms
        assert r["grad_max"] < 1e-13


def test_scaled_block_inertia_at_k_10000_against_40_digits():
    """The averaging neuron's flat mode (eigenvalue ~1e-13 against ||H|| ~ 1e8): its diagonally
    scaled block eigenvalue in float64 agrees with the same block built from 40-digit entries."""
    st = ca_structure(10000, 20)
    (_, _, M, G, _), = [x for x in _pencils(st) if x[:2] == ("core", "trivial")]
    (_, _, Mm, _, _), = [x for x in _pencils(st, 40) if x[:2] == ("core", "trivial")]
    D = 1.0 / np.sqrt(np.abs(np.diag(M)))
    with mpmath.workdps(40):
        Dm = [1 / mpmath.sqrt(abs(Mm[i, i])) for i in range(len(Mm))]
        S = mpmath.matrix([[Dm[i] * Mm[i, j] * Dm[j] for j in range(len(Mm))] for i in range(len(Mm))])
        ref = sorted(mpmath.eigsy(S, eigvals_only=True))
    ours = np.linalg.eigvalsh(D[:, None] * M * D[None, :])
    assert 0 < float(ref[0]) < 1e-8  # the flat mode is positive and small
    assert abs(ours[0] - float(ref[0])) < 1e-6 * float(ref[0])  # measured 1e-7: float64 entries, cond ~ 5e9
    assert block_classification(st)["classification"] == "minimum"


def test_table_k10_matches_the_committed_dense_table(capsys):
    """docs/results/thresholds_erf2_k10.txt was produced by the dense route."""
    from pathlib import Path

    assert cli(["thresholds", "--k", "10", "--quiet"]) == 0
    ref = (Path(__file__).parents[1] / "docs/results/thresholds_erf2_k10.txt").read_text()
    assert capsys.readouterr().out == ref


def test_scan_finds_the_same_changes_as_the_full_table():
    full, sc = table(9), scan(9, grid=3)
    assert summarize_thresholds(full) == summarize_thresholds(sc)
    assert len(sc) < len(full)
    # k = 20: a coarse grid leaves the loss crossing (14/15) in a stretch where no point type
    # changes at its ends (13 .. 16), so only the sign of the loss difference can reveal it
    full, sc = table(20), scan(20, grid=4)
    assert summarize_thresholds(full) == summarize_thresholds(sc)


def test_bad_input():
    with pytest.raises(ValueError, match="n must be < k"):
        ca_structure(5, 5)
    with pytest.raises(ValueError, match="activation"):
        ca_structure(5, 2, activation="no-such-activation")
    assert ca_structure(5, 2, activation="relu").N == 1  # piecewise-linear: tests/test_symmetry_relu.py
    with pytest.raises(ValueError, match="d must be"):
        pnc_structure(5, 2, [1, 0, 0, 1], d=3)
    with pytest.raises(ValueError, match="x must be 4"):
        pnc_structure(5, 2, [1, 0, 0])
    for rtol in (2, 0.0, -0.1):  # the range is the open (0, 1): both ends and a negative value
        with pytest.raises(ValueError, match="rtol"):
            block_classification(ca_structure(5, 2), rtol=rtol)
    with pytest.raises(ValueError, match="grid"):
        scan(10, grid=1)
    assert cli(["thresholds", "--k", "10", "--grid", "1"]) == 2


@pytest.mark.slow
@pytest.mark.parametrize("k", [20, 50])
def test_blocks_match_dense_large_k(k):
    ns = range(1, k) if k == 20 else [1, 2, 3, 4, 5, 21, 22, 37, 38, 44, 45, 49]
    for n in ns:
        assert _compare(ca_structure(k, n)) < RTOL, n
        p = solve_pnc_reduced(k, n)
        assert _compare(pnc_structure(k, n, [p["alpha"], p["beta"], p["gamma"], p["c"]])) < RTOL, n


@pytest.mark.slow
def test_block_thresholds_reproduce_the_dense_claims_k20_k50():
    """The change points of docs/theory.md §8 claim 15 (dense float64 Hessians, cross-checked at
    30 digits in tests/test_pnc.py)."""
    for k, (pnc_n, ca_n, loss_n) in {20: (10, 18, 15), 50: (22, 45, 38)}.items():
        s = summarize_thresholds(table(k))
        assert s["pnc_type_changes"][-1] == f"saddle (n = {pnc_n - 1}) -> minimum (n = {pnc_n})"
        assert s["ca_type_changes"] == [f"minimum (n = {ca_n - 1}) -> saddle (n = {ca_n})"]
        assert s["loss_crossings"] == [f"between n = {loss_n - 1} and n = {loss_n}"]


def test_stability_certificates_k50():
    """The three k = 50 change points (docs/theory.md §8), proved in ball arithmetic."""
    from copyavg.proofs.stability import all_checks

    for name, check in all_checks().items():
        cert = check()
        assert cert.status.value == "proved", (name, cert.residual, cert.evidence)


def test_certified_inertia_can_fail():
    """A box too wide for Krawczyk is refused; a wide ball around the CA point leaves pivots undecided."""
    from flint import arb

    from copyavg.proofs.stability import ca_structure_exact, certified_inertia, krawczyk_pnc

    X, info = krawczyk_pnc(12, 6, rel_radius=0.3)
    assert X is None and "not inside" in info
    st = ca_structure_exact(12, 8)
    wide = Structure("erf2", st.k, st.d, st.N, st.o, st.t, st.p, st.a, True, st.tE, arb(st.pE.mid(), 0.2), st.aE)
    assert certified_inertia(wide)["undecided"]
    exact = certified_inertia(st)
    assert exact["negative"] + exact["positive"] == 8 + 8 * 13 and not exact["undecided"]


def test_count_polynomials_against_direct_enumeration_at_n12():
    """The exact polynomial route (fit on N = 4..9) against counting every coordinate pair at
    N = 12 (beyond the directly counted N <= 11)."""
    import sympy

    from copyavg.numeric import _sym_counts as sc

    for sector in sc.SECTORS:
        for tau in sc.IRREPS:
            C, G = sc.direct_counts(sector, tau, 12, True)
            Cp, Gp = sc.counts(sector, tau, 12, True)
            assert np.array_equal(C, Cp) and np.array_equal(G, Gp), (sector, tau)
    Cs, Gs = sc.symbolic_counts("core", "standard", False)
    C, G = sc.direct_counts("core", "standard", 12, False)
    N = sympy.Symbol("N", integer=True, positive=True)
    assert all(int(v.subs(N, 12)) == C[key] for key, v in Cs.items())
    assert all(int(v.subs(N, 12)) == G[key] for key, v in Gs.items())


@pytest.mark.slow
@pytest.mark.parametrize("act", ["erf2", "erf"])
def test_block_table_row_by_row_against_the_dense_route_k20(act):
    """Every row of the k = 20 table: types equal, losses to 1e-12 (float64 sums of O(1) terms,
    two different summation orders)."""
    from copyavg.numeric.pnc import threshold_table

    for ours, ref in zip(table(20, act), threshold_table(20, act)):
        assert (ours["n"], ours["pnc_type"], ours["ca_type"]) == (ref["n"], ref["pnc_type"], ref["ca_type"])
        assert abs(ours["pnc_loss"] - ref["pnc_loss"]) < 1e-12 and abs(ours["ca_loss"] - ref["ca_loss"]) < 1e-12
