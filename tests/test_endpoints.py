"""Embedded endpoints (inactive, duplicated, split neurons) and the endpoint Hessian type.

References come from routes independent of the code under test: copy-average points built from
the closed-form one-neuron optimum (``ca_configuration``), embedded in a wider student by hand
(an inactive, a duplicated or a split neuron), and Hessian inertia from central differences of
the exact gradient.
"""

import numpy as np
import pytest

from copyavg.experiments.sweep import RunSpec, run_one
from copyavg.numeric import Problem, diag_kernel
from copyavg.numeric.effective import effective_network, endpoint_inertia
from copyavg.numeric.endpoints import classify_endpoint
from copyavg.numeric.one_neuron import ca_configuration


def _problem(k, d, activation):
    return Problem(np.ones(k), np.eye(k, d), activation)


def _grad_max(P, a, W):
    ga, gW = P.gradient(a, W)
    return float(max(np.abs(ga).max(), np.abs(gW).max()))


def _fd_eigenvalues(P, a, W, h=1e-5):
    """Eigenvalues of the Hessian by central differences of the exact gradient."""
    n, d = W.shape
    theta = np.concatenate([a, W.ravel()])

    def grad(t):
        ga, gW = P.gradient(t[:n], t[n:].reshape(n, d))
        return np.concatenate([ga, gW.ravel()])

    H = np.empty((len(theta), len(theta)))
    for i in range(len(theta)):
        e = np.zeros_like(theta)
        e[i] = h
        H[:, i] = (grad(theta + e) - grad(theta - e)) / (2 * h)
    return np.linalg.eigvalsh(0.5 * (H + H.T))


def _check_inertia_by_differences(P, a, W, inert, gap=1e-7):
    """The float inertia counts equal those of the difference Hessian (zero: |lambda| <= gap)."""
    lam = _fd_eigenvalues(P, a, W)
    counts = (int(np.sum(lam < -gap)), int(np.sum(np.abs(lam) <= gap)), int(np.sum(lam > gap)))
    assert counts == (inert.n_negative, inert.n_zero, inert.n_positive), (counts, lam[:10])


def test_erf_k6_optimal_ca_of_width_4_plus_an_inactive_neuron():
    """erf, k = 6, n = 5, d = 6: the optimal CA point of width 4 with a fifth neuron a = 0 (any w)."""
    a4, W4, _, _ = ca_configuration("erf", (3, 1, 1, 1), d=6)
    rng = np.random.default_rng(0)
    a = np.insert(a4, 2, 0.0)
    W = np.insert(W4, 2, rng.normal(size=6), axis=0)
    P = _problem(6, 6, "erf")
    assert _grad_max(P, a4, W4) <= 1e-13 and P.loss(a, W) == pytest.approx(P.loss(a4, W4), abs=1e-15)
    ep = classify_endpoint(a, W, 6, "erf")
    assert ep.kind == "ca-optimal" and ep.partition == (3, 1, 1, 1) and ep.distance <= 1e-12
    assert ep.width == 4 and ep.reduction == {"inactive": [2], "merged": []}
    assert classify_endpoint(a4, W4, 6, "erf").width == 4 and classify_endpoint(a4, W4, 6, "erf").reduction is None
    # a small but clearly active fifth neuron is not dropped: not a CA point of any width
    a[2] = 1e-3
    assert classify_endpoint(a, W, 6, "erf").kind == "other"


def test_erf_k6_n5_seed13_flow_ends_embedded_and_degenerate():
    """The sweep run that ended "other": optimal CA of width 4 plus an inactive neuron, a
    degenerate critical point with d = 6 zero modes (the free w of the inactive neuron), which is
    not a local minimum: a_1 = -G / (2 s) lowers the loss wherever G = dL/da_1 is not zero."""
    r = run_one(RunSpec("erf", 6, 5, 6, 13))
    assert r["status"] == "converged" and r["grad_max"] <= 1e-12
    assert r["endpoint"] == "ca-optimal" and r["partition"] == [3, 1, 1, 1]
    assert r["effective_width"] == 4 and r["reduction"] == {"inactive": [1], "merged": []}
    assert r["hessian_type"] == "degenerate"
    assert (r["inertia"]["negative"], r["inertia"]["zero"], r["inertia"]["symmetry_zero"]) == (0, 6, 0)
    a, W = np.array(r["a"]), np.array(r["W"])
    P = _problem(6, 6, "erf")
    inert = endpoint_inertia(P.hessian(a, W), a, W, "erf")
    _check_inertia_by_differences(P, a, W, inert)
    a0 = a.copy()
    a0[1] = 0.0
    W1 = W.copy()
    W1[1] += 1e-2 * np.random.default_rng(1).normal(size=6)
    G = P.gradient(a0, W1)[0][1]  # dL/da_1 at a_1 = 0: L = L0 + a_1 G + a_1^2 s
    assert abs(G) > 1e-8
    s = float(diag_kernel("erf", W1[1] @ W1[1])[0])
    a1 = a0.copy()
    a1[1] = -G / (2 * s)
    assert P.loss(a0, W1) == P.loss(a0, W)
    assert P.loss(a1, W1) == pytest.approx(P.loss(a0, W) - G * G / (4 * s), rel=1e-14, abs=1e-16)
    assert P.loss(a1, W1) < P.loss(a0, W)


def test_erf2_duplicated_neuron_is_merged():
    """erf2, k = 5: the optimal CA point of width 2 with a neuron split into two equal copies
    (a_i + a_j), and into w and -w (odd: a_i - a_j)."""
    a2, W2, _, _ = ca_configuration("erf2", (4, 1), d=6)
    P = _problem(5, 6, "erf2")
    for idx, (s1, s2), sign in ((0, (0.3, 0.7), 1.0), (1, (1.5, -0.5), 1.0), (0, (0.6, 0.4), -1.0)):
        a = np.r_[a2, s2 * a2[idx] * sign]
        a[idx] = s1 * a2[idx]
        W = np.vstack([W2, sign * W2[idx]])
        assert _grad_max(P, a, W) <= 1e-13  # a critical point, as the merged one
        ep = classify_endpoint(a, W, 5, "erf2")
        assert ep.kind == "ca-optimal" and ep.partition == (4, 1) and ep.distance <= 1e-12
        assert ep.width == 2 and ep.reduction == {"inactive": [], "merged": [[idx, 2]]}
        inert = endpoint_inertia(P.hessian(a, W), a, W, "erf2")
        assert inert.n_symmetry_zero == 1  # the transfer of output weight inside the pair
        _check_inertia_by_differences(P, a, W, inert)
    # split of the averaging neuron with weights of one sign: a saddle (eigenvalues of both signs)
    a = np.r_[0.3 * a2[0], a2[1], 0.7 * a2[0]]
    W = np.vstack([W2, W2[0]])
    assert endpoint_inertia(P.hessian(a, W), a, W, "erf2").classification == "saddle"
    # cancelling duplicates are inactive; neurons 1e-3 apart are not merged
    w = np.random.default_rng(2).normal(size=6)
    a = np.r_[a2, 0.5, -0.5]
    W = np.vstack([W2, w, w])
    ep = classify_endpoint(a, W, 5, "erf2")
    assert (ep.kind, ep.width, ep.reduction) == ("ca-optimal", 2, {"inactive": [2, 3], "merged": []})
    W[3, 5] += 1e-3
    assert effective_network(a, W, "erf2").width == 4


def test_relu_split_neurons_from_the_flow_and_by_hand():
    """relu, k = 10, n = 4, seed 3 ends with two positively collinear neurons: merged by hand
    (a_1|w_1| + a_2|w_2| along w_1) it is a critical point of width 3, classified the same; a second
    split of that width-3 point, built by hand, is recognised too."""
    r = run_one(RunSpec("relu", 10, 4, 11, 3))
    assert r["status"] == "converged" and r["grad_max"] <= 1e-12
    a, W = np.array(r["a"]), np.array(r["W"])
    n1, n2 = np.linalg.norm(W[1]), np.linalg.norm(W[2])
    assert np.linalg.norm(W[1] / n1 - W[2] / n2) < 1e-9
    a3 = np.array([a[0], a[1] + a[2] * n2 / n1, a[3]])
    W3 = W[[0, 1, 3]]
    P = _problem(10, 11, "relu")
    assert _grad_max(P, a3, W3) <= 1e-12 and P.loss(a3, W3) == pytest.approx(r["loss"], abs=1e-13)
    ref = classify_endpoint(a3, W3, 10, "relu")
    assert ref.kind == "near-ca-optimal" and ref.partition == (8, 1, 1) and ref.reduction is None
    assert (r["endpoint"], r["partition"], r["effective_width"]) == (ref.kind, list(ref.partition), 3)
    assert r["reduction"] == {"inactive": [], "merged": [[1, 2]]}
    # minimum: the zero modes are the 4 rescalings and the transfer inside the pair
    assert r["hessian_type"] == "minimum" and r["inertia"]["zero"] == r["inertia"]["symmetry_zero"] == 5
    _check_inertia_by_differences(P, a, W, endpoint_inertia(P.hessian(a, W), a, W, "relu"))
    # by hand: neuron 2 of the width-3 point split into (w, 0.4 w) with output weights of both signs
    t = 0.4
    a4 = np.r_[a3, -0.5 * a3[2] / t]
    a4[2] = 1.5 * a3[2]
    W4 = np.vstack([W3, t * W3[2]])
    assert _grad_max(P, a4, W4) <= 1e-12
    ep = classify_endpoint(a4, W4, 10, "relu")
    assert (ep.kind, ep.partition, ep.width) == (ref.kind, ref.partition, 3)
    assert ep.reduction == {"inactive": [], "merged": [[2, 3]]}
    # ReLU is not odd: an antiparallel neuron is a different neuron
    assert effective_network(a4, np.vstack([W3, -t * W3[2]]), "relu").width == 4


def test_sweep_records_carry_inertia_and_the_table_shows_the_type(tmp_path):
    """Through the store: the endpoint inertia (against difference eigenvalues), the Hessian type,
    the effective width; the endpoint table shows the embedded fraction and the types, and "n/a" for
    records written before these fields existed."""
    from copyavg.experiments.plot import markdown_fractions
    from copyavg.experiments.store import read_results
    from copyavg.experiments.sweep import sweep

    out = str(tmp_path / "r.sqlite")
    specs = [RunSpec("erf", 6, 5, 6, 13), RunSpec("erf2", 5, 2, 6, 0)]
    assert sweep(specs, out, workers=1, quiet=True) == 2
    recs = {r["activation"]: r for r in read_results(out)}
    for act, r in recs.items():
        inert = r["inertia"]
        assert set(inert) >= {"negative", "zero", "positive", "symmetry_zero", "tol"}
        assert inert["negative"] + inert["zero"] + inert["positive"] == r["n"] * (1 + r["d"])
        assert 0 < inert["tol"] <= 1e-11 * max(1.0, abs(inert["eig_max"])) * (1 + 1e-12)
        P = _problem(r["k"], r["d"], act)
        a, W = np.array(r["a"]), np.array(r["W"])
        _check_inertia_by_differences(P, a, W, endpoint_inertia(P.hessian(a, W), a, W, act))
    assert (recs["erf"]["hessian_type"], recs["erf"]["effective_width"]) == ("degenerate", 4)
    assert (recs["erf2"]["hessian_type"], recs["erf2"]["effective_width"], recs["erf2"]["reduction"]) == \
        ("minimum", 2, None)
    lines = markdown_fractions(out).splitlines()
    head = [c.strip() for c in lines[0].strip("|").split("|")]
    row = {act: dict(zip(head, (c.strip() for c in line.strip("|").split("|"))))
           for act in recs for line in lines if line.startswith(f"| {act} |")}
    assert (row["erf"]["ca-optimal"], row["erf"]["embedded"], row["erf"]["degenerate"]) == ("1.00", "1.00", "1.00")
    assert (row["erf2"]["embedded"], row["erf2"]["minimum"], row["erf2"]["degenerate"]) == ("0.00", "1.00", "0.00")
    old = {k: v for k, v in recs["erf"].items() if k not in ("inertia", "hessian_type", "reduction", "effective_width")}
    old_row = markdown_fractions([old]).splitlines()[2]
    assert old_row.count("n/a") == 4


def test_pnc_reference_is_remembered_and_unchanged():
    # the P-n-C point of solve_pnc (k = 20, n = 10, d = 21; cosines 0.97 > COPY_COSINE), with its
    # teacher columns permuted and perturbed by 1e-9: classified "pnc" at distance ~1e-9 both
    # times; the second call reuses the remembered reference point (a cache hit) and gives the same
    # distance to the last bit
    from copyavg.numeric import endpoints
    from copyavg.numeric.pnc import solve_pnc, unpack

    k, n, d = 20, 10, 21
    p = solve_pnc(k, n, d)
    a, W = unpack([p.alpha, p.beta, p.gamma, p.c], k, n, d)
    perm = np.r_[np.arange(k)[::-1], k]  # student i copies teacher k - 1 - i
    W = W[:, np.argsort(perm)] + 1e-9
    endpoints._pnc_reference.cache_clear()
    e1 = classify_endpoint(a, W, k, "erf2")
    e2 = classify_endpoint(a, W, k, "erf2")
    info = endpoints._pnc_reference.cache_info()
    assert e1.kind == e2.kind == "pnc" and info.misses == 1 and info.hits == 1
    assert e1.distance == e2.distance and e1.distance < 1e-7  # |perturbation| = 1e-9 * sqrt(210)


def test_overlapping_groups_are_not_a_ca_point():
    """Each student sits exactly at the m = 2 group point of its own support, but the supports
    {1, 2} and {2, 3} overlap (k = 3): not a partition of the teachers, so not a CA point, although
    every row equals its group reference (distance 0 row by row)."""
    from copyavg.numeric.one_neuron import average_point

    norm, a_avg = average_point("erf2", 2)
    W = np.zeros((2, 4))
    W[0, [0, 1]] = W[1, [1, 2]] = norm / np.sqrt(2)
    ep = classify_endpoint(np.array([a_avg, a_avg], float), W, 3, "erf2")
    assert ep.kind not in ("ca", "ca-optimal")


def test_abs_merges_antiparallel_neurons_and_keeps_the_function():
    """abs is even: |(-2w).x| = 2|w.x|, so neurons w and -2w are one neuron of output weight
    a_1 + 2 a_2 (ReLU, not even, keeps them apart); the merged network has the same loss (0 up to
    rounding: the same function)."""
    from copyavg.numeric import loss

    a, W = np.array([1.0, 0.5]), np.array([[0.6, 0.8, 0.0], [-1.2, -1.6, 0.0]])
    b, V = np.ones(2), np.eye(3)[:2]
    red = effective_network(a, W, "abs")
    assert red.width == 1 and red.inactive == () and [i for i, _ in red.members[0]] == [0, 1]
    assert red.a[0] == pytest.approx(2.0, rel=1e-12)  # a_1 + 2 a_2, exactly representable
    merged = loss(np.array([2.0]), W[:1], b, V, activation="abs")
    assert loss(a, W, b, V, activation="abs") == pytest.approx(merged, abs=1e-13)
    assert effective_network(a, W, "relu").width == 2
