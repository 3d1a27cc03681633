"""Isotypic bases of the symmetric group S_N on the coordinates of a symmetric point, and the
integer counts that turn window Hessian entries into block matrices.

Coordinates (``copyavg.numeric._sym_window``): ``('a', s)``, ``('W', s, e)`` with ``s`` a copy
index or ``'E'`` and ``e`` a copy index, ``'u'`` (sector ``core``), ``'xp'`` or ``'x'`` (sectors
``xp``, ``x``: one direction of each of the other two invariant direction spaces; all such
directions give the same block). S_N permutes copy indices (students and directions together).
A Hessian entry depends only on the *pattern* of its pair of coordinates: the labels with copy
indices renamed in order of first appearance. For an irreducible type ``tau`` with basis vectors
``u_alpha`` (one vector per copy of ``tau``, all built from the same vector of ``tau``), the block
is the pencil ``(M, G)`` with ``M_ab = u_a^T H u_b = sum_p C_ab,p(N) h_p`` and ``G_ab = u_a^T u_b``:
``C`` counts coordinate pairs of pattern ``p`` weighted by the basis entries (integers). For
``N >= 4`` every count is a polynomial in ``N`` of degree <= 5; we fit it exactly (rationals) on
``N = 4..9``, check it at ``N = 10, 11`` and evaluate it at any ``N``; smaller ``N`` are counted
directly.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

import numpy as np

SECTORS = ("core", "xp", "x")
IRREPS = ("trivial", "standard", "wedge", "sym2")
_FIT = tuple(range(4, 10))
_CHECK = (10, 11)
_DIRECT_MAX = 11
_BIG = 10 ** 4  # beyond: rational evaluation (the integer route overflows int64 near N ~ 5e4)


def irrep_dim(tau: str, N: int) -> int:
    """Dimension of the S_N irreducible: trivial 1, standard N-1, wedge (N-1)(N-2)/2, sym2 N(N-3)/2."""
    return {"trivial": 1, "standard": N - 1, "wedge": (N - 1) * (N - 2) // 2,
            "sym2": N * (N - 3) // 2}[tau] if N >= {"trivial": 0, "standard": 2, "wedge": 3, "sym2": 4}[tau] else 0


def coordinates(sector: str, N: int, extra: bool) -> list[tuple]:
    """The coordinates of one sector for N copies (and the extra student)."""
    students = list(range(N)) + (["E"] if extra else [])
    if sector == "core":
        dirs = list(range(N)) + ["u"]
        return [("a", s) for s in students] + [("W", s, e) for s in students for e in dirs]
    return [("W", s, sector) for s in students]


def canonical(*labels) -> tuple:
    """Labels with copy indices renamed 0, 1, ... in order of first appearance."""
    ren: dict[int, int] = {}
    out = []
    for lab in labels:
        out.append(tuple(ren.setdefault(x, len(ren)) if isinstance(x, int) else x for x in lab))
    return tuple(out)


def _copy_ints(c) -> list[int]:
    return [x for x in c if isinstance(x, int)]


def _basis(tau: str, coords, N: int) -> np.ndarray:
    """Columns: one basis vector per copy of ``tau`` in the span of ``coords``."""
    orbits: dict[tuple, list[int]] = {}
    for i, c in enumerate(coords):
        orbits.setdefault(canonical(c)[0], []).append(i)
    x = np.zeros(N)
    if N >= 2:
        x[0], x[1] = 1.0, -1.0
    Z = np.zeros((N, N))
    if tau == "wedge" and N >= 3:
        for i, j in ((0, 1), (1, 2), (2, 0)):
            Z[i, j], Z[j, i] = 1.0, -1.0
    if tau == "sym2" and N >= 4:
        for i, j, s in ((0, 1, 1), (2, 3, 1), (0, 2, -1), (1, 3, -1)):
            Z[i, j] = Z[j, i] = s
    cols = []
    for key, members in orbits.items():
        nint = len(set(_copy_ints(key)))
        if tau == "trivial":
            cols.append([(i, 1.0) for i in members])
        elif tau == "standard":
            for pos in range(nint):
                cols.append([(i, x[sorted(set(_copy_ints(coords[i])), key=_copy_ints(coords[i]).index)[pos]])
                             for i in members])
        elif nint == 2:
            cols.append([(i, Z[_copy_ints(coords[i])[0], _copy_ints(coords[i])[-1]]) for i in members])
    U = np.zeros((len(coords), len(cols)))
    for j, col in enumerate(cols):
        for i, v in col:
            U[i, j] = v
    return U


@lru_cache(maxsize=None)
def _patterns(sector: str, extra: bool) -> dict:
    """Pattern key -> id, for every pattern that occurs up to the largest N counted."""
    ids: dict = {}
    coords = coordinates(sector, _DIRECT_MAX, extra)
    for x in coords:
        for y in coords:
            ids.setdefault(canonical(x, y), len(ids))
    return ids


@lru_cache(maxsize=None)
def _pattern_ids(sector: str, N: int, extra: bool) -> np.ndarray:
    """Pattern id of every coordinate pair at this N (flattened)."""
    ids = _patterns(sector, extra)
    coords = coordinates(sector, N, extra)
    return np.array([[ids[canonical(x, y)] for y in coords] for x in coords], dtype=np.int64).ravel()


@lru_cache(maxsize=None)
def direct_counts(sector: str, tau: str, N: int, extra: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(C, G)`` counted at this N: ``C`` of shape (nb, nb, patterns), ``G`` of shape (nb, nb)."""
    ids = _patterns(sector, extra)
    coords = coordinates(sector, N, extra)
    U = _basis(tau, coords, N)
    pid = _pattern_ids(sector, N, extra)
    nb = U.shape[1]
    C = np.zeros((nb, nb, len(ids)))
    for a in range(nb):
        for b in range(nb):
            C[a, b] = np.bincount(pid, weights=np.outer(U[:, a], U[:, b]).ravel(), minlength=len(ids))
    return C, U.T @ U


@lru_cache(maxsize=None)
def _fit_tables(sector: str, tau: str, extra: bool):
    """For C and G: shape, nonzero positions and the integer values there at the fit points;
    checked to be polynomial (degree <= 5) at the check points."""
    tabs = [direct_counts(sector, tau, N, extra) for N in _FIT]
    out = []
    for idx in (0, 1):
        ys = np.stack([t[idx] for t in tabs])
        nz = np.nonzero(np.any(ys != 0, axis=0))
        vals = [[int(v) for v in ys[(i, *nz)]] for i in range(len(_FIT))]
        out.append((ys.shape[1:], nz, vals))
        for Nc in _CHECK:
            got = direct_counts(sector, tau, Nc, extra)[idx]
            w, den = _weights(Nc)
            pred = np.zeros(got.shape)
            pred[nz] = [sum(wi * v[j] for wi, v in zip(w, vals)) / den for j in range(len(nz[0]))]
            if not np.array_equal(pred, got):
                raise AssertionError(f"counts {sector}/{tau} are not polynomials of degree <= 5 in N")
    return out


@lru_cache(maxsize=64)
def _weights(N: int) -> tuple[list[int], int]:
    """Lagrange weights on the fit points at N, as integers over a common denominator."""
    ells = []
    for i, xi in enumerate(_FIT):
        term = Fraction(1)
        for j, xj in enumerate(_FIT):
            if j != i:
                term *= Fraction(N - xj, xi - xj)
        ells.append(term)
    den = 1
    for e in ells:
        den = den * e.denominator // np.gcd(den, e.denominator)
    return [int(e * den) for e in ells], den  # den divides every sum below: counts are integers


@lru_cache(maxsize=256)
def counts(sector: str, tau: str, N: int, extra: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(C, G)`` at any N (direct for small N, the exact polynomial beyond, in integers); a
    non-integer real ``N >= 4`` evaluates the same polynomials in floating point (the continuation
    of the blocks to real group sizes, ``copyavg.numeric.thresholds_continuous``)."""
    if float(N) != int(N) or N > _BIG:
        return _counts_real(sector, tau, float(N), extra)
    N = int(N)
    if N <= _DIRECT_MAX:
        return direct_counts(sector, tau, N, extra)
    w, den = _weights(N)
    out = []
    for shape, nz, vals in _fit_tables(sector, tau, extra):
        res = np.zeros(shape)
        tot = [sum(wi * v[j] for wi, v in zip(w, vals)) for j in range(len(nz[0]))]
        res[nz] = [t // den for t in tot]  # exact: every count is an integer
        out.append(res)
    return out[0], out[1]


def _counts_real(sector: str, tau: str, N: float, extra: bool) -> tuple[np.ndarray, np.ndarray]:
    """The count polynomials (exact on integers ``N >= 4``) at a real ``N >= 4``: exact rational
    evaluation at the binary value of ``N``, rounded once to float."""
    if not N >= _FIT[0]:
        raise ValueError(f"N must be >= {_FIT[0]} for real group sizes, got {N!r}")
    x = Fraction(N)  # exact: the Lagrange weights at N ~ 1e4 are ~1e17 and cancel
    ell = []
    for xi in _FIT:
        term = Fraction(1)
        for xj in _FIT:
            if xj != xi:
                term *= (x - xj) / (xi - xj)
        ell.append(term)
    out = []
    for shape, nz, vals in _fit_tables(sector, tau, extra):
        res = np.zeros(shape)
        res[nz] = [float(sum(e * v[j] for e, v in zip(ell, vals))) for j in range(len(nz[0]))]
        out.append(res)
    return out[0], out[1]


def orbit_keys(sector: str, N: int, extra: bool) -> list[tuple]:
    """The coordinate orbits (canonical keys) in the order of the trivial basis vectors."""
    keys: dict = {}
    for c in coordinates(sector, min(N, 3), extra):  # every orbit already occurs with 3 copies
        keys.setdefault(canonical(c)[0], None)
    return list(keys)


def pattern_coordinates(sector: str, extra: bool) -> dict:
    """Pattern id -> the pair of window coordinates (copy indices < 4) that realises it."""
    return {pid: key for key, pid in _patterns(sector, extra).items()}


def symbolic_counts(sector: str, tau: str, extra: bool) -> tuple[dict, dict]:
    """The counts as SymPy polynomials in ``N`` (valid for ``N >= 4``): ``({(a, b, pattern id):
    C_ab,p(N)}, {(a, b): G_ab(N)})``, nonzero entries only; the blocks at symbolic ``n``."""
    import sympy

    N = sympy.Symbol("N", integer=True, positive=True)
    (_, nzC, valC), (_, nzG, valG) = _fit_tables(sector, tau, extra)
    out = []
    for nz, vals in ((nzC, valC), (nzG, valG)):
        polys = {}
        for j, pos in enumerate(zip(*nz)):
            pts = [(x, v[j]) for x, v in zip(_FIT, vals)]
            polys[tuple(int(p) for p in pos)] = sympy.expand(sympy.interpolate(pts, N))
        out.append(polys)
    return out[0], out[1]
