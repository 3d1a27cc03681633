r"""Matrix-free route of the gradient flow: BDF with Newton-Krylov steps and a Newton-CG polish. Nothing here forms a dense Hessian: memory is ``O(n (n + k) + n d)``.

- ``krylov_bdf(fun, t0, y0, t_bound, problem, n, ...)`` is SciPy's ``BDF`` solver (the same
  variable-order method, step-size and error control, Newton iteration and Jacobian reuse as the
  dense route of ``copyavg.numeric.flow.gradient_flow``) whose iteration matrix ``I - c J = I + c H``
  is never formed: its "factorization" is a preconditioner and each solve is a preconditioned
  MINRES run on the Hessian-vector product of ``copyavg.numeric.hvp.HessianOperator`` at the
  solver's Jacobian point (MINRES, not CG: ``I + c H`` is symmetric but indefinite when ``H`` has an
  eigenvalue below ``-1/c``). An inexact solve changes the speed of the Newton iteration, not the
  point it converges to (its fixed point solves the BDF equations), so the trajectory is that of
  the dense route within the solver's tolerance. The preconditioner is block diagonal: the a-a
  block ``I + 2 c G`` exactly (its inverse, ``n x n``) and the W part by its diagonal (clipped
  below at 1); the a-gradient is the stiff part at the start of the flow. The solves stop on
  MINRES's backward-error test with a tolerance scaled by ``1 / (1 + c max diag H)``, i.e. about
  ``KRYLOV_RTOL`` relative to the right-hand side (see ``KRYLOV_RTOL``).
- SciPy's ``BDF`` is used through its documented solver interface, with four of its attributes
  replaced after construction (``J``, ``I``, ``lu``, ``solve_lu``: the Jacobian object, the identity
  and the factor/solve pair that its step calls as ``lu(I - c J)`` and ``solve_lu(LU, b)``); it is
  constructed with a placeholder sparse zero Jacobian so that it allocates no ``N x N`` array.
- ``krylov_polish`` is Newton's method on ``grad L = 0`` like ``copyavg.numeric.flow.polish``, each
  step ``H p = -g`` solved by CG (inexact Newton with forcing ``min(1e-4, sqrt(max|g|))``) or, when
  CG fails (singular or indefinite ``H``, e.g. a saddle), by MINRES, with the same backtracking on
  ``|g|``.
- the curvature tests (handover, classification) are in ``copyavg.numeric.curvature``.
"""

from __future__ import annotations

import numpy as np

from .hvp import HessianOperator

__all__ = ["KRYLOV_MIN_SIZE", "choose_route", "krylov_bdf", "krylov_polish"]

#: tolerance of the MINRES solves inside the BDF Newton iteration (see ``solve_lu``, where it is
#: divided by ~|I + c H|): an inexact solve only slows the iteration's contraction, it does not move
#: its fixed point (the solution of the BDF equations). Measured at (51, 50, 25) seeds 0 and 6 and
#: (21, 20, 10): 1e-2 takes the fewest products and as many steps as the dense route (1e-3..1e-6,
#: CG to a relative residual, and the unscaled MINRES test were slower or failed Newton often)
KRYLOV_RTOL = 1e-2
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
    """Block-diagonal SPD approximation of ``(I + c H)^{-1}`` as a function: the inverse of
    ``I + 2 c G`` (a-a block, ``n x n``; positive definite as ``G`` is a Gram matrix, eigenvalues
    ``>= 1``, so its inverse is well conditioned) and ``1 / max(1, 1 + c diag H)`` on the W part."""
    n, N = op.n, op.N
    if op.kind == "exact":
        A = c * op.a_block()
        A[np.diag_indices(n)] += 1.0
        try:
            Ainv = np.linalg.inv(A)
        except np.linalg.LinAlgError:
            Ainv = np.eye(n)
        dW = 1.0 / np.maximum(1.0, 1.0 + c * op.diagonal()[n:])
    else:
        Ainv, dW = np.eye(n), np.ones(N - n)

    def apply(r):
        r = r.reshape(-1)
        out = np.empty(N)
        np.dot(Ainv, r[:n], out=out[:n])
        np.multiply(dW, r[n:], out=out[n:])
        return out

    return apply


def krylov_bdf(fun, t0, y0, t_bound, problem, n: int, *, rtol: float, atol: float):
    """SciPy ``BDF`` for ``y' = fun(t, y) = -grad L`` with matrix-free Newton-Krylov solves.

    The solver is driven by ``solver.step()`` as any ``scipy.integrate.OdeSolver``
    (``copyavg.numeric.flow.gradient_flow`` does that with ``route="krylov"``).

    Parameters
    ----------
    fun : callable
        ``fun(t, y) = -grad L(y)``.
    t0, t_bound : float
        Start time and end of the integration interval.
    y0 : ndarray, shape (N,)
        Start ``theta = (a, W row by row)``, ``N = n + n d``.
    problem : Problem
        Teacher and activation (for the Hessian-vector products).
    n : int
        Student width.
    rtol, atol : float
        The solver's tolerances.

    Returns
    -------
    solver : scipy.integrate.BDF
        ``solver.njev`` counts Hessian operators built (Jacobian evaluations), ``solver.nlu``
        preconditioners.
    counters : object
        ``n_solve`` MINRES solves, ``n_matvec`` Hessian-vector products, ``n_unconverged`` solves
        that stopped at the iteration cap (the Newton iteration copes: a poor solve only slows it).

    Raises
    ------
    ValueError
        As ``Problem.loss`` at ``y0``.

    Examples
    --------
    >>> import numpy as np
    >>> from copyavg.numeric import Problem
    >>> P = Problem(np.ones(2), np.eye(2, 3))
    >>> y0 = np.array([0.5, 0.4, 0.9, 0.1, 0.0, 0.1, 0.8, 0.2])
    >>> fun = lambda t, y: -np.concatenate([np.ravel(g) for g in P.gradient(y[:2], y[2:].reshape(2, 3))])
    >>> solver, cnt = krylov_bdf(fun, 0.0, y0, 1e4, P, 2, rtol=1e-6, atol=1e-9)
    >>> with np.errstate(under="ignore"):  # SciPy's step-size floor may underflow at t = 0
    ...     while solver.status == "running":
    ...         _ = solver.step()
    >>> solver.status, bool(P.loss(solver.y[:2], solver.y[2:].reshape(2, 3)) < 1e-8), cnt.n_matvec > 0
    ('finished', True, True)
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
    missing = [name for name in ("J", "I", "lu", "solve_lu", "LU", "nlu", "njev") if not hasattr(solver, name)]
    if missing:  # a SciPy whose BDF no longer has them: say so rather than integrate wrongly
        raise RuntimeError(f"route='krylov' needs scipy.integrate.BDF attributes {missing}; use route='dense'")
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
            y = op.matvec(x)
            y *= c
            y += x
            return y

        cnt.n_solve += 1
        # MINRES's stopping test is a backward error, |r| <= rtol (|A| |x| + |b|): lax in the stiff
        # directions (|A| ~ c |H| large), which the implicit step damps anyway; a relative-residual
        # test (CG to |r| <= rtol |b|) costs more products and, looser, more Newton failures
        # scaled by 1 / (1 + c max diag H) ~ 1 / |A|: without it the test allows |r| ~ rtol |A| |x|,
        # too lax in the flat directions once c |H| is large (the slow end of a flow: steps fail)
        rtol = KRYLOV_RTOL / (1.0 + c * max(0.0, float(op.diagonal().max())))
        x, info = minres(LinearOperator((N, N), matvec=mv, dtype=float), b,
                         M=LinearOperator((N, N), matvec=M, dtype=float), rtol=rtol, maxiter=KRYLOV_MAXITER)
        cnt.n_unconverged += info != 0
        return x

    solver.jac = jac
    solver.lu = lu
    solver.solve_lu = solve_lu
    solver.LU = None
    return solver, cnt


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
    """Newton-CG on ``grad L = 0`` from ``y0`` without a dense Hessian (see the module docstring);
    ``copyavg.numeric.flow.polish(..., route="krylov")`` wraps it with its argument checks.

    Parameters
    ----------
    problem : Problem
        Teacher and activation.
    y0 : ndarray, shape (N,)
        Start ``theta = (a, W row by row)``.
    n : int
        Student width.
    tol : float
        Stop at ``max|grad| <= tol``.
    max_iter : int
        Newton iterations at most.
    max_distance : float
        Largest Euclidean distance from ``y0``.

    Returns
    -------
    tuple
        ``(y, L, g, status, message, n_iter, n_grad, n_hess)`` with ``status`` ``"converged"`` or
        ``"not_converged"``.

    Raises
    ------
    ValueError
        As ``Problem.loss_and_gradient`` at ``y0``.

    Examples
    --------
    >>> import numpy as np
    >>> from copyavg.numeric import Problem
    >>> P = Problem(np.ones(1), np.eye(1, 2))
    >>> y, L, g, status, *_ = krylov_polish(P, np.array([1.01, 0.99, 0.01]), 1, tol=1e-12,
    ...                                     max_iter=20, max_distance=1.0)
    >>> status, np.round(y, 8).tolist()
    ('converged', [1.0, 1.0, 0.0])
    """
    d = problem.d

    from .newton import _backtrack

    def lg(y):
        L, ga, gW = problem.loss_and_gradient(y[:n], y[n:].reshape(n, d))
        return L, np.concatenate((ga, gW.ravel()))

    def counted(y):  # lg, counting the evaluations that return
        nonlocal n_grad
        out = lg(y)
        n_grad += 1
        return out

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
        step = _backtrack(counted, y, y0, p, L, g, float(g @ p) < 0, max_distance)
        if step is None:
            return (y, L, g, "not_converged",
                    f"no step along the Newton-MINRES direction decreases |grad|; max|grad| = {gm:.3g}",
                    it, n_grad, n_hess)
        y, L, g = step
        gm = float(np.abs(g).max())


#: ``route="auto"`` takes the matrix-free route above this length of theta: at the paper's setting
#: (d = k + 1, n = k / 2, seed 0) the dense route was 1.3x faster at N = 480 (d = 31) and 1.4x
#: slower at N = 840 (d = 41); 10x faster at N = 60, 2-3x slower at N = 1300 (benchmarks/bench_flow.py)
KRYLOV_MIN_SIZE = 700


def choose_route(route: str, method: str, N: int) -> str:
    """``"dense"`` or ``"krylov"`` for ``route`` (``"auto"``, ``"dense"``, ``"krylov"``), the
    solver ``method`` and ``N = len(theta)``: ``"auto"`` is ``"krylov"`` for BDF above
    ``KRYLOV_MIN_SIZE``, else ``"dense"``.

    Parameters
    ----------
    route : str
        ``"auto"``, ``"dense"`` or ``"krylov"``.
    method : str
        The solver; ``"krylov"`` needs ``"BDF"``.
    N : int
        Length of ``theta``.

    Returns
    -------
    str

    Raises
    ------
    ValueError
        Unknown ``route``, or ``"krylov"`` with another method than BDF.

    Examples
    --------
    >>> choose_route("auto", "BDF", 500), choose_route("auto", "BDF", 1300)
    ('dense', 'krylov')
    """
    if route not in ("auto", "dense", "krylov"):
        raise ValueError(f"route must be 'auto', 'dense' or 'krylov', got {route!r}")
    if route == "krylov" and method != "BDF":
        raise ValueError(f"route='krylov' needs method='BDF', got {method!r}")
    if route == "auto":
        return "krylov" if method == "BDF" and N > KRYLOV_MIN_SIZE else "dense"
    return route
