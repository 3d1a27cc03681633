r"""Weight-space second derivatives of the piecewise-linear pair kernel, finite at collinear vectors.

For ``sigma(z) = alpha min(z, 0) + beta max(z, 0)`` the kernel is ``g(w, v) = |w| |v| H(theta)``
(``theta`` the angle between w and v). Its second partials in ``(C11, C22, C12)`` are infinite at
collinear vectors (``pair_kernel(..., order=2)`` reports ``inf`` there), and near them the
chain-rule Hessian is a difference of terms of size ``1/sin(theta)`` that cancel. In weight space
the blocks are (``copyavg.symbolic.angular``, certificate ``collinear-hessian:NAME``;
``docs/theory.md``)

    d2g/dw dw^T = (s/r) [ A (I - w^ w^^T) - K' sin(theta) e e^T ]
    d2g/dw dv^T = K I + A w^ v^^T - K' sin(theta) e e'^T,     e' = sin(theta) w^ - cos(theta) e,

with ``r = |w|``, ``s = |v|``, unit vectors ``w^``, ``v^``, ``e`` the unit vector along the part of
``v^`` orthogonal to ``w^``, and the generated angular coefficients ``(A, K, K')(theta)``
(``NAME_angular``, entire functions). At ``theta = 0`` or ``pi`` the ``e``-terms vanish, so the
blocks are continuous and the loss is twice differentiable there (away from ``w = 0``).

Numerically: the part ``u = v^ - (w^.v^) w^`` of ``v^`` orthogonal to ``w^`` is computed by
projection (absolute error ~ machine epsilon), ``theta = atan2(|u|, w^.v^)`` (absolute error ~
epsilon at every angle, unlike ``acos``), ``e = u/|u|``, and ``e`` enters only multiplied by
``sin(theta)``, so every block has absolute error of order epsilon times its scale, uniformly up
to and including collinear vectors. NumPy only.
"""

from __future__ import annotations

import numpy as np

from ._generated_kernels import ANGULAR
from .activations import get_activation

__all__ = ["pair_geometry", "pair_weight_hessian", "student_block_hessian"]


def _unit_rows(X):
    nrm = np.linalg.norm(X, axis=1)
    return X / np.where(nrm > 0, nrm, 1.0)[:, None], nrm


def pair_geometry(W, Y):
    """For every pair (student row i of W, row m of Y): ``(w^, r, y^, s, theta, e)``.

    Parameters
    ----------
    W : ndarray, shape (n, d)
        Student incoming weights (rows ``w_i``), real and finite; zero rows are allowed.
    Y : ndarray, shape (M, d)
        The vectors to pair with (``copyavg`` passes ``Y = [W; V]``, students first), real and
        finite; zero rows are allowed. Neither array is validated here (the callers do).

    Returns
    -------
    Wh : ndarray, shape (n, d)
        Unit rows ``w^_i = w_i / |w_i|`` (0 for a zero row).
    r : ndarray, shape (n,)
        Norms ``|w_i|``.
    Yh : ndarray, shape (M, d)
        Unit rows ``y^_m`` (0 for a zero row).
    s : ndarray, shape (M,)
        Norms ``|y_m|``.
    theta : ndarray, shape (n, M)
        Angle between ``w_i`` and ``y_m`` in ``[0, pi]``, ``atan2(|u|, w^.y^)`` with
        ``u = y^_m - (w^_i.y^_m) w^_i`` (absolute error ~ machine epsilon at every angle); 0
        where one of the vectors is zero.
    e : ndarray, shape (n, M, d)
        Unit vector along ``u``, the part of ``y^_m`` orthogonal to ``w^_i`` (0 where that part
        vanishes: collinear or zero vectors).

    Examples
    --------
    >>> import numpy as np
    >>> Wh, r, Yh, s, theta, e = pair_geometry(np.array([[2.0, 0.0]]),
    ...                                        np.array([[1.0, 1.0], [0.0, 0.0], [-3.0, 0.0]]))
    >>> r.tolist(), s.round(6).tolist()
    ([2.0], [1.414214, 0.0, 3.0])
    >>> (theta / np.pi).round(6).tolist()  # 45 degrees, zero vector, antiparallel
    [[0.25, 0.0, 1.0]]
    >>> e[0].tolist()  # only the first pair has a part orthogonal to w
    [[0.0, 1.0], [0.0, 0.0], [0.0, 0.0]]
    """
    Wh, r = _unit_rows(W)
    Yh, s = _unit_rows(Y)
    cos = Wh @ Yh.T
    u = Yh[None, :, :] - cos[:, :, None] * Wh[:, None, :]
    nu = np.sqrt(np.einsum("imd,imd->im", u, u))  # sin(theta), to absolute rounding error
    theta = np.arctan2(nu, cos)
    e = u / np.where(nu > 0, nu, 1.0)[:, :, None]
    return Wh, r, Yh, s, theta, e


def _coefficients(activation: str, theta, live):
    """``(A, K, K' sin(theta))`` on the pairs, 0 where ``live`` is False (a zero vector: g = 0)."""
    if activation not in ANGULAR:
        raise ValueError(f"activation must be a piecewise-linear activation with angular coefficients "
                         f"({', '.join(sorted(ANGULAR))}), got {activation!r}")
    A, K, Kp = (np.broadcast_to(x, theta.shape) for x in ANGULAR[activation](theta))
    return tuple(np.where(live, x, 0.0) for x in (A, K, Kp * np.sin(theta)))


def student_block_hessian(activation: str, a, W, Y, U, out=None) -> np.ndarray:
    r"""The pair part of the W-W Hessian of ``L = sum_{m,m'} U_m U_m' g(y_m, y_m')``, shape
    (n, d, n, d), for ``Y = [W; V]`` (students first) and ``U = [a; -b]``:

    * block (i, l), i != l: ``2 a_i a_l d2g(w_i, w_l)/dw_i dw_l^T``;
    * block (i, i): ``2 a_i sum_{m != i} U_m d2g(w_i, y_m)/dw_i dw_i^T``.

    The terms ``a_i^2 g(w_i, w_i) = a_i^2 s(|w_i|^2)`` are left to the caller. Pairs with a zero
    vector contribute 0 (g vanishes identically there); a neuron with ``w_i = 0`` and ``a_i != 0``
    is the caller's to reject (no Hessian there).

    Parameters
    ----------
    activation : str
        A piecewise-linear activation with angular coefficients: ``"relu"``, ``"leaky_relu"``,
        ``"abs"`` or ``"linear"``.
    a : ndarray, shape (n,)
        Student outgoing weights, real and finite.
    W : ndarray, shape (n, d)
        Student incoming weights, real and finite (zero rows allowed, see above).
    Y : ndarray, shape (n + k, d)
        ``[W; V]``: the students first, then the teacher rows.
    U : ndarray, shape (n + k,)
        ``[a; -b]``, matching ``Y``.
    out : ndarray, shape (n, d, n, d), optional
        Array (or view, e.g. of the W-W block of a larger Hessian) to write into.

    None of the arrays is validated here: ``Problem.hessian`` checks shapes, finiteness and the
    accepted range before calling.

    Returns
    -------
    ndarray, shape (n, d, n, d)
        ``H4[i, :, l, :]`` is block (i, l); ``out`` itself when given. Reshaped to
        ``(n d, n d)`` it is the W-W block of the Hessian minus the diagonal blocks
        ``a_i^2 d2 s(|w_i|^2)/dw_i dw_i^T``.

    Raises
    ------
    ValueError
        ``activation`` has no angular coefficients (the erf family, or an unknown name).

    Examples
    --------
    The W-W block of the full Hessian is this plus ``a_i^2 (2 s' I + 4 s'' w_i w_i^T)`` on the
    diagonal; for ReLU ``s(q) = q/2``, so that term is ``a_i^2 I``. Collinear students are fine:

    >>> import numpy as np
    >>> from copyavg.numeric import hessian
    >>> a, W = np.array([0.5, 0.5]), np.array([[1.0, 0.0, 0.0], [2.0, 0.0, 0.0]])
    >>> b, V = np.ones(2), np.eye(2, 3)
    >>> H4 = student_block_hessian("relu", a, W, np.vstack((W, V)), np.concatenate((a, -b)))
    >>> H4.shape
    (2, 3, 2, 3)
    >>> HW = hessian(a, W, b, V, "relu")[2:, 2:]
    >>> bool(np.allclose(HW - H4.reshape(6, 6), np.kron(np.diag(a ** 2), np.eye(3)), atol=1e-12))
    True
    """
    n, d = W.shape
    Wh, r, Yh, s, theta, e = pair_geometry(W, Y)
    live = (r[:, None] > 0) & (s[None, :] > 0)
    A, K, KpS = _coefficients(activation, theta, live)
    coef = (2.0 * a)[:, None] * U[None, :]
    coef[np.arange(n), np.arange(n)] = 0.0
    ratio = np.where(live, s[None, :] / np.where(r > 0, r, 1.0)[:, None], 0.0)
    # off-diagonal blocks: 2 a_i a_l [K I + w^_i (A y^_l)^T + e_il (K' sin (cos e_il - sin w^_i))^T]
    aa = 2.0 * a[:, None] * a[None, :]
    aa[np.arange(n), np.arange(n)] = 0.0
    es = e[:, :n, :]
    cs, sn = np.cos(theta[:, :n]), np.sin(theta[:, :n])
    left = np.stack((np.broadcast_to(Wh[:, None, :], es.shape), es), axis=-1)  # (n, n, d, 2)
    right = np.stack(((aa * A[:, :n])[:, :, None] * Yh[None, :n, :],
                      (aa * KpS[:, :n])[:, :, None] * (cs[:, :, None] * es - sn[:, :, None] * Wh[:, None, :])),
                     axis=2)  # (n, n, 2, d)
    H4 = np.empty((n, d, n, d)) if out is None else out
    np.matmul(left, right, out=H4.transpose(0, 2, 1, 3))
    dd = np.arange(d)
    H4[:, dd, :, dd] += (aa * K[:, :n])[None, :, :]
    # diagonal blocks: sum_m coef (s/r) [A (I - w^ w^^T) - K' sin e e^T]
    alpha = (coef * ratio * A).sum(axis=1)
    beta = coef * ratio * KpS
    B = -np.matmul((beta[:, :, None] * e).transpose(0, 2, 1), e)  # sum_m beta e e^T, batched BLAS
    B -= alpha[:, None, None] * Wh[:, :, None] * Wh[:, None, :]
    B[:, dd, dd] += alpha[:, None]
    idx = np.arange(n)
    H4[idx, :, idx, :] = B
    return H4


def pair_weight_hessian(activation: str, w, v) -> np.ndarray:
    """The (2d, 2d) Hessian of ``g(w, v)`` in ``(w, v)``, finite at collinear ``w, v`` (both nonzero).

    Order ``(w, v)``; blocks as in the module docstring. Piecewise-linear activations only.

    Parameters
    ----------
    activation : str
        A piecewise-linear activation: ``"relu"``, ``"leaky_relu"``, ``"abs"`` or ``"linear"``.
    w, v : array_like, shape (d,)
        Nonzero real vectors of the same length, at any angle (collinear included).

    Returns
    -------
    ndarray, shape (2d, 2d)
        ``[[d2g/dw dw^T, d2g/dw dv^T], [d2g/dv dw^T, d2g/dv dv^T]]`` (symmetric).

    Raises
    ------
    ValueError
        ``activation`` is not in the piecewise-linear family (or unknown), or ``w``, ``v`` are
        not nonzero 1-d vectors of the same length.

    Examples
    --------
    Near collinear vectors the ReLU kernel is ``g = w.v / 2 + O(theta^3)``, so at ``theta = 0``
    the Hessian is ``[[0, I/2], [I/2, 0]]``:

    >>> import numpy as np
    >>> H = pair_weight_hessian("relu", [1.0, 0.0], [2.0, 0.0])
    >>> (H + 0.0).tolist()
    [[0.0, 0.0, 0.5, 0.0], [0.0, 0.0, 0.0, 0.5], [0.5, 0.0, 0.0, 0.0], [0.0, 0.5, 0.0, 0.0]]
    >>> pair_weight_hessian("erf2", [1.0, 0.0], [0.0, 1.0])
    Traceback (most recent call last):
    ...
    ValueError: pair_weight_hessian is for the piecewise-linear family, got 'erf2'
    """
    act = get_activation(activation)
    if act.family != "piecewise_linear":
        raise ValueError(f"pair_weight_hessian is for the piecewise-linear family, got {activation!r}")
    w = np.asarray(w, dtype=float)
    v = np.asarray(v, dtype=float)
    if w.ndim != 1 or w.shape != v.shape or not (np.any(w) and np.any(v)):
        raise ValueError("w and v must be nonzero vectors of the same length")
    d = w.shape[0]
    Y = np.stack((w, v))
    out = np.empty((2 * d, 2 * d))
    # pair (w, v) seen from w, and from v: the student blocks with a = (1/2, 1/2), U = a give
    # 2 a_i a_l = 1/2 off the diagonal and 2 a_i U_m = 1/2 on it: scale by 2
    H4 = 2.0 * student_block_hessian(activation, np.full(2, 0.5), Y, Y, np.full(2, 0.5))
    out[:d, :d] = H4[0, :, 0, :]
    out[:d, d:] = H4[0, :, 1, :]
    out[d:, :d] = H4[1, :, 0, :]
    out[d:, d:] = H4[1, :, 1, :]
    return out
