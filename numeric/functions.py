"""The free functions of ``copyavg.numeric``: ``loss``, ``gradient``, ``loss_and_gradient``,
``hessian`` of ``(a, W, b, V)``, through a small cache of ``Problem`` objects (one per recent
teacher), so repeated calls with the same teacher skip its validation and teacher-only terms.

Accepted range and accuracy: see ``copyavg.numeric.population``.
"""

from __future__ import annotations

import numpy as np

from .population import Problem

_CACHE: list[Problem] = []
_CACHE_SIZE = 4


def problem_for(b, V, activation: str = "erf2") -> Problem:
    """A cached ``Problem`` for this teacher.

    Reused when ``b``, ``V`` and ``activation`` equal a recent call's (compared by value, so
    in-place changes to ``V`` are seen); otherwise a new ``Problem`` (same parameters and errors).

    Parameters
    ----------
    b : array_like, shape (k,)
        Teacher outgoing weights, real, ``|b_j| <= 1e150``.
    V : array_like, shape (k, d)
        Teacher incoming weights (rows ``v_j``), real; ``|v_j| <=`` the family's limit: 1e75
        (erf, normal_cdf), 1e150 (piecewise-linear), 1e6 (hermite, gaussian, monomial, gelu), 16 (sin, cos).
    activation : str, default "erf2"
        A name from ``copyavg.numeric.ACTIVATIONS``.

    Returns
    -------
    Problem
        Shared with other callers: treat it as read-only.

    Raises
    ------
    ValueError
        As ``Problem``: wrong shapes, non-real or non-finite entries, values outside the accepted
        range, or an unknown activation.

    Examples
    --------
    >>> import numpy as np
    >>> problem_for(np.ones(2), np.eye(2, 3)) is problem_for(np.ones(2), np.eye(2, 3))
    True
    """
    if isinstance(V, np.ndarray) and isinstance(b, np.ndarray):
        for P in _CACHE:  # compare by value before any validation: the common, fast path
            if (P.activation.name == activation and P.V.shape == V.shape and P.b.shape == b.shape
                    and np.array_equal(P.V, V) and np.array_equal(P.b, b)):
                return P
    P = Problem(b, V, activation)
    _CACHE.insert(0, P)
    del _CACHE[_CACHE_SIZE:]
    return P


_FREE_DOC = """

    Parameters
    ----------
    a : array_like, shape (n,)
        Student outgoing weights, real, ``|a_i| <= 1e150``.
    W : array_like, shape (n, d)
        Student incoming weights (rows ``w_i``): ``|w_i| <= 1e75`` (erf family) or ``<= 1e150``
        (piecewise-linear family, any small norm; only a zero row is ``w = 0``).
    b : array_like, shape (k,)
        Teacher outgoing weights, ``|b_j| <= 1e150``.
    V : array_like, shape (k, d)
        Teacher incoming weights, norms as for ``W``.
    activation : str, default "erf2"
        A name from ``copyavg.numeric.ACTIVATIONS``.

    The loss scale ``S = sum_i |a_i| |sigma(w_i.x)|_2 + sum_j |b_j| |sigma(v_j.x)|_2`` must be
    ``<= 1e150``. Results agree with ``copyavg.numeric.mp`` to relative 1e-9 of their scale
    (``copyavg.numeric.population``).
"""

_RAISES = """
    Raises
    ------
    ValueError
        Bad shapes, complex or non-finite entries, input outside the accepted range, unknown
        activation (the message names the argument); ``NonDifferentiableError`` (a ValueError)
        where the derivative asked for does not exist.
"""


def loss(a, W, b, V, activation: str = "erf2") -> float:
    """Exact population loss ``E_x[(f(x) - f*(x))^2]`` (no 1/2), ``x ~ N(0, I_d)``.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> round(loss(np.ones(1), np.eye(1, 2), np.ones(1), np.eye(1, 2), "erf2"), 15)
    0.0
    """
    return problem_for(b, V, activation).loss(a, W)


def gradient(a, W, b, V, activation: str = "erf2"):
    """``(dL/da, dL/dW)``, same shapes as ``a`` and ``W``.

    Returns
    -------
    ga : ndarray, shape (n,)
    gW : ndarray, shape (n, d)

    Examples
    --------
    >>> import numpy as np
    >>> ga, gW = gradient(np.ones(1), [[1e-90, 0, 0]], np.ones(1), [[0, 1.0, 0]], "relu")
    >>> np.round(gW, 4).tolist()  # a tiny but non-zero w: -(1/pi, 1/2, 0)
    [[-0.3183, -0.5, 0.0]]
    """
    return problem_for(b, V, activation).gradient(a, W)


def loss_and_gradient(a, W, b, V, activation: str = "erf2"):
    """``(L, dL/da, dL/dW)`` in one pass.

    Returns
    -------
    L : float
    ga : ndarray, shape (n,)
    gW : ndarray, shape (n, d)

    Examples
    --------
    >>> import numpy as np
    >>> L, ga, gW = loss_and_gradient(np.zeros(1), np.eye(1, 2), np.ones(1), np.eye(1, 2), "linear")
    >>> float(L), ga.tolist(), np.abs(gW).tolist()  # L = |a w - v|^2 at a = 0
    (1.0, [-2.0], [[0.0, 0.0]])
    """
    return problem_for(b, V, activation).loss_and_gradient(a, W)


def hessian(a, W, b, V, activation: str = "erf2") -> np.ndarray:
    """Hessian in ``theta = (a, W row by row)``: shape ``(n + n d, n + n d)``.

    Returns
    -------
    ndarray, shape (n + n d, n + n d)

    Examples
    --------
    >>> import numpy as np
    >>> H = hessian(np.ones(2), np.eye(2, 3), np.ones(2), np.eye(2, 3), "erf2")
    >>> H.shape, bool(np.allclose(H, H.T))
    ((8, 8), True)
    """
    return problem_for(b, V, activation).hessian(a, W)


for _f in (loss, gradient, loss_and_gradient, hessian):  # shared sections, in numpydoc order
    _head, _sep, _rest = _f.__doc__.partition("\n\n    Returns")
    _returns, _sep, _examples = _rest.partition("\n    Examples")
    _f.__doc__ = _head + _FREE_DOC + "\n    Returns" + _returns + _RAISES + "\n    Examples" + _examples
del _f, _head, _sep, _rest, _returns, _examples
