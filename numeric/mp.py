"""Arbitrary-precision route: the same generated kernel expressions evaluated with mpmath.

Loops over neuron pairs in plain Python (meant for small networks: reference values in tests and
certificates, not speed). Inputs may be floats, strings or mpmath numbers; they are converted with
``mpmath.mpf`` at the working precision, so a float input is taken exactly.

Conventions as in ``copyavg.numeric``: ``L = E[(f - f*)^2]``, no 1/2.
"""

from __future__ import annotations

import mpmath
import numpy as np

from ._generated_kernels_mp import KERNELS as MP_KERNELS
from .activations import get_activation
from .population import NonDifferentiableError


#: fewest decimal digits accepted: below float64 precision the route is no reference
MIN_DPS = 15


class _MpKernels(dict):
    """``MP_KERNELS`` plus the quadrature family (any expression in z): nested ``mpmath.quad``."""

    def __missing__(self, name):
        from .series import _MpKernelFunctions, compile_expression

        get_activation(name)  # refuses unknown names and bad expressions
        return _MpKernelFunctions(compile_expression(name))


MP_KERNELS = _MpKernels(MP_KERNELS)


def _real(x, name):
    """``mpmath.mpf(x)`` for a finite real ``x`` (complex, NaN, inf and non-numbers refused)."""
    if isinstance(x, (complex, np.complexfloating)) or getattr(x, "imag", 0) != 0:
        raise ValueError(f"{name} must be real, got {x!r}")
    try:
        v = mpmath.mpf(x.real if isinstance(x, (np.floating, np.integer)) else x)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must contain real numbers, got {x!r}") from None
    if not mpmath.isfinite(v):
        raise ValueError(f"{name} must be finite (no NaN or inf), got {x!r}")
    return v


def _mat(X, name):
    try:
        rows = [[_real(x, name) for x in row] for row in X]
    except TypeError:
        raise ValueError(f"{name} must be a 2-d array of reals") from None
    if not rows or len({len(r) for r in rows}) != 1 or not rows[0]:
        raise ValueError(f"{name} must be a non-empty rectangular 2-d array")
    return rows


def _vec(x, name):
    try:
        out = [_real(v, name) for v in x]
    except TypeError:
        raise ValueError(f"{name} must be a 1-d array of reals") from None
    if not out:
        raise ValueError(f"{name} must have at least one entry")
    return out


def _check_dps(dps) -> int:
    if isinstance(dps, bool) or not isinstance(dps, (int, np.integer)) or dps < MIN_DPS:
        raise ValueError(f"dps must be an integer >= {MIN_DPS} (decimal digits), got {dps!r}")
    return int(dps)


def _dot(x, y):
    return mpmath.fsum(xi * yi for xi, yi in zip(x, y))


def pair_kernel_mp(activation: str, C11, C22, C12, order: int = 0):
    """``g`` or ``(g, partials...)`` at mpmath precision (see ``copyavg.numeric.kernels``).

    Parameters
    ----------
    activation : str
        A name from ``copyavg.numeric.ACTIVATIONS``.
    C11, C22, C12 : real
        ``|w|^2 >= 0``, ``|v|^2 >= 0``, ``w.v``; any magnitude (mpmath has no exponent limit).
    order : {0, 1, 2}

    Returns
    -------
    mpf or tuple of mpf
        At the current ``mpmath.mp.dps``; second partials of the piecewise-linear family at
        collinear vectors are ``inf``.

    Examples
    --------
    >>> import mpmath
    >>> with mpmath.workdps(30):
    ...     print(pair_kernel_mp("relu", 1, 1, 0))  # 1 / (2 pi)
    0.159154943091895335768883763373
    """
    act = get_activation(activation)
    if order not in (0, 1, 2):
        raise ValueError(f"order must be 0, 1 or 2, got {order!r}")
    C11, C22, C12 = _real(C11, "C11"), _real(C22, "C22"), _real(C12, "C12")
    D = max(C11 * C22 - C12 * C12, mpmath.mpf(0))
    n_out = (1, 4, 10)[order]
    if not act.smooth and (C11 == 0 or C22 == 0):
        out = (mpmath.mpf(0),) * n_out
    else:
        if not act.smooth and D == 0 and order == 2:
            first = MP_KERNELS[activation][1](C11, C22, C12, D)
            out = tuple(first) + (mpmath.inf,) * 6
        else:
            out = MP_KERNELS[activation][order](C11, C22, C12, D)
            out = (out,) if order == 0 else tuple(out)
    return out[0] if order == 0 else out


def _setup(a, W, b, V, activation):
    get_activation(activation)
    a, b = _vec(a, "a"), _vec(b, "b")
    W, V = _mat(W, "W"), _mat(V, "V")
    if len(W) != len(a):
        raise ValueError(f"W must have n = {len(a)} rows to match a, got {len(W)}")
    if len(V) != len(b):
        raise ValueError(f"V must have k = {len(b)} rows to match b, got {len(V)}")
    if len(W[0]) != len(V[0]):
        raise ValueError(f"W and V must have the same number of columns d, got {len(W[0])} and {len(V[0])}")
    return a, W, b, V


_ARGS_DOC = """
    Parameters
    ----------
    a : array_like, shape (n,)
    W : array_like, shape (n, d)
    b : array_like, shape (k,)
    V : array_like, shape (k, d)
        Student and teacher weights: finite reals (floats, strings or mpmath numbers, taken
        exactly), any magnitude.
    activation : str, default "erf2"
        A name from ``copyavg.numeric.ACTIVATIONS``.
    dps : int, default 50
        Working precision in decimal digits, at least ``MIN_DPS`` (15).
"""


def loss_mp(a, W, b, V, activation: str = "erf2", dps: int = 50):
    """``L = sum_{i,i'} a_i a_i' g(w_i, w_i') - 2 sum_{i,j} a_i b_j g(w_i, v_j)
    + sum_{j,j'} b_j b_j' g(v_j, v_j')`` at ``dps`` decimal digits.

    Returns
    -------
    mpf

    Raises
    ------
    ValueError
        Bad shapes, complex, NaN or inf entries, ``dps`` not an integer >= 15, unknown activation.

    Examples
    --------
    >>> print(loss_mp([0], [[1, 0]], [1], [[1, 0]], "relu", dps=20))  # E[relu(x_1)^2] = 1/2
    0.5
    """
    dps = _check_dps(dps)
    with mpmath.workdps(dps):
        a, W, b, V = _setup(a, W, b, V, activation)
        Y = W + V
        U = a + [-x for x in b]
        q = [_dot(y, y) for y in Y]
        total = mpmath.mpf(0)
        for m, ym in enumerate(Y):
            for p, yp in enumerate(Y):
                c = q[m] if m == p else _dot(ym, yp)
                total += U[m] * U[p] * pair_kernel_mp(activation, q[m], q[p], c, 0)
        return +total


def gradient_mp(a, W, b, V, activation: str = "erf2", dps: int = 50):
    """``(dL/da, dL/dW)`` at ``dps`` digits, as lists of mpf (chain rule through C11, C12).

    The self term ``m = i`` of ``dL/dw_i`` is ``2 a_i^2 s'(|w_i|^2) w_i`` from the diagonal kernel
    ``s(q) = g(q, q, q)``: the two pieces ``2 g1 + g3 = s'`` of the pair formula cancel to relative
    ``1/|w_i|^2`` for the erf family, which at large norms exceeds any fixed working precision.

    Returns
    -------
    ga : list of mpf, length n
    gW : list of lists of mpf, shape (n, d)

    Raises
    ------
    NonDifferentiableError
        Piecewise-linear activation with a kink and an exactly zero ``w_i`` with ``a_i != 0``.
    ValueError
        As in ``loss_mp``.

    Examples
    --------
    >>> ga, gW = gradient_mp([1], [[1e-90, 0, 0]], [1], [[0, 1, 0]], "relu", dps=30)
    >>> [mpmath.nstr(x, 6) for x in gW[0]]  # -(1/pi, 1/2, 0) up to O(1e-90)
    ['-0.31831', '-0.5', '0.0']
    """
    act = get_activation(activation)
    dps = _check_dps(dps)
    with mpmath.workdps(dps):
        a, W, b, V = _setup(a, W, b, V, activation)
        n, d = len(W), len(W[0])
        Y = W + V
        U = a + [-x for x in b]
        q = [_dot(y, y) for y in Y]
        ga, gW = [], []
        for i in range(n):
            if not act.smooth and q[i] == 0 and a[i] != 0:
                raise NonDifferentiableError(f"not differentiable at w_{i} = 0 for {activation!r}")
            gai = mpmath.mpf(0)
            vec = [mpmath.mpf(0)] * d
            for m, ym in enumerate(Y):
                if m == i:
                    s, s1, _ = MP_KERNELS[activation][3](q[i])
                    gai += 2 * U[m] * s
                    vec = [v + U[m] * s1 * w for v, w in zip(vec, W[i])]
                    continue
                g, g1, _, g3 = pair_kernel_mp(activation, q[i], q[m], _dot(W[i], ym), 1)
                gai += 2 * U[m] * g
                for e in range(d):
                    vec[e] += U[m] * (2 * g1 * W[i][e] + g3 * ym[e])
            ga.append(+gai)
            gW.append([+(2 * a[i] * v) for v in vec])
        return ga, gW


for _f in (loss_mp, gradient_mp):
    _head, _sep, _rest = _f.__doc__.partition("\n    Returns")
    _f.__doc__ = _head + _ARGS_DOC + "\n    Returns" + _rest
del _f, _head, _sep, _rest
