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

Before them, ``import copyavg.numeric`` in a fresh interpreter (``time.perf_counter`` around the
import, median and minimum of ``--import-runs``, default 5; target <= 0.2 s), with the heavy
modules it must not load (scipy.special, mpmath, sympy). Figures with a target also print their
ratio to it (median / target; <= 1 meets it).

Then (unless ``--no-flow``) one ``copyavg.numeric.flow.flow_and_polish`` at (51, 50, 25) per seed
0..2 (``glorot_init``): wall time, solver steps, gradient (RHS) / Hessian (Jacobian) / factorization
counts, final max|grad| (target: flow+polish <= 5 s), beside a naive ``solve_ivp(method="LSODA")``
without Jacobian to max|grad| <= 1e-10 (capped at ``--naive-cap`` seconds, default 60).

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
    ("erf2", (51, 50, 25), "loss+grad"): (50e-6, "<= 50 us"),
    ("erf2", (51, 50, 25), "hessian"): (20e-3, "<= 20 ms"),
}
IMPORT_TARGET_S = 0.2  # import copyavg.numeric
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
                row["ratio_to_target"] = row["median_s"] / tgt[0]
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
            if "ratio_to_target" in r:
                tgt += f" ({r['ratio_to_target']:.2f}x target)"
        if "skipped" in r:
            print(f"{head} {r['skipped']}")
        elif "ratio" in r:
            print(f"{head} {r['ratio']:>10.2f}x {'':>11} {'':>10}  {tgt}")
        else:
            reps = f"{r['batches']}x{r['number']}"
            print(f"{head} {fmt_time(r['median_s']):>11} {fmt_time(r['min_s']):>11} {reps:>10}  {tgt}")


# -- import time -------------------------------------------------------------------------------
_IMPORT_CODE = ("import sys, time\n"
                "t0 = time.perf_counter()\n"
                "import copyavg.numeric\n"
                "t = time.perf_counter() - t0\n"
                "print(t, *(m for m in ('scipy.special', 'mpmath', 'sympy') if m in sys.modules))")


def bench_import(runs: int) -> dict:
    """``import copyavg.numeric`` in ``runs`` fresh interpreters: median/min seconds and the heavy
    modules it loaded (should be none)."""
    times, heavy = [], set()
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", _IMPORT_CODE], capture_output=True, text=True,
                             check=True, timeout=120).stdout.split()
        times.append(float(out[0]))
        heavy.update(out[1:])
    times.sort()
    return {"name": "import copyavg.numeric", "median_s": float(np.median(times)), "min_s": times[0],
            "runs": runs, "heavy_modules_loaded": sorted(heavy), "target_s": IMPORT_TARGET_S,
            "meets_target": float(np.median(times)) <= IMPORT_TARGET_S,
            "ratio_to_target": float(np.median(times)) / IMPORT_TARGET_S}


def print_import(r: dict) -> None:
    heavy = ", ".join(r["heavy_modules_loaded"]) or "none"
    print(f"import copyavg.numeric: median {fmt_time(r['median_s'])}, min {fmt_time(r['min_s'])} "
          f"({r['runs']} fresh interpreters)  <= {r['target_s']:g} s "
          f"{'OK' if r['meets_target'] else 'MISSED'} ({r['ratio_to_target']:.2f}x target); "
          f"heavy modules loaded: {heavy}")


# -- gradient flow + polish (copyavg.numeric.flow) ----------------------------------------------
FLOW_SIZE = (51, 50, 25)
FLOW_SEEDS = (0, 1, 2)
FLOW_TARGET_S = 5.0  # "flow+polish <= 5 s"
NAIVE_GRAD_TOL = 1e-10


class _NaiveCap(Exception):
    pass


def bench_flow_case(seed: int, naive_cap: float) -> dict:
    """One flow + polish at FLOW_SIZE from ``glorot_init(n, d, seed)``, beside SciPy's LSODA as one
    would call it naively: ``solve_ivp(method="LSODA")``, default tolerances, no Jacobian (so
    finite-difference Jacobians), a terminal event at max|grad| <= 1e-10, capped at ``naive_cap`` s."""
    from scipy.integrate import solve_ivp

    from copyavg.numeric.flow import flow_and_polish, glorot_init

    d, k, n = FLOW_SIZE
    P = Problem(np.ones(k), np.eye(k, d), "erf2")
    a0, W0 = glorot_init(n, d, np.random.default_rng(seed))
    t0 = time.perf_counter()
    r = flow_and_polish(P, a0, W0)
    wall = time.perf_counter() - t0
    row = {"seed": seed, "d": d, "k": k, "n": n, "wall_s": wall, "status": r.status,
           "loss": r.loss, "grad_max": r.grad_max, "flow_steps": r.flow.n_steps,
           "flow_rhs": r.flow.n_rhs, "flow_jac": r.flow.n_jac, "flow_lu": r.flow.n_lu,
           "flow_wall_s": r.flow.wall_time, "flow_t": r.flow.t_final,
           "flow_grad_max": r.flow.grad_max, "target_s": FLOW_TARGET_S,
           "meets_target": wall <= FLOW_TARGET_S and r.status == "converged"}
    if r.polish is not None:
        row.update(polish_iter=r.polish.n_iter, polish_grad=r.polish.n_grad,
                   polish_hess=r.polish.n_hess, polish_wall_s=r.polish.wall_time,
                   polish_distance=r.polish.distance)

    # naive LSODA
    calls = [0]
    start = time.perf_counter()

    def grad(y):
        calls[0] += 1
        if time.perf_counter() - start > naive_cap:
            raise _NaiveCap
        _, ga, gW = P.loss_and_gradient(y[:n], y[n:].reshape(n, d))
        return np.concatenate((ga, gW.ravel()))

    def event(t, y):
        return np.abs(grad(y)).max() - NAIVE_GRAD_TOL

    event.terminal = True
    y0 = np.concatenate((a0, W0.ravel()))
    try:
        sol = solve_ivp(lambda t, y: -grad(y), (0.0, 1e7), y0, method="LSODA", events=event)
        yf = sol.y[:, -1]
        naive_status = "converged" if sol.status == 1 else f"budget (solver status {sol.status})"
        naive_gm = float(np.abs(grad(yf)).max())
        naive_loss = P.loss(yf[:n], yf[n:].reshape(n, d))
    except _NaiveCap:
        naive_status, naive_gm, naive_loss = f"capped at {naive_cap:g} s", None, None
    row.update(naive_wall_s=time.perf_counter() - start, naive_grad_calls=calls[0],
               naive_status=naive_status, naive_grad_max=naive_gm, naive_loss=naive_loss)
    return row


def print_flow_rows(rows: list[dict]) -> None:
    d, k, n = FLOW_SIZE
    print(f"gradient flow + polish, erf2, (d,k,n) = ({d},{k},{n}), V = eye(k,d), b = 1, glorot_init(seed); "
          f"target: flow+polish <= {FLOW_TARGET_S:g} s")
    print(f"{'seed':>4} {'wall':>8} {'flow':>8} {'steps':>6} {'rhs':>6} {'jac':>5} {'lu':>5} "
          f"{'polish':>8} {'it':>3} {'loss':>18} {'grad_max':>9}  target")
    for r in rows:
        print(f"{r['seed']:>4} {fmt_time(r['wall_s']):>8} {fmt_time(r['flow_wall_s']):>8} {r['flow_steps']:>6} "
              f"{r['flow_rhs']:>6} {r['flow_jac']:>5} {r['flow_lu']:>5} {fmt_time(r.get('polish_wall_s')):>8} "
              f"{r.get('polish_iter', '-'):>3} {r['loss']:>18.15f} {r['grad_max']:>9.2e}  "
              f"<= {FLOW_TARGET_S:g} s {'OK' if r['meets_target'] else 'MISSED'} ({r['status']})")
    print(f"naive: solve_ivp(method='LSODA'), default tolerances, no Jacobian, to max|grad| <= {NAIVE_GRAD_TOL:g}:")
    for r in rows:
        gm = "-" if r["naive_grad_max"] is None else f"{r['naive_grad_max']:.2e}"
        print(f"{r['seed']:>4} {fmt_time(r['naive_wall_s']):>8}  gradient calls {r['naive_grad_calls']:>8}  "
              f"grad_max {gm:>9}  {r['naive_status']}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fast smoke run (tiny time budget)")
    ap.add_argument("--budget", type=float, default=None,
                    help="seconds per measurement (default 0.75; 0.02 with --quick)")
    ap.add_argument("--json", metavar="FILE", help="also write the figures to FILE as JSON")
    ap.add_argument("--no-flow", action="store_true", help="skip the gradient-flow timing")
    ap.add_argument("--import-runs", type=int, default=5,
                    help="fresh interpreters timed for `import copyavg.numeric` (default 5; 0 skips)")
    ap.add_argument("--naive-cap", type=float, default=None,
                    help="seconds allowed to the naive LSODA run (default 60; 2 with --quick)")
    args = ap.parse_args(argv)
    budget = args.budget if args.budget is not None else (0.02 if args.quick else 0.75)
    naive_cap = args.naive_cap if args.naive_cap is not None else (2.0 if args.quick else 60.0)

    env = environment()
    print_environment(env)
    print(f"budget {budget:g} s per figure; median/min are per call; reps = batches x calls; seed {SEED}")
    print()
    import_row = None
    if args.import_runs > 0:
        import_row = bench_import(args.import_runs)
        print_import(import_row)
        print()
    rows: list[dict] = []
    cases = [("erf2", s) for s in SIZES] + EXTRA
    for act, size in cases:
        new = bench_case(act, size, budget)
        rows.extend(new)
    print_rows(rows)
    flow_rows: list[dict] = []
    if not args.no_flow:
        print()
        for seed in FLOW_SEEDS[:1] if args.quick else FLOW_SEEDS:
            flow_rows.append(bench_flow_case(seed, naive_cap))
        print_flow_rows(flow_rows)
    env["loadavg_1min_end"] = loadavg()
    if env["loadavg_1min_end"] is not None:
        print(f"\nload average (1 min) at end: {env['loadavg_1min_end']:.2f}")

    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"environment": env, "budget_s": budget, "quick": args.quick,
                       "seed": SEED, "import": import_row, "results": rows, "flow": flow_rows}, fh, indent=2)
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
