r"""docs/theory.md §11: ``one-neuron-local:NAME`` for tanh, sigmoid, softplus, silu (opt-in, ``--heavy``).

On the average profile ``w = t (v_1 + .. + v_m)/sqrt(m)`` with the best ``a = G/s`` the one-neuron
loss is ``L(t) = T - m^2 g(t^2, 1, t/sqrt m)^2 / s(t^2)`` with ``T = m s(1) + m (m - 1) c_0(1)^2``
(``g(1, 1, 0) = E[sigma]^2``); the correlation of the pair is ``1/sqrt(m)`` for every ``t``. Every
quantity is an arb ball from ``copyavg.proofs.hermite_kernel`` (Hermite series of the kernel with
certified 1-D integrals, tail and truncation bounds). ``L`` is continuous on ``[t1, t2]``
(``0 < t1``), so ``L(t_mid) < min(L(t1), L(t2))`` certifies that the minimum of ``L`` over
``[t1, t2]`` is attained in the open interval: a local minimiser of the profile loss, hence a root
of ``dL/dt`` (``L`` is differentiable: ``sigma`` is smooth with at most linear growth), lies in
``(t1, t2)``, with minimum value ``<= L(t_mid)``.

Whether that minimiser is the unique one on the profile is not certified (that the profile's global
minimum lies within a relative 1e-3 of it is, for tanh and sigmoid: ``copyavg.proofs.one_neuron_profile``): the evidence is a 400-point float scan of ``L`` on ``[1e-3/sqrt m, t_max]`` (float
Hermite series through Gauss-Hermite quadrature) counting its local minima, and for silu and
softplus the ``|w| -> infinity`` limit. silu from ``m = 3`` has its infimum at ``|w| -> infinity``
(``copyavg.numeric.one_neuron_limits``); its certificate covers ``m = 2`` only.
"""

from __future__ import annotations

import math
import time

from .certificates import Certificate, Status

NAMES = ("tanh", "sigmoid", "softplus", "silu")
#: m values certified by ``one-neuron-local:NAME``
M_VALUES = {"tanh": tuple(range(2, 21)), "sigmoid": tuple(range(2, 21)), "softplus": tuple(range(2, 21)), "silu": (2,)}
#: the float search range of |w| (the table's, copyavg.numeric.activations max_norm)
T_MAX = {"tanh": 8.0, "sigmoid": 8.0, "softplus": 4.0, "silu": 4.0}


def _terms(m: int) -> int:
    """Hermite terms for correlation 1/sqrt(m): rho^(N+1) below ~1e-13 (the tails shrink it further)."""
    return min(80, max(20, math.ceil(26 * math.log(10) / math.log(m))))


# --- float route (search and evidence only) ------------------------------------------------------
_GH: dict = {}


def _float_coeffs(name: str, q: float, N: int):
    import numpy as np

    if N not in _GH:  # nodes, weights and h_n(z) = He_n(z)/sqrt(n!) at the nodes: independent of q
        z, w = np.polynomial.hermite_e.hermegauss(200)
        h = [np.ones_like(z), z]
        for k in range(1, N):
            h.append((z * h[k] - math.sqrt(k) * h[k - 1]) / math.sqrt(k + 1))
        _GH[N] = (z, w / math.sqrt(2 * math.pi), np.array(h[: N + 1]))
    z, w, H = _GH[N]
    x = math.sqrt(q) * z
    sig = {"tanh": np.tanh, "sigmoid": lambda v: 0.5 + 0.5 * np.tanh(v / 2),
           "softplus": lambda v: np.logaddexp(0.0, v), "silu": lambda v: v * (0.5 + 0.5 * np.tanh(v / 2))}[name](x)
    return H @ (w * sig), float(np.sum(w * sig * sig))


def float_loss(name: str, m: int, t: float, teacher=None) -> float:
    """``L(t)`` on the average profile in floats (Gauss-Hermite, 200 nodes; search only)."""
    N = 60
    c1, s1 = teacher or _float_coeffs(name, 1.0, N)
    ct, st = _float_coeffs(name, t * t, N)
    rho = 1 / math.sqrt(m)
    g = float(sum(ct[n] * c1[n] * rho**n for n in range(N + 1)))  # Mehler's series, 60 terms
    return m * s1 + m * (m - 1) * c1[0] ** 2 - m * m * g * g / st


def _float_search(name: str, m: int) -> tuple[float, int, list]:
    """The best point of a 400-point log grid refined by a bounded scalar search, the number of
    strict local minima of ``L`` on the grid, and the grid (t, L) ends."""
    from scipy.optimize import minimize_scalar

    teacher = _float_coeffs(name, 1.0, 60)
    L = lambda t: float_loss(name, m, t, teacher)  # noqa: E731
    lo, hi = 1e-3 / math.sqrt(m), T_MAX[name]
    grid = [lo * (hi / lo) ** (i / 399) for i in range(400)]
    vals = [L(x) for x in grid]
    mins = sum(1 for i in range(1, 399) if vals[i] < vals[i - 1] and vals[i] < vals[i + 1])
    i = min(range(400), key=lambda j: vals[j])
    i = min(max(i, 1), 398)
    t = float(minimize_scalar(L, bounds=(grid[i - 1], grid[i + 1]), method="bounded", options={"xatol": 1e-10}).x)
    return t, mins, [(grid[0], vals[0]), (grid[-1], vals[-1]), (t, L(t))]


# --- arb route ----------------------------------------------------------------------------------
def loss_ball(name: str, m: int, t, teacher, N: int, prec: int = 128):
    """An arb ball containing ``L(t)`` (``t`` an fmpq; ``teacher = coefficients(name, 1, N)``), and ``a = m g/s``."""
    from flint import arb, ctx

    from .hermite_kernel import coefficients, kernel_from_coefficients

    c1, s1 = teacher
    ct, st = coefficients(name, t * t, N, prec)
    old = ctx.prec
    ctx.prec = prec
    try:
        g = kernel_from_coefficients(ct, st, c1[: N + 1], s1, 1 / arb(m).sqrt())
        T = m * s1 + m * (m - 1) * c1[0] ** 2
        return T - m * m * g * g / st, m * g / st
    finally:
        ctx.prec = old


def certify_m(name: str, m: int, teacher, deltas=(1e-6, 1e-4, 1e-2)) -> tuple[bool, str, dict]:
    """Certify a local minimiser of the average profile in ``[t1, t2]`` around the float optimum:
    (ok, note, ``{"t1", "t2", "t_mid", "loss_mid"}`` (fmpq end points, the arb ball of L(t_mid)))."""
    from flint import fmpq

    t_f, mins, ends = _float_search(name, m)
    N = _terms(m)
    mid = fmpq(round(t_f * 10**8), 10**8)
    for d in deltas:
        dq = fmpq(round(d * 10**8), 10**8) * mid
        t1, t2 = mid - dq, mid + dq
        Lm, a = loss_ball(name, m, mid, teacher, N)
        L1, _ = loss_ball(name, m, t1, teacher, N)
        L2, _ = loss_ball(name, m, t2, teacher, N)
        if bool(Lm < L1) and bool(Lm < L2):
            data = {"t1": t1, "t2": t2, "t_mid": mid, "loss_mid": Lm}
            lo, hi = int((t1 * 10**12).floor()), int((t2 * 10**12).ceil())  # rounded outward: still a bracket
            return True, (f"[ok] m = {m}: |w| in [{lo / 1e12:.12f}, {hi / 1e12:.12f}] (local minimiser of L, a root "
                          f"of dL/dt); L(t_mid = {float(mid):.10f}) = {Lm.str(12, radius=False)} "
                          f"+- {float(Lm.rad()):.1e}, "
                          f"L(t1) - L(t_mid) = {float((L1 - Lm).mid()):.2e}, L(t2) - L(t_mid) = "
                          f"{float((L2 - Lm).mid()):.2e} (both > 0 in arb), a(t_mid) = {a.str(10, radius=False)}; "
                          f"N = {N} Hermite terms; float grid scan: {mins} local minima of L on 400 points"), data
    return False, (f"[UNDECIDED] m = {m}: no certified bracket around the float optimum {t_f:.10f} (widths "
                   f"{deltas}); float grid scan: {mins} local minima"), {}


def one_neuron_local(name: str, ms=None) -> Certificate:
    from .hermite_kernel import coefficients

    t0 = time.perf_counter()
    ms = tuple(ms or M_VALUES[name])
    teacher = coefficients(name, 1, max(_terms(mv) for mv in ms), 128)
    results = [certify_m(name, mv, teacher) for mv in ms]
    ev = [note for _, note, _ in results]
    if name in ("silu", "softplus"):
        from copyavg.numeric.one_neuron_limits import relu_limit

        ev.append("|w| -> infinity limits of the average profile (float quadrature): " + ", ".join(
            f"m = {mv}: {relu_limit(name, mv)['loss']:.10f}" for mv in ms))
    if name == "silu":  # from m = 3 the float profile decreases to the end of the searched range
        for mv in (3, 5, 10, 20):
            _, mins, ends = _float_search(name, mv)
            ev.append(f"m = {mv} (not certified): the float grid scan finds {mins} interior local minima of L on "
                      f"[{ends[0][0]:.2e}, {ends[1][0]:g}], L(end) = {ends[1][1]:.10f}; the table reports the |w| -> "
                      "infinity limit (copyavg.numeric.one_neuron_limits), below every searched |w|")
    ev.append("not certified here: that this local minimiser is the unique stationary point of the profile (and its "
              "global minimum; one-neuron-profile:NAME, for tanh and sigmoid, certifies that every global minimiser "
              "lies in t_mid (1 -+ 1e-3)), and that the average is the best direction (one-neuron:" + name
              + " keeps the evidence)")
    ok = all(r for r, _, _ in results)
    return Certificate(
        theorem=f"one-neuron-local:{name}",
        statement=(f"sigma = {name}, unit orthonormal teacher, m in {{{', '.join(map(str, ms))}}}: on the average "
                   "profile the one-neuron loss with the best a has a local minimiser |w| in the stated interval "
                   "[t1, t2] (a root of dL/dt), with minimum value at most L(t_mid)"),
        assumptions=("x ~ N(0, I_d); teacher v_j = e_j, b_j = 1; loss E[(f - f*)^2] (no 1/2)",
                     "kernel: the Hermite series of copyavg.proofs.hermite_kernel (arb integrals, tail and "
                     "truncation bounds)"),
        status=Status.PROVED if ok else Status.UNDECIDED,
        method="arb enclosures of L at t1 < t_mid < t2 with L(t_mid) < min(L(t1), L(t2)) (extreme value theorem)",
        residual="0" if ok else "a bracket not certified", evidence=tuple(ev), expected=Status.PROVED,
        seconds=time.perf_counter() - t0,
    )


def all_checks() -> dict:
    return {f"one-neuron-local:{n}": (lambda n=n: one_neuron_local(n)) for n in NAMES}
