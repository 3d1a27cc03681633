"""The three thresholds at real n (copyavg.numeric.thresholds_continuous) against k, with fits of
their k -> infinity behaviour, and the figure docs/figures/thresholds_continuous.png (+ .svg).

    python benchmarks/thresholds_continuous.py docs/figures/thresholds_continuous [k ...]

Brackets: the integer change point is searched from a prediction (the previous k's n/k) by
stepping in integers until the scalar changes sign; brentq then refines between the two integers.
Prints one line per k and the fitted constants. erf2 only (the activation argument of the
functions takes "erf" as well).
"""

from __future__ import annotations

import sys
import time

import numpy as np
from scipy import optimize

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from copyavg.numeric.thresholds_continuous import THRESHOLDS, _FUNCS, threshold  # noqa: E402

KS = (10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)
LABELS = {"pnc_minimum": "P-n-C a minimum", "ca_saddle": "optimal CA a saddle",
          "loss_crossing": "P-n-C loss lower"}


def _bracket(k, which, guess, act):
    f = _FUNCS[which]
    n = int(min(max(round(guess), 5), k - 2))
    s0 = np.sign(f(k, n, act))
    step = 1
    while True:  # walk toward the sign change: the sign tells the side for all three scalars
        # pnc_margin < 0 below its threshold; ca_margin and loss_gap > 0 below theirs
        direction = 1 if (s0 < 0) == (which == "pnc_minimum") else -1
        m = int(min(max(n + direction * step, 5), k - 1))
        if np.sign(f(k, m, act)) != s0:
            lo, hi = sorted((n, m))
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if np.sign(f(k, mid, act)) == np.sign(f(k, lo, act)):
                    lo = mid
                else:
                    hi = mid
            return lo, hi
        n, step = m, step * 2


def compute(ks, act="erf2"):
    out = {}
    prev = {"pnc_minimum": 0.5, "ca_saddle": 0.85, "loss_crossing": 0.76}
    for k in ks:
        t0 = time.time()
        row = {}
        for which in THRESHOLDS:
            lo, hi = _bracket(k, which, prev[which] * k, act)
            row[which] = threshold(k, which, (lo, hi), act) / k
            prev[which] = row[which]
        out[k] = row
        print(k, {w: f"{v:.6f}" for w, v in row.items()}, f"{time.time() - t0:.1f} s", flush=True)
    return out


def fits(res):
    """Least-squares fits on k >= 100 (k >= 50 for the power law), with 1-sigma errors."""
    ks = np.array(sorted(res))
    out = {}
    big = ks >= 100
    x = ks[big] ** -0.5
    y = 1 - np.array([res[k]["ca_saddle"] for k in ks[big]])  # = (m* - 1)/k with m* = k - n* + 1
    # 1 - n*/k = c k^(-1/2) + e k^(-1)
    A = np.stack([x, x ** 2], 1)
    (c, e), cov = _lsq(A, y)
    out["ca_saddle"] = ("1 - n/k = c k^-1/2 + e/k", {"c": (c, cov[0]), "e": (e, cov[1])})
    y = np.array([res[k]["loss_crossing"] for k in ks[big]])
    A = np.stack([np.ones_like(x), x, x ** 2], 1)
    (r, a, b), cov = _lsq(A, y)
    out["loss_crossing"] = ("n/k = r + a k^-1/2 + b/k", {"r": (r, cov[0]), "a": (a, cov[1]), "b": (b, cov[2])})
    sel = ks >= 50
    y = np.log([res[k]["pnc_minimum"] for k in ks[sel]])
    A = np.stack([np.ones(sel.sum()), -np.log(ks[sel])], 1)
    (la, p), cov = _lsq(A, y)
    out["pnc_minimum"] = ("n/k = A k^-p", {"A": (np.exp(la), np.exp(la) * cov[0]), "p": (p, cov[1])})
    return out


def _lsq(A, y):
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    dof = max(1, len(y) - A.shape[1])
    s2 = float(np.sum((A @ coef - y) ** 2)) / dof
    cov = s2 * np.linalg.inv(A.T @ A)
    return coef, np.sqrt(np.diag(cov))


def plot(res, fit, out):
    ks = np.array(sorted(res))
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    kk = np.logspace(1, np.log10(ks.max()) + 0.3, 200)
    for j, which in enumerate(THRESHOLDS):
        col = f"C{j}"
        ax.semilogx(ks, [res[k][which] for k in ks], "o", color=col, label=LABELS[which])
        form, par = fit[which]
        if which == "ca_saddle":
            ax.semilogx(kk, 1 - par["c"][0] * kk ** -0.5 - par["e"][0] / kk, "-", color=col, lw=0.8)
            ax.axhline(1.0, color=col, ls=":", lw=0.8)
        elif which == "loss_crossing":
            r, a, b = (par[q][0] for q in "rab")
            ax.semilogx(kk, r + a * kk ** -0.5 + b / kk, "-", color=col, lw=0.8)
            ax.axhline(r, color=col, ls=":", lw=0.8)
        else:
            ax.semilogx(kk, par["A"][0] * kk ** -par["p"][0], "-", color=col, lw=0.8)
    ax.plot([50] * 3, [0.44, 0.6, 0.8], "kx", ms=8, label="paper's readings at k = 50")
    ax.set_xlabel("k (teacher neurons)")
    ax.set_ylabel("threshold n / k (real n)")
    ax.set_title("erf2: thresholds at real n; lines: fits, dotted: limits")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    for ext in ("png", "svg"):
        fig.savefig(f"{out}.{ext}", dpi=120, bbox_inches="tight")


def main(out, ks):
    res = compute(ks)
    fit = fits(res)
    for which, (form, par) in fit.items():
        print(which, form, {q: f"{v:.4f} +- {e:.4f}" for q, (v, e) in par.items()})
    plot(res, fit, out)


if __name__ == "__main__":
    main(sys.argv[1], [int(a) for a in sys.argv[2:]] or KS)
