r"""docs/theory.md §6 (claims 11-12): the optimal copy-average (CA) configuration.

Setting: activation ``erf2`` (``sigma(z) = erf(z/sqrt 2)``), unit-orthonormal teacher
(``v_j = e_j``, ``b_j = 1``), loss ``L = E_x[(f - f*)^2]`` with **no factor 1/2**. ``L*(m)`` is the
optimal loss of one student neuron against ``m`` teacher neurons; its closed form is proved
elsewhere (docs/theory.md §4, claim 5) and enters here as an *input*: a SymPy expression in one positive symbol
``m``, by default ``m/3 - (2/pi) m^2 asin(1/(2m))``, so that other activations can reuse the code.

Theorems (each check returns a :class:`~copyavg.proofs.certificates.Certificate`):

* ``ca-loss-additive``: the loss of a CA configuration is ``sum_i L*(m_i)`` (erf2: ``g = 0`` on
  orthogonal pairs, so the loss splits over groups); symbolic argument plus exact SymPy checks,
  backed numerically by :func:`copyavg.numeric.loss` (``copyavg.proofs.ca_additive``).
* ``lstar-increasing-concave``: ``L*(1) = 0`` and ``L*`` is strictly increasing and strictly
  concave for real ``m >= 1`` (Maclaurin series of asin, every term decided by SymPy).
* ``optimal-ca-partition``: among CA configurations with ``n`` groups the optimum is ``n - 1``
  copies and one average of ``k - n + 1``, loss ``L*(k - n + 1)``: general proof (Karamata) plus a
  certified enumeration for ``k <= kmax`` in arb ball arithmetic (python-flint).
"""

from __future__ import annotations

import itertools
import time

import sympy as sp

# rigorous evaluation SymPy -> arb, and the ca-loss-additive check: their own modules, re-exported
from .arb_eval import _arb_sign, _decide_positive, _NotArb, _prec, _to_arb  # noqa: F401
from .ca_additive import _ca_student, _lstar_mp, ca_loss_additive  # noqa: F401
from .certificates import Certificate, Status

#: the positive symbol every input expression is rewritten in
m = sp.Symbol("m", positive=True)
_t = sp.Symbol("t", positive=True)  # t = 1/m
_j = sp.Symbol("j", integer=True, positive=True)  # series index, j >= 1
_j0 = sp.Symbol("j", integer=True, nonnegative=True)  # series index, j >= 0
_c = sp.Symbol("c", positive=True)  # a positive coefficient
_y = sp.Symbol("y", real=True)

#: the erf2 one-neuron optimal loss (docs/theory.md §4, claim 5), the default input
LSTAR_ERF2 = m / 3 - 2 / sp.pi * m**2 * sp.asin(1 / (2 * m))

#: general Maclaurin coefficient of asin: asin(y) = sum_{j>=0} C_J y^(2j+1)
C_J = sp.factorial(2 * _j0) / (4**_j0 * sp.factorial(_j0) ** 2 * (2 * _j0 + 1))

_CONVENTIONS = (
    "x ~ N(0, I_d); student f = sum_i a_i sigma(w_i.x), teacher f* = sum_j b_j sigma(v_j.x), no biases",
    "loss L = E_x[(f - f*)^2], no factor 1/2",
    "sigma = erf2: sigma(z) = erf(z/sqrt(2))",
    "unit-orthonormal teacher: v_j = e_j in R^d (d >= k), b_j = 1",
)


def _conventions(activation: str = "erf2") -> tuple:
    """``_CONVENTIONS`` with the sigma line of ``activation`` (the one whose L* is checked)."""
    from copyavg.symbolic.activations import ACTIVATIONS

    if activation == "erf2":
        return _CONVENTIONS
    line = f"sigma = {activation}: sigma(z) = {ACTIVATIONS[activation].description}"
    return tuple(line if c.startswith("sigma = ") else c for c in _CONVENTIONS)


# --- input handling ------------------------------------------------------------------------------
def _normalise(expr) -> sp.Expr:
    """The input L* rewritten in the module symbol ``m`` (positive)."""
    if expr is None:
        return LSTAR_ERF2
    expr = sp.sympify(expr)
    free = expr.free_symbols
    if len(free) > 1:
        raise ValueError(f"L* must be an expression in one symbol m, got free symbols {free}")
    if free:
        (s,) = free
        expr = expr.subs(s, m)
    return expr


# --- lstar-increasing-concave --------------------------------------------------------------------
def _match_asin_form(L):
    """Write ``L = A m + B m^2 asin(C/m)`` with constants A, B, C (C > 0); None if not of that form."""
    atoms = [at for at in L.atoms(sp.asin) if at.has(m)]  # constants such as asin(2/3) belong to A
    if len(atoms) != 1:
        return None
    (at,) = atoms
    C = sp.simplify(at.args[0] * m)
    if C.has(m) or C == 0:
        return None
    coeff = sp.expand(L).coeff(at)
    B = sp.simplify(coeff / m**2)
    if B.has(m) or B == 0:
        return None
    A = sp.simplify((L - coeff * at) / m)
    if A.has(m) or sp.simplify(L - (A * m + B * m**2 * sp.asin(C / m))) != 0:
        return None
    if C.is_negative:  # asin is odd: B asin(C/m) = (-B) asin(-C/m)
        B, C = -B, -C
    if C.is_positive is not True:
        return None
    return A, B, C


def _witness_search(L, points=(1, sp.Rational(3, 2), 2, 3, 5, 10, 100, 10**4)):
    """Rigorous (arb) search for a point m0 >= 1 with L'(m0) < 0 or L''(m0) > 0."""
    from flint import arb

    d1, d2 = sp.diff(L, m), sp.diff(L, m, 2)
    for p0 in points:
        p0 = sp.Rational(p0)
        env = {m: arb(int(p0.p)) / arb(int(p0.q))}  # exact: p0.q is a power of 2 here
        for name, d, bad in (("L'", d1, -1), ("L''", d2, 1)):
            sgn, ball = _arb_sign(d, env)
            if sgn == bad:
                rel = "< 0" if bad < 0 else "> 0"
                return f"{name}({p0}) {rel}: arb enclosure {ball}"
    return None


def _series_steps(L, A, B, C, ev: list[str]) -> bool:
    """Steps (i)-(v) of the series route for ``L* = A m + B m^2 asin(C/m)``: the Maclaurin
    coefficients of asin, convergence at ``C/m <= C < 1``, the series of ``L*`` itself, the signs of
    its ``j >= 1`` terms and of the linear coefficient. Appends the evidence; True if all hold."""
    # (i) general Maclaurin term of asin: SymPy's own taylor_term at symbolic odd order 2j+1
    tt = sp.asin.taylor_term(2 * _j0 + 1, _y)
    ratio = sp.simplify(sp.combsimp(tt / (C_J * _y ** (2 * _j0 + 1))))
    ok_i = ratio == 1 and C_J.is_positive is True
    ev.append(f"(i) sympy asin.taylor_term(2j+1, y) = {sp.sstr(tt)}; divided by c_j y^(2j+1) "
              f"simplifies to {ratio}; c_j > 0 for integer j >= 0: {C_J.is_positive}")
    # (ii) convergence: c_{j+1}/c_j = (2j+1)^2/((2j+2)(2j+3)) < 1, so c_j <= c_0 = 1 and the series
    # at |y| <= C < 1 is dominated by sum C^(2j+1) (geometric), also after differentiating twice
    r = sp.factor(sp.combsimp(C_J.subs(_j0, _j0 + 1) / C_J))
    gap = sp.expand(sp.denom(r) - sp.numer(r))
    c_lt_1 = (C < 1) == sp.true
    ok_ii = gap.is_positive is True and c_lt_1
    ev.append(f"(ii) c_(j+1)/c_j = {sp.sstr(r)}; denominator - numerator = {sp.sstr(gap)} > 0: "
              f"{gap.is_positive}; so 0 < c_j <= 1; argument y = C/m <= C = {sp.sstr(C)} < 1: {c_lt_1}; "
              "the series and its term-wise m-derivatives converge uniformly on m >= 1")
    # (iii) series identification in t = 1/m, first 10 non-trivial terms, exact
    nterms = 10
    ser = sp.expand(sp.series(L.subs(m, 1 / _t), _t, 0, 2 * nterms + 1).removeO())
    general = (A + B * C) / _t + sum(B * C_J.subs(_j0, jj) * C ** (2 * jj + 1) * _t ** (2 * jj - 1)
                                     for jj in range(1, nterms + 1))
    resid = sp.simplify(ser - sp.expand(general))
    ok_iii = resid == 0
    ev.append(f"(iii) SymPy series of L*(1/t) in t to O(t^{2 * nterms + 1}) minus "
              f"(A+BC)/t + sum_(j=1..{nterms}) B c_j C^(2j+1) t^(2j-1): {sp.sstr(resid)}")
    ev.append("general term: m^2 B asin(C/m) = B sum_j c_j C^(2j+1) m^(1-2j) (substitute y = C/m in the "
              "Maclaurin series); j = 0 gives B C m, so L* = (A + B C) m + sum_(j>=1) B c_j C^(2j+1) m^(1-2j)")
    # (iv) signs of the j >= 1 terms: with B < 0 each term is -c m^(1-2j), c > 0
    b_neg = B.is_negative
    d1 = sp.diff(-_c * m ** (1 - 2 * _j), m)
    d2 = sp.diff(-_c * m ** (1 - 2 * _j), m, 2)
    ok_iv = b_neg is True and d1.is_positive is True and d2.is_negative is True
    ev.append(f"(iv) B < 0: {b_neg}; term -c m^(1-2j) (c > 0, j >= 1 integer, m > 0): "
              f"d/dm = {sp.sstr(d1)} > 0: {d1.is_positive}; d2/dm2 = {sp.sstr(d2)} < 0: {d2.is_negative}")
    # (v) the linear coefficient A + B C > 0
    lin = sp.simplify(A + B * C)
    pos, note = _decide_positive(lin)
    ok_v = pos is True
    ev.append(f"(v) linear coefficient A + B C = {sp.sstr(lin)} > 0: {pos} ({note})")
    if L == LSTAR_ERF2:
        ev.append(f"    (erf2: 1/3 - 1/pi > 0 <=> pi > 3; SymPy: pi > 3 is {sp.pi > 3})")
    return ok_i and ok_ii and ok_iii and ok_iv and ok_v


def lstar_increasing_concave(expr=None, activation: str = "erf2") -> Certificate:
    """``L*(1) = 0`` and ``L*`` strictly increasing and strictly concave for real ``m >= 1``.

    Route (expressions ``A m + B m^2 asin(C/m)``, the erf2 case: A = 1/3, B = -2/pi, C = 1/2):
    Maclaurin series ``asin y = sum_j c_j y^(2j+1)``, ``c_j = (2j)!/(4^j j!^2 (2j+1)) > 0``, converging
    for ``|y| <= 1``; at ``y = C/m <= C < 1`` it converges geometrically with all its derivatives, so
    ``L*(m) = (A + B C) m + sum_{j>=1} B c_j C^(2j+1) m^(1-2j)`` may be differentiated term by term.
    Each j >= 1 term has derivative > 0 and second derivative < 0 when ``B < 0``; the linear term
    adds ``A + B C > 0`` to the derivative and nothing to the second one.
    """
    t0 = time.perf_counter()
    L = _normalise(expr)
    ev: list[str] = [f"L*(m) = {sp.sstr(L)}"]
    theorem = "lstar-increasing-concave"
    statement = (f"for real m >= 1 the one-neuron optimal loss L*(m) ({activation}) satisfies L*(1) = 0 and is "
                 "strictly increasing and strictly concave")

    def done(status, method, residual=""):
        return Certificate(theorem=theorem, statement=statement,
                           assumptions=_conventions(activation) + ("m real, m >= 1",
                                                                    f"L*(m) = {sp.sstr(L)} (input)"),
                           status=status, method=method, residual=residual, evidence=tuple(ev),
                           seconds=time.perf_counter() - t0)

    # L*(1) = 0 exactly
    L1 = sp.simplify(L.subs(m, 1))
    ev.append(f"L*(1) simplifies to {sp.sstr(L1)}")
    if L1 != 0:
        pos, note = _decide_positive(L1)
        neg, note2 = _decide_positive(-L1)
        if pos or neg:
            return done(Status.REFUTED, "exact evaluation at m = 1 (SymPy) + arb enclosure",
                        f"L*(1) = {sp.sstr(L1)} != 0 ({note})")
        return done(Status.UNDECIDED, "exact evaluation at m = 1 (SymPy)",
                    f"L*(1) = {sp.sstr(L1)} not decided to be 0 ({note})")

    form = _match_asin_form(L)
    steps_ok = form is not None
    if form is None:
        ev.append("input is not of the form A m + B m^2 asin(C/m): series route not applicable")
    else:
        A, B, C = form
        ev.append(f"L*(m) = A m + B m^2 asin(C/m) with A = {sp.sstr(A)}, B = {sp.sstr(B)}, C = {sp.sstr(C)}")
        steps_ok = _series_steps(L, A, B, C, ev)
        if steps_ok:
            ev.append("hence L*' = (A + B C) + sum_(j>=1) (positive) > 0 and L*'' = sum_(j>=1) (negative) < 0 "
                      "on m >= 1 (indeed on m > C)")
            return done(Status.PROVED, "Maclaurin series of asin; term signs and series coefficients "
                                       "decided exactly (SymPy), constants confirmed in arb", "0")

    # the series route failed or did not apply: look for a rigorous counterexample
    w = _witness_search(L)
    if w is not None:
        return done(Status.REFUTED, "rigorous evaluation (arb ball arithmetic) of L*' and L*''", w)
    return done(Status.UNDECIDED, "series route failed or not applicable; no counterexample found",
                "not every step decided")


# --- optimal-ca-partition ------------------------------------------------------------------------
def partitions(k: int, n: int, maxpart: int | None = None):
    """Partitions of k into exactly n positive parts, non-increasing."""
    if maxpart is None:
        maxpart = k
    if n == 0:
        if k == 0:
            yield ()
        return
    # first part p: p <= maxpart, p >= ceil(k/n), and the rest k - p >= n - 1
    for p in range(min(maxpart, k - n + 1), (k + n - 1) // n - 1, -1):
        for rest in partitions(k - p, n - 1, p):
            yield (p,) + rest


def _majorizes(x, y) -> bool:
    """x majorizes y (both non-increasing, same sum, same length)."""
    return all(a >= b for a, b in zip(itertools.accumulate(x), itertools.accumulate(y))) and sum(x) == sum(y)


def _partition_count(kmax: int) -> int:
    """Partitions of k into n parts, k = 2..kmax, n = 1..k-1, counted by SymPy (independent route)."""
    from sympy.utilities.iterables import partitions as sp_partitions

    return sum(1 for k in range(2, kmax + 1) for p in sp_partitions(k) if 1 <= sum(p.values()) <= k - 1)


def _enumerate(L, kmax: int):
    """Compare sum_i L*(m_i) with L*(k-n+1) + (n-1) L*(1) in arb for every partition, k <= kmax."""
    from flint import arb

    L1_exact = sp.simplify(L.subs(m, 1)) == 0
    n_parts = n_cmp = n_major = 0
    undecided: list[str] = []
    witness = None
    min_gap = None  # (lower bound of difference, k, n, partition)
    used_prec = set()
    try:
        precs = (64, 128, 256, 1024)
        cache: dict[int, dict[int, arb]] = {}

        def table(p):
            if p not in cache:
                with _prec(p):
                    cache[p] = {mi: (arb(0) if (mi == 1 and L1_exact) else _to_arb(L, {m: arb(mi)}))
                                for mi in range(1, kmax + 1)}
            return cache[p]

        for k in range(2, kmax + 1):
            for n in range(1, k):
                opt = (k - n + 1,) + (1,) * (n - 1)
                for P in partitions(k, n):
                    n_parts += 1
                    if P == opt:
                        continue
                    n_cmp += 1
                    n_major += _majorizes(opt, P)
                    decided = False
                    for p in precs:
                        T = table(p)
                        with _prec(p):
                            diff = sum((T[mi] for mi in P), arb(0)) - (T[k - n + 1] + (n - 1) * T[1])
                            if diff > 0:
                                decided = True
                                used_prec.add(p)
                                lo = float(diff.lower())
                                if min_gap is None or lo < min_gap[0]:
                                    min_gap = (lo, k, n, P)
                                break
                            if diff < 0:
                                witness = (k, n, P, str(diff))
                                break
                    if witness is not None:
                        break
                    if not decided:
                        undecided.append(f"k={k} n={n} {P}: difference ball {diff}")
                if witness is not None:
                    break
            if witness is not None:
                break
    except _NotArb as exc:
        undecided.append(f"cannot evaluate L* in arb: {exc}")

    return n_parts, n_cmp, n_major, undecided, witness, min_gap, used_prec


def optimal_ca_partition(kmax: int = 30, expr=None, activation: str = "erf2",
                         concavity: Certificate | None = None) -> Certificate:
    """Among CA configurations with n groups, n - 1 copies + one average of k - n + 1 is optimal.

    (a) general proof: L* concave (``concavity``, default ``lstar_increasing_concave(expr)``)
    => sum_i L*(m_i) Schur-concave; (k-n+1, 1, ..., 1) majorizes
    every partition of k into n positive parts, so by Karamata it minimises, strictly (strict
    concavity) unless the partition is a permutation of it. (b) certified enumeration in arb.
    """
    from flint import arb

    t0 = time.perf_counter()
    L = _normalise(expr)
    ev: list[str] = [f"L*(m) = {sp.sstr(L)}"]

    # (a) (``concavity``: a certificate of the same fact by another route, e.g. a Laurent series)
    conc = lstar_increasing_concave(L, activation) if concavity is None else concavity
    ev.append(f"(a) lstar-increasing-concave: {conc.status.value} ({conc.method}; residual {conc.residual})")
    ev.append("(a) L* strictly concave on [1, inf) => phi(m_1..m_n) = sum_i L*(m_i) is strictly Schur-concave "
              "there; any partition (m_1 >= .. >= m_n >= 1) of k satisfies m_1 + .. + m_j <= k - (n - j) "
              "(the remaining n - j parts are >= 1), i.e. it is majorized by (k-n+1, 1, .., 1); Karamata: "
              "sum L*(m_i) >= L*(k-n+1) + (n-1) L*(1) = L*(k-n+1) (L*(1) = 0), strict unless equal")
    a_ok = conc.status == Status.PROVED

    # (b) certified enumeration, with two controls of the enumeration itself: the number of
    # partitions equals an independent count (sympy.utilities.iterables.partitions), and the same
    # code applied to the strictly convex -L* must find a certified counterexample
    n_parts, n_cmp, n_major, undecided, witness, min_gap, used_prec = _enumerate(L, kmax)
    n_ref = _partition_count(kmax)
    ctrl = _enumerate(-L, min(kmax, 8))[4]
    ev.append(f"(b) control: {n_parts} partitions enumerated, independent count {n_ref}; the same enumeration "
              f"on the convex -L* (k <= 8) finds a certified counterexample: {ctrl is not None}")
    if n_parts != n_ref or ctrl is None:
        undecided.append("the enumeration failed its control (partition count or convex counterexample)")
    ev.append(f"(b) arb enumeration, k = 2..{kmax}, n = 1..k-1: {n_parts} partitions, {n_cmp} comparisons "
              f"sum_i L*(m_i) - L*(k-n+1) > 0 (lower bound of the ball), precision(s) used {sorted(used_prec)} bits, "
              f"{len(undecided)} undecided; majorization by the optimum checked exactly in "
              f"{n_major}/{n_cmp}")
    if min_gap is not None:
        ev.append(f"(b) smallest certified gap: lower bound {min_gap[0]:.6g} at k={min_gap[1]}, n={min_gap[2]}, "
                  f"partition {min_gap[3]}")
    ev.extend(undecided[:5])

    statement = ("among CA configurations of n student neurons against k unit-orthonormal teacher neurons "
                 f"({activation}), the loss sum_i L*(m_i) is minimal exactly for n-1 copies and one average of k-n+1 "
                 "(up to permutation), with loss L*(k-n+1)")
    if witness is not None:
        k, n, P, ball = witness
        status = Status.REFUTED
        residual = (f"k={k}, n={n}: partition {P} has sum L*(m_i) < L*(k-n+1) + (n-1) L*(1) "
                    f"(difference ball {ball})")
        method = "certified enumeration (python-flint arb ball arithmetic)"
    elif a_ok and not undecided and n_major == n_cmp:
        status, residual = Status.PROVED, "0"
        method = ("Karamata / Schur-concavity from strict concavity of L* (general k), plus certified "
                  "enumeration in arb ball arithmetic for k <= kmax")
    else:
        status = Status.UNDECIDED
        residual = ("concavity of L* not proved" if not a_ok else "") + \
                   (f"; {len(undecided)} comparisons undecided" if undecided else "")
        method = "Karamata (needs concavity) + certified enumeration (python-flint arb)"
    return Certificate(
        theorem="optimal-ca-partition",
        statement=statement,
        assumptions=_conventions(activation) + (f"L*(m) = {sp.sstr(L)} (input)", f"enumeration for k <= {kmax}"),
        status=status,
        method=method,
        residual=residual,
        evidence=tuple(ev),
        seconds=time.perf_counter() - t0,
    )


def _derived_lstar(name: str) -> sp.Expr:
    """L*(m) as derived by copyavg.symbolic.one_neuron (proved equal to the paper's for erf2)."""
    from copyavg.symbolic.one_neuron import lstar

    return lstar(name)


def _renamed(cert: Certificate, suffix: str) -> Certificate:
    from dataclasses import replace

    return replace(cert, theorem=cert.theorem + suffix)


def all_checks() -> dict:
    """theorem id -> zero-argument callable returning a Certificate. The L* used is the one derived
    from the stationarity equations (copyavg.symbolic.one_neuron), for erf2 and erf."""
    return {
        "ca-loss-additive": ca_loss_additive,
        "lstar-increasing-concave": lambda: lstar_increasing_concave(_derived_lstar("erf2")),
        "optimal-ca-partition": lambda: optimal_ca_partition(30, _derived_lstar("erf2")),
        "lstar-increasing-concave:erf": lambda: _renamed(lstar_increasing_concave(_derived_lstar("erf"), "erf"),
                                                         ":erf"),
        "optimal-ca-partition:erf": lambda: _renamed(optimal_ca_partition(30, _derived_lstar("erf"), "erf"), ":erf"),
    }
