"""Shared strategies and scales for the numeric tests (not a test module)."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from copyavg.numeric import ACTIVATIONS, diag_kernel, pair_kernel

#: the erf and piecewise-linear families, which the generic tests sweep over their (wide) ranges;
#: the other families (``EXTRA_NAMES``: hermite, trig, gaussian, normal_cdf, monomial, gelu) have narrower accepted
#: ranges and their own tests (tests/test_kernels_extra.py)
ACT_NAMES = sorted(n for n, a in ACTIVATIONS.items() if a.family in ("erf", "piecewise_linear"))
EXTRA_NAMES = sorted(n for n in ACTIVATIONS if n not in ACT_NAMES)
ERF_FAMILY = [n for n in ACT_NAMES if ACTIVATIONS[n].family == "erf"]
PL_FAMILY = [n for n in ACT_NAMES if ACTIVATIONS[n].family == "piecewise_linear"]
ODD = [n for n in ACT_NAMES if ACTIVATIONS[n].odd]
SMOOTH = [n for n in ACT_NAMES if ACTIVATIONS[n].smooth]


@st.composite
def covariances(draw, log10_norm=(-1.0, 1.0), max_abs_rho=0.99):
    """``(C11, C22, C12)`` from two norms (log-uniform) and a correlation in the open interval, so
    ``|C12| < sqrt(C11 C22)`` holds by construction rather than by filtering."""
    n1 = 10.0 ** draw(st.floats(*log10_norm))
    n2 = 10.0 ** draw(st.floats(*log10_norm))
    # |rho| < 1e-100 (but not 0) is left out: C12^2 then underflows, which numpy reports as an
    # error under the suite's errstate(all="raise"); test_bad_input.py covers that case on its own.
    rho = draw(st.floats(-max_abs_rho, max_abs_rho).filter(lambda r: r == 0 or abs(r) > 1e-100))
    return n1 * n1, n2 * n2, rho * n1 * n2


def cs_bound(activation, C11, C22):
    """Cauchy-Schwarz bound ``sqrt(E sigma(X)^2 E sigma(Y)^2)`` on ``|g|``, from ``diag_kernel``."""
    s1 = float(diag_kernel(activation, C11)[0])
    s2 = float(diag_kernel(activation, C22)[0])
    return float(np.sqrt(s1 * s2))


def networks(n_max=3, k_max=3, d_min=1, d_max=4, min_norm=0.1, max_abs_cos=None):
    """``(a, W, b, V)`` with shapes drawn by hypothesis and entries from a numpy Generator seeded by
    hypothesis; rows have norm >= ``min_norm``, and with ``max_abs_cos`` no student row is within
    that cosine of any other row of ``[W; V]``. The same sampler as the property suite of
    ``copyavg verify --properties`` (a data generator, not a reference value)."""
    from copyavg.proofs.property_checks import _networks

    return _networks(n_max=n_max, k_max=k_max, d_min=d_min, d_max=d_max, min_norm=min_norm,
                     max_abs_cos=max_abs_cos)


def loss_scale(activation, a, W, b, V):
    """``(sum_m |U_m| sqrt(s(|y_m|^2)))^2 >= sum_{m,m'} |U_m U_m' g_mm'|`` (Cauchy-Schwarz): the
    size of the largest terms that cancel in ``L = U^T G U``, so rounding errors scale with it."""
    Y = np.concatenate((W, V))
    U = np.concatenate((a, -np.asarray(b)))
    s = diag_kernel(activation, np.einsum("ij,ij->i", Y, Y))[0]
    return float(np.sum(np.abs(U) * np.sqrt(np.broadcast_to(s, U.shape))) ** 2)


def gradient_scales(activation, a, W, b, V):
    """Sums of |terms| of ``dL/da_i = 2 sum_m U_m g_im`` and
    ``dL/dw_i = 2 a_i sum_m U_m (2 g1_im w_i + g3_im y_m)``: rounding errors scale with these."""
    Y = np.concatenate((W, V))
    U = np.concatenate((a, -np.asarray(b)))
    q = np.einsum("ij,ij->i", Y, Y)
    g, g1, _, g3 = pair_kernel(activation, q[: len(a), None], q[None, :], W @ Y.T, order=1)
    sa = 2 * np.abs(g) @ np.abs(U)
    sW = 2 * np.abs(a)[:, None] * (
        2 * (np.abs(g1) @ np.abs(U))[:, None] * np.abs(W) + (np.abs(g3) * np.abs(U)) @ np.abs(Y)
    )
    return sa, sW
