r"""Gradient flow ``theta' = -grad L(theta)`` on the exact population loss, and a Newton polish.

Conventions (docs/theory.md §1): ``L = E[(f - f*)^2]`` with **no factor 1/2**; ``theta = (a, W row by row)``,
the order of ``Problem.hessian``. NumPy/SciPy only.

- ``gradient_flow`` integrates the flow with a stiff SciPy solver (``BDF`` by default; ``Radau`` and
  ``LSODA`` on request) given the exact Jacobian ``-Hessian``. It drives the solver step by step
  (the ``OdeSolver`` classes that ``solve_ivp`` itself loops over) so that it can stop on
  ``max|dL/dtheta| <= tol`` at an accepted step (the terminal event), on a time budget ``t_max``,
  a step budget and a wall-clock budget, and report divergence (non-finite values or
  ``max|theta| > max_norm``) as ``status="diverged"`` rather than returning NaNs. The trajectory
  is recorded at accepted steps, the first step past each of ``n_save`` log-spaced checkpoints
  (memory ``O(n_save * len(theta))``); recorded points are solver states, not interpolations.
- ``polish`` finds the critical point next to a given point by Newton steps on ``grad L = 0``
  with the exact Hessian (Cholesky when it is positive definite, otherwise an eigen-decomposition
  with small eigenvalues dropped, which handles singular and indefinite Hessians, i.e. also
  saddles), with backtracking on ``|grad L|`` and a cap on the distance moved.
- ``flow_and_polish`` runs the flow until the gradient is small *and* the Hessian has no negative
  curvature the flow could still escape along within ``t_max``, then polishes; the polish is
  accepted only if it did not raise the loss (the flow only descends).
- ``route="krylov"`` (chosen by ``route="auto"`` above ``flow_krylov.KRYLOV_MIN_SIZE`` parameters)
  does all three without a dense Hessian: the same BDF solver with Newton-Krylov solves on exact
  Hessian-vector products (``copyavg.numeric.hvp``, ``copyavg.numeric.flow_krylov``), Newton-CG
  for the polish, a Lanczos estimate for the curvature test (``copyavg.numeric.curvature``);
  memory ``O(n (n + k) + n d)`` besides the recorded trajectory (``n_save`` states).

Speed notes (paper size d, k, n = 51, 50, 25, theta of length 1300): one Hessian costs ~5 ms, one
LU of a 1300 x 1300 matrix ~30 ms, one gradient ~60 us; the stiff solver's cost is dominated by its
LU factorizations, so the flow runs at loose tolerances (``rtol=1e-3``) and hands over to Newton,
which converges in a few steps from ``max|grad| ~ 1e-7``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg as sla
from scipy.linalg.lapack import dpocon, spotrf, spotrs
from scipy.integrate import BDF, LSODA, Radau

from .curvature import no_negative_curvature
from .flow_krylov import choose_route
from .population import Problem

__all__ = [
    "FlowPolishResult",
    "FlowResult",
    "PolishResult",
    "flow_and_polish",
    "glorot_init",
    "gradient_flow",
    "polish",
]

_METHODS = {"BDF": BDF, "Radau": Radau, "LSODA": LSODA}


# -- results ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class FlowResult:
    """Result of ``gradient_flow``.

    ``status``: ``"converged"`` (max|dL/dtheta| <= tol at an accepted step), ``"budget"`` (t_max,
    max_steps or max_wall reached first), ``"stopped"`` (the callback asked to stop) or
    ``"diverged"`` (non-finite values or max|theta| > max_norm; ``a``, ``W`` are then the last
    finite accepted state) or, for piecewise-linear activations, ``"nondifferentiable"`` (the
    integrator failed as a neuron reached the kink ``w_i = 0`` in finite time). ``message`` says which.

    Trajectory arrays (one row per recorded point, the first at t = 0, the last the final state):
    ``t`` (m,), ``losses`` (m,), ``grad_maxes`` (m,), ``thetas`` (m, n + n d).

    Attributes
    ----------
    a : ndarray, shape (n,)
        Final outgoing weights.
    W : ndarray, shape (n, d)
        Final incoming weights.
    loss : float
        ``L`` at the final state.
    grad_max : float
        ``max|dL/dtheta|`` at the final state.
    t_final : float
        Flow time of the final state.
    status : str
        ``"converged"``, ``"budget"``, ``"stopped"``, ``"diverged"`` or ``"nondifferentiable"``
        (see above).
    message : str
        Human-readable reason for ``status``.
    method : str
        The solver: ``"BDF"``, ``"Radau"`` or ``"LSODA"``.
    n_steps : int
        Accepted solver steps.
    n_rhs : int
        Gradient evaluations.
    n_jac : int
        Hessian (Jacobian) evaluations.
    n_lu : int
        Factorizations of the iteration matrix (Cholesky or LU).
    wall_time : float
        Seconds spent.
    t, losses, grad_maxes : ndarray, shape (m,)
        Recorded trajectory: time, loss and ``max|dL/dtheta|``.
    thetas : ndarray, shape (m, n + n d)
        Recorded ``theta = (a, W row by row)``.
    route : str
        ``"dense"`` (dense Hessian Jacobian) or ``"krylov"`` (matrix-free Newton-Krylov BDF).
    n_hvp : int
        Hessian-vector products (route ``"krylov"``; 0 otherwise).

    Examples
    --------
    >>> import numpy as np
    >>> from copyavg.numeric import Problem
    >>> res = gradient_flow(Problem(np.ones(1), np.eye(1, 2)), [0.5], [[0.8, 0.1]], tol=1e-6)
    >>> res.status, res.thetas.shape[1], bool(res.losses[-1] < res.losses[0])
    ('converged', 3, True)
    """

    a: np.ndarray
    W: np.ndarray
    loss: float
    grad_max: float
    t_final: float
    status: str
    message: str
    method: str
    n_steps: int
    n_rhs: int
    n_jac: int
    n_lu: int
    wall_time: float
    t: np.ndarray = field(repr=False)
    losses: np.ndarray = field(repr=False)
    grad_maxes: np.ndarray = field(repr=False)
    thetas: np.ndarray = field(repr=False)
    route: str = "dense"
    n_hvp: int = 0


@dataclass(frozen=True)
class PolishResult:
    """Result of ``polish``. ``status`` is ``"converged"`` (max|dL/dtheta| <= tol) or
    ``"not_converged"`` (``message`` says why; ``grad_max`` is what was reached). ``distance`` is
    ``|theta_final - theta_start|`` (Euclidean).

    Attributes
    ----------
    a : ndarray, shape (n,)
        Final outgoing weights.
    W : ndarray, shape (n, d)
        Final incoming weights.
    loss : float
        ``L`` at the final point.
    grad_max : float
        ``max|dL/dtheta|`` at the final point.
    status : str
        ``"converged"`` or ``"not_converged"``.
    message : str
        Human-readable reason for ``status``.
    n_iter : int
        Newton iterations.
    n_grad : int
        Loss-and-gradient evaluations (including backtracking).
    n_hess : int
        Hessian evaluations.
    distance : float
        Euclidean distance in ``theta`` from the start.
    loss_start, grad_max_start : float
        ``L`` and ``max|dL/dtheta|`` at the start.
    wall_time : float
        Seconds spent.
    route : str
        ``"dense"`` (dense Hessian) or ``"krylov"`` (Newton-Krylov on Hessian-vector products).

    Examples
    --------
    >>> import numpy as np
    >>> from copyavg.numeric import Problem
    >>> res = polish(Problem(np.ones(1), np.eye(1, 2)), [1.01], [[0.99, 0.01]])
    >>> res.status, res.n_iter > 0, bool(res.loss < res.loss_start)
    ('converged', True, True)
    """

    a: np.ndarray
    W: np.ndarray
    loss: float
    grad_max: float
    status: str
    message: str
    n_iter: int
    n_grad: int
    n_hess: int
    distance: float
    loss_start: float
    grad_max_start: float
    wall_time: float
    route: str = "dense"


@dataclass(frozen=True)
class FlowPolishResult:
    """Result of ``flow_and_polish``: the final point and the two stages. ``status`` is
    ``"converged"`` when the final ``grad_max <= tol``, else the failing stage's status.

    Attributes
    ----------
    a : ndarray, shape (n,)
        Final outgoing weights.
    W : ndarray, shape (n, d)
        Final incoming weights.
    loss : float
        ``L`` at the final point.
    grad_max : float
        ``max|dL/dtheta|`` at the final point.
    status : str
        ``"converged"``, or the flow's status (``"budget"``, ``"stopped"``, ``"diverged"``,
        ``"nondifferentiable"``) when no polish was accepted.
    message : str
        The flow's message, and the polish's when one was accepted.
    flow : FlowResult
        The flow stage, all its rounds merged into one trajectory.
    polish : PolishResult or None
        The accepted polish; None when no polish was accepted.
    wall_time : float
        Seconds spent.

    Examples
    --------
    >>> import numpy as np
    >>> from copyavg.numeric import Problem
    >>> res = flow_and_polish(Problem(np.ones(1), np.eye(1, 2)), [0.5], [[0.8, 0.1]])
    >>> res.status, res.polish is not None, res.flow.t_final > 0
    ('converged', True, True)
    """

    a: np.ndarray
    W: np.ndarray
    loss: float
    grad_max: float
    status: str
    message: str
    flow: FlowResult
    polish: PolishResult | None
    wall_time: float


# -- helpers ----------------------------------------------------------------------------------
def _check_problem(problem) -> None:
    if not isinstance(problem, Problem):
        raise ValueError(f"problem must be a copyavg.numeric.Problem, got {type(problem).__name__}")


def _student(problem: Problem, a0, W0, names=("a0", "W0")):
    na, nw = names
    try:
        a = np.array(a0, dtype=float)
        W = np.array(W0, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{na} and {nw} must be real arrays") from None
    if a.ndim != 1 or a.shape[0] < 1:
        raise ValueError(f"{na} must be a non-empty 1-d array (n,), got shape {a.shape}")
    if W.shape != (a.shape[0], problem.d):
        raise ValueError(f"{nw} must have shape (n, d) = ({a.shape[0]}, {problem.d}), got {W.shape}")
    if not (np.isfinite(a).all() and np.isfinite(W).all()):
        raise ValueError(f"{na} and {nw} must be finite (no NaN or inf)")
    return a, W


def _positive(name: str, value, *, allow_inf: bool = False, integer: bool = False):
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if ok:
        value = float(value)
        ok = value > 0 and (math.isfinite(value) or (allow_inf and value == math.inf))
    if ok and integer:
        ok = value == math.inf or value == int(value)
    if not ok:
        kind = "a positive integer" if integer else "a positive number"
        raise ValueError(f"{name} must be {kind}, got {value!r}")
    return value


class _Evaluator:
    """Loss/gradient/Hessian of a Problem in the flat theta, with counters and a one-entry cache."""

    def __init__(self, problem: Problem, n: int):
        self.P = problem
        self.n = n
        self.d = problem.d
        self.n_grad = 0
        self.n_hess = 0
        self._y = None
        self._Lg = None

    def split(self, y):
        return y[: self.n], y[self.n:].reshape(self.n, self.d)

    def loss_grad(self, y):
        if self._y is not None and np.array_equal(y, self._y):
            return self._Lg
        a, W = self.split(y)
        self.n_grad += 1
        L, ga, gW = self.P.loss_and_gradient(a, W)
        g = np.concatenate((ga, gW.ravel()))
        self._y = y.copy()
        self._Lg = (L, g)
        return L, g

    def hessian(self, y):
        a, W = self.split(y)
        self.n_hess += 1
        return self.P.hessian(a, W)


class _Diverged(Exception):
    pass


def _theta(a, W):
    return np.concatenate((a, W.ravel()))


# -- gradient flow ------------------------------------------------------------------------------
def _symmetric_factorization(solver, single: bool) -> None:
    """Let a BDF solver factor its iteration matrix ``I - c J = I + c H`` by Cholesky.

    The matrix is symmetric (``J = -H``) and positive definite unless ``H`` has an eigenvalue
    below ``-1/c``; Cholesky costs half an LU. Falls back to LU when Cholesky fails. This replaces
    the ``lu``/``solve_lu`` attributes that ``scipy.integrate.BDF`` sets in ``__init__`` (and counts
    in ``nlu``); if a SciPy version lacks them, the solver is left unchanged.

    ``single``: factor in float32 (half the time again). The factorization only serves the
    simplified Newton iteration of the implicit step, whose residuals stay in float64: a less
    accurate factor slows that iteration's contraction a little but does not change the solution
    it converges to. Falls back to float64 LU when the float32 Cholesky fails.
    """
    if not (callable(getattr(solver, "lu", None)) and callable(getattr(solver, "solve_lu", None))
            and hasattr(solver, "nlu")):
        return

    def lu(A):
        solver.nlu += 1
        if single:
            c, info = spotrf(A.astype(np.float32), lower=False, clean=False, overwrite_a=True)
            if info == 0:
                return 1, c
        else:
            try:
                return 2, sla.cho_factor(A, check_finite=False)
            except (np.linalg.LinAlgError, sla.LinAlgError):
                pass
        return 0, sla.lu_factor(A, overwrite_a=True, check_finite=False)

    def solve_lu(F, b):
        kind, fac = F
        if kind == 1:
            x, _ = spotrs(fac, b.astype(np.float32), lower=False)
            return x.astype(np.float64)
        if kind == 2:
            return sla.cho_solve(fac, b, check_finite=False)
        return sla.lu_solve(fac, b, check_finite=False)

    solver.lu = lu
    solver.solve_lu = solve_lu


def gradient_flow(problem: Problem, a0, W0, *, method: str = "BDF", tol: float = 1e-10,
                  t_max: float = 1e7, max_steps: int = 100_000, max_wall: float = 600.0,
                  rtol: float = 1e-3, atol: float = 1e-8, max_norm: float = 1e6,
                  n_save: int = 200, callback=None, factorization: str = "cholesky32", _handover=None,
                  _t0: float = 0.0, route: str = "auto") -> FlowResult:
    """Integrate ``theta' = -grad L`` from ``(a0, W0)`` (``L = E[(f - f*)^2]``, no 1/2).

    Parameters
    ----------
    problem : ``Problem`` (teacher and activation).
    a0, W0 : initial student, shapes (n,) and (n, d).
    method : ``"BDF"`` (default, fastest here), ``"Radau"`` or ``"LSODA"``; all get the exact
        dense Jacobian ``-problem.hessian``.
    tol : stop ("converged") at the first accepted step with ``max|dL/dtheta| <= tol``.
    t_max : flow-time budget; ``max_steps``, ``max_wall`` (seconds): step and wall-clock budgets.
    rtol, atol : solver tolerances (loose by default: the flow's endpoint is what matters, and a
        ``polish`` finishes the job; tighten them for an accurate path).
    max_norm : ``max|theta| > max_norm`` counts as divergence.
    n_save : number of log-spaced checkpoints in ``[1e-3, t_max]`` for the trajectory.
    callback : ``callback(t, a, W, loss, grad_max)`` after each accepted step; a true return
        value stops the flow with status ``"stopped"``.
    factorization : BDF only: ``"cholesky32"`` (default) factors the symmetric iteration matrix
        ``I + c H`` by a float32 Cholesky, ``"cholesky"`` in float64, ``"lu"`` leaves SciPy's LU;
        LU is the fallback whenever Cholesky fails (see ``_symmetric_factorization``).
    route : ``"auto"`` (default), ``"dense"`` or ``"krylov"``: BDF with the dense Hessian, or
        matrix-free BDF with Newton-Krylov solves on Hessian-vector products
        (``copyavg.numeric.flow_krylov``; BDF only, no dense Hessian); ``"auto"`` picks
        ``"krylov"`` for BDF when ``n + n d > flow_krylov.KRYLOV_MIN_SIZE``. ``FlowResult.route`` records it.

    Returns
    -------
    FlowResult

    Raises
    ------
    ValueError
        Bad problem, student, method or budget values.

    Examples
    --------
    >>> import numpy as np
    >>> from copyavg.numeric import Problem
    >>> P = Problem(np.ones(1), np.eye(1, 2), "erf2")
    >>> res = gradient_flow(P, np.array([0.5]), np.array([[0.8, 0.1]]), tol=1e-6)
    >>> res.status, res.grad_max <= 1e-6
    ('converged', True)
    """
    t_start = time.perf_counter()
    _check_problem(problem)
    a0, W0 = _student(problem, a0, W0)
    if method not in _METHODS:
        raise ValueError(f"method must be one of {sorted(_METHODS)}, got {method!r}")
    tol = _positive("tol", tol)
    t_max = _positive("t_max", t_max)
    max_steps = int(_positive("max_steps", max_steps, integer=True))
    max_wall = _positive("max_wall", max_wall, allow_inf=True)
    rtol = _positive("rtol", rtol)
    atol = _positive("atol", atol)
    max_norm = _positive("max_norm", max_norm)
    n_save = int(_positive("n_save", n_save, integer=True))
    if factorization not in ("cholesky32", "cholesky", "lu"):
        raise ValueError(f"factorization must be 'cholesky32', 'cholesky' or 'lu', got {factorization!r}")
    if callback is not None and not callable(callback):
        raise ValueError("callback must be callable or None")
    if _t0 >= t_max:
        raise ValueError(f"t_max must exceed the start time {_t0}")
    if np.abs(np.concatenate((a0, W0.ravel()))).max() > max_norm:
        raise ValueError(f"max_norm = {max_norm:g} is below max|theta0|; raise max_norm")

    n = a0.shape[0]
    ev = _Evaluator(problem, n)
    y0 = _theta(a0, W0)
    N = y0.size
    counts = {"jac": 0}
    route = choose_route(route, method, N)
    kcounts = None

    def fun(t, y):
        try:
            _, g = ev.loss_grad(y)
        except (ValueError, FloatingPointError) as exc:  # overflow reported by Problem
            raise _Diverged(f"the loss or gradient is not finite at t = {t:.6g}: {exc}") from None
        if not np.isfinite(g).all():
            raise _Diverged(f"non-finite gradient at t = {t:.6g}")
        return -g

    def jac(t, y):
        counts["jac"] += 1
        try:
            H = ev.hessian(y)
        except (ValueError, FloatingPointError) as exc:
            raise _Diverged(f"the Hessian is not finite at t = {t:.6g}: {exc}") from None
        return np.negative(H, out=H)

    # log-spaced checkpoints; record the first accepted step at or past each one
    lo = max(1e-3, _t0 * 1.0000001) if _t0 > 0 else 1e-3
    checkpoints = np.geomspace(min(lo, t_max), t_max, n_save) if t_max > lo else np.array([t_max])
    rec_t, rec_L, rec_g, rec_y = [], [], [], []

    def record(t, y, L, gm):
        rec_t.append(t)
        rec_L.append(L)
        rec_g.append(gm)
        rec_y.append(y.copy())

    status, message = None, ""
    n_steps = 0
    solver = None
    with np.errstate(all="ignore"):  # finiteness is checked explicitly; underflow is harmless
        try:
            L, g = ev.loss_grad(y0)
        except (ValueError, FloatingPointError) as exc:
            raise ValueError(f"a0, W0: the loss is not finite at the initial point: {exc}") from None
        gm = float(np.abs(g).max())
        t, y = _t0, y0
        record(t, y, L, gm)
        ic = int(np.searchsorted(checkpoints, t, side="right"))
        if gm <= tol:
            status, message = "converged", f"max|grad| = {gm:.3g} <= tol = {tol:g} at the start"
        else:
            try:
                if route == "krylov":
                    from .flow_krylov import krylov_bdf
                    solver, kcounts = krylov_bdf(fun, _t0, y0, t_max, problem, n, rtol=rtol, atol=atol)
                else:
                    solver = _METHODS[method](fun, _t0, y0, t_max, rtol=rtol, atol=atol, jac=jac)
            except _Diverged as exc:
                status, message = "diverged", str(exc)
            else:
                if method == "BDF" and factorization != "lu" and route == "dense":
                    _symmetric_factorization(solver, single=factorization == "cholesky32")
        while status is None:
            try:
                msg = solver.step()
            except _Diverged as exc:
                status, message = "diverged", str(exc)
                break
            except (np.linalg.LinAlgError, FloatingPointError) as exc:
                status, message = "diverged", f"solver failure at t = {solver.t:.6g}: {exc}"
                break
            if solver.status == "failed":
                status, message = "diverged", f"solver failed at t = {solver.t:.6g}: {msg}"
                break
            n_steps += 1
            t_new, y_new = solver.t, solver.y
            if not np.isfinite(y_new).all():
                status, message = "diverged", f"non-finite state at t = {t_new:.6g}"
                break
            ymax = float(np.abs(y_new).max())
            try:
                L_new, g_new = ev.loss_grad(y_new)
            except (ValueError, FloatingPointError) as exc:
                status, message = "diverged", f"loss not finite at t = {t_new:.6g}: {exc}"
                break
            t, y, L, g = t_new, y_new.copy(), L_new, g_new
            gm = float(np.abs(g).max())
            if ic < checkpoints.size and t >= checkpoints[ic]:
                record(t, y, L, gm)
                ic = int(np.searchsorted(checkpoints, t, side="right"))
            if ymax > max_norm:
                status, message = "diverged", (f"max|theta| = {ymax:.3g} > max_norm = {max_norm:g} "
                                               f"at t = {t:.6g}")
                break
            if gm <= tol:
                status, message = "converged", f"max|grad| = {gm:.3g} <= tol = {tol:g} at t = {t:.6g}"
                break
            if _handover is not None and _handover(t, y, gm):
                status, message = "handover", f"handed over to polish at t = {t:.6g}, max|grad| = {gm:.3g}"
                break
            if callback is not None:
                a_c, W_c = ev.split(y)
                if callback(t, a_c.copy(), W_c.copy(), L, gm):
                    status, message = "stopped", f"stopped by the callback at t = {t:.6g}"
                    break
            if solver.status == "finished":
                status, message = "budget", f"t_max = {t_max:g} reached with max|grad| = {gm:.3g} > tol"
                break
            if n_steps >= max_steps:
                status, message = "budget", f"max_steps = {max_steps} reached at t = {t:.6g}"
                break
            if time.perf_counter() - t_start > max_wall:
                status, message = "budget", f"max_wall = {max_wall:g} s reached at t = {t:.6g}"
                break
    if not rec_t or rec_t[-1] != t or not np.array_equal(rec_y[-1], y):
        record(t, y, L, gm)
    a, W = ev.split(y)
    if status == "diverged" and not problem.activation.smooth:
        # piecewise-linear activations: a neuron driven into the kink at w = 0 in finite time (a
        # dying ReLU) makes the step size collapse. That is not a divergence: say what happened.
        norms = np.linalg.norm(W, axis=1)
        dying = np.flatnonzero(norms <= 1e-6 * max(1.0, float(norms.max())))
        if dying.size:
            status = "nondifferentiable"
            message = (f"student neuron(s) {dying.tolist()} reached w = 0, the kink of "
                       f"{problem.activation.name!r} (|w| <= {float(norms[dying].max()):.2g}), at "
                       f"t = {t:.6g}: the loss has no gradient there ({message})")
    n_lu = int(getattr(solver, "nlu", 0)) if solver is not None else 0
    if route == "krylov" and solver is not None:
        counts["jac"] = int(solver.njev)
    n_hvp = kcounts.n_matvec if kcounts is not None else 0
    return FlowResult(
        a=a.copy(), W=W.copy(), loss=float(L), grad_max=gm, t_final=float(t), status=status,
        message=message, method=method, n_steps=n_steps, n_rhs=ev.n_grad, n_jac=counts["jac"],
        n_lu=n_lu, wall_time=time.perf_counter() - t_start, t=np.array(rec_t),
        losses=np.array(rec_L), grad_maxes=np.array(rec_g), thetas=np.array(rec_y).reshape(-1, N),
        route=route, n_hvp=n_hvp,
    )


# -- Newton polish ------------------------------------------------------------------------------
def polish(problem: Problem, a, W, *, tol: float = 1e-12, max_iter: int = 100,
           max_distance: float = 1.0, rcond: float = 1e-10, route: str = "auto") -> PolishResult:
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
        ``"auto"`` picks it when ``n + n d > flow_krylov.KRYLOV_MIN_SIZE``.

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
    """
    t_start = time.perf_counter()
    _check_problem(problem)
    a, W = _student(problem, a, W, names=("a", "W"))
    tol = _positive("tol", tol)
    max_iter = int(_positive("max_iter", max_iter, integer=True))
    max_distance = _positive("max_distance", max_distance, allow_inf=True)
    rcond = _positive("rcond", rcond)
    n = a.shape[0]
    ev = _Evaluator(problem, n)
    y0 = _theta(a, W)
    y = y0.copy()
    try:
        L, g = ev.loss_grad(y)
    except FloatingPointError as exc:
        raise ValueError(f"a, W: the loss is not finite here: {exc}") from None
    L0, gm0 = L, float(np.abs(g).max())
    if choose_route(route, "BDF", y0.size) == "krylov":
        from .flow_krylov import krylov_polish
        y, L, g, status, message, it, n_g, n_h = krylov_polish(problem, y0, n, tol=tol, max_iter=max_iter,
                                                               max_distance=max_distance)
        return PolishResult(
            a=y[:n].copy(), W=y[n:].reshape(n, -1).copy(), loss=float(L), grad_max=float(np.abs(g).max()),
            status=status, message=message, n_iter=it, n_grad=n_g + 1, n_hess=n_h,
            distance=float(np.linalg.norm(y - y0)), loss_start=float(L0), grad_max_start=gm0,
            wall_time=time.perf_counter() - t_start, route="krylov")
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
            H = ev.hessian(y)
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
            g2 = float(g @ g)
            gp = float(g @ p)
            accepted = False
            alpha = 1.0
            for _ in range(30):
                y_try = y + alpha * p
                if np.linalg.norm(y_try - y0) > max_distance:
                    alpha *= 0.5
                    continue
                try:
                    L_try, g_try = ev.loss_grad(y_try)
                except (ValueError, FloatingPointError):
                    alpha *= 0.5
                    continue
                if float(g_try @ g_try) <= (1.0 - 1e-4 * alpha) * g2 or (
                        descent and L_try <= L + 1e-4 * alpha * gp and L_try < L):
                    accepted = True
                    break
                alpha *= 0.5
            if not accepted:
                if np.linalg.norm(y + p - y0) > max_distance:
                    message = (f"the Newton step would move farther than max_distance = {max_distance:g} "
                               f"from the start; max|grad| = {gm:.3g}")
                else:
                    message = f"no step along the Newton direction decreases |grad|; max|grad| = {gm:.3g}"
                status = "not_converged"
                break
            y, L, g = y_try, L_try, g_try
            gm = float(np.abs(g).max())
    a_f, W_f = ev.split(y)
    return PolishResult(
        a=a_f.copy(), W=W_f.copy(), loss=float(L), grad_max=gm, status=status, message=message,
        n_iter=it, n_grad=ev.n_grad, n_hess=ev.n_hess, distance=float(np.linalg.norm(y - y0)),
        loss_start=float(L0), grad_max_start=gm0, wall_time=time.perf_counter() - t_start,
    )


# -- both ---------------------------------------------------------------------------------------
def flow_and_polish(problem: Problem, a0, W0, *, tol: float = 1e-12, switch_tol: float = 1e-5,
                    neg_curvature: float | None = None, polish_max_iter: int = 50,
                    polish_max_distance: float = 1.0, route: str = "auto", **flow_kwargs) -> FlowPolishResult:
    """Gradient flow until ``max|grad| <= switch_tol`` at a point where the Hessian has no
    eigenvalue below ``-neg_curvature``, then ``polish`` to ``max|grad| <= tol``.

    ``neg_curvature`` defaults to ``30 / t_max``: a direction of curvature ``-lambda`` is escaped by
    the flow in a time of order ``30 / lambda``, so a weaker one could not be escaped within the
    budget anyway. The polish result is accepted only if it converged, stayed within
    ``polish_max_distance`` and did not raise the loss by more than rounding; otherwise the flow
    continues with ``switch_tol`` divided by 100 (up to three rounds, then the flow runs to
    ``tol`` on its own). A flow that ends on its budget is polished from its end point once more
    (same acceptance rules). ``flow_kwargs`` go to ``gradient_flow`` (``tol`` there is replaced).

    Where minima are not isolated (a zero mode of the Hessian, e.g. the curve ``a w = u`` for a
    linear n = 1 student) the endpoint on the continuum is set by the path: it is accurate to about
    the solver tolerance plus ``switch_tol / (smallest non-zero curvature)``; tighten ``rtol`` and
    ``switch_tol`` if the position along the continuum matters.

    Parameters
    ----------
    problem : Problem
        Teacher and activation.
    a0 : array_like, shape (n,)
        Initial outgoing weights, real and finite, ``n >= 1``.
    W0 : array_like, shape (n, d)
        Initial incoming weights, real and finite, ``d = problem.d``.
    tol : float, default 1e-12
        Final tolerance on ``max|dL/dtheta|``, ``> 0``.
    switch_tol : float, default 1e-5
        Hand over to ``polish`` once ``max|dL/dtheta| <= switch_tol`` (and no curvature below
        ``-neg_curvature``), ``> 0``.
    neg_curvature : float, optional
        ``> 0``; default ``30 / t_max`` (``t_max`` from ``flow_kwargs``, default 1e7).
    polish_max_iter : int, default 50
        ``max_iter`` of each ``polish``, a positive integer.
    polish_max_distance : float, default 1.0
        ``max_distance`` of each ``polish``, ``> 0``.
    route : {"auto", "dense", "krylov"}, default "auto"
        Dense Hessians, or the matrix-free route for the flow, the polish and the curvature test
        (a Lanczos estimate of the smallest eigenvalue, ``curvature.lanczos_extremes``); see
        ``gradient_flow``. ``"auto"`` picks ``"krylov"`` when ``n + n d > flow_krylov.KRYLOV_MIN_SIZE`` (and
        the method is BDF).
    **flow_kwargs
        Passed to ``gradient_flow`` (``method``, ``t_max``, ``max_steps``, ``max_wall``,
        ``rtol``, ``atol``, ``max_norm``, ``n_save``, ``callback``, ``factorization``), with
        the same accepted values; not ``tol``.

    Returns
    -------
    FlowPolishResult

    Raises
    ------
    ValueError
        ``problem`` not a ``Problem``; bad shapes or non-finite ``a0``, ``W0``; a non-positive
        tolerance, ``neg_curvature`` or ``t_max``; ``tol`` given in ``flow_kwargs``; or as
        ``gradient_flow`` and ``polish``.

    Examples
    --------
    >>> import numpy as np
    >>> from copyavg.numeric import Problem
    >>> P = Problem(np.ones(1), np.eye(1, 2), "erf2")
    >>> res = flow_and_polish(P, np.array([0.5]), np.array([[0.8, 0.1]]))
    >>> res.status, res.grad_max <= 1e-12
    ('converged', True)
    """
    t_start = time.perf_counter()
    _check_problem(problem)
    tol = _positive("tol", tol)
    switch_tol = _positive("switch_tol", switch_tol)
    t_max = _positive("t_max", flow_kwargs.get("t_max", 1e7))
    if neg_curvature is None:
        neg_curvature = 30.0 / t_max
    neg_curvature = _positive("neg_curvature", neg_curvature)
    if "tol" in flow_kwargs:
        raise ValueError("pass the final tolerance as tol=...; the flow's own stop is switch_tol")
    a0, W0 = _student(problem, a0, W0)
    n = a0.shape[0]
    state = {"gm_checked": math.inf, "switch": switch_tol}
    route = choose_route(route, flow_kwargs.get("method", "BDF"), n + a0.shape[0] * problem.d)

    def handover(t, y, gm):
        # test the curvature again only after the gradient has halved since the last test
        if gm > state["switch"] or gm > 0.5 * state["gm_checked"]:
            return False
        state["gm_checked"] = gm
        if route == "krylov":
            return no_negative_curvature(problem, y, n, neg_curvature)
        H = problem.hessian(y[:n], y[n:].reshape(n, problem.d))
        H[np.diag_indices_from(H)] += neg_curvature
        try:
            sla.cho_factor(H, check_finite=False, overwrite_a=True)
        except (np.linalg.LinAlgError, sla.LinAlgError):
            return False
        return True

    def try_polish(fr):
        """Polish from the flow's end; accepted if converged without raising the loss past rounding."""
        cand = polish(problem, fr.a, fr.W, tol=tol, max_iter=polish_max_iter, max_distance=polish_max_distance,
                      route=route)
        ok = cand.status == "converged" and cand.loss <= fr.loss + 1e-13 * max(1.0, abs(fr.loss))
        return cand if ok else None

    flows = []
    pol = None
    a, W, t0 = a0, W0, 0.0
    for _round in range(4):
        last = _round == 3
        fr = gradient_flow(problem, a, W, tol=tol, _handover=None if last else handover, _t0=t0,
                           route=route, **flow_kwargs)
        flows.append(fr)
        a, W, t0 = fr.a, fr.W, fr.t_final
        if fr.status != "handover":
            break
        pol = try_polish(fr)
        if pol is not None:
            break
        state["switch"] /= 100.0
        state["gm_checked"] = math.inf
    if pol is None and flows[-1].status == "budget":
        # The flow's own gradient can sit at its integration-error floor above the tightened
        # switch_tol (stiff, nearly flat minima: e.g. n = 1, k = 50, smallest curvature ~1e-6 of
        # ~3e3), after an early polish was refused for moving too far along the flat direction.
        # By the end of the budget the flow has travelled that direction: polish from there.
        pol = try_polish(flows[-1])
    flow = _merge_flows(flows)
    if pol is not None:
        a, W, L, gm = pol.a, pol.W, pol.loss, pol.grad_max
        status, message = "converged", f"flow: {flow.message}; polish: {pol.message}"
    else:
        a, W, L, gm = flow.a, flow.W, flow.loss, flow.grad_max
        status, message = flow.status, f"flow: {flow.message}"
    return FlowPolishResult(a=a, W=W, loss=L, grad_max=gm, status=status, message=message, flow=flow,
                            polish=pol, wall_time=time.perf_counter() - t_start)


def _merge_flows(flows: list[FlowResult]) -> FlowResult:
    if len(flows) == 1:
        return flows[0]
    last = flows[-1]
    cat = lambda name: np.concatenate([getattr(f, name) if i == 0 else getattr(f, name)[1:]  # noqa: E731
                                       for i, f in enumerate(flows)])
    return FlowResult(
        a=last.a, W=last.W, loss=last.loss, grad_max=last.grad_max, t_final=last.t_final,
        status=last.status, message=last.message, method=last.method,
        n_steps=sum(f.n_steps for f in flows), n_rhs=sum(f.n_rhs for f in flows),
        n_jac=sum(f.n_jac for f in flows), n_lu=sum(f.n_lu for f in flows),
        wall_time=sum(f.wall_time for f in flows), t=cat("t"), losses=cat("losses"),
        grad_maxes=cat("grad_maxes"), thetas=cat("thetas"), route=last.route,
        n_hvp=sum(f.n_hvp for f in flows),
    )


# -- initialisation -----------------------------------------------------------------------------
def glorot_init(n: int, d: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """The paper's Glorot-normal initialisation: ``W`` entries ``N(0, 2/(d+n))``, ``a`` entries
    ``N(0, 2/(n+1))``. ``rng`` is a ``numpy.random.Generator`` or a seed. Returns ``(a0, W0)``;
    ``W0`` is drawn first.

    Parameters
    ----------
    n : int
        Student width, ``>= 1``.
    d : int
        Input dimension, ``>= 1``.
    rng : numpy.random.Generator or seed
        A generator (advanced in place) or anything ``numpy.random.default_rng`` accepts
        (an int ``>= 0``, a ``SeedSequence``, None for fresh entropy).

    Returns
    -------
    a0 : ndarray, shape (n,)
    W0 : ndarray, shape (n, d)

    Raises
    ------
    ValueError
        ``n`` or ``d`` not a positive integer (``bool`` is refused), or ``rng`` neither a
        generator nor a seed.

    Examples
    --------
    >>> a0, W0 = glorot_init(3, 5, 0)
    >>> a0.shape, W0.shape
    ((3,), (3, 5))
    """
    for name, v in (("n", n), ("d", d)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if not isinstance(rng, np.random.Generator):
        try:
            rng = np.random.default_rng(rng)
        except (TypeError, ValueError):
            raise ValueError(f"rng must be a numpy Generator or a seed, got {type(rng).__name__}") from None
    W0 = rng.normal(0.0, math.sqrt(2.0 / (d + n)), size=(n, d))
    a0 = rng.normal(0.0, math.sqrt(2.0 / (n + 1)), size=n)
    return a0, W0


# -- the critical point next to a given point ---------------------------------------------------
def nearby_critical_point(problem: Problem, a, W, *, offset: float = 1e-6, seed: int = 0,
                          tol: float = 1e-12, **flow_kwargs) -> dict:
    """The critical point that gradient flow reaches from ``(a, W)``, polished (``flow_and_polish``).

    Meant for points that are not critical themselves, e.g. copy-average points for ReLU (docs/theory.md
    §9, claim 17). Where the loss has no Hessian at the start (piecewise-linear activations: a neuron
    with ``a_i != 0`` at the kink ``w_i = 0``; collinear neurons are fine), the start is moved by
    ``offset`` (relative to ``max|W|``) in a fixed random direction (``seed``): the flow needs the
    Hessian as its Jacobian.

    Parameters
    ----------
    problem : Problem
        Teacher and activation.
    a : array_like, shape (n,)
        Start outgoing weights, real and finite, ``n >= 1``.
    W : array_like, shape (n, d)
        Start incoming weights, real and finite, ``d = problem.d``.
    offset : float, default 1e-6
        Size of the move off a point without a Hessian, relative to ``max(1, max|W|)``; ``> 0``.
    seed : int, default 0
        Seed of the direction of that move.
    tol : float, default 1e-12
        Final tolerance on ``max|dL/dtheta|`` (``flow_and_polish``).
    **flow_kwargs
        Passed to ``flow_and_polish`` (and from there to ``gradient_flow``).

    Returns
    -------
    dict
        ``{"a", "W", "loss", "grad_max", "status", "message", "distance", "start_loss",
        "offset"}``: the end point and its ``flow_and_polish`` status and message;
        ``distance`` is the Euclidean distance in ``theta = (a, W)`` from ``(a, W)``,
        ``start_loss`` the loss at ``(a, W)`` and ``offset`` the absolute move applied (0.0 when
        the start had a Hessian).

    Raises
    ------
    ValueError
        ``problem`` not a ``Problem``; bad shapes or non-finite ``a``, ``W``; ``offset <= 0``; or
        as ``flow_and_polish``.

    Examples
    --------
    The ReLU copy-average point with groups (1, 2) is not critical (docs/theory.md §9); the flow
    from it ends at a critical point of lower loss:

    >>> from copyavg.numeric import Problem
    >>> from copyavg.numeric.one_neuron import ca_configuration
    >>> a, W, b, V = ca_configuration("relu", "1,2")
    >>> res = nearby_critical_point(Problem(b, V, "relu"), a, W)
    >>> res["status"], round(res["start_loss"], 6), round(res["loss"], 6), res["offset"]
    ('converged', 0.177024, 0.153668, 0.0)
    """
    from .population import NonDifferentiableError

    _check_problem(problem)
    a, W = _student(problem, a, W, names=("a", "W"))
    offset = _positive("offset", offset)
    start_loss = problem.loss(a, W)
    a1, W1, used = a, W, 0.0
    try:
        problem.hessian(a, W)
    except NonDifferentiableError:
        rng = np.random.default_rng(seed)
        used = offset * max(1.0, float(np.abs(W).max()))
        W1 = W + used * rng.standard_normal(W.shape)
    res = flow_and_polish(problem, a1, W1, tol=tol, **flow_kwargs)
    dist = float(np.sqrt(np.sum((res.a - a) ** 2) + np.sum((res.W - W) ** 2)))
    return {"a": res.a, "W": res.W, "loss": res.loss, "grad_max": res.grad_max, "status": res.status,
            "message": res.message, "distance": dist, "start_loss": start_loss, "offset": used}
