"""Arbitrary-precision route: the same generated kernel expressions evaluated with mpmath.

Loops over neuron pairs in plain Python (meant for small networks: reference values in tests and
certificates, not speed). Inputs may be floats, strings or mpmath numbers; they are converted with
``mpmath.mpf`` at the working precision, so a float input is taken exactly.

Conventions as in ``copyavg.numeric``: ``L = E[(f - f*)^2]``, no 1/2.
"""

from __future__ import annotations

import mpmath

from ._generated_kernels_mp import KERNELS as MP_KERNELS
from .activations import get_activation
from .population import NonDifferentiableError


def _mat(X, name):
    try:
        rows = [[mpmath.mpf(x) for x in row] for row in X]
    except TypeError:
        raise ValueError(f"{name} must be a 2-d array of reals") from None
    if not rows or len({len(r) for r in rows}) != 1:
        raise ValueError(f"{name} must be a non-empty rectangular 2-d array")
    return rows


def _vec(x, name):
    try:
        return [mpmath.mpf(v) for v in x]
    except TypeError:
        raise ValueError(f"{name} must be a 1-d array of reals") from None


def _dot(x, y):
    return mpmath.fsum(xi * yi for xi, yi in zip(x, y))


def pair_kernel_mp(activation: str, C11, C22, C12, order: int = 0):
    """``g`` or ``(g, partials...)`` at mpmath precision (see ``copyavg.numeric.kernels``)."""
    act = get_activation(activation)
    C11, C22, C12 = mpmath.mpf(C11), mpmath.mpf(C22), mpmath.mpf(C12)
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


def loss_mp(a, W, b, V, activation: str = "erf2", dps: int = 50):
    """``L = sum_{i,i'} a_i a_i' g(w_i, w_i') - 2 sum_{i,j} a_i b_j g(w_i, v_j)
    + sum_{j,j'} b_j b_j' g(v_j, v_j')`` at ``dps`` decimal digits (returns an mpf)."""
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
    """``(dL/da, dL/dW)`` at ``dps`` digits, as lists of mpf (chain rule through C11, C12)."""
    act = get_activation(activation)
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
                c = q[i] if m == i else _dot(W[i], ym)
                g, g1, _, g3 = pair_kernel_mp(activation, q[i], q[m], c, 1)
                gai += 2 * U[m] * g
                for e in range(d):
                    vec[e] += U[m] * (2 * g1 * W[i][e] + g3 * ym[e])
            ga.append(+gai)
            gW.append([+(2 * a[i] * v) for v in vec])
        return ga, gW
