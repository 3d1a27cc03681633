"""Result records of ``copyavg.numeric.flow.gradient_flow``, ``copyavg.numeric.newton.polish`` and
``copyavg.numeric.flow.flow_and_polish``."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["FlowPolishResult", "FlowResult", "PolishResult"]


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
        Recorded ``theta = (a, W row by row)`` (also with ``train="W"``: ``a`` is then constant).
    train : str
        ``"aW"`` (both layers trained) or ``"W"`` (``a`` fixed; ``grad_max`` is then
        ``max|dL/dW|``).
    route : str
        ``"dense"`` (dense Hessian Jacobian) or ``"krylov"`` (matrix-free Newton-Krylov BDF).
    n_hvp : int
        Hessian-vector products (route ``"krylov"``; 0 otherwise).

    Examples
    --------
    >>> import numpy as np
    >>> from copyavg.numeric import Problem
    >>> from copyavg.numeric.flow import gradient_flow
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
    train: str = "aW"
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
    train : str
        ``"aW"`` or ``"W"`` (``a`` fixed).
    route : str
        ``"dense"`` (dense Hessian) or ``"krylov"`` (Newton-Krylov on Hessian-vector products).

    Examples
    --------
    >>> import numpy as np
    >>> from copyavg.numeric import Problem
    >>> from copyavg.numeric.newton import polish
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
    train: str = "aW"
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
    train : str
        ``"aW"`` or ``"W"`` (``a`` fixed).

    Examples
    --------
    >>> import numpy as np
    >>> from copyavg.numeric import Problem
    >>> from copyavg.numeric.flow import flow_and_polish
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
    train: str = "aW"
