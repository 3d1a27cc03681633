"""Sampled mutation testing of all of ``numeric/`` and ``proofs/`` with cosmic-ray.

Every mutant of the two packages is too many to run (about 70 000 before filtering, minutes of
tests each), so the kill rate is estimated from a uniform random sample of the session's mutants:

    cosmic-ray init devtools/cosmic-ray-sample.toml crs.sqlite          # every mutant of numeric/, proofs/
    cr-filter-operators crs.sqlite devtools/cosmic-ray-sample.toml      # drops the excluded operators
    python devtools/mutation_sample.py keep crs.sqlite 150 --seed 0    # keeps a uniform sample of 150
    cosmic-ray exec devtools/cosmic-ray-sample.toml crs.sqlite          # test command: devtools/mutation_tests.py
    python devtools/mutation_sample.py report crs.sqlite --show-survivors
    python devtools/mutation_sample.py rerun crs.sqlite devtools/cosmic-ray-sample.toml   # after new tests

``keep`` samples among the mutants the filters left (it records their number, the population, in
the session table ``sample_meta``) and deletes every other work item, so ``report`` states both. The interval is Wilson's score
interval for a binomial proportion (the sample is drawn without replacement from a population of
tens of thousands, so the finite-population correction is below 1 %).
"""

from __future__ import annotations

import argparse
import math
import random
import sqlite3
import sys
from collections import Counter


def keep(session: str, n: int, seed: int) -> None:
    con = sqlite3.connect(session)
    with con:
        con.execute("CREATE TABLE IF NOT EXISTS sample_meta (population INTEGER, sample INTEGER, seed INTEGER)")
        if con.execute("SELECT COUNT(*) FROM sample_meta").fetchone()[0]:
            raise SystemExit(f"mutation_sample: {session} is already sampled; start from a fresh `cosmic-ray init`")
        every = [r[0] for r in con.execute("SELECT job_id FROM work_items")]
        done = {r[0] for r in con.execute("SELECT job_id FROM work_results")}  # filtered out (SKIPPED)
        jobs = sorted(set(every) - done)
        if n < 1 or n > len(jobs):
            raise SystemExit(f"mutation_sample: N must be in 1..{len(jobs)} (the session's mutants), got {n}")
        chosen = set(random.Random(seed).sample(jobs, n))
        drop = [(j,) for j in every if j not in chosen]
        con.executemany("DELETE FROM mutation_specs WHERE job_id = ?", drop)
        con.executemany("DELETE FROM work_results WHERE job_id = ?", drop)
        con.executemany("DELETE FROM work_items WHERE job_id = ?", drop)
        con.execute("INSERT INTO sample_meta VALUES (?, ?, ?)", (len(jobs), n, seed))
    print(f"kept {n} of {len(jobs)} mutants (seed {seed})")


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson's score interval for k successes in n trials (95 % for the default z)."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def report(session: str, show: bool) -> None:
    con = sqlite3.connect(session)
    pop, sample, seed = con.execute("SELECT population, sample, seed FROM sample_meta").fetchone()
    rows = con.execute(
        "SELECT s.module_path, s.start_pos_row, s.operator_name, r.test_outcome, r.output, r.diff, r.worker_outcome "
        "FROM mutation_specs s LEFT JOIN work_results r ON r.job_id = s.job_id ORDER BY s.module_path, s.start_pos_row"
    ).fetchall()
    done = [r for r in rows if r[3] is not None]
    killed = [r for r in done if r[3].lower() == "killed"]
    timeouts = sum(1 for r in killed if (r[4] or "").strip() == "timeout")
    incompetent = sum(1 for r in done if r[3].lower() == "incompetent")
    survived = [r for r in done if r[3].lower() == "survived"]
    judged = len(killed) + len(survived)
    lo, hi = wilson(len(killed), judged)
    print(f"population {pop} mutants, sample {sample} (seed {seed}), {len(done)} run")
    print(f"killed {len(killed)} (of which {timeouts} by timeout), survived {len(survived)}, incompetent {incompetent}")
    if judged:
        print(f"kill rate {len(killed) / judged:.1%} (95 % Wilson interval {lo:.1%} .. {hi:.1%})")
    by_module = Counter(r[0] for r in survived)
    for module, count in sorted(by_module.items()):
        print(f"  survived in {module}: {count}")
    if show:
        for r in survived:
            print(f"\n--- {r[0]}:{r[1]} {r[2]}\n{r[5]}")


def rerun(session: str, config: str) -> None:
    """Run the surviving mutants again (after tests were added for them) and store the new results."""
    from cosmic_ray.config import load_config
    from cosmic_ray.mutating import mutate_and_test
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome

    cfg = load_config(config)
    with use_db(session, WorkDB.Mode.open) as db:
        items = {w.job_id: w for w in db.work_items}
        again = [job for job, res in db.results if res.test_outcome == TestOutcome.SURVIVED]
        for i, job in enumerate(again, 1):
            res = mutate_and_test(items[job].mutations, cfg.test_command, cfg.timeout)
            db.set_result(job, res)
            print(f"{i}/{len(again)} {items[job].mutations[0].module_path}: {res.test_outcome.value}", flush=True)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    k = sub.add_parser("keep", help="keep a uniform random sample of the session's mutants")
    k.add_argument("session")
    k.add_argument("n", type=int)
    k.add_argument("--seed", type=int, default=0)
    r = sub.add_parser("report", help="kill rate of the sample with a 95 %% interval")
    r.add_argument("session")
    r.add_argument("--show-survivors", action="store_true")
    a = sub.add_parser("rerun", help="run the surviving mutants again with the current tests")
    a.add_argument("session")
    a.add_argument("config")
    args = ap.parse_args(argv)
    if args.cmd == "keep":
        keep(args.session, args.n, args.seed)
    elif args.cmd == "rerun":
        rerun(args.session, args.config)
    else:
        report(args.session, args.show_survivors)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
