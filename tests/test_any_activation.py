"""Any activation given as an expression in z (quadrature family, copyavg.numeric.series).

References are independent of the Hermite series: a 2-D Gauss-Legendre panel quadrature in the
rotated coordinates ``u1 = sqrt(C11) x``, ``u2 = sqrt(C22)(rho x + sqrt(1 - rho^2) y)`` over
``[-12, 12]^2`` (Gaussian mass outside ~1e-32), with the partials by Price's theorem from
``sympy.diff`` of the expression written here; one slow test checks that reference itself
against 30-digit nested ``mpmath.quad``. Closed-form catalogue kernels, finite differences and
the CLI complete the checks.
"""

from __future__ import annotations

import subprocess
import sys
import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp

from copyavg.numeric import diag_kernel, get_activation, gradient, hessian, loss, pair_kernel
from copyavg.numeric.series import TOL, compile_expression, kernel_with_bound

EXPRS = {"tanh": "tanh(z)", "softplus": "log(1 + exp(z))", "sigmoid": "1/(1 + exp(-z))",
         "silu": "z/(1 + exp(-z))", "z*exp(-z**2/4) + cos(z)": "z*exp(-z**2/4) + cos(z)"}
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


def reference(expr: str, C11, C22, C12):
    """The ten outputs by 2-D Gauss-Legendre quadrature (error ~1e-16 for these smooth integrands)."""
    z = sp.Symbol("z")
    e = sp.sympify(expr, locals={"z": z})
    f = [sp.lambdify(z, sp.diff(e, z, k), modules=["scipy", "numpy"]) for k in range(5)]
    X, w = _grid()
    a, b = np.sqrt(C11), np.sqrt(C22)
    rho = C12 / (a * b) if a * b > 0 else 0.0
    s = np.sqrt(max(1 - rho * rho, 0.0))
    u1, u2 = a * X[:, None], b * (rho * X[:, None] + s * X[None, :])
    out = []
    for name in NAMES:
        kA, kB, fac = PRICE[name]
        FA = np.broadcast_to(f[kA](u1), u2.shape)
        FB = np.broadcast_to(f[kB](u2), u2.shape)
        out.append(fac * (w @ (FA * FB) @ w))
    return out


@pytest.mark.parametrize("name", list(EXPRS))
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


@pytest.mark.slow
def test_mp_route_loss():
    """copyavg.numeric.mp for an expression: the loss of one neuron against one, at 20 digits."""
    from copyavg.numeric.mp import loss_mp

    a, W, b, V = [0.7], [[0.6, 0.5]], [1.0], [[1.0, 0.0]]
    got = loss_mp(a, W, b, V, "sin(z)", dps=20)
    assert abs(float(got) - loss(np.array(a), np.array(W), np.array(b), np.array(V), "sin")) <= 1e-12
