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
