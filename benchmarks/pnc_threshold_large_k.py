"""The P-n-C minimum threshold n* at very large k (to 10¹²) and its power law (docs/theory.md §8).

    python benchmarks/pnc_threshold_large_k.py [--activation=erf] docs/figures/pnc_threshold_large_k [k ...]
    python benchmarks/pnc_threshold_large_k.py --refit docs/figures/pnc_threshold_large_k

For each k (default: half decades 10⁴ .. 10¹²) the root of ``pnc_margin(k, n)`` is bracketed
geometrically around a prediction (the previous k's n* times ``(k/k_prev)^0.6``) and refined by
``brentq`` to ``1e-7`` relative; above ``k = 10⁷`` the margin is computed in mpmath
(``copyavg.numeric._thresholds_mp``; minutes per k there). Writes ``<out>.json`` (n* per k, timing;
after every k) and prints:

* the local exponents ``log(n*(k2)/n*(k1)) / log(k2/k1)`` between successive k;
* a least-squares fit of ``log n* = log A + p log k + log(1 + B k^(-r))`` (free ``p``, ``r``) on
  ``k >= 10⁶`` with 1-sigma errors from the residuals, and the fit with ``p = 3/5``, ``r = 1/5`` fixed.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

import numpy as np
from scipy import optimize

from copyavg.numeric.thresholds_continuous import pnc_margin

KS = tuple(int(round(10 ** (e / 2))) for e in range(8, 25))  # 1e4, 3.16e4, ..., 1e12


def threshold(k: int, guess: float, act: str) -> float:
    f = lambda n: pnc_margin(k, n, act)  # noqa: E731  (< 0 below the threshold)
    lo, hi = guess / 1.03, min(guess * 1.03, k - 1)
    while f(lo) > 0:
        lo /= 1.1
    while f(hi) < 0:
        hi = min(hi * 1.1, k - 1)
    return float(optimize.brentq(f, lo, hi, xtol=1e-7 * lo, rtol=1e-10))


def _write(out_path: str, act: str, runs: dict) -> None:
    with open(f"{out_path}.json", "w") as fh:
        json.dump({"activation": act, "runs": {str(k): v for k, v in runs.items()}}, fh, indent=1)


def compute(ks, act: str, out_path: str) -> dict:
    """n* per k; ``<out_path>.json`` is rewritten after every k (an interrupted run keeps its results)."""
    out, prev = {}, None
    for k in ks:
        t0 = time.time()
        guess = 0.084 * k if prev is None else prev[1] * (k / prev[0]) ** 0.6
        n = threshold(k, guess, act)
        out[k] = {"n_star": n, "seconds": round(time.time() - t0, 1)}
        prev = (k, n)
        print(f"k = {k:.3g}: n* = {n:.6f}, n*/k = {n / k:.4e}, n*/k^0.6 = {n / k ** 0.6:.6f} "
              f"({out[k]['seconds']} s)", flush=True)
        _write(out_path, act, out)
    return out


def local_exponents(res: dict) -> list:
    ks = sorted(res)
    return [(k1, k2, math.log(res[k2] / res[k1]) / math.log(k2 / k1)) for k1, k2 in zip(ks, ks[1:])]


def fit(res: dict, k_min: float = 1e6, fixed: bool = False) -> dict:
    ks = np.array(sorted(k for k in res if k >= k_min), float)
    y = np.log([res[int(k)] for k in ks])
    x = np.log(ks)

    def model(par, x):
        if fixed:
            logA, B = par
            p, r = 0.6, 0.2
        else:
            logA, p, B, r = par
        return logA + p * x + np.log1p(B * np.exp(-r * x))

    p0 = [0.5, 0.5] if fixed else [0.5, 0.6, 0.5, 0.2]
    sol = optimize.least_squares(lambda par: model(par, x) - y, p0)
    dof = max(1, len(x) - len(p0))
    s2 = float(np.sum(sol.fun ** 2)) / dof
    cov = np.linalg.pinv(sol.jac.T @ sol.jac) * s2
    names = ["A", "B"] if fixed else ["A", "p", "B", "r"]
    vals = list(sol.x)
    errs = list(np.sqrt(np.diag(cov)))
    vals[0], errs[0] = math.exp(vals[0]), math.exp(vals[0]) * errs[0]
    return {"params": {n: (v, e) for n, v, e in zip(names, vals, errs)},
            "max_rel_residual": float(np.max(np.abs(sol.fun))), "points": len(x)}


def report(res: dict) -> None:
    for k1, k2, p in local_exponents(res):
        print(f"local exponent {k1:.3g} -> {k2:.3g}: {p:.4f}")
    points = sum(1 for k in res if k >= 1e6)
    for fixed in (False, True):
        if points < (3 if fixed else 5):
            print(f"fit skipped: {points} values of k >= 1e6 (needs {3 if fixed else 5})")
            continue
        f = fit(res, fixed=fixed)
        label = "p = 3/5, r = 1/5 fixed" if fixed else "free p, r"
        print(f"fit n* = A k^p (1 + B k^-r), k >= 1e6, {label}:",
              {q: f"{v:.5g} +- {e:.2g}" for q, (v, e) in f["params"].items()},
              f"max |rel residual| {f['max_rel_residual']:.1e} on {f['points']} points")


def main(argv) -> int:
    ap = argparse.ArgumentParser(description="The P-n-C threshold n* at very large k and its power law.")
    ap.add_argument("--activation", default="erf2", help="erf2 (default) or erf")
    ap.add_argument("--refit", action="store_true", help="fits only, from <out>.json of an earlier run")
    ap.add_argument("out", help="output prefix: <out>.json")
    ap.add_argument("k", nargs="*", type=lambda a: int(float(a)), help="teacher widths (default: 1e4 .. 1e12)")
    args = ap.parse_args(argv)
    act, refit, out = args.activation, args.refit, args.out
    if refit:
        with open(f"{out}.json") as fh:
            data = json.load(fh)
        res = {int(k): v["n_star"] for k, v in data["runs"].items()}
    else:
        runs = compute(args.k or KS, act, out)
        res = {k: v["n_star"] for k, v in runs.items()}
    report(res)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
