r"""Matrix-free route of the gradient flow: BDF with Newton-Krylov steps, Newton-MINRES polish,
Lanczos curvature checks. Nothing here forms a dense Hessian: memory is ``O(n (n + k) + n d)``.

- ``krylov_bdf(fun, t0, y0, t_bound, problem, n, ...)`` is SciPy's ``BDF`` solver (the same
  variable-order method, step-size and error control, Newton iteration and Jacobian reuse as the
  dense route of ``copyavg.numeric.flow.gradient_flow``) whose iteration matrix ``I - c J = I + c H``
  is never formed: its "factorization" is a preconditioner and each solve is a preconditioned
  MINRES run on the Hessian-vector product of ``copyavg.numeric.hvp.HessianOperator`` at the
  solver's Jacobian point (MINRES, not CG: ``I + c H`` is symmetric but indefinite when ``H`` has an
  eigenvalue below ``-1/c``). An inexact solve changes the speed of the Newton iteration, not the
  point it converges to (its fixed point solves the BDF equations), so the trajectory is that of
  the dense route within the solver's tolerance. The preconditioner is block diagonal: the a-a
  block ``I + 2 c G`` exactly (Cholesky, ``n x n``) and the W part by its diagonal (clipped below
  at 1); the a-gradient is the stiff part at the start of the flow.
- ``krylov_polish`` is Newton's method on ``grad L = 0`` like ``copyavg.numeric.flow.polish``, each
  step ``H p = -g`` solved by CG (inexact Newton with forcing ``min(1e-4, sqrt(max|g|))``) or, when
  CG fails (singular or indefinite ``H``, e.g. a saddle), by MINRES, with the same backtracking on
  ``|g|``.
- ``lanczos_extremes`` estimates the extreme eigenvalues by ``scipy.sparse.linalg.eigsh`` on the
  operator, with residual bounds: for a symmetric matrix each returned Ritz value lies within its
  residual norm ``|H x - theta x|`` of a true eigenvalue.
"""

from __future__ import annotations

import time

import numpy as np

from .hvp import HessianOperator

__all__ = ["krylov_bdf", "krylov_polish", "lanczos_extremes"]

#: relative residual of the MINRES solves inside the BDF Newton iteration: the iteration itself only
#: converges to newton_tol ~ 0.03 of the step's error scale, so 1e-3 costs nothing in accuracy
KRYLOV_RTOL = 1e-3
KRYLOV_MAXITER = 300


class _Jacobian:
    """``J = -H`` at a point, as the object SciPy's BDF stores; ``c * J`` and ``I - c J`` are lazy."""

    def __init__(self, op: HessianOperator):
        self.op = op

    def __rmul__(self, c):
        return _Scaled(float(c), self)


class _Scaled:
    def __init__(self, c, J):
        self.c, self.J = c, J


class _Identity:
    """Stands for SciPy BDF's identity matrix: ``I - c J`` gives the iteration matrix's description."""

    def __sub__(self, other):
        return (other.c, other.J.op)


class _Counters:
    def __init__(self):
        self.n_matvec = 0
        self.n_solve = 0
        self.n_unconverged = 0


def _preconditioner(c: float, op: HessianOperator):
    """Block-diagonal SPD approximation of ``(I + c H)^{-1}``: Cholesky of ``I + 2 c G`` (a-a block,
    positive definite as ``G`` is a Gram matrix; eigenvalue-clipped if rounding spoils that) and
    ``1 / max(1, 1 + c diag H)`` on the W part."""
    import scipy.linalg as sla
    from scipy.sparse.linalg import LinearOperator

    n, N = op.n, op.N
    if op.kind == "exact":
        A = c * op.a_block()
        A[np.diag_indices(n)] += 1.0
        try:
            fac = sla.cho_factor(A, check_finite=False)
        except (np.linalg.LinAlgError, sla.LinAlgError):
            fac = None
        dW = 1.0 / np.maximum(1.0, 1.0 + c * op.diagonal()[n:])
    else:
        fac, dW = None, np.ones(N - n)

    def apply(r):
        r = np.asarray(r).reshape(-1)
        out = np.empty(N)
        out[:n] = sla.cho_solve(fac, r[:n], check_finite=False) if fac is not None else r[:n]
        out[n:] = dW * r[n:]
        return out

    return LinearOperator((N, N), matvec=apply, dtype=float)


def krylov_bdf(fun, t0, y0, t_bound, problem, n: int, *, rtol: float, atol: float):
    """SciPy ``BDF`` for ``y' = fun(t, y) = -grad L`` with matrix-free Newton-Krylov solves.

    Returns ``(solver, counters)``; ``solver.njev`` counts Hessian operators built (Jacobian
    evaluations), ``solver.nlu`` preconditioners, ``counters`` MINRES solves and products.
    """
    import scipy.sparse as sp
    from scipy.integrate import BDF
    from scipy.sparse.linalg import LinearOperator, minres

    N = y0.size
    d = problem.d
    cnt = _Counters()

    def operator(y):
        return HessianOperator(problem, y[:n], y[n:].reshape(n, d))

    solver = BDF(fun, t0, y0, t_bound, rtol=rtol, atol=atol,
                 jac=lambda t, y: sp.csc_matrix((N, N)))  # placeholder: replaced below
    solver.J = _Jacobian(operator(y0))
    solver.I = _Identity()

    def jac(t, y):
        solver.njev += 1
        return _Jacobian(operator(y))

    def lu(A):
        solver.nlu += 1
        c, op = A
        return c, op, _preconditioner(c, op)

    def solve_lu(F, b):
        c, op, M = F

        def mv(x):
            cnt.n_matvec += 1
            x = np.asarray(x).reshape(-1)
            return x + c * op.matvec(x)

        A = LinearOperator((N, N), matvec=mv, dtype=float)
        cnt.n_solve += 1
        x, info = minres(A, b, M=M, rtol=KRYLOV_RTOL, maxiter=KRYLOV_MAXITER)
        if info != 0:
            cnt.n_unconverged += 1
        return x

    solver.jac = jac
    solver.lu = lu
    solver.solve_lu = solve_lu
    solver.LU = None
    return solver, cnt


def lanczos_extremes(op: HessianOperator, *, k: int = 1, tol: float = 1e-8, maxiter: int | None = None,
                     which=("SA", "LA")):
    """Extreme eigenvalues of the Hessian operator by Lanczos (``scipy.sparse.linalg.eigsh``).

    Returns ``{"min": theta_min, "max": theta_max, "residual_min": r_min, "residual_max": r_max,
    "converged": bool}`` where ``r = |H x - theta x|`` (unit ``x``): there is an eigenvalue of ``H``
    within ``r`` of each ``theta``. Lanczos can miss an eigenvalue only when the start vector has
    no component along it (probability zero for the random start); the values are estimates.
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


def _newton_direction(op: HessianOperator, g, forcing: float):
    """``p`` with ``|H p + g| <= forcing |g|``: CG (H positive definite near a minimum), else MINRES
    (singular or indefinite ``H``, e.g. a saddle) to a tight residual; ``-g`` if both fail."""
    from scipy.sparse.linalg import cg, minres

    L = op.aslinearoperator()
    maxiter = 20 * max(50, int(np.sqrt(op.N)))
    p, info = cg(L, -g, rtol=forcing, maxiter=maxiter)
    if info == 0 and np.isfinite(p).all() and float(p @ g) < 0:
        return p
    # MINRES stops on a backward-error test relative to |H| |p|, laxer than |H p + g| <= forcing |g|
    p, _ = minres(L, -g, rtol=forcing * 1e-6, maxiter=maxiter)
    return p if np.isfinite(p).all() else -g


def krylov_polish(problem, y0, n: int, *, tol: float, max_iter: int, max_distance: float):
    """Newton-MINRES on ``grad L = 0`` from ``y0`` (see the module docstring).

    Returns ``(y, L, g, status, message, n_iter, n_grad, n_hess)`` with ``status`` ``"converged"``
    or ``"not_converged"``; the checks on the arguments are the caller's
    (``copyavg.numeric.flow.polish``).
    """
    d = problem.d

    def lg(y):
        L, ga, gW = problem.loss_and_gradient(y[:n], y[n:].reshape(n, d))
        return L, np.concatenate((ga, gW.ravel()))

    y = y0.copy()
    L, g = lg(y)
    n_grad, n_hess, it = 1, 0, 0
    gm = float(np.abs(g).max())
    while True:
        if gm <= tol:
            return y, L, g, "converged", f"max|grad| = {gm:.3g} <= tol = {tol:g}", it, n_grad, n_hess
        if it >= max_iter:
            return (y, L, g, "not_converged", f"max_iter = {max_iter} reached, max|grad| = {gm:.3g}",
                    it, n_grad, n_hess)
        it += 1
        op = HessianOperator(problem, y[:n], y[n:].reshape(n, d))
        n_hess += 1
        p = _newton_direction(op, g, forcing=min(1e-4, np.sqrt(gm)))
        g2, gp = float(g @ g), float(g @ p)
        accepted, alpha = False, 1.0
        for _ in range(30):
            y_try = y + alpha * p
            if np.linalg.norm(y_try - y0) > max_distance:
                alpha *= 0.5
                continue
            try:
                L_try, g_try = lg(y_try)
            except (ValueError, FloatingPointError):
                alpha *= 0.5
                continue
            n_grad += 1
            # as the dense polish: |g| decreases (Armijo on |g|^2), or, along a descent direction,
            # L does (damped Newton on L, which crosses flat curved valleys where |g| need not drop)
            if float(g_try @ g_try) <= (1.0 - 1e-4 * alpha) * g2 or (
                    gp < 0 and L_try <= L + 1e-4 * alpha * gp and L_try < L):
                accepted = True
                break
            alpha *= 0.5
        if not accepted:
            return (y, L, g, "not_converged",
                    f"no step along the Newton-MINRES direction decreases |grad|; max|grad| = {gm:.3g}",
                    it, n_grad, n_hess)
        y, L, g = y_try, L_try, g_try
        gm = float(np.abs(g).max())


def timed(fn, *args, **kwargs):
    """``(result, seconds)`` of ``fn(*args, **kwargs)``."""
    t = time.perf_counter()
    r = fn(*args, **kwargs)
    return r, time.perf_counter() - t
