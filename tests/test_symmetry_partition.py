"""Symmetry blocks at CA points with several averaging groups (copyavg.numeric.symmetry_partition).

Independent route: ``Problem.hessian`` of the full network (all neuron pairs; its entries are
checked against 50-digit Hessians in tests/test_erf_hessian.py and, at collinear ReLU neurons,
tests/test_collinear_hessian.py) and ``np.linalg.eigvalsh``, no symmetry used. Eigenvalue
multisets are compared after sorting to relative 1e-10 of ``||H||_2``: both are backward-stable
float64 eigenvalue computations (error ~ sqrt(N) eps ||H|| <= 1e-13 ||H|| at these sizes), so a
wrong block entry, basis vector or multiplicity shows at O(1) while rounding stays ~1000x below.
"""

import numpy as np
import pytest

import copyavg.numeric.symmetry_partition as sp
from copyavg.numeric.one_neuron import ca_configuration
from copyavg.numeric.population import Problem
from copyavg.numeric.references import ca_point

#: relative to ||H||_2, see the module docstring
RTOL = 1e-10


def _dense(activation, parts, d, point=None):
    k = sum(parts)
    if point is None:
        a, W, _, _ = ca_configuration(activation, parts, d=d)
    else:
        a, W = point
    return np.linalg.eigvalsh(Problem(np.ones(k), np.eye(k, d), activation).hessian(a, W))


def _gap(parts, activation="erf2", d=None, point=None):
    k = sum(parts)
    d = k + 1 if d is None else d
    dense = _dense(activation, parts, d, point)
    lam, mult = sp.partition_spectrum(parts, activation, d, point)
    ours = np.sort(np.repeat(lam, mult))
    assert len(ours) == len(dense)
    return float(np.max(np.abs(ours - dense)) / np.max(np.abs(dense)))


def _sizes(parts):
    return sorted((b.sector, b.irrep, len(b.matrix)) for b in sp.partition_blocks(parts))


# k = 5, 10, 20; copies alone, groups alone, one to four classes, class counts 1..12 (below and
# above the thresholds 2, 3, 4 where standard, wedge and sym2 components appear)
PARTITIONS = [(1, 1, 1, 2), (2, 3), (1, 4), (1, 1, 1, 1, 1),
              (1, 1, 1, 1, 2, 2, 2), (1, 1, 3, 5), (2, 2, 2, 2, 2),
              (1,) * 12 + (2, 2, 4), (1, 1, 2, 2, 3, 3, 3, 5)]


@pytest.mark.parametrize("parts", PARTITIONS)
def test_blocks_match_dense_spectrum(parts):
    assert _gap(parts) < RTOL


def test_other_activation_input_dimension_and_product_route(monkeypatch):
    """erf(z) at d = k + 3 (sector x thrice); Hessian-vector products instead of the dense Hessian."""
    assert _gap((1, 1, 2, 3), "erf", d=10) < RTOL
    monkeypatch.setattr(sp, "DENSE_MAX", 10)
    assert _gap((1, 1, 1, 1, 1, 2, 2, 3)) < RTOL


def test_relu_point_with_collinear_copies():
    """ReLU: the joint CA optimum (not critical: groups interact through the mean), copies collinear
    with their teacher neurons; the dense route uses the weight-space collinear Hessian."""
    parts = (1, 1, 1, 2, 3)
    r = ca_point("relu", parts)
    assert _gap(parts, "relu", point=(r["a"], r["W"])) < RTOL


def test_block_sizes_do_not_depend_on_k():
    ref = _sizes((1,) * 6 + (2, 2))  # k = 10
    assert _sizes((1,) * 16 + (2, 2)) == ref  # k = 20
    assert max(s for *_, s in ref) <= 8


def test_block_sizes_do_not_depend_on_k_50(monkeypatch):
    monkeypatch.setattr(sp, "DENSE_MAX", 10)  # Hessian-vector products: no dense 2496^2 Hessian
    assert _sizes((1,) * 46 + (2, 2)) == _sizes((1,) * 6 + (2, 2))


@pytest.mark.slow
@pytest.mark.heavy
def test_spectrum_k50():
    """The dense Hessian at k = 50 (n = 48, N = 2496): seconds."""
    for parts in ((1,) * 46 + (2, 2), (1,) * 20 + (3,) * 6 + (4, 4)):
        assert _gap(parts) < RTOL


def test_classification_counts():
    c = sp.partition_classification((1, 1, 3))
    assert c["n_negative"] + c["n_zero"] + c["n_positive"] == 3 + 3 * 6
    assert sum(b["size"] * b["multiplicity"] for b in c["blocks"]) == 3 + 3 * 6
    for rtol in (2.0, 0.0, -0.1):  # the open range (0, 1): both ends and a negative value
        with pytest.raises(ValueError, match="rtol"):
            sp.partition_classification((1, 2), rtol=rtol)


def test_bad_input():
    with pytest.raises(ValueError, match="d must be"):
        sp.partition_blocks((1, 2), d=2)
    a, W, _, _ = ca_configuration("erf2", (1, 1, 2))
    a[1] += 0.1  # two copies with different outgoing weights
    with pytest.raises(ValueError, match="CA symmetry"):
        sp.partition_blocks((1, 1, 2), point=(a, W))
    with pytest.raises(ValueError, match="point must be"):
        sp.partition_blocks((1, 1, 2), point=(a[:2], W))
    with pytest.raises(ValueError, match="partition|m_i|group"):
        sp.partition_blocks("1,0")


def test_cli_ca_blocks(capsys):
    """``copyavg ca --blocks``: the blocks' inertia equals the dense inertia the command prints."""
    import json

    from copyavg.cli.main import main as cli

    assert cli(["ca", "--k", "6", "--partition", "1,1,2,2", "--blocks", "--json", "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out)
    blocks = out["blocks"].values()
    assert sum(b["size"] * b["multiplicity"] for b in blocks) == 4 + 4 * 7
    assert min(b["eig_min"] for b in blocks) == pytest.approx(out["hessian_eigs_min"], abs=1e-10)
