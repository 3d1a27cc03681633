"""The erf family's fast ``Problem.loss_and_gradient`` (per-thread scratch buffers, fused steps)
agrees with the general path, falls back to it outside the common case, is thread-safe, and a
``Problem`` stays picklable."""

from __future__ import annotations

import pickle
import threading

import numpy as np
import pytest

from copyavg.numeric import Problem


def _general(P, a, W, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(P, "_erf_loss_and_gradient", lambda a, W: None)
        return P.loss_and_gradient(a, W)


def _point(rng, n, k, d, scale=1.0):
    return (rng.normal(size=n), rng.normal(size=(n, d)) * scale / np.sqrt(d), rng.normal(size=k),
            rng.normal(size=(k, d)) / np.sqrt(d))


@pytest.mark.parametrize("act", ["erf2", "erf"])
@pytest.mark.parametrize("n, k, d", [(1, 1, 1), (3, 2, 4), (25, 50, 51), (70, 5, 8)])
def test_fast_path_matches_general_path(act, n, k, d, monkeypatch):
    rng = np.random.default_rng(n * 1000 + k * 10 + d)
    a, W, b, V = _point(rng, n, k, d)
    P = Problem(b, V, act)
    L, ga, gW = P.loss_and_gradient(a, W)
    L0, ga0, gW0 = _general(P, a, W, monkeypatch)
    assert P._erf_loss_and_gradient(a, W) is not None  # the fast path was taken
    assert L == pytest.approx(L0, rel=1e-13, abs=1e-13)
    np.testing.assert_allclose(ga, ga0, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(gW, gW0, rtol=1e-12, atol=1e-13)
    assert gW.flags.c_contiguous and ga.shape == (n,) and gW.shape == (n, d)


def test_fast_path_declines_outside_common_case():
    rng = np.random.default_rng(1)
    a, W, b, V = _point(rng, 3, 2, 4)
    P = Problem(b, V, "erf2")
    assert P._erf_loss_and_gradient(a, W * 100) is None  # large norms: near-collinear refinement
    assert P._erf_loss_and_gradient(a * 1e150, W) is None  # a beyond the cheap bound
    W[0, 0] = np.nan
    assert P._erf_loss_and_gradient(a, W) is None
    with pytest.raises(ValueError, match="W"):
        P.loss_and_gradient(a, W)


def test_results_are_fresh_arrays():
    rng = np.random.default_rng(2)
    a, W, b, V = _point(rng, 4, 3, 5)
    P = Problem(b, V, "erf2")
    L1, ga1, gW1 = P.loss_and_gradient(a, W)
    keep = ga1.copy(), gW1.copy()
    P.loss_and_gradient(a + 1, W * 0.5)  # the scratch buffers are overwritten
    np.testing.assert_array_equal(ga1, keep[0])
    np.testing.assert_array_equal(gW1, keep[1])


def test_threads_share_a_problem():
    rng = np.random.default_rng(3)
    b, V = rng.normal(size=6), rng.normal(size=(6, 7)) / 3
    P = Problem(b, V, "erf2")
    points = [_point(rng, n, 6, 7)[:2] for n in (2, 5, 2, 9, 5, 9)]
    expected = [P.loss_and_gradient(a, W) for a, W in points]
    errors = []

    def work(i):
        a, W = points[i]
        for _ in range(200):
            L, ga, gW = P.loss_and_gradient(a, W)
            if not (L == expected[i][0] and np.array_equal(ga, expected[i][1])
                    and np.array_equal(gW, expected[i][2])):
                errors.append(i)
                return

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(points))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_problem_pickles():
    rng = np.random.default_rng(4)
    a, W, b, V = _point(rng, 3, 2, 4)
    P = Problem(b, V, "erf2")
    L = P.loss_and_gradient(a, W)[0]
    Q = pickle.loads(pickle.dumps(P))
    assert Q.loss_and_gradient(a, W)[0] == L


@pytest.mark.parametrize("act", ["erf2", "erf", "relu", "linear", "abs", "leaky_relu"])
def test_generated_gradient_kernel_is_pair1_without_g2(act):
    from copyavg.numeric._generated_kernels import GRADIENT, KERNELS

    rng = np.random.default_rng(5)
    C11, C22 = rng.uniform(0.1, 3, size=(4, 1)), rng.uniform(0.1, 3, size=(1, 6))
    C12 = rng.uniform(-1, 1, size=(4, 6)) * np.sqrt(C11 * C22)
    D = np.maximum(C11 * C22 - C12 * C12, 0.0)
    g, g1, _, g3 = KERNELS[act][1](C11, C22, C12, D)
    for x, y in zip(GRADIENT[act](C11, C22, C12, D), (g, g1, g3)):
        np.testing.assert_allclose(np.broadcast_to(x, g.shape), np.broadcast_to(y, g.shape),
                                   rtol=1e-14, atol=1e-15)
