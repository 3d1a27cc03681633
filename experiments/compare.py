"""Endpoint types across activations, along n/k (``copyavg compare``, ``copyavg reclassify``).

* ``reclassify_store``: runs the current endpoint classifier (``copyavg.numeric.endpoints``) again
  on every stored run that kept its weights, and rewrites those records in place (one
  transaction). Runs made before the classifier knew an activation's CA points (numeric group
  optima, ``copyavg.numeric.references``) were stored as ``other`` with "classification failed".
* ``reference_rows``: per n = 1..k-1 the loss of the best copy-average configuration with n - 1
  copies and one average (``references.ca_point``, joint minimisation; whether it is a critical
  point of the full loss) and of the solved P-n-C point with its Hessian type
  (``copyavg.numeric.pnc.solve_pnc``), or None where the solve fails.
* ``plot_compare``: one figure per k with one column per activation: top, the fraction of runs
  per coarse endpoint type (``COARSE``); bottom, each run's final loss relative to the CA
  reference loss, with the P-n-C reference point's ratio. PNG and SVG like ``experiments.plot``.
* ``markdown_compare``: the same as a table, per activation, k and n.
"""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict

import numpy as np

from .plot import _save

#: coarse endpoint type -> fine types of ``copyavg.numeric.endpoints``
COARSE = {"CA": ("ca-optimal", "ca"), "near-CA": ("near-ca-optimal", "near-ca"), "P-n-C": ("pnc",),
          "other": ("other", "unclassified")}
COARSE_COLORS = {"CA": "tab:blue", "near-CA": "tab:cyan", "P-n-C": "tab:orange", "other": "tab:gray",
                 "not converged": "black"}
#: names for activations given as expressions
LABELS = {"z*(1 + erf(z/sqrt(2)))/2": "gelu"}


def label_of(activation: str, labels: dict | None = None) -> str:
    """Short name of an activation for figures and tables (``LABELS``, then ``labels``)."""
    return {**LABELS, **(labels or {})}.get(activation, activation)


def coarse_type(record: dict) -> str:
    """``CA``, ``near-CA``, ``P-n-C``, ``other`` (converged runs) or ``not converged``."""
    if record.get("status") != "converged":
        return "not converged"
    for name, fine in COARSE.items():
        if record["endpoint"] in fine:
            return name
    return "other"


def reclassify_record(rec: dict) -> dict:
    """The record with its endpoint fields recomputed from its weights (unchanged without them,
    or when the run did not finish, or for a custom teacher)."""
    from copyavg.numeric.endpoints import classify_endpoint

    if "a" not in rec or "W" not in rec or rec.get("loss") is None or rec.get("teacher_sha256"):
        return rec
    ep = classify_endpoint(np.array(rec["a"], float), np.array(rec["W"], float), rec["k"], rec["activation"])
    out = dict(rec, endpoint=ep.kind, partition=list(ep.partition) if ep.partition else None,
               distance=None if rec.get("train") == "W" and ep.kind == "pnc" else ep.distance,
               effective_width=ep.width, reduction=ep.reduction)
    msg = "; ".join(m for m in (rec.get("message") or "").split("; ")
                    if m and not m.startswith("classification failed"))
    out["message"] = msg or None
    return out


def reclassify_store(path, progress=None) -> tuple[int, int]:
    """Reclassify every run of the store ``path`` that kept its weights; returns
    ``(runs rewritten, runs whose endpoint type changed)``. ``progress``: called once per run."""
    from .store import StoreError, _retry_locked, _transaction, open_store

    with open_store(path) as store:
        rows = store.conn.execute("SELECT rowid, record FROM runs").fetchall()
        updates, changed = [], 0
        for rowid, text in rows:
            rec = json.loads(text)
            new = reclassify_record(rec)
            if new is not rec:
                updates.append((json.dumps(new), rowid))
                changed += new["endpoint"] != rec["endpoint"]
            if progress is not None:
                progress()

        def write():
            with _transaction(store.conn):
                store.conn.executemany("UPDATE runs SET record = ? WHERE rowid = ?", updates)

        try:
            _retry_locked(write)
        except Exception as exc:  # sqlite3.Error: one line
            raise StoreError(f"{path}: cannot rewrite the records: {exc}") from None
    return len(updates), changed


def reference_rows(activation: str, k: int, d: int | None = None, pnc: bool = True) -> list[dict]:
    """Reference points for n = 1..k-1 (module docstring): ``{"n", "ca_loss", "ca_critical",
    "pnc_loss", "pnc_type", "note"}`` (P-n-C fields None where the solve fails or ``pnc`` is False;
    CA fields None, with the reason in ``note``, where no CA reference exists in the kernel's range)."""
    from copyavg.numeric.pnc import solve_pnc
    from copyavg.numeric.references import ca_point

    rows = []
    for n in range(1, k):
        try:
            ca = ca_point(activation, (1,) * (n - 1) + (k - n + 1,), d)
        except ValueError as exc:  # e.g. the best averaging neuron lies beyond the kernel's accepted norm
            ca = {"loss": None, "critical": None, "note": str(exc)}
        row = {"n": n, "ca_loss": ca["loss"], "ca_critical": ca["critical"], "pnc_loss": None, "pnc_type": None,
               "note": ca.get("note")}
        if pnc and n > 1:
            try:
                p = solve_pnc(k, n, d, activation)
                row.update(pnc_loss=p.loss, pnc_type=p.classification)
            except ValueError:
                pass
        elif n == 1:  # the P-n-C point at n = 1 is the CA point
            row.update(pnc_loss=ca["loss"], pnc_type=None)
        rows.append(row)
    return rows


def _groups(records) -> dict:
    """(activation, k) -> records."""
    groups = defaultdict(list)
    for r in records:
        groups[(r["activation"], r["k"])].append(r)
    return groups


def _fractions_panel(ax, recs, k: int) -> None:
    ns = sorted({r["n"] for r in recs})
    counts = {n: Counter(coarse_type(r) for r in recs if r["n"] == n) for n in ns}
    bottom = np.zeros(len(ns))
    for t, color in COARSE_COLORS.items():
        frac = np.array([counts[n][t] / max(1, sum(counts[n].values())) for n in ns])
        if frac.any():
            ax.bar([n / k for n in ns], frac, width=0.8 / k, bottom=bottom, color=color, label=t)
            bottom += frac
    ax.set_ylim(0, 1)


def _loss_panel(ax, recs, k: int, refs: list[dict]) -> None:
    ca = {r["n"]: r["ca_loss"] for r in refs if r["ca_loss"]}
    for t, color in COARSE_COLORS.items():
        sel = [r for r in recs if coarse_type(r) == t and r.get("loss") is not None and ca.get(r["n"])]
        if sel:
            ax.scatter([r["n"] / k for r in sel], [r["loss"] / ca[r["n"]] for r in sel], s=9, color=color,
                       alpha=0.7, zorder=3)
    pn = [(r["n"] / k, r["pnc_loss"] / r["ca_loss"]) for r in refs
          if r["pnc_loss"] is not None and r["ca_loss"] and r["n"] > 1]
    if pn:
        ax.plot(*zip(*pn), "--", color="tab:orange", lw=1)
    ax.axhline(1.0, color="tab:blue", lw=1)
    ax.set_yscale("log")


def _legend(fig) -> None:
    """One legend for all panels: the endpoint types (bars and points) and the reference lines."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [Patch(color=c, label=t) for t, c in COARSE_COLORS.items()]
    handles += [Line2D([], [], color="tab:blue", lw=1, label="best CA (n-1 copies + 1 average)"),
                Line2D([], [], color="tab:orange", lw=1, ls="--", label="P-n-C point")]
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=7, bbox_to_anchor=(0.5, -0.06))


def plot_compare(records, outdir, references: dict, labels: dict | None = None) -> list[str]:
    """One figure per k (``compare_k{K}``): a column per activation, endpoint fractions on top and
    final loss / CA reference loss below (see module docstring). ``references[(activation, k)]``
    are the ``reference_rows``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(outdir, exist_ok=True)
    groups = _groups(records)
    written = []
    for k in sorted({key[1] for key in groups}):
        acts = sorted((a for a, kk in groups if kk == k), key=lambda a: label_of(a, labels))
        fig, axes = plt.subplots(2, len(acts), figsize=(2.6 * len(acts) + 0.6, 5.4), squeeze=False,
                                 sharex=True, sharey="row")
        for j, act in enumerate(acts):
            recs = groups[(act, k)]
            _fractions_panel(axes[0, j], recs, k)
            _loss_panel(axes[1, j], recs, k, references[(act, k)])
            axes[0, j].set_title(f"{label_of(act, labels)} ({len(recs)} runs)", fontsize=9)
            axes[1, j].set_xlabel("n / k")
        axes[0, 0].set_ylabel("fraction of runs")
        axes[1, 0].set_ylabel("final loss / CA loss")
        _legend(fig)
        fig.suptitle(f"k = {k}: gradient-flow endpoints across activations", fontsize=10)
        written += _save(fig, outdir, f"compare_k{k}")
        plt.close(fig)
    return written


def markdown_compare(records, references: dict, labels: dict | None = None) -> str:
    """Per activation, k, n: runs, fractions of the coarse types, embedded endpoints, Hessian types
    of the converged endpoints, the mean final loss of the converged runs and the reference losses."""
    head = ["activation", "k", "n", "n/k", "runs", *COARSE_COLORS, "embedded", "minimum / saddle / degenerate",
            "mean loss (converged)", "CA loss", "CA critical", "P-n-C loss", "P-n-C type"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    groups = _groups(records)
    for act, k in sorted(groups, key=lambda key: (label_of(key[0], labels), key[1])):
        refs = {r["n"]: r for r in references[(act, k)]}
        for n in sorted({r["n"] for r in groups[(act, k)]}):
            rs = [r for r in groups[(act, k)] if r["n"] == n]
            c = Counter(coarse_type(r) for r in rs)
            h = Counter(r.get("hessian_type") for r in rs if r.get("status") == "converged")
            losses = [r["loss"] for r in rs if r.get("status") == "converged" and r["loss"] is not None]
            ref = refs.get(n, {})
            cells = [label_of(act, labels), k, n, f"{n / k:.2f}", len(rs)]
            cells += [f"{c[t] / len(rs):.2f}" for t in COARSE_COLORS]
            cells += [sum(bool(r.get("reduction")) for r in rs), f"{h['minimum']} / {h['saddle']} / {h['degenerate']}",
                      f"{np.mean(losses):.6g}" if losses else "n/a", _fmt(ref.get("ca_loss")),
                      {True: "yes", False: "no"}.get(ref.get("ca_critical"), "n/a"), _fmt(ref.get("pnc_loss")),
                      ref.get("pnc_type") or "n/a"]
            lines.append("| " + " | ".join(str(x) for x in cells) + " |")
    return "\n".join(lines) + "\n"


def _fmt(x) -> str:
    return "n/a" if x is None else f"{x:.6g}"
