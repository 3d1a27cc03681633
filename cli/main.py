"""The ``copyavg`` command: argument parsing and the top-level error handling.

The commands live in ``copyavg.cli.commands`` (parsers in ``copyavg.cli.parsers``); ``sweep`` and
``plot`` are here.
"""

from __future__ import annotations

import os
import sys
import time

from copyavg.cli import __version__
from copyavg.cli.commands import _check_kn
from copyavg.cli.common import CommandFailed, OneLineParser, UsageError
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


def _cmd_sweep(args) -> int:
    from copyavg.experiments.sweep import RunSpec, parse_range, sweep

    _check_kn(args, need_n_lt_k=False)
    try:
        ns = parse_range(args.n, upper=args.k)
    except ValueError as exc:
        raise UsageError(f"--n: {exc}") from None
    if args.seeds < 1:
        raise UsageError(f"--seeds must be >= 1, got {args.seeds}")
    d = args.k + 1 if args.d is None else args.d
    specs = [RunSpec(args.activation, args.k, n, d, s) for n in ns for s in range(args.seeds)]
    done = sweep(specs, args.out, workers=args.workers, scheduler=args.scheduler, quiet=args.quiet,
                 keep_weights=not args.no_weights)
    print(f"{done} runs finished now; results in {args.out}")
    return 0


def _cmd_plot(args) -> int:
    import os

    from copyavg.experiments.plot import markdown_fractions, plot_results

    if not os.path.exists(args.results):
        raise UsageError(f"results file {args.results!r} does not exist")
    try:
        paths = plot_results(args.results, args.out, thresholds=not args.no_thresholds)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    table = os.path.join(args.out, "endpoint_fractions.md")
    with open(table, "w", encoding="utf-8") as fh:
        fh.write(markdown_fractions(args.results))
    for p in paths + [table]:
        print(f"wrote {p}")
    return 0


def build_parser() -> OneLineParser:
    p = OneLineParser(prog="copyavg", description=DESCRIPTION, epilog=EPILOG)
    p.add_argument("--version", action="version", version=f"copyavg {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=OneLineParser)
    add_derive_verify(sub)
    add_points(sub)
    add_flow(sub)
    sw = sub.add_parser("sweep", help="many runs, one JSON line per finished run, resumable")
    sw.add_argument("--activation", default="erf2")
    sw.add_argument("--k", type=int, required=True)
    sw.add_argument("--n", required=True, help="widths, e.g. 1..50 or 10,20,25")
    sw.add_argument("--d", type=int, default=None)
    sw.add_argument("--seeds", type=int, default=20, help="seeds 0..S-1 for every n")
    sw.add_argument("--out", required=True, help="results file (JSON lines; appended, resumable)")
    sw.add_argument("--workers", type=int, default=None, help="local processes (default: all cores)")
    sw.add_argument("--scheduler", default=None, help="Dask scheduler address (tcp://host:port)")
    sw.add_argument("--quiet", action="store_true", help="no progress bar")
    sw.add_argument("--no-weights", action="store_true",
                    help="leave the endpoint weights a, W out of the records (small files)")
    sw.set_defaults(func=_cmd_sweep, n_range=True)
    pl = sub.add_parser("plot", help="figures and endpoint table from a results file")
    pl.add_argument("results")
    pl.add_argument("--out", required=True, help="output directory")
    pl.add_argument("--no-thresholds", action="store_true",
                    help="skip the exact P-n-C / optimal-CA stability figure (one Hessian per n)")
    pl.set_defaults(func=_cmd_plot)
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
