"""Bad input gives a ValueError naming the argument; extreme but valid input gives finite results;
non-differentiable points of the piecewise-linear family raise NonDifferentiableError.

All tests run under ``np.errstate(all="raise")`` (conftest) and ``filterwarnings = error``, so a
finite result here also means no floating-point warning was produced on the way.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from _helpers import ACT_NAMES, PL_FAMILY

from copyavg.numeric import (
    ACTIVATIONS,
    NonDifferentiableError,
    Problem,
    gradient,
    hessian,
    loss,
    loss_and_gradient,
    pair_kernel,
)
from copyavg.numeric.mp import loss_mp

FUNCS = [loss, gradient, loss_and_gradient, hessian]

a0 = np.array([1.0, -0.5])
W0 = np.array([[0.3, 0.1, -0.2], [0.0, 0.7, 0.4]])
b0 = np.ones(2)
V0 = np.eye(2, 3)


def _args(**kw):
    args = dict(a=a0, W=W0, b=b0, V=V0)
    args.update(kw)
    return args["a"], args["W"], args["b"], args["V"]


_BAD = [
    # (arguments, the name the message must contain)
    (dict(W=W0[:1]), r"\bW\b"),  # n mismatch between a and W
    (dict(W=W0[:, :2]), r"\bW\b"),  # d mismatch between W and V
    (dict(V=V0[:, :2]), r"\bW\b|\bV\b"),  # d mismatch, seen from the teacher side
    (dict(W=W0.ravel()), r"\bW\b"),  # wrong ndim
    (dict(a=a0[:, None]), r"\ba\b"),
    (dict(V=V0[:1]), r"\bV\b"),  # k mismatch between b and V
    (dict(b=np.ones((2, 1))), r"\bb\b"),
    (dict(a=np.array([]), W=np.zeros((0, 3))), r"\ba\b"),  # empty student
    (dict(b=np.array([]), V=np.zeros((0, 3))), r"\bb\b"),  # empty teacher
    (dict(V=np.zeros((2, 0))), r"\bV\b"),  # d = 0
    (dict(a=np.array([np.nan, 1.0])), r"\ba\b"),
    (dict(a=np.array([np.inf, 1.0])), r"\ba\b"),
    (dict(W=np.where(W0 == 0.0, np.nan, W0)), r"\bW\b"),
    (dict(W=np.where(W0 == 0.0, -np.inf, W0)), r"\bW\b"),
    (dict(b=np.array([1.0, np.nan])), r"\bb\b"),
    (dict(V=np.array([[np.inf, 0, 0], [0, 1.0, 0]])), r"\bV\b"),
    (dict(W=[["x", "y", "z"], ["u", "v", "w"]]), r"\bW\b"),  # not numbers
]


@pytest.mark.parametrize("func", FUNCS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("bad,name", _BAD)
def test_bad_arrays_raise_value_error_naming_the_argument(func, bad, name):
    with pytest.raises(ValueError, match=name):
        func(*_args(**bad), activation="erf2")


@pytest.mark.parametrize("func", FUNCS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("name", ["swish", "", None, "ReLU"])  # sigmoid is now a quadrature activation
def test_unknown_activation(func, name):
    with pytest.raises(ValueError, match="activation"):
        func(*_args(), activation=name)
    with pytest.raises(ValueError, match="activation"):
        pair_kernel(name, 1.0, 1.0, 0.5)


def test_bad_order():
    with pytest.raises(ValueError, match="order"):
        pair_kernel("erf2", 1.0, 1.0, 0.5, order=3)


@pytest.mark.parametrize("activation", ACT_NAMES)
def test_huge_norms_within_the_documented_limit_are_finite(activation):
    """|w| up to 1e75 (|w|^2 up to 1e150, the library's limit MAX_SQUARED_NORM) is accepted."""
    s = 0.99e75 / math.sqrt(2)
    W = np.array([[s, s, 0.0], [0.0, 0.3, -0.2]])
    a = np.array([1e-70, 0.5])  # keep a_i^2 g(w_i, w_i) ~ 1e10 for the piecewise-linear family
    L, ga, gW = loss_and_gradient(a, W, b0, V0, activation)
    assert np.isfinite(L) and np.all(np.isfinite(ga)) and np.all(np.isfinite(gW))
    # compared with 50 digits: relative 1e-10 (huge norms magnify only the rounding of C12 / |w||v|)
    assert L == pytest.approx(float(loss_mp(a, W, b0, V0, activation)), rel=1e-10)


@pytest.mark.parametrize("func", FUNCS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("activation", ACT_NAMES)
def test_norms_beyond_the_limit_raise_value_error(func, activation):
    """|w| = 1e160 is beyond both limits (1e75 for the erf family, where C11 C22 would overflow;
    1e150 for the piecewise-linear family, where L ~ |w|^2 would): a ValueError naming W, not
    inf/NaN; just inside the piecewise-linear limit the loss is finite."""
    W = np.array([[1e160, 0.0, 0.0], [0.0, 0.3, -0.2]])
    with pytest.raises(ValueError, match=r"\bW\b.*1e\+(75|150)"):
        func(a0, W, b0, V0, activation=activation)
    with pytest.raises(ValueError, match=r"\bV\b.*1e\+(75|150)"):
        Problem(b0, np.array([[1e160, 0.0, 0.0], [0.0, 1.0, 0.0]]), activation)
    if ACTIVATIONS[activation].family == "piecewise_linear" and func is loss:
        W[0, 0] = 0.5e150
        assert np.isfinite(func(a0, W, b0, V0, activation=activation))


_PAST_ONE = math.nextafter(1.0, 2.0)


@pytest.mark.parametrize("activation", ACT_NAMES)
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_correlation_rounding_past_one_is_finite(activation, sign):
    """A student vector that is a float multiple of a teacher vector: |C12| may round past
    sqrt(C11 C22). Loss and gradient must stay finite (D is clipped at 0)."""
    v = np.array([1 / 3, 1 / 3, 1 / 3])
    V = np.stack([v, np.array([0.0, 1.0, -1.0])])
    W = np.stack([sign * v * _PAST_ONE, np.array([0.2, -0.1, 0.5])])
    q = W[0] @ W[0]
    c = W[0] @ V[0]
    assert c * c >= q * (V[0] @ V[0])  # the rounding actually happens (else the test is vacuous)
    L, ga, gW = loss_and_gradient(a0, W, b0, V, activation)
    assert np.isfinite(L) and np.all(np.isfinite(ga)) and np.all(np.isfinite(gW))
    # against 50 digits: the exact C12^2 <= C11 C22 differs from the float by ~1 ulp (1e-12 of
    # the O(1) loss scale)
    assert L == pytest.approx(float(loss_mp(a0, W, b0, V, activation)), abs=1e-12)
    out = pair_kernel(activation, q, V[0] @ V[0], c, order=1)
    assert all(np.isfinite(x) for x in out)


@pytest.mark.parametrize("activation", PL_FAMILY)
def test_gradient_at_zero_vector_raises(activation):
    W = W0.copy()
    W[1] = 0.0
    if activation == "linear":  # sigma is linear: the loss is smooth at w = 0
        ga, gW = gradient(a0, W, b0, V0, activation)
        assert np.all(np.isfinite(ga)) and np.all(np.isfinite(gW))
        return
    for func in (gradient, loss_and_gradient, hessian):
        with pytest.raises(NonDifferentiableError, match=r"\b1\b"):
            func(a0, W, b0, V0, activation)


@pytest.mark.parametrize("activation", PL_FAMILY)
def test_zero_vector_with_zero_outgoing_weight_is_differentiable(activation):
    """w_i = 0 with a_i = 0: L is differentiable there (the a_i^2 and a_i factors vanish)."""
    W = W0.copy()
    W[1] = 0.0
    a = np.array([1.0, 0.0])
    ga, gW = gradient(a, W, b0, V0, activation)
    assert np.all(np.isfinite(ga)) and np.all(np.isfinite(gW))


@pytest.mark.parametrize("activation", [n for n in PL_FAMILY if n != "linear"])
def test_hessian_at_collinear_student_and_teacher_is_finite(activation):
    """Collinear neurons are not a kink: the Hessian exists there (values checked against the
    50-digit route in test_collinear_hessian.py); NonDifferentiableError is for w = 0 only."""
    for W in (np.array([[2.0, 0.0, 0.0], [0.0, 0.7, 0.4]]),  # w_0 = 2 v_0
              np.array([[-3.0, 0.0, 0.0], [0.0, 0.7, 0.4]])):  # antiparallel
        H = hessian(a0, W, b0, V0, activation)
        assert np.all(np.isfinite(H))
        # blocks (i, l) and (l, i) are computed from their own frames: equal up to rounding
        assert np.max(np.abs(H - H.T)) <= 1e-14 * np.max(np.abs(H))


@pytest.mark.parametrize("activation", PL_FAMILY)
def test_loss_at_zero_vector_is_finite_and_correct(activation):
    W = W0.copy()
    W[1] = 0.0
    L = loss(a0, W, b0, V0, activation)
    # 50-digit reference; 1e-14 relative (a handful of O(1) terms, no cancellation to speak of)
    assert L == pytest.approx(float(loss_mp(a0, W, b0, V0, activation)), rel=1e-14)


def test_pair_kernel_underflowing_correlation():
    """C12 so small that C12^2 underflows (|C12| < 1.5e-154) is a valid input with g ~ C12.
    Under the suite's errstate(all="raise") the subnormal product raises FloatingPointError
    inside ``gram_determinant``; g itself is fine with numpy's default error handling."""
    with np.errstate(under="ignore"):
        g = float(pair_kernel("erf2", 1.0, 1.0, 1e-160))
    assert g == pytest.approx(2 / math.pi * 1e-160 / math.sqrt(3), rel=1e-14)


@pytest.mark.parametrize("activation", ACT_NAMES)
def test_pair_kernel_refuses_correlations_no_vectors_have(activation):
    """|C12| > sqrt(C11 C22) is not the Gram matrix of any two vectors: the clipped formulas would
    silently return a number, so it is refused, naming C12. Rounding-sized excess is accepted."""
    with pytest.raises(ValueError, match="C12 must satisfy"):
        pair_kernel(activation, 1.0, 1.0, 5.0)
    with pytest.raises(ValueError, match="C12 must satisfy"):
        pair_kernel(activation, 1.0, 4.0, -2.0 * (1 + 1e-6), order=1)
    g = pair_kernel(activation, 1.0, 4.0, 2.0 * (1 + 1e-15))  # a rounding error past |cos| = 1
    assert np.isfinite(g)


def test_integers_beyond_float64_are_refused_with_a_value_error():
    """Python ints beyond the float64 range raise OverflowError inside NumPy; the API names the
    argument instead."""
    with pytest.raises(ValueError, match="a must be a real 1-d array of float64"):
        loss([10**400], W0[:1], b0, V0, "erf2")
    with pytest.raises(ValueError, match="C12 must be real float64"):
        pair_kernel("relu", 1.0, 1.0, 10**400)
