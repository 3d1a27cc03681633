"""``copyavg flow --biases``: gradient flow of a student with biases against a teacher with biases.

The teacher is the unit-orthonormal one (``b_j = 1``, ``v_j = e_j``) with every bias
``e_j = --teacher-bias``; the student starts from the same seeded Glorot-normal point as
``copyavg flow`` with biases ``c_i = 0``. The run uses ``copyavg.numeric.biased.BiasedFlowProblem``
with ``copyavg.numeric.flow.flow_and_polish``; endpoints are not classified (the copy-average
classification assumes no biases).
"""

from __future__ import annotations

import numpy as np

from copyavg.cli.common import UsageError, check_range, emit, progress_bar


def flow_biased(args, d: int, plot_curve) -> int:
    """Run the biased flow for parsed ``args`` (``k``, ``n``, ``d`` and ``--plot`` already checked)."""
    from copyavg.experiments.sweep import RunSpec, initial_point
    from copyavg.numeric._bias_quadrature import norm_limit
    from copyavg.numeric.biased import FAMILIES, MAX_BIAS, MAX_NORM, BiasedFlowProblem, BiasedProblem
    from copyavg.numeric.activations import get_activation
    from copyavg.numeric.flow import flow_and_polish

    if not args.biases:
        raise UsageError("--teacher-bias needs --biases (a student without biases is plain `copyavg flow`)")
    e = 0.0 if args.teacher_bias is None else args.teacher_bias
    check_range("--teacher-bias", e, lo=-MAX_BIAS, hi=MAX_BIAS)
    if get_activation(args.activation).family not in FAMILIES:
        raise UsageError(f"--biases: --activation {args.activation} has no biased kernel (use erf2, erf, "
                         "normal_cdf, relu, linear, abs, leaky_relu, gaussian, monomial2..monomial5, hermite2..hermite5, sin, "
                         "cos, gelu "
                         "or an expression in z)")
    a0, W0 = initial_point(RunSpec(args.activation, args.k, args.n, d, args.seed))
    limit = norm_limit(get_activation(args.activation))
    if np.linalg.norm(W0, axis=1).max() > limit:  # Glorot rows have norm ~ sqrt(2 d / (d + n))
        raise UsageError(f"--biases: the initial |w_i| exceeds {limit:g}, the limit of {args.activation}")
    FP = BiasedFlowProblem(BiasedProblem(np.ones(args.k), np.eye(args.k, d), np.full(args.k, e), args.activation))
    Wc0 = np.concatenate((W0, np.zeros((args.n, 1))), axis=1)
    with progress_bar(args, desc="flow", unit="step") as bar:
        def step(t, a, Wc, loss, grad_max):
            bar.set_postfix_str(f"t = {t:.3g}, loss = {loss:.6g}, max|grad| = {grad_max:.2g}", refresh=False)
            bar.update(1)

        # beyond |w_i| or |c_i| = 100 the biased kernels are refused: count it as divergence
        res = flow_and_polish(FP, a0, Wc0, callback=step, max_norm=MAX_NORM)
    out = {"status": res.status, "loss": float(res.loss), "grad_max": float(res.grad_max),
           "teacher_bias": e, "a": [float(x) for x in res.a],
           "c": [float(x) for x in res.W[:, -1]],
           "w_norms": [float(x) for x in np.linalg.norm(res.W[:, :-1], axis=1)], "time_s": float(res.wall_time)}
    if res.status != "converged":
        out["message"] = res.message
    if args.plot:
        traj = res.flow
        plot_curve(args, {"curve_t": [float(x) for x in traj.t], "curve_loss": [float(x) for x in traj.losses],
                          "endpoint": f"biases, e = {e:g}"})
    emit(out, args.json)
    return 0 if res.status == "converged" else 1
