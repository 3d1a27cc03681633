"""Student and teacher biases: the biased pair kernel, its partials, and ``BiasedProblem``.

References are independent of the closed forms (Owen's T, the Gaussian tower and the heat
equation of ``copyavg.numeric._bias_kernels``):

- 30-digit mpmath quadrature over ``u1`` of ``sigma^(a)(u1)`` times the conditional expectation of
  ``sigma^(b)(u2)`` given ``u1`` (an elementary 1-D Gaussian integral: ``erf(kappa mu)`` for the
  erf family, ``mu Phi(mu/tau) + tau phi(mu/tau)`` and its mu-derivatives for ReLU), which is the
  2-D Gaussian integral ``E[sigma^(a)(u1) sigma^(b)(u2)] = d^(a+b) g / dm1^a dm2^b`` (Price/Stein);
- Monte Carlo with a standard-error bound for one loss;
- central finite differences of the loss (gradient) and of the gradient (Hessian);
- ``Problem`` (no biases) for zero biases.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest

from copyavg.numeric import Problem, get_activation
from copyavg.numeric._bias_kernels import diag_moments, pair_moments
from copyavg.numeric.biased import BiasedProblem

mp.mp.dps = 30


# -- the 30-digit reference --------------------------------------------------------------------
def _erf_deriv(lam, z, n):
    """``d^n/dz^n erf(lam z)`` (physicists' Hermite polynomials)."""
    if n == 0:
        return mp.erf(lam * z)
    x = lam * z
    h0, h1 = mp.mpf(1), 2 * x  # physicists' Hermite H_{n-1}(x) by the three-term recurrence
    for j in range(1, n - 1):
        h0, h1 = h1, 2 * x * h1 - 2 * j * h0
    return 2 * lam / mp.sqrt(mp.pi) * (-lam) ** (n - 1) * (h0 if n == 1 else h1) * mp.exp(-x * x)


def _sigma_deriv(name, z, n):
    if name in ("sin", "cos"):
        return mp.sin(z + (n + (name == "cos")) * mp.pi / 2)
    if name == "normal_cdf":  # Phi(z) = (1 + erf(z/sqrt 2))/2
        return (1 + _erf_deriv(1 / mp.sqrt(2), z, 0)) / 2 if n == 0 else _erf_deriv(1 / mp.sqrt(2), z, n) / 2
    if name == "relu":
        return [max(z, 0), mp.mpf(z > 0)][n]
    lam = 1 / mp.sqrt(2) if name == "erf2" else mp.mpf(1)
    return _erf_deriv(lam, z, n)


def _conditional_deriv(name, mu, tau, n):
    """``d^n/dmu^n E[sigma(mu + tau Z)]``, Z ~ N(0, 1): elementary."""
    if name in ("sin", "cos"):  # E sin(mu + tau Z) = exp(-tau^2/2) sin(mu)
        return mp.exp(-tau ** 2 / 2) * _sigma_deriv(name, mu, n)
    if name == "relu":
        t = mu / tau
        return [mu * mp.ncdf(t) + tau * mp.npdf(t), mp.ncdf(t), mp.npdf(t) / tau][n]
    if name == "normal_cdf":  # E Phi(mu + tau Z) = Phi(mu / sqrt(1 + tau^2))
        kap = 1 / mp.sqrt(2 * (1 + tau ** 2))
        return (1 + _erf_deriv(kap, mu, 0)) / 2 if n == 0 else _erf_deriv(kap, mu, n) / 2
    lam = 1 / mp.sqrt(2) if name == "erf2" else mp.mpf(1)  # E erf(lam (mu + tau Z)) = erf(kappa mu)
    return _erf_deriv(lam / mp.sqrt(1 + 2 * lam ** 2 * tau ** 2), mu, n)


def reference_moment(name, C11, C22, C12, m1, m2, a, b, split=False):
    """``E[sigma^(a)(u1) sigma^(b)(u2)]`` at 30 digits; ``a = 2`` for ReLU is the delta at u1 = 0."""
    C11, C22, C12, m1, m2 = (mp.mpf(float(x)) for x in (C11, C22, C12, m1, m2))
    L11 = mp.sqrt(C11)
    L21 = C12 / L11
    tau = mp.sqrt(C22 - L21 ** 2)
    if name == "relu" and a == 2:  # density of u1 at 0 times the conditional expectation there
        z0 = -m1 / L11
        return mp.npdf(z0) / L11 * _conditional_deriv(name, m2 + L21 * z0, tau, b)
    f = lambda z: (_sigma_deriv(name, m1 + L11 * z, a) * _conditional_deriv(name, m2 + L21 * z, tau, b)
                   * mp.npdf(z))
    points = [mp.mpf(0)]  # smooth integrand; ReLU: split at its kink and the conditional mean's zero
    if name == "relu" or split:  # split=True: narrow peaks of sigma' (large norms) split off too
        points = sorted({-m1 / L11, -m2 / L21 if L21 != 0 else mp.mpf(0), mp.mpf(0)})
    return mp.quad(f, [-mp.inf] + points + [mp.inf])


def _case(seed, scale_m=1.5, cos=None, norms=(1.0, 1.0)):
    rng = np.random.default_rng(seed)
    w, v = rng.normal(size=3), rng.normal(size=3)
    if cos is not None:  # near-collinear: v = w rotated by a tiny angle
        u = rng.normal(size=3)
        u -= (u @ w) / (w @ w) * w
        v = cos * w / np.linalg.norm(w) + np.sqrt(1 - cos * cos) * u / np.linalg.norm(u)
    w = norms[0] * w / np.linalg.norm(w)
    v = norms[1] * v / np.linalg.norm(v)
    m1, m2 = scale_m * rng.normal(size=2)
    return w @ w, v @ v, w @ v, m1, m2


CASES = {
    "random": _case(1),
    "large-means": _case(2, scale_m=6.0),
    "near-collinear": _case(3, cos=0.9999, norms=(1.3, 0.7)),
    "unequal-norms": _case(4, norms=(3.0, 0.4)),
}


_FAST_CDF = {("erf2", "large-means")}  # near-collinear pairs: the fast ReLU and sin cases


@pytest.mark.parametrize("name, case", [
    pytest.param(name, case, marks=() if (name, case) in _FAST_CDF else pytest.mark.slow)
    for name in ("erf2", "erf", "normal_cdf") for case in sorted(CASES)])
def test_cdf_family_moments_match_quadrature(name, case):
    """Every mean-derivative up to order 4 (the Hessian's) of the erf-family biased kernel."""
    C11, C22, C12, m1, m2 = CASES[case]
    D = C11 * C22 - C12 * C12
    with np.errstate(all="ignore"):
        M = pair_moments(get_activation(name), 4, *(np.array(x) for x in (C11, C22, C12, D, m1, m2)))
    keys = [(0, 0), (1, 0), (0, 1), (1, 1), (2, 0), (2, 1), (2, 2), (3, 0), (3, 1), (4, 0)]
    for a, b in keys:
        ref = reference_moment(name, C11, C22, C12, m1, m2, a, b)
        # the closed form is a few float64 operations on values of size <= |sigma^(a)| |sigma^(b)|
        # (at most ~10 here): 1e-13 absolute leaves a margin of ~100 over the rounding measured
        assert abs(float(M[a, b]) - float(ref)) <= 1e-13 * (1 + abs(float(ref))), (a, b, float(M[a, b]), ref)


EDGE_CASES = {  # the edges of the accepted range: |w|, |c| up to 100, nearly collinear, tiny norms
    "norm-100-collinear": _case(5, scale_m=60.0, cos=1 - 1e-8, norms=(100.0, 90.0)),
    "bias-100": _case(6, scale_m=70.0, norms=(100.0, 0.01)),
    "tiny-norm": _case(7, scale_m=1.0, norms=(1e-3, 50.0)),
    "cos-1e-12": _case(8, scale_m=40.0, cos=1 - 1e-12, norms=(100.0, 100.0)),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["erf2", "normal_cdf", "relu"])
@pytest.mark.parametrize("case", sorted(EDGE_CASES))
def test_moments_at_the_edges_of_the_range(name, case):
    """Measured worst 2.7e-16 relative to ``1 + |value|`` (the quadrature splits at the narrow peaks
    of ``sigma'`` there, width ``1/|w|``)."""
    C11, C22, C12, m1, m2 = EDGE_CASES[case]
    D = C11 * C22 - C12 * C12
    with np.errstate(all="ignore"):
        M = pair_moments(get_activation(name), 2, *(np.array(x) for x in (C11, C22, C12, D, m1, m2)))
    for a, b in [(0, 0), (1, 0), (0, 1), (1, 1), (2, 0), (0, 2)]:
        ref = reference_moment(name, C11, C22, C12, m1, m2, a, b, split=True)
        # a few float64 operations at values of size <= 1 + |ref|; 1e-13 leaves a margin of ~300
        assert abs(float(M[a, b]) - float(ref)) <= 1e-13 * (1 + abs(float(ref))), (a, b, float(M[a, b]), ref)


@pytest.mark.parametrize("name, case", [
    pytest.param(name, case, marks=() if (name, case) == ("sin", "near-collinear") else pytest.mark.slow)
    for name in ("sin", "cos") for case in sorted(CASES)])
def test_trig_quadrature_matches_30_digit_reference(name, case):
    """The quadrature route (64 x 64 Gauss-Hermite) and its error estimate (against 48 nodes)."""
    from copyavg.numeric._bias_kernels import quadrature_error

    C11, C22, C12, m1, m2 = CASES[case]
    D = C11 * C22 - C12 * C12
    act = get_activation(name)
    M = pair_moments(act, 4, *(np.array(x) for x in (C11, C22, C12, D, m1, m2)))
    est = quadrature_error(act, 4, *(np.array(x) for x in (C11, C22, C12, D, m1, m2)))
    # the estimate is itself a rounding-level number at these norms (<= 3)
    assert est <= 1e-14
    for a, b in [(0, 0), (1, 0), (0, 1), (1, 1), (2, 0), (2, 1), (2, 2), (3, 1), (4, 0)]:
        ref = reference_moment(name, C11, C22, C12, m1, m2, a, b)
        # 4096 weighted terms of size <= 1: rounding ~1e-15; 1e-13 leaves a margin of ~100
        assert abs(float(M[a, b]) - float(ref)) <= 1e-13, (a, b, float(M[a, b]), ref)


@pytest.mark.parametrize("case", [
    pytest.param(case, marks=() if case == "near-collinear" else pytest.mark.slow) for case in sorted(CASES)])
def test_relu_moments_match_quadrature(case):
    C11, C22, C12, m1, m2 = CASES[case]
    D = C11 * C22 - C12 * C12
    with np.errstate(all="ignore"):
        M = pair_moments(get_activation("relu"), 4, *(np.array(x) for x in (C11, C22, C12, D, m1, m2)))
    # M[a, b] = E[relu^(a)(u1) relu^(b)(u2)] with a, b <= 2 (relu'' = delta)
    for a, b in [(0, 0), (1, 0), (0, 1), (1, 1), (0, 2), (1, 2), (2, 0), (2, 1), (2, 2)]:
        ref = reference_moment("relu", C11, C22, C12, m1, m2, a, b)
        # as above; near-collinear pairs lose digits in the conditional variance D/C11 (eps C22/D
        # relative, ~1e-12 at cos = 0.9999): 1e-11 relative
        assert abs(float(M[a, b]) - float(ref)) <= 1e-11 * (1 + abs(float(ref))), (a, b, float(M[a, b]), ref)


@pytest.mark.parametrize("name", ["relu", "erf2"])
def test_higher_moments_match_finite_differences(name):
    """Orders 3 and 4 (for ReLU not reachable by quadrature: derivatives of delta) against central
    differences in the means of the order-2 and order-3 moments."""
    C11, C22, C12, m1, m2 = CASES["random"]
    D = C11 * C22 - C12 * C12
    act = get_activation(name)
    h = 1e-5

    def M_at(x1, x2):
        with np.errstate(all="ignore"):
            return pair_moments(act, 4, *(np.array(x) for x in (C11, C22, C12, D, x1, x2)))

    M = M_at(m1, m2)
    for (a, b), lower, shift in [((3, 0), (2, 0), 0), ((2, 1), (1, 1), 0), ((3, 1), (2, 1), 0),
                                 ((4, 0), (3, 0), 0), ((1, 3), (1, 2), 1), ((0, 4), (0, 3), 1)]:
        dm = (h, 0.0) if shift == 0 else (0.0, h)
        fd = (M_at(m1 + dm[0], m2 + dm[1])[lower] - M_at(m1 - dm[0], m2 - dm[1])[lower]) / (2 * h)
        # central differences: truncation h^2 |M^(5)| / 6 ~ 1e-10, rounding eps/h ~ 1e-11
        assert abs(float(fd - M[a, b])) <= 1e-8, (a, b)


@pytest.mark.parametrize("name", ["erf2", "normal_cdf", "relu", "abs"])
def test_heat_equation_in_the_covariance(name):
    """``dg/dC12 = M11``, ``dg/dC11 = M20/2`` by central differences of g in C (not in the means)."""
    C11, C22, C12, m1, m2 = CASES["unequal-norms"]
    act = get_activation(name)

    def g(c11, c12):
        with np.errstate(all="ignore"):
            return float(pair_moments(act, 0, *(np.array(x) for x in (c11, C22, c12, c11 * C22 - c12 ** 2, m1, m2)))[0, 0])

    with np.errstate(all="ignore"):
        M = pair_moments(act, 2, *(np.array(x) for x in (C11, C22, C12, C11 * C22 - C12 ** 2, m1, m2)))
    h = 1e-5
    # as in test_higher_moments_match_finite_differences
    assert abs((g(C11, C12 + h) - g(C11, C12 - h)) / (2 * h) - float(M[1, 1])) <= 1e-8
    assert abs((g(C11 + h, C12) - g(C11 - h, C12)) / (2 * h) - 0.5 * float(M[2, 0])) <= 1e-8


@pytest.mark.parametrize("name", ["erf2", "normal_cdf", "relu", "leaky_relu"])
def test_self_term_matches_quadrature(name):
    """``s(q, c) = E[sigma(sqrt(q) z + c)^2]`` and its c-derivatives (by differences of the exact
    expectations ``E[sigma^2]``, ``2 E[sigma sigma']``)."""
    q, c = 1.7, -0.8
    act = get_activation(name)
    with np.errstate(all="ignore"):
        s = diag_moments(act, 4, np.array(q), np.array(c))
    sig = lambda z: act.sigma_mp(z)
    kink = [-c / mp.sqrt(q)]
    ref0 = mp.quad(lambda z: sig(mp.sqrt(q) * z + c) ** 2 * mp.npdf(z), [-mp.inf] + kink + [mp.inf])
    # 30-digit reference; the closed form is a handful of float64 operations on values ~1
    assert abs(float(s[0]) - float(ref0)) <= 1e-14
    h = 1e-5
    with np.errstate(all="ignore"):
        sp_ = diag_moments(act, 4, np.array(q), np.array(c + h))
        sm_ = diag_moments(act, 4, np.array(q), np.array(c - h))
    for k in range(4):  # central differences: as in test_higher_moments_match_finite_differences
        assert abs(float((sp_[k] - sm_[k]) / (2 * h) - s[k + 1])) <= 1e-8, k


# -- BiasedProblem ------------------------------------------------------------------------------
def _student(rng, n, d, scale=1.0):
    return rng.normal(size=n), rng.normal(size=(n, d)) * scale, rng.normal(size=n)


@pytest.mark.parametrize("name", ["erf2", "erf", "normal_cdf", "relu", "leaky_relu", "abs", "linear",
                                  "hermite3", "hermite4", "sin", "cos"])
def test_zero_biases_reproduce_problem(name):
    rng = np.random.default_rng(5)
    n, k, d = 3, 2, 4
    b, V = rng.normal(size=k), rng.normal(size=(k, d))
    a, W, _ = _student(rng, n, d)
    P, BP = Problem(b, V, name), BiasedProblem(b, V, np.zeros(k), name)
    L0, ga0, gW0 = P.loss_and_gradient(a, W)
    L, ga, gW, gc = BP.loss_and_gradient(a, W, np.zeros(n))
    H0, H = P.hessian(a, W), BP.hessian(a, W, np.zeros(n))
    # two routes to the same numbers, each within a few eps of their scale (~10 here, up to 5e4 for
    # the hermite polynomials, whose quadrature sums 4096 terms): 1e-13 relative to the scale
    scale = max(1.0, abs(L0))
    assert abs(L - L0) <= 1e-13 * scale
    assert max(np.abs(ga - ga0).max(), np.abs(gW - gW0).max()) <= 1e-13 * max(scale, np.abs(gW0).max())
    assert np.abs(H[: n + n * d, : n + n * d] - H0).max() <= 1e-12 * max(1.0, np.abs(H0).max())
    if get_activation(name).odd:  # odd sigma: no first-order effect of a bias at zero biases
        assert np.abs(gc).max() <= 1e-13


@pytest.mark.parametrize("name", ["erf2", "normal_cdf", "relu", "abs", "sin", "hermite5"])
def test_gradient_and_hessian_match_finite_differences(name):
    rng = np.random.default_rng(7)
    n, k, d = 3, 2, 3
    b, V, e = rng.normal(size=k), rng.normal(size=(k, d)), rng.normal(size=k)
    a, W, c = _student(rng, n, d)
    BP = BiasedProblem(b, V, e, name)
    split = lambda t: (t[:n], t[n: n + n * d].reshape(n, d), t[n + n * d:])
    theta = np.concatenate((a, W.ravel(), c))
    L, ga, gW, gc = BP.loss_and_gradient(a, W, c)
    g = np.concatenate((ga, gW.ravel(), gc))
    H = BP.hessian(a, W, c)
    h = 1e-5
    E = np.eye(theta.size) * h
    fd_g = np.array([(BP.loss(*split(theta + s)) - BP.loss(*split(theta - s))) / (2 * h) for s in E])
    grad = lambda t: np.concatenate([x.ravel() for x in BP.gradient(*split(t))])
    fd_H = np.array([(grad(theta + s) - grad(theta - s)) / (2 * h) for s in E])
    # central differences: truncation h^2 |third derivative| / 6 and rounding eps |L| / h, both
    # below ~1e-9 at these O(1)-O(10) values; 1e-7 relative to the largest entry
    assert np.abs(g - fd_g).max() <= 1e-7 * max(1.0, np.abs(g).max())
    assert np.abs(H - fd_H).max() <= 1e-7 * max(1.0, np.abs(H).max())
    assert np.array_equal(H, H.T) or np.abs(H - H.T).max() <= 1e-14 * np.abs(H).max()


def test_loss_matches_monte_carlo():
    """One student and teacher with biases (erf2 and relu): exact loss within 5 standard errors of
    a 400 000-sample Monte Carlo estimate (chance of a false failure below 1e-6)."""
    rng = np.random.default_rng(11)
    n, k, d = 2, 3, 4
    b, V, e = rng.normal(size=k), rng.normal(size=(k, d)), rng.normal(size=k)
    a, W, c = _student(rng, n, d)
    x = np.random.default_rng(12).normal(size=(400_000, d))
    for name in ("erf2", "relu"):
        act = get_activation(name)
        err = act.sigma(x @ W.T + c) @ a - act.sigma(x @ V.T + e) @ b
        sq = err * err
        est, se = sq.mean(), sq.std() / np.sqrt(sq.size)
        L = BiasedProblem(b, V, e, name).loss(a, W, c)
        assert abs(L - est) <= 5 * se, (name, L, est, se)


def test_relu_collinear_pair_is_the_limit():
    """A student exactly collinear with a teacher neuron (0/0 conditional mean, see
    ``copyavg.numeric._bias_kernels.tower``): loss and gradient are the limits of nearby points."""
    b, V, e = np.ones(1), np.array([[1.0, 0.0]]), np.array([0.4])
    BP = BiasedProblem(b, V, e, "relu")
    a, c = np.array([0.7]), np.array([0.8])  # w = 2 v, c = 2 e: u_student = 2 u_teacher exactly
    at = BP.loss_and_gradient(a, np.array([[2.0, 0.0]]), c)
    near = BP.loss_and_gradient(a, np.array([[2.0, 1e-7]]), c)
    # the loss is C^1 here: values differ by O(1e-7) (a first-order step), gradients by O(1e-7) too
    assert abs(at[0] - near[0]) <= 1e-6
    for x, y in zip(at[1:], near[1:]):
        assert np.abs(x - y).max() <= 1e-6
    # two students on one hyperplane (w and 3 w, biases 0.1 and 0.3: the rounding of the conditional
    # means is ~1e-17, not 0), as above
    w = np.array([0.5, 0.3])
    a2, c2 = np.array([0.8, -0.5]), np.array([0.1, 3 * 0.1])
    at = BP.loss_and_gradient(a2, np.array([w, 3 * w]), c2)
    near = BP.loss_and_gradient(a2, np.array([w, 3 * w + [0.0, 1e-7]]), c2)
    for x, y in zip(at, near):
        assert np.abs(np.asarray(x) - y).max() <= 1e-6


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        ((np.ones(2), np.eye(2)), {"e": [0.1]}, r"^e must have shape \(2,\)"),
        ((np.ones(2), np.eye(2)), {"e": [0.1, np.nan]}, r"^e must be finite"),
        ((np.ones(2), np.eye(2)), {"e": [0.1, 101.0]}, r"^e: biases must satisfy \|e_i\| <= 100"),
        ((np.ones(2), 200 * np.eye(2)), {}, r"^V: every row must have norm <= 100"),
        ((np.ones(2), 4 * np.eye(2)), {"activation": "tanh"}, r"^V: every row must have norm <= 1.5 .*quadrature"),
        ((np.ones(2), 4 * np.eye(2)), {"activation": "sin"}, r"^V: every row must have norm <= 3"),
        ((np.ones(2), np.zeros((2, 2))), {"activation": "relu"}, r"^V: piecewise-linear .* non-zero rows"),
        ((np.ones(2), np.eye(3)), {}, r"^b and V must have shapes"),
    ],
)
def test_bad_teacher_input(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        BiasedProblem(*args, **kwargs)


@pytest.mark.parametrize(
    "a, W, c, match",
    [
        (np.ones(2), np.eye(2), [0.0], r"^c must have shape \(2,\)"),
        (np.ones(2), np.eye(2), [0.0, np.inf], r"^c must be finite"),
        (np.ones(2), np.eye(2), [0.0, -100.5], r"^c: biases must satisfy \|c_i\| <= 100"),
        (np.ones(2), np.eye(3), [0.0, 0.0], r"^W must have shape"),
        (np.ones(2), [[np.nan, 0], [0, 1]], [0.0, 0.0], r"^W must be finite"),
        (np.ones(2), [[1e3, 0], [0, 1]], [0.0, 0.0], r"^W: every row must have norm <= 100"),
        ([1e200, 1.0], np.eye(2), [0.0, 0.0], r"^a: outgoing weights"),
    ],
)
def test_bad_student_input(a, W, c, match):
    BP = BiasedProblem(np.ones(2), np.eye(2), [0.1, -0.2], "erf2")
    for method in (BP.loss, BP.loss_and_gradient, BP.hessian):
        with pytest.raises(ValueError, match=match):
            method(a, W, c)


def test_relu_zero_rows_refused():
    BP = BiasedProblem(np.ones(1), np.eye(1, 2), [0.1], "relu")
    with pytest.raises(ValueError, match=r"^W: piecewise-linear .* non-zero rows"):
        BP.loss(np.ones(1), np.zeros((1, 2)), [0.3])


@pytest.mark.parametrize("name", ["relu", "abs"])
def test_kinked_hessian_at_collinear_neurons_is_the_limit(name):
    """Exactly collinear neurons (student 0 = 0.3 x teacher 0 with the same hyperplane, not an exact
    float multiple; student 1 = -2 x student 0 with the same hyperplane; student 2 = 2 x teacher 1
    with a distinct hyperplane): the Hessian is the weight-space limit. Checked against central
    differences of the gradient and against the chain-rule Hessian at angle 1e-6 (another route)."""
    V, e = np.array([[1.0, 0.0, 0.0], [0.3, 0.5, -0.2]]), np.array([0.4, -0.3])
    BP = BiasedProblem(np.array([1.0, 0.7]), V, e, name)
    w0 = 0.3 * V[0]
    a, W, c = np.array([0.8, -0.5, 0.6]), np.array([w0, -2 * w0, 2 * V[1]]), np.array([0.12, -0.24, 0.1])
    H = BP.hessian(a, W, c)
    theta = np.concatenate((a, W.ravel(), c))
    split = lambda t: (t[:3], t[3:12].reshape(3, 3), t[12:])
    grad = lambda t: np.concatenate([x.ravel() for x in BP.gradient(*split(t))])
    h = 1e-5
    fd = np.array([(grad(theta + s) - grad(theta - s)) / (2 * h) for s in np.eye(theta.size) * h])
    # the Hessian changes by O(angle) near the collinear set: truncation ~h |H| (1e-5), plus the
    # gradient's rounding near collinear pairs, ~eps/angle ~ 1e-11, divided by h: ~1e-6; measured 2e-5 (relu),
    # 4e-5 (abs) of max|H|
    assert np.isfinite(H).all() and np.abs(H - fd).max() <= 1e-4 * np.abs(H).max()
    Wn = W.copy()
    Wn[:, 2] += [1e-6, 0.0, -1e-6]  # angle ~1e-6 off every collinear pair: the chain-rule route
    # continuity with difference O(angle) ~ 1e-6 plus the near-collinear cancellation, eps/angle;
    # measured 3e-6 (relu), 7e-6 (abs) of max|H|
    assert np.abs(BP.hessian(a, Wn, c) - H).max() <= 1e-4 * np.abs(H).max()


# -- flow and CLI -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["erf2", "relu"])
def test_flow_recovers_a_single_biased_teacher(name):
    """One student neuron against one teacher neuron with a bias: the global minimum is the exact
    copy (loss 0); the flow from a nearby start reaches it, bias included."""
    from copyavg.numeric.biased import BiasedFlowProblem
    from copyavg.numeric.flow import flow_and_polish

    FP = BiasedFlowProblem(BiasedProblem(np.ones(1), np.eye(1, 3), [-0.7], name))
    res = flow_and_polish(FP, np.array([0.8]), np.array([[0.9, 0.2, -0.1, 0.0]]))
    assert res.status == "converged"
    # at a critical point with max|grad| <= 1e-12 next to the exact copy: distance ~ 1e-12 / curvature
    if name == "relu":  # a relu(w.x + c) = (a |w|) relu(w.x/|w| + c/|w|): a line of exact copies
        w, c = res.W[0, :3], res.W[0, 3]
        np.testing.assert_allclose([*(res.a[0] * w), c / np.linalg.norm(w)], [1.0, 0.0, 0.0, -0.7], atol=1e-8)
    else:
        assert np.abs(res.W - [[1.0, 0.0, 0.0, -0.7]]).max() <= 1e-8 and abs(res.a[0] - 1.0) <= 1e-8
    assert abs(res.loss) <= 1e-15


def test_flow_problem_hessian_is_the_reordered_hessian():
    from copyavg.numeric.biased import BiasedFlowProblem

    rng = np.random.default_rng(3)
    BP = BiasedProblem(rng.normal(size=2), rng.normal(size=(2, 3)), rng.normal(size=2), "erf")
    FP = BiasedFlowProblem(BP)
    a, W, c = _student(rng, 2, 3)
    Wc = np.concatenate((W, c[:, None]), axis=1)
    H, Hf = BP.hessian(a, W, c), FP.hessian(a, Wc)
    # theta orders: (a, w_1, w_2, c) and (a, [w_1, c_1], [w_2, c_2]); the same numbers, permuted
    order = [0, 1, 2, 3, 4, 8, 5, 6, 7, 9]
    assert np.array_equal(Hf, H[np.ix_(order, order)])
    g = FP.loss_and_gradient(a, Wc)[2]
    assert np.array_equal(g[:, -1], BP.gradient(a, W, c)[2])


def test_cli_flow_with_biases(capsys):
    import json

    from copyavg.cli.main import main as cli

    assert cli(["flow", "--k", "2", "--n", "1", "--biases", "--teacher-bias", "0.5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "converged" and out["teacher_bias"] == 0.5 and len(out["c"]) == 1
    assert out["grad_max"] <= 1e-8 and len(out["w_norms"]) == 1 and out["w_norms"][0] > 0


@pytest.mark.parametrize("argv, needle", [
    (["--teacher-bias", "0.5"], "--teacher-bias needs --biases"),
    (["--biases", "--teacher-bias", "500"], "--teacher-bias must satisfy -100 <= teacher-bias <= 100"),
    (["--biases", "--teacher-bias", "nan"], "--teacher-bias must satisfy"),
    (["--biases", "--activation", "tanh(y)"], "the only symbol allowed is z"),
])
def test_cli_flow_bias_errors_are_one_line(argv, needle, capsys):
    from copyavg.cli.main import main as cli

    assert cli(["flow", "--k", "3", "--n", "2", *argv]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and needle in err, err


def test_relu_hessian_near_collinear_neurons():
    """At angle 1e-6 between a student and a teacher neuron (the Hessian's terms grow like
    1/angle and cancel), the Hessian still matches central differences of the gradient."""
    BP = BiasedProblem(np.ones(2), np.eye(2, 3), [0.4, -0.2], "relu")
    a, W, c = np.array([0.9]), np.array([[1.1, 1e-6, 0.05]]), np.array([0.5])
    theta = np.concatenate((a, W.ravel(), c))
    split = lambda t: (t[:1], t[1:4].reshape(1, 3), t[4:])
    grad = lambda t: np.concatenate([x.ravel() for x in BP.gradient(*split(t))])
    h = 1e-7  # below the angle: the differences stay on one side of the collinear set
    fd = np.array([(grad(theta + s) - grad(theta - s)) / (2 * h) for s in np.eye(theta.size) * h])
    H = BP.hessian(a, W, c)
    # rounding of the differences eps |grad| / h ~ 1e-9, truncation h^2 |third derivative| with
    # third derivatives ~ 1/angle ~ 1e6: ~1e-8; measured 5e-9
    assert np.abs(H - fd).max() <= 1e-7 * np.abs(H).max()


def test_linear_loss_is_exact_with_zero_rows():
    """sigma = z: f - f* = (a W - b V).x + (a.c - b.e), so L = |a W - b V|^2 + (a.c - b.e)^2 exactly
    (zero rows allowed: a constant neuron)."""
    b, V, e = np.ones(2), np.array([[1.0, 0.0], [0.0, 0.0]]), np.array([0.3, 0.5])
    a, W, c = np.array([1.0, -0.5]), np.array([[0.0, 0.0], [0.5, 0.2]]), np.array([0.5, 0.1])
    BP = BiasedProblem(b, V, e, "linear")
    r, m = a @ W - b @ V, a @ c - b @ e
    L, ga, gW, gc = BP.loss_and_gradient(a, W, c)
    # a handful of float64 operations on numbers ~1: 1e-14
    assert abs(L - (r @ r + m * m)) <= 1e-14
    np.testing.assert_allclose(gW, 2 * a[:, None] * r[None, :], atol=1e-14)
    np.testing.assert_allclose(gc, 2 * a * m, atol=1e-14)
    assert np.isfinite(BP.hessian(a, W, c)).all()
