"""The one-neuron problem for monomial2..5, gelu and the ReLU-limit activations (docs/theory.md §4,
§11: ``one-neuron:monomialP``, ``one-neuron-optimum:monomialP``, ``one-neuron:gelu``), against
independent routes:

* ``z^p`` moments from the binomial expansion and Gaussian moments ``E[z^k] = (k - 1)!!`` (not the
  Hermite weights the code uses), and the 30-digit population loss ``copyavg.numeric.mp.loss_mp``;
* the global direction of ``monomial5`` by a brute-force search on the unit sphere;
* the gelu and silu ``|w| -> infinity`` limits by 30-digit quadrature of ``E[relu(z1) sigma(u2)]``
  and by the 30-digit profile at large ``|w|``; monotonicity by finite differences.
"""

from __future__ import annotations

import math
import mpmath
import numpy as np
import pytest

from copyavg.numeric.mp import loss_mp
from copyavg.numeric.one_neuron import one_neuron
from copyavg.numeric.one_neuron_any import profile_value, teacher_constant
from copyavg.numeric.one_neuron_limits import relu_limit
from copyavg.proofs.certificates import Status


def _moment(k: int) -> int:
    return 0 if k % 2 else math.prod(range(1, k, 2))


def _h_binomial(p: int, c):
    """E[z1^p z2^p], z2 = c z1 + sqrt(1 - c^2) z', by the binomial theorem and Gaussian moments."""
    sd = np.sqrt(np.maximum(1 - c * c, 0.0))
    return sum(math.comb(p, k) * c**k * sd ** (p - k) * _moment(p + k) * _moment(p - k) for k in range(p + 1))


def _loss_direction(p: int, m: int, u) -> float:
    """min over A of the loss at unit direction u (teacher span coordinates): T - G^2/s."""
    s = _moment(2 * p)
    T = m * s + m * (m - 1) * _moment(p) ** 2
    G = np.sum(_h_binomial(p, np.asarray(u, dtype=float)), axis=-1)
    return T - G * G / s


@pytest.mark.parametrize("p", [2, 3, 4, 5])
def test_monomial_average_point_from_binomial_moments(p):
    for m in (2, 3, 6):
        sol = one_neuron(f"monomial{p}", m)
        assert sol["norm"] == 1.0 and sol["only_product_fixed"]
        ref = _loss_direction(p, m, [1 / math.sqrt(m)] * m)
        # the same polynomial evaluated two ways in float64: agreement to ~1e-12 relative
        assert abs(sol["loss_average"] - ref) < 1e-10 * max(1.0, ref)


@pytest.mark.parametrize("p,m", [(3, 3), (5, 2)])
def test_monomial_loss_does_not_depend_on_the_norm(p, m):
    """The reported point (|w| = 1, a = A) and (|w| = t, a = A / t^p) give the same 30-digit loss."""
    sol = one_neuron(f"monomial{p}", m)
    u = sol["cosines"] + [0.0]
    V = [[int(i == j) for j in range(m + 1)] for i in range(m)]
    for t in (mpmath.mpf("0.5"), mpmath.mpf(1), mpmath.mpf(3)):
        L = loss_mp([sol["a"] / t**p], [[t * x for x in u]], [1] * m, V, f"monomial{p}", dps=30)
        # float inputs (cosines, a ~1e-16 relative) times losses up to ~1e3: 1e-9 relative is ample
        assert abs(float(L) - sol["loss"]) < 1e-9 * max(1.0, sol["loss"])


def test_monomial_directions_by_brute_force():
    """p = 3: nothing beats the average; p = 4: the copy; p = 5: a split point beats both (m = 2, 3)."""
    rng = np.random.default_rng(1)
    for p, m in ((3, 3), (4, 3), (5, 2), (5, 3)):
        sol = one_neuron(f"monomial{p}", m)
        U = np.abs(rng.normal(size=(200000, m)))
        U /= np.linalg.norm(U, axis=1, keepdims=True)
        best = float(np.min(_loss_direction(p, m, U)))
        # the random search reaches the optimum to ~1e-3 relative; it must never beat the reported optimum
        assert best >= sol["loss"] - 1e-9 * sol["loss"]
        assert best <= sol["loss"] + 0.02 * sol["loss"]
    sol = one_neuron("monomial5", 2)
    th = np.linspace(0, math.pi / 4, 200001)  # one coordinate >= the other: u = (cos th, sin th)
    dense = float(np.min(_loss_direction(5, 2, np.stack([np.cos(th), np.sin(th)], axis=1))))
    # the split point beats the copy (945) by ~20 and the average (1238) by ~313
    assert sol["direction"] == "split" and sol["loss"] < min(sol["loss_average"], _loss_direction(5, 2, (1, 0))) - 10
    assert abs(dense - sol["loss"]) < 1e-3  # grid step 4e-6 rad: the loss is within ~1e-7 of the optimum there


def _relu_cross(sig, m: int) -> float:
    """E[relu(z1) sigma(u2)], corr(z1, u2) = 1/sqrt(m), as a float 2-D integral over (z1 > 0, y)."""
    from scipy.integrate import quad
    from scipy.stats import norm

    c = 1 / math.sqrt(m)
    sd = math.sqrt(1 - c * c)
    x, w = np.polynomial.hermite_e.hermegauss(120)  # inner integral: smooth sigma, Gauss-Hermite (probabilists')
    inner = lambda z: float(w @ sig(c * z + sd * x)) / math.sqrt(2 * math.pi)  # noqa: E731
    return quad(lambda z: z * norm.pdf(z) * inner(z), 0, 12, epsabs=1e-14, epsrel=1e-13)[0]


@pytest.mark.parametrize("name", ["gelu", "silu"])
def test_relu_limit_by_2d_quadrature(name):
    from scipy.integrate import quad
    from scipy.special import expit, ndtr
    from scipy.stats import norm

    sig = {"gelu": lambda x: x * ndtr(x), "silu": lambda x: x * expit(x)}[name]
    m = 3
    lim = m * _relu_cross(sig, m)
    E1 = quad(lambda y: sig(y) ** 2 * norm.pdf(y), -12, 12, epsabs=1e-14)[0]
    E0 = quad(lambda y: sig(y) * norm.pdf(y), -12, 12, epsabs=1e-14)[0]
    L = m * E1 + m * (m - 1) * E0**2 - 2 * lim**2
    r = relu_limit(name, m)
    # float adaptive quadrature (tails beyond 12 sd ~1e-32) vs 20-digit mpmath: ~1e-13; 1e-10 leaves room
    assert abs(r["loss"] - L) < 1e-10 and abs(r["a"] - 2 * lim) < 1e-10


def test_gelu_profile_decreases_to_its_limit():
    """Finite differences of the 30-digit profile (closed-form kernel) on a log grid, and the limit."""
    for m in (2, 7):
        T = teacher_constant("gelu", m)
        ts = [mpmath.mpf(2) ** k for k in range(-6, 12)]
        Ls = [T - profile_value("gelu", m, t) for t in ts]
        assert all(b < a for a, b in zip(Ls, Ls[1:]))
        lim = relu_limit("gelu", m)["loss"]
        # L(t) - L_inf = O(1/t^2): at t = 2048 below 1e-6 and positive
        assert 0 < float(Ls[-1]) - lim < 1e-6
        sol = one_neuron("gelu", m)
        assert sol["norm"] == math.inf and sol["attained"] is False and sol["loss"] == lim
        # CA configurations need a finite group point: the end of the profile search, |w| = 8
        from copyavg.numeric.one_neuron import average_point

        norm, a = average_point("gelu", m)
        assert abs(norm - 8.0) < 1e-12 and math.isfinite(a)  # the grid end, up to its float rounding


@pytest.mark.slow
@pytest.mark.heavy
def test_silu_table_switches_to_the_limit():
    """silu: m = 2 has an interior optimum below the limit; m = 3 the |w| -> infinity limit is best."""
    s2, s3 = one_neuron("silu", 2), one_neuron("silu", 3)
    assert math.isfinite(s2["norm"]) and s2["loss"] < relu_limit("silu", 2)["loss"]
    assert s3["norm"] == math.inf and s3["loss"] == relu_limit("silu", 3)["loss"]
    from copyavg.numeric.one_neuron import average_point

    assert abs(average_point("silu", 3)[0] - 4.0) < 1e-12  # finite: the end of the accepted range


def test_monomial_certificates():
    from copyavg.proofs import one_neuron_monomial

    assert one_neuron_monomial.one_neuron_optimum("monomial3").status == Status.PROVED
    c5 = one_neuron_monomial.one_neuron_optimum("monomial5")
    assert c5.status == Status.REFUTED and c5.as_expected
    assert one_neuron_monomial.one_neuron_average("monomial4").status == Status.PROVED


@pytest.mark.slow
@pytest.mark.heavy
def test_gelu_certificate_proves_m2():
    from copyavg.proofs import one_neuron_gelu

    c = one_neuron_gelu.one_neuron_gelu((2,))
    assert c.status == Status.PROVED, c.to_json()


def test_gelu_certificate_can_fail():
    """The arb step rejects a profile that is not monotone: F = Gh^2/sh with Gh replaced by Gh (1 - t)^2."""
    from copyavg.proofs import one_neuron_gelu as mod

    Gh, sh, P, Q = mod._forms()
    ok, note = mod._certify_m(2, Gh * (1 - mod.t) ** 2 + mod.sp.Rational(1, 100), sh, P, Q)
    assert not ok and "UNDECIDED" in note


def test_cli_reports_the_invariant_scale(capsys):
    import json

    from copyavg.cli.main import main

    assert main(["one-neuron", "--activation", "monomial3", "--m", "3", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["norm"] == 1.0 and d["only_product_fixed"] is True
    assert abs(d["a"] - 11 * math.sqrt(3) / 15) < 1e-12  # A = 3 h(1/sqrt 3)/15, h(c) = 9c + 6c^3


def test_verify_runs_heavy_checks_only_when_asked(capsys, monkeypatch):
    """Default verify skips the opt-in set; --heavy or naming a heavy id exactly runs it."""
    from copyavg.cli.main import main
    from copyavg.proofs import registry
    from copyavg.proofs.certificates import Certificate

    ran = []

    def cert(name):
        def run():
            ran.append(name)
            return Certificate(theorem=name, statement="s", assumptions=(), method="m", status=Status.PROVED)
        return run

    monkeypatch.setattr(registry, "all_checks",
                        lambda heavy=False: {"light": cert("light"), **({"heavy": cert("heavy")} if heavy else {})})
    assert main(["verify", "--quiet"]) == 0 and ran == ["light"]
    ran.clear()
    assert main(["verify", "--quiet", "heavy"]) == 0 and ran == ["heavy"]
    ran.clear()
    assert main(["verify", "--quiet", "--heavy"]) == 0 and ran == ["light", "heavy"]
    capsys.readouterr()


@pytest.mark.parametrize("name, kind", [("tanh", "average"), ("softplus", "average"), ("softplus", "copy")])
def test_quadrature_profile_gain_is_the_loss_drop_of_the_network(name, kind):
    """F(t) = G^2/s of the evidence profiles equals T - min_a L(a, w) of the one-neuron network
    (m = 3, |w| = 0.8) from the package loss: L is quadratic in a, so three values give its
    minimum exactly (to the kernel's ~1e-10 float error, hence the 1e-8 tolerance). softplus has
    a non-zero mean, so the m - 1 teachers orthogonal to a copy contribute to G (for odd tanh they
    do not)."""
    from copyavg.numeric import loss
    from copyavg.proofs.one_neuron_quadrature import _profile_F

    m, t = 3, 0.8
    V, b = np.eye(m + 1)[:m], np.ones(m)
    w = np.zeros(m + 1)
    if kind == "average":
        w[:m] = t / math.sqrt(m)
    else:
        w[0] = t
    L0, L1, L2 = (loss(np.array([a]), w[None, :], b, V, activation=name) for a in (0.0, 1.0, 2.0))
    s = (L2 - 2 * L1 + L0) / 2  # L(a) = T - 2 a G + a^2 s
    G = (L0 - L1 + s) / 2
    assert _profile_F(name, m, kind)(t) == pytest.approx(G * G / s, rel=1e-8)


@pytest.mark.parametrize("name", ["softplus", "silu"])
def test_relu_limit_at_one_teacher_neuron_is_the_copy(name):
    """m = 1: the average direction is the copy direction, so both limits are one point; the
    average route's conditional-mean formula divides by sqrt(1 - 1/m) = 0 there and must not be used.
    Equal to 1e-12: the same 20-digit quadrature."""
    avg, copy = relu_limit(name, 1, "average"), relu_limit(name, 1, "copy")
    assert avg["loss"] == pytest.approx(copy["loss"], rel=1e-12, abs=1e-14)


def test_gelu_profile_closed_forms_are_the_kernel_exactly():
    """The exact identities behind one-neuron:gelu (heavy as a whole): Gh, sh, P, Q equal the derived
    gelu kernel's profile for every m (SymPy, sound zero test)."""
    from copyavg.proofs.one_neuron_gelu import _forms, _identities

    assert all(ok for _, ok in _identities(*_forms()))


def test_table_has_the_average_columns_and_they_match_the_closed_form():
    """gaussian, m = 2 (a copy-like optimum beats the average, so both column groups differ): the
    average columns are the closed form |w|^2 = 1/(2m - 1), a = m sqrt(m/(2m - 1)),
    L = m/sqrt 3 + m(m - 1)/2 - m^3/sqrt(4m^2 - 1), to the table's 10 decimals."""
    from copyavg.numeric.one_neuron_any import one_neuron_any, render_table

    text = render_table({"gaussian": [one_neuron_any("gaussian", 1), one_neuron_any("gaussian", 2)]})
    row = next(line for line in text.splitlines() if line.startswith("| 2 |"))
    cells = [float(c) for c in row.strip("|").split("|")[1:]]
    L = 2 / math.sqrt(3) + 1 - 8 / math.sqrt(15)
    assert cells[3:] == pytest.approx([L, 1 / math.sqrt(3), 2 * math.sqrt(2 / 3)], abs=1e-9)
    assert cells[0] < L - 1e-3  # the optimum (columns 1-3) is below the average


_SMOOTH = {
    "softplus": (lambda z: np.logaddexp(0, z), lambda z: 1 / (1 + np.exp(-z))),
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda z: np.exp(-np.abs(z)) / (1 + np.exp(-np.abs(z))) ** 2),
    "tanh": (np.tanh, lambda z: 1 / np.cosh(z) ** 2),
}


@pytest.mark.parametrize("name", sorted(_SMOOTH))
def test_quadrature_family_average_optimum_to_the_kernels_accuracy(name):
    """The average-profile maximiser of the quadrature family, against the root of
    ``D = 2 G' s - G s'`` by tensor Gauss-Hermite quadrature (200 x 200 nodes, no pair kernel; the
    integrands are smooth, so the rule is exact to ~1e-14 here). The kernel's error bound is 1e-10
    of its scale and ``|D'| = O(1)``, so |w| and a must agree to ~1e-10 (1e-9 allowed); maximising
    F itself found |w| only to ~4e-8. At m = 1 the optimum is the teacher: |w| = a = 1."""
    from scipy.optimize import brentq

    from copyavg.numeric.one_neuron_any import profile_optimum

    f, df = _SMOOTH[name]
    x, w = np.polynomial.hermite_e.hermegauss(200)
    w = w / w.sum()
    Z, U = np.meshgrid(x, x, indexing="ij")
    with np.errstate(under="ignore"):  # the outermost weights are below 1e-300
        WW = np.outer(w, w)
    one = profile_optimum(name, 1)
    assert one["norm"] == pytest.approx(1, abs=1e-12) and one["a"] == pytest.approx(1, abs=1e-12)
    m = 2
    with np.errstate(under="ignore", over="ignore"):
        FV = f((Z + U) / np.sqrt(2))  # the teacher neuron correlated 1/sqrt(m) with w

    def D(t):
        with np.errstate(under="ignore", over="ignore"):  # exp of the outermost nodes: harmless
            G, dG = m * np.sum(WW * f(t * Z) * FV), m * np.sum(WW * Z * df(t * Z) * FV)
            s, ds = w @ f(t * x) ** 2, 2 * w @ (f(t * x) * df(t * x) * x)
        return 2 * dG * s - G * ds, G / s

    sol = profile_optimum(name, m)
    t = brentq(lambda t: D(t)[0], 0.8 * sol["norm"], 1.2 * sol["norm"], xtol=1e-15)
    assert sol["norm"] == pytest.approx(t, rel=1e-9) and sol["a"] == pytest.approx(D(t)[1], rel=1e-9)
