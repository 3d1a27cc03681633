r"""Hessian-vector products of the population loss without forming the Hessian.

``HessianOperator(problem, a, W)`` holds the pair kernel's partials at one point (arrays of shape
``(n, n + k)``, memory ``O(n (n + k))``) and applies the exact Hessian of ``Problem.hessian`` (same
order ``theta = (a, W row by row)``) to a vector in ``O(n (n + k) d)`` operations, about the cost of
two or three gradients, by regrouping the blocks of the chain rule (``_hessian_chain``):

- a-a: ``2 G``; a-W: ``4 a_l g2_il w_l + 2 a_l g3_il w_i`` off the diagonal, ``2 P_i + 2 a_i s'_i w_i``
  on it (``P_i`` the gradient row);
- W-W off the diagonal (``i != l``): ``2 a_i a_l [w_i T1_il^T + w_l T2_il^T + g3_il I]`` applied to
  ``x_l`` needs only the scalars ``w_l.x_l`` and ``w_i.x_l``;
- W-W diagonal blocks ``Y^T diag(M33_i) Y + c11_i w_i w_i^T + w_i z_i^T + z_i w_i^T + c1_i I``
  applied to ``x_i`` need ``Y x_i`` for all i at once, one ``(n, d) x (d, n + k)`` product.

It covers the smooth families at the norms where ``Problem.hessian`` uses the chain rule (for the
erf family ``|w_i|^2 <= 100``); elsewhere (piecewise-linear family, larger erf norms) it falls back
to central differences of the exact gradient (``kind == "difference"``, relative accuracy about
1e-7), which is enough for the implicit integrator's iteration matrix and for inexact Newton,
but not for classification (``copyavg.numeric.curvature.endpoint_curvature`` refuses it).
"""

from __future__ import annotations

import numpy as np

from . import population as pop_

__all__ = ["HessianOperator"]


class HessianOperator:
    """The Hessian of ``Problem`` ``problem`` at ``(a, W)`` as a linear operator (matrix-free).

    Parameters
    ----------
    problem : Problem
        Teacher and activation.
    a : array_like, shape (n,)
        Outgoing weights, real and finite.
    W : array_like, shape (n, d)
        Incoming weights, real and finite, ``d = problem.d``.

    Attributes
    ----------
    shape : tuple
        ``(N, N)`` with ``N = n + n d``.
    kind : str
        ``"exact"`` (chain rule through the kernel partials) or ``"difference"`` (central
        differences of the gradient; see the module docstring).
    n_matvec : int
        Products computed so far.

    Raises
    ------
    ValueError
        As ``Problem.loss`` (bad shapes, non-finite or out-of-range entries), or
        ``NonDifferentiableError`` where the Hessian does not exist.

    Examples
    --------
    >>> import numpy as np
    >>> from copyavg.numeric import Problem
    >>> P = Problem(np.ones(2), np.eye(2, 3), "erf2")
    >>> a, W = np.array([0.5, -0.3]), np.array([[0.4, 0.1, 0.0], [0.2, -0.5, 0.3]])
    >>> Hop = HessianOperator(P, a, W)
    >>> v = np.arange(8.0)
    >>> bool(np.allclose(Hop.matvec(v), P.hessian(a, W) @ v, rtol=1e-12, atol=1e-12))
    True
    """

    def __init__(self, problem, a, W):
        with np.errstate(under="ignore"):
            a, W, n, Y, U, geom, _ = problem._prepare(a, W)
            problem._check_differentiable(a, geom)
        self.P = problem
        self.a, self.W, self.n, self.d = a, W, n, problem.d
        self.N = n + n * self.d
        self.shape = (self.N, self.N)
        self.dtype = np.dtype(float)
        self.n_matvec = 0
        self._diagonal = None
        qmax = float(geom[0].max())
        chain = (problem.activation.smooth and not problem.homogeneous
                 and qmax <= pop_.geo_.HESSIAN_MAX_SQUARED_NORM.get(problem.activation.family, 1e12)
                 and qmax * float(geom[1].max()) <= 1e150
                 and (problem.activation.family != "erf"
                      or max(qmax, problem._qv_max) <= pop_._CHAIN_RULE_MAX_Q))
        self.kind = "exact" if chain else "difference"
        if chain:
            self._setup_chain(Y, U, geom)
        else:
            self._y = np.concatenate((a, W.ravel()))
            self._g = None

    # -- exact route ---------------------------------------------------------------------------
    def _setup_chain(self, Y, U, geom) -> None:
        P, a, W, n = self.P, self.a, self.W, self.n
        with np.errstate(under="ignore"):
            G, G1, G2, G3, G11, G12, G13, G22, G23, G33 = P._pairs(2, geom)
            s, s1, s2 = P._diag(geom[0])
        s1 = np.broadcast_to(s1, (n,))
        s2 = np.broadcast_to(s2, (n,))
        idx = np.arange(n)
        ss = np.s_[:, :n]
        coef_od = (2.0 * a)[:, None] * U[None, :]
        coef_od[idx, idx] = 0.0
        self.Gaa = 2.0 * G[ss]
        self.G2o = np.array(G2[ss])
        self.G2o[idx, idx] = 0.0
        self.G3o = np.array(G3[ss])
        self.G3o[idx, idx] = 0.0
        rows = P._grad_rows(n, U, Y, geom, W, G1.copy(), G3.copy())
        self.Dg = 2.0 * rows + (2.0 * a * s1)[:, None] * W  # diagonal a_i - w_i blocks
        aa = 2.0 * a[:, None] * a[None, :]
        aa[idx, idx] = 0.0
        self.A12, self.A13 = aa * 4.0 * G12[ss], aa * 2.0 * G13[ss]
        self.A23, self.A33 = aa * 2.0 * G23[ss], aa * G33[ss]
        self.A3 = aa * G3[ss]
        self.c1 = 2.0 * (coef_od * G1).sum(axis=1) + 2.0 * a * a * s1
        self.c11 = 4.0 * (coef_od * G11).sum(axis=1) + 4.0 * a * a * s2
        self.Z = (2.0 * coef_od * G13) @ Y
        self.M33 = coef_od * G33
        self.Y = Y
        # stacked forms for the product (fewer, larger NumPy calls): K [va; q] gives the a part's
        # 2 G va + 4 g2 (a q) and the W rows' coefficients 4 a_i (g2^T va)_i + (A12 q)_i
        self._K = np.block([[self.Gaa, 4.0 * self.G2o * a[None, :]],
                            [4.0 * a[:, None] * self.G2o.T, self.A12]])
        self._P2 = np.stack((2.0 * self.G3o * a[None, :], self.A13))
        # rows dotted with x_l: w_l (gives q_l), Dg_l, and c11_l w_l + z_l (the diagonal's c11 q + z.x)
        self._S = np.stack((W, self.Dg, self.c11[:, None] * W + self.Z))
        # column scalings of the student block by (q, va), and row terms q_i z_i + va_i Dg_i
        self._B2 = np.stack((self.A23, (2.0 * a)[:, None] * self.G3o.T))
        self._ZD = np.stack((self.Z, self.Dg))
        self._YT = np.ascontiguousarray(Y.T)
        m = Y.shape[0]
        # T = [M33 * R (+ the W-W and W-a terms on the student columns) | A3 + diag(c1)] times [Y; X]
        self._T = np.empty((n, m + n))
        self._T[:, m:] = self.A3
        self._T[:, m:][idx, idx] = self.c1
        self._YX = np.empty((m + n, self.d))
        self._YX[:m] = Y
        self._Tdiag = self._T.reshape(-1)[:: m + n + 1]  # T[i, i], i < n (a view)

    def _matvec_chain(self, v):
        n = self.n
        m = self.Y.shape[0]
        va, X = v[:n], v[n:].reshape(n, self.d)
        q, dgx, cz = np.einsum("kij,ij->ki", self._S, X)  # w_l . x_l, Dg_l . x_l, c11_l q_l + z_l . x_l
        R = np.dot(X, self._YT)  # [i, m] = y_m . x_i
        Rs = R[:, :n]  # [l, i] = w_i . x_l
        vq = np.concatenate((va, q))
        qv = vq.reshape(2, n)[::-1]  # rows q, va
        Kv = np.dot(self._K, vq)
        rs = np.einsum("kil,li->ki", self._P2, Rs)
        out = np.empty(self.N)
        np.add(Kv[:n], rs[0], out=out[:n])
        out[:n] += dgx
        # one product with the rows of [Y; X], Y = [W; V]: the diagonal blocks' Y^T diag(M33_i) Y x_i,
        # the W-W terms beta_il w_l + A3_il x_l + c1_i x_i, the W-a terms 2 a_l g3_il va_i w_i, and
        # (on the diagonal of the student columns) the coefficient of w_i
        T = self._T
        np.multiply(self.M33, R, out=T[:, :m])
        Ts = T[:, :n]
        Ts += self.A33 * Rs.T
        Ts += np.einsum("kil,kl->il", self._B2, qv)  # A23_il q_l + 2 a_i g3_li va_l
        self._Tdiag[:n] += Kv[n:] + rs[1] + cz
        self._YX[m:] = X
        oW = out[n:].reshape(n, self.d)
        np.dot(T, self._YX, out=oW)
        oW += np.einsum("ki,kij->ij", qv, self._ZD)  # q_i z_i + va_i Dg_i
        return out

    def diagonal(self) -> np.ndarray:
        """The diagonal of the Hessian, shape ``(N,)`` (exact route: ``O(n (n + k) d)``; difference
        route: N products, meant for small N only)."""
        n, W = self.n, self.W
        if self.kind != "exact":
            return np.array([self.matvec(e)[i] for i, e in enumerate(np.eye(self.N))])
        if self._diagonal is not None:
            return self._diagonal
        dW = self.M33 @ (self.Y * self.Y) + self.c11[:, None] * W * W + 2.0 * W * self.Z + self.c1[:, None]
        self._diagonal = np.concatenate((self.Gaa.diagonal(), dW.ravel()))
        return self._diagonal

    def a_block(self) -> np.ndarray:
        """The a-a block ``2 G`` of the Hessian, shape ``(n, n)`` (exact route only)."""
        if self.kind != "exact":
            raise ValueError("a_block needs the exact route (kind == 'exact')")
        return self.Gaa

    # -- difference route ----------------------------------------------------------------------
    def _grad(self, y):
        n = self.n
        _, ga, gW = self.P.loss_and_gradient(y[:n], y[n:].reshape(n, self.d))
        return np.concatenate((ga, gW.ravel()))

    def _matvec_difference(self, v):
        nv = float(np.linalg.norm(v))
        if nv == 0.0:
            return np.zeros(self.N)
        # step ~ eps^(1/3) relative to |theta| and |v|: truncation O(h^2) and rounding O(eps/h) balance
        h = 6e-6 * max(1.0, float(np.linalg.norm(self._y))) / nv
        return (self._grad(self._y + h * v) - self._grad(self._y - h * v)) / (2.0 * h)

    # -- the operator --------------------------------------------------------------------------
    def matvec(self, v) -> np.ndarray:
        """``H v`` for ``v`` of shape ``(N,)`` (or ``(N, 1)``); returns shape ``(N,)``."""
        v = np.asarray(v, dtype=float).reshape(-1)
        if v.shape[0] != self.N:
            raise ValueError(f"v must have length N = {self.N}, got {v.shape[0]}")
        self.n_matvec += 1
        with np.errstate(under="ignore"):
            return self._matvec_chain(v) if self.kind == "exact" else self._matvec_difference(v)

    def aslinearoperator(self):
        """A ``scipy.sparse.linalg.LinearOperator`` (symmetric) applying ``matvec``."""
        from scipy.sparse.linalg import LinearOperator

        return LinearOperator(self.shape, matvec=self.matvec, rmatvec=self.matvec, dtype=float)
