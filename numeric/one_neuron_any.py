r"""The one-neuron problem for any activation with a pair kernel (docs/theory.md §4, claims 7b-7d).

One student neuron ``a sigma(w.x)`` against ``m`` unit teacher neurons ``v_j = e_j``, ``b_j = 1``,
loss ``E[(f - f*)^2]`` (no 1/2). For a fixed ``w`` the best ``a`` is ``G(w) / s(|w|^2)`` with
``G(w) = sum_j g(|w|^2, 1, w.v_j)``, leaving ``L = T - F(w)``, ``F = G^2 / s``,
``T = m s(1) + m (m - 1) g(1, 1, 0)``. Two one-dimensional profiles are used:

* ``average``: ``w = t (v_1 + .. + v_m)/sqrt(m)``, ``G = m g(t^2, 1, t/sqrt m)``; the best point on
  it is the group neuron of a copy-average point (docs/theory.md §5);
* ``copy``: ``w = t v_1``, ``G = g(t^2, 1, t) + (m - 1) g(t^2, 1, 0)``.

``profile_optimum`` maximises either profile for any activation the mpmath route knows
(``copyavg.numeric.mp.pair_kernel_mp``): a log-spaced grid, then Newton on ``dF/dt`` at 30 digits.
For the catalogue activations beyond the erf and piecewise-linear families the average optimum
has a closed form (``CLOSED_FORMS``, proved by the ``one-neuron:*`` certificates); which direction
is globally optimal is recorded in ``GLOBAL_DIRECTION`` (proved, refuted or numeric evidence, see
the ``one-neuron-optimum:*`` certificates). The homogeneous ``monomialP`` (only ``a |w|^p`` fixed)
are solved in ``copyavg.numeric.one_neuron_homog``; gelu, and silu / softplus where it is lower,
take the ``|w| -> infinity`` limit of ``copyavg.numeric.one_neuron_limits`` (``norm = inf``, ``a``
the limit of ``a |w|``).
"""

from __future__ import annotations

import math

import numpy as np

from .activations import QUADRATURE_NAMES, get_activation
from .one_neuron import _check_m

#: the average-profile optimum in closed form: name -> m -> (|w|^2, a, L_average(m)), unit teacher
#: (mpmath arguments; proved in copyavg.proofs.universal, ``one-neuron:NAME``)
CLOSED_FORMS = {}


def _hermite(n):
    def f(m, mp):
        fac = math.factorial(n)
        return mp.mpf(1), m ** (1 - mp.mpf(n) / 2), fac * (m - m ** (2 - n))
    return f


for _n in (2, 3, 4, 5):
    CLOSED_FORMS[f"hermite{_n}"] = _hermite(_n)
CLOSED_FORMS["sin"] = lambda m, mp: (1 / m, m * mp.exp((1 / m - 1) / 2),
                                     (m * mp.sinh(1) - m**2 * mp.sinh(1 / m)) / mp.e)
CLOSED_FORMS["cos"] = lambda m, mp: (1 / m, m * mp.exp((1 / m - 1) / 2),
                                     (m * mp.cosh(1) + m * (m - 1) - m**2 * mp.cosh(1 / m)) / mp.e)
CLOSED_FORMS["gaussian"] = lambda m, mp: (1 / (2 * m - 1), m * mp.sqrt(m / (2 * m - 1)),
                                          m / mp.sqrt(3) + m * (m - 1) / 2 - m**3 / mp.sqrt(4 * m**2 - 1))
CLOSED_FORMS["normal_cdf"] = lambda m, mp: (1 / (2 * m - 1), m,
                                            m / 12 - m**2 * mp.asin(1 / (2 * m)) / (2 * mp.pi))

#: which direction is the global one-neuron optimum, and how that is known
#: (``any``: every unit w in the teacher span ties; ``copy`` / ``average``)
GLOBAL_DIRECTION = {
    "hermite2": ("any", "proved"), "hermite3": ("copy", "proved"), "hermite4": ("copy", "proved"),
    "hermite5": ("copy", "proved"), "normal_cdf": ("average", "proved"),
    "sin": ("average", "proved"), "cos": ("copy", "numeric evidence"),
    "gaussian": ("copy", "numeric evidence"),
    "monomial2": ("any", "proved"), "monomial3": ("average", "proved"), "monomial4": ("copy", "proved"),
    "monomial5": ("split", "average refuted by an exact witness at m = 2 that also beats the copy; the optimum "
                           "is the best of the proved KKT families, maximised numerically"),
    "gelu": ("average", "no minimiser, the infimum is the |w| -> infinity limit: proved for m = 2..20 "
                        "(one-neuron:gelu); the direction: average vs copy only, numeric evidence"),
}

_DIRECTION_TEXT = {
    "average": "w along v_1 + ... + v_m (average of all m teacher neurons)",
    "copy": "w along one v_j (copy one teacher neuron)",
    "any": "any unit w in the span of v_1 .. v_m (all tie; the average is one of them)",
    "split": "w with one large and m - 1 equal small components along the v_j (neither copy nor average)",
}


def _check_kind(kind: str) -> str:
    if kind not in ("average", "copy"):
        raise ValueError(f"kind must be 'average' or 'copy', got {kind!r}")
    return kind


def profile_value(activation: str, m, t, kind: str = "average", dps: int = 30):
    """``F(t) = G(t)^2 / s(t^2)`` on the ``average`` or ``copy`` profile (module docstring).

    Parameters
    ----------
    activation : str
        A name from ``copyavg.numeric.ACTIVATIONS``.
    m : real
        Number of teacher neurons, ``m >= 1``.
    t : real
        ``|w| > 0``.
    kind : {"average", "copy"}
        The profile.
    dps : int, default 30
        mpmath working precision (decimal digits), at least 15.

    Returns
    -------
    mpmath.mpf
        ``F(t)``; the loss on the profile with the best ``a`` is ``T - F(t)``.

    Raises
    ------
    ValueError
        Unknown activation or kind, ``m < 1``, ``t <= 0``.

    Examples
    --------
    >>> import mpmath
    >>> print(mpmath.nstr(profile_value("erf2", 1, 1.0, dps=20), 18))  # the copy itself: F = s(1) = 1/3
    0.333333333333333333
    """
    import mpmath

    from .mp import _check_dps, pair_kernel_mp

    get_activation(activation)
    _check_kind(kind)
    mf = _check_m(m)
    if not (isinstance(t, (int, float)) or hasattr(t, "ae")) or not float(t) > 0:
        raise ValueError(f"t (the norm |w|) must be a positive real, got {t!r}")
    with mpmath.workdps(_check_dps(dps)):
        mm, tt = mpmath.mpf(mf), mpmath.mpf(t)
        q = tt * tt
        if kind == "average":
            G = mm * pair_kernel_mp(activation, q, 1, tt / mpmath.sqrt(mm))
        else:
            G = pair_kernel_mp(activation, q, 1, tt) + (mm - 1) * pair_kernel_mp(activation, q, 1, 0)
        return +(G * G / pair_kernel_mp(activation, q, q, q))


def teacher_constant(activation: str, m, dps: int = 30):
    """``T = m s(1) + m (m - 1) g(1, 1, 0) = E[f*(x)^2]`` for ``m`` unit orthonormal teacher neurons.

    Parameters
    ----------
    activation : str
        A name from ``copyavg.numeric.ACTIVATIONS``.
    m : real
        ``m >= 1``.
    dps : int, default 30
        mpmath working precision.

    Returns
    -------
    mpmath.mpf

    Raises
    ------
    ValueError
        Unknown activation or ``m < 1``.

    Examples
    --------
    >>> import mpmath
    >>> print(mpmath.nstr(teacher_constant("relu", 2, dps=20), 18))  # 2 (1/2) + 2 (1/(2 pi))
    1.31830988618379067
    """
    import mpmath

    from .mp import _check_dps, pair_kernel_mp

    get_activation(activation)
    mf = _check_m(m)
    with mpmath.workdps(_check_dps(dps)):
        mm = mpmath.mpf(mf)
        return +(mm * pair_kernel_mp(activation, 1, 1, 1) + mm * (mm - 1) * pair_kernel_mp(activation, 1, 1, 0))


def _bracketed_root(dF, lo, hi, t0, tol):
    """A root of ``dF`` in ``(lo, hi)`` (a sign change): Anderson's method, else the Illinois method
    (both bracketing; Anderson divides by zero on a flat ``dF``), else the grid point ``t0``."""
    import mpmath

    for solver in ("anderson", "illinois"):
        try:
            t = mpmath.findroot(dF, (lo, hi), solver=solver, tol=tol)
        except (ZeroDivisionError, ValueError):
            continue
        if lo <= t <= hi:
            return t
    return t0


def profile_optimum(activation: str, m, kind: str = "average", dps: int = 30, t_max: float = 8.0) -> dict:
    """The maximiser of the ``average`` or ``copy`` profile, numerically (any activation).

    A log-spaced grid of 240 points on ``[1e-3/sqrt(m), t_max]``, then Newton (``mpmath.findroot``) on
    ``dF/dt`` from the best grid point. Not a certificate: the closed forms and certified roots are
    in ``copyavg.proofs.universal``.

    Parameters
    ----------
    activation : str
        A name from ``copyavg.numeric.ACTIVATIONS``.
    m : real
        ``m >= 1``.
    kind : {"average", "copy"}
        The profile.
    dps : int, default 30
        mpmath working precision.
    t_max : float, default 8.0
        Largest ``|w|`` searched, ``0.01 < t_max <= 16``.

    Returns
    -------
    dict
        ``{"norm", "a", "loss", "boundary"}`` (floats; ``boundary`` is True when the best grid
        point is an end of the grid and no interior stationary point was refined).

    Raises
    ------
    ValueError
        Bad arguments.

    Examples
    --------
    >>> sol = profile_optimum("erf2", 3)  # closed form |w|^2 = 1/(2m - 1) = 0.2, a = m
    >>> round(sol["norm"] ** 2, 10), round(sol["a"], 10)
    (0.2, 3.0)
    """
    import mpmath

    from .mp import pair_kernel_mp

    if not (isinstance(t_max, (int, float)) and 0.01 < t_max <= 16):
        raise ValueError(f"t_max must be a real in (0.01, 16], got {t_max!r}")
    mf = _check_m(m)
    act = get_activation(activation)
    if not act.exact:  # quadrature-based kernel: its mpmath route takes minutes per value
        return _profile_optimum_float(act, mf, _check_kind(kind), t_max)
    # F at 30 more digits than the search: mpmath.diff differences it at the working precision
    F = lambda t: profile_value(activation, mf, t, kind, dps + 30)  # noqa: E731
    lo = 1e-3 / math.sqrt(mf)  # the optimal |w| of the average profile shrinks like 1/sqrt(m)
    grid = [lo * (t_max / lo) ** (i / 239) for i in range(240)]
    vals = [F(t) for t in grid]
    i = max(range(len(grid)), key=lambda j: vals[j])
    boundary = i in (0, len(grid) - 1)
    with mpmath.workdps(dps):
        t = mpmath.mpf(grid[i])
        if not boundary:
            dF = lambda x: mpmath.diff(F, x)  # noqa: E731
            lo, hi = mpmath.mpf(grid[i - 1]), mpmath.mpf(grid[i + 1])
            if dF(lo) > 0 > dF(hi):  # a sign change: the stationary point is bracketed
                t = _bracketed_root(dF, lo, hi, t, mpmath.mpf(10) ** (-dps + 6))
        q = t * t
        if kind == "average":
            G = mf * pair_kernel_mp(activation, q, 1, t / mpmath.sqrt(mf))
        else:
            G = pair_kernel_mp(activation, q, 1, t) + (mf - 1) * pair_kernel_mp(activation, q, 1, 0)
        a = G / pair_kernel_mp(activation, q, q, q)
        loss = teacher_constant(activation, mf, dps) - F(t)
    return {"norm": float(t), "a": float(a), "loss": float(loss), "boundary": boundary}


def _profile_optimum_float(act, mf: float, kind: str, t_max: float) -> dict:
    """``profile_optimum`` in float64 through ``pair_kernel`` (the quadrature family: its kernel
    carries an error bound of 1e-10 of its scale, so the loss is good to about that). The maximiser
    is the root of ``D = 2 G' s - G s'`` (``F' = G D / s^2``; ``G'``, ``s'`` from the kernel's first
    partials), bracketed by the grid: good to about the kernel's error over ``|D'|``, where
    maximising ``F`` itself would only find it to about the square root of that. The search stops at
    the family's accepted norm."""
    from scipy.optimize import brentq, minimize_scalar

    from .kernels import pair_kernel

    t_max = min(t_max, float(act.params.get("max_norm", t_max)))
    F = lambda t: (lambda G, s: G * G / s)(*_profile_parts(act.name, mf, kind, t, deriv=False)[::2])  # noqa: E731
    lo = 1e-3 / math.sqrt(mf)
    grid = [lo * (t_max / lo) ** (i / 119) for i in range(120)]
    vals = [F(t) for t in grid]
    i = max(range(len(grid)), key=lambda j: vals[j])
    boundary = i in (0, len(grid) - 1)
    t = grid[i]
    if not boundary:
        def D(x):
            G, dG, s, ds = _profile_parts(act.name, mf, kind, x)
            return 2 * dG * s - G * ds

        a, b = grid[i - 1], grid[i + 1]
        if D(a) > 0 > D(b):
            t = brentq(D, a, b, xtol=1e-15, rtol=4 * np.finfo(float).eps)
        else:  # no sign change in the kernel's derivative within its error: maximise F instead
            t = float(minimize_scalar(lambda x: -F(x), bounds=(a, b), method="bounded", options={"xatol": 1e-12}).x)
    G, _, s, _ = _profile_parts(act.name, mf, kind, t, deriv=False)
    one = np.ones(1)
    T = mf * float(pair_kernel(act.name, one, one, one)[0]) + mf * (mf - 1) * float(pair_kernel(act.name, one, one, 0 * one)[0])
    return {"norm": t, "a": G / s, "loss": T - G * G / s, "boundary": boundary}


def _profile_parts(name: str, mf: float, kind: str, t: float, deriv: bool = True) -> tuple:
    """``(G, G', s, s')`` of the average or copy profile at ``|w| = t`` (float64, ``pair_kernel``
    with its first partials ``g1 = dg/dC11``, ``g3 = dg/dC12``): average ``G = m g(t^2, 1, t/sqrt m)``;
    copy ``G = g(t^2, 1, t) + (m - 1) g(t^2, 1, 0)``; ``s = g(t^2, t^2, t^2)``. ``deriv=False``:
    ``(G, None, s, None)`` from the kernel values alone."""
    from .kernels import pair_kernel

    one, q = np.ones(1), np.array([t * t])
    order = 1 if deriv else 0

    def kernel(C11, C22, C12):
        out = pair_kernel(name, C11, C22, C12, order=order)
        return tuple(float(x[0]) for x in out) if deriv else (float(out[0]), 0.0, 0.0, 0.0)

    if kind == "average":
        g, g1, _, g3 = kernel(q, one, one * (t / math.sqrt(mf)))
        G, dG = mf * g, mf * (2 * t * g1 + g3 / math.sqrt(mf))
    else:
        g, g1, _, g3 = kernel(q, one, one * t)
        h, h1, _, _ = kernel(q, one, 0 * one)
        G, dG = g + (mf - 1) * h, 2 * t * g1 + g3 + (mf - 1) * 2 * t * h1
    s, s1, s2, s3 = kernel(q, q, q)
    return (G, dG, s, 2 * t * (s1 + s2 + s3)) if deriv else (G, None, s, None)


def one_neuron_any(activation: str, m, search_starts: int = 64) -> dict:
    """The one-neuron optimum for the activations without a generated solution (unit teacher).

    The average point comes from ``CLOSED_FORMS`` when there is one (else ``profile_optimum``);
    the reported optimum is the direction of ``GLOBAL_DIRECTION`` (copy: ``profile_optimum`` on
    the copy profile; for activations not listed there, the better of average and copy, with
    ``optimum_status`` "numeric evidence (average vs copy only)").

    Parameters
    ----------
    activation : str
        A name from ``copyavg.numeric.ACTIVATIONS``.
    m : real
        ``m >= 1``.
    search_starts : int, default 64
        tanh, sigmoid, softplus, silu at integer ``2 <= m <= 200``: random starts of the full-space
        search (``copyavg.numeric.one_neuron_search``, 0.1-4 s); 0 skips it ("average vs copy only").

    Returns
    -------
    dict
        Keys as ``copyavg.numeric.one_neuron.one_neuron`` (``norm``, ``a``, ``loss``,
        ``direction``, ``direction_text``, ``closed_form``) plus ``norm_average``, ``a_average``,
        ``loss_average`` and ``optimum_status``; ``only_product_fixed`` (monomials: ``a`` is
        ``a |w|^p``, ``norm`` 1; at ``norm = inf``: ``a`` is the limit of ``a |w|``), ``attained``
        (False at ``norm = inf``), ``cosines`` (monomials), ``boundary`` (the search ended at the
        largest accepted ``|w|``), ``search_gap`` (full-space search: best loss found minus ``loss``).

    Raises
    ------
    ValueError
        Unknown activation, ``m < 1``.

    Examples
    --------
    >>> sol = one_neuron_any("hermite3", 4)  # copy one teacher neuron: L* = (m - 1) 3!
    >>> sol["direction"], sol["loss"], sol["loss_average"]
    ('copy', 18.0, 22.5)
    """
    import mpmath

    act = get_activation(activation)
    mf = _check_m(m)
    if not (isinstance(search_starts, int) and 0 <= search_starts <= 10**5):
        raise ValueError(f"search_starts must be an integer in [0, 100000], got {search_starts!r}")
    if act.family == "monomial":
        from .one_neuron_limits import _monomial_solution

        return _monomial_solution(act.name, m, mf)
    if act.name == "gelu":
        from .one_neuron_limits import _gelu_solution

        return _gelu_solution(m, mf)
    with mpmath.workdps(60):  # the closed forms cancel to ~m^-2 relative at large m (m <= 1e15)
        if act.name in CLOSED_FORMS:
            n2, a, L = (float(x) for x in CLOSED_FORMS[act.name](mpmath.mpf(mf), mpmath.mp))
            avg = {"norm": math.sqrt(n2), "a": a, "loss": L}
        else:
            avg = profile_optimum(act.name, mf, "average")
    direction, status = GLOBAL_DIRECTION.get(act.name, (None, "numeric evidence (average vs copy only)"))
    if direction == "copy" and act.name.startswith("hermite"):
        n = int(act.name[-1])
        best = {"norm": 1.0, "a": 1.0, "loss": float((mf - 1) * math.factorial(n))}
    elif direction == "copy" or direction is None:
        best = profile_optimum(act.name, mf, "copy")
        if best["loss"] >= avg["loss"]:  # numeric routes: report the better of the two profiles
            direction, best = "average", avg
            status = "numeric evidence (average vs copy only)"
        elif direction is None:
            direction = "copy"
    else:
        best = avg
    if mf == 1:
        direction, best = "average", avg  # the copy and the average are the same point
    elif act.name in ("silu", "softplus"):  # sigma(tz)/t -> relu(z): the |w| -> infinity limits
        from .one_neuron_limits import _with_limits

        direction, best, avg, status = _with_limits(act.name, mf, direction, best, avg, status)
    gap = None
    if act.name in QUADRATURE_NAMES and mf.is_integer() and 2 <= mf <= 200 and search_starts > 0:
        from .one_neuron_search import _status_with_search  # full-space search of the direction

        status, gap = _status_with_search(act.name, int(mf), best["loss"], status, search_starts)
    out = {"activation": act.name, "m": m, "teacher_norm": 1.0, "norm": best["norm"], "a": best["a"],
           "loss": best["loss"], "direction": direction, "direction_text": _DIRECTION_TEXT[direction],
           "closed_form": act.name in CLOSED_FORMS and (direction != "copy" or act.name.startswith("hermite")),
           "norm_average": avg["norm"], "a_average": avg["a"], "loss_average": avg["loss"],
           "optimum_status": status}
    out.update({} if gap is None else {"search_gap": gap})
    if best.get("at_infinity"):
        out.update({"only_product_fixed": True, "attained": False})
    elif best.get("boundary") or avg.get("boundary"):
        lim = act.params.get("max_norm", 8.0)
        out["optimum_status"] = (f"{status}; the search ended at |w| = {lim:g} (the largest |w| it accepts): "
                                 "the infimum may lie beyond it, the values are upper bounds")
        out["boundary"] = True
    return out


_STATUS_OF_GENERATED = {"erf2": "proved", "erf": "proved", "relu": "proved", "leaky_relu": "proved",
                        "linear": "proved", "abs": "proved"}


def render_table(rows: dict) -> str:
    """Markdown of one-neuron solutions: one table per activation, one line per m.

    Parameters
    ----------
    rows : dict
        activation name -> list of ``copyavg.numeric.one_neuron.one_neuron`` results (m = 1, 2, ..).

    Returns
    -------
    str
        The Markdown text (``docs/results/one_neuron_table.md``).

    Raises
    ------
    KeyError
        A result without the keys of ``one_neuron``.

    Examples
    --------
    >>> from copyavg.numeric.one_neuron import one_neuron
    >>> text = render_table({"erf2": [one_neuron("erf2", 1), one_neuron("erf2", 2)]})
    >>> [line[:20] for line in text.splitlines() if line.startswith("| 2 |")]
    ['| 2 | 0.0232216806 |']
    """
    out = ["# One student neuron against m unit orthonormal teacher neurons", "",
           "Generated by `copyavg one-neuron --table docs/results/one_neuron_table.md` (do not edit). Loss "
           "`L = E[(f - f*)^2]` (no 1/2), `b_j = 1`, `v_j = e_j`. `L*` is the optimum over all `(a, w)` in the "
           "direction stated; the `average` columns are the best point with `w` along `v_1 + .. + v_m` (the group "
           "neuron of a copy-average point). Piecewise-linear family: only `a|w|` is fixed, `|w| = 1` is "
           "reported. Homogeneous family `monomialP` (`z^p`): only `a|w|^p` is fixed, `|w| = 1` is reported and "
           "`a` is `a|w|^p`. `|w| = inf`: the infimum is the limit `|w| -> infinity` (not attained; gelu, and silu "
           "from m = 3 on), `a` is the limit of `a|w|`. Status of the optimal direction: docs/theory.md §4 and "
           "§11.", ""]
    for name, sols in rows.items():
        first = sols[-1]
        statuses = list(dict.fromkeys(s.get("optimum_status", _STATUS_OF_GENERATED.get(name, "proved"))
                                      for s in sols if float(s["m"]) > 1)) or ["proved"]
        statuses = [st for st in statuses if not any(o != st and o.startswith(st) for o in statuses)]
        texts = list(dict.fromkeys(s["direction_text"] for s in sols if float(s["m"]) > 1)) or [first["direction_text"]]
        lines = [f"Optimal direction (m >= 2): {' / '.join(texts)} ({'; '.join(statuses)})."]
        if len(texts) > 1:
            lines.append("By m: " + ", ".join(f"{s['m']}: {s['direction']}" for s in sols if float(s["m"]) > 1) + ".")
        if gaps := ", ".join(f"{s['m']}: {s['search_gap']:.1e}" for s in sols if "search_gap" in s):
            lines.append(f"Full-space search, best loss found minus L*(m) (rounding level ~1e-13): {gaps}.")
        out += [f"## {name}", "", *lines, "",
                "| m | L*(m) | \\|w\\| | a | L average | \\|w\\| average | a average |", "|---|---|---|---|---|---|---|"]
        for s in sols:
            if "loss_average" in s and "norm_average" in s:
                avg = (s["loss_average"], s["norm_average"], s["a_average"])
            elif "loss_average" in s:
                avg = (s["loss_average"], 1.0, s["a_average"])
            else:
                avg = (s["loss"], s["norm"], s["a"])
            vals = (s["loss"], s["norm"], s["a"]) + avg
            vals = tuple(0.0 if abs(v) < 5e-11 else v for v in vals)  # no "-0.0000000000" from rounding
            out.append(f"| {s['m']} | " + " | ".join(f"{v:.10f}" for v in vals) + " |")
        out.append("")
    return "\n".join(out)


def ca_overlap_residuals(activation: str, m_own, m_other) -> dict:
    """The cross-group terms J0, J1, J3 (docs/theory.md §5) between two CA groups, float64.

    For the CA point with a group of size ``m_other`` (neuron at its average point: squared norm
    ``q``, weight ``a``, norm ``r``) next to a group of size ``m_own`` (squared norm ``x``):
    ``J0 = a g(x, q, 0) - m_other g(x, 1, 0)``, ``J1`` the same with ``g1``, and
    ``J3 = a g3(x, q, 0) r/sqrt(m_other) - g3(x, 1, 0)``. With exactly these two groups,
    ``dL/da_own = 2 J0``, the radial derivative ``w_own . dL/dw_own = 4 a_own x J1`` and the gradient
    component along a teacher direction of the other group is ``2 a_own J3``; the CA point is
    critical iff all three vanish (besides each group's own stationarity). Works for any
    activation with a float kernel (``copyavg.numeric.pair_kernel``).

    Parameters
    ----------
    activation : str
        A name from ``copyavg.numeric.ACTIVATIONS``.
    m_own, m_other : real
        Group sizes, ``>= 1``.

    Returns
    -------
    dict
        ``{"J0", "J1", "J3"}`` (floats).

    Raises
    ------
    ValueError
        Unknown activation, group size below 1.

    Examples
    --------
    >>> res = ca_overlap_residuals("erf2", 1, 3)  # odd: J0 = J1 = 0; J3 = 0 is the identity I3
    >>> [abs(v) < 1e-15 for v in res.values()]
    [True, True, True]
    """
    from .kernels import pair_kernel
    from .one_neuron import average_point

    _check_m(m_own)
    _check_m(m_other)
    r_own, _ = average_point(activation, m_own)
    r, a = average_point(activation, m_other)
    x, q = r_own * r_own, r * r
    g_s = pair_kernel(activation, x, q, 0.0, order=1)
    g_t = pair_kernel(activation, x, 1.0, 0.0, order=1)
    return {"J0": float(a * g_s[0] - m_other * g_t[0]), "J1": float(a * g_s[1] - m_other * g_t[1]),
            "J3": float(a * g_s[3] * r / math.sqrt(m_other) - g_t[3])}
