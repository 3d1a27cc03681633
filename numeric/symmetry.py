r"""Symmetry-reduced Hessians of the optimal CA point and the P-n-C point (docs/theory.md §8).

Teacher ``v_j = e_j`` (``j < k``), ``b_j = 1``, input dimension ``d >= k``. Both points have ``N``
"copy" students (CA: ``N = n - 1``, ``w_c = e_c``; P-n-C: ``N = n``,
``w_c = alpha e_c + gamma sum_{c' != c} e_c' + beta sum_{j >= n} e_j``) and the CA point one more,
averaging student. Their Hessian commutes with S_N (copy students permuted with their teacher
directions), with S_M on the ``M = k - N`` averaged teacher directions and with O(d - k) on the
unused ones. Rotating the directions to (copy directions, ``u`` = normalised sum of the averaged
ones, the rest) splits parameter space into three sectors: ``core`` (``a`` and the weights along
copy directions and ``u``), ``xp`` (weights along one direction of the averaged span orthogonal to
``u``; ``M - 1`` equal blocks) and ``x`` (one unused direction; ``d - k`` equal blocks). S_N then
splits each sector into isotypic components of the trivial, standard (dim ``N - 1``), wedge
(``(N-1)(N-2)/2``) and sym2 (``N(N-3)/2``) irreducibles: blocks of size at most 7, multiplicity
``dim(irrep) * sector multiplicity``. The blocks are built from exact Hessian entries on a window
of at most 4 copies (``copyavg.numeric._sym_window``) and integer counts
(``copyavg.numeric._sym_counts``); the dense Hessian is never formed, and the cost does not
depend on k.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._sym_counts import IRREPS, SECTORS, counts, irrep_dim, pattern_coordinates
from ._sym_window import Structure, Window
from .activations import get_activation
from .one_neuron import average_point

__all__ = ["Block", "Structure", "ca_structure", "pnc_structure", "symmetry_blocks", "block_spectrum",
           "block_classification", "symmetry_zero_modes"]


@dataclass(frozen=True)
class Block:
    """One block of the reduced Hessian.

    Attributes
    ----------
    sector : str
        ``"core"``, ``"xp"`` or ``"x"``.
    irrep : str
        ``"trivial"``, ``"standard"``, ``"wedge"`` or ``"sym2"``.
    matrix : ndarray
        Symmetric, in an orthonormal basis of one copy of the component.
    multiplicity : int
        How often each of its eigenvalues occurs in the full Hessian.
    """

    sector: str
    irrep: str
    matrix: np.ndarray
    multiplicity: int


def _check(k, n, d, smooth_activation):
    for name, v in (("k", k), ("n", n)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if n >= k:
        raise ValueError(f"n must be < k (n = {n}, k = {k})")
    d = k + 1 if d is None else d
    if not isinstance(d, (int, np.integer)) or d < k:
        raise ValueError(f"d must be an integer >= k = {k}, got {d!r}")
    act = get_activation(smooth_activation)
    if not (act.smooth or act.family == "piecewise_linear"):
        raise ValueError(f"activation {act.name!r}: the symmetry-reduced Hessian needs a smooth activation "
                         "or the piecewise-linear family (second partials of the kernel at collinear pairs)")
    return int(k), int(n), int(d), act.name


def ca_structure(k: int, n: int, d: int | None = None, activation: str = "erf2") -> Structure:
    """The optimal CA point (n - 1 copies, one student averaging ``m = k - n + 1`` teachers).

    Parameters
    ----------
    k, n : int
        ``1 <= n < k``.
    d : int, optional
        ``>= k`` (default ``k + 1``).
    activation : str, default "erf2"
        An activation with a one-neuron solution and a closed-form kernel: erf family or
        piecewise-linear (relu, leaky_relu, abs).

    Returns
    -------
    Structure

    Raises
    ------
    ValueError
        Bad sizes or an activation neither smooth nor piecewise-linear.

    Examples
    --------
    >>> st = ca_structure(10, 4)
    >>> st.N, st.M, st.extra
    (3, 7, True)
    """
    k, n, d, act = _check(k, n, d, activation)
    m = k - n + 1
    norm, beta = average_point(act, m)
    return Structure(act, k, d, n - 1, 1.0, 0.0, 0.0, 1.0, True, 0.0, norm / math.sqrt(m), float(beta))


def pnc_structure(k: int, n: int, x, d: int | None = None, activation: str = "erf2") -> Structure:
    """The P-n-C family member ``x = (alpha, beta, gamma, c)`` (``copyavg.numeric.pnc``).

    Parameters
    ----------
    k, n : int
        ``1 <= n < k``.
    x : sequence of 4 floats
        ``(alpha, beta, gamma, c)``.
    d : int, optional
        ``>= k`` (default ``k + 1``).
    activation : str, default "erf2"
        Smooth, or piecewise-linear (collinear pairs: weight-space limit).

    Returns
    -------
    Structure

    Raises
    ------
    ValueError
        Bad sizes, ``x`` not 4 finite numbers, or an activation neither smooth nor piecewise-linear.

    Examples
    --------
    >>> pnc_structure(5, 2, [1.0, 0.0, 0.0, 1.0]).N
    2
    """
    k, n, d, act = _check(k, n, d, activation)
    x = np.asarray(x, float)
    if x.shape != (4,) or not np.isfinite(x).all():
        raise ValueError(f"x must be 4 finite numbers (alpha, beta, gamma, c), got {x!r}")
    al, be, ga, c = map(float, x)
    return Structure(act, k, d, n, al, ga, be, c)


def _reduce(M: np.ndarray, G: np.ndarray) -> np.ndarray:
    """The pencil (M, G) as a symmetric matrix in a G-orthonormal basis of range(G)."""
    lam, V = np.linalg.eigh(G)
    keep = lam > 1e-9 * max(1.0, float(lam.max(initial=0.0)))
    T = V[:, keep] / np.sqrt(lam[keep])
    out = T.T @ M @ T
    return 0.5 * (out + out.T)


def _values(window: Window, sector: str, Hw: np.ndarray) -> np.ndarray:
    """Hessian entry of every pattern of ``sector`` (0 where the pattern needs more copies)."""
    pats = pattern_coordinates(sector, window.st.extra)
    h = window.zeros(len(pats))
    for pid, (x, y) in pats.items():
        i, j = window.index.get(x), window.index.get(y)
        if i is not None and j is not None:
            h[pid] = Hw[i, j]
    return h


def _pencils(st: Structure, dps: int | None = None, window: Window | None = None):
    """``(sector, irrep, M, G, multiplicity)`` of every component (``M`` in mpmath when ``dps``,
    in the number type of ``window`` when given)."""
    window = Window(st, dps) if window is None else window
    Hw = window.hessian()
    sector_mult = {"core": 1, "xp": st.M - 1, "x": st.d - st.k}
    for sector in SECTORS:
        if sector_mult[sector] <= 0:
            continue
        h = _values(window, sector, Hw)
        for tau in IRREPS:
            mult = irrep_dim(tau, st.N) * sector_mult[sector]
            if mult <= 0:
                continue
            C, G = counts(sector, tau, st.N, st.extra)
            if C.shape[0]:
                yield sector, tau, np.dot(C, h), G, mult


def symmetry_blocks(st: Structure, window: Window | None = None) -> list[Block]:
    """Every block of the reduced Hessian at the symmetric point ``st``.

    Parameters
    ----------
    st : Structure
        From ``ca_structure`` or ``pnc_structure``.
    window : Window, optional
        A float ``Window(st)`` already built (its Hessian is reused).

    Returns
    -------
    list of Block
        Blocks with a positive multiplicity; ``sum(b.multiplicity * len(b.matrix)) = n + n d``.

    Examples
    --------
    >>> blocks = symmetry_blocks(ca_structure(10, 4))
    >>> sum(b.multiplicity * len(b.matrix) for b in blocks) == 4 + 4 * 11
    True
    """
    out = []
    for sector, tau, M, G, mult in _pencils(st, window=window):
        B = _reduce(M, G)
        if B.size:
            out.append(Block(sector, tau, B, mult))
    return out


def block_spectrum(st: Structure) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues of the full Hessian with their multiplicities, from the blocks.

    Parameters
    ----------
    st : Structure

    Returns
    -------
    eigenvalues : ndarray
        Sorted ascending.
    multiplicities : ndarray of int

    Examples
    --------
    >>> lam, mult = block_spectrum(ca_structure(5, 2))
    >>> int(mult.sum())  # n + n d = 2 + 2 * 6
    14
    """
    lams, mults = [], []
    for b in symmetry_blocks(st):
        ev = np.linalg.eigvalsh(b.matrix)
        lams.append(ev)
        mults.append(np.full(len(ev), b.multiplicity))
    lam, mult = np.concatenate(lams), np.concatenate(mults)
    order = np.argsort(lam)
    return lam[order], mult[order]


def _scaled_inertia(B: np.ndarray, rtol: float) -> tuple[int, int, int]:
    """``(negative, zero, positive)`` eigenvalue counts of ``B`` from ``D B D``,
    ``D = diag(|B_ii|)^(-1/2)`` (a congruence: same inertia, Sylvester), with the zero threshold
    ``rtol * max(1, ||D B D||_2)``."""
    dg = np.abs(np.diag(B))
    D = np.where(dg > 0, 1.0 / np.sqrt(np.where(dg > 0, dg, 1.0)), 1.0)
    mu = np.linalg.eigvalsh(D[:, None] * B * D[None, :])
    tol = rtol * max(1.0, float(np.max(np.abs(mu))))
    neg, pos = int(np.sum(mu < -tol)), int(np.sum(mu > tol))
    return neg, len(mu) - neg - pos, pos


def block_classification(st: Structure, rtol: float = 1e-11, window: Window | None = None) -> dict:
    """Type of the point from the inertia of its blocks.

    Each block's inertia is read off its diagonally scaled form ``D B D`` (same inertia):
    the averaging neuron makes the unscaled blocks badly scaled (``a ~ m``, ``|w| ~ m^(-1/2)``),
    with a smallest eigenvalue near ``1e-21 ||H||`` at ``k = 10^4``, while the scaled smallest
    eigenvalue stays near ``1e-9`` there and agrees with a 40-digit evaluation of the same block
    to ``1e-7`` relative (``tests/test_symmetry.py``). Zero eigenvalues beyond the symmetry zero
    modes (:func:`symmetry_zero_modes`: none for the erf family, one per student for the
    piecewise-linear family) make the point ``"degenerate"``, as for the dense route.

    Parameters
    ----------
    st : Structure
    rtol : float, default 1e-11
        Scaled eigenvalues with ``|mu| <= rtol * max(1, ||D B D||_2)`` count as zero.
    window : Window, optional
        A float ``Window(st)`` already built (its Hessian is reused).

    Returns
    -------
    dict
        ``{"n_negative", "n_zero", "n_positive", "eig_min", "eig_max", "classification"}``
        (counts with multiplicity; ``eig_min``/``eig_max`` unscaled Hessian eigenvalues).

    Raises
    ------
    ValueError
        ``rtol`` outside (0, 1).

    Examples
    --------
    >>> block_classification(ca_structure(10, 9))["classification"]
    'saddle'
    """
    if not 0 < rtol < 1:
        raise ValueError(f"rtol must be in (0, 1), got {rtol}")
    neg = zero = pos = 0
    lo, hi = np.inf, -np.inf
    zsym = symmetry_zero_modes(st)
    for b in symmetry_blocks(st, window):
        bn, bz, bp = _scaled_inertia(b.matrix, rtol)
        neg, zero, pos = neg + bn * b.multiplicity, zero + bz * b.multiplicity, pos + bp * b.multiplicity
        ev = np.linalg.eigvalsh(b.matrix)
        lo, hi = min(lo, float(ev[0])), max(hi, float(ev[-1]))
    cls = "saddle" if neg and pos else "degenerate" if zero > zsym else "minimum" if neg == 0 else "maximum"
    return {"n_negative": neg, "n_zero": zero, "n_positive": pos, "eig_min": lo, "eig_max": hi,
            "classification": cls, "symmetry_zero_modes": zsym}


def symmetry_zero_modes(st: Structure) -> int:
    """Exact zero modes from symmetries, as ``copyavg.numeric.classify.symmetry_zero_modes`` counts
    them at these points: for the piecewise-linear family one per student (positive homogeneity,
    ``(a_i, w_i) -> (a_i / s, s w_i)``; in the core trivial and standard blocks), otherwise none
    (every ``a_i != 0``, no ``w_i`` zero or repeated).

    Parameters
    ----------
    st : Structure

    Returns
    -------
    int

    Examples
    --------
    >>> symmetry_zero_modes(ca_structure(10, 4, activation="relu")), symmetry_zero_modes(ca_structure(10, 4))
    (4, 0)
    """
    if get_activation(st.activation).family != "piecewise_linear":
        return 0
    return st.N + (1 if st.extra else 0)
