r"""Exact population loss, gradient and Hessian of a two-layer student and teacher **with biases**.

Conventions (docs/theory.md §1, §10): ``x ~ N(0, I_d)``; student ``f(x) = sum_i a_i sigma(w_i.x + c_i)``,
teacher ``f*(x) = sum_j b_j sigma(v_j.x + e_j)``; loss ``L = E[(f - f*)^2]`` with **no factor 1/2**.
With ``Y = [W; V]``, biases ``B = [c; e]`` and ``U = [a; -b]``,

    L = sum_{m != m'} U_m U_m' g(|y_m|^2, |y_m'|^2, y_m.y_m', B_m, B_m') + sum_m U_m^2 s(|y_m|^2, B_m),

``g(C11, C22, C12, m1, m2) = E[sigma(u1) sigma(u2)]`` for ``(u1, u2)`` Gaussian with means ``(m1, m2)``
and covariance ``[[C11, C12], [C12, C22]]``, ``s(q, c) = E[sigma(sqrt(q) z + c)^2]``. The kernels
and all their partials are closed forms (``copyavg.numeric._bias_kernels``) for the erf family and
``normal_cdf`` (the bivariate normal distribution function, Owen's T) and the piecewise-linear
family (``Phi``, ``phi`` and the same function); for hermite2..hermite5, sin and cos they come from
64 x 64-node Gauss-Hermite quadrature in the Cholesky factor (exact for the polynomials; for sin and
cos at ``|w| <= 3`` the error estimate ``_bias_kernels.quadrature_error``, 64 against 48 nodes, is
below 1e-15). gaussian has a closed form (a Gaussian integral and its Hermite mean-derivatives);
so do the monomials ``z^p`` (p = 2..5: binomial expansion and Isserlis moments, a polynomial in
``C11, C22, C12`` and the means, ``copyavg.numeric._bias_monomial``) and gelu (``z Phi(z)``:
``sigma^(a) = u Phi^(a) + a Phi^(a-1)`` and Stein's lemma reduce every mean-derivative to the
``normal_cdf`` closed form of ``N(m, I + C)`` up to order 6, ``copyavg.numeric._bias_gelu``).
Any activation given as an expression in ``z`` (tanh, softplus, ...) uses the Gauss-Hermite
route with sigma's derivatives and a node count and accepted norm decided at first use
(``copyavg.numeric._bias_quadrature``: error estimate <= 1e-10 of the scale; tanh ``|w| <= 1.5``
with 512 nodes per dimension, hence much slower). ``_bias_mp.loss_mp`` is an independent mpmath
reference for the loss. Cost at the paper's size (d, k, n) = (51, 50, 25), measured on a loaded
machine: erf2 about 20 ms per loss and gradient and 0.7 s per Hessian (gelu: 5 ms and 0.2 s, erf2
3.5 ms and 0.5 s in the same run); the quadrature route about 2 s for either (memory bounded by
processing pairs in chunks). Partials in ``C`` are mean-derivatives by
the heat equation (``dg/dC12 = d^2 g/dm1 dm2``, ``dg/dC11 = 1/2 d^2 g/dm1^2``).

Parameter order of ``hessian`` (and of the flat ``theta``): ``a_1..a_n``, ``w_1``, ..., ``w_n``,
then ``c_1..c_n``. With all biases zero the values equal ``Problem``'s (tests/test_biases.py).

Accepted range (``ValueError`` naming the argument outside it): real finite entries; ``|a_i|, |b_j| <= 1e150``;
``|w_i|, |v_j| <= 100`` (sin, cos: ``<= 3``; expressions in z: ``_bias_quadrature.norm_limit``) and biases ``|c_i|, |e_j| <= 100`` (``MAX_NORM``, ``MAX_BIAS``): the
conditional means ``m2 - (C12/C11) m1`` of near-collinear pairs are differences of terms of size
``|m| C/C11``, so the absolute rounding error of the kernels can grow like ``eps |m| |w| |v|``
beyond it. Within the range the kernel and its mean-derivatives up to order 2 agree with 30-digit
quadrature to ``1e-13 (1 + |value|)`` (measured worst ``3e-16``, including ``cos = 1 - 1e-12`` and
tiny norms: ``tests/test_biases.py::test_moments_at_the_edges_of_the_range``); loss and gradient are
sums of such terms. Near-collinear pairs take ``D = C11 C22 - C12^2`` from Lagrange's identity.
Piecewise-linear family: every ``w_i`` and ``v_j`` must be non-zero (at ``w = 0`` the neuron is the
constant ``sigma(c)`` and the kernel's conditional densities are not defined). At exactly
collinear pairs (angle below 1e-8) its Hessian is the weight-space limit
(``_bias_hessian.collinear_moments``): ``d^2 g/dC12^2``, the density of ``(u1, u2)`` at 0, is
infinite or undefined there, but the combinations the Hessian needs are finite.
"""

from __future__ import annotations

import numpy as np

from . import _geometry as geo_
from ._bias_hessian import assemble_hessian, collinear_moments
from ._bias_kernels import COLLINEAR, TIERED_FAMILIES, diag_moments, pair_moments
from ._bias_quadrature import norm_limit
from .activations import Activation, get_activation
from .population import Problem

#: largest accepted norm of a student or teacher vector (module docstring says why)
MAX_NORM = 100.0
#: largest accepted |bias| of a student or teacher neuron
MAX_BIAS = 100.0
#: activation families with biased kernels: closed forms, then Gauss-Hermite quadrature
FAMILIES = ("erf", "normal_cdf", "piecewise_linear", "gaussian", "monomial", "hermite", "trig", "quadrature", "gelu")
#: smaller norm limits: sin, cos by quadrature (64 x 64 Gauss-Hermite nodes; at |w|, |v| <= 3 the
#: difference to 48 nodes, the error estimate, is below 1e-15; at 4 it reaches 3e-10 for nearly
#: collinear pairs, at 5 1e-4)
FAMILY_MAX_NORM = {"trig": 3.0}


def _check_rows(X, name: str, pl: bool, act: Activation) -> np.ndarray:
    q = np.einsum("ij,ij->i", X, X)
    limit, family = norm_limit(act), act.family
    if not np.sqrt(q.max()) <= limit:
        raise ValueError(f"{name}: every row must have norm <= {limit:g} with biases ({family} family), "
                         f"got {np.sqrt(q.max()):.3g}")
    if pl and q.min() == 0:
        raise ValueError(f"{name}: piecewise-linear activations with biases need non-zero rows, "
                         f"got a zero row (index {int(np.argmin(q))})")
    return q


def _check_bias(x, name: str, size: int) -> np.ndarray:
    x = geo_.as_real_array(x, name, 1)
    if x.shape != (size,):
        raise ValueError(f"{name} must have shape ({size},), got {x.shape}")
    if size and not np.abs(x).max() <= MAX_BIAS:
        raise ValueError(f"{name}: biases must satisfy |{name}_i| <= {MAX_BIAS:g}, got {np.abs(x).max():.3g}")
    return x


def _gram_determinants(R, Y, qr, qy, C):
    """``D = |r|^2 |y|^2 - (r.y)^2`` for all pairs; near-collinear pairs (``D <= 1e-4 |r|^2 |y|^2``,
    where the difference cancels) by Lagrange's identity ``D = sum_{a<b} (r_a y_b - r_b y_a)^2``."""
    qq = qr[:, None] * qy[None, :]
    D = np.maximum(qq - C * C, 0.0)
    ii, mm = np.nonzero(D <= 1e-4 * qq)
    if ii.size:
        outer = R[ii][:, :, None] * Y[mm][:, None, :]
        D[ii, mm] = 0.5 * np.square(outer - outer.transpose(0, 2, 1)).sum(axis=(1, 2))
    return D


class BiasedProblem:
    """A teacher ``(b, V, e)`` with biases and an activation; loss, gradient and Hessian of students ``(a, W, c)``.

    Parameters
    ----------
    b : array_like, shape (k,)
        Teacher outgoing weights, ``|b_j| <= 1e150``.
    V : array_like, shape (k, d)
        Teacher incoming weights, ``|v_j| <= 100`` (sin, cos: 3; expressions in z: ``norm_limit``; non-zero for the kinked
        piecewise-linear activations).
    e : array_like, shape (k,), optional
        Teacher biases, ``|e_j| <= 100``; zeros by default.
    activation : str, default "erf2"
        erf2, erf, normal_cdf, relu, linear, abs, leaky_relu, gaussian, monomial2..monomial5, gelu
        (closed forms), hermite2..hermite5, sin, cos, tanh, softplus, sigmoid, silu or an expression
        in z (quadrature).

    Raises
    ------
    ValueError
        Wrong shapes, non-finite entries, values outside the range, or an activation without a
        biased kernel; the message names the argument.

    Examples
    --------
    >>> import numpy as np
    >>> P = BiasedProblem(np.ones(1), np.eye(1, 2), [0.5], "relu")
    >>> P.loss(np.ones(1), np.eye(1, 2), [0.5])  # the student is the teacher
    0.0
    >>> round(P.teacher_loss, 8)  # E[relu(z + 1/2)^2] = (1/4 + 1) Phi(1/2) + phi(1/2)/2
    1.04036074
    """

    def __init__(self, b, V, e=None, activation: str = "erf2"):
        self.activation: Activation = get_activation(activation)
        if self.activation.family not in FAMILIES:
            raise ValueError(f"activation: biases are supported for erf2, erf, normal_cdf, relu, linear, abs, "
                             f"leaky_relu, gaussian, monomial2..monomial5, hermite2..hermite5, sin, cos, gelu "
                             f"and expressions in z, "
                             f"got {activation!r}")
        if self.activation.family in TIERED_FAMILIES and norm_limit(self.activation) == 0:
            raise ValueError(f"activation {activation!r}: the biased quadrature does not reach 1e-10 at |w| = 0.5 "
                             "with 256 nodes per dimension")
        self._pl = self.activation.family == "piecewise_linear" and not self.activation.smooth  # zero rows refused
        b = geo_.as_real_array(b, "b", 1)
        V = geo_.as_real_array(V, "V", 2)
        if b.shape[0] < 1 or V.shape != (b.shape[0], V.shape[1]) or V.shape[1] < 1:
            raise ValueError(f"b and V must have shapes (k,) and (k, d) with k, d >= 1, got {b.shape} and {V.shape}")
        geo_.check_outgoing(b, "b")
        self.k, self.d = V.shape
        e = np.zeros(self.k) if e is None else _check_bias(e, "e", self.k)
        self.qv = _check_rows(V, "V", self._pl, self.activation)
        self.b, self.V, self.e = b.copy(), V.copy(), e.copy()
        for arr in (self.b, self.V, self.e):
            arr.setflags(write=False)
        with np.errstate(under="ignore"):
            C = V @ V.T
            D = _gram_determinants(V, V, self.qv, self.qv, C)
            off = ~np.eye(self.k, dtype=bool)
            M = self._moments(0, self.qv, self.qv, C, D, e, e, off)
            s = diag_moments(self.activation, 0, self.qv, e)[0]
            self.teacher_loss = float(b @ M[0, 0] @ b + b @ (s * b))  # E[f*(x)^2]
        geo_.check_finite("teacher loss", self.teacher_loss)

    # -- internals ------------------------------------------------------------------------------
    def _moments(self, order, q1, q2, C, D, m1, m2, off):
        """Mean-derivatives ``M[a, b]`` of g (``a + b <= 2 order``) for the pairs, 0 where ``off`` is False."""
        safe_D = np.where(off, D, 1.0)  # diagonal pairs: a harmless placeholder (self terms use s)
        with np.errstate(divide="ignore", invalid="ignore", under="ignore", over="ignore"):
            M = pair_moments(self.activation, 2 * order, q1[:, None], q2[None, :], C, safe_D,
                             m1[:, None], m2[None, :])
        return {key: np.where(off, v, 0.0) for key, v in M.items()}

    def _prepare(self, a, W, c, order):
        a, W = geo_.check_student(a, W, self.d)
        geo_.check_outgoing(a, "a")
        n = a.shape[0]
        c = _check_bias(c, "c", n)
        qw = _check_rows(W, "W", self._pl, self.activation)
        Y = np.concatenate((W, self.V))
        B = np.concatenate((c, self.e))
        U = np.concatenate((a, -self.b))
        q = np.concatenate((qw, self.qv))
        C = W @ Y.T
        D = _gram_determinants(W, Y, qw, q, C)
        off = np.ones((n, n + self.k), dtype=bool)
        off[np.arange(n), np.arange(n)] = False
        # angle below 1e-8: the collinear limit of the piecewise-linear Hessian (its chain-rule terms
        # cancel like eps/angle there; the limit differs from the value by O(angle))
        coll = off & (D <= COLLINEAR * qw[:, None] * q[None, :])
        kinked = order == 2 and not self.activation.smooth and np.any(coll)
        M = self._moments(order, qw, q, C, D, c, B, off)
        if kinked:  # the weight-space limit (the chain rule through the pair density does not apply)
            Cb = np.broadcast_to
            M = collinear_moments(self.activation, M, Cb(qw[:, None], C.shape), Cb(q[None, :], C.shape), C,
                                  Cb(c[:, None], C.shape), Cb(B[None, :], C.shape), coll)
        with np.errstate(divide="ignore", invalid="ignore", under="ignore"):
            s = diag_moments(self.activation, 2 * order, qw, c)
        return a, W, c, n, Y, U, M, s

    # -- public API -----------------------------------------------------------------------------
    def loss(self, a, W, c) -> float:
        """Population loss ``L = E[(f(x) - f*(x))^2]`` (no 1/2) of the student ``(a, W, c)``.

        Parameters
        ----------
        a : array_like, shape (n,)
            Student outgoing weights, ``|a_i| <= 1e150``.
        W : array_like, shape (n, d)
            Student incoming weights, ``|w_i| <= 100`` (non-zero for the piecewise-linear family).
        c : array_like, shape (n,)
            Student biases, ``|c_i| <= 100``.

        Returns
        -------
        float

        Raises
        ------
        ValueError
            Bad shape, non-finite entries or values outside the accepted range.

        Examples
        --------
        >>> import numpy as np
        >>> P = BiasedProblem(np.ones(1), np.zeros((1, 1)), [1.0], "erf2")  # f* = erf(1/sqrt 2)
        >>> round(P.loss(np.zeros(1), np.zeros((1, 1)), [0.0]), 12) == round(P.teacher_loss, 12)
        True
        """
        with np.errstate(under="ignore"):
            a, W, c, n, Y, U, M, s = self._prepare(a, W, c, 0)
            G = M[0, 0]
            L = a @ (G @ U) - a @ (G[:, n:] @ self.b) + a @ (s[0] * a) + self.teacher_loss
        geo_.check_finite("loss", L)
        return float(L)

    def loss_and_gradient(self, a, W, c):
        """``(L, dL/da, dL/dW, dL/dc)`` in one pass.

        Parameters
        ----------
        a, W, c : array_like
            As in ``BiasedProblem.loss``.

        Returns
        -------
        L : float
        ga : ndarray, shape (n,)
        gW : ndarray, shape (n, d)
        gc : ndarray, shape (n,)

        Raises
        ------
        ValueError
            As in ``BiasedProblem.loss``.

        Examples
        --------
        >>> import numpy as np
        >>> P = BiasedProblem(np.ones(1), np.eye(1, 2), [0.3], "erf")
        >>> L, ga, gW, gc = P.loss_and_gradient(np.ones(1), np.eye(1, 2), [0.3])
        >>> float(abs(L)) < 1e-15, float(abs(gc[0])) < 1e-15
        (True, True)
        """
        with np.errstate(under="ignore"):
            a, W, c, n, Y, U, M, s = self._prepare(a, W, c, 1)
            G = M[0, 0]
            GU = G @ U
            L = a @ GU - a @ (G[:, n:] @ self.b) + a @ (s[0] * a) + self.teacher_loss
            ga = 2.0 * GU + 2.0 * a * s[0]
            rows = (M[2, 0] @ U)[:, None] * W + (M[1, 1] * U) @ Y
            gW = 2.0 * a[:, None] * rows + (a * a * s[2])[:, None] * W
            gc = 2.0 * a * (M[1, 0] @ U) + a * a * s[1]
        geo_.check_finite("loss or its gradient", L, gW, ga, gc)
        return float(L), ga, gW, gc

    def gradient(self, a, W, c):
        """``(dL/da, dL/dW, dL/dc)``; see ``BiasedProblem.loss_and_gradient``.

        Parameters
        ----------
        a, W, c : array_like
            As in ``BiasedProblem.loss``.

        Returns
        -------
        ga, gW, gc : ndarray

        Raises
        ------
        ValueError
            As in ``BiasedProblem.loss``.

        Examples
        --------
        >>> import numpy as np
        >>> P = BiasedProblem(np.ones(1), np.eye(1, 2), [1.0], "linear")  # f* = x_1 + 1
        >>> ga, gW, gc = P.gradient(np.ones(1), [[0.5, 0.0]], [0.0])  # f - f* = -x_1/2 - 1
        >>> ga.tolist(), gW.tolist(), gc.tolist()  # 2 E[(f - f*) (x_1/2, a x, a)]
        ([-0.5], [[-1.0, 0.0]], [-2.0])
        """
        return self.loss_and_gradient(a, W, c)[1:]

    def hessian(self, a, W, c) -> np.ndarray:
        """Hessian of L in ``theta = (a, W row by row, c)``, shape ``(n + n d + n, n + n d + n)``.

        Parameters
        ----------
        a, W, c : array_like
            As in ``BiasedProblem.loss``.

        Returns
        -------
        ndarray
            Symmetric; order ``a_1..a_n``, ``w_1``, ..., ``w_n``, ``c_1..c_n``.

        Raises
        ------
        ValueError
            As in ``BiasedProblem.loss``; piecewise-linear family at collinear neurons.

        Examples
        --------
        >>> import numpy as np
        >>> P = BiasedProblem(np.ones(1), np.eye(1, 1), [0.0], "linear")
        >>> P.hessian(np.ones(1), np.eye(1, 1), [0.0]).tolist()  # L = (a w - 1)^2 + (a c)^2
        [[2.0, 2.0, 0.0], [2.0, 2.0, 0.0], [0.0, 0.0, 2.0]]
        """
        with np.errstate(under="ignore"):
            a, W, c, n, Y, U, M, s = self._prepare(a, W, c, 2)
            H = assemble_hessian(a, W, n, self.d, Y, U, M, s)
        geo_.check_finite("Hessian", H)
        return H


class BiasedFlowProblem(Problem):
    """A ``BiasedProblem`` seen by ``copyavg.numeric.flow`` as a ``Problem`` in ``d + 1`` columns.

    The flow's incoming weights are the augmented rows ``[w_i, c_i]`` (so ``theta = (a, [w_1, c_1],
    ..., [w_n, c_n])``); ``loss``, ``loss_and_gradient``, ``gradient`` and ``hessian`` take
    ``(a, Wc)`` with ``Wc = [W | c]`` of shape ``(n, d + 1)``. Nothing else of ``Problem`` is
    available (the constructor does not build a bias-free teacher).

    Parameters
    ----------
    biased : BiasedProblem

    Raises
    ------
    ValueError
        ``biased`` is not a ``BiasedProblem``; the methods raise as ``BiasedProblem``'s.

    Examples
    --------
    >>> import numpy as np
    >>> from copyavg.numeric.flow import flow_and_polish
    >>> FP = BiasedFlowProblem(BiasedProblem(np.ones(1), np.eye(1, 2), [0.5], "erf2"))
    >>> res = flow_and_polish(FP, np.array([0.8]), np.array([[0.9, 0.1, 0.0]]))
    >>> res.status, (np.round(res.W, 6) + 0.0).tolist()  # the student copies the teacher, bias included
    ('converged', [[1.0, 0.0, 0.5]])
    """

    def __init__(self, biased: BiasedProblem):  # noqa: D107 - no Problem.__init__: no bias-free teacher
        if not isinstance(biased, BiasedProblem):
            raise ValueError(f"biased must be a BiasedProblem, got {type(biased).__name__}")
        self.biased = biased
        self.activation = biased.activation
        self.d = biased.d + 1
        self.k = biased.k
        self.teacher_loss = biased.teacher_loss

    def _split(self, a, Wc):
        a, Wc = geo_.check_student(a, Wc, self.d)
        return a, Wc[:, :-1], Wc[:, -1]

    def loss(self, a, Wc) -> float:
        """``BiasedProblem.loss`` at ``(a, Wc[:, :-1], Wc[:, -1])``.

        Parameters
        ----------
        a : array_like, shape (n,)
            Student outgoing weights.
        Wc : array_like, shape (n, d + 1)
            ``[W | c]``: incoming weights and, in the last column, the biases.

        Returns
        -------
        float

        Raises
        ------
        ValueError
            As ``BiasedProblem``'s methods.

        Examples
        --------
        >>> import numpy as np
        >>> FP = BiasedFlowProblem(BiasedProblem(np.ones(1), np.eye(1, 1), [0.5], "linear"))
        >>> FP.loss(np.ones(1), [[1.0, 0.0]])  # f - f* = -1/2
        0.25
        """
        return self.biased.loss(*self._split(a, Wc))

    def loss_and_gradient(self, a, Wc):
        """``(L, dL/da, dL/dWc)``, the last column of ``dL/dWc`` being ``dL/dc``.

        Parameters
        ----------
        a : array_like, shape (n,)
            Student outgoing weights.
        Wc : array_like, shape (n, d + 1)
            ``[W | c]``: incoming weights and, in the last column, the biases.

        Returns
        -------
        L : float; ga : ndarray (n,); gWc : ndarray (n, d + 1)

        Raises
        ------
        ValueError
            As ``BiasedProblem``'s methods.

        Examples
        --------
        >>> import numpy as np
        >>> FP = BiasedFlowProblem(BiasedProblem(np.ones(1), np.eye(1, 1), [0.5], "linear"))
        >>> FP.loss_and_gradient(np.ones(1), [[1.0, 0.0]])[2].tolist()  # 2 a E[(f - f*) (x, 1)]
        [[0.0, -1.0]]
        """
        L, ga, gW, gc = self.biased.loss_and_gradient(*self._split(a, Wc))
        return L, ga, np.concatenate((gW, gc[:, None]), axis=1)

    def gradient(self, a, Wc):
        """``(dL/da, dL/dWc)``; see ``loss_and_gradient``.

        Parameters
        ----------
        a : array_like, shape (n,)
            Student outgoing weights.
        Wc : array_like, shape (n, d + 1)
            ``[W | c]``: incoming weights and, in the last column, the biases.

        Returns
        -------
        ga : ndarray (n,); gWc : ndarray (n, d + 1)

        Raises
        ------
        ValueError
            As ``BiasedProblem``'s methods.

        Examples
        --------
        >>> import numpy as np
        >>> FP = BiasedFlowProblem(BiasedProblem(np.ones(1), np.eye(1, 1), [0.5], "linear"))
        >>> FP.gradient(np.ones(1), [[1.0, 0.5]])[1].tolist()
        [[0.0, 0.0]]
        """
        return self.loss_and_gradient(a, Wc)[1:]

    def hessian(self, a, Wc) -> np.ndarray:
        """Hessian in ``(a, [w_1, c_1], ..., [w_n, c_n])``.

        Parameters
        ----------
        a : array_like, shape (n,)
            Student outgoing weights.
        Wc : array_like, shape (n, d + 1)
            ``[W | c]``: incoming weights and, in the last column, the biases.

        Returns
        -------
        ndarray, shape (n + n (d + 1), n + n (d + 1))

        Raises
        ------
        ValueError
            As ``BiasedProblem``'s methods.

        Examples
        --------
        >>> import numpy as np
        >>> FP = BiasedFlowProblem(BiasedProblem(np.ones(1), np.eye(1, 1), [0.0], "linear"))
        >>> FP.hessian(np.ones(1), [[1.0, 0.0]]).tolist()
        [[2.0, 2.0, 0.0], [2.0, 2.0, 0.0], [0.0, 0.0, 2.0]]
        """
        a, W, c = self._split(a, Wc)
        H = self.biased.hessian(a, W, c)
        n, d = W.shape
        rows = n + np.arange(n)[:, None] * d + np.arange(d)[None, :]  # w_i in BiasedProblem's order
        order = np.concatenate((np.arange(n), np.concatenate((rows, (n + n * d + np.arange(n))[:, None]), axis=1).ravel()))
        return H[np.ix_(order, order)]

    def __getstate__(self):
        return self.__dict__.copy()

    def __setstate__(self, state):
        self.__dict__.update(state)
