"""Many gradient-flow runs, one JSON line per finished run, resumable.

A run is keyed by ``(activation, k, n, d, seed)``. Results are appended to a JSONL file by the
parent process only, one ``os.write`` of a complete line followed by ``fsync``, so a run is either
wholly in the file or not at all; on restart a torn last line (killed mid-write) is cut off and every
finished key is skipped, so nothing is lost or repeated. Runs execute on a local process pool by
default or on a Dask distributed cluster (``scheduler`` address, or a ``distributed.Client``).

Initialisation (the paper's Glorot normal): ``W_ij ~ N(0, 2/(d + n))``, ``a_i ~ N(0, 2/(n + 1))``,
drawn from ``numpy.random.default_rng([seed, k, n, d])``; teacher ``v_j = e_j`` in ``R^d``,
``b_j = 1``; ``d = k + 1`` unless given.
"""

from __future__ import annotations

import json
import os
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RunSpec:
    activation: str
    k: int
    n: int
    d: int
    seed: int

    @property
    def key(self) -> tuple:
        return (self.activation, self.k, self.n, self.d, self.seed)


def parse_range(text: str, upper: int | None = None) -> list[int]:
    """"1..50", "10,20,25" or "1..10,25" -> sorted list of ints."""
    out = set()
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        if ".." in part:
            lo, hi = part.split("..", 1)
            lo, hi = int(lo), int(hi)
            if hi < lo:
                raise ValueError(f"empty range {part!r}")
            out.update(range(lo, hi + 1))
        else:
            out.add(int(part))
    if not out:
        raise ValueError(f"no values in {text!r}")
    if min(out) < 1 or (upper is not None and max(out) > upper):
        raise ValueError(f"values must lie in 1..{upper}, got {text!r}")
    return sorted(out)


def initial_point(spec: "RunSpec"):
    """The seeded Glorot-normal initial point of a run (``copyavg.numeric.flow.glorot_init``)."""
    from copyavg.numeric.flow import glorot_init

    return glorot_init(spec.n, spec.d, np.random.default_rng([spec.seed, spec.k, spec.n, spec.d]))


def run_one(spec: RunSpec, flow_options: dict | None = None) -> dict:
    """One flow + polish from the seeded initialisation; returns the JSON record."""
    from copyavg.numeric import NonDifferentiableError, Problem
    from copyavg.numeric.endpoints import classify_endpoint
    from copyavg.numeric.flow import flow_and_polish

    t0 = time.perf_counter()
    prob = Problem(np.ones(spec.k), np.eye(spec.k, spec.d), spec.activation)
    a0, W0 = initial_point(spec)
    try:
        res = flow_and_polish(prob, a0, W0, **(flow_options or {}))
    except NonDifferentiableError as exc:  # a ReLU neuron with a_i != 0 at the kink w_i = 0
        return {"activation": spec.activation, "k": spec.k, "n": spec.n, "d": spec.d, "seed": spec.seed,
                "loss": None, "grad_max": None, "status": "nondifferentiable", "message": str(exc),
                "endpoint": "other", "partition": None, "distance": None,
                "time_s": time.perf_counter() - t0, "curve_t": [], "curve_loss": []}
    try:
        ep = classify_endpoint(res.a, res.W, spec.k, spec.activation)
        kind, partition, distance, note = ep.kind, ep.partition, ep.distance, None
    except (ValueError, FloatingPointError, np.linalg.LinAlgError) as exc:
        # the run is finished: keep it (as "other", with the reason) rather than lose it
        kind, partition, distance, note = "other", None, None, f"classification failed: {exc}"
    traj = res.flow
    return {
        "activation": spec.activation, "k": spec.k, "n": spec.n, "d": spec.d, "seed": spec.seed,
        "loss": float(res.loss), "grad_max": float(res.grad_max), "status": res.status,
        "endpoint": kind, "partition": list(partition) if partition else None,
        "distance": distance, "time_s": time.perf_counter() - t0,
        "message": "; ".join(m for m in (None if res.status == "converged" else res.message, note) if m) or None,
        "curve_t": [float(x) for x in traj.t], "curve_loss": [float(x) for x in traj.losses],
        "a": [float(x) for x in res.a], "W": [[float(x) for x in row] for row in res.W],
    }


def read_results(path) -> tuple[list[dict], int]:
    """Parse a results file; returns (records, byte offset after the last complete line)."""
    if not os.path.exists(path):
        return [], 0
    with open(path, "rb") as fh:
        data = fh.read()
    records, good = [], 0
    pos = 0
    while pos < len(data):
        end = data.find(b"\n", pos)
        if end < 0:
            break  # torn last line
        line = data[pos:end]
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            break
        pos = end + 1
        good = pos
    return records, good


def _append(path, record: dict) -> None:
    line = (json.dumps(record) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


def pending_specs(specs, path) -> list[RunSpec]:
    records, good = read_results(path)
    if os.path.exists(path) and good < os.path.getsize(path):
        with open(path, "r+b") as fh:  # cut a torn last line left by a kill mid-write
            fh.truncate(good)
    done = {(r["activation"], r["k"], r["n"], r["d"], r["seed"]) for r in records}
    return [s for s in specs if s.key not in done]


def _progress(total: int, done: int, t0: float, quiet: bool) -> None:
    if quiet:
        return
    width = 30
    frac = done / total if total else 1.0
    bar = "#" * int(width * frac) + "-" * (width - int(width * frac))
    el = time.perf_counter() - t0
    eta = el / done * (total - done) if done else float("nan")
    sys.stderr.write(f"\r[{bar}] {done}/{total} runs  {el:6.0f} s elapsed  eta {eta:6.0f} s")
    sys.stderr.flush()
    if done == total:
        sys.stderr.write("\n")


def _limit_blas_threads(n_threads: int) -> None:
    """Process-pool initializer: cap the BLAS/OpenMP pools so workers do not oversubscribe the cores.

    NumPy is already imported when the pool forks, so environment variables would come too late;
    threadpoolctl changes the limits of the loaded libraries at run time.
    """
    from threadpoolctl import threadpool_limits

    global _BLAS_LIMIT
    _BLAS_LIMIT = threadpool_limits(limits=n_threads)


_BLAS_LIMIT = None


def sweep(specs, out, *, workers: int | None = None, scheduler=None, flow_options=None,
          quiet: bool = False, keep_weights: bool = True) -> int:
    """Run every spec not yet in ``out``; append each result as it finishes. Returns runs done.

    ``keep_weights=False`` leaves the endpoint weights ``a``, ``W`` out of the records (everything
    the table and figures need stays; the file stays small enough to commit for large n).
    """
    def store(record):
        if not keep_weights:
            record.pop("a", None)
            record.pop("W", None)
        _append(out, record)

    todo = pending_specs(list(specs), out)
    total = len(todo)
    t0 = time.perf_counter()
    _progress(total, 0, t0, quiet)
    if not todo:
        return 0
    if scheduler is not None:
        return _sweep_dask(todo, store, scheduler, flow_options, t0, quiet)
    done = 0
    cores = os.cpu_count() or 1
    workers = workers or cores
    with ProcessPoolExecutor(max_workers=workers, initializer=_limit_blas_threads,
                             initargs=(max(1, cores // workers),)) as ex:
        futures = {ex.submit(run_one, s, flow_options): s for s in todo}
        try:
            remaining = set(futures)
            while remaining:
                finished, remaining = wait(remaining, return_when=FIRST_COMPLETED)
                for f in finished:
                    store(f.result())
                    done += 1
                    _progress(total, done, t0, quiet)
        except KeyboardInterrupt:
            for f in futures:
                f.cancel()
            raise
    return done


def _sweep_dask(todo, store, scheduler, flow_options, t0, quiet) -> int:
    from distributed import Client, as_completed

    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    try:
        futures = [client.submit(run_one, s, flow_options, pure=False) for s in todo]
        done = 0
        for f in as_completed(futures):
            store(f.result())
            done += 1
            _progress(len(todo), done, t0, quiet)
        return done
    finally:
        if client is not scheduler:
            client.close()
