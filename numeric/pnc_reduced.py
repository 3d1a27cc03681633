r"""The P-n-C point from its four-parameter reduced equations at a cost independent of k.

Same family and start as ``copyavg.numeric.pnc.solve_pnc`` (teacher ``v_j = e_j``, ``b_j = 1``;
``w_i = alpha e_i + gamma sum_{j <= n, j != i} e_j + beta sum_{j > n} e_j``, ``a_i = c``), but the
reduced loss, gradient and Hessian come from the orbit sums of ``copyavg.numeric._sym_window``
(one copy student stands for all n) and the Hessian's type from the symmetry blocks
(``copyavg.numeric.symmetry``): nothing of size n or k is formed. Smooth activations and the
piecewise-linear family (whose P-n-C points form a curve under positive homogeneity: the balanced
one ``|c| = |w_i|`` is returned, as by ``solve_pnc``).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import optimize

from ._sym_counts import orbit_keys
from ._sym_window import Window
from .activations import get_activation
from .pnc import _balanced
from .symmetry import _pencils, block_classification, ca_structure, pnc_structure

__all__ = ["solve_pnc_reduced", "ca_point_reduced"]


def _reduced_gradient_entries(window: Window, sqrt=np.sqrt) -> tuple[list, list]:
    """``P^T grad L`` in ``(alpha, beta, gamma, c)`` and the four distinct entries of ``grad L``
    (``d/da_c``, ``d/dW_cc``, ``d/dW_c,other copy``, one averaged direction), in the window's
    number type: float64, or mpmath with ``sqrt=mpmath.sqrt``."""
    st = window.st
    ga, gw = window.gradient(0)
    w, N = st.window, st.N
    g_other = gw[1] if N >= 2 else 0
    root = sqrt(st.M)
    return [N * gw[0], N * root * gw[w], N * (N - 1) * g_other, N * ga], [ga, gw[0], g_other, gw[w] / root]


def _reduced_gradient(window: Window) -> tuple[np.ndarray, float]:
    """``P^T grad L`` in ``(alpha, beta, gamma, c)`` and ``max|grad L|`` of the full network."""
    red, entries = _reduced_gradient_entries(window)
    return np.array([float(v) for v in red]), max(abs(float(v)) for v in entries)


def _reduced_hessian(st, window=None) -> np.ndarray:
    """``P^T H P``: the core trivial block in the orbit-indicator basis, rescaled to
    ``(alpha, beta, gamma, c)`` (``beta`` moves every averaged direction: ``sqrt(M)`` along u)."""
    M = next(M for sec, tau, M, G, _ in _pencils(st, window=window) if (sec, tau) == ("core", "trivial"))
    keys = orbit_keys("core", st.N, False)
    where = {("a", 0): 3, ("W", 0, 0): 0, ("W", 0, "u"): 1, ("W", 0, 1): 2}
    P = np.zeros((len(keys), 4))
    for i, key in enumerate(keys):
        P[i, where[key]] = np.sqrt(st.M) if where[key] == 1 else 1.0
    return P.T @ M @ P


def _family_minimum(Hr, n, homogeneous=False) -> bool:
    """Is the reduced Hessian positive definite (gamma left out at n = 1, where it does not enter;
    ``c`` held fixed for a positively homogeneous activation, whose loss is constant along
    ``(alpha, beta, gamma, c) -> (alpha / s, beta / s, gamma / s, c s)``)?"""
    keep = [0, 1, 3] if n == 1 else [0, 1, 2, 3]
    if homogeneous:
        keep = keep[:-1]
    return bool(np.all(np.linalg.eigvalsh(Hr[np.ix_(keep, keep)]) > 0))


def _functions(k, n, d, activation):
    """``st, win, loss, grad, hess, gmax`` of the family member x; one window per x (kept for the
    last few x: the solvers ask for loss, gradient and Hessian at the same point)."""
    cache: dict = {}

    def st(x):
        return pnc_structure(k, n, x, d, activation)

    def win(x):
        key = tuple(float(v) for v in x)
        if key not in cache:
            if len(cache) > 8:
                cache.clear()
            cache[key] = Window(st(x))
        return cache[key]

    def loss(x):
        return float(win(x).loss())

    def grad(x):
        return _reduced_gradient(win(x))[0]

    def hess(x):
        w = win(x)
        return _reduced_hessian(w.st, w)

    def gmax(x):
        return _reduced_gradient(win(x))[1]

    return st, win, loss, grad, hess, gmax


def _newton(grad, hess, gmax, x, tol, steps):
    """Newton on the reduced gradient, keeping the iterate with the smallest full-network
    ``max|grad|`` (the reduced Hessian can be nearly singular, e.g. small n at large k, where
    plain Newton wanders along a flat valley); stops when that is below ``tol``."""
    best, best_g = x, gmax(x)
    for _ in range(steps):
        if best_g <= tol:
            break
        x = x - np.linalg.lstsq(hess(x), grad(x), rcond=None)[0]  # n = 1: gamma does not enter
        g = gmax(x)
        if g < best_g:
            best, best_g = x, g
    return best, best_g


def solve_pnc_reduced(k: int, n: int, d: int | None = None, activation: str = "erf2", x0=None,
                      tol: float = 1e-13, guess=None) -> dict:
    """Solve the reduced P-n-C equations and classify the point by its symmetry blocks.

    Parameters
    ----------
    k, n : int
        ``1 <= n < k``.
    d : int, optional
        ``>= k`` (default ``k + 1``).
    activation : str, default "erf2"
        Erf family or piecewise-linear (relu, leaky_relu, abs).
    x0 : sequence of 4 floats, optional
        Start ``(alpha, beta, gamma, c)`` (default the n-copy point ``(1, 0, 0, 1)``).
    tol : float, default 1e-13
        Newton stops at ``max|grad L| <= tol`` (full network).
    guess : sequence of 4 floats, optional
        Continuation: try plain Newton from here first (e.g. the point at n - 1) and keep its
        result if it converges to a point whose reduced Hessian is positive definite (a minimum
        within the family, as the descent from ``x0`` gives); otherwise solve from ``x0``.
        Ignored for the piecewise-linear family (Newton can slide to ``w = 0, a = 0`` there).

    Returns
    -------
    dict
        ``{"alpha", "beta", "gamma", "c", "loss", "grad_max", "classification", "eig_min",
        "eig_max"}``; ``classification`` is ``"not-critical"`` when ``grad_max > 1e-8``.

    Raises
    ------
    ValueError
        Bad sizes, an activation neither smooth nor piecewise-linear, or the solve failed.

    Examples
    --------
    >>> p = solve_pnc_reduced(3, 2)
    >>> p["classification"], round(p["loss"], 6)
    ('saddle', 0.025964)
    """
    if x0 is None and guess is None:  # the default solve is deterministic: cached
        try:
            return dict(_solve_default(k, n, d, activation, tol))
        except TypeError:  # unhashable argument: checked below
            pass
    return _solve(k, n, d, activation, x0, tol, guess)


@lru_cache(maxsize=4096)
def _solve_default(k, n, d, activation, tol):
    return _solve(k, n, d, activation, None, tol, None)


def _solve(k, n, d, activation, x0, tol, guess) -> dict:
    st, win, loss, grad, hess, gmax = _functions(k, n, d, activation)
    homogeneous = get_activation(activation).family == "piecewise_linear"
    x = np.array([1.0, 0.0, 0.0, 1.0] if x0 is None else x0, float)
    st(x)  # checks sizes and activation before the solve
    try:
        with np.errstate(all="raise", under="ignore"):
            # homogeneous: plain Newton from a guess can slide along the scaling curve to w = 0, a = 0
            # (a critical point), so the descent from x0 is always used, as by solve_pnc
            y, gy = ((None, np.inf) if guess is None or homogeneous
                     else _newton(grad, hess, gmax, np.array(guess, float), tol, 10))
            if gy <= 1e-12 and _family_minimum(hess(y), n, homogeneous):
                x = y
            else:
                x = optimize.minimize(loss, x, jac=grad, hess=hess, method="trust-exact", options={"gtol": tol}).x
                x, _ = _newton(grad, hess, gmax, x, tol, 8)
    except (FloatingPointError, np.linalg.LinAlgError) as exc:
        raise ValueError(f"no P-n-C point found for activation {activation!r}, k = {k}, n = {n}: "
                         f"the reduced solve failed ({exc})") from None
    if homogeneous:
        x = _balanced(x, k, n)
    w = win(x)
    s = w.st
    _, gmax = _reduced_gradient(w)
    cls = block_classification(s, window=w)
    label = cls["classification"] if gmax <= 1e-8 else "not-critical"
    return {"alpha": float(x[0]), "beta": float(x[1]), "gamma": float(x[2]), "c": float(x[3]),
            "loss": float(w.loss()), "grad_max": float(gmax), "classification": label,
            "eig_min": cls["eig_min"], "eig_max": cls["eig_max"]}


def ca_point_reduced(k: int, n: int, d: int | None = None, activation: str = "erf2") -> dict:
    """Loss, gradient size and type of the optimal CA point from its symmetry blocks.

    Parameters
    ----------
    k, n : int
        ``1 <= n < k``.
    d : int, optional
        ``>= k`` (default ``k + 1``).
    activation : str, default "erf2"
        Erf family or piecewise-linear (relu, leaky_relu, abs).

    Returns
    -------
    dict
        ``{"loss", "grad_max", "classification", "eig_min", "eig_max"}``.

    Raises
    ------
    ValueError
        Bad sizes or an activation neither smooth nor piecewise-linear.

    Examples
    --------
    >>> ca_point_reduced(10, 9)["classification"]
    'saddle'
    """
    s = ca_structure(k, n, d, activation)
    w = Window(s)
    gmax = 0.0
    for stud in w.students:
        ga, gw = w.gradient(stud)
        gmax = max(gmax, abs(float(ga)), float(np.max(np.abs(gw[:-3]))) if len(gw) > 3 else 0.0,
                   abs(float(gw[-3])) / np.sqrt(s.M))
    cls = block_classification(s, window=w)
    label = cls["classification"] if gmax <= 1e-8 else "not-critical"
    return {"loss": float(w.loss()), "grad_max": float(gmax), "classification": label,
            "eig_min": cls["eig_min"], "eig_max": cls["eig_max"]}
