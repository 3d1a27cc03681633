r"""Exact population loss, gradient and Hessian of a two-layer student against a two-layer teacher.

Conventions (docs/theory.md §1): ``x ~ N(0, I_d)``; student ``f(x) = sum_i a_i sigma(w_i.x)``, teacher
``f*(x) = sum_j b_j sigma(v_j.x)``, no biases; loss ``L = E[(f - f*)^2]`` with **no factor 1/2**.
Writing ``Y = [W; V]`` and ``U = [a; -b]``,

    L = U^T G U,    G[m, m'] = g(|y_m|^2, |y_m'|^2, y_m.y_m'),

so with ``G`` the first n rows (student against everything) and ``T = b^T G_tt b`` (teacher only,
cached):

    L            = a.(G U) - a.(G_st b) + T
    dL/da_i      = 2 (G U)_i
    dL/dw_i      = 2 a_i [ 2 w_i sum_m U_m g1[i,m] + sum_m U_m g3[i,m] y_m ]

(the diagonal term ``a_i^2 g(w_i, w_i)`` is covered by the same sum because g is symmetric). The
Hessian is assembled block-wise from the second partials; the diagonal terms ``a_i^2 s(|w_i|^2)``
use ``s(q) = g(q, q, q)`` and its derivatives directly, which stay finite for ReLU where the pair
second partials blow up at ``w = v``. Everything is matrix products over all neuron pairs.
"""

from __future__ import annotations

import numpy as np

from ._generated_kernels import KERNELS
from .activations import Activation, get_activation


#: largest squared norm accepted for a student or teacher vector: products C11*C22 of two such
#: values stay below the float64 overflow threshold (about 1.8e308) inside the kernels.
MAX_SQUARED_NORM = 1e150


class _MaxEntry(dict):
    """d -> largest |entry| for which a d-vector surely has |w| <= 1e75."""

    def __missing__(self, d):
        self[d] = v = 1e75 / np.sqrt(d)
        return v


_MAX_ENTRY = _MaxEntry()


class NonDifferentiableError(ValueError):
    """The loss has no gradient (or Hessian) at this point; the message says which neurons."""


def _as_array(x, name: str, ndim: int) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real {ndim}-d array, got {type(x).__name__}") from None
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return arr


def _check_finite(*arrays) -> None:
    for arr in arrays:
        if not np.all(np.isfinite(arr)):
            raise ValueError(
                "the loss or its derivatives overflow float64 for these magnitudes of a, W, b, V; "
                "rescale the outgoing weights (|a_i|, |b_j|) or the vectors"
            )


def _check_student(a, W, d: int):
    """Shapes only; finiteness is checked on the (rare) failure path, see ``_explain_bad``."""
    if not isinstance(a, np.ndarray) or a.dtype != np.float64:
        a = _as_array(a, "a", 1)
    if not isinstance(W, np.ndarray) or W.dtype != np.float64:
        W = _as_array(W, "W", 2)
    if a.ndim != 1:
        raise ValueError(f"a must be 1-dimensional, got shape {a.shape}")
    if a.shape[0] < 1:
        raise ValueError("a must have at least one entry (n >= 1 student neurons)")
    if W.shape != (a.shape[0], d):
        raise ValueError(
            f"W must have shape (n, d) = ({a.shape[0]}, {d}) to match a (n,) and V (k, d), got {W.shape}"
        )
    return a, W


def _explain_bad(a, W) -> None:
    """Raise the precise error for inputs that made a result non-finite."""
    _as_array(a, "a", 1)
    _as_array(W, "W", 2)
    norms = np.max(np.abs(W)) * np.linalg.norm(W / np.max(np.abs(W)), axis=1)
    if norms.max() > 1e75:
        raise ValueError(
            f"W: student vectors must have |w_i| <= 1e75 (|w_i|^2 <= {MAX_SQUARED_NORM:g}) so that "
            f"float64 kernels do not overflow; got |w_i| = {norms.max():.3g}"
        )


class Problem:
    """A teacher ``(b, V)`` and an activation, with everything that depends only on them cached.

    Parameters
    ----------
    b : (k,) teacher outgoing weights.
    V : (k, d) teacher incoming weights (rows ``v_j``).
    activation : a name from ``copyavg.numeric.ACTIVATIONS``.

    Examples
    --------
    >>> import numpy as np
    >>> P = Problem(np.ones(3), np.eye(3, 4), "erf2")
    >>> round(float(P.loss(np.ones(3), np.eye(3, 4))), 12)
    0.0
    """

    def __init__(self, b, V, activation: str = "erf2"):
        self.activation: Activation = get_activation(activation)
        b = _as_array(b, "b", 1)
        V = _as_array(V, "V", 2)
        if b.shape[0] < 1:
            raise ValueError("b must have at least one entry (k >= 1 teacher neurons)")
        if V.shape[0] != b.shape[0] or V.shape[1] < 1:
            raise ValueError(f"V must have shape (k, d) = ({b.shape[0]}, d >= 1) to match b, got {V.shape}")
        self.b = b.copy()
        self.V = V.copy()
        self.b.setflags(write=False)
        self.V.setflags(write=False)
        self.k, self.d = V.shape
        self._fns = KERNELS[self.activation.name]
        Ctt = V @ V.T
        qv = np.diagonal(Ctt).copy()
        Ctt[np.diag_indices(self.k)] = qv
        self.qv = qv
        if qv.max() > MAX_SQUARED_NORM:
            raise ValueError(
                f"V: teacher vectors must have |v_j| <= 1e75 (|v_j|^2 <= {MAX_SQUARED_NORM:g}) so that "
                f"float64 kernels do not overflow; got |v_j|^2 = {qv.max():.3g}"
            )
        Gtt = self._pairs(0, qv, qv, Ctt)[0]
        self.teacher_loss = float(b @ Gtt @ b)  # E[f*(x)^2]

    # -- pair kernel evaluation -------------------------------------------------------------
    def _pairs(self, order: int, qa, qb, C):
        C11 = qa[:, None]
        C22 = qb[None, :]
        D = C11 * C22 - C * C
        np.maximum(D, 0.0, out=D)
        if self.activation.smooth:
            out = self._fns[order](C11, C22, C, D)
            return (out,) if order == 0 else out
        with np.errstate(divide="ignore", invalid="ignore"):
            out = self._fns[order](C11, C22, C, D)
        out = (out,) if order == 0 else out
        zero = (C11 == 0) | (C22 == 0)
        if zero.any():
            out = tuple(np.where(zero, 0.0, o) for o in out)
        return out

    def _prepare(self, a, W):
        a, W = _check_student(a, W, self.d)
        n = a.shape[0]
        Y = np.concatenate((W, self.V))
        U = np.concatenate((a, -self.b))
        if not (np.abs(W).max() <= _MAX_ENTRY[self.d] and np.isfinite(a).all()):  # also NaN/inf
            _explain_bad(a, W)
        if n >= 64:  # large: W W^T by the symmetric BLAS routine, then the teacher block
            C = np.concatenate((W @ W.T, W @ self.V.T), axis=1)
        else:  # small: one product, fewer calls
            C = W @ Y.T
        qw = np.diagonal(C).copy()  # |w_i|^2 exactly as on the diagonal of W W^T: D_ii = 0
        if not qw.max() <= MAX_SQUARED_NORM:
            _explain_bad(a, W)
        qY = np.concatenate((qw, self.qv))
        return a, W, n, Y, U, C, qw, qY

    def _check_differentiable(self, a, qw):
        if self.activation.smooth:
            return
        bad = np.flatnonzero((qw == 0) & (a != 0))
        if bad.size:
            raise NonDifferentiableError(
                f"activation {self.activation.name!r}: the loss is not differentiable at w_i = 0 "
                f"with a_i != 0 (student neurons {bad.tolist()})"
            )

    # -- public API ---------------------------------------------------------------------------
    def loss(self, a, W) -> float:
        """``L = E[(f(x) - f*(x))^2]`` (no 1/2)."""
        a, W, n, Y, U, C, qw, qY = self._prepare(a, W)
        G = self._pairs(0, qw, qY, C)[0]
        L = a @ (G @ U) - a @ (G[:, n:] @ self.b) + self.teacher_loss
        if not np.isfinite(L):
            _explain_bad(a, W)
            _check_finite(L)
        return float(L)

    def loss_and_gradient(self, a, W):
        """``(L, dL/da, dL/dW)`` with ``dL/da`` of shape (n,) and ``dL/dW`` of shape (n, d)."""
        a, W, n, Y, U, C, qw, qY = self._prepare(a, W)
        self._check_differentiable(a, qw)
        G, G1, _, G3 = self._pairs(1, qw, qY, C)
        GU = G @ U
        L = a @ GU - a @ (G[:, n:] @ self.b) + self.teacher_loss
        ga = 2.0 * GU
        gW = (2.0 * a)[:, None] * (2.0 * (G1 @ U)[:, None] * W + (G3 * U) @ Y)
        if not np.isfinite(L):  # with |w|, |v| <= 1e75 a finite L bounds the gradient too
            _explain_bad(a, W)
            _check_finite(L)
        return float(L), ga, gW

    def gradient(self, a, W):
        """``(dL/da, dL/dW)``."""
        _, ga, gW = self.loss_and_gradient(a, W)
        return ga, gW

    def hessian(self, a, W) -> np.ndarray:
        """Hessian of L in ``theta = (a, W row by row)``, shape ``(n + n d, n + n d)``.

        Raises ``NonDifferentiableError`` where it does not exist (piecewise-linear activations
        with a kink: a neuron at ``w = 0``, or two neurons that are collinear).
        """
        a, W, n, Y, U, C, qw, qY = self._prepare(a, W)
        self._check_differentiable(a, qw)
        d = self.d
        G, G1, G2, G3, G11, G12, G13, G22, G23, G33 = self._pairs(2, qw, qY, C)
        s, s1, s2 = self._fns[3](qw)
        s1 = np.broadcast_to(s1, qw.shape)
        s2 = np.broadcast_to(s2, qw.shape)
        idx = np.arange(n)
        ss = np.s_[:, :n]
        coef = (2.0 * a)[:, None] * U[None, :]  # 2 a_i U_m
        coef_od = coef.copy()
        coef_od[idx, idx] = 0.0  # diagonal terms handled through s(q)
        if not self.activation.smooth:
            singular = ~np.isfinite(G33) & (coef_od != 0)
            if singular.any():
                pairs = [(int(i), int(m)) for i, m in zip(*np.nonzero(singular))][:5]
                raise NonDifferentiableError(
                    f"activation {self.activation.name!r}: the Hessian does not exist at collinear "
                    f"neurons (student row i, column m of [W; V]: {pairs})"
                )
            # diagonal entries of the second partials are inf/nan and multiplied by 0 below
            G11, G12, G13, G22, G23, G33 = (np.where(coef_od != 0, x, 0.0)
                                             for x in (G11, G12, G13, G22, G23, G33))
        N = n + n * d
        H = np.empty((N, N))
        # a-a block
        H[:n, :n] = 2.0 * G[ss]
        # a-W block: H_aW[i, l, :]
        aG2 = 4.0 * a[None, :] * G2[ss]
        aG3 = 2.0 * a[None, :] * G3[ss]
        HaW = aG2[:, :, None] * W[None, :, :] + aG3[:, :, None] * W[:, None, :]
        P = 2.0 * (G1 @ U)[:, None] * W + (G3 * U) @ Y
        HaW[idx, idx, :] = 2.0 * P + (2.0 * a * s1)[:, None] * W
        H[:n, n:] = HaW.reshape(n, n * d)
        H[n:, :n] = H[:n, n:].T
        # W-W off-diagonal blocks (i != l): 2 a_i a_l [w_i (x) T1 + w_l (x) T2 + g3 I]
        aa = 2.0 * a[:, None] * a[None, :]
        aa[idx, idx] = 0.0
        T1 = (aa * 4.0 * G12[ss])[:, :, None] * W[None, :, :] + (aa * 2.0 * G13[ss])[:, :, None] * W[:, None, :]
        T2 = (aa * 2.0 * G23[ss])[:, :, None] * W[None, :, :] + (aa * G33[ss])[:, :, None] * W[:, None, :]
        # one batched matmul with inner dimension 2, written straight into a view of H
        H4 = H[n:, n:].reshape(n, d, n, d)
        Aw = np.empty((n, n, d, 2))
        Aw[..., 0] = W[:, None, :]
        Aw[..., 1] = W[None, :, :]
        Bt = np.empty((n, n, 2, d))
        Bt[:, :, 0] = T1
        Bt[:, :, 1] = T2
        np.matmul(Aw, Bt, out=H4.transpose(0, 2, 1, 3))
        g3I = aa * G3[ss]
        dd = np.arange(d)
        H4[:, dd, :, dd] += g3I[None, :, :]
        # W-W diagonal blocks
        c1 = 2.0 * (coef_od * G1).sum(axis=1) + 2.0 * a * a * s1
        c11 = 4.0 * (coef_od * G11).sum(axis=1) + 4.0 * a * a * s2
        Z = (2.0 * coef_od * G13) @ Y  # (n, d)
        M33 = coef_od * G33
        B = np.matmul(Y.T[None, :, :], M33[:, :, None] * Y[None, :, :])  # (n, d, d)
        B += c11[:, None, None] * W[:, :, None] * W[:, None, :]
        B += W[:, :, None] * Z[:, None, :] + Z[:, :, None] * W[:, None, :]
        B[:, dd, dd] += c1[:, None]
        H4[idx, :, idx, :] = B
        if not np.isfinite(H.sum()):
            _explain_bad(a, W)
            _check_finite(H)
        return H


_CACHE: list[Problem] = []
_CACHE_SIZE = 4


def problem_for(b, V, activation: str = "erf2") -> Problem:
    """A cached ``Problem`` for this teacher: reused when ``b``, ``V`` and ``activation`` are equal
    to a recent call's (compared by value, so in-place changes to ``V`` are seen)."""
    if isinstance(V, np.ndarray) and isinstance(b, np.ndarray):
        for P in _CACHE:  # compare by value before any validation: the common, fast path
            if (P.activation.name == activation and P.V.shape == V.shape and P.b.shape == b.shape
                    and np.array_equal(P.V, V) and np.array_equal(P.b, b)):
                return P
    P = Problem(b, V, activation)
    _CACHE.insert(0, P)
    del _CACHE[_CACHE_SIZE:]
    return P


def loss(a, W, b, V, activation: str = "erf2") -> float:
    """Exact population loss ``E_x[(f(x) - f*(x))^2]`` (no 1/2), ``x ~ N(0, I_d)``.

    a: (n,), W: (n, d), b: (k,), V: (k, d).
    """
    return problem_for(b, V, activation).loss(a, W)


def gradient(a, W, b, V, activation: str = "erf2"):
    """``(dL/da, dL/dW)``, same shapes as ``a`` and ``W``."""
    return problem_for(b, V, activation).gradient(a, W)


def loss_and_gradient(a, W, b, V, activation: str = "erf2"):
    """``(L, dL/da, dL/dW)`` in one pass."""
    return problem_for(b, V, activation).loss_and_gradient(a, W)


def hessian(a, W, b, V, activation: str = "erf2") -> np.ndarray:
    """Hessian in ``theta = (a, W row by row)``: shape ``(n + n d, n + n d)``."""
    return problem_for(b, V, activation).hessian(a, W)
