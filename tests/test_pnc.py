"""P-n-C family and thresholds vs an independent high-precision computation.

The independent route writes the loss restricted to the family directly from the kernel (no
full network): with q = alpha^2 + (n-1) gamma^2 + (k-n) beta^2 and
C = 2 alpha gamma + (n-2) gamma^2 + (k-n) beta^2 (student-student overlap),

    L = n c^2 s(q) + n(n-1) c^2 g(q, q, C)
        - 2 c n [ g(q, 1, alpha) + (n-1) g(q, 1, gamma) + (k-n) g(q, 1, beta) ]
        + k s(1) + k(k-1) g(1, 1, 0)      (the last term vanishes for odd activations),

and solves its stationarity equations with mpmath at 40 digits (numerical derivatives by
mpmath.diff at that precision).
"""

import json

import mpmath
import numpy as np
import pytest

from copyavg.cli.main import main as cli
from copyavg.numeric.mp import gradient_mp, pair_kernel_mp
from copyavg.numeric.pnc import optimal_ca_point, solve_pnc, summarize_thresholds, threshold_table, unpack


def _reduced_loss_mp(k, n, x, act="erf2"):
    al, be, ga, c = x
    g = lambda a, b, cc: pair_kernel_mp(act, a, b, cc, 0)  # noqa: E731
    q = al**2 + (n - 1) * ga**2 + (k - n) * be**2
    C = 2 * al * ga + (n - 2) * ga**2 + (k - n) * be**2
    return (n * c**2 * g(q, q, q) + n * (n - 1) * c**2 * g(q, q, C)
            - 2 * c * n * (g(q, 1, al) + (n - 1) * g(q, 1, ga) + (k - n) * g(q, 1, be))
            + k * g(1, 1, 1) + k * (k - 1) * g(1, 1, 0))


def _solve_mp(k, n, x0, dps=40, act="erf2"):
    with mpmath.workdps(dps):
        f = lambda *x: _reduced_loss_mp(k, n, x, act)  # noqa: E731
        grad = lambda *x: [mpmath.diff(f, x, tuple(int(i == j) for j in range(4))) for i in range(4)]  # noqa: E731
        x = [mpmath.mpf(v) for v in x0]
        for _ in range(6):
            x = list(mpmath.findroot(grad, x, tol=mpmath.mpf(10) ** (-2 * dps), verify=False))
        return x, f(*x), max(abs(v) for v in grad(*x))


@pytest.mark.parametrize("k,n", [(10, 5), (10, 8), pytest.param(50, 25, marks=pytest.mark.slow)])
def test_pnc_matches_independent_reduced_solution(capsys, k, n):
    assert cli(["pnc", "--k", str(k), "--n", str(n), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    # start the independent solver 1e-3 away from the reported point: it must find the same root
    x0 = [out["alpha"] + 1e-3, out["beta"] - 1e-3, out["gamma"] + 1e-3, out["c"] * 1.001]
    x, L, res = _solve_mp(k, n, x0)
    assert res < 1e-25
    for name, v in zip(("alpha", "beta", "gamma", "c"), x):
        # float64 Newton on a well-conditioned 4x4 system: ~1e-13 agreement expected
        assert abs(out[name] - float(v)) < 1e-10, name
    assert abs(out["loss"] - float(L)) < 1e-13 * max(1.0, float(L))
    assert out["grad_max"] < 1e-12  # a critical point of the full loss, not only of the family


def test_pnc_without_classification_matches_independent_reduced_solution():
    """``classify=False`` (the endpoint classifier's reference point) skips the full spectrum only."""
    p = solve_pnc(10, 5, classify=False)
    assert p.classification is None and np.isnan(p.eig_min) and np.isnan(p.eig_max)
    x, L, res = _solve_mp(10, 5, [p.alpha + 1e-3, p.beta - 1e-3, p.gamma + 1e-3, p.c * 1.001])
    assert res < 1e-25
    for v, ref in zip((p.alpha, p.beta, p.gamma, p.c), x):
        assert abs(v - float(ref)) < 1e-10  # float64 Newton on a well-conditioned 4x4 system (~1e-13)
    assert abs(p.loss - float(L)) < 1e-13 * max(1.0, float(L))
    assert p.grad_max < 1e-12  # a critical point of the full loss


@pytest.mark.parametrize("act,k,n", [("relu", 10, 5), ("leaky_relu", 10, 5), ("abs", 5, 3), ("abs", 10, 5),
                                     ("relu", 6, 3), ("relu", 20, 9)])
def test_pnc_piecewise_linear_matches_independent_reduced_solution(capsys, act, k, n):
    """The solve's Newton steps use the Hessian, which exists at collinear neurons (for abs the
    P-n-C point is the n-copy point itself, beta = gamma = 0: students collinear with teachers)."""
    assert cli(["pnc", "--activation", act, "--k", str(k), "--n", str(n), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    x0 = [out["alpha"] + 1e-3, out["beta"] - 1e-3, out["gamma"] + 1e-3, out["c"] * 1.001]
    x, L, res = _solve_mp(k, n, x0, act=act)
    assert res < 1e-25
    # positive homogeneity: (alpha, beta, gamma)/s, c s is the same point; copyavg reports the
    # balanced one, |c| = |w_i|. Compare that, and the scale-free products c * alpha etc.
    al, be, ga, c = x
    w = mpmath.sqrt(al**2 + (n - 1) * ga**2 + (k - n) * be**2)
    s = mpmath.sqrt(w / abs(c))
    for name, v in zip(("alpha", "beta", "gamma", "c"), (al / s, be / s, ga / s, c * s)):
        assert abs(out[name] - float(v)) < 1e-10, name  # as for erf2: ~1e-13 from float64 Newton
    for name, v in zip(("alpha", "beta", "gamma"), (al, be, ga)):
        assert abs(out[name] * out["c"] - float(v * c)) < 1e-10, name
    assert abs(out["loss"] - float(L)) < 1e-13 * max(1.0, float(L))
    assert out["grad_max"] < 1e-12


def test_pnc_without_a_solution_is_a_one_line_error(capsys, monkeypatch):
    from copyavg.numeric import NonDifferentiableError
    from copyavg.numeric.population import Problem

    def no_hessian(self, a, W):
        raise NonDifferentiableError("no Hessian here")

    monkeypatch.setattr(Problem, "hessian", no_hessian)
    assert cli(["pnc", "--activation", "abs", "--k", "10", "--n", "5", "--json"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no P-n-C point found for activation 'abs'" in err


def _fd_hessian_mp(k, act, point, dps=30, h="1e-12"):
    """Hessian by central differences of the 30-digit full gradient (truncation ~h^2 ~ 1e-24 at
    the P-n-C points, which are not collinear except for abs, where the error is O(h) = 1e-12)."""
    a, W = point
    nn, d = W.shape
    b, V = [1] * k, np.eye(k, d).tolist()
    theta = [mpmath.mpf(v) for v in np.concatenate([a, W.ravel()])]
    H = np.zeros((len(theta), len(theta)))
    with mpmath.workdps(dps):
        hh = mpmath.mpf(h)
        for col in range(len(theta)):
            grads = []
            for sgn in (1, -1):
                th = list(theta)
                th[col] += sgn * hh
                ga, gW = gradient_mp(th[:nn], [th[nn + i * d:nn + (i + 1) * d] for i in range(nn)], b, V, act, dps)
                grads.append(ga + [v for row in gW for v in row])
            H[:, col] = [float((p - m) / (2 * hh)) for p, m in zip(*grads)]
    return H


@pytest.mark.parametrize("act,k", [("relu", 6), ("abs", 5), ("leaky_relu", 5)])
def test_piecewise_linear_thresholds_against_difference_hessians(capsys, act, k):
    """``copyavg thresholds`` for the piecewise-linear family: every P-n-C point is critical, and
    its type agrees with the inertia of a Hessian from differences of the 30-digit gradient."""
    from copyavg.numeric.classify import hessian_inertia

    assert cli(["thresholds", "--activation", act, "--k", str(k), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [r["n"] for r in rows] == list(range(1, k))
    for r in rows:
        assert r["pnc_grad_max"] < 1e-12
        p = solve_pnc(k, r["n"], activation=act)
        point = unpack([p.alpha, p.beta, p.gamma, p.c], k, r["n"], k + 1)
        H = _fd_hessian_mp(k, act, point)
        # the same classification rule on the independent Hessian: its entries agree with the
        # float Hessian to ~1e-12, far inside the 1e-11 * ||H|| inertia tolerance margin used
        assert hessian_inertia(H, *point, act).classification == r["pnc_type"], r["n"]


def _mp_min_eig(k, n, x_or_point, dps=30, h="1e-12"):
    """Smallest Hessian eigenvalue by central differences of the 30-digit full gradient."""
    a, W = x_or_point
    b = [1] * k
    V = np.eye(k, k + 1)
    nn, d = W.shape
    theta = [mpmath.mpf(v) for v in np.concatenate([a, W.ravel()])]
    N = len(theta)
    H = np.zeros((N, N))
    with mpmath.workdps(dps):
        hh = mpmath.mpf(h)
        for col in range(N):
            grads = []
            for sgn in (1, -1):
                th = list(theta)
                th[col] += sgn * hh
                ga, gW = gradient_mp(th[:nn], [th[nn + i * d:nn + (i + 1) * d] for i in range(nn)], b, V, "erf2", dps)
                grads.append(ga + [v for row in gW for v in row])
            H[:, col] = [float((p - m) / (2 * hh)) for p, m in zip(*grads)]
    return float(np.linalg.eigvalsh(0.5 * (H + H.T))[0])


@pytest.mark.slow
def test_threshold_table_k10_against_high_precision_eigenvalues():
    rows = threshold_table(10)
    summary = summarize_thresholds(rows)
    assert summary["loss_crossings"] and summary["ca_type_changes"]
    from copyavg.numeric.one_neuron import ca_configuration

    for r in rows:
        if r["n"] == 1:
            continue
        p = solve_pnc(10, r["n"])
        lam = _mp_min_eig(10, r["n"], unpack([p.alpha, p.beta, p.gamma, p.c], 10, r["n"], 11))
        # the sign decides minimum vs saddle; the float eigenvalue agrees to ~1e-9 (FD error ~h^2)
        assert abs(lam - r["pnc_eig_min"]) < 1e-8
        assert (lam < 0) == (r["pnc_type"] == "saddle")
        a, W, b, V = ca_configuration("erf2", (1,) * (r["n"] - 1) + (10 - r["n"] + 1,))
        lam_ca = _mp_min_eig(10, r["n"], (a, W))
        assert abs(lam_ca - r["ca_eig_min"]) < 1e-8
        assert (lam_ca < 0) == (r["ca_type"] == "saddle")


def test_optimal_ca_point_loss_is_lstar():
    from copyavg.numeric.one_neuron import one_neuron

    for n in (1, 3, 9):
        assert abs(optimal_ca_point(10, n)["loss"] - one_neuron("erf2", 10 - n + 1)["loss"]) < 1e-13


def test_bad_sizes():
    with pytest.raises(ValueError, match="n must be < k"):
        solve_pnc(5, 5)
    with pytest.raises(ValueError, match="d must be"):
        solve_pnc(5, 2, d=3)


def _mp_rayleigh(k, point, u, dps=30, h="1e-12"):
    """Rayleigh quotient and residual norm of ``u`` for the Hessian at ``point``, the Hessian-vector
    product taken by central differences of the 30-digit gradient (step 1e-12: truncation ~1e-24,
    rounding ~1e-18), i.e. independent of the float Hessian assembly."""
    a, W = point
    nn, d = W.shape
    b, V = [1] * k, np.eye(k, d).tolist()
    theta = np.concatenate([a, W.ravel()])
    with mpmath.workdps(dps):
        hh = mpmath.mpf(h)
        grads = []
        for sgn in (1, -1):
            th = [mpmath.mpf(t) + sgn * hh * mpmath.mpf(ui) for t, ui in zip(theta, u)]
            ga, gW = gradient_mp(th[:nn], [th[nn + i * d:nn + (i + 1) * d] for i in range(nn)], b, V, "erf2", dps)
            grads.append(ga + [v for row in gW for v in row])
        Hu = [(p - m) / (2 * hh) for p, m in zip(*grads)]
        uu = mpmath.fsum(mpmath.mpf(x) ** 2 for x in u)
        rho = mpmath.fsum(mpmath.mpf(x) * y for x, y in zip(u, Hu)) / uu
        res = mpmath.sqrt(mpmath.fsum((y - rho * mpmath.mpf(x)) ** 2 for x, y in zip(u, Hu)) / uu)
        return float(rho), float(res)


@pytest.mark.slow
def test_threshold_table_k50_change_points_against_high_precision():
    """The k = 50 table's change points (P-n-C saddle -> minimum, optimal CA minimum -> saddle, the
    loss crossing) checked on both sides by independent routes: P-n-C losses from the 40-digit
    reduced solve, L*(m) from its closed form in mpmath, and the smallest Hessian eigenvalue's
    sign from a 30-digit Rayleigh quotient of the float eigenvector with its residual."""
    from copyavg.numeric.one_neuron import ca_configuration
    from copyavg.numeric.population import Problem

    k, ns = 50, [21, 22, 37, 38, 44, 45]
    rows = {r["n"]: r for r in threshold_table(k, ns=ns)}
    s = summarize_thresholds([rows[n] for n in ns])
    assert "saddle (n = 21) -> minimum (n = 22)" in s["pnc_type_changes"]
    assert "minimum (n = 44) -> saddle (n = 45)" in s["ca_type_changes"]
    assert "between n = 37 and n = 38" in s["loss_crossings"]
    P = Problem(np.ones(k), np.eye(k, k + 1), "erf2")
    with mpmath.workdps(40):
        lstar = lambda m: m / mpmath.mpf(3) - 2 / mpmath.pi * m**2 * mpmath.asin(1 / mpmath.mpf(2 * m))  # noqa: E731
        for n in (37, 38):
            p = solve_pnc(k, n)
            _, L_pnc, res = _solve_mp(k, n, [p.alpha + 1e-4, p.beta, p.gamma, p.c])
            assert res < 1e-25
            diff = L_pnc - lstar(k - n + 1)  # |diff| ~ 6e-4, both sides known to ~1e-30
            assert abs(float(diff) - (rows[n]["pnc_loss"] - rows[n]["ca_loss"])) < 1e-12
            assert (diff < 0) == (n == 38)
    for n in (21, 22, 44, 45):
        pnc = solve_pnc(k, n)
        a, W, _, _ = ca_configuration("erf2", (1,) * (n - 1) + (k - n + 1,))
        for point, key in ((unpack([pnc.alpha, pnc.beta, pnc.gamma, pnc.c], k, n, k + 1), "pnc"), ((a, W), "ca")):
            H = P.hessian(*point)
            lam, vec = np.linalg.eigh(H)
            rho, res = _mp_rayleigh(k, point, vec[:, 0])
            # the smallest eigenvalue is multiple (permutations of the copies); the next distinct
            # one lies >= 1e-4 above it. The 30-digit Hessian has an eigenvalue within `res` of
            # rho (residual bound for symmetric matrices), so rho's sign is that eigenvalue's sign.
            cluster = int(np.sum(lam < lam[0] + 1e-9))
            assert lam[cluster] - lam[0] > 1e-4 and res < 1e-9
            assert abs(rho - rows[n][f"{key}_eig_min"]) < 1e-9
            assert abs(rho) > 10 * res  # the sign is decided
            assert (rho < 0) == (rows[n][f"{key}_type"] == "saddle")


@pytest.mark.slow
@pytest.mark.parametrize("act", ["relu", "abs", "leaky_relu"])
def test_piecewise_linear_pnc_solves_for_k_5_to_20(act):
    """Every P-n-C point of the piecewise-linear family for k = 5..20, n < k is found and critical
    (float64 Newton with the exact Hessian: max|grad| ~ 1e-14), with a definite type (about 1 min
    per activation)."""
    for k in range(5, 21):
        for n in range(1, k):
            p = solve_pnc(k, n, activation=act)
            assert p.grad_max < 1e-12, (k, n, p.grad_max)
            assert p.classification in ("minimum", "saddle"), (k, n, p.classification)
