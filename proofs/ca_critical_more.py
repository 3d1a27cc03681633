r"""docs/theory.md §5 (claim 9b): CA criticality for the homogeneous activations and gelu.

The cross-group terms of claim 9b factor by Price's theorem: ``g(x, y, 0) = mu(x) mu(y)`` and
``g3(x, y, 0) = nu(x) nu(y)`` (``mu(q) = E[sigma(sqrt q z)]``, ``nu(q) = E[sigma'(sqrt q z)]``).
For a neuron ``i`` orthogonal to the span of a group ``S_l`` (size ``m``) whose neuron is
``w_l = t (sum_{j in S_l} e_j)/sqrt m`` with weight ``a_l``, and every other neuron and teacher
orthogonal to that span:

* the part of ``dL/da_i`` coming from group ``l`` is ``2 mu(x_i) (a_l mu(t^2) - m mu(1))``;
* the component of ``dL/dw_i`` along ``e_j``, ``j in S_l``, is ``2 a_i nu(x_i) (a_l nu(t^2) t/sqrt m - nu(1))``
  (the only pairs with an ``e_j`` part are ``(w_i, w_l)`` and ``(w_i, v_j)``).

``monomialP`` (``z^p``): only ``A = a |w|^p`` is fixed on the average profile, ``A(m) = m h(1/sqrt m)/s(1)``
(``one-neuron:monomialP``). ``mu(q) = (p-1)!! q^(p/2)`` (p even), ``nu(q) = p (p-2)!! q^((p-1)/2)``
(p odd), so on every point of the ray the cross terms are ``2 x_i^(p/2) ((p-1)!!)^2 (A(m) - m)``
(even p) and ``2 (A_i/t_i) (p (p-2)!!)^2 (A(m)/sqrt m - 1)`` (odd p): they do not depend on the
norm of the group neuron, and are non-zero exactly when ``m >= 2``.

gelu (``z Phi(z)``): ``mu(q) = q/sqrt(2 pi (1 + q))``, ``nu = 1/2``. With ``n - 1`` exact copies and
one neuron on the average ray of the other ``m >= 2`` teacher neurons, ``dL/dw_1 . e_j = 0`` forces
``a t = sqrt m`` and then ``a mu(t^2) - m mu(1) < 0``: no ``(a, t)`` on the ray gives a critical point.

Certificates ``ca-critical:monomial2`` .. ``ca-critical:monomial5`` and ``ca-critical:gelu``.
"""

from __future__ import annotations

import math
import time

import numpy as np
import sympy as sp

from copyavg.symbolic.kernels import C11, C12, C22

from .certificates import Certificate, Status
from .universal_one_neuron import kernel, partial, zero

MONOMIALS = ("monomial2", "monomial3", "monomial4", "monomial5")
_t, _x, _m, _y = sp.symbols("t x m y", positive=True)
_z = sp.Symbol("z", positive=True)  # m = 1 + z
_ASSUME = ("x ~ N(0, I_d), d = k + 1; teacher v_j = e_j, b_j = 1; loss E[(f - f*)^2] (no 1/2)",
           "reduction of the gradient to I1, I2, J0, J1, J3: docs/theory.md §5 (ca-gradient-from-loss:generic)")


def exact_entries(name: str, a, W, V, js=(1,), simplify: bool = True) -> dict:
    """Exact ``dL/da_0`` and ``dL/dW[0, j]`` (j in ``js``) of the network ``(a, W)`` against the
    teacher ``(1, V)`` (SymPy lists), by ``sympy.diff`` of the pair-sum loss built from the
    closed-form kernel with neuron 0's parameters symbolic; independent of the J0/J3 formulas."""
    d = len(W[0])
    a0 = sp.Symbol("a0", real=True)
    w0 = sp.symbols(f"w0:{d}", real=True)
    form = kernel(name, C11, C22, C12)

    def g(y1, y2):
        c11 = sum(u * u for u in y1)
        c22 = sum(u * u for u in y2)
        return form.subs({C11: c11, C22: c22, C12: sum(u * v for u, v in zip(y1, y2))}, simultaneous=True)

    others = [(a[i], W[i]) for i in range(1, len(a))] + [(sp.Integer(-1), v) for v in V]
    L0 = a0**2 * g(w0, w0) + 2 * a0 * sum(u * g(w0, y) for u, y in others)  # the terms with neuron 0
    at = dict(zip(w0, W[0]))
    at[a0] = a[0]
    simp = sp.simplify if simplify else (lambda e: e)
    out = {"a": simp(sp.diff(L0, a0).subs(at))}
    for j in js:
        out[j] = simp(sp.diff(L0, w0[j]).subs(at))
    return out


def _float_entries(name: str, a, W, V, js=(1,)) -> dict:
    from copyavg.numeric import gradient

    f = lambda rows: np.array([[float(v) for v in r] for r in rows])  # noqa: E731
    ga, gW = gradient(np.array([float(v) for v in a]), f(W), np.ones(len(V)), f(V), name)
    out = {"a": float(ga[0])}
    out.update({j: float(gW[0, j]) for j in js})
    return out


def ca_config(name: str, parts, t, A) -> tuple[list, list, list]:
    """Exact CA configuration (SymPy): group i at norm ``t[i]`` along the sum of its teacher
    directions with weight ``A[i] / g`` where ``g`` is the homogeneity factor ``t^p`` (monomials)
    or 1 (``A`` is then ``a`` itself); d = k + 1."""
    k = sum(parts)
    p = int(name[-1]) if name in MONOMIALS else 0
    a, W, start = [], [], 0
    for mi, ti, Ai in zip(parts, t, A):
        a.append(sp.sympify(Ai) / sp.sympify(ti) ** p)
        W.append([sp.Integer(0)] * start + [sp.sympify(ti) / sp.sqrt(mi)] * mi + [sp.Integer(0)] * (k + 1 - start - mi))
        start += mi
    V = [[sp.Integer(int(i == j)) for j in range(k + 1)] for i in range(k)]
    return a, W, V


# --- monomials -----------------------------------------------------------------------------------
def _dfact(n: int) -> int:
    return math.prod(range(n, 0, -2)) if n > 0 else 1


def monomial_A(p: int, mv=_m):
    from .one_neuron_monomial import _s1, c, h_poly

    return mv * h_poly(p).subs(c, 1 / sp.sqrt(mv)) / _s1(p)


def _positive_rational(e) -> bool:
    """``e(m) > 0`` for all m >= 1: with m = 1 + z, numerator and denominator have coefficients >= 0."""
    num, den = sp.fraction(sp.factor(sp.together(sp.sympify(e).subs(_m, 1 + _z))))
    polys = [sp.Poly(sp.expand(pp), _z) for pp in (num, den)]
    return all(all(cf >= 0 for cf in P.all_coeffs()) and P.as_expr() != 0 for P in polys)


def monomial_steps(p: int) -> list[tuple[str, bool]]:
    """The cross terms on the whole ray, exact in (x, t, m): (text, holds)."""
    name = f"monomial{p}"
    A = monomial_A(p)
    a = A / _t**p  # the group neuron anywhere on its ray: a t^p = A(m)
    if p % 2 == 0:
        mu_ok = zero(kernel(name, _x, _y, 0) - _dfact(p - 1) ** 2 * _x ** (p // 2) * _y ** (p // 2))
        nu0 = zero(partial(name, C12, _x, _y, 0))
        J0 = a * kernel(name, _x, _t**2, 0) - _m * kernel(name, _x, 1, 0)
        R = sp.factor(-(A - _m) / (_m - 1))
        closed = zero(J0 - _x ** (p // 2) * _dfact(p - 1) ** 2 * (A - _m)) and zero(A - _m + (_m - 1) * R)
        return [(f"g(x, y, 0) = ((p-1)!!)^2 x^(p/2) y^(p/2) = {sp.sstr(kernel(name, _x, _y, 0))} (mu(q) = "
                 f"{_dfact(p - 1)} q^{p // 2}), g3(x, y, 0) = 0: J3 automatic", mu_ok and nu0),
                (f"on the ray a t^{p} = A(m) = {sp.sstr(sp.simplify(A))}: J0(x; m) = a g(x, t^2, 0) - m g(x, 1, 0) = "
                 f"{_dfact(p - 1) ** 2} x^{p // 2} (A(m) - m) for every t > 0, with A(m) - m = -(m - 1) R(m), "
                 f"R(m) = {sp.sstr(R)}", closed),
                ("R(m) > 0 for m >= 1 (m = 1 + z: numerator and denominator have non-negative coefficients), so "
                 "J0 < 0 for every x > 0 and m >= 2, J0 = 0 at m = 1", _positive_rational(R))]
    mu0 = zero(kernel(name, _x, _y, 0))
    nu = p * _dfact(p - 2)
    nu_ok = zero(partial(name, C12, _x, _y, 0) - nu**2 * _x ** ((p - 1) // 2) * _y ** ((p - 1) // 2))
    J3 = a * partial(name, C12, _x, _t**2, 0) * _t / sp.sqrt(_m) - partial(name, C12, _x, 1, 0)
    B = A / sp.sqrt(_m) - 1
    R = sp.factor(-B / (_m - 1))
    closed = zero(J3 - nu**2 * _x ** ((p - 1) // 2) * B) and zero(B + (_m - 1) * R)
    return [(f"g(x, y, 0) = 0: J0, J1 automatic; g3(x, y, 0) = nu(x) nu(y) = {sp.sstr(partial(name, C12, _x, _y, 0))} "
             f"(nu(q) = {nu} q^{(p - 1) // 2})", mu0 and nu_ok),
            (f"on the ray a t^{p} = A(m) = {sp.sstr(sp.simplify(A))}: J3(x; m) = a g3(x, t^2, 0) t/sqrt m "
             f"- g3(x, 1, 0) = {nu**2} x^{(p - 1) // 2} (A(m)/sqrt m - 1) for every t > 0, with "
             "A(m)/sqrt m - 1 = -(m - 1) R(m), "
             f"R(m) = {sp.sstr(R)}", closed),
            ("R(m) > 0 for m >= 1, so J3 < 0 for every x > 0 and m >= 2 (J3 = 0 at m = 1); the gradient component "
             "2 a_i J3 is non-zero for every a_i != 0", _positive_rational(R))]


def monomial_witness(p: int, parts=(1, 3), t=(1, 1)) -> tuple[sp.Expr, sp.Expr, float, str]:
    """(exact gradient entry, the value the J formula predicts, float64 entry, which entry) at the CA
    point of ``parts`` with the group neurons at norms ``t`` on their rays (d = k + 1). The entry is
    ``dL/da_1`` (even p) or ``dL/dW[0, e]`` with ``e`` the first teacher direction of group 2 (odd p)."""
    name = f"monomial{p}"
    A = [monomial_A(p, sp.Integer(mi)) for mi in parts]
    a, W, V = ca_config(name, parts, t, A)
    e = parts[0]
    ex = exact_entries(name, a, W, V, js=(e,))
    fl = _float_entries(name, a, W, V, js=(e,))
    x1 = sp.sympify(t[0]) ** 2
    others = parts[1:]
    if p % 2 == 0:
        pred = 2 * x1 ** (p // 2) * _dfact(p - 1) ** 2 * sum(monomial_A(p, sp.Integer(mi)) - mi for mi in others)
        return ex["a"], sp.simplify(pred), fl["a"], "dL/da_1"
    nu = p * _dfact(p - 2)
    m2 = sp.Integer(others[0])
    pred = 2 * a[0] * nu**2 * x1 ** ((p - 1) // 2) * (monomial_A(p, m2) / sp.sqrt(m2) - 1)
    return ex[e], sp.simplify(pred), fl[e], f"dL/dW[0, {e}] (w_1 along e_{e + 1}, a teacher direction of group 2)"


def monomial_ca(name: str) -> Certificate:
    t0 = time.perf_counter()
    p = int(name[-1])
    steps = monomial_steps(p)
    ev = [f"[{'ok' if ok else 'UNDECIDED'}] {s}" for s, ok in steps]
    wit, ok_w = None, True
    for parts, tt in (((1, 3), (1, 1)), ((1, 3), (2, sp.Rational(1, 2))), ((2, 2), (1, 3))):
        exact, pred, fl, which = monomial_witness(p, parts, tt)
        agree = zero(exact - pred)
        # float64 gradient of O(10^3) polynomial terms: relative rounding ~1e-13; 1e-9 flags a wrong entry
        f_ok = abs(fl - float(exact)) <= 1e-9 * max(1.0, abs(float(exact)))
        ok_w &= agree and f_ok and exact != 0
        line = (f"k = {sum(parts)}, partition {parts}, group norms t = ({', '.join(map(str, tt))}) (a = A(m_i)/t_i^{p}): "
                f"{which} = {sp.sstr(exact)} = {float(exact):.10g} (exact, sympy.diff of the pair-sum loss); "
                f"J formula {sp.sstr(pred)}; float64 gradient {fl:.12g}")
        ev.append(f"[{'ok' if agree and f_ok else 'MISMATCH'}] {line}")
        wit = wit or line
    ev.append("so for n >= 2 groups a CA point (each group neuron anywhere on its ray a|w|^p = A(m_i)) is critical iff "
              "every group has size 1: if group l has m_l >= 2, " + (
                  "dL/da_i of any other neuron i is 2 (I1 + sum_l J0) with I1 = 0 on i's ray and every J0 <= 0, "
                  "the one of group l < 0" if p % 2 == 0 else
                  "the component of dL/dw_i along a teacher direction of group l is 2 a_i J3 != 0")
              + "; if all m_i = 1 the network equals the teacher (L = 0)")
    if p == 4:
        Ac = (9 * _m + 96) / 105
        ev.append(f"[{'ok' if zero(Ac - _m + 96 * (_m - 1) / 105) else 'UNDECIDED'}] with the group neuron at its "
                  "one-group optimum (a copy of one teacher of the group, a|w|^4 = (9m + 96)/105, "
                  "one-neuron-optimum:monomial4) the cross term of dL/da_i is mu(x_i)(a mu(q) - m mu(1)) (mu depends "
                  "on |w| only), A - m = -96(m - 1)/105 != 0: not critical either")
    if p == 5:
        ev.append("with the group neuron at its numeric one-group optimum (a 'split' direction, "
                  "one-neuron-optimum:monomial5) the component along e_j of dL/dw_i is "
                  "2 a_i nu(x_i)(a_l nu(q_l) (w_l)_j - nu(1)), affine in (w_l)_j: it vanishes for at most one value, "
                  "and the split point has two distinct values (w_l)_j, so some component is non-zero (not certified: "
                  "the split point is numeric)")
    ok = all(o for _, o in steps) and ok_w
    return Certificate(
        theorem=f"ca-critical:{name}",
        statement=(f"for sigma = z^{p} and the unit orthonormal teacher every copy-average point (any partition, each "
                   f"group neuron on the average ray of its group with a|w|^{p} = A(m), any point of that ray) is a "
                   "critical point of L"),
        assumptions=_ASSUME, status=Status.REFUTED if ok else Status.UNDECIDED,
        method="cross terms J0 / J3 in closed form on the whole ray (SymPy), exact gradient entries by sympy.diff",
        residual=wit if ok else "a step not decided", evidence=tuple(ev), expected=Status.REFUTED,
        seconds=time.perf_counter() - t0)


# --- gelu ----------------------------------------------------------------------------------------
def gelu_steps() -> list[tuple[str, bool]]:
    a = sp.Symbol("a", real=True)
    mu = lambda q: q / sp.sqrt(2 * sp.pi * (1 + q))  # noqa: E731
    k_ok = zero(kernel("gelu", _x, _y, 0) - mu(_x) * mu(_y))
    n_ok = zero(partial("gelu", C12, _x, _y, 0) - sp.Rational(1, 4))
    # a t = sqrt m in a mu(t^2) - m mu(1): compare squares (both sides positive)
    lhs = (sp.sqrt(_m) * _t / sp.sqrt(2 * sp.pi * (1 + _t**2))) ** 2 - (_m * mu(1)) ** 2
    target = _m * ((2 - _m) * _t**2 - _m) / (4 * sp.pi * (1 + _t**2))
    sq_ok = zero(lhs - target)
    J3 = a * partial("gelu", C12, 1, _t**2, 0) * _t / sp.sqrt(_m) - partial("gelu", C12, 1, 1, 0)
    j3_ok = zero(J3 - (a * _t / sp.sqrt(_m) - 1) / 4)
    return [(f"g(x, y, 0) = mu(x) mu(y), mu(q) = q/sqrt(2 pi (1 + q)); g3(x, y, 0) = 1/4 (nu = 1/2) (closed-form "
             "kernel)", k_ok and n_ok),
            ("n - 1 exact copies (w = e_j, a = 1) cancel their teachers; neuron 1 (a copy) then has dL/da_1 = "
             "2 mu(1) (a mu(t^2) - m mu(1)) and dL/dw_1 . e_j = 2 J3 = (a t/sqrt m - 1)/2 for e_j in the group "
             "(J3 exact)", j3_ok),
            ("dL/dw_1 . e_j = 0 forces a t = sqrt m; then (sqrt m t/sqrt(2 pi (1 + t^2)))^2 - (m mu(1))^2 = "
             "m((2 - m) t^2 - m)/(4 pi (1 + t^2)) < 0 for m >= 2, so a mu(t^2) < m mu(1) and dL/da_1 < 0: no "
             "(a, t) of the ray is critical", sq_ok)]


def _gelu_limits() -> str:
    """The copy's gradient entries along the minimising sequence of the group's profile (|w| -> infinity)."""
    from copyavg.numeric.one_neuron_limits import GELU_LIMITS

    from .witness import certified_sign

    lim = []
    for mv in (2, 3, 4, 10, 20):
        c = 2 * sp.sqrt(mv) * (sp.sqrt(2 * mv - 1) + 2 * sp.asin(1 / sp.sqrt(2 * mv)) + sp.pi) / (4 * sp.pi)
        same = abs(float(c) - 2 * GELU_LIMITS["average"](mv)) < 1e-12  # the numeric side's limit: same formula
        e3 = (c / sp.sqrt(mv) - 1) / 2
        e0 = 2 * (1 / sp.sqrt(4 * sp.pi)) * (c / sp.sqrt(2 * sp.pi) - mv / sp.sqrt(4 * sp.pi))
        sg3, _ = certified_sign(e3)
        sg0, _ = certified_sign(e0)
        flag = "" if same else " (MISMATCH with GELU_LIMITS)"
        lim.append(f"m = {mv}: a|w| -> {float(c):.6f}{flag}, dL/dW[0, j] -> {float(e3):.5f} (sign {sg3}), dL/da_1 -> "
                   f"{float(e0):.5f} (sign {sg0})")
    return ("along the minimising sequence of the group's profile (|w| -> infinity, a|w| -> 2 lim G/|w|, "
            "GELU_LIMITS; sigma(t z)/t -> relu(z), s(t^2)/t^2 -> 1/2) the copy's gradient entries tend to non-zero "
            "limits (signs in arb), so it is not even asymptotically critical: " + "; ".join(lim))


def gelu_ca() -> Certificate:
    from copyavg.numeric.one_neuron import average_point, ca_configuration

    from .witness import certified_sign

    t0 = time.perf_counter()
    steps = gelu_steps()
    ev = [f"[{'ok' if ok else 'UNDECIDED'}] {s}" for s, ok in steps]
    # exact witness: partition (1, 3), the group neuron at t = 1 with its best a (= m g(1, 1, 1/sqrt 3)/s(1))
    m3 = sp.Integer(3)
    a_best = sp.simplify(m3 * kernel("gelu", 1, 1, 1 / sp.sqrt(m3)) / kernel("gelu", 1, 1, 1))
    a, W, V = ca_config("gelu", (1, 3), (1, 1), (1, a_best))
    ex = exact_entries("gelu", a, W, V, js=(1,), simplify=False)  # constants: signs in arb need no simplification
    fl = _float_entries("gelu", a, W, V, js=(1,))
    sa, ba = certified_sign(ex["a"])
    s1, b1 = certified_sign(ex[1])
    # float64 gradient of O(1) closed-form terms: rounding ~1e-15; 1e-12 flags a wrong entry
    f_ok = abs(fl["a"] - float(ex["a"])) < 1e-12 and abs(fl[1] - float(ex[1])) < 1e-12
    wit_ok = sa is not None and s1 is not None and f_ok
    wit = (f"k = 4, partition (1, 3), group neuron t = 1, a = 3 g(1, 1, 1/sqrt 3)/s(1) = {sp.N(a_best, 12)} (its best "
           f"a): dL/da_1 in {ba}, dL/dW[0, 1] in {b1} (exact expressions from sympy.diff of the pair-sum loss, "
           f"enclosed in arb); float64 gradient ({fl['a']:.12g}, {fl[1]:.12g})")
    ev.append(f"[{'ok' if wit_ok else 'UNDECIDED'}] {wit}")
    # the profile point the numeric side uses (|w| = 8, the end of its search) and the |w| -> infinity limit
    from copyavg.numeric import gradient

    ca, cW, cb, cV = ca_configuration("gelu", (1, 3))
    ga, gW = gradient(ca, cW, cb, cV, "gelu")
    tn, an = average_point("gelu", 3)
    ev.append(f"numeric CA configuration (1, 3) at the profile search's end point |w| = {tn:g}, a = {an:.6g}: "
              f"dL/da_1 = {ga[0]:.4g}, dL/dW[0, 1] = {gW[0, 1]:.4g} (float64)")
    ev.append(_gelu_limits())
    ev.append("no CA point with a group of size m >= 2 at a one-group minimiser exists: the average profile has no "
              "stationary point (one-neuron:gelu, m = 2..20, opt-in) and the one-group infimum is not attained")
    ok = all(o for _, o in steps) and wit_ok
    return Certificate(
        theorem="ca-critical:gelu",
        statement=("for sigma = gelu and the unit orthonormal teacher every CA configuration (n - 1 exact copies and "
                   "one neuron on the average ray of the other m >= 2 teacher neurons, at any (a, |w|) of that ray) "
                   "is a critical point of L"),
        assumptions=_ASSUME, status=Status.REFUTED if ok else Status.UNDECIDED,
        method="closed-form cross terms (SymPy) for every (a, |w|) of the ray; exact gradient at one instance",
        residual=wit if ok else "a step not decided", evidence=tuple(ev), expected=Status.REFUTED,
        seconds=time.perf_counter() - t0)


def all_checks() -> dict:
    checks = {f"ca-critical:{n}": (lambda n=n: monomial_ca(n)) for n in MONOMIALS}
    checks["ca-critical:gelu"] = gelu_ca
    return checks
