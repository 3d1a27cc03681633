"""Type of a gradient-flow endpoint for the unit-orthonormal teacher (``v_j = e_j``, ``b_j = 1``).

* ``ca-optimal``: a copy-average point with n - 1 copies and one average of k - n + 1;
* ``ca``: another copy-average point (with its partition);
* ``pnc``: perturbed n-copy: each student neuron's largest |cosine| with a teacher vector is
  >= 0.95 (the paper's threshold), the teacher vectors are distinct, and it is not a CA point;
* ``near-ca-optimal`` / ``near-ca``: for activations whose CA points are not critical (ReLU and
  its family, docs/theory.md §9): each neuron's dominant teacher directions (components above 0.2
  of its largest; for ReLU-like activations positive components only, see ``_reach``) form
  disjoint groups covering every teacher neuron, with that partition;
* ``other``.

Embedded endpoints: the point is first reduced to its effective network
(``copyavg.numeric.effective``: inactive neurons dropped, duplicated or split neurons merged) and
that network is classified; ``width`` is its width and ``reduction`` (None when nothing was
reduced) names the dropped and merged neurons, so e.g. ``ca-optimal`` with ``width = n - 1`` is an
optimal CA point of width n - 1 embedded in width n (its partition has n - 1 groups).

CA detection: each student neuron's support (teacher directions carrying more than ``1e-4`` of
its norm) defines a group; the groups must be disjoint and cover every teacher neuron, and the
point must be within ``ca_tol`` (Euclidean, in theta = (a, W)) of the CA configuration built from
those groups (up to the sign flip (a_i, w_i) -> (-a_i, -w_i), for activations without a derived
one-neuron solution only when odd). Each group's ``(|w|, a)`` is the closed form where it is derived
(``average_point``), else the numeric group optimum of ``copyavg.numeric.references``; where
that optimum lies beyond the kernel's accepted norm (GELU) no point is CA. ``distance`` is the distance to
the nearest reference point: that CA point, or the solved P-n-C point with the same copied
teacher neurons.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from .activations import get_activation
from .effective import effective_network
from .one_neuron import average_point

COPY_COSINE = 0.95


@dataclass(frozen=True)
class Endpoint:
    """Type of an endpoint (``kind``), its CA partition (group sizes, largest first) if any, the
    distance to the nearest reference point, and each neuron's largest |cosine| with a teacher.

    Attributes
    ----------
    kind : str
        ``"ca-optimal"``, ``"ca"``, ``"pnc"``, ``"near-ca-optimal"``, ``"near-ca"`` or
        ``"other"`` (see the module docstring).
    partition : tuple of int or None
        CA (or near-CA) group sizes, largest first; None for the other kinds.
    distance : float or None
        Euclidean distance in ``theta`` to the reference point (the CA point, or the solved P-n-C
        point); None when there is none.
    max_cosines : tuple of float
        Each (effective) neuron's largest ``|cos|`` with a teacher vector.
    width : int or None
        Width of the effective network that was classified.
    reduction : dict or None
        ``{"inactive": [...], "merged": [[...], ...]}`` when the endpoint is embedded (neurons
        dropped or merged), else None.
    embedded : bool
        Property: ``reduction is not None``.

    Examples
    --------
    >>> import numpy as np
    >>> from copyavg.numeric.one_neuron import ca_configuration
    >>> a, W, b, V = ca_configuration("erf2", "1,2")
    >>> ep = classify_endpoint(np.append(a, 0.0), np.vstack((W, [0.1, 0.2, 0.3, 0.0])), 3)
    >>> ep.kind, ep.partition, ep.width, ep.reduction  # an inactive third neuron
    ('ca-optimal', (2, 1), 2, {'inactive': [2], 'merged': []})
    """

    kind: str
    partition: tuple | None
    distance: float | None
    max_cosines: tuple
    width: int | None = None      # effective width (copyavg.numeric.effective)
    reduction: dict | None = None  # {"inactive": [...], "merged": [[...], ...]} when embedded

    @property
    def embedded(self) -> bool:
        return self.reduction is not None

    def to_dict(self) -> dict:
        """JSON-ready form: ``{"endpoint", "partition", "distance", "max_cosines", "effective_width",
        "reduction"}``."""
        return {"endpoint": self.kind, "partition": list(self.partition) if self.partition else None,
                "distance": self.distance, "max_cosines": list(self.max_cosines),
                "effective_width": self.width, "reduction": self.reduction}


def _ca_reference(a, W, groups, k, activation):
    """The CA point with the given groups, neuron i keeping the sign of a_i."""
    a_ref = np.empty_like(a)
    W_ref = np.zeros_like(W)
    for i, S in enumerate(groups):
        norm, a_avg, flip = _group_reference(activation, len(S))
        sgn = 1.0 if a[i] >= 0 or not flip else -1.0
        a_ref[i] = sgn * a_avg
        W_ref[i, list(S)] = sgn * norm / np.sqrt(len(S))
    return a_ref, W_ref


def _group_reference(activation: str, m: int) -> tuple[float, float, bool]:
    """``(|w| or signed t, a, sign flip allowed)`` of one CA group: the closed form where it is
    derived (``average_point``), else the numeric group optimum (``copyavg.numeric.references``),
    whose sign flip ``(a, w) -> (-a, -w)`` is a symmetry only for odd activations."""
    try:
        norm, a_avg = average_point(activation, m)
        return norm, a_avg, True
    except ValueError:
        from .references import group_point

        t, a_avg, _ = group_point(activation, int(m))
        return t, a_avg, bool(get_activation(activation).odd)


def _reach(w, activation: str) -> np.ndarray:
    """How strongly neurons with weights ``w`` (rows) respond along each teacher direction ``e_j``.

    For ReLU-like activations (``|beta| > |alpha|``) only positive components count: a neuron
    with ``w_j < 0`` is silent where teacher j is active (the averaging neuron of a near-CA point
    has negative weights on the copied directions). ``|alpha| > |beta|``: negative components; odd
    or even activations (erf, linear, |z|): the absolute value.
    """
    act = get_activation(activation)
    if act.family == "piecewise_linear":
        al, be = abs(act.params["alpha"]), abs(act.params["beta"])
        if be > al:
            return np.maximum(w, 0.0)
        if al > be:
            return np.maximum(-w, 0.0)
    return np.abs(w)


def classify_endpoint(a, W, k: int, activation: str = "erf2", ca_tol: float = 1e-6) -> Endpoint:
    """Classify (a, W) against the teacher V = eye(k, d), b = 1 (see module docstring).

    Parameters
    ----------
    a : array_like, shape (n,)
    W : array_like, shape (n, d)
        The endpoint, ``d >= k``.
    k : int
        Number of teacher neurons.
    activation : str, default "erf2"
    ca_tol : float, default 1e-6
        Largest Euclidean distance in ``theta`` to the CA point for the types ``ca``/``ca-optimal``.

    Returns
    -------
    Endpoint

    Raises
    ------
    ValueError
        ``W`` has fewer than ``k`` columns.

    Examples
    --------
    >>> from copyavg.numeric.one_neuron import ca_configuration
    >>> a, W, b, V = ca_configuration("erf2", "1,2")
    >>> classify_endpoint(a, W, 3).kind
    'ca-optimal'
    """
    a = np.asarray(a, float)
    W = np.asarray(W, float)
    n, d = W.shape
    if d < k:
        raise ValueError(f"W must have d >= k = {k} columns, got {d}")
    red = effective_network(a, W, activation)
    if red.summary() is None:
        return replace(_classify_network(a, W, k, activation, ca_tol), width=n)
    if red.width == 0:
        return Endpoint("other", None, None, (), width=0, reduction=red.summary())
    ep = _classify_network(red.a, red.W, k, activation, ca_tol)
    return replace(ep, width=red.width, reduction=red.summary())


@lru_cache(maxsize=256)
def _pnc_reference(k: int, n: int, d: int, activation: str):
    """``solve_pnc(k, n, d, activation)``, remembered: it depends on the sizes alone, and at large
    ``n`` (dense Hessians of ``N = n + n d`` parameters, their spectrum) it costs more than a flow,
    so a sweep's process solves it once per width rather than once per seed (a ``ValueError``,
    no reference point, is not remembered). Only the point is used: its Hessian type is not
    computed (``classify=False``: no spectrum of the full Hessian)."""
    from .pnc import solve_pnc

    return solve_pnc(k, n, d, activation, classify=False)


def _classify_network(a, W, k: int, activation: str, ca_tol: float) -> Endpoint:
    """The classification of the module docstring, for a network without embedded neurons."""
    n, d = W.shape
    norms = np.linalg.norm(W, axis=1)
    safe = np.where(norms > 0, norms, 1.0)
    cos = W[:, :k] / safe[:, None]
    maxcos = np.max(np.abs(cos), axis=1)
    best = np.argmax(np.abs(cos), axis=1)
    # CA test
    groups = [tuple(np.flatnonzero(np.abs(W[i, :k]) > 1e-4 * max(norms[i], 1e-300))) for i in range(n)]
    flat = [j for S in groups for j in S]
    if all(groups) and len(flat) == len(set(flat)) == k:
        try:
            a_ref, W_ref = _ca_reference(a, W, groups, k, activation)
            dist = float(np.sqrt(np.sum((a - a_ref) ** 2) + np.sum((W - W_ref) ** 2)))
        except ValueError:  # no CA group point inside the kernel's accepted range: not a CA point
            dist = np.inf
        if dist <= ca_tol:
            sizes = tuple(sorted((len(S) for S in groups), reverse=True))
            optimal = sizes == (k - n + 1,) + (1,) * (n - 1)
            return Endpoint("ca-optimal" if optimal else "ca", sizes, dist, tuple(float(x) for x in maxcos))
    reach = _reach(W[:, :k], activation)
    top = reach.max(axis=1)
    loose = [tuple(np.flatnonzero(reach[i] > 0.2 * top[i])) if norms[i] > 0 and top[i] > 0 else ()
             for i in range(n)]
    flat_loose = [j for S in loose for j in S]
    near_ca = all(loose) and len(flat_loose) == len(set(flat_loose)) == k
    if n < k and np.all(maxcos >= COPY_COSINE) and len(set(best.tolist())) == n:
        from .pnc import solve_pnc, unpack

        try:
            p = _pnc_reference(k, n, d, activation) if isinstance(activation, str) else solve_pnc(k, n, d, activation)
        except ValueError:  # no reference point in the family (e.g. non-differentiable there)
            return Endpoint("pnc", None, None, tuple(float(x) for x in maxcos))
        a_p, W_p = unpack([p.alpha, p.beta, p.gamma, p.c], k, n, d)
        # reorder teacher columns so that student i copies column i, as in the reference
        order = list(best) + [j for j in range(k) if j not in set(best.tolist())] + list(range(k, d))
        Wr = W[:, order]
        sg = np.sign(a)
        sg[sg == 0] = 1.0
        dist = float(np.sqrt(np.sum((a * sg - a_p) ** 2) + np.sum((Wr * sg[:, None] - W_p) ** 2)))
        return Endpoint("pnc", None, dist, tuple(float(x) for x in maxcos))
    if near_ca:
        sizes = tuple(sorted((len(S) for S in loose), reverse=True))
        optimal = sizes == (k - n + 1,) + (1,) * (n - 1)
        return Endpoint("near-ca-optimal" if optimal else "near-ca", sizes, None, tuple(float(x) for x in maxcos))
    return Endpoint("other", None, None, tuple(float(x) for x in maxcos))
