r"""The P-n-C stability margin at very large k, in mpmath (docs/theory.md §8).

At ``k`` beyond about ``10⁷`` the float64 route of ``copyavg.numeric.thresholds_continuous``
loses its accuracy: the window sums add ``M = k − n`` equal class contributions to terms of order
one, so cancellation costs ``log10(k)`` digits and the reduced Newton solve stalls at
``max|∇L| ≈ 1e-8`` from ``k = 10⁹``. Here the P-n-C point is polished by Newton in mpmath (the
window ``Window(st, dps)`` gives the exact reduced gradient and Hessian in ``dps`` digits, from the
float solution as the starting point) and the smallest diagonally scaled eigenvalue of every
symmetry block is computed in mpmath (``mpmath.eigsy``). The change of basis that reduces each
pencil ``(M, G)`` to a symmetric matrix is formed in float64 from the exact integer counts ``G``:
a congruence, so it keeps the inertia, and its rounding perturbs the scaled eigenvalues by about
``1e-16`` only.

``pnc_margin`` of ``copyavg.numeric.thresholds_continuous`` calls this route for
``k > MP_ABOVE``. Accepted ``k <= MAX_K``: up to there the float continuation still gives a
starting point inside Newton's basin (checked: the mpmath margins agree with float64 to 1e-5
relative at ``k = 10⁶, 10⁷``, and the polished gradient is below ``1e-20``).
"""

from __future__ import annotations

import mpmath
import numpy as np

from ._sym_window import Structure, Window
from .pnc_reduced import _newton, _reduced_gradient, _reduced_hessian, _reduced_gradient_entries
from .symmetry import _pencils

#: ``pnc_margin`` switches to this route above this k
MP_ABOVE = 10**7
#: the largest k accepted (the float starting point must lie in Newton's basin)
MAX_K = 10**12
#: working digits: ``log10(MAX_K)`` are lost to the class sums, 25 stay
DPS = 40


def _structure(act: str, k: int, N, x) -> Structure:
    return Structure(act, k, k + 1, N, x[0], x[2], x[1], x[3])  # x = (alpha, beta, gamma, c)


def float_start(act: str, k: int, N, guess) -> np.ndarray:
    """Float Newton on the reduced equations without the accuracy check (a starting point only)."""
    def st(x):
        return _structure(act, k, N, [float(v) for v in x])

    x, _ = _newton(lambda x: _reduced_gradient(Window(st(x)))[0], lambda x: _reduced_hessian(st(x)),
                   lambda x: _reduced_gradient(Window(st(x)))[1], np.asarray(guess, float), 1e-13, 30)
    return x


def _reduced_gradient_mp(window: Window) -> list:
    return _reduced_gradient_entries(window, mpmath.sqrt)[0]


def polish(act: str, k: int, N, x0, dps: int = DPS, steps: int = 12):
    """The P-n-C point in ``dps`` digits by Newton from ``x0`` and its largest reduced gradient entry."""
    with mpmath.workdps(dps):
        x = [mpmath.mpf(float(v)) for v in x0]
        for _ in range(steps):
            st = _structure(act, k, N, x)
            win = Window(st, dps)
            H = _reduced_hessian(st, window=win)
            dx = mpmath.lu_solve(mpmath.matrix([[H[i, j] for j in range(4)] for i in range(4)]),
                                 mpmath.matrix(_reduced_gradient_mp(win)))
            x = [x[i] - dx[i] for i in range(4)]
            if max(abs(v) for v in dx) < mpmath.mpf(10) ** (8 - dps):
                break
        g = max(abs(v) for v in _reduced_gradient_mp(Window(_structure(act, k, N, x), dps)))
    return x, g


def _scaled_min_eig(B: mpmath.matrix):
    n = B.rows
    d = [1 / mpmath.sqrt(abs(B[i, i])) if B[i, i] != 0 else mpmath.mpf(1) for i in range(n)]
    S = mpmath.matrix(n, n)
    for i in range(n):
        for j in range(n):
            S[i, j] = d[i] * (B[i, j] + B[j, i]) / 2 * d[j]
    return min(mpmath.eigsy(S, eigvals_only=True))


def scaled_margin(act: str, k: int, N, x, dps: int = DPS):
    """Smallest diagonally scaled eigenvalue over the symmetry blocks of the P-n-C point ``x``."""
    lo = None
    with mpmath.workdps(dps):
        st = _structure(act, k, N, x)
        for _sector, _tau, M, G, _mult in _pencils(st, window=Window(st, dps)):
            lam, V = np.linalg.eigh(np.asarray(G, float))
            keep = lam > 1e-9 * max(1.0, float(lam.max(initial=0.0)))
            if not keep.any():
                continue
            T = mpmath.matrix((V[:, keep] / np.sqrt(lam[keep])).tolist())
            B = T.T * mpmath.matrix(M.tolist()) * T
            e = _scaled_min_eig(B)
            lo = e if lo is None or e < lo else lo
    return lo


def pnc_margin_mp(act: str, k: int, N, guess, dps: int = DPS) -> float:
    """The scaled P-n-C margin at real ``N`` copies (``k <= MAX_K``) from a float ``guess`` of the point.

    Raises ``ValueError`` when Newton does not reach ``max|reduced gradient| < 10^(20 - dps)``.
    """
    if not 6 <= k <= MAX_K:
        raise ValueError(f"k must be in [6, {MAX_K:.0e}] for the mpmath P-n-C route, got {k!r}")
    x, g = polish(act, k, N, float_start(act, k, N, guess), dps)
    if not g < mpmath.mpf(10) ** (20 - dps):
        raise ValueError(f"no P-n-C point found at real n = {N} (k = {k}) in {dps} digits: "
                         f"max|reduced gradient| = {mpmath.nstr(g, 3)}")
    return float(scaled_margin(act, k, N, x, dps))
