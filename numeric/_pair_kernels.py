"""Pair geometry and kernel evaluation behind ``copyavg.numeric.population.Problem``.

``_PairKernels`` is the base class of ``Problem`` that holds its private machinery: checking a
student and assembling ``Y = [W; V]``, ``U = [a; -b]``; the geometry of all neuron pairs (squared
norms and ``C12`` for the erf family and the other non-homogeneous families, with ``D = C11 C22 -
C12^2`` refined by projection for near-collinear pairs at large norms; norms and cosines for the
piecewise-linear family, whose kernels are evaluated at unit vectors and rescaled by
``|w|^p |v|^r``, ``copyavg.numeric.kernels.HOMOGENEITY``); the kernel and its partials on those
pairs; the diagonal kernel ``s(q) = g(q, q, q)``; and the rows ``dL/dw_i / (2 a_i)`` of the
gradient. The conventions and accepted ranges are those of ``copyavg.numeric.population``.
"""

from __future__ import annotations

import numpy as np

from . import _geometry as geo_
from .kernels import HOMOGENEITY, PARTIAL_NAMES


class _MaxEntry(dict):
    """(d, family) -> largest |entry| for which a d-vector surely has |w| <= the family's limit."""

    def __missing__(self, key):
        self[key] = v = geo_.MAX_NORM[key[1]] / np.sqrt(key[0])
        return v


_MAX_ENTRY = _MaxEntry()



class _PairKernels:
    """Pair geometry and kernel evaluation of a ``Problem`` (its base class; needs the attributes
    set by ``Problem.__init__``: ``homogeneous``, ``activation``, ``_fns``, ``V``, ``Vdir``, ``qv``,
    ``_qv_max``, ``_v_ordinary``, ``_limits``, ``_unit_rms``, ``_self_term_q``, ``teacher_scale``)."""

    def _geometry(self, R, nr, Rdir, Y, ny, Ydir, qr, qy, C=None):
        """``(r, c, X, D, collinear)`` for all pairs (rows of R against rows of Y; row i of R is row i of Y).

        Piecewise-linear: ``r, c`` the norms, ``X`` the cosines, ``D = 1 - cos^2``. Erf family:
        ``r, c`` the squared norms, ``X = C12``, ``D = C11 C22 - C12^2``, refined by projection for
        near-collinear pairs when ``C11 C22`` is large (then D dominates the kernel's arguments).
        ``collinear`` (piecewise-linear only): pairs collinear up to the rounding of the cosine.
        """
        if self.homogeneous:
            if C is not None:  # ordinary norms: C = R Y^T neither underflows nor overflows
                cos = C / (nr[:, None] * ny[None, :])

                def dirs():
                    Rdir = geo_.directions(R, nr)
                    return Rdir, np.concatenate((Rdir, self.Vdir))

                return (nr, ny) + geo_.cosines(cos, dirs, True)
            with np.errstate(under="ignore"):
                cos = Rdir @ Ydir.T
            return (nr, ny) + geo_.cosines(cos, lambda: (Rdir, Ydir), True)
        P = qr[:, None] * qy[None, :]
        D = P - C * C
        np.maximum(D, 0.0, out=D)
        if Rdir is not None:  # max P > 1e4: |error of D| ~ eps P is no longer negligible next to 1 + C11 + C22
            big = P > 1e4
            cos = C / np.sqrt(np.where(big, P, 1.0))
            geo_.refine_near_collinear(D, cos, Rdir, Ydir, mask=big, scale=P)
            idx = np.arange(R.shape[0])
            D[idx, idx] = 0.0
        return qr, qy, C, D, None

    def _pairs(self, order: int, geom, g1_times_norm: bool = False):
        """``g`` and its partials up to ``order`` for all pairs of ``geom``.

        Piecewise-linear: unit-vector values rescaled by ``|w|^p |v|^r``; with ``g1_times_norm``
        the second output is ``g1 |w|`` (the gradient then uses ``w / |w|``); at order 1 the
        unused ``g2`` is None. Entries with a zero vector are set to their exact value 0.
        """
        r, c, X, D, _ = geom
        if not self.homogeneous:
            out = self._fns[order](r[:, None], c[None, :], X, D)
            out = (out,) if order == 0 else out  # polynomial partials may not involve every argument:
            return tuple(o if np.shape(o) == D.shape else np.array(np.broadcast_to(o, D.shape)) for o in out)
        if order == 2:  # inf at collinear pairs (refused by the caller), overflow for extreme norms
            with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
                return self._rescale_all(self._fns[order](1.0, 1.0, X, D), r, c, order, g1_times_norm)
        # orders 0, 1: finite at unit vectors; rescaled values stay below |w||v| <= 1e300 (range)
        unit = self._fns[order](1.0, 1.0, X, D)
        return self._rescale_all((unit,) if order == 0 else unit, r, c, order, g1_times_norm)

    def _rescale_all(self, unit, r, c, order: int, g1_times_norm: bool):
        """Unit-vector partials times ``|w|^p |v|^r`` (``HOMOGENEITY``); zero vectors give 0."""
        out = []
        for name, u in zip(PARTIAL_NAMES[order], unit):
            if order == 1 and name == "g2":  # not used by the gradient
                out.append(None)
                continue
            p, q = HOMOGENEITY[name]
            out.append(geo_.rescaled(u, r, c, p + (name == "g1" and g1_times_norm), q))
        if r.min() == 0 or c.min() == 0:  # linear: g3 = 1 everywhere (a kinked sigma has none at 0)
            zero = (r == 0)[:, None] | (c == 0)[None, :]
            keep = ("g3",) if self.activation.smooth else ()
            out = [o if name in keep or o is None else np.where(zero, 0.0, o)
                   for name, o in zip(PARTIAL_NAMES[order], out)]
        return tuple(out)

    def _prepare(self, a, W):
        a, W = geo_.check_student(a, W, self.d)
        abs_a = np.abs(a)
        if not float(abs_a.sum()) + self.teacher_scale <= geo_.MAX_LOSS_SCALE:  # also NaN and inf
            geo_.as_real_array(a, "a", 1)
            geo_.check_outgoing(a, "a")  # the loss scale itself is checked below
        n = a.shape[0]
        Y = np.concatenate((W, self.V))
        U = np.concatenate((a, -self.b))
        family = self._limits
        if self.homogeneous:
            return self._prepare_homogeneous(a, W, n, Y, U, abs_a)
        if not np.abs(W).max() <= _MAX_ENTRY[self.d, family]:  # rare: maybe too large, NaN or inf
            geo_.check_norms(geo_.row_norms(W), "W", family)
        if n >= 64:  # large: W W^T by the symmetric BLAS routine, then the teacher block
            C = np.concatenate((W @ W.T, W @ self.V.T), axis=1)
        else:  # small: one product, fewer calls
            C = W @ Y.T
        qw = np.diagonal(C).copy()  # |w_i|^2 exactly as on the diagonal of W W^T: D_ii = 0
        qY = np.concatenate((qw, self.qv))
        if not (family in geo_.BOUNDED_SECOND_MOMENT  # E sigma^2 <= 1
                and float(abs_a.sum()) + self.teacher_scale <= geo_.MAX_LOSS_SCALE):
            geo_.check_loss_scale(float(abs_a @ np.sqrt(self._diag(qw)[0])) + self.teacher_scale)
        Wdir = Ydir = None
        qmax = qw.max()
        if qmax * max(qmax, self._qv_max) > 1e4:  # near-collinear pairs may need the refined D
            nw = geo_.row_norms(W)
            Wdir = geo_.directions(W, nw)
            Ydir = np.concatenate((Wdir, self.Vdir))
        geom = self._geometry(W, None, Wdir, Y, None, Ydir, qw, qY, C)
        return a, W, n, Y, U, geom, (W, None)

    def _prepare_homogeneous(self, a, W, n, Y, U, abs_a):
        """Piecewise-linear family: ordinary norms (all squares within 1e-280..1e280) take the
        cosines from ``W Y^T``; otherwise from unit vectors (no under/overflow at any norm)."""
        C = None
        if self._v_ordinary and n < 64:
            with np.errstate(over="ignore"):  # inf for huge norms: the unit-vector route below
                C = W @ Y.T
            qw = np.diagonal(C)
            ordinary = qw.min() >= 1e-280 and qw.max() <= 1e280
        if C is not None and ordinary:
            nw = np.sqrt(qw)
            geom = self._geometry(W, nw, None, Y, np.concatenate((nw, self.nv)), None, None, None, C)
            direction, dscale = W, 1.0 / nw
        else:
            nw = geo_.row_norms(W)
            geo_.check_norms(nw, "W", self.activation.family)
            Wdir = geo_.directions(W, nw)
            geom = self._geometry(W, nw, Wdir, Y, np.concatenate((nw, self.nv)),
                                  np.concatenate((Wdir, self.Vdir)), None, None)
            direction, dscale = Wdir, None
        geo_.check_loss_scale(self._unit_rms * float(abs_a @ nw) + self.teacher_scale)
        return a, W, n, Y, U, geom, (direction, dscale)

    def _diag(self, q):
        """``(s, s', s'')`` at ``|w|^2 = q``; at huge q the denominators of s'' overflow to inf,
        which gives the correct (negligible) value 0."""
        with np.errstate(over="ignore"):
            return self._fns[3](q)

    def _grad_rows(self, n, U, Y, geom, direction, G1, G3, dscale=None):
        """``P_i = sum_m U_m (2 g1_im w_i + g3_im y_m)`` as ``2 (G1 U)_i dscale_i direction_i +
        ((G3 U) Y)_i`` (``direction`` is W or the unit rows ``w_i / |w_i|``; ``dscale`` None or
        ``1 / |w_i|`` when ``G1`` holds ``g1 |w_i|`` and ``direction`` is W).

        Erf family with large ``|w_i|``: the self term ``m = i`` is taken as ``a_i s'(|w_i|^2) w_i``
        (its two pieces ``2 g1 + g3 = s'`` cancel to relative ``1 / |w_i|^2``); ``G1``, ``G3`` are
        changed in place on their diagonal.
        """
        if not self.homogeneous and geom[0].max() > self._self_term_q:  # else cancellation: eps |w|^2
            idx = np.arange(n)
            G1[idx, idx] = 0.5 * self._diag(geom[0])[1]
            G3[idx, idx] = 0.0
        G1U = G1 @ U
        if dscale is not None:
            G1U *= dscale
        return 2.0 * G1U[:, None] * direction + (G3 * U) @ Y
