"""The ``copyavg`` command.

    copyavg derive [--check] [--docs DIR]                 regenerate (or check) the generated code
    copyavg verify [THEOREM ...] [--json] [--markdown F]  run theorem checks, print certificates
    copyavg verify --properties [--examples N] [--seed S] property-based run of the numeric kernels
    copyavg one-neuron --activation ACT --m M [--teacher-norm RHO] [--json]
    copyavg ca --activation ACT --k K --partition 1,1,3 [--d D] [--json] [--polish]
    copyavg pnc [--activation ACT] --k K --n N [--d D] [--json]
    copyavg thresholds [--activation ACT] --k K [--json]
    copyavg flow [--activation ACT] --k K --n N [--d D] --seed S [--json] [--plot FILE]
    copyavg sweep [--activation ACT] --k K --n 1..K --seeds S --out results.sqlite [--workers W] [--no-weights]
                  [--scheduler ADDRESS]
    copyavg plot results.sqlite|results.jsonl --out DIR [--no-thresholds] [--skip-bad]
    copyavg export results.sqlite --format jsonl|csv --out FILE
    copyavg import results.jsonl --out results.sqlite [--skip-bad]
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
import time


def _cmd_derive(args) -> int:
    from copyavg.symbolic.codegen import check_generated, write_generated

    if args.check:
        problems = check_generated()
        if problems:
            for p in problems:
                print(p, file=sys.stderr)
            print("copyavg derive --check: generated code is STALE", file=sys.stderr)
            return 1
        print("copyavg derive --check: generated code is fresh")
    else:
        for path in write_generated():
            print(f"wrote {path}")
    if args.docs:
        from pathlib import Path

        from copyavg.proofs.registry import all_checks
        from copyavg.proofs.report import write_markdown
        from copyavg.symbolic.docs import write_docs

        for path in write_docs(args.docs):
            print(f"wrote {path}")
        proofs_md = Path(args.docs) / "proofs.md"
        write_markdown(proofs_md, [check() for check in all_checks().values()],
                       title="Proofs: the paper's claims machine-checked, step by step")
        print(f"wrote {proofs_md}")
    return 0


class UsageError(Exception):
    """Bad command-line arguments: printed as one line, exit code 2."""


def _emit(out: dict, as_json: bool) -> None:
    """Print a result as one JSON object or as aligned ``key: value`` lines."""
    if as_json:
        print(json.dumps(out))
        return
    width = max(len(k) for k in out)
    for key, val in out.items():
        print(f"{key:>{width}}: {val}")


def _check_activation(name: str) -> None:
    from copyavg.numeric import ACTIVATIONS

    if name not in ACTIVATIONS:
        raise UsageError(f"--activation must be one of {', '.join(ACTIVATIONS)}, got {name!r}")


def _cmd_verify(args) -> int:
    if args.properties:
        from copyavg.proofs.properties import cli_properties

        if args.examples < 1:
            raise UsageError(f"--examples must be a positive integer, got {args.examples}")
        return cli_properties(args)
    from copyavg.proofs.registry import all_checks

    checks = all_checks()
    selected = list(checks)
    if args.theorems:
        selected = [t for t in checks if any(fnmatch.fnmatch(t, pat) or t == pat for pat in args.theorems)]
        unknown = [p for p in args.theorems if not any(fnmatch.fnmatch(t, p) for t in checks)]
        if unknown:
            raise UsageError(f"unknown theorem(s) {unknown}; known: {', '.join(checks)}")
    certs = []
    for t in selected:
        certs.append(checks[t]())
    bad = [c for c in certs if not c.as_expected]
    if args.json:
        print(json.dumps([c.to_dict() for c in certs], indent=1))
    else:
        w = max(len(c.theorem) for c in certs)
        print(f"{'theorem':<{w}}  {'status':<9}  {'expected':<9}  {'time':>6}  method")
        for c in certs:
            exp = c.expected.value if c.expected is not None else "either"
            print(f"{c.theorem:<{w}}  {c.status.value:<9}  {exp:<9}  {c.seconds:6.2f}  {c.method}")
            if not c.as_expected:
                print(f"    residual/witness: {c.residual}")
        print(f"{len(certs) - len(bad)}/{len(certs)} as expected")
    if args.markdown:
        from copyavg.proofs.report import write_markdown

        write_markdown(args.markdown, certs)
    return 1 if bad else 0


def _cmd_one_neuron(args) -> int:
    from copyavg.numeric.one_neuron import one_neuron

    _check_activation(args.activation)
    if args.m < 1:
        raise UsageError(f"--m must be >= 1 (number of teacher neurons), got {args.m}")
    if args.teacher_norm <= 0:
        raise UsageError(f"--teacher-norm must be > 0, got {args.teacher_norm}")
    m = int(args.m) if float(args.m).is_integer() else args.m
    out = one_neuron(args.activation, m, args.teacher_norm)
    _emit(out, args.json)
    return 0


def _cmd_ca(args) -> int:
    import numpy as np

    from copyavg.numeric import Problem
    from copyavg.numeric.one_neuron import ca_configuration, parse_partition

    _check_activation(args.activation)
    if args.k < 1:
        raise UsageError(f"--k must be >= 1, got {args.k}")
    try:
        parts = parse_partition(args.partition, args.k)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    d = args.k + 1 if args.d is None else args.d
    if d < args.k:
        raise UsageError(f"--d must be >= k = {args.k}, got {d}")
    a, W, b, V = ca_configuration(args.activation, parts, d=d)
    P = Problem(b, V, args.activation)
    L, ga, gW = P.loss_and_gradient(a, W)
    out = {"activation": args.activation, "k": args.k, "d": d, "partition": list(parts), "loss": L,
           "grad_max": float(max(np.max(np.abs(ga)), np.max(np.abs(gW))))}
    out.update(_classify_point(P, a, W, out["grad_max"], args.activation))
    if args.polish:
        out["polished"] = _polish_near(P, a, W, args)
    _emit(out, args.json)
    return 0


def _classify_point(P, a, W, grad_max: float, activation: str) -> dict:
    """Hessian inertia and type of a point (``not-critical`` when ``grad_max > 1e-8``)."""
    from copyavg.numeric import NonDifferentiableError
    from copyavg.numeric.classify import hessian_inertia

    try:
        H = P.hessian(a, W)
    except NonDifferentiableError as exc:
        return {"hessian_eigs_min": None, "hessian_eigs_max": None, "classification": "nondifferentiable",
                "note": str(exc)}
    inert = hessian_inertia(H, a, W, activation)
    return {"hessian_eigs_min": inert.eig_min, "hessian_eigs_max": inert.eig_max,
            "classification": inert.classification if grad_max <= 1e-8 else "not-critical",
            "inertia": {"negative": inert.n_negative, "zero": inert.n_zero, "positive": inert.n_positive,
                        "symmetry_zero_modes": inert.n_symmetry_zero, "tol": inert.tol}}


def _polish_near(P, a, W, args) -> dict:
    """``ca --polish``: the critical point gradient flow reaches from the CA point, classified."""
    from copyavg.numeric import NonDifferentiableError
    from copyavg.numeric.endpoints import classify_endpoint
    from copyavg.numeric.flow import nearby_critical_point

    try:
        r = nearby_critical_point(P, a, W)
    except NonDifferentiableError as exc:
        return {"status": "nondifferentiable", "message": str(exc)}
    ep = classify_endpoint(r["a"], r["W"], args.k, args.activation)
    out = {"loss": r["loss"], "grad_max": r["grad_max"], "status": r["status"], "distance": r["distance"],
           "loss_change": r["loss"] - r["start_loss"], "start_offset": r["offset"], "endpoint": ep.kind,
           "endpoint_partition": list(ep.partition) if ep.partition else None,
           "max_cosines": list(ep.max_cosines), "a": r["a"].tolist(), "W": r["W"].tolist()}
    out.update(_classify_point(P, r["a"], r["W"], r["grad_max"], args.activation))
    if r["status"] != "converged":
        out["message"] = r["message"]
    return out


def _check_kn(args, need_n_lt_k=True):
    """Common checks; ``need_n_lt_k``: n < k (P-n-C); otherwise any n >= 1."""
    _check_activation(args.activation)
    if args.k < 2:
        raise UsageError(f"--k must be >= 2, got {args.k}")
    n = getattr(args, "n", None)
    if isinstance(n, int) and need_n_lt_k and not (1 <= n < args.k):
        raise UsageError(f"--n must satisfy 1 <= n < k = {args.k}, got {n}")
    if isinstance(n, int) and not need_n_lt_k and n < 1:
        raise UsageError(f"--n must be >= 1, got {n}")
    d = getattr(args, "d", None)
    if d is not None and d < args.k:
        raise UsageError(f"--d must be >= k = {args.k}, got {d}")


def _cmd_pnc(args) -> int:
    from copyavg.numeric.pnc import solve_pnc

    _check_kn(args)
    p = solve_pnc(args.k, args.n, args.d, args.activation)
    out = p.to_dict()
    _emit(out, args.json)
    return 0


def _cmd_thresholds(args) -> int:
    from copyavg.numeric.pnc import summarize_thresholds, threshold_table

    _check_kn(args)
    rows = threshold_table(args.k, args.activation)
    summary = summarize_thresholds(rows)
    if args.json:
        print(json.dumps({"k": args.k, "activation": args.activation, "rows": rows, "summary": summary}))
        return 0
    print(f"{'n':>4} {'n/k':>6} {'P-n-C loss':>14} {'P-n-C':>10} {'opt-CA loss':>14} {'opt-CA':>10}")
    for r in rows:
        print(f"{r['n']:>4} {r['n_over_k']:6.3f} {r['pnc_loss']:14.10f} {r['pnc_type']:>10} "
              f"{r['ca_loss']:14.10f} {r['ca_type']:>10}")
    for key, val in summary.items():
        print(f"{key}: {val}")
    return 0


def _cmd_flow(args) -> int:
    from copyavg.experiments.sweep import RunSpec, run_one

    _check_kn(args, need_n_lt_k=False)
    d = args.k + 1 if args.d is None else args.d
    if args.seed < 0:
        raise UsageError(f"--seed must be >= 0, got {args.seed}")
    rec = run_one(RunSpec(args.activation, args.k, args.n, d, args.seed))
    out = {key: rec[key] for key in ("loss", "grad_max", "endpoint", "partition", "time_s", "status", "distance")}
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5.5, 3.8))
        ax.loglog(rec["curve_t"], rec["curve_loss"])
        ax.set_xlabel("time t")
        ax.set_ylabel("loss E[(f - f*)^2]")
        ax.set_title(f"{args.activation}, k = {args.k}, n = {args.n}, seed {args.seed}: {rec['endpoint']}")
        fig.savefig(args.plot, dpi=130, bbox_inches="tight")
        plt.close(fig)
    _emit(out, args.json)
    return 0


def _stop(args, message: str, code: int = 1):
    """sweep/plot/export/import: one line on stderr, exit ``code`` (no timing line, no traceback)."""
    print(f"copyavg {args.command}: {message}", file=sys.stderr)
    raise SystemExit(code)


def _warner(args):
    return lambda message: print(f"copyavg {args.command}: warning: {message}", file=sys.stderr)


def _cmd_sweep(args) -> int:
    from copyavg.experiments.store import StoreError
    from copyavg.experiments.sweep import SweepError, SweepInterrupted, sweep, sweep_specs

    _check_kn(args, need_n_lt_k=False)
    if args.workers is not None and not 1 <= args.workers <= MAX_WORKERS:
        raise UsageError(f"--workers must lie in 1..{MAX_WORKERS}, got {args.workers}")
    if args.out.lower().endswith((".jsonl", ".json", ".csv")):
        raise UsageError(f"--out is an SQLite store (e.g. results.sqlite), got {args.out!r}; "
                         "`copyavg import` reads JSON lines, `copyavg export` writes them")
    try:
        specs = sweep_specs(args.activation, args.k, args.n, args.seeds, args.d)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    try:
        done = sweep(specs, args.out, workers=args.workers, scheduler=args.scheduler, quiet=args.quiet,
                     keep_weights=not args.no_weights)
    except SweepInterrupted as exc:
        _stop(args, f"{exc}; results in {args.out}", 128 + exc.signum)
    except KeyboardInterrupt:  # before the sweep's own handler was in place: nothing was run
        _stop(args, "interrupted by SIGINT before any run", 130)
    except (StoreError, SweepError) as exc:
        _stop(args, f"error: {exc}")
    print(f"{done} runs finished and stored now; results in {args.out}")
    return 0


def _cmd_plot(args) -> int:
    import os

    from copyavg.experiments.plot import markdown_fractions, plot_results
    from copyavg.experiments.store import StoreError, check_writable_dir, read_results

    try:
        check_writable_dir(args.out)
        records = read_results(args.results, skip_bad=args.skip_bad, warn=_warner(args),
                               flow_hash_prefix=args.flow_hash)
        if not records:
            raise StoreError(f"{args.results}: no finished runs to plot")
        paths = plot_results(records, args.out, thresholds=not args.no_thresholds, quiet=args.quiet)
        table = os.path.join(args.out, "endpoint_fractions.md")
        with open(table, "w", encoding="utf-8") as fh:
            fh.write(markdown_fractions(records))
    except StoreError as exc:
        _stop(args, f"error: {exc}")
    except OSError as exc:
        _stop(args, f"error: {exc.filename or args.out}: {exc.strerror or exc}")
    for p in paths + [table]:
        print(f"wrote {p}")
    return 0


def _cmd_export(args) -> int:
    import os

    from copyavg.experiments.store import StoreError, export, open_store, output_file

    if args.out != "-" and os.path.realpath(args.out) == os.path.realpath(args.store):
        raise UsageError(f"--out {args.out!r} is the store itself")
    try:
        with open_store(args.store, write=False) as store, output_file(args.out) as fh:
            count = export(store, fh, args.format, flow_hash_prefix=args.flow_hash)
    except StoreError as exc:
        _stop(args, f"error: {exc}")
    except OSError as exc:
        _stop(args, f"error: {exc.filename or args.out}: {exc.strerror or exc}")
    print(f"wrote {count} runs to {args.out}", file=sys.stderr if args.out == "-" else sys.stdout)
    return 0


def _cmd_import(args) -> int:
    from copyavg.experiments.store import StoreError, import_jsonl, open_store

    try:
        with open_store(args.out) as store:
            new, old = import_jsonl(args.results, store, skip_bad=args.skip_bad, warn=_warner(args))
    except StoreError as exc:
        _stop(args, f"error: {exc}")
    print(f"{new} runs stored, {old} already in {args.out} "
          "(records without provenance are marked legacy: flow options unknown)")
    return 0


MAX_WORKERS = 256
ACTIVATION_NAMES = ("erf2", "erf", "relu", "linear", "abs", "leaky_relu")  # copyavg.numeric.ACTIVATIONS


def _add_results_parsers(sub) -> None:
    """Parsers of sweep, plot, export and import."""
    _add_sweep_parser(sub)
    _add_plot_parser(sub)
    _add_export_import_parsers(sub)


def _add_sweep_parser(sub) -> None:
    sw = sub.add_parser("sweep", help="many gradient-flow runs into an SQLite store, resumable and concurrent",
                        description="Runs every (n, seed) not yet in the store; one row per finished run. "
                        "Several sweeps may write one store at once. Ctrl-C / SIGTERM store what has "
                        "finished and exit 130 / 143.")
    sw.add_argument("--activation", default="erf2", choices=ACTIVATION_NAMES, metavar="ACT",
                    help="activation, one of %(choices)s (default: %(default)s)")
    sw.add_argument("--k", type=int, required=True, help="teacher width, 2..1000 (required)")
    sw.add_argument("--n", required=True, help="student widths in 1..k, e.g. 1..50 or 10,20,25 (required)")
    sw.add_argument("--d", type=int, default=None, help="input dimension, k..10k (default: k + 1)")
    sw.add_argument("--seeds", type=int, default=20, help="seeds 0..S-1 for every n, S in 1..100000; "
                    "at most 1000000 runs in all (default: %(default)s)")
    sw.add_argument("--out", required=True, metavar="STORE",
                    help="SQLite store, e.g. results.sqlite (created if missing; resumed if present) (required)")
    sw.add_argument("--workers", type=int, default=None, help="local worker processes, 1..256 (default: all cores)")
    sw.add_argument("--scheduler", default=None, metavar="ADDRESS",
                    help="Dask scheduler address tcp://host:port instead of local processes; must answer "
                    "within 5 s (default: local processes)")
    sw.add_argument("--quiet", action="store_true", help="no progress bar (default: show it)")
    sw.add_argument("--no-weights", action="store_true",
                    help="leave the endpoint weights a, W out of the records (default: keep them)")
    sw.set_defaults(func=_cmd_sweep, n_range=True)


def _add_plot_parser(sub) -> None:
    pl = sub.add_parser("plot", help="figures and endpoint table from a store or a JSON-lines file")
    pl.add_argument("results", help="results: an SQLite store (from sweep) or a JSON-lines file (from export)")
    pl.add_argument("--out", required=True, metavar="DIR", help="output directory, created if missing (required)")
    pl.add_argument("--no-thresholds", action="store_true",
                    help="skip the exact P-n-C / optimal-CA stability figure, one Hessian per n "
                    "(default: draw it)")
    pl.add_argument("--skip-bad", action="store_true",
                    help="skip malformed JSON lines, naming each (default: refuse the file at the first)")
    pl.add_argument("--flow-hash", default=None, metavar="PREFIX",
                    help="runs with this flow-options hash (prefix) only; needed when a store holds "
                    "several (default: the only one)")
    pl.add_argument("--quiet", action="store_true", help="no progress bar (default: show it)")
    pl.set_defaults(func=_cmd_plot)


def _add_export_import_parsers(sub) -> None:
    ex = sub.add_parser("export", help="write a store's runs as JSON lines or CSV (the committable files)")
    ex.add_argument("store", help="SQLite store written by sweep or import")
    ex.add_argument("--format", default="jsonl", choices=("jsonl", "csv"),
                    help="jsonl: full records with provenance; csv: scalar columns only "
                    "(choices: %(choices)s; default: %(default)s)")
    ex.add_argument("--out", required=True, metavar="FILE",
                    help="output file, replaced atomically; - for standard output (required)")
    ex.add_argument("--flow-hash", default=None, metavar="PREFIX",
                    help="runs with this flow-options hash (prefix) only (default: all runs)")
    ex.set_defaults(func=_cmd_export)
    im = sub.add_parser("import", help="store the runs of a JSON-lines results file (legacy: flow options unknown)")
    im.add_argument("results", help="JSON-lines results file (e.g. docs/results/erf2_k50.jsonl); never modified")
    im.add_argument("--out", required=True, metavar="STORE", help="SQLite store, created if missing (required)")
    im.add_argument("--skip-bad", action="store_true",
                    help="skip malformed lines, naming each (default: refuse the file at the first)")
    im.set_defaults(func=_cmd_import)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="copyavg", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("derive", help="derive kernels symbolically and render the generated numeric code")
    d.add_argument("--check", action="store_true", help="exit 1 if the committed generated code is stale")
    d.add_argument("--docs", metavar="DIR", help="also write the derivation document into DIR")
    d.set_defaults(func=_cmd_derive)
    v = sub.add_parser("verify", help="run theorem checks and print certificates")
    v.add_argument("theorems", nargs="*", metavar="THEOREM", help="theorem ids or glob patterns (default: all)")
    v.add_argument("--json", action="store_true", help="print certificates as JSON")
    v.add_argument("--markdown", metavar="FILE", help="also write the certificates as a Markdown report")
    v.add_argument("--properties", action="store_true", help="run the hypothesis property suite instead")
    v.add_argument("--examples", type=int, default=50, help="examples per property (with --properties)")
    v.add_argument("--seed", type=int, default=0, help="random seed (with --properties)")
    v.set_defaults(func=_cmd_verify)
    o = sub.add_parser("one-neuron", help="optimal single student neuron against m teacher neurons")
    o.add_argument("--activation", default="erf2")
    o.add_argument("--m", type=float, required=True, help="number of teacher neurons (real m >= 1 allowed)")
    o.add_argument("--teacher-norm", type=float, default=1.0, dest="teacher_norm")
    o.add_argument("--json", action="store_true")
    o.set_defaults(func=_cmd_one_neuron)
    c = sub.add_parser("ca", help="build a copy-average configuration and classify it")
    c.add_argument("--activation", default="erf2")
    c.add_argument("--k", type=int, required=True, help="number of teacher neurons")
    c.add_argument("--partition", required=True, help="group sizes, e.g. 1,1,3 (must sum to k)")
    c.add_argument("--d", type=int, default=None, help="input dimension (default k + 1)")
    c.add_argument("--json", action="store_true")
    c.add_argument("--polish", action="store_true",
                   help="also find the critical point gradient flow reaches from it (ReLU: CA points are not critical)")
    c.set_defaults(func=_cmd_ca)
    pn = sub.add_parser("pnc", help="solve the perturbed n-copy family and classify the point")
    pn.add_argument("--activation", default="erf2")
    pn.add_argument("--k", type=int, required=True)
    pn.add_argument("--n", type=int, required=True)
    pn.add_argument("--d", type=int, default=None, help="input dimension (default k + 1)")
    pn.add_argument("--json", action="store_true")
    pn.set_defaults(func=_cmd_pnc)
    th = sub.add_parser("thresholds", help="P-n-C vs optimal CA along n/k: types and loss crossing")
    th.add_argument("--activation", default="erf2")
    th.add_argument("--k", type=int, required=True)
    th.add_argument("--json", action="store_true")
    th.set_defaults(func=_cmd_thresholds)
    fl = sub.add_parser("flow", help="one gradient-flow run from Glorot-normal initialisation, polished")
    fl.add_argument("--activation", default="erf2")
    fl.add_argument("--k", type=int, required=True)
    fl.add_argument("--n", type=int, required=True)
    fl.add_argument("--d", type=int, default=None, help="input dimension (default k + 1)")
    fl.add_argument("--seed", type=int, default=0)
    fl.add_argument("--json", action="store_true")
    fl.add_argument("--plot", metavar="FILE", help="save the loss curve (PNG/SVG by extension)")
    fl.set_defaults(func=_cmd_flow)
    _add_results_parsers(sub)
    return p


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    try:
        rc = args.func(args)
    except (UsageError, ValueError) as exc:  # the library's ValueErrors name the bad quantity
        print(f"copyavg {args.command}: error: {exc}", file=sys.stderr)
        return 2
    if not getattr(args, "json", False):
        print(f"({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    return rc


if __name__ == "__main__":
    sys.exit(main())
