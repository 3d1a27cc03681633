"""Pair sums of the quadrature family (``copyavg.numeric.series``): Gauss-Hermite grids, the
truncated Hermite series over all pairs with their bounds, collinear pairs by 1-D quadrature."""

from __future__ import annotations

import functools

import numpy as np

#: requested bound on every kernel value, relative to ``sqrt(E f1^2 E f2^2)``
TOL = 1e-10
#: pairs with |rho| above this use all the terms of their tier (no early truncation)
NEAR_RHO = 0.5
#: the quadrature error of the coefficients enters the bounds as this multiple of its estimate
#: (M nodes against 2M at the tier's largest norm: an estimate, not a proof); the tails T get
#: ``2 QUAD_SAFETY err S`` added (|sum c^2 - sum c_M^2| <= 2 |c - c_M| |c| + |c - c_M|^2)
QUAD_SAFETY = 2.0


@functools.lru_cache(maxsize=24)
def _tier_grid(M: int, ncol: int | None = None):
    """Nodes ``x``, square roots of the weights (summing to 1) and ``Q[j, n] = sqrt(w_j) h_n(x_j)``
    for ``n <= M // 2`` (orthonormal columns; the recursion starts from ``sqrt(w)``, so the
    Hermite values themselves never overflow)."""
    from scipy.special import roots_hermitenorm

    with np.errstate(under="ignore"):  # weights below the smallest double: 0, negligible
        x, w = roots_hermitenorm(M)
        sw = np.sqrt(w / w.sum())
    N = M // 2 if ncol is None else min(ncol, M // 2)  # fewer columns: the references of the tier search
    Q = np.empty((M, N + 1))
    Q[:, 0] = sw
    Q[:, 1] = x * sw
    with np.errstate(under="ignore"):
        for n in range(1, N):
            Q[:, n + 1] = (x * Q[:, n] - np.sqrt(n) * Q[:, n - 1]) / np.sqrt(n + 1)
    return x, sw, Q


def _rho(C11, C22, C12):
    with np.errstate(all="ignore"):
        r = C12 / (np.sqrt(C11) * np.sqrt(C22))
    return np.clip(np.where((C11 > 0) & (C22 > 0), r, 0.0), -1.0, 1.0)


def _tail(C, S):
    """``T_N = S - sum_{n<=N} c_n^2`` for every N (>= 0; rounding ~eps S kept as a floor)."""
    T = S[:, None] - np.cumsum(C * C, axis=1)
    return np.maximum(T, 4e-16 * S[:, None])


def _series(A, B, rho):
    """``sum_n A[.., n] B[.., n] rho^n`` for gathered pairs (all arrays share the leading shape)."""
    P = np.cumprod(np.concatenate((np.ones(rho.shape + (1,)), np.repeat(rho[..., None], A.shape[-1] - 1, -1)), -1), -1)
    return np.einsum("...n,...n,...n->...", A, B, P)


def _stack(cp, t, ks, q, side, upto):
    """Coefficients, second moments and tails of ``sigma^(k)`` for the ``k`` on ``side`` of ``ks``."""
    m = {k: cp.moments(t, k, q, upto) for k in {pair[side] for pair in ks}}
    return tuple(np.stack([m[pair[side]][j] for pair in ks]) for j in range(3))


def _cross_pairs(cp, t: int, ks, qA, qB, rho):
    """``g[sigma^(kA), sigma^(kB)]`` for every ``(kA, kB)`` in ``ks`` and all pairs (rows qA against
    columns qB): ``(values, bounds, scales)``, arrays of shape ``(len(ks), n, m)``.

    Pairs with ``|rho| <= NEAR_RHO`` take the fewest terms ``Nd <= Ns`` meeting ``TOL / 10`` at
    their largest ``|rho|`` (one Horner pass for all kernels); the others ``_near_pairs``."""
    _, M, N, errs, Ns = cp.tiers[t]
    A, SA, TA = _stack(cp, t, ks, qA, 0, Ns)
    B, SB, TB = _stack(cp, t, ks, qB, 1, Ns)
    scale = np.sqrt(SA[:, :, None] * SB[:, None, :])
    absr = np.abs(rho)
    near = absr > NEAR_RHO
    r_far = float(np.max(np.where(near, 0.0, absr), initial=0.0))
    rel = np.sqrt((TA / np.maximum(SA, 1e-300)[..., None]).max((0, 1))
                  * (TB / np.maximum(SB, 1e-300)[..., None]).max((0, 1)))
    ok = np.flatnonzero(r_far ** np.arange(1, Ns + 2) * rel <= TOL / 10)
    Nd = int(ok[0]) if ok.size else Ns
    val = A[:, :, None, Nd] * B[:, None, :, Nd]
    for n in range(Nd - 1, -1, -1):  # Horner over the far terms, all kernels at once
        val *= rho
        val += A[:, :, None, n] * B[:, None, :, n]
    bound = absr ** (Nd + 1) * np.sqrt(TA[:, :, None, Nd] * TB[:, None, :, Nd])
    if near.any():
        _near_pairs(cp, t, ks, qA, qB, rho, near, val, bound)
    bound += scale * QUAD_SAFETY * np.array([errs[kA] + errs[kB] for kA, kB in ks])[:, None, None]  # coefficients
    return val, bound, scale


def _near_pairs(cp, t, ks, qA, qB, rho, near, val, bound) -> None:
    """In place: pairs with ``|rho| > NEAR_RHO``. Collinear ones (``|rho| >= 1 - 1e-13``, e.g. a
    neuron with itself) by the 1-D quadrature ``E[f1(sqrt(C11) z) f2(+-sqrt(C22) z)]`` (error: that
    of the quadrature plus ``1e-13`` times the rho-derivative); the others by all N terms."""
    _, M, N = cp.tiers[t][:3]
    collinear = near & (np.abs(rho) >= 1 - 1e-13)
    if collinear.any():
        i, m = np.nonzero(collinear)
        flip = rho[i, m] < 0  # sigma(-sqrt(q) x_j) is the value at the mirrored node
        with np.errstate(under="ignore"):  # squared tiny Gauss-Hermite weights flush to 0: harmless
            w = _tier_grid(M)[1] ** 2
        for j, (kA, kB) in enumerate(ks):
            FA = cp.node_values(kA, np.ascontiguousarray(qA[i]), M)
            FB = cp.node_values(kB, np.ascontiguousarray(qB[m]), M)
            FB = np.where(flip[:, None], FB[:, ::-1], FB)
            val[j, i, m] = (FA * FB) @ w
            bound[j, i, m] = 0.0
    rest = near & ~collinear
    if rest.any():
        i, m = np.nonzero(rest)
        ui, ii = np.unique(i, return_inverse=True)
        um, mm = np.unique(m, return_inverse=True)
        A, _, TA = _stack(cp, t, ks, qA[ui], 0, N)
        B, _, TB = _stack(cp, t, ks, qB[um], 1, N)
        r = rho[i, m]
        val[:, i, m] = _series(A[:, ii], B[:, mm], r)
        bound[:, i, m] = np.abs(r) ** (N + 1) * np.sqrt(TA[:, ii, N] * TB[:, mm, N])


def _cross_elementwise(cp, t: int, ks, qA, qB, rho):
    """As ``_cross_pairs`` for 1-d arrays taken element by element: arrays of shape ``(len(ks), size)``."""
    N, errs = cp.tiers[t][2], cp.tiers[t][3]
    out = []
    for kA, kB in ks:
        A, SA, TA = cp.moments(t, kA, qA, N)
        B, SB, TB = cp.moments(t, kB, qB, N)
        scale = np.sqrt(SA * SB)
        bound = np.abs(rho) ** (N + 1) * np.sqrt(TA[:, N] * TB[:, N])
        out.append((_series(A, B, rho), bound + scale * QUAD_SAFETY * (errs[kA] + errs[kB]), scale))
    return tuple(np.stack(x) for x in zip(*out))
