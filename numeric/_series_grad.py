r"""Fast loss and gradient of the quadrature family (``Problem.loss_and_gradient``).

The same series, truncation tests and error budget as ``_series_fast.fast_pairs(bounds=False)``
(which ``_series_fast.Grad1`` feeds to ``copyavg.numeric._fast_erf``), arranged for the three
uses the loss and its gradient make of the kernels (docs/theory.md §2):

* ``g`` and ``g1`` enter only through the products ``G (2U)``, ``G_st b`` and ``G1 (2U)``, and their
  series share the column coefficients (those of sigma) and the powers: with ``x = rho^step`` and
  ``Z[t] = x^t rho^p``, ``(G u)_i = sum_t A0[i, t] (Z[t] (B0[:, t] u))_i`` is one batched
  matrix product over the terms for all three vectors, not a matrix of kernel values per term;
* ``g3`` is needed as a matrix (``dL/dW = M [W; V]``); it is summed over the terms with the
  powers computed once for both;
* per call only the students' interpolated coefficients are evaluated (one Chebyshev basis
  matrix times the needed columns of the interpolant); the teacher's, and their tails, are
  kept per tier;
* a neuron paired with itself takes the interpolated diagonal kernels (``g = s``,
  ``g1 = s' / 2``, ``g3 = 0``: the general path's self term), the pairs with
  ``FAR_RHO < |rho| <= MID_RHO`` the tier's ``Ns`` terms (gathered), when the truncation tests
  of ``fast_pairs`` pass for them.

Anything else (a pair needing more terms or the direct route, a norm outside the interpolants'
range, a failed truncation test, the erf family's range checks) returns None, and the route of
``copyavg.numeric._fast_erf`` with ``fast_pairs`` decides (and in turn the general path).
"""

from __future__ import annotations

import math

import numpy as np

from . import _geometry as geo_
from ._fast_erf import scratch
from ._series_fast import FAR_RHO, MID_RHO
from ._series_pairs import QUAD_SAFETY, TOL

#: kernels (kA, kB) of Price's theorem used by the loss and gradient: g, 2 g1, g3
KS = ((0, 0), (2, 0), (1, 1))
#: numbers held by each of the sweep's two scratch arrays (terms x rows x columns), at most
BUFFER_SIZE = 2 ** 20


class Plan:
    """One tier's data for ``loss_and_gradient``: the interpolant's columns it needs, as rows of
    ``values``: ``c[sigma'']`` (the terms of ``2 g1``), ``c[sigma]`` (of ``g``; also the column side
    of both), ``c[sigma']`` (of ``g3``, both sides), ``sqrt(E f^2)`` of the same three, then the
    diagonal kernels ``(0, 0)``, ``(1, 1)``, ``(0, 2)``.

    For an odd sigma only every other coefficient is nonzero (``step = 2``, ``n = p + 2 t``;
    ``p = 1`` for ``g`` and ``g1``, 0 for ``g3``), else ``step = 1``, ``p = 0``; ``T`` terms each
    (``n <= Ns``, as ``_series_fast._Layout``). ``e3``: ``2 QUAD_SAFETY`` times the coefficients'
    error (quadrature and interpolation) of the three, as in ``_series_fast._tails``."""

    def __init__(self, cp, t: int, it):
        from ._series_fast import DIAG_PAIRS

        L = it.Ns + 1
        self.step = 2 if it.parity else 1
        self.p = 1 if it.parity else 0  # g and g1 (kA = 0, 2); g3 (kA = 1) has p = 0
        self.T = T = (L - 1 - self.p) // self.step + 1
        ar = self.step * np.arange(T)
        cols = np.concatenate((2 * (L + 1) + self.p + ar, self.p + ar, (L + 1) + ar,
                               [2 * (L + 1) + L, L, (L + 1) + L],
                               [5 * (L + 1) + DIAG_PAIRS.index(pair) for pair in ((0, 0), (1, 1), (0, 2))]))
        self.coefT = np.ascontiguousarray(it.coef[:, cols].T)
        self.arD = np.arange(self.coefT.shape[1], dtype=float)
        self.arT = np.arange(T, dtype=float)
        self.half = 2.0 / (it.rmax - it.rlo)  # x = (|w| - rlo) half - 1 in [-1, 1]
        self.shift = it.rlo * self.half + 1.0
        self.qlo = it.qlo
        e_k = np.asarray(cp.tiers[t][3]) + it.interp_err
        self.e3 = (2 * QUAD_SAFETY) * e_k[[2, 0, 1]]
        self.eA, self.eB = e_k[[a for a, _ in KS]], e_k[[b for _, b in KS]]
        self.it = it
        self.ok = TOL / 4 + QUAD_SAFETY * max(e_k[a] + e_k[b] for a, b in KS) <= TOL  # as fast_pairs
        self.teacher: tuple | None = None  # (qv, sqrt(qv), rows c[sigma], c[sigma'], tails)

    def values(self, q):
        """Interpolated rows (class docstring) at squared norms ``q`` within ``[qlo, q_t]``, shape
        ``(rows, q.size)``."""
        x = np.sqrt(q)
        x *= self.half
        x -= self.shift
        np.minimum(np.maximum(x, -1.0, out=x), 1.0, out=x)
        return np.dot(self.coefT, np.cos(np.multiply.outer(self.arD, np.arccos(x))))

    def rel_tails(self, V):
        """``max_rows T[t] / S`` for the three coefficient blocks, shape ``(3, T)``: with ``T = S -
        sum_{terms <= t} c^2`` floored at ``4 eps S`` plus ``2 QUAD_SAFETY e S`` (``_series_fast._tails``),
        as ``max(1 - min_rows sum c^2 / S, 4 eps) + 2 QUAD_SAFETY e``."""
        n, T = V.shape[1], self.T
        y = V[: 3 * T].reshape(3, T, n) / V[3 * T: 3 * T + 3, None, :]
        y *= y
        rel = np.cumsum(y, axis=1).min(2)
        np.subtract(1.0, rel, out=rel)
        np.maximum(rel, 4e-16, out=rel)
        rel += self.e3[:, None]
        return rel

    def teacher_part(self, qv):
        """``(sqrt(qv), rows c[sigma] and c[sigma'], their largest tails)`` of the teacher (kept),
        or None below the interpolants' range."""
        kept = self.teacher
        if kept is None or kept[0] is not qv:  # the Problem's own array: the same teacher
            if not qv.min() >= self.qlo:
                return None
            V = self.values(qv)
            rel = self.rel_tails(V)
            self.teacher_full, self.teacher_q = self.it._eval(qv), qv.copy()  # for _mid_pairs_full
            kept = self.teacher = (qv, np.sqrt(qv), V[self.T: 3 * self.T].copy(), np.maximum(rel[1], rel[2]))
        return kept[1:]


def plan(grad1, t: int):
    """The tier's ``Plan`` (kept on ``grad1``), or None when the tier has no interpolant."""
    hit = grad1.plans.get(t, False)
    if hit is False:
        it = grad1.cp.interp(t)
        hit = grad1.plans[t] = None if it is None else Plan(grad1.cp, t, it)
    return hit


def _buffers(P, n: int, m: int, T: int):
    """This thread's scratch (made on first use, the last shape kept): two arrays ``(T, rows, m)``
    (the powers, their products with ``rho^p``; ``rows <= n`` such that each holds at most
    ``BUFFER_SIZE`` numbers, the sweep then takes the rows in blocks), one ``(n, m)`` for ``g3``."""
    s = getattr(P._tls, "series", None)
    if s is None or s[0] != (n, m, T):
        rows = max(1, min(n, BUFFER_SIZE // (T * m)))
        s = P._tls.series = ((n, m, T), np.empty((T, rows, m)), np.empty((T, rows, m)), np.empty((n, m)))
    return s[1:]


def loss_and_gradient(grad1, P, a, W):
    """``(L, dL/da, dL/dW)`` of ``Problem`` ``P`` (quadrature family) by the route of the module
    docstring; None: ``copyavg.numeric._fast_erf`` with ``fast_pairs`` decides; False: the general
    path (``fast_pairs`` would decline too). ``a``, ``W``: checked arrays.

    The kernels are the series of ``fast_pairs`` with the same numbers of terms and the same
    truncation tests, so every kernel value used is within ``TOL`` of its scale."""
    cp, n = grad1.cp, a.shape[0]
    _, Y, YT, UU, *_rest = scratch(P, n)
    with np.errstate(all="ignore"):
        if not n * float(np.dot(a, a)) <= P._a_sq_limit:  # also NaN and inf
            return None
        Y[:n] = W
        YT[:, :n] = W.T
        np.add(a, a, out=UU[0, :n])  # UU = [2U; (0, b)]
        C = np.dot(W, YT)  # C12 = w_i . y_m
        qw = geo_._diagonal(C).copy()  # |w_i|^2 as on the diagonal: rho_ii = 1 up to rounding
        qmax = max(float(qw.max()), P._qv_max)
        if not qmax <= cp.tiers[-1][0]:  # also NaN
            return None
        pl = plan(grad1, cp.tier(qmax))
        if pl is None or not pl.ok or not qw.min() >= pl.qlo:
            return None
        teacher = pl.teacher_part(P.qv)
        if teacher is None:
            return None
        out = _series_terms(pl, teacher, qw, C, UU, _buffers(P, n, C.shape[1], pl.T))
        if not out:  # None: fast_pairs decides; False: the general path
            return out
        GU2, G3U, d00 = out
        GU, G1U2 = GU2[1], GU2[0, 0]
        if not d00.max() <= 1.0:  # else loss scale sum |a_i| sqrt(s(q_i)) + ... <= sum |a_i| + ... <= 1e150
            if not float(np.dot(np.abs(a), np.sqrt(np.maximum(d00, 0.0)))) + P.teacher_scale <= geo_.MAX_LOSS_SCALE:
                return None
        aR = np.dot(GU, a)
        L = 0.5 * float(aR[0]) - float(aR[1]) + P.teacher_loss  # a.(G U) - a.(G_st b) + T
        G3U *= UU[0, :n, None]  # 2 a_i U_m g3_im (g3_ii = 0)
        geo_._diagonal(G3U)[:] = G1U2 * a  # 4 a_i (G1 U)_i, the term of w_i
        gW = np.dot(G3U, Y)
        if not math.isfinite(L + float(np.sum(gW))):
            return None
    return L, GU[0], gW


def _series_terms(pl, teacher, qw, C, UU, bufs):
    """``(GU2, G3U, s)``: ``GU2[j, c]`` the products of ``2 G1`` (j = 0) and ``G`` (j = 1) with
    ``2U`` (c = 0) and ``(0, b)`` (c = 1); ``G3U = g3_im U_m`` (self pairs 0; a scratch array);
    ``s`` the diagonal kernel. None or False when a truncation test fails or a pair is not
    covered (``loss_and_gradient``).

    One sweep over all pairs (but a neuron with itself: the diagonal kernels) with the fewest
    terms meeting ``TOL / 10`` at the largest ``|rho| <= FAR_RHO`` and ``TOL / 4`` at the largest
    ``|rho| <= MID_RHO`` (``fast_pairs``: far pairs at ``TOL / 10``, the others with all T terms
    once T meet ``TOL / 4``; more terms only shrink a truncation bound). When T terms do not
    meet ``TOL / 4``, the pairs above ``FAR_RHO`` take the coefficients up to ``Nint``
    (``_mid_pairs_full``)."""
    sB, BT_teacher, relT = teacher
    T, n, m = pl.T, qw.size, C.shape[1]
    VT = pl.values(qw)
    sA = np.sqrt(qw)
    rho = C / np.multiply.outer(sA, np.concatenate((sA, sB)))  # not clipped: |rho| > 1 only by rounding
    if not geo_._diagonal(rho).min() >= 1 - 1e-13:
        return None  # every self pair is collinear (rho_ii = 1 up to rounding)
    terms = _term_counts(pl, VT, relT, qw, rho)
    if not terms:
        return terms
    K, mid = terms
    if mid is not None:
        mi, mm, mid = mid
    X, Z, G3U = bufs
    BT = np.concatenate((VT[T: 3 * T], BT_teacher), axis=1)  # rows c[sigma], c[sigma'] of every column
    U = 0.5 * UU[0]
    R = rho.copy() if pl.p else np.ones_like(rho)  # rho^p of g and g1
    geo_._diagonal(R)[:] = 0.0  # the self pairs (and those of _mid_pairs_full): taken below
    if mid is not None:
        R[mi, mm] = 0.0
    x = rho * rho if pl.step == 2 else rho
    W2 = BT[:K, :, None] * UU.T  # (K, m, 2): B0[m, t] (2U, (0, b))_m
    B1U = BT[T: T + K] * U
    A2 = VT[: 2 * T].reshape(2, T, n)[:, :K]  # rows c[sigma''], c[sigma]
    GU2 = np.empty((2, 2, n))
    rows = X.shape[1]
    for lo in range(0, n, rows):  # blocks of rows: the buffers stay within BUFFER_SIZE
        hi = min(lo + rows, n)
        Xb, Zb = X[:K, : hi - lo], Z[:K, : hi - lo]
        _powers(x[lo:hi], Xb)
        np.multiply(Xb, R[lo:hi], out=Zb)
        H = np.matmul(Zb, W2)  # (K, rows, 2): sum_m Z[t, i, m] B0[m, t] (2U, (0, b))_m
        GU2[:, :, lo:hi] = np.einsum("jti,tic->jci", A2[:, :, lo:hi], H)
        np.einsum("ti,tim,tm->im", VT[2 * T: 2 * T + K, lo:hi], Xb, B1U, out=G3U[lo:hi])
    d00, d11, d02 = VT[-3], VT[-2], VT[-1]
    GU2[1, 0] += d00 * UU[0, :n]  # self pairs: g = s, 2 g1 = s', g3 = 0
    GU2[0, 0] += (d11 + d02) * UU[0, :n]
    geo_._diagonal(G3U)[:] = 0.0
    if mid is not None:  # rows 2 g1, g, g3
        G3U[mi, mm] = mid[2] * U[mm]
        E = np.zeros((mi.size, n))
        E[np.arange(mi.size), mi] = 1.0
        GU2 += np.matmul(mid[:2, None, :] * UU[:, mm], E)
    return GU2, G3U, d00


def _term_counts(pl, VT, relT, qw, rho):
    """``(K, mid)``: the sweep's terms and, when the tier's terms do not meet ``TOL / 4`` for the
    pairs above ``FAR_RHO``, ``(rows, columns, values)`` of those pairs (``_mid_pairs_full``);
    False when a test fails or a pair lies above ``MID_RHO`` (``_series_terms``)."""
    absr = np.abs(rho)
    geo_._diagonal(absr)[:] = 0.0  # self pairs: the diagonal kernels
    r_far = r_top = float(absr.max())
    if r_top > FAR_RHO:
        if not r_top <= MID_RHO:
            return False  # the direct route (fast_pairs declines too): the general path
        r_far = float((absr * (absr <= FAR_RHO)).max())
    rel3 = pl.rel_tails(VT)
    rel = np.sqrt(rel3.max(0) * np.maximum(rel3[1:].max(0), relT)).tolist()
    K = _terms(r_far, pl, rel, TOL / 10)
    if K is None:
        return False  # fast_pairs declines too: the general path
    if r_top > FAR_RHO:
        Km = _terms(r_top, pl, rel, TOL / 4)
        if Km is None:  # the pairs above FAR_RHO from the coefficients up to Nint
            mi, mm = np.nonzero(absr > FAR_RHO)
            vals = _mid_pairs_full(pl, qw, rho, mi, mm)
            return False if vals is None else (K, (mi, mm, vals))
        K = max(K, Km)
    return K, None


def _terms(r, pl, rel, tol):
    """Fewest terms ``K`` with ``r^(step K) rel[K - 1] <= tol`` (the truncation test), or None
    (``rel`` a list: a few floats, compared in Python)."""
    for K, v in enumerate(rel, 1):
        if r ** (pl.step * K) * v <= tol:
            return K
    return None


def _powers(x, X):
    """``X[t] = x^t`` for ``t < len(X)`` by doubling (two products per doubling of ``t``)."""
    K = X.shape[0]
    X[0] = 1.0
    if K > 1:
        X[1] = x
    j = 2
    while j < K:
        np.multiply(X[j - 1], x, out=X[j])
        hi = min(2 * j, K)
        if hi > j + 1:
            np.multiply(X[1: hi - j], X[j], out=X[j + 1: hi])
        j = hi


def _mid_pairs_full(pl, qw, rho, mi, mm):
    """``(2 g1, g, g3)`` of the pairs ``(mi, mm)`` from the interpolated coefficients up to
    ``Nint`` (``_series_fast._mid_pairs``, its truncation test at ``TOL / 10``), or None."""
    from ._series_fast import _mid_pairs

    it, n = pl.it, qw.size
    VA = it._eval(qw)
    VB = np.concatenate((VA, pl.teacher_full))
    qB = np.concatenate((qw, pl.teacher_q))
    mid = np.zeros(rho.shape, dtype=bool)
    mid[mi, mm] = True
    val = np.empty((3,) + rho.shape)
    if not _mid_pairs(it, KS, qw, qB, VA, VB, rho, mid, pl.eA, pl.eB, val, None):
        return None
    return val[[1, 0, 2]][:, mi, mm]  # 2 g1, g, g3
