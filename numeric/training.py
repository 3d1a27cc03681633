r"""Which parameters are trained: both layers (``train="aW"``, the default) or the first layer only
(``train="W"``, outgoing weights ``a`` held fixed).

The fixed-second-layer models of the literature are the case ``train="W"``: the soft committee
machine (activation ``erf2`` = erf(z/sqrt 2), ``a = b = 1``) and the unit-output-weight ReLU model
(``relu``, ``a = b = 1``). With ``a`` fixed the loss is a function of ``W`` alone; its gradient is
the ``W`` part of the full gradient and its Hessian the ``W``-``W`` block of the full Hessian (in
``theta = (a, W row by row)``: rows and columns ``n .. n + n d - 1``), because fixing ``a`` is a
restriction to an affine subspace of ``theta``.

Exact zero modes of the ``W``-``W`` block from symmetries: only the rows ``w_i`` of neurons with
``a_i = 0`` (they do not enter the loss). The symmetries that move ``a`` (duplicated neurons
sharing their outgoing weight, the rescaling ``(a_i, w_i) -> (c a_i, w_i / c)`` of positively
homogeneous activations, a free ``a_i`` at ``w_i = 0`` for odd activations) are absent when ``a``
is fixed.
"""

from __future__ import annotations

import numpy as np

__all__ = ["TRAIN_MODES", "check_train", "hessian_block", "trained_gradient", "w_symmetry_zero_modes"]

#: ``"aW"``: both layers trained (theta = (a, W row by row)); ``"W"``: first layer only (theta = W row by row)
TRAIN_MODES = ("aW", "W")


def check_train(train) -> str:
    """The train mode, checked.

    Parameters
    ----------
    train : str
        ``"aW"`` (both layers) or ``"W"`` (first layer only, ``a`` fixed).

    Returns
    -------
    str
        ``train`` itself.

    Raises
    ------
    ValueError
        ``train`` is not one of ``TRAIN_MODES``.

    Examples
    --------
    >>> check_train("W")
    'W'
    """
    if not isinstance(train, str) or train not in TRAIN_MODES:
        raise ValueError(f"train must be one of {TRAIN_MODES} ('aW': both layers, 'W': a fixed), got {train!r}")
    return train


def hessian_block(H, n: int, train: str = "aW") -> np.ndarray:
    """The Hessian of the trained parameters from the full Hessian in ``theta = (a, W row by row)``.

    Parameters
    ----------
    H : array_like, shape (n + n d, n + n d)
        Full Hessian (``Problem.hessian``).
    n : int
        Student width, ``1 <= n < len(H)``.
    train : str, default "aW"
        ``"aW"``: ``H`` itself; ``"W"``: the ``W``-``W`` block ``H[n:, n:]`` (a copy).

    Returns
    -------
    ndarray
        Shape ``(n + n d,) * 2`` or ``(n d,) * 2``.

    Raises
    ------
    ValueError
        ``H`` not square, ``n`` out of range, or a bad ``train``.

    Examples
    --------
    >>> import numpy as np
    >>> hessian_block(np.arange(36.0).reshape(6, 6), 2, "W").shape
    (4, 4)
    """
    check_train(train)
    H = np.asarray(H, dtype=float)
    if H.ndim != 2 or H.shape[0] != H.shape[1]:
        raise ValueError(f"H must be a square matrix, got shape {H.shape}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n < H.shape[0]:
        raise ValueError(f"n must be an integer in 1..{H.shape[0] - 1}, got {n!r}")
    return H if train == "aW" else np.array(H[n:, n:])


def trained_gradient(ga, gW, train: str = "aW") -> np.ndarray:
    """The gradient of the trained parameters, flat: ``(ga, gW row by row)`` or ``gW`` row by row.

    Parameters
    ----------
    ga : array_like, shape (n,)
        ``dL/da``.
    gW : array_like, shape (n, d)
        ``dL/dW``.
    train : str, default "aW"
        ``"aW"`` or ``"W"``.

    Returns
    -------
    ndarray, shape (n + n d,) or (n d,)

    Raises
    ------
    ValueError
        A bad ``train``.

    Examples
    --------
    >>> import numpy as np
    >>> trained_gradient(np.zeros(2), np.ones((2, 3)), "W").tolist()
    [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    """
    check_train(train)
    gW = np.asarray(gW, dtype=float).ravel()
    return gW.copy() if train == "W" else np.concatenate((np.asarray(ga, dtype=float), gW))


def w_symmetry_zero_modes(a, d: int) -> int:
    """Exact zero modes of the ``W``-``W`` Hessian block from symmetries: ``d`` per neuron with
    ``a_i = 0`` (see the module docstring).

    Parameters
    ----------
    a : array_like, shape (n,)
        The fixed outgoing weights.
    d : int
        Input dimension.

    Returns
    -------
    int

    Examples
    --------
    >>> w_symmetry_zero_modes([1.0, 0.0, 1.0], 4)
    4
    """
    return int(np.count_nonzero(np.asarray(a, dtype=float) == 0)) * int(d)
