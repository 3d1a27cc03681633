"""Figures from a sweep's results file (matplotlib, PNG and SVG).

1. ``loss_vs_n``: final loss of every run against n, with the optimal copy-average curve
   ``L*(k - n + 1)`` and the P-n-C curve (both exact reference points, ``copyavg.numeric``);
   vertical lines where the P-n-C / optimal-CA points change type (minimum / saddle).
2. ``endpoint_fractions``: fraction of endpoints of each type against n/k; embedded endpoints
   (a narrower network, ``is_embedded``) hatched, and open markers in figure 1.
3. ``loss_curves``: loss against time (log-log) for every run, coloured by endpoint type.
4. ``thresholds`` (erf family): loss and type (minimum / saddle, from the exact Hessian) of the
   P-n-C point and of the optimal CA point for every n = 1..k-1, i.e. where each changes stability
   and where their losses cross (``copyavg.numeric.pnc.threshold_table``).
"""

from __future__ import annotations

import os
import sys
from collections import Counter, defaultdict

import numpy as np

from .store import read_results

TYPES = ("ca-optimal", "pnc", "ca", "near-ca-optimal", "near-ca", "other")
COLORS = {"ca-optimal": "tab:blue", "pnc": "tab:orange", "ca": "tab:green",
          "near-ca-optimal": "tab:cyan", "near-ca": "tab:olive", "other": "tab:gray"}
ERF_FAMILY = ("erf2", "erf")
HESSIAN_TYPES = ("minimum", "saddle", "degenerate")


def is_embedded(record: dict) -> bool:
    """True when the endpoint is a narrower network embedded in width n (``reduction`` set by
    ``copyavg.numeric.effective``); records written before that field existed count as not embedded."""
    return bool(record.get("reduction"))


def _save(fig, outdir, name) -> list[str]:
    """PNG and SVG; the SVG without a date and with fixed element ids, so that the same results
    give byte-identical files (figures are committed)."""
    import matplotlib

    paths = []
    for ext in ("png", "svg"):
        p = os.path.join(outdir, f"{name}.{ext}")
        with matplotlib.rc_context({"svg.hashsalt": "copyavg"}):
            fig.savefig(p, dpi=130, bbox_inches="tight", metadata={"Date": None} if ext == "svg" else None)
        paths.append(p)
    return paths


def _records(source) -> list[dict]:
    """A results path (store or JSON lines, see ``store.read_results``) or the records themselves."""
    if isinstance(source, (str, os.PathLike)):
        return read_results(source)
    return list(source)


def endpoint_table(records) -> dict:
    """(activation, k) -> {n: Counter of endpoint types}."""
    table = defaultdict(lambda: defaultdict(Counter))
    for r in records:
        table[(r["activation"], r["k"])][r["n"]][r["endpoint"]] += 1
    return table


def plot_thresholds(rows: list[dict], k: int, activation: str, outdir) -> list[str]:
    """Loss of the P-n-C and optimal-CA points against n/k, marker filled for a minimum, open for a saddle."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    x = np.array([r["n"] / k for r in rows])
    for key, color, label in (("ca", "tab:blue", "optimal CA"), ("pnc", "tab:orange", "P-n-C")):
        y = np.array([r[f"{key}_loss"] for r in rows])
        ax.plot(x, y, "-", color=color, lw=0.8)
        for typ, face in (("minimum", color), ("saddle", "white")):
            sel = np.array([r[f"{key}_type"] == typ for r in rows])
            if sel.any():
                ax.scatter(x[sel], y[sel], s=18, facecolors=face, edgecolors=color, zorder=3,
                           label=f"{label}: {typ}")
        other = np.array([r[f"{key}_type"] not in ("minimum", "saddle") for r in rows])
        if other.any():
            ax.scatter(x[other], y[other], s=18, marker="x", color=color, zorder=3, label=f"{label}: other")
    ax.set_yscale("log")
    ax.set_xlabel("n / k")
    ax.set_ylabel("loss E[(f - f*)^2]")
    ax.set_title(f"{activation}, k = {k}: stability of P-n-C and optimal CA points")
    ax.legend(fontsize=7)
    paths = _save(fig, outdir, f"thresholds_{activation}_k{k}")
    plt.close(fig)
    return paths


def _plot_loss_vs_n(recs, act: str, k: int, ns: list[int], outdir, with_references: bool) -> list[str]:
    """1. Final loss of every run against n, with the optimal-CA and P-n-C reference curves."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for t in TYPES:
        for emb in (False, True):  # embedded endpoints (a narrower network): open markers
            sel = [r for r in recs if r["endpoint"] == t and r["loss"] is not None and is_embedded(r) == emb]
            if sel:
                style = {"facecolors": "none", "edgecolors": COLORS[t]} if emb else {"color": COLORS[t]}
                ax.scatter([r["n"] for r in sel], [r["loss"] for r in sel], s=14, zorder=3,
                           label=f"runs: {t}" + (" (embedded)" if emb else ""), **style)
    if with_references and act in ERF_FAMILY:
        from copyavg.numeric.one_neuron import one_neuron
        from copyavg.numeric.pnc import solve_pnc

        grid = np.arange(1, k)
        ax.plot(grid, [one_neuron(act, k - n + 1)["loss"] for n in grid], "-", color="tab:blue",
                lw=1, label="optimal CA: L*(k-n+1)")
        pn = [n for n in ns if n < k]
        pn_lines = [n for n in pn if n > 1]  # at n = 1 the P-n-C point is the CA point
        pnc = [solve_pnc(k, n, activation=act) for n in pn]
        ax.plot(pn, [p.loss for p in pnc], "--", color="tab:orange", lw=1, label="P-n-C point")
        types = [p.classification for p, n in zip(pnc, pn) if n > 1]
        for (n0, t0), (n1, t1) in zip(zip(pn_lines, types), zip(pn_lines[1:], types[1:])):
            if t0 != t1:
                ax.axvline(0.5 * (n0 + n1), color="tab:orange", lw=0.6, ls=":")
    ax.set_yscale("log")
    ax.set_xlabel("student width n")
    ax.set_ylabel("final loss E[(f - f*)^2]")
    ax.set_title(f"{act}, k = {k}: final loss of gradient flow")
    ax.legend(fontsize=7)
    paths = _save(fig, outdir, f"loss_vs_n_{act}_k{k}")
    plt.close(fig)
    return paths


def _plot_fractions(recs, act: str, k: int, ns: list[int], outdir) -> list[str]:
    """2. Fraction of endpoints of each type against n/k."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    counts = endpoint_table(recs)[(act, k)]
    embedded = endpoint_table(r for r in recs if is_embedded(r))[(act, k)]
    bottom = np.zeros(len(ns))
    for t in TYPES:
        total = np.array([max(1, sum(counts[n].values())) for n in ns])
        emb = np.array([embedded[n][t] for n in ns]) / total
        plain = np.array([counts[n][t] for n in ns]) / total - emb
        hatched = {"hatch": "////", "edgecolor": "white", "linewidth": 0}
        for frac, style, label in ((plain, {}, t), (emb, hatched, f"{t} (embedded)")):
            if frac.any():  # embedded endpoints hatched on top of the others of their type
                ax.bar([n / k for n in ns], frac, width=0.8 / k, bottom=bottom, color=COLORS[t], label=label,
                       **style)
                bottom += frac
    ax.set_xlabel("n / k")
    ax.set_ylabel("fraction of runs")
    ax.set_title(f"{act}, k = {k}: endpoint types")
    ax.legend(fontsize=7)
    paths = _save(fig, outdir, f"endpoint_fractions_{act}_k{k}")
    plt.close(fig)
    return paths


def _plot_curves(recs, act: str, k: int, outdir) -> list[str]:
    """3. Loss against time (log-log) for every run, coloured by endpoint type."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for r in recs:
        t, L = np.asarray(r.get("curve_t", [])), np.asarray(r.get("curve_loss", []))
        ok = (t > 0) & (L > 0)
        if ok.any():
            ax.plot(t[ok], L[ok], color=COLORS.get(r["endpoint"], "k"), lw=0.6, alpha=0.6)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("time t (gradient flow)")
    ax.set_ylabel("loss")
    ax.set_title(f"{act}, k = {k}: loss curves (colour: endpoint type)")
    paths = _save(fig, outdir, f"loss_curves_{act}_k{k}")
    plt.close(fig)
    return paths


def plot_results(source, outdir, with_references: bool = True, thresholds: bool = True,
                 quiet: bool = True) -> list[str]:
    """Figures 1-4 for every (activation, k) in ``source`` (a results path or records);
    a tqdm bar over the groups unless ``quiet``."""
    import matplotlib
    from tqdm import tqdm

    matplotlib.use("Agg")  # before the figure helpers import pyplot
    records = _records(source)
    if not records:
        raise ValueError(f"{source if isinstance(source, (str, os.PathLike)) else 'records'}: "
                         "no finished runs to plot")
    os.makedirs(outdir, exist_ok=True)
    written = []
    groups = defaultdict(list)
    for r in records:
        groups[(r["activation"], r["k"])].append(r)
    for (act, k), recs in tqdm(sorted(groups.items()), desc="plot", unit="group", disable=quiet,
                               file=sys.stderr):
        ns = sorted({r["n"] for r in recs})
        written += _plot_loss_vs_n(recs, act, k, ns, outdir, with_references)
        written += _plot_fractions(recs, act, k, ns, outdir)
        written += _plot_curves(recs, act, k, outdir)
        # 4. stability thresholds of the reference points (exact, not from the runs)
        if thresholds and act in ERF_FAMILY and k >= 2:
            from copyavg.numeric.pnc import threshold_table

            written += plot_thresholds(threshold_table(k, activation=act), k, act, outdir)
    return written


def markdown_fractions(source) -> str:
    """A Markdown table of endpoint fractions per (activation, k, n); runs that did not converge
    (budget, non-differentiable) are counted in their own column and left out of the mean loss."""
    records = _records(source)
    extra = ("embedded",) + HESSIAN_TYPES
    lines = ["| activation | k | n | n/k | runs | " + " | ".join(TYPES + extra)
             + " | not converged | mean loss (converged) |",
             "|---|---|---|---|---|" + "---|" * len(TYPES + extra) + "---|---|"]
    by = defaultdict(list)
    for r in records:
        by[(r["activation"], r["k"], r["n"])].append(r)
    for (act, k, n), rs in sorted(by.items()):
        c = Counter(r["endpoint"] for r in rs)
        fr = " | ".join([f"{c[t] / len(rs):.2f}" for t in TYPES] + _embedding_cells(rs))
        losses = [r["loss"] for r in rs if r["loss"] is not None and r.get("status") == "converged"]
        mean = f"{np.mean(losses):.6g}" if losses else "n/a"
        unfinished = sum(r.get("status") != "converged" for r in rs) / len(rs)
        lines.append(f"| {act} | {k} | {n} | {n / k:.2f} | {len(rs)} | {fr} | {unfinished:.2f} | {mean} |")
    return "\n".join(lines) + "\n"


def _embedding_cells(rs: list[dict]) -> list[str]:
    """Fractions of embedded endpoints and of each Hessian type among the runs ``rs``, over the
    runs whose record has the field (``n/a`` when none has: results written before it existed)."""
    cells = []
    for field, test in [("reduction", is_embedded)] + [("hessian_type", lambda r, t=t: r["hessian_type"] == t)
                                                        for t in HESSIAN_TYPES]:
        known = [r for r in rs if field in r]
        cells.append(f"{sum(map(test, known)) / len(known):.2f}" if known else "n/a")
    return cells
