"""gelu with biases in closed form (``copyavg.numeric._bias_gelu``) at norms up to 100.

References, none of them the Stein/Owen's-T route under test:

- a float64 2-D Gauss-Legendre rule in the Cholesky factor of SymPy's derivatives of
  ``z erfc(-z/sqrt 2)/2``, its panels refined around the bends ``u1 = 0`` and ``u2 = 0`` (width
  ``1/|w|`` in the Gaussian variables);
- 30-digit mpmath: an outer ``mpmath.quad`` in ``z1`` (split around the bends) of
  ``sigma^(a)(u1)`` times the inner conditional expectation ``E[sigma^(b)(X)]``, ``X ~ N(mu, tau^2)``,
  as SymPy's ``mu``-derivatives of ``E[X Phi(X)] = mu Phi(mu/s) + tau^2 phi(mu/s)/s``
  (``s = sqrt(1 + tau^2)``; itself checked against a 1-D ``mpmath.quad``); the self term by a 1-D
  ``mpmath.quad``;
- the Gauss-Hermite quadrature route (``_bias_kernels.quadrature_moments``) at small norms, the
  bias-free closed-form ``Problem``, finite differences and Monte Carlo.
"""

from __future__ import annotations

import functools

import mpmath
import numpy as np
import pytest
import sympy as sp

from copyavg.numeric import Problem, get_activation
from copyavg.numeric._bias_kernels import diag_moments, pair_moments, quadrature_diag, quadrature_moments
from copyavg.numeric._bias_mp import loss_mp
from copyavg.numeric._bias_quadrature import norm_limit
from copyavg.numeric.biased import BiasedProblem

GELU = get_activation("gelu")
KEYS = [(a, b) for a in range(5) for b in range(5 - a)]
_z, _mu, _tau = sp.symbols("z mu tau", real=True)
_SIG = _z * sp.erfc(-_z / sp.sqrt(2)) / 2


@functools.lru_cache(maxsize=None)
def _sigma_derivs(module):
    return [sp.lambdify(_z, sp.diff(_SIG, _z, j), module) for j in range(5)]


def _case(R1, R2, rho, m1, m2):
    """(C11, C22, C12, D, m1, m2) with ``D`` exact for the rounded C12 (30-digit arithmetic)."""
    C11, C22, C12 = R1 * R1, R2 * R2, R1 * R2 * rho
    with mpmath.workdps(40):
        D = float(mpmath.mpf(C11) * C22 - mpmath.mpf(C12) ** 2)
    return C11, C22, C12, D, m1, m2


def _panels(edges, nodes=20):
    """Gauss-Legendre nodes and weights (times the standard normal density) on the panels between
    consecutive ``edges`` (rows: independent rules)."""
    x, w = np.polynomial.legendre.leggauss(nodes)
    lo, hi = edges[..., :-1, None], edges[..., 1:, None]
    X = ((hi - lo) / 2 * x + (hi + lo) / 2).reshape(*edges.shape[:-1], -1)
    Wt = ((hi - lo) / 2 * w).reshape(X.shape) * np.exp(-X * X / 2) / np.sqrt(2 * np.pi)
    return X, Wt


_REFINE = np.array([-40, -16, -8, -4, -2, -1, -0.5, 0, 0.5, 1, 2, 4, 8, 16, 40])


def _edges(*features):
    """Uniform panels on [-12, 12] (Gaussian mass beyond: 2e-33) plus refined ones around each
    ``(center, width)`` of ``features`` (arrays: one rule per row)."""
    refs = [np.clip(np.atleast_1d(c)[:, None] + np.atleast_1d(w)[:, None] * _REFINE, -12.0, 12.0)
            for c, w in features]
    uni = np.broadcast_to(np.linspace(-12.0, 12.0, 25), (refs[0].shape[0], 25))
    return np.sort(np.concatenate([uni] + refs, axis=1), axis=1)


def gl_moments(C11, C22, C12, D, m1, m2):
    """Every ``M[a, b]`` (``a + b <= 4``) by the refined float64 2-D Gauss-Legendre rule."""
    f = _sigma_derivs("scipy")
    L11 = np.sqrt(C11)
    L21, L22 = C12 / L11, np.sqrt(D / C11)
    # bends in z1: sigma(u1) at u1 = 0 (width 1/L11) and E[sigma(u2) | z1] at mu = 0 (width
    # sqrt(1 + L22^2)/|L21|, the Gaussian smoothing of the bend by the conditional spread)
    X1, W1 = _panels(_edges((-m1 / L11, 1 / L11), (-m2 / L21, np.sqrt(1 + L22 * L22) / abs(L21))))
    X1, W1 = X1[0], W1[0]
    mu = m2 + L21 * X1  # u2 = mu + L22 z2: the bend at z2 = -mu / L22
    X2, W2 = _panels(_edges((-mu / max(L22, 1e-300), np.full(X1.size, 1 / max(L22, 1e-300)))))
    u1, u2 = m1 + L11 * X1, mu[:, None] + L22 * X2
    inner = [np.sum(W2 * f[b](u2), axis=1) for b in range(5)]
    return {(a, b): W1 @ (f[a](u1) * inner[b]) for a, b in KEYS}


def mp_moment(a, b, C11, C22, C12, m1, m2):
    """``M[a, b]`` at the current mpmath precision (module docstring)."""
    inner = _inner(b)
    sig = _sigma_derivs("mpmath")[a]
    C11, C22, C12, m1, m2 = (mpmath.mpf(x) for x in (C11, C22, C12, m1, m2))
    L11 = mpmath.sqrt(C11)
    L21 = C12 / L11
    tau = mpmath.sqrt(max(C22 - L21 * L21, 0))
    pts = {-40, 0, 40}
    for c0, w in ((-m1 / L11, 1 / L11), (-m2 / L21, mpmath.sqrt(1 + tau * tau) / abs(L21))):
        pts.update(c0 + k * w for k in (-30, -8, -3, -1, 0, 1, 3, 8, 30))
    pts = sorted(p for p in pts if -40 <= p <= 40)
    return mpmath.quad(lambda z1: sig(m1 + L11 * z1) * inner(m2 + L21 * z1, tau) * mpmath.npdf(z1), pts)


@functools.lru_cache(maxsize=None)
def _inner(b):
    """``E[sigma^(b)(X)]``, ``X ~ N(mu, tau^2)``, as a function of ``(mu, tau)`` (module docstring)."""
    s = sp.sqrt(1 + _tau ** 2)
    F = _mu * sp.erfc(-_mu / s / sp.sqrt(2)) / 2 + _tau ** 2 / s * sp.exp(-_mu ** 2 / (2 * s * s)) / sp.sqrt(2 * sp.pi)
    return sp.lambdify((_mu, _tau), sp.diff(F, _mu, b), "mpmath")


@pytest.mark.heavy
@pytest.mark.slow
def test_reference_inner_expectation_matches_quadrature():
    # the 30-digit reference's inner formula against a direct 1-D mpmath.quad of SymPy's sigma^(b),
    # so that the reference of the heavy tests is a 2-D quadrature in effect (a few seconds)
    with mpmath.workdps(30):
        for mu, tau in ((mpmath.mpf("0.7"), mpmath.mpf("0.3")), (-4, 2.5), (60, 45)):
            mu, tau = mpmath.mpf(mu), mpmath.mpf(tau)
            t0 = -mu / tau  # the bend u = 0 in the variable t of X = mu + tau t
            for b in (0, 1, 3):
                sig = _sigma_derivs("mpmath")[b]
                pts = sorted({-40, 40} | {t0 + j / tau for j in (-8, -1, 0, 1, 8)})
                ref = mpmath.quad(lambda t: sig(mu + tau * t) * mpmath.npdf(t), [p for p in pts if -40 <= p <= 40])
                assert abs(_inner(b)(mu, tau) - ref) <= mpmath.mpf(10) ** -25 * (1 + abs(ref)), (mu, tau, b)


def mp_diag(k, q, c):
    """``d^k/dc^k E[gelu(sqrt(q) z + c)^2] = E[(gelu^2)^(k)(sqrt(q) z + c)]`` by a 1-D mpmath.quad."""
    f = sp.lambdify(_z, sp.diff(_SIG ** 2, _z, k), "mpmath")
    r, c = mpmath.sqrt(q), mpmath.mpf(c)
    pts = sorted({-40, 0, 40} | {-c / r + j / r for j in (-30, -8, -3, -1, 0, 1, 3, 8, 30)})
    return mpmath.quad(lambda z: f(r * z + c) * mpmath.npdf(z), [p for p in pts if -40 <= p <= 40])


# |w1|, |w2|, correlation, biases: small norms, generic, nearly (anti-)collinear at |w| = 10 and 50,
# large biases
SMALL = [(0.3 ** 0.5, 0.5 ** 0.5, 0.2 / 0.15 ** 0.5, 0.4, -0.7), (0.8 ** 0.5, 0.2 ** 0.5, -0.35 / 0.4, -1.1, 0.6),
         (0.7, 0.7, 1 - 1e-7, 0.3, 0.25)]
CASES = [(10.0, 8.0, 0.3, 5.0, -5.0), (10.0, 8.0, -(1 - 1e-6), -5.0, 5.0), (50.0, 40.0, 1 - 1e-6, 5.0, 5.0),
         (50.0, 40.0, -(1 - 1e-12), -5.0, 5.0), (50.0, 50.0, -0.7, 0.7, -2.0), (100.0, 100.0, 1 - 1e-9, 100.0, -100.0),
         (100.0, 100.0, -(1 - 1e-6), 5.0, -5.0), (100.0, 100.0, 1 - 1e-12, 5.0, 5.0)]


def _tol(C11, C22, m1, m2):
    # float64 rounding relative to the scale (1 + |m1| + |m2| + |w|)^2 of the kernel's terms: measured
    # worst 1.4e-15 of it (|w| = 100, rho = -1 + 1e-6: N[0, 0] = Phi2 from Owen's T has an absolute
    # error ~eps and is multiplied by C12 ~ |w|^2), 1.3e-16 over 75 pairs at |w| = 10, 50, 100 with
    # correlations within 1e-12 of +-1 and biases +-5, +-100 against 30-digit mpmath. Without the
    # regrouping of E12 (_bias_gelu) the terms of size |C|^2 cancel near collinear pairs and the
    # error reaches 5e-15 of the scale at |w| = 100 (the last two CASES): this bound tells them apart
    return 3e-15 * (1 + abs(m1) + abs(m2) + np.sqrt(max(C11, C22))) ** 2


@pytest.mark.parametrize("case", SMALL + CASES)
def test_moments_match_refined_gauss_legendre(case):
    C11, C22, C12, D, m1, m2 = args = _case(*case)
    with np.errstate(under="ignore"):  # Gaussian tails (overflow or invalid values would still fail)
        M = pair_moments(GELU, 4, *args)
        Q = gl_moments(*args)
    for key in KEYS:
        # the rule's own error ~1e-15 of the integrand's scale; its sum of ~6e5 terms of size up to the
        # value's scale rounds to ~1e-15 of it: the same tolerance as against mpmath
        assert abs(M[key] - Q[key]) <= _tol(C11, C22, m1, m2), (key, M[key], Q[key])


@pytest.mark.parametrize("case", [(1.0, 0.8, 0.6, 0.4, -0.7), (1.5, 1.2, -(1 - 1e-7), -1.1, 0.6),
                                  (0.0, 1.3, 0.0, 2.0, -1.0)])
def test_moments_match_gauss_hermite_route(case):
    # the quadrature route the closed form replaces (256 nodes per dimension; its error estimate at
    # |w| <= 1.5 was below 1e-10 of the scale with 128 nodes, measured here ~1e-14); w1 = 0 included
    args = _case(*case)
    with np.errstate(under="ignore"):
        M = pair_moments(GELU, 4, *args)
        Q = quadrature_moments(GELU, 4, *args, nodes=256)
        S = [(diag_moments(GELU, 4, np.array(q), c), quadrature_diag(GELU, 4, q, c, nodes=256))
             for q, c in ((0.0, 0.3), (2.25, -0.8))]
    for key in KEYS:
        assert abs(M[key] - Q[key]) <= 1e-12, key
    for s, r in S:
        assert np.abs(np.array(s) - np.array(r)).max() <= 1e-12


DIAG = [(2500.0, 5.0), (1e4, -100.0), (100.0, -5.0), (1e4, 0.5)]


def _diag_tol(q, c):
    # as _tol; the self term sums up to 2^4 = 16 moments (binomial weights): measured worst 5.1e-16
    # of the scale (1 + |c| + sqrt q)^2 against 30-digit mpmath (q = 2500, c = 5)
    return 2e-15 * (1 + abs(c) + np.sqrt(q)) ** 2


@pytest.mark.parametrize("q, c", DIAG)
def test_diag_matches_refined_gauss_legendre(q, c):
    # d^k/dc^k E[gelu(sqrt(q) z + c)^2] = E[(gelu^2)^(k)(u)]: SymPy's derivatives of gelu^2 on the
    # refined float64 Gauss-Legendre panels (around u = 0, width 1/sqrt(q) in z)
    X, Wt = _panels(_edges((-c / np.sqrt(q), 1 / np.sqrt(q))))
    with np.errstate(under="ignore"):
        s = diag_moments(GELU, 4, np.array(q), c)
        ref = [Wt[0] @ sp.lambdify(_z, sp.diff(_SIG ** 2, _z, k), "scipy")(np.sqrt(q) * X[0] + c) for k in range(5)]
    for k in range(5):
        assert abs(s[k] - ref[k]) <= _diag_tol(q, c), (k, s[k], ref[k])


@pytest.mark.heavy
@pytest.mark.slow
@pytest.mark.parametrize("q, c", DIAG)
def test_diag_matches_30_digit_quadrature(q, c):
    # a few seconds per case on a loaded machine
    with np.errstate(under="ignore"):
        s = diag_moments(GELU, 4, np.array(q), c)
    with mpmath.workdps(30):
        ref = [float(mp_diag(k, q, c)) for k in range(5)]
    for k in range(5):
        assert abs(s[k] - ref[k]) <= _diag_tol(q, c), (k, s[k], ref[k])


@pytest.mark.heavy
@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_moments_match_30_digit_quadrature(case):
    # 5-10 s per case on a loaded machine (15 outer mpmath.quad); the CI check is the refined rule above
    C11, C22, C12, D, m1, m2 = args = _case(*case)
    with np.errstate(under="ignore"):
        M = pair_moments(GELU, 4, *args)
    with mpmath.workdps(30):
        for key in KEYS:
            ref = float(mp_moment(*key, C11, C22, C12, m1, m2))
            assert abs(M[key] - ref) <= _tol(C11, C22, m1, m2), (key, M[key], ref)


def _student(R, seed):
    rng = np.random.default_rng(seed)
    V = rng.normal(size=(2, 3))
    V *= R / np.linalg.norm(V, axis=1)[:, None]
    W = V + 0.3 * R * rng.normal(size=(2, 3)) / np.sqrt(3)
    W *= R / np.linalg.norm(W, axis=1)[:, None]
    return V, W


def test_norm_limit_is_the_general_one():
    assert norm_limit(GELU) == 100.0
    V, W = _student(100.0, 1)
    P = BiasedProblem(np.ones(2), V, [5.0, -5.0], "gelu")
    assert np.isfinite(P.loss(np.array([0.3, -0.2]), W, [1.0, 100.0]))
    with pytest.raises(ValueError, match="W: every row must have norm <= 100"):
        P.loss(np.ones(2), 1.02 * W, [0.0, 0.0])


@pytest.mark.parametrize("R", [0.7, 20.0])
def test_zero_biases_reproduce_problem(R):
    # the bias-free closed form (copyavg.symbolic.kernels_gelu, arcsine/arctan terms): an independent route
    V, W = _student(R, 2)
    a, b = np.array([0.7, -0.4]), np.array([1.0, 0.5])
    P0, P = Problem(b, V, "gelu"), BiasedProblem(b, V, None, "gelu")
    scale = 1 + R * R  # the loss scale; both routes round at ~eps of their terms
    assert abs(P.loss(a, W, np.zeros(2)) - P0.loss(a, W)) <= 1e-13 * scale
    ga, gW, gc = P.gradient(a, W, np.zeros(2))
    G0 = P0.gradient(a, W)
    ga0, gW0 = G0 if isinstance(G0, tuple) else (G0[:2], G0[2:].reshape(2, 3))
    assert np.abs(ga - ga0).max() <= 1e-13 * scale and np.abs(gW - gW0).max() <= 1e-13 * scale
    H = P.hessian(a, W, np.zeros(2))
    # the bias-free Hessian's second partials are generated unsimplified (docs/theory.md §2):
    # a looser bound than the loss's
    assert np.abs(H[:8, :8] - P0.hessian(a, W)).max() <= 1e-10 * scale


def test_gradient_and_hessian_match_finite_differences_at_norm_30():
    V, W = _student(30.0, 3)
    P = BiasedProblem(np.array([1.0, -0.6]), V, [2.0, -3.0], "gelu")
    a, c = np.array([0.8, 0.3]), np.array([-4.0, 1.5])
    theta = np.concatenate((a, W.ravel(), c))

    def split(t):
        return t[:2], t[2:8].reshape(2, 3), t[8:]

    ga, gW, gc = P.gradient(a, W, c)
    grad = np.concatenate((ga, gW.ravel(), gc))
    H = P.hessian(a, W, c)
    h = 1e-4
    for i in range(theta.size):
        e = np.zeros(theta.size)
        e[i] = h
        f = [P.loss(*split(t)) for t in (theta + e, theta - e)]
        gp = np.concatenate([x.ravel() for x in P.gradient(*split(theta + e))])
        gm = np.concatenate([x.ravel() for x in P.gradient(*split(theta - e))])
        # central differences: h^2 |L'''| (<= ~1e3 here: third derivatives ~ (a |w|)^2 / width 1)
        # ~1e-5 plus rounding eps L / h ~ 1e-9 (L ~ 1e3)
        assert abs((f[0] - f[1]) / (2 * h) - grad[i]) <= 1e-5 * (1 + abs(grad[i])), i
        assert np.abs((gp - gm) / (2 * h) - H[i]).max() <= 1e-5 * (1 + np.abs(H[i]).max()), i


def test_hessian_at_nearly_collinear_pairs_matches_finite_differences():
    # |w| = 50, student 0 nearly parallel to teacher 0 and student 1 nearly antiparallel to teacher 1
    # (angles ~2e-7, where M[2, 2] and the other order-4 moments carry the regrouped terms), biases
    # close to the teachers'
    rng = np.random.default_rng(3)
    V = rng.normal(size=(2, 3))
    V *= 50.0 / np.linalg.norm(V, axis=1)[:, None]
    W = np.array([V[0] * (1 + 1e-3) + 1e-5 * rng.normal(size=3), -V[1] + 1e-5 * rng.normal(size=3)])
    P = BiasedProblem(np.array([1.0, -0.6]), V, [2.0, -3.0], "gelu")
    a, c = np.array([0.8, 0.3]), np.array([1.9, 3.1])
    theta = np.concatenate((a, W.ravel(), c))

    def g(t):
        return np.concatenate([x.ravel() for x in P.gradient(t[:2], t[2:8].reshape(2, 3), t[8:])])

    H = P.hessian(a, W, c)
    h = 1e-3
    Hf = np.array([(g(theta + h * e) - g(theta - h * e)) / (2 * h) for e in np.eye(theta.size)])
    # central differences of the gradient: truncation h^2 |g'''| / 6 plus rounding eps |g| / h;
    # measured 7e-9 against max|H| = 2.8e3 (2e-8 at h = 1e-4, rounding-dominated)
    assert np.abs(H - Hf).max() <= 1e-9 * (1 + np.abs(H).max())


def test_loss_matches_monte_carlo():
    # 4e5 Gaussian inputs in batches: the estimate's standard error is computed from the samples;
    # 6 standard errors (a false failure has probability ~2e-9)
    V, W = _student(40.0, 4)
    b, a = np.array([1.0, 0.5]), np.array([0.6, 0.9])
    e, c = np.array([3.0, -4.0]), np.array([-2.0, 5.0])
    P = BiasedProblem(b, V, e, "gelu")
    L = P.loss(a, W, c)
    rng = np.random.default_rng(7)
    from scipy.special import ndtr

    sq = []
    for _ in range(4):
        X = rng.normal(size=(100_000, 3))
        U1, U2 = X @ W.T + c, X @ V.T + e
        with np.errstate(under="ignore"):  # ndtr of large negative arguments
            r = (U1 * ndtr(U1)) @ a - (U2 * ndtr(U2)) @ b
            sq.append(r * r)
    sq = np.concatenate(sq)
    se = sq.std() / np.sqrt(sq.size)
    assert abs(L - sq.mean()) <= 6 * se, (L, sq.mean(), se)


@pytest.mark.heavy
@pytest.mark.slow
def test_loss_and_gradient_match_mpmath_at_norm_50():
    # 30-digit loss (copyavg.numeric._bias_mp: gelu's inner conditional expectation in closed form,
    # a 1-D quadrature outside); the gradient along a random direction by a 30-digit central
    # difference (step 1e-12: error ~1e-24 |L'''|); about a minute on a loaded machine
    V, W = _student(50.0, 5)
    P = BiasedProblem(np.array([1.0, 0.5]), V, [0.4, -3.0], "gelu")
    a, c = np.array([0.9, -0.3]), np.array([-0.2, 5.0])
    L = P.loss(a, W, c)
    ref = loss_mp(P, a, W, c, dps=30)
    assert abs(L - float(ref)) <= 1e-14 * 50.0 ** 3  # the moments' bound (_tol) times |a|, |b| <= 1
    ga, gW, gc = P.gradient(a, W, c)
    rng = np.random.default_rng(6)
    da, dW, dc = rng.normal(size=2), rng.normal(size=(2, 3)), rng.normal(size=2)
    h = mpmath.mpf("1e-12")
    with mpmath.workdps(30):
        mv = lambda x, y, s: [mpmath.mpf(p) + s * h * mpmath.mpf(q) for p, q in zip(x, y)]  # noqa: E731
        ends = [loss_mp(P, mv(a, da, s), [mv(r, t, s) for r, t in zip(W, dW)], mv(c, dc, s), dps=30) for s in (1, -1)]
        dd = float((ends[0] - ends[1]) / (2 * h))
    assert abs(dd - float(ga @ da + np.sum(gW * dW) + gc @ dc)) <= 1e-14 * 50.0 ** 3


@pytest.mark.slow
def test_loss_matches_mpmath_one_pair_at_norm_80():
    # one student and one teacher neuron, nearly anti-collinear (the regrouped terms matter there):
    # the 30-digit loss_mp (one pair, two self terms); a few seconds
    rng = np.random.default_rng(8)
    v = rng.normal(size=3)
    v *= 80.0 / np.linalg.norm(v)
    w = -v + 1e-4 * rng.normal(size=3)
    P = BiasedProblem(np.array([1.0]), v[None, :], [3.0], "gelu")
    a, W, c = np.array([0.7]), w[None, :], np.array([-2.0])
    L = P.loss(a, W, c)
    ref = float(loss_mp(P, a, W, c, dps=30))
    assert abs(L - ref) <= 3 * 3e-15 * (1 + 5.0 + 80.0) ** 2  # three kernels, each within _tol
