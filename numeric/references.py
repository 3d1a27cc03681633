r"""Copy-average (CA) reference points for any activation, numerically (docs/theory.md §10.2).

Teacher ``v_j = e_j`` (j = 1..k), ``b_j = 1``. A CA configuration for a partition of the teacher
neurons into groups ``S_1, ..., S_n`` has one student neuron per group, ``w_i = t_i u_i`` with
``u_i = sum_{j in S_i} e_j / sqrt(m_i)``, ``m_i = |S_i|``, and outgoing weight ``a_i``.

**One group** (``group_point``): one neuron against the ``m`` teacher neurons of its group alone
is the reduced problem in ``t`` (signed norm) with ``a`` in closed form,

    a*(t) = m g(t^2, 1, t / sqrt(m)) / s(t^2),
    L(t)  = m s(1) + m (m - 1) g(1, 1, 0) - (m g(t^2, 1, t / sqrt(m)))^2 / s(t^2),

``g`` the pair kernel and ``s(q) = g(q, q, q)``; ``L*(m) = min_t L(t)`` is found on a grid of
``t`` in ``[-T, T]`` (``T``: the kernel's accepted norm, at most 8) refined by a bounded scalar
minimisation. For ``m = 1`` the copy ``t = 1, a = 1`` has ``L = 0``. Numeric evidence, not a
proof: the grid could miss a narrow global minimum (the tests compare with an mpmath route).

**Whole partition** (``ca_point``): when ``E[sigma(z)] = 0`` (odd activations: erf, tanh, sin, ...)
the cross terms between groups vanish (``g(q, q', 0) = E[sigma]^2 = 0``) and the CA loss is
``sum_i L*(m_i)``; otherwise (relu, softplus, GELU, ...) the groups interact through the mean and
the best CA configuration is found by minimising the exact loss over ``(a_i, t_i)`` jointly,
starting from the group optima. ``ca_point`` does that in both cases (the odd case then keeps the
group optima, up to the minimiser's tolerance) and reports the loss, the gradient of the *full*
loss there (CA configurations need not be critical points of the full loss) and the partition.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .activations import get_activation
from .kernels import diag_kernel, pair_kernel
from .one_neuron import parse_partition

#: largest |t| searched when the kernel accepts any norm
T_MAX = 8.0
#: grid points on [-T, T] before the bounded refinement
GRID = 801


def _t_range(act) -> float:
    lim = act.params.get("max_norm") if act.family == "quadrature" else None
    if act.name in ("sin", "cos"):
        lim = 16.0
    return float(min(T_MAX, lim)) if lim else T_MAX


def _reduced(act_name: str, m: int, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(L(t), a*(t))`` of the one-group reduced problem (module docstring)."""
    t = np.asarray(t, float)
    q = t * t
    s = diag_kernel(act_name, q)[0]
    cross = pair_kernel(act_name, q, np.ones_like(q), t / math.sqrt(m))
    s1 = float(diag_kernel(act_name, np.array([1.0]))[0][0])
    g0 = float(pair_kernel(act_name, 1.0, 1.0, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(s > 0, m * cross / np.where(s > 0, s, 1.0), 0.0)
        L = m * s1 + m * (m - 1) * g0 - np.where(s > 0, (m * cross) ** 2 / np.where(s > 0, s, 1.0), 0.0)
    return L, a


@functools.lru_cache(maxsize=256)
def group_point(activation: str, m: int) -> tuple[float, float, float]:
    """Best single neuron along the average direction of ``m`` teacher neurons (numeric).

    Parameters
    ----------
    activation : str
        Any activation accepted by ``copyavg.numeric.get_activation`` (registered names, tanh,
        softplus, sigmoid, silu, expressions in z).
    m : int
        Group size, ``m >= 1``.

    Returns
    -------
    t : float
        Signed norm: ``w = t (e_1 + ... + e_m) / sqrt(m)`` (1 for ``m = 1``, the copy).
    a : float
        Outgoing weight ``a*(t)``.
    loss : float
        ``L*(m)``, the loss of that neuron against the ``m`` teacher neurons (0 for ``m = 1``).

    Raises
    ------
    ValueError
        ``m`` not an integer ``>= 1``, an unknown activation, or no optimum inside the searched
        range (the reduced loss still decreases at ``|t| = T``: the best neuron has a larger norm
        than the kernel accepts).

    Examples
    --------
    >>> t, a, L = group_point("erf2", 3)   # closed form: t^2 = 1/(2m - 1), a = m
    >>> round(t * t, 8), round(a, 8)
    (0.2, 3.0)
    >>> group_point("sin", 1)
    (1.0, 1.0, 0.0)
    """
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1:
        raise ValueError(f"m must be an integer >= 1 (group size), got {m!r}")
    act = get_activation(activation)
    if m == 1:
        return 1.0, 1.0, 0.0
    T = _t_range(act)
    name = act.name if act.exact else activation
    # odd activations: (a, t) and (-a, -t) are the same neuron, so search t > 0 only
    grid = np.linspace(0.0 if act.odd else -T, T, GRID)
    grid = grid[np.abs(grid) > 1e-9]
    L, _ = _reduced(name, int(m), grid)
    i = int(np.nanargmin(L))
    if i in (0, len(grid) - 1) and abs(grid[i]) >= T * (1 - 1e-12) and act.family != "piecewise_linear":
        raise ValueError(f"activation {activation!r}, m = {m}: the reduced loss decreases up to the "
                         f"searched |t| = {T:g} (the kernel's accepted norm or {T_MAX:g}): no group "
                         "optimum inside the accepted range")
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    t = _stationary(name, int(m), lo, hi)
    L1, a1 = _reduced(name, int(m), np.array([t]))
    if act.family == "piecewise_linear":  # positively homogeneous: only a|w| is fixed; |w| = 1
        a1 = a1 * abs(t)
        t = math.copysign(1.0, t)
    return t, float(a1[0]), float(L1[0])


def _dreduced(name: str, m: int, t: float) -> float:
    """Numerator of ``dL/dt`` (same sign as ``dL/dt`` up to the factor ``-m^2 / s^2 < 0``):
    ``2 G G' s - G^2 s' 2t`` with ``G(t) = g(t^2, 1, t/sqrt(m))``, from the kernel's partials."""
    q = np.array([t * t])
    G, g1, _, g3 = pair_kernel(name, q, np.ones(1), np.array([t / math.sqrt(m)]), order=1)
    s, s1 = diag_kernel(name, q)[:2]
    dG = g1 * 2 * t + g3 / math.sqrt(m)
    return float((2 * G * dG * s - G * G * s1 * 2 * t)[0])


def _stationary(name: str, m: int, lo: float, hi: float) -> float:
    """The minimiser of the reduced loss in ``[lo, hi]`` (around the best grid point): a root of
    ``dL/dt`` by Brent's method when it changes sign there (``t`` to ~1e-15, where minimising ``L``
    itself resolves ``t`` only to ~1e-8), else the bounded minimiser of ``L``."""
    from scipy import optimize

    f_lo, f_hi = _dreduced(name, m, lo), _dreduced(name, m, hi)
    if np.isfinite(f_lo) and np.isfinite(f_hi) and f_lo * f_hi < 0:
        return float(optimize.brentq(lambda x: _dreduced(name, m, x), lo, hi, xtol=1e-15, rtol=1e-15))
    res = optimize.minimize_scalar(lambda x: float(_reduced(name, m, np.array([x]))[0][0]),
                                   bounds=(lo, hi), method="bounded", options={"xatol": 1e-12})
    return float(res.x)


def ca_configuration_any(activation: str, partition, d: int | None = None, signs=None):
    """``(a, W)`` built from the group optima (``group_point``), groups of consecutive teacher
    neurons as in ``copyavg.numeric.one_neuron.ca_configuration``.

    Parameters
    ----------
    activation : str
        Any activation accepted by ``copyavg.numeric.get_activation``.
    partition : str or sequence of int
        Group sizes, ``k = sum(partition)``.
    d : int, optional
        Input dimension (default ``k + 1``).
    signs : sequence of {1, -1}, optional
        ``signs[i] = -1`` flips neuron i to ``(-a_i, -w_i)`` (a symmetry for odd activations only).

    Returns
    -------
    a : ndarray, shape (n,)
    W : ndarray, shape (n, d)

    Raises
    ------
    ValueError
        Bad partition or unknown activation.

    Examples
    --------
    >>> a, W = ca_configuration_any("erf2", "1,2")
    >>> a.round(8).tolist(), W.shape
    ([1.0, 2.0], (2, 4))
    """
    parts = parse_partition(partition)
    k = sum(parts)
    d = k + 1 if d is None else int(d)
    a = np.empty(len(parts))
    W = np.zeros((len(parts), d))
    start = 0
    for i, m in enumerate(parts):
        t, a[i], _ = group_point(activation, m)
        W[i, start:start + m] = t / math.sqrt(m)
        if signs is not None and signs[i] < 0:
            a[i], W[i] = -a[i], -W[i]
        start += m
    return a, W


def ca_point(activation: str, partition, d: int | None = None, groups=None, start=None) -> dict:
    """Best CA configuration for ``partition`` (module docstring): the exact loss minimised over
    ``(a_i, t_i)`` from the group optima (or from ``start``), with the full gradient there.

    Parameters
    ----------
    activation : str
        Any activation accepted by ``copyavg.numeric.get_activation``.
    partition : str or sequence of int
        Group sizes, ``k = sum(partition)``.
    d : int, optional
        Input dimension, ``>= k`` (default ``k + 1``).
    groups : sequence of sequence of int, optional
        The teacher indices of each group (default: consecutive groups of the partition's sizes).
    start : tuple (a, t), optional
        Starting outgoing weights and signed norms (default: the group optima).

    Returns
    -------
    dict
        ``{"partition", "loss", "a", "W", "grad_max", "critical"}``: ``loss`` of the best CA
        configuration, its weights, ``max|dL/dtheta|`` of the full loss there and whether that is
        ``<= 1e-8`` (a critical point of the full loss).

    Raises
    ------
    ValueError
        Bad partition or groups, ``d < k``, unknown activation, or the best configuration has a
        neuron at the norm bound of the search (beyond the kernel's accepted range).

    Examples
    --------
    >>> r = ca_point("erf2", "1,1,3")
    >>> round(r["loss"], 10), r["critical"]   # L*(3) = 1 - (18/pi) asin(1/6), the copies cost 0
    (0.0405931773, True)
    """
    from scipy import optimize

    from .population import Problem

    parts = parse_partition(partition)
    k = sum(parts)
    d = k + 1 if d is None else int(d)
    if d < k:
        raise ValueError(f"d must be >= k = {k}, got {d}")
    if groups is None:
        edges = np.cumsum((0,) + parts)
        groups = [list(range(edges[i], edges[i + 1])) for i in range(len(parts))]
    groups = [list(g) for g in groups]
    if sorted(j for g in groups for j in g) != list(range(k)) or [len(g) for g in groups] != list(parts):
        raise ValueError(f"groups must split 0..{k - 1} into groups of sizes {parts}, got {groups!r}")
    U = np.zeros((len(parts), d))
    for i, g in enumerate(groups):
        U[i, g] = 1.0 / math.sqrt(len(g))
    if start is None:
        gp = [group_point(activation, m) for m in parts]
        x0 = np.array([p[1] for p in gp] + [p[0] for p in gp])
    else:
        x0 = np.concatenate([np.asarray(start[0], float), np.asarray(start[1], float)])
    prob = Problem(np.ones(k), np.eye(k, d), activation)
    n = len(parts)

    def fg(x):
        a, W = x[:n], x[n:, None] * U
        L, ga, gW = prob.loss_and_gradient(a, W)
        return L, np.concatenate([ga, np.sum(gW * U, axis=1)])

    T = _t_range(get_activation(activation))
    bounds = [(None, None)] * n + [(-T, T)] * n
    res = optimize.minimize(fg, x0, jac=True, method="L-BFGS-B", bounds=bounds,
                            options={"gtol": 1e-13, "ftol": 1e-16, "maxiter": 5000})
    x = res.x if res.fun <= fg(x0)[0] else x0
    if np.any(np.abs(x[n:]) >= T * (1 - 1e-9)):
        raise ValueError(f"activation {activation!r}, partition {parts}: the best CA configuration "
                         f"has a neuron at the searched norm bound {T:g} (beyond the accepted range)")
    a, W = x[:n], x[n:, None] * U
    L, ga, gW = prob.loss_and_gradient(a, W)
    gmax = float(max(np.max(np.abs(ga)), np.max(np.abs(gW))))
    return {"partition": list(parts), "loss": float(L), "a": a, "W": W, "grad_max": gmax,
            "critical": gmax <= 1e-8}


def ca_loss_table(activation: str, k: int, d: int | None = None) -> list[dict]:
    """For every n = 1..k-1: the loss of the optimal-shape CA configuration (n - 1 copies and one
    average of k - n + 1, ``ca_point``) and whether it is critical.

    Parameters
    ----------
    activation : str
        Any activation accepted by ``copyavg.numeric.get_activation``.
    k : int
        Teacher width, ``k >= 2``.
    d : int, optional
        Input dimension (default ``k + 1``).

    Returns
    -------
    list of dict
        ``{"n", "partition", "loss", "grad_max", "critical"}`` per n.

    Raises
    ------
    ValueError
        ``k < 2`` or as :func:`ca_point`.

    Examples
    --------
    >>> [round(r["loss"], 6) for r in ca_loss_table("erf2", 3)]   # L*(3), L*(2)
    [0.040593, 0.023222]
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2:
        raise ValueError(f"k must be an integer >= 2, got {k!r}")
    out = []
    for n in range(1, k):
        r = ca_point(activation, (1,) * (n - 1) + (k - n + 1,), d)
        out.append({"n": n, "partition": r["partition"], "loss": r["loss"], "grad_max": r["grad_max"],
                    "critical": r["critical"]})
    return out
