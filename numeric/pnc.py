r"""The perturbed n-copy (P-n-C) family and the optimal copy-average point along n/k.

Teacher ``v_j = e_j`` (j = 1..k, d >= k), ``b_j = 1``; student (n < k neurons)

    w_i = alpha v_i + gamma sum_{j <= n, j != i} v_j + beta sum_{j > n} v_j,    a_i = c.

The family is the fixed-point set of the symmetries that permute student neurons together with
the first n teacher neurons and permute the remaining k - n teacher neurons, so (principle of
symmetric criticality) a critical point of the loss restricted to the family is a critical point
of the full loss; we check that by the full gradient anyway. The embedding
``(alpha, beta, gamma, c) -> (a, W)`` is linear, so the reduced gradient and Hessian are
``P^T grad L`` and ``P^T H P`` with the exact full-network derivatives.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from .classify import hessian_inertia
from .hvp import HessianOperator
from .one_neuron import ca_configuration
from .population import Problem

PARAMS = ("alpha", "beta", "gamma", "c")


def _check_sizes(k, n, d):
    for name, v in (("k", k), ("n", n)):
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if n >= k:
        raise ValueError(f"n must be < k for a perturbed n-copy point (n = {n}, k = {k})")
    d = k + 1 if d is None else d
    if not isinstance(d, (int, np.integer)) or d < k:
        raise ValueError(f"d must be an integer >= k = {k}, got {d!r}")
    return int(k), int(n), int(d)


def embedding(k: int, n: int, d: int) -> np.ndarray:
    """P with theta = (a, W row by row) = P @ (alpha, beta, gamma, c).

    Parameters
    ----------
    k, n, d : int
        Teacher neurons, student neurons, input dimension.

    Returns
    -------
    ndarray, shape (n + n d, 4)

    Examples
    --------
    >>> embedding(3, 2, 4).shape
    (10, 4)
    """
    N = n + n * d
    P = np.zeros((N, 4))
    P[:n, 3] = 1.0
    for i in range(n):
        row = n + i * d
        P[row + i, 0] = 1.0
        for j in range(n):
            if j != i:
                P[row + j, 2] = 1.0
        P[row + n:row + k, 1] = 1.0
    return P


def unpack(x, k, n, d):
    """``(a, W)`` of the P-n-C family member ``x = (alpha, beta, gamma, c)``.

    Parameters
    ----------
    x : array_like, shape (4,)
        ``(alpha, beta, gamma, c)``, real.
    k, n, d : int
        Teacher neurons, student neurons, input dimension, with ``1 <= n < k <= d`` (assumed, not
        checked here; ``solve_pnc`` checks its own).

    Returns
    -------
    a : ndarray, shape (n,)
        All entries ``c``.
    W : ndarray, shape (n, d)
        ``w_i = alpha e_i + gamma sum_{j <= n, j != i} e_j + beta sum_{n < j <= k} e_j``.

    Raises
    ------
    ValueError
        ``x`` does not have 4 entries.

    Examples
    --------
    >>> a, W = unpack([1.0, 0.5, 0.25, 2.0], k=3, n=2, d=3)
    >>> a.tolist(), W.tolist()
    ([2.0, 2.0], [[1.0, 0.25, 0.5], [0.25, 1.0, 0.5]])
    """
    theta = embedding(k, n, d) @ np.asarray(x, float)
    return theta[:n], theta[n:].reshape(n, d)


@dataclass(frozen=True)
class PncPoint:
    """A solved P-n-C point (``solve_pnc``): the family parameters, loss and Hessian type.

    Attributes
    ----------
    k, n, d : int
        Teacher neurons, student neurons, input dimension.
    activation : str
        Activation name.
    alpha, beta, gamma, c : float
        Family parameters (see the module docstring; ``unpack`` gives ``(a, W)``).
    loss : float
        ``L`` at the point.
    grad_max : float
        ``max|dL/dtheta|`` of the full network.
    classification : str or None
        ``"minimum"``, ``"saddle"``, ``"maximum"``, ``"degenerate"`` (``hessian_inertia``), or
        ``"not-critical"`` when ``grad_max > 1e-8``; None when solved with ``classify=False``.
    eig_min, eig_max : float
        Smallest and largest eigenvalue of the full Hessian (NaN with ``classify=False``).

    Examples
    --------
    >>> p = solve_pnc(3, 2)
    >>> p.k, p.n, p.d, p.classification, round(p.loss, 6)
    (3, 2, 4, 'saddle', 0.025964)
    >>> sorted(p.to_dict())[:4]
    ['activation', 'alpha', 'beta', 'c']
    """

    k: int
    n: int
    d: int
    activation: str
    alpha: float
    beta: float
    gamma: float
    c: float
    loss: float
    grad_max: float
    classification: str
    eig_min: float
    eig_max: float

    def to_dict(self) -> dict:
        """JSON-ready dict of every field (the eigenvalues as ``hessian_eigs_min``/``hessian_eigs_max``)."""
        return {"loss": self.loss, "alpha": self.alpha, "beta": self.beta, "gamma": self.gamma, "c": self.c,
                "grad_max": self.grad_max, "classification": self.classification,
                "hessian_eigs_min": self.eig_min, "hessian_eigs_max": self.eig_max,
                "k": self.k, "n": self.n, "d": self.d, "activation": self.activation}


def _balanced(x, k, n):
    """Positively homogeneous activations: ``(alpha, beta, gamma, c) -> (alpha/s, beta/s, gamma/s, c s)``
    leaves the loss unchanged (a curve of P-n-C points). Pick the balanced one, ``|c| = |w_i|``:
    gradient flow conserves ``a_i^2 - |w_i|^2``, so it is the point reached from balanced
    (e.g. small) initialisations, and the one of least norm."""
    al, be, ga, c = x
    w = np.sqrt(al * al + (n - 1) * ga * ga + (k - n) * be * be)
    if w == 0 or c == 0:
        return x
    s = np.sqrt(w / abs(c))
    return np.array([al / s, be / s, ga / s, c * s])


def _newton_refine(fun, jac, x, tol, homogeneous: bool, steps: int = 8):
    """Newton on the reduced gradient, keeping the best iterate. For a positively homogeneous
    activation the loss is constant along ``(alpha, beta, gamma, c) -> (alpha/s, ..., c s)``: the
    reduced Hessian is singular there, so ``c`` is held fixed and the three equations in
    ``(alpha, beta, gamma)`` are solved (Euler's relation then gives the fourth when c != 0)."""
    free = [0, 1, 2] if homogeneous and x[3] != 0 else [0, 1, 2, 3]
    best, best_r = x, np.max(np.abs(fun(x)))
    for _ in range(steps):
        if best_r <= tol:
            break
        r = fun(x)
        step = np.linalg.lstsq(jac(x)[np.ix_(free, free)], r[free], rcond=None)[0]
        x = x.copy()
        x[free] -= step
        rx = np.max(np.abs(fun(x)))
        if rx < best_r:
            best, best_r = x, rx
    return best


def solve_pnc(k: int, n: int, d: int | None = None, activation: str = "erf2", x0=None, tol: float = 1e-13,
              callback=None, classify: bool = True) -> PncPoint:
    """Solve the 4-unknown symmetric system for the P-n-C point (start: the n-copy point).

    For the piecewise-linear family only the products ``c alpha``, ``c beta``, ``c gamma`` are fixed
    (positive homogeneity); the balanced representative ``|c| = |w_i|`` is returned.

    Parameters
    ----------
    k, n : int
        ``1 <= n < k``.
    d : int, optional
        ``>= k`` (default ``k + 1``).
    activation : str, default "erf2"
    x0 : sequence of 4 floats, optional
        Start ``(alpha, beta, gamma, c)``.
    tol : float, default 1e-13
        Newton stops at ``max |reduced gradient| <= tol``.
    callback : callable, optional
        Called with no arguments after every gradient or Hessian evaluation (progress).
    classify : bool, default True
        Classify the point by the spectrum of the full Hessian (``hessian_inertia``); with False
        (only the point is wanted, e.g. as a reference for ``copyavg.numeric.endpoints``) that
        ``O(N^3)`` step is skipped and ``classification`` is None, ``eig_min`` and ``eig_max`` NaN.

    Returns
    -------
    PncPoint

    Raises
    ------
    ValueError
        Bad sizes or ``x0``, or no P-n-C point found (the solve failed).

    Examples
    --------
    >>> p = solve_pnc(3, 2)
    >>> p.classification, p.grad_max < 1e-12
    ('saddle', True)
    """
    k, n, d = _check_sizes(k, n, d)
    V = np.eye(k, d)
    b = np.ones(k)
    prob = Problem(b, V, activation)
    P = embedding(k, n, d)

    def loss(x):
        a, W = unpack(x, k, n, d)
        return prob.loss(a, W)

    def fun(x):
        a, W = unpack(x, k, n, d)
        _, ga, gW = prob.loss_and_gradient(a, W)
        if callback is not None:
            callback()
        return P.T @ np.concatenate([ga, gW.ravel()])

    def jac(x):
        a, W = unpack(x, k, n, d)
        op = HessianOperator(prob, a, W)
        if op.kind == "exact":  # P^T H P from four Hessian-vector products: no N x N Hessian
            HP = np.column_stack([op.matvec(P[:, j]) for j in range(P.shape[1])])
            H = P.T @ HP
            H = 0.5 * (H + H.T)
        else:
            H = P.T @ prob.hessian(a, W) @ P
        if callback is not None:
            callback()
        return H

    # descend within the family from the n-copy point (alpha = c = 1, beta = gamma = 0): the
    # P-n-C point is the minimum of the loss restricted to the family next to it. For the
    # piecewise-linear family the students there are collinear with teachers: the Hessian exists
    # (copyavg.numeric.angular), so the same start serves every activation.
    if x0 is None:
        x0 = [1.0, 0.0, 0.0, 1.0]
    x = np.array(x0, float)
    if x.shape != (4,) or not np.isfinite(x).all():
        raise ValueError(f"x0 must be 4 finite numbers (alpha, beta, gamma, c), got {x0!r}")
    try:
        with np.errstate(all="raise", under="ignore"):
            sol = optimize.minimize(loss, x, jac=fun, hess=jac, method="trust-exact", options={"gtol": tol})
            x = sol.x
            x = _newton_refine(fun, jac, x, tol, homogeneous=not prob.activation.smooth)
            if prob.activation.family == "piecewise_linear":
                x = _balanced(x, k, n)
            a, W = unpack(x, k, n, d)
            L, ga, gW = prob.loss_and_gradient(a, W)
            H = prob.hessian(a, W) if classify else None
    except (ValueError, FloatingPointError, np.linalg.LinAlgError) as exc:
        raise ValueError(f"no P-n-C point found for activation {activation!r}, k = {k}, n = {n}: "
                         f"the solve within the family failed ({exc})") from None
    gmax = float(max(np.max(np.abs(ga)), np.max(np.abs(gW))))
    if not classify:
        return PncPoint(k, n, d, activation, *map(float, x), float(L), gmax, None, math.nan, math.nan)
    inert = hessian_inertia(H, a, W, activation)
    cls = inert.classification if gmax <= 1e-8 else "not-critical"
    return PncPoint(k, n, d, activation, *map(float, x), float(L), gmax, cls, inert.eig_min, inert.eig_max)


def optimal_ca_point(k: int, n: int, d: int | None = None, activation: str = "erf2") -> dict:
    """Loss, gradient and classification of the optimal CA point (n - 1 copies, one average);
    ``"not-critical"`` when ``max|grad| > 1e-8`` (as for the P-n-C point).

    Parameters
    ----------
    k, n : int
        ``1 <= n <= k``.
    d : int, optional
        ``>= k`` (default ``k + 1``).
    activation : str, default "erf2"

    Returns
    -------
    dict
        ``{"loss", "grad_max", "classification", "eig_min", "partition"}``.

    Raises
    ------
    ValueError
        Bad sizes.

    Examples
    --------
    >>> ca = optimal_ca_point(3, 2)
    >>> ca["partition"], ca["grad_max"] < 1e-14
    ([1, 2], True)
    """
    if not isinstance(n, (int, np.integer)) or not isinstance(k, (int, np.integer)) or not 1 <= n <= k:
        raise ValueError(f"need integers 1 <= n <= k, got n = {n!r}, k = {k!r}")
    d = k + 1 if d is None else d
    parts = (1,) * (n - 1) + (k - n + 1,)
    a, W, b, V = ca_configuration(activation, parts, d=d)
    prob = Problem(b, V, activation)
    L, ga, gW = prob.loss_and_gradient(a, W)
    inert = hessian_inertia(prob.hessian(a, W), a, W, activation)
    gmax = float(max(np.max(np.abs(ga)), np.max(np.abs(gW))))
    # not critical (e.g. ReLU, where CA points are not critical points): no type to give
    cls = inert.classification if gmax <= 1e-8 else "not-critical"
    return {"loss": float(L), "grad_max": gmax, "classification": cls,
            "eig_min": inert.eig_min, "partition": list(parts)}


def threshold_table(k: int, activation: str = "erf2", ns=None) -> list[dict]:
    """For each n: P-n-C and optimal-CA loss and type; the caller reads off where they change.

    Parameters
    ----------
    k : int
    activation : str, default "erf2"
    ns : iterable of int, optional
        Student widths (default ``1..k-1``).

    Returns
    -------
    list of dict
        One row per n (keys ``n, n_over_k, pnc_loss, pnc_type, ca_loss, ca_type, ...``).

    Examples
    --------
    >>> [r["n"] for r in threshold_table(3, ns=[1])]
    [1]
    """
    ns = range(1, k) if ns is None else ns
    rows = []
    for n in ns:
        p = solve_pnc(k, n, activation=activation)
        ca = optimal_ca_point(k, n, activation=activation)
        rows.append({"n": n, "n_over_k": n / k, "pnc_loss": p.loss, "pnc_type": p.classification,
                     "pnc_eig_min": p.eig_min, "ca_loss": ca["loss"], "ca_type": ca["classification"],
                     "ca_eig_min": ca["eig_min"], "pnc_grad_max": p.grad_max, "ca_grad_max": ca["grad_max"]})
    return rows


def summarize_thresholds(rows: list[dict]) -> dict:
    """Where the P-n-C / optimal-CA types change and where the P-n-C loss drops below the CA loss.

    Parameters
    ----------
    rows : list of dict
        Output of ``threshold_table``.

    Returns
    -------
    dict
        ``{"pnc_type_changes", "ca_type_changes", "loss_crossings"}`` (lists of strings).

    Examples
    --------
    >>> summarize_thresholds([])
    {'pnc_type_changes': [], 'ca_type_changes': [], 'loss_crossings': []}
    """
    def changes(key):
        out = []
        for r0, r1 in zip(rows, rows[1:]):
            if r0[key] != r1[key]:
                out.append(f"{r0[key]} (n = {r0['n']}) -> {r1[key]} (n = {r1['n']})")
        return out

    def sign(r):  # equal within float64 summation error (e.g. n = 1, where P-n-C is the CA point)
        diff = r["pnc_loss"] - r["ca_loss"]
        return 0 if abs(diff) <= 1e-12 * max(1.0, abs(r["ca_loss"])) else (1 if diff > 0 else -1)

    cross = [f"between n = {r0['n']} and n = {r1['n']}" for r0, r1 in zip(rows, rows[1:])
             if sign(r0) * sign(r1) < 0]
    return {"pnc_type_changes": changes("pnc_type"), "ca_type_changes": changes("ca_type"),
            "loss_crossings": cross}
