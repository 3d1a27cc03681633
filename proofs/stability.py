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
eigenvalue. A change-point certificate (type or loss order at n and n + 1) is *refuted* when one
side is certified to be the other outcome (that side's certified type or loss-difference ball is
the witness), and undecided otherwise. ``copyavg.proofs.change_points`` runs the three at the
change points located for any k (``copyavg thresholds --certify``).
"""

from __future__ import annotations

import inspect
import time
from contextlib import contextmanager
from functools import partial

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
    """The reduced gradient (derivatives of the family's loss in alpha, beta, gamma, c) in arb; ``x``
    floats (a point) or arb balls (an enclosure over the box)."""
    w = ArbWindow(_pnc_struct(k, n, [v if isinstance(v, arb) else arb(float(v)) for v in x]))
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


def _refine(k, n, xt, Y, steps=2):
    """Newton steps on the float point with the reduced gradient in arb (256 bits) and a fixed
    float inverse Jacobian ``Y``: the float64 solve stops near ``cond(J) eps``; this reaches the
    rounding of x itself, so that a small box still holds the zero. Only the centre moves."""
    for _ in range(steps):
        with _prec():
            f = np.array([float(v.mid()) for v in _reduced_gradient_arb(k, n, xt)])
        xt = xt - Y @ f
    return xt


def _krawczyk_box(k, n, xt, rel_radius):
    """``(X, inside)``: the box of half-widths ``rel_radius * max(1, |x_i|)`` around ``xt`` and
    whether its Krawczyk image lies inside it (None: Jacobian enclosure unusable)."""
    rho = rel_radius * np.maximum(1.0, np.abs(xt))
    with _prec():
        X = [arb(float(v), float(r)) for v, r in zip(xt, rho)]
        J = _reduced_jacobian_arb(k, n, X)
        Jmid = np.array([[float(v.mid()) for v in row] for row in J])
        if not np.isfinite(Jmid).all() or np.linalg.cond(Jmid) > 1e12:
            return X, None
        Y = np.linalg.inv(Jmid)
        f = _reduced_gradient_arb(k, n, xt)
        K = []
        for i in range(4):
            acc = arb(float(xt[i])) - sum(arb(float(Y[i, j])) * f[j] for j in range(4))
            for j in range(4):
                cij = (arb(1) if i == j else arb(0)) - sum(arb(float(Y[i, l])) * J[l, j] for l in range(4))
                acc += cij * (X[j] - arb(float(xt[j])))
            K.append(acc)
        inside = all(abs((K[i] - arb(float(xt[i]))).mid()) + K[i].rad() < arb(float(rho[i])) for i in range(4))
    return X, inside


def krawczyk_pnc(k: int, n: int, rel_radius: float | None = None, radii: tuple = (1e-10, 1e-12, 1e-14)):
    """Box ``X`` around the float P-n-C point that contains exactly one zero of the reduced
    gradient (Krawczyk), or ``None`` with the reason.

    Parameters
    ----------
    k, n : int
        ``3 <= n < k`` (erf2).
    rel_radius : float, optional
        Half-width of the box relative to ``max(1, |x_i|)``. Default: the float point is first
        refined by Newton with the gradient in arb, then 1e-10, 1e-12, 1e-14 are tried in turn
        (large k: the Jacobian enclosure widens with the box, ``cond(J) ~ 1e10`` at ``k = 10^4``).
    radii : tuple of float, default (1e-10, 1e-12, 1e-14)
        The relative radii tried in turn when ``rel_radius`` is None.

    Returns
    -------
    (X, info) : list of arb or None, str
    """
    p = solve_pnc_reduced(k, n)
    xt = np.array([p["alpha"], p["beta"], p["gamma"], p["c"]])
    radii = tuple(radii) if rel_radius is None else (rel_radius,)
    if rel_radius is None:
        with _prec():
            J = _reduced_jacobian_arb(k, n, [arb(float(v)) for v in xt])
        Jmid = np.array([[float(v.mid()) for v in row] for row in J])
        if np.isfinite(Jmid).all() and np.linalg.cond(Jmid) < 1e12:
            xt = _refine(k, n, xt, np.linalg.inv(Jmid))
    inside = None
    for r in radii:
        X, inside = _krawczyk_box(k, n, xt, r)
        if inside:
            centre = ", ".join(f"{v:.17g}" for v in xt)
            return X, (f"unique zero of the reduced gradient in the box with centre (alpha, beta, gamma, c) = "
                       f"({centre}) and half-widths {r:g} max(1, |x_i|)")
    if inside is None:
        return None, "Krawczyk image not inside the box (Jacobian enclosure unusable)"
    return None, "Krawczyk image not inside the box"


def pnc_loss_arb(k: int, n: int, X) -> arb:
    """Enclosure of the family's loss at the zero in the box ``X`` by the mean-value form
    ``L(c) + sum_i g_i(X) (X_i - c_i)`` (``c`` the box centre, ``g`` the reduced gradient over ``X``):
    the plain interval loss over X overestimates by the O(k^2) terms' dependence on X."""
    with _prec():
        c = [arb(x.mid()) for x in X]
        g = _reduced_gradient_arb(k, n, X)
        base = ArbWindow(_pnc_struct(k, n, c)).loss()
        return base + sum(g[i] * (X[i] - c[i]) for i in range(4))


# -- certificates: the change points of docs/theory.md §8 claim 15 ------------------------------
#: k -> (n_pnc, n_ca, n_loss): the P-n-C point turns from a saddle at n_pnc into a minimum at
#: n_pnc + 1, the optimal CA point from a minimum at n_ca into a saddle at n_ca + 1, and the P-n-C loss
#: drops below the CA loss between n_loss and n_loss + 1 (``copyavg thresholds --k K``). k = 50 runs in
#: the default ``copyavg verify``; the others with ``--heavy``.
CHANGE_POINTS = {50: (21, 44, 37), 100: (41, 92, 75), 200: (73, 188, 151), 500: (142, 481, 381),
                 1000: (223, 972, 764), 10000: (840, 9911, 7660)}
DEFAULT_K = (50,)


def _type(inert: dict, size: int) -> str:
    if inert["undecided"]:
        return "undecided"
    if inert["negative"] and inert["positive"]:
        return "saddle"
    return "minimum" if inert["positive"] == size else "undecided"


def _status(got: dict, claim: dict) -> Status:
    """Proved when every side is certified as claimed; refuted when a side is certified to be the
    other definite outcome (the witness: that side's certified type or loss order); else undecided."""
    if got == claim:
        return Status.PROVED
    definite = set(claim.values())
    if any(got[n] in definite and got[n] != claim[n] for n in claim):
        return Status.REFUTED
    return Status.UNDECIDED


def _cert(theorem, statement, assumptions, status, method, residual, evidence, t0) -> Certificate:
    return Certificate(theorem=theorem, statement=statement, assumptions=assumptions,
                       status=status, method=method, residual=residual,
                       evidence=tuple(evidence), seconds=time.perf_counter() - t0)


_BLOCKS = ("the Hessian is the direct sum of the symmetry blocks of docs/theory.md §8 (representation "
           "theory; the block code is checked against the dense Hessian in tests/test_symmetry.py, not "
           "proved line by line)")
_METHOD = ("symmetry blocks of the Hessian (docs/theory.md §8) with arb entries at 256 bits; each "
           "block's inertia from the LDL^T pivots of Q^T M Q (Q float eigenvectors of mid M), every "
           "pivot's sign decided; Sylvester's law of inertia")


def _check_kn(k, n, lo=4):
    """``lo <= n <= k - 2``: the blocks need at least three copies (the CA point at n has n - 1, the
    P-n-C point n), and n + 1 < k."""
    if not isinstance(k, int) or not isinstance(n, int) or not lo <= n < k - 1:
        raise ValueError(f"need integers k, n with {lo} <= n <= k - 2, got k = {k!r}, n = {n!r}")


def ca_stability_change(k: int = 50, n: int = 44) -> Certificate:
    """Optimal CA point, erf2: a strict local minimum at ``n``, a saddle at ``n + 1`` (default k = 50)."""
    _check_kn(k, n)
    t0 = time.perf_counter()
    got = {}
    for nn in (n, n + 1):
        got[nn] = _type(certified_inertia(ca_structure_exact(k, nn)), nn + nn * (k + 1))
    ok = _status(got, {n: "minimum", n + 1: "saddle"})
    return _cert(f"ca-stability-change:erf2-k{k}",
                 f"erf2, teacher e_1..e_{k} (b = 1, d = {k + 1}): the optimal CA point is a strict local minimum "
                 f"of the population loss at n = {n} and a saddle at n = {n + 1}",
                 ("exact point |w_n|^2 = 1/(2m - 1), a_n = m (m = k - n + 1), an exact critical point "
                  "(certificate ca-critical:erf2)", _BLOCKS), ok, _METHOD, f"types {got}",
                 [f"n = {nn}: {t}" for nn, t in got.items()], t0)


def _pnc_box(k, n):
    """Krawczyk box and certified type; an undecided type (a pivot ball containing 0, e.g. a small
    eigenvalue near the change point) is retried on the smaller boxes of ``krawczyk_pnc``."""
    radii = (1e-10, 1e-12, 1e-14)
    for i in range(len(radii)):
        X, info = krawczyk_pnc(k, n, radii=radii[i:])
        if X is None:
            return None, info, "undecided"
        st = Structure("erf2", k, k + 1, n, X[0], X[2], X[1], X[3])
        got = _type(certified_inertia(st), n + n * (k + 1))
        if got != "undecided" or f"half-widths {radii[-1]:g}" in info:
            return st, info, got
    return st, info, got


def pnc_stability_change(k: int = 50, n: int = 21) -> Certificate:
    """P-n-C point, erf2: a saddle at ``n``, a strict local minimum at ``n + 1`` (default k = 50)."""
    _check_kn(k, n, lo=3)
    t0 = time.perf_counter()
    got, evidence = {}, []
    for nn in (n, n + 1):
        st, info, got[nn] = _pnc_box(k, nn)
        evidence.append(f"n = {nn}: {info}; type {got[nn]}")
    ok = _status(got, {n: "saddle", n + 1: "minimum"})
    return _cert(f"pnc-stability-change:erf2-k{k}",
                 f"erf2, teacher e_1..e_{k} (b = 1, d = {k + 1}): the P-n-C point (the zero of the reduced "
                 f"equations next to the computed one) is a saddle at n = {n} and a strict local minimum at "
                 f"n = {n + 1}",
                 ("the zero of the four reduced equations is a critical point of the full loss: the gradient "
                  "at a symmetric point is symmetric, and the symmetric subspace is the family's image", _BLOCKS),
                 ok, "Krawczyk test in arb (existence and uniqueness in the box); " + _METHOD + " over the box",
                 f"types {got}", evidence, t0)


def pnc_ca_loss_crossing(k: int = 50, n: int = 37) -> Certificate:
    """Loss order, erf2: the optimal CA point is lower at ``n``, the P-n-C point at ``n + 1`` (default k = 50)."""
    _check_kn(k, n, lo=3)
    t0 = time.perf_counter()
    signs, evidence = {}, []
    for nn in (n, n + 1):
        X, info = krawczyk_pnc(k, nn)
        if X is None:
            signs[nn] = "undecided"
            evidence.append(f"n = {nn}: {info}")
            continue
        with _prec():
            diff = pnc_loss_arb(k, nn, X) - ArbWindow(ca_structure_exact(k, nn)).loss()
        signs[nn] = "P-n-C higher" if diff > 0 else "P-n-C lower" if diff < 0 else "undecided"
        evidence.append(f"n = {nn}: L_pnc - L_ca = {float(diff.mid()):.8e} +/- {float(diff.rad()):.1e}; {info}")
    ok = _status(signs, {n: "P-n-C higher", n + 1: "P-n-C lower"})
    return _cert(f"pnc-ca-loss-crossing:erf2-k{k}",
                 f"erf2, k = {k} (d = {k + 1}): the P-n-C loss exceeds the optimal CA loss L*(k - n + 1) at "
                 f"n = {n} and is below it at n = {n + 1}",
                 (f"P-n-C point as in pnc-stability-change:erf2-k{k}",
                  "loss as orbit sums of the pair kernel (docs/theory.md §8)"), ok,
                 "Krawczyk box of the P-n-C point; loss from orbit sums in arb, mean-value form over the box "
                 "(reduced gradient enclosed over the box), CA loss at the exact point", f"{signs}", evidence, t0)


def _checks(ks) -> dict:
    out = {}
    for k in ks:
        n_pnc, n_ca, n_loss = CHANGE_POINTS[k]
        out[f"ca-stability-change:erf2-k{k}"] = partial(ca_stability_change, k, n_ca)
        out[f"pnc-stability-change:erf2-k{k}"] = partial(pnc_stability_change, k, n_pnc)
        out[f"pnc-ca-loss-crossing:erf2-k{k}"] = partial(pnc_ca_loss_crossing, k, n_loss)
    return out


def all_checks() -> dict:
    """The k = 50 change points (default ``copyavg verify``)."""
    return _checks(DEFAULT_K)


def heavy_checks() -> dict:
    """The change points at the other k of ``CHANGE_POINTS`` (``copyavg verify --heavy``)."""
    return _checks([k for k in CHANGE_POINTS if k not in DEFAULT_K])
