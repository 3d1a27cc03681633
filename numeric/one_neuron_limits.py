r"""The one-neuron profiles as ``|w| -> infinity`` for activations with a ReLU limit.

For gelu ``z Phi(z)``, silu ``z sigmoid(z)`` and softplus ``log(1 + e^z)``, ``sigma(t z)/t -> relu(z)``
as ``t -> infinity``; on the ``average`` and ``copy`` profiles (``copyavg.numeric.one_neuron_any``)
``G(t)/t -> m E[relu(z1) sigma(u2)]`` resp. ``E[relu(z) sigma(z)] + (m - 1) E[relu] E[sigma]`` and
``s(t^2)/t^2 -> E[relu^2] = 1/2``, so the loss tends to ``L_inf = T - 2 (lim G/t)^2`` with
``a |w| -> 2 lim G/t``. For gelu the limit is a closed form (SymPy limits of the closed-form kernel,
``one-neuron:gelu``); for silu and softplus it is a one-dimensional integral (mpmath quadrature:
``z1 | u2 = y`` is ``N(c y, 1 - c^2)``, whose ReLU mean is ``mu Phi(mu/sd) + sd phi(mu/sd)``).
When ``L_inf`` is below every loss at a finite searched ``|w|``, the infimum is (at most) ``L_inf``,
approached but not attained within the searched range.
"""

from __future__ import annotations

import math

#: gelu: m -> lim G/|w| on the two profiles (SymPy limits of the closed-form kernel)
GELU_LIMITS = {
    "average": lambda m: (math.sqrt(2 * m - 1) + 2 * math.asin(1 / math.sqrt(2 * m)) + math.pi) * m
    / (4 * math.pi * math.sqrt(m)),
    "copy": lambda m: (2 * math.sqrt(2) * (m - 1) + 2 + 3 * math.pi) / (8 * math.pi),
}

RELU_LIMIT_NAMES = ("gelu", "silu", "softplus")


def relu_limit(activation: str, m, kind: str = "average", dps: int = 20) -> dict:
    """The ``|w| -> infinity`` limit of the ``average`` or ``copy`` profile (ReLU-limit activations).

    Parameters
    ----------
    activation : {"gelu", "silu", "softplus"}
        An activation with ``sigma(t z)/t -> relu(z)``.
    m : real
        Number of teacher neurons, ``m >= 1``.
    kind : {"average", "copy"}
        The profile.
    dps : int, default 20
        mpmath precision of the quadrature (silu, softplus), 15..50.

    Returns
    -------
    dict
        ``{"norm": inf, "a": lim a|w|, "loss": L_inf}`` (floats).

    Raises
    ------
    ValueError
        Other activation, ``m < 1``, unknown kind, ``dps`` out of range.

    Examples
    --------
    >>> r = relu_limit("gelu", 2)  # (sqrt 3 + pi/3 + pi)/(4 pi sqrt 2) * 2 = lim G/|w|
    >>> round(r["a"], 10), round(r["loss"], 10)
    (1.3326574422, 0.1216099791)
    """
    import mpmath

    from .one_neuron_any import _check_kind, _check_m, teacher_constant

    if activation not in RELU_LIMIT_NAMES:
        raise ValueError(f"activation must be one of {', '.join(RELU_LIMIT_NAMES)}, got {activation!r}")
    _check_kind(kind)
    mf = _check_m(m)
    if not (isinstance(dps, int) and 15 <= dps <= 50):
        raise ValueError(f"dps must be an integer in [15, 50], got {dps!r}")
    with mpmath.workdps(dps):
        if activation == "gelu":
            lim = mpmath.mpf(GELU_LIMITS[kind](mf))
        else:
            sig = (lambda y: y / (1 + mpmath.exp(-y))) if activation == "silu" else (lambda y: mpmath.log1p(mpmath.exp(y)))
            E = lambda f: mpmath.quad(lambda y: f(y) * mpmath.npdf(y), [-mpmath.inf, 0, mpmath.inf])  # noqa: E731
            if kind == "average" and mf > 1:
                c = 1 / mpmath.sqrt(mf)
                sd = mpmath.sqrt(1 - c * c)
                relu_mean = lambda y: c * y * mpmath.ncdf(c * y / sd) + sd * mpmath.npdf(c * y / sd)  # noqa: E731
                lim = mf * E(lambda y: sig(y) * relu_mean(y))
            else:  # the copy (m = 1: the same point)
                lim = E(lambda y: max(y, 0) * sig(y)) + (mf - 1) * E(sig) / mpmath.sqrt(2 * mpmath.pi)
        T = teacher_constant(activation, mf, dps) if activation == "gelu" else (
            mf * E(lambda y: sig(y) ** 2) + mf * (mf - 1) * E(sig) ** 2)
        return {"norm": math.inf, "a": float(2 * lim), "loss": float(T - 2 * lim * lim)}


# --- helpers of copyavg.numeric.one_neuron_any.one_neuron_any (private to it) -------------------
def _monomial_solution(name: str, m, mf: float) -> dict:
    """``one_neuron_any`` for ``z^p``: only ``a |w|^p`` is fixed (``copyavg.numeric.one_neuron_homog``)."""
    from .one_neuron_any import _DIRECTION_TEXT, GLOBAL_DIRECTION
    from .one_neuron_homog import homogeneous_one_neuron

    sol = homogeneous_one_neuron(name, mf)
    direction, status = GLOBAL_DIRECTION[name]
    if not mf.is_integer():
        status = "real m: average vs the formal copy profile only"
    elif not sol["families_searched"]:
        status = "m too large for the family search: average vs copy only"
    direction = sol["direction"] if mf > 1 else "average"
    return {"activation": name, "m": m, "teacher_norm": 1.0, "norm": 1.0, "a": sol["a"], "loss": sol["loss"],
            "direction": direction, "direction_text": _DIRECTION_TEXT[direction], "closed_form": direction != "split",
            "only_product_fixed": True, "cosines": sol["cosines"], "norm_average": 1.0,
            "a_average": sol["a_average"], "loss_average": sol["loss_average"], "optimum_status": status}


def _with_limits(name: str, mf: float, direction, best: dict, avg: dict, status: str):
    """Replace a profile optimum by its ``|w| -> infinity`` limit where that is lower."""
    lim = {k: relu_limit(name, mf, k) for k in ("average", "copy")}
    if lim["average"]["loss"] < avg["loss"]:
        avg = dict(lim["average"], at_infinity=True)
    for kind in ("average", "copy"):
        if lim[kind]["loss"] < best["loss"]:
            direction, best = kind, dict(lim[kind], at_infinity=True)
    if best.get("at_infinity"):
        status = (f"{status}; the best point is the |w| -> infinity limit (a|w| fixed, not attained), below every "
                  "|w| <= 4 searched; |w| in (4, infinity) not searched")
    return direction, best, avg, status


def _gelu_solution(m, mf: float) -> dict:
    """``one_neuron_any`` for gelu: the infimum of each profile is its limit ``|w| -> infinity``
    (``GELU_LIMITS``); ``norm`` is ``inf`` and ``a`` the limit of ``a |w|``."""
    from .one_neuron_any import _DIRECTION_TEXT, GLOBAL_DIRECTION

    if mf == 1:  # the student can copy the teacher neuron exactly
        return {"activation": "gelu", "m": m, "teacher_norm": 1.0, "norm": 1.0, "a": 1.0, "loss": 0.0,
                "direction": "average", "direction_text": _DIRECTION_TEXT["average"], "closed_form": True,
                "norm_average": 1.0, "a_average": 1.0, "loss_average": 0.0, "optimum_status": "proved (L = 0)"}

    pts = {k: (lambda r: (r["a"], r["loss"]))(relu_limit("gelu", mf, k)) for k in ("average", "copy")}
    direction = "average" if pts["average"][1] <= pts["copy"][1] else "copy"
    return {"activation": "gelu", "m": m, "teacher_norm": 1.0, "norm": math.inf, "a": pts[direction][0],
            "loss": pts[direction][1], "direction": direction, "direction_text": _DIRECTION_TEXT[direction],
            "closed_form": True, "only_product_fixed": True, "attained": False, "norm_average": math.inf,
            "a_average": pts["average"][0], "loss_average": pts["average"][1],
            "optimum_status": GLOBAL_DIRECTION["gelu"][1]}
