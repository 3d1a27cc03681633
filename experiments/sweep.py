"""Many gradient-flow runs, one row per finished run in an SQLite store, resumable.

A run is keyed by ``(activation, k, n, d, seed)`` and the hash of its flow options
(``copyavg.experiments.store``). The parent process is the only writer: each result is stored in
its own transaction as it comes back, so a run is either wholly stored or not at all; a restarted
(or a concurrent) sweep skips every key already stored. Runs execute on a local process pool by
default (workers die with the parent) or on a Dask distributed cluster (``scheduler`` address, or a
``distributed.Client``).

What one run does (its seeded start, the fixed-second-layer and custom-teacher options, the
endpoint record) is in ``copyavg.experiments.runs``; its names are re-exported here.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

from .runs import (  # noqa: F401 - re-exported: the run-level API of a sweep
    CRITICAL_GRAD,
    MAX_DENSE_HESSIAN,
    MAX_K,
    MAX_RUNS,
    MAX_SEEDS,
    RUN_OPTIONS,
    RunSpec,
    endpoint_hessian,
    initial_point,
    kernel_kind,
    parse_range,
    run_one,
    sweep_specs,
)


def _limit_blas_threads(n_threads: int) -> None:
    """Process-pool initializer: cap the BLAS/OpenMP pools so workers do not oversubscribe the cores.

    NumPy is already imported when the pool forks, so environment variables would come too late;
    threadpoolctl changes the limits of the loaded libraries at run time.
    """
    from threadpoolctl import threadpool_limits

    global _BLAS_LIMIT
    _BLAS_LIMIT = threadpool_limits(limits=n_threads)


_BLAS_LIMIT = None
#: environment variables by which a user caps the BLAS/OpenMP pools; a sweep never raises that cap
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _blas_threads(cores: int, workers: int) -> int:
    """BLAS threads per worker: the cores shared among the workers, at most the user's own cap."""
    share = max(1, cores // workers)
    for name in _THREAD_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) >= 1:
            share = min(share, int(value))
    return share


class SweepError(Exception):
    """A sweep that cannot go on (scheduler unreachable, a run raised); the message is one line."""


class SweepInterrupted(Exception):
    """SIGINT or SIGTERM arrived; every run finished before it is stored (``stored`` of them)."""

    def __init__(self, signum: int, stored: int):
        self.signum, self.stored = signum, stored
        super().__init__(f"interrupted by {signal.Signals(signum).name}; {stored} runs of this sweep stored")


class _StopOnSignal:
    """SIGINT/SIGTERM only set a flag (main thread only), so a store write is never cut short;
    the sweep loop polls ``signum`` between results and stops the pool itself. SIGXFSZ is ignored."""

    def __init__(self):
        self.signum, self._old = None, {}

    def _handler(self, signum, frame):
        self.signum = signum

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handler)
            if hasattr(signal, "SIGXFSZ"):  # over a file-size limit: a write error (EFBIG), not a kill
                self._old[signal.SIGXFSZ] = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        return self

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)


class _Writer:
    """The one writer of a sweep: stores each result in its own transaction, counts, shows progress."""

    def __init__(self, store, flow_options, keep_weights: bool, total: int, quiet: bool):
        self.store, self.flow_options, self.keep_weights = store, flow_options, keep_weights
        self.total, self.quiet = total, quiet
        self.stored = self.already = 0
        self.bar = None

    def start_bar(self) -> None:
        """Called once the pool has forked: no tqdm monitor thread is copied into the workers."""
        from tqdm import tqdm

        self.bar = tqdm(total=self.total, initial=self.already, unit="run", disable=self.quiet, file=sys.stderr,
                        dynamic_ncols=True)

    def put(self, record: dict) -> None:
        from .store import StoreError

        if not self.keep_weights:
            record.pop("a", None)
            record.pop("W", None)
        try:
            new = self.store.insert(record, self.flow_options)
        except StoreError as exc:
            raise StoreError(f"after {self.stored} runs of this sweep were stored: {exc}") from None
        self.stored += new
        self.already += not new
        if self.bar is not None:
            self.bar.update(1)
            if self.already:
                self.bar.set_postfix(already_stored=self.already, refresh=False)

    def stored_elsewhere(self, spec) -> bool:
        """True (and counted as already stored) when another sweep has stored ``spec`` meanwhile."""
        if not self.store.has(spec.key, self.flow_options):
            return False
        self.already += 1
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(already_stored=self.already, refresh=False)
        return True

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def sweep(specs, out, *, workers: int | None = None, scheduler=None, flow_options=None,
          quiet: bool = False, keep_weights: bool = True, teacher=None) -> int:
    """Run every spec not yet in the store ``out`` (same flow options); store each result as it
    finishes, one transaction per run. Returns the runs this call stored.

    The store is opened and written before the first run (an unwritable target fails at once).
    Runs another sweep stores first are skipped on insert (``INSERT OR IGNORE``), so sweeps on one
    store may overlap. SIGINT/SIGTERM stop the runs, store what has finished and raise
    :class:`SweepInterrupted`; a failing store raises ``StoreError`` saying how many were stored.
    ``keep_weights=False`` leaves the endpoint weights ``a``, ``W`` out of the records.
    ``teacher``: a ``copyavg.experiments.teacher.Teacher`` (None: unit-orthonormal); its
    ``store_options`` join the flow options that key the store.
    """
    from .store import open_store

    if teacher is not None:
        flow_options = {**(flow_options or {}), **teacher.store_options()} or None

    with _StopOnSignal() as stop:
        with open_store(out) as st:
            todo = st.pending(list(specs), flow_options)
        stored = 0
        if todo and stop.signum is None:
            with open_store(out) as st:  # opened again: no connection is open while the pool forks
                writer = _Writer(st, flow_options, keep_weights, len(todo), quiet)
                try:
                    if scheduler is not None:
                        _sweep_dask(todo, writer, scheduler, flow_options, stop, teacher)
                    else:
                        _sweep_local(todo, writer, workers, flow_options, stop, teacher)
                finally:
                    writer.close()
                stored = writer.stored
        if stop.signum is not None:
            raise SweepInterrupted(stop.signum, stored)
    return stored


def _sweep_local(todo, writer, workers, flow_options, stop, teacher=None) -> None:
    """Runs on a local process pool, at most two per worker in flight; a run that another sweep
    has stored in the meantime is skipped before it starts (concurrent sweeps share the work)."""
    cores = os.cpu_count() or 1
    workers = min(workers or cores, len(todo))
    ctx = multiprocessing.get_context()
    parent = os.getpid() if ctx.get_start_method() == "fork" else None
    ex = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                             initargs=(_blas_threads(cores, workers), parent))
    queue, running = iter(todo), {}

    def refill():
        for spec in queue:
            if writer.stored_elsewhere(spec):
                continue
            running[ex.submit(run_one, spec, flow_options, teacher)] = spec
            if len(running) >= 2 * workers:
                return

    try:
        refill()
        writer.start_bar()
        while running and stop.signum is None:
            finished, _ = wait(running, timeout=0.2, return_when=FIRST_COMPLETED)
            for f in finished:
                writer.put(_result(f, running.pop(f)))
            refill()
        for f in running:  # interrupted: keep what has finished meanwhile
            if f.done() and not f.cancelled() and f.exception() is None:
                writer.put(f.result())
    finally:
        _stop_pool(ex)


def _result(future, spec):
    try:
        return future.result()
    except Exception as exc:  # a worker died (BrokenProcessPool) or run_one raised: name the run
        raise SweepError(f"run {spec.key} failed: {type(exc).__name__}: {exc}") from None


def _stop_pool(ex) -> None:
    """Cancel queued runs and end the workers now (a running flow can take minutes)."""
    procs = list((getattr(ex, "_processes", None) or {}).values())  # no public API to stop a running task
    ex.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(5)


def _init_worker(n_threads: int, parent: int | None) -> None:
    """Pool initializer: die with the parent, leave Ctrl-C to the parent, cap BLAS threads."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # the parent stops the pool itself
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent's flag handler (inherited by fork)
    _die_with_parent(parent)
    _limit_blas_threads(n_threads)


def _die_with_parent(parent: int | None) -> None:
    """Linux: ``prctl(PR_SET_PDEATHSIG, SIGKILL)``; everywhere: a thread polling ``os.getppid()``."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    ppid = os.getppid()
    if parent is not None and ppid != parent:  # the parent died before prctl took effect
        os._exit(1)

    def watch():
        while os.getppid() == ppid:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="copyavg-parent-watch", daemon=True).start()


def _connect(scheduler):
    from distributed import Client

    if isinstance(scheduler, Client):
        return scheduler
    try:
        return Client(scheduler, timeout=CONNECT_TIMEOUT_S)
    except Exception as exc:  # OSError/TimeoutError from the comm layer, ValueError for a bad address
        raise SweepError(f"cannot reach Dask scheduler {scheduler!r} within {CONNECT_TIMEOUT_S} s: "
                         f"{' '.join(str(exc).split()) or type(exc).__name__}") from None


CONNECT_TIMEOUT_S = 5


def _sweep_dask(todo, writer, scheduler, flow_options, stop, teacher=None) -> None:
    """Runs on Dask workers; results come back here, the only writer of the store."""
    from distributed import as_completed

    client = _connect(scheduler)
    try:
        futures = {client.submit(run_one, s, flow_options, teacher, pure=False): s for s in todo}
        writer.start_bar()
        done = as_completed(futures)
        while not done.is_empty() and stop.signum is None:
            batch = done.next_batch(block=False)
            if not batch:
                time.sleep(0.1)
            for f in batch:
                writer.put(_result(f, futures[f]))
        if stop.signum is not None:
            client.cancel(list(futures))
    finally:
        if client is not scheduler:
            client.close()
