r"""The three thresholds along n/k at real n (docs/theory.md §8).

Both symmetric points are described by group sizes: the optimal CA point by ``N = n - 1`` copies
and one student averaging ``m = k - n + 1`` teachers, the P-n-C point by ``N = n`` copies and
``M = k - n`` averaged directions. Every ingredient of their symmetry blocks is a smooth function
of these sizes: the window entries (``copyavg.numeric._sym_window``) contain ``N`` and ``M`` only
through inner products and class counts (polynomials), the averaging neuron has a closed form in
a real ``m`` (``copyavg.numeric.one_neuron.average_point``), and the pattern counts of the blocks
are polynomials in ``N`` for ``N >= 4`` (``copyavg.numeric._sym_counts``), which we evaluate at
real ``N``. So with ``n`` real (``k`` fixed) each threshold is the root of a smooth scalar:

* ``ca_margin``: smallest eigenvalue of the diagonally scaled CA blocks (``D B D``, the inertia
  of ``B``); positive at a minimum, negative at a saddle;
* ``pnc_margin``: the same at the P-n-C point, solved at real ``n`` by Newton on the reduced
  equations from the nearest integer solution (for ``k > 10⁷`` polished and evaluated in mpmath,
  ``copyavg.numeric._thresholds_mp``, up to ``k = 10¹²``);
* ``loss_gap``: P-n-C loss minus CA loss.

``threshold(k, which)`` brackets a sign change (integer end points, the values of
``copyavg.numeric.thresholds_reduced``) and refines it with ``scipy.optimize.brentq``. Needs
``N >= 4`` inside the bracket (``n >= 5``; ``n >= 4`` for the P-n-C scalar alone).

Piecewise-linear family (relu, leaky_relu, abs): only ``pnc_margin`` (and ``loss_gap``) exist.
The optimal CA point is not a critical point for ``n >= 2`` (its gradient does not vanish,
``copyavg.numeric.pnc_reduced.ca_point_reduced``), so there is no CA-saddle threshold, and the
P-n-C loss is below the CA loss at every ``n >= 2``: no crossing. Positive homogeneity gives one
exact zero mode per student, ``(a_i, w_i) -> (a_i / s, s w_i)``; each moves ``a_i``, so the
Hessian restricted to fixed outgoing weights (``delta a = 0``, a complement of those modes:
``q(v + z) = q(v)`` for a zero mode ``z``) has the same nonzero inertia, and ``pnc_margin`` is
its smallest scaled block eigenvalue. Collinear pairs use the weight-space limit of
``copyavg.numeric._sym_window.Window._collinear``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize

from ._sym_counts import _basis, coordinates
from ._sym_window import Structure, Window
from .activations import get_activation
from .one_neuron import average_point
from .pnc import _balanced
from .pnc_reduced import _newton, _reduced_gradient, _reduced_hessian, solve_pnc_reduced
from .symmetry import _pencils, _reduce, symmetry_blocks
from ._thresholds_mp import MAX_K as MP_MAX_K
from ._thresholds_mp import MP_ABOVE, pnc_margin_mp

__all__ = ["ca_margin", "pnc_margin", "loss_gap", "threshold", "from_rows", "THRESHOLDS", "CA_SADDLE_C", "CA_SADDLE_D",
           "CA_SADDLE_CONSTANTS", "PL_NOTE"]

THRESHOLDS = ("pnc_minimum", "ca_saddle", "loss_crossing")

#: erf2: the CA point turns into a saddle at the group size ``m* = CA_SADDLE_C sqrt(k) + CA_SADDLE_D
#: + O(k^-1/2)`` (``m* = k - n* + 1``), i.e. ``n*/k = 1 - CA_SADDLE_C / sqrt(k) + (1 - CA_SADDLE_D) / k
#: + O(k^-3/2)``. Derived (``copyavg.symbolic.ca_saddle.saddle_asymptotics``):
#: ``C = 3^(1/4) (1 + sqrt 3) / 4``, ``D = -3/16 - sqrt(3)/8``; the real-n roots at ``k = 10^3 .. 10^9``
#: agree (fit: 0.8988954, -0.40400).
CA_SADDLE_C = 3 ** 0.25 * (1 + math.sqrt(3)) / 4
CA_SADDLE_D = -3 / 16 - math.sqrt(3) / 8
#: ``(C, D)`` per activation; erf: ``5^(1/4) (1 + sqrt 5) / 6``, ``-5/36 - sqrt(5)/12``
CA_SADDLE_CONSTANTS = {"erf2": (CA_SADDLE_C, CA_SADDLE_D),
                       "erf": (5 ** 0.25 * (1 + math.sqrt(5)) / 6, -5 / 36 - math.sqrt(5) / 12)}


def _size(x):
    """An integer-valued real as int (the window needs ``range(min(N, 4))``), else float."""
    return int(round(x)) if float(x) == round(x) else float(x)


def _check(k, n, act, lo=5, pl_ok=False):
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 6:
        raise ValueError(f"k must be an integer >= 6, got {k!r}")
    n = float(n)
    if not (lo <= n <= k - 1):
        raise ValueError(f"n must be real in [{lo}, k - 1] = [{lo}, {k - 1}], got {n!r}")
    a = get_activation(act)
    pl = a.family == "piecewise_linear"
    if not (a.smooth or (pl and pl_ok)):
        raise ValueError(f"activation {a.name!r}: " + (
            "the optimal CA point of the piecewise-linear family is not critical (n >= 2): no CA-saddle "
            "threshold" if pl else "the blocks need a smooth activation or the piecewise-linear family"))
    return int(k), n, a.name


def _homogeneous(act) -> bool:
    return get_activation(act).family == "piecewise_linear"


def _ca(k, n, act):
    m = k - n + 1
    norm, beta = average_point(act, m)
    return Structure(act, k, k + 1, _size(n - 1), 1.0, 0.0, 0.0, 1.0, True, 0.0,
                     norm / math.sqrt(m), float(beta))


def _scaled_min(st) -> float:
    """Smallest eigenvalue of ``D B D`` over all blocks (``D = diag|B_ii|^(-1/2)``: same signs);
    piecewise-linear family: of the blocks at fixed outgoing weights (module docstring)."""
    if _homogeneous(st.activation):
        return _scaled_min_fixed_a(st)
    lo = np.inf
    for b in symmetry_blocks(st):
        lo = min(lo, _scaled_eig(b.matrix))
    return lo


def _scaled_eig(B) -> float:
    dg = np.abs(np.diag(B))
    D = 1.0 / np.sqrt(np.where(dg > 0, dg, 1.0))
    return float(np.linalg.eigvalsh(D[:, None] * B * D[None, :])[0])


def _scaled_min_fixed_a(st) -> float:
    """``_scaled_min`` with every ``a`` coordinate removed from the pencils (``N >= 4``: the basis
    columns, one per orbit and position, are those of ``N = 4``)."""
    lo = np.inf
    for sector, tau, M, G, _ in _pencils(st):
        coords = coordinates(sector, 4, st.extra)
        U = _basis(tau, coords, 4)
        on_a = np.array([c[0] == "a" for c in coords])
        keep = ~np.any(U[on_a] != 0, axis=0)
        B = _reduce(M[np.ix_(keep, keep)], G[np.ix_(keep, keep)])
        if B.size:
            lo = min(lo, _scaled_eig(B))
    return lo


def ca_margin(k: int, n: float, activation: str = "erf2") -> float:
    """Smallest scaled block eigenvalue of the optimal CA point at real ``n``.

    Parameters
    ----------
    k : int
        ``k >= 6``.
    n : float
        Real student width in ``[5, k - 1]``.
    activation : str, default "erf2"
        A smooth activation with a one-neuron closed form (erf family).

    Returns
    -------
    float
        ``> 0`` at a minimum, ``< 0`` at a saddle.

    Raises
    ------
    ValueError
        ``k``, ``n`` out of range or a non-smooth activation (the piecewise-linear family too: its
        optimal CA point is not critical, module docstring).

    Examples
    --------
    >>> ca_margin(10, 8) > 0 > ca_margin(10, 9)
    True
    """
    k, n, act = _check(k, n, activation)
    return _scaled_min(_ca(k, n, act))


_PNC_CACHE: dict = {}


def _pnc(k, n, act, strict=True):
    """The P-n-C structure at real n (Newton from the nearest cached solution of this k);
    ``strict=False``: without the accuracy check (a starting point for the mpmath route)."""
    key = (k, act)
    sols = _PNC_CACHE.setdefault(key, {})
    lo, hi = math.floor(n), min(math.floor(n) + 1, k - 1)
    for ni in (lo, hi):
        if ni not in sols:
            p = solve_pnc_reduced(k, ni, activation=act)
            sols[ni] = np.array([p["alpha"], p["beta"], p["gamma"], p["c"]])
    tangent = sols[hi] - sols[lo]  # the family moves smoothly with n: predictor per unit of n
    steps = max(1, math.ceil((n - lo) / 0.1))
    x = sols[lo]
    for j in range(1, steps + 1):  # continuation from the integer solution in steps <= 0.1
        nj = lo + (n - lo) * j / steps
        x, g = _solve_at(act, k, _size(nj), x + tangent * (n - lo) / steps, strict)
        if _homogeneous(act):  # back to the balanced member of the scaling curve (as at integers)
            x = _balanced(x, k, nj)
    return Structure(act, k, k + 1, _size(n), float(x[0]), float(x[2]), float(x[1]), float(x[3]))


def _solve_at(act, k, N, guess, strict=True):
    """Newton on the reduced P-n-C equations at (real) ``N`` copies."""
    def st(x):
        return Structure(act, k, k + 1, N, float(x[0]), float(x[2]), float(x[1]), float(x[3]))

    def grad(x):
        return _reduced_gradient(Window(st(x)))[0]

    def hess(x):
        return _reduced_hessian(st(x))

    def gmax(x):
        return _reduced_gradient(Window(st(x)))[1]

    x, g = _newton(grad, hess, gmax, guess, 1e-13, 30)
    if strict and g > 1e-8 or float(np.max(np.abs(x - guess))) > 0.05 * (1 + float(np.max(np.abs(guess)))):
        raise ValueError(f"no P-n-C point found at real n = {N} (k = {k}): max|grad| = {g:.2e}, "
                         "or Newton left the continued branch")
    return x, g


def pnc_margin(k: int, n: float, activation: str = "erf2") -> float:
    """Smallest scaled block eigenvalue of the P-n-C point at real ``n``.

    Parameters
    ----------
    k : int
        ``6 <= k <= 10¹²`` (above ``10⁷`` in mpmath, ``copyavg.numeric._thresholds_mp``).
    n : float
        Real student width in ``[4, k - 1]``.
    activation : str, default "erf2"
        A smooth activation (erf family) or the piecewise-linear family (relu, leaky_relu, abs:
        the Hessian at fixed outgoing weights, module docstring).

    Returns
    -------
    float
        ``> 0`` at a minimum, ``< 0`` at a saddle.

    Raises
    ------
    ValueError
        Bad ``k``, ``n``, activation, or the Newton solve did not converge.

    Examples
    --------
    >>> pnc_margin(10, 5) < 0 < pnc_margin(10, 6)
    True
    >>> pnc_margin(10, 4, "relu") < 0 < pnc_margin(10, 5, "relu")
    True
    """
    k, n, act = _check(k, n, activation, lo=4, pl_ok=True)
    if k > MP_ABOVE and not _homogeneous(act):  # float64 cancels log10(k) digits: mpmath
        if k > MP_MAX_K:
            raise ValueError(f"k must be <= {MP_MAX_K:.0e} for the P-n-C margin, got {k!r}")
        st = _pnc(k, n, act, strict=False)
        return pnc_margin_mp(act, k, _size(n), (st.o, st.p, st.t, st.a))
    return _scaled_min(_pnc(k, n, act))


def loss_gap(k: int, n: float, activation: str = "erf2") -> float:
    """P-n-C loss minus optimal CA loss at real ``n``.

    Parameters
    ----------
    k : int
        ``k >= 6``.
    n : float
        Real student width in ``[5, k - 1]``.
    activation : str, default "erf2"
        A smooth activation (erf family) or the piecewise-linear family.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Bad ``k``, ``n``, activation, or the P-n-C solve did not converge.

    Examples
    --------
    >>> loss_gap(10, 7) > 0 > loss_gap(10, 8)
    True
    >>> loss_gap(10, 5.5, "relu") < 0  # relu: the P-n-C loss is the lower one
    True
    """
    k, n, act = _check(k, n, activation, pl_ok=True)
    return float(Window(_pnc(k, n, act)).loss()) - float(Window(_ca(k, n, act)).loss())


_FUNCS = {"pnc_minimum": pnc_margin, "ca_saddle": ca_margin, "loss_crossing": loss_gap}


def threshold(k: int, which: str, bracket, activation: str = "erf2", xtol: float = 1e-9) -> float:
    """The real ``n`` where the scalar of ``which`` changes sign inside ``bracket``.

    Parameters
    ----------
    k : int
        ``k >= 6``.
    which : str
        ``"pnc_minimum"``, ``"ca_saddle"`` or ``"loss_crossing"``.
    bracket : pair of floats
        ``(lo, hi)`` in ``[5, k - 1]`` with a sign change (e.g. adjacent integer change points).
    activation : str, default "erf2"
    xtol : float, default 1e-9
        Absolute tolerance in ``n``.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Unknown ``which``, bad bracket (no sign change) or bad sizes.

    Examples
    --------
    >>> 8 < threshold(10, "ca_saddle", (8, 9)) < 9
    True
    """
    if which not in _FUNCS:
        raise ValueError(f"which must be one of {THRESHOLDS}, got {which!r}")
    f = _FUNCS[which]
    lo, hi = map(float, bracket)
    flo, fhi = f(k, lo, activation), f(k, hi, activation)
    if not flo * fhi < 0:
        raise ValueError(f"bracket {bracket!r}: no sign change of {which} ({flo:.3g}, {fhi:.3g})")
    return float(optimize.brentq(lambda x: f(k, x, activation), lo, hi, xtol=xtol))


def _change(rows, test):
    """Adjacent rows ``(lo, hi)`` where ``test`` goes from False to True (the last such pair)."""
    out = None
    for a, b in zip(rows, rows[1:]):
        if not test(a) and test(b) and b["n"] - a["n"] == 1:
            out = (a["n"], b["n"])
    return out


def from_rows(k: int, rows, activation: str = "erf2") -> dict:
    """Real-n thresholds between the integer change points of a thresholds table.

    Parameters
    ----------
    k : int
        ``k >= 6``.
    rows : list of dict
        From ``copyavg.numeric.thresholds_reduced.table`` or ``scan`` (keys ``n``, ``pnc_type``,
        ``ca_type``, ``pnc_loss``, ``ca_loss``), sorted by n.
    activation : str, default "erf2"
        The activation of the table.

    Returns
    -------
    dict
        For each name of ``THRESHOLDS``: ``{"n", "n_over_k", "bracket"}``, or ``None`` when the
        table has no such change or it lies below ``n = 5`` (the real-N counts need 4 copies;
        ``n = 4`` for the P-n-C scalar of the piecewise-linear family). Piecewise-linear family:
        ``ca_saddle`` and ``loss_crossing`` are ``None`` (they do not exist: the CA point is not
        critical) and ``"note"`` says why.

    Raises
    ------
    ValueError
        Bad ``k`` or activation, or a failed solve inside a bracket.

    Examples
    --------
    >>> from copyavg.numeric.thresholds_reduced import table
    >>> out = from_rows(10, table(10, ns=range(5, 10)))
    >>> out["ca_saddle"]["bracket"], round(out["ca_saddle"]["n"], 4)
    ((8, 9), 8.4185)
    >>> out = from_rows(10, table(10, ns=range(4, 6), activation="relu"), "relu")
    >>> out["pnc_minimum"]["bracket"], round(out["pnc_minimum"]["n"], 4), out["ca_saddle"]
    ((4, 5), 4.0415, None)
    """
    pl = _homogeneous(activation)
    tests = {"pnc_minimum": lambda r: r["pnc_type"] == "minimum",
             "ca_saddle": lambda r: r["ca_type"] == "saddle",
             "loss_crossing": lambda r: r["pnc_loss"] < r["ca_loss"]}
    out = {}
    for which in THRESHOLDS:
        br = None if pl and which != "pnc_minimum" else _change(list(rows), tests[which])
        if br is None or br[0] < (4 if pl else 5):
            out[which] = None
            continue
        x = threshold(k, which, br, activation)
        out[which] = {"n": x, "n_over_k": x / k, "bracket": br}
    if pl:
        out["note"] = PL_NOTE
    return out


#: why the piecewise-linear family has one threshold only (from_rows, the CLI)
PL_NOTE = ("piecewise-linear family: the optimal CA point is not critical for n >= 2 (its gradient does "
           "not vanish), so there is no CA-saddle threshold and no loss crossing between a CA critical "
           "point and the P-n-C point; the integer table above gives the two losses")
