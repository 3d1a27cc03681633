"""Hessian and gradient entries of a symmetric point on a small window of coordinates.

A symmetric point (``copyavg.numeric.symmetry``): teacher ``v_j = e_j`` (j < k), ``b_j = 1``;
``N`` "copy" students ``w_c = o e_c + t sum_{c' < N, c' != c} e_c' + p sum_{j avg} e_j`` with
``a_c = a``, and optionally one extra student ``w_E = tE sum_{c < N} e_c + pE sum_{j avg} e_j``
with ``a_E = aE``; the ``M = k - N`` teacher directions ``j >= N`` are the averaged ones. In
the rotated basis (copy directions, ``u = sum_{j avg} e_j / sqrt(M)``, a unit ``xp``
orthogonal to ``u`` in the averaged span, a unit ``x`` outside the teacher span) every student lies in span(copy directions, u), and the Hessian entries on the window (copies
``0..w-1``, the extra student; directions ``0..w-1, u, xp, x``) follow from the chain rule with
the rest of the network summed class by class (count, outgoing weight, geometry, first and
second moments of the window coordinates). Cost independent of N and k.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from functools import cached_property

import numpy as np

import mpmath

from .kernels import diag_kernel, pair_kernel
from .mp import pair_kernel_mp


def _outer(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``np.outer`` of two 1-D arrays (same products, without its per-call overhead)."""
    return x[:, None] * y[None, :]


@dataclass(frozen=True)
class Structure:
    """A symmetric point: see the module docstring (``extra``: is there an extra student)."""

    activation: str
    k: int
    d: int
    N: int
    o: float
    t: float
    p: float
    a: float
    extra: bool = False
    tE: float = 0.0
    pE: float = 0.0
    aE: float = 0.0

    @property
    def M(self) -> int:
        """Number of averaged teacher directions."""
        return self.k - self.N

    @property
    def window(self) -> int:
        """Copies in the window (a pair of coordinates involves at most 4 copy indices)."""
        return min(self.N, 4)


@dataclass
class _Neuron:
    """A class of neurons seen from one window student: count, outgoing weight U, squared norm,
    inner product with that student, first and second moments of the window coordinates."""

    count: float
    U: float
    Q: float
    C: float
    first: np.ndarray
    second: np.ndarray
    teacher: bool = False


class Window:
    """Window coordinates ``('a', s)`` and ``('W', s, dir)``; ``s`` a copy index < w or ``'E'``,
    ``dir`` a copy index < w or ``'u'``, ``'xp'``, ``'x'``."""

    def __init__(self, st: Structure, dps: int | None = None):
        self.st = st
        self.dps = dps
        self.num = getattr(self, "NUM", None) or (float if dps is None else mpmath.mpf)
        self._cache = None
        with self.context():
            self._setup()

    def context(self):
        """The working precision (mpmath) or nothing (float)."""
        return nullcontext() if self.dps is None else mpmath.workdps(self.dps)

    def _setup(self) -> None:
        st = self.st
        self._inner()
        w = st.window
        self.students = list(range(w)) + (["E"] if st.extra else [])
        self.dirs = list(range(w)) + ["u", "xp", "x"]
        self.D = len(self.dirs)
        self.vec = {s: self._coords(s) for s in self.students}
        self.coords = [("a", s) for s in self.students] + [("W", s, e) for s in self.students for e in self.dirs]
        self.index = {c: i for i, c in enumerate(self.coords)}

    def _inner(self) -> None:
        """Squared norms and inner products in the working number type (float or mpf)."""
        f = self.num
        st = self.st
        N, M = f(st.N), f(st.M)
        o, t, p, tE, pE = f(st.o), f(st.t), f(st.p), f(st.tE), f(st.pE)
        self.sqrtM = self.sqrt(M)
        self.qc = o * o + (N - 1) * t * t + M * p * p
        self.qe = N * tE * tE + M * pE * pE
        self.ccc = 2 * o * t + (N - 2) * t * t + M * p * p
        self.cce = (o + (N - 1) * t) * tE + M * p * pE

    def sqrt(self, x):
        """Square root in the working number type."""
        return float(np.sqrt(x)) if self.dps is None else mpmath.sqrt(x)

    def zeros(self, *shape) -> np.ndarray:
        return np.zeros(shape) if self.dps is None else np.full(shape, mpmath.mpf(0), dtype=object)

    def _coords(self, s) -> np.ndarray:
        st, w, f = self.st, self.st.window, self.num
        v = self.zeros(self.D)
        if s == "E":
            v[:w] = f(st.tE)
            v[w] = f(st.pE) * self.sqrtM
        else:
            v[:w] = f(st.t)
            v[s] = f(st.o)
            v[w] = f(st.p) * self.sqrtM
        return v

    def q(self, s):
        return self.qe if s == "E" else self.qc

    def a(self, s):
        return self.num(self.st.aE if s == "E" else self.st.a)

    def c(self, s, l):
        return self.cce if "E" in (s, l) else self.ccc

    def others(self, s) -> list[_Neuron]:
        """Every neuron except student ``s`` itself, grouped into classes (built once per window:
        the loss, gradient, Hessian and kernel prefetch all walk them; read-only)."""
        cache = self.__dict__.setdefault("_others", {})
        if s not in cache:
            cache[s] = self._classes(s)
        return cache[s]

    def _classes(self, s) -> list[_Neuron]:
        st, w, D, f = self.st, self.st.window, self.D, self.num
        out = [self._neuron(1, self.a(l), self.q(l), self.c(s, l), self.vec[l]) for l in self.students if l != s]
        rest = self.zeros(D)  # window coordinates of a copy student outside the window
        rest[:w] = f(st.t)
        rest[w] = f(st.p) * self.sqrtM
        out.append(self._neuron(st.N - w, self.a(0), self.qc, self.c(s, 0), rest))
        own = (lambda c: f(st.tE)) if s == "E" else (lambda c: f(st.o) if c == s else f(st.t))
        one = f(1)
        for c in range(w):
            e = self.zeros(D)
            e[c] = one
            out.append(self._neuron(1, -one, one, own(c), e, True))
        out.append(self._neuron(st.N - w, -one, one, f(st.tE if s == "E" else st.t), self.zeros(D), True))
        uu = self.zeros(D)
        uu[w] = one
        second = _outer(uu, uu)
        second[w + 1, w + 1] = one  # sum_j (v_j.xp)^2 = 1, sum_j (v_j.u)(v_j.xp) = 0
        out.append(_Neuron(st.M, -one, one, f(st.pE if s == "E" else st.p), self.sqrtM * uu, second, True))
        return [n for n in out if n.count > 0]

    @staticmethod
    def _neuron(count, U, Q, C, y, teacher=False) -> _Neuron:
        return _Neuron(count, U, Q, C, count * y, count * _outer(y, y), teacher)

    def _prefetch(self) -> None:
        """Float route: every pair geometry the window needs, in one vectorised kernel call."""
        one = 1.0
        trip = {(one, one, one), (one, one, 0.0)}
        for s in self.students:
            trip.add((self.q(s), self.q(s), self.q(s)))
            trip.update((self.q(s), nb.Q, nb.C) for nb in self.others(s))
        trip = sorted(trip)
        q1, q2, c = (np.array(x) for x in zip(*trip))
        c = np.minimum(c, np.sqrt(q1 * q2))
        out = pair_kernel(self.st.activation, q1, q2, c, order=2)
        self._cache = {t: [float(o[i]) for o in out] for i, t in enumerate(trip)}

    def _kernel(self, q1, q2, c, order):
        """Pair kernel and partials up to ``order`` (a list; ``g`` alone for order 0)."""
        if self.dps is None:
            if self._cache is None:
                self._prefetch()
            out = self._cache.get((q1, q2, c))
            if out is None:
                cc = min(c, float(np.sqrt(q1 * q2)))
                out = [float(x) for x in pair_kernel(self.st.activation, q1, q2, cc, order=2)]
            if order == 2 and not all(np.isfinite(out[4:])):
                out = self._collinear(q1, q2, c, out)
            return out[0] if order == 0 else out[:(4, 10)[order - 1]]
        with mpmath.workdps(self.dps):
            out = pair_kernel_mp(self.st.activation, q1, q2, min(c, mpmath.sqrt(q1 * q2)), order=order)
        return out if order == 0 else list(out)

    def _collinear(self, q1, q2, c, out):
        """Piecewise-linear family at collinear vectors (``|c| = sqrt(q1 q2)`` up to rounding): the
        second partials in ``(C11, C22, C12)`` are infinite there, but near such a pair the kernel is
        a linear function of ``C12`` (plus a multiple of ``|w_1| |w_2|`` that is linear in
        ``C12`` along the ray) up to ``O(theta^3)``, so the weight-space second derivatives are
        those of the chain rule with every second partial set to 0 and the finite first partials
        (``copyavg.numeric.angular``: the ``e``-terms vanish at ``theta = 0, pi``). Checked
        against the weight-space dense Hessian in tests/test_symmetry_relu.py."""
        from .activations import get_activation

        pl = get_activation(self.st.activation).family == "piecewise_linear"
        if not pl or abs(c) < (1 - 1e-14) * np.sqrt(q1 * q2):
            raise ValueError(f"the kernel's second partials are not finite at (C11, C22, C12) = "
                             f"({q1}, {q2}, {c})")
        return list(out[:4]) + [0.0] * 6

    def _partials(self, q1, q2, c):
        return self._kernel(q1, q2, c, 2)

    def _self(self, s):
        """``s(q), s'(q), s''(q)`` at ``q = |w_s|^2``."""
        if self.dps is None:  # once per student and window
            cache = self.__dict__.setdefault("_diag", {})
            if s not in cache:
                out = diag_kernel(self.st.activation, np.array([self.q(s)]))
                cache[s] = [float(np.asarray(x).ravel()[0]) for x in out]
            return cache[s]
        q = self.q(s)
        g, g1, g2, g3, g11, g12, g13, g22, g23, g33 = self._kernel(q, q, q, 2)
        return [g, g1 + g2 + g3, g11 + g22 + g33 + 2 * (g12 + g13 + g23)]

    # -- derivatives on the window -------------------------------------------------------------
    def hessian(self) -> np.ndarray:
        """The Hessian restricted to ``self.coords`` (exact entries of the full network's Hessian;
        computed once per window, a read-only array)."""
        if getattr(self, "_H", None) is None:
            with self.context():
                self._H = self._hessian()
            self._H.setflags(write=False)
        return self._H

    def _hessian(self) -> np.ndarray:
        S, D = self.students, self.D
        nS = len(S)
        H = self.zeros(len(self.coords), len(self.coords))
        eye = np.eye(D, dtype=float if self.dps is None else object)
        for i, s in enumerate(S):
            ws, a_s = self.vec[s], self.a(s)
            sv, s1, s2 = self._self(s)
            H[i, i] = 2.0 * sv
            ra = slice(nS + i * D, nS + (i + 1) * D)
            row = 2.0 * a_s * s1 * ws
            blk = a_s * a_s * (4.0 * s2 * _outer(ws, ws) + 2.0 * s1 * eye)
            if self.dps is None:  # float: all classes at once
                row, blk = self._classes_sum(s, ws, a_s, row, blk, eye)
            for nb in (self.others(s) if self.dps is not None else ()):
                g, g1, g2, g3, g11, g12, g13, g22, g23, g33 = self._partials(self.q(s), nb.Q, nb.C)
                row = row + nb.U * (2.0 * g1 * nb.count * ws + g3 * nb.first)
                cw = 2.0 * a_s * nb.U
                blk = blk + cw * (nb.count * (4.0 * g11 * _outer(ws, ws) + 2.0 * g1 * eye)
                                  + 2.0 * g13 * (_outer(ws, nb.first) + _outer(nb.first, ws))
                                  + g33 * nb.second)
            H[i, ra] = H[ra, i] = 2.0 * row
            H[ra, ra] = blk
            for j, l in enumerate(S):
                if l != s:
                    self._pair_block(H, i, j, s, l)
        return H

    def _classes_sum(self, s, ws, a_s, row, blk, eye):
        """Float route of the sums over the neuron classes in ``_hessian`` (the same terms as the
        loop of the mpmath / arb routes, summed as arrays)."""
        nbs = self.others(s)
        P = np.array([self._partials(self.q(s), nb.Q, nb.C) for nb in nbs])  # classes x 10
        U = np.array([nb.U for nb in nbs])
        cnt = np.array([nb.count for nb in nbs], dtype=float)
        F = np.array([nb.first for nb in nbs])
        S2 = np.array([nb.second for nb in nbs])
        g1, g3, g11, g13, g33 = P[:, 1], P[:, 3], P[:, 4], P[:, 6], P[:, 9]
        cw = 2.0 * a_s * U
        row = row + float(np.sum(2.0 * U * g1 * cnt)) * ws + (U * g3) @ F
        v = (cw * 2.0 * g13) @ F
        blk = (blk + float(np.sum(cw * cnt * 4.0 * g11)) * _outer(ws, ws) + float(np.sum(cw * cnt * 2.0 * g1)) * eye
               + _outer(ws, v) + _outer(v, ws) + np.tensordot(cw * g33, S2, axes=1))
        return row, blk

    def _pair_block(self, H, i, j, s, l) -> None:
        """Entries between students ``s != l`` (a-a, a_s-W_l, W_s-W_l)."""
        nS, D = len(self.students), self.D
        ws, wl, a_s, a_l = self.vec[s], self.vec[l], self.a(s), self.a(l)
        g, g1, g2, g3, g11, g12, g13, g22, g23, g33 = self._partials(self.q(s), self.q(l), self.c(s, l))
        H[i, j] = 2.0 * g
        H[i, nS + j * D:nS + (j + 1) * D] = H[nS + j * D:nS + (j + 1) * D, i] = 2.0 * a_l * (2.0 * g2 * wl + g3 * ws)
        aa = 2.0 * a_s * a_l
        T1 = aa * (4.0 * g12 * wl + 2.0 * g13 * ws)
        T2 = aa * (2.0 * g23 * wl + g33 * ws)
        H[nS + i * D:nS + (i + 1) * D, nS + j * D:nS + (j + 1) * D] = (
            _outer(ws, T1) + _outer(wl, T2) + aa * g3 * np.eye(D, dtype=float if self.dps is None else object))

    def gradient(self, s) -> tuple[float, np.ndarray]:
        """``(dL/da_s, dL/dw_s)`` (window coordinates) of student ``s``."""
        with self.context():
            return self._gradient(s)

    def _gradient(self, s):
        ws, a_s = self.vec[s], self.a(s)
        sv, s1, _ = self._self(s)
        ga, gw = a_s * sv, a_s * s1 * ws
        for nb in self.others(s):
            g, g1, _, g3 = self._kernel(self.q(s), nb.Q, nb.C, 1)
            ga += nb.count * nb.U * g
            gw = gw + nb.U * (2.0 * g1 * nb.count * ws + g3 * nb.first)
        return 2.0 * ga, 2.0 * a_s * gw

    def loss(self) -> float:
        """``L`` from the orbit sums: copies (N of them), the extra student and the teacher term."""
        with self.context():
            return self._loss()

    def _loss(self):
        st = self.st
        one, zero = self.num(1), self.num(0)
        total = st.k * self._kernel(one, one, one, 0) + st.k * (st.k - 1) * self._kernel(one, one, zero, 0)
        for s, count in ((0, st.N), ("E", 1 if st.extra else 0)):
            if count == 0:
                continue
            a_s, qs = self.a(s), self.q(s)
            part = a_s * a_s * self._kernel(qs, qs, qs, 0)
            for nb in self.others(s):
                gv = self._kernel(qs, nb.Q, nb.C, 0)
                part += nb.count * a_s * nb.U * gv * (2.0 if nb.teacher else 1.0)
            total += count * part
        return total
