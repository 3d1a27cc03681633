r"""docs/theory.md §5 (claim 9b): CA criticality for tanh, sigmoid, softplus, silu (opt-in, ``--heavy``).

Partition ``(1, m)`` of ``k = m + 1`` unit teacher neurons: neuron 1 an exact copy (``w = e_1``,
``a = 1``, the one-group optimum for one teacher: loss 0), neuron 2 on the average ray of the other
``m`` with norm ``t`` and its best ``a(t) = m g(t^2, 1, t/sqrt m)/s(t^2)``. The copy cancels its
teacher, so (docs/theory.md §5, with ``x = 1``)

    dL/da_1 = 2 J0 = 2 c_0(1) (a c_0(t^2) - m c_0(1)),
    dL/dw_1 . e_j = 2 J3 = 2 c_1(1) (a c_1(t^2)/sqrt m - c_1(1))      (j in the group),

with the Hermite coefficients ``c_n(q) = E[sigma(sqrt q z) He_n(z)]/sqrt(n!)`` of
``copyavg.proofs.hermite_kernel`` (``c_0(q) = mu(q)``, and by Stein ``c_1(q) = sqrt(q) nu(q)``).

``one-neuron-local:NAME`` certifies a bracket ``[t1, t2]`` containing a local minimiser of the group's
profile loss. Here ``[t1, t2]`` is covered by sub-intervals ``T`` and, on each, the coefficients are
enclosed with the ball ``q = T^2`` (``acb.integral`` with a ball parameter), then ``a`` and ``J0``,
``J3``; a sub-interval whose enclosure contains 0 is bisected (to a depth limit). If every piece of
``J0`` (or of ``J3``) excludes 0 with one sign, the CA configuration is non-critical for *every*
``t`` in the bracket - in particular at the certified local minimiser - whatever its exact location.
Otherwise the check is undecided with the float evidence.
"""

from __future__ import annotations

import time

from .certificates import Certificate, Status

NAMES = ("tanh", "sigmoid", "softplus", "silu")
#: the group size of the witness partition (1, m): silu's profile has an interior minimiser only at m = 2
GROUP = {"tanh": 3, "sigmoid": 3, "softplus": 3, "silu": 2}
MAX_DEPTH = 10


def entries_ball(name: str, m: int, T, teacher, N: int, prec: int = 128) -> tuple:
    """arb balls ``(a, dL/da_1, dL/dw_1 . e_j)`` over the ball ``T`` of norms (module docstring)."""
    from flint import arb, ctx

    from .hermite_kernel import coefficients, kernel_from_coefficients

    c1, s1 = teacher
    ct, st = coefficients(name, T * T, N, prec)
    old = ctx.prec
    ctx.prec = prec
    try:
        rm = arb(m).sqrt()
        g = kernel_from_coefficients(ct, st, c1[: N + 1], s1, 1 / rm)
        a = m * g / st
        return a, 2 * c1[0] * (a * ct[0] - m * c1[0]), 2 * c1[1] * (a * ct[1] / rm - c1[1])
    finally:
        ctx.prec = old


def _cover(name: str, m: int, t1, t2, teacher, N: int, max_depth: int = MAX_DEPTH) -> dict:
    """Cover ``[t1, t2]`` (fmpq) by pieces on which the sign of ``dL/da_1`` resp. ``dL/dw_1 . e_j`` is
    decided, bisecting undecided pieces up to ``max_depth``: ``{"J0": sign or None, "J3": ..,
    "pieces", "balls"}`` (a sign only if every piece decided it the same way)."""
    from flint import arb

    out = {}
    for key, idx in (("J3", 2), ("J0", 1)):  # J0 only if J3 is not decided (tanh: J0 = 0 exactly, odd)
        if any(v[0] for v in out.values()):
            out[key] = (None, 0, None)
            continue
        stack, signs, pieces, balls = [(t1, t2, 0)], set(), 0, []
        while stack:
            lo, hi, depth = stack.pop()
            T = arb(lo).union(arb(hi))
            v = entries_ball(name, m, T, teacher, N)[idx]
            pieces += 1
            if v > 0 or v < 0:
                signs.add(1 if v > 0 else -1)
                balls.append(v)
            elif depth < max_depth:
                mid = (lo + hi) / 2
                stack += [(lo, mid, depth + 1), (mid, hi, depth + 1)]
            else:
                signs.add(None)
            if None in signs or len(signs) > 1:
                break
        sign = signs.pop() if len(signs) == 1 else None
        hull = balls[0] if balls else None
        for b in balls[1:]:
            hull = hull.union(b)
        out[key] = (sign, pieces, hull)
    return out


def _interval(b) -> str:
    """``[lower, upper]`` of an arb ball, rounded outward to 4 significant digits."""
    import math

    lo, hi = float(b.lower()), float(b.upper())
    e = math.floor(math.log10(max(abs(lo), abs(hi)))) - 3
    return f"[{math.floor(lo / 10**e) * 10**e:.4g}, {math.ceil(hi / 10**e) * 10**e:.4g}]"


def ca_quadrature(name: str) -> Certificate:
    from copyavg.numeric import gradient
    from copyavg.numeric.one_neuron import ca_configuration
    from copyavg.numeric.one_neuron_any import ca_overlap_residuals

    from .hermite_kernel import coefficients
    from .one_neuron_hermite import _terms, certify_m

    t0 = time.perf_counter()
    m = GROUP[name]
    N = _terms(m)
    teacher = coefficients(name, 1, N, 128)
    ok, note, data = certify_m(name, m, teacher)
    ev = [f"the group's profile (one-neuron-local:{name}, recomputed here): {note}"]
    J = ca_overlap_residuals(name, 1, m)
    a_f, W_f, b_f, V_f = ca_configuration(name, (1, m))
    ga, gW = gradient(a_f, W_f, b_f, V_f, name)
    ev.append(f"float64 (copyavg.numeric): J0, J1, J3 = {J['J0']:.3e}, {J['J1']:.3e}, {J['J3']:.3e}; gradient of the "
              f"CA configuration (1, {m}) at the float profile optimum |w| = {float(W_f[1] @ W_f[1]) ** 0.5:.8f}: "
              "dL/da_1 = "
              f"{ga[0]:.3e}, dL/dw_1 . e_2 = {gW[0, 1]:.3e}")
    status, residual = Status.UNDECIDED, "no certified bracket"
    if ok:
        t1, t2 = data["t1"], data["t2"]
        cov = _cover(name, m, t1, t2, teacher, N)
        lo, hi = int((t1 * 10**12).floor()), int((t2 * 10**12).ceil())
        br = f"[{lo / 1e12:.12f}, {hi / 1e12:.12f}]"
        for key, label in (("J3", "dL/dw_1 . e_2 = 2 J3"), ("J0", "dL/da_1 = 2 J0")):
            sign, pieces, hull = cov[key]
            if pieces == 0:
                continue
            ev.append(f"[{'ok' if sign else 'UNDECIDED'}] {label} over t in {br}: "
                      + (f"sign {sign:+d} on all {pieces} pieces, enclosure {_interval(hull)}" if sign else
                         f"0 not excluded ({pieces} pieces, bisection depth <= {MAX_DEPTH})"))
        decided = [(k, cov[k]) for k in ("J3", "J0") if cov[k][0]]
        if decided:
            key, (sign, _, hull) = decided[0]
            status = Status.REFUTED
            residual = (f"k = {m + 1}, partition (1, {m}): exact copy w_1 = e_1, a_1 = 1; group neuron at any "
                        f"|w| = t in the certified bracket {br} (a local minimiser of its profile lies there) with "
                        "its best a(t): "
                        + ("dL/dw_1 . e_2 = 2 J3" if key == "J3" else "dL/da_1 = 2 J0")
                        + f" in {_interval(hull)} (arb, every t of the bracket), sign {sign:+d}")
        else:
            residual = "0 not excluded by the enclosures: " + "; ".join(ev[-2:])
    return Certificate(
        theorem=f"ca-critical:{name}",
        statement=(f"for sigma = {name} and the unit orthonormal teacher the copy-average configuration of partition "
                   f"(1, {m}) built on the certified local minimiser of the group's average profile "
                   f"(one-neuron-local:{name}) is a critical point of L"),
        assumptions=("x ~ N(0, I_d), d = k + 1; v_j = e_j, b_j = 1; loss E[(f - f*)^2] (no 1/2)",
                     "kernel: the Hermite series of copyavg.proofs.hermite_kernel (arb integrals with a ball "
                     "variance, tail and truncation bounds)",
                     "reduction of the gradient to J0, J3: docs/theory.md §5 (ca-gradient-from-loss:generic)"),
        status=status, method="arb enclosures of dL/da_1 and dL/dw_1 . e_2 over the certified bracket (bisection)",
        residual=residual, evidence=tuple(ev), expected=None, seconds=time.perf_counter() - t0)


def heavy_checks() -> dict:
    return {f"ca-critical:{n}": (lambda n=n: ca_quadrature(n)) for n in NAMES}
