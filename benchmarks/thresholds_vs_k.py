"""Thresholds along n/k for k up to 10^4 from the symmetry blocks, and their figure.

    python benchmarks/thresholds_vs_k.py docs/figures/thresholds_vs_k.png [k ...]

Every n for k <= 200, else a grid scan with bisection (``copyavg.numeric.thresholds_reduced``);
about 2 minutes per k = 10^4 on a loaded 2-core machine. Prints one line per k.
"""

from __future__ import annotations

import re
import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from copyavg.numeric.pnc import summarize_thresholds  # noqa: E402
from copyavg.numeric.thresholds_reduced import scan, table  # noqa: E402

KS = (5, 10, 20, 30, 50, 100, 200, 500, 1000, 2000, 5000, 10000)
LABELS = ("P-n-C a minimum from n", "optimal CA a saddle from n", "P-n-C loss lower from n")


def _first(text: str, pattern: str):
    m = re.search(pattern, text)
    return int(m.group(1)) if m else None


def thresholds(k: int) -> tuple:
    s = summarize_thresholds(table(k) if k <= 201 else scan(k))
    return (_first(s["pnc_type_changes"][-1], r"-> minimum \(n = (\d+)\)"),
            _first(" ".join(s["ca_type_changes"]), r"-> saddle \(n = (\d+)\)"),
            _first(" ".join(s["loss_crossings"]), r"and n = (\d+)"))


def main(out: str, ks) -> None:
    rows = {}
    for k in ks:
        t0 = time.time()
        rows[k] = thresholds(k)
        print(k, rows[k], f"{time.time() - t0:.1f} s", flush=True)
    fig, ax = plt.subplots(figsize=(6, 4))
    for j, lab in enumerate(LABELS):
        xs = [k for k in ks if rows[k][j]]
        ax.semilogx(xs, [rows[k][j] / k for k in xs], "o-", label=lab)
    ax.set_xlabel("k (teacher neurons)")
    ax.set_ylabel("threshold n / k")
    ax.set_title("erf2: thresholds along n/k (symmetry blocks)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.savefig(out, dpi=120, bbox_inches="tight")


if __name__ == "__main__":
    main(sys.argv[1], [int(a) for a in sys.argv[2:]] or KS)
