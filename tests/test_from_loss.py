"""Gradients obtained by differentiating the loss (proofs/from_loss.py) and the exact refutations
along the CA ray (proofs/ca_critical.py): each check must be able to fail."""

import numpy as np
import pytest
import sympy as sp

from copyavg.proofs import ca_critical, from_loss
from copyavg.proofs.certificates import Status
from copyavg.proofs.witness import nonzero_witness


def test_ray_refutation_fails_where_the_ca_point_is_critical():
    # equal norms and weights: the CA point is critical (ca-critical:erf2), so the exact argument
    # must not refute; f(r) has opposite terms that cancel identically
    refuted, ev = ca_critical._ray_exact((1, 1), (1, 1))
    assert refuted is None, ev
    refuted, _ = ca_critical._ray_exact((1, 2), (1, 1))
    assert refuted is True


def test_ca_derivative_in_a_is_nonzero_with_a_wrong_solution(monkeypatch):
    """a* = m + 1 instead of m: dL/da_i of the symbolic CA loss is then certified non-zero."""
    from copyavg.symbolic import one_neuron as sym

    m = sp.Symbol("m", positive=True)
    monkeypatch.setattr(from_loss, "solution", lambda name: dict(sym.solution("erf2"), a=m + 1))
    (label, d), *_ = from_loss.ca_directional_derivatives("erf2", 1)
    assert label.startswith("a_i")
    assert nonzero_witness(d) is not None  # e.g. at m_i = 1/3 + ...: arb excludes 0


def test_arb_close_is_certified():
    # |pi - 3.141592653589793| ~ 1.2e-16: within 1e-15, not within 1e-17 (arb decides both)
    assert from_loss._arb_close(sp.pi, 3.141592653589793, 1e-15)[0]
    assert not from_loss._arb_close(sp.pi, 3.141592653589793, 1e-17)[0]


@pytest.mark.slow
def test_gradient_from_loss_catches_a_wrong_gradient(monkeypatch):
    import copyavg.numeric as num

    right = num.gradient
    monkeypatch.setattr(num, "gradient", lambda *a, **k: tuple(2 * np.asarray(x) for x in right(*a, **k)))
    c = from_loss.gradient_from_loss_instances("erf2")
    assert c.status == Status.UNDECIDED and "disagrees" in c.residual
