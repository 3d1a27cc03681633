"""The zero-eigenvalue tolerance of the Hessian classification: ``1e-11 * max(1, ||H||_2)``
(README "Classification uses the Hessian inertia with tolerance 1e-11·‖H‖"). The reference is the
documented rule applied by hand to diagonal matrices, whose eigenvalues LAPACK returns exactly."""

import numpy as np
import pytest

from copyavg.numeric.classify import hessian_inertia

A, W = np.array([1.0]), np.array([[1.0, 0.0, 0.0]])  # n = 1, d = 3: a 4x4 Hessian


@pytest.mark.parametrize("scale", [1.0, 100.0])
def test_tolerance_is_1e11_times_norm(scale):
    # eigenvalues a factor 3 either side of the threshold 1e-11 * scale: a tolerance changed by a
    # factor > 3 either way (1e-10, 1e-12, or a missing ||H|| factor at scale 100) moves one count
    t = 1e-11 * scale
    H = np.diag([scale, 3 * t, -3 * t, t / 3])
    inert = hessian_inertia(H, A, W, "erf2")
    assert inert.tol == pytest.approx(t, rel=1e-15)  # 1e-11 * max(1, ||H||_2) exactly, up to rounding
    assert (inert.n_negative, inert.n_zero, inert.n_positive) == (1, 1, 2)
    assert inert.classification == "saddle"


def test_tolerance_small_norm_uses_one():
    # ||H|| < 1: the threshold is 1e-11 (max(1, ||H||)), not 1e-11 * ||H||
    H = np.diag([1e-3, 3e-12, 3e-11, 5e-4])
    inert = hessian_inertia(H, A, W, "erf2")
    assert (inert.n_negative, inert.n_zero, inert.n_positive) == (0, 1, 3)


# Exact symmetry zero modes (numeric/classify.py docstring), counted by hand: a_i = 0 frees w_i
# (d directions); for odd sigma w_i = 0 frees a_i; the piecewise-linear family is positively
# homogeneous, (a_i, w_i) -> (c a_i, w_i / c) (one direction per neuron, (a_i, -w_i)); two equal
# rows w_i = w_l let a_i - a_l move freely. The count is the dimension of the span.
@pytest.mark.parametrize("act, a, W, expected", [
    ("erf2", [1.0, 2.0], [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], 0),      # generic: none
    ("erf2", [0.0, 1.0], [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], 3),      # a_0 = 0: w_0 free (d = 3)
    ("erf2", [1.0, 2.0], [[0.0, 0.0, 0.0], [0.0, 1.0, 0.0]], 1),      # w_0 = 0, odd: a_0 free
    ("erf2", [1.0, 2.0], [[0.5, 0.5, 0.0], [0.5, 0.5, 0.0]], 1),      # duplicate rows: a_0 - a_1
    ("erf2", [0.0, 2.0], [[0.0, 0.0, 0.0], [0.0, 1.0, 0.0]], 4),      # a_0 = 0 and w_0 = 0: 3 + 1
    ("relu", [1.0, 2.0], [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], 2),      # homogeneity, one per neuron
    ("relu", [0.0, 2.0], [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], 4),      # w_0 free (3) + neuron 1 (1)
    ("relu", [1.0, 2.0], [[0.0, 0.0, 0.0], [0.0, 1.0, 0.0]], 2),      # relu not odd: w_0 = 0 frees nothing more
    ("relu", [1.0, 1.0], [[1.0, 1.0, 0.0], [1.0, 1.0, 0.0]], 3),      # homogeneity (2) + a_0 - a_1, independent
])
def test_symmetry_zero_modes_by_hand(act, a, W, expected):
    from copyavg.numeric.classify import symmetry_zero_modes

    assert symmetry_zero_modes(np.array(a), np.array(W), act) == expected


def test_types_by_inertia():
    # the rule of hessian_inertia on diagonal matrices (eigenvalues exact): counts and type
    zsym0 = (np.array([1.0, 2.0]), np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))  # no symmetry zero modes
    N = 8
    cases = [(np.arange(1.0, N + 1), "minimum"), (-np.arange(1.0, N + 1), "maximum"),
             (np.r_[-1.0, np.arange(1.0, N)], "saddle"), (np.r_[-1.0, -2.0, np.arange(1.0, N - 1)], "saddle"),
             (np.r_[0.0, np.arange(1.0, N)], "degenerate"),  # one zero, none explained by symmetry
             (np.r_[0.0, -np.arange(1.0, N)], "degenerate")]
    for lam, expected in cases:
        inert = hessian_inertia(np.diag(lam), *zsym0, "erf2")
        assert inert.classification == expected, (lam, inert)
        assert inert.eig_min == lam.min() and inert.eig_max == lam.max()
        assert inert.n_negative + inert.n_zero + inert.n_positive == N
    # three zeros explained by a_0 = 0 (w_0 free): a minimum, not degenerate; a fourth zero is not explained
    a, W = np.array([0.0, 1.0]), np.eye(2, 3)
    assert hessian_inertia(np.diag(np.r_[0.0, 0.0, 0.0, np.arange(1.0, 6)]), a, W, "erf2").classification == "minimum"
    assert hessian_inertia(np.diag(np.r_[0.0, 0.0, 0.0, 0.0, np.arange(1.0, 5)]), a, W,
                           "erf2").classification == "degenerate"


@pytest.mark.parametrize("H", [np.zeros((3, 4)), np.zeros((4, 3)), np.zeros(4), np.zeros((2, 2, 2))])
def test_non_square_hessian_refused(H):
    with pytest.raises(ValueError, match="H must be a square matrix"):
        hessian_inertia(H, A, W, "erf2")


@pytest.mark.parametrize("rtol", [0.0, -1e-11, 1.0, 2.0])
def test_rtol_range(rtol):
    with pytest.raises(ValueError, match=r"rtol must be in \(0, 1\)"):
        hessian_inertia(np.eye(4), A, W, "erf2", rtol=rtol)


def test_inertia_is_immutable():
    import dataclasses

    inert = hessian_inertia(np.eye(4), A, W, "erf2")
    with pytest.raises(dataclasses.FrozenInstanceError):
        inert.n_zero = 0


@pytest.mark.parametrize("act, a, W, expected", [
    ("erf2", [0.0], [[1.0, 0.0, 0.0]], 3),                          # n = 1: w_0 free, indices 1..3 of N = 4
    ("erf2", [0.0, 0.0], [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], 6),    # both w_i free: disjoint blocks, rank 6
    ("erf2", [0.0, 0.0], [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]], 8),    # everything free (a_i: odd, w_i = 0), N = 8
    ("erf2", [-1.0, 2.0], [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], 0),   # a_0 < 0 is not a_0 = 0: nothing free
    ("sin", [1.0, 2.0], [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], 0),     # not piecewise linear: no homogeneity
    ("erf2", [1.0, 2.0, 3.0], [[1.0, 1.0, 0.0]] * 3, 2),             # three equal rows: a_0 - a_1, a_0 - a_2 (rank 2)
])
def test_symmetry_zero_modes_blocks(act, a, W, expected):
    from copyavg.numeric.classify import symmetry_zero_modes

    assert symmetry_zero_modes(np.array(a), np.array(W), act) == expected


def test_eigenvalue_at_the_threshold_counts_as_zero():
    # |lambda| <= tol is zero (docstring); 1e-11 * max(1, 1) is the float 1e-11 itself, and LAPACK
    # returns the diagonal of a diagonal matrix exactly
    inert = hessian_inertia(np.diag([1.0, 1e-11, -1e-11, 0.5]), A, W, "erf2")  # ||H|| = 1: tol = 1e-11
    assert (inert.n_negative, inert.n_zero, inert.n_positive) == (0, 2, 2)


def test_fewer_zeros_than_symmetry_modes_is_not_degenerate():
    # a_0 = 0 explains 3 zero modes; a Hessian with none (an arbitrary positive matrix here) is not
    # "degenerate": degenerate means more zeros than the symmetries explain
    a, Wm = np.array([0.0, 1.0]), np.eye(2, 3)
    assert hessian_inertia(np.eye(8), a, Wm, "erf2").classification == "minimum"


def test_large_square_hessian_accepted():
    # N = 300 > 256: the square check must compare the sizes by value (CPython caches only small ints)
    a3, W3 = np.ones(3), np.full((3, 99), 0.1)  # N = n + n d = 3 + 297 = 300
    inert = hessian_inertia(np.eye(300), a3, W3, "erf2")
    assert (inert.n_negative, inert.n_zero, inert.n_positive) == (0, 0, 300)
