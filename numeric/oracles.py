r"""Independent oracles for the Gaussian kernels and the population loss (no SymPy).

These routes share nothing with the derived closed forms except the definition of the activation
``sigma``: they integrate or sample the defining expectations directly, so tests can check the
generated kernels against them (closed form vs quadrature vs Monte Carlo, each with its own bound).

Conventions as in ``copyavg.numeric``: ``x ~ N(0, I_d)``, ``L = E[(f - f*)^2]`` with no 1/2.

* ``kernel_quad_mp``: ``g = E[sigma(X) sigma(Y)]`` by nested 2-D mpmath quadrature.
* ``kernel_monte_carlo``: the same expectation by sampling, with its standard error.
* ``loss_monte_carlo``: ``E_x[(f(x) - f*(x))^2]`` by sampling ``x``, with its standard error.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np

from .activations import get_activation

__all__ = ["kernel_quad_mp", "kernel_monte_carlo", "loss_monte_carlo"]


def _gauss_pdf_mp(z):
    return mpmath.exp(-z * z / 2) / mpmath.sqrt(2 * mpmath.pi)


def _gl_nodes(n_nodes_degree: int):
    """Gauss-Legendre nodes and weights on [-1, 1] at the working precision (cached by mpmath)."""
    return mpmath.calculus.quadrature.GaussLegendre(mpmath.mp).get_nodes(
        -1, 1, n_nodes_degree, mpmath.mp.prec)


def _breakpoints(L, feature, width):
    """Panel edges on ``[-L, L]``: a base grid of spacing <= 2 (twice the Gaussian's scale), the point
    ``feature`` where the integrand has its kink or step, and edges graded geometrically away from
    it (``feature +- width 2^j``) so a step of width ``width`` is resolved by panels of its size."""
    n_base = int(mpmath.ceil(L))
    pts = {-L + 2 * L * j / n_base for j in range(n_base + 1)}
    if feature is not None and -L < feature < L:
        pts.add(feature)
        if width is not None and width > 0:
            h = width
            while h < 2:
                for p in (feature - h, feature + h):
                    if -L < p < L:
                        pts.add(p)
                h *= 2
    return sorted(pts)


def _quad_line(f, L, feature=None, width=None, degree=3):
    """``int_{-L}^{L} f(z) phi(z) dz`` by composite Gauss-Legendre on the panels of
    ``_breakpoints`` (``3 * 2^(degree-1)`` nodes per panel)."""
    nodes = _gl_nodes(degree)
    pts = _breakpoints(L, feature, width)
    total = mpmath.mpf(0)
    for lo, hi in zip(pts[:-1], pts[1:]):
        half, mid = (hi - lo) / 2, (hi + lo) / 2
        total += half * mpmath.fsum(w * f(mid + half * x) * _gauss_pdf_mp(mid + half * x)
                                    for x, w in nodes)
    return total


def kernel_quad_mp(activation: str, C11, C22, C12, dps: int = 30):
    r"""``g = E[sigma(X) sigma(Y)]`` for ``(X, Y) ~ N(0, [[C11, C12], [C12, C22]])`` by quadrature.

    With ``D = C11 C22 - C12^2`` (clipped at 0) and independent standard normals ``z1, z2``,
    the Cholesky form ``X = sqrt(C11) z1``, ``Y = (C12 / sqrt(C11)) z1 + sqrt(D / C11) z2`` gives

        g = int phi(z1) sigma(sqrt(C11) z1) [ int phi(z2) sigma(Y(z1, z2)) dz2 ] dz1,

    integrated at ``dps`` digits, ``z2`` inner and ``z1`` outer. Both
    integrals are split where the argument of sigma changes sign (outer at ``z1 = 0``, inner at
    ``z2* = -C12 z1 / sqrt(D)`` where ``Y = 0``): that is the kink of the piecewise-linear family
    and the steep step of ``erf(lam z)`` at large norms, so every piece is smooth.

    Degenerate cases reduce to one dimension: ``C11 = 0`` (then ``X = 0``; roles of the two
    vectors are swapped since g is symmetric), both norms 0 (``g = sigma(0)^2``), and ``D = 0``
    (``Y = (C12 / sqrt(C11)) z1``, a single integral over ``z1``).

    Each 1-D integral is truncated to ``[-L, L]`` with ``L = sqrt(2 (dps + 2) ln 10)`` (the
    Gaussian tail beyond is below ``10^-(dps+2)``) and done by composite Gauss-Legendre (12 nodes
    per panel for ``dps <= 20``, 24 above) on panels of width <= 2, graded geometrically towards the
    split point at the finest scale of the integrand there (the erf step width ``1/(lam |coef|)``;
    for the outer integral also the smoothing width ``sqrt(D / C11) / |slope|`` of the inner
    integral). A fixed rule is used rather than ``mpmath.quad``'s adaptive tanh-sinh because the
    nested adaptive rule costs tens of seconds per value; against the closed forms this rule gives
    relative errors around 1e-15 at ``dps = 15`` (more digits need a larger ``dps``).

    Only ``ACTIVATIONS[name].sigma_mp`` is used: nothing from the derived kernels. Returns an
    ``mpf`` (at ``dps`` digits). Precision is set with ``mpmath.workdps``, never globally.

    Parameters
    ----------
    activation : str
        A name from ``copyavg.numeric.ACTIVATIONS``.
    C11, C22, C12 : real (int, float, str or mpf)
        ``|w|^2 >= 0``, ``|v|^2 >= 0`` and ``w.v``, converted with ``mpmath.mpf`` at ``dps``
        digits. ``C12^2 <= C11 C22`` is assumed, not checked (``D`` is clipped at 0).
    dps : int, default 30
        Working precision in decimal digits, ``>= 1``; the cost grows with it (about 1 s per
        value at 15 digits for the erf family, more above 20).

    Returns
    -------
    mpmath.mpf
        ``g`` at ``dps`` digits (relative accuracy about ``10^-dps``; see above).

    Raises
    ------
    ValueError
        ``C11 < 0`` or ``C22 < 0``, a string ``mpmath.mpf`` cannot parse, or an unknown
        activation.
    TypeError
        A value of a type ``mpmath.mpf`` does not accept (e.g. None).

    Examples
    --------
    >>> print(mpmath.nstr(kernel_quad_mp("relu", 1, 1, 1, dps=15), 10))  # w = v: E[relu(z)^2] = 1/2
    0.5
    """
    act = get_activation(activation)
    sig = act.sigma_mp
    with mpmath.workdps(dps):
        C11, C22, C12 = mpmath.mpf(C11), mpmath.mpf(C22), mpmath.mpf(C12)
        if C11 < 0 or C22 < 0:
            raise ValueError(f"C11 and C22 must be >= 0, got {C11}, {C22}")
        if C11 == 0:
            C11, C22 = C22, C11
        zero = mpmath.mpf(0)
        if C11 == 0:  # both vectors zero
            return +(sig(zero) ** 2)
        # Gaussian tail beyond L is below 10^-(dps+2) relative: truncation error negligible
        L = mpmath.sqrt(2 * (dps + 2) * mpmath.log(10))
        degree = 3 if dps <= 20 else 4
        lam = act.params_mp()["lam"] if act.family == "erf" else None
        r11 = mpmath.sqrt(C11)
        D = max(C11 * C22 - C12 * C12, zero)
        slope = C12 / r11  # Y = slope z1 + spread z2

        def width(coef):  # width of the erf step of sigma(coef z) in z; None for a kink
            return None if lam is None or coef == 0 else 1 / (lam * abs(coef))

        if D == 0:
            w_out = width(max(r11, abs(slope)))
            return +_quad_line(lambda z1: sig(r11 * z1) * sig(slope * z1), L, zero, w_out, degree)
        spread = mpmath.sqrt(D / C11)
        sqD = mpmath.sqrt(D)
        w_in = width(spread)

        def inner(z1):
            zstar = -C12 * z1 / sqD  # Y = 0 there
            return _quad_line(lambda z2: sig(slope * z1 + spread * z2), L, zstar, w_in, degree)

        # inner(z1) is sigma(slope z1) smoothed over a width spread/|slope| in z1: grade the outer
        # panels at that scale too (it is the only fine scale of a piecewise-linear integrand)
        widths = [w for w in (width(r11), spread / abs(slope) if slope != 0 else None) if w is not None]
        w_out = min(widths) if widths else None
        return +_quad_line(lambda z1: sig(r11 * z1) * inner(z1), L, zero, w_out, degree)


def _cholesky_pair(C11, C22, C12, z1, z2):
    """Samples ``(X, Y)`` with covariance ``[[C11, C12], [C12, C22]]`` from standard normals."""
    if C11 > 0:
        r11 = math.sqrt(C11)
        D = max(C11 * C22 - C12 * C12, 0.0)
        return r11 * z1, (C12 / r11) * z1 + math.sqrt(D / C11) * z2
    return np.zeros_like(z1), math.sqrt(C22) * z2


def kernel_monte_carlo(activation: str, C11, C22, C12, n_samples: int, rng, chunk: int = 1 << 16):
    r"""Monte Carlo estimate of ``g = E[sigma(X) sigma(Y)]``: returns ``(mean, stderr)``.

    ``(X, Y)`` is sampled by the Cholesky form of ``kernel_quad_mp``; ``stderr = s / sqrt(N)``
    with ``s`` the sample standard deviation (``ddof = 1``) of ``sigma(X) sigma(Y)``. Samples are
    drawn in chunks of at most ``chunk`` so memory stays bounded. ``rng`` is a
    ``numpy.random.Generator`` (or a seed for ``default_rng``).

    Parameters
    ----------
    activation : str
        A name from ``copyavg.numeric.ACTIVATIONS``.
    C11, C22, C12 : float
        ``|w|^2 >= 0``, ``|v|^2 >= 0`` and ``w.v``, finite; ``C12^2 <= C11 C22`` is assumed, not
        checked (``D`` is clipped at 0).
    n_samples : int
        Number of samples ``N >= 2``.
    rng : numpy.random.Generator or seed
        A generator (advanced in place) or anything ``numpy.random.default_rng`` accepts.
    chunk : int, default 65536
        Largest number of samples drawn at once, ``>= 1``.

    Returns
    -------
    mean : float
        The sample mean of ``sigma(X) sigma(Y)``.
    stderr : float
        Its standard error ``s / sqrt(N)``.

    Raises
    ------
    ValueError
        ``n_samples < 2``, an unknown activation, or ``C22 < 0`` when ``C11 <= 0``.

    Examples
    --------
    >>> mean, se = kernel_monte_carlo("linear", 1.0, 1.0, 0.5, 20_000, rng=0)  # g = C12
    >>> abs(mean - 0.5) <= 5 * se
    True
    """
    act = get_activation(activation)
    if n_samples < 2:
        raise ValueError(f"n_samples must be >= 2, got {n_samples}")
    rng = np.random.default_rng(rng)
    C11, C22, C12 = float(C11), float(C22), float(C12)

    def draw(m):
        z1 = rng.standard_normal(m)
        z2 = rng.standard_normal(m)
        X, Y = _cholesky_pair(C11, C22, C12, z1, z2)
        return act.sigma(X) * act.sigma(Y)

    return _chunked_mean(draw, n_samples, chunk)


def _chunked_mean(draw, n_samples: int, chunk: int):
    """Mean and standard error of samples produced by ``draw(m)`` in chunks (Chan et al. merge)."""
    count, mean, m2 = 0, 0.0, 0.0
    left = n_samples
    while left > 0:
        m = min(chunk, left)
        s = np.asarray(draw(m), dtype=float)
        cm = float(s.mean())
        cm2 = float(((s - cm) ** 2).sum())
        delta = cm - mean
        tot = count + m
        mean += delta * m / tot
        m2 += cm2 + delta * delta * count * m / tot
        count = tot
        left -= m
    var = m2 / (count - 1)
    return mean, math.sqrt(var / count)


def loss_monte_carlo(a, W, b, V, activation: str, n_samples: int, rng, chunk_elems: int = 1 << 20):
    r"""Monte Carlo estimate of ``L = E_x[(f(x) - f*(x))^2]``, ``x ~ N(0, I_d)``: ``(mean, stderr)``.

    ``f(x) = sum_i a_i sigma(w_i.x)``, ``f*(x) = sum_j b_j sigma(v_j.x)`` (no 1/2). Inputs are
    drawn in chunks of about ``chunk_elems / max(d, n + k)`` rows so memory stays bounded; the
    standard error is ``s / sqrt(N)`` with ``s`` the sample standard deviation of the squared
    residual.

    Parameters
    ----------
    a : array_like, shape (n,)
        Student outgoing weights, real and finite.
    W : array_like, shape (n, d)
        Student incoming weights (a 1-d ``W`` is read as one row).
    b : array_like, shape (k,)
        Teacher outgoing weights.
    V : array_like, shape (k, d)
        Teacher incoming weights (a 1-d ``V`` is read as one row).
    activation : str
        A name from ``copyavg.numeric.ACTIVATIONS``.
    n_samples : int
        Number of inputs ``N >= 2``.
    rng : numpy.random.Generator or seed
        A generator (advanced in place) or anything ``numpy.random.default_rng`` accepts.
    chunk_elems : int, default 1048576
        Approximate number of array elements per chunk (at least one input row per chunk).

    Returns
    -------
    mean : float
        The sample mean of ``(f(x) - f*(x))^2``.
    stderr : float
        Its standard error ``s / sqrt(N)``.

    Raises
    ------
    ValueError
        Shapes that do not match, ``n_samples < 2``, or an unknown activation.

    Examples
    --------
    >>> mean, se = loss_monte_carlo([0.0], [[1.0]], [1.0], [[1.0]], "linear", 20_000, rng=0)
    >>> abs(mean - 1.0) <= 5 * se  # L = E[x^2] = 1
    True
    """
    act = get_activation(activation)
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    W = np.atleast_2d(np.asarray(W, dtype=float))
    V = np.atleast_2d(np.asarray(V, dtype=float))
    if W.shape[1] != V.shape[1] or W.shape[0] != a.shape[0] or V.shape[0] != b.shape[0]:
        raise ValueError(f"shapes do not match: a {a.shape}, W {W.shape}, b {b.shape}, V {V.shape}")
    if n_samples < 2:
        raise ValueError(f"n_samples must be >= 2, got {n_samples}")
    rng = np.random.default_rng(rng)
    d = W.shape[1]
    Y = np.concatenate((W, V))
    U = np.concatenate((a, -b))
    rows = max(1, chunk_elems // max(d, Y.shape[0]))

    def draw(m):
        x = rng.standard_normal((m, d))
        r = act.sigma(x @ Y.T) @ U
        return r * r

    return _chunked_mean(draw, n_samples, rows)
