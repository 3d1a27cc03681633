"""Classification of critical points by Hessian inertia.

``hessian_inertia(H, ...)`` counts negative / zero / positive eigenvalues with the tolerance
``tol = rtol * max(1, ||H||_2)`` (default ``rtol = 1e-11``): the eigenvalues of a float64 Hessian
are backward stable, accurate to about ``sqrt(N) eps ||H|| <= 1e-13 ||H||`` for N <= 1e4 (Weyl), so
1e-11 leaves a margin of 100 while still resolving the smallest genuine eigenvalues the paper's
settings produce (about 3e-10 ||H|| at k = 50: the mode that moves weight between |w| and a of
the averaging neuron). The point must be critical to ``max|grad| <= 1e-12`` (polished) for the
eigenvalues to be those of the critical point.

Exact zero modes from symmetries are counted separately (``symmetry_zero_modes``): a neuron with
``a_i = 0`` (its ``w_i`` is free: d modes), with ``w_i = 0`` for an odd activation (``a_i`` free),
positive homogeneity of the piecewise-linear family (``(a_i, w_i) -> (c a_i, w_i / c)``), and
duplicated neurons (output weight can move between them). A point is a ``minimum`` when no
eigenvalue is negative and every zero eigenvalue is explained by a symmetry, a ``saddle`` when
eigenvalues of both signs exist, a ``maximum`` when none is positive and zeros are explained, and
``degenerate`` otherwise (semi-definite with unexplained flat directions: the second-order test
cannot decide).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .activations import get_activation
from .training import check_train, w_symmetry_zero_modes


@dataclass(frozen=True)
class Inertia:
    """Eigenvalue counts of a Hessian with the tolerance used, and the resulting type
    (``minimum``, ``saddle``, ``maximum`` or ``degenerate``); see ``hessian_inertia``.

    Attributes
    ----------
    n_negative, n_zero, n_positive : int
        Eigenvalues below ``-tol``, in ``[-tol, tol]`` and above ``tol``; they sum to ``N``.
    n_symmetry_zero : int
        Zero modes explained by symmetries (``symmetry_zero_modes``, or
        ``copyavg.numeric.effective.explained_zero_modes`` for ``endpoint_inertia``).
    eig_min, eig_max : float
        Smallest and largest eigenvalue.
    tol : float
        ``rtol * max(1, ||H||_2)``, the threshold for a zero eigenvalue.
    classification : str
        ``"minimum"``, ``"saddle"``, ``"maximum"`` or ``"degenerate"``.

    Examples
    --------
    >>> import numpy as np
    >>> from copyavg.numeric import hessian
    >>> b, V = np.ones(2), np.eye(2, 3)
    >>> inert = hessian_inertia(hessian(b, V, b, V, "erf2"), b, V, "erf2")  # the teacher itself
    >>> inert.n_negative, inert.n_zero, inert.n_positive, inert.classification
    (0, 0, 8, 'minimum')
    """

    n_negative: int
    n_zero: int
    n_positive: int
    n_symmetry_zero: int
    eig_min: float
    eig_max: float
    tol: float
    classification: str


def symmetry_zero_modes(a, W, activation: str) -> int:
    """Dimension of the span of the exact symmetry directions at (a, W) (see module docstring).

    Parameters
    ----------
    a : array_like, shape (n,)
    W : array_like, shape (n, d)
    activation : str
        A name from ``copyavg.numeric.ACTIVATIONS``.

    Returns
    -------
    int
        Number of independent exact zero modes of the Hessian explained by symmetries.

    Examples
    --------
    >>> import numpy as np
    >>> symmetry_zero_modes(np.array([0.0, 1.0]), np.eye(2, 3), "erf2")  # a_0 = 0: w_0 is free
    3
    """
    act = get_activation(activation)
    a = np.asarray(a, float)
    W = np.asarray(W, float)
    n, d = W.shape
    N = n + n * d
    vecs = []
    for i in range(n):
        if a[i] == 0:
            for e in range(d):
                v = np.zeros(N)
                v[n + i * d + e] = 1.0
                vecs.append(v)
        if act.odd and not np.any(W[i]):
            v = np.zeros(N)
            v[i] = 1.0
            vecs.append(v)
        if act.family == "piecewise_linear":
            v = np.zeros(N)
            v[i] = a[i]
            v[n + i * d:n + (i + 1) * d] = -W[i]
            if np.any(v):
                vecs.append(v)
    for i in range(n):
        for l in range(i + 1, n):
            if np.array_equal(W[i], W[l]):
                v = np.zeros(N)
                v[i], v[l] = 1.0, -1.0
                vecs.append(v)
    if not vecs:
        return 0
    return int(np.linalg.matrix_rank(np.array(vecs)))


def hessian_inertia(H, a, W, activation: str, rtol: float = 1e-11, train: str = "aW") -> Inertia:
    """Inertia of the Hessian ``H`` at ``(a, W)`` and the type of the critical point.

    Parameters
    ----------
    H : array_like, shape (N, N)
        Hessian in ``theta = (a, W row by row)`` (symmetrised here).
    a, W : array_like
        The point (for the symmetry zero modes).
    activation : str
        A name from ``copyavg.numeric.ACTIVATIONS``.
    rtol : float, default 1e-11
        Eigenvalues with ``|lambda| <= rtol * max(1, ||H||_2)`` count as zero; ``0 < rtol < 1``.
    train : str, default "aW"
        ``"aW"``: ``H`` is the full Hessian; ``"W"``: ``H`` is the ``W``-``W`` block (``a``
        fixed, ``copyavg.numeric.training.hessian_block``), shape ``(n d, n d)``, and the symmetry
        zero modes are those of ``copyavg.numeric.training.w_symmetry_zero_modes``.

    Returns
    -------
    Inertia

    Raises
    ------
    ValueError
        ``H`` not square or not of the size ``train`` implies, ``rtol`` outside (0, 1), or a bad
        ``train``.

    Examples
    --------
    >>> import numpy as np
    >>> from copyavg.numeric import hessian
    >>> b, V = np.ones(2), np.eye(2, 3)
    >>> hessian_inertia(hessian(b, V, b, V, "erf2"), b, V, "erf2").classification  # the teacher
    'minimum'
    >>> hessian_inertia(hessian(b, V, b, V, "erf2")[2:, 2:], b, V, "erf2", train="W").n_positive
    6
    """
    H = np.asarray(H, float)
    if H.ndim != 2 or H.shape[0] != H.shape[1]:
        raise ValueError(f"H must be a square matrix, got shape {H.shape}")
    if not (0 < rtol < 1):
        raise ValueError(f"rtol must be in (0, 1), got {rtol}")
    check_train(train)
    n, d = np.shape(W)
    if H.shape[0] != (n * d if train == "W" else n + n * d):
        raise ValueError(f"H must have size {'n d' if train == 'W' else 'n + n d'} for train={train!r} "
                         f"(n = {n}, d = {d}), got {H.shape[0]}")
    lam = np.linalg.eigvalsh(0.5 * (H + H.T))
    scale = max(1.0, float(np.max(np.abs(lam))))
    tol = rtol * scale
    neg = int(np.sum(lam < -tol))
    pos = int(np.sum(lam > tol))
    zero = len(lam) - neg - pos
    zsym = symmetry_zero_modes(a, W, activation) if train == "aW" else w_symmetry_zero_modes(a, d)
    if neg and pos:
        cls = "saddle"
    elif zero > zsym:
        cls = "degenerate"
    elif neg == 0:
        cls = "minimum"
    else:
        cls = "maximum"
    return Inertia(neg, zero, pos, zsym, float(lam[0]), float(lam[-1]), tol, cls)
