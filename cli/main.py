"""The ``copyavg`` command: argument parsing and the top-level error handling.

The commands live in ``copyavg.cli.commands`` (parsers in ``copyavg.cli.parsers``); ``sweep``,
``plot``, ``export`` and ``import`` (the results store, ``copyavg.experiments.store``) are here.
"""

from __future__ import annotations

import os
import sys
import time

from copyavg.cli import __version__
from copyavg.cli.commands import _check_activation, _check_kn
from copyavg.cli.model import model_options
from copyavg.cli.common import CommandFailed, OneLineParser, UsageError, progress_options, show_progress
from copyavg.cli.parsers import add_derive_verify, add_flow, add_points

DESCRIPTION = """\
copyavg: exact, machine-checked analysis of two-layer student networks fitted to two-layer
teacher networks under Gaussian input (loss E[(f - f*)^2], x ~ N(0, I_d)): symbolic kernels,
theorem certificates, copy-average (CA) and perturbed n-copy (P-n-C) points, gradient flow."""

EPILOG = """\
examples:
  copyavg derive --check && copyavg verify          check generated code, prove the theorems
  copyavg verify 'kernel-*' --markdown report.md    some theorems, with a Markdown report
  copyavg one-neuron --activation erf2 --m 3        |w|, a, L*(m) of the one-neuron optimum
  copyavg ca --k 5 --partition 1,1,3 --json         loss, gradient, Hessian type of a CA point
  copyavg pnc --k 50 --n 25                         the perturbed n-copy point
  copyavg thresholds --k 10                         P-n-C vs optimal CA for n = 1..k-1
  copyavg flow --k 5 --n 3 --seed 0 --plot loss.png one gradient-flow run and its loss curve
  copyavg COMMAND --help                            the options of a command, with defaults

output: text for people, or one strict JSON document with --json (non-finite numbers, which the
  checked argument ranges avoid, would be written as null). Progress bars go to stderr on a
  terminal (--progress forces them, --quiet silences them).
exit status: 0 success; 1 failure (a refuted/undecided theorem, a flow that did not converge,
  an unwritable output path, not enough memory); 2 bad arguments (one line naming the parameter
  and its allowed range, including values the library rejects, e.g. no P-n-C point for that
  activation); 130 interrupted (Ctrl-C).
"""


def _stop(args, message: str, code: int):
    """An interrupted sweep: one line on stderr, exit ``code`` (128 + signal), no timing line."""
    print(f"copyavg {args.command}: {message}", file=sys.stderr)
    raise SystemExit(code)


def _warner(args):
    return lambda message: print(f"copyavg {args.command}: warning: {message}", file=sys.stderr)


def _cmd_sweep(args) -> int:
    from copyavg.experiments.store import StoreError
    from copyavg.cli.model import resolve_model
    from copyavg.experiments.sweep import MAX_K, SweepError, SweepInterrupted, sweep, sweep_specs

    _check_activation(args.activation)
    teacher, model = resolve_model(args, MAX_K)
    _check_kn(args, need_n_lt_k=False)
    if args.workers is not None and not 1 <= args.workers <= MAX_WORKERS:
        raise UsageError(f"--workers must lie in 1..{MAX_WORKERS}, got {args.workers}")
    if args.out.lower().endswith((".jsonl", ".json", ".csv")):
        raise UsageError(f"--out is an SQLite store (e.g. results.sqlite), got {args.out!r}; "
                         "`copyavg import` reads JSON lines, `copyavg export` writes them")
    try:
        specs = sweep_specs(args.activation, args.k, args.n, args.seeds, args.d, teacher_file=teacher is not None)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    try:
        done = sweep(specs, args.out, workers=args.workers, scheduler=args.scheduler,
                     quiet=not show_progress(args), flow_options=model or None,
                     keep_weights=not args.no_weights, teacher=teacher)
    except SweepInterrupted as exc:
        _stop(args, f"{exc}; results in {args.out}", 128 + exc.signum)
    except KeyboardInterrupt:  # before the sweep's own handler was in place: nothing was run
        _stop(args, "interrupted by SIGINT before any run", 130)
    except (StoreError, SweepError) as exc:
        raise CommandFailed(str(exc)) from None
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
        paths = plot_results(records, args.out, thresholds=not args.no_thresholds,
                             quiet=not show_progress(args))
        table = os.path.join(args.out, "endpoint_fractions.md")
        with open(table, "w", encoding="utf-8") as fh:
            fh.write(markdown_fractions(records))
    except StoreError as exc:
        raise CommandFailed(str(exc)) from None
    except OSError as exc:
        raise CommandFailed(f"{exc.filename or args.out}: {exc.strerror or exc}") from None
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
        raise CommandFailed(str(exc)) from None
    except OSError as exc:
        raise CommandFailed(f"{exc.filename or args.out}: {exc.strerror or exc}") from None
    print(f"wrote {count} runs to {args.out}", file=sys.stderr if args.out == "-" else sys.stdout)
    return 0


def _cmd_import(args) -> int:
    from copyavg.experiments.store import StoreError, import_jsonl, open_store

    try:
        with open_store(args.out) as store:
            new, old = import_jsonl(args.results, store, skip_bad=args.skip_bad, warn=_warner(args))
    except StoreError as exc:
        raise CommandFailed(str(exc)) from None
    print(f"{new} runs stored, {old} already in {args.out} "
          "(records without provenance are marked legacy: flow options unknown)")
    return 0


MAX_WORKERS = 256
ACTIVATION_NAMES = ("erf2", "erf", "relu", "linear", "abs", "leaky_relu", "hermite2", "hermite3", "hermite4",
                    "hermite5", "sin", "cos", "gaussian", "normal_cdf", "monomial2", "monomial3", "monomial4",
                    "monomial5", "gelu")  # copyavg.numeric.ACTIVATIONS


def _add_results_parsers(sub) -> None:
    """Parsers of sweep, plot, export and import."""
    _add_sweep_parser(sub)
    _add_plot_parser(sub)
    _add_export_import_parsers(sub)
    from copyavg.cli.compare import add_compare

    add_compare(sub)


def _add_sweep_parser(sub) -> None:
    sw = sub.add_parser("sweep", help="many gradient-flow runs into an SQLite store, resumable and concurrent",
                        parents=[progress_options(), model_options()],
                        description="Runs every (n, seed) not yet in the store; one row per finished run. "
                        "Several sweeps may write one store at once. Ctrl-C / SIGTERM store what has "
                        "finished and exit 130 / 143. Runs with --train W or --teacher are stored "
                        "under their own flow-options hash, apart from the default runs.")
    sw.add_argument("--activation", default="erf2", metavar="ACT",
                    help="activation: " + ", ".join(ACTIVATION_NAMES) + "; tanh, softplus, sigmoid, silu or an "
                    "expression in z, e.g. 'tanh(z)' (quadrature-based kernel) (default: %(default)s)")
    sw.add_argument("--k", type=int, default=None, help="teacher width, 2..1000 (required unless --teacher gives it; default: the teacher file's k)")
    sw.add_argument("--n", required=True, help="student widths in 1..k, e.g. 1..50 or 10,20,25 (required)")
    sw.add_argument("--d", type=int, default=None,
                    help="input dimension, k..10k (default: k + 1; with --teacher: the file's)")
    sw.add_argument("--seeds", type=int, default=20, help="seeds 0..S-1 for every n, S in 1..100000; "
                    "at most 1000000 runs in all (default: %(default)s)")
    sw.add_argument("--out", required=True, metavar="STORE",
                    help="SQLite store, e.g. results.sqlite (created if missing; resumed if present) (required)")
    sw.add_argument("--workers", type=int, default=None, help="local worker processes, 1..256 (default: all cores)")
    sw.add_argument("--scheduler", default=None, metavar="ADDRESS",
                    help="Dask scheduler address tcp://host:port instead of local processes; must answer "
                    "within 5 s (default: local processes)")
    sw.add_argument("--no-weights", action="store_true",
                    help="leave the endpoint weights a, W out of the records (default: keep them)")
    sw.set_defaults(func=_cmd_sweep, n_range=True)


def _add_plot_parser(sub) -> None:
    pl = sub.add_parser("plot", help="figures and endpoint table from a store or a JSON-lines file",
                        parents=[progress_options()])
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


def build_parser() -> OneLineParser:
    p = OneLineParser(prog="copyavg", description=DESCRIPTION, epilog=EPILOG)
    p.add_argument("--version", action="version", version=f"copyavg {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=OneLineParser)
    add_derive_verify(sub)
    add_points(sub)
    add_flow(sub)
    _add_results_parsers(sub)
    return p


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 300 else text[:297] + "..."


def _stdout_to_devnull() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _run(args) -> tuple[int, bool]:
    """Run the command: (exit status, whether it finished normally); every failure becomes one line
    on stderr and an exit status."""
    name = f"copyavg {args.command}"
    try:
        return args.func(args), True
    except (UsageError, ValueError) as exc:  # the library's ValueErrors name the bad quantity
        print(f"{name}: error: {_one_line(exc)}", file=sys.stderr)
        return 2, False
    except CommandFailed as exc:
        print(f"{name}: error: {_one_line(exc)}", file=sys.stderr)
        return 1, False
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        return 130, False
    except BrokenPipeError:  # e.g. `copyavg verify --json | head`: the reader left; stop quietly
        _stdout_to_devnull()
        return 1, False
    except MemoryError:
        print(f"{name}: error: out of memory; use smaller sizes (see --max-memory)", file=sys.stderr)
        return 1, False
    except OSError as exc:
        where = f" {exc.filename}:" if getattr(exc, "filename", None) else ""
        print(f"{name}: error:{where} {exc.strerror or _one_line(exc)}", file=sys.stderr)
        return 1, False
    except Exception as exc:  # noqa: BLE001 - backstop: the checks above should have caught it
        print(f"{name}: internal error: {type(exc).__name__}: {_one_line(exc)} "
              "(please report this with the command line)", file=sys.stderr)
        return 1, False


def main(argv=None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version, argument errors (already printed)
        return exc.code if isinstance(exc.code, int) else 2
    except KeyboardInterrupt:
        print("copyavg: interrupted", file=sys.stderr)
        return 130
    t0 = time.perf_counter()
    rc, finished = _run(args)
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _stdout_to_devnull()
        rc, finished = 1, False
    if finished and not getattr(args, "json", False) and not getattr(args, "quiet", False):
        print(f"({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    return rc


if __name__ == "__main__":
    sys.exit(main())
