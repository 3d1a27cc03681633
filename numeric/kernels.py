"""Hand-written wrapper around the generated pair kernels.

``pair_kernel(activation, C11, C22, C12, order)`` evaluates ``g`` and its partial derivatives in
``(C11, C22, C12)`` (``order`` 0, 1 or 2) on broadcastable arrays, supplying the Gram determinant
``D = C11 C22 - C12^2`` clipped at 0 (so correlations that round past +-1 never give NaN), and doing
the case analysis the generated code leaves out: for the piecewise-linear family a zero vector makes
``g`` vanish identically in the other vector, so every output is set to its exact value 0 there.

Output order (order 2): ``g, g1, g2, g3, g11, g12, g13, g22, g23, g33`` with 1 = C11, 2 = C22,
3 = C12. ``diag_kernel(activation, q)`` gives ``s(q) = g(q, q, q)``, ``s'(q)``, ``s''(q)``.
"""

from __future__ import annotations

import numpy as np

from ._generated_kernels import KERNELS
from .activations import get_activation

PARTIAL_NAMES = {
    0: ("g",),
    1: ("g", "g1", "g2", "g3"),
    2: ("g", "g1", "g2", "g3", "g11", "g12", "g13", "g22", "g23", "g33"),
}


def gram_determinant(C11, C22, C12):
    """``max(C11 C22 - C12^2, 0)``: the squared area spanned by w and v, clipped at 0."""
    with np.errstate(under="ignore"):  # products below the smallest double are 0: harmless here
        D = C11 * C22 - C12 * C12
    return np.maximum(D, 0.0, out=D) if isinstance(D, np.ndarray) else max(D, 0.0)


def _raw(activation: str, C11, C22, C12, D, order: int):
    fns = KERNELS[activation]
    out = fns[order](C11, C22, C12, D)
    return (out,) if order == 0 else out


def pair_kernel(activation: str, C11, C22, C12, order: int = 0):
    """``g`` (order 0) or the tuple of ``g`` and its partials up to ``order`` (1 or 2).

    Inputs broadcast against each other; ``C11, C22 >= 0``. Entries where a partial derivative
    does not exist (piecewise-linear family, second order, collinear vectors) come out as inf:
    the second partials in ``(C11, C22, C12)`` really are infinite there, while the Hessian in the
    weights is finite (``copyavg.numeric.angular.pair_weight_hessian``).
    """
    act = get_activation(activation)
    if order not in (0, 1, 2):
        raise ValueError(f"order must be 0, 1 or 2, got {order!r}")
    C11 = np.asarray(C11, dtype=float)
    C22 = np.asarray(C22, dtype=float)
    C12 = np.asarray(C12, dtype=float)
    D = gram_determinant(*np.broadcast_arrays(C11, C22, C12))
    D = np.array(D, dtype=float)
    if act.smooth:
        out = _raw(activation, C11, C22, C12, D, order)
        return out[0] if order == 0 else out
    with np.errstate(divide="ignore", invalid="ignore"):
        out = _raw(activation, C11, C22, C12, D, order)
    zero = np.broadcast_to((C11 == 0) | (C22 == 0), D.shape)
    fixed = []
    for k, o in enumerate(out):
        o = np.array(np.broadcast_to(o, D.shape), dtype=float)
        if zero.any():
            o[zero] = 0.0
        if k >= 4:  # second partials: not defined at collinear vectors
            o[(D == 0) & ~zero] = np.inf
        fixed.append(o)
    return fixed[0] if order == 0 else tuple(fixed)


def diag_kernel(activation: str, q):
    """``(s, s', s'')`` of ``s(q) = g(q, q, q) = E[sigma(w.x)^2]`` at ``|w|^2 = q``."""
    get_activation(activation)
    return KERNELS[activation][3](np.asarray(q, dtype=float))
