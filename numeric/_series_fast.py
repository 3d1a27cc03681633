r"""Interpolated Hermite coefficients of the quadrature family (``copyavg.numeric.series``).

A student's coefficients ``c_n[sigma^(k)](q)`` depend on the single scalar ``r = sqrt(q) = |w|``.
Per tier (squared norms up to ``q_t``, M nodes, far terms ``Ns``) they are interpolated once, at
the first use of the tier, by a Chebyshev polynomial in ``r`` on ``[r_t / 20, r_t]`` (degree D,
the smallest of ``DEGREES`` that meets ``INTERP_TOL``), together with ``sqrt(E f^2)`` and the
collinear (diagonal) kernels ``E[sigma^(a)(r z) sigma^(b)(r z)]`` of Price's theorem; evaluating
them for a new student is one small matrix product instead of an M-node quadrature.

The interpolation error is measured against the direct M-node quadrature on a grid of
``4 (D + 1)`` points spread over the interval (between and beyond the Chebyshev nodes), relative
to ``sqrt(E f^2)`` (to ``sqrt(E f_a^2 E f_b^2)`` for the diagonal kernels), and the largest
measured value ``interp_err`` is added to the tier's coefficient error ``errs[k]`` for every k: it
then enters the tails ``T`` and the bounds exactly as the quadrature error does (an estimate on
a grid, not a proof, like the quadrature error itself). A tier whose interpolant does not meet
``INTERP_TOL``, and any evaluation with a squared norm below ``(r_t / 20)^2`` (where the
relative error of an interpolant of a vanishing function would grow), keeps the direct route.
"""

from __future__ import annotations

import functools

import numpy as np

from ._series_pairs import NEAR_RHO, QUAD_SAFETY, TOL, _near_pairs, _tier_grid

#: the interpolation error must stay below this (relative), far below the tier's TOL / 20 budget
INTERP_TOL = TOL / 100
#: Chebyshev degrees tried
DEGREES = (48, 64, 96)
#: the interpolants cover r in [R_LOW r_t, r_t]
R_LOW = 0.05
#: pairs with |rho| <= FAR_RHO: one matrix Horner pass; up to MID_RHO (other than a neuron with
#: itself): gathered, with the interpolated coefficients up to ``Nint`` (enough at MID_RHO)
FAR_RHO = 0.35
MID_RHO = 0.9
#: diagonal kernels E[sigma^(a) sigma^(b)] kept (a <= b; Price's partials need a + b even, <= 4)
DIAG_PAIRS = ((0, 0), (0, 2), (1, 1), (0, 4), (1, 3), (2, 2))


class TierInterp:
    """Chebyshev interpolants of one tier: ``values(q)`` -> coefficients ``c_0..c_Nint`` and
    ``sqrt(E f^2)`` of ``sigma^(k)`` (k = 0..4) then the diagonal kernels; ``interp_err`` their
    measured error (relative); ``parity``: for an odd sigma, ``c_n[sigma^(k)] = 0`` unless
    ``n = k + 1 (mod 2)``, else None."""

    def __init__(self, cp, t: int):
        qt, M, N, _errs, Ns = cp.tiers[t]
        self.cp, self.t, self.M = cp, t, M
        self.rmax = float(np.sqrt(qt))
        self.rlo = R_LOW * self.rmax
        self.qlo = self.rlo ** 2
        self.parity = cp.odd
        self.coef = None
        self.interp_err = np.inf
        self.Ns, self.Nint = Ns, N  # as many terms as the tier has, to find Nint
        self.nlow = 5 * (Ns + 2) + len(DIAG_PAIRS)  # columns evaluated for every row
        ref = self._direct(np.array([self.rmax]))
        rel = []
        for k in range(5):
            c, sq = self._coefs(ref, k)[0], max(ref[0, k * (Ns + 2) + Ns + 1], 1e-300)
            rel.append(np.maximum(1.0 - np.cumsum(c * c) / sq ** 2, 0.0) + 1e-15)
        worst = np.max([np.sqrt(rel[a] * rel[b]) for a in range(5) for b in range(5) if (a + b) % 2 == 0], axis=0)
        ok = np.flatnonzero(MID_RHO ** np.arange(1, N + 2) * worst <= TOL / 20)
        self.Nint = max(int(ok[0]) if ok.size else N, Ns)  # columns 0..Nint kept
        self.nlow = 5 * (Ns + 2) + len(DIAG_PAIRS)  # columns evaluated for every row
        self._last = (None, None)
        self._kept = (None, None)
        self.layouts: dict = {}
        for D in DEGREES:
            x = np.cos(np.pi * (np.arange(D + 1) + 0.5) / (D + 1))  # first kind: no endpoints
            vals = self._direct(self._r(x))
            T = np.cos(np.outer(np.arccos(x), np.arange(D + 1)))
            coef = (2.0 / (D + 1)) * (T.T @ vals)  # discrete orthogonality of T_j at these nodes
            coef[0] /= 2
            fine = np.linspace(self.rlo, self.rmax, 4 * (D + 1))
            err = self._error(self._direct(fine), self._basis(fine, D + 1) @ coef)
            if err <= INTERP_TOL:
                self.coef, self.interp_err, self.degree = coef, err, D
                break

    def _r(self, x):
        return self.rlo + (x + 1.0) * (0.5 * (self.rmax - self.rlo))

    def _basis(self, r, D1):
        """``T_j(x(r))`` for j < D1 (as ``cos(j arccos x)``: one vectorised pass)."""
        x = np.clip((r - self.rlo) * (2.0 / (self.rmax - self.rlo)) - 1.0, -1.0, 1.0)
        return np.cos(np.outer(np.arccos(x), np.arange(D1)))

    def values(self, q, split: int | None = None):
        """Interpolated low columns (``_direct``'s layout: coefficients up to ``Ns``, sqrt second
        moments, diagonal kernels) at squared norms ``q`` within ``[qlo, q_t]``. ``q[split:]``
        (the teacher's) is kept from the last call that had it; so are the last rows computed
        (the diagonal asks for the students' rows again)."""
        if split is None:
            last = self._last
            if last[0] is not None and q.size <= last[0].size and np.array_equal(last[0][: q.size], q):
                return last[1][: q.size]
            return self._eval(q)
        head, tail = q[:split], q[split:]
        key = tail.tobytes()
        kept = self._kept
        if kept[0] != key:
            kept = self._kept = (key, self._eval(tail))
        last = self._last  # the diagonal may have asked for the students' rows first
        fresh = (last[1][:split] if last[0] is not None and last[0].size == split and np.array_equal(last[0], head)
                 else self._eval(head))
        V = np.concatenate((fresh, kept[1]))
        self._last = (head.copy(), V[:split])  # a copy: the caller may reuse its buffer
        return V

    def _eval(self, q):
        with np.errstate(under="ignore"):  # tiny coefficients (high n at small r) may round to 0
            return self._basis(np.sqrt(q), self.coef.shape[0]) @ self.coef[:, : self.nlow]

    def high(self, q):
        """Interpolated ``c_{Ns+1}..c_Nint`` of ``sigma^(k)``, shape ``(q.size, 5, Nint - Ns)``."""
        with np.errstate(under="ignore"):
            V = self._basis(np.sqrt(q), self.coef.shape[0]) @ self.coef[:, self.nlow:]
        return V.reshape(q.size, 5, self.Nint - self.Ns)

    def _coefs(self, V, k):
        """``c_0..c_Nint`` of ``sigma^(k)`` from columns in ``_direct``'s layout."""
        L, H = self.Ns + 1, self.Nint - self.Ns
        return np.concatenate((V[:, k * (L + 1): k * (L + 1) + L], V[:, self.nlow + k * H: self.nlow + (k + 1) * H]), 1) \
            if H else V[:, k * (L + 1): k * (L + 1) + L]

    def _direct(self, r):
        """Columns: per k = 0..4 ``c_0..c_Ns`` then ``sqrt(S_k)``; the ``DIAG_PAIRS`` kernels; per
        k ``c_{Ns+1}..c_Nint``. Nodes whose weight underflows to 0 are left out (they add 0)."""
        cp, M, L, Ni = self.cp, self.M, self.Ns + 1, self.Nint
        x, sw, Q = _tier_grid(M)
        keep = sw > 0
        x, sw, Q = x[keep], sw[keep], Q[keep]
        low, high, F = [], [], []
        with np.errstate(all="ignore"):  # a non-finite value makes the error inf: no interpolant
            w = sw * sw  # weights below the smallest double: 0 (they multiply bounded values)
            for k in range(5):
                f = cp.values(k, r[:, None] * x[None, :])
                F.append(f)
                c = (f * sw) @ Q[:, : Ni + 1]
                low += [c[:, :L], np.sqrt((f * f) @ w)[:, None]]
                high.append(c[:, L:])
            low += [((F[a] * F[b]) @ w)[:, None] for a, b in DIAG_PAIRS]
        return np.concatenate(low + high, axis=1)

    def _error(self, ref, app):
        L = self.Ns + 1
        worst = 0.0
        with np.errstate(all="ignore"):
            for k in range(5):
                c0 = k * (L + 1)
                s = np.maximum(ref[:, c0 + L], 1e-300)
                e = (np.linalg.norm(self._coefs(app, k) - self._coefs(ref, k), axis=1)
                     + np.abs(app[:, c0 + L] - ref[:, c0 + L])) / s
                worst = max(worst, float(np.max(e)))
            for j, (a, b) in enumerate(DIAG_PAIRS):
                col = 5 * (L + 1) + j
                s = np.maximum(ref[:, a * (L + 1) + L] * ref[:, b * (L + 1) + L], 1e-300)
                worst = max(worst, float(np.max(np.abs(app[:, col] - ref[:, col]) / s)))
        return worst if np.isfinite(worst) else np.inf


class _Layout:
    """Column indices of one side of ``ks`` in ``TierInterp.values``: ``idx[j, m]`` the coefficient
    of the m-th term of kernel j (``n = p_j + step m``: for an odd sigma, ``step = 2`` and
    ``p_j = kA + 1 mod 2``, the other coefficients being 0; else ``step = 1``, ``p_j = 0``),
    ``sq[j]`` the column of ``sqrt(S)``."""

    def __init__(self, it, ks, side):
        L = it.Ns + 1
        self.step = 2 if it.parity else 1
        self.p = np.array([(pair[0] + 1) % 2 if it.parity else 0 for pair in ks])
        terms = (L - 1 - self.p.max()) // self.step + 1  # every kernel: n <= Ns
        k = np.array([pair[side] for pair in ks])
        self.idx = (k * (L + 1) + self.p)[:, None] + self.step * np.arange(terms)[None, :]
        self.sq = k * (L + 1) + L


def _layout(it, ks, side):
    key = (tuple(ks), side)
    hit = it.layouts.get(key)
    if hit is None:
        hit = it.layouts[key] = _Layout(it, ks, side)
    return hit


def _blocks(it, V, ks, side):
    """Coefficients ``(len(ks), rows, terms)`` (``_Layout``) and second moments ``(len(ks), rows)``."""
    lay = _layout(it, ks, side)
    return V[:, lay.idx].transpose(1, 0, 2), (V[:, lay.sq] ** 2).T


def _tails(C, S, e):
    """``T_m = S - sum_{terms <= m} c^2`` (floor ``4 eps S``) plus ``2 QUAD_SAFETY e S`` (as ``moments``)."""
    T = np.maximum(S[..., None] - np.cumsum(C * C, axis=-1), 4e-16 * S[..., None])
    return T + (2 * QUAD_SAFETY * e[:, None, None]) * S[..., None]


def _series_sum(A, B, rho, Nd, lay, outer: bool):
    """``sum_{m<=Nd} A[j, i, m] B[j, m', m] rho^(p_j + step m)`` over the matrix of pairs
    (``outer``: Horner, all kernels at once) or element by element (powers at once)."""
    x = rho * rho if lay.step == 2 else rho
    if outer:
        At = np.ascontiguousarray(A[..., : Nd + 1].transpose(2, 0, 1))[:, :, :, None]
        Bt = np.ascontiguousarray(B[..., : Nd + 1].transpose(2, 0, 1))[:, :, None, :]
        val = At[Nd] * Bt[Nd]
        tmp = np.empty_like(val)
        for n in range(Nd - 1, -1, -1):
            val *= x
            np.multiply(At[n], Bt[n], out=tmp)
            val += tmp
    else:
        powers = np.cumprod(np.concatenate((np.ones((x.size, 1)), np.repeat(x[:, None], Nd, 1)), 1), 1)
        val = np.einsum("jpn,jpn,pn->jp", A[..., : Nd + 1], B[..., : Nd + 1], powers)
    if lay.p.any():
        val[lay.p == 1] *= rho
    return val


def _ipow(x, k: int):
    """``x^k`` for an integer ``k >= 1`` by repeated squaring (a few products, not ``pow``)."""
    out, base = None, x
    while k:
        if k & 1:
            out = base if out is None else out * base
        k >>= 1
        if k:
            base = base * base
    return out


def _tail_power(absr, Nd, lay):
    """``|rho|^(first omitted n)`` for each kernel: ``p_j + step (Nd + 1)``."""
    P = _ipow(absr, lay.step * (Nd + 1))
    P = np.repeat(P[None], lay.p.size, 0)
    if lay.p.any():
        P[lay.p == 1] *= absr
    return P


def _truncation(TA, SA, TB, SB, r_max, lay, limit):
    """Fewest terms ``Nd`` with ``r_max^(step (Nd+1)) sqrt(max T_A/S_A max T_B/S_B) <= limit``, or None."""
    rel = np.sqrt((TA / np.maximum(SA, 1e-300)[..., None]).max((0, 1))
                  * (TB / np.maximum(SB, 1e-300)[..., None]).max((0, 1)))
    ok = np.flatnonzero(r_max ** (lay.step * np.arange(1, rel.size + 1)) * rel <= limit)
    return int(ok[0]) if ok.size else None


def fast_pairs(cp, t: int, ks, qA, qB, rho, bounds: bool = True):
    """``_cross_pairs`` from the interpolated coefficients (same series, same bounds with the
    interpolation error added to the coefficients' error); None when the tier has no interpolant
    or a squared norm lies below its range. Pairs with ``|rho| <= FAR_RHO``: one Horner pass over
    the matrix; a neuron paired with itself (same squared norm, ``rho >= 1 - 1e-13``): the
    interpolated diagonal kernel; other pairs up to ``MID_RHO``: gathered, with the tier's ``Ns``
    terms when they meet ``TOL / 4``, else up to ``Nint``; the rest (or when ``Nint`` terms do not
    meet ``TOL / 10``): the direct route (``_near_pairs``).

    ``bounds=False`` (the fast loss and gradient): ``(values, ok)`` without the bound arrays; ok
    when every pair took a route whose truncation test guarantees a bound within ``TOL / 4`` of
    its scale and the coefficients' error adds at most the rest of ``TOL`` (so no bound exceeds
    ``TOL``); not ok (the caller then takes the general path) when some pair needs the direct route."""
    it = cp.interp(t)
    if it is None or min(qA.min(initial=np.inf), qB.min(initial=np.inf)) < it.qlo:
        return None
    errs, Ns = cp.tiers[t][3], cp.tiers[t][4]
    n = qA.size
    same = qB.size >= n and np.array_equal(qB[:n], qA)
    V = it.values(qB, n) if same else it.values(np.concatenate((qA, qB)))
    VA, VB = V[:n], V[V.shape[0] - qB.size:]
    e_k = np.asarray(errs) + it.interp_err
    eA = e_k[[pair[0] for pair in ks]]
    eB = e_k[[pair[1] for pair in ks]]
    lay = _layout(it, ks, 0)
    A, SA = _blocks(it, VA, ks, 0)
    B, SB = _blocks(it, VB, ks, 1)
    TA, TB = _tails(A, SA, eA), _tails(B, SB, eB)
    absr = np.abs(rho)
    far = absr <= FAR_RHO
    last = A.shape[2] - 1
    Nd = _truncation(TA, SA, TB, SB, float(np.max(np.where(far, absr, 0.0), initial=0.0)), lay, TOL / 10)
    ok = Nd is not None and TOL / 4 + QUAD_SAFETY * float(np.max(eA + eB)) <= TOL
    Nd = last if Nd is None else Nd
    val = _series_sum(A, B, rho, Nd, lay, True)
    bound = _tail_power(absr, Nd, lay) * np.sqrt(TA[:, :, None, Nd] * TB[:, None, :, Nd]) if bounds else None
    rest = ~far
    if rest.any():
        ok &= _other_pairs(cp, t, ks, (qA, qB, VA, VB, same), rho, absr, rest, (A, SA, TA, eA), (B, SB, TB, eB),
                           lay, val, bound)
    if not bounds:
        return val, ok
    scale = np.sqrt(SA[:, :, None] * SB[:, None, :])
    bound += scale * QUAD_SAFETY * (eA + eB)[:, None, None]  # coefficients (quadrature and interpolation)
    return val, bound, scale


def _other_pairs(cp, t, ks, rows, rho, absr, rest, sideA, sideB, lay, val, bound) -> bool:
    """In place: the pairs of ``rest`` (``|rho| > FAR_RHO``) of ``fast_pairs`` (``bound`` None: no
    bounds, and False when a pair would need the direct route)."""
    qA, qB, VA, VB, same = rows
    A, SA, TA, eA = sideA
    B, SB, TB, eB = sideB
    it, Ns, n = cp.interp(t), cp.tiers[t][4], qA.size
    last = A.shape[2] - 1
    if same:
        idx = np.arange(n)
        self_pair = np.zeros(rest.shape, dtype=bool)
        self_pair[idx, idx] = rho[idx, idx] >= 1 - 1e-13
        if self_pair.any():
            i = np.flatnonzero(self_pair[idx, idx])
            cols = [5 * (Ns + 2) + DIAG_PAIRS.index((min(kA, kB), max(kA, kB))) for kA, kB in ks]
            val[:, i, i] = VA[i][:, cols].T
            if bound is not None:
                bound[:, i, i] = 0.0
            rest &= ~self_pair
    mid = rest & (absr <= MID_RHO)
    if mid.any():
        i, m = np.nonzero(mid)
        r = rho[i, m]
        rm = float(np.abs(r).max())
        if _truncation(TA, SA, TB, SB, rm, lay, TOL / 4) is not None:  # Ns terms suffice
            val[:, i, m] = _series_sum(A[:, i], B[:, m], r, last, lay, False)
            if bound is not None:
                bound[:, i, m] = _tail_power(np.abs(r), last, lay) * np.sqrt(TA[:, i, last] * TB[:, m, last])
            rest &= ~mid
        elif _mid_pairs(it, ks, qA, qB, VA, VB, rho, mid, eA, eB, val, bound):
            rest &= ~mid
    if rest.any():
        if bound is None:
            return False
        _near_pairs(cp, t, ks, qA, qB, rho, rest, val, bound)
    return True


def _mid_pairs(it, ks, qA, qB, VA, VB, rho, mid, eA, eB, val, bound) -> bool:
    """In place: the pairs of ``mid`` from all the coefficients up to ``Nint`` (False: not enough)."""
    i, m = np.nonzero(mid)
    ui, ii = np.unique(i, return_inverse=True)
    um, mm = np.unique(m, return_inverse=True)
    full = _Layout.__new__(_Layout)
    full.step, full.p = 1, np.zeros(len(ks), dtype=int)
    out = []
    for side, (V, q, e) in enumerate(((VA[ui], qA[ui], eA), (VB[um], qB[um], eB))):
        k = [pair[side] for pair in ks]
        low = np.stack([it._coefs(V, kk)[:, : it.Ns + 1] for kk in k])
        C = np.concatenate((low, it.high(q)[:, k, :].transpose(1, 0, 2)), axis=2)
        S = (V[:, [kk * (it.Ns + 2) + it.Ns + 1 for kk in k]] ** 2).T
        out.append((C, S, _tails(C, S, e)))
    (Am, SA, TA), (Bm, SB, TB) = out
    r = rho[i, m]
    Nm = _truncation(TA, SA, TB, SB, float(np.abs(r).max()), full, TOL / 10)
    if Nm is None:
        return False
    val[:, i, m] = _series_sum(Am[:, ii], Bm[:, mm], r, Nm, full, False)
    if bound is not None:
        bound[:, i, m] = np.abs(r) ** (Nm + 1) * np.sqrt(TA[:, ii, Nm] * TB[:, mm, Nm])
    return True


def fast_diag(cp, q):
    """``(s, s', s'')`` (as ``Compiled.diag``) from the interpolated diagonal kernels, or None."""
    flat = q.ravel()
    if flat.size == 0:
        return None
    it = cp.interp(cp.tier(float(flat.max())))
    if it is None or flat.min() < it.qlo:
        return None
    V = it.values(flat)
    base = 5 * (it.Ns + 2)
    d = {pair: V[:, base + j].reshape(q.shape) for j, pair in enumerate(DIAG_PAIRS)}
    return (d[0, 0], d[1, 1] + d[0, 2], (3 * d[2, 2] + 4 * d[1, 3] + d[0, 4]) / 2)


@functools.lru_cache(maxsize=1)
def _own_route():
    from ._series_grad import loss_and_gradient  # imports this module

    return loss_and_gradient


def _grad1_from_name(name: str) -> "Grad1":
    from .series import compile_expression

    return Grad1(compile_expression(name))


class Grad1:
    """``(G, G1, G3)`` = ``(g, g1, g3)`` of all pairs for the fast loss and gradient
    (``copyavg.numeric._fast_erf``), with the self pairs' ``g1`` replaced by ``s'(q) / 2`` and
    their ``g3`` by 0 (the general path's self term); None when the interpolated route does not
    apply or a bound exceeds ``TOL`` (then the general path decides, and warns)."""

    KS = ((0, 0), (2, 0), (1, 1))

    def __init__(self, cp):
        self.cp = cp
        self.plans: dict = {}  # per tier: copyavg.numeric._series_grad.Plan

    def loss_and_gradient(self, P, a, W):
        """``(L, dL/da, dL/dW)`` of ``Problem`` ``P`` without the kernel matrices
        (``copyavg.numeric._series_grad``), or None (or False: the general path)."""
        return _own_route()(self, P, a, W)

    def __reduce__(self):  # picklable (a Problem is): rebuilt from the name
        return (_grad1_from_name, (self.cp.name,))

    def __call__(self, C11, C22, C12, D=None):
        from ._series_pairs import _rho

        cp = self.cp
        qA, qB = np.ascontiguousarray(C11[:, 0]), np.ascontiguousarray(C22[0])
        qmax = max(float(qA.max()), float(qB.max()))
        if not qmax <= cp.tiers[-1][0]:  # also NaN: the general path refuses
            return None
        with np.errstate(under="ignore"):  # powers and tails below the smallest double: 0
            out = fast_pairs(cp, cp.tier(qmax), self.KS, qA, qB, _rho(C11, C22, C12), bounds=False)
            if out is None or not out[1]:  # no bound above TOL (fast_pairs); else the general path warns
                return None
            val = out[0]
            diag = fast_diag(cp, qA)
        if diag is None:
            return None
        G, G1, G3 = val[0], 0.5 * val[1], val[2]
        idx = np.arange(qA.size)
        G1[idx, idx] = 0.5 * diag[1]
        G3[idx, idx] = 0.0
        return G, G1, G3
