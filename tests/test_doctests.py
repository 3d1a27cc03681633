"""The Examples sections of the public numeric API run as doctests (and must pass).

Each module of ``copyavg.numeric`` with public functions is collected with ``doctest``; a failing or
erroring example fails the test for its module, with doctest's report as the message. Every public
function of every public module has numpydoc Parameters, Returns and Examples sections, and every
public class an Examples or Attributes section (``test_numpydoc_sections``).
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil
import re

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
    "copyavg.numeric.one_neuron_any",
    "copyavg.numeric.one_neuron_homog",
    "copyavg.numeric.one_neuron_limits",
    "copyavg.numeric.one_neuron_search",
    "copyavg.numeric.pnc",
    "copyavg.numeric.oracles",
    "copyavg.numeric.flow",
    "copyavg.numeric.flow_ode",
    "copyavg.numeric.flow_results",
    "copyavg.numeric.newton",
    "copyavg.numeric.training",
    "copyavg.numeric.flow_krylov",
    "copyavg.numeric.curvature",
    "copyavg.numeric.hvp",
    "copyavg.numeric.angular",
    "copyavg.numeric.effective",
    "copyavg.numeric.series",
    "copyavg.numeric.biased",
    "copyavg.numeric.symmetry",
    "copyavg.numeric.symmetry_partition",
    "copyavg.numeric.pnc_reduced",
    "copyavg.numeric.thresholds_reduced",
    "copyavg.numeric.thresholds_locate",
    "copyavg.numeric.thresholds_continuous",
    "copyavg.numeric.references",
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


_HEADER = re.compile(r"^[ \t]*(\S[^\n]*?)[ \t]*\n[ \t]*(-+)[ \t]*$", re.MULTILINE)


def _sections(doc: str | None) -> set[str]:
    """numpydoc section names: a title line underlined by dashes of the same length."""
    return {m.group(1) for m in _HEADER.finditer(doc or "") if len(m.group(2)) == len(m.group(1))}


def _public_modules():
    import copyavg.numeric as cn

    names = [m.name for m in pkgutil.iter_modules(cn.__path__) if not m.name.startswith("_")]
    return [importlib.import_module(f"copyavg.numeric.{name}") for name in sorted(names)]


def test_numpydoc_sections():
    """Every public function defined in a public module of ``copyavg.numeric`` (pkgutil walk, names
    not starting with "_") has Parameters, Returns and Examples sections; every public class an
    Examples or Attributes section. No exclusions: ``population.Problem`` and
    ``activations.Activation`` are documented too."""
    modules = _public_modules()
    assert {"copyavg.numeric.angular", "copyavg.numeric.effective"} <= {m.__name__ for m in modules}
    assert {m.__name__ for m in modules} <= set(MODULES), "a public module is missing from MODULES"
    missing = []
    for module in modules:
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue  # private, or imported from elsewhere (checked where it is defined)
            found = _sections(inspect.getdoc(obj))
            if inspect.isfunction(obj):
                lack = sorted({"Parameters", "Returns", "Examples"} - found)
            elif inspect.isclass(obj):
                lack = [] if found & {"Examples", "Attributes"} else ["Examples or Attributes"]
            else:
                continue
            if lack:
                missing.append(f"{module.__name__}.{name}: {', '.join(lack)}")
    assert not missing, "missing numpydoc sections:\n" + "\n".join(missing)


def test_section_parser():
    doc = "Summary.\n\nParameters\n----------\nx : int\n\nNotes\n---\nnot a header (short rule)\n"
    assert _sections(doc) == {"Parameters"}
