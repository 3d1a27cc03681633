"""Fuzz: loss and gradient over all activations, small shapes and magnitudes 10^-170..10^160.

Each example draws an activation, shapes ``n, k <= 3``, ``d <= 4``, normal entries, a scale
exponent ``e`` in -170..160 and which of ``W``, ``V``, ``(a, b)`` get multiplied by ``10^e``.
Every call must either return finite values that agree with the 50-digit route
(``copyavg.numeric.mp``) within relative 1e-9 of the result's scale, or raise a plain
``ValueError`` when (and only when) the input is outside the documented range, which is decided
here independently with mpmath. No other exception type, no NaN or inf.

Scales (the documented accuracy of ``copyavg.numeric.population``), all from 50-digit values:
loss ``sum_{m,m'} |U_m U_m' g_mm'|``; ``dL/da_i``: ``2 sum_m |U_m g_im|``; row ``dL/dw_i``
(Euclidean norm of the error): ``2 |a_i| (sum_{m != i} |U_m| (|2 g1_im w_i| + |g3_im y_m|) +
|a_i s'(|w_i|^2) w_i|)``. Rounding in float64 sums of at most 6 terms of that size leaves ~1e-15
of the scale; 1e-9 is the brief's bound, loose enough for the kernels' own ~1e-13 near
anti-collinear pairs. An absolute floor of 1e-300 covers results whose scale lies below the
normal float range, where subnormal rounding is all float64 can offer.

Run longer with ``HYPOTHESIS_PROFILE=fuzz`` (6000 examples; ``ci`` runs 300).
"""

from __future__ import annotations

import os

import mpmath
import numpy as np
import pytest
from _helpers import ACT_NAMES
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from copyavg.numeric import ACTIVATIONS, NonDifferentiableError, hessian, loss, loss_and_gradient
from copyavg.numeric._generated_kernels_mp import KERNELS as MP_KERNELS
from copyavg.numeric.mp import gradient_mp, loss_mp, pair_kernel_mp

_EXAMPLES = {"ci": 300, "fuzz": 6000}.get(os.environ.get("HYPOTHESIS_PROFILE", "dev"), 100)
_REL = 1e-9  # the documented accuracy (see the module docstring)
_ABS = 1e-300  # below the normal float range (2.2e-308) only absolute accuracy exists

# the documented range (copyavg.numeric.population)
_MAX_OUT, _MAX_SCALE = 1e150, 1e150
_MAX_NORM = {"erf": 1e75, "piecewise_linear": 1e150}


@st.composite
def scaled_cases(draw):
    act = draw(st.sampled_from(ACT_NAMES))
    n, k, d = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 4))
    e = draw(st.integers(-170, 160))
    which = draw(st.sets(st.sampled_from(["W", "V", "ab"]), min_size=1))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    a, b = rng.normal(size=n), rng.normal(size=k)
    W, V = rng.normal(size=(n, d)), rng.normal(size=(k, d))
    s = 10.0 ** e
    if "W" in which:
        W = W * s
    if "V" in which:
        V = V * s
    if "ab" in which:
        a, b = a * s, b * s
    return act, a, W, b, V


def _mp_norm(x):
    return mpmath.sqrt(mpmath.fsum(mpmath.mpf(v) ** 2 for v in x))


def _outside(act, a, W, b, V):
    """``(outside, borderline)`` of the documented range, at 50 digits; ``borderline`` when a
    quantity is within relative 1e-6 of its limit (float and exact evaluation may then differ)."""
    fam = ACTIVATIONS[act].family
    with mpmath.workdps(50):
        Y, U = list(W) + list(V), list(a) + [-x for x in b]
        checks = [(max(abs(mpmath.mpf(x)) for x in U), _MAX_OUT)]
        norms = [_mp_norm(y) for y in Y]
        checks.append((max(norms), _MAX_NORM[fam]))
        S = mpmath.fsum(abs(mpmath.mpf(u)) * mpmath.sqrt(MP_KERNELS[act][3](r * r)[0]) for u, r in zip(U, norms))
        checks.append((S, _MAX_SCALE))
        outside = any(v > lim for v, lim in checks)
        border = any(abs(v / lim - 1) < 1e-6 for v, lim in checks)
    return outside, border


def _scales(act, a, W, b, V):
    """The 50-digit scales of the loss, dL/da and the rows of dL/dW (module docstring)."""
    with mpmath.workdps(50):
        Y = [[mpmath.mpf(x) for x in y] for y in list(W) + list(V)]
        U = [mpmath.mpf(x) for x in list(a) + [-x for x in b]]
        q = [mpmath.fsum(x * x for x in y) for y in Y]
        n = len(a)
        dot = [[mpmath.fsum(x * y for x, y in zip(ym, yp)) for yp in Y] for ym in Y]
        sL = mpmath.fsum(abs(U[m] * U[p] * pair_kernel_mp(act, q[m], q[p], dot[m][p]))
                         for m in range(len(Y)) for p in range(len(Y)))
        sa, sW = [], []
        for i in range(n):
            ta, tw = [], [abs(U[i] * MP_KERNELS[act][3](q[i])[1]) * mpmath.sqrt(q[i])]
            for m in range(len(Y)):
                c = q[i] if m == i else mpmath.fsum(x * y for x, y in zip(Y[i], Y[m]))
                g, g1, _, g3 = pair_kernel_mp(act, q[i], q[m], c, 1)
                ta.append(abs(U[m] * g))
                if m != i:
                    tw.append(abs(U[m]) * (abs(2 * g1) * mpmath.sqrt(q[i]) + abs(g3) * mpmath.sqrt(q[m])))
            sa.append(2 * mpmath.fsum(ta))
            sW.append(2 * abs(U[i]) * mpmath.fsum(tw))
        return float(sL), np.array([float(x) for x in sa]), np.array([float(x) for x in sW])


def _check_against_mp(act, a, W, b, V, L, ga, gW):
    assert np.isfinite(L) and np.all(np.isfinite(ga)) and np.all(np.isfinite(gW))
    sL, sa, sW = _scales(act, a, W, b, V)
    L_mp = float(loss_mp(a, W, b, V, act, dps=50))
    ga_mp, gW_mp = gradient_mp(a, W, b, V, act, dps=50)
    with mpmath.workdps(50):  # errors formed at 50 digits: float(ref) would round away the small ones
        err_L = float(abs(mpmath.mpf(L) - loss_mp(a, W, b, V, act, dps=50)))
        err_a = np.array([float(abs(mpmath.mpf(x) - y)) for x, y in zip(ga, ga_mp)])
        err_W = np.array([float(mpmath.sqrt(mpmath.fsum((mpmath.mpf(x) - y) ** 2 for x, y in zip(r, rm))))
                          for r, rm in zip(gW, gW_mp)])
    with np.errstate(under="ignore"):  # scales may lie below the normal range: _ABS covers them
        assert err_L <= _REL * sL + _ABS, (L, L_mp, sL)
        assert np.all(err_a <= _REL * sa + _ABS), (ga, ga_mp, sa)
        assert np.all(err_W <= _REL * sW + _ABS), (gW, gW_mp, sW)


def _check_hessian_finite_or_refused(act, a, W, b, V):
    """The Hessian (its accuracy is tested in test_population.py, test_collinear_hessian.py and,
    for the erf family over its whole range, test_erf_hessian.py) is finite and symmetric, or
    refused as documented: NonDifferentiableError only for a kinked activation at collinear rows;
    ValueError only when an entry overflows float64 (extreme magnitudes)."""
    try:
        H = hessian(a, W, b, V, act)
    except NonDifferentiableError:
        assert not ACTIVATIONS[act].smooth
        with mpmath.workdps(30):  # norms at any magnitude (float squares may underflow)
            Y = np.concatenate((W, V))
            Yn = Y / np.array([[float(_mp_norm(y))] for y in Y])
        with np.errstate(under="ignore"):
            cos = np.abs(Yn[: len(a)] @ Yn.T)
        np.fill_diagonal(cos[:, : len(a)], 0.0)
        assert cos.max() >= 1 - 1e-15  # collinear up to rounding
        return
    except ValueError as exc:
        assert "overflows float64" in str(exc), exc
        return
    assert np.all(np.isfinite(H))
    # blocks (i, l) and (l, i) are computed apart; each is accurate to ~1e-13 of max|H| (the
    # tests named above), so 1e-9 is the documented accuracy, not a loose guess
    with np.errstate(under="ignore"):  # entries may lie below the normal range (absolute floor)
        assert np.max(np.abs(H - H.T)) <= 1e-9 * np.max(np.abs(H)) + _ABS


@settings(max_examples=_EXAMPLES)
@example(case=("relu", np.ones(1), np.array([[1e-90, 0, 0]]), np.ones(1), np.array([[0, 1.0, 0]])))
@example(case=("abs", np.ones(1), np.array([[1e-170, 2e-170, 0]]), np.ones(1), np.array([[0, 1.0, 0]])))
@example(case=("relu", np.ones(1), np.array([[5e-324, -5e-324]]), np.ones(1), np.array([[1.0, 2.0]])))  # subnormal w
@example(case=("leaky_relu", np.ones(2), np.eye(2, 3) * 1e-100, np.ones(2), np.ones((2, 3)) * 1e-100))
@example(case=("erf2", np.ones(1), np.array([[6e15, 8e15, 3e15]]), np.ones(2), np.eye(2, 3)))
@example(case=("erf", np.ones(1), np.array([[6e70, 8e70, 3e70]]), np.ones(2), np.eye(2, 3) * 1e70))
@example(case=("erf2", np.array([2.0]), np.array([[1e60]]), np.ones(1), np.array([[-3e60]])))  # d = 1: collinear
@given(case=scaled_cases())
def test_fuzz_loss_and_gradient_match_mp_or_refuse(case):
    act, a, W, b, V = case
    outside, border = _outside(act, a, W, b, V)
    try:
        L, ga, gW = loss_and_gradient(a, W, b, V, act)
        L0 = loss(a, W, b, V, act)
    except NonDifferentiableError as exc:  # only at an exactly zero w_i, never drawn here
        pytest.fail(f"unexpected NonDifferentiableError: {exc}")
    except ValueError as exc:
        assert outside or border, f"refused inside the documented range: {exc}"
        event("refused: outside the documented range")
        return
    event("compared with the 50-digit route")
    assert border or not outside, "accepted outside the documented range"
    _check_hessian_finite_or_refused(act, a, W, b, V)
    _check_against_mp(act, a, W, b, V, L, ga, gW)
    assert np.isfinite(L0)
    with np.errstate(under="ignore"):
        assert abs(L0 - L) <= _REL * _scales(act, a, W, b, V)[0] + _ABS


@pytest.mark.parametrize("act", [n for n in ACT_NAMES if ACTIVATIONS[n].family == "piecewise_linear"])
@pytest.mark.parametrize("t", [1e-100, 1e-150, 1e100])
def test_piecewise_linear_hessian_scales_with_the_teacher(act, t):
    """sigma(t z) = t sigma(z) for t > 0, so the teacher (b, t V) is the teacher (t b, V): the
    Hessian with a tiny or huge teacher equals the one at ordinary magnitudes (another route
    through the code: unit-vector kernels with the scale in b instead of |v|). Rounding differs
    only by the order of a few products: 1e-12 of the largest entry."""
    rng = np.random.default_rng(3)
    a, W, b, V = rng.normal(size=2), rng.normal(size=(2, 3)), rng.normal(size=3), rng.normal(size=(3, 3))
    H1 = hessian(a, W, b, t * V, act)
    H2 = hessian(a, W, t * b, V, act)
    assert np.all(np.isfinite(H1))
    assert np.max(np.abs(H1 - H2)) <= 1e-12 * np.max(np.abs(H2))


@pytest.mark.parametrize("bad", [np.array([1.0 + 1e-3j, 0.5]), [1j, 2]])
@pytest.mark.parametrize("arg", ["a", "W", "b", "V"])
def test_complex_input_is_refused(arg, bad):
    args = dict(a=np.ones(2), W=np.eye(2, 3), b=np.ones(2), V=np.eye(2, 3))
    args[arg] = (np.asarray(bad)[:, None] * np.ones(3)) if arg in "WV" else bad
    with pytest.raises(ValueError, match=rf"\b{arg}\b.*real"):
        loss_and_gradient(args["a"], args["W"], args["b"], args["V"], "erf2")


@pytest.mark.parametrize("func", [loss_mp, gradient_mp])
def test_mp_route_refuses_bad_input(func):
    ok = dict(a=[1.0], W=[[1.0, 0.0]], b=[1.0], V=[[0.0, 1.0]])
    for arg, bad in [("a", [float("nan")]), ("W", [[float("inf"), 0.0]]), ("b", [1j]), ("V", [[1 + 2j, 0]])]:
        with pytest.raises(ValueError, match=rf"\b{arg}\b"):
            func(**{**ok, arg: bad}, activation="relu")
    for dps in (0, -5, 14, 20.5, "50", True):
        with pytest.raises(ValueError, match="dps"):
            func(**ok, activation="relu", dps=dps)


@pytest.mark.parametrize("act", ACT_NAMES)
def test_pair_and_diag_kernel_refuse_out_of_range_input(act):
    from copyavg.numeric import diag_kernel, pair_kernel

    limit = 1e150 if ACTIVATIONS[act].family == "erf" else 1e300
    for C11, name in [(-1.0, "C11"), (float("nan"), "C11"), (2 * limit, "C11"), (1 + 1j, "C11")]:
        with pytest.raises(ValueError, match=name):
            pair_kernel(act, C11, 1.0, 0.0)
    with pytest.raises(ValueError, match="C12"):
        pair_kernel(act, 1.0, 1.0, float("inf"))
    with pytest.raises(ValueError, match=r"\bq\b"):
        diag_kernel(act, 2 * limit)
    # at the limits: finite first partials (second partials may be inf only at collinear vectors)
    out = pair_kernel(act, limit, limit, 0.5 * limit, order=1)
    assert all(np.isfinite(o) for o in out)
    limit2 = 1e75 if ACTIVATIONS[act].family == "erf" else limit  # erf second partials: C22 (C11 C22)
    out = pair_kernel(act, limit2, limit2, 0.5 * limit2, order=2)
    assert all(np.isfinite(o) for o in out)
    if limit2 < limit:
        with pytest.raises(ValueError, match="C11"):
            pair_kernel(act, 2 * limit2, 1.0, 0.0, order=2)
    assert all(np.isfinite(x) for x in diag_kernel(act, limit))


# The erf family's Hessian against a 50-digit Hessian over its whole range: tests/test_erf_hessian.py
