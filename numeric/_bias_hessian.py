"""The Hessian of ``copyavg.numeric.biased.BiasedProblem`` by the chain rule through the
mean-derivatives ``M[a, b]`` of the biased pair kernel (heat equation: ``dg/dC11 = M20/2``,
``dg/dC12 = M11``, ``d^2g/dC12^2 = M22``, ...) and the c-derivatives ``s^(k)`` of the self terms."""

from __future__ import annotations

import numpy as np

from ._bias_kernels import coincident


def assemble_hessian(a, W, n, d, Y, U, M, s):
    """Chain rule through the mean-derivatives ``M`` (pairs) and ``s`` (self terms); blocks
    ``p_i = (w_i, c_i)`` first, then reordered to ``(a, W, c)``."""
    p = d + 1
    Ms = {key: v[:, :n] for key, v in M.items()}  # student-student pairs
    aa = np.outer(a, a)
    Hp = np.zeros((n, p, n, p))
    # off-diagonal blocks: 2 a_i a_j d^2 g(p_i, p_j)/dp_i dp_j
    ww = (np.einsum("ij,ia,jb->iajb", Ms[2, 2], W, W) + np.einsum("ij,ja,ib->iajb", Ms[2, 2], W, W)
          + np.einsum("ij,ia,ib->iajb", Ms[3, 1], W, W) + np.einsum("ij,ja,jb->iajb", Ms[1, 3], W, W))
    ww += Ms[1, 1][:, None, :, None] * np.eye(d)[None, :, None, :]
    Hp[:, :d, :, :d] = ww
    Hp[:, :d, :, d] = Ms[2, 1][:, None, :] * W[:, :, None] + Ms[1, 2][:, None, :] * W.T[None, :, :]
    Hp[:, d, :, :d] = Ms[1, 2][:, :, None] * W[None, :, :] + Ms[2, 1][:, :, None] * W[:, None, :]
    Hp[:, d, :, d] = Ms[1, 1]
    Hp *= 2.0 * aa[:, None, :, None]
    # diagonal blocks: 2 a_i sum_{m != i} U_m d^2 g(p_i, y_m)/dp_i^2 + a_i^2 d^2 s/dp_i^2
    S20, S40, S30 = M[2, 0] @ U, M[4, 0] @ U, M[3, 0] @ U
    Y31, Y21 = (M[3, 1] * U) @ Y, (M[2, 1] * U) @ Y
    YY22 = np.einsum("im,ma,mb->iab", M[2, 2] * U, Y, Y)
    for i in range(n):
        w = W[i]
        blk = np.empty((p, p))
        blk[:d, :d] = (S20[i] * np.eye(d) + S40[i] * np.outer(w, w) + np.outer(w, Y31[i])
                       + np.outer(Y31[i], w) + YY22[i])
        blk[:d, d] = blk[d, :d] = S30[i] * w + Y21[i]
        blk[d, d] = S20[i]
        blk *= 2.0 * a[i]
        blk[:d, :d] += a[i] ** 2 * (s[4][i] * np.outer(w, w) + s[2][i] * np.eye(d))
        blk[:d, d] += a[i] ** 2 * s[3][i] * w
        blk[d, :d] += a[i] ** 2 * s[3][i] * w
        blk[d, d] += a[i] ** 2 * s[2][i]
        Hp[i, :, i, :] = blk
    # a-a and a-p blocks
    Haa = 2.0 * Ms[0, 0] + np.diag(2.0 * s[0])
    Hap = np.zeros((n, n, p))
    # j != i: 2 a_j dg(p_j, p_i)/dp_j = 2 a_j [M20[j,i] w_j + M11[j,i] w_i ; M10[j,i]]
    Hap[:, :, :d] = 2.0 * a[None, :, None] * (Ms[2, 0].T[:, :, None] * W[None, :, :] + Ms[1, 1].T[:, :, None] * W[:, None, :])
    Hap[:, :, d] = 2.0 * a[None, :] * Ms[1, 0].T
    idx = np.arange(n)
    Hap[idx, idx, :d] = 2.0 * ((M[2, 0] @ U)[:, None] * W + (M[1, 1] * U) @ Y) + 2.0 * (a * s[2])[:, None] * W
    Hap[idx, idx, d] = 2.0 * (M[1, 0] @ U) + 2.0 * a * s[1]
    N = n + n * p
    Hfull = np.empty((N, N))
    Hfull[:n, :n] = Haa
    Hfull[:n, n:] = Hap.reshape(n, n * p)
    Hfull[n:, :n] = Hfull[:n, n:].T
    Hfull[n:, n:] = Hp.reshape(n * p, n * p)
    # reorder (a, (w_1, c_1), ..., (w_n, c_n)) -> (a, w_1, ..., w_n, c)
    order = np.concatenate((np.arange(n), n + (np.arange(n)[:, None] * p + np.arange(d)[None, :]).ravel(),
                            n + np.arange(n) * p + d))
    return Hfull[np.ix_(order, order)]


def _jumps(al, be, s1, s2, t, mu21, mu12):
    """Jumps ``(s_k, f(s_k+) - f(s_k-))`` of ``f(s) = sigma'(u1) sigma'(u2)`` along the line
    ``u1 = |w| s + c``, ``u2 = t |w| s + B`` (``sigma' = be`` for ``z > 0``, ``al`` for ``z < 0``)."""
    d1 = lambda z: be if z > 0 else al  # noqa: E731
    if mu21 == 0:  # one hyperplane: both factors jump at s1
        up2, down2 = (be, al) if t > 0 else (al, be)
        return [(s1, be * up2 - al * down2)]
    return [(s1, (be - al) * d1(mu21)), (s2, (be - al) * d1(mu12) * (1 if t > 0 else -1))]


def collinear_moments(act, M, C11, C22, C12, m1, m2, coll):
    """Replace the mean-derivatives of exactly collinear pairs (``coll``; piecewise-linear family)
    by values whose chain-rule combinations are the weight-space limits.

    With ``y = t w`` (``t = C12/C11``) and ``s = w.x/|w|``, the pair's Hessian blocks are
    ``E[sigma''(u1) sigma(u2) x~ x~']`` (same neuron twice; ``sigma'' = (be - al) delta``) and
    ``E[sigma'(u1) sigma'(u2) x~ x~']`` (two neurons), ``x~ = (x, 1)``; the first is
    ``M20 (x0 x0' + I - w w'/|w|^2)`` with ``x0 = -c w/|w|^2`` (on the hyperplane ``u2`` is the
    constant ``mu21``), the second is ``M11 I + E[f (s^2 - 1)] w w'/|w|^2`` with
    ``E[f (s^2 - 1)] = sum_k J_k s_k phi(s_k)``, ``E[f s] = sum_k J_k phi(s_k)`` over the jumps
    ``J_k`` of the piecewise-constant ``f = sigma'(u1) sigma'(u2)`` (integration by parts). Both are
    finite; only the chain rule through ``d^2 g/dC12^2`` (the density of ``(u1, u2)`` at 0) is not.
    The returned ``M`` has ``M22 = M13 = M12 = 0`` and ``M31, M21, M40, M30`` chosen so that
    ``copyavg.numeric._bias_hessian.assemble_hessian`` yields these blocks.
    """
    al, be = act.params["alpha"], act.params["beta"]
    M = {key: v.copy() for key, v in M.items()}
    for i, m in zip(*np.nonzero(coll)):
        q, c, B = C11[i, m], m1[i, m], m2[i, m]
        t = C12[i, m] / q
        r = np.sqrt(q)
        mu21, mu12 = B - t * c, c - B / t
        same = bool(coincident(mu21, B, t * c))
        jumps = _jumps(al, be, -c / r, -B / (t * r), t, 0.0 if same else mu21, mu12)
        phi = lambda s: np.exp(-0.5 * s * s) / np.sqrt(2 * np.pi)  # noqa: E731
        f2 = sum(J * s * phi(s) for s, J in jumps)  # E[f (s^2 - 1)]
        f1 = sum(J * phi(s) for s, J in jumps)  # E[f s]
        M20 = M[2, 0][i, m]
        k_off, j_off = f2 / q, f1 / r
        k_diag, l_diag = M20 * (c * c - q) / (q * q), -M20 * c / q
        M[2, 2][i, m] = M[1, 3][i, m] = M[1, 2][i, m] = 0.0
        M[3, 1][i, m], M[2, 1][i, m] = k_off, j_off
        M[4, 0][i, m] = k_diag - 2 * t * k_off
        M[3, 0][i, m] = l_diag - t * j_off
    return M
