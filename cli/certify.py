"""``copyavg thresholds --certify``: locate the change points of one k or a range of k, then prove
each with the stability certificates (``copyavg.proofs.change_points``); ``--out FILE`` appends one
table row per finished k (an interrupted run loses no finished row; a rerun skips the k already in
the file)."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

from copyavg.cli.common import LINE_WIDTH, CommandFailed, UsageError, check_output_file, check_range, dumps, progress_bar

K_RANGE = (5, 10**6)
LABELS = {"pnc_minimum": "P-n-C saddle -> minimum", "ca_saddle": "optimal CA minimum -> saddle",
          "loss_crossing": "P-n-C loss below CA loss"}
COLUMNS = ("k", "n_pnc", "pnc", "n_ca", "ca", "n_cross", "cross", "consistent", "seconds")


def _header() -> str:
    from copyavg.proofs.change_points import PREMISE

    return ("# erf2 change points along n at each k (teacher e_1..e_k, b = 1, d = k + 1): located by "
            "bisection, then certified\n# (copyavg thresholds --certify). Columns: n_pnc (P-n-C saddle at "
            "n, minimum at n + 1), n_ca (optimal CA\n# minimum at n, saddle at n + 1), n_cross (P-n-C loss "
            "above the CA loss at n, below at n + 1), each\n# followed by its certificate's status (proved / "
            "refuted / undecided / none = no change located);\n# consistent: every row evaluated by the "
            "locate step agrees with a single change (evidence only);\n# seconds: wall time of the k "
            f"(locate + certificates).\n# Note: {PREMISE}.\n# " + "  ".join(COLUMNS) + "\n")


def _check(args) -> list[int]:
    """The k to run, after every argument check (before any work)."""
    ks = list(args.k) if isinstance(args.k, range) else [args.k]
    if args.activation != "erf2":
        raise UsageError(f"--certify: the change-point certificates are for erf2 only, got --activation "
                         f"{args.activation}")
    for flag in ("dense", "all", "continuous"):
        if getattr(args, flag, False):
            raise UsageError(f"--certify cannot be combined with --{flag}")
    if args.grid is not None:
        raise UsageError("--certify cannot be combined with --grid")
    if not ks:
        raise UsageError("--k: the range is empty")
    for k in (ks[0], ks[-1]):
        check_range("--k", k, lo=K_RANGE[0], hi=K_RANGE[1], what="number of teacher neurons for --certify")
    if args.out is not None:
        check_output_file("--out", args.out)
    return ks


def _done(path) -> set[int]:
    p = Path(path)
    if not p.exists() or p.stat().st_size == 0:
        return set()
    done = set()
    for i, line in enumerate(p.read_text().splitlines(), 1):
        if line.startswith("#") or not line.strip():
            continue
        try:
            done.add(int(line.split()[0]))
        except ValueError:
            raise CommandFailed(f"--out {path}: line {i} is not a row of a --certify table") from None
    return done


def _row(res) -> str:
    cells = [str(res["k"])]
    for which in LABELS:
        br, cert = res["brackets"][which], res["certificates"][which]
        cells += ["-", "none"] if br is None else [str(br[0]), cert.status.value]
    cells += ["yes" if res["consistent"] else "no", f"{res['seconds']:.1f}"]
    return "  ".join(cells) + "\n"


def _print_one(res) -> None:
    from copyavg.proofs.change_points import PREMISE

    print(textwrap.fill(f"change points at k = {res['k']} (erf2, d = k + 1), located by bisection "
                        f"({res['evaluated']} rows; a single change agrees with every evaluated row: "
                        f"{'yes' if res['consistent'] else 'NO'}), then certified:", LINE_WIDTH))
    for which, label in LABELS.items():
        br, cert = res["brackets"][which], res["certificates"][which]
        if br is None:
            print(f"  {label:<29} no change located for 1 <= n < k (float rows; not certified)")
            continue
        print(f"  {label:<29} n = {br[0]}/{br[1]}  {cert.status.value}  ({cert.theorem}, {cert.seconds:.1f} s)")
        if cert.status.value != "proved":
            print(textwrap.fill(cert.residual, LINE_WIDTH, initial_indent="    ", subsequent_indent="    "))
    print(textwrap.fill(f"note: {PREMISE}.", LINE_WIDTH))


def _json(res) -> dict:
    return {**res, "certificates": {w: (c.to_dict() if c is not None else None)
                                    for w, c in res["certificates"].items()}}


def cmd_certify(args) -> int:
    """Exit 0 when every located change point of every k is proved, 1 otherwise (rows are still
    written). A property without a located change (none) has no certificate and is not a failure."""
    from copyavg.proofs.change_points import certify_k

    ks = _check(args)
    todo = ks
    if args.out is not None:
        done = _done(args.out)
        todo = [k for k in ks if k not in done]
        if not Path(args.out).exists() or Path(args.out).stat().st_size == 0:
            Path(args.out).write_text(_header())
    results, failed = [], []
    with progress_bar(args, total=len(todo), desc="k", unit="k") as bar:
        for k in todo:
            try:
                res = certify_k(k, callback=lambda s: bar.set_postfix_str(s, refresh=True))
            except ValueError as exc:
                if len(ks) == 1:
                    raise CommandFailed(f"k = {k}: {exc}".replace("\n", " ")) from None
                print(f"copyavg thresholds: k = {k}: {exc}".replace("\n", " "), file=sys.stderr)
                failed.append(k)
                bar.update(1)
                continue
            if args.out is not None:
                with open(args.out, "a") as fh:
                    fh.write(_row(res))
            results.append(res)
            bar.update(1)
    if args.json:
        print(dumps({"results": [_json(r) for r in results], "failed": failed}))
    elif len(ks) == 1 and results:
        _print_one(results[0])
    else:
        _print_summary(ks, todo, results, failed, args.out)
    ok = not failed and all(c is None or c.status.value == "proved"
                            for r in results for c in r["certificates"].values())
    return 0 if ok else 1


def _print_summary(ks, todo, results, failed, out) -> None:
    skipped = len(ks) - len(todo)
    print(f"{len(results)} k certified" + (f", {skipped} already in {out}" if skipped else "")
          + (f", {len(failed)} failed to locate: {failed}" if failed else ""))
    for r in results:
        bad = [f"{w} {c.status.value}" for w, c in r["certificates"].items()
               if c is not None and c.status.value != "proved"]
        if bad:
            print(f"  k = {r['k']}: " + ", ".join(bad))
    if out is not None:
        print(f"table: {out}")
