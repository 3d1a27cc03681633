"""The Hessian of ``copyavg.numeric.biased.BiasedProblem`` by the chain rule through the
mean-derivatives ``M[a, b]`` of the biased pair kernel (heat equation: ``dg/dC11 = M20/2``,
``dg/dC12 = M11``, ``d^2g/dC12^2 = M22``, ...) and the c-derivatives ``s^(k)`` of the self terms."""

from __future__ import annotations

import numpy as np


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
