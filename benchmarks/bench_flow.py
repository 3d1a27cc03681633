#!/usr/bin/env python
"""Speed and memory of gradient flow + polish at the paper's setting, by route.

    python benchmarks/bench_flow.py                          # all sizes (the 501 run takes long)
    python benchmarks/bench_flow.py --quick                  # (51, 50, 25), seed 0, LSODA cap 20 s
    python benchmarks/bench_flow.py --sizes 51,101 --seeds 0-9 --routes krylov,dense
    python benchmarks/bench_flow.py --json out.json

Sizes are given by ``d``; then ``k = d - 1`` and ``n = k // 2`` (the paper's ``d = k + 1``), with
the sweep's teacher ``b = 1``, ``V = eye(k, d)``, activation erf2, and the sweep's seeded Glorot
initial point (``copyavg.experiments.sweep.initial_point``). Routes:

    krylov   flow_and_polish(route="krylov"): matrix-free BDF + Newton-CG (no dense Hessian)
    dense    flow_and_polish(route="dense"): BDF with the dense Hessian + dense Newton polish
    lsoda    naive scipy LSODA (solve_ivp's solver) without Jacobian to max|grad| <= 1e-10,
             stopped at --lsoda-cap seconds (no polish)

Targets: max|dL/dtheta| <= 1e-12 (1e-10 at d = 501). Each run is a fresh subprocess (``os.wait4``
gives its peak resident memory, ``ru_maxrss``, which includes the interpreter with NumPy/SciPy,
about 60-80 MB); dense and LSODA are skipped at sizes where their N x N matrices do not fit
(``--max-dense-N``, default 20000: 3.2 GB). The end point is classified by
``copyavg.numeric.curvature.endpoint_curvature`` (dense inertia for N <= 3000, else Lanczos),
timed separately. ``time s`` is the wall time of flow + polish; ``CPU s`` the child's user + system
time after its imports (it includes the classification). Printed ratios: dense / krylov and lsoda / krylov median times, and median /
target for the targets (<= 1 meets them): 1 s at d = 51, 10 s and 300 MB at d = 101.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

TARGETS = {51: {"time": 1.0}, 101: {"time": 10.0, "rss_mb": 300.0}}


def _child(route: str, d: int, seed: int, cap: float, max_wall: float) -> dict:
    import numpy as np

    from copyavg.experiments.sweep import RunSpec, initial_point
    from copyavg.numeric import Problem
    from copyavg.numeric.flow import flow_and_polish
    from copyavg.numeric.curvature import endpoint_curvature

    k, n = d - 1, (d - 1) // 2
    P = Problem(np.ones(k), np.eye(k, d), "erf2")
    a0, W0 = initial_point(RunSpec("erf2", k, n, d, seed))
    tol = 1e-10 if d > 200 else 1e-12
    out = {"route": route, "d": d, "k": k, "n": n, "seed": seed}
    import resource

    ru = resource.getrusage(resource.RUSAGE_SELF)
    out["cpu_setup"] = ru.ru_utime + ru.ru_stime  # imports and set-up, not counted
    t0 = time.perf_counter()
    if route == "lsoda":
        from scipy.integrate import LSODA

        def fun(t, y):
            _, ga, gW = P.loss_and_gradient(y[:n], y[n:].reshape(n, d))
            return -np.concatenate((ga, gW.ravel()))

        with np.errstate(under="ignore"):
            s = LSODA(fun, 0.0, np.concatenate((a0, W0.ravel())), 1e7)
            gm, steps, status = float(np.abs(fun(0, s.y)).max()), 0, "budget"
            while s.status == "running":
                s.step()
                steps += 1
                gm = float(np.abs(fun(s.t, s.y)).max())
                if gm <= 1e-10:
                    status = "converged"
                    break
                if time.perf_counter() - t0 > cap:
                    status = f"capped at {cap:g} s"
                    break
        out.update(time=time.perf_counter() - t0, status=status, grad_max=gm, steps=steps, t_final=float(s.t),
                   loss=float(P.loss(s.y[:n], s.y[n:].reshape(n, d))))
        return out
    res = flow_and_polish(P, a0, W0, tol=tol, route=route, n_save=10, max_wall=max_wall)
    out.update(time=time.perf_counter() - t0, status=res.status, grad_max=res.grad_max, loss=res.loss,
               steps=res.flow.n_steps, t_final=res.flow.t_final, n_rhs=res.flow.n_rhs, n_jac=res.flow.n_jac,
               n_lu=res.flow.n_lu, n_hvp=res.flow.n_hvp, flow_time=res.flow.wall_time,
               polish_route=res.polish.route if res.polish else None)
    t1 = time.perf_counter()
    try:
        cls = endpoint_curvature(P, res.a, res.W)
        out.update(classification=cls["classification"], class_method=cls["method"], eig_min=cls["eig_min"],
                   eig_max=cls["eig_max"])
    except ValueError as exc:
        out.update(classification=f"failed: {exc}", class_method=None)
    out["class_time"] = time.perf_counter() - t1
    return out


def _run(route: str, d: int, seed: int, cap: float, max_wall: float) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    p = subprocess.Popen([sys.executable, __file__, "--child", route, str(d), str(seed), str(cap), str(max_wall)],
                         stdout=subprocess.PIPE, text=True, env=env)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = status
    if status != 0:
        return {"route": route, "d": d, "seed": seed, "status": f"child failed ({status})", "time": float("nan"),
                "cpu": float("nan"), "rss_mb": ru.ru_maxrss / 1024}
    rec = json.loads(out.strip().splitlines()[-1])
    rec["rss_mb"] = ru.ru_maxrss / 1024
    rec["cpu"] = ru.ru_utime + ru.ru_stime - rec.pop("cpu_setup")
    return rec


def _seeds(text: str) -> list[int]:
    if "-" in text:
        lo, hi = text.split("-")
        return list(range(int(lo), int(hi) + 1))
    return [int(s) for s in text.split(",")]


def _median(xs):
    xs = sorted(x for x in xs if x == x)
    if not xs:
        return float("nan")
    m = len(xs) // 2
    return xs[m] if len(xs) % 2 else 0.5 * (xs[m - 1] + xs[m])


def main(argv=None) -> int:
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "--child":
        route, d, seed, cap, wall = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
        print(json.dumps(_child(route, d, seed, cap, wall)))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="51,101,501", help="values of d (k = d - 1, n = k // 2)")
    ap.add_argument("--seeds", default=None, help="e.g. 0-9 or 0,3 (default: 0-2 at d <= 60, else 0)")
    ap.add_argument("--routes", default="krylov,dense,lsoda")
    ap.add_argument("--lsoda-cap", type=float, default=60.0, help="seconds per LSODA run")
    ap.add_argument("--max-wall", type=float, default=3600.0,
                    help="wall-clock budget of each flow (gradient_flow's max_wall), seconds")
    ap.add_argument("--max-dense-N", type=int, default=20000, help="skip dense/LSODA above this n + n d")
    ap.add_argument("--quick", action="store_true", help="d = 51, seed 0, LSODA cap 20 s")
    ap.add_argument("--json", default=None, help="write the records to this file")
    ap.add_argument("--cpu", action="store_true",
                    help="medians and ratios of the runs' CPU time (user + system, imports excluded) instead of "
                         "wall time: less sensitive to other jobs on a loaded machine")
    args = ap.parse_args(argv)
    if args.quick:
        args.sizes, args.seeds, args.lsoda_cap = "51", "0", 20.0
    sizes = [int(s) for s in args.sizes.split(",")]
    routes = args.routes.split(",")
    if any(r not in ("krylov", "dense", "lsoda") for r in routes) or any(d < 3 for d in sizes):
        ap.error("routes must be among krylov, dense, lsoda and sizes d >= 3")
    records = []
    print(f"{'d':>4} {'k':>4} {'n':>4} {'route':>7} {'seed':>4} {'time s':>8} {'CPU s':>8} {'RSS MB':>7} {'steps':>6} "
          f"{'max|grad|':>9} {'loss':>16}  status / endpoint")
    for d in sizes:
        k, n = d - 1, (d - 1) // 2
        N = n + n * d
        seeds = _seeds(args.seeds) if args.seeds else ([0, 1, 2] if d <= 60 else [0])
        for route in routes:
            if route != "krylov" and N > args.max_dense_N:
                gb = 8.0 * N * N / 1e9
                print(f"{d:>4} {k:>4} {n:>4} {route:>7}  skipped: N = n + n d = {N} > --max-dense-N "
                      f"{args.max_dense_N} (one N x N float64 matrix takes {gb:.2g} GB)")
                continue
            for seed in seeds:
                r = _run(route, d, seed, args.lsoda_cap, args.max_wall)
                records.append(r)
                ep = (f"{r.get('classification')} ({r.get('class_method')}, {r.get('class_time', 0):.2f} s)"
                      if "classification" in r else "")
                print(f"{d:>4} {k:>4} {n:>4} {route:>7} {seed:>4} {r['time']:>8.2f} {r['cpu']:>8.2f} {r['rss_mb']:>7.0f} "
                      f"{r.get('steps', 0):>6} {r.get('grad_max', float('nan')):>9.2g} {r.get('loss', float('nan')):>16.12f}"
                      f"  {r['status']} {ep}", flush=True)
        key = "cpu" if args.cpu else "time"
        med = {rt: _median([r[key] for r in records if r["d"] == d and r["route"] == rt]) for rt in routes}
        rss = {rt: max([r["rss_mb"] for r in records if r["d"] == d and r["route"] == rt], default=float("nan"))
               for rt in routes}
        line = [f"d = {d}: median {'CPU ' if args.cpu else ''}time " + ", ".join(f"{rt} {med[rt]:.2f} s" for rt in routes),
                "peak RSS " + ", ".join(f"{rt} {rss[rt]:.0f} MB" for rt in routes)]
        if "krylov" in routes:
            for rt in routes:
                if rt != "krylov" and med[rt] == med[rt]:
                    line.append(f"{rt}/krylov {med[rt] / med['krylov']:.1f}x")
            tgt = TARGETS.get(d, {})
            if "time" in tgt:
                line.append(f"krylov median / {tgt['time']:g} s target = {med['krylov'] / tgt['time']:.2f}")
            if "rss_mb" in tgt:
                line.append(f"krylov RSS / {tgt['rss_mb']:g} MB target = {rss['krylov'] / tgt['rss_mb']:.2f}")
        print("   " + "; ".join(line), flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(records, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
