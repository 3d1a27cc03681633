"""Hessian and gradient entries of a symmetric point on a small window of coordinates.

A symmetric point (``copyavg.numeric.symmetry``): teacher ``v_j = e_j`` (j < k), ``b_j = 1``;
``N`` "copy" students ``w_c = o e_c + t sum_{c' < N, c' != c} e_c' + p sum_{j avg} e_j`` with
``a_c = a``, and optionally one extra student ``w_E = tE sum_{c < N} e_c + pE sum_{j avg} e_j``
with ``a_E = aE``; the ``M = k - N`` teacher directions ``j >= N`` are the averaged ones. In the rotated basis (copy directions, ``u = sum_{j avg} e_j / sqrt(M)``, a
unit ``xp`` orthogonal to ``u`` in the averaged span, a unit ``x`` outside the teacher span) every
student lies in span(copy directions, u), and the Hessian entries on the window (copies
``0..w-1``, the extra student; directions ``0..w-1, u, xp, x``) follow from the chain rule with
the rest of the network summed class by class (count, outgoing weight, geometry, first and
second moments of the window coordinates). Cost independent of N and k.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .kernels import diag_kernel, pair_kernel


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

    # -- inner products of the structured vectors ------------------------------------------
    @cached_property
    def q_copy(self) -> float:
        return self.o ** 2 + (self.N - 1) * self.t ** 2 + self.M * self.p ** 2

    @cached_property
    def q_extra(self) -> float:
        return self.N * self.tE ** 2 + self.M * self.pE ** 2

    @cached_property
    def c_copy_copy(self) -> float:
        return 2 * self.o * self.t + (self.N - 2) * self.t ** 2 + self.M * self.p ** 2

    @cached_property
    def c_copy_extra(self) -> float:
        return (self.o + (self.N - 1) * self.t) * self.tE + self.M * self.p * self.pE


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

    def __init__(self, st: Structure):
        self.st = st
        w = st.window
        self.students = list(range(w)) + (["E"] if st.extra else [])
        self.dirs = list(range(w)) + ["u", "xp", "x"]
        self.D = len(self.dirs)
        self.vec = {s: self._coords(s) for s in self.students}
        self.coords = [("a", s) for s in self.students] + [("W", s, e) for s in self.students for e in self.dirs]
        self.index = {c: i for i, c in enumerate(self.coords)}

    def _coords(self, s) -> np.ndarray:
        st, w = self.st, self.st.window
        v = np.zeros(self.D)
        if s == "E":
            v[:w] = st.tE
            v[w] = st.pE * np.sqrt(st.M)
        else:
            v[:w] = st.t
            v[s] = st.o
            v[w] = st.p * np.sqrt(st.M)
        return v

    def q(self, s) -> float:
        return self.st.q_extra if s == "E" else self.st.q_copy

    def a(self, s) -> float:
        return self.st.aE if s == "E" else self.st.a

    def c(self, s, l) -> float:
        if "E" in (s, l):
            return self.st.c_copy_extra
        return self.st.c_copy_copy

    def others(self, s) -> list[_Neuron]:
        """Every neuron except student ``s`` itself, grouped into classes."""
        st, w, D = self.st, self.st.window, self.D
        out = [self._neuron(1, self.a(l), self.q(l), self.c(s, l), self.vec[l]) for l in self.students if l != s]
        rest = np.zeros(D)  # window coordinates of a copy student outside the window
        rest[:w] = st.t
        rest[w] = st.p * np.sqrt(st.M)
        out.append(self._neuron(st.N - w, st.a, st.q_copy, self.c(s, 0), rest))
        own = (lambda c: st.tE) if s == "E" else (lambda c: st.o if c == s else st.t)
        for c in range(w):
            e = np.zeros(D)
            e[c] = 1.0
            out.append(self._neuron(1, -1.0, 1.0, own(c), e, True))
        out.append(self._neuron(st.N - w, -1.0, 1.0, st.tE if s == "E" else st.t, np.zeros(D), True))
        uu = np.zeros(D)
        uu[w] = 1.0
        second = np.outer(uu, uu)
        second[w + 1, w + 1] = 1.0  # sum_j (v_j.xp)^2 = 1, sum_j (v_j.u)(v_j.xp) = 0
        out.append(_Neuron(st.M, -1.0, 1.0, st.pE if s == "E" else st.p, np.sqrt(st.M) * uu, second, True))
        return [n for n in out if n.count > 0]

    @staticmethod
    def _neuron(count, U, Q, C, y, teacher=False) -> _Neuron:
        return _Neuron(count, U, Q, C, count * y, count * np.outer(y, y), teacher)

    def _partials(self, q1, q2, c):
        return [float(x) for x in pair_kernel(self.st.activation, q1, q2, min(c, np.sqrt(q1 * q2)), order=2)]

    def _self(self, s):
        return [float(np.asarray(x).ravel()[0]) for x in diag_kernel(self.st.activation, np.array([self.q(s)]))]

    # -- derivatives on the window -------------------------------------------------------------
    def hessian(self) -> np.ndarray:
        """The Hessian restricted to ``self.coords`` (exact entries of the full network's Hessian)."""
        S, D = self.students, self.D
        nS = len(S)
        H = np.zeros((len(self.coords), len(self.coords)))
        eye = np.eye(D)
        for i, s in enumerate(S):
            ws, a_s = self.vec[s], self.a(s)
            sv, s1, s2 = self._self(s)
            H[i, i] = 2.0 * sv
            ra = slice(nS + i * D, nS + (i + 1) * D)
            row = 2.0 * a_s * s1 * ws
            blk = a_s * a_s * (4.0 * s2 * np.outer(ws, ws) + 2.0 * s1 * eye)
            for nb in self.others(s):
                g, g1, g2, g3, g11, g12, g13, g22, g23, g33 = self._partials(self.q(s), nb.Q, nb.C)
                row = row + nb.U * (2.0 * g1 * nb.count * ws + g3 * nb.first)
                cw = 2.0 * a_s * nb.U
                blk = blk + cw * (nb.count * (4.0 * g11 * np.outer(ws, ws) + 2.0 * g1 * eye)
                                  + 2.0 * g13 * (np.outer(ws, nb.first) + np.outer(nb.first, ws))
                                  + g33 * nb.second)
            H[i, ra] = H[ra, i] = 2.0 * row
            H[ra, ra] = blk
            for j, l in enumerate(S):
                if l != s:
                    self._pair_block(H, i, j, s, l)
        return H

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
            np.outer(ws, T1) + np.outer(wl, T2) + aa * g3 * np.eye(D))

    def gradient(self, s) -> tuple[float, np.ndarray]:
        """``(dL/da_s, dL/dw_s)`` (window coordinates) of student ``s``."""
        ws, a_s = self.vec[s], self.a(s)
        sv, s1, _ = self._self(s)
        ga, gw = a_s * sv, a_s * s1 * ws
        for nb in self.others(s):
            g, g1, _, g3 = [float(x) for x in pair_kernel(self.st.activation, self.q(s), nb.Q,
                                                            min(nb.C, np.sqrt(self.q(s) * nb.Q)), order=1)]
            ga += nb.count * nb.U * g
            gw = gw + nb.U * (2.0 * g1 * nb.count * ws + g3 * nb.first)
        return 2.0 * ga, 2.0 * a_s * gw

    def loss(self) -> float:
        """``L`` from the orbit sums: copies (N of them), the extra student and the teacher term."""
        st, act = self.st, self.st.activation
        total = st.k * float(diag_kernel(act, np.array([1.0]))[0][0])
        total += st.k * (st.k - 1) * float(pair_kernel(act, 1.0, 1.0, 0.0))
        for s, count in ((0, st.N), ("E", 1 if st.extra else 0)):
            if count == 0:
                continue
            a_s, qs = self.a(s), self.q(s)
            part = a_s * a_s * float(diag_kernel(act, np.array([qs]))[0][0])
            for nb in self.others(s):
                gv = float(pair_kernel(act, qs, nb.Q, min(nb.C, np.sqrt(qs * nb.Q))))
                part += nb.count * a_s * nb.U * gv * (2.0 if nb.teacher else 1.0)
            total += count * part
        return total
