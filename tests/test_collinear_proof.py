"""Certificate collinear-hessian:ACT: proved for the kinked piecewise-linear activations, and able
to fail (a wrong block formula is refuted with the nonzero residual as witness)."""

import dataclasses

import sympy as sp

from copyavg.proofs import Status, collinear
from copyavg.proofs.registry import all_checks
from copyavg.symbolic import angular


def test_registered_for_the_kinked_activations():
    ids = set(all_checks())
    assert {"collinear-hessian:relu", "collinear-hessian:abs", "collinear-hessian:leaky_relu"} <= ids
    assert "collinear-hessian:linear" not in ids  # smooth: nothing to prove


def test_relu_proved_with_the_limits():
    c = collinear.collinear_hessian("relu")
    assert c.status == Status.PROVED and c.as_expected, c.to_json()
    # g = r s H, H = (sin + (pi - theta) cos)/(2 pi): K = (pi - theta)/(2 pi), so the mixed
    # block is I/2 at theta = 0 and 0 at theta = pi; the pure blocks vanish (A = sin/(2 pi))
    assert "at theta = 0: d2g/dw dw^T = 0, d2g/dw dv^T = 1/2 I, d2g/dv dv^T = 0" in c.statement
    assert "at theta = pi: d2g/dw dw^T = 0, d2g/dw dv^T = 0, d2g/dv dv^T = 0" in c.statement


def test_wrong_block_formula_is_refuted(monkeypatch):
    """Flip the sign of K' (the coefficient of the sin(theta) e e^T terms): the chain rule no
    longer matches and the certificate says so, with a witness."""
    right = angular.derive_angular("abs")
    wrong = dataclasses.replace(right, Kp=-right.Kp)
    monkeypatch.setattr(angular, "derive_angular", lambda name: wrong)
    monkeypatch.setattr(collinear, "derive_angular", lambda name: wrong)
    c = collinear.collinear_hessian("abs")
    assert c.status == Status.REFUTED and not c.as_expected
    assert c.residual.startswith("chain rule - block formula = ") and c.residual != "chain rule - block formula = 0"


def test_singular_coefficients_are_not_entire():
    """The analyticity test behind step 2 rejects a leftover 1/sin(theta)."""
    t = angular.theta
    assert angular.is_entire(sp.sin(t) / sp.pi + t**2 * sp.cos(t))
    assert not angular.is_entire(1 / sp.sin(t))
    assert not angular.is_entire(t / sp.sin(t))
    assert angular.atan2_identity()
