"""One gradient-flow run of a sweep: its spec, seeded start, flow + polish and JSON record.

A run is keyed by ``(activation, k, n, d, seed)`` (``RunSpec``); ``sweep_specs`` checks a sweep's
bounds before building its specs. ``run_one`` is what a worker executes (``copyavg.experiments.sweep``
stores the records).

Initialisation (the paper's Glorot normal): ``W_ij ~ N(0, 2/(d + n))``, ``a_i ~ N(0, 2/(n + 1))``,
drawn from ``numpy.random.default_rng([seed, k, n, d])``; teacher ``v_j = e_j`` in ``R^d``,
``b_j = 1``, or a teacher from a file (``copyavg.experiments.teacher``); ``d = k + 1`` unless given.

Fixed second layer: the flow options ``{"train": "W", "a_fixed": A}`` train ``W`` only, with every
``a_i = A`` (the Glorot ``W`` is drawn as usual, its ``a`` discarded); a custom teacher adds
``{"teacher_sha256": ...}`` (``Teacher.store_options``). These keys are part of the flow options,
hence of the store's flow hash, so such runs never mix with the default runs (whose options are
unchanged). ``run_one`` takes them out before calling ``flow_and_polish``.

Endpoint types (``copyavg.numeric.endpoints``) refer to the unit-orthonormal teacher; with another
teacher the endpoint is ``"unclassified"``. With ``a`` fixed, the reference points (CA, P-n-C) are
those of the trained-``a`` model: a CA type can only match where both coincide (the teacher itself,
all groups of size 1), and the P-n-C distance is left out; the Hessian type is that of the
``W``-``W`` block (``copyavg.numeric.training``).

No wall-clock budget: a run's record must not depend on the load of the machine that made it, so
``run_one`` sets ``max_wall = inf`` unless the flow options give one (the flow's default, 600 s,
once stopped a few runs of a loaded machine as ``budget``). The flow is still bounded by its
deterministic budgets ``t_max`` and ``max_steps``; an interrupted sweep keeps its finished runs.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RunSpec:
    activation: str
    k: int
    n: int
    d: int
    seed: int

    @property
    def key(self) -> tuple:
        return (self.activation, self.k, self.n, self.d, self.seed)


MAX_K = 1000         # teacher width cap: the exact loss is O(k^2 d) per step, k = 50 takes minutes
MAX_SEEDS = 100_000  # seeds per n
MAX_RUNS = 1_000_000  # runs in one sweep (a sweep of the paper's size is 980)


def parse_range(text: str, upper: int, name: str = "values") -> list[int]:
    """"1..50", "10,20,25" or "1..10,25" -> sorted list of ints in ``1..upper``.

    Bounds are checked before a range is expanded, so ``1..1000000000000`` fails at once.
    """
    out = set()
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        lo, _, hi = part.partition("..")
        try:
            lo, hi = int(lo), int(hi if _ else lo)
        except ValueError:
            raise ValueError(f"{name}: {part!r} is not an integer or a range LO..HI") from None
        if hi < lo:
            raise ValueError(f"{name}: empty range {part!r}")
        if lo < 1 or hi > upper:
            raise ValueError(f"{name}: values must lie in 1..{upper}, got {part!r}")
        out.update(range(lo, hi + 1))
    if not out:
        raise ValueError(f"{name}: no values in {text!r}")
    return sorted(out)


def sweep_specs(activation: str, k: int, ns: str, seeds: int, d: int | None = None, *,
                teacher_file: bool = False) -> list["RunSpec"]:
    """The specs of a sweep, every bound checked before anything is built: ``1 <= k <= MAX_K``,
    ``n`` in ``1..k``, ``1 <= seeds <= MAX_SEEDS``, ``k <= d <= 10 k`` (``1 <= d <= 10 k`` for a
    teacher from a file, which may have more neurons than dimensions), at most ``MAX_RUNS`` runs."""
    if not 1 <= k <= MAX_K:
        raise ValueError(f"--k must lie in 1..{MAX_K}, got {k}")
    d = k + 1 if d is None else d
    lo = 1 if teacher_file else k
    if not lo <= d <= 10 * k:
        what = "the teacher file's d" if teacher_file else "--d"
        raise ValueError(f"{what} must lie in {'1' if teacher_file else 'k'}..10k = {lo}..{10 * k}, got {d}")
    if not 1 <= seeds <= MAX_SEEDS:
        raise ValueError(f"--seeds must lie in 1..{MAX_SEEDS}, got {seeds}")
    n_values = parse_range(ns, upper=k, name="--n")
    if len(n_values) * seeds > MAX_RUNS:
        raise ValueError(f"{len(n_values)} widths x {seeds} seeds = {len(n_values) * seeds} runs, "
                         f"more than the cap of {MAX_RUNS}")
    return [RunSpec(activation, k, n, d, s) for n in n_values for s in range(seeds)]


def initial_point(spec: "RunSpec"):
    """The seeded Glorot-normal initial point of a run (``copyavg.numeric.flow.glorot_init``)."""
    from copyavg.numeric.flow import glorot_init

    return glorot_init(spec.n, spec.d, np.random.default_rng([spec.seed, spec.k, spec.n, spec.d]))


def kernel_kind(act) -> str:
    """``"exact"`` (closed-form kernel) or ``"quadrature"`` (any expression in z: Hermite series with
    an error bound of 1e-10 of the kernel's scale, ``copyavg.numeric.series``)."""
    return "exact" if act.exact else "quadrature"


RUN_OPTIONS = ("train", "a_fixed", "teacher_sha256")  # flow options that run_one takes out itself


def _model(spec: RunSpec, flow_options: dict | None, teacher) -> tuple:
    """(Problem, a0, W0, train, options for flow_and_polish, record fields of the model)."""
    from copyavg.numeric import Problem

    opts = dict(flow_options or {})
    train = opts.pop("train", "aW")
    a_fixed = float(opts.pop("a_fixed", 1.0))
    opts.pop("teacher_sha256", None)  # provenance: the teacher itself comes in ``teacher``
    opts.setdefault("max_wall", math.inf)  # not hashed: the default runs keep their flow hash
    if teacher is None:
        b, V = np.ones(spec.k), np.eye(spec.k, spec.d)
    else:
        b, V = np.asarray(teacher.b, float), np.asarray(teacher.V, float)
        if V.shape != (spec.k, spec.d):
            raise ValueError(f"the teacher has shape {V.shape}, the run (k, d) = ({spec.k}, {spec.d})")
    a0, W0 = initial_point(spec)
    fields = {"train": train}
    if train == "W":
        a0 = np.full(spec.n, a_fixed)
        fields["a_fixed"] = a_fixed
    if teacher is not None and not teacher.unit_orthonormal:
        fields["teacher_sha256"] = teacher.digest
    return Problem(b, V, spec.activation), a0, W0, train, opts, fields


def run_one(spec: RunSpec, flow_options: dict | None = None, teacher=None) -> dict:
    """One flow + polish from the seeded initialisation; returns the JSON record.

    ``flow_options`` go to ``flow_and_polish`` except ``RUN_OPTIONS`` (see the module docstring);
    ``teacher`` is a ``copyavg.experiments.teacher.Teacher`` of shape ``(spec.k, spec.d)`` or None
    for the unit-orthonormal one."""
    from copyavg.numeric import NonDifferentiableError
    from copyavg.numeric.flow import flow_and_polish

    from ._symmetric_endpoints import shared_hessian_record

    t0 = time.perf_counter()
    prob, a0, W0, train, opts, model = _model(spec, flow_options, teacher)
    try:
        res = flow_and_polish(prob, a0, W0, train=train, **opts)
    except NonDifferentiableError as exc:  # a ReLU neuron with a_i != 0 at the kink w_i = 0
        return _unfinished(spec, prob, model, "nondifferentiable", exc, t0)
    except ValueError as exc:  # a weight left the kernel's accepted range (quadrature family: |w| <= max_norm)
        return _unfinished(spec, prob, model, "out-of-range", exc, t0)
    kind, partition, distance, note, embedding = _endpoint(res, spec, train, "teacher_sha256" in model)

    def hessian_record():
        return endpoint_hessian(prob, res.a, res.W, spec.activation, float(res.grad_max), res.status, train)

    if train == "aW" and teacher is None and res.status == "converged":  # images of one point: one spectrum
        hess = shared_hessian_record(spec, kind, partition, distance, res.a, float(res.loss), float(res.grad_max),
                                     hessian_record)
    else:
        hess = hessian_record()
    traj = res.flow
    return {
        "activation": spec.activation, "k": spec.k, "n": spec.n, "d": spec.d, "seed": spec.seed, **model,
        "kernel": kernel_kind(prob.activation), "loss": float(res.loss), "grad_max": float(res.grad_max), "status": res.status,
        "endpoint": kind, "partition": list(partition) if partition else None, **embedding, **hess,
        "distance": distance, "time_s": time.perf_counter() - t0,
        "message": "; ".join(m for m in (None if res.status == "converged" else res.message, note) if m) or None,
        "curve_t": [float(x) for x in traj.t], "curve_loss": [float(x) for x in traj.losses],
        "a": [float(x) for x in res.a], "W": [[float(x) for x in row] for row in res.W],
    }


def _unfinished(spec: RunSpec, prob, model: dict, status: str, exc: Exception, t0: float) -> dict:
    """The record of a run that stopped without an endpoint: ``status`` "nondifferentiable" (a
    neuron reached a kink) or "out-of-range" (the start or the trajectory left the accepted range of
    the activation's kernel, e.g. ``|w| <= 1.5`` for the quadrature-based tanh); ``endpoint`` is
    "other" and ``message`` the reason."""
    return {"activation": spec.activation, "k": spec.k, "n": spec.n, "d": spec.d, "seed": spec.seed,
            "kernel": kernel_kind(prob.activation), "loss": None, "grad_max": None, "status": status,
            "message": str(exc), "endpoint": "other", "partition": None, "distance": None,
            "effective_width": None, "reduction": None, "inertia": None, "hessian_type": None, **model,
            "time_s": time.perf_counter() - t0, "curve_t": [], "curve_loss": []}


def _endpoint(res, spec: RunSpec, train: str, custom_teacher: bool) -> tuple:
    """(kind, partition, distance, note, embedding) of a finished run (see the module docstring)."""
    from copyavg.numeric.endpoints import classify_endpoint

    if custom_teacher:
        return "unclassified", None, None, None, {"effective_width": None, "reduction": None}
    try:
        ep = classify_endpoint(res.a, res.W, spec.k, spec.activation)
    except (ValueError, FloatingPointError, np.linalg.LinAlgError) as exc:
        # the run is finished: keep it (as "other", with the reason) rather than lose it
        return "other", None, None, f"classification failed: {exc}", {"effective_width": None, "reduction": None}
    distance = None if train == "W" and ep.kind == "pnc" else ep.distance
    return ep.kind, ep.partition, distance, None, {"effective_width": ep.width, "reduction": ep.reduction}


CRITICAL_GRAD = 1e-8  # above this max|grad| the Hessian type is "not-critical" (as `copyavg ca`)


def endpoint_hessian(prob, a, W, activation: str, grad_max: float, status: str = "converged",
                     train: str = "aW") -> dict:
    """``{"inertia": {...}, "hessian_type": ...}`` of an endpoint: the eigenvalue counts of the exact
    Hessian with the tolerance of ``copyavg.numeric.classify`` and the type up to the embedding's
    critical directions (``copyavg.numeric.effective.endpoint_inertia``), ``inertia["method"] ==
    "dense"``; above ``MAX_DENSE_HESSIAN`` parameters a Lanczos estimate (``_endpoint_lanczos``,
    ``inertia["method"] == "lanczos"``); ``hessian_type`` is
    ``not-critical`` when ``grad_max > CRITICAL_GRAD``; both are None when there is no Hessian
    (status ``nondifferentiable``: a neuron at the kink ``w_i = 0``). ``train="W"``: the
    ``W``-``W`` block with its own symmetry zero modes (``copyavg.numeric.classify.hessian_inertia``)."""
    from copyavg.numeric.classify import hessian_inertia
    from copyavg.numeric.effective import endpoint_inertia
    from copyavg.numeric.training import hessian_block

    if status == "nondifferentiable":
        return {"inertia": None, "hessian_type": None}
    if np.size(a) + np.size(W) > MAX_DENSE_HESSIAN:
        return _endpoint_lanczos(prob, a, W, grad_max)
    try:
        if train == "W":
            H = hessian_block(prob.hessian(a, W), len(a), "W")
            inert = hessian_inertia(H, a, W, activation, train="W")
        else:
            inert = endpoint_inertia(prob.hessian(a, W), a, W, activation)
    except (ValueError, FloatingPointError, np.linalg.LinAlgError):  # incl. NonDifferentiableError
        return {"inertia": None, "hessian_type": None}
    return {"inertia": {"negative": inert.n_negative, "zero": inert.n_zero, "positive": inert.n_positive,
                        "symmetry_zero": inert.n_symmetry_zero, "tol": inert.tol,
                        "eig_min": inert.eig_min, "eig_max": inert.eig_max, "method": "dense"},
            "hessian_type": inert.classification if grad_max <= CRITICAL_GRAD else "not-critical"}


#: above this n + n d the end point's Hessian is not formed (8 N^2 bytes): Lanczos estimate instead
MAX_DENSE_HESSIAN = 3000


def _endpoint_lanczos(prob, a, W, grad_max: float) -> dict:
    """Matrix-free type of a large endpoint (``copyavg.numeric.curvature.endpoint_curvature``):
    ``saddle`` (proved by a negative Rayleigh quotient), ``minimum`` (Lanczos estimate of the
    smallest eigenvalue above its tolerance) or ``undecided``; ``inertia`` holds the extreme Ritz
    values, their residual bounds, the tolerance and ``"method": "lanczos"`` (no counts)."""
    from copyavg.numeric.curvature import endpoint_curvature

    try:
        c = endpoint_curvature(prob, a, W, max_dense=0)
    except (ValueError, FloatingPointError, np.linalg.LinAlgError):
        return {"inertia": None, "hessian_type": None}
    inert = {key: c[key] for key in ("eig_min", "eig_max", "tol", "residual_min", "residual_max")}
    inert["method"] = "lanczos"
    return {"inertia": inert, "hessian_type": c["classification"] if grad_max <= CRITICAL_GRAD else "not-critical"}
