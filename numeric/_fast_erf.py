"""Loss and gradient of the erf family in the common case, fast (``Problem.loss_and_gradient``).

Per-thread scratch buffers hold ``[W; V]``, its transpose and ``U`` with the teacher parts filled
in once; the generated ``NAME_grad1`` kernels give ``(g, g1, g3)`` without the unused ``g2``. Any
input outside the common case returns None and the general path of ``Problem`` decides (the
refusals and the extreme-magnitude formulas live there). The quadrature family first tries its
own route (``Grad1.loss_and_gradient``, ``copyavg.numeric._series_grad``), then the kernel
matrices of ``Grad1`` here.
"""

from __future__ import annotations

import math

import numpy as np

from . import _geometry as geo_


def scratch(P, n: int):
    """This thread's buffers for ``n`` student neurons (made on first use; the last ``n`` kept):
    ``Y = [W; V]``, ``YT = Y^T``, ``UU = [2U; (0, b)]`` with ``U = [a; -b]`` (the teacher parts
    filled in here), ``C11``, ``C22`` (|w_i|^2 and |y_m|^2 on full (n, n + k) arrays, teacher
    columns of ``C22`` filled in), ``D``, a scratch ``T`` and zeros ``Z`` of that shape, and
    zeros of length ``n d``."""
    s = getattr(P._tls, "scratch", None)
    if s is not None and s[0] == n:
        return s
    m, d = n + P.k, P.d
    Y = np.empty((m, d))
    Y[n:] = P.V
    YT = np.empty((d, m))
    YT[:, n:] = P.V.T
    UU = np.zeros((2, m))
    UU[0, n:] = -2.0 * P.b
    UU[1, n:] = P.b
    C22 = np.empty((n, m))
    C22[:, n:] = P.qv
    s = (n, Y, YT, UU, np.empty((n, m)), C22, np.empty((n, m)), np.empty((n, m)), np.zeros((n, m)),
         np.zeros(n * d))
    P._tls.scratch = s
    return s

def erf_loss_and_gradient(P, a, W):
    """``loss_and_gradient`` of the erf family in the common case, or None (then the general
    path decides: refusals, large norms, near-collinear refinement, non-finite results).

    The common case: ``n |a|^2 <= (1e150 - teacher_scale)^2`` (so ``sum |a_i|`` is in range)
    and ``q (max(q, max |v_j|^2)) <= 1e4`` with ``q = max |w_i|^2`` (no pair needs the refined
    Gram determinant, no large-norm self term), and finite results. Same formulas as the
    general path: ``L = a.(G U) - a.(G_st b) + T`` (``G U`` and ``G_st b`` from one product,
    as ``G (2U)`` and ``G (0, b)``; the factor 2 is exact), ``dL/da = G (2U)``, and
    ``dL/dW = M Y`` with ``M = 2 a_i U_m g3_im`` plus ``4 a_i (G1 U)_i`` on the diagonal (the
    term ``4 a_i (G1 U)_i w_i``, as ``Y[i] = w_i``).
    Everything runs with floating-point warnings off: input outside the range shows up as a
    failed check or a non-finite result, and the general path then raises as documented.
    """
    own = getattr(P._grad1, "loss_and_gradient", None)  # the quadrature family's own route
    if own is not None:
        out = own(P, a, W)
        if out is not None:  # False: the general path (a pair needs the direct route)
            return out or None
    n = a.shape[0]
    _, Y, YT, UU, C11, C22, D, T, Z, zeros = scratch(P, n)
    with np.errstate(all="ignore"):
        if not n * float(np.dot(a, a)) <= P._a_sq_limit:  # also NaN and inf
            return None
        Y[:n] = W
        YT[:, :n] = W.T
        C = np.dot(W, YT)  # C12 = w_i . y_m
        qw = geo_._diagonal(C)  # |w_i|^2 exactly as on the diagonal: D_ii = 0
        qmax = qw.max()
        if not qmax * max(qmax, P._qv_max) <= 1e4:  # also NaN and inf
            return None
        np.copyto(C11, qw[:, None])
        C22[:, :n] = qw
        np.multiply(C11, C22, out=D)  # D = max(C11 C22 - C12^2, 0)
        np.multiply(C, C, out=T)
        np.subtract(D, T, out=D)
        np.maximum(D, Z, out=D)
        out = P._grad1(C11, C22, C, D)
        if out is None:  # quadrature family: not applicable here
            return None
        G, G1, G3 = out
        if P.activation.family not in geo_.BOUNDED_SECOND_MOMENT:  # loss scale sum |a_i| sqrt(s(q_i)) + ...
            scale = float(np.dot(np.abs(a), np.sqrt(np.maximum(geo_._diagonal(G), 0.0)))) + P.teacher_scale
            if not scale <= geo_.MAX_LOSS_SCALE:
                return None
        U2 = UU[0]
        np.add(a, a, out=U2[:n])
        R = np.dot(UU, G.T)  # rows G (2U) = dL/da and G_st b
        aR = np.dot(R, a)
        L = 0.5 * float(aR[0]) - float(aR[1]) + P.teacher_loss  # a.(G U) - a.(G_st b) + T
        ga = R[0]
        h = np.dot(G1, U2)  # 2 (G1 U)_i
        h *= U2[:n]  # 4 a_i (G1 U)_i
        np.multiply(G3, np.dot(a[:, None], U2[None, :], out=T), out=G3)  # 2 a_i U_m g3_im
        G3.reshape(-1)[:: G3.shape[1] + 1] += h  # the diagonal (i, i)
        gW = np.dot(G3, Y)
        if not math.isfinite(L + float(np.dot(gW.reshape(-1), zeros))):  # 0 * inf, 0 * NaN: NaN
            return None
    return L, ga, gW
