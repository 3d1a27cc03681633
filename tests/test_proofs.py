"""Theorem checks: the paper's claims are proved, failing variants refuted, and a check can fail."""

import sympy as sp

from copyavg.proofs import Certificate, Status
from copyavg.proofs import ca_critical, one_neuron
from copyavg.proofs.registry import all_checks


def test_undecided_never_counts_as_expected():
    base = dict(theorem="t", statement="s", assumptions=(), method="m")
    assert not Certificate(status=Status.UNDECIDED, expected=Status.PROVED, **base).as_expected
    assert not Certificate(status=Status.UNDECIDED, expected=None, **base).as_expected
    assert Certificate(status=Status.REFUTED, expected=None, **base).as_expected
    assert not Certificate(status=Status.REFUTED, expected=Status.PROVED, **base).as_expected


def test_certificate_json_is_strict():
    """A non-finite number in a certificate (here its wall time) is written as null, never as the
    non-standard NaN / Infinity tokens that strict JSON parsers reject."""
    import json

    from copyavg.proofs.certificates import strict_json

    def refuse(token):
        raise ValueError(f"non-standard JSON token {token}")

    cert = Certificate(theorem="t", statement="s", assumptions=(), method="m", status=Status.PROVED,
                       seconds=float("nan"))
    assert json.loads(cert.to_json(), parse_constant=refuse)["seconds"] is None
    assert json.loads(strict_json({"x": [float("inf"), 1.0]}), parse_constant=refuse) == {"x": [None, 1.0]}


def test_registry_ids_cover_claims_1_to_3():
    ids = set(all_checks())
    for needed in ("one-neuron:erf2", "ca-critical:erf2", "ca-critical:instances", "optimal-ca-partition",
                   "ca-critical-variant:uncovered-teacher", "ca-critical-variant:teacher-norm",
                   "ca-critical-variant:unequal-teacher-norms", "ca-critical-variant:unequal-outgoing-weights",
                   "ca-critical-variant:erf", "ca-critical-variant:relu", "one-neuron:relu"):
        assert needed in ids


def test_one_neuron_erf2_proved_and_matches_paper():
    c = one_neuron.one_neuron_erf("erf2", 1)
    assert c.status == Status.PROVED, c.to_json()
    assert any("equals the paper" in e and e.startswith("[ok]") for e in c.evidence)


def test_ca_identities_proved_for_symbolic_sizes():
    ids = ca_critical.identities("erf2", 1)
    assert [ok for _, ok, _ in ids] == [True] * 4


def test_ca_identities_fail_with_a_wrong_one_neuron_solution(monkeypatch):
    """A wrong a* (m + 1 instead of m) must make I1 fail: the check can fail."""
    from copyavg.symbolic import one_neuron as sym

    right = sym.solution("erf2")
    m = sp.Symbol("m", positive=True)
    wrong = dict(right, a=m + 1)
    monkeypatch.setattr(ca_critical, "solution", lambda name: wrong)
    ids = ca_critical.identities("erf2", 1)
    assert not ids[0][1]  # I1 no longer simplifies to 0
    cert = ca_critical._erf_ca_certificate("erf2", 1, "x", "", Status.PROVED)
    assert cert.status != Status.PROVED and not cert.as_expected


def test_relu_variant_refuted_with_witness():
    c = ca_critical.variant_relu()
    assert c.status == Status.REFUTED and "dL/da_1" in c.residual


def test_uncovered_teacher_witness_is_exact():
    c = ca_critical.variant_uncovered()
    # the component is -2 a g3(q, 1, 0) with a = 1, q = 1: -2 (2/pi) / sqrt(2 * 2) = -2/pi
    assert c.status == Status.REFUTED and c.residual.startswith("dL/dw_1 . e_2 = -2/pi")



def test_ray_refutation_needs_a_positive_weight_and_no_zero_of_f():
    """The exact ray refutation claims "no point of the ray is critical" only when both hold:
    f(r) has no positive zero AND dL/da = 0 forces a > 0. With b = (1, -1) the first holds (the
    zero condition is 3 = 0) but a* changes sign, so it must stay undecided; the certificate's own
    instance (unequal teacher norms 1, 2, b = 1) has both."""
    res, ev = ca_critical._ray_exact((1, 2), (1, -1))
    assert res is None and any("positive real roots (exact): []" in e for e in ev)
    assert ca_critical._ray_exact((1, 2), (1, 1))[0] is True
