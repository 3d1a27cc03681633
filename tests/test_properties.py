"""The command-line property suite (``copyavg.proofs.properties``): it passes on the real kernels,
reports an injected bug with its falsifying example, and is reproducible for a fixed seed."""

from __future__ import annotations

import json
import types

import numpy as np
import pytest

from copyavg.numeric import ACTIVATIONS, Problem
from copyavg.proofs.properties import (
    PROPERTIES,
    PropertyResult,
    cli_properties,
    format_table,
    run_properties,
)

_LOSS_PROPS = ["loss_gradient_match_mp", "loss_zero_at_teacher", "loss_nonnegative"]


@pytest.fixture
def broken_loss(monkeypatch):
    """``Problem.loss`` (behind ``copyavg.numeric.loss``) off by 1e-3."""
    real = Problem.loss
    monkeypatch.setattr(Problem, "loss", lambda self, a, W: real(self, a, W) + 1e-3)


def test_registry_covers_activations():
    for prop in PROPERTIES.values():
        assert prop.activations and set(prop.activations) <= set(ACTIVATIONS), prop.name
        assert prop.description
    assert set(PROPERTIES["sign_flip_invariance"].activations) == {
        n for n, a in ACTIVATIONS.items() if a.odd and a.family in ("erf", "piecewise_linear")}
    assert set(PROPERTIES["kernel_matches_mp"].activations) == {
        n for n, a in ACTIVATIONS.items() if a.family in ("erf", "piecewise_linear")}


def test_all_properties_hold():
    results = run_properties(examples=5, seed=0)
    assert {(r.name, r.activation) for r in results} == {
        (p.name, a) for p in PROPERTIES.values() for a in p.activations}
    bad = [r for r in results if not r.ok]
    assert not bad, format_table(bad)
    for r in results:
        assert isinstance(r, PropertyResult)
        assert 1 <= r.examples <= 5 and r.failures == 0 and r.falsifying_example is None
    with pytest.raises(Exception):  # frozen
        results[0].failures = 3
    table = format_table(results)
    assert f"{len(results)}/{len(results)} properties held" in table


def test_broken_loss_is_reported(broken_loss):
    results = run_properties(examples=5, seed=0, names=_LOSS_PROPS, activations=["erf2", "relu"])
    by = {(r.name, r.activation): r for r in results}
    for act in ("erf2", "relu"):
        for name in ("loss_gradient_match_mp", "loss_zero_at_teacher"):
            r = by[(name, act)]
            assert not r.ok and r.failures >= 1 and r.examples >= r.failures
            # hypothesis's report of the shrunk example, naming the drawn arguments, and the error
            assert "Failing test case" in r.falsifying_example or "Falsifying example" in r.falsifying_example
            assert f"{name}(" in r.falsifying_example and "net=" in r.falsifying_example
            assert "AssertionError" in r.falsifying_example
        assert by[("loss_nonnegative", act)].ok  # L + 1e-3 >= 0 still holds
    table = format_table(results)
    assert "FAIL loss_zero_at_teacher [erf2]" in table and "Failing test case" in table


def test_same_seed_same_falsifying_example(broken_loss):
    r1, r2 = (run_properties(examples=5, seed=3, names=["loss_zero_at_teacher"], activations=["erf"])[0]
              for _ in range(2))
    assert r1.falsifying_example == r2.falsifying_example and r1.examples == r2.examples


def test_broken_gradient_is_reported(monkeypatch):
    real = Problem.loss_and_gradient

    def off(self, a, W):
        L, ga, gW = real(self, a, W)
        return L, ga, gW * (1 + 1e-6)

    monkeypatch.setattr(Problem, "loss_and_gradient", off)
    (r,) = run_properties(examples=5, seed=0, names=["gradient_matches_loss_fd"], activations=["erf2"])
    assert not r.ok and "net=" in r.falsifying_example


def test_order_dependent_gradient_breaks_permutation_invariance(monkeypatch):
    """A gradient that depends on the order of the students by 1e-9 relative (far above the 1e-13
    tolerance of the property, far below any loss check) must falsify permutation_invariance."""
    real = Problem.loss_and_gradient

    def off(self, a, W):
        L, ga, gW = real(self, a, W)
        return L, ga * (1 + 1e-9 * np.arange(len(ga))), gW

    monkeypatch.setattr(Problem, "loss_and_gradient", off)
    (r,) = run_properties(examples=20, seed=0, names=["permutation_invariance"], activations=["erf2"])
    assert not r.ok and "net=" in r.falsifying_example


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown properties"):
        run_properties(examples=1, names=["no_such_property"])
    with pytest.raises(ValueError, match="examples"):
        run_properties(examples=0)


def test_cli_properties(capsys, monkeypatch):
    assert cli_properties(types.SimpleNamespace(examples=2, seed=0, json=False)) == 0
    out = capsys.readouterr().out
    assert "properties held" in out and "FAIL" not in out
    real = Problem.loss
    monkeypatch.setattr(Problem, "loss", lambda self, a, W: real(self, a, W) + np.float64(1e-3))
    assert cli_properties(types.SimpleNamespace(examples=2, seed=0, json=True)) == 1
    rows = json.loads(capsys.readouterr().out)
    failed = {(r["name"], r["activation"]) for r in rows if not r["ok"]}
    assert ("loss_zero_at_teacher", "erf2") in failed
    assert all(set(r) >= {"name", "activation", "examples", "failures", "falsifying_example", "seconds"}
               for r in rows)


def test_partial_floor_is_the_natural_size_of_each_partial():
    """The floor under the relative errors of the kernel properties is G0 / prod(c_var), G0 the
    Cauchy-Schwarz bound sqrt(s(C11) s(C22)) (erf2: s(q) = (2/pi) asin(q/(1 + q))), c_1 = C11 + 1,
    c_2 = C22 + 1, c_3 = sqrt(c_1 c_2) (erf family shift 1). At C11 = 1, C22 = 3: c = (2, 4, sqrt 8)."""
    import math

    from copyavg.proofs.property_checks import _partial_floor

    G0 = math.sqrt((2 / math.pi) * math.asin(1 / 2) * (2 / math.pi) * math.asin(3 / 4))
    c1, c2, c3 = 2.0, 4.0, math.sqrt(8.0)
    want = [G0, G0 / c1, G0 / c2, G0 / c3, G0 / c1**2, G0 / (c1 * c2), G0 / (c1 * c3), G0 / c2**2,
            G0 / (c2 * c3), G0 / c3**2]
    np.testing.assert_allclose(_partial_floor("erf2", 1.0, 3.0, 2), want, rtol=1e-14)  # same float ops
