"""`copyavg one-neuron` and `copyavg ca` against independent high-precision numerics.

The closed forms are checked against an mpmath optimisation of the *full-network* loss
(``copyavg.numeric.mp``, 40 digits), never against themselves.
"""

import json

import mpmath
import numpy as np
import pytest

from copyavg.cli.main import main as cli
from copyavg.numeric.mp import gradient_mp, loss_mp


def _run_json(capsys, argv):
    assert cli(argv) == 0
    return json.loads(capsys.readouterr().out)


def _optimise_one_neuron(activation, m, rho, a0, r0, dps=40):
    """Solve grad L = 0 for (a, |w|) with w along sum_j v_j, d = m + 1, at ``dps`` digits, then
    check the full gradient (all d components) vanishes there."""
    with mpmath.workdps(dps):
        V = [[rho if i == j else 0 for j in range(m + 1)] for i in range(m)]
        b = [1] * m
        u = 1 / mpmath.sqrt(m)

        def W_of(r):
            return [[r * u] * m + [0]]

        def eqs(a, r):
            ga, gW = gradient_mp([a], W_of(r), b, V, activation, dps=dps)
            return [ga[0], sum(gW[0][:m]) * u]

        a, r = mpmath.mpf(a0), mpmath.mpf(r0)
        for _ in range(8):  # restarted Newton (numerical Jacobian): each pass gains digits
            a, r = mpmath.findroot(eqs, (a, r), tol=mpmath.mpf(10) ** (-2 * dps), verify=False)
        ga, gW = gradient_mp([a], W_of(r), b, V, activation, dps=dps)
        full = max(abs(x) for x in [ga[0]] + gW[0])
        return a, r, loss_mp([a], W_of(r), b, V, activation, dps=dps), full


@pytest.mark.parametrize("activation,m,rho", [("erf2", 1, 1), ("erf2", 3, 1), ("erf2", 7, 1), ("erf", 4, 1),
                                              ("erf2", 3, 1.7), ("erf", 2, 0.6)])
def test_one_neuron_erf_family_matches_optimisation(capsys, activation, m, rho):
    out = _run_json(capsys, ["one-neuron", "--activation", activation, "--m", str(m),
                             "--teacher-norm", str(rho), "--json"])
    assert set(out) >= {"activation", "m", "teacher_norm", "norm", "a", "loss", "closed_form"}
    a, r, L, full = _optimise_one_neuron(activation, m, rho, out["a"] * 1.1, out["norm"] * 0.9)
    assert full < 1e-25  # a genuine critical point of the full network
    # float64 closed form vs 40-digit optimum: a few ulps of O(1) quantities
    assert abs(out["a"] - float(a)) < 1e-12 * max(1, abs(float(a)))
    assert abs(out["norm"] - float(r)) < 1e-13
    assert abs(out["loss"] - float(L)) < 1e-13 * max(1.0, m)


@pytest.mark.parametrize("activation,m", [("relu", 2), ("relu", 5), ("leaky_relu", 3)])
def test_one_neuron_relu_family_product(capsys, activation, m):
    out = _run_json(capsys, ["one-neuron", "--activation", activation, "--m", str(m), "--json"])
    assert out["only_product_fixed"] and out["norm"] == 1.0
    # fix |w| = 0.5 and let the optimiser find a: the product a|w| must match
    with mpmath.workdps(40):
        V = [[1 if i == j else 0 for j in range(m + 1)] for i in range(m)]
        u = 1 / mpmath.sqrt(m)
        W = [[mpmath.mpf("0.5") * u] * m + [0]]
        a = mpmath.findroot(lambda a: gradient_mp([a], W, [1] * m, V, activation, dps=40)[0][0], 2 * out["a"])
        L = loss_mp([a], W, [1] * m, V, activation, dps=40)
    assert abs(out["a"] - float(a) * 0.5) < 1e-12 * out["a"]
    assert abs(out["loss"] - float(L)) < 1e-13 * m


def _fd_hessian_eigs(a, W, b, V, activation, h="1e-20", dps=50):
    """Eigenvalues of the Hessian by central differences of the 50-digit gradient (truncation
    error ~h^2 = 1e-40): independent of the float Hessian assembly."""
    n, d = W.shape
    theta = [mpmath.mpf(x) for x in np.concatenate([a, W.ravel()])]
    N = len(theta)
    H = np.zeros((N, N))
    with mpmath.workdps(dps):
        hh = mpmath.mpf(h)
        for c in range(N):
            cols = []
            for sgn in (1, -1):
                th = list(theta)
                th[c] += sgn * hh
                ga, gW = gradient_mp(th[:n], [th[n + i * d:n + (i + 1) * d] for i in range(n)], b, V, activation, dps)
                cols.append(ga + [x for row in gW for x in row])
            H[:, c] = [float((p - q) / (2 * hh)) for p, q in zip(*cols)]
    return np.linalg.eigvalsh(0.5 * (H + H.T))


@pytest.mark.parametrize("k,partition,expected", [(3, "1,2", "minimum"), (4, "2,2", "saddle"), (4, "1,1,2", "minimum")])
def test_ca_matches_high_precision(capsys, k, partition, expected):
    out = _run_json(capsys, ["ca", "--activation", "erf2", "--k", str(k), "--partition", partition, "--json"])
    from copyavg.numeric.one_neuron import ca_configuration

    a, W, b, V = ca_configuration("erf2", partition)
    L = loss_mp(a, W, b, V, "erf2", dps=40)
    assert abs(out["loss"] - float(L)) < 1e-14 * max(1.0, float(L))  # float64 summation of O(1) terms
    assert out["grad_max"] < 1e-13
    eig = _fd_hessian_eigs(a, W, b, V, "erf2")
    # float64 Hessian vs the FD route: both accurate to ~1e-14 relative to the largest eigenvalue
    assert abs(out["hessian_eigs_min"] - eig[0]) < 1e-10 * abs(eig[-1])
    assert abs(out["hessian_eigs_max"] - eig[-1]) < 1e-10 * abs(eig[-1])
    tol = 1e-11 * max(1, abs(eig[-1]))
    independent = "saddle" if (eig < -tol).any() and (eig > tol).any() else ("minimum" if (eig > tol).all() else "other")
    assert out["classification"] == independent == expected


@pytest.mark.parametrize("argv", [
    ["ca", "--k", "5", "--partition", "1,1,2"],          # does not sum to k
    ["ca", "--k", "3", "--partition", "0,3"],            # m < 1
    ["ca", "--k", "3", "--partition", "1,2", "--d", "2"],  # d < k
    ["one-neuron", "--m", "0.5"],                        # m < 1
    ["one-neuron", "--m", "2", "--activation", "tanh(y)"],  # not an expression in z
    ["verify", "no-such-theorem"],
])
def test_bad_arguments_exit_2_with_one_line(capsys, argv):
    assert cli(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "error" in err[0]


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_ca_polish_finds_the_critical_point_near_a_relu_ca_point(capsys, activation):
    """docs/theory.md §9 (claims 16-17): ReLU CA points are not critical; the true critical point next to one is
    found and checked with the 40-digit route (gradient and loss), independently of the float code."""
    k, parts = 5, "1,1,3"
    out = _run_json(capsys, ["ca", "--activation", activation, "--k", str(k), "--partition", parts,
                             "--polish", "--json"])
    assert out["grad_max"] > 1e-2  # the CA point itself is not critical
    p = out["polished"]
    assert p["status"] == "converged" and p["endpoint"] == "near-ca-optimal" and p["endpoint_partition"] == [3, 1, 1]
    b, V = [1] * k, np.eye(k, k + 1).tolist()
    ga, gW = gradient_mp(p["a"], p["W"], b, V, activation, dps=40)
    # the float gradient is <= 1e-12; the 40-digit one differs by float64 rounding of the point only
    assert max(abs(float(x)) for x in list(ga) + [v for row in gW for v in row]) < 1e-11
    assert abs(float(loss_mp(p["a"], p["W"], b, V, activation, dps=40)) - p["loss"]) < 1e-13
    assert p["loss"] < out["loss"] - 0.1  # well below the CA point's loss (0.485 -> 0.333 for ReLU)
    assert p["classification"] == "minimum"


def test_ca_polish_stays_at_an_erf2_ca_point(capsys):
    out = _run_json(capsys, ["ca", "--k", "5", "--partition", "1,1,3", "--polish", "--json"])
    p = out["polished"]
    assert p["status"] == "converged" and p["endpoint"] == "ca-optimal"
    assert p["distance"] < 1e-9 and abs(p["loss_change"]) < 1e-14  # already critical: no move
