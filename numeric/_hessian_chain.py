"""The Hessian by the chain rule through the pair kernel's partial derivatives (``Problem.hessian``).

Blocks: a-a ``2 G``; a-W from ``g2``, ``g3`` and the gradient rows; W-W off the diagonal
``2 a_i a_l [w_i (x) T1 + w_l (x) T2 + g3 I]`` by one batched product; W-W diagonal blocks from the
pair sums plus the self terms ``a_i^2 s(|w_i|^2)`` through ``s(q) = g(q, q, q)``. For the
piecewise-linear family the W-W blocks come from the weight-space second derivatives of g
(``copyavg.numeric.angular``), finite at collinear neurons.
"""

from __future__ import annotations

import numpy as np

from .angular import student_block_hessian


def chain_rule_hessian(P, a, W, n, Y, U, geom) -> np.ndarray:
    """Hessian of ``Problem`` ``P`` at prepared ``(a, W, n, Y, U, geom)`` by the chain rule through
    the pair kernel's partials (erf family at ordinary norms) or, for the piecewise-linear family,
    with W-W blocks in weight space (finite at collinear neurons)."""
    d = P.d
    if P.activation.smooth:
        G, G1, G2, G3, G11, G12, G13, G22, G23, G33 = P._pairs(2, geom)
    else:  # second C-partials are infinite at collinear vectors: W-W blocks in weight space
        G, G1, G2, G3 = P._pairs(2, geom)[:4]
    qw = geom[0] ** 2 if P.homogeneous else geom[0]
    s, s1, s2 = P._diag(qw)
    s1 = np.broadcast_to(s1, qw.shape)
    s2 = np.broadcast_to(s2, qw.shape)
    idx = np.arange(n)
    ss = np.s_[:, :n]
    coef = (2.0 * a)[:, None] * U[None, :]  # 2 a_i U_m
    coef_od = coef.copy()
    coef_od[idx, idx] = 0.0  # diagonal terms handled through s(q)
    N = n + n * d
    H = np.empty((N, N))
    # a-a block
    H[:n, :n] = 2.0 * G[ss]
    # a-W block: H_aW[i, l, :]
    aG2 = 4.0 * a[None, :] * G2[ss]
    aG3 = 2.0 * a[None, :] * G3[ss]
    HaW = aG2[:, :, None] * W[None, :, :] + aG3[:, :, None] * W[:, None, :]
    rows = P._grad_rows(n, U, Y, geom, W, G1, G3)
    HaW[idx, idx, :] = 2.0 * rows + (2.0 * a * s1)[:, None] * W
    H[:n, n:] = HaW.reshape(n, n * d)
    H[n:, :n] = H[:n, n:].T
    if not P.activation.smooth:
        _ww_weight_space(P, H[n:, n:].reshape(n, d, n, d), a, W, Y, U, s1, s2)
        return H
    # W-W off-diagonal blocks (i != l): 2 a_i a_l [w_i (x) T1 + w_l (x) T2 + g3 I]
    aa = 2.0 * a[:, None] * a[None, :]
    aa[idx, idx] = 0.0
    T1 = (aa * 4.0 * G12[ss])[:, :, None] * W[None, :, :] + (aa * 2.0 * G13[ss])[:, :, None] * W[:, None, :]
    T2 = (aa * 2.0 * G23[ss])[:, :, None] * W[None, :, :] + (aa * G33[ss])[:, :, None] * W[:, None, :]
    # one batched matmul with inner dimension 2, written straight into a view of H
    H4 = H[n:, n:].reshape(n, d, n, d)
    Aw = np.empty((n, n, d, 2))
    Aw[..., 0] = W[:, None, :]
    Aw[..., 1] = W[None, :, :]
    Bt = np.empty((n, n, 2, d))
    Bt[:, :, 0] = T1
    Bt[:, :, 1] = T2
    np.matmul(Aw, Bt, out=H4.transpose(0, 2, 1, 3))
    g3I = aa * G3[ss]
    dd = np.arange(d)
    H4[:, dd, :, dd] += g3I[None, :, :]
    # W-W diagonal blocks
    c1 = 2.0 * (coef_od * G1).sum(axis=1) + 2.0 * a * a * s1
    c11 = 4.0 * (coef_od * G11).sum(axis=1) + 4.0 * a * a * s2
    Z = (2.0 * coef_od * G13) @ Y  # (n, d)
    M33 = coef_od * G33
    B = np.matmul(Y.T[None, :, :], M33[:, :, None] * Y[None, :, :])  # (n, d, d)
    B += c11[:, None, None] * W[:, :, None] * W[:, None, :]
    B += W[:, :, None] * Z[:, None, :] + Z[:, :, None] * W[:, None, :]
    B[:, dd, dd] += c1[:, None]
    H4[idx, :, idx, :] = B
    return H

def _ww_weight_space(P, H4, a, W, Y, U, s1, s2) -> None:
    """Piecewise-linear family: the W-W blocks from the weight-space second derivatives of g
    (``copyavg.numeric.angular``), finite and accurate through collinear neurons, plus the
    terms ``a_i^2 s(|w_i|^2)``; written into the view ``H4`` (n, d, n, d)."""
    n, d = W.shape
    idx, dd = np.arange(n), np.arange(d)
    student_block_hessian(P.activation.name, a, W, Y, U, out=H4)
    H4[idx, :, idx, :] += (4.0 * a * a * s2)[:, None, None] * W[:, :, None] * W[:, None, :]
    H4[idx[:, None], dd[None, :], idx[:, None], dd[None, :]] += (2.0 * a * a * s1)[:, None]
