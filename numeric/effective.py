"""The effective network of an endpoint, and its Hessian type up to the embedding symmetries.

A student of width n can realise a narrower network (docs/theory.md §7, "embedded endpoints"):

* **inactive** neuron: its output ``a_i sigma(w_i.x)`` is (numerically) the zero function:
  ``a_i = 0`` (any ``w_i``), or ``w_i = 0`` for the piecewise-linear family and odd activations;
* **duplicated** neurons (erf family): ``w_i = w_j`` act as one neuron with ``a_i + a_j``; for an
  odd activation also ``w_i = -w_j``, with ``a_i - a_j``;
* **split** neurons (piecewise-linear family, positively homogeneous): ``w_i = t w_j``, ``t > 0``,
  act as one neuron along ``w_j`` with ``a_i |w_i| + a_j |w_j|`` (per unit norm); ``t < 0`` too
  for ``linear`` (odd: ``a_i |w_i| - a_j |w_j|``) and ``abs`` (even: ``+``).

Tolerances (relative, as the CA distance ``ca_tol = 1e-6`` of ``copyavg.numeric.endpoints``):
a neuron is inactive when the L2(Gaussian) norm of its output, ``|a_i| sqrt(s(|w_i|^2))`` (``s`` the
diagonal kernel), is at most ``INACTIVE_TOL = 1e-6`` times ``max(1, largest output norm)``;
dropping it changes the network function by at most that much in L2. Two neurons merge when
``|w_i - s w_j| <= MERGE_TOL max(|w_i|, |w_j|)`` (erf family) or their unit vectors satisfy
``|u_i - s u_j| <= MERGE_TOL`` (piecewise-linear family), ``MERGE_TOL = 1e-6``. A polished endpoint
(``max|grad| <= 1e-12``) resolves every non-degenerate direction to about ``1e-12 / curvature``, so
a genuine duplicate or inactive neuron sits far inside these tolerances, while neurons that only
approach each other (directions with curvature ``>= 1e-6``) stay far outside them.

Merging goes in order of decreasing output norm: each neuron joins the first group whose leading
neuron it matches, else starts a group. The merged neuron keeps the leading ``w``, with
``a = sum_j a_j t_j e_j`` (``t_j = |w_j| / |w_lead|`` for the piecewise-linear family, 1 for the
erf family; ``e_j = -1`` for an antiparallel member of an odd activation, else ``+1``). A group
whose merged output is below the inactive tolerance (cancelling duplicates) is dropped.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .activations import get_activation
from .classify import Inertia, hessian_inertia
from .kernels import diag_kernel

INACTIVE_TOL = 1e-6
MERGE_TOL = 1e-6


@dataclass(frozen=True)
class Reduction:
    """Effective network ``(a, W)`` of width ``len(a)``; ``members[m]`` lists the original neurons
    ``(index, factor)`` of effective neuron m (``a[m] = sum factor * a_index``); ``inactive`` the
    dropped neurons. Returned by :func:`effective_network`.

    Attributes
    ----------
    a : ndarray, shape (width,)
        Outgoing weights of the effective neurons.
    W : ndarray, shape (width, d)
        Incoming weights of the effective neurons (each the ``w`` of its group's leading neuron).
    members : tuple of tuple of (int, float)
        For each effective neuron, the original neurons ``(index, factor)`` merged into it,
        sorted by index; ``a[m] = sum(factor * a_orig[index])``.
    inactive : tuple of int
        Original neurons dropped as inactive (sorted), including cancelling duplicates.
    width : int
        Property: ``len(a)``, the effective width.
    merged : tuple of tuple of int
        Property: the original indices of every group of more than one neuron.

    Examples
    --------
    >>> import numpy as np
    >>> red = effective_network([0.4, 0.6, 0.0], np.array([[1.0, 0, 0], [1.0, 0, 0], [0, 1.0, 0]]), "erf2")
    >>> red.width, red.a.tolist(), red.inactive, red.merged
    (1, [1.0], (2,), ((0, 1),))
    >>> red.summary()
    {'inactive': [2], 'merged': [[0, 1]]}
    """

    a: np.ndarray
    W: np.ndarray
    members: tuple
    inactive: tuple

    @property
    def width(self) -> int:
        """Effective width ``len(a)``."""
        return len(self.a)

    @property
    def merged(self) -> tuple:
        """Original indices of every group of more than one neuron."""
        return tuple(tuple(i for i, _ in g) for g in self.members if len(g) > 1)

    def summary(self) -> dict | None:
        """``{"inactive": [...], "merged": [[i, j, ...], ...]}`` or None when nothing was reduced."""
        if not self.inactive and not self.merged:
            return None
        return {"inactive": list(self.inactive), "merged": [list(g) for g in self.merged]}


def output_norms(a, W, activation: str) -> np.ndarray:
    """``|a_i| sqrt(E[sigma(w_i.x)^2])``: the L2(Gaussian) norm of each neuron's output.

    Parameters
    ----------
    a : array_like, shape (n,)
        Outgoing weights, real.
    W : array_like, shape (n, d)
        Incoming weights (rows ``w_i``), real, ``|w_i|^2`` in ``[0, 1e150]`` (erf family) or
        ``[0, 1e300]`` (piecewise-linear family).
    activation : str
        A name from ``copyavg.numeric.ACTIVATIONS``.

    Returns
    -------
    ndarray, shape (n,)
        ``|a_i| sqrt(s(|w_i|^2))`` with ``s`` the diagonal kernel (``diag_kernel``).

    Raises
    ------
    ValueError
        Unknown activation; a squared norm ``|w_i|^2`` that is NaN or outside the accepted range.

    Examples
    --------
    >>> out = output_norms([2.0, 0.0, -1.0], [[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]], "relu")
    >>> out.round(6).tolist()  # s(q) = q/2: 2 sqrt(1/2); a = 0; w = 0
    [1.414214, 0.0, 0.0]
    """
    s = diag_kernel(activation, np.sum(np.asarray(W, float) ** 2, axis=1))[0]
    return np.abs(np.asarray(a, float)) * np.sqrt(np.maximum(s, 0.0))


def _match(act, w_lead, w) -> float | None:
    """The factor ``t e`` with ``sigma(w.x) = t e sigma(w_lead.x)`` when w matches, else None."""
    r0, r = np.linalg.norm(w_lead), np.linalg.norm(w)
    if r0 == 0 or r == 0:
        return None
    pl = act.family == "piecewise_linear"
    even = pl and act.params["alpha"] == -act.params["beta"]
    signs = (1.0, -1.0) if (act.odd or even) else (1.0,)
    for s in signs:
        gap = np.linalg.norm(w / r - s * w_lead / r0) if pl else np.linalg.norm(w - s * w_lead) / max(r, r0)
        if gap <= MERGE_TOL:
            t = r / r0 if pl else 1.0
            return t * (s if act.odd else 1.0)
    return None


def effective_network(a, W, activation: str) -> Reduction:
    """Drop inactive neurons, merge duplicated / split ones (see module docstring).

    Parameters
    ----------
    a : array_like, shape (n,)
        Outgoing weights, real and finite.
    W : array_like, shape (n, d)
        Incoming weights, real and finite, squared norms in the range of :func:`output_norms`.
    activation : str
        A name from ``copyavg.numeric.ACTIVATIONS``; it decides which neurons merge (duplicates for
        the erf family, positive multiples for the piecewise-linear family, antiparallel ones for
        odd activations and ``abs``).

    Returns
    -------
    Reduction
        The effective network (width 0 when every neuron is inactive), its groups and the
        dropped neurons.

    Raises
    ------
    ValueError
        As :func:`output_norms` (unknown activation, a squared norm out of range or NaN).

    Examples
    --------
    Two ReLU neurons along the same direction (``w_1 = 2 w_0``) act as one with
    ``a = a_0 |w_0| / |w_1| + a_1``, kept along the larger neuron's ``w``:

    >>> import numpy as np
    >>> red = effective_network([1.0, 1.0], np.array([[1.0, 0.0], [2.0, 0.0]]), "relu")
    >>> red.width, red.a.tolist(), red.W.tolist(), red.summary()
    (1, [1.5], [[2.0, 0.0]], {'inactive': [], 'merged': [[0, 1]]})
    >>> effective_network([1.0], [[1.0, 0.0]], "erf2").summary() is None  # nothing to reduce
    True
    """
    act = get_activation(activation)
    a = np.asarray(a, float)
    W = np.asarray(W, float)
    out = output_norms(a, W, activation)
    floor = INACTIVE_TOL * max(1.0, float(out.max(initial=0.0)))
    inactive = [i for i in range(len(a)) if out[i] <= floor]
    groups: list[list[tuple[int, float]]] = []
    for i in sorted(set(range(len(a))) - set(inactive), key=lambda j: (-out[j], j)):
        for g in groups:
            f = _match(act, W[g[0][0]], W[i])
            if f is not None:
                g.append((i, f))
                break
        else:
            groups.append([(i, 1.0)])
    a_eff, W_eff, members = [], [], []
    for g in sorted(groups, key=lambda g: g[0][0]):
        lead = g[0][0]
        coef = sum(f * a[i] for i, f in g)
        if output_norms([coef], W[lead:lead + 1], activation)[0] <= floor:
            inactive += [i for i, _ in g]
            continue
        a_eff.append(coef)
        W_eff.append(W[lead])
        members.append(tuple(sorted(g)))
    W_eff = np.array(W_eff).reshape(len(W_eff), W.shape[1])
    return Reduction(np.array(a_eff), W_eff, tuple(members), tuple(sorted(inactive)))


def explained_zero_modes(a, W, activation: str, red: Reduction) -> int:
    """Dimension of the tangent space of the critical set that the embedding explains: the
    rescaling ``(c a_i, w_i / c)`` of every active neuron (piecewise-linear family) and one transfer
    of output weight per merged member (inside a group the function only depends on ``a[m]``).

    The flat directions of inactive neurons are *not* counted: there ``dL/da_i`` changes with
    ``w_i`` (and ``dL/dw_i`` with ``a_i`` when ``w_i = 0``), so they do not consist of critical points
    and the second-order test cannot decide (docs/theory.md §7).

    Parameters
    ----------
    a : array_like, shape (n,)
        Outgoing weights of the original network, real and finite.
    W : array_like, shape (n, d)
        Incoming weights of the original network, real and finite.
    activation : str
        A name from ``copyavg.numeric.ACTIVATIONS``.
    red : Reduction
        ``effective_network(a, W, activation)``.

    Returns
    -------
    int
        Rank of the explained directions in ``theta = (a, W row by row)``.

    Raises
    ------
    ValueError
        Unknown activation.

    Examples
    --------
    ReLU neurons along one direction: two rescalings and one transfer of output weight:

    >>> import numpy as np
    >>> a, W = np.array([0.5, 1.0]), np.array([[1.0, 0.0], [0.5, 0.0]])
    >>> explained_zero_modes(a, W, "relu", effective_network(a, W, "relu"))
    3
    """
    act = get_activation(activation)
    a = np.asarray(a, float)
    W = np.asarray(W, float)
    n, d = W.shape
    vecs = []
    for g in red.members:
        for i, _ in g:
            if act.family == "piecewise_linear":
                v = np.zeros(n + n * d)
                v[i] = a[i]
                v[n + i * d:n + (i + 1) * d] = -W[i]
                vecs.append(v)
        lead = g[0][0]
        for i, f in g[1:]:  # a_lead += f x, a_i -= x keeps sum f_j a_j fixed
            v = np.zeros(n + n * d)
            v[lead], v[i] = f, -1.0
            vecs.append(v)
    return int(np.linalg.matrix_rank(np.array(vecs))) if vecs else 0


def endpoint_inertia(H, a, W, activation: str, red: Reduction | None = None) -> Inertia:
    """``hessian_inertia`` (its eigenvalue counts and tolerance) with the zero modes explained by
    :func:`explained_zero_modes` and the type re-decided by the same rule: ``saddle`` (both signs),
    ``degenerate`` (more zero eigenvalues than explained), ``minimum`` / ``maximum`` otherwise.

    Parameters
    ----------
    H : array_like, shape (N, N)
        Hessian at ``(a, W)`` in ``theta = (a, W row by row)``, ``N = n + n d`` (symmetrised by
        ``hessian_inertia``); ``(a, W)`` should be polished to ``max|grad| <= 1e-12``.
    a : array_like, shape (n,)
        Outgoing weights, real and finite.
    W : array_like, shape (n, d)
        Incoming weights, real and finite.
    activation : str
        A name from ``copyavg.numeric.ACTIVATIONS``.
    red : Reduction, optional
        ``effective_network(a, W, activation)``, computed when not given.

    Returns
    -------
    Inertia
        The counts of ``hessian_inertia(H, a, W, activation)`` with ``n_symmetry_zero`` the
        explained zero modes and ``classification`` re-decided from them.

    Raises
    ------
    ValueError
        ``H`` not square, unknown activation, or as :func:`effective_network`.

    Examples
    --------
    A copy of the teacher plus an inactive neuron (``a_1 = 0``): ``hessian_inertia`` counts the
    free ``w_1`` as symmetry zero modes, but those directions are not critical points, so the
    second-order test cannot decide:

    >>> import numpy as np
    >>> from copyavg.numeric import hessian
    >>> from copyavg.numeric.classify import hessian_inertia
    >>> a, W, b, V = np.array([1.0, 0.0]), np.array([[1.0, 0.0], [0.3, 0.4]]), np.ones(1), np.eye(1, 2)
    >>> H = hessian(a, W, b, V, "erf2")
    >>> hessian_inertia(H, a, W, "erf2").classification
    'minimum'
    >>> inert = endpoint_inertia(H, a, W, "erf2")
    >>> inert.n_zero, inert.n_symmetry_zero, inert.classification
    (2, 0, 'degenerate')
    """
    red = effective_network(a, W, activation) if red is None else red
    inert = hessian_inertia(H, a, W, activation)
    zsym = explained_zero_modes(a, W, activation, red)
    if inert.n_negative and inert.n_positive:
        cls = "saddle"
    elif inert.n_zero > zsym:
        cls = "degenerate"
    elif inert.n_negative == 0:
        cls = "minimum"
    else:
        cls = "maximum"
    return dataclasses.replace(inert, n_symmetry_zero=zsym, classification=cls)
