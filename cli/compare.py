"""``copyavg compare`` (endpoints across activations along n/k) and ``copyavg reclassify``."""

from __future__ import annotations

import os
import sys

from copyavg.cli.common import CommandFailed, UsageError, progress_options, show_progress


def _labels(items) -> dict:
    out = {}
    for item in items or ():
        expr, sep, name = item.rpartition("=")
        if not sep or not expr or not name:
            raise UsageError(f"--label: expected ACTIVATION=NAME, got {item!r}")
        out[expr] = name
    return out


def _cmd_compare(args) -> int:
    from tqdm import tqdm

    from copyavg.experiments.compare import markdown_compare, plot_compare, reference_rows
    from copyavg.experiments.store import StoreError, check_writable_dir, read_results

    labels = _labels(args.label)
    try:
        check_writable_dir(args.out)
        records = []
        for path in args.results:
            recs = read_results(path)
            if not recs:
                raise StoreError(f"{path}: no finished runs")
            records += recs
        keys = sorted({(r["activation"], r["k"], r["d"]) for r in records})
        if len({(a, k) for a, k, _ in keys}) != len(keys):
            raise StoreError("runs of one activation and k with different d; compare one d at a time")
        refs = {}
        for act, k, d in tqdm(keys, desc="references", unit="group", disable=not show_progress(args),
                              file=sys.stderr):
            refs[(act, k)] = reference_rows(act, k, d, pnc=not args.no_pnc)
        paths = plot_compare(records, args.out, refs, labels)
        table = os.path.join(args.out, "compare.md")
        with open(table, "w", encoding="utf-8") as fh:
            fh.write(markdown_compare(records, refs, labels))
    except StoreError as exc:
        raise CommandFailed(str(exc)) from None
    except OSError as exc:
        raise CommandFailed(f"{exc.filename or args.out}: {exc.strerror or exc}") from None
    for p in paths + [table]:
        print(f"wrote {p}")
    return 0


def _cmd_reclassify(args) -> int:
    from tqdm import tqdm

    from copyavg.experiments.compare import reclassify_store
    from copyavg.experiments.store import StoreError, is_sqlite

    if not os.path.isfile(args.store) or not is_sqlite(args.store):
        raise CommandFailed(f"{args.store}: not an SQLite store (reclassify rewrites a store in place)")
    try:
        with tqdm(desc="reclassify", unit="run", disable=not show_progress(args), file=sys.stderr) as bar:
            rewritten, changed = reclassify_store(args.store, progress=lambda: bar.update(1))
    except StoreError as exc:
        raise CommandFailed(str(exc)) from None
    print(f"{rewritten} runs reclassified in {args.store}, {changed} changed endpoint type")
    return 0


def add_compare(sub) -> None:
    """Parsers of compare and reclassify."""
    cp = sub.add_parser("compare", help="endpoint types and losses of several sweeps (activations) along n/k",
                        parents=[progress_options()],
                        description="Reads stores or JSON-lines files, computes the CA and P-n-C reference "
                        "points of every activation and k, and writes compare_k{K}.png/.svg and compare.md.")
    cp.add_argument("results", nargs="+", help="SQLite stores or JSON-lines files (one flow-options set each)")
    cp.add_argument("--out", required=True, metavar="DIR", help="output directory, created if missing (required)")
    cp.add_argument("--label", action="append", metavar="ACT=NAME",
                    help="short name of an activation in figures and tables, repeatable (default: the "
                    "activation, gelu for z*(1 + erf(z/sqrt(2)))/2)")
    cp.add_argument("--no-pnc", action="store_true",
                    help="skip the P-n-C reference points, one solve per n (default: solve them)")
    cp.set_defaults(func=_cmd_compare)
    rc = sub.add_parser("reclassify", help="classify the endpoints of a store again with the current classifier",
                        parents=[progress_options()],
                        description="Rewrites the endpoint fields of every run that kept its weights.")
    rc.add_argument("store", help="SQLite store written by sweep (rewritten in place)")
    rc.set_defaults(func=_cmd_reclassify)
