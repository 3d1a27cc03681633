"""The one-neuron optimum and copy-average (CA) configurations, numerically.

``one_neuron(activation, m, teacher_norm)`` evaluates the closed form derived and proved in
``copyavg.symbolic.one_neuron`` / ``copyavg.proofs.one_neuron`` (rendered into the generated
module): one student neuron against m teacher neurons ``v_j = rho e_j``, ``b_j = 1``, loss
``E[(f - f*)^2]`` (no 1/2). For the piecewise-linear family only ``a |w|`` is fixed; we report
``|w| = 1`` by convention there (``closed_form`` is True in both cases: the values are exact
closed forms, not optimiser output). ``direction`` says which direction attains the optimum:
``"average"`` (w along v_1 + .. + v_m) or ``"copy"`` (w along one v_j; |z|, docs/theory.md §4
claim 7). ``average_point`` is the best point with w along v_1 + .. + v_m (the CA group point).

``ca_configuration(activation, partition, d=None, teacher_norm=1)`` builds the CA point for a
partition of ``k = sum(partition)`` teacher neurons (consecutive groups), teacher ``V = rho I``
padded to ``d = k + 1`` columns by default, ``b = 1``.
"""

from __future__ import annotations

import math

import numpy as np

from ._generated_kernels import ONE_NEURON
from .activations import get_activation


def _check_m(m) -> float:
    try:
        mf = float(m)
    except (TypeError, ValueError):
        raise ValueError(f"m must be a real number >= 1, got {m!r}") from None
    if not math.isfinite(mf) or mf < 1:
        raise ValueError(f"m must be a real number >= 1 (number of teacher neurons), got {m!r}")
    return mf


def _check_rho(rho) -> float:
    try:
        rf = float(rho)
    except (TypeError, ValueError):
        raise ValueError(f"teacher_norm must be a positive real, got {rho!r}") from None
    if not math.isfinite(rf) or rf <= 0:
        raise ValueError(f"teacher_norm must be a positive real, got {rho!r}")
    return rf


_DIRECTION_TEXT = {
    "average": "w along v_1 + ... + v_m (average of all m teacher neurons)",
    "copy": "w along one v_j (copy one teacher neuron)",
}


def _values(activation: str, m, teacher_norm):
    act = get_activation(activation)
    if act.name not in ONE_NEURON:
        raise ValueError(f"activation {act.name!r}: the one-neuron solution is not derived for it "
                         f"(supported: {', '.join(ONE_NEURON)})")
    mf, rf = _check_m(m), _check_rho(teacher_norm)
    return act, rf, tuple(float(x) for x in ONE_NEURON[act.name](mf, rf))


def one_neuron(activation: str, m, teacher_norm=1.0) -> dict:
    """Optimal single student neuron against ``m`` teacher neurons of norm ``teacher_norm``.

    Parameters
    ----------
    activation : str
        A name from ``copyavg.numeric.ACTIVATIONS``.
    m : real
        Number of teacher neurons, ``m >= 1`` (non-integer m evaluates the closed form).
    teacher_norm : real, default 1.0
        Common teacher norm ``rho > 0``, finite.

    Returns
    -------
    dict
        ``{"activation", "m", "teacher_norm", "norm", "a", "loss", "direction",
        "direction_text", "closed_form"}`` with ``norm = |w|``; for the piecewise-linear family
        ``norm = 1`` and ``a = a|w|`` (only the product is fixed; key ``"only_product_fixed": True``),
        plus ``a_average`` / ``loss_average`` of the best point along v_1 + .. + v_m.

    Raises
    ------
    ValueError
        ``m < 1``, ``teacher_norm <= 0`` (or != 1 for the activations of ``one_neuron_any``), non-finite
        or non-numeric values, unknown activation.

    Examples
    --------
    >>> sol = one_neuron("erf2", 3)  # r^2 = 1/(2m - 1), a = m
    >>> round(sol["norm"] ** 2, 12), sol["a"]
    (0.2, 3.0)
    """
    if _generic(activation, m, teacher_norm):
        from .one_neuron_any import one_neuron_any

        return one_neuron_any(activation, m)
    act, rf, (norm2, a, ar, loss, ar_avg, loss_avg) = _values(activation, m, teacher_norm)
    direction = "copy" if (math.isnan(norm2) and _is_copy(act.name)) else "average"
    if isinstance(m, (int, float)) and float(m) == 1:
        direction = "average"  # m = 1: the copy and the average are the same point
    out = {"activation": act.name, "m": m, "teacher_norm": rf}
    if math.isnan(norm2):
        out.update({"norm": 1.0, "a": ar, "loss": loss, "closed_form": True, "only_product_fixed": True})
    else:
        out.update({"norm": math.sqrt(norm2), "a": a, "loss": loss, "closed_form": True})
    out.update({"direction": direction, "direction_text": _DIRECTION_TEXT[direction]})
    if math.isnan(norm2):
        out.update({"a_average": ar_avg, "loss_average": loss_avg})
    return out


def _generic(activation: str, m, teacher_norm) -> bool:
    """True for activations without a generated solution (``copyavg.numeric.one_neuron_any``,
    unit teacher only); checks ``m`` and ``teacher_norm`` first."""
    act = get_activation(activation)
    if act.name in ONE_NEURON:
        return False
    _check_m(m)
    if _check_rho(teacher_norm) != 1.0:
        raise ValueError(f"teacher_norm must be 1 for activation {act.name!r} (its one-neuron solution is for "
                         f"the unit teacher; other norms exist for {', '.join(ONE_NEURON)}), got {teacher_norm!r}")
    return True


def _is_copy(name: str) -> bool:
    """|z|-like activations (alpha + beta = 0): the optimum copies one teacher neuron (docs/theory.md §4)."""
    p = get_activation(name).params
    return p["alpha"] + p["beta"] == 0 and p["beta"] != 0


def average_point(activation: str, m, teacher_norm=1.0) -> tuple[float, float]:
    """``(|w|, a)`` of the best point with w along v_1 + .. + v_m (|w| = 1 for the piecewise-linear
    family): the one-neuron optimum except for |z|, where it is the symmetric KKT point.

    Parameters
    ----------
    activation : str
        A name from ``copyavg.numeric.ACTIVATIONS``.
    m : real
        Number of teacher neurons averaged, ``m >= 1``, finite (non-integer m evaluates the closed
        form).
    teacher_norm : real, default 1.0
        Common teacher norm ``rho > 0``, finite.

    Returns
    -------
    norm : float
        ``|w|`` (1.0 by convention for the piecewise-linear and monomial families, where only
        ``a |w|`` or ``a |w|^p`` is fixed; where the average profile has no finite optimum - gelu
        for m > 1, silu from m = 3 - the best point of the profile search, ``|w| <= 8`` resp. 4).
    a : float
        The outgoing weight (``a |w|`` for the piecewise-linear family).

    Raises
    ------
    ValueError
        ``m < 1``, ``teacher_norm <= 0`` (or != 1 for the activations of ``one_neuron_any``), non-finite
        or non-numeric values, unknown activation.

    Examples
    --------
    >>> norm, a = average_point("erf2", 3)  # |w|^2 = 1/(2m - 1), a = m
    >>> round(norm ** 2, 12), a
    (0.2, 3.0)
    >>> average_point("relu", 1)  # copies the teacher neuron: a |w| = 1
    (1.0, 1.0)
    """
    if _generic(activation, m, teacher_norm):
        from .one_neuron_any import one_neuron_any

        sol = one_neuron_any(activation, m)
        if math.isinf(sol["norm_average"]):
            # no finite optimum (gelu; silu from m = 3: the infimum is the |w| -> infinity limit): the
            # best point of the profile search, which ends at |w| = 8 (gelu) or the accepted norm (silu)
            from .one_neuron_any import profile_optimum

            sol = profile_optimum(get_activation(activation).name, m, "average")
            return sol["norm"], sol["a"]
        return sol["norm_average"], sol["a_average"]
    _, _, (norm2, a, ar, _, ar_avg, _) = _values(activation, m, teacher_norm)
    return (1.0, ar_avg) if math.isnan(norm2) else (math.sqrt(norm2), a)


def parse_partition(partition, k=None) -> tuple[int, ...]:
    """A partition given as "1,1,3" or a sequence of positive integers; checks it sums to k.

    Parameters
    ----------
    partition : str or sequence of int
        Group sizes ``m_i >= 1``.
    k : int, optional
        Required total.

    Returns
    -------
    tuple of int

    Raises
    ------
    ValueError
        Not positive integers, empty, or not summing to ``k``.

    Examples
    --------
    >>> parse_partition("1, 1,3", k=5)
    (1, 1, 3)
    """
    if isinstance(partition, str):
        try:
            parts = tuple(int(p) for p in partition.replace(" ", "").split(",") if p)
        except ValueError:
            raise ValueError(f"partition must be comma-separated positive integers, got {partition!r}") from None
    else:
        parts = tuple(int(p) for p in partition)
    if not parts or any(p < 1 for p in parts):
        raise ValueError(f"partition must be non-empty positive integers (group sizes m_i >= 1), got {partition!r}")
    if k is not None and sum(parts) != k:
        raise ValueError(f"partition {','.join(map(str, parts))} sums to {sum(parts)}, not k = {k}")
    return parts


def ca_configuration(activation: str, partition, d=None, teacher_norm=1.0):
    """``(a, W, b, V)`` of the CA point: group i covers teacher neurons ``sum(m_<i) .. sum(m_<=i)-1``.

    Parameters
    ----------
    activation : str
        A name from ``copyavg.numeric.ACTIVATIONS``.
    partition : str or sequence of int
        Group sizes (see ``parse_partition``); ``k = sum(partition)``.
    d : int, optional
        Input dimension, ``>= k`` (default ``k + 1``).
    teacher_norm : real, default 1.0
        ``V = teacher_norm * eye(k, d)``, ``b = 1``.

    Returns
    -------
    a : ndarray, shape (n,)
    W : ndarray, shape (n, d)
    b : ndarray, shape (k,)
    V : ndarray, shape (k, d)

    Raises
    ------
    ValueError
        Bad partition, ``d < k`` or bad teacher norm.

    Examples
    --------
    >>> a, W, b, V = ca_configuration("erf2", "1,2")
    >>> a.tolist(), W.shape, V.shape
    ([1.0, 2.0], (2, 4), (3, 4))
    """
    parts = parse_partition(partition)
    k = sum(parts)
    d = k + 1 if d is None else int(d)
    if d < k:
        raise ValueError(f"d must be >= k = {k} (orthonormal teacher directions), got {d}")
    rf = _check_rho(teacher_norm)
    V = np.zeros((k, d))
    V[np.arange(k), np.arange(k)] = rf
    b = np.ones(k)
    a = np.empty(len(parts))
    W = np.zeros((len(parts), d))
    start = 0
    for i, mi in enumerate(parts):
        norm, a[i] = average_point(activation, mi, rf)
        W[i, start:start + mi] = norm / math.sqrt(mi)
        start += mi
    return a, W, b, V
