r"""Curvature of the loss at a point without a dense Hessian: Lanczos extremes of the
Hessian-vector product (``copyavg.numeric.hvp``), the handover test of the matrix-free flow, and
the classification of end points (dense inertia where affordable, else Lanczos).

For a symmetric matrix each Ritz value ``theta`` of ``scipy.sparse.linalg.eigsh`` lies within its
residual norm ``|H x - theta x|`` of a true eigenvalue, and the smallest Ritz value is a Rayleigh
quotient, an upper bound on the smallest eigenvalue: a negative one proves negative curvature.
That the Ritz values are the *extreme* eigenvalues is Lanczos' estimate.
"""

from __future__ import annotations

import numpy as np

from .hvp import HessianOperator

__all__ = ["endpoint_curvature", "lanczos_extremes", "no_negative_curvature"]


def lanczos_extremes(op: HessianOperator, *, k: int = 1, tol: float = 1e-8, maxiter: int | None = None,
                     which=("SA", "LA")) -> dict:
    """Extreme eigenvalues of a Hessian operator by Lanczos (``scipy.sparse.linalg.eigsh``).

    Each Ritz value ``theta`` comes with ``r = |H x - theta x|`` (unit ``x``): ``H`` has an
    eigenvalue within ``r`` of ``theta``. The smallest Ritz value is a Rayleigh quotient, so
    ``theta_min >= lambda_min`` always (a negative ``theta_min`` proves negative curvature); that
    it *equals* ``lambda_min`` within ``r`` is a Lanczos estimate (it can miss an eigenvalue only
    if the start vector, fixed random, has no component along it).

    Parameters
    ----------
    op : HessianOperator
        The Hessian.
    k : int, default 1
        Ritz pairs computed at each end.
    tol : float, default 1e-8
        ARPACK's relative tolerance.
    maxiter : int, optional
        ARPACK's iteration cap.
    which : tuple of str, default ("SA", "LA")
        The ends wanted: ``"SA"`` (smallest), ``"LA"`` (largest).

    Returns
    -------
    dict
        ``{"min", "residual_min", "max", "residual_max", "converged"}`` (the ends asked for);
        an end ARPACK did not converge for has ``nan`` and ``inf`` residual, and
        ``converged`` is False.

    Raises
    ------
    ValueError
        Bad ``k`` or ``which`` (from ``eigsh``).

    Examples
    --------
    >>> import numpy as np
    >>> from copyavg.numeric import Problem
    >>> from copyavg.numeric.hvp import HessianOperator
    >>> P = Problem(np.ones(2), np.eye(2, 3))
    >>> op = HessianOperator(P, np.ones(2), np.eye(2, 3))  # the teacher: a minimum
    >>> ext = lanczos_extremes(op)
    >>> lam = np.linalg.eigvalsh(P.hessian(np.ones(2), np.eye(2, 3)))
    >>> bool(abs(ext["min"] - lam[0]) < 1e-8 and abs(ext["max"] - lam[-1]) < 1e-8)
    True
    """
    from scipy.sparse.linalg import ArpackNoConvergence, eigsh

    wanted = which
    L = op.aslinearoperator()
    out = {"converged": True}
    v0 = np.random.default_rng(0).standard_normal(op.N)
    for which, key in (("SA", "min"), ("LA", "max")):
        if which not in wanted:
            continue
        try:
            vals, vecs = eigsh(L, k=k, which=which, tol=tol, maxiter=maxiter, v0=v0)
        except ArpackNoConvergence as exc:
            vals, vecs = exc.eigenvalues, exc.eigenvectors
            out["converged"] = False
            if vals.size == 0:
                out[key], out["residual_" + key] = float("nan"), float("inf")
                continue
        j = int(np.argmin(vals)) if key == "min" else int(np.argmax(vals))
        x = vecs[:, j] / np.linalg.norm(vecs[:, j])
        out[key] = float(vals[j])
        out["residual_" + key] = float(np.linalg.norm(op.matvec(x) - vals[j] * x))
    return out


def endpoint_curvature(problem, a, W, *, max_dense: int = 3000, rtol: float = 1e-11,
                       lanczos_tol: float = 1e-10) -> dict:
    """Second-order type of a critical point: from the dense Hessian where affordable, else from
    a Lanczos estimate of the extreme eigenvalues (matrix-free).

    Dense (``N = n + n d <= max_dense``): ``copyavg.numeric.classify.hessian_inertia`` (its
    tolerance ``rtol max(1, |H|_2)`` and symmetry zero modes). Lanczos: ``lanczos_extremes`` with
    ARPACK tolerance ``lanczos_tol``; with ``tol = rtol max(1, theta_max)`` the type is
    ``"saddle"`` when ``theta_min < -tol - r_min`` (a Rayleigh quotient below zero: proved),
    ``"minimum"`` when ``theta_min > tol + r_min`` (an estimate: Lanczos is assumed to have found
    the smallest eigenvalue), else ``"undecided"`` (an eigenvalue within ``tol`` of zero or an
    unconverged Lanczos run; zero modes are not resolved matrix-free).

    Parameters
    ----------
    problem : Problem
        Teacher and activation.
    a : array_like, shape (n,)
        Outgoing weights of the critical point.
    W : array_like, shape (n, d)
        Incoming weights.
    max_dense : int, default 3000
        Largest ``N`` for the dense route (a dense Hessian takes ``8 N^2`` bytes).
    rtol : float, default 1e-11
        Relative zero tolerance (as ``hessian_inertia``).
    lanczos_tol : float, default 1e-10
        ARPACK tolerance of the Lanczos route.

    Returns
    -------
    dict
        ``{"method": "dense" | "lanczos", "classification", "eig_min", "eig_max", "tol",
        "residual_min", "residual_max"}`` (residuals 0.0 for the dense route; its
        classification is ``hessian_inertia``'s).

    Raises
    ------
    ValueError
        As ``Problem.hessian``; ``max_dense`` negative.

    Examples
    --------
    >>> import numpy as np
    >>> from copyavg.numeric import Problem
    >>> P = Problem(np.ones(2), np.eye(2, 3))
    >>> endpoint_curvature(P, np.ones(2), np.eye(2, 3))["classification"]
    'minimum'
    >>> r = endpoint_curvature(P, np.ones(2), np.eye(2, 3), max_dense=0)
    >>> r["method"], r["classification"]
    ('lanczos', 'minimum')
    """
    if not isinstance(max_dense, (int, np.integer)) or max_dense < 0:
        raise ValueError(f"max_dense must be a non-negative integer, got {max_dense!r}")
    a = np.asarray(a, dtype=float)
    W = np.asarray(W, dtype=float)
    N = a.size + W.size
    if N <= max_dense:
        from .classify import hessian_inertia

        inert = hessian_inertia(problem.hessian(a, W), a, W, problem.activation.name, rtol=rtol)
        return {"method": "dense", "classification": inert.classification, "eig_min": inert.eig_min,
                "eig_max": inert.eig_max, "tol": inert.tol, "residual_min": 0.0, "residual_max": 0.0}
    op = HessianOperator(problem, a, W)
    if op.kind != "exact":
        raise ValueError("endpoint_curvature: the matrix-free route needs exact Hessian-vector products "
                         f"(smooth activation at moderate norms); raise max_dense above N = {N}")
    ext = lanczos_extremes(op, tol=lanczos_tol)
    tol = rtol * max(1.0, abs(ext["max"]))
    if not ext["converged"]:
        kind = "undecided"
    elif ext["min"] < -tol - ext["residual_min"]:
        kind = "saddle"
    elif ext["min"] > tol + ext["residual_min"]:
        kind = "minimum"
    else:
        kind = "undecided"
    return {"method": "lanczos", "classification": kind, "eig_min": ext["min"], "eig_max": ext["max"],
            "tol": tol, "residual_min": ext["residual_min"], "residual_max": ext["residual_max"]}


def no_negative_curvature(problem, y, n: int, neg_curvature: float, *, max_dense: int = 3000) -> bool:
    """Handover test of ``flow_and_polish``'s matrix-free route: ``H + neg_curvature I`` is positive
    definite. Up to ``N = max_dense`` parameters by a Cholesky factorization of the dense Hessian
    (exact up to rounding; at ``N = 2548`` about 0.3 s against 10-15 s for Lanczos, whose smallest
    Ritz value converges slowly when the small eigenvalues cluster near a minimum); above it, the
    Lanczos estimate of the smallest Hessian eigenvalue, less its residual bound, is at least
    ``-neg_curvature``.

    Parameters
    ----------
    problem : Problem
        Teacher and activation.
    y : ndarray, shape (n + n d,)
        ``theta = (a, W row by row)``.
    n : int
        Student width.
    neg_curvature : float
        Curvature threshold, ``> 0``.
    max_dense : int, default 3000
        Largest ``N = n + n d`` for the dense test (its Hessian takes ``8 N^2`` bytes).

    Returns
    -------
    bool
        False also when Lanczos does not converge or the Hessian does not exist there.

    Examples
    --------
    >>> import numpy as np
    >>> from copyavg.numeric import Problem
    >>> P = Problem(np.ones(2), np.eye(2, 3))
    >>> no_negative_curvature(P, np.concatenate((np.ones(2), np.eye(2, 3).ravel())), 2, 1e-6)
    True
    >>> no_negative_curvature(P, np.concatenate((np.ones(2), np.eye(2, 3).ravel())), 2, 1e-6, max_dense=0)
    True
    """
    if y.size <= max_dense:
        import scipy.linalg as sla

        try:
            H = problem.hessian(y[:n], y[n:].reshape(n, problem.d))
            H[np.diag_indices_from(H)] += neg_curvature
            sla.cho_factor(H, check_finite=False, overwrite_a=True)
        except (ValueError, FloatingPointError, np.linalg.LinAlgError, sla.LinAlgError):
            return False
        return True
    try:
        ext = lanczos_extremes(HessianOperator(problem, y[:n], y[n:].reshape(n, problem.d)), which=("SA",))
    except (ValueError, FloatingPointError):
        return False
    return bool(ext["converged"] and ext["min"] - ext["residual_min"] >= -neg_curvature)
