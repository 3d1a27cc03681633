"""The committed sweep (docs/results/erf2_k50.jsonl: erf2, k = 50, d = 51, n = 1..49, 20 seeds)
is reproduced run by run: ``run_one`` from the same seeded start reaches the same end-point type at
the same loss.

This is a regression check of the speed work on the flow (Hessian-vector products, the Krylov BDF
solves, the P-n-C reference of the classifier): the committed records were made by earlier builds,
so an end point that moves to another critical point, or a classification that changes, fails it.
Loss tolerance 1e-12: both ends are polished to ``max|dL/dtheta| <= 1e-12`` at an isolated (up to
symmetry) critical point with curvature of order 1e-3 or more, so the same point gives the same
loss to ~1e-14 (rounding of the float64 loss at L ~ 0.4); the distinct critical points of these
runs differ in loss by more than 1e-3 (e.g. 0.406576 against 0.390099 at n = 25).
"""

import json
from functools import lru_cache
from pathlib import Path

import pytest

from copyavg.experiments.sweep import RunSpec, run_one

RESULTS = Path(__file__).resolve().parents[1] / "docs/results/erf2_k50.jsonl"


@lru_cache(maxsize=1)
def _committed() -> dict:
    out = {}
    with open(RESULTS) as fh:
        for line in fh:
            rec = json.loads(line)
            out[(rec["n"], rec["seed"])] = rec
    return out


def _check(n: int, seed: int) -> None:
    ref = _committed()[(n, seed)]
    rec = run_one(RunSpec("erf2", 50, n, 51, seed))
    assert rec["status"] == ref["status"] == "converged"
    assert rec["grad_max"] <= 1e-12
    assert rec["endpoint"] == ref["endpoint"], (n, seed)
    assert rec["partition"] == ref["partition"], (n, seed)
    assert abs(rec["loss"] - ref["loss"]) <= 1e-12, (n, seed, rec["loss"], ref["loss"])  # see module docstring
    assert rec["hessian_type"] == "minimum"  # every committed end point is a polished minimum


# cheap (about 2 s together): the dense route at n = 5 (a CA point) and the matrix-free route at
# n = 25 (a P-n-C point, with the classifier's P-n-C reference solve)
@pytest.mark.parametrize("n,seed", [(5, 0), (25, 1)])
def test_sweep_run_reproduces_committed_endpoint(n, seed):
    _check(n, seed)


# both end-point types where they coexist (n = 23..28), the dense/matrix-free boundary (n = 13, 14)
# and the wide end; minutes in all
HEAVY = [(1, 3), (13, 2), (14, 7), (17, 0), (23, 0), (23, 5), (24, 1), (24, 6), (25, 6), (25, 9),
         (26, 1), (27, 2), (28, 5), (31, 4), (35, 0), (40, 11), (45, 2), (49, 0)]


@pytest.mark.slow
@pytest.mark.heavy
@pytest.mark.parametrize("n,seed", HEAVY)
def test_sweep_runs_reproduce_committed_endpoints(n, seed):
    _check(n, seed)


def test_symmetric_end_points_share_the_hessian_record_of_their_own_spectrum(monkeypatch):
    """End points at one P-n-C/CA point up to the symmetries get the first one's Hessian record
    (experiments/_symmetric_endpoints.py); it must match each end point's own dense spectrum."""
    import numpy as np

    from copyavg.experiments import _symmetric_endpoints as se
    from copyavg.experiments.sweep import endpoint_hessian
    from copyavg.numeric import Problem

    monkeypatch.setattr(se, "_RECORDS", {})
    calls = []
    real = se.shared_hessian_record

    def spy(*args):
        rec = real(*args)
        calls.append(rec)
        return rec

    monkeypatch.setattr(se, "shared_hessian_record", spy)
    k, n = 10, 5
    P = Problem(np.ones(k), np.eye(k, k + 1), "erf2")
    kinds = []
    for seed in range(4):
        rec = run_one(RunSpec("erf2", k, n, k + 1, seed))
        own = endpoint_hessian(P, np.array(rec["a"]), np.array(rec["W"]), "erf2", rec["grad_max"])
        kinds.append((rec["endpoint"], tuple(rec["partition"] or ()), rec["distance"] <= 1e-8))
        assert rec["hessian_type"] == own["hessian_type"]
        for key in ("negative", "zero", "positive", "symmetry_zero"):
            assert rec["inertia"][key] == own["inertia"][key], key
        for key in ("eig_min", "eig_max", "tol"):
            # a shared record is another polished image of the same point: its eigenvalues agree to
            # ~distance x |third derivatives| + rounding (distances here <= 1e-10, |H| ~ 10)
            assert abs(rec["inertia"][key] - own["inertia"][key]) <= 1e-8, key
    assert len(calls) == 4
    # all four end at one CA point (partition (6, 1, 1, 1, 1)) up to symmetry: one record, three shared
    assert len(set(kinds)) == 1 and kinds[0][2] and len(se._RECORDS) == 1, kinds
