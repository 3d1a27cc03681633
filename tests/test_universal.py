"""The one-neuron problem, copy-average criticality and the optimal CA structure for every catalogue
activation (docs/theory.md §4-§6, claims 7b-7d, 9b, 12b), checked against independent routes:

* one-neuron optima against a brute-force minimisation of the 30-digit population loss
  (``copyavg.numeric.mp.loss_mp``: kernel pairs summed directly, no closed form), with ``a``
  eliminated from three loss values (the loss is quadratic in ``a``) and golden-section search in
  ``|w|``;
* CA criticality against the float64 gradient of ``copyavg.numeric.population`` at CA points other
  than the ones the certificates use;
* refutation witnesses recomputed from the population loss instead of the closed forms.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

from copyavg.numeric import gradient, loss
from copyavg.numeric.mp import loss_mp
from copyavg.numeric.one_neuron import ca_configuration, one_neuron
from copyavg.numeric.one_neuron_any import CLOSED_FORMS, profile_optimum, profile_value
from copyavg.proofs.certificates import Status

NEW = ("hermite2", "hermite3", "hermite4", "hermite5", "sin", "cos", "gaussian", "normal_cdf")
DPS = 30


def _ray_loss(name, m, t, direction):
    """min over a of the 30-digit loss at w = t * direction (d = m + 1): the loss is a quadratic
    A a^2 + B a + C in a, recovered exactly from a = -1, 0, 1."""
    V = [[int(i == j) for j in range(m + 1)] for i in range(m)]
    W = [[t * c for c in direction]]
    Lm, L0, Lp = (loss_mp([a], W, [1] * m, V, name, dps=DPS) for a in (-1, 0, 1))
    A, B = (Lp + Lm) / 2 - L0, (Lp - Lm) / 2
    a = -B / (2 * A)
    return L0 - B * B / (4 * A), a


def _golden(f, lo, hi, iters=60):
    """Golden-section minimisation of a unimodal f on [lo, hi] (mpmath numbers)."""
    g = (mpmath.sqrt(5) - 1) / 2
    x1, x2 = hi - g * (hi - lo), lo + g * (hi - lo)
    f1, f2 = f(x1), f(x2)
    for _ in range(iters):
        if f1 < f2:
            hi, x2, f2 = x2, x1, f1
            x1 = hi - g * (hi - lo)
            f1 = f(x1)
        else:
            lo, x1, f1 = x1, x2, f2
            x2 = lo + g * (hi - lo)
            f2 = f(x2)
    return (lo + hi) / 2


@pytest.mark.parametrize("name", NEW)
def test_average_point_matches_brute_force_population_loss(name):
    m = 3
    u = [1 / mpmath.sqrt(m)] * m + [0]
    with mpmath.workdps(DPS):
        t = _golden(lambda s: _ray_loss(name, m, s, u)[0], mpmath.mpf("0.05"), mpmath.mpf(2))
        L, a = _ray_loss(name, m, t, u)
    sol = one_neuron(name, m)
    # golden section to width ~(0.618)^60 * 2 ~ 6e-13 in |w|: the loss (quadratic at the minimum) is
    # then exact to ~1e-24 and |w|, a to ~1e-12; 1e-9 leaves margin for float64 output of the closed form
    assert abs(float(L) - sol["loss_average"]) < 1e-9
    assert abs(float(t) - sol["norm_average"]) < 1e-9
    assert abs(float(a) - sol["a_average"]) < 1e-9 * max(1.0, abs(sol["a_average"]))


@pytest.mark.parametrize("name", ["cos", "gaussian"])
def test_copy_optimum_beats_average_by_brute_force(name):
    """cos, gaussian: the copy direction w = t v_1 is better than the average (claim 7c)."""
    m = 2
    with mpmath.workdps(DPS):
        t = _golden(lambda s: _ray_loss(name, m, s, [1, 0, 0])[0], mpmath.mpf("0.05"), mpmath.mpf(2))
        L, a = _ray_loss(name, m, t, [1, 0, 0])
    sol = one_neuron(name, m)
    assert sol["direction"] == "copy"
    # profile_optimum runs Newton at 30 digits; the golden section resolves |w| to ~1e-12 (see above)
    assert abs(float(L) - sol["loss"]) < 1e-9 and abs(float(t) - sol["norm"]) < 1e-8
    assert float(L) < sol["loss_average"] - 5e-3  # the gap is ~8e-3 (certified in one-neuron-optimum:*)


@pytest.mark.parametrize("name,n", [("hermite3", 3), ("hermite4", 4), ("hermite5", 5)])
def test_hermite_copy_is_exact_and_better_than_average(name, n):
    """w = v_1, a = 1 fits one teacher neuron exactly: L = (m - 1) n! from the population loss."""
    m = 3
    V = [[int(i == j) for j in range(m + 1)] for i in range(m)]
    L = loss_mp([1], [[1, 0, 0, 0]], [1] * m, V, name, dps=DPS)
    assert abs(L - (m - 1) * math.factorial(n)) < 1e-25  # exact up to 30-digit rounding
    assert one_neuron(name, m)["loss"] == pytest.approx(float(L), abs=1e-12)
    assert one_neuron(name, m)["loss_average"] > float(L) + 1


def test_hermite2_every_unit_direction_in_the_span_ties():
    m = 3
    rng = np.random.default_rng(3)
    for _ in range(3):
        w = rng.normal(size=m)
        w /= np.linalg.norm(w)
        L, _ = _ray_loss("hermite2", m, 1, list(w) + [0])
        assert abs(L - 2 * (m - 1)) < 1e-12  # w from float64: exact up to its rounding


@pytest.mark.parametrize("name", NEW + ("linear",))
def test_ca_points_are_critical_by_the_numeric_gradient(name):
    for parts, extra in (((2, 1, 2), 2), ((4, 1), 1)):
        a, W, b, V = ca_configuration(name, parts, d=sum(parts) + extra)
        ga, gW = gradient(a, W, b, V, name)
        # float64 gradient of O(k^2) kernel terms of size <= max(a)^2 ~ 16: rounding ~1e-14
        assert max(np.max(np.abs(ga)), np.max(np.abs(gW))) < 1e-11


def _abs_witness():
    pi = mpmath.pi
    return 2 * (-4 * pi + mpmath.sqrt(2) * (pi + 4)) / pi**2


def _leaky_witness():
    pi = mpmath.pi
    return 9801 * (-80008 * pi + mpmath.sqrt(2) * (39204 + 30203 * pi)) / (400040000 * pi**2)


@pytest.mark.parametrize("name,exact", [("abs", _abs_witness), ("leaky_relu", _leaky_witness)])
def test_piecewise_linear_ca_witness_matches_numeric_gradient(name, exact):
    """The exact witness of ca-critical:NAME (dL/da_1 at partition (1, 2), as printed in its
    residual and in docs/theory.md) vs the float gradient of copyavg.numeric.population."""
    a, W, b, V = ca_configuration(name, (1, 2))
    ga, _ = gradient(a, W, b, V, name)
    with mpmath.workdps(30):
        value = float(exact())
    assert abs(value) > 0.1
    assert abs(ga[0] - value) < 1e-12  # float64 gradient of a few O(1) terms: rounding ~1e-15


def test_relu_structure_witness_from_the_population_loss():
    """optimal-ca-structure:relu: (2, 2) beats (1, 3) at k = 4, from copyavg.numeric.loss."""
    L13 = loss(*ca_configuration("relu", (1, 3)), "relu")
    L22 = loss(*ca_configuration("relu", (2, 2)), "relu")
    assert abs((L13 - L22) - 0.05449116995199023) < 1e-12  # the arb value of the certificate
    L31 = loss(*ca_configuration("hermite2", (3, 1)), "hermite2")
    assert abs(L31 - 4) < 1e-12 and abs(loss(*ca_configuration("hermite2", (2, 2)), "hermite2") - 4) < 1e-12


@pytest.mark.parametrize("name", ["sin", "gaussian"])
def test_ca_loss_is_additive(name):
    """J0 = 0 gives L(CA) = sum_i L_average(m_i) (claim 12b); float loss vs the closed form."""
    parts = (1, 2, 3)
    with mpmath.workdps(30):
        ref = sum(CLOSED_FORMS[name](mpmath.mpf(p), mpmath.mp)[2] for p in parts)
    assert abs(loss(*ca_configuration(name, parts), name) - float(ref)) < 1e-12


def test_certificates_can_fail(monkeypatch):
    from copyavg.proofs import universal_ca, universal_one_neuron

    real = universal_one_neuron.average_solution

    def wrong(name):
        n2, a, L = real(name)
        return n2, 2 * a, L

    monkeypatch.setattr(universal_one_neuron, "average_solution", wrong)
    monkeypatch.setattr(universal_ca, "average_solution", wrong)
    assert universal_one_neuron.one_neuron_average("hermite3").status != Status.PROVED
    assert not all(ok for _, ok, _ in universal_ca.identities("sin"))


def test_generic_profile_functions_and_bad_input():
    # the generic route reproduces a generated closed form (erf2: |w|^2 = 1/(2m - 1), a = m)
    sol = profile_optimum("erf2", 4)
    assert abs(sol["norm"] ** 2 - 1 / 7) < 1e-12 and abs(sol["a"] - 4) < 1e-10
    for bad in (dict(t=-1.0), dict(t=0.0), dict(kind="other"), dict(m=0.5)):
        kw = dict(activation="sin", m=2, t=1.0, kind="average") | bad
        with pytest.raises(ValueError):
            profile_value(**kw)
    with pytest.raises(ValueError, match="teacher_norm"):
        one_neuron("cos", 2, teacher_norm=2.0)


def test_cli_one_neuron_for_new_activations(tmp_path, capsys):
    import json

    from copyavg.cli.main import main as cli

    assert cli(["one-neuron", "--activation", "gaussian", "--m", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["direction"] == "copy" and out["loss"] < out["loss_average"]
    path = tmp_path / "t.md"
    assert cli(["one-neuron", "--table", str(path), "--m-max", "2", "--quiet"]) == 0
    text = path.read_text()
    assert "## hermite3" in text and "## normal_cdf" in text


@pytest.mark.parametrize("name", ["relu", "abs", "leaky_relu", "cos", "sin", "hermite4", "erf"])
def test_overlap_residuals_predict_the_gradient(name):
    """docs/theory.md §5: with two groups (sizes 1 and 2, k = 3) dL/da_1 = 2 J0, the radial derivative
    of w_1 is 4 a_1 |w_1|^2 J1 and the component of dL/dw_1 along e_2 is 2 a_1 J3."""
    from copyavg.numeric.one_neuron_any import ca_overlap_residuals

    J = ca_overlap_residuals(name, 1, 2)
    a, W, b, V = ca_configuration(name, (1, 2))
    ga, gW = gradient(a, W, b, V, name)
    # float64 gradient of O(1) terms: rounding ~1e-15; 1e-12 still separates 0 from the O(0.1) failures
    assert abs(ga[0] - 2 * J["J0"]) < 1e-12
    assert abs(W[0] @ gW[0] - 4 * a[0] * (W[0] @ W[0]) * J["J1"]) < 1e-12
    assert abs(gW[0][1] - 2 * a[0] * J["J3"]) < 1e-12


def test_sin_average_beats_random_directions():
    """one-neuron-optimum:sin (proved): no direction beats the average point; 2000 random w in R^4
    (m = 3, norms up to 3) evaluated with the float kernels, and the key inequality of the proof,
    2 sinh S - S - sinh(sqrt S)^2 > 0 for S >= 1.43, on a grid."""
    from copyavg.numeric import diag_kernel, pair_kernel

    m = 3
    best_avg = 9 * np.exp(-1) * np.sinh(1 / 3)  # F at the average optimum = m^2 e^-1 sinh(1/m)
    rng = np.random.default_rng(5)
    for _ in range(2000):
        w = rng.normal(size=m + 1) * rng.uniform(0.05, 3.0) / 2
        q = float(w @ w)
        G = float(np.sum(pair_kernel("sin", q, 1.0, w[:m])))
        F = G * G / float(diag_kernel("sin", q)[0])
        assert F < best_avg + 1e-12  # float kernels: relative rounding ~1e-15
    S = np.linspace(1.43, 40, 4000)
    assert np.all(2 * np.sinh(S) - S - np.sinh(np.sqrt(S)) ** 2 > 0)


def test_quadrature_family_profile_optimum_matches_the_sin_closed_form():
    """``sin(z)`` given as an expression takes the float64 quadrature route of ``profile_optimum``;
    the proved closed form of ``sin`` (|w|^2 = 1/m, a = m e^((1/m - 1)/2)) is the reference. The
    kernel carries an error bound of 1e-10 of its scale, so the loss agrees to ~1e-9 and the
    maximiser of a smooth profile to ~sqrt(1e-10) ~ 1e-5 (tolerances 1e-8 and 1e-4)."""
    import math

    from copyavg.numeric.one_neuron_any import profile_optimum

    for m in (2, 5):
        sol = profile_optimum("sin(z)", m)
        assert abs(sol["norm"] ** 2 - 1 / m) < 1e-4
        assert abs(sol["a"] - m * math.exp((1 / m - 1) / 2)) < 1e-4
        L = (m * math.sinh(1) - m**2 * math.sinh(1 / m)) / math.e
        assert abs(sol["loss"] - L) < 1e-8 * max(1.0, abs(L))


def test_hermite_optimum_statements_name_the_right_optimum():
    """hermite2: every unit vector of the teacher span is optimal (F <= 2 with equality on the whole
    unit sphere of the span), so the average is optimal but not unique; hermite3: the l^3 <= l^2
    bound is tight only at a single non-zero coordinate, so the unique optimum is a copy. Both proved;
    the two statements must not be swapped."""
    from copyavg.proofs.universal_one_neuron import one_neuron_optimum

    c2, c3 = one_neuron_optimum("hermite2"), one_neuron_optimum("hermite3")
    assert c2.status == c3.status == Status.PROVED
    assert "not the unique optimal direction" in c2.statement and "L* = 2(m - 1)" in c2.statement
    assert "only at copies" in c3.statement and "L* = (m - 1) 3!" in c3.statement


def test_sin_optimum_bound_is_the_stated_function():
    """The arb function proved positive on [1.43, 16] for one-neuron-optimum:sin is D_2(S) =
    2 sinh S - S - sinh(sqrt S)^2 (mpmath at 30 digits; the ball must contain it), and it is
    negative just below the proof's range start (S = 1), so the range matters."""
    from flint import arb

    from copyavg.proofs.universal_one_neuron import sin_D2

    with mpmath.workdps(30):
        for S in (1, 2, 4, 16):  # exact in both; arb's default 53 bits: 1e-12 relative is ample
            ref = 2 * mpmath.sinh(S) - S - mpmath.sinh(mpmath.sqrt(S)) ** 2
            assert float(sin_D2(arb(S)).mid()) == pytest.approx(float(ref), rel=1e-12)
    assert sin_D2(arb(1)) < 0 < sin_D2(arb(2))


def test_certified_bracket_refuses_an_end_point_at_the_root():
    """sin, m = 4: the average optimum is |w| = 1/sqrt(m) = 1/2 exactly, where d/dt log F is 0 and
    its arb sign undecided: a bracket starting there is not certified (an answer, not an error);
    [1/4, 1] is."""
    from copyavg.proofs.universal_one_neuron import certified_bracket

    ok, note = certified_bracket("sin", 4, "average", "1/2", "1")
    assert ok is False and "signs None, -1" in note
    assert certified_bracket("sin", 4, "average", "1/4", "1")[0] is True


@pytest.mark.parametrize("name", ["abs", "leaky_relu"])
def test_certificate_witness_is_the_gradient_at_the_ca_point(name):
    """The value the certificate computes (universal_ca._pl_witness) is dL/da_1 at the CA point of
    partition (1, 2), k = 3, built by copyavg.numeric.one_neuron.ca_configuration: the float
    gradient agrees to 1e-12 (a few O(1) terms)."""
    from copyavg.proofs.universal_ca import _pl_witness

    a, W, b, V = ca_configuration(name, (1, 2))
    ga, _ = gradient(a, W, b, V, name)
    assert abs(ga[0] - float(_pl_witness(name)[0])) < 1e-12
