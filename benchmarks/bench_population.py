#!/usr/bin/env python
"""Speed of the exact population loss / gradient / Hessian (``copyavg.numeric.population``).

    python benchmarks/bench_population.py            # full run (~0.5-1 s per figure)
    python benchmarks/bench_population.py --quick    # smoke run (a few ms per figure)
    python benchmarks/bench_population.py --json out.json

For each size ``(d, k, n)`` it times, at one fixed random point of the paper's setting
(``V = eye(k, d)`` with ``d = k + 1``, ``b = 1``, ``W ~ N(0, 2/(d+n))``, ``a ~ N(0, 2/(n+1))``):

    loss        Problem(b, V, act).loss(a, W)              (teacher cached)
    loss+grad   Problem.loss_and_gradient(a, W)
    hessian     Problem.hessian(a, W)                      (skipped when it would not fit in memory)
    func l+g    copyavg.numeric.loss_and_gradient(a, W, b, V, act)   (cached teacher lookup by value)
    floor       W @ W.T and W @ V.T together                (the matrix products any method needs)

Each figure is the median per-call time over several batches; the batch size is adapted so that
the whole measurement takes about ``--budget`` seconds. ``reps`` is ``batches x calls``.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

import copyavg.numeric as cn
from copyavg.numeric import Problem

SIZES = [(6, 5, 4), (51, 50, 25), (501, 500, 250)]
EXTRA = [("relu", (51, 50, 25))]
SEED = 20231210

# (activation, (d, k, n), name) -> (limit in seconds, description)
TARGETS = {
    ("erf2", (51, 50, 25), "loss+grad"): (60e-6, "<= 60 us"),
    ("erf2", (51, 50, 25), "hessian"): (20e-3, "<= 20 ms"),
}
RATIO_TARGET = {("erf2", (501, 500, 250)): 2.0}  # loss+grad / floor

HESSIAN_MEMORY_LIMIT = 4e9  # bytes for H and its (equally large) W-W intermediate together


# -- environment ----------------------------------------------------------------------------
def _openblas_info() -> dict:
    """Thread count / config of a loaded OpenBLAS, by ctypes (fallback when no threadpoolctl)."""
    info: dict = {}
    try:
        with open("/proc/self/maps") as fh:
            libs = sorted({ln.split()[-1] for ln in fh if "openblas" in ln.lower() and "/" in ln})
    except OSError:
        return info
    for path in libs:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ("scipy_openblas_", "openblas_"):
            for suffix in ("64_", "_64", ""):
                fn = getattr(lib, f"{prefix}get_num_threads{suffix}", None)
                if fn is None:
                    continue
                fn.restype = ctypes.c_int
                info["library"] = os.path.basename(path)
                info["num_threads"] = fn()
                for key in ("config", "corename"):
                    g = getattr(lib, f"{prefix}get_{key}{suffix}", None)
                    if g is not None:
                        g.restype = ctypes.c_char_p
                        info[key] = g().decode(errors="replace").strip()
                return info
    return info


def _git_state() -> str | None:
    """Commit of the checkout being measured (and whether numeric/ has uncommitted changes)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        head = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--untracked-files=no", "--", "numeric"],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + (" (numeric/ modified)" if dirty else "")


def loadavg() -> float | None:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def environment() -> dict:
    env = {
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
    }
    git = _git_state()
    if git:
        env["git"] = git
    env["loadavg_1min_start"] = loadavg()
    try:
        env["affinity_cpus"] = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        pass
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if var in os.environ:
            env[var] = os.environ[var]
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        env["blas_build"] = f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # noqa: BLE001 - informational only
        pass
    try:
        import threadpoolctl

        env["threadpools"] = [
            {k: p.get(k) for k in ("internal_api", "num_threads", "version", "architecture")}
            for p in threadpoolctl.threadpool_info()
        ]
    except ImportError:
        ob = _openblas_info()
        if ob:
            env["openblas"] = ob
    return env


def print_environment(env: dict) -> None:
    print(f"python {env['python']}  numpy {env['numpy']}  {env['machine']}  cpus {env['cpu_count']}"
          + (f" (affinity {env['affinity_cpus']})" if "affinity_cpus" in env else ""))
    if "git" in env:
        print(f"copyavg checkout: {env['git']}")
    la = env.get("loadavg_1min_start")
    if la is not None:
        busy = la > 0.5 * (env.get("affinity_cpus") or env["cpu_count"] or 1)
        print(f"load average (1 min) at start: {la:.2f}"
              + ("  WARNING: machine busy, figures will be noisy" if busy else ""))
    if "blas_build" in env:
        print(f"BLAS (build): {env['blas_build']}")
    if "threadpools" in env:
        for p in env["threadpools"]:
            print(f"threadpool: {p['internal_api']} {p['version']} {p['architecture']} "
                  f"num_threads={p['num_threads']}")
    elif "openblas" in env:
        ob = env["openblas"]
        print(f"threadpool (threadpoolctl not installed; via ctypes): {ob.get('library')} "
              f"num_threads={ob.get('num_threads')} core={ob.get('corename')}")
    else:
        print("threadpool: unknown (threadpoolctl not installed)")
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if var in env:
            print(f"{var}={env[var]}")


# -- timing -----------------------------------------------------------------------------------
def measure(fn, budget: float, batches: int = 7) -> dict:
    """Median per-call seconds of ``fn()`` over ``batches`` batches, the batch size chosen so the
    whole measurement takes about ``budget`` seconds (at least one call per batch)."""
    fn()  # warm-up (also first-call caches)
    t0 = time.perf_counter()
    fn()
    est = time.perf_counter() - t0
    # refine the estimate for fast functions (a single call is too noisy)
    if est < 1e-3:
        m = max(1, int(2e-3 / max(est, 1e-7)))
        t0 = time.perf_counter()
        for _ in range(m):
            fn()
        est = (time.perf_counter() - t0) / m
    if est * batches > budget:  # slow: fewer batches of one call
        batches = max(3, min(batches, int(budget / max(est, 1e-12))))
    number = max(1, int(budget / batches / max(est, 1e-9)))
    per_call = []
    perf = time.perf_counter
    for _ in range(batches):
        t0 = perf()
        for _ in range(number):
            fn()
        per_call.append((perf() - t0) / number)
    per_call.sort()
    return {
        "median_s": float(np.median(per_call)),
        "min_s": per_call[0],
        "max_s": per_call[-1],
        "batches": batches,
        "number": number,
        "reps": batches * number,
    }


def fmt_time(s: float | None) -> str:
    if s is None:
        return "-"
    if s < 1e-3:
        return f"{s * 1e6:.1f} us"
    if s < 1.0:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


def point(d: int, k: int, n: int, seed: int = SEED):
    rng = np.random.default_rng(seed)
    V = np.eye(k, d)
    b = np.ones(k)
    W = rng.normal(0.0, np.sqrt(2.0 / (d + n)), size=(n, d))
    a = rng.normal(0.0, np.sqrt(2.0 / (n + 1)), size=n)
    return a, W, b, V


def hessian_bytes(d: int, n: int) -> int:
    N = n + n * d
    return N * N * 8


def bench_case(act: str, size, budget: float) -> list[dict]:
    d, k, n = size
    a, W, b, V = point(d, k, n)
    P = Problem(b, V, act)
    cn.problem_for(b, V, act)  # populate the functional API's cache
    rows = []

    def add(name, fn, skip_reason=None):
        row = {"activation": act, "d": d, "k": k, "n": n, "name": name}
        if skip_reason is not None:
            row["skipped"] = skip_reason
        else:
            row.update(measure(fn, budget))
        tgt = TARGETS.get((act, size, name))
        if tgt is not None:
            row["target_s"], row["target"] = tgt
            if "median_s" in row:
                row["meets_target"] = row["median_s"] <= tgt[0]
        rows.append(row)
        return row

    add("loss", lambda: P.loss(a, W))
    lg = add("loss+grad", lambda: P.loss_and_gradient(a, W))
    hb = hessian_bytes(d, n)
    if 2 * hb > HESSIAN_MEMORY_LIMIT:
        add("hessian", None, skip_reason=f"skipped (needs {hb / 1e9:.0f} GB)")
    else:
        add("hessian", lambda: P.hessian(a, W))
    add("func l+g", lambda: cn.loss_and_gradient(a, W, b, V, act))
    fl = add("floor", lambda: (W @ W.T, W @ V.T))
    ratio = lg["median_s"] / fl["median_s"]
    row = {"activation": act, "d": d, "k": k, "n": n, "name": "l+g/floor", "ratio": ratio}
    rt = RATIO_TARGET.get((act, size))
    if rt is not None:
        row["target_ratio"] = rt
        row["target"] = f"<= {rt:g}x"
        row["meets_target"] = ratio <= rt
    rows.append(row)
    return rows


def print_rows(rows: list[dict]) -> None:
    print(f"{'act':<5} {'(d,k,n)':<15} {'what':<10} {'median':>11} {'min':>11} {'reps':>10}  target")
    last = None
    for r in rows:
        key = (r["activation"], r["d"], r["k"], r["n"])
        if last is not None and key != last:
            print()
        last = key
        size = f"({r['d']},{r['k']},{r['n']})"
        head = f"{r['activation']:<5} {size:<15} {r['name']:<10}"
        tgt = ""
        if "target" in r:
            ok = r.get("meets_target")
            tgt = f"{r['target']}" + ("" if ok is None else ("  OK" if ok else "  MISSED"))
        if "skipped" in r:
            print(f"{head} {r['skipped']}")
        elif "ratio" in r:
            print(f"{head} {r['ratio']:>10.2f}x {'':>11} {'':>10}  {tgt}")
        else:
            reps = f"{r['batches']}x{r['number']}"
            print(f"{head} {fmt_time(r['median_s']):>11} {fmt_time(r['min_s']):>11} {reps:>10}  {tgt}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fast smoke run (tiny time budget)")
    ap.add_argument("--budget", type=float, default=None,
                    help="seconds per measurement (default 0.75; 0.02 with --quick)")
    ap.add_argument("--json", metavar="FILE", help="also write the figures to FILE as JSON")
    args = ap.parse_args(argv)
    budget = args.budget if args.budget is not None else (0.02 if args.quick else 0.75)

    env = environment()
    print_environment(env)
    print(f"budget {budget:g} s per figure; median/min are per call; reps = batches x calls; seed {SEED}")
    print()
    rows: list[dict] = []
    cases = [("erf2", s) for s in SIZES] + EXTRA
    for act, size in cases:
        new = bench_case(act, size, budget)
        rows.extend(new)
    print_rows(rows)
    env["loadavg_1min_end"] = loadavg()
    if env["loadavg_1min_end"] is not None:
        print(f"\nload average (1 min) at end: {env['loadavg_1min_end']:.2f}")

    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"environment": env, "budget_s": budget, "quick": args.quick,
                       "seed": SEED, "results": rows}, fh, indent=2)
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
