"""The three thresholds at real n (copyavg.numeric.thresholds_continuous) against k, with fits of
their k -> infinity behaviour, and the figure docs/figures/thresholds_continuous.png (+ .svg).

    python benchmarks/thresholds_continuous.py [--activation=erf] [--replot] docs/figures/thresholds_continuous [k ...]

Brackets: the integer change point is searched from a prediction (the previous k's n/k) by
stepping in integers until the scalar changes sign; brentq then refines between the two integers.
Prints one line per k and the fitted constants; writes the n*/k values to ``<out>.json``. The
figure's title names the activation.

Piecewise-linear family (``--activation=relu``): the P-n-C threshold only (the optimal CA point is
not critical, so the CA saddle and the loss crossing do not exist); brackets from n = 4; fit
``n* = n_inf + b/k + c/k^2`` (k >= 200); the figure has n*/k and n* against k, and the gradient
size of the optimal CA point at n = k - 1 (its smallest over n) is written to the json.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from scipy import optimize

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from copyavg.numeric.thresholds_continuous import THRESHOLDS, _FUNCS, threshold  # noqa: E402

KS = (10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 300000, 1000000)
LABELS = {"pnc_minimum": "P-n-C a minimum", "ca_saddle": "optimal CA a saddle",
          "loss_crossing": "P-n-C loss lower"}


def _bracket(k, which, guess, act, low=5):
    f = _FUNCS[which]
    n = int(min(max(round(guess), low), k - 2))
    s0 = np.sign(f(k, n, act))
    step = 1
    while True:  # walk toward the sign change: the sign tells the side for all three scalars
        # pnc_margin < 0 below its threshold; ca_margin and loss_gap > 0 below theirs
        direction = 1 if (s0 < 0) == (which == "pnc_minimum") else -1
        m = int(min(max(n + direction * step, low), k - 1))
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
    """The k -> infinity forms, least squares with 1-sigma errors (from the residuals).

    CA saddle: m* = k - n* + 1 = c sqrt(k) + d + e k^-1/2 (k >= 1000); loss crossing:
    n*/k = r + b/k (k >= 2000); P-n-C minimum: n*/k = A k^-p (k >= 5000, a local exponent).
    """
    ks = np.array(sorted(res), float)
    out = {}
    sel = ks >= 1000
    m = ks[sel] * (1 - np.array([res[k]["ca_saddle"] for k in ks[sel]])) + 1
    A = np.stack([np.sqrt(ks[sel]), np.ones(sel.sum()), ks[sel] ** -0.5], 1)
    (c, d, e), err = _lsq(A, m)
    out["ca_saddle"] = ("m* = c sqrt(k) + d + e/sqrt(k)", {"c": (c, err[0]), "d": (d, err[1]), "e": (e, err[2])})
    sel = ks >= 2000
    y = np.array([res[k]["loss_crossing"] for k in ks[sel]])
    A = np.stack([np.ones(sel.sum()), 1 / ks[sel]], 1)
    (r, b), err = _lsq(A, y)
    out["loss_crossing"] = ("n/k = r + b/k", {"r": (r, err[0]), "b": (b, err[1])})
    sel = ks >= 5000
    y = np.log([res[k]["pnc_minimum"] for k in ks[sel]])
    A = np.stack([np.ones(sel.sum()), -np.log(ks[sel])], 1)
    (la, p), err = _lsq(A, y)
    out["pnc_minimum"] = ("n/k = A k^-p", {"A": (np.exp(la), np.exp(la) * err[0]), "p": (p, err[1])})
    return out


def _lsq(A, y):
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    dof = max(1, len(y) - A.shape[1])
    s2 = float(np.sum((A @ coef - y) ** 2)) / dof
    cov = s2 * np.linalg.inv(A.T @ A)
    return coef, np.sqrt(np.diag(cov))


def _large_k(act):
    """n* of the P-n-C threshold at large k (benchmarks/pnc_threshold_large_k.py), if computed."""
    import os

    path = f"docs/figures/pnc_threshold_large_k{'' if act == 'erf2' else '_' + act}.json"
    if not os.path.exists(path):
        return {}
    with open(path) as fh:
        return {int(k): v["n_star"] for k, v in json.load(fh)["runs"].items()}


def plot(res, fit, out, act="erf2"):
    ks = np.array(sorted(res))
    large = _large_k(act)
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    kk = np.logspace(1, np.log10(max([ks.max(), *large])) + 0.3, 200)
    kf = kk[kk >= 1000]  # the fitted forms only where they were fitted
    for j, which in enumerate(THRESHOLDS):
        col = f"C{j}"
        ax.semilogx(ks, [res[k][which] for k in ks], "o", color=col, label=LABELS[which])
        form, par = fit[which]
        if which == "ca_saddle":  # fitted c, d (erf2: CA_SADDLE_C, CA_SADDLE_D to 1e-7 / 1e-4)
            c, d = par["c"][0], par["d"][0]
            ax.semilogx(kk, 1 - (c * np.sqrt(kk) + d - 1) / kk, "-", color=col, lw=0.8)
            ax.axhline(1.0, color=col, ls=":", lw=0.8)
        elif which == "loss_crossing":
            r, b = par["r"][0], par["b"][0]
            ax.semilogx(kf, r + b / kf, "-", color=col, lw=0.8)
            ax.axhline(r, color=col, ls=":", lw=0.8)
        elif len(large) >= 5:  # the power law fitted on k >= 1e6 (n* = A k^p (1 + B k^-r))
            from pnc_threshold_large_k import fit as fit_large

            lk = np.array(sorted(large))
            ax.semilogx(lk, [large[k] / k for k in lk], "s", mfc="none", color=col, ms=4,
                        label="P-n-C a minimum (mpmath above k = 1e7)")
            q = {n: v for n, (v, _) in fit_large(large)["params"].items()}
            kl = kk[kk >= 1e6]  # where it was fitted
            ax.semilogx(kl, q["A"] * kl ** (q["p"] - 1) * (1 + q["B"] * kl ** -q["r"]), "-", color=col, lw=0.8)
        else:
            ax.semilogx(kf, par["A"][0] * kf ** -par["p"][0], "-", color=col, lw=0.8)
    ax.plot([50] * 3, [0.44, 0.6, 0.8], "kx", ms=8, label="paper's readings at k = 50")
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("k (teacher neurons)")
    ax.set_ylabel("threshold n / k (real n)")
    ax.set_title(f"{act}: thresholds at real n; lines: k -> oo forms, dotted: limits")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    for ext in ("png", "svg"):
        fig.savefig(f"{out}.{ext}", dpi=120, bbox_inches="tight")


KS_PL = (10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000)


def compute_pl(ks, act):
    """Piecewise-linear family: ``n*`` of the P-n-C scalar per k (brackets from n = 4)."""
    out, guess = {}, 5
    for k in ks:
        t0 = time.time()
        lo, hi = _bracket(k, "pnc_minimum", guess, act, low=4)
        out[k] = threshold(k, "pnc_minimum", (lo, hi), act)
        guess = out[k]
        print(k, f"n* = {out[k]:.9f}", f"n*/k = {out[k] / k:.6g}", f"between {lo} and {hi}",
              f"{time.time() - t0:.1f} s", flush=True)
    return out


def fit_pl(res):
    """``n* = n_inf + b/k + c/k^2`` on k >= 200, with 1-sigma errors from the residuals."""
    ks = np.array([k for k in sorted(res) if k >= 200], float)
    y = np.array([res[int(k)] for k in ks])
    (ninf, b, c), err = _lsq(np.stack([np.ones(len(ks)), 1 / ks, ks ** -2.0], 1), y)
    return {"n_inf": (ninf, err[0]), "b": (b, err[1]), "c": (c, err[2])}


def plot_pl(res, fit, out, act):
    ks = np.array(sorted(res))
    nst = np.array([res[k] for k in ks])
    ninf, b, c = (fit[q][0] for q in ("n_inf", "b", "c"))
    kk = np.logspace(1, np.log10(ks.max()) + 0.3, 200)
    kf = kk[kk >= 200]  # the fitted form only where it was fitted
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 4.0))
    ax.loglog(ks, nst / ks, "o", color="C0", label="P-n-C a minimum (n*/k)")
    ax.loglog(kf, (ninf + b / kf + c / kf ** 2) / kf, "-", color="C0", lw=0.8,
              label=f"fit (n_inf + b/k + c/k^2)/k, n_inf = {ninf:.4f}")
    ax.loglog(kk, ninf / kk, ":", color="C0", lw=0.8, label="n_inf / k (limit 0)")
    ax.plot([50] * 3, [0.44, 0.6, 0.8], "kx", ms=8, label="paper's readings at k = 50")
    ax.set_xlabel("k (teacher neurons)")
    ax.set_ylabel("threshold n / k (real n)")
    ax.set_title(f"{act}: P-n-C minimum threshold at real n\n(no CA saddle, no loss crossing: CA not critical)",
                 fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, which="both")
    bx.semilogx(ks, nst, "o", color="C0", label="n* (real n)")
    bx.semilogx(kf, ninf + b / kf + c / kf ** 2, "-", color="C0", lw=0.8, label="fit, k >= 200")
    bx.axhline(ninf, color="C0", ls=":", lw=0.8, label=f"n_inf = {ninf:.4f}")
    bx.set_xlabel("k (teacher neurons)")
    bx.set_ylabel("n*")
    bx.set_title(f"{act}: n* tends to a constant, n* = n_inf + b/k + O(1/k^2)", fontsize=9)
    bx.legend(fontsize=7)
    bx.grid(alpha=0.3)
    for ext in ("png", "svg"):
        fig.savefig(f"{out}.{ext}", dpi=120, bbox_inches="tight")


def main_pl(out, ks, act, replot=False):
    from copyavg.numeric.pnc_reduced import ca_point_reduced

    if replot:
        with open(f"{out}.json") as fh:
            res = {int(k): v for k, v in json.load(fh)["n_star"].items()}
    else:
        res = compute_pl(ks, act)
        grad = {k: ca_point_reduced(k, k - 1, activation=act)["grad_max"] for k in (10, 50, 100)}
        with open(f"{out}.json", "w") as fh:
            json.dump({"activation": act, "n_star": {str(k): v for k, v in res.items()},
                       "n_over_k": {str(k): v / k for k, v in res.items()},
                       "ca_grad_max_at_n_k_minus_1": {str(k): v for k, v in grad.items()}}, fh, indent=1)
    fit = fit_pl(res)
    print("pnc_minimum n* = n_inf + b/k + c/k^2 (k >= 200)", {q: f"{v:.7g} +- {e:.2g}" for q, (v, e) in fit.items()})
    plot_pl(res, fit, out, act)


def main(out, ks, act="erf2", replot=False):
    from copyavg.numeric.activations import get_activation

    if get_activation(act).family == "piecewise_linear":
        return main_pl(out, list(KS_PL) if tuple(ks) == KS else list(ks), act, replot)
    if replot:  # figure and fits from an earlier run's <out>.json
        with open(f"{out}.json") as fh:
            data = json.load(fh)
        act, res = data["activation"], {int(k): v for k, v in data["n_over_k"].items()}
    else:
        res = compute(ks, act)
        with open(f"{out}.json", "w") as fh:
            json.dump({"activation": act, "n_over_k": {str(k): v for k, v in res.items()}}, fh, indent=1)
    fit = fits(res)
    for which, (form, par) in fit.items():
        print(which, form, {q: f"{v:.7g} +- {e:.2g}" for q, (v, e) in par.items()})
    plot(res, fit, out, act)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="The three thresholds at real n against k, fits and figure.")
    ap.add_argument("--activation", default="erf2", help="erf2 (default), erf or relu")
    ap.add_argument("--replot", action="store_true", help="figure and fits from <out>.json of an earlier run")
    ap.add_argument("out", help="output prefix: <out>.json, <out>.png, <out>.svg")
    ap.add_argument("k", nargs="*", type=int, help="teacher widths (default: the documented list)")
    args = ap.parse_args()
    main(args.out, args.k or KS, args.activation, args.replot)
