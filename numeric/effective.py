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
    dropped neurons."""

    a: np.ndarray
    W: np.ndarray
    members: tuple
    inactive: tuple

    @property
    def width(self) -> int:
        return len(self.a)

    @property
    def merged(self) -> tuple:
        return tuple(tuple(i for i, _ in g) for g in self.members if len(g) > 1)

    def summary(self) -> dict | None:
        """``{"inactive": [...], "merged": [[i, j, ...], ...]}`` or None when nothing was reduced."""
        if not self.inactive and not self.merged:
            return None
        return {"inactive": list(self.inactive), "merged": [list(g) for g in self.merged]}


def output_norms(a, W, activation: str) -> np.ndarray:
    """``|a_i| sqrt(E[sigma(w_i.x)^2])``: the L2(Gaussian) norm of each neuron's output."""
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
    """Drop inactive neurons, merge duplicated / split ones (see module docstring)."""
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
    and the second-order test cannot decide (docs/theory.md §7)."""
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
    ``degenerate`` (more zero eigenvalues than explained), ``minimum`` / ``maximum`` otherwise."""
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
