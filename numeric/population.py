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

(the diagonal term ``a_i^2 g(w_i, w_i)`` is covered by the same sum because g is symmetric; for
large ``|w_i|`` its two pieces cancel, so it is taken as ``a_i s'(|w_i|^2) w_i`` from the diagonal
kernel ``s(q) = g(q, q, q)`` instead). The Hessian is assembled block-wise from the second
partials; the diagonal terms ``a_i^2 s(|w_i|^2)`` use ``s`` and its derivatives directly, which stay
finite for ReLU where the pair second partials blow up at ``w = v``; for the piecewise-linear
family the W-W blocks come from the weight-space second derivatives of g
(``copyavg.numeric.angular``), finite at collinear neurons; for the erf family with some norm
above 10 the whole Hessian comes from ``copyavg.numeric._hessian_erf`` (unit-ball variables, no
cancelling terms at any norm). Everything is matrix products over all neuron pairs; the pair
geometry and the kernel evaluation live in ``copyavg.numeric._pair_kernels`` (the base class of
``Problem``).

The piecewise-linear kernels are homogeneous, ``g = |w||v| h(cos)``; they are evaluated at unit
vectors and rescaled (``g_X = |w|^p |v|^r g_X(1, 1, cos)``, exponents in
``copyavg.numeric.kernels.HOMOGENEITY``), so tiny or huge norms neither underflow nor overflow, and
only an exactly zero vector counts as ``w = 0``.

Accepted range (``ValueError`` naming the argument outside it): real finite entries;
``|a_i|, |b_j| <= 1e150``; ``|w_i|, |v_j| <= 1e75`` (erf and normal_cdf families),
``<= 1e150`` (piecewise-linear family, no lower limit), ``<= 1e6`` (hermite2..hermite5, gaussian,
monomial2..monomial5, gelu; the gelu Hessian for ``|w_i| <= 100``), ``<= 16``
(sin, cos; ``copyavg.numeric._geometry`` says why); loss scale ``S = sum_m |U_m| sqrt(E[sigma(y_m.x)^2]) <= 1e150``. Within it,
loss and gradient agree with the 50-digit route ``copyavg.numeric.mp`` to relative 1e-9 of
their scale (loss: ``sum |U_m U_m' g_mm'|``; ``dL/da_i``: ``2 sum_m |U_m g_im|``; row ``dL/dw_i``,
norm-wise: ``2 |a_i| (sum_{m != i} |U_m| (|2 g1_im w_i| + |g3_im y_m|) + |a_i s'(|w_i|^2) w_i|)``),
or to absolute 1e-300 where that scale is below the normal float range. The Hessian agrees with a
50-digit Hessian to 1e-9 of ``max|H|`` (entry-wise) over the same range: for the erf family
(``tests/test_erf_hessian.py``: norms 1e-3..1e75, ``|a_i|`` 1e-3..1e12, collinear rows; measured
worst 3e-14) by the chain rule through the second C-partials while every ``|w_i|, |v_j| <= 10``
(its terms then exceed the result by a bounded factor) and beyond in unit-ball variables without
cancelling terms (``copyavg.numeric._hessian_erf``); for the piecewise-linear family at any norm.
An entry that overflows float64 (extreme ``|a_i|``; for the piecewise-linear family extreme ratios
of norms, entries growing like ``|a_i U_m| |y_m| / |w_i|``) raises ``ValueError``.
"""

from __future__ import annotations

import threading

import numpy as np

from . import _geometry as geo_
from ._generated_kernels import GRADIENT, KERNELS
from ._fast_erf import erf_loss_and_gradient
from ._hessian_chain import chain_rule_hessian
from ._hessian_erf import erf_hessian
from ._pair_kernels import _PairKernels
from .activations import Activation, get_activation

#: largest squared norm accepted for a student or teacher vector of the erf family: products
#: C11*C22 of two such values stay below the float64 overflow threshold (about 1.8e308).
MAX_SQUARED_NORM = geo_.MAX_NORM_ERF ** 2
#: erf family: with every |w_i|, |v_j| <= 10 the Hessian comes from the chain rule through the
#: second C-partials (fast; its terms exceed the result by a bounded factor: measured <= 7e-14 of
#: max|H|, tests/test_erf_hessian.py); beyond, from copyavg.numeric._hessian_erf (no cancellation)
_CHAIN_RULE_MAX_Q = 100.0


class NonDifferentiableError(ValueError):
    """The loss has no gradient (or Hessian) at this point; the message says which neurons.

    A ``ValueError``: raised by ``gradient``/``loss_and_gradient``/``hessian`` for the
    piecewise-linear family with a kink at an exactly zero ``w_i`` with ``a_i != 0``, and by
    ``hessian`` at collinear neurons.

    Examples
    --------
    >>> import numpy as np
    >>> Problem(np.ones(1), np.eye(1, 2), "relu").gradient(np.ones(1), np.zeros((1, 2)))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    copyavg.numeric.population.NonDifferentiableError: activation 'relu': the loss is not ...
    """


class Problem(_PairKernels):
    """A teacher ``(b, V)`` and an activation, with everything that depends only on them cached.

    Parameters
    ----------
    b : array_like, shape (k,)
        Teacher outgoing weights, real, ``|b_j| <= 1e150``.
    V : array_like, shape (k, d)
        Teacher incoming weights (rows ``v_j``), real; ``|v_j| <=`` the family's limit: 1e75
        (erf, normal_cdf), 1e150 (piecewise-linear), 1e6 (hermite, gaussian, monomial, gelu), 16 (sin, cos).
    activation : str, default "erf2"
        A name from ``copyavg.numeric.ACTIVATIONS``, or tanh, softplus, sigmoid, silu or an
        expression in z (quadrature family, ``|v_j|, |w_i| <= act.params["max_norm"]``: tanh 2,
        sigmoid/softplus/silu 4; ``copyavg.numeric.series``).

    Raises
    ------
    ValueError
        Wrong shapes, non-real or non-finite entries, values outside the accepted range (see the
        module docstring), or an unknown activation; the message names the argument.

    Notes
    -----
    Thread-safe: a ``Problem`` may be shared between threads. The erf family's
    ``loss_and_gradient`` keeps scratch buffers (``[W; V]`` with the teacher rows filled in once,
    and the like) per thread and per student size ``n``; results are always new arrays.

    Examples
    --------
    >>> import numpy as np
    >>> P = Problem(np.ones(3), np.eye(3, 4), "erf2")
    >>> round(float(P.loss(np.ones(3), np.eye(3, 4))), 12)
    0.0
    >>> round(P.teacher_loss, 6)  # E[f*(x)^2] = 3 s(1) = 3 (2/pi) atan(1/sqrt(3))
    1.0
    """

    def __init__(self, b, V, activation: str = "erf2"):
        self.activation: Activation = get_activation(activation)
        b = geo_.as_real_array(b, "b", 1)
        V = geo_.as_real_array(V, "V", 2)
        if b.shape[0] < 1:
            raise ValueError("b must have at least one entry (k >= 1 teacher neurons)")
        if V.shape[0] != b.shape[0] or V.shape[1] < 1:
            raise ValueError(f"V must have shape (k, d) = ({b.shape[0]}, d >= 1) to match b, got {V.shape}")
        geo_.check_outgoing(b, "b")
        self.homogeneous = self.activation.family == "piecewise_linear"
        self._limits = geo_.limits_key(self.activation)  # key of MAX_NORM and the Hessian range
        # self term of the gradient through s'(|w_i|^2) above this |w_i|^2 (always beyond erf: the
        # pair pieces 2 g1 + g3 = s' cancel where s' is small, e.g. s' = e^{-2q} for sin)
        self._self_term_q = 1e3 if self.activation.family == "erf" else -1.0
        self.nv = geo_.row_norms(V)
        geo_.check_norms(self.nv, "V", self._limits)
        self.b = b.copy()
        self.V = V.copy()
        self.b.setflags(write=False)
        self.V.setflags(write=False)
        self.k, self.d = V.shape
        if self.activation.family == "quadrature":  # any expression in z: Hermite series (numeric/series.py)
            from ._series_fast import Grad1
            from .series import _KernelFunctions, compile_expression

            self._fns = _KernelFunctions(compile_expression(self.activation.name))
            self._grad1 = Grad1(self._fns.cp)  # fast loss and gradient: interpolated coefficients
        else:
            self._fns = KERNELS[self.activation.name]
            self._grad1 = GRADIENT[self.activation.name]  # (g, g1, g3): no g2 for loss and gradient
        self.Vdir = geo_.directions(V, self.nv)
        self._v_ordinary = bool(self.nv.min() >= 1e-140 and self.nv.max() <= 1e140)
        with np.errstate(under="ignore"):
            if self.homogeneous:
                self.qv = None
                self._unit_rms = float(np.sqrt(self._diag(np.ones(1))[0][0]))  # sqrt(s(1))
                self.teacher_scale = self._unit_rms * float(np.abs(b) @ self.nv)
            else:
                Ctt = V @ V.T
                self.qv = np.diagonal(Ctt).copy()
                self._qv_max = float(self.qv.max())
                self.teacher_scale = float(np.abs(b) @ np.sqrt(self._diag(self.qv)[0]))
            geo_.check_loss_scale(self.teacher_scale)
            geom = self._geometry(V, self.nv, self.Vdir, V, self.nv, self.Vdir, self.qv, self.qv,
                                  Ctt if not self.homogeneous else None)
            Gtt = self._pairs(0, geom)[0]
            self.teacher_loss = float(b @ Gtt @ b)  # E[f*(x)^2]
        self._tls = threading.local()  # per-thread scratch of the fast loss_and_gradient
        #: fast path of the erf family: n |a|^2 below this implies sum |a_i| + teacher_scale <= 1e150
        self._a_sq_limit = (geo_.MAX_LOSS_SCALE - self.teacher_scale) ** 2

    def __getstate__(self):  # picklable and copyable: the thread-local scratch is not carried over
        state = self.__dict__.copy()
        del state["_tls"]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._tls = threading.local()

    def _check_differentiable(self, a, geom):
        if self.activation.smooth or geom[0].min() > 0:
            return
        bad = np.flatnonzero((geom[0] == 0) & (a != 0))  # norms: 0 only for an exactly zero row
        if bad.size:
            raise NonDifferentiableError(
                f"activation {self.activation.name!r}: the loss is not differentiable at w_i = 0 "
                f"with a_i != 0 (student neurons {bad.tolist()})"
            )

    # -- public API ---------------------------------------------------------------------------
    def loss(self, a, W) -> float:
        """Population loss ``L = E[(f(x) - f*(x))^2]`` (no 1/2) of the student ``(a, W)``.

        Parameters
        ----------
        a : array_like, shape (n,)
            Student outgoing weights, ``|a_i| <= 1e150``.
        W : array_like, shape (n, d)
            Student incoming weights (rows ``w_i``), within the family's norm range.

        Returns
        -------
        float
            ``L``, within relative 1e-9 of ``sum |U_m U_m' g_mm'|`` of the exact value.

        Raises
        ------
        ValueError
            Bad shape, non-real or non-finite entries, or input outside the accepted range.

        Examples
        --------
        >>> import numpy as np
        >>> P = Problem(np.ones(2), np.eye(2), "relu")
        >>> round(P.loss(np.zeros(1), np.ones((1, 2))), 6)  # zero student: E[f*^2] = 2 s(1) + 2 g(e1, e2)
        1.31831
        """
        with np.errstate(under="ignore"):
            a, W, n, Y, U, geom, _ = self._prepare(a, W)
            G = self._pairs(0, geom)[0]
            L = a @ (G @ U) - a @ (G[:, n:] @ self.b) + self.teacher_loss
        if not np.isfinite(L):
            geo_.check_finite("loss", L)
        return float(L)

    def loss_and_gradient(self, a, W):
        """``(L, dL/da, dL/dW)`` in one pass.

        Erf family at ordinary magnitudes: a fast path (``copyavg.numeric._fast_erf``: per-thread
        scratch buffers, the same formulas, about 50 us at (d, k, n) = (51, 50, 25)); the
        quadrature family has its own (interpolated coefficients, no kernel matrices,
        ``copyavg.numeric._series_grad``); everything else, including every refusal and every
        kernel whose error bound exceeds its tolerance, goes through the general path.

        Parameters
        ----------
        a, W : array_like
            As in ``Problem.loss``.

        Returns
        -------
        L : float
        ga : ndarray, shape (n,)
            ``dL/da``.
        gW : ndarray, shape (n, d)
            ``dL/dW`` (row i is ``dL/dw_i``), each row within relative 1e-9 of its norm-wise scale
            (module docstring).

        Raises
        ------
        NonDifferentiableError
            Piecewise-linear activation with a kink and an exactly zero row ``w_i`` with ``a_i != 0``.
        ValueError
            As in ``Problem.loss``.

        Examples
        --------
        >>> import numpy as np
        >>> P = Problem(np.ones(1), np.eye(1, 2), "erf2")
        >>> L, ga, gW = P.loss_and_gradient(np.ones(1), np.eye(1, 2))  # the student is the teacher
        >>> float(L), ga.tolist(), gW.tolist()
        (0.0, [0.0], [[0.0, 0.0]])
        """
        if not self.homogeneous and (self.activation.exact or self.activation.family == "quadrature"):
            a, W = geo_.check_student(a, W, self.d)
            fast = self._erf_loss_and_gradient(a, W)
            if fast is not None:
                return fast
        with np.errstate(under="ignore"):
            a, W, n, Y, U, geom, (direction, dscale) = self._prepare(a, W)
            self._check_differentiable(a, geom)
            G, G1, _, G3 = self._pairs(1, geom, g1_times_norm=True)
            GU = G @ U
            L = a @ GU - a @ (G[:, n:] @ self.b) + self.teacher_loss
            ga = 2.0 * GU
            gW = (2.0 * a)[:, None] * self._grad_rows(n, U, Y, geom, direction, G1, G3, dscale)
        if not (np.isfinite(L) and np.isfinite(gW).all()):
            geo_.check_finite("loss or its gradient", L, gW)
        return float(L), ga, gW

    def _erf_loss_and_gradient(self, a, W):
        """The fast path (``copyavg.numeric._fast_erf``): ``(L, dL/da, dL/dW)`` or None."""
        return erf_loss_and_gradient(self, a, W)

    def gradient(self, a, W):
        """``(dL/da, dL/dW)``, shapes ``(n,)`` and ``(n, d)``; see ``Problem.loss_and_gradient``.

        Examples
        --------
        >>> import numpy as np
        >>> P = Problem(np.ones(1), np.eye(1, 2), "linear")  # f* = x_1
        >>> ga, gW = P.gradient(np.ones(1), np.zeros((1, 2)))  # f = 0: dL/dw = -2 v
        >>> ga.tolist(), gW.tolist()
        ([0.0], [[-2.0, 0.0]])
        """
        _, ga, gW = self.loss_and_gradient(a, W)
        return ga, gW

    def hessian(self, a, W) -> np.ndarray:
        """Hessian of L in ``theta = (a, W row by row)``, shape ``(n + n d, n + n d)``.

        Parameters
        ----------
        a, W : array_like
            As in ``Problem.loss``.

        Returns
        -------
        ndarray, shape (n + n d, n + n d)
            Symmetric; order ``a_1..a_n``, then ``w_1``, ..., ``w_n``; entry-wise within 1e-9 of
            ``max|H|`` of the exact Hessian (module docstring).

        Raises
        ------
        NonDifferentiableError
            Where it does not exist (piecewise-linear activations with a kink: a neuron at
            ``w_i = 0`` with ``a_i != 0``). At collinear neurons the loss of the piecewise-linear
            family is twice differentiable: its W-W blocks are assembled in weight space
            (``copyavg.numeric.angular``, certificate ``collinear-hessian:NAME``).
        ValueError
            As in ``Problem.loss``, or an entry overflows float64 (extreme ``|a_i|``, or for the
            piecewise-linear family extreme ratios of norms); the families beyond erf and
            piecewise-linear: some ``|w_i|`` beyond their Hessian range (gaussian and normal_cdf
            ``|w_i| <= 100``, otherwise ``|w_i| <= 1e6``) or ``|w_i| |y_m| > 1e75``.

        Examples
        --------
        >>> import numpy as np
        >>> P = Problem(np.ones(1), np.eye(1, 2), "linear")
        >>> P.hessian(np.ones(1), np.eye(1, 2)).tolist()  # L = |a w - v|^2
        [[2.0, 2.0, 0.0], [2.0, 2.0, 0.0], [0.0, 0.0, 2.0]]
        """
        with np.errstate(under="ignore"):
            a, W, n, Y, U, geom, _ = self._prepare(a, W)
            self._check_differentiable(a, geom)
            if self.activation.family == "erf" and not max(geom[0].max(), self._qv_max) <= _CHAIN_RULE_MAX_Q:
                nw = geo_.row_norms(W)
                dirs = np.concatenate((geo_.directions(W, nw), self.Vdir))
                with np.errstate(over="ignore", invalid="ignore"):  # overflow is refused below
                    H = erf_hessian(self.activation.params["lam"], a, Y, U, np.concatenate((nw, self.nv)), dirs)
                    total = H.sum()
                geo_.check_finite("Hessian", total)
                return H
            qlim = geo_.HESSIAN_MAX_SQUARED_NORM.get(self._limits, 1e12)
            if not self.homogeneous and not (geom[0].max() <= qlim and geom[0].max() * geom[1].max() <= 1e150):
                raise ValueError(f"W: the {self.activation.family} Hessian needs |w_i| <= {qlim ** 0.5:g} for every "
                                 "student row w_i (beyond, its W-W blocks cancel) and |w_i| |y_m| <= 1e75 for every "
                                 "row y_m of [W; V] (its second partials overflow float64 beyond)")
            with np.errstate(over="ignore", invalid="ignore"):  # overflow is refused below
                H = chain_rule_hessian(self, a, W, n, Y, U, geom)
            with np.errstate(over="ignore", invalid="ignore"):
                total = H.sum()  # finite iff every entry is (up to a finite-sum overflow: refused too)
        geo_.check_finite("Hessian", total)
        return H
