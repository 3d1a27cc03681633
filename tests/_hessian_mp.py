"""Reference Hessian of the population loss at high precision (not a test module).

The chain rule through ``(C11, C22, C12)`` with the generated mpmath kernels and their second
partials (``copyavg.numeric.mp``), the diagonal terms ``a_i^2 s(|w_i|^2)`` from ``s, s', s''``:
the textbook formula whose float64 version cancels at large ``|w_i|``. At ``dps`` digits it is
exact to ~``10^-dps`` of its largest term; the terms exceed the result by at most ~``(|w_i| |y_m|)^2``
(collinear large pairs: terms ~|w|, radial entries ~1/|w|^3), so ``hessian_mp`` raises the
precision by that many digits. It is
independent of ``copyavg.numeric._hessian_erf`` (no unit-ball variables) and is itself checked
against central differences of ``gradient_mp`` in ``tests/test_erf_hessian.py``.
"""

from __future__ import annotations

import mpmath

from copyavg.numeric._generated_kernels_mp import KERNELS as MP_KERNELS
from copyavg.numeric.mp import pair_kernel_mp


def _dot(x, y):
    return mpmath.fsum(a * b for a, b in zip(x, y))


def hessian_mp(a, W, b, V, act, dps=40):
    """``H`` as a list of lists of mpf, order ``(a, W row by row)``; ``dps`` digits beyond the
    cancellation of the chain-rule terms (which is estimated from the largest norm)."""
    n, d = len(a), len(W[0])
    with mpmath.workdps(30):
        big = max([mpmath.mpf(1)] + [_dot(*(2 * [[mpmath.mpf(x) for x in y]])) for y in list(W) + list(V)])
        extra = 2 * int(mpmath.log10(big)) + 10  # terms / result <= ~(|w| |y|)^2 (d = 1, collinear)
    with mpmath.workdps(dps + extra):
        Y = [[mpmath.mpf(x) for x in y] for y in list(W) + list(V)]
        U = [mpmath.mpf(x) for x in a] + [-mpmath.mpf(x) for x in b]
        q = [_dot(y, y) for y in Y]
        N = n + n * d
        H = [[mpmath.mpf(0)] * N for _ in range(N)]
        for i in range(n):
            s, s1, s2 = MP_KERNELS[act][3](q[i])
            H[i][i] += 2 * s
            for e in range(d):
                H[i][n + i * d + e] += 4 * U[i] * s1 * Y[i][e]
                for f in range(d):
                    H[n + i * d + e][n + i * d + f] += U[i] ** 2 * (4 * s2 * Y[i][e] * Y[i][f] + 2 * s1 * (e == f))
            for m in range(n + len(V)):
                if m != i:
                    _pair(H, i, m, n, d, Y, U, q, act)
        for r in range(n, N):  # the a-W blocks were filled above the diagonal only
            for c in range(n):
                H[r][c] = H[c][r]
        return H


def _pair(H, i, m, n, d, Y, U, q, act):
    """Terms of ``2 U_i U_m g(w_i, y_m)`` (the loss counts the pair twice when m is a student)."""
    g, g1, g2, g3, g11, g12, g13, g22, g23, g33 = pair_kernel_mp(act, q[i], q[m], _dot(Y[i], Y[m]), 2)
    w, y = Y[i], Y[m]
    if m < n:
        H[i][m] += 2 * g  # d^2/da_i da_m of 2 a_i a_m g
    for e in range(d):
        H[i][n + i * d + e] += 2 * U[m] * (2 * g1 * w[e] + g3 * y[e])
        if m < n:  # d/da_i d/dw_m of 2 a_i a_m g(w_i, w_m)
            H[i][n + m * d + e] += 2 * U[m] * (2 * g2 * y[e] + g3 * w[e])
    k = 2 * U[i] * U[m]
    for e in range(d):
        for f in range(d):
            H[n + i * d + e][n + i * d + f] += k * (
                4 * g11 * w[e] * w[f] + 2 * g13 * (w[e] * y[f] + y[e] * w[f]) + g33 * y[e] * y[f] + 2 * g1 * (e == f))
            if m < n:
                H[n + i * d + e][n + m * d + f] += k * (
                    4 * g12 * w[e] * y[f] + 2 * g13 * w[e] * w[f] + 2 * g23 * y[e] * y[f] + g33 * y[e] * w[f]
                    + g3 * (e == f))
