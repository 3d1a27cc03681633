"""Thresholds along n (docs/theory.md §8) from the symmetry blocks: every n, or a scan.

``table(k)`` gives the rows of ``copyavg.numeric.pnc.threshold_table`` (same keys) for every n,
the P-n-C point continued from n - 1 (``solve_pnc_reduced(guess=...)``). ``scan(k, grid)``
evaluates a grid of n and bisects every interval where a type or the sign of the loss difference
changes, down to adjacent n: a pair of changes inside one grid interval cancels out and is missed
(with the default grid of 48 points that would need two changes within k/48 consecutive n).
"""

from __future__ import annotations

import numpy as np

from .pnc_reduced import ca_point_reduced, solve_pnc_reduced

__all__ = ["table", "scan"]


def _row(k, n, activation, guess=None):
    p = solve_pnc_reduced(k, n, activation=activation, guess=guess)
    ca = ca_point_reduced(k, n, activation=activation)
    row = {"n": n, "n_over_k": n / k, "pnc_loss": p["loss"], "pnc_type": p["classification"],
           "pnc_eig_min": p["eig_min"], "ca_loss": ca["loss"], "ca_type": ca["classification"],
           "ca_eig_min": ca["eig_min"], "pnc_grad_max": p["grad_max"], "ca_grad_max": ca["grad_max"],
           "pnc_alpha": p["alpha"], "pnc_beta": p["beta"], "pnc_gamma": p["gamma"], "pnc_c": p["c"]}
    return row, [p["alpha"], p["beta"], p["gamma"], p["c"]]


def _predict(prev, n):
    """Continuation guess at n: linear extrapolation from the last two solved points."""
    if not prev:
        return None
    if len(prev) == 1:
        return prev[0][1]
    (n0, x0), (n1, x1) = prev
    return x1 + (x1 - x0) * (n - n1) / (n1 - n0)


def table(k: int, activation: str = "erf2", ns=None, callback=None) -> list[dict]:
    """Rows of the thresholds table for the given n (default ``1..k-1``), by the blocks.

    Parameters
    ----------
    k : int
        ``k >= 2``.
    activation : str, default "erf2"
        An activation with a one-neuron solution and a closed-form kernel: erf family or
        piecewise-linear (relu, leaky_relu, abs).
    ns : iterable of int, optional
        Increasing student widths in ``1..k-1``.
    callback : callable, optional
        Called with ``n`` after each row (progress).

    Returns
    -------
    list of dict
        Keys as ``copyavg.numeric.pnc.threshold_table``.

    Raises
    ------
    ValueError
        Bad ``k``/``n`` or an activation neither smooth nor piecewise-linear.

    Examples
    --------
    >>> [r["ca_type"] for r in table(10, ns=[8, 9])]
    ['minimum', 'saddle']
    """
    rows, prev = [], []
    for n in (range(1, k) if ns is None else ns):
        row, x = _row(k, int(n), activation, _predict(prev, int(n)))
        prev = (prev + [(int(n), np.array(x))])[-2:]
        rows.append(row)
        if callback is not None:
            callback(n)
    return rows


def _signature(row) -> tuple:
    diff = row["pnc_loss"] - row["ca_loss"]
    tie = abs(diff) <= 1e-12 * max(1.0, abs(row["ca_loss"]))
    return row["pnc_type"], row["ca_type"], 0 if tie else int(np.sign(diff))


def scan(k: int, activation: str = "erf2", grid: int = 48, callback=None) -> list[dict]:
    """Rows at a grid of n plus, by bisection, both sides of every change.

    Parameters
    ----------
    k : int
        ``k >= 2``.
    activation : str, default "erf2"
        An activation with a one-neuron solution and a closed-form kernel: erf family or
        piecewise-linear (relu, leaky_relu, abs).
    grid : int, default 48
        Number of grid points (``>= 2``); all n when ``k - 1 <= grid``.
    callback : callable, optional
        Called with ``n`` after each evaluated row.

    Returns
    -------
    list of dict
        Rows sorted by n; adjacent rows differ in type only at adjacent n.

    Raises
    ------
    ValueError
        Bad ``k``, ``grid`` or an activation neither smooth nor piecewise-linear.

    Examples
    --------
    >>> rows = scan(10, grid=3)  # grid n = 1, 5, 9, then bisection where something changes
    >>> [r["n"] for r in rows if r["ca_type"] == "saddle"]
    [9]
    """
    if not isinstance(grid, (int, np.integer)) or grid < 2:
        raise ValueError(f"grid must be an integer >= 2, got {grid!r}")
    ns = sorted(set(np.linspace(1, k - 1, min(grid, k - 1)).round().astype(int).tolist()))
    rows = {}
    prev = []
    for n in ns:
        rows[n], x = _row(k, n, activation, _predict(prev, n))
        prev = (prev + [(n, np.array(x))])[-2:]
        if callback is not None:
            callback(n)
    todo = list(zip(ns, ns[1:]))
    while todo:
        lo, hi = todo.pop()
        if hi - lo <= 1 or _signature(rows[lo]) == _signature(rows[hi]):
            continue
        mid = (lo + hi) // 2
        xl, xh = (np.array([rows[m][key] for key in ("pnc_alpha", "pnc_beta", "pnc_gamma", "pnc_c")]) for m in (lo, hi))
        rows[mid], _ = _row(k, mid, activation, xl + (xh - xl) * (mid - lo) / (hi - lo))
        if callback is not None:
            callback(mid)
        todo += [(lo, mid), (mid, hi)]
    return [rows[n] for n in sorted(rows)]
