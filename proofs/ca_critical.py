r"""docs/theory.md §5 (claims 8-9): copy-average (CA) configurations are critical points.

Setting: teacher ``v_j = rho e_j`` (j = 1..k, d >= k), ``b_j = 1``; groups ``S_1 ⊔ ... ⊔ S_n`` of
sizes ``m_i``; student ``w_i = (r_i / sqrt(m_i)) sum_{j in S_i} e_j`` and ``a_i`` from the
one-neuron solution for ``m_i`` (``copyavg.symbolic.one_neuron``).

Gradient (``copyavg.numeric.population``): with ``Y = [W; V]``, ``U = [a; -b]``,

    dL/da_i = 2 sum_m U_m g(q_i, q_m, C_im),
    dL/dw_i = 2 a_i [ 2 w_i sum_m U_m g1(i, m) + sum_m U_m g3(i, m) y_m ].

For a CA point every vector of another group and every teacher vector outside ``S_i`` is
orthogonal to ``w_i``, so the gradient reduces to four scalar identities, proved for symbolic
group sizes (and symbolic ``q_i``):

* I1 (a, within the group):  ``a s(q) - m g(q, rho^2, r rho / sqrt m) = 0``;
* I2 (w along e_j, j in S_i): ``(r/sqrt m)(a s'(q) - 2 m g1(q, rho^2, c)) - rho g3(q, rho^2, c) = 0``;
* I3 (w along e_j, j in S_l, l != i): ``a_l g3(q_i, q_l, 0) r_l / sqrt(m_l) - rho g3(q_i, rho^2, 0) = 0``;
* I4 (odd sigma): ``g(x, y, 0) = 0`` and ``g1(x, y, 0) = 0``, so orthogonal pairs add nothing to
  ``dL/da_i`` nor along ``w_i``; components orthogonal to every teacher direction are 0.
"""

from __future__ import annotations

import itertools
import time

import mpmath
import sympy as sp

from copyavg.symbolic.kernels import C11, C12, C22, D, derive_kernel
from copyavg.symbolic.one_neuron import _is_zero, rho, solution

from .certificates import Certificate, Status
from .witness import certified_sign

x_, y_ = sp.symbols("x y", positive=True)
t1, t2 = sp.symbols("t t'", nonnegative=True)
m1, m2 = 1 + t1, 1 + t2  # group sizes m = 1 + t >= 1 (symbolic)


def _full(name: str, part: str) -> sp.Expr:
    k = derive_kernel(name)
    e = k.g if part == "g" else k.partials[part].subs(D, C11 * C22 - C12**2)
    return e


def _at(name, part, c11, c22, c12):
    return _full(name, part).subs({C11: c11, C22: c22, C12: c12}, simultaneous=True)


def _s1(name, qv):
    from copyavg.symbolic.kernels import q

    return derive_kernel(name).diag["s1"].subs(q, qv)


def _s(name, qv):
    from copyavg.symbolic.one_neuron import diag_at

    return diag_at(name, qv)


def _zero_any(e) -> bool:
    """Exact zero test trying the group sizes both as m = 1 + t (t >= 0) and as a positive m."""
    if _is_zero(e):
        return True
    mp_, mq_ = sp.symbols("m_ mq_", positive=True)
    e2 = e.subs({t1: mp_ - 1, t2: mq_ - 1}, simultaneous=True)
    if _is_zero(e2):
        return True
    return sp.radsimp(sp.simplify(sp.together(e2))) == 0  # (Expr.equals is heuristic: not used)


def identities(name: str, teacher_norm=1) -> list[tuple[str, bool, str]]:
    """The scalar identities I1-I4 for activation ``name`` (erf family), symbolic group sizes.

    Each identity is tried with the group sizes written as ``m = 1 + t`` (t >= 0) and as a plain
    positive symbol; SymPy's simplifier succeeds on one or the other form."""
    pa, pb = sp.symbols("m_a m_b", positive=True)
    first = _identities(name, teacher_norm, m1, m2)
    second = _identities(name, teacher_norm, pa, pb)
    return [(n1, ok1 or ok2, r1 if not (ok1 or ok2) else "0") for (n1, ok1, r1), (_, ok2, _) in zip(first, second)]


def _identities(name: str, teacher_norm, m1, m2) -> list[tuple[str, bool, str]]:
    rv = rho if teacher_norm is None else sp.sympify(teacher_norm)
    sol = solution(name)
    out = []

    def one(mm):
        q = sp.simplify(sol["norm2"].subs({rho: rv, sp.Symbol("m", positive=True): mm}))
        av = sol["a"].subs(sp.Symbol("m", positive=True), mm)
        return q, sp.sqrt(q), av

    q, r, av = one(m1)
    c = r * rv / sp.sqrt(m1)
    i1 = av * _s(name, q) - m1 * _at(name, "g", q, rv**2, c)
    out.append(("I1: a s(q) - m g(q, rho^2, c) = 0", _zero_any(i1), sp.sstr(sp.simplify(i1))))
    i2 = r / sp.sqrt(m1) * (av * _s1(name, q) - 2 * m1 * _at(name, "g1", q, rv**2, c)) - rv * _at(name, "g3", q, rv**2, c)
    out.append(("I2: (r/sqrt m)(a s'(q) - 2 m g1) - rho g3 = 0", _zero_any(i2), sp.sstr(sp.simplify(i2))))
    q2, r2, a2 = one(m2)
    i3 = a2 * _at(name, "g3", x_, q2, 0) * r2 / sp.sqrt(m2) - rv * _at(name, "g3", x_, rv**2, 0)
    out.append(("I3: a' g3(x, q', 0) r'/sqrt(m') - rho g3(x, rho^2, 0) = 0 for all x > 0", _zero_any(i3),
                sp.sstr(sp.simplify(i3))))
    g0, g10 = _at(name, "g", x_, y_, 0), _at(name, "g1", x_, y_, 0)
    out.append(("I4: g(x, y, 0) = 0 and g1(x, y, 0) = 0", _is_zero(g0) and _is_zero(g10),
                f"g = {sp.sstr(sp.simplify(g0))}, g1 = {sp.sstr(sp.simplify(g10))}"))
    return out


def ca_point_exact(name: str, partition, d=None, teacher_norm=1):
    """Exact (SymPy) CA configuration: returns a, W (lists), b, V for groups of consecutive indices."""
    k = sum(partition)
    d = k + 1 if d is None else d
    sol = solution(name)
    msym = sp.Symbol("m", positive=True)
    a, W = [], []
    start = 0
    for mm in partition:
        q = sp.simplify(sol["norm2"].subs({msym: mm, rho: teacher_norm}))
        a.append(sp.simplify(sol["a"].subs(msym, mm)))
        row = [sp.Integer(0)] * d
        for j in range(start, start + mm):
            row[j] = sp.sqrt(q) / sp.sqrt(mm)
        W.append(row)
        start += mm
    V = [[sp.Integer(teacher_norm) if (j == e) else sp.Integer(0) for e in range(d)] for j in range(k)]
    b = [sp.Integer(1)] * k
    return a, W, b, V


def exact_gradient(name: str, a, W, b, V):
    """The full gradient in exact SymPy arithmetic (pair formula with the derived partials)."""
    Y = W + V
    U = list(a) + [-x for x in b]
    dot = lambda x, y: sp.expand(sum(xi * yi for xi, yi in zip(x, y)))  # noqa: E731
    qs = [dot(y, y) for y in Y]
    cache = {}

    def pk(part, i, mm):
        key = (part, qs[i], qs[mm], dot(Y[i], Y[mm]))
        if key not in cache:
            if i == mm and part in ("g1", "g3"):
                # self term: 2 g1 + g3 = s'(q); split as g1 = 0, g3 = s'(q) (only the sum enters)
                cache[key] = _s1(name, qs[i]) if part == "g3" else sp.Integer(0)
            elif i == mm and part == "g":
                cache[key] = _s(name, qs[i])
            else:
                cache[key] = sp.simplify(_at(name, part, *key[1:]))
        return cache[key]

    n, d = len(W), len(W[0])
    ga, gW = [], []
    for i in range(n):
        ga.append(sp.simplify(2 * sum(U[mm] * pk("g", i, mm) for mm in range(len(Y)))))
        s1 = sum(U[mm] * pk("g1", i, mm) for mm in range(len(Y)))
        row = []
        for e in range(d):
            comp = 2 * a[i] * (2 * W[i][e] * s1 + sum(U[mm] * pk("g3", i, mm) * Y[mm][e] for mm in range(len(Y))))
            row.append(sp.simplify(comp))
        gW.append(row)
    return ga, gW


def integer_partitions(k: int, max_part=None):
    max_part = k if max_part is None else max_part
    if k == 0:
        yield ()
        return
    for p in range(min(k, max_part), 0, -1):
        for rest in integer_partitions(k - p, p):
            yield (p,) + rest


def _erf_ca_certificate(name: str, teacher_norm, theorem: str, statement_extra: str, expected) -> Certificate:
    t0 = time.perf_counter()
    ids = identities(name, teacher_norm)
    ok = all(x[1] for x in ids)
    return Certificate(
        theorem=theorem,
        statement=("every copy-average configuration (any n, any group sizes m_i covering all k teacher neurons) "
                   f"is a critical point of L: the full gradient in all a_i and all components of all w_i vanishes"
                   f"{statement_extra}"),
        assumptions=("x ~ N(0, I_d), d >= k; teacher v_j = rho e_j, b_j = 1",
                     f"rho = {teacher_norm}" if teacher_norm is not None else "rho > 0 symbolic",
                     "group sizes m, m' symbolic (>= 1); a_i, |w_i| from the one-neuron solution"),
        status=Status.PROVED if ok else Status.UNDECIDED,
        method="reduction of the gradient to scalar identities I1-I4, each simplified to 0 by SymPy",
        residual="0" if ok else "; ".join(f"{n}: {res}" for n, _, res in ids if not _),
        evidence=tuple(f"[{'ok' if o else 'UNDECIDED'}] {n}" for n, o, _ in ids),
        expected=expected,
        seconds=time.perf_counter() - t0,
    )


def ca_critical_erf2() -> Certificate:
    return _erf_ca_certificate("erf2", 1, "ca-critical:erf2", " (sigma = erf(z/sqrt 2), unit teacher)", Status.PROVED)


def ca_critical_instances(kmax: int = 7) -> Certificate:
    """All integer partitions of k <= kmax, exact arithmetic, erf2, unit teacher, d = k + 1."""
    t0 = time.perf_counter()
    count, bad = 0, []
    for k in range(1, kmax + 1):
        for part in integer_partitions(k):
            a, W, b, V = ca_point_exact("erf2", part)
            ga, gW = exact_gradient("erf2", a, W, b, V)
            count += 1
            nz = [x for x in ga + [c for row in gW for c in row] if x != 0]
            if nz:  # not simplified to 0: a witness only when arb certifies the sign
                sgn, ball = certified_sign(nz[0])
                bad.append((part, f"{sp.sstr(nz[0])} in {ball}", sgn is not None))
    refuted = any(w for _, _, w in bad)
    return Certificate(
        theorem="ca-critical:instances",
        statement=f"for every integer partition of k <= {kmax} the CA configuration (erf2, unit teacher, d = k + 1) "
                  "has exactly zero gradient (exact SymPy arithmetic, no floats)",
        assumptions=("groups of consecutive teacher indices (any other assignment is a permutation of these)",),
        status=Status.PROVED if not bad else (Status.REFUTED if refuted else Status.UNDECIDED),
        method="exact gradient by the pair formula with the derived partials, each component simplified; "
               "a non-zero component counts only with a certified (arb) sign",
        residual="0" if not bad else f"partition {bad[0][0]}: component {bad[0][1]}",
        evidence=(f"{count} partitions checked",),
        seconds=time.perf_counter() - t0,
    )


def variant_uncovered() -> Certificate:
    """A teacher neuron outside every group: the gradient along it is -2 a_i rho g3(q_i, rho^2, 0) != 0."""
    t0 = time.perf_counter()
    a, W, b, V = ca_point_exact("erf2", (1,), d=3)
    V.append([sp.Integer(0), sp.Integer(1), sp.Integer(0)])  # v_2 = e_2, covered by no group
    b.append(sp.Integer(1))
    ga, gW = exact_gradient("erf2", a, W, b, V)
    comp = gW[0][1]
    sgn, ball = certified_sign(comp)
    return Certificate(
        theorem="ca-critical-variant:uncovered-teacher",
        statement="a CA configuration whose groups leave a teacher neuron uncovered is a critical point",
        assumptions=("erf2, unit teacher, k = 2, n = 1 copying v_1, v_2 uncovered, d = 3",),
        status=Status.REFUTED if sgn is not None else Status.UNDECIDED,
        method="exact gradient (SymPy); witness: the component of dL/dw_1 along the uncovered v_2, its sign "
               "certified in arb ball arithmetic",
        residual=f"dL/dw_1 . e_2 = {sp.sstr(comp)} in {ball}",
        expected=Status.REFUTED,
        seconds=time.perf_counter() - t0,
    )


def variant_teacher_norm() -> Certificate:
    return _erf_ca_certificate("erf2", None, "ca-critical-variant:teacher-norm",
                               " (sigma = erf(z/sqrt 2), common teacher norm rho, symbolic)", None)


def variant_erf() -> Certificate:
    return _erf_ca_certificate("erf", 1, "ca-critical-variant:erf", " (sigma = erf(z), unit teacher)", None)


def variant_relu() -> Certificate:
    """ReLU: E[relu(z1) relu(z2)] = 1/(2 pi) for orthogonal unit directions, so groups interact."""
    t0 = time.perf_counter()
    name = "relu"
    sol = solution(name)
    msym = sp.Symbol("m", positive=True)
    # partition (1, 2) of k = 3: copy v_1 (a = 1, w = v_1), average v_2, v_3 with |w| = 1, a = p(2)
    p2 = sp.simplify(sol["ar"].subs({msym: 2, rho: 1}))
    a = [sp.Integer(1), p2]
    W = [[1, 0, 0, 0], [0, 1 / sp.sqrt(2), 1 / sp.sqrt(2), 0]]
    W = [[sp.sympify(x) for x in row] for row in W]
    V = [[sp.Integer(int(i == j)) for j in range(4)] for i in range(3)]
    b = [sp.Integer(1)] * 3
    # exact gradient with the ReLU kernel: collinear self/copy pairs need care: use the true-form
    # kernel away from the diagonal and s'(q) on it; the copy pair (w_1 = v_1) has D = 0 where the
    # first partials are continuous (g1 -> 0, g3 -> 1/2)
    ga = [sp.simplify(2 * (sum(U * _pair_g(name, Wi, Ym) for U, Ym in zip(list(a) + [-x for x in b], W + V))))
          for Wi in W]
    comp = ga[0]
    sgn, ball = certified_sign(comp)
    return Certificate(
        theorem="ca-critical-variant:relu",
        statement="for sigma = relu the CA configurations are critical points",
        assumptions=("unit teacher k = 3, partition (1, 2): copy v_1, average v_2 and v_3 (|w| = 1, a |w| = p*(2))",),
        status=Status.REFUTED if sgn is not None else Status.UNDECIDED,
        method="exact dL/da_1 (SymPy): cross-group terms g(x, y, 0) = sqrt(xy)/(2 pi) do not vanish; sign "
               "certified in arb ball arithmetic",
        residual=f"dL/da_1 = {sp.sstr(comp)} in {ball}",
        expected=Status.REFUTED,
        seconds=time.perf_counter() - t0,
    )


def _pair_g(name, w, y):
    c11 = sp.expand(sum(x * x for x in w))
    c22 = sp.expand(sum(x * x for x in y))
    c12 = sp.expand(sum(x * z for x, z in zip(w, y)))
    if c11 == 0 or c22 == 0:
        return sp.Integer(0)
    return sp.simplify(_at(name, "g", c11, c22, c12))


def _ray_exact(rhos, bs) -> tuple[bool | None, list[str]]:
    """Exact (SymPy) refutation along the CA ray, erf2, k = 2, n = 1.

    w = r (cos phi, sin phi, 0), v_j = rho_j e_j, CA direction phi0 along v_1 + v_2. From the loss
    L(a, r, phi) = a^2 g(r^2, r^2, r^2) - 2 a sum_j b_j g(r^2, rho_j^2, w.v_j) + const (derived kernel),
    dL/dphi at phi0 is a f(r); f(r) = sum_j c_j Delta_j(r)^(-1/2). If f has no zero r > 0 (exact real
    roots of a polynomial) and dL/da = 0 forces a > 0, no point of the ray is critical: whatever
    (a, |w|) makes the ray conditions hold, the tangential derivative is non-zero. Returns
    (refuted: True / None undecided, evidence lines)."""
    from copyavg.symbolic.one_neuron import kernel_at

    a, phi = sp.Symbol("a", real=True), sp.Symbol("phi", real=True)
    r = sp.Symbol("r", positive=True)
    rho_s = [sp.Integer(x) for x in rhos]
    b_s = [sp.Integer(x) for x in bs]
    w = [r * sp.cos(phi), r * sp.sin(phi)]
    c12 = [w[0] * rho_s[0], w[1] * rho_s[1]]
    L = (a**2 * kernel_at("erf2", r**2, r**2, r**2)
         - 2 * a * sum(bj * kernel_at("erf2", r**2, rj**2, cj) for bj, rj, cj in zip(b_s, rho_s, c12)))
    phi0 = sp.atan2(rho_s[1], rho_s[0])
    ev = ["loss along w = r (cos phi, sin phi, 0) from the derived erf2 kernel; CA direction phi0 = "
          f"atan2({rhos[1]}, {rhos[0]})"]
    La = sp.diff(L, a).subs(phi, phi0)
    a_star = sp.solve(La, a)
    ev.append(f"dL/da = 0 gives a = {sp.sstr(a_star)}")
    if len(a_star) != 1:
        return None, ev
    pos = a_star[0].replace(lambda e: isinstance(e, sp.asin) and e.args[0].is_positive,
                            lambda e: sp.Dummy("asin_pos", positive=True))
    a_pos = bool(pos.is_positive)
    ev.append(f"a* > 0 for every r > 0 (asin of a positive argument in (0, 1] is positive): {a_pos}")
    # chain rule with the derived partial g3 = dg/dC12: dL/dphi = -2 a sum_j b_j g3_j dC12_j/dphi
    from copyavg.symbolic.kernels import D, derive_kernel
    g3 = derive_kernel("erf2").partials["g3"].subs(D, C11 * C22 - C12**2)
    terms = [-2 * bj * g3.subs({C11: r**2, C22: rj**2, C12: cj.subs(phi, phi0)}, simultaneous=True)
             * sp.simplify(sp.diff(cj, phi).subs(phi, phi0) / r) for bj, rj, cj in zip(b_s, rho_s, c12)]
    f = sum(terms)
    ev.append("dL/dphi (phi0) = a r f(r): chain rule with g3 = dg/dC12 (derived partial, equal to the direct "
              "derivative of g by kernel-invariants:erf2) and dC12_j/dphi")
    groups: dict = {}
    for term in terms:
        pw = [p for p in sp.Mul.make_args(term) if isinstance(p, sp.Pow) and p.exp == -sp.S.Half and p.base.has(r)]
        if len(pw) != 1:
            ev.append(f"tangential term {sp.sstr(term)} not of the form c Delta^(-1/2)")
            return None, ev
        c = sp.simplify(term / pw[0])
        if c.has(r):
            return None, ev + [f"coefficient {sp.sstr(c)} depends on r"]
        groups[sp.expand(pw[0].base)] = groups.get(sp.expand(pw[0].base), 0) + c
    groups = {k: sp.simplify(v) for k, v in groups.items() if sp.simplify(v) != 0}
    ev.append("f(r) = " + " + ".join(f"({sp.sstr(c)}) ({sp.sstr(k)})^(-1/2)" for k, c in groups.items()))
    if len(groups) == 1:
        (c,) = groups.values()
        sgn, ball = certified_sign(c)
        never_zero = sgn is not None
        ev.append(f"one term: coefficient in {ball}, never 0 for r > 0")
    elif len(groups) == 2:
        (d1, c1), (d2, c2) = groups.items()
        ratio = sp.nsimplify(sp.simplify(c2 / c1))
        P = sp.expand(d2 - ratio**2 * d1)  # c1 d1^(-1/2) + c2 d2^(-1/2) = 0  =>  d2 = ratio^2 d1
        roots = [x for x in sp.Poly(P, r).real_roots() if x > 0] if P != 0 and ratio.is_Rational else None
        never_zero = roots == [] and ratio.is_Rational
        ev.append(f"two terms: a zero needs Delta_2 = (c_2/c_1)^2 Delta_1, i.e. {sp.sstr(P)} = 0; positive real "
                  f"roots (exact): {roots}")
    else:
        return None, ev + [f"{len(groups)} distinct radicands: not handled"]
    return (True if (never_zero and a_pos) else None), ev


def _numeric_variant(theorem, statement, rhos, bs) -> Certificate:
    """n = 1 student averaging a 2-neuron teacher with norms ``rhos`` and outgoing weights ``bs``:
    w along v_1 + v_2 with the best (a, |w|) for that direction. Refuted exactly (``_ray_exact``);
    the 50-digit solution of the ray conditions is reported as evidence only."""
    from copyavg.numeric.mp import gradient_mp, loss_mp

    t0 = time.perf_counter()
    refuted, ev = _ray_exact(rhos, bs)
    with mpmath.workdps(50):
        V = [[mpmath.mpf(rhos[0]), 0, 0], [0, mpmath.mpf(rhos[1]), 0]]
        direction = [mpmath.mpf(rhos[0]), mpmath.mpf(rhos[1]), 0]
        nd = mpmath.sqrt(sum(x * x for x in direction))
        direction = [x / nd for x in direction]

        def grad_ar(a, r):
            ga, gW = gradient_mp([a], [[r * x for x in direction]], bs, V, "erf2", dps=50)
            return [ga[0], sum(gx * x for gx, x in zip(gW[0], direction))]

        a_opt, r_opt = mpmath.mpf(2), mpmath.mpf("0.6")
        for _ in range(4):  # restarted Newton: each pass gains digits until precision-limited
            a_opt, r_opt = mpmath.findroot(lambda a, r: grad_ar(a, r), (a_opt, r_opt),
                                           tol=mpmath.mpf(10) ** -60, verify=False)
        ga, gW = gradient_mp([a_opt], [[r_opt * x for x in direction]], bs, V, "erf2", dps=50)
        tangent = [-direction[1], direction[0], 0]
        tang = sum(gx * x for gx, x in zip(gW[0], tangent))
        lossv = loss_mp([a_opt], [[r_opt * x for x in direction]], bs, V, "erf2", dps=50)
    ev.append(f"evidence only (mpmath, 50 digits): the ray point a = {mpmath.nstr(a_opt, 15)}, |w| = "
              f"{mpmath.nstr(r_opt, 15)} (loss {mpmath.nstr(lossv, 15)}) has tangential dL/dw = {mpmath.nstr(tang, 15)}")
    return Certificate(
        theorem=theorem,
        statement=statement,
        assumptions=(f"erf2, k = 2, teacher norms {rhos}, outgoing weights {bs}, n = 1 averaging both, d = 3",
                     "the CA point: w along v_1 + v_2 with (a, |w|) stationary along that ray"),
        status=Status.REFUTED if refuted else Status.UNDECIDED,
        method="exact (SymPy): at every point of the ray where dL/da = 0 (a > 0), the derivative of L in the "
               "direction angle is a f(|w|) with f free of positive zeros (exact real roots)",
        residual=("for every |w| > 0 the tangential derivative at a = a*(|w|) is non-zero" if refuted
                  else "not decided"),
        evidence=tuple(ev),
        expected=None,
        seconds=time.perf_counter() - t0,
    )


def variant_unequal_norms() -> Certificate:
    return _numeric_variant("ca-critical-variant:unequal-teacher-norms",
                            "with unequal teacher norms the CA configuration is a critical point", (1, 2), (1, 1))


def variant_unequal_b() -> Certificate:
    return _numeric_variant("ca-critical-variant:unequal-outgoing-weights",
                            "with teacher outgoing weights other than 1 the CA configuration is a critical point",
                            (1, 1), (1, 2))


def all_checks() -> dict:
    return {
        "ca-critical:erf2": ca_critical_erf2,
        "ca-critical:instances": ca_critical_instances,
        "ca-critical-variant:uncovered-teacher": variant_uncovered,
        "ca-critical-variant:teacher-norm": variant_teacher_norm,
        "ca-critical-variant:erf": variant_erf,
        "ca-critical-variant:unequal-teacher-norms": variant_unequal_norms,
        "ca-critical-variant:unequal-outgoing-weights": variant_unequal_b,
        "ca-critical-variant:relu": variant_relu,
    }
