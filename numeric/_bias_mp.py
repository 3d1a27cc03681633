r"""High-precision (mpmath) reference for the loss with biases, independent of the float64 kernels.

Pair kernel ``g = E[sigma(u1) sigma(u2)]``, ``(u1, u2) ~ N((m1, m2), C)``:

- erf family and ``normal_cdf`` (``sigma = alpha Phi(s z) + gamma``): ``E[Phi(s u1) Phi(s u2)] =
  Phi2(h, k; rho)`` of ``N(-s m, I + s^2 C)``, with the bivariate normal distribution function
  from Plackett's identity ``Phi2(h, k; rho) = Phi(h) Phi(k) + int_0^rho phi2(h, k; r) dr``
  (a 1-D ``mpmath.quad``; no Owen's T, unlike the float64 route);
- piecewise-linear: ``E[sigma(u1) E[sigma(u2) | u1]]``, the inner expectation in closed form
  (``E[relu(N(mu, tau^2))] = mu Phi(mu/tau) + tau phi(mu/tau)``), the outer a 1-D quadrature split
  at the kink;
- gelu: ``E[gelu(u1) E[gelu(u2) | u1]]``, the inner expectation in closed form
  (``E[X Phi(X)] = mu Phi(mu/s) + tau^2 phi(mu/s)/s``, ``s = sqrt(1 + tau^2)``), the outer a 1-D
  quadrature split around the bends (any norm: the closed-form kernels are checked at ``|w| = 50``);
- every other activation: 2-D Gauss-Legendre ``mpmath.quad`` in the Cholesky factor on ``[-CUT, CUT]^2``
  (sigma of moderate growth; slow: seconds per pair at 20 digits).

Self term ``s(q, c) = E[sigma(sqrt(q) z + c)^2]``: a 1-D quadrature (split at the kink).
"""

from __future__ import annotations

import mpmath


#: the 2-D quadrature integrates over |z1|, |z2| <= CUT: the Gaussian mass beyond is below 1e-40
CUT = 14


def _phi2(h, k, rho):
    def dens(r):
        s = 1 - r * r
        return mpmath.exp(-(h * h - 2 * r * h * k + k * k) / (2 * s)) / (2 * mpmath.pi * mpmath.sqrt(s))

    return mpmath.ncdf(h) * mpmath.ncdf(k) + mpmath.quad(dens, [0, rho])


def _psi(mu, tau):  # E[relu(N(mu, tau^2))]
    if tau == 0:
        return max(mu, 0)
    t = mu / tau
    return mu * mpmath.ncdf(t) + tau * mpmath.npdf(t)


def pair_mp(act, C11, C22, C12, m1, m2):
    """``E[sigma(u1) sigma(u2)]`` at the current mpmath precision (``C11 > 0``)."""
    C11, C22, C12, m1, m2 = (mpmath.mpf(x) for x in (C11, C22, C12, m1, m2))
    if act.family in ("erf", "normal_cdf"):
        alpha, gamma, s = (2, -1, mpmath.sqrt(2) * act.params_mp()["lam"]) if act.family == "erf" else (1, 0, 1)
        S11, S22, S12 = 1 + s * s * C11, 1 + s * s * C22, s * s * C12
        h, k = s * m1 / mpmath.sqrt(S11), s * m2 / mpmath.sqrt(S22)
        g = alpha * alpha * _phi2(h, k, S12 / mpmath.sqrt(S11 * S22))
        return g + alpha * gamma * (mpmath.ncdf(h) + mpmath.ncdf(k)) + gamma * gamma
    L11 = mpmath.sqrt(C11)
    L21 = C12 / L11
    L22 = mpmath.sqrt(max(C22 - L21 * L21, 0))
    if act.family == "piecewise_linear":
        p = act.params_mp()
        al, be = p["alpha"], p["beta"]

        def outer(z1):
            mu = m2 + L21 * z1
            inner = be * _psi(mu, L22) - al * _psi(-mu, L22)
            return act.sigma_mp(m1 + L11 * z1) * inner * mpmath.npdf(z1)

        return mpmath.quad(outer, [-mpmath.inf, -m1 / L11, mpmath.inf])
    if act.family == "gelu":
        return _gelu_pair(act, L11, L21, L22, m1, m2)

    def f(z1, z2):
        return (act.sigma_mp(m1 + L11 * z1) * act.sigma_mp(m2 + L21 * z1 + L22 * z2)
                * mpmath.npdf(z1) * mpmath.npdf(z2))

    pts = mpmath.linspace(-CUT, CUT, 9)  # Gauss-Legendre on [-CUT, CUT]^2 (the tails: below 1e-40)
    return mpmath.quad(f, pts, pts, method="gauss-legendre")


def _features(center, width):
    """Breakpoints around a feature of ``width`` at ``center`` (gelu's bend, seen in z)."""
    return [center + k * width for k in (-30, -8, -3, -1, 0, 1, 3, 8, 30)]


def _gelu_pair(act, L11, L21, L22, m1, m2):
    """``E[gelu(u1) E[gelu(u2) | u1]]``: the inner ``E[X Phi(X)] = mu Phi(mu/s) + tau^2 phi(mu/s)/s``
    (``X ~ N(mu, tau^2)``, ``s = sqrt(1 + tau^2)``), the outer a 1-D quadrature in ``z1`` split
    around ``u1 = 0`` and ``mu = 0`` (bends of width ``1/L11`` and ``s/|L21|`` there)."""
    s = mpmath.sqrt(1 + L22 * L22)

    def outer(z1):
        mu = m2 + L21 * z1
        inner = mu * mpmath.ncdf(mu / s) + L22 * L22 * mpmath.npdf(mu / s) / s
        return act.sigma_mp(m1 + L11 * z1) * inner * mpmath.npdf(z1)

    pts = [-CUT, 0, CUT] + (_features(-m1 / L11, 1 / L11) if L11 else [])
    pts += _features(-m2 / L21, s / abs(L21)) if L21 else []
    pts = sorted(set(p for p in pts if -CUT <= p <= CUT))
    return mpmath.quad(outer, [-mpmath.inf] + pts + [mpmath.inf])


def self_mp(act, q, c):
    """``E[sigma(sqrt(q) z + c)^2]`` at the current mpmath precision."""
    q, c = mpmath.mpf(q), mpmath.mpf(c)
    r = mpmath.sqrt(q)
    pts = [-mpmath.inf, -c / r, mpmath.inf] if (q > 0 and act.kinks) else [-mpmath.inf, 0, mpmath.inf]
    if q > 0 and act.family == "gelu":  # the bend at u = 0 has width 1/r in z
        pts = [-mpmath.inf] + sorted(set(p for p in _features(-c / r, 1 / r) + [0] if -CUT <= p <= CUT)) + [mpmath.inf]
    return mpmath.quad(lambda z: act.sigma_mp(r * z + c) ** 2 * mpmath.npdf(z), pts)


def loss_mp(P, a, W, c, dps: int = 30):
    """``L = E[(f - f*)^2]`` of the student ``(a, W, c)`` for ``P`` (a BiasedProblem) with mpmath
    at ``dps`` digits (inputs taken as exact binary floats); returns an mpf."""
    with mpmath.workdps(dps):
        Y = [list(map(mpmath.mpf, row)) for row in list(W) + list(P.V)]
        B = [mpmath.mpf(x) for x in list(c) + list(P.e)]
        U = [mpmath.mpf(x) for x in a] + [-mpmath.mpf(x) for x in P.b]
        dot = lambda x, y: mpmath.fsum(p * q for p, q in zip(x, y))  # noqa: E731
        total = mpmath.mpf(0)
        for i in range(len(Y)):
            total += U[i] ** 2 * self_mp(P.activation, dot(Y[i], Y[i]), B[i])
            for j in range(i + 1, len(Y)):
                g = pair_mp(P.activation, dot(Y[i], Y[i]), dot(Y[j], Y[j]), dot(Y[i], Y[j]), B[i], B[j])
                total += 2 * U[i] * U[j] * g
        return +total
