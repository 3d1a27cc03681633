r"""Certified stability type of the optimal CA and P-n-C points from their symmetry blocks.

Ball arithmetic (python-flint ``arb``) throughout:

* the pair kernel and its partials: the generated mpmath expressions (``copyavg derive``) evaluated
  with arb operations (``_arb_kernels``);
* the window Hessian entries and the blocks of ``copyavg.numeric.symmetry`` with arb entries
  (integer counts exact), at an exactly known point (optimal CA: ``|w|^2 = 1/(2m - 1)``,
  ``a = m`` for erf2) or over a box that contains the point (P-n-C);
* the inertia of each block ``M`` (with ``G`` nonsingular, the block's eigenvalues have the signs
  of ``M``'s inertia, Sylvester): ``Q^T M Q`` with ``Q`` the float eigenvectors of ``mid(M)``
  (an exact float matrix), then ``L D L^T`` without pivoting; when every pivot ball excludes 0 the
  pivots' signs are the inertia (``Q`` is then invertible, since ``Q^T M Q`` is);
* existence and uniqueness of the P-n-C point in a box by the Krawczyk test on the four reduced
  equations (reduced Jacobian enclosed over the box by the same arb Hessian).

A point is *proved* a strict local minimum when every block is certified positive definite (and
the point is critical: exactly for the optimal CA point, by symmetric criticality for the
P-n-C point), a saddle when one block has a certified negative and one a certified positive
eigenvalue.
"""

from __future__ import annotations

import inspect
import time
from contextlib import contextmanager

import numpy as np
from flint import arb, ctx, fmpz_mat

from copyavg.numeric import _generated_kernels_mp as gen
from copyavg.numeric._sym_counts import orbit_keys
from copyavg.numeric._sym_window import Structure, Window
from copyavg.numeric.pnc_reduced import solve_pnc_reduced
from copyavg.numeric.symmetry import _pencils

from .certificates import Certificate, Status

PREC = 256  # bits of the ball arithmetic


@contextmanager
def _prec(bits: int = PREC):
    old = ctx.prec
    ctx.prec = bits
    try:
        yield
    finally:
        ctx.prec = old


def _arb_kernels(activation: str):
    """``(pair2, diag2)`` of the generated mpmath kernels, re-evaluated with arb operations."""
    ns = {"atan": lambda x: x.atan(), "asin": lambda x: x.asin(), "sqrt": lambda x: x.sqrt(),
          "pi": arb.pi(), "mpf": arb, "exp": lambda x: x.exp()}
    out = []
    for fn in (gen.KERNELS[activation][2], gen.KERNELS[activation][3]):
        exec(inspect.getsource(fn), ns)  # noqa: S102 - our own generated, checked source
        out.append(ns[fn.__name__])
    return out


class ArbWindow(Window):
    """``Window`` with arb entries (the Structure's fields may be arb balls)."""

    NUM = arb

    def __init__(self, st: Structure):
        self._pair2, self._diag2 = _arb_kernels(st.activation)
        super().__init__(st, dps=-1)  # any non-None dps: the non-float code path

    def context(self):
        return _prec()

    def sqrt(self, x):
        return arb(x).sqrt()

    def zeros(self, *shape):
        return np.full(shape, arb(0), dtype=object)

    def _kernel(self, q1, q2, c, order):
        out = self._pair2(q1, q2, c, q1 * q2 - c * c)
        return out[0] if order == 0 else list(out)[:(4, 10)[order - 1]]

    def _self(self, s):
        q = self.q(s)
        g, g1, g2, g3, g11, g12, g13, g22, g23, g33 = self._kernel(q, q, q, 2)
        return [g, g1 + g2 + g3, g11 + g22 + g33 + 2 * (g12 + g13 + g23)]


def _pivots(M) -> list[arb] | None:
    """LDL^T pivots of ``Q^T M Q`` (arb), ``Q`` the float eigenvectors of mid(M); None if a
    pivot's sign is not decided."""
    n = M.shape[0]
    mid = np.array([[float(x.mid()) for x in row] for row in M])
    if not np.isfinite(mid).all() or not all(x.is_finite() for x in M.ravel()):
        return None
    _, Q = np.linalg.eigh(0.5 * (mid + mid.T))
    A = Q.T.astype(object) @ M @ Q.astype(object)
    A = [[A[i, j] for j in range(n)] for i in range(n)]
    piv = []
    for j in range(n):
        d = A[j][j]
        if not (d > 0 or d < 0):
            return None
        piv.append(d)
        for i in range(j + 1, n):
            f = A[i][j] / d
            for l in range(j + 1, n):
                A[i][l] = A[i][l] - f * A[j][l]
    return piv


def certified_inertia(st: Structure) -> dict:
    """Negative / positive eigenvalue counts (with multiplicity) of the Hessian at ``st`` (arb
    fields allowed), certified block by block; ``undecided`` lists the blocks that were not.

    Parameters
    ----------
    st : Structure
        With ``N >= 3`` copies (nonsingular Gram matrices).

    Returns
    -------
    dict
        ``{"negative", "positive", "undecided"}``.
    """
    with _prec():
        w = ArbWindow(st)
        neg = pos = 0
        undecided = []
        for sector, tau, M, G, mult in _pencils(st, dps=-1, window=w):
            if fmpz_mat([[int(round(x)) for x in row] for row in G]).det() == 0:
                undecided.append(f"{sector}/{tau}: singular Gram matrix")
                continue
            piv = _pivots(M)
            if piv is None:
                undecided.append(f"{sector}/{tau}: a pivot contains 0")
                continue
            neg += mult * sum(p < 0 for p in piv)
            pos += mult * sum(p > 0 for p in piv)
    return {"negative": neg, "positive": pos, "undecided": undecided}


def ca_structure_exact(k: int, n: int, d: int | None = None) -> Structure:
    """The erf2 optimal CA point in arb: ``|w|^2 = 1/(2m - 1)``, ``a = m`` (docs/theory.md §4)."""
    m = k - n + 1
    with _prec():
        pE = (arb(1) / (arb(2 * m - 1) * m)).sqrt()
    return Structure("erf2", k, k + 1 if d is None else d, n - 1, arb(1), arb(0), arb(0), arb(1), True,
                     arb(0), pE, arb(m))


def _pnc_struct(k, n, x, d=None) -> Structure:
    al, be, ga, c = x
    return Structure("erf2", k, k + 1 if d is None else d, n, al, ga, be, c)


def _reduced_gradient_arb(k, n, x):
    w = ArbWindow(_pnc_struct(k, n, [arb(v) for v in x]))
    with _prec():
        ga, gw = w.gradient(0)
        N, M = n, k - n
        return [N * gw[0], N * arb(M).sqrt() * gw[w.st.window], N * (N - 1) * gw[1], N * ga]


def _reduced_jacobian_arb(k, n, X):
    st = _pnc_struct(k, n, X)
    with _prec():
        w = ArbWindow(st)
        M = next(M for sec, tau, M, G, _ in _pencils(st, window=w) if (sec, tau) == ("core", "trivial"))
        where = {("a", 0): 3, ("W", 0, 0): 0, ("W", 0, "u"): 1, ("W", 0, 1): 2}
        P = np.full((M.shape[0], 4), arb(0), dtype=object)
        for i, key in enumerate(orbit_keys("core", n, False)):
            P[i, where[key]] = arb(k - n).sqrt() if where[key] == 1 else arb(1)
        return P.T @ M @ P


def krawczyk_pnc(k: int, n: int, rel_radius: float = 1e-10):
    """Box ``X`` around the float P-n-C point that contains exactly one zero of the reduced
    gradient (Krawczyk), or ``None`` with the reason.

    Parameters
    ----------
    k, n : int
        ``3 <= n < k`` (erf2).
    rel_radius : float
        Half-width of the box relative to ``max(1, |x_i|)``.

    Returns
    -------
    (X, info) : list of arb or None, str
    """
    p = solve_pnc_reduced(k, n)
    xt = np.array([p["alpha"], p["beta"], p["gamma"], p["c"]])
    rho = rel_radius * np.maximum(1.0, np.abs(xt))
    with _prec():
        X = [arb(float(v), float(r)) for v, r in zip(xt, rho)]
        f = _reduced_gradient_arb(k, n, xt)
        J = _reduced_jacobian_arb(k, n, X)
        Jmid = np.array([[float(v.mid()) for v in row] for row in J])
        if not np.isfinite(Jmid).all() or np.linalg.cond(Jmid) > 1e12:
            return None, "Krawczyk image not inside the box (Jacobian enclosure unusable)"
        Y = np.linalg.inv(Jmid)
        K = []
        for i in range(4):
            acc = arb(float(xt[i])) - sum(arb(float(Y[i, j])) * f[j] for j in range(4))
            for j in range(4):
                cij = (arb(1) if i == j else arb(0)) - sum(arb(float(Y[i, l])) * J[l, j] for l in range(4))
                acc += cij * (X[j] - arb(float(xt[j])))
            K.append(acc)
        inside = all(abs((K[i] - arb(float(xt[i]))).mid()) + K[i].rad() < arb(float(rho[i])) for i in range(4))
    if not inside:
        return None, "Krawczyk image not inside the box"
    return X, f"unique zero of the reduced gradient in the box (half-widths {rel_radius:g} max(1, |x_i|))"


# -- certificates: the k = 50 change points of docs/theory.md §8 claim 15 ------------------------
_K = 50


def _type(inert: dict, size: int) -> str:
    if inert["undecided"]:
        return "undecided"
    if inert["negative"] and inert["positive"]:
        return "saddle"
    return "minimum" if inert["positive"] == size else "undecided"


def _cert(theorem, statement, assumptions, ok, method, residual, evidence, t0) -> Certificate:
    return Certificate(theorem=theorem, statement=statement, assumptions=assumptions,
                       status=Status.PROVED if ok else Status.UNDECIDED, method=method, residual=residual,
                       evidence=tuple(evidence), seconds=time.perf_counter() - t0)


_BLOCKS = ("the Hessian is the direct sum of the symmetry blocks of docs/theory.md §8 (representation "
           "theory; the block code is checked against the dense Hessian in tests/test_symmetry.py, not "
           "proved line by line)")
_METHOD = ("symmetry blocks of the Hessian (docs/theory.md §8) with arb entries at 256 bits; each "
           "block's inertia from the LDL^T pivots of Q^T M Q (Q float eigenvectors of mid M), every "
           "pivot's sign decided; Sylvester's law of inertia")


def ca_stability_change() -> Certificate:
    """Optimal CA point, erf2, k = 50: a strict local minimum at n = 44, a saddle at n = 45."""
    t0 = time.perf_counter()
    got = {}
    for n in (44, 45):
        got[n] = _type(certified_inertia(ca_structure_exact(_K, n)), n + n * (_K + 1))
    ok = got == {44: "minimum", 45: "saddle"}
    return _cert("ca-stability-change:erf2-k50",
                 "erf2, teacher e_1..e_50 (b = 1, d = 51): the optimal CA point is a strict local minimum "
                 "of the population loss at n = 44 and a saddle at n = 45",
                 ("exact point |w_n|^2 = 1/(2m - 1), a_n = m (m = k - n + 1), an exact critical point "
                  "(certificate ca-critical:erf2)", _BLOCKS), ok, _METHOD, f"types {got}",
                 [f"n = {n}: {t}" for n, t in got.items()], t0)


def _pnc_box(n):
    X, info = krawczyk_pnc(_K, n)
    if X is None:
        return None, info, "undecided"
    st = Structure("erf2", _K, _K + 1, n, X[0], X[2], X[1], X[3])
    return st, info, _type(certified_inertia(st), n + n * (_K + 1))


def pnc_stability_change() -> Certificate:
    """P-n-C point, erf2, k = 50: a saddle at n = 21, a strict local minimum at n = 22."""
    t0 = time.perf_counter()
    got, evidence = {}, []
    for n in (21, 22):
        st, info, got[n] = _pnc_box(n)
        evidence.append(f"n = {n}: {info}; type {got[n]}")
    ok = got == {21: "saddle", 22: "minimum"}
    return _cert("pnc-stability-change:erf2-k50",
                 "erf2, teacher e_1..e_50 (b = 1, d = 51): the P-n-C point (the zero of the reduced equations "
                 "next to the computed one) is a saddle at n = 21 and a strict local minimum at n = 22",
                 ("the zero of the four reduced equations is a critical point of the full loss: the gradient "
                  "at a symmetric point is symmetric, and the symmetric subspace is the family's image", _BLOCKS),
                 ok, "Krawczyk test in arb (existence and uniqueness in the box); " + _METHOD + " over the box",
                 f"types {got}", evidence, t0)


def pnc_ca_loss_crossing() -> Certificate:
    """Loss order, erf2, k = 50: the optimal CA point is lower at n = 37, the P-n-C point at n = 38."""
    t0 = time.perf_counter()
    signs, evidence = {}, []
    for n in (37, 38):
        X, info = krawczyk_pnc(_K, n)
        if X is None:
            signs[n] = "undecided"
            evidence.append(f"n = {n}: {info}")
            continue
        with _prec():
            diff = (ArbWindow(Structure("erf2", _K, _K + 1, n, X[0], X[2], X[1], X[3])).loss()
                    - ArbWindow(ca_structure_exact(_K, n)).loss())
        signs[n] = "P-n-C higher" if diff > 0 else "P-n-C lower" if diff < 0 else "undecided"
        evidence.append(f"n = {n}: L_pnc - L_ca in {diff.str(5, radius=True)}; {info}")
    ok = signs == {37: "P-n-C higher", 38: "P-n-C lower"}
    return _cert("pnc-ca-loss-crossing:erf2-k50",
                 "erf2, k = 50 (d = 51): the P-n-C loss exceeds the optimal CA loss L*(k - n + 1) at n = 37 "
                 "and is below it at n = 38", ("P-n-C point as in pnc-stability-change:erf2-k50",
                                                "loss as orbit sums of the pair kernel (docs/theory.md §8)"), ok,
                 "Krawczyk box of the P-n-C point; loss from orbit sums in arb over the box, CA loss at the "
                 "exact point", f"{signs}", evidence, t0)


def all_checks() -> dict:
    return {
        "ca-stability-change:erf2-k50": ca_stability_change,
        "pnc-stability-change:erf2-k50": pnc_stability_change,
        "pnc-ca-loss-crossing:erf2-k50": pnc_ca_loss_crossing,
    }
