r"""Gradient flow ``theta' = -grad L(theta)`` on the exact population loss, and a Newton polish.

Conventions (docs/theory.md §1): ``L = E[(f - f*)^2]`` with **no factor 1/2**; ``theta = (a, W row by row)``,
the order of ``Problem.hessian``. NumPy/SciPy only.

- ``gradient_flow`` (defined in ``copyavg.numeric.flow_ode``, re-exported here) integrates the flow
  with a stiff SciPy solver (``BDF`` by default; ``Radau`` and ``LSODA`` on request) given the exact
  Jacobian ``-Hessian``. It drives the solver step by step
  (the ``OdeSolver`` classes that ``solve_ivp`` itself loops over) so that it can stop on
  ``max|dL/dtheta| <= tol`` at an accepted step (the terminal event), on a time budget ``t_max``,
  a step budget and a wall-clock budget, and report divergence (non-finite values or
  ``max|theta| > max_norm``) as ``status="diverged"`` rather than returning NaNs. The trajectory
  is recorded at accepted steps, the first step past each of ``n_save`` log-spaced checkpoints
  (memory ``O(n_save * len(theta))``); recorded points are solver states, not interpolations.
- ``polish`` (defined in ``copyavg.numeric.newton``, re-exported here) finds the critical point
  next to a given point by Newton steps on ``grad L = 0`` with the exact Hessian.
- ``flow_and_polish`` runs the flow until the gradient is small *and* the Hessian has no negative
  curvature the flow could still escape along within ``t_max``, then polishes; the polish is
  accepted only if it did not raise the loss (the flow only descends).
- ``train="W"`` (all three): the first layer only, ``a`` held at the given value
  (``copyavg.numeric.training``): the soft committee machine and other fixed-second-layer models.
- ``route="krylov"`` (chosen by ``route="auto"`` above ``flow_krylov.KRYLOV_MIN_SIZE`` parameters,
  ``train="aW"`` only) does all three without a dense Hessian: the same BDF solver with
  Newton-Krylov solves on exact Hessian-vector products (``copyavg.numeric.hvp``,
  ``copyavg.numeric.flow_krylov``), Newton-CG for the polish, a Lanczos estimate for the curvature
  test (``copyavg.numeric.curvature``; up to ``N = 3000`` parameters a Cholesky factorization of
  the dense Hessian instead, much faster than Lanczos near minima with clustered small
  eigenvalues); memory ``O(n (n + k) + n d)`` besides the recorded trajectory (``n_save`` states)
  and, up to ``N = 3000``, that Hessian (72 MB).

The result records live in ``copyavg.numeric.flow_results``, the shared helpers in
``copyavg.numeric._flow_base``; both are re-exported here.

Speed notes (paper size d, k, n = 51, 50, 25, theta of length 1300): one Hessian costs ~5 ms, one
LU of a 1300 x 1300 matrix ~30 ms, one gradient ~60 us; the stiff solver's cost is dominated by its
LU factorizations, so the flow runs at loose tolerances (``rtol=1e-3``) and hands over to Newton,
which converges in a few steps from ``max|grad| ~ 1e-7``.
"""

from __future__ import annotations

import math
import time

import numpy as np
import scipy.linalg as sla

from .curvature import no_negative_curvature
from ._flow_base import _check_problem, _positive, _student
from .flow_ode import _METHODS, gradient_flow  # noqa: F401 - re-exported
from .flow_results import FlowPolishResult, FlowResult, PolishResult
from .newton import _route, polish
from .population import Problem
from .training import check_train, hessian_block


__all__ = [
    "FlowPolishResult",
    "FlowResult",
    "PolishResult",
    "flow_and_polish",
    "glorot_init",
    "gradient_flow",
    "polish",
]


# -- both ---------------------------------------------------------------------------------------
def flow_and_polish(problem: Problem, a0, W0, *, tol: float = 1e-12, switch_tol: float = 1e-5,
                    neg_curvature: float | None = None, polish_max_iter: int = 50,
                    polish_max_distance: float = 1.0, train: str = "aW", route: str = "auto",
                    **flow_kwargs) -> FlowPolishResult:
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
        (``curvature.no_negative_curvature``: dense Cholesky up to 3000 parameters, else a Lanczos
        estimate of the smallest eigenvalue, ``curvature.lanczos_extremes``); see
        ``gradient_flow``. ``"auto"`` picks ``"krylov"`` when ``n + n d > flow_krylov.KRYLOV_MIN_SIZE``
        (BDF, ``train="aW"``).
    train : str, default "aW"
        ``"aW"``: both layers; ``"W"``: the first layer only, ``a`` held at ``a0``
        (``copyavg.numeric.training``); tolerances, the curvature test and ``polish`` then refer to
        ``W`` and the ``W``-``W`` Hessian block.
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
    >>> res = flow_and_polish(P, np.ones(1), np.array([[0.8, 0.1]]), train="W")  # a = 1 fixed
    >>> res.status, res.a.tolist(), np.round(res.W, 6).tolist() == [[1.0, 0.0]]
    ('converged', [1.0], True)
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
    check_train(train)
    n = a0.shape[0]
    state = {"gm_checked": math.inf, "switch": switch_tol}
    route = _route(route, flow_kwargs.get("method", "BDF"), n * (1 + problem.d), train)

    handover = _handover_test(problem, n, train, route, neg_curvature, state)

    def try_polish(fr):
        return _accepted_polish(problem, fr, tol=tol, max_iter=polish_max_iter,
                                max_distance=polish_max_distance, train=train, route=route)

    flows = []
    pol = None
    a, W, t0 = a0, W0, 0.0
    for _round in range(4):
        last = _round == 3
        fr = gradient_flow(problem, a, W, tol=tol, _handover=None if last else handover, _t0=t0,
                           train=train, route=route, **flow_kwargs)
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
                            polish=pol, wall_time=time.perf_counter() - t_start, train=train)


def _handover_test(problem: Problem, n: int, train: str, route: str, neg_curvature: float, state: dict):
    """The flow's hand-over test: ``max|grad| <= state["switch"]`` and no Hessian eigenvalue below
    ``-neg_curvature`` (Cholesky of ``H + neg_curvature I``, or ``curvature.no_negative_curvature``
    on the Krylov route); the curvature is tested again only after the gradient has halved since
    the last test (``state["gm_checked"]``)."""

    def handover(t, a, W, gm):
        # test the curvature again only after the gradient has halved since the last test
        if gm > state["switch"] or gm > 0.5 * state["gm_checked"]:
            return False
        state["gm_checked"] = gm
        if route == "krylov":
            return no_negative_curvature(problem, np.concatenate((a, W.ravel())), n, neg_curvature)
        H = hessian_block(problem.hessian(a, W), n, train)
        H[np.diag_indices_from(H)] += neg_curvature
        try:
            sla.cho_factor(H, check_finite=False, overwrite_a=True)
        except (np.linalg.LinAlgError, sla.LinAlgError):
            return False
        return True

    return handover


def _accepted_polish(problem: Problem, fr: FlowResult, *, tol, max_iter, max_distance, train, route):
    """Polish from the flow's end; accepted if converged without raising the loss past rounding."""
    cand = polish(problem, fr.a, fr.W, tol=tol, max_iter=max_iter, max_distance=max_distance,
                  train=train, route=route)
    ok = cand.status == "converged" and cand.loss <= fr.loss + 1e-13 * max(1.0, abs(fr.loss))
    return cand if ok else None


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
        grad_maxes=cat("grad_maxes"), thetas=cat("thetas"), train=last.train,
        route=last.route, n_hvp=sum(f.n_hvp for f in flows),
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
        Passed to ``flow_and_polish`` (and from there to ``gradient_flow``); ``train="W"`` keeps
        ``a`` fixed.

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
