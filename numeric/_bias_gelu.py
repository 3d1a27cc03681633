r"""Closed-form biased pair kernel of gelu ``sigma(z) = z Phi(z)`` and its mean-derivatives.

For ``(u1, u2)`` Gaussian with means ``(m1, m2)`` and covariance ``C`` the mean-derivatives are
``M[a, b] = E[sigma^(a)(u1) sigma^(b)(u2)]`` (``copyavg.numeric._bias_kernels``). Leibniz's rule gives
``sigma^(a)(u) = u Phi^(a)(u) + a Phi^(a-1)(u)`` (``Phi^(0) = Phi``, ``Phi^(1) = phi``, ...), so

    M[a, b] = E12[a, b] + b E1[a, b-1] + a E2[a-1, b] + a b N[a-1, b-1]

with ``N[i, j] = E[Phi^(i)(u1) Phi^(j)(u2)]``, ``E1[i, j] = E[u1 Phi^(i)(u1) Phi^(j)(u2)]``,
``E2[i, j] = E[u2 ...]`` and ``E12[i, j] = E[u1 u2 ...]``. Stein's lemma
(``E[u1 F(u)] = m1 E[F] + C11 E[d1 F] + C12 E[d2 F]``) removes the factors ``u``:

    E1[i, j]  = m1 N[i, j] + C11 N[i+1, j] + C12 N[i, j+1]
    E2[i, j]  = m2 N[i, j] + C12 N[i+1, j] + C22 N[i, j+1]
    E12[i, j] = m1 E2[i, j] + C11 E2[i+1, j] + C12 (N[i, j] + E2[i, j+1])

and ``N[i, j]`` is the ``normal_cdf`` tower: ``Phi(u) = P(Z <= u)`` with ``Z ~ N(0, 1)`` independent,
so ``N[i, j] = E[s_i(v1) s_j(v2)]`` (``s_0 = step``, ``s_1 = delta``, ``s_i = delta^(i-1)``) for
``v = u - (Z1, Z2) ~ N(m, S)``, ``S = I + C``, whose determinant ``1 + C11 + C22 + D`` is ``>= 1``:
nothing is singular, not for collinear pairs, zero rows or the self term (``D = 0``). ``N[0, 0]``
is the bivariate normal distribution function (Owen's T, ``_bias_kernels.phi2_cdf``), ``N[i, 0]``
follows from the recursion of ``_bias_kernels.tower``, and ``N[i, j]`` (``i, j >= 1``) is
``H[i-1, j-1] p`` with ``p`` the density of ``N(0, S)`` at ``m`` and ``H`` the multivariate Hermite
polynomials ``H[a+1, b] = -y1 H[a, b] - a P11 H[a-1, b] - b P12 H[a, b-1]`` (``P = S^-1``,
``y = P m``). ``M[a, b]`` with ``a + b <= top`` needs ``N`` up to order ``top + 2``.

Numerical safety: written out, ``E12`` has four terms of size ``|C|^2`` (``C11 C22 N[a+1, b+1]``,
``C11 C12 N[a+2, b]``, ``C12^2 N[a+1, b+1]``, ``C12 C22 N[a, b+2]``) that cancel down to ``|C|`` for
nearly collinear pairs. The recursion in the mean, ``S11 N[a+2, b] = -m1 N[a+1, b] - a N[a, b] -
S12 N[a+1, b+1]`` (and its mirror), turns them into

    E12[a, b] = (m1 m2 + C12 (1 - a C11/S11 - b C22/S22)) N[a, b] + (m1 C12/S11 + m2 C11) N[a+1, b]
                + (m2 C12/S22 + m1 C22) N[a, b+1] + K N[a+1, b+1],
    K = (C11 C22 det(S) + C12^2) / (S11 S22)   (two terms >= 0),

whose terms are at most of the kernel's scale ``(1 + |m1| + |m2| + |w|)^2`` (instead of ``|w|^3``): the
rounding error is a few eps times that scale at norms and biases up to 100 (tests/test_biases_gelu.py).

The self term ``s(q, c) = E[sigma(sqrt(q) z + c)^2]`` is the pair kernel of the collinear pair
``C11 = C22 = C12 = q``: ``d^k s/dc^k = sum_j binom(k, j) M[j, k-j]``.
"""

from __future__ import annotations

from math import comb

import numpy as np

from ._bias_kernels import tower


def _hermite(top, y1, y2, P11, P22, P12):
    """``H[a, b]``, ``a + b <= top``: ``d^(a+b)/dm1^a dm2^b`` of the density of ``N(0, S)`` at ``m``
    divided by that density (``y = S^-1 m``, ``P = S^-1``)."""
    H = {(0, 0): 1.0}
    for n in range(1, top + 1):
        for a in range(n + 1):
            b = n - a
            if a:
                H[a, b] = (-y1 * H[a - 1, b] - ((a - 1) * P11 * H[a - 2, b] if a > 1 else 0.0)
                           - (b * P12 * H[a - 1, b - 1] if b else 0.0))
            else:
                H[a, b] = -y2 * H[a, b - 1] - ((b - 1) * P22 * H[a, b - 2] if b > 1 else 0.0)
    return H


def cdf_tower(top, C11, C22, C12, D, m1, m2):
    """``N[i, j] = E[Phi^(i)(u1) Phi^(j)(u2)]`` for ``i + j <= top`` (any ``top >= 1``).

    ``(u1, u2) ~ N((m1, m2), C)``, ``D = C11 C22 - C12^2 >= 0`` (given: from Lagrange's identity
    for near-collinear pairs).
    """
    S11, S22, S12 = 1.0 + C11, 1.0 + C22, C12
    det = 1.0 + C11 + C22 + D  # = S11 S22 - S12^2 without cancellation, >= 1
    T = tower(m1, m2, S11, S22, S12, det, False, 1)  # N00, N10, N01 and the density p = N11
    p = T[1, 1]
    H = _hermite(top - 2, (S22 * m1 - S12 * m2) / det, (S11 * m2 - S12 * m1) / det,
                 S22 / det, S11 / det, -S12 / det)
    for (a, b), h in H.items():
        T[a + 1, b + 1] = h * p
    b1, b2 = S12 / S11, S12 / S22
    for n in range(1, top):  # N[n+1, 0] = d/dm1 N[n, 0], from "marginal density x conditional cdf"
        prev1 = T[n - 1, 0] * ((n - 1) / S11) if n > 1 else 0.0
        prev2 = T[0, n - 1] * ((n - 1) / S22) if n > 1 else 0.0
        T[n + 1, 0] = -(m1 / S11) * T[n, 0] - prev1 - b1 * T[n, 1]
        T[0, n + 1] = -(m2 / S22) * T[0, n] - prev2 - b2 * T[1, n]
    return T


def gelu_moments(top, C11, C22, C12, D, m1, m2):
    """``{(a, b): M[a, b]}`` for ``a + b <= top`` (0, 2 or 4) of gelu, in closed form (module docstring).

    Parameters
    ----------
    top : int
        Highest total order ``a + b``.
    C11, C22, C12, D : array_like
        Covariances of ``(u1, u2)`` and ``D = C11 C22 - C12^2 >= 0`` (broadcast together).
    m1, m2 : array_like
        Means of ``u1`` and ``u2``.

    Returns
    -------
    dict
        ``(a, b) -> ndarray``.

    Examples
    --------
    >>> M = gelu_moments(0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0)  # independent: E[gelu(z)]^2 = (1/(2 sqrt(pi)))^2
    >>> bool(abs(M[0, 0] - 1 / (4 * np.pi)) < 1e-15)
    True
    """
    N = cdf_tower(top + 2, C11, C22, C12, D, m1, m2)
    S11, S22 = 1.0 + C11, 1.0 + C22
    # E12's terms C11 C12 N[a+2, b] and C12 C22 N[a, b+2] are reduced by the recursion in m1 (m2);
    # what multiplies N[a+1, b+1] is then K (both terms >= 0) instead of four terms of size |C|^2
    # that cancel to |C| for near-collinear pairs (module docstring)
    K = (C11 * C22 * (1.0 + C11 + C22 + D) + C12 * C12) / (S11 * S22)
    c10, c01 = m1 * C12 / S11 + m2 * C11, m2 * C12 / S22 + m1 * C22

    def E2(i, j):
        return m2 * N[i, j] + C12 * N[i + 1, j] + C22 * N[i, j + 1]

    def E1(i, j):
        return m1 * N[i, j] + C11 * N[i + 1, j] + C12 * N[i, j + 1]

    M = {}
    for a in range(top + 1):
        for b in range(top + 1 - a):
            c00 = m1 * m2 + C12 * (1.0 - a * C11 / S11 - b * C22 / S22)
            v = c00 * N[a, b] + c10 * N[a + 1, b] + c01 * N[a, b + 1] + K * N[a + 1, b + 1]  # E12[a, b]
            if b:
                v = v + b * E1(a, b - 1)
            if a:
                v = v + a * E2(a - 1, b)
            if a and b:
                v = v + a * b * N[a - 1, b - 1]
            M[a, b] = v
    return M


def gelu_diag(top, q, c):
    """``d^k/dc^k E[gelu(sqrt(q) z + c)^2]``, ``k = 0..top``: the collinear pair ``u1 = u2``."""
    q = np.asarray(q, dtype=float)
    M = gelu_moments(top, q, q, q, np.zeros_like(q), c, c)
    return [sum(comb(k, j) * M[j, k - j] for j in range(k + 1)) for k in range(top + 1)]
