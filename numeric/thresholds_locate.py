r"""The three change points along n (docs/theory.md §8) by bracketing and bisection in n.

Each change point is where a yes/no property of the row at n switches from "no" to "yes" as n grows:

* ``pnc_minimum``: the P-n-C point is a minimum (its saddle -> minimum change; ``n >= 2``, since
  at ``n = 1`` the P-n-C point is the CA point);
* ``ca_saddle``: the optimal CA point is a saddle;
* ``loss_crossing``: the P-n-C loss is below the optimal CA loss.

``locate(k)`` starts each search at a prediction (erf family: the real-n thresholds of §8 - the
derived CA saddle expansion, the fitted loss crossing and P-n-C curve; else a fixed fraction of
k), steps outwards with doubling steps until the property differs on the two ends, and bisects
down to adjacent n: ``O(log k)`` rows per change point instead of ``k - 1``. It finds *a* change
with "no" at ``n`` and "yes" at ``n + 1``, both evaluated; it does not show there is only one.
As evidence, every evaluated row (from all three searches) is checked against a single change at
the located place (``consistent``); a violation is reported, and ``table`` (every n) decides.
Rows are continued from the nearest evaluated n (``solve_pnc_reduced(guess=...)``) and cached.
"""

from __future__ import annotations

import math

import numpy as np

from .thresholds_reduced import _row

__all__ = ["locate", "PROPERTIES", "predict"]

PROPERTIES = {
    "pnc_minimum": lambda r: r["pnc_type"] == "minimum",
    "ca_saddle": lambda r: r["ca_type"] == "saddle",
    "loss_crossing": lambda r: r["pnc_loss"] < r["ca_loss"],
}

#: erf2 real-n P-n-C thresholds n* (docs/theory.md §8 table and limit (c)); interpolated in
#: log k / log n* as a starting point only.
_PNC_POINTS = ((10, 5.586), (50, 21.43), (100, 41.33), (200, 73.5), (500, 142.5), (1000, 223.5),
               (1e4, 840.5), (1e5, 2855.1), (1e6, 9648.2))
#: loss crossing ``n*/k = r + b/k`` (fitted, §8 limit (b)).
_CROSSING = {"erf2": (0.766230, -1.46), "erf": (0.783162, -0.567)}


def predict(k: int, which: str, activation: str = "erf2") -> float:
    """Starting point of the search for ``which`` (a real n; not a claim).

    Parameters
    ----------
    k : int
        ``k >= 2``.
    which : str
        A key of ``PROPERTIES``.
    activation : str, default "erf2"

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Unknown ``which``.

    Examples
    --------
    >>> round(predict(50, "ca_saddle"))
    45
    """
    from .thresholds_continuous import CA_SADDLE_CONSTANTS

    if which not in PROPERTIES:
        raise ValueError(f"which must be one of {tuple(PROPERTIES)}, got {which!r}")
    erf = activation in CA_SADDLE_CONSTANTS
    if which == "ca_saddle":
        if not erf:
            return 0.9 * k
        C, D = CA_SADDLE_CONSTANTS[activation]
        return k + 1 - (C * math.sqrt(k) + D)  # m* = k - n* + 1
    if which == "loss_crossing":
        r, b = _CROSSING.get(activation, (0.75, 0.0))
        return r * k + b
    if not erf:
        return 0.4 * k
    lk = [math.log(p[0]) for p in _PNC_POINTS]
    ln = [math.log(p[1]) for p in _PNC_POINTS]
    x = math.log(k)
    if x <= lk[0]:
        return _PNC_POINTS[0][1] * k / _PNC_POINTS[0][0]
    return math.exp(float(np.interp(x, lk, ln, right=ln[-1] + (x - lk[-1]) * (ln[-1] - ln[-2]) / (lk[-1] - lk[-2]))))


class _Rows:
    """Rows by n, each continued from the nearest evaluated n when that is close."""

    def __init__(self, k, activation, callback):
        self.k, self.activation, self.callback, self.rows = k, activation, callback, {}

    def __call__(self, n: int) -> dict:
        if n not in self.rows:
            guess = None
            if self.rows:
                near = min(self.rows, key=lambda m: abs(m - n))
                if abs(near - n) <= max(8, self.k // 50):
                    r = self.rows[near]
                    guess = [r["pnc_alpha"], r["pnc_beta"], r["pnc_gamma"], r["pnc_c"]]
            self.rows[n], _ = _row(self.k, n, self.activation, guess)
            if self.callback is not None:
                self.callback(n)
        return self.rows[n]


def _search(rows: _Rows, test, start: int, lo_n: int, hi_n: int):
    """Adjacent ``(n, n + 1)`` with ``test`` False at n and True at n + 1, or None."""
    n = min(max(start, lo_n), hi_n)
    up = test(rows(n))  # True: the change is at or below n
    step, a = 1, n
    while True:  # expand until the property differs at the ends [lo, hi]
        b = a - step if up else a + step
        b = min(max(b, lo_n), hi_n)
        if b == a:
            return None
        if test(rows(b)) != up:
            lo, hi = (b, a) if up else (a, b)
            break
        a, step = b, 2 * step
    if test(rows(lo)) or not test(rows(hi)):
        return None  # the opposite direction (yes below, no above)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if test(rows(mid)) else (mid, hi)
    return lo, hi


def locate(k: int, activation: str = "erf2", checks: int = 8, callback=None) -> dict:
    """The three change points by bracketing and bisection from predicted n.

    Parameters
    ----------
    k : int
        ``k >= 3``.
    activation : str, default "erf2"
        A smooth activation with a one-neuron solution (erf family).
    checks : int, default 8
        Extra rows at ``checks`` evenly spaced n in ``[2, k - 1]``, evaluated after the searches
        only as evidence for ``consistent`` (``>= 0``).
    callback : callable, optional
        Called with ``n`` after each evaluated row (progress).

    Returns
    -------
    dict
        ``{"rows", "brackets", "consistent", "evaluated"}``: the evaluated rows sorted by n (keys of
        ``copyavg.numeric.thresholds_reduced.table``), for each key of ``PROPERTIES`` the adjacent
        ``(n, n + 1)`` where it switches from no to yes (or None when the search found no such
        switch), whether every evaluated row agrees with a single switch at each bracket, and the
        number of rows evaluated.

    Raises
    ------
    ValueError
        Bad ``k`` or ``checks``, a non-smooth activation or a failed solve.

    Examples
    --------
    >>> out = locate(50, checks=0)
    >>> out["brackets"]["ca_saddle"], out["consistent"], out["evaluated"] < 49
    ((44, 45), True, True)
    """
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 3:
        raise ValueError(f"k must be an integer >= 3, got {k!r}")
    if not isinstance(checks, (int, np.integer)) or isinstance(checks, bool) or checks < 0:
        raise ValueError(f"checks must be an integer >= 0, got {checks!r}")
    rows = _Rows(int(k), activation, callback)
    brackets = {}
    for which, test in PROPERTIES.items():
        lo_n = 2 if which == "pnc_minimum" else 1
        brackets[which] = _search(rows, test, round(predict(k, which, activation)), lo_n, k - 1)
    for n in sorted(set(np.linspace(2, k - 1, checks + 2).round().astype(int).tolist()[1:-1])):
        rows(n)
    consistent = True
    for which, br in brackets.items():
        if br is None:
            continue
        test = PROPERTIES[which]
        lo_n = 2 if which == "pnc_minimum" else 1
        consistent &= all(test(r) == (n >= br[1]) for n, r in rows.rows.items() if n >= lo_n)
    return {"rows": [rows.rows[n] for n in sorted(rows.rows)], "brackets": brackets,
            "consistent": bool(consistent), "evaluated": len(rows.rows)}
