r"""docs/theory.md §4 and §11: the one-neuron problem for gelu and the quadrature-based activations.

gelu ``z Phi(z)`` (closed-form kernel): on the average profile ``w = t (v_1 + .. + v_m)/sqrt m`` the
best-``a`` objective is ``F(t) = m^2 g(t^2, 1, t/sqrt m)^2 / s(t^2)`` (loss ``T - F``). With

* ``Gh(t) = g/t`` and ``sh(t) = s/t^2`` (``t <= 1``), and
* ``P(tau) = g/t`` and ``Q(tau) = s/t^2`` written in ``tau = 1/t`` (``t >= 1``),

both pairs analytic up to their end point (exact SymPy identities with the closed-form kernel),
``F = m^2 Gh^2/sh = m^2 P^2/Q``. ``one-neuron:gelu`` certifies, for each listed m, that
``d/dt log F > 0`` on ``[0, 1]`` and ``-d/dtau log F > 0`` on ``(0, 1]`` (arb bisection; near
``tau = 0``, where the derivative vanishes, a Cauchy estimate on a complex box): F increases
strictly on ``(0, infinity)``, so the loss has no stationary point and its infimum
``T - m^2 P(0)^2/Q(0)`` (``Q(0) = 1/2``) is approached only as ``|w| -> infinity`` (``a |w|`` fixed).

``one-neuron-optimum:gelu``: average against copy (both limits), undecided among all directions.
``one-neuron:gelu`` is opt-in (``copyavg verify --heavy``; seconds per m).

tanh, softplus, sigmoid, silu (``one-neuron:NAME``, opt-in as well): no
rigorous route (their kernel is a quadrature with a float error bound); undecided with evidence.
"""

from __future__ import annotations

import time

import sympy as sp

from .certificates import Certificate, Status
from .universal_one_neuron import _positive_on, diag, kernel, m, t, zero

tau = sp.Symbol("tau", positive=True)
#: m values of ``one_neuron_gelu()`` called directly (``copyavg verify --heavy``: m = 2..20, the table's range)
M_DEFAULT = (2,)
_EPS = sp.Rational(1, 1024)  # tau in (0, EPS]: Cauchy estimate; [EPS, 1]: bisection
_R = sp.Rational(1, 8)  # radius of the complex box of the Cauchy estimate


def _forms():
    pi = sp.pi
    D = 2 * (t**2 + 1) - t**2 / m
    x = t / (sp.sqrt(2 * m) * sp.sqrt(t**2 + 1))
    Gh = (sp.asin(x) / (2 * pi * sp.sqrt(m)) + 1 / (4 * sp.sqrt(m))
          + t * (2 + 1 / m + t**2 * (2 - 1 / m)) / (4 * pi * (t**2 + 1) * sp.sqrt(D)))
    sh = sp.asin(t**2 / (t**2 + 1)) / (2 * pi) + sp.Rational(1, 4) + t**2 / (pi * (t**2 + 1) * sp.sqrt(2 * t**2 + 1))
    R = sp.sqrt(2 * (1 + tau**2) - 1 / m)
    P = (sp.asin(1 / sp.sqrt(2 * m * (1 + tau**2))) / (2 * pi * sp.sqrt(m)) + 1 / (4 * sp.sqrt(m))
         + (tau**2 / R + R * (1 - tau**2) / (2 * (1 + tau**2))) / (2 * pi))
    Q = ((pi / 2 - sp.atan(tau * sp.sqrt(2 + tau**2))) / (2 * pi) + sp.Rational(1, 4)
         + (tau**3 / sp.sqrt(2 + tau**2) + tau * sp.sqrt(2 + tau**2) * (1 - tau**2) / (1 + tau**2)) / (2 * pi))
    return Gh, sh, P, Q


def _identities(Gh, sh, P, Q) -> list[tuple[str, bool]]:
    g = kernel("gelu", t**2, 1, t / sp.sqrt(m))
    s = diag("gelu", t**2)
    asin_atan = (zero(sp.diff(sp.asin(1 / (1 + tau**2)) + sp.atan(tau * sp.sqrt(2 + tau**2)), tau))
                 and zero(sp.asin(sp.Rational(1, 2)) + sp.atan(sp.sqrt(3)) - sp.pi / 2))
    Q_asin = Q - (sp.pi / 2 - sp.atan(tau * sp.sqrt(2 + tau**2))) / (2 * sp.pi) + sp.asin(1 / (1 + tau**2)) / (2 * sp.pi)
    return [("Gh(t) = g(t^2, 1, t/sqrt m)/t and sh(t) = s(t^2)/t^2 (exact, every m; no division by t left: "
             "analytic on [0, 1])", zero(Gh * t - g) and zero(sh * t**2 - s)),
            ("asin(1/(1 + tau^2)) = pi/2 - atan(tau sqrt(2 + tau^2)) for tau > 0 (equal derivatives, equal at tau = 1)",
             asin_atan),
            ("P(1/t) = g/t and Q(1/t) = s/t^2 (exact, every m; P, Q analytic at tau = 0, Q(0) = 1/2)",
             zero(P.subs(tau, 1 / t) - g / t) and zero(Q_asin.subs(tau, 1 / t) - s / t**2)
             and zero(Q.subs(tau, 0) - sp.Rational(1, 2)))]


def _certify_m(mv: int, Gh, sh, P, Q) -> tuple[bool, str]:
    """F strictly increasing on (0, infinity) at m = mv (arb)."""
    from flint import acb, arb, fmpq

    from .arb_eval import _prec, _to_arb

    d1 = sp.diff(2 * sp.log(Gh) - sp.log(sh), t).subs(m, mv)
    d2 = -sp.diff(2 * sp.log(P) - sp.log(Q), tau).subs(m, mv)
    d2_0 = sp.simplify(d2.subs(tau, 0))
    c1 = sp.simplify(sp.diff(d2, tau).subs(tau, 0))
    eps, r = _EPS, _R
    with _prec(128):
        ok1, n1 = _positive_on(lambda b: _to_arb(d1, {t: b}), fmpq(0), fmpq(1))
        c1b = _to_arb(c1, {})
        ra = arb(int(r.p)) / int(r.q)
        M = abs(_to_arb(d2, {tau: acb(arb(0, ra), arb(0, ra))}))  # the square contains the disc |tau| <= r
        ea = arb(int(eps.p)) / int(eps.q)
        cauchy = bool(M.is_finite() and c1b - M * ea / (ra * (ra - ea)) > 0)
        ok2, n2 = _positive_on(lambda b: _to_arb(d2, {tau: b}), fmpq(int(eps.p), int(eps.q)), fmpq(1))
    ok = ok1 and ok2 and d2_0 == 0 and cauchy
    return ok, (f"m = {mv}: d/dt log F > 0 on [0, 1] ({n1} boxes); -d/dtau log F > 0 on [{eps}, 1] ({n2} boxes); "
                f"on (0, {eps}]: -d/dtau log F = {d2_0} at 0 (exact), slope c1 = {sp.sstr(c1)} = {c1b.mid()} and "
                f"|.| <= M = {M.mid().str(5)} on the box |Re|, |Im| <= {r} (acb; its square roots, atan and asin stay "
                f"off their branch cuts there), so the value >= tau (c1 - M tau/(r(r - tau))) > 0 "
                f"[{'ok' if ok else 'UNDECIDED'}]")


def one_neuron_gelu(ms=M_DEFAULT) -> Certificate:
    t0 = time.perf_counter()
    Gh, sh, P, Q = _forms()
    steps = _identities(Gh, sh, P, Q)
    ev = [f"[{'ok' if ok else 'UNDECIDED'}] {s}" for s, ok in steps]
    oks = [ok for _, ok in steps]
    for mv in ms:
        ok, note = _certify_m(mv, Gh, sh, P, Q)
        oks.append(ok)
        ev.append(note)
    from copyavg.numeric.one_neuron_any import profile_value, teacher_constant
    from copyavg.numeric.one_neuron_limits import relu_limit

    lim_expr = m**2 * P.subs(tau, 0) ** 2 / sp.Rational(1, 2)
    worst = 0.0
    for mv in ms:
        L_inf = float(teacher_constant("gelu", mv) - sp.N(lim_expr.subs(m, mv), 30))
        worst = max(worst, abs(L_inf - relu_limit("gelu", mv)["loss"]),
                    abs(float(teacher_constant("gelu", mv) - profile_value("gelu", mv, 1e6)) - L_inf))
    num_ok = worst < 1e-9  # F(1e6) - F(inf) = O(1e-12): the 30-digit profile at |w| = 1e6 sits on the limit
    ev.append(f"numeric: L_inf = T - 2 m^2 P(0)^2 vs copyavg.numeric.one_neuron_limits.relu_limit and the 30-digit "
              f"profile at |w| = 1e6: max diff {worst:.1e}")
    decided = all(oks) and num_ok
    mlist = ", ".join(map(str, ms))
    return Certificate(
        theorem="one-neuron:gelu",
        statement=(f"sigma = gelu, unit orthonormal teacher, m in {{{mlist}}}: on the average profile the loss with the "
                   "best a decreases strictly in |w| on (0, infinity): no stationary point, no minimiser; its "
                   "infimum, approached as |w| -> infinity with a|w| -> 2 m P(0), is L_inf(m) = T - 2 m^2 P(0)^2, "
                   "P(0) = (sqrt(2m - 1) + 2 asin(1/sqrt(2m)) + pi)/(4 pi sqrt m)"),
        assumptions=("x ~ N(0, I_d); teacher v_j = e_j, b_j = 1; loss E[(f - f*)^2] (no 1/2)",
                     "kernel: the closed form of kernel-closed-form:gelu"),
        status=Status.PROVED if decided else Status.UNDECIDED,
        method="exact SymPy identities; arb bisection of d log F; Cauchy estimate (acb) next to |w| = infinity",
        residual="0" if decided else "a step not decided", evidence=tuple(ev),
        seconds=time.perf_counter() - t0,
    )


def one_neuron_optimum_gelu() -> Certificate:
    t0 = time.perf_counter()
    from copyavg.numeric.one_neuron_any import profile_value, teacher_constant
    from copyavg.numeric.one_neuron_limits import relu_limit

    ev = ["average against copy, both |w| -> infinity limits (closed forms, copyavg.numeric.one_neuron_limits):"]
    for mv in (2, 3, 5, 10, 20):
        avg, cp = relu_limit("gelu", mv, "average"), relu_limit("gelu", mv, "copy")
        T = teacher_constant("gelu", mv)
        cp_fin = min(float(T - profile_value("gelu", mv, tv, "copy", 20)) for tv in (0.5, 1, 2, 4, 8))
        ev.append(f"m = {mv}: L_inf average {avg['loss']:.10f} < L_inf copy {cp['loss']:.10f}; copy profile at |w| in "
                  f"{{0.5, 1, 2, 4, 8}} >= {cp_fin:.10f}")
    ev.append("whether some other direction beats the average limit is not decided (no certificate here)")
    return Certificate(
        theorem="one-neuron-optimum:gelu",
        statement="sigma = gelu, unit orthonormal teacher, m >= 2: the one-neuron infimum over all (a, w) is the "
                  "average limit L_inf(m) of one-neuron:gelu",
        assumptions=("x ~ N(0, I_d), d > m; teacher v_j = e_j, b_j = 1; loss E[(f - f*)^2] (no 1/2)",),
        status=Status.UNDECIDED, method="numeric evidence: average vs copy profiles",
        residual="other directions not examined", evidence=tuple(ev), expected=Status.UNDECIDED,
        seconds=time.perf_counter() - t0,
    )


def all_checks(heavy: bool = False) -> dict:
    """``one-neuron-optimum:gelu``; with ``heavy`` also ``one-neuron:gelu`` (m = 2..20, about 30 s) and the
    quadrature family (``copyavg.proofs.one_neuron_quadrature``)."""
    checks = {"one-neuron-optimum:gelu": one_neuron_optimum_gelu}
    if heavy:
        from .one_neuron_quadrature import all_checks as quad

        checks["one-neuron:gelu"] = lambda: one_neuron_gelu(tuple(range(2, 21)))
        checks.update(quad())
    return checks
