r"""docs/theory.md §11: ``one-neuron-profile:NAME`` (tanh, sigmoid; opt-in, ``--heavy``).

On the average profile ``w = t (v_1 + .. + v_m)/sqrt(m)`` the one-neuron loss with the best ``a`` is
``L(t) = T - F(t)``, ``F = G^2/s``, ``G(t) = m g(t^2, 1, t/sqrt m)``, ``s(t) = E[sigma(t z)^2]``.
This module certifies, for ``m = 2..20``, that every maximiser of ``F`` on ``(0, infinity)``
(every minimiser of ``L``) and every critical point of ``F`` in ``[A, B]`` lies in the bracket
``[t1, t2]`` of ``one-neuron-local:NAME``, and ``F(t) < F(t_mid)`` for ``t < A`` and ``t > B``:
the bracket holds the profile's global minimum (with a local minimiser in it, certified there).

**Lemma (monotone parts).** For ``sigma = tanh``, write ``(Z, V)`` standard Gaussian with
correlation ``rho = 1/sqrt m`` and ``psi(z) = E[tanh(V) | Z = z]``, odd and strictly increasing
(``psi' = rho E[tanh'] > 0``). Then ``G(t) = m E[tanh(t|Z|) |psi(Z)|]``: positive and increasing in
``t``, with limit ``G_inf = m E[sign(Z) tanh(V)]``; ``s(t) = E[tanh(t|Z|)^2]`` increasing; and, as
``tanh(x)/x`` decreases, ``G(t)/t <= m E[Z psi(Z)] = m rho c_1(1)`` and ``s(t)/t^2`` decreases. For
sigmoid ``= 1/2 + p``, ``p(x) = tanh(x/2)/2`` odd: ``G = m (1/4 + E[p(tZ) p(V)])`` and
``s = 1/4 + E[p(tZ)^2]``, the same argument with ``p``; ``G_inf = m E[H(Z) sigma(V)]``, ``H`` the
Heaviside step. Hence:

* ``t >= B``: ``F(t) <= G_inf^2 / s(B)``;
* ``t <= A``: tanh ``F(t) <= m c_1(1)^2 A^2 / s(A)``; sigmoid ``F(t) <= G(A)^2 / (1/4)``.

**Middle.** ``F' = G D / s^2`` with ``D = 2 G' s - G s'`` and ``G > 0``: ``D > 0`` on ``[A, t1]``
and ``D < 0`` on ``[t2, B]`` are certified on intervals by arb balls: ``t`` is a ball, and every
integral (``acb.integral`` with the ball parameter inside the integrand) encloses its value for
every ``t`` in the ball; ``G' = m sum_n e_n(t) c_n(1) rho^n`` with
``e_n(t) = E[sigma'(t z) z He_n(z)]/sqrt(n!)`` and the truncation bounded by Cauchy-Schwarz and
Parseval (``sum_n e_n^2 = E[(sigma'(tz) z)^2] <= sup sigma'^2``); ``s' = 2 E[sigma sigma'(tz) z]``.
Intervals are bisected (geometric mean) until the sign is certified.

``G_inf`` uses the Hermite coefficients of ``sign``: ``E[sign(z) He_n(z)]/sqrt(n!) =
2 phi(0) He_{n-1}(0)/sqrt(n!)`` for odd ``n``, ``He_{2k}(0) = (-1)^k (2k - 1)!!``, with
truncation ``rho^(N+1) sqrt(T_N(sign) T_N(1))``, ``E[sign^2] = 1``.
"""

from __future__ import annotations

import math
import time

from .certificates import Certificate, Status

NAMES = ("tanh", "sigmoid")
M_VALUES = tuple(range(2, 21))


def _dpart(name: str):
    """(part'(x) on acb, sup |part'|)."""
    if name == "tanh":
        return (lambda x: 1 - x.tanh() ** 2), 1
    if name == "sigmoid":
        return (lambda x: (1 - (x / 2).tanh() ** 2) / 4), 0.25
    raise ValueError(f"activation must be one of {', '.join(NAMES)}, got {name!r}")


def _terms(m: int) -> int:
    """Hermite terms for correlation 1/sqrt(m): rho^(N+1) below ~1e-14."""
    return min(90, max(16, math.ceil(14 * math.log(10) / math.log(m)) | 1))


def _tail_consts():
    """Upper bounds of int_{|z|>R} z^2 phi and int_{|z|>R} |z| phi (R = R_CUT)."""
    from flint import arb

    from .hermite_kernel import R_CUT

    R = arb(R_CUT)
    phiR = (-R * R / 2).exp() / (2 * arb.pi()).sqrt()
    erfc = (R / arb(2).sqrt()).erfc()
    return (2 * R * phiR + erfc).upper(), (2 * phiR).upper()


def derivative_parts(name: str, t, N: int, prec: int = 96, deriv: bool = True):
    """arb enclosures, valid for every ``t`` in the ball ``t``, of ``[c_n(t^2)]``, ``[e_n(t)]``
    (``n <= N``), ``s(t)`` and ``s'(t)`` for the odd part of sigma (``copyavg.proofs.hermite_kernel``)."""
    from flint import acb, arb, ctx

    from .hermite_kernel import _half_integral, _part, _tail_sq

    part, parity, A, _ = _part(name)
    dpart, dsup = _dpart(name)
    old = ctx.prec
    ctx.prec = prec
    try:
        t = arb(t)
        norm = 2 / (2 * arb.pi()).sqrt()
        z2tail, ztail = _tail_consts()
        ctail = _tail_sq(name, 1).sqrt()  # |part| <= A: the tail does not depend on t
        etail = arb(dsup) * arb(z2tail).sqrt()
        roots = [arb(k).sqrt() for k in range(N + 2)]

        def h(z, n):
            h0, h1 = acb(1), z
            for k in range(1, n):
                h0, h1 = h1, (z * h1 - roots[k] * h0) / roots[k + 1]
            return h0 if n == 0 else h1

        cs, es = [], []
        for n in range(N + 1):
            if n % 2 == 0:  # odd parts: only odd n
                cs.append(arb(0))
                es.append(arb(0))
                continue
            c = norm * _half_integral(lambda z, an, n=n: part(t * z, an) * h(z, n) * (-z * z / 2).exp(), prec)
            cs.append(c + arb(0, ctail.upper()))
            if deriv:
                e = norm * _half_integral(lambda z, an, n=n: dpart(t * z) * z * h(z, n) * (-z * z / 2).exp(), prec)
                es.append(e + arb(0, etail.upper()))
        s = norm * _half_integral(lambda z, an: part(t * z, an) ** 2 * (-z * z / 2).exp(), prec)
        s = s + arb(0, _tail_sq(name, 1).upper())
        if not deriv:
            return cs, None, s, None
        ds = 2 * norm * _half_integral(lambda z, an: part(t * z, an) * dpart(t * z) * z * (-z * z / 2).exp(), prec)
        ds = ds + arb(0, (2 * arb(A) * dsup * arb(ztail)).upper())
        return cs, es, s, ds
    finally:
        ctx.prec = old


class _Profile:
    """G, G', s, s' on the average profile as arb balls over a ball of ``t`` (module docstring)."""

    def __init__(self, name: str, m: int, prec: int = 96):
        from flint import arb

        from .hermite_kernel import coefficients

        self.name, self.m, self.prec = name, m, prec
        self.N = _terms(m)
        self.c1, self.s1 = coefficients(name, 1, self.N, prec)
        self.rho = 1 / arb(m).sqrt()
        self.rpow = [self.rho ** n for n in range(self.N + 2)]
        self.T1 = max((self.s1 - sum((c * c for c in self.c1), arb(0))).upper(), arb(0))
        self.evals = 0

    def parts(self, t, deriv: bool = True):
        from flint import arb

        self.evals += 1
        cs, es, s, ds = derivative_parts(self.name, t, self.N, self.prec, deriv)
        m, rp = self.m, self.rpow
        G = m * sum((cs[n] * self.c1[n] * rp[n] for n in range(self.N + 1)), arb(0))
        Tt = max((s - sum((c * c for c in cs), arb(0))).upper(), arb(0))
        G += arb(0, (m * rp[self.N + 1] * (Tt * self.T1).sqrt()).upper())
        dG = None
        if deriv:
            dG = m * sum((es[n] * self.c1[n] * rp[n] for n in range(self.N + 1)), arb(0))
            dG += arb(0, (m * rp[self.N + 1] * _dpart(self.name)[1] * self.T1.sqrt()).upper())
        if self.name == "sigmoid":  # sigma = 1/2 + p: c_0 = 1/2 on both sides; E[sigma^2] = 1/4 + E[p^2]
            G += arb(m) / 4
            s += arb(1) / 4
        return G, dG, s, ds

    def F(self, t):
        G, _, s, _ = self.parts(t, deriv=False)
        return G * G / s

    def dF(self, t):
        """``F' = G D / s^2``."""
        G, dG, s, ds = self.parts(t)
        return G * (2 * dG * s - G * ds) / (s * s)

    def D(self, t):
        """``2 G' s - G s'`` (the sign of ``F'``, as ``G > 0``)."""
        G, dG, s, ds = self.parts(t)
        return 2 * dG * s - G * ds

    def G_inf(self):
        """``lim G(t)``, ``t -> infinity`` (module docstring)."""
        from flint import arb

        phi0 = 1 / (2 * arb.pi()).sqrt()
        cs = [arb(0)] * (self.N + 1)
        for n in range(1, self.N + 1, 2):
            k = (n - 1) // 2
            dfact = math.prod(range(1, 2 * k, 2))
            cs[n] = 2 * phi0 * (-1) ** k * dfact / arb(math.factorial(n)).sqrt()
        total = arb(1)
        if self.name == "sigmoid":  # H = 1/2 + sign/2
            cs = [c / 2 for c in cs]
            cs[0] = arb(1) / 2
            total = arb(1) / 2
        Tsign = max((total - sum((c * c for c in cs), arb(0))).upper(), arb(0))
        g = sum((cs[n] * self.c1[n] * self.rpow[n] for n in range(self.N + 1)), arb(0))
        g += arb(0, (self.rpow[self.N + 1] * (Tsign * self.T1).sqrt()).upper())
        return self.m * g


def _ball(a, b):
    """The arb ball [a, b] of two fmpq end points (enclosing them)."""
    from flint import arb

    mid = (a + b) / 2
    return arb(mid) + arb(0, arb((b - a) / 2).upper())


def cover_sign(prof: _Profile, a, b, sign: int, max_depth: int = 30) -> tuple[bool, int, object]:
    """Certify ``sign * D > 0`` on ``[a, b]`` (fmpq) by bisection: (ok, number of balls, first failing
    interval or None)."""
    stack = [(a, b, 0)]
    count = 0
    while stack:
        lo, hi, depth = stack.pop()
        count += 1
        d = prof.D(_ball(lo, hi)) * sign
        if d > 0:
            continue
        if depth >= max_depth:
            return False, count, (lo, hi)
        mid = (lo + hi) / 2
        stack += [(mid, hi, depth + 1), (lo, mid, depth + 1)]
    return True, count, None


def cover_below(prof: _Profile, a, b, F_bound, max_depth: int = 40) -> tuple[bool, int, object]:
    """Certify ``F < F_bound`` on ``[a, b]`` (fmpq end points) by the mean value form
    ``F(t) <= F(c) + sup |F'([a', b'])| r`` on sub-intervals ``[c - r, c + r]``, bisected until it holds:
    (ok, number of sub-intervals, first failing interval or None)."""
    stack = [(a, b, 0)]
    count = 0
    while stack:
        lo, hi, depth = stack.pop()
        count += 1
        c, r = (lo + hi) / 2, (hi - lo) / 2
        Fc = prof.F(c)
        if Fc < F_bound:
            slope = abs(prof.dF(_ball(lo, hi)))
            if Fc + slope * r < F_bound:
                continue
        elif depth > 0:  # F(c) >= the bound: no sub-interval can prove it
            return False, count, (lo, hi)
        if depth >= max_depth:
            return False, count, (lo, hi)
        stack += [(c, hi, depth + 1), (lo, c, depth + 1)]
    return True, count, None


def _ends(prof: _Profile, t_mid, F_bound):
    """``A`` (``F < F_bound`` on ``(0, A]``) and ``B`` (on ``[B, infinity)``) from the lemma, or None."""
    from flint import fmpq

    from .hermite_kernel import coefficients

    A = None
    c1 = coefficients(prof.name, 1, 1, prof.prec)[0][1]
    for k in range(2, 12):
        a = t_mid / 2**k
        G, _, s, _ = prof.parts(a, deriv=False)
        bound = prof.m * c1 * c1 * a * a / s if prof.name == "tanh" else 4 * G * G
        if bound < F_bound:
            A = (a, bound)
            break
    B = None
    Ginf = prof.G_inf()
    for b in (2, 4, 8, 16):
        _, _, s, _ = prof.parts(fmpq(b), deriv=False)
        if Ginf * Ginf / s < F_bound:
            B = (fmpq(b), Ginf * Ginf / s)
            break
    return A, B


def certify_profile_m(name: str, m: int, rel: float = 1e-3) -> tuple[bool, str, dict]:
    """The global statement of the module docstring at one ``m``: (ok, note, data)."""
    from flint import fmpq

    from .one_neuron_hermite import _float_search

    t0 = time.perf_counter()
    t_f, _, _ = _float_search(name, m)
    prof = _Profile(name, m)
    mid = fmpq(round(t_f * 10**8), 10**8)
    d = fmpq(round(rel * 10**8), 10**8) * mid
    t1, t2 = mid - d, mid + d
    F_mid = prof.F(mid)
    bound = F_mid.lower()
    A, B = _ends(prof, mid, bound)
    if A is None or B is None:
        return False, f"[UNDECIDED] m = {m}: no end bound (A = {A}, B = {B})", {}
    ok_l, n_l, bad_l = cover_below(prof, A[0], t1, bound)
    ok_r, n_r, bad_r = cover_below(prof, t2, B[0], bound) if ok_l else (False, 0, None)
    lo, hi = int((t1 * 10**10).floor()), int((t2 * 10**10).ceil())
    data = {"t1": t1, "t2": t2, "t_mid": mid, "F_mid": F_mid, "A": A[0], "B": B[0]}
    head = f"m = {m}: F < F(t_mid = {float(mid):.8f}) = {F_mid.str(12, radius=False)} outside [{lo / 1e10:.10f}, {hi / 1e10:.10f}]"
    if not (ok_l and ok_r):
        bad = bad_l or bad_r
        return False, f"[UNDECIDED] {head}: not certified on [{float(bad[0]):.8f}, {float(bad[1]):.8f}]", data
    return True, (f"[ok] {head}: (0, A = {float(A[0]):.3e}] by the lemma (bound {A[1].str(8, radius=False)}), "
                  f"[B = {int(B[0])}, inf) by G_inf^2/s(B) = {B[1].str(8, radius=False)}, [A, t1] and [t2, B] by "
                  f"{n_l} + {n_r} mean-value balls; N = {prof.N} Hermite terms; {time.perf_counter() - t0:.0f} s"), data


#: m values of the registered ``one-neuron-profile:NAME`` (``copyavg verify --heavy``); every m of
#: ``M_PROFILE_ALL`` is certified by ``one_neuron_profile(name, M_PROFILE_ALL)`` (about 10 minutes for
#: sigmoid and an hour for tanh: tanh's profile is flat, F(0+) is within 2e-4 relative of its maximum
#: at m = 20, and the mean-value cover needs 400-3200 balls, 2-9 minutes per m under load)
M_PROFILE = {"sigmoid": (2,), "tanh": (2,)}
M_PROFILE_ALL = tuple(range(2, 21))


def one_neuron_profile(name: str, ms=None) -> Certificate:
    t0 = time.perf_counter()
    ms = tuple(ms or M_PROFILE[name])
    results = [certify_profile_m(name, mv) for mv in ms]
    ok = all(r for r, _, _ in results)
    ev = [note for _, note, _ in results]
    ev.append("lemma (module copyavg.proofs.one_neuron_profile): G > 0 and G, s increasing in t (sigma odd part "
              "tanh-like, psi(z) = E[part(V) | Z = z] odd increasing), G <= G_inf, and for tanh G/t <= m rho c_1(1), "
              "s/t^2 decreasing; sigmoid s >= 1/4")
    ev.append("not certified: that the profile has a single critical point in [t1, t2] (one-neuron-local:" + name
              + " brackets a local minimiser with relative width 1e-6 inside it), and the direction (one-neuron:"
              + name + ": full-space search evidence)")
    return Certificate(
        theorem=f"one-neuron-profile:{name}",
        statement=(f"sigma = {name}, unit orthonormal teacher, m in {{{', '.join(map(str, ms))}}}: on the average "
                   "profile w = t (v_1 + .. + v_m)/sqrt(m) the loss with the best a, L(t), attains its minimum over "
                   "t in (0, infinity), and every minimiser lies in [t1, t2] = t_mid (1 -+ 1e-3) (stated per m); "
                   "L(t) > L(t_mid) outside it"),
        assumptions=("x ~ N(0, I_d); teacher v_j = e_j, b_j = 1; loss E[(f - f*)^2] (no 1/2)",
                     "kernel: the Hermite series of copyavg.proofs.hermite_kernel (arb integrals, tail and "
                     "truncation bounds), its t-derivative the same with sigma'"),
        status=Status.PROVED if ok else Status.UNDECIDED,
        method=("monotone bounds for t -> 0 and t -> infinity; arb mean-value enclosures F(c) + sup|F'| r on "
                "bisected intervals in between"),
        residual="0" if ok else "an interval not certified", evidence=tuple(ev), expected=Status.PROVED,
        seconds=time.perf_counter() - t0,
    )


def all_checks() -> dict:
    return {f"one-neuron-profile:{n}": (lambda n=n: one_neuron_profile(n)) for n in NAMES}
