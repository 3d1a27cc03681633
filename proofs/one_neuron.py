"""docs/theory.md §4 (claims 5-7): the one-neuron problem in order parameters, solved for symbolic m.

Certificates:

* ``one-neuron:erf2`` (unit teacher, the paper's setting), ``one-neuron:erf`` (unit teacher) and
  ``one-neuron:erf2-teacher-norm`` (common teacher norm rho, symbolic): the non-trivial KKT points
  of ``min L(a, r, u)`` s.t. ``sum u_j^2 <= 1`` are, up to the sign flip, ``u_j = 1/sqrt(m)``,
  ``|w|^2 = X*/(2 lam^2)``, ``a = m``; the point is the global minimum of the reduced problem.
  The derivation (``copyavg.symbolic.one_neuron.derive_erf_family``) decides every step exactly.
  Uniqueness of the u-structure needs ``1 + X + Y - X Y > 0`` (X = 2 lam^2 |w|^2,
  Y = 2 lam^2 rho^2): always true for erf2 with rho = 1; otherwise stated as an assumption.
* ``one-neuron:relu`` (and ``:abs``, ``:leaky_relu``): the kernel is homogeneous, only
  ``p = a |w|`` is fixed; the symmetric point ``u_j = 1/sqrt(m)`` is a KKT point (exact), with its
  loss in closed form. Which point is the global optimum is the separate certificate
  ``one-neuron-optimum:*`` (``copyavg.proofs.one_neuron_pl``): the symmetric point for relu and
  leaky_relu, a copy of one teacher neuron for |z| (where the symmetric point is not optimal).
"""

from __future__ import annotations

import time

import numpy as np
import sympy as sp

from copyavg.symbolic.activations import ACTIVATIONS
from copyavg.symbolic.one_neuron import (
    _is_zero, derive_erf_family, diag_at, kernel_at, m, r, rho, solution, u,
)

from .certificates import Certificate, Status

PAPER_LSTAR = m / 3 - 2 / sp.pi * m**2 * sp.asin(1 / (2 * m))


def _numeric_gradient_check(name: str, rho_value: float, ms=(1, 2, 3, 5, 8)) -> str:
    """Full-network gradient (copyavg.numeric) at the one-neuron point along v_1 + .. + v_m (the
    symmetric point; the optimum except for |z|), teacher v_j = rho e_j."""
    from copyavg.numeric import gradient, loss

    sol = solution(name)
    worst, worst_l = 0.0, 0.0
    for mv in ms:
        sub = {m: mv, rho: rho_value}
        V = rho_value * np.eye(mv, mv + 1)
        b = np.ones(mv)
        ar = float(sol["ar_average"].subs(sub))
        if sol["norm2"] is not None:
            rr, av = float(sp.sqrt(sol["norm2"].subs(sub))), float(sol["a"].subs(sub))
        else:
            rr, av = 1.0, ar
        W = np.zeros((1, mv + 1))
        W[0, :mv] = rr / np.sqrt(mv)
        ga, gW = gradient(np.array([av]), W, b, V, name)
        worst = max(worst, float(np.max(np.abs(ga))), float(np.max(np.abs(gW))))
        worst_l = max(worst_l, abs(loss(np.array([av]), W, b, V, name) - float(sol["loss_average"].subs(sub))))
    return f"numeric full-network check m in {list(ms)}, rho = {rho_value}: max|grad| = {worst:.2e}, |L - L*| = {worst_l:.2e}"


def one_neuron_erf(name: str, teacher_norm=1) -> Certificate:
    t0 = time.perf_counter()
    sol, steps = derive_erf_family(name)
    lam2 = sp.sympify(ACTIVATIONS[name].params["lam"]) ** 2
    symbolic_rho = teacher_norm is None
    rv = rho if symbolic_rho else sp.sympify(teacher_norm)
    Yv = 2 * lam2 * rv**2
    X = sp.Symbol("X", positive=True)
    margin = sol["margin"].subs(sp.Symbol("Y", positive=True), Yv)
    margin_always = sp.simplify(margin - sp.Poly(margin, X).coeff_monomial(1)) == 0 and sp.simplify(margin).is_positive
    assumptions = [
        "x ~ N(0, I_d); one student neuron (a, w); teacher v_j = rho e_j, j = 1..m, b_j = 1",
        f"rho = {sp.sstr(rv)}" if not symbolic_rho else "rho > 0 symbolic",
        "m >= 1 symbolic; loss E[(f - f*)^2] (no 1/2); non-trivial: a != 0, w != 0; up to (a, w) -> (-a, -w)",
    ]
    if not margin_always:
        assumptions.append(f"uniqueness among critical points with {sp.sstr(margin)} > 0, X = 2 lam^2 |w|^2")
    decided = all(ok for _, ok in steps)
    evidence = [f"[{'ok' if ok else 'UNDECIDED'}] {claim}" for claim, ok in steps]
    norm2 = sp.simplify(sol["norm2"].subs(rho, rv))
    lossv = sp.simplify(sol["loss"].subs(rho, rv))
    if not margin_always:
        Xstar = sp.simplify(2 * lam2 * norm2)
        at_sol = sp.simplify(margin.subs(X, Xstar))
        evidence.append(f"at the solution the margin is {sp.sstr(at_sol)}")
    if name == "erf2" and teacher_norm == 1:
        paper = _is_zero(lossv - PAPER_LSTAR) and _is_zero(norm2 - 1 / (2 * m - 1))
        evidence.append(f"[{'ok' if paper else 'MISMATCH'}] equals the paper: r^2 = 1/(2m-1), a = m, "
                        "L*(m) = m/3 - (2/pi) m^2 asin(1/(2m))")
        decided = decided and paper
    evidence.append(_numeric_gradient_check(name, float(teacher_norm if not symbolic_rho else 1.3)))
    return Certificate(
        theorem=f"one-neuron:{name}" + ("-teacher-norm" if symbolic_rho else ""),
        statement=(f"for sigma = {ACTIVATIONS[name].description}: "
                   + ("" if margin_always else
                      f"restricted to the region {sp.sstr(margin)} > 0 (X = 2 lam^2 |w|^2, lam^2 = {sp.sstr(lam2)}), ")
                   + f"the non-trivial KKT points of min L(a, r, u) s.t. sum u_j^2 <= 1 are u_j = 1/sqrt(m), "
                   f"|w|^2 = {sp.sstr(norm2)}, a = m (unique up to sign), "
                   + ("the global minimum" if margin_always else
                      "the minimum among points with all u_j = 1/sqrt(m) (non-symmetric KKT points outside "
                      "the region are not excluded)")
                   + f", with L*(m) = {sp.sstr(lossv)}"),
        assumptions=tuple(assumptions),
        status=Status.PROVED if decided else Status.UNDECIDED,
        method="KKT conditions derived and solved with SymPy: monotone u-equation, elimination of a, "
               "sign of Phi' via chi(y) = asin(y) sqrt(1-y^2)/y strictly decreasing",
        residual="0" if decided else "some step not decided",
        evidence=tuple(evidence),
        seconds=time.perf_counter() - t0,
    )


def one_neuron_piecewise_linear(name: str) -> Certificate:
    t0 = time.perf_counter()
    sol = solution(name)
    kappa, cs, p = sol["kappa_fn"], sol["c_s"], sol["ar_average"]
    checks = []
    homog = _is_zero(kernel_at(name, r**2, rho**2, r * rho * u) - r * rho * kappa)
    checks.append(("g(r^2, rho^2, r rho u) = r rho kappa(u) (homogeneous kernel)", homog))
    lin = _is_zero(diag_at(name, r**2) - cs * r**2)
    checks.append((f"s(r^2) = {sp.sstr(cs)} r^2, so L depends on (a, r) only through p = a r", lin))
    a_, mu = sp.symbols("a_ mu", real=True)
    pp = sp.Symbol("p", real=True)
    # KKT at the symmetric point: dL/dp = 0 and dL/du_j + 2 mu u_j = 0 with mu >= 0
    Lp = cs * pp**2 - 2 * pp * rho * m * kappa.subs(u, 1 / sp.sqrt(m))
    dp = _is_zero(sp.diff(Lp, pp).subs(pp, p))
    checks.append((f"dL/dp = 0 at p = {sp.sstr(p)}", dp))
    dk = sp.diff(kappa, u).subs(u, 1 / sp.sqrt(m))
    mu_val = sp.simplify(p * rho * dk * sp.sqrt(m))
    tt = sp.Symbol("t", nonnegative=True)  # m = 1 + t, t >= 0
    mu_t = sp.simplify(mu_val.subs(m, 1 + tt))
    # asin is increasing with asin(0) = 0: asin of a positive argument is positive
    mu_t = mu_t.replace(lambda e: isinstance(e, sp.asin) and e.args[0].is_positive,
                        lambda e: sp.Dummy("asin_pos", positive=True))
    mu_pos = bool(mu_t.is_nonnegative)
    checks.append((f"u-equation -2 p rho kappa'(u_j) + 2 mu u_j = 0 holds with mu = {sp.sstr(mu_val)} >= 0 "
                   "and the constraint sum u_j^2 = 1 active", mu_pos))
    decided = all(ok for _, ok in checks)
    lossv = sp.simplify(sol["loss_average"])
    evidence = [f"[{'ok' if ok else 'UNDECIDED'}] {c}" for c, ok in checks]
    evidence.append(_numeric_gradient_check(name, 1.0))
    ref = f"(one-neuron-optimum:{name})"
    optimal = (f"it is also the global optimum {ref}" if sol["direction"] == "average" else
               f"it is NOT the optimum for m >= 2: copying one teacher neuron is better {ref}")
    return Certificate(
        theorem=f"one-neuron:{name}",
        statement=(f"for sigma = {ACTIVATIONS[name].description}: u_j = 1/sqrt(m) (w along v_1 + ... + v_m) with "
                   f"a |w| = {sp.sstr(p)} is a KKT point of the reduced problem (only a |w| is fixed), with loss "
                   f"{sp.sstr(lossv)}"),
        assumptions=("x ~ N(0, I_d); teacher v_j = rho e_j, b_j = 1; m >= 1 symbolic, rho > 0 symbolic",
                     "this certificate proves a KKT point only; " + optimal),
        status=Status.PROVED if decided else Status.UNDECIDED,
        method="homogeneity reduction and KKT conditions checked by SymPy",
        residual="0" if decided else "some step not decided",
        evidence=tuple(evidence),
        seconds=time.perf_counter() - t0,
    )


def all_checks() -> dict:
    checks = {
        "one-neuron:erf2": lambda: one_neuron_erf("erf2", 1),
        "one-neuron:erf": lambda: one_neuron_erf("erf", 1),
        "one-neuron:erf2-teacher-norm": lambda: one_neuron_erf("erf2", None),
    }
    for name in ("relu", "abs", "leaky_relu"):
        checks[f"one-neuron:{name}"] = (lambda n=name: one_neuron_piecewise_linear(n))
    return checks
