"""Thresholds at real n (copyavg.numeric.thresholds_continuous).

Independent routes: the dense threshold table (``copyavg.numeric.pnc.threshold_table``: full
Hessian of the whole network, its smallest eigenvalue by ``eigvalsh``, dense P-n-C solve) at the
integers next to each root; the one-neuron closed form ``L*(m)`` for the CA loss at real n
(window sums never use it); the exact integer counts of ``_sym_counts`` for the real-N polynomial
route.
"""

import numpy as np
import pytest

from copyavg.numeric import thresholds_continuous as tc
from copyavg.numeric._sym_counts import IRREPS, SECTORS, _counts_real, direct_counts
from copyavg.numeric._sym_window import Window
from copyavg.numeric.one_neuron import one_neuron
from copyavg.numeric.pnc import threshold_table

#: integer change points (lo, hi) read off the dense table below, per k
BRACKETS = {10: {"pnc_minimum": (5, 6), "ca_saddle": (8, 9), "loss_crossing": (7, 8)},
            20: {"pnc_minimum": (9, 10), "ca_saddle": (17, 18), "loss_crossing": (14, 15)},
            ("erf", 10): {"pnc_minimum": (6, 7), "ca_saddle": (8, 9), "loss_crossing": (7, 8)}}


@pytest.mark.parametrize("k, act", [(10, "erf2"), (20, "erf2"), (10, "erf")])
def test_real_n_thresholds_lie_between_the_dense_integer_change_points(k, act):
    b = BRACKETS[k if act == "erf2" else (act, k)]
    ns = sorted({n for br in b.values() for n in br})
    rows = {r["n"]: r for r in threshold_table(k, activation=act, ns=ns)}
    gap = {n: rows[n]["pnc_loss"] - rows[n]["ca_loss"] for n in ns}
    lo, hi = b["pnc_minimum"]
    assert rows[lo]["pnc_type"] == "saddle" and rows[hi]["pnc_type"] == "minimum"
    lo, hi = b["ca_saddle"]
    assert rows[lo]["ca_type"] == "minimum" and rows[hi]["ca_type"] == "saddle"
    lo, hi = b["loss_crossing"]
    assert gap[lo] > 0 > gap[hi]
    for which, (lo, hi) in b.items():
        f = tc._FUNCS[which]
        x = tc.threshold(k, which, (lo, hi), act)
        assert lo < x < hi
        # the scalar changes sign at x: evaluated 1e-3 either side (far above the 1e-9 root
        # tolerance, far below the spacing of the integers)
        assert f(k, x - 1e-3, act) * f(k, x + 1e-3, act) < 0


def test_scalars_at_integers_carry_the_dense_signs():
    k = 10
    rows = {r["n"]: r for r in threshold_table(k, ns=[5, 6, 8, 9])}
    for n in (5, 6):
        assert (tc.pnc_margin(k, n) > 0) == (rows[n]["pnc_eig_min"] > 0)
    for n in (8, 9):
        assert (tc.ca_margin(k, n) > 0) == (rows[n]["ca_eig_min"] > 0)
        # loss gap at integer n is the dense one; both are sums of the same kernels in float64,
        # the dense one over ~100 neuron pairs: 1e-12 absolute
        assert tc.loss_gap(k, n) == pytest.approx(rows[n]["pnc_loss"] - rows[n]["ca_loss"], abs=1e-12)


@pytest.mark.parametrize("n", [6.3, 7.75, 8.5])
def test_ca_loss_at_real_n_is_the_one_neuron_closed_form(n):
    k = 10
    got = float(Window(tc._ca(k, n, "erf2")).loss())
    # closed form L*(m) at m = k - n + 1; the window loss is a difference of O(k^2) kernel sums:
    # 1e-12 absolute is ~100 roundings of O(1) numbers
    assert got == pytest.approx(one_neuron("erf2", k - n + 1)["loss"], abs=1e-12)


def test_real_count_polynomials_are_exact_at_integers():
    for sector in SECTORS:
        for tau in IRREPS:
            for extra in (False, True):
                for N in (4, 7, 11):
                    C, G = direct_counts(sector, tau, N, extra)
                    Cr, Gr = _counts_real(sector, tau, float(N), extra)
                    # integers up to ~1e4 from a degree-5 Lagrange sum in float64: 1e-6 absolute
                    assert np.allclose(Cr, C, atol=1e-6) and np.allclose(Gr, G, atol=1e-6)


def test_pnc_branch_is_continuous_in_n():
    """Along real n the P-n-C point and its loss move continuously (no jump to another branch)."""
    k = 10
    ns = np.linspace(5, 6, 11)
    losses = [float(Window(tc._pnc(k, n, "erf2")).loss()) for n in ns]
    steps = np.abs(np.diff(losses))
    # a jump to another critical point would be O(loss) = O(1e-2); the smooth branch moves by
    # about (L(6) - L(5)) / 10 per step; allow a factor 3 of curvature
    assert steps.max() <= 3 * abs(losses[-1] - losses[0]) / 10


def test_ca_saddle_limit_at_large_k():
    """m* = c sqrt(k) + d + O(k^-1/2) (docs/theory.md §8; c, d from k = 1e5..1e9) checked at
    k = 10^4, outside the range they came from, against the integer change point of the
    thresholds table (9911 minimum, 9912 saddle)."""
    k = 10000
    x = tc.threshold(k, "ca_saddle", (9911, 9912))
    assert 9911 < x < 9912
    m_star = k - x + 1
    # the O(k^-1/2) remainder, e/sqrt(k) with |e| < 1 (fit: e ~ 0.5), is < 0.01 at k = 10^4
    assert m_star == pytest.approx(tc.CA_SADDLE_C * np.sqrt(k) + tc.CA_SADDLE_D, abs=0.01)


def test_bad_input():
    with pytest.raises(ValueError, match="n must be real"):
        tc.ca_margin(10, 3.5)
    with pytest.raises(ValueError, match="k must be"):
        tc.ca_margin(5, 4.5)
    with pytest.raises(ValueError, match=r"n must be real in \[5, k - 1\]"):
        tc.ca_margin(10, 9.5)  # above k - 1: no averaging neuron left
    with pytest.raises(ValueError, match="which must be"):
        tc.threshold(10, "nope", (8, 9))
    with pytest.raises(ValueError, match="no sign change"):
        tc.threshold(10, "ca_saddle", (5, 6))
    with pytest.raises(ValueError, match=r"n must be real in \[4, k - 1\]"):
        tc.pnc_margin(10, 3.5, "relu")
    with pytest.raises(ValueError, match="not critical"):
        tc.threshold(10, "ca_saddle", (8, 9), "relu")


def test_loss_crossing_limit_at_large_k():
    """n*/k = r + b/k (docs/theory.md §8: r = 0.76623, b = -1.46, fitted on k = 2e3..1e6) at k = 1e5,
    bracketed by the integers 76621 (P-n-C loss higher) and 76622 (lower)."""
    k = 100000
    x = tc.threshold(k, "loss_crossing", (76621, 76622), xtol=1e-6)
    # r is known to 1e-5 and b/k = 1.5e-5 here: 3e-5 covers both with a margin of 1.5
    assert x / k == pytest.approx(0.76623 - 1.5 / k, abs=3e-5)


def test_cli_continuous(capsys):
    from copyavg.cli.main import main as cli

    assert cli(["thresholds", "--k", "10", "--quiet", "--continuous", "--json"]) == 0
    import json

    cont = json.loads(capsys.readouterr().out)["continuous"]
    assert [cont[w]["bracket"] for w in tc.THRESHOLDS] == [[5, 6], [8, 9], [7, 8]]
    assert 8 < cont["ca_saddle"]["n"] < 9
    # checked before any work: one line, non-zero exit
    assert cli(["thresholds", "--k", "5", "--continuous"]) == 2
    assert cli(["thresholds", "--k", "10", "--continuous", "--activation", "tanh"]) == 1
    err = capsys.readouterr().err
    assert "--k must satisfy 6 <= k" in err and "--continuous needs the symmetry blocks" in err


def test_closed_form_xp_block_matches_the_numeric_block():
    """The SymPy 2 x 2 block (symbolic.ca_saddle) against the xp trivial block of the numeric
    symmetry reduction at a non-integer n: two independent constructions."""
    import sympy as sp

    from copyavg.numeric.symmetry import symmetry_blocks
    from copyavg.symbolic import ca_saddle as cs

    k, n = 10, 8.4
    H = cs.xp_block()
    Nv, mv = n - 1, k - n + 1
    Hn = np.array(H.subs({cs.N: Nv, cs.m: mv}).evalf(30).tolist(), dtype=float)
    Hn[0, :] /= np.sqrt(Nv)
    Hn[:, 0] /= np.sqrt(Nv)  # orthonormal basis: each copy moves by s / sqrt(N)
    blk = next(b for b in symmetry_blocks(tc._ca(k, n, "erf2")) if (b.sector, b.irrep) == ("xp", "trivial"))
    # float64 eigenvalues of a 2 x 2 block with entries ~10: 1e-9 relative to the largest
    assert np.allclose(np.linalg.eigvalsh(Hn), np.linalg.eigvalsh(blk.matrix), rtol=0, atol=1e-9 * np.abs(Hn).max())
    assert sp.simplify(cs.xp_determinant().subs({cs.N: 7, cs.m: 3})) > 0


@pytest.mark.parametrize("k, act, Y, br", [(10, "erf2", 1, (8, 9)), (50, "erf2", 1, (44, 45)), (10, "erf", 2, (8, 9))])
def test_ca_threshold_is_the_root_of_the_closed_form_determinant(k, act, Y, br):
    import mpmath
    import sympy as sp

    from copyavg.symbolic import ca_saddle as cs

    f = sp.lambdify((cs.N, cs.m), cs.xp_determinant(Y), "mpmath")
    with mpmath.workdps(30):
        root = mpmath.findroot(lambda n: f(n - 1, k - n + 1), sum(br) / 2)
    # brentq stops at 1e-9 in n; the margin's float64 noise near the root moves it by < 1e-9 more
    assert tc.threshold(k, "ca_saddle", br, act) == pytest.approx(float(root), abs=1e-8)


def test_derived_ca_asymptotics_match_the_constants_and_the_roots():
    import sympy as sp

    from copyavg.symbolic import ca_saddle as cs

    C, D = cs.saddle_asymptotics(1)
    assert float(C) == pytest.approx(tc.CA_SADDLE_C, rel=1e-14)  # same closed form, float rounding
    assert float(D) == pytest.approx(tc.CA_SADDLE_D, rel=1e-14)
    # against the real-n root at k = 1e6, computed here from the numeric blocks (never used in the
    # derivation): the remainder is e k^-1/2 in m* with e ~ 0.47 (fit), 4.7e-4 here
    k = 10 ** 6
    x = tc.threshold(k, "ca_saddle", (k - 898, k - 897))
    assert k - x + 1 == pytest.approx(float(C) * np.sqrt(k) + float(D), abs=1e-3)
    assert sp.simplify(C**2 - (3 + 2 * sp.sqrt(3)) / 8) == 0


def _relu_change_points():
    """(lo, hi) of the P-n-C saddle -> minimum change in docs/results/thresholds_relu_k*.txt (k = 10:
    the dense route, tests/test_symmetry_relu.py; k = 50, 100: the integer blocks route)."""
    import re
    from pathlib import Path

    out = {}
    for k in (10, 50, 100):
        text = (Path(__file__).parents[1] / f"docs/results/thresholds_relu_k{k}.txt").read_text()
        lo, hi = re.search(r"saddle \(n = (\d+)\) -> minimum \(n = (\d+)\)", text).groups()
        out[k] = (int(lo), int(hi))
    return out


def test_relu_real_n_threshold_lies_between_the_integer_change_points():
    for k, (lo, hi) in _relu_change_points().items():
        assert hi == lo + 1
        # loose root tolerance: the check is the bracket (the roots are 4.0415, 6.2153, 6.6838)
        x = tc.threshold(k, "pnc_minimum", (lo, hi), "relu", xtol=1e-4)
        assert lo < x < hi


@pytest.mark.parametrize("k, n", [(10, 7.5), (50, 20.25), (100, 98.6)])
def test_relu_ca_point_is_not_critical_at_real_n(k, n):
    """Independent closed form: a copy student w_c = e_c (a_c = 1) of the relu CA point sees its own
    teacher cancel, the other copies and teachers at right angles (relu kernel sqrt(q1 q2) / 2 pi)
    and the averaging neuron at right angles, so dL/da_c = (s - m) / pi with s = a |w| = 2 m
    kappa(1/sqrt m) of the averaging neuron, kappa(rho) = (sqrt(1 - rho^2) + (pi - arccos rho) rho)
    / (2 pi) < 1/2 for rho < 1: never zero for m = k - n + 1 > 1."""
    m = k - n + 1
    rho = 1 / np.sqrt(m)
    kappa = (np.sqrt(1 - rho * rho) + (np.pi - np.arccos(rho)) * rho) / (2 * np.pi)
    expected = m * (2 * kappa - 1) / np.pi
    ga, _ = Window(tc._ca(k, n, "relu")).gradient(0)
    # float64 sums of ~10 closed-form kernel values of size <= m: 1e-12 relative
    assert float(ga) == pytest.approx(expected, rel=1e-12)
    assert expected < -0.15  # (k, n) = (10, 7.5): m = 3.5, the smallest |dL/da_c| here
    with pytest.raises(ValueError, match="not critical"):
        tc.ca_margin(k, n, "relu")


@pytest.mark.slow
@pytest.mark.heavy
def test_relu_pnc_threshold_tends_to_a_constant_at_rate_one_over_k():
    """docs/theory.md §8 (piecewise-linear family): n* = n_inf + b/k + O(1/k^2) with n_inf = 7.233242,
    b = -59.64 (fitted on k = 200 .. 1e5). Checks the documented values and the 1/k rate: the steps
    1e3 -> 1e4 -> 1e5 must shrink by ~10 (k^-1/2 would give ~3.2)."""
    ns = [tc.threshold(k, "pnc_minimum", (7, 8), "relu", xtol=1e-10) for k in (1000, 10000, 100000)]
    # the fit's residuals are ~1e-6 at k >= 1e3; 1e-5 leaves a margin for the fitted c/k^2 term
    for k, x in zip((1000, 10000, 100000), ns):
        assert x == pytest.approx(7.233242 - 59.639 / k + 485.4 / k ** 2, abs=1e-5)
    ratio = (ns[1] - ns[0]) / (ns[2] - ns[1])
    assert 9 < ratio < 11


def test_mpmath_pnc_margin_equals_float64_where_both_hold():
    """At k = 1e6 float64 still keeps ~10 digits of the margin (cancellation costs log10(k) = 6), so
    the mpmath route (40 digits, Newton-polished point) must agree to 1e-6 relative; both at 2 %
    below the threshold, where the margin is -2.7e-5 (far from 0 relative to either error)."""
    from copyavg.numeric._thresholds_mp import pnc_margin_mp

    k, n = 10**6, 9455.2
    st = tc._pnc(k, n, "erf2")
    flo = tc.pnc_margin(k, n)
    mp = pnc_margin_mp("erf2", k, n, (st.o, st.p, st.t, st.a))
    assert flo < 0 and mp == pytest.approx(flo, rel=1e-6)


def test_pnc_margin_refuses_k_beyond_the_mpmath_range():
    with pytest.raises(ValueError, match=r"k must be <= 1e\+12"):
        tc.pnc_margin(10**13, 5e7)


@pytest.mark.slow
@pytest.mark.heavy
def test_pnc_margin_at_1e12_does_not_depend_on_the_working_precision():
    """k = 1e12: 40 and 60 digits give the same margin (to 1e-12 relative: 40 digits lose 12 to
    the class sums and keep ~28), on both sides of the threshold, where float64 has no digit left.
    The two sides are the power law n* = 1.7 k^0.6 (docs/theory.md §8) -/+ 5 %."""
    from copyavg.numeric import _thresholds_mp as tm

    k = 10**12
    for n, sign in ((2.62e7, -1), (2.89e7, 1)):
        st = tc._pnc(k, n, "erf2", strict=False)
        x0 = tm.float_start("erf2", k, n, (st.o, st.p, st.t, st.a))
        m40 = tm.scaled_margin("erf2", k, n, tm.polish("erf2", k, n, x0, 40)[0], 40)
        m60 = tm.scaled_margin("erf2", k, n, tm.polish("erf2", k, n, x0, 60)[0], 60)
        assert sign * m40 > 0 and abs(m40 - m60) <= 1e-12 * abs(m60)


def test_a_failed_real_n_solve_is_refused(monkeypatch):
    """When Newton on the reduced equations stalls (here: it returns its start unchanged with
    max|grad| = 1e-3), the real-n continuation must raise, not hand a non-critical point to the
    margin."""
    from copyavg.numeric import pnc_reduced

    monkeypatch.setattr(tc, "_newton", lambda grad, hess, gmax, x, tol, steps: (x, 1e-3))
    tc._PNC_CACHE.clear()
    try:
        with pytest.raises(ValueError, match="no P-n-C point found at real n"):
            tc.pnc_margin(10, 5.5)
    finally:
        tc._PNC_CACHE.clear()
    assert pnc_reduced._newton is not tc._newton  # only the continuation's solver was replaced
