r"""Closed-form biased kernels of the monomials ``sigma(z) = z^p`` (``monomial2`` .. ``monomial5``).

For ``(u1, u2)`` Gaussian with means ``(m1, m2)`` and covariance ``[[C11, C12], [C12, C22]]``,
``sigma^(a)(u) = p!/(p-a)! u^(p-a)``, so every mean-derivative of the pair kernel is a mixed moment

    M[a, b] = d^(a+b) g / dm1^a dm2^b = (p)_a (p)_b F(p - a, p - b),   F(r, s) = E[u1^r u2^s],

with ``(p)_a = p (p-1) ... (p-a+1)`` (zero for ``a > p``). Writing ``u = m + x`` with ``x`` centred,
the binomial expansion and Isserlis' (Wick's) theorem give the exact finite sum

    F(r, s) = sum_{i, j} binom(r, i) binom(s, j) m1^(r-i) m2^(s-j) E[x1^i x2^j],
    E[x1^i x2^j] = sum_k  i! j! / (k! ((i-k)/2)! ((j-k)/2)! 2^((i+j)/2 - k))
                          C11^((i-k)/2) C22^((j-k)/2) C12^k,

(``k`` the number of pairs joining an ``x1`` to an ``x2``; ``i - k`` and ``j - k`` even), a
polynomial in ``C11, C22, C12, m1, m2`` with integer coefficients that needs no determinant: it holds
for collinear pairs and ``w = 0`` alike. The self term ``s(q, c) = E[(sqrt(q) z + c)^(2p)]`` has
``d^k s/dc^k = (2p)_k E[(sqrt(q) z + c)^(2p-k)]``, the one-variable case. Partials in ``C`` follow
from the heat equation as for the other closed forms (``copyavg.numeric._bias_kernels``).
"""

from __future__ import annotations

from functools import lru_cache
from math import comb, factorial

import numpy as np


def _falling(p: int, a: int) -> int:
    """``p (p-1) ... (p-a+1)`` (0 when ``a > p``)."""
    return factorial(p) // factorial(p - a) if a <= p else 0


@lru_cache(maxsize=None)
def mixed_moment_terms(r: int, s: int) -> tuple:
    """Terms ``(coef, e_m1, e_m2, e_C11, e_C22, e_C12)`` of ``F(r, s) = E[u1^r u2^s]`` (integer
    coefficients, the sum in the module docstring; like terms merged)."""
    terms: dict = {}
    for i in range(r + 1):
        for j in range(s + 1):
            for k in range(i % 2, min(i, j) + 1, 2):
                if (j - k) % 2:
                    continue
                h1, h2 = (i - k) // 2, (j - k) // 2
                wick = factorial(i) * factorial(j) // (factorial(k) * factorial(h1) * factorial(h2) * 2 ** (h1 + h2))
                key = (r - i, s - j, h1, h2, k)
                terms[key] = terms.get(key, 0) + comb(r, i) * comb(s, j) * wick
    return tuple((c,) + key for key, c in sorted(terms.items()) if c)


def _powers(x, top: int) -> list:
    out = [np.ones_like(x)]
    for _ in range(top):
        out.append(out[-1] * x)
    return out


def monomial_moments(act, top, C11, C22, C12, m1, m2):
    """``{(a, b): M[a, b]}`` for ``a + b <= top`` and ``sigma = z^p`` (the sum in the module docstring).

    Parameters
    ----------
    act : Activation
        ``monomial2`` .. ``monomial5``.
    top : int
        Largest order ``a + b``.
    C11, C22, C12, m1, m2 : array_like
        Covariances and means of the pairs (broadcast together).

    Returns
    -------
    dict
        ``(a, b) -> ndarray`` of the broadcast shape.

    Examples
    --------
    >>> from copyavg.numeric.activations import get_activation
    >>> M = monomial_moments(get_activation("monomial2"), 0, 1.0, 1.0, 0.5, 1.0, 2.0)
    >>> float(M[0, 0])  # E[u1^2 u2^2] = (C11 + m1^2)(C22 + m2^2) + 2 C12^2 + 4 C12 m1 m2
    14.5
    """
    p = int(act.name[len("monomial"):])
    C11, C22, C12, m1, m2 = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (C11, C22, C12, m1, m2)))
    P = [_powers(x, p) for x in (m1, m2)] + [_powers(x, p // 2) for x in (C11, C22)] + [_powers(C12, p)]
    zero = np.zeros(C11.shape)
    M = {}
    for a in range(top + 1):
        for b in range(top + 1 - a):
            scale = _falling(p, a) * _falling(p, b)
            if scale == 0:
                M[a, b] = zero
                continue
            v = zero
            for c, e1, e2, f1, f2, f12 in mixed_moment_terms(p - a, p - b):
                v = v + c * (P[0][e1] * P[1][e2] * P[2][f1] * P[3][f2] * P[4][f12])
            M[a, b] = scale * v
    return M


def monomial_diag(act, top, q, c):
    """``d^k/dc^k E[(sqrt(q) z + c)^(2p)]``, ``k = 0..top``, for ``sigma = z^p``.

    Parameters
    ----------
    act : Activation
        ``monomial2`` .. ``monomial5``.
    top : int
        Largest order ``k``.
    q, c : array_like
        ``|w|^2`` and the bias (broadcast together).

    Returns
    -------
    list of ndarray
        ``top + 1`` derivatives, ``(2p)_k sum_i binom(2p-k, 2i) (2i-1)!! q^i c^(2p-k-2i)``.

    Examples
    --------
    >>> from copyavg.numeric.activations import get_activation
    >>> [float(x) for x in monomial_diag(get_activation("monomial2"), 1, 1.0, 1.0)]  # E[(z+1)^4] = 3 + 6 + 1
    [10.0, 16.0]
    """
    p = int(act.name[len("monomial"):])
    q, c = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (q, c)))
    Pc, Pq = _powers(c, 2 * p), _powers(q, p)
    out = []
    for k in range(top + 1):
        n = 2 * p - k
        v = np.zeros(q.shape)
        for i in range(n // 2 + 1):
            dfact = factorial(2 * i) // (2 ** i * factorial(i))  # (2i - 1)!! = E[z^(2i)]
            v = v + comb(n, 2 * i) * dfact * Pq[i] * Pc[n - 2 * i]
        out.append(_falling(2 * p, k) * v)
    return out
