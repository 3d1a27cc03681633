r"""Isotypic bases for CA points with several averaging groups (``copyavg.numeric.symmetry_partition``).

Students ``i = 0..n-1`` average groups ``S_i`` of sizes ``m_i``; students with equal ``m`` form a
*class* ``s`` of ``c_s`` members. The group ``G = prod_s S_{c_s}`` permutes the students of each class
together with their groups. A coordinate is a label ``(kind, i, g)``: ``('a', i, None)``,
``('W', i, g)`` (weight of student i along a direction attached to group g) or ``('W', i, None)``
(an unused direction). Its *key* renames every index to ``(class, rank of first appearance within
its class)``; coordinates with the same key form one G-orbit.

The irreducibles of G met by labels with at most two indices are: the trivial one, ``standard_s``
(dim ``c_s - 1``), ``wedge_s`` (``(c_s-1)(c_s-2)/2``), ``sym2_s`` (``c_s(c_s-3)/2``) and
``standard_s x standard_t`` (``(c_s-1)(c_t-1)``, ``s != t``). For each we fix one vector of the
irreducible (``x_s = e_first - e_second`` of class s; the antisymmetric 3-cycle and the symmetric
4-cycle matrices ``Z_s``) and build one basis vector per G-equivariant map from a permutation module
of indices into the orbit (one per distinct class-s rank of the key, etc.): all are images of the
same vector, so the Hessian's restriction is the pencil ``(U^T H U, U^T U)``; ``U^T U`` may be
singular (dependent maps), handled by the caller.
"""

from __future__ import annotations

import numpy as np


def irreps(counts: dict) -> list[tuple]:
    """The irreducible types present, as tuples: ``("trivial",)``, ``("standard", s)``,
    ``("wedge", s)``, ``("sym2", s)``, ``("standard2", s, t)``; ``counts`` maps class to ``c_s``."""
    out = [("trivial",)]
    cls = sorted(counts)
    for s in cls:
        c = counts[s]
        out += [(tau, s) for tau, lo in (("standard", 2), ("wedge", 3), ("sym2", 4)) if c >= lo]
    out += [("standard2", s, t) for i, s in enumerate(cls) for t in cls[i + 1:] if counts[s] >= 2 and counts[t] >= 2]
    return out


def irrep_dim(irrep: tuple, counts: dict) -> int:
    """Dimension of an irreducible of ``prod_s S_{c_s}`` (0 if it does not exist)."""
    tau = irrep[0]
    if tau == "trivial":
        return 1
    c = counts[irrep[1]]
    if tau == "standard":
        return max(c - 1, 0)
    if tau == "wedge":
        return (c - 1) * (c - 2) // 2 if c >= 3 else 0
    if tau == "sym2":
        return c * (c - 3) // 2 if c >= 4 else 0
    return max(c - 1, 0) * max(counts[irrep[2]] - 1, 0)


def irrep_name(irrep: tuple, sizes: dict) -> str:
    """Readable name, classes shown by their group size, e.g. ``standard[m=1]x standard[m=3]``."""
    if irrep[0] == "trivial":
        return "trivial"
    if irrep[0] == "standard2":
        return f"standard[m={sizes[irrep[1]]}] x standard[m={sizes[irrep[2]]}]"
    return f"{irrep[0]}[m={sizes[irrep[1]]}]"


def _indices(label) -> list[int]:
    return [x for x in label[1:] if x is not None]


def key(label, cls_of) -> tuple:
    """The orbit key of a label: indices renamed ``(class, rank within the class)``."""
    ranks: dict = {}
    counters: dict = {}
    out = [label[0]]
    for x in label[1:]:
        if x is None:
            out.append(None)
            continue
        if x not in ranks:
            s = cls_of[x]
            ranks[x] = (s, counters.get(s, 0))
            counters[s] = counters.get(s, 0) + 1
        out.append(ranks[x])
    return tuple(out)


def _templates(members: dict, n: int):
    """``x_s`` (standard), ``W_s`` (wedge) and ``Y_s`` (sym2) templates on the student indices."""
    xs, wedge, sym2 = {}, {}, {}
    for s, mem in members.items():
        x = np.zeros(n)
        if len(mem) >= 2:
            x[mem[0]], x[mem[1]] = 1.0, -1.0
        xs[s] = x
        Z = np.zeros((n, n))
        if len(mem) >= 3:
            for i, j in ((0, 1), (1, 2), (2, 0)):
                Z[mem[i], mem[j]], Z[mem[j], mem[i]] = 1.0, -1.0
        wedge[s] = Z
        Y = np.zeros((n, n))
        if len(mem) >= 4:
            for i, j, v in ((0, 1, 1.0), (2, 3, 1.0), (0, 2, -1.0), (1, 3, -1.0)):
                Y[mem[i], mem[j]] = Y[mem[j], mem[i]] = v
        sym2[s] = Y
    return xs, wedge, sym2


def _by_rank(label, cls_of, s) -> list[int]:
    """The distinct class-s indices of a label in order of first appearance."""
    out = []
    for x in _indices(label):
        if cls_of[x] == s and x not in out:
            out.append(x)
    return out


def _weights(irrep: tuple, lab, cls_of, tpl) -> list[float]:
    """The label's coefficient in each basis vector its orbit contributes (one per equivariant map)."""
    xs, wedge, sym2 = tpl
    tau = irrep[0]
    if tau == "trivial":
        return [1.0]
    if tau == "standard":
        return [xs[irrep[1]][x] for x in _by_rank(lab, cls_of, irrep[1])]
    if tau in ("wedge", "sym2"):
        r = _by_rank(lab, cls_of, irrep[1])
        return [(wedge if tau == "wedge" else sym2)[irrep[1]][r[0], r[1]]] if len(r) == 2 else []
    s, t = irrep[1], irrep[2]
    return [xs[s][x] * xs[t][y] for x in _by_rank(lab, cls_of, s) for y in _by_rank(lab, cls_of, t)]


def basis(irrep: tuple, labels: list, cls_of: list, members: dict) -> np.ndarray:
    """Coefficients (rows: labels, columns: basis vectors) of one copy of ``irrep`` per equivariant
    map (columns that vanish, e.g. a class too small for the template, are dropped)."""
    tpl = _templates(members, len(cls_of))
    orbits: dict = {}
    for r, lab in enumerate(labels):
        orbits.setdefault(key(lab, cls_of), []).append(r)
    cols = []
    for rows in orbits.values():
        w = np.array([_weights(irrep, labels[r], cls_of, tpl) for r in rows])  # (members, maps)
        for j in range(w.shape[1] if w.ndim == 2 else 0):
            col = np.zeros(len(labels))
            col[rows] = w[:, j]
            if np.any(col):
                cols.append(col)
    return np.stack(cols, axis=1) if cols else np.zeros((len(labels), 0))
