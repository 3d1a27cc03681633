"""The properties of ``copyavg verify --properties``: their registry and their definitions.

Each ``Property`` is a check ``check(activation, **drawn)`` that raises (AssertionError) when it does
not hold, with lazily built hypothesis strategies for its arguments and the activations it applies
to (the erf and piecewise-linear families); ``PROPERTIES`` maps names to them in registration
order. Kernel properties: symmetry, positive semi-definite Gram matrices, agreement with the
50-digit mpmath route. Loss properties: non-negativity, zero at the teacher, rotation, permutation
and sign-flip invariance, loss and gradient against mpmath, gradient and Hessian against central
differences at 50 digits. ``copyavg.proofs.properties`` runs them and re-exports these names.

Conventions as in ``copyavg.numeric``: ``x ~ N(0, I_d)``, ``L = E[(f - f*)^2]`` with no 1/2.
Tolerances: every float-vs-exact comparison is relative to the natural scale of the quantity (the
sum of absolute values of the terms that cancel), with the bound and its reason at the check.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Callable

import mpmath
import numpy as np

from copyavg.numeric import (
    ACTIVATIONS,
    diag_kernel,
    gradient,
    hessian,
    loss,
    loss_and_gradient,
    pair_kernel,
)
from copyavg.numeric.kernels import PARTIAL_NAMES
from copyavg.numeric.mp import gradient_mp, loss_mp, pair_kernel_mp

_DPS = 50  # mpmath route
_FD_H = "1e-15"  # central-difference step at 50 digits: truncation ~h^2 ~ 1e-30, rounding ~1e-35


# -- results and registry ---------------------------------------------------------------------

@dataclass(frozen=True)
class PropertyResult:
    """Outcome of one property for one activation.

    ``falsifying_example`` is hypothesis's report of the (shrunk) failing example plus the error it
    raised, or None when the property held. ``seed`` is the hypothesis seed used (None: random).
    """

    name: str
    activation: str
    examples: int
    failures: int
    falsifying_example: str | None
    seconds: float
    seed: int | None = None

    @property
    def ok(self) -> bool:
        return self.failures == 0 and self.falsifying_example is None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["ok"] = self.ok
        return d


@dataclass(frozen=True)
class Property:
    """A property: ``check(activation, **drawn)`` raises (AssertionError) when it does not hold.

    ``strategies(activation)`` returns the hypothesis strategies for the keyword arguments (built
    lazily so that hypothesis is imported only when properties run). ``activations`` lists the
    activations it applies to.
    """

    name: str
    description: str
    activations: tuple
    check: Callable = field(repr=False)
    strategies: Callable = field(repr=False)


PROPERTIES: dict[str, Property] = {}

#: the erf and piecewise-linear families (the other families have narrower accepted ranges, which
#: these strategies do not respect; they are tested in tests/test_kernels_extra.py)
_ALL = tuple(n for n, a in ACTIVATIONS.items() if a.family in ("erf", "piecewise_linear"))
_ODD = tuple(n for n in _ALL if ACTIVATIONS[n].odd)


def _register(name: str, description: str, strategies: Callable, activations=_ALL):
    def deco(fn):
        PROPERTIES[name] = Property(name, description, tuple(activations), fn, strategies)
        return fn

    return deco


# -- strategies (own copies; the pytest helpers are not part of the package) -------------------

def _st():
    from hypothesis import strategies as st

    return st


def _covariances(log10_norm=(-1.0, 1.0), max_abs_rho=0.99):
    """``(C11, C22, C12)`` from two log-uniform norms and a correlation with ``|rho| <= max_abs_rho``
    (``|C12| < sqrt(C11 C22)`` by construction). Correlations in (0, 1e-100) are left out: C12^2
    would underflow, an edge case the pytest suite covers separately."""
    st = _st()

    @st.composite
    def covs(draw):
        n1 = 10.0 ** draw(st.floats(*log10_norm))
        n2 = 10.0 ** draw(st.floats(*log10_norm))
        rho = draw(st.floats(-max_abs_rho, max_abs_rho).filter(lambda r: r == 0 or abs(r) > 1e-100))
        return n1 * n1, n2 * n2, rho * n1 * n2

    return covs()


def _networks(n_max=3, k_max=3, d_min=1, d_max=4, min_norm=0.1, max_abs_cos=None):
    """``(a, W, b, V)``: shapes drawn by hypothesis, normal entries from a numpy Generator seeded by
    hypothesis (so shrinking cannot collapse rows onto each other or onto 0, which would be
    non-differentiable points of the piecewise-linear loss). Every row of ``[W; V]`` has norm
    ``>= min_norm``; with ``max_abs_cos`` no student row is within that cosine of another row."""
    st = _st()

    @st.composite
    def nets(draw):
        n = draw(st.integers(1, n_max))
        k = draw(st.integers(1, k_max))
        d = draw(st.integers(d_min, d_max))
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        for _ in range(1000):
            a, b = rng.normal(size=n), rng.normal(size=k)
            W, V = rng.normal(size=(n, d)), rng.normal(size=(k, d))
            Y = np.concatenate((W, V))
            norms = np.linalg.norm(Y, axis=1)
            if norms.min() < min_norm:
                continue
            if max_abs_cos is not None:
                cos = (Y @ Y.T) / np.outer(norms, norms)
                np.fill_diagonal(cos, 0.0)
                if np.abs(cos[:n]).max() > max_abs_cos:
                    continue
            return a, W, b, V
        raise AssertionError("could not draw a network satisfying the constraints")  # pragma: no cover

    return nets()


def _seeds():
    return _st().integers(0, 2**32 - 1)


# -- scales ------------------------------------------------------------------------------------

def _cs_bound(activation, C11, C22):
    """Cauchy-Schwarz bound ``sqrt(E sigma(X)^2 E sigma(Y)^2) >= |g|``."""
    s1 = float(diag_kernel(activation, C11)[0])
    s2 = float(diag_kernel(activation, C22)[0])
    return math.sqrt(s1 * s2)


_VARS = {nm: tuple(int(c) for c in nm[1:]) for nm in PARTIAL_NAMES[2]}


def _partial_floor(activation, C11, C22, order):
    """Natural size of each partial of g: ``G0 / prod c_var`` with ``G0`` the Cauchy-Schwarz bound,
    ``c_1 = C11``, ``c_2 = C22``, ``c_3 = sqrt(C11 C22)`` (shifted by 1 for the erf family, whose g
    is smooth at C = 0). Partials that pass through 0 by cancellation are compared against this."""
    shift = 1.0 if ACTIVATIONS[activation].family == "erf" else 0.0
    c = {1: C11 + shift, 2: C22 + shift, 3: math.sqrt((C11 + shift) * (C22 + shift))}
    G0 = _cs_bound(activation, C11, C22)
    return np.array([G0 / math.prod(c[v] for v in _VARS[nm]) for nm in PARTIAL_NAMES[order]])


def _loss_scale(activation, a, W, b, V):
    """``(sum_m |U_m| sqrt(s(|y_m|^2)))^2 >= sum |U_m U_m' g_mm'|``: size of the cancelling terms."""
    Y = np.concatenate((W, V))
    U = np.concatenate((a, -np.asarray(b)))
    s = diag_kernel(activation, np.einsum("ij,ij->i", Y, Y))[0]
    return float(np.sum(np.abs(U) * np.sqrt(np.broadcast_to(s, U.shape))) ** 2)


def _gradient_scales(activation, a, W, b, V):
    """Sums of |terms| of ``dL/da_i`` and ``dL/dw_i`` (rounding errors scale with these)."""
    Y = np.concatenate((W, V))
    U = np.concatenate((a, -np.asarray(b)))
    q = np.einsum("ij,ij->i", Y, Y)
    g, g1, _, g3 = pair_kernel(activation, q[: len(a), None], q[None, :], W @ Y.T, order=1)
    sa = 2 * np.abs(g) @ np.abs(U)
    sW = 2 * np.abs(a)[:, None] * (
        2 * (np.abs(g1) @ np.abs(U))[:, None] * np.abs(W) + (np.abs(g3) * np.abs(U)) @ np.abs(Y)
    )
    return sa, sW


def _random_orthogonal(rng, d):
    Q, R = np.linalg.qr(rng.normal(size=(d, d)))
    return Q * np.sign(np.diag(R))


def _unit(rng, N):
    u = rng.normal(size=N)
    return u / np.linalg.norm(u)


def _shifted(a, W, u, sgn):
    """``theta + sgn h u`` at the working mpmath precision, as (a, W) lists (theta = (a, W rows))."""
    n, d = W.shape
    h = mpmath.mpf(_FD_H)
    theta = [mpmath.mpf(float(x)) + sgn * h * mpmath.mpf(float(ui))
             for x, ui in zip(np.concatenate((a, W.ravel())), u)]
    return theta[:n], [theta[n + i * d: n + (i + 1) * d] for i in range(n)]


# -- kernel properties ---------------------------------------------------------------------------

_SWAP = {"g": "g", "g1": "g2", "g2": "g1", "g3": "g3", "g11": "g22", "g12": "g12", "g13": "g23",
         "g22": "g11", "g23": "g13", "g33": "g33"}


@_register(
    "kernel_symmetric",
    "g(C11, C22, C12) = g(C22, C11, C12), partials mapped (1 <-> 2), orders 0-2; rel 1e-12",
    lambda act: {"C": _covariances(), "order": _st().sampled_from([0, 1, 2])},
)
def _kernel_symmetric(activation, C, order):
    C11, C22, C12 = C
    names = PARTIAL_NAMES[order]
    out = pair_kernel(activation, C11, C22, C12, order=order)
    swp = pair_kernel(activation, C22, C11, C12, order=order)
    out, swp = (np.atleast_1d(np.array(x, dtype=float)) for x in (out, swp))
    swp = np.array([swp[names.index(_SWAP[nm])] for nm in names])
    floor = _partial_floor(activation, C11, C22, order)
    err = np.abs(out - swp) / np.maximum(np.maximum(np.abs(out), np.abs(swp)), floor)
    # the generated expressions are not written symmetrically, so the two sides round differently:
    # the same 1e-12 as the mp comparison below (each is within that of the exact value)
    assert np.all(err <= 1e-12), dict(zip(names, err))


@_register(
    "gram_psd",
    "G_ij = g(x_i, x_j) over 1-7 random vectors in R^1..5 (scale 10^[-2,2]) is PSD; 1e-12 max G_ii",
    lambda act: {"m": _st().integers(1, 7), "d": _st().integers(1, 5), "seed": _seeds(),
                 "log_scale": _st().floats(-2, 2)},
)
def _gram_psd(activation, m, d, seed, log_scale):
    X = np.random.default_rng(seed).normal(size=(m, d)) * 10.0**log_scale
    q = np.einsum("ij,ij->i", X, X)
    G = pair_kernel(activation, q[:, None], q[None, :], X @ X.T)
    G = (G + G.T) / 2
    lam_min = float(np.linalg.eigvalsh(G).min())
    # eigenvalues move by at most ||dG||_2 <= m max|dG| ~ m * 1e-15 * max G_ii
    assert lam_min >= -1e-12 * max(float(np.max(np.diag(G))), 1e-300), lam_min


@_register(
    "kernel_matches_mp",
    "pair_kernel order 0/1/2 vs pair_kernel_mp at 50 digits; norms in [0.1, 10], |rho| <= 0.99; rel 1e-12",
    lambda act: {"C": _covariances(), "order": _st().sampled_from([0, 1, 2])},
)
def _kernel_matches_mp(activation, C, order):
    num = np.atleast_1d(np.array(pair_kernel(activation, *C, order=order), dtype=float))
    with mpmath.workdps(_DPS):
        ref = pair_kernel_mp(activation, *C, order=order)
        ref = np.array([float(x) for x in (ref if order else (ref,))])
    floor = _partial_floor(activation, C[0], C[1], order)
    err = np.abs(num - ref) / np.maximum(np.abs(ref), floor)
    # a few dozen float operations per partial; worst conditioning in the region (ReLU g at
    # rho = -0.99, a cancellation of O(1) terms) ~1e2: 1e-12 leaves a margin of ~10
    assert np.all(err <= 1e-12), dict(zip(PARTIAL_NAMES[order], err))


# -- loss properties -----------------------------------------------------------------------------

@_register(
    "loss_nonnegative",
    "L(a, W) >= -1e-14 * (size of the cancelling terms) for random student and teacher",
    lambda act: {"net": _networks()},
)
def _loss_nonnegative(activation, net):
    a, W, b, V = net
    L = loss(a, W, b, V, activation)
    assert L >= -1e-14 * _loss_scale(activation, a, W, b, V), L


@_register(
    "loss_zero_at_teacher",
    "L = 0 (up to 1e-13 * scale) when the student is the teacher, neurons in any order",
    lambda act: {"net": _networks(), "seed": _seeds()},
)
def _loss_zero_at_teacher(activation, net, seed):
    _, _, b, V = net
    p = np.random.default_rng(seed).permutation(len(b))
    L0 = loss(b[p], V[p], b, V, activation)
    # every term cancels in exact arithmetic; float sums of <= 36 terms leave a few eps * scale
    assert abs(L0) <= 1e-13 * max(_loss_scale(activation, b, V, b, V), 1e-300), L0


@_register(
    "rotation_invariance",
    "L(WQ, VQ) = L(W, V) and dL/dW(WQ, VQ) = dL/dW Q for random orthogonal Q; 1e-12 * scale",
    lambda act: {"net": _networks(), "seed": _seeds()},
)
def _rotation_invariance(activation, net, seed):
    a, W, b, V = net
    d = W.shape[1]
    Q = _random_orthogonal(np.random.default_rng(seed), d)
    L, ga, gW = loss_and_gradient(a, W, b, V, activation)
    Lr, gar, gWr = loss_and_gradient(a, W @ Q, b, V @ Q, activation)
    sa, sW = _gradient_scales(activation, a, W, b, V)
    # rotation changes the Gram entries by rounding only (~1e-15 relative)
    assert abs(Lr - L) <= 1e-12 * _loss_scale(activation, a, W, b, V), (L, Lr)
    assert np.all(np.abs(gar - ga) <= 1e-12 * sa), (ga, gar)
    assert np.all(np.abs(gWr - gW @ Q) <= 1e-12 * np.sqrt(d) * np.max(sW, axis=1, keepdims=True)), (gW @ Q, gWr)


@_register(
    "permutation_invariance",
    "permuting student and teacher neurons leaves L unchanged and permutes the gradient; 1e-13 * scale",
    lambda act: {"net": _networks(), "seed": _seeds()},
)
def _permutation_invariance(activation, net, seed):
    a, W, b, V = net
    rng = np.random.default_rng(seed)
    ps, pt = rng.permutation(len(a)), rng.permutation(len(b))
    L, ga, gW = loss_and_gradient(a, W, b, V, activation)
    Lp, gap, gWp = loss_and_gradient(a[ps], W[ps], b[pt], V[pt], activation)
    sa, sW = _gradient_scales(activation, a, W, b, V)
    # a permutation only reorders the sums
    assert abs(Lp - L) <= 1e-13 * _loss_scale(activation, a, W, b, V), (L, Lp)
    assert np.all(np.abs(gap - ga[ps]) <= 1e-13 * sa[ps]), (ga[ps], gap)
    assert np.all(np.abs(gWp - gW[ps]) <= 1e-13 * sW[ps]), (gW[ps], gWp)


@_register(
    "sign_flip_invariance",
    "odd sigma: (a_i, w_i) -> (-a_i, -w_i) for any subset of student neurons leaves L unchanged",
    lambda act: {"net": _networks(), "flips": _st().lists(_st().booleans(), min_size=3, max_size=3)},
    activations=_ODD,
)
def _sign_flip_invariance(activation, net, flips):
    a, W, b, V = net
    s = np.where(np.array(flips[: len(a)]), -1.0, 1.0)
    L = loss(a, W, b, V, activation)
    Lf = loss(s * a, s[:, None] * W, b, V, activation)
    # each term of L is unchanged (g odd in C12 for odd sigma); rounding of the sums only
    assert abs(Lf - L) <= 1e-13 * _loss_scale(activation, a, W, b, V), (L, Lf)


def _mp_floats(x):
    return np.array([float(v) for v in x])


@_register(
    "loss_gradient_match_mp",
    "loss and gradient vs loss_mp / gradient_mp at 50 digits; 1e-12 * (sum of |terms|)",
    lambda act: {"net": _networks()},
)
def _loss_gradient_match_mp(activation, net):
    a, W, b, V = net
    L = loss(a, W, b, V, activation)
    L_mp = float(loss_mp(a, W, b, V, activation, dps=_DPS))
    # L = U^T G U: <= 36 terms of size <= scale; float sums ~36 eps scale, kernels <= ~1e-13 relative
    assert abs(L - L_mp) <= 1e-12 * _loss_scale(activation, a, W, b, V), (L, L_mp)
    ga, gW = gradient(a, W, b, V, activation)
    ga_mp, gW_mp = gradient_mp(a, W, b, V, activation, dps=_DPS)
    ga_mp, gW_mp = _mp_floats(ga_mp), np.array([_mp_floats(r) for r in gW_mp])
    sa, sW = _gradient_scales(activation, a, W, b, V)
    assert np.all(np.abs(ga - ga_mp) <= 1e-12 * sa + 1e-300), (ga, ga_mp)
    assert np.all(np.abs(gW - gW_mp) <= 1e-12 * sW + 1e-300), (gW, gW_mp)


@_register(
    "gradient_matches_loss_fd",
    "directional derivative grad.u vs central difference of loss_mp (50 digits, h = 1e-15) along a "
    "random unit u; 1e-10 * sum |u_p| scale_p",
    lambda act: {"net": _networks(n_max=3, k_max=3, d_max=4), "seed": _seeds()},
)
def _gradient_matches_loss_fd(activation, net, seed):
    a, W, b, V = net
    ga, gW = gradient(a, W, b, V, activation)
    u = _unit(np.random.default_rng(seed), len(a) + W.size)
    with mpmath.workdps(_DPS):
        Lp = loss_mp(*_shifted(a, W, u, +1), b, V, activation, dps=_DPS)
        Lm = loss_mp(*_shifted(a, W, u, -1), b, V, activation, dps=_DPS)
        fd = float((Lp - Lm) / (2 * mpmath.mpf(_FD_H)))
    dd = float(np.concatenate((ga, gW.ravel())) @ u)
    sa, sW = _gradient_scales(activation, a, W, b, V)
    tol = np.abs(u) @ np.concatenate((sa, sW.ravel()))
    # each gradient component is within ~1e-13 of its |terms| scale; the quotient is exact to ~1e-30
    assert abs(dd - fd) <= 1e-10 * max(tol, 1e-300), (dd, fd)


_HESS_NETS = dict(n_max=3, k_max=3, d_min=2, d_max=4, max_abs_cos=0.99)


@_register(
    "hessian_symmetric",
    "Hessian symmetric to 1e-13 * max|H| (n, k <= 3, d in 2..4, no pair with |cos| > 0.99)",
    lambda act: {"net": _networks(**_HESS_NETS)},
)
def _hessian_symmetric(activation, net):
    a, W, b, V = net
    H = hessian(a, W, b, V, activation)
    # blocks (i, l) and (l, i) are computed separately: a few ulps of the largest entry
    err = float(np.max(np.abs(H - H.T)))
    assert err <= 1e-13 * max(float(np.max(np.abs(H))), 1e-300), err


@_register(
    "hessian_matches_gradient_fd",
    "H u vs central difference of gradient_mp (50 digits, h = 1e-15) along a random unit u; "
    "1e-10 * max|H| (small sizes as hessian_symmetric)",
    lambda act: {"net": _networks(**_HESS_NETS), "seed": _seeds()},
)
def _hessian_matches_gradient_fd(activation, net, seed):
    a, W, b, V = net
    H = hessian(a, W, b, V, activation)
    u = _unit(np.random.default_rng(seed), len(a) + W.size)
    with mpmath.workdps(_DPS):
        flat = []
        for sgn in (+1, -1):
            ga, gW = gradient_mp(*_shifted(a, W, u, sgn), b, V, activation, dps=_DPS)
            flat.append(list(ga) + [x for row in gW for x in row])
        fd = np.array([float((p - m) / (2 * mpmath.mpf(_FD_H))) for p, m in zip(*flat)])
    # float Hessian ~1e-13 relative to its largest entries (second partials ~ 1/sqrt(D), D bounded
    # below by |cos| <= 0.99); the quotient is exact to ~1e-30
    err = float(np.max(np.abs(H @ u - fd)))
    assert err <= 1e-10 * max(float(np.max(np.abs(H))), 1e-300), (H @ u, fd)
