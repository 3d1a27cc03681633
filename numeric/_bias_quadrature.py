r"""Accepted range and node counts of the biased quadrature route for activations given as expressions.

For the ``"quadrature"`` family (tanh, softplus, sigmoid, silu, any SymPy expression in ``z``) the
mean-derivatives ``M[a, b] = E[sigma^(a)(u1) sigma^(b)(u2)]`` come from ``N x N``-node Gauss-Hermite
quadrature in the Cholesky factor (``copyavg.numeric._bias_kernels.quadrature_moments``) with the
derivatives of sigma from ``sympy.diff`` (``copyavg.numeric.series.Compiled``). (gelu has a closed
form, ``copyavg.numeric._bias_gelu``, and the general norm limit.) How many nodes a norm
needs depends on sigma (tanh has poles at ``u = +-i pi/2``: in the Gauss-Hermite variable they
approach the real axis like ``1/|w|``), so it is decided per activation at first use, as
``copyavg.numeric.series`` does for its norms: for each norm of ``TIER_NORMS`` the fewest node
counts of ``TIER_NODES`` whose error estimate - the largest difference to ``3/4`` as many nodes over
every ``M[a, b]`` (``a + b <= 4``) and the self-term derivatives, at ``TEST_RHOS`` x ``TEST_MEANS`` -
is at most ``TOL`` times the scale (the largest ``|M[a, b]|`` there, at least 1). The accepted
``|w|`` is the last norm that passes; larger norms are refused (``ValueError`` naming the argument).
The estimate is made at means ``|m| <= 3``: an expression whose features lie far from the origin
(``tanh(z - 10)``) is not checked there.
"""

from __future__ import annotations

import functools

import numpy as np

#: norms |w| tried, in order, and node counts per dimension tried for each (never fewer than before)
TIER_NORMS = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0)
TIER_NODES = (64, 96, 128, 192, 256, 384, 512)
#: tolerance of the error estimate, relative to the scale max(1, max |M[a, b]|)
TOL = 1e-10
#: test pairs: correlations and means (m1, m2) at which the estimate is made for each norm
TEST_RHOS = (0.0, 0.6, -0.95, 1.0 - 1e-6)
TEST_MEANS = ((0.0, 0.0), (0.7, -1.3), (3.0, -3.0))


def _estimate(act, norm: float, nodes: int) -> float:
    from ._bias_kernels import quadrature_diag, quadrature_moments

    q = norm * norm
    rho = np.repeat(TEST_RHOS, len(TEST_MEANS))
    m1, m2 = (np.tile([m[j] for m in TEST_MEANS], len(TEST_RHOS)) for j in (0, 1))
    args = (q + 0 * rho, q + 0 * rho, rho * q, q * q * (1 - rho * rho), m1, m2)
    coarse_n = 3 * nodes // 4
    with np.errstate(all="ignore"):
        fine = quadrature_moments(act, 4, *args, nodes=nodes)
        coarse = quadrature_moments(act, 4, *args, nodes=coarse_n)
        c = np.array([m[0] for m in TEST_MEANS])
        fd, cd = (quadrature_diag(act, 4, q + 0 * c, c, nodes=N) for N in (nodes, coarse_n))
    vals = list(fine.values()) + list(fd)
    if not all(np.all(np.isfinite(v)) for v in vals):
        return np.inf
    scale = max(1.0, max(float(np.max(np.abs(v))) for v in vals))
    err = max(float(np.max(np.abs(fine[key] - coarse[key]))) for key in fine)
    err = max(err, max(float(np.max(np.abs(x - y))) for x, y in zip(fd, cd)))
    return err / scale


def tiers(act) -> tuple:
    """``((norm, nodes), ...)``: norms up to ``norm`` use ``nodes`` Gauss-Hermite nodes per dimension.

    Parameters
    ----------
    act : Activation
        An activation of the ``"quadrature"`` family.

    Returns
    -------
    tuple of (float, int)
        Increasing norms; empty when even ``|w| = 0.5`` does not meet ``TOL``.

    Examples
    --------
    >>> from copyavg.numeric.activations import get_activation
    >>> tiers(get_activation("tanh"))[0]  # |w| <= 0.5: 96 nodes per dimension
    (0.5, 96)
    """
    return _tiers(act.name)


@functools.lru_cache(maxsize=64)
def _tiers(name: str) -> tuple:
    from .activations import get_activation

    act = get_activation(name)
    out, start = [], 0
    for norm in TIER_NORMS:
        for j in range(start, len(TIER_NODES)):
            if _estimate(act, norm, TIER_NODES[j]) <= TOL:
                start = j
                out.append((norm, TIER_NODES[j]))
                break
        else:
            break
    return tuple(out)


def max_norm(act) -> float:
    """Largest accepted ``|w|`` with biases for a ``"quadrature"`` activation (0 if none).

    Parameters
    ----------
    act : Activation
        An activation of the ``"quadrature"`` family.

    Returns
    -------
    float

    Examples
    --------
    >>> from copyavg.numeric.activations import get_activation
    >>> max_norm(get_activation("tanh")) >= 1.0
    True
    """
    t = tiers(act)
    return t[-1][0] if t else 0.0


def nodes_for(act, norm: float) -> int:
    """Node count per dimension for rows of norm up to ``norm`` (the last tier's beyond it).

    Parameters
    ----------
    act : Activation
        An activation of the ``"quadrature"`` family.
    norm : float
        Largest ``|w|`` (or ``|v|``) of the pairs evaluated.

    Returns
    -------
    int

    Examples
    --------
    >>> from copyavg.numeric.activations import get_activation
    >>> nodes_for(get_activation("tanh"), 0.1) in TIER_NODES
    True
    """
    t = tiers(act)
    for tn, nodes in t:
        if norm <= tn * (1 + 1e-12):
            return nodes
    return t[-1][1] if t else TIER_NODES[-1]


def norm_limit(act) -> float:
    """Largest accepted ``|w_i|, |v_j|`` with biases for ``act``.

    Parameters
    ----------
    act : Activation
        An activation of one of ``FAMILIES``.

    Returns
    -------
    float
        ``MAX_NORM`` (gelu included: closed form); ``FAMILY_MAX_NORM`` for sin and cos; for the
        ``"quadrature"`` family the norm up to which its error estimate is below ``1e-10`` of the
        scale (``copyavg.numeric._bias_quadrature``, decided at first use).

    Examples
    --------
    >>> from copyavg.numeric.activations import get_activation
    >>> norm_limit(get_activation("sin")), norm_limit(get_activation("gaussian")), norm_limit(get_activation("gelu"))
    (3.0, 100.0, 100.0)
    """
    from ._bias_kernels import TIERED_FAMILIES
    from .biased import FAMILY_MAX_NORM, MAX_NORM

    if act.family in TIERED_FAMILIES:
        return max_norm(act)
    return FAMILY_MAX_NORM.get(act.family, MAX_NORM)
