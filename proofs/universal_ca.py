r"""docs/theory.md §5-§6 (claims 9b, 12b): copy-average points for every catalogue activation.

**When is a CA point critical?** Unit orthonormal teacher, groups ``S_i`` of sizes ``m_i``, group
neuron ``w_i = (r_i/sqrt m_i) sum_{j in S_i} e_j`` at the stationary point ``(r(m_i), a(m_i))`` of
its own average profile (``q_i = r_i^2``). In the gradient (docs/theory.md §3) the pairs inside a
group give the one-neuron identities I1 (``a s(q) = m g(q, 1, c)``, the best a) and I2 (the radial
derivative; ``c = r/sqrt m``) - both hold by the one-neuron stationarity - and tangential
components inside the span of ``S_i``, which vanish because the point is fixed by the
permutations of ``S_i`` (the gradient is then fixed too). Every pair across groups is orthogonal
and enters through the kernel at ``C12 = 0`` only:

* ``dL/da_i`` gains ``sum_{l != i} J0(q_i; m_l)``, ``J0(x; m) = a(m) g(x, q(m), 0) - m g(x, 1, 0)``;
* the radial part of ``dL/dw_i`` gains ``sum_{l != i} J1(q_i; m_l)``, ``J1`` the same with ``g1``;
* the component of ``dL/dw_i`` along ``e_j``, ``j in S_l``, is ``2 a_i J3(q_i; m_l)``,
  ``J3(x; m) = a(m) g3(x, q(m), 0) r(m)/sqrt(m) - g3(x, 1, 0)``;
* components orthogonal to every teacher direction are 0.

So every CA point (any partition) is critical iff ``J0 = J1 = J3 = 0`` at the overlaps that occur;
``J0 = J1 = J3 = 0`` for all ``x > 0`` and all ``m >= 1`` is sufficient (and with two groups of
sizes m, m' also necessary at ``x = q(m')``). Since ``g(x, y, 0) = mu(x) mu(y)``,
``g3(x, y, 0) = nu(x) nu(y)`` (``mu(q) = E[sigma(sqrt q z)]``, ``nu(q) = E[sigma'(sqrt q z)]``,
Price), J0 and J1 vanish automatically for odd sigma (``mu = 0``) and J3 for even sigma
(``nu = 0``); otherwise they say that each group neuron matches its teachers' mean
(``a mu(q) = m mu(1)``) and mean slope (``a r nu(q)/sqrt m = nu(1)``). When J0 = 0 for all x the
loss of a CA point is additive, ``sum_i L_average(m_i)`` (the cross terms are ``a_i J0(q_i; m_l)
- m_i J0(1; m_l)``), and the optimal CA structure follows from concavity of ``L_average``.

Certificates ``ca-critical:NAME`` and ``optimal-ca-structure:NAME``.
"""

from __future__ import annotations

import time

import numpy as np
import sympy as sp

from copyavg.symbolic.kernels import C11, C12

from .certificates import Certificate, Status
from .universal_one_neuron import NAMES, average_solution, diag, kernel, m, partial, x, zero

CA_NAMES = NAMES + ("linear",)
PL_REFUTE = ("abs", "leaky_relu")


def _solution(name: str):
    if name == "linear":  # only a |w| is fixed: |w| = 1, a = sqrt(m) (f = f* on the group)
        return sp.Integer(1), sp.sqrt(m), sp.Integer(0)
    return average_solution(name)


def _kernel(name, c11, c22, c12):
    return c12 if name == "linear" else kernel(name, c11, c22, c12)


def _partial(name, var, c11, c22, c12):
    if name == "linear":
        return sp.Integer(1) if var == C12 else sp.Integer(0)
    return partial(name, var, c11, c22, c12)


def identities(name: str) -> list[tuple[str, bool, str]]:
    """I1, I2 and J0, J1, J3 (for all x > 0, symbolic group size m): (label, holds, residual)."""
    n2, a, _ = _solution(name)
    r = sp.sqrt(n2)
    cc = r / sp.sqrt(m)
    qq = sp.Symbol("qq", positive=True)
    s1 = sp.diff(diag(name, qq), qq).subs(qq, n2) if name != "linear" else sp.Integer(1)
    s0 = diag(name, n2) if name != "linear" else n2
    out = []
    i1 = a * s0 - m * _kernel(name, n2, 1, cc)
    i2 = r / sp.sqrt(m) * (a * s1 - 2 * m * _partial(name, C11, n2, 1, cc)) - _partial(name, C12, n2, 1, cc)
    j0 = a * _kernel(name, x, n2, 0) - m * _kernel(name, x, 1, 0)
    j1 = a * _partial(name, C11, x, n2, 0) - m * _partial(name, C11, x, 1, 0)
    j3 = a * _partial(name, C12, x, n2, 0) * r / sp.sqrt(m) - _partial(name, C12, x, 1, 0)
    odd_auto = zero(_kernel(name, x, sp.Symbol("y", positive=True), 0))
    even_auto = zero(_partial(name, C12, x, sp.Symbol("y", positive=True), 0))
    for label, e, auto in (("I1: a s(q) - m g(q, 1, c) = 0 (best a)", i1, None),
                           ("I2: (r/sqrt m)(a s'(q) - 2 m g1(q, 1, c)) - g3(q, 1, c) = 0 (radial)", i2, None),
                           ("J0: a g(x, q, 0) - m g(x, 1, 0) = 0 for all x > 0 (mean)", j0, odd_auto),
                           ("J1: a g1(x, q, 0) - m g1(x, 1, 0) = 0 for all x > 0", j1, odd_auto),
                           ("J3: a g3(x, q, 0) r/sqrt m - g3(x, 1, 0) = 0 for all x > 0 (mean slope)", j3, even_auto)):
        ok = zero(e)
        note = " [automatic: g(x, y, 0) = 0, sigma odd]" if auto and "J0" in label or auto and "J1" in label else (
            " [automatic: g3(x, y, 0) = 0, sigma even]" if auto and "J3" in label else "")
        out.append((label + note, ok, "0" if ok else sp.sstr(sp.simplify(e))))
    return out


def numeric_ca_gradient(name: str, partitions=((1, 2), (2, 3), (1, 1, 3))) -> float:
    """max |grad L| (copyavg.numeric, float64) over the CA points of ``partitions`` (d = k + 1)."""
    from copyavg.numeric import gradient
    from copyavg.numeric.one_neuron import ca_configuration

    worst = 0.0
    for P in partitions:
        a, W, b, V = ca_configuration(name, P)
        ga, gW = gradient(a, W, b, V, name)
        worst = max(worst, float(np.max(np.abs(ga))), float(np.max(np.abs(gW))))
    return worst


def _pl_witness(name: str) -> tuple[sp.Expr, str]:
    """abs / leaky_relu: exact dL/da_1 at the CA point of partition (1, 2), k = 3 (copy v_1; average
    v_2, v_3 with |w| = 1, a = a|w| of the average point)."""
    from copyavg.symbolic.one_neuron import m as msym, rho, solution

    from .ca_critical import _pair_g

    p2 = sp.simplify(solution(name)["ar_average"].subs({msym: 2, rho: 1}))
    a = [sp.Integer(1), p2]
    W = [[sp.Integer(1), 0, 0, 0], [0, 1 / sp.sqrt(2), 1 / sp.sqrt(2), 0]]
    W = [[sp.sympify(v) for v in row] for row in W]
    V = [[sp.Integer(int(i == j)) for j in range(4)] for i in range(3)]
    U = a + [sp.Integer(-1)] * 3
    comp = sp.simplify(2 * sum(u * _pair_g(name, W[0], y) for u, y in zip(U, W + V)))
    return comp, f"k = 3, partition (1, 2), a = (1, {sp.sstr(p2)}): dL/da_1 = {sp.sstr(comp)} = {sp.N(comp, 15)}"


def ca_critical(name: str) -> Certificate:
    t0 = time.perf_counter()
    gmax = numeric_ca_gradient(name)
    if name in PL_REFUTE:
        comp, note = _pl_witness(name)
        status = Status.REFUTED if comp != 0 else Status.UNDECIDED
        ev = (note, "the mean condition J0 fails: mu(q) = E[sigma(sqrt q z)] is not 0 for this sigma and a r != m "
                    "at the average point", f"numeric: max|grad| at CA points (1,2), (2,3), (1,1,3) = {gmax:.3e}")
        return Certificate(theorem=f"ca-critical:{name}", statement=f"for sigma = {name} every CA point is critical",
                           assumptions=("unit orthonormal teacher, b = 1, d = k + 1",), status=status,
                           method="exact dL/da_1 at one CA point (SymPy, derived kernel)", residual=note,
                           evidence=ev, expected=Status.REFUTED, seconds=time.perf_counter() - t0)
    ids = identities(name)
    ok = all(o for _, o, _ in ids)
    ev = [f"[{'ok' if o else 'FAILS'}] {lab}" for lab, o, _ in ids]
    # the float gradient at CA points: rounding ~1e-15 per term; 1e-12 separates 0 from a failing identity
    num_ok = gmax < 1e-12
    ev.append(f"numeric: max|grad L| (copyavg.numeric, float64) at the CA points (1,2), (2,3), (1,1,3), d = k + 1: "
              f"{gmax:.2e} ({'< 1e-12' if num_ok else 'NOT small'})")
    if ok and num_ok:
        status, residual = Status.PROVED, "0"
    elif not num_ok:
        status, residual = Status.REFUTED, f"max|grad| = {gmax:.3e} at a CA point; " + "; ".join(
            f"{lab}: {res}" for lab, o, res in ids if not o)
    else:
        status, residual = Status.UNDECIDED, "; ".join(f"{lab}: {res}" for lab, o, res in ids if not o)
    return Certificate(
        theorem=f"ca-critical:{name}",
        statement=(f"for sigma = {name} and the unit orthonormal teacher every copy-average point (any partition of "
                   "the k teacher neurons, each group neuron the best point along its average direction) is a "
                   "critical point of L"),
        assumptions=("x ~ N(0, I_d), d >= k; v_j = e_j, b_j = 1; group sizes symbolic (m >= 1), the other "
                     "group's squared norm x > 0 arbitrary",
                     "reduction of the gradient to I1, I2, J0, J1, J3: the argument of docs/theory.md §5"),
        status=status, method="identities I1, I2, J0, J1, J3 simplified to 0 by SymPy (closed-form kernel)",
        residual=residual, evidence=tuple(ev), seconds=time.perf_counter() - t0,
    )


# --- optimal-ca-structure ----------------------------------------------------------------------------
_j = sp.Symbol("j", integer=True, nonnegative=True)
_i = sp.Symbol("i", integer=True, nonnegative=True)
_u = sp.Symbol("u", positive=True)  # u = 1/m
_E1 = sp.exp(-1)

#: L_average(m) = alpha m + beta - sum_{j >= j0} c_j m^(p_j) (Laurent series at m = infinity) and
#: where the general term comes from: (alpha, beta, c_j, p_j, j0, source)
SERIES = {
    "sin": (_E1 * (sp.sinh(1) - 1), sp.Integer(0), _E1 / sp.factorial(2 * _j + 1), 1 - 2 * _j, 1,
            "m^2 sinh(1/m) = sum_j m^(1-2j)/(2j+1)! (Maclaurin series of sinh, entire)"),
    "cos": (_E1 * (sp.cosh(1) - 1), -_E1 / 2, _E1 / sp.factorial(2 * _j), 2 - 2 * _j, 2,
            "m^2 cosh(1/m) = sum_j m^(2-2j)/(2j)! (Maclaurin series of cosh, entire)"),
    "gaussian": (1 / sp.sqrt(3) - sp.Rational(1, 2), -sp.Rational(1, 16),
                 sp.factorial(2 * _j) / (sp.factorial(_j) ** 2 * 2 * 16**_j), 2 - 2 * _j, 2,
                 "m^3/sqrt(4m^2 - 1) = (m^2/2)(1 - y)^(-1/2), y = 1/(4m^2) <= 1/4, binomial series "
                 "(1 - y)^(-1/2) = sum_j binomial(2j, j) (y/4)^j"),
    **{f"hermite{n}": (sp.factorial(n), sp.Integer(0), sp.factorial(n) * sp.Integer(1) ** _j, 2 - n - _j, 0,
                       f"L = {n}! m - {n}! m^(2-{n}): one term (c_j = 0 for j >= 1)") for n in (3, 4, 5)},
}


def series_concavity(name: str) -> Certificate:
    """``L_average(1) = 0``, strictly increasing and strictly concave on m >= 1 via its Laurent series."""
    from .optimal_ca import _conventions, _decide_positive

    t0 = time.perf_counter()
    L = average_solution(name)[2]
    al, be, cj, pj, j0, source = SERIES[name]
    ev, ok = [f"L_average(m) = {sp.sstr(L)}", f"general term: {source}"], True
    finite = name.startswith("hermite")
    nterms = 1 if finite else 6
    partial_sum = al * m + be - sum(cj.subs(_j, jj) * m ** pj.subs(_j, jj) for jj in range(j0, j0 + nterms))
    if finite:
        res = sp.simplify(L - partial_sum)
    else:  # exact agreement of the Laurent series at m = infinity to the order of the last term used
        order = int(-pj.subs(_j, j0 + nterms - 1)) + 1
        res = sp.simplify(sp.series((L - partial_sum).subs(m, 1 / _u), _u, 0, order).removeO())
    ev.append(f"L - (alpha m + beta - sum_(j={j0}..{j0 + nterms - 1}) c_j m^(p_j)) = {sp.sstr(res)} "
              + ("(exact)" if finite else f"+ O(m^-{order}) (SymPy series)"))
    ok &= res == 0
    if name in ("sin", "cos"):
        f = sp.sinh if name == "sin" else sp.cosh
        k = 2 * _j + 1 if name == "sin" else 2 * _j
        gt = sp.simplify(f.taylor_term(k, _u) / _u**k - cj / _E1)
        ev.append(f"taylor_term of {f.__name__} at order {k}: coefficient - c_j e = {sp.sstr(gt)}")
        ok &= gt == 0
    if name == "gaussian":
        y = sp.Symbol("y")
        ser = sp.series((1 - y) ** sp.Rational(-1, 2), y, 0, 10).removeO()
        gt = sp.expand(ser - sum(sp.binomial(2 * jj, jj) * (y / 4) ** jj for jj in range(10)))
        ev.append(f"binomial series check, first 10 terms: difference {sp.sstr(gt)}")
        ok &= gt == 0
    cpos = sp.simplify(cj.subs(_j, j0 + _i)).is_positive
    pneg = sp.simplify(pj.subs(_j, j0 + _i)).is_negative
    apos, note = _decide_positive(al)
    one = zero(L.subs(m, 1))
    ev.append(f"c_j > 0 for j >= {j0}: {cpos}; p_j < 0 for j >= {j0}: {pneg}; alpha = {sp.sstr(al)} > 0: {apos} "
              f"({note}); L_average(1) = 0: {one}")
    ok &= bool(cpos) and bool(pneg) and bool(apos) and one
    ev.append("each term -c_j m^(p_j) (c_j > 0, p_j < 0) has derivative -c_j p_j m^(p_j-1) > 0 and second derivative "
              "-c_j p_j (p_j - 1) m^(p_j-2) < 0; the series converges with its m-derivatives uniformly on m >= 1: "
              "L' >= alpha > 0, L'' < 0")
    return Certificate(
        theorem=f"lstar-increasing-concave:{name}", statement=(
            f"for real m >= 1 the best loss along the average direction L_average(m) ({name}) satisfies "
            "L_average(1) = 0 and is strictly increasing and strictly concave"),
        assumptions=_conventions(name) + (f"L_average(m) = {sp.sstr(L)} (one-neuron:{name})",),
        status=Status.PROVED if ok else Status.UNDECIDED, method="Laurent series at m = infinity, term signs (SymPy)",
        residual="0" if ok else "a step not decided", evidence=tuple(ev), seconds=time.perf_counter() - t0)


def _ties(name: str) -> Certificate:
    """hermite2, linear: L_average is affine, so every partition with n groups has the same loss."""
    t0 = time.perf_counter()
    L = _solution(name)[2] if name == "linear" else average_solution(name)[2]
    second = sp.simplify(sp.diff(L, m, 2))
    j0 = identities(name)[2][1]
    loss = lambda P: sum(L.subs(m, p) for p in P)  # noqa: E731
    tie = sp.simplify(loss((2, 2)) - loss((3, 1)))
    ok = second == 0 and j0 and tie == 0
    return Certificate(
        theorem=f"optimal-ca-structure:{name}",
        statement=(f"sigma = {name}: among CA points of n student neurons against k unit teacher neurons, n - 1 "
                   "copies and one average of k - n + 1 is the unique optimum (up to permutation)"),
        assumptions=("unit orthonormal teacher, b = 1; CA points as in ca-critical:" + name,),
        status=Status.REFUTED if ok else Status.UNDECIDED,
        method="exact: L_average affine (L'' = 0) and the CA loss additive (J0 = 0), so all partitions tie",
        residual=(f"L_average(m) = {sp.sstr(L)}, L'' = {sp.sstr(second)}; k = 4, n = 2: partitions (2, 2) and (3, 1) "
                  f"both have loss {sp.sstr(loss((3, 1)))} (difference {sp.sstr(tie)})"),
        evidence=(f"J0 = 0 for all x (additivity): {j0}",
                  "every partition of k into n groups has loss sum_i L_average(m_i) = " +
                  ("0" if name == "linear" else "2 (k - n)") + ": the claimed structure is optimal but not unique"),
        expected=Status.REFUTED, seconds=time.perf_counter() - t0)


def optimal_ca_structure(name: str, kmax: int = 20) -> Certificate:
    from dataclasses import replace

    from .optimal_ca import lstar_increasing_concave, optimal_ca_partition

    if name in ("hermite2", "linear"):
        return _ties(name)
    t0 = time.perf_counter()
    L = average_solution(name)[2]
    conc = lstar_increasing_concave(L, name) if name == "normal_cdf" else series_concavity(name)
    j0 = identities(name)[2]
    cert = optimal_ca_partition(kmax, L, name, concavity=conc)
    add = (f"[{'ok' if j0[1] else 'UNDECIDED'}] the CA loss is additive, sum_i L_average(m_i): J0 = 0 for all x "
           f"(ca-critical:{name}), so the cross-group terms a_i J0(q_i; m_l) - m_i J0(1; m_l) vanish")
    status = cert.status if j0[1] or cert.status != Status.PROVED else Status.UNDECIDED
    return replace(cert, theorem=f"optimal-ca-structure:{name}", status=status,
                   evidence=(add, f"concavity: {conc.status.value} ({conc.method})") + conc.evidence + cert.evidence,
                   seconds=time.perf_counter() - t0)


def _exact_ca_loss(name: str, P) -> sp.Expr:
    """Exact (SymPy) loss of the CA point of partition P (piecewise-linear family: |w_i| = 1,
    a_i = a|w| of the average point), unit teacher, d = k, from the derived kernel."""
    from copyavg.symbolic.one_neuron import m as msym, rho, solution

    from .ca_critical import _pair_g

    k = sum(P)
    a, W, start = [], [], 0
    for mi in P:
        a.append(sp.simplify(solution(name)["ar_average"].subs({msym: mi, rho: 1})))
        W.append([sp.Integer(0)] * start + [1 / sp.sqrt(mi)] * mi + [sp.Integer(0)] * (k - start - mi))
        start += mi
    V = [[sp.Integer(int(i == j)) for j in range(k)] for i in range(k)]
    U, Y = a + [sp.Integer(-1)] * k, W + V
    cache: dict = {}
    total = sp.Integer(0)
    for u1, y1 in zip(U, Y):
        for u2, y2 in zip(U, Y):
            key = tuple(sp.expand(sum(p * q for p, q in zip(v1, v2))) for v1, v2 in ((y1, y1), (y2, y2), (y1, y2)))
            if key not in cache:
                cache[key] = _pair_g(name, y1, y2)
            total += u1 * u2 * cache[key]
    return total


def _pl_structure(name: str) -> Certificate:
    """relu, abs, leaky_relu: CA points are not critical and their loss is not additive; at k = 4,
    n = 2 the partition (2, 2) has a lower loss than (1, 3), decided exactly (SymPy) and in arb.
    Evidence: the float64 loss of every CA point for k <= 6."""
    from copyavg.numeric import loss
    from copyavg.numeric.one_neuron import ca_configuration

    from .optimal_ca import _arb_sign, partitions

    t0 = time.perf_counter()
    better = []
    for k in range(2, 7):
        for n in range(2, k):
            opt = (1,) * (n - 1) + (k - n + 1,)
            L_opt = loss(*ca_configuration(name, opt), name)
            for P in partitions(k, n):
                if tuple(sorted(P)) != tuple(sorted(opt)):
                    Lp = loss(*ca_configuration(name, P), name)
                    if Lp < L_opt - 1e-9:  # float64 losses of size ~k: 1e-9 is far above rounding
                        better.append(f"k={k} n={n} {P}: {Lp:.6f} < {L_opt:.6f}")
    diff = sp.simplify(_exact_ca_loss(name, (1, 3)) - _exact_ca_loss(name, (2, 2)))
    sgn, ball = _arb_sign(diff)
    ev = ("CA points are not critical for this sigma (" + ("ca-critical-variant:relu" if name == "relu" else
                                                          f"ca-critical:{name}") + "), and "
          "their loss is not sum_i L_average(m_i) (the mean condition J0 fails)",
          "float64 loss of every CA point, k = 2..6: partitions beating n - 1 copies + one average: "
          + ("; ".join(better[:6]) if better else "none"))
    return Certificate(
        theorem=f"optimal-ca-structure:{name}",
        statement=(f"sigma = {name}: among CA points of n student neurons against k unit teacher neurons, n - 1 "
                   "copies and one average of k - n + 1 has the lowest loss"),
        assumptions=("unit orthonormal teacher, b = 1, d = k; group neurons at their average points (|w| = 1)",),
        status=Status.REFUTED if sgn == 1 else Status.UNDECIDED,
        method="exact CA losses from the derived kernel (SymPy), sign of the difference in arb",
        residual=f"k = 4, n = 2: L(1, 3) - L(2, 2) = {sp.sstr(diff)} = {ball} > 0", evidence=ev,
        expected=None, seconds=time.perf_counter() - t0)


def all_checks() -> dict:
    checks = {f"ca-critical:{n}": (lambda n=n: ca_critical(n)) for n in CA_NAMES + PL_REFUTE}
    for n in CA_NAMES:
        checks[f"optimal-ca-structure:{n}"] = (lambda n=n: optimal_ca_structure(n))
    for n in ("relu",) + PL_REFUTE:
        checks[f"optimal-ca-structure:{n}"] = (lambda n=n: _pl_structure(n))
    return checks
