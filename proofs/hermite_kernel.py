r"""Rigorous enclosures of the quadrature-family pair kernel by its Hermite (Mehler) series.

For ``sigma`` in tanh, sigmoid, softplus, silu and ``(u1, u2)`` centered Gaussian with variances
``q1, q2`` and correlation ``rho``,

    g = sum_n c_n(q1) c_n(q2) rho^n,   c_n(q) = E[sigma(sqrt(q) z) He_n(z)] / sqrt(n!)

(Mehler's formula; ``He_n`` the probabilists' Hermite polynomials, orthonormal after dividing by
``sqrt(n!)``). By Cauchy-Schwarz and Parseval the terms after ``n = N`` add at most
``|rho|^(N+1) sqrt(T_N(q1) T_N(q2))`` with ``T_N(q) = s(q) - sum_{n<=N} c_n(q)^2``,
``s(q) = E[sigma(sqrt(q) z)^2]``.

Every ``c_n`` and ``s`` is a 1-D Gaussian integral of an analytic function, enclosed in arb:
``acb.integral`` on ``[0, R]`` (each activation is a known constant or linear part plus an odd
or even part, so half the coefficients vanish exactly and the rest are twice the integral over
``[0, R]``), plus the Gaussian tail beyond ``R``, bounded with ``|part(x)| <= A + B|x|`` by
Cauchy-Schwarz: ``|int_{|z|>R} part He_n phi| / sqrt(n!) <= sqrt(int_{|z|>R} part^2 phi)`` and
``int_{|z|>R} (A + B sqrt(q)|z|)^2 phi <= 2 A^2 erfc(R/sqrt 2) + 2 B^2 q (2 R phi(R) + erfc(R/sqrt 2))``.

The parts: tanh odd (``A = 1``); sigmoid ``1/2 + tanh(x/2)/2`` (``A = 1/2``); softplus
``x/2 + log(2 cosh(x/2))`` (``A = log 2, B = 1/2``); silu ``x/2 + x tanh(x/2)/2`` (``B = 1/2``).
"""

from __future__ import annotations

import math

NAMES = ("tanh", "sigmoid", "softplus", "silu")
#: integration cut-off: the tail bound is ~ sqrt(q R phi(R)) ~ 1e-21 sqrt(q)
R_CUT = 14


def _part(name: str):
    """(part(x, analytic) on acb, parity 'odd'/'even', A, B) of ``sigma`` (module docstring)."""
    if name == "tanh":
        return (lambda x, an: x.tanh()), "odd", 1.0, 0.0
    if name == "sigmoid":
        return (lambda x, an: (x / 2).tanh() / 2), "odd", 0.5, 0.0
    if name == "silu":
        return (lambda x, an: x * (x / 2).tanh() / 2), "even", 0.0, 0.5
    if name == "softplus":
        def f(x, an):
            w = 2 * (x / 2).cosh()
            return w.log(analytic=an)  # principal log: analytic while the box avoids the branch cut

        return f, "even", math.log(2.0) + 1e-15, 0.5
    raise ValueError(f"activation must be one of {', '.join(NAMES)}, got {name!r}")


def _check_q(q) -> None:
    from flint import arb, fmpq

    if not isinstance(q, (int, fmpq, arb)) or not q > 0:
        raise ValueError(f"q (a variance) must be a positive int, fmpq or arb, got {q!r}")


def _tail_sq(name: str, q):
    """An arb upper bound of ``int_{|z| > R} part(sqrt(q) z)^2 phi(z) dz``."""
    from flint import arb

    _, _, A, B = _part(name)
    R = arb(R_CUT)
    erfc = (R / arb(2).sqrt()).erfc()
    phiR = (-R * R / 2).exp() / (2 * arb.pi()).sqrt()
    return 2 * arb(A) ** 2 * erfc + 2 * arb(B) ** 2 * arb(q) * (2 * R * phiR + erfc)


def _half_integral(f, prec_bits: int):
    from flint import acb, arb

    tol = arb(2) ** (-prec_bits + 8)
    return acb.integral(f, 0, R_CUT, rel_tol=tol, abs_tol=tol).real


def coefficients(name: str, q, N: int, prec: int = 96) -> tuple[list, object]:
    """``[c_0(q), .., c_N(q)]`` and ``s(q)`` as arb balls (module docstring).

    Parameters
    ----------
    name : {"tanh", "sigmoid", "softplus", "silu"}
    q : int, fmpq or arb
        The variance, ``> 0``.
    N : int
        Last index, ``0 <= N <= 200``.
    prec : int, default 96
        arb working precision (bits).

    Returns
    -------
    (list of arb, arb)
    """
    from flint import acb, arb, ctx

    part, parity, _, _ = _part(name)
    _check_q(q)
    if not (isinstance(N, int) and 0 <= N <= 200):
        raise ValueError(f"N must be an integer in [0, 200], got {N!r}")
    old = ctx.prec
    ctx.prec = prec
    try:
        sq = arb(q).sqrt()
        norm = 2 / (2 * arb.pi()).sqrt()  # twice the half-line integral, times the density's constant
        tail = _tail_sq(name, q).sqrt()
        roots = [arb(k).sqrt() for k in range(N + 2)]
        cs = []
        for n in range(N + 1):
            if (n % 2 == 1) != (parity == "odd"):
                cs.append(arb(0))
                continue

            def integrand(z, an, n=n):  # h_n = He_n/sqrt(n!) by its three-term recurrence (no cancellation of n!)
                h0, h1 = acb(1), z
                for k in range(1, n):
                    h0, h1 = h1, (z * h1 - roots[k] * h0) / roots[k + 1]
                he = h0 if n == 0 else h1
                return part(sq * z, an) * he * (-z * z / 2).exp()

            val = norm * _half_integral(integrand, prec)
            cs.append(val + arb(0, tail.upper()))
        s_part = norm * _half_integral(lambda z, an: part(sq * z, an) ** 2 * (-z * z / 2).exp(), prec)
        s_part = s_part + arb(0, _tail_sq(name, q).upper())  # the part beyond R: in [0, tail]
        # the exactly known pieces: sigmoid's constant 1/2 (c_0), the linear x/2 of softplus, silu (c_1)
        if name == "sigmoid":
            cs[0] = arb(1) / 2
            s = s_part + arb(1) / 4
        elif parity == "even" and N >= 1:
            cs[1] = sq / 2
            s = s_part + arb(q) / 4
        elif parity == "even":
            s = s_part + arb(q) / 4
        else:
            s = s_part
        return [+c for c in cs], +s
    finally:
        ctx.prec = old


def kernel_from_coefficients(c1: list, s1, c2: list, s2, rho):
    """``g`` from two coefficient lists (same length N + 1) and second moments, with the
    truncation bound ``|rho|^(N+1) sqrt(T_N(q1) T_N(q2))`` added as a ball radius."""
    from flint import arb

    rho = arb(rho)
    g, p = arb(0), arb(1)
    for a, b in zip(c1, c2):
        g += a * b * p
        p *= rho
    T1 = s1 - sum((c * c for c in c1), arb(0))
    T2 = s2 - sum((c * c for c in c2), arb(0))
    T1u, T2u = max(T1.upper(), arb(0)), max(T2.upper(), arb(0))
    bound = abs(p).upper() * (arb(T1u) * arb(T2u)).sqrt().upper()
    return g + arb(0, bound)


def pair_kernel_arb(name: str, q1, q2, c12, N: int = 40, prec: int = 96):
    """An arb ball containing ``g(q1, q2, c12) = E[sigma(u1) sigma(u2)]`` (module docstring).

    Parameters
    ----------
    name : {"tanh", "sigmoid", "softplus", "silu"}
    q1, q2 : int, fmpq or arb
        Variances, ``> 0``.
    c12 : int, fmpq or arb
        Covariance, ``|c12| <= sqrt(q1 q2)``.
    N : int, default 40
        Number of Hermite terms minus one.
    prec : int, default 96
        arb precision (bits).

    Returns
    -------
    arb
    """
    from flint import arb

    _check_q(q1)
    _check_q(q2)
    rho = arb(c12) / (arb(q1) * arb(q2)).sqrt()
    if not abs(rho) <= 1:
        raise ValueError(f"c12 must satisfy |c12| <= sqrt(q1 q2), got {c12!r}")
    c1, s1 = coefficients(name, q1, N, prec)
    c2, s2 = coefficients(name, q2, N, prec)
    return kernel_from_coefficients(c1, s1, c2, s2, rho)
