"""Shared pieces of the ``copyavg`` command: errors, argument parser, output, progress, checks.

Everything a command needs before it starts working lives here: one-line argument errors
(exit 2), strict JSON, human-readable text output, progress bars on stderr, checks that output
paths are writable and that a computation fits in memory.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import textwrap
from pathlib import Path

LINE_WIDTH = 100
GIB = 2.0**30


class UsageError(Exception):
    """Bad command-line arguments: printed as one line, exit code 2."""


class CommandFailed(Exception):
    """A runtime failure the user can act on (unwritable file, not enough memory): one line, exit 1."""


# -- argument parsing ---------------------------------------------------------------------------
class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the epilog's layout and appends ``(default: X)`` to every option that has a default
    which its help text does not already state."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text or any(action.default is v for v in (None, False, argparse.SUPPRESS)) or action.required:
            return text
        if action.option_strings or action.nargs in (argparse.OPTIONAL, argparse.ZERO_OR_MORE):
            return f"{text} (default: %(default)s)"
        return text


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, ``copyavg CMD: error: ...``, exit 2."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())}\n")


def progress_options() -> argparse.ArgumentParser:
    """``--quiet`` / ``--progress``, shared by every command that may run for long."""
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--quiet", action="store_true",
                   help="no progress bars and no timing line on stderr")
    g.add_argument("--progress", action="store_true",
                   help="show progress bars on stderr even when it is not a terminal "
                        "(default: only on a terminal)")
    return p


def memory_options() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--max-memory", type=float, metavar="GIB", default=None, dest="max_memory",
                   help="refuse computations whose estimated memory exceeds GIB gibibytes "
                        "(default: 80%% of the memory available when the command starts)")
    return p


def check_range(name: str, value, lo=None, hi=None, what: str = "") -> None:
    """One-line UsageError naming ``--name`` and its allowed range unless ``lo <= value <= hi``."""
    ok = isinstance(value, (int, float)) and math.isfinite(value)
    ok = ok and (lo is None or value >= lo) and (hi is None or value <= hi)
    if ok:
        return
    if lo is not None and hi is not None:
        rng = f"{lo:g} <= {name.lstrip('-')} <= {hi:g}"
    elif lo is not None:
        rng = f"{name.lstrip('-')} >= {lo:g}"
    else:
        rng = f"{name.lstrip('-')} <= {hi:g}"
    raise UsageError(f"{name} must satisfy {rng}{' (' + what + ')' if what else ''}, got {value:g}"
                     if isinstance(value, (int, float)) else f"{name} must satisfy {rng}, got {value!r}")


# -- output -------------------------------------------------------------------------------------
def dumps(obj, **kwargs) -> str:
    """Strict JSON (RFC 8259: no NaN/Infinity): non-finite floats become ``null`` (documented in
    ``copyavg --help``)."""
    from copyavg.proofs.certificates import strict_json

    return strict_json(obj, **kwargs)


def _is_number_list(v) -> bool:
    return isinstance(v, (list, tuple)) and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)


def format_value(v) -> str:
    """One value for people: no reprs of containers, long vectors summarised."""
    if v is None:
        return "n/a"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else str(v)
    if _is_number_list(v):
        if len(v) <= 12:
            return ", ".join(format_value(x) for x in v) if v else "(none)"
        return f"{len(v)} values in [{min(v):.6g}, {max(v):.6g}] (all values with --json)"
    if isinstance(v, (list, tuple)) and v and all(_is_number_list(r) for r in v):
        flat = [x for r in v for x in r]
        return (f"{len(v)} x {len(v[0])} array, entries in [{min(flat):.6g}, {max(flat):.6g}] "
                f"(all values with --json)")
    if isinstance(v, (list, tuple)):
        return "; ".join(str(x) for x in v) if v else "(none)"
    return str(v)


def format_record(out: dict, indent: int = 0) -> list[str]:
    """Aligned ``key: value`` lines; nested dicts become indented blocks; long values wrap."""
    width = max(len(k) for k in out) if out else 0
    lines = []
    pad = " " * indent
    for key, val in out.items():
        if isinstance(val, dict):
            lines.append(f"{pad}{key:>{width}}:")
            lines += format_record(val, indent + 4)
            continue
        head = f"{pad}{key:>{width}}: "
        lines += textwrap.wrap(format_value(val), width=LINE_WIDTH, initial_indent=head,
                               subsequent_indent=" " * len(head), break_on_hyphens=False) or [head.rstrip()]
    return lines


def emit(out: dict, as_json: bool) -> None:
    """Print a result as one strict JSON object or as aligned ``key: value`` lines."""
    if as_json:
        print(dumps(out))
    else:
        print("\n".join(format_record(out)))


# -- progress -----------------------------------------------------------------------------------
def show_progress(args) -> bool:
    if getattr(args, "quiet", False):
        return False
    if getattr(args, "progress", False):
        return True
    return sys.stderr.isatty()


def progress_bar(args, **kwargs):
    """A tqdm bar on stderr, disabled by ``--quiet`` (and, unless ``--progress``, off a terminal)."""
    from tqdm import tqdm

    kwargs.setdefault("leave", False)
    return tqdm(file=sys.stderr, disable=not show_progress(args), dynamic_ncols=True, **kwargs)


# -- checks before the work starts --------------------------------------------------------------
def check_output_file(option: str, path) -> None:
    """Refuse (one line, exit 1) an output file that cannot be written, before any work: the
    file is opened for appending (and removed again if it did not exist)."""
    p = Path(path)
    if p.is_dir():
        raise CommandFailed(f"{option} {path}: is a directory, need a file name")
    existed = p.exists()
    try:
        with open(p, "ab"):
            pass
    except OSError as exc:
        raise CommandFailed(f"{option} {path}: cannot write: {exc.strerror or exc}") from None
    if not existed:
        p.unlink()


def check_output_dir(option: str, path) -> None:
    """Create the directory (and parents) and probe that a file can be written in it, before any
    work; refuse with one line (exit 1) otherwise."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise CommandFailed(f"{option} {path}: exists and is not a directory")
    try:
        p.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=p):
            pass
    except OSError as exc:
        raise CommandFailed(f"{option} {path}: cannot write there: {exc.strerror or exc}") from None


def _cgroup_headroom() -> float | None:
    """Bytes left under a cgroup v2 memory limit (containers), or None without a limit."""
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = Path("/sys/fs/cgroup/memory.current").read_text().strip()
        return None if limit == "max" else max(0.0, float(limit) - float(used))
    except (OSError, ValueError):
        return None


def available_memory() -> float | None:
    """Bytes of memory available now (Linux ``MemAvailable``, capped by a cgroup limit; else
    physical memory), or None when unknown."""
    avail = None
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    avail = float(line.split()[1]) * 1024.0
    except (OSError, ValueError, IndexError):
        pass
    if avail is None:
        try:
            avail = float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
        except (ValueError, OSError, AttributeError):
            return None
    room = _cgroup_headroom()
    return avail if room is None else min(avail, room)


def memory_limit(args) -> tuple[float, str]:
    """(limit in bytes, where it comes from) for ``--max-memory``."""
    given = getattr(args, "max_memory", None)
    if given is not None:
        check_range("--max-memory", given, lo=1e-3, what="GiB")
        return given * GIB, "--max-memory"
    avail = available_memory()
    if avail is None:
        return math.inf, "unknown available memory"
    return 0.8 * avail, "80% of available memory; raise with --max-memory GIB"


def dense_point_bytes(k: int, n: int, d: int, hessian_copies: int = 2) -> tuple[float, float]:
    """Estimated peak bytes (total, Hessian) of evaluating loss, gradient and Hessian of an
    n-neuron student against a k-neuron teacher in dimension d: the dense (n + n d)^2 float64
    Hessian (``hessian_copies`` copies: the matrix and the eigenvalue workspace), the teacher
    (k x d, copied once) and its k x k Gram matrix, the student-teacher pair arrays."""
    N = n + n * d
    hess = 8.0 * N * N
    total = hessian_copies * hess + 8.0 * (2 * k * d + k * k + 6 * n * k + 6 * n * n + 4 * n * d)
    return total, hess


def check_memory(args, what: str, k: int, n: int, d: int, hessian_copies: int = 2) -> None:
    """Refuse (one line, exit 1) when the estimate exceeds the limit, before allocating."""
    total, hess = dense_point_bytes(k, n, d, hessian_copies)
    limit, source = memory_limit(args)
    if total > limit:
        N = n + n * d
        raise CommandFailed(
            f"{what} needs about {total / GIB:.1f} GiB ({N} x {N} Hessian alone {hess / GIB:.1f} GiB), "
            f"more than the limit of {limit / GIB:.1f} GiB ({source})")
