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
