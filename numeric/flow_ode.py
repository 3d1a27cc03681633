r"""The gradient-flow integrator: ``theta' = -grad L(theta)`` on the exact population loss, driven
step by step by a stiff SciPy solver (``gradient_flow``; re-exported by ``copyavg.numeric.flow``).

Conventions (docs/theory.md §1): ``L = E[(f - f*)^2]`` with **no factor 1/2**; ``theta = (a, W row by row)``,
the order of ``Problem.hessian``. The solver (``BDF`` by default; ``Radau`` and ``LSODA`` on request)
gets the exact Jacobian ``-Hessian`` (or, on the matrix-free route, Hessian-vector products,
``copyavg.numeric.flow_krylov``). Driving the ``OdeSolver`` classes that ``solve_ivp`` itself loops
over lets the flow stop on ``max|dL/dtheta| <= tol`` at an accepted step, on a time budget
``t_max``, a step budget and a wall-clock budget, and report divergence (non-finite values or
``max|theta| > max_norm``) as ``status="diverged"`` rather than returning NaNs. A trial point of
the implicit solver where the loss cannot be evaluated (a kernel's accepted range, e.g. ``|w| <= 4``
for the quadrature-based softplus, or an overflow) is not an exit: the solver gets NaN, counts a
failed Newton iteration and retries a shorter step; only an accepted state out of range, or a
step size driven to zero, ends the flow as ``"diverged"`` (with the last refusal in the message).
The trajectory is
recorded at accepted steps, the first step past each of ``n_save`` log-spaced checkpoints (memory
``O(n_save * len(theta))``); recorded points are solver states, not interpolations.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np
from scipy.integrate import BDF, LSODA, Radau

from ._flow_base import _Diverged, _Evaluator, _check_problem, _positive, _student, _symmetric_factorization
from .flow_results import FlowResult
from .newton import _route
from .population import Problem
from .training import check_train

__all__ = ["gradient_flow"]

_METHODS = {"BDF": BDF, "Radau": Radau, "LSODA": LSODA}


def gradient_flow(problem: Problem, a0, W0, *, method: str = "BDF", tol: float = 1e-10,
                  t_max: float = 1e7, max_steps: int = 100_000, max_wall: float = 600.0,
                  rtol: float = 1e-3, atol: float = 1e-8, max_norm: float = 1e6,
                  n_save: int = 200, callback=None, factorization: str = "cholesky32", train: str = "aW",
                  _handover=None, _t0: float = 0.0, route: str = "auto") -> FlowResult:
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
        (``copyavg.numeric.flow_krylov``; BDF and ``train="aW"`` only, no dense Hessian); ``"auto"``
        picks ``"krylov"`` for BDF when ``n + n d > flow_krylov.KRYLOV_MIN_SIZE``. ``FlowResult.route`` records it.
    train : ``"aW"`` (default: both layers) or ``"W"``: the first layer only, ``a`` held at ``a0``
        (``copyavg.numeric.training``); ``tol`` then applies to ``max|dL/dW|``.

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
    >>> res = gradient_flow(P, np.array([1.0]), np.array([[0.8, 0.1]]), tol=1e-6, train="W")
    >>> res.status, res.a.tolist()
    ('converged', [1.0])
    """
    t_start = time.perf_counter()
    _check_problem(problem)
    a0, W0 = _student(problem, a0, W0)
    check_train(train)
    opt = _check_options(method, tol, t_max, max_steps, max_wall, rtol, atol, max_norm, n_save,
                         factorization, callback, _t0)
    tol, t_max = opt.tol, opt.t_max
    if np.abs(np.concatenate((a0, W0.ravel()))).max() > opt.max_norm:
        raise ValueError(f"max_norm = {opt.max_norm:g} is below max|theta0|; raise max_norm")

    ev = _Evaluator(problem, a0, train)
    y0 = ev.theta(a0, W0)
    N = a0.shape[0] * (1 + problem.d)
    counts = {"jac": 0}
    route = _route(route, method, N, train)
    kcounts = None
    refusals = _Refusals()
    fun, jac = _rhs(ev, refusals), _jacobian(ev, counts, refusals)
    traj = _Trajectory(ev, _t0, t_max, opt.n_save)

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
        traj.start(t, y, L, gm)
        if gm <= tol:
            status, message = "converged", f"max|grad| = {gm:.3g} <= tol = {tol:g} at the start"
        else:
            try:
                solver, kcounts = _start_solver(fun, jac, _t0, y0, t_max, problem, a0.shape[0], route=route,
                                                method=method, factorization=factorization, rtol=opt.rtol,
                                                atol=opt.atol)
            except _Diverged as exc:
                status, message = "diverged", str(exc)
        while status is None:
            refusals.accepted = solver.y
            try:
                _solver_step(solver, refusals)
            except _Diverged as exc:
                status, message = "diverged", str(exc)
                break
            n_steps += 1
            try:
                t, y, L, g, ymax = _accepted_state(solver, ev)
            except _Diverged as exc:
                status, message = "diverged", str(exc)
                break
            gm = float(np.abs(g).max())
            traj.passed(t, y, L, gm)
            status, message = _stop_reason(ev, t, y, L, gm, ymax, opt, _handover, callback)
            if status is None:
                status, message = _budget_spent(solver, t, gm, n_steps, time.perf_counter() - t_start, opt)
    traj.finish(t, y, L, gm)
    a, W = ev.split(y)
    if status == "diverged" and not problem.activation.smooth:
        status, message = _kink_status(problem, W, t, status, message)
    n_lu = int(getattr(solver, "nlu", 0)) if solver is not None else 0
    if route == "krylov" and solver is not None:
        counts["jac"] = int(solver.njev)
    return FlowResult(
        a=a.copy(), W=W.copy(), loss=float(L), grad_max=gm, t_final=float(t), status=status,
        message=message, method=method, n_steps=n_steps, n_rhs=ev.n_grad, n_jac=counts["jac"],
        n_lu=n_lu, wall_time=time.perf_counter() - t_start, t=np.array(traj.t),
        losses=np.array(traj.L), grad_maxes=np.array(traj.g), thetas=np.array(traj.y).reshape(-1, N),
        train=train, route=route, n_hvp=kcounts.n_matvec if kcounts is not None else 0,
    )


class _Options(NamedTuple):
    """The checked tolerances and budgets of ``gradient_flow``."""

    tol: float
    t_max: float
    max_steps: int
    max_wall: float
    rtol: float
    atol: float
    max_norm: float
    n_save: int


def _check_options(method, tol, t_max, max_steps, max_wall, rtol, atol, max_norm, n_save,
                   factorization, callback, t0) -> _Options:
    """``gradient_flow``'s argument checks (ValueError naming the argument), in its order."""
    if method not in _METHODS:
        raise ValueError(f"method must be one of {sorted(_METHODS)}, got {method!r}")
    opt = _Options(
        tol=_positive("tol", tol),
        t_max=_positive("t_max", t_max),
        max_steps=int(_positive("max_steps", max_steps, integer=True)),
        max_wall=_positive("max_wall", max_wall, allow_inf=True),
        rtol=_positive("rtol", rtol),
        atol=_positive("atol", atol),
        max_norm=_positive("max_norm", max_norm),
        n_save=int(_positive("n_save", n_save, integer=True)),
    )
    if factorization not in ("cholesky32", "cholesky", "lu"):
        raise ValueError(f"factorization must be 'cholesky32', 'cholesky' or 'lu', got {factorization!r}")
    if callback is not None and not callable(callback):
        raise ValueError("callback must be callable or None")
    if t0 >= opt.t_max:
        raise ValueError(f"t_max must exceed the start time {t0}")
    return opt


class _Refusals:
    """Trial points of the implicit solver where the loss could not be evaluated (outside the
    kernel's accepted range, or an overflow). Such a point is not on the trajectory: the solver
    treats the non-finite right-hand side as a failed Newton iteration and retries a shorter step.
    ``accepted`` is the solver's last accepted state; a refusal there is a real exit."""

    def __init__(self):
        self.accepted = None
        self.last = None  # (t, reason) of the last refused trial point

    def note(self, t, exc) -> None:
        self.last = (t, str(exc))

    def at_accepted(self, y) -> bool:
        return self.accepted is not None and np.array_equal(y, self.accepted)

    def reason(self) -> str:
        return "" if self.last is None else (f"; the last trial point refused (t = {self.last[0]:.6g}) was "
                                             f"outside the loss's accepted range: {self.last[1]}")


def _rhs(ev: _Evaluator, refusals: _Refusals):
    """The flow's right-hand side ``-grad L(y)``. A trial point whose loss cannot be evaluated gives
    NaN, which SciPy's BDF and Radau take as a failed Newton iteration (a shorter step follows);
    a non-finite gradient at an evaluable point raises ``_Diverged``."""

    def fun(t, y):
        try:
            _, g = ev.loss_grad(y)
        except (ValueError, FloatingPointError) as exc:  # out of the kernel's range, or overflow
            if refusals.at_accepted(y):
                raise _Diverged(f"the loss or gradient is not finite at t = {t:.6g}: {exc}") from None
            refusals.note(t, exc)
            return np.full(y.shape, np.nan)
        if not np.isfinite(g).all():
            raise _Diverged(f"non-finite gradient at t = {t:.6g}")
        return -g

    return fun


def _jacobian(ev: _Evaluator, counts: dict, refusals: _Refusals):
    """The flow's Jacobian ``-Hessian(y)``, counted in ``counts["jac"]``. BDF asks for it at a
    predicted (not accepted) point after a failed Newton iteration; where the Hessian cannot be
    evaluated there, the one at the last accepted state is used instead (the Jacobian only steers
    Newton's iteration; the error control does not rely on it). Where that fails too, or at an
    accepted state, ``_Diverged``."""

    def jac(t, y):
        counts["jac"] += 1
        try:
            H = ev.hessian(y)
        except (ValueError, FloatingPointError) as exc:
            if refusals.accepted is None or refusals.at_accepted(y):
                raise _Diverged(f"the Hessian is not finite at t = {t:.6g}: {exc}") from None
            try:
                H = ev.hessian(refusals.accepted)
            except (ValueError, FloatingPointError):
                raise _Diverged(f"the Hessian is not finite at t = {t:.6g}: {exc}") from None
            refusals.note(t, exc)
        return np.negative(H, out=H)

    return jac


class _Trajectory:
    """The recorded trajectory: the first accepted step at or past each of ``n_save`` log-spaced
    checkpoints in ``[max(1e-3, t0), t_max]``, plus the start and the end."""

    def __init__(self, ev: _Evaluator, t0: float, t_max: float, n_save: int):
        lo = max(1e-3, t0 * 1.0000001) if t0 > 0 else 1e-3
        self.checkpoints = np.geomspace(min(lo, t_max), t_max, n_save) if t_max > lo else np.array([t_max])
        self.ev = ev
        self.t, self.L, self.g, self.y = [], [], [], []
        self.ic = 0

    def record(self, t, y, L, gm):
        self.t.append(t)
        self.L.append(L)
        self.g.append(gm)
        self.y.append(self.ev.full(y).copy())

    def start(self, t, y, L, gm):
        self.record(t, y, L, gm)
        self.ic = int(np.searchsorted(self.checkpoints, t, side="right"))

    def passed(self, t, y, L, gm):
        """An accepted step: recorded if it is the first at or past the next checkpoint."""
        if self.ic < self.checkpoints.size and t >= self.checkpoints[self.ic]:
            self.record(t, y, L, gm)
            self.ic = int(np.searchsorted(self.checkpoints, t, side="right"))

    def finish(self, t, y, L, gm):
        """The end point, unless it is already the last record."""
        if not self.t or self.t[-1] != t or not np.array_equal(self.y[-1], self.ev.full(y)):
            self.record(t, y, L, gm)


def _start_solver(fun, jac, t0, y0, t_max, problem, n, *, route, method, factorization, rtol, atol):
    """The SciPy (or matrix-free BDF) solver and, on the Krylov route, its counters; ``_Diverged``
    if the first evaluations are not finite."""
    if route == "krylov":
        from .flow_krylov import krylov_bdf
        return krylov_bdf(fun, t0, y0, t_max, problem, n, rtol=rtol, atol=atol)
    solver = _METHODS[method](fun, t0, y0, t_max, rtol=rtol, atol=atol, jac=jac)
    if method == "BDF" and factorization != "lu" and route == "dense":
        _symmetric_factorization(solver, single=factorization == "cholesky32")
    return solver, None


def _solver_step(solver, refusals: _Refusals) -> None:
    """One step of the solver; any failure is raised as ``_Diverged`` (a failed step names the last
    trial point refused, the usual cause of a step size driven to zero)."""
    try:
        msg = solver.step()
    except (np.linalg.LinAlgError, FloatingPointError) as exc:
        raise _Diverged(f"solver failure at t = {solver.t:.6g}: {exc}{refusals.reason()}") from None
    if solver.status == "failed":
        raise _Diverged(f"solver failed at t = {solver.t:.6g}: {msg}{refusals.reason()}")


def _accepted_state(solver, ev: _Evaluator):
    """``(t, y, L, g, max|y|)`` after an accepted step; ``_Diverged`` if not finite."""
    t_new, y_new = solver.t, solver.y
    if not np.isfinite(y_new).all():
        raise _Diverged(f"non-finite state at t = {t_new:.6g}")
    ymax = float(np.abs(y_new).max())
    try:
        L_new, g_new = ev.loss_grad(y_new)
    except (ValueError, FloatingPointError) as exc:
        raise _Diverged(f"loss not finite at t = {t_new:.6g}: {exc}") from None
    return t_new, y_new.copy(), L_new, g_new, ymax


def _stop_reason(ev: _Evaluator, t, y, L, gm, ymax, opt: _Options, handover, callback):
    """``(status, message)`` after an accepted step: diverged (``max|theta| > max_norm``),
    converged (``max|grad| <= tol``), handed over to the polish, or stopped by the callback; else
    ``(None, "")``."""
    if ymax > opt.max_norm:
        return "diverged", f"max|theta| = {ymax:.3g} > max_norm = {opt.max_norm:g} at t = {t:.6g}"
    if gm <= opt.tol:
        return "converged", f"max|grad| = {gm:.3g} <= tol = {opt.tol:g} at t = {t:.6g}"
    if handover is not None and handover(t, *ev.split(y), gm):
        return "handover", f"handed over to polish at t = {t:.6g}, max|grad| = {gm:.3g}"
    if callback is not None:
        a_c, W_c = ev.split(y)
        if callback(t, a_c.copy(), W_c.copy(), L, gm):
            return "stopped", f"stopped by the callback at t = {t:.6g}"
    return None, ""


def _budget_spent(solver, t, gm, n_steps, elapsed, opt: _Options):
    """``("budget", message)`` once a time, step or wall-clock budget is spent, else ``(None, "")``."""
    if solver.status == "finished":
        return "budget", f"t_max = {opt.t_max:g} reached with max|grad| = {gm:.3g} > tol"
    if n_steps >= opt.max_steps:
        return "budget", f"max_steps = {opt.max_steps} reached at t = {t:.6g}"
    if elapsed > opt.max_wall:
        return "budget", f"max_wall = {opt.max_wall:g} s reached at t = {t:.6g}"
    return None, ""


def _kink_status(problem: Problem, W, t, status, message):
    """Piecewise-linear activations: a neuron driven into the kink at w = 0 in finite time (a dying
    ReLU) makes the step size collapse. That is not a divergence: say what happened."""
    norms = np.linalg.norm(W, axis=1)
    dying = np.flatnonzero(norms <= 1e-6 * max(1.0, float(norms.max())))
    if not dying.size:
        return status, message
    return "nondifferentiable", (f"student neuron(s) {dying.tolist()} reached w = 0, the kink of "
                                 f"{problem.activation.name!r} (|w| <= {float(norms[dying].max()):.2g}), at "
                                 f"t = {t:.6g}: the loss has no gradient there ({message})")
