r"""Closed-form pair kernels with biases (means) and their partials, NumPy/SciPy only.

The biased pair kernel is ``g(C11, C22, C12, m1, m2) = E[sigma(u1) sigma(u2)]`` for ``(u1, u2)``
Gaussian with means ``(m1, m2)`` and covariance ``[[C11, C12], [C12, C22]]``. As a function of the
means it is a Gaussian smoothing of ``sigma (x) sigma``, so it solves the heat equation

    dg/dC11 = 1/2 d^2g/dm1^2,   dg/dC22 = 1/2 d^2g/dm2^2,   dg/dC12 = d^2g/dm1 dm2,

and every partial in the five arguments is a mean-derivative ``M[a, b] = d^(a+b) g / dm1^a dm2^b``
(``a + b <= 2`` for the gradient, ``<= 4`` for the Hessian). Those come from one "tower" of
Gaussian expectations ``T[i, j] = E[s_i(u1) s_j(u2)]`` with ``s_-1 = relu``, ``s_0 = step``,
``s_1 = delta``, ``s_i = delta^(i-1)``:

- ``T[0, 0] = Phi2(h, k; rho)`` (bivariate normal distribution function, Owen's T),
  ``h = m1/sqrt(C11)``, ``k = m2/sqrt(C22)``, ``rho = C12/sqrt(C11 C22)``;
- ``T[1, 0] = A1 Phi(z21)`` with ``A1 = phi(h)/sqrt(C11)`` (density of u1 at 0) and ``z21`` the
  standardised conditional mean of u2 given u1 = 0; ``T[1, -1] = A1 psi(mu21, tau1)``,
  ``psi(mu, tau) = mu Phi(mu/tau) + tau phi(mu/tau) = E[relu(N(mu, tau^2))]``;
- ``T[i, j]`` with ``i, j >= 1``: derivatives of the bivariate density (Hermite polynomials);
- Stein's lemma: ``T[-1, 0] = m1 T00 + C11 T10 + C12 T01``,
  ``T[-1, -1] = m1 T[0, -1] + C11 T[1, -1] + C12 T00``;
- the recursion ``T[i+1, j] = -(m1/C11) T[i, j] - ((i-1)/C11) T[i-1, j] - (C12/C11) T[i, j+1]``
  (``i >= 1``), from differentiating ``A1(m1) * (conditional expectation)`` in ``m1``.

Families: ``sigma = alpha Phi(s z) + gamma`` (``normal_cdf``: 1, 1, 0; ``erf(lam z) = 2 Phi(sqrt 2 lam z)
- 1``) uses the tower of ``N(s m, I + s^2 C)`` with steps (``M[a, b] = s^(a+b) (alpha^2 T[a, b] +
alpha gamma (marginals)) + gamma^2``); its covariance has determinant ``>= 1``, so nothing is
singular. The piecewise-linear family ``beta relu(z) - alpha relu(-z)`` uses ``M[a, b] =
T[a-1, b-1]`` of ReLU, summed over the four sign patterns. gelu (``z Phi(z)``) reduces, by
``sigma^(a) = u Phi^(a) + a Phi^(a-1)`` and Stein's lemma, to the ``normal_cdf`` tower of
``N(m, I + C)`` up to order ``top + 2`` (``copyavg.numeric._bias_gelu``).
"""

from __future__ import annotations

import math
from math import comb

import numpy as np

_SQRT2PI = math.sqrt(2.0 * math.pi)


def _sp():
    import scipy.special as sp  # imported here: SciPy is slow to import

    return sp


def _phi(x):
    return np.exp(-0.5 * x * x) / _SQRT2PI


#: pairs with ``det <= COLLINEAR S11 S22`` (angle below 1e-8) are treated as collinear
COLLINEAR = 1e-16


def coincident(mu, x2, bx1):
    """``mu = x2 - bx1`` (the conditional mean of a collinear pair) is zero up to rounding: the two
    neurons' hyperplanes coincide."""
    return np.abs(mu) <= 1e-13 * (np.abs(x2) + np.abs(bx1))


def phi2_cdf(h, k, rho, r, z21, z12):
    """``Phi2(h, k; rho) = P(X <= h, Y <= k)`` through Owen's T (``r = sqrt(1 - rho^2) > 0``,
    ``z21 = (k - rho h)/r``, ``z12 = (h - rho k)/r`` supplied by the caller, computed stably)."""
    sp = _sp()
    h = h + 0.0  # -0.0 -> 0.0: h = 0 is the limit h -> 0+ (a_h = sign(k) inf), which is exact
    k = k + 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        th = sp.owens_t(h, z21 / h)
        tk = sp.owens_t(k, z12 / k)
    delta = np.where((h * k < 0) | ((h * k == 0) & (h + k < 0)), 0.5, 0.0)
    out = 0.5 * sp.ndtr(h) + 0.5 * sp.ndtr(k) - th - tk - delta
    both0 = (h == 0) & (k == 0)
    if np.any(both0):
        out = np.where(both0, 0.25 + np.arctan2(rho, r) / (2 * math.pi), out)
    return out


def tower(x1, x2, S11, S22, S12, det, relu: bool, top: int):
    """``T[(i, j)]`` for the Gaussian ``N((x1, x2), S)`` (``det = S11 S22 - S12^2`` given, ``> 0``).

    Steps (``relu=False``): every ``i, j >= 0`` with ``i + j <= top`` (top <= 4). ReLU
    (``relu=True``): the entries ``M[a, b] = T[a-1, b-1]`` with ``a + b <= top + 2`` needs.
    """
    sp = _sp()
    sd1, sd2 = np.sqrt(S11), np.sqrt(S22)
    h, k = x1 / sd1, x2 / sd2
    A1, A2 = _phi(h) / sd1, _phi(k) / sd2
    tau1, tau2 = np.sqrt(det / S11), np.sqrt(det / S22)  # sd of u2 given u1 = 0, of u1 given u2
    b1, b2 = S12 / S11, S12 / S22
    mu21, mu12 = x2 - b1 * x1, x1 - b2 * x2
    z21, z12 = mu21 / tau1, mu12 / tau2
    # collinear pairs with mu = 0 (u2 a multiple of u1): 0/0; z = 0 is the limit of every combination
    # the kernel and its first partials use (Phi(z) + Phi(-z) = 1), see tests/test_biases.py
    z21, z12 = np.where(np.isnan(z21), 0.0, z21), np.where(np.isnan(z12), 0.0, z12)
    # (nearly) collinear pairs, angle below 1e-8: the means' rounding (~eps |m|) would make z a ratio
    # of rounding errors; the hyperplanes coincide (z = 0) or are distinct (z = +-inf), see
    # ``coincident``; the kernel is continuous, so the error is O(angle + 1e-13)
    coll = det <= COLLINEAR * S11 * S22
    if np.any(coll):
        z21 = np.where(coll, np.where(coincident(mu21, x2, b1 * x1), 0.0, np.sign(mu21) * np.inf), z21)
        z12 = np.where(coll, np.where(coincident(mu12, x1, b2 * x2), 0.0, np.sign(mu12) * np.inf), z12)
    rho = S12 / (sd1 * sd2)
    r = np.sqrt(det / (S11 * S22))
    T = {(0, 0): phi2_cdf(h, k, rho, r, z21, z12),
         (1, 0): A1 * sp.ndtr(z21), (0, 1): A2 * sp.ndtr(z12)}
    if top >= 1 or relu:
        p = A1 * _phi(z21) / tau1  # bivariate density at 0 (marginal x conditional)
        T[1, 1] = p
    if top >= 2 or (relu and top >= 1):
        y1, y2 = mu12 / tau2 ** 2, mu21 / tau1 ** 2  # S^-1 x
        P11, P22, P12 = 1.0 / tau2 ** 2, 1.0 / tau1 ** 2, -S12 / det
        T[2, 1], T[1, 2] = -y1 * p, -y2 * p
        T[3, 1], T[2, 2], T[1, 3] = (y1 * y1 - P11) * p, (y1 * y2 - P12) * p, (y2 * y2 - P22) * p

    def up1(i, j):  # T[i+1, j] by the recursion in m1
        prev = T[i - 1, j] * ((i - 1) / S11) if i > 1 else 0.0
        return -(x1 / S11) * T[i, j] - prev - b1 * T[i, j + 1]

    def up2(i, j):  # T[i, j+1] by the recursion in m2
        prev = T[i, j - 1] * ((j - 1) / S22) if j > 1 else 0.0
        return -(x2 / S22) * T[i, j] - prev - b2 * T[i + 1, j]

    if relu:
        T[1, -1] = A1 * (mu21 * sp.ndtr(z21) + tau1 * _phi(z21))
        T[-1, 1] = A2 * (mu12 * sp.ndtr(z12) + tau2 * _phi(z12))
        T[0, -1] = x2 * T[0, 0] + S22 * T[0, 1] + S12 * T[1, 0]
        T[-1, 0] = x1 * T[0, 0] + S11 * T[1, 0] + S12 * T[0, 1]
        T[-1, -1] = x1 * T[0, -1] + S11 * T[1, -1] + S12 * T[0, 0]
        if top >= 1:
            T[2, 0], T[0, 2] = up1(1, 0), up2(0, 1)
            T[2, -1], T[-1, 2] = up1(1, -1), up2(-1, 1)
            T[3, -1], T[-1, 3] = up1(2, -1), up2(-1, 2)
        return T
    for n in range(2, top + 1):
        T[n, 0], T[0, n] = up1(n - 1, 0), up2(0, n - 1)
    return T


def _marginal(x, S, top):
    """``E[s_i(u)]``, ``u ~ N(x, S)``, ``i = 0..top`` (step, delta, delta', ...)."""
    sd = np.sqrt(S)
    E = [_sp().ndtr(x / sd), _phi(x / sd) / sd]
    for i in range(1, top):
        E.append(-(x / S) * E[i] - (i - 1) / S * E[i - 1])
    return E[: top + 1]


def _cdf_family(act, top, C11, C22, C12, D, m1, m2):
    """``M[a, b]``, ``a + b <= top``, for ``sigma = alpha Phi(s z) + gamma``."""
    if act.family == "erf":
        alpha, gamma, s = 2.0, -1.0, math.sqrt(2.0) * act.params["lam"]
    else:  # normal_cdf
        alpha, gamma, s = 1.0, 0.0, 1.0
    s2 = s * s
    S11, S22, S12 = 1.0 + s2 * C11, 1.0 + s2 * C22, s2 * C12
    det = 1.0 + s2 * (C11 + C22) + s2 * s2 * D  # >= 1: no cancellation in S11 S22 - S12^2
    x1, x2 = s * m1, s * m2
    T = tower(x1, x2, S11, S22, S12, det, False, top)
    E1, E2 = _marginal(x1, S11, top), _marginal(x2, S22, top)
    M = {}
    for (a, b), t in T.items():
        if a + b > top:
            continue
        v = alpha * alpha * t
        if gamma:
            if b == 0:
                v = v + alpha * gamma * E1[a]
            if a == 0:
                v = v + alpha * gamma * E2[b]
            if a == b == 0:
                v = v + gamma * gamma
        M[a, b] = v * s ** (a + b)
    return M


def _gaussian_family(top, C11, C22, C12, D, m1, m2):
    """``M[a, b]`` for ``sigma = exp(-z^2/2)``: ``g = 2 pi N(m; 0, S) = det(S)^(-1/2) exp(-m'S^-1 m/2)``
    with ``S = I + C`` (``det S = 1 + C11 + C22 + D >= 1``), and ``d^(a+b) g/dm1^a dm2^b = H_ab g``
    with ``H_(a+1)b = -y1 H_ab - a P11 H_(a-1)b - b P12 H_a(b-1)`` (and its mirror), ``P = S^-1``,
    ``y = P m`` (multivariate Hermite polynomials; checked against SymPy in tests/test_biases_any.py)."""
    det = 1.0 + C11 + C22 + D
    P11, P22, P12 = (1.0 + C22) / det, (1.0 + C11) / det, -C12 / det
    y1, y2 = P11 * m1 + P12 * m2, P12 * m1 + P22 * m2
    g = np.exp(-0.5 * (m1 * y1 + m2 * y2)) / np.sqrt(det)
    H = {(0, 0): 1.0 + 0.0 * g}
    for n in range(1, top + 1):
        for a in range(n + 1):
            b = n - a
            if a:  # raise a from (a-1, b)
                H[a, b] = (-y1 * H[a - 1, b] - ((a - 1) * P11 * H[a - 2, b] if a > 1 else 0.0)
                           - (b * P12 * H[a - 1, b - 1] if b else 0.0))
            else:
                H[a, b] = -y2 * H[a, b - 1] - ((b - 1) * P22 * H[a, b - 2] if b > 1 else 0.0)
    return {key: h * g for key, h in H.items()}


def _relu_moments(top, C11, C22, C12, D, m1, m2):
    T = tower(m1, m2, C11, C22, C12, D, True, max(top - 2, 0))
    return {(a, b): T[a - 1, b - 1] for a in range(top + 1) for b in range(top + 1 - a)
            if (a - 1, b - 1) in T}


def _pl_family(act, top, C11, C22, C12, D, m1, m2):
    """Piecewise-linear ``beta relu(z) - alpha relu(-z)``: four sign patterns of the ReLU kernel."""
    al, be = act.params["alpha"], act.params["beta"]
    if al == be:  # linear: g = beta^2 (C12 + m1 m2), exact also for collinear pairs
        zero = np.zeros(np.broadcast(C12, m1, m2).shape)
        M = {(0, 0): be * be * (C12 + m1 * m2), (1, 0): be * be * m2 + zero, (0, 1): be * be * m1 + zero,
             (1, 1): be * be + zero}
        return {(a, b): M.get((a, b), zero) for a in range(top + 1) for b in range(top + 1 - a)}
    M = {}
    for e1, c1 in ((1, be), (-1, -al)):
        for e2, c2 in ((1, be), (-1, -al)):
            if c1 == 0 or c2 == 0:
                continue
            R = _relu_moments(top, C11, C22, e1 * e2 * C12, D, e1 * m1, e2 * m2)
            for (a, b), v in R.items():
                M[a, b] = M.get((a, b), 0.0) + (c1 * c2 * e1 ** a * e2 ** b) * v
    return M


def pair_moments(act, top, C11, C22, C12, D, m1, m2):
    """``{(a, b): d^(a+b) g / dm1^a dm2^b}`` for ``a + b <= top`` (0, 2 or 4), off-diagonal pairs.

    Piecewise-linear: the ReLU kernel needs ``C11, C22 > 0`` and, at ``top = 4``, ``D > 0``
    (``M[2, 2]`` is the density of ``(u1, u2)`` at 0: infinite for collinear pairs).
    """
    if act.family == "piecewise_linear":
        return _pl_family(act, top, C11, C22, C12, D, m1, m2)
    if act.family in QUADRATURE_FAMILIES:
        return quadrature_moments(act, top, C11, C22, C12, D, m1, m2)
    if act.family == "gelu":
        from ._bias_gelu import gelu_moments

        return gelu_moments(top, C11, C22, C12, D, m1, m2)
    if act.family == "gaussian":
        return _gaussian_family(top, C11, C22, C12, D, m1, m2)
    if act.family == "monomial":
        from ._bias_monomial import monomial_moments

        return monomial_moments(act, top, C11, C22, C12, m1, m2)
    return _cdf_family(act, top, C11, C22, C12, D, m1, m2)


def _relu_diag(q, c, top):
    """``d^k/dc^k E[relu(sqrt(q) z + c)^2]``, ``k = 0..top``."""
    sp = _sp()
    sq = np.sqrt(q)
    t = c / sq
    Ph, ph = sp.ndtr(t), _phi(t)
    out = [(c * c + q) * Ph + c * sq * ph, 2.0 * (c * Ph + sq * ph), 2.0 * Ph, 2.0 * ph / sq,
           -2.0 * t * ph / q]
    return out[: top + 1]


def diag_moments(act, top, q, c):
    """``s^(k)(q, c) = d^k/dc^k E[sigma(sqrt(q) z + c)^2]``, ``k = 0..top``; with the heat equation
    ``ds/dq = 1/2 s''`` these give every partial of the self term ``s(|w|^2, c)``."""
    if act.family == "piecewise_linear":
        al, be = act.params["alpha"], act.params["beta"]
        if al == be:  # linear: s = beta^2 (q + c^2), also at q = 0
            b2 = be * be
            return [b2 * (q + c * c), 2 * b2 * c, 2 * b2 + 0 * c, 0 * c, 0 * c][: top + 1]
        plus = _relu_diag(q, c, top)
        if al == 0:
            return [be * be * v for v in plus]
        minus = _relu_diag(q, -c, top)
        return [be * be * p + al * al * (-1) ** k * m for k, (p, m) in enumerate(zip(plus, minus))]
    if act.family in QUADRATURE_FAMILIES:
        return quadrature_diag(act, top, q, c)
    if act.family == "gelu":
        from ._bias_gelu import gelu_diag

        return gelu_diag(top, q, c)
    if act.family == "monomial":
        from ._bias_monomial import monomial_diag

        return monomial_diag(act, top, q, c)
    if act.family == "gaussian":
        M = _gaussian_family(top, q, q, q, np.zeros_like(q), c, c)
    else:
        M = _cdf_family(act, top, q, q, q, np.zeros_like(q), c, c)
    return [sum(comb(k, j) * M[j, k - j] for j in range(k + 1)) for k in range(top + 1)]


# -- quadrature route: hermite, trig (sin, cos), expressions in z -----------------------------------
#: Gauss-Hermite nodes per dimension of the quadrature route; ``quadrature_error`` compares with
#: ``QUAD_NODES_COARSE`` nodes
QUAD_NODES = 64
QUAD_NODES_COARSE = 48
#: families served by quadrature; the "quadrature" family (expressions in z) takes its node count from
#: ``_bias_quadrature.nodes_for`` (decided per activation at first use). gaussian and gelu have closed
#: forms (``_gaussian_family``, ``copyavg.numeric._bias_gelu``); ``_sigma_derivs`` still writes out
#: gelu's derivatives so that the quadrature route can be run on it as an independent check
QUADRATURE_FAMILIES = ("hermite", "trig", "quadrature")
#: families whose node count and accepted norm are decided per activation at first use
#: (``copyavg.numeric._bias_quadrature``): expressions in z
TIERED_FAMILIES = ("quadrature",)


def _sigma_derivs(act, u, top):
    """``[sigma(u), sigma'(u), ..., sigma^(top)(u)]`` for the quadrature families (and gaussian, gelu)."""
    if act.family == "hermite":
        from .activations import _HERMITE

        p = np.poly1d(_HERMITE[int(act.name[-1])])
        return [np.polyder(p, j)(u) if j else p(u) for j in range(top + 1)]
    if act.family == "quadrature":
        from .activations import _compiled

        cp = _compiled(act.name)
        return [cp.values(j, u) for j in range(top + 1)]
    if act.family == "gelu":  # z Phi(z): sigma^(k) = z phi^(k-1) + k phi^(k-2), phi^(j) = (-1)^j He_j phi
        ph = _phi(u)
        he = [np.ones_like(u), u]
        for j in range(1, top):
            he.append(u * he[j] - j * he[j - 1])
        out = [u * _sp().ndtr(u), _sp().ndtr(u) + u * ph]
        for k in range(2, top + 1):
            out.append(((-1) ** (k - 1) * u * he[k - 1] + (-1) ** k * k * he[k - 2]) * ph)
        return out[: top + 1]
    if act.family == "trig":
        cyc = [np.sin(u), np.cos(u), -np.sin(u), -np.cos(u)]
        start = 0 if act.name == "sin" else 1
        return [cyc[(start + j) % 4] for j in range(top + 1)]
    # gaussian exp(-u^2/2): d^j/du^j = (-1)^j He_j(u) exp(-u^2/2)
    e = np.exp(-0.5 * u * u)
    he = [np.ones_like(u), u]
    for j in range(1, top):
        he.append(u * he[j] - j * he[j - 1])
    return [(-1) ** j * he[j] * e for j in range(top + 1)]


def _gh(N):
    z, w = _sp().roots_hermitenorm(N)  # NumPy's hermegauss overflows beyond ~300 nodes
    return z, w / math.sqrt(2 * math.pi)


def _nodes(act, nodes, *sq):
    if nodes is not None:
        return nodes
    if act.family not in TIERED_FAMILIES:
        return QUAD_NODES
    from ._bias_quadrature import nodes_for

    return nodes_for(act, math.sqrt(max(float(np.max(x, initial=0.0)) for x in sq)))


def quadrature_moments(act, top, C11, C22, C12, D, m1, m2, nodes=None):
    """``M[a, b] = E[sigma^(a)(u1) sigma^(b)(u2)]`` (``a + b <= top``) by ``nodes x nodes``
    Gauss-Hermite quadrature in the Cholesky factor: ``u1 = m1 + L11 z1``,
    ``u2 = m2 + L21 z1 + L22 z2`` (exact for the hermite family). Pairs are processed in chunks
    (``nodes^2`` values each) so that memory stays bounded. ``nodes=None``: ``QUAD_NODES``, or for
    the "quadrature" family the count its tier needs (``_bias_quadrature.nodes_for``)."""
    nodes = _nodes(act, nodes, C11, C22)
    C11, C22, C12, D, m1, m2 = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (C11, C22, C12, D, m1, m2)))
    shape = C11.shape
    C11, C22, C12, D, m1, m2 = (x.ravel() for x in (C11, C22, C12, D, m1, m2))
    z, w = _gh(nodes)
    L11 = np.sqrt(C11)
    pos = C11 > 0
    L21 = np.where(pos, C12 / np.where(pos, L11, 1.0), 0.0)
    L22 = np.where(pos, np.sqrt(D / np.where(pos, C11, 1.0)), np.sqrt(C22))
    keys = [(a, b) for a in range(top + 1) for b in range(top + 1 - a)]
    out = {key: np.empty(C11.size) for key in keys}
    step = max(1, 2 ** 16 // (nodes * nodes))
    for lo in range(0, C11.size, step):
        sl = slice(lo, lo + step)
        u1 = m1[sl, None] + L11[sl, None] * z  # (chunk, N)
        u2 = m2[sl, None, None] + L21[sl, None, None] * z[:, None] + L22[sl, None, None] * z[None, :]
        s1 = _sigma_derivs(act, u1, top)
        inner = [s @ w for s in _sigma_derivs(act, u2, top)]  # (chunk, N): E over z2 given z1
        for a, b in keys:
            out[a, b][sl] = (s1[a] * inner[b]) @ w
    return {key: v.reshape(shape) for key, v in out.items()}


def quadrature_diag(act, top, q, c, nodes=None):
    """``s^(k)(q, c) = E[(sigma^2)^(k)(sqrt(q) z + c)]``, ``k = 0..top``, by Gauss-Hermite."""
    nodes = _nodes(act, nodes, q)
    z, w = _gh(nodes)
    u = np.asarray(c, dtype=float)[..., None] + np.sqrt(np.asarray(q, dtype=float))[..., None] * z
    s = _sigma_derivs(act, u, top)
    return [sum(comb(k, j) * s[j] * s[k - j] for j in range(k + 1)) @ w for k in range(top + 1)]


def quadrature_error(act, top, C11, C22, C12, D, m1, m2):
    """Error estimate of ``quadrature_moments``: the largest ``|M(QUAD_NODES) - M(QUAD_NODES_COARSE)|``
    over the returned entries (Gauss-Hermite converges geometrically for these entire functions,
    so the coarser rule's error bounds the finer one's)."""
    fine = quadrature_moments(act, top, C11, C22, C12, D, m1, m2)
    coarse = quadrature_moments(act, top, C11, C22, C12, D, m1, m2, nodes=QUAD_NODES_COARSE)
    return max(float(np.max(np.abs(fine[key] - coarse[key]))) for key in fine)
