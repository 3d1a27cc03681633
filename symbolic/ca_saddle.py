r"""Where the optimal CA point turns into a saddle, in closed form (erf family; docs/theory.md §8).

Teacher ``v_j = e_j`` (``j < k``), ``b_j = 1``; ``sigma(z) = erf(lam z)``, ``Y = 2 lam^2`` (erf2:
``Y = 1``, erf: ``Y = 2``). The optimal CA point has ``N = n - 1`` copies (``w_c = e_c``, ``a_c = 1``)
and one student averaging ``m = k - n + 1`` teachers, ``w_E = r u`` with ``u`` the normalised sum of
its teacher directions, ``2 lam^2 r^2 = Y / (m + (m - 1) Y)``, ``a_E = m`` (§4). The block that
loses positivity is the ``xp`` trivial one: every copy and the averaging student move along one
unit direction ``x`` of the averaged span orthogonal to ``u`` (``sum_j x_j = 0``,
``sum_j x_j^2 = 1`` over the averaged teachers). On ``w_c -> w_c + s x``, ``w_E -> w_E + t x`` the
loss is a sum of kernel values whose arguments are explicit in ``(s, t)``; the sum over the
averaged teachers is expanded to second order with the two moment conditions. The 2 x 2 Hessian in
``(s, t)`` is a closed-form function of real ``N`` and ``m``; its determinant vanishes exactly at
the CA threshold (checked against the numeric blocks in
``tests/test_thresholds_continuous.py``), and its expansion for ``m = C sqrt(k) + D``,
``N = k - m``, ``k -> infinity`` gives ``C`` and ``D``.
"""

from __future__ import annotations

import sympy as sp

__all__ = ["xp_block", "xp_determinant", "saddle_asymptotics"]

N, m, s, t = sp.symbols("N m s t", positive=True)


def _kernel(Y):
    q1, q2, c = sp.symbols("q1 q2 c")
    l2 = Y / 2
    G = 2 / sp.pi * sp.asin(2 * l2 * c / sp.sqrt((1 + 2 * l2 * q1) * (1 + 2 * l2 * q2)))
    g = sp.Lambda((q1, q2, c), G)
    gcc = sp.Lambda((q1, q2, c), sp.diff(G, c, 2))
    return g, gcc


def xp_block(Y=1) -> sp.Matrix:
    """The 2 x 2 Hessian of the loss in ``(s, t)`` (all copies along ``x`` by ``s``, the averaging
    student by ``t``), symbolic in ``N`` (copies) and ``m`` (group size), both real.

    Parameters
    ----------
    Y : sympy number, default 1
        ``2 lam^2`` for ``sigma(z) = erf(lam z)`` (erf2: 1, erf: 2).

    Returns
    -------
    sympy.Matrix
        In the unnormalised basis: divide row/column ``s`` by ``sqrt(N)`` for an orthonormal one.

    Examples
    --------
    >>> H = xp_block()
    >>> sp.simplify(H[0, 1] - 2 * N * sp.sqrt(m * (2 * m - 1)) / sp.pi)
    0
    """
    Y = sp.sympify(Y)
    g, gcc = _kernel(Y)
    r2 = Y / (m + (m - 1) * Y) / Y  # r^2 = X / (2 lam^2), X = Y / (m + (m - 1) Y)
    r, aE = sp.sqrt(r2), m
    Qc, QE = 1 + s ** 2, r2 + t ** 2
    L = (N * g(Qc, Qc, Qc) + N * (N - 1) * g(Qc, Qc, s ** 2) + 2 * N * aE * g(Qc, QE, s * t)
         + aE ** 2 * g(QE, QE, QE))
    L += -2 * N * (g(Qc, 1, 1) + (N - 1) * g(Qc, 1, 0) + m * g(Qc, 1, 0) + s ** 2 / 2 * gcc(1, 1, 0))
    L += -2 * aE * (N * g(QE, 1, 0) + m * g(QE, 1, r / sp.sqrt(m)) + t ** 2 / 2 * gcc(r2, 1, r / sp.sqrt(m)))
    H = sp.hessian(L, (s, t)).subs({s: 0, t: 0})
    # m > 1/2: write m = (w + 1)/2 with w > 0 so that |2m - 1| and the powers simplify
    w = sp.Symbol("w", positive=True)
    return H.applyfunc(lambda e: sp.simplify(e.subs(m, (w + 1) / 2)).subs(w, 2 * m - 1))


def xp_determinant(Y=1):
    """``det xp_block(Y)`` (same sign as the block's smaller eigenvalue: the diagonal is positive).

    Parameters
    ----------
    Y : sympy number, default 1
        ``2 lam^2``.

    Returns
    -------
    sympy.Expr
        In ``N``, ``m``.

    Examples
    --------
    >>> d = xp_determinant()
    >>> bool(d.subs({N: 7, m: 3}) > 0), bool(d.subs({N: 8, m: 2}) < 0)  # k = 10: n = 8 min, 9 saddle
    (True, True)
    """
    H = xp_block(Y)
    return H[0, 0] * H[1, 1] - H[0, 1] ** 2


def saddle_asymptotics(Y=1) -> tuple:
    """``(C, D)`` with ``m* = C sqrt(k) + D + O(k^(-1/2))`` at the CA threshold.

    Parameters
    ----------
    Y : sympy number, default 1
        ``2 lam^2``.

    Returns
    -------
    tuple of sympy.Expr
        Exact; ``n*/k = 1 - C / sqrt(k) + (1 - D) / k + O(k^(-3/2))``.

    Examples
    --------
    >>> C, D = saddle_asymptotics()
    >>> sp.simplify(C**2 - (3 + 2 * sp.sqrt(3)) / 8), sp.simplify(D + sp.Rational(3, 16) + sp.sqrt(3) / 8)
    (0, 0)
    """
    x = sp.Symbol("x", positive=True)  # x = k^(-1/2)
    C, D = sp.Symbol("C", positive=True), sp.Symbol("D", real=True)
    H = xp_block(Y)
    # det = 0 with H00, H11 > 0  <=>  (H00 H11)^2 = H01^4: a polynomial equation in N, m
    F = sp.numer(sp.together(sp.expand((H[0, 0] * H[1, 1]) ** 2 - H[0, 1] ** 4)))
    F = F.replace(sp.Abs, lambda a: a)  # every argument is positive for m >= 1
    e = sp.expand(F.subs(N, 1 / x ** 2 - m).subs(m, C / x + D))
    top = sp.Poly(sp.expand(e * x ** 40), x)  # a polynomial in x once multiplied out
    coeffs = top.all_coeffs()[::-1]  # ascending powers of x
    p0 = next(i for i, cf in enumerate(coeffs) if sp.expand(cf) != 0)
    ser = sp.expand(coeffs[p0] + coeffs[p0 + 1] * x)
    lead = [v for v in sp.solve(sp.Eq(ser.coeff(x, 0), 0), C) if v.is_positive]
    Cv = sp.radsimp(lead[0])
    Dv = sp.solve(sp.Eq(sp.expand(ser.coeff(x, 1).subs(C, Cv)), 0), D)
    return sp.simplify(Cv), sp.radsimp(sp.simplify(Dv[0]))
