r"""Symmetry blocks of the Hessian at a CA point with several averaging groups (docs/theory.md §8).

Teacher ``v_j = e_j`` (``j < k``), ``b_j = 1``, input dimension ``d >= k``. The CA point of a
partition ``(m_0, ..., m_{n-1})`` of the k teacher neurons has student i averaging its group
``S_i``: ``w_i = t_i u_i``, ``u_i = sum_{j in S_i} e_j / sqrt(m_i)`` (copies: ``m_i = 1``), with
``(a_i, t_i)`` depending on ``m_i`` only. Its Hessian commutes with

* ``S_{m_i}`` inside each group: every weight block restricted to the directions of ``S_i``
  orthogonal to ``u_i`` is a multiple of the identity (teacher terms ``sum_{j in S_i} e_j e_j^T``
  are the identity there, every student is orthogonal to it), so parameter space splits into the
  sectors ``core`` (all ``a_i`` and the weights along ``u_0..u_{n-1}``), ``v[m]`` (weights along one
  direction ``(e_j - e_j') / sqrt 2`` of one group of each size ``m >= 2``; ``m - 1`` equal blocks per
  group) and ``x`` (weights along one unused direction; ``d - k`` equal blocks);
* ``prod_m S_{c_m}``, permuting the ``c_m`` groups of equal size with their students: each sector
  splits further into isotypic components (``copyavg.numeric._sym_partition_basis``).

Each component gives one small block ``B`` (the Hessian in an orthonormal basis of one copy) with
multiplicity ``dim(irrep) * (sector multiplicity)``. Block sizes depend only on the *set* of
group sizes present (and on which ``c_m`` are below 4), not on k, n or d. The blocks are formed from
Hessian-vector products with the basis vectors (``copyavg.numeric.hvp``, exact for the erf family;
the dense ``Problem.hessian``, which also covers the piecewise-linear family at collinear neurons,
for other activations or small sizes), in an input space of ``k + 1`` dimensions (``k`` when
``d = k``): the cost grows with k, the block sizes do not.
"""

from __future__ import annotations

import math

import numpy as np

from . import _sym_partition_basis as pb
from .symmetry import Block, _reduce, _scaled_inertia

__all__ = ["partition_blocks", "partition_spectrum", "partition_classification"]

#: parameter-space size up to which the dense Hessian is formed (beyond: Hessian-vector products)
DENSE_MAX = 3000


def _point(parts, activation, d_eff, point):
    """``(a, W)`` of the CA point (default ``copyavg.numeric.one_neuron.ca_configuration``)."""
    if point is None:
        from .one_neuron import ca_configuration

        a, W, _, _ = ca_configuration(activation, parts, d=d_eff)
        return a, W
    a, W = (np.asarray(x, float) for x in point)
    if a.shape != (len(parts),) or W.ndim != 2 or W.shape[0] != len(parts) or W.shape[1] < sum(parts):
        raise ValueError(f"point must be (a, W) with a of shape ({len(parts)},) and W of shape "
                         f"({len(parts)}, >= {sum(parts)}), got shapes {a.shape}, {W.shape}")
    Wn = np.zeros((len(parts), d_eff))
    Wn[:, :min(W.shape[1], d_eff)] = W[:, :d_eff]
    return a, Wn


def _check_symmetric(parts, a, W, starts) -> None:
    """Students of equal group size must have equal ``a`` and equal signed norm along their ``u``,
    and nothing outside it (the symmetry the blocks rely on)."""
    scale = max(1.0, float(np.max(np.abs(a))), float(np.max(np.abs(W))))
    seen: dict = {}
    for i, m in enumerate(parts):
        u = np.zeros(W.shape[1])
        u[starts[i]:starts[i] + m] = 1.0 / math.sqrt(m)
        t = float(W[i] @ u)
        off = float(np.max(np.abs(W[i] - t * u)))
        ref = seen.setdefault(m, (a[i], t))
        if off > 1e-12 * scale or abs(a[i] - ref[0]) > 1e-12 * scale or abs(t - ref[1]) > 1e-12 * scale:
            raise ValueError(f"point: student {i} (group size {m}) breaks the CA symmetry (weights off its "
                             "group average, or (a, t) different from another group of the same size)")


def _labels(parts, sizes_cls, has_x):
    """Coordinate labels of every sector and the parameter vector of each label."""
    n = len(parts)
    sectors = {"core": [("a", i, None) for i in range(n)] + [("W", i, g) for i in range(n) for g in range(n)]}
    for s, m in sorted(sizes_cls.items(), key=lambda kv: kv[1]):
        if m >= 2:
            sectors[f"v[m={m}]"] = [("W", i, g) for i in range(n) for g in range(n) if parts[g] == m]
    if has_x:
        sectors["x"] = [("W", i, None) for i in range(n)]
    return sectors


def _direction(sector, g, parts, starts, d):
    z = np.zeros(d)
    if sector == "core":
        z[starts[g]:starts[g] + parts[g]] = 1.0 / math.sqrt(parts[g])
    elif sector == "x":
        z[sum(parts)] = 1.0
    else:
        z[starts[g]], z[starts[g] + 1] = math.sqrt(0.5), -math.sqrt(0.5)
    return z


def _embed(sector, labels, coeff, parts, starts, d):
    """Parameter-space vectors (columns) from label coefficients (columns of ``coeff``)."""
    n = len(parts)
    E = np.zeros((n + n * d, len(labels)))
    for r, (kind, i, g) in enumerate(labels):
        if kind == "a":
            E[i, r] = 1.0
        else:
            E[n + i * d:n + (i + 1) * d, r] = _direction(sector, g, parts, starts, d)
    return E @ coeff


def _hessian_apply(problem, a, W):
    """``X -> H X`` (dense Hessian for small sizes or when no exact product exists)."""
    from .hvp import HessianOperator

    N = len(a) * (1 + W.shape[1])
    if N > DENSE_MAX:
        op = HessianOperator(problem, a, W)
        if op.kind == "exact":
            return lambda X: np.stack([op.matvec(X[:, j]) for j in range(X.shape[1])], axis=1)
    H = problem.hessian(a, W)
    return lambda X: H @ X


def partition_blocks(partition, activation: str = "erf2", d: int | None = None, point=None) -> list[Block]:
    """Every symmetry block of the Hessian at the CA point of ``partition``.

    Parameters
    ----------
    partition : str or sequence of int
        Group sizes ``m_i >= 1`` (``k = sum``), e.g. ``"1,1,3,3"``; groups are consecutive.
    activation : str, default "erf2"
        An activation with a one-neuron solution (``copyavg.numeric.one_neuron``) when ``point`` is
        not given, otherwise any activation whose Hessian exists at ``point``.
    d : int, optional
        Input dimension ``>= k`` (default ``k + 1``); enters only the multiplicity of sector ``x``.
    point : tuple (a, W), optional
        The CA point (e.g. ``copyavg.numeric.references.ca_point`` for activations whose groups
        interact); it must have the CA symmetry. Default: the group optima
        (``copyavg.numeric.one_neuron.ca_configuration``).

    Returns
    -------
    list of Block
        ``sector`` (``"core"``, ``"v[m=M]"``, ``"x"``), ``irrep`` (e.g. ``"standard[m=1]"``),
        ``matrix`` and ``multiplicity``; ``sum(multiplicity * len(matrix)) = n + n d``.

    Raises
    ------
    ValueError
        Bad partition or ``d``, an activation without a one-neuron solution (no ``point``), a
        ``point`` without the CA symmetry, or where the Hessian does not exist.

    Examples
    --------
    >>> blocks = partition_blocks("1,1,1,3,3")
    >>> sum(b.multiplicity * len(b.matrix) for b in blocks) == 5 + 5 * 10
    True
    >>> sorted({len(b.matrix) for b in blocks})
    [1, 2, 3, 5, 6, 8]
    """
    from .one_neuron import parse_partition
    from .population import Problem

    parts = parse_partition(partition)
    k, n = sum(parts), len(parts)
    d = k + 1 if d is None else d
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < k:
        raise ValueError(f"d must be an integer >= k = {k}, got {d!r}")
    d_eff = k + 1 if d > k else k
    starts = np.concatenate(([0], np.cumsum(parts)[:-1])).astype(int).tolist()
    a, W = _point(parts, activation, d_eff, point)
    _check_symmetric(parts, a, W, starts)
    sizes = sorted(set(parts))
    cls_of = [sizes.index(m) for m in parts]
    members = {s: [i for i in range(n) if cls_of[i] == s] for s in range(len(sizes))}
    counts = {s: len(v) for s, v in members.items()}
    apply_h = _hessian_apply(Problem(np.ones(k), np.eye(k, d_eff), activation), a, W)
    sector_mult = {"core": 1, "x": d - k, **{f"v[m={m}]": m - 1 for m in sizes}}
    out = []
    for sector, labels in _labels(parts, dict(enumerate(sizes)), d > k).items():
        for irrep in pb.irreps(counts):
            mult = pb.irrep_dim(irrep, counts) * sector_mult[sector]
            coeff = pb.basis(irrep, labels, cls_of, members)
            if mult <= 0 or coeff.shape[1] == 0:
                continue
            U = _embed(sector, labels, coeff, parts, starts, d_eff)
            B = _reduce(U.T @ apply_h(U), U.T @ U)
            if B.size:
                out.append(Block(sector, pb.irrep_name(irrep, dict(enumerate(sizes))), B, int(mult)))
    return out


def partition_spectrum(partition, activation: str = "erf2", d: int | None = None,
                       point=None) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues of the Hessian at the CA point of ``partition`` with their multiplicities.

    Parameters
    ----------
    partition, activation, d, point
        As in :func:`partition_blocks`.

    Returns
    -------
    eigenvalues : ndarray
        Sorted ascending.
    multiplicities : ndarray of int

    Raises
    ------
    ValueError
        As :func:`partition_blocks`.

    Examples
    --------
    >>> lam, mult = partition_spectrum("1,2,2")
    >>> int(mult.sum())   # n + n d = 3 + 3 * 6
    21
    """
    lams, mults = [], []
    for b in partition_blocks(partition, activation, d, point):
        ev = np.linalg.eigvalsh(b.matrix)
        lams.append(ev)
        mults.append(np.full(len(ev), b.multiplicity))
    lam, mult = np.concatenate(lams), np.concatenate(mults)
    order = np.argsort(lam, kind="stable")
    return lam[order], mult[order]


def partition_classification(partition, activation: str = "erf2", d: int | None = None, point=None,
                             rtol: float = 1e-11) -> dict:
    """Inertia and type of the CA point of ``partition`` from its blocks (diagonally scaled
    inertia as ``copyavg.numeric.symmetry.block_classification``; no zero modes discounted).

    Parameters
    ----------
    partition, activation, d, point
        As in :func:`partition_blocks`.
    rtol : float, default 1e-11
        Scaled eigenvalues with ``|mu| <= rtol * max(1, ||D B D||_2)`` count as zero.

    Returns
    -------
    dict
        ``{"n_negative", "n_zero", "n_positive", "eig_min", "eig_max", "classification", "blocks"}``;
        ``blocks`` lists ``{"sector", "irrep", "size", "multiplicity", "eig_min"}``.

    Raises
    ------
    ValueError
        ``rtol`` outside (0, 1), or as :func:`partition_blocks`.

    Examples
    --------
    >>> partition_classification("1,1,3")["classification"]
    'minimum'
    """
    if not 0 < rtol < 1:
        raise ValueError(f"rtol must be in (0, 1), got {rtol}")
    neg = zero = pos = 0
    lo, hi = np.inf, -np.inf
    rows = []
    for b in partition_blocks(partition, activation, d, point):
        bn, bz, bp = _scaled_inertia(b.matrix, rtol)
        neg, zero, pos = neg + bn * b.multiplicity, zero + bz * b.multiplicity, pos + bp * b.multiplicity
        ev = np.linalg.eigvalsh(b.matrix)
        lo, hi = min(lo, float(ev[0])), max(hi, float(ev[-1]))
        rows.append({"sector": b.sector, "irrep": b.irrep, "size": len(b.matrix), "multiplicity": b.multiplicity,
                     "eig_min": float(ev[0])})
    cls = "saddle" if neg and pos else "degenerate" if zero else "minimum" if neg == 0 else "maximum"
    return {"n_negative": neg, "n_zero": zero, "n_positive": pos, "eig_min": lo, "eig_max": hi,
            "classification": cls, "blocks": rows}
