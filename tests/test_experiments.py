"""Experiments: flow endpoints at (6, 5, 2), sweeps (Dask, without weights), plots.

The store itself (kills, concurrent sweeps, faults, signals) is tested in test_store.py.
"""

import json
import os
from collections import Counter

import numpy as np
import pytest

from copyavg.experiments.store import read_results
from copyavg.experiments.sweep import RunSpec, run_one, sweep
from copyavg.numeric.one_neuron import one_neuron


def test_twenty_seeds_end_at_classified_critical_points():
    """Acceptance: (d, k, n) = (6, 5, 2), 20 seeds: max|grad| <= 1e-12, every endpoint classified,
    ca-optimal losses equal L*(k - n + 1) (closed form, proved) to 1e-12."""
    lstar = one_neuron("erf2", 5 - 2 + 1)["loss"]
    kinds = Counter()
    for seed in range(20):
        r = run_one(RunSpec("erf2", 5, 2, 6, seed))
        assert r["status"] == "converged" and r["grad_max"] <= 1e-12, r
        assert r["endpoint"] in {"ca-optimal", "ca", "pnc", "other"}
        kinds[r["endpoint"]] += 1
        if r["endpoint"] == "ca-optimal":
            assert abs(r["loss"] - lstar) <= 1e-12
    assert kinds["ca-optimal"] > 0


def test_sweep_on_dask_local_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    out = str(tmp_path / "dask.sqlite")
    specs = [RunSpec("erf2", 3, n, 4, s) for n in (1, 2) for s in range(2)]
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        assert sweep(specs, out, scheduler=client, quiet=True) == 4
        assert sweep(specs, out, scheduler=client, quiet=True) == 0  # resumed: all done
    assert sorted((r["n"], r["seed"]) for r in read_results(out)) == [(1, 0), (1, 1), (2, 0), (2, 1)]


def test_plot_writes_figures_and_table(tmp_path):
    out = str(tmp_path / "r.sqlite")
    sweep([RunSpec("erf2", 4, n, 5, s) for n in (1, 2, 3) for s in range(2)], out, workers=1, quiet=True)
    from copyavg.cli.main import main as cli

    assert cli(["plot", out, "--out", str(tmp_path / "fig"), "--quiet"]) == 0
    names = set(os.listdir(tmp_path / "fig"))
    for stem in ("loss_vs_n_erf2_k4", "endpoint_fractions_erf2_k4", "loss_curves_erf2_k4", "thresholds_erf2_k4"):
        for ext in ("png", "svg"):
            assert f"{stem}.{ext}" in names and os.path.getsize(tmp_path / "fig" / f"{stem}.{ext}") > 1000
    table = (tmp_path / "fig" / "endpoint_fractions.md").read_text()
    assert "| erf2 | 4 | 2 |" in table


def test_table_and_plots_keep_runs_without_a_loss(tmp_path):
    """A non-differentiable run (loss None) is counted in the table, not dropped or turned into NaN."""
    from copyavg.experiments.plot import markdown_fractions, plot_results

    out = tmp_path / "r.jsonl"
    base = {"activation": "relu", "k": 3, "d": 4, "partition": None, "distance": None, "time_s": 0.1,
            "curve_t": [0.0, 1.0], "curve_loss": [1.0, 0.5]}
    recs = [dict(base, n=2, seed=0, loss=None, grad_max=None, status="nondifferentiable", endpoint="other"),
            dict(base, n=2, seed=1, loss=0.25, grad_max=1e-13, status="converged", endpoint="near-ca-optimal")]
    out.write_text("".join(json.dumps(r) + "\n" for r in recs))
    table = markdown_fractions(str(out))
    row = [line for line in table.splitlines() if line.startswith("| relu | 3 | 2 |")][0]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[4] == "2" and cells[-1] == "0.25"  # two runs; the mean is over the converged one
    assert cells[-2] == "0.50"  # one of two did not converge
    assert "0.50" in cells[5:-2]  # near-ca-optimal is a column of its own
    assert plot_results(str(out), str(tmp_path / "fig"))


def test_flow_cli_json_keys(capsys):
    from copyavg.cli.main import main as cli

    assert cli(["flow", "--k", "3", "--n", "2", "--seed", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"loss", "grad_max", "endpoint", "partition", "time_s"}


def test_pool_workers_cap_blas_threads():
    """The process-pool initializer caps every loaded BLAS pool (no oversubscription on 2 cores)."""
    from threadpoolctl import threadpool_info

    from copyavg.experiments import sweep as sweep_mod

    sweep_mod._limit_blas_threads(1)
    try:
        blas = [p for p in threadpool_info() if p["user_api"] == "blas"]
        assert blas and all(p["num_threads"] == 1 for p in blas)
    finally:
        sweep_mod._BLAS_LIMIT.restore_original_limits()


def test_worker_blas_threads_never_exceed_the_users_cap(monkeypatch):
    """Cores are shared among the workers, and an explicit OMP/OPENBLAS/MKL_NUM_THREADS is a ceiling."""
    from copyavg.experiments import sweep as sweep_mod

    for name in sweep_mod._THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert sweep_mod._blas_threads(8, 2) == 4 and sweep_mod._blas_threads(2, 4) == 1
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    assert sweep_mod._blas_threads(2, 1) == 1
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "junk")  # not a count: ignored
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert sweep_mod._blas_threads(8, 1) == 3


def test_sweep_without_weights_keeps_everything_else(tmp_path):
    out = str(tmp_path / "r.sqlite")
    specs = [RunSpec("erf2", 3, 1, 4, s) for s in range(2)]
    assert sweep(specs, out, workers=1, quiet=True, keep_weights=False) == 2
    recs = read_results(out)
    assert all("W" not in r and "a" not in r for r in recs)
    assert all(r["grad_max"] <= 1e-12 and r["endpoint"] == "ca-optimal" and r["curve_loss"] for r in recs)
    assert sweep(specs, out, workers=1, quiet=True, keep_weights=False) == 0  # still resumable


def test_failed_classification_keeps_the_run(tmp_path, monkeypatch):
    """A finished flow whose classification raises is recorded (as "other", with the reason)."""
    import copyavg.numeric.endpoints as endpoints

    def broken(*args, **kwargs):
        raise ValueError("no reference point")

    monkeypatch.setattr(endpoints, "classify_endpoint", broken)
    out = str(tmp_path / "r.sqlite")
    assert sweep([RunSpec("erf2", 3, 1, 4, 0)], out, workers=1, quiet=True) == 1
    (r,) = read_results(out)
    assert r["endpoint"] == "other" and "no reference point" in r["message"] and r["grad_max"] <= 1e-12


def test_relu_averaging_neuron_with_negative_weights_is_near_ca():
    """ReLU: an averaging neuron that is negative on the copied directions still averages the rest."""
    from copyavg.numeric.endpoints import classify_endpoint

    k, d = 6, 7
    W = np.zeros((3, d))
    W[0, 0], W[1, 1] = 2.0, 1.9                  # two near-copies (small leaks onto the others)
    W[0, 2:k] = W[1, 2:k] = 0.1
    W[2, 2:k], W[2, :2] = 0.55, -0.85            # average of teachers 2..5, negative on 0 and 1
    ep = classify_endpoint(np.array([1.3, 1.4, 1.5]), W, k, "relu")
    assert ep.kind == "near-ca-optimal" and ep.partition == (4, 1, 1)
    # for an odd activation the negative weights count: the groups overlap, it is not near-CA
    assert classify_endpoint(np.array([1.3, 1.4, 1.5]), W, k, "linear").kind == "other"


def test_dying_relu_is_reported_as_nondifferentiable():
    """k = 10, n = 3, seed 2: a neuron with a < 0 is driven to w = 0 in finite time (the kink)."""
    r = run_one(RunSpec("relu", 10, 3, 11, 2))
    assert r["status"] == "nondifferentiable"
    assert "reached w = 0" in r["message"] or "not differentiable" in r["message"]


def test_plot_cli_without_thresholds(tmp_path):
    out = str(tmp_path / "r.sqlite")
    sweep([RunSpec("erf2", 3, n, 4, 0) for n in (1, 2)], out, workers=1, quiet=True)
    from copyavg.cli.main import main as cli

    assert cli(["plot", out, "--out", str(tmp_path / "fig"), "--no-thresholds", "--quiet"]) == 0
    names = set(os.listdir(tmp_path / "fig"))
    assert "loss_vs_n_erf2_k3.png" in names and not any(x.startswith("thresholds") for x in names)


def test_sweep_cli_no_weights(tmp_path):
    from copyavg.cli.main import main as cli

    out = str(tmp_path / "r.sqlite")
    assert cli(["sweep", "--k", "3", "--n", "1..2", "--seeds", "1", "--out", out, "--workers", "1",
                "--no-weights", "--quiet"]) == 0
    recs = read_results(out)
    assert sorted(r["n"] for r in recs) == [1, 2] and all("W" not in r for r in recs)


def test_figures_are_reproducible_byte_for_byte(tmp_path):
    """Committed figures: the same results must give identical files (no date, fixed SVG ids)."""
    from copyavg.experiments.plot import plot_results

    out = str(tmp_path / "r.sqlite")
    sweep([RunSpec("erf2", 3, n, 4, 0) for n in (1, 2)], out, workers=1, quiet=True)
    first = plot_results(out, str(tmp_path / "a"), thresholds=False)
    second = plot_results(out, str(tmp_path / "b"), thresholds=False)
    for p, q in zip(first, second):
        with open(p, "rb") as f1, open(q, "rb") as f2:
            assert f1.read() == f2.read(), os.path.basename(p)


def test_a_run_has_no_wall_clock_budget_and_keeps_its_store_key(monkeypatch):
    """A sweep record must not depend on the machine's load: run_one gives the flow no wall-clock
    budget (only the deterministic t_max and max_steps), unless the flow options ask for one, and
    doing so leaves the default runs' flow hash (their store key) as it was."""
    import copyavg.numeric.flow as flow
    from copyavg.experiments.store import flow_hash

    default = {}
    before = flow_hash(default)
    seen = []
    real = flow.flow_and_polish

    def spy(*args, **kwargs):
        seen.append(kwargs.get("max_wall"))
        return real(*args, **kwargs)

    monkeypatch.setattr(flow, "flow_and_polish", spy)
    run_one(RunSpec("erf2", 3, 1, 4, 0), default)
    run_one(RunSpec("erf2", 3, 1, 4, 0), {"max_wall": 50.0})
    assert seen == [float("inf"), 50.0]
    assert default == {} and flow_hash(default) == before == flow_hash(None)
