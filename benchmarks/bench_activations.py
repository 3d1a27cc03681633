#!/usr/bin/env python
"""Loss+gradient time of a quadrature-based activation against the closed-form erf2.

    python benchmarks/bench_activations.py             # (d, k, n) = (51, 50, 25), tanh vs erf2
    python benchmarks/bench_activations.py --act silu --budget 2
    python benchmarks/bench_activations.py --matrices  # also the route through the kernel matrices

At the paper's setting (``V = eye(k, d)``, ``b = 1``, ``W ~ N(0, 2/(d+n))``, ``a ~ N(0, 2/(n+1))``,
rescaled so that every ``|w_i|`` lies within the activation's accepted norm) it times
``Problem.loss_and_gradient`` with the teacher cached and a new student every call (W scaled by
``1 + 1e-12 j``, so nothing of the student is cached), as the median per-call time over batches
(the activations' batches interleaved), and prints the ratio (target: <= 5). Timings on a
loaded machine are inflated; the ratio is less affected. ``--matrices`` times, in the same run,
the quadrature family's earlier route as well: the kernel matrices ``g, g1, g3`` of all pairs
(``_series_fast.fast_pairs``) fed to the erf family's fast path, instead of its own
``numeric/_series_grad.py``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from copyavg.numeric import Problem, get_activation

SEED = 20231210


class _MatricesOnly:
    """The kernel matrices ``(g, g1, g3)`` of ``Grad1`` without its own loss-and-gradient route."""

    def __init__(self, grad1):
        self.grad1 = grad1

    def __call__(self, *args):
        return self.grad1(*args)


def point(d, k, n, max_norm):
    rng = np.random.default_rng(SEED)
    a = rng.normal(0, np.sqrt(2 / (n + 1)), n)
    W = rng.normal(0, np.sqrt(2 / (d + n)), (n, d))
    norms = np.linalg.norm(W, axis=1)
    W *= np.minimum(1.0, 0.95 * max_norm / norms)[:, None]
    return a, W, np.ones(k), np.eye(k, d)


def per_call(fns, budget):
    """Median per-call time of each function, batches of the functions interleaved (a load that
    changes during the run affects them alike)."""
    reps = []
    for fn in fns:
        fn()  # warm-up (caches, compilation)
        t0 = time.perf_counter()
        fn()
        reps.append(max(1, int(budget / 10 / max(time.perf_counter() - t0, 1e-7))))
    times = [[] for _ in fns]
    for _ in range(10):
        for j, fn in enumerate(fns):
            t0 = time.perf_counter()
            for _ in range(reps[j]):
                fn()
            times[j].append((time.perf_counter() - t0) / reps[j])
    return [float(np.median(t)) for t in times], reps


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--act", default="tanh", help="quadrature activation (default: tanh)")
    ap.add_argument("--size", default="51,50,25", help="d,k,n (default: 51,50,25)")
    ap.add_argument("--budget", type=float, default=1.0, help="seconds per figure (default: 1)")
    ap.add_argument("--matrices", action="store_true",
                    help="also time the route through the kernel matrices (quadrature family)")
    args = ap.parse_args(argv)
    d, k, n = (int(x) for x in args.size.split(","))
    act = get_activation(args.act)
    a, W, b, V = point(d, k, n, act.params.get("max_norm", np.inf))
    names = [args.act, "erf2"]
    if args.matrices and act.family == "quadrature":
        names.append(args.act + "[matrices]")
    calls = []
    for name in names:
        P = Problem(b, V, name.split("[")[0])
        if name.endswith("[matrices]"):
            P._grad1 = _MatricesOnly(P._grad1)
        count = [0]

        def call(P=P, count=count):  # a new student each call (relative change 1e-12): no per-value cache hits
            count[0] += 1
            return P.loss_and_gradient(a, W * (1.0 + 1e-12 * count[0]))

        calls.append(call)
    med, reps = per_call(calls, args.budget)
    out = dict(zip(names, med))
    for name, r in zip(out, reps):
        print(f"{name:>10}  loss+grad  {out[name] * 1e6:9.1f} us  ({r} calls per batch)")
    ratio = out[args.act] / out["erf2"]
    print(f"ratio {args.act}/erf2 = {ratio:.1f} (target <= 5; kernel {'exact' if act.exact else 'quadrature'}); "
          "timings inflated when the machine is loaded")
    if len(names) > 2:
        print(f"ratio {names[2]}/erf2 = {out[names[2]] / out['erf2']:.1f} (the kernel matrices of all pairs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
