"""Property-based verification of the numeric kernels, runnable outside pytest.

``copyavg verify --properties [--examples N] [--seed S]`` runs every property below with hypothesis
for every activation of ``copyavg.numeric.ACTIVATIONS`` it applies to, and prints one row per
(property, activation): examples tried, failing examples, time, and the falsifying example of each
failure.

    from copyavg.proofs.properties import run_properties, format_table
    print(format_table(run_properties(examples=50, seed=0)))

Conventions as in ``copyavg.numeric``: ``x ~ N(0, I_d)``, ``L = E[(f - f*)^2]`` with no 1/2.

Counting: ``examples`` is the number of times the property body ran (generation, then shrinking and
the final replay when it fails); ``failures`` the number of those runs that failed (0 for a passing
property; a failure that hypothesis reports without a failing run, e.g. a health check, counts 1).
``seed`` fixes the generated examples (``@hypothesis.seed``, not derandomized), so a run is
reproducible; ``seed=None`` lets hypothesis choose (recorded as ``None``).

Tolerances: every float-vs-exact comparison is relative to the natural scale of the quantity (the
sum of absolute values of the terms that cancel), with the bound and its reason at the check.
Floating-point exceptions (overflow, division by zero, invalid) raise inside the properties, as in
the pytest suite; underflow is ignored (it only rounds to zero, below every tolerance used here).

The properties themselves (registry, strategies, checks) are in ``copyavg.proofs.property_checks``;
this module runs them and reports. hypothesis is imported lazily: ``import copyavg.proofs.properties``
works without it (it is in the ``test`` extra), and ``cli_properties`` says how to install it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from typing import Iterable

import numpy as np

from copyavg.numeric import ACTIVATIONS
from copyavg.proofs.certificates import strict_json
from copyavg.proofs.property_checks import PROPERTIES, Property, PropertyResult  # re-exported

__all__ = [
    "PROPERTIES",
    "Property",
    "PropertyResult",
    "cli_properties",
    "format_table",
    "run_properties",
]

# -- running -------------------------------------------------------------------------------------

def _run_one(prop: Property, activation: str, examples: int, seed: int | None) -> PropertyResult:
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings
    from hypothesis import seed as hseed
    from hypothesis.errors import UnsatisfiedAssumption
    from hypothesis.reporting import with_reporter

    counts = {"calls": 0, "failed": 0}

    def body(**kw):
        counts["calls"] += 1
        try:
            prop.check(activation, **kw)
        except UnsatisfiedAssumption:
            counts["calls"] -= 1
            raise
        except Exception:
            counts["failed"] += 1
            raise

    body.__name__ = body.__qualname__ = prop.name  # must be an identifier
    test = given(**prop.strategies(activation))(body)
    test = settings(
        max_examples=examples,
        derandomize=False,
        database=None,
        deadline=None,
        print_blob=False,
        report_multiple_bugs=False,
        verbosity=Verbosity.normal,
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                               HealthCheck.data_too_large],
    )(test)
    if seed is not None:
        test = hseed(seed)(test)
    reports: list[str] = []
    falsifying = None
    t0 = time.perf_counter()
    # floatmode "unique": arrays in the reported example print every digit needed to round-trip
    with (with_reporter(lambda s: reports.append(str(s))), np.errstate(all="raise", under="ignore"),
          np.printoptions(floatmode="unique")):
        try:
            test()
        except Exception as exc:  # the property failed (or hypothesis could not run it)
            notes = [n for n in getattr(exc, "__notes__", []) if n.strip()]
            msg = f"{type(exc).__name__}: {exc}".strip()
            falsifying = "\n".join(reports + notes + [msg])
    seconds = time.perf_counter() - t0
    failures = counts["failed"]
    if falsifying is not None and failures == 0:
        failures = 1  # e.g. a failed health check: the property did not run to completion
    return PropertyResult(prop.name, activation, counts["calls"], failures, falsifying, seconds, seed)


def run_properties(examples: int = 50, seed: int | None = 0, names: Iterable[str] | None = None,
                   activations: Iterable[str] | None = None, progress=None) -> list[PropertyResult]:
    """Run the registered properties (all, or those in ``names``) for every activation they apply
    to (restricted to ``activations`` if given), ``examples`` hypothesis examples each.
    ``progress(total=N)``, if given, makes a tqdm-like bar advanced once per (property, activation)."""
    if examples < 1:
        raise ValueError(f"examples must be >= 1, got {examples}")
    selected = list(PROPERTIES) if names is None else list(names)
    unknown = [n for n in selected if n not in PROPERTIES]
    if unknown:
        raise ValueError(f"unknown properties {unknown}; known: {sorted(PROPERTIES)}")
    acts = None if activations is None else set(activations)
    if acts is not None and not acts <= set(ACTIVATIONS):
        raise ValueError(f"unknown activations {sorted(acts - set(ACTIVATIONS))}; known: {sorted(ACTIVATIONS)}")
    runs = [(PROPERTIES[name], act) for name in selected for act in PROPERTIES[name].activations
            if acts is None or act in acts]
    results = []
    with contextlib.ExitStack() as stack:
        bar = stack.enter_context(progress(total=len(runs))) if progress is not None else None
        for prop, act in runs:
            if bar is not None:
                bar.set_postfix_str(f"{prop.name} [{act}]", refresh=True)
            results.append(_run_one(prop, act, examples, seed))
            if bar is not None:
                bar.update(1)
    return results


def format_table(results: list[PropertyResult]) -> str:
    """One row per (property, activation), then the falsifying examples, then a summary line."""
    if not results:
        return "no properties run"
    wn = max(len("property"), *(len(r.name) for r in results))
    wa = max(len("activation"), *(len(r.activation) for r in results))
    lines = [f"{'property':<{wn}}  {'activation':<{wa}}  {'examples':>8}  {'failures':>8}  {'time':>6}  result"]
    for r in results:
        lines.append(f"{r.name:<{wn}}  {r.activation:<{wa}}  {r.examples:>8}  {r.failures:>8}  "
                     f"{r.seconds:6.2f}  {'ok' if r.ok else 'FAIL'}")
    bad = [r for r in results if not r.ok]
    for r in bad:
        lines.append("")
        desc = PROPERTIES[r.name].description if r.name in PROPERTIES else ""
        lines.append(f"FAIL {r.name} [{r.activation}]: {desc}")
        lines.extend("    " + ln for ln in (r.falsifying_example or "").splitlines())
    seeds = {r.seed for r in results}
    seed_txt = f"seed {seeds.pop()}" if len(seeds) == 1 else "seeds " + ", ".join(map(str, sorted(seeds, key=str)))
    lines.append(f"{len(results) - len(bad)}/{len(results)} properties held "
                 f"({sum(r.examples for r in results)} examples, {seed_txt}, "
                 f"{sum(r.seconds for r in results):.1f} s)")
    return "\n".join(lines)


def cli_properties(args) -> int:
    """``copyavg verify --properties``: reads ``args.examples`` (default 50), ``args.seed``
    (None: random) and ``args.json``; prints the table (or JSON); 0 if every property held, 1 if
    any failed, 2 if hypothesis is not installed or the arguments are invalid."""
    import sys

    try:
        import hypothesis  # noqa: F401
    except ImportError:
        print("copyavg verify --properties needs hypothesis: pip install 'copyavg[test]' "
              "(or pip install hypothesis)", file=sys.stderr)
        return 2
    examples = getattr(args, "examples", None)
    examples = 50 if examples is None else examples
    seed = getattr(args, "seed", 0)
    # hypothesis caches data (e.g. constants mined from source) under ./.hypothesis even with
    # database=None; a verification command should not write into the user's directory
    from hypothesis import configuration as hconf

    with tempfile.TemporaryDirectory(prefix="copyavg-hypothesis-") as tmp:
        redirect = not os.getenv("HYPOTHESIS_STORAGE_DIRECTORY")
        if redirect:
            hconf.set_hypothesis_home_dir(tmp)
        try:
            results = run_properties(examples=examples, seed=seed, names=getattr(args, "property_names", None),
                                     progress=getattr(args, "make_progress", None))
        except ValueError as exc:
            print(f"copyavg verify --properties: {exc}", file=sys.stderr)
            return 2
        finally:
            if redirect:
                hconf.set_hypothesis_home_dir(None)
    if getattr(args, "json", False):
        print(strict_json([r.to_dict() for r in results], indent=1))
    else:
        print(format_table(results))
    return 0 if all(r.ok for r in results) else 1
