"""Any activation given as an expression in z (quadrature family, copyavg.numeric.series).

References are independent of the Hermite series: a 2-D Gauss-Legendre panel quadrature in the
rotated coordinates ``u1 = sqrt(C11) x``, ``u2 = sqrt(C22)(rho x + sqrt(1 - rho^2) y)`` over
``[-12, 12]^2`` (Gaussian mass outside ~1e-32), with the partials by Price's theorem from
``sympy.diff`` of the expression written here; one slow test checks that reference itself
against 30-digit nested ``mpmath.quad``. Closed-form catalogue kernels, finite differences and
the CLI complete the checks.
"""

from __future__ import annotations

import functools
import subprocess
import sys
import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp
from scipy.special import roots_hermitenorm

from copyavg.numeric import diag_kernel, get_activation, gradient, hessian, loss, pair_kernel
from copyavg.numeric.series import TOL, compile_expression, kernel_with_bound

EXPRS = {"tanh": "tanh(z)", "softplus": "log(1 + exp(z))", "sigmoid": "1/(1 + exp(-z))",
         "silu": "z/(1 + exp(-z))", "sin(z) + z**2/3": "sin(z) + z**2/3",
         "z*exp(-z**2/4) + cos(z)": "z*exp(-z**2/4) + cos(z)"}
SLOW = {"z*exp(-z**2/4) + cos(z)"}  # its compilation tries every tier up to |w| = 8 (seconds)
#: (C11, C22, C12): generic, anti-correlated, nearly collinear, exactly collinear, a zero norm
POINTS = [(1.0, 0.5, 0.3), (0.8, 1.2, -0.7), (1.0, 1.0, 0.999), (0.9, 0.9, 0.9), (0.0, 1.0, 0.0)]
#: Price's theorem: partial -> (derivative order on u1, on u2, factor)
PRICE = {"g": (0, 0, 1.0), "g1": (2, 0, 0.5), "g2": (0, 2, 0.5), "g3": (1, 1, 1.0), "g11": (4, 0, 0.25),
         "g12": (2, 2, 0.25), "g13": (3, 1, 0.5), "g22": (0, 4, 0.25), "g23": (1, 3, 0.5), "g33": (2, 2, 1.0)}
NAMES = ("g", "g1", "g2", "g3", "g11", "g12", "g13", "g22", "g23", "g33")


def _grid():
    x, w = np.polynomial.legendre.leggauss(40)
    edges = np.linspace(-12.0, 12.0, 25)
    X = np.concatenate([(b - a) / 2 * x + (a + b) / 2 for a, b in zip(edges[:-1], edges[1:])])
    Wt = np.concatenate([(b - a) / 2 * w for a, b in zip(edges[:-1], edges[1:])])
    return X, Wt * np.exp(-X * X / 2) / np.sqrt(2 * np.pi)


@functools.lru_cache(maxsize=8)
def _derivatives(expr: str):
    z = sp.Symbol("z")
    e = sp.sympify(expr, locals={"z": z})
    return [sp.lambdify(z, sp.diff(e, z, k), modules=["scipy", "numpy"]) for k in range(5)]


def reference(expr: str, C11, C22, C12, names=NAMES):
    """The outputs ``names`` by 2-D Gauss-Legendre quadrature (error ~1e-16 for these smooth integrands)."""
    f = _derivatives(expr)
    X, w = _grid()
    a, b = np.sqrt(C11), np.sqrt(C22)
    rho = C12 / (a * b) if a * b > 0 else 0.0
    s = np.sqrt(max(1 - rho * rho, 0.0))
    u1, u2 = a * X[:, None], b * (rho * X[:, None] + s * X[None, :])
    out = []
    for name in names:
        kA, kB, fac = PRICE[name]
        FA = np.broadcast_to(f[kA](u1), u2.shape)
        FB = np.broadcast_to(f[kB](u2), u2.shape)
        out.append(fac * (w @ (FA * FB) @ w))
    return out


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in EXPRS])
def test_kernel_and_partials_against_2d_quadrature(name):
    cp = compile_expression(name)
    for C11, C22, C12 in POINTS:
        ref = reference(EXPRS[name], C11, C22, C12)
        arr = [np.array([[v]]) for v in (C11, C22, C12)]
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the requested bound must be met here
            vals, bounds = kernel_with_bound(cp, arr[0].ravel(), arr[1].ravel(), arr[2].ravel(), 2, pairs=False)
        for nm, v, bd, r in zip(NAMES, vals, bounds, ref):
            err = abs(float(v[0]) - r)
            # the stated bound holds (plus 1e-15: the reference's own rounding) and is small
            assert err <= float(bd[0]) + 1e-15, (name, nm, C11, C22, C12, err, bd)
            assert float(bd[0]) <= 1e-9, (name, nm, bd)


@pytest.mark.parametrize("expr, closed", [("erf(z/sqrt(2))", "erf2"), ("sin(z)", "sin"), ("exp(-z**2/2)", "gaussian")])
def test_catalogue_expression_matches_closed_form(expr, closed):
    C11 = np.array([0.3, 1.0, 2.0, 0.0])
    C22 = np.array([1.0, 1.0, 0.5, 0.7])
    C12 = np.array([0.2, 0.95, -0.9, 0.0])
    for got, want in zip(pair_kernel(expr, C11, C22, C12, 2), pair_kernel(closed, C11, C22, C12, 2)):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)  # TOL = 1e-10 of the scale (~1)
    for got, want in zip(diag_kernel(expr, C11), diag_kernel(closed, C11)):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)  # direct 1-D quadrature, converged


def _point(d=4, k=3, n=2, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=n), 0.4 * rng.normal(size=(n, d)), np.ones(k), np.eye(k, d)


@pytest.mark.parametrize("act", ["tanh", "silu"])
def test_gradient_and_hessian_against_finite_differences(act):
    a, W, b, V = _point()
    n, d = W.shape
    th = np.concatenate((a, W.ravel()))

    def grad(t):
        ga, gW = gradient(t[:n], t[n:].reshape(n, d), b, V, act)
        return np.concatenate((ga, gW.ravel()))

    def L(t):
        return loss(t[:n], t[n:].reshape(n, d), b, V, act)

    h = 1e-5
    E = np.eye(th.size)
    fd = np.array([(L(th + h * e) - L(th - h * e)) / (2 * h) for e in E])
    # central differences: truncation ~h^2 |L'''| ~ 1e-10, rounding ~eps |L| / h ~ 1e-11
    np.testing.assert_allclose(grad(th), fd, rtol=0, atol=1e-8)
    Hfd = np.array([(grad(th + h * e) - grad(th - h * e)) / (2 * h) for e in E])
    np.testing.assert_allclose(hessian(a, W, b, V, act), Hfd, rtol=0, atol=1e-8)  # as above, one order up


def test_loss_against_direct_quadrature():
    """L = E[(f - f*)^2] by 2-D quadrature in the plane of w and v (n = k = 1)."""
    a, W, b, V = np.array([0.7]), np.array([[0.6, 0.5]]), np.array([1.0]), np.array([[1.0, 0.0]])
    X, w = _grid()
    x1, x2 = X[:, None], X[None, :]
    f = a[0] * np.tanh(W[0, 0] * x1 + W[0, 1] * x2) - b[0] * np.tanh(V[0, 0] * x1 + V[0, 1] * x2)
    ref = w @ (f * f) @ w
    assert abs(loss(a, W, b, V, "tanh(z)") - ref) <= 1e-10  # kernel bounds 1e-10 of scale ~1


def test_bad_expressions_refused():
    for bad, words in [("tanh(y)", "only symbol allowed is z"), ("exp(z**2)", "square-integrable"),
                       ("Abs(z)", "4 times differentiable"), ("__import__('os')", "expression in z"),
                       ("tanh(z", "parsed")]:
        with pytest.raises(ValueError, match="activation") as exc:
            get_activation(bad)
        assert words in str(exc.value)


def test_out_of_range_norm_refused():
    act = get_activation("tanh")
    assert act.exact is False and act.family == "quadrature"
    lim = act.params["max_norm"]
    with pytest.raises(ValueError, match="C11"):
        pair_kernel("tanh", (lim * 1.01) ** 2, 1.0, 0.0)
    with pytest.raises(ValueError, match="W"):
        loss(np.ones(1), np.array([[lim * 1.01, 0.0]]), np.ones(1), np.eye(1, 2), "tanh")


def test_cli_flow_quadrature_and_bad_expression():
    cmd = [sys.executable, "-m", "copyavg.cli.main"]
    bad = subprocess.run(cmd + ["flow", "--activation", "tanh(y)", "--k", "2", "--n", "1"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1 and "activation" in bad.stderr
    ok = subprocess.run(cmd + ["flow", "--activation", "tanh(z)", "--k", "2", "--n", "2", "--quiet"],
                        capture_output=True, text=True, timeout=600)
    assert "kernel: quadrature" in ok.stdout, ok.stdout + ok.stderr


@pytest.mark.heavy
@pytest.mark.slow
def test_reference_against_30_digit_mpmath():
    """The 2-D Gauss-Legendre reference against nested mpmath.quad at 30 digits (tanh, one point)."""
    C11, C22, C12 = 1.0, 0.5, 0.3
    with mpmath.workdps(30):
        phi = lambda x: mpmath.exp(-x * x / 2) / mpmath.sqrt(2 * mpmath.pi)  # noqa: E731
        rho = mpmath.mpf(C12) / mpmath.sqrt(mpmath.mpf(C11) * C22)
        s, a, b = mpmath.sqrt(1 - rho ** 2), mpmath.sqrt(C11), mpmath.sqrt(C22)
        want = mpmath.quad(lambda x, y: phi(x) * phi(y) * mpmath.tanh(a * x) * mpmath.tanh(b * (rho * x + s * y)),
                           [-mpmath.inf, 0, mpmath.inf], [-mpmath.inf, 0, mpmath.inf])
    assert abs(reference("tanh(z)", C11, C22, C12)[0] - float(want)) <= 1e-15  # ~eps: the grid is converged
    assert abs(float(pair_kernel("tanh", C11, C22, C12)) - float(want)) <= TOL


@pytest.mark.heavy
@pytest.mark.slow
def test_mp_route_kernel():
    """copyavg.numeric.mp for an expression (nested mpmath.quad) against the closed form of sin at
    20 digits: a non-collinear pair (2-D quadrature, about a minute) and a collinear one (1-D)."""
    from copyavg.numeric.mp import pair_kernel_mp

    with mpmath.workdps(20):
        for C in ((1, "0.5", "0.3"), (2, 2, 2)):
            got = pair_kernel_mp("sin(z)", *C, order=1)
            want = pair_kernel_mp("sin", *C, order=1)
            # nested tanh-sinh quadrature at 20 digits of smooth integrands: ~1e-18 or better
            assert all(abs(x - y) <= mpmath.mpf("1e-15") for x, y in zip(got, want)), (got, want)


def test_interpolated_coefficients_within_measured_error():
    """The Chebyshev interpolants (numeric/_series_fast.py) against the direct M-node quadrature at
    random norms (not the grid on which their error was measured): the error, relative to
    sqrt(E f^2), stays within the measured interp_err times QUAD_SAFETY, the multiple with which
    it enters the stated bounds."""
    from copyavg.numeric._series_fast import DIAG_PAIRS
    from copyavg.numeric._series_pairs import QUAD_SAFETY

    cp = compile_expression("tanh")
    rng = np.random.default_rng(7)
    for t in (0, 1):  # tiers |w| <= 0.5 and <= 1 (the others cost seconds to build)
        it = cp.interp(t)
        assert it is not None and it.interp_err <= 1e-12  # INTERP_TOL = TOL / 100
        r = rng.uniform(it.rlo, it.rmax, 25)
        q = r * r
        app = it.values(q)
        L = it.Ns + 1
        with np.errstate(under="ignore"):  # weights below the smallest double: 0, negligible
            x, w = roots_hermitenorm(it.M)  # the diagonal kernels' reference: M-node quadrature, here
            w = w / w.sum()
            F = [cp.values(k, r[:, None] * x[None, :]) for k in range(5)]
            rms = [np.sqrt((f * f) @ w) for f in F]
            for k in range(5):
                direct, s = cp._raw_moments(k, q, it.M, it.Ns)  # the coefficients' direct route
                c0 = k * (L + 1)
                err = (np.linalg.norm(app[:, c0:c0 + L] - direct, axis=1)
                       + np.abs(app[:, c0 + L] - np.sqrt(s))) / np.sqrt(s)
                assert err.max() <= QUAD_SAFETY * it.interp_err, (t, k, err.max(), it.interp_err)
            for j, (a, b) in enumerate(DIAG_PAIRS):
                col = 5 * (L + 1) + j
                err = np.abs(app[:, col] - (F[a] * F[b]) @ w) / (rms[a] * rms[b])
                assert err.max() <= QUAD_SAFETY * it.interp_err, (t, (a, b), err.max())


def test_interpolated_pair_route_against_2d_quadrature():
    """All pairs at once (the interpolated route: far pairs by one Horner pass, self pairs by the
    diagonal kernels, other near pairs gathered or direct) against the independent 2-D reference:
    the stated bound holds for every partial and is below 1e-9."""
    cp = compile_expression("tanh")
    rng = np.random.default_rng(3)
    W = rng.normal(size=(3, 5)) * 0.5
    W[2] = W[0] + 0.05 * rng.normal(size=5)  # near pair (|rho| close to 1, not collinear)
    Y = np.concatenate((W, 0.8 * np.eye(2, 5), [W[1] + 0.6 * rng.normal(size=5)]))  # mid |rho| too
    C = W @ Y.T
    qA, qB = np.einsum("ij,ij->i", W, W), np.einsum("ij,ij->i", Y, Y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the requested bound must be met here
        vals, bounds = kernel_with_bound(cp, qA[:, None], qB[None, :], C, 2, pairs=True)
    assert cp.interp(cp.tier(float(qB.max()))) is not None  # the interpolated route was taken
    for i in range(3):
        for m in range(Y.shape[0]):
            ref = reference("tanh(z)", qA[i], qB[m], C[i, m])
            for nm, v, bd, r in zip(NAMES, vals, bounds, ref):
                err = abs(float(v[i, m]) - r)
                # the stated bound holds (plus 1e-15: the reference's own rounding) and is small
                assert err <= float(bd[i, m]) + 1e-15, (nm, i, m, err, bd[i, m])
                assert float(bd[i, m]) <= 1e-9, (nm, bd[i, m])


def test_fast_loss_gradient_route_flags_only_bounded_kernels():
    """The fast loss and gradient take the interpolated kernels without their bound arrays
    (``fast_pairs(bounds=False)``): when it reports them usable, the full bounds (computed
    separately) are all within TOL of their scales, and the values are the same; its loss and
    gradient agree with the general path (the same kernels, other formulas: 1e-12 relative)."""
    from copyavg.numeric import Problem
    from copyavg.numeric._series_fast import Grad1, fast_pairs
    from copyavg.numeric._series_pairs import _rho

    cp = compile_expression("tanh")
    rng = np.random.default_rng(11)
    d, k, n = 21, 20, 10
    W = rng.normal(0, np.sqrt(2 / (d + n)), (n, d))
    V = np.eye(k, d)
    Y = np.concatenate((W, V))
    C = W @ Y.T
    qA = np.diag(C).copy()  # as the Problem does: the students' squared norms shared by rows and columns
    qB = np.concatenate((qA, np.einsum("ij,ij->i", V, V)))
    rho = _rho(qA[:, None], qB[None, :], C)
    t = cp.tier(float(qB.max()))
    with np.errstate(under="ignore"):
        v0, ok = fast_pairs(cp, t, Grad1.KS, qA, qB, rho, bounds=False)
        v1, bound, scale = fast_pairs(cp, t, Grad1.KS, qA, qB, rho)
    assert ok
    assert np.array_equal(v0, v1)
    assert np.all(bound <= 1e-10 * scale)  # TOL
    a = rng.normal(size=n)
    P = Problem(np.ones(k), V, "tanh")
    L, ga, gW = P.loss_and_gradient(a, W)
    P._grad1 = lambda *args: None  # the general path
    L2, ga2, gW2 = P.loss_and_gradient(a, W)
    # same kernels up to the order of summation: rounding ~1e-15 of the loss's scale
    assert abs(L - L2) <= 1e-12 * (1 + abs(L)) and np.allclose(ga, ga2, rtol=0, atol=1e-12)
    assert np.allclose(gW, gW2, rtol=0, atol=1e-12)


def _route_point(rho, norm, seed=0):
    """Three students in R^8 against the teacher e1, e2: student 0 at correlation ``rho`` with
    e1, the others generic (|rho| <= 0.4 with everything); every |w_i| = ``norm``."""
    rng = np.random.default_rng(seed)
    W = np.zeros((3, 8))
    W[0, 0], W[0, 5] = rho, np.sqrt(1 - rho * rho)
    W[1, [2, 3, 6]] = rng.normal(size=3)
    W[2, [1, 4, 7]] = rng.normal(size=3) * np.array([0.2, 1.0, 1.0])
    W *= norm / np.linalg.norm(W, axis=1)[:, None]
    return np.array([0.7, -0.4, 0.9]), W, np.ones(2), np.eye(2, 8)


def test_own_loss_gradient_route_against_2d_quadrature():
    """The quadrature family's own loss and gradient (numeric/_series_grad.py: g and g1 only
    through products with U, a sweep over all pairs with the mid pair's terms, self pairs from the
    diagonal kernels) against L = U^T G U, dL/da = 2 (G U)_i and dL/dw_i = 2 a_i sum_m U_m
    (2 g1_im w_i + g3_im y_m) from the independent 2-D reference of every pair."""
    from copyavg.numeric import Problem
    from copyavg.numeric import _series_grad as sg

    a, W, b, V = _route_point(0.45, 1.2)  # one pair at |rho| = 0.45 (FAR_RHO < 0.45 <= MID_RHO)
    a, W = a[:2], W[:2]  # two students: 16 pairs for the reference
    P = Problem(b, V, "tanh")
    out = sg.loss_and_gradient(P._grad1, P, a, W)
    assert isinstance(out, tuple)  # the own route was taken
    Y, U = np.concatenate((W, V)), np.concatenate((a, -b))
    q, C = np.einsum("ij,ij->i", Y, Y), Y @ Y.T
    G, G1, G3 = (np.empty((4, 4)) for _ in range(3))
    for i in range(4):
        for m in range(4):
            G[i, m], G1[i, m], G3[i, m] = reference("tanh(z)", q[i], q[m], C[i, m], ("g", "g1", "g3"))
    L, ga, gW = out
    gW_ref = 2 * a[:, None] * (2 * (G1[:2] @ U)[:, None] * W + (G3[:2] * U) @ Y)
    # every kernel within TOL = 1e-10 of its scale (<= 1 for tanh and its derivatives at |w| <= 1.2,
    # times |y_m| <= 1.2 in the gradient), summed with weights |U_m U_m'| and |a_i U_m|
    bound = 1e-10 * 1.2 * 4 * float(np.abs(U).sum()) ** 2
    assert abs(L - U @ G @ U) <= bound
    assert np.abs(ga - 2 * (G[:2] @ U)).max() <= bound
    assert np.abs(gW - gW_ref).max() <= bound


@pytest.mark.parametrize("act, rho, norm, route", [
    ("tanh", 0.1, 1.2, "sweep"),  # every pair at |rho| <= FAR_RHO
    ("tanh", 0.45, 1.2, "sweep"),  # a mid pair: the sweep with the terms its test at TOL / 4 asks for
    ("tanh", 0.75, 1.9, "mid"),  # the tier's terms do not suffice at 0.75: coefficients up to Nint
    ("tanh", 0.95, 1.2, "general"),  # |rho| > MID_RHO: the direct route of the general path
    ("silu", 0.5, 2.5, "sweep"),  # not odd: every coefficient, powers of rho
])
def test_own_loss_gradient_route_branches(act, rho, norm, route, monkeypatch):
    """Each branch of the own route is taken where expected and agrees with the general path
    (kernels by kernel_with_bound, each within TOL of its scale, other formulas)."""
    from copyavg.numeric import Problem
    from copyavg.numeric import _series_grad as sg

    a, W, b, V = _route_point(rho, norm)
    P = Problem(b, V, act)
    calls = []
    full = sg._mid_pairs_full
    monkeypatch.setattr(sg, "_mid_pairs_full", lambda *args: calls.append(1) or full(*args))
    out = sg.loss_and_gradient(P._grad1, P, a, W)
    assert (out is False) == (route == "general") and bool(calls) == (route == "mid")
    L, ga, gW = P.loss_and_gradient(a, W)
    general = Problem(b, V, act)
    general._grad1 = lambda *args: None  # the general path
    L0, ga0, gW0 = general.loss_and_gradient(a, W)
    # both within TOL = 1e-10 of the kernels' scales (<= 2.5 for silu at |w| <= 2.5) of the exact
    # values: at most 2e-10 times the loss's scale sum |U_m| |U_m'| (~9) apart; seen ~1e-14
    tol = 2e-10 * 2.5 * 9
    assert abs(L - L0) <= tol and np.abs(ga - ga0).max() <= tol and np.abs(gW - gW0).max() <= tol


def test_own_loss_gradient_route_rows_in_blocks(monkeypatch):
    """Large problems take the sweep's rows in blocks (scratch arrays of at most BUFFER_SIZE
    numbers): one row at a time gives the same loss and gradient."""
    from copyavg.numeric import Problem
    from copyavg.numeric import _series_grad as sg

    a, W, b, V = _route_point(0.45, 1.2)
    L, ga, gW = Problem(b, V, "tanh").loss_and_gradient(a, W)
    monkeypatch.setattr(sg, "BUFFER_SIZE", 1)
    P = Problem(b, V, "tanh")
    out = sg.loss_and_gradient(P._grad1, P, a, W)
    assert isinstance(out, tuple) and P._tls.series[1].shape[1] == 1  # one row per block
    # the same operations on the same numbers, but matrix products of other shapes: rounding only
    assert abs(out[0] - L) <= 1e-14 and np.abs(out[1] - ga).max() <= 1e-14 and np.abs(out[2] - gW).max() <= 1e-14
