r"""docs/theory.md §4 (claim 7): the *optimum* of the piecewise-linear one-neuron problem.

Certificates ``one-neuron-optimum:relu``, ``:abs``, ``:leaky_relu``, ``:linear``.

Setting: one student neuron ``(a, w)``, teacher ``v_j = rho e_j`` (j = 1..m, orthonormal
directions), ``b_j = 1``, ``sigma = A z + B |z|`` (``A = (alpha+beta)/2``, ``B = (beta-alpha)/2``).
The derived kernel is homogeneous, ``g(r^2, rho^2, r rho u) = r rho kappa(u)``, ``s(q) = c_s q``, so
with ``p = a |w|`` and ``u_j = cos(w, v_j)`` (any point of the ball ``sum u_j^2 <= 1`` when
``d > m``) the loss is ``c_s p^2 - 2 p rho F(u) + T`` with ``F(u) = sum_j kappa(u_j)``. Minimising
over p: ``L* = T - rho^2 (max |F|)^2 / c_s``. The argument, each step decided below:

1. ``kappa(u) = A^2 u + c h(u)``, ``c = 2 B^2/pi``, ``h(u) = sqrt(1-u^2) + u asin(u)``:
   ``h' = asin``, ``h'' = 1/sqrt(1-u^2) > 0``, ``h >= h(0) = 1``.
2. ``F(u) + F(-u) = 2 c sum h(u_j) >= 0``, so ``max |F| = max F``; F is convex, so its maximum
   over the ball is on the sphere (leaving the span of the teacher never helps).
3. ``kappa(|u|) - kappa(u) = A^2 (|u| - u) >= 0``: take ``u_j >= 0``, ``t_j = u_j^2`` on the
   simplex, ``F = sum phi(t_j)``, ``phi(t) = A^2 sqrt(t) + c h(sqrt t)``,
   ``phi'(t) = psi(y) = (A^2 + c asin y)/(2y)`` at ``y = sqrt t``,
   ``psi'(y) = N(y)/(2y^2)``, ``N(y) = c (y/sqrt(1-y^2) - asin y) - A^2``, ``N(0) = -A^2``,
   ``N'(y) = c y^2/(1-y^2)^{3/2} > 0``.
4. ``A = 0`` (|z|): ``N > 0`` on (0, 1), phi strictly convex, ``sum phi(t_j)`` is maximal only at
   the vertices of the simplex: **copy one teacher neuron**, ``F* = kappa(1) + (m-1) kappa(0)``.
5. ``A != 0`` (relu, leaky_relu, linear): phi is concave on ``[0, t0]`` and convex on ``[t0, 1]``
   (``N(sqrt t0) = 0``). ``N(1/sqrt 2) < 0`` (arb) puts ``1/m`` in the concave part for every
   ``m >= 2``. Let ``D(t) = phi(1/m) + phi'(1/m)(t - 1/m) - phi(t)`` (tangent minus phi):
   ``D(1/m) = D'(1/m) = 0``, D convex on ``[0, t0]`` so ``D >= 0`` there (``> 0`` off ``1/m``),
   D concave on ``[t0, 1]`` so ``D > 0`` there once ``D(1) > 0``. With ``s = 1/sqrt(m)``,
   ``2 s D(1) = E(s) = 2A^2 s^2 + 2 c s h(s) + (A^2 + c asin s)(1 - s^2) - 2 s (A^2 + c pi/2)``,
   and ``E > 0`` on ``[0, 1/sqrt 2]`` is decided in arb ball arithmetic by bisection. Then
   ``sum phi(t_j) = m phi(1/m) - sum D(t_j) <= m phi(1/m)`` with equality only at ``t_j = 1/m``:
   **the average of all m** is the unique optimum (up to the sign of a w when B = 0).
"""

from __future__ import annotations

import time

import numpy as np
import sympy as sp
from flint import arb, ctx, fmpq
from scipy.optimize import minimize

from copyavg.symbolic.activations import ACTIVATIONS
from copyavg.symbolic.one_neuron import (
    _is_zero, diag_at, h_fn, kernel_at, m, piecewise_linear_split, r, rho, solution, u,
)

from .certificates import Certificate, Status

NAMES = ("relu", "abs", "leaky_relu", "linear")


def _arb(x) -> arb:
    """An exact SymPy rational as an arb ball."""
    q = sp.Rational(sp.nsimplify(x))
    return arb(fmpq(int(q.p), int(q.q)))


def _E_arb(s: arb, A2: arb, c: arb) -> arb:
    h = (1 - s * s).sqrt() + s * s.asin()
    return 2 * A2 * s * s + 2 * c * s * h + (A2 + c * s.asin()) * (1 - s * s) - 2 * s * (A2 + c * arb.pi() / 2)


def _positive_on(A2: arb, c: arb, lo: fmpq, hi: fmpq, depth: int = 0, max_depth: int = 40) -> tuple[bool, int]:
    """Decide E > 0 on [lo, hi] by ball evaluation and bisection; returns (decided, #boxes)."""
    mid, rad = (lo + hi) / 2, (hi - lo) / 2
    if _E_arb(arb(mid, rad), A2, c) > 0:
        return True, 1
    if depth >= max_depth:
        return False, 1
    ok1, n1 = _positive_on(A2, c, lo, mid, depth + 1, max_depth)
    if not ok1:
        return False, n1
    ok2, n2 = _positive_on(A2, c, mid, hi, depth + 1, max_depth)
    return ok2, n1 + n2


def _symbolic_steps(name: str) -> list[tuple[str, bool]]:
    sol = solution(name)
    A2, c = piecewise_linear_split(name)
    t, y = sp.Symbol("t", positive=True), sp.Symbol("y", positive=True)
    kappa, cs = sol["kappa_fn"], sol["c_s"]
    steps = [(f"homogeneity: g(r^2, rho^2, r rho u) = r rho kappa(u), s(r^2) = {sp.sstr(cs)} r^2 (derived kernel), "
              "so L = c_s p^2 - 2 p rho F(u) + T with p = a r, minimised at p = rho F/c_s",
              _is_zero(kernel_at(name, r**2, rho**2, r * rho * u) - r * rho * kappa)
              and _is_zero(diag_at(name, r**2) - cs * r**2) and bool(cs.is_positive)),
             (f"kappa(u) = A^2 u + c h(u) with A^2 = {sp.sstr(A2)}, c = {sp.sstr(c)} (derived kernel at |w| = |v| = 1)",
              _is_zero(kappa - (A2 * u + c * h_fn(u)))),
             ("h'(u) = asin(u), h''(u) = 1/sqrt(1-u^2) > 0, h(0) = 1: h >= 1, F(u) + F(-u) = 2c sum h(u_j) >= 0 "
              "(max|F| = max F) and F convex (its max over the ball is on the sphere)",
              _is_zero(sp.diff(h_fn(u), u) - sp.asin(u)) and _is_zero(sp.diff(h_fn(u), u, 2) - 1 / sp.sqrt(1 - u**2))
              and h_fn(sp.Integer(0)) == 1)]
    phi = A2 * sp.sqrt(t) + c * h_fn(sp.sqrt(t))
    psi = (A2 + c * sp.asin(y)) / (2 * y)
    N = c * (y / sp.sqrt(1 - y**2) - sp.asin(y)) - A2
    steps.append(("u_j >= 0 wlog (kappa(|u|) - kappa(u) = A^2(|u| - u)); t = u^2: phi'(t) = psi(sqrt t), "
                  "psi = (A^2 + c asin y)/(2y), psi'(y) = N(y)/(2y^2), N = c(y/sqrt(1-y^2) - asin y) - A^2, "
                  "N' = c y^2/(1-y^2)^(3/2) >= 0",
                  _is_zero(sp.diff(phi, t) - psi.subs(y, sp.sqrt(t))) and _is_zero(sp.diff(psi, y) - N / (2 * y**2))
                  and _is_zero(sp.diff(N, y) - c * y**2 / (1 - y**2) ** sp.Rational(3, 2))))
    s = sp.Symbol("s", positive=True)
    dphi = psi.subs(y, s)
    E = 2 * A2 * s**2 + 2 * c * s * h_fn(s) + (A2 + c * sp.asin(s)) * (1 - s**2) - 2 * s * (A2 + c * sp.pi / 2)
    steps.append(("with s = 1/sqrt(m): 2 s [phi(1/m) + phi'(1/m)(1 - 1/m) - phi(1)] = E(s)",
                  _is_zero(2 * s * (phi.subs(t, s**2) + dphi * (1 - s**2) - phi.subs(t, 1)) - E)))
    return steps


def _loss_steps(name: str, direction: str) -> list[tuple[str, bool]]:
    sol = solution(name)
    kappa, cs, T = sol["kappa_fn"], sol["c_s"], sol["T"]
    F = kappa.subs(u, 1) + (m - 1) * kappa.subs(u, 0) if direction == "copy" else m * kappa.subs(u, 1 / sp.sqrt(m))
    return [(f"reported direction = {sol['direction']}, a|w| = rho F*/c_s = {sp.sstr(sol['ar'])}, "
             f"L*(m) = T - rho^2 F*^2/c_s = {sp.sstr(sol['loss'])}",
             sol["direction"] == direction and _is_zero(sol["ar"] - rho * F / cs)
             and _is_zero(sol["loss"] - (T - rho**2 * F**2 / cs)))]


def _arb_steps(name: str) -> tuple[str, list[tuple[str, bool]]]:
    """The sign facts: the branch (copy or average) and, for A != 0, N(1/sqrt 2) < 0 and E > 0."""
    A2s, cs_ = piecewise_linear_split(name)
    old = ctx.prec
    ctx.prec = 128
    try:
        A2, c = _arb(A2s), _arb(cs_ * sp.pi) / arb.pi()
        if A2s == 0:
            return "copy", [("A = 0: N(y) = c (y/sqrt(1-y^2) - asin y) has N(0) = 0 and N' > 0 (c > 0), so phi is "
                             "strictly convex: the max of sum phi(t_j) on the simplex is only at a vertex (u = e_j)",
                             bool(c > 0))]
        y = arb(2).sqrt() / 2  # 1/sqrt 2, also the largest s = 1/sqrt(m) for m >= 2
        Nv = c * (y / (1 - y * y).sqrt() - y.asin()) - A2
        top = fmpq(70711, 100000)  # > 1/sqrt 2
        ok, boxes = _positive_on(A2, c, fmpq(0), top)
        ok = ok and arb(top) * arb(top) > arb(fmpq(1, 2))
        E_top = _E_arb(y, A2, c)
        return "average", [
            (f"N(1/sqrt 2) = {Nv.str(5)} < 0: 1/m lies where phi is concave for every m >= 2", bool(Nv < 0)),
            (f"E(s) > 0 on [0, 0.70711] ({boxes} arb boxes; E(1/sqrt 2) = {E_top.str(5)}): D(1) > 0, the tangent "
             "at 1/m lies above phi on [0, 1], touching only at 1/m: the average of all m is the unique maximiser",
             bool(ok and E_top > 0))]
    finally:
        ctx.prec = old


def _numeric_evidence(name: str, ms=(2, 3, 4, 5, 6), starts: int = 30) -> list[str]:
    """Independent of the proof: multi-start maximisation (SLSQP) of +-F over the ball (u in
    R^{m+1}, the last coordinate orthogonal to the teacher), and every subset-average candidate."""
    A2, c = (float(x) for x in piecewise_linear_split(name))

    def kap(x):
        x = np.clip(x, -1.0, 1.0)
        return A2 * x + c * (np.sqrt(1 - x * x) + x * np.arcsin(x))

    rng = np.random.default_rng(1)
    out = []
    for mv in ms:
        best = 0.0
        for k in range(starts):
            sg = 1.0 if k % 2 == 0 else -1.0  # maximise F and -F
            res = minimize(lambda x: -sg * float(np.sum(kap(x[:mv]))), 0.5 * rng.normal(size=mv + 1) / np.sqrt(mv),
                           jac=lambda x: -sg * np.concatenate([A2 + c * np.arcsin(np.clip(x[:mv], -1, 1)), [0.0]]),
                           method="SLSQP", constraints=[{"type": "ineq", "fun": lambda x: 1 - x @ x,
                                                         "jac": lambda x: -2 * x}], options={"ftol": 1e-15})
            x = res.x / max(1.0, np.linalg.norm(res.x))
            best = max(best, abs(float(np.sum(kap(x[:mv])))))
        cands = {sz: sz * kap(1 / np.sqrt(sz)) + (mv - sz) * kap(0.0) for sz in range(1, mv + 1)}
        arg = max(cands, key=cands.get)
        out.append(f"m = {mv}: multi-start max|F| over the ball = {best:.13f}; subset averages s = 1..m: "
                   + ", ".join(f"{v:.10f}" for v in cands.values())
                   + f" (best s = {arg}; best candidate - multi-start = {cands[arg] - best:.1e})")
    return out


def one_neuron_optimum(name: str) -> Certificate:
    t0 = time.perf_counter()
    steps = _symbolic_steps(name)
    branch, sign_steps = _arb_steps(name)
    steps += sign_steps + _loss_steps(name, branch)
    decided = all(ok for _, ok in steps)
    sol = solution(name)
    evidence = [f"[{'ok' if ok else 'UNDECIDED'}] {claim}" for claim, ok in steps]
    if branch == "copy":
        gap = sp.simplify(sol["loss_average"] - sol["loss"])
        evidence.append(f"the symmetric KKT point (one-neuron:{name}) is not the optimum for m >= 2: "
                        f"L_average - L* = {sp.sstr(gap)} (m = 2: {sp.N(gap.subs({m: 2, rho: 1}), 12)})")
    evidence += _numeric_evidence(name)
    where = ("w along one v_j (copy one teacher neuron), unique up to the choice of j and the sign of w"
             if branch == "copy" else "w along v_1 + ... + v_m (the average of all m), unique up to the sign of (a, w) "
             "when sigma is odd")
    return Certificate(
        theorem=f"one-neuron-optimum:{name}",
        statement=(f"for sigma = {ACTIVATIONS[name].description}, every m >= 1 and rho > 0: the minimum of the "
                   f"one-neuron loss over (a, w) in R x R^d (d >= m) is attained with {where} and "
                   f"a |w| = {sp.sstr(sol['ar'])}; "
                   f"L*(m) = {sp.sstr(sol['loss'])}"),
        assumptions=("x ~ N(0, I_d); teacher v_j = rho e_j (j = 1..m), b_j = 1; loss E[(f - f*)^2] (no 1/2)",
                     "m integer >= 1 (the arb step covers every real m >= 2; m = 1 has u_1 = 1 only)",
                     "u ranges over the ball sum u_j^2 <= 1 (the cosines of w with the v_j; the sphere when d = m)"),
        status=Status.PROVED if decided else Status.UNDECIDED,
        method=("convexity of F over the ball, reduction to phi(t) on the simplex (SymPy identities); "
                + ("strict convexity of phi: vertex maximum" if branch == "copy" else
                   "tangent line at t = 1/m above phi, sign of E(s) decided in arb ball arithmetic by bisection")),
        residual="0" if decided else "some step not decided",
        evidence=tuple(evidence),
        seconds=time.perf_counter() - t0,
    )


def all_checks() -> dict:
    return {f"one-neuron-optimum:{n}": (lambda n=n: one_neuron_optimum(n)) for n in NAMES}
