"""Symmetry blocks for the piecewise-linear family (copyavg.numeric.symmetry with collinear pairs).

At the CA point copies are collinear with their teacher neurons, where the kernel's second
partials in ``(C11, C22, C12)`` are infinite; the window uses the weight-space limit (every
second partial 0 at ``theta = 0, pi``). Independent route: the dense ``Problem.hessian``, whose
collinear W-W blocks come from ``copyavg.numeric.angular`` (certificate ``collinear-hessian:NAME``,
tests/test_collinear_hessian.py). Tolerance 1e-10 of ``||H||_2`` as in tests/test_symmetry.py
(two backward-stable eigenvalue computations, error ~1e-13 ||H|| at these sizes).
"""

from pathlib import Path

import numpy as np
import pytest

from copyavg.cli.main import main as cli
from copyavg.numeric.classify import hessian_inertia
from copyavg.numeric.pnc import solve_pnc
from copyavg.numeric.population import Problem
from copyavg.numeric.pnc_reduced import solve_pnc_reduced
from copyavg.numeric.symmetry import block_classification, ca_structure, pnc_structure

from test_symmetry import _compare, _dense_point

RTOL = 1e-10


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "abs"])
def test_blocks_match_dense_collinear_and_generic(activation):
    for n in range(1, 5):
        assert _compare(ca_structure(5, n, activation=activation)) < RTOL, n  # copies on teachers
        assert _compare(pnc_structure(5, n, [1.0, 0.0, 0.0, 1.0], activation=activation)) < RTOL, n
        assert _compare(pnc_structure(5, n, [0.9, 0.1, -0.05, 1.1], activation=activation)) < RTOL, n
    for n in (2, 9):
        assert _compare(ca_structure(10, n, activation=activation)) < RTOL, n


def test_relu_pnc_point_and_type_match_dense():
    """Reduced solve vs the dense solve (both balanced, |c| = |w_i|); types with the homogeneity
    zero modes discounted (one per student) agree, and the block zero count is exactly n."""
    for k, n in ((6, 2), (6, 4)):
        p, q = solve_pnc_reduced(k, n, activation="relu"), solve_pnc(k, n, activation="relu")
        # both converge to max|grad| <= ~1e-13; the loss is flat (quadratically) at the point
        assert p["loss"] == pytest.approx(q.loss, rel=1e-12)
        x = [p["alpha"], p["beta"], p["gamma"], p["c"]]
        assert np.allclose(x, [q.alpha, q.beta, q.gamma, q.c], atol=1e-6)  # sqrt of the gradient size
        st = pnc_structure(k, n, x, activation="relu")
        a, W = _dense_point(st)
        dense = hessian_inertia(Problem(np.ones(k), np.eye(k, k + 1), "relu").hessian(a, W), a, W, "relu")
        ours = block_classification(st)
        assert ours["classification"] == dense.classification == q.classification
        assert (ours["n_negative"], ours["symmetry_zero_modes"]) == (dense.n_negative, n)
        if ours["classification"] == "minimum":
            assert ours["n_zero"] == n


def test_thresholds_relu_k10_cli_matches_dense_table(capsys):
    """docs/results/thresholds_relu_k10.txt was produced by the dense route (--dense)."""
    assert cli(["thresholds", "--activation", "relu", "--k", "10", "--quiet"]) == 0
    ref = (Path(__file__).parents[1] / "docs/results/thresholds_relu_k10.txt").read_text()
    assert capsys.readouterr().out == ref


def test_fixed_outgoing_weights_keep_the_inertia_of_the_dense_hessian():
    """The real-n P-n-C scalar of the piecewise-linear family uses the Hessian at fixed outgoing
    weights (a complement of the homogeneity zero modes: same nonzero inertia). Independent route:
    the dense Hessian of the whole network at k = 10 around the integer change point n = 4 -> 5
    (docs/results/thresholds_relu_k10.txt): its negative count and that of its W-W part agree, the
    W-W part has no zero eigenvalue, and its smallest eigenvalue has the sign of ``pnc_margin``."""
    from copyavg.numeric.thresholds_continuous import pnc_margin

    k = 10
    for n, sign in ((4, -1), (5, 1)):
        p = solve_pnc_reduced(k, n, activation="relu")
        st = pnc_structure(k, n, [p["alpha"], p["beta"], p["gamma"], p["c"]], activation="relu")
        a, W = _dense_point(st)
        H = Problem(np.ones(k), np.eye(k, k + 1), "relu").hessian(a, W)
        lam, lam_w = np.linalg.eigvalsh(H), np.linalg.eigvalsh(H[n:, n:])
        tol = RTOL * np.abs(lam).max()
        assert np.sum(lam < -tol) == np.sum(lam_w < -tol)
        assert np.min(np.abs(lam_w)) > 100 * tol  # the n zero modes all move a
        assert np.sign(lam_w[0]) == np.sign(pnc_margin(k, n, "relu")) == sign


def test_continuous_for_relu_gives_the_pnc_threshold_only(capsys):
    assert cli(["thresholds", "--activation", "relu", "--k", "10", "--continuous", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "P-n-C a minimum from n = 4.04" in out and "optimal CA a saddle from: does not exist" in out
