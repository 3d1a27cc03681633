"""The Examples sections of the public numeric API run as doctests (and must pass).

Each module of ``copyavg.numeric`` with public functions is collected with ``doctest``; a failing or
erroring example fails the test for its module, with doctest's report as the message.
"""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import pytest

MODULES = [
    "copyavg.numeric.population",
    "copyavg.numeric.functions",
    "copyavg.numeric.kernels",
    "copyavg.numeric.mp",
    "copyavg.numeric.activations",
    "copyavg.numeric.classify",
    "copyavg.numeric.endpoints",
    "copyavg.numeric.one_neuron",
    "copyavg.numeric.pnc",
    "copyavg.numeric.oracles",
    "copyavg.numeric.flow",
]


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = [t for t in finder.find(module, name) if t.examples]
    report = []
    with np.printoptions(legacy=False):
        for test in tests:
            runner.run(test, out=report.append)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, "".join(report)


def test_exported_api_has_examples():
    """Every function and class exported by ``copyavg.numeric`` documents an example."""
    import copyavg.numeric as cn

    missing = [n for n in cn.__all__ if callable(getattr(cn, n)) and "Examples" not in (getattr(cn, n).__doc__ or "")]
    assert not missing, f"no Examples section: {missing}"
