"""Newton polish: the critical point next to a given point, by Newton steps on ``grad L = 0`` with
the exact Hessian (Cholesky when it is positive definite, otherwise an eigen-decomposition with small
eigenvalues dropped, which handles singular and indefinite Hessians, i.e. also saddles), with
backtracking on ``|grad L|`` and a cap on the distance moved. ``L = E[(f - f*)^2]``, no factor 1/2;
both layers or the first layer only (``train``, ``copyavg.numeric.training``)."""

from __future__ import annotations

import time

import numpy as np
import scipy.linalg as sla
from scipy.linalg.lapack import dpocon

from ._flow_base import _Evaluator, _check_problem, _positive, _student
from .flow_results import PolishResult
from .population import Problem

__all__ = ["polish"]


def polish(problem: Problem, a, W, *, tol: float = 1e-12, max_iter: int = 100,
           max_distance: float = 1.0, rcond: float = 1e-10, train: str = "aW",
           route: str = "auto") -> PolishResult:
    """Newton's method on ``grad L = 0`` with the exact Hessian, from ``(a, W)``.

    Each iteration solves ``H p = -g`` by Cholesky when ``H`` is positive definite with reciprocal
    condition number above ``rcond``, otherwise by an eigen-decomposition that drops eigenvalues with ``|lambda| <= rcond * max|lambda|`` (zero modes
    of singular Hessians; negative eigenvalues are kept, so the iteration converges to saddles as
    well as minima), then backtracks along ``p`` until ``|g|`` decreases (Armijo on ``|g|^2``).
    It stops with ``status="converged"`` at ``max|g| <= tol``; with ``"not_converged"`` when no
    step decreases ``|g|`` (typically at ``max|g|`` ~ 1e-15 x scale, rounding), after ``max_iter``
    iterations, or if the total distance from the start would exceed ``max_distance`` (the polish
    must not slide to another critical point).

    Parameters
    ----------
    problem : Problem
        Teacher and activation.
    a : array_like, shape (n,)
        Start outgoing weights, real and finite, ``n >= 1``.
    W : array_like, shape (n, d)
        Start incoming weights, real and finite, ``d = problem.d``. The loss must have a Hessian
        along the way (piecewise-linear family: no neuron with ``a_i != 0`` at ``w_i = 0``).
    tol : float, default 1e-12
        Stop ("converged") at ``max|dL/dtheta| <= tol``; ``> 0``.
    max_iter : int, default 100
        Largest number of Newton iterations, a positive integer.
    max_distance : float, default 1.0
        Largest Euclidean distance in ``theta`` from the start, ``> 0`` (``inf`` allowed).
    rcond : float, default 1e-10
        Cholesky is used when the reciprocal condition number exceeds ``rcond``; otherwise
        eigenvalues with ``|lambda| <= rcond * max|lambda|`` are dropped; ``> 0``.
    route : {"auto", "dense", "krylov"}, default "auto"
        ``"krylov"``: each Newton step is solved by CG (MINRES when CG fails) on Hessian-vector
        products, no dense Hessian (``copyavg.numeric.flow_krylov.krylov_polish``; ``rcond`` unused);
        ``"auto"`` picks it when ``n + n d > flow_krylov.KRYLOV_MIN_SIZE`` and ``train="aW"``.
    train : str, default "aW"
        ``"aW"``: Newton in ``theta = (a, W)``; ``"W"``: in ``W`` only, ``a`` held fixed
        (``copyavg.numeric.training``); ``grad``, ``H`` and ``max_distance`` then refer to ``W``.

    Returns
    -------
    PolishResult

    Raises
    ------
    ValueError
        ``problem`` not a ``Problem``; bad shapes or non-finite ``a``, ``W``; a non-positive (or
        non-integer ``max_iter``) option; the loss not finite at the start;
        ``NonDifferentiableError`` (a ValueError) where the Hessian does not exist.

    Examples
    --------
    >>> import numpy as np
    >>> from copyavg.numeric import Problem
    >>> P = Problem(np.ones(1), np.eye(1, 2), "erf2")
    >>> res = polish(P, np.array([1.01]), np.array([[0.99, 0.01]]))
    >>> res.status, np.round(res.W, 6).tolist()
    ('converged', [[1.0, 0.0]])
    >>> res = polish(P, np.array([1.0]), np.array([[0.99, 0.01]]), train="W")  # a = 1 fixed
    >>> res.status, res.a.tolist(), np.round(res.W, 6).tolist()
    ('converged', [1.0], [[1.0, 0.0]])
    """
    t_start = time.perf_counter()
    _check_problem(problem)
    a, W = _student(problem, a, W, names=("a", "W"))
    tol = _positive("tol", tol)
    max_iter = int(_positive("max_iter", max_iter, integer=True))
    max_distance = _positive("max_distance", max_distance, allow_inf=True)
    rcond = _positive("rcond", rcond)
    ev = _Evaluator(problem, a, train)
    y0 = ev.theta(a, W)
    y = y0.copy()
    try:
        L, g = ev.loss_grad(y)
    except FloatingPointError as exc:
        raise ValueError(f"a, W: the loss is not finite here: {exc}") from None
    L0, gm0 = L, float(np.abs(g).max())
    if _route(route, "BDF", y0.size, train) == "krylov":
        return _krylov(problem, a, y0, L0, gm0, tol, max_iter, max_distance, t_start)
    gm = gm0
    status, message = None, ""
    it = 0
    with np.errstate(under="ignore"):
        while True:
            if gm <= tol:
                status, message = "converged", f"max|grad| = {gm:.3g} <= tol = {tol:g}"
                break
            if it >= max_iter:
                status, message = "not_converged", f"max_iter = {max_iter} reached, max|grad| = {gm:.3g}"
                break
            it += 1
            p, descent = _newton_direction(ev.hessian(y), g, rcond)
            step = _backtrack(ev.loss_grad, y, y0, p, L, g, descent, max_distance)
            if step is None:
                if np.linalg.norm(y + p - y0) > max_distance:
                    message = (f"the Newton step would move farther than max_distance = {max_distance:g} "
                               f"from the start; max|grad| = {gm:.3g}")
                else:
                    message = f"no step along the Newton direction decreases |grad|; max|grad| = {gm:.3g}"
                status = "not_converged"
                break
            y, L, g = step
            gm = float(np.abs(g).max())
    a_f, W_f = ev.split(y)
    return PolishResult(
        a=a_f.copy(), W=W_f.copy(), loss=float(L), grad_max=gm, status=status, message=message,
        n_iter=it, n_grad=ev.n_grad, n_hess=ev.n_hess, distance=float(np.linalg.norm(y - y0)),
        loss_start=float(L0), grad_max_start=gm0, wall_time=time.perf_counter() - t_start, train=train,
    )


def _newton_direction(H, g, rcond: float):
    """``(p, descent)``: the Newton step ``H p = -g``, by Cholesky when ``H`` is positive definite
    with reciprocal condition number above ``rcond`` (``descent`` True: ``p`` descends ``L``),
    otherwise by an eigen-decomposition with eigenvalues ``|lambda| <= rcond * max|lambda|`` dropped."""
    p = None
    try:
        c = sla.cho_factor(H, check_finite=False)
        # a (numerically) singular H can pass Cholesky with a tiny pivot, and the step would
        # run off along the zero mode: check the reciprocal condition number (LAPACK pocon)
        rc, info = dpocon(c[0], np.abs(H).sum(axis=0).max(), uplo="L" if c[1] else "U")
        if info == 0 and rc > rcond:
            p = -sla.cho_solve(c, g, check_finite=False)
            if not np.isfinite(p).all():
                p = None
    except (np.linalg.LinAlgError, sla.LinAlgError):
        p = None
    # H positive definite: p is a descent direction of L, and a step that decreases L enough
    # (Armijo) is accepted too; this is damped Newton on L, which crosses a flat, curved
    # valley where |grad| need not decrease monotonically.
    descent = p is not None
    if p is None:
        lam, Q = np.linalg.eigh(H)
        keep = np.abs(lam) > rcond * max(np.abs(lam).max(), np.finfo(float).tiny)
        inv = np.zeros_like(lam)
        inv[keep] = 1.0 / lam[keep]
        p = -(Q @ (inv * (Q.T @ g)))
    return p, descent


def _backtrack(loss_grad, y, y0, p, L, g, descent: bool, max_distance: float):
    """Halve the step along ``p`` (up to 30 times) until ``|g|^2`` decreases (Armijo) or, for a
    descent direction, ``L`` does (damped Newton on L, which crosses flat curved valleys where
    ``|g|`` need not drop); steps beyond ``max_distance`` from ``y0`` are refused, and so are points
    where ``loss_grad(y) -> (L, g)`` raises ValueError or FloatingPointError. Returns ``(y, L, g)``
    at the accepted point, or None. Shared by the dense and the matrix-free polish."""
    g2 = float(g @ g)
    gp = float(g @ p)
    alpha = 1.0
    for _ in range(30):
        y_try = y + alpha * p
        if np.linalg.norm(y_try - y0) > max_distance:
            alpha *= 0.5
            continue
        try:
            L_try, g_try = loss_grad(y_try)
        except (ValueError, FloatingPointError):
            alpha *= 0.5
            continue
        if float(g_try @ g_try) <= (1.0 - 1e-4 * alpha) * g2 or (
                descent and L_try <= L + 1e-4 * alpha * gp and L_try < L):
            return y_try, L_try, g_try
        alpha *= 0.5
    return None


def _route(route: str, method: str, N: int, train: str) -> str:
    """``choose_route`` for the model: the matrix-free route trains both layers only."""
    from .flow_krylov import choose_route

    if train == "W":
        if route == "krylov":
            raise ValueError("route='krylov' needs train='aW' (the matrix-free route trains both layers)")
        choose_route(route, method, N)  # checks the value of route
        return "dense"
    return choose_route(route, method, N)


def _krylov(problem, a, y0, L0, gm0, tol, max_iter, max_distance, t_start) -> PolishResult:
    """``polish(..., route="krylov")``: Newton-CG without a dense Hessian (``flow_krylov.krylov_polish``)."""
    from .flow_krylov import krylov_polish

    n = a.shape[0]
    y, L, g, status, message, it, n_g, n_h = krylov_polish(problem, y0, n, tol=tol, max_iter=max_iter,
                                                           max_distance=max_distance)
    return PolishResult(
        a=y[:n].copy(), W=y[n:].reshape(n, -1).copy(), loss=float(L), grad_max=float(np.abs(g).max()),
        status=status, message=message, n_iter=it, n_grad=n_g + 1, n_hess=n_h,
        distance=float(np.linalg.norm(y - y0)), loss_start=float(L0), grad_max_start=gm0,
        wall_time=time.perf_counter() - t_start, route="krylov")
