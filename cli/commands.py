"""The ``copyavg`` commands other than ``sweep`` and ``plot``: derive, verify, one-neuron, ca, pnc,
thresholds, flow. Each checks its arguments (and output paths, and memory) first, then works."""

from __future__ import annotations

import fnmatch
import sys

from copyavg.cli.common import (
    CommandFailed,
    UsageError,
    check_memory,
    check_output_dir,
    check_output_file,
    check_range,
    dumps,
    emit,
    progress_bar,
)
from copyavg.cli.display import print_certificates, print_search, print_thresholds

M_MAX = 1e15  # one-neuron: m up to 1e15 (integers exact in float64, closed form accurate)
# teacher norm: the float64 closed form (erf family) agrees with a 60-digit evaluation to ~1e-10
# relative for 0.1 <= rho <= 1e6 (m >= 1.5); below, cancellation makes it meaningless (rho = 1e-6:
# relative error 1), above 1e8 it divides by zero at m = 1
RHO_RANGE = (0.1, 1e6)
K_MAX = 10**6


def _run_checks(args, names, checks):
    certs = []
    with progress_bar(args, total=len(names), desc="theorems", unit="thm") as bar:
        for t in names:
            bar.set_postfix_str(t, refresh=True)
            certs.append(checks[t]())
            bar.update(1)
    return certs


def _derive_all(args) -> None:
    """Derive every kernel and one-neuron solution (cached for what follows), one bar step each."""
    from copyavg.symbolic.activations import ACTIVATIONS
    from copyavg.symbolic.kernels import derive_kernel
    from copyavg.symbolic.one_neuron import solution

    with progress_bar(args, total=len(ACTIVATIONS), desc="deriving", unit="activation") as bar:
        for name in ACTIVATIONS:
            bar.set_postfix_str(name, refresh=True)
            derive_kernel(name)
            if ACTIVATIONS[name].family in ("erf", "piecewise_linear"):  # codegen.ONE_NEURON_FAMILIES
                solution(name)
            bar.update(1)


def _cmd_derive(args) -> int:
    from copyavg.symbolic.codegen import check_generated, write_generated

    if args.docs:
        check_output_dir("--docs", args.docs)
    _derive_all(args)
    if args.check:
        problems = check_generated()
        if problems:
            for p in problems:
                print(p, file=sys.stderr)
            print("copyavg derive --check: generated code is STALE", file=sys.stderr)
            return 1
        print("copyavg derive --check: generated code is fresh")
    elif not args.docs:
        for path in write_generated():
            print(f"wrote {path}")
    if args.docs:
        from pathlib import Path

        from copyavg.proofs.registry import all_checks
        from copyavg.proofs.report import write_markdown
        from copyavg.symbolic.docs import write_docs

        for path in write_docs(args.docs):
            print(f"wrote {path}")
        checks = all_checks(heavy=True)
        proofs_md = Path(args.docs) / "proofs.md"
        write_markdown(proofs_md, _run_checks(args, list(checks), checks), timings=False,
                       title="Proofs: the paper's claims machine-checked, step by step")
        print(f"wrote {proofs_md}")
    return 0


def _check_activation(name: str) -> None:
    """A catalogue name, or tanh/softplus/sigmoid/silu/an expression in z (quadrature-based kernel)."""
    from copyavg.numeric import ACTIVATIONS, get_activation

    if name in ACTIVATIONS:
        return
    try:
        get_activation(name)
    except ValueError as exc:
        raise UsageError(f"--activation: {exc}".replace("\n", " ")) from None


def _check_one_neuron_activation(name: str, command: str, teacher_norm: float = 1.0) -> None:
    """Commands built on the one-neuron solution (one-neuron, ca, pnc, thresholds): every activation
    has one for the unit teacher (``copyavg.numeric.one_neuron_any`` beyond the erf and
    piecewise-linear families); other teacher norms only where the solution is derived."""
    from copyavg.numeric._generated_kernels import ONE_NEURON

    _check_activation(name)
    if name not in ONE_NEURON and teacher_norm != 1.0:
        raise UsageError(f"copyavg {command} --teacher-norm {teacher_norm:g}: for --activation {name} only the unit "
                         f"teacher (1) is supported (other norms for {', '.join(ONE_NEURON)})")


def _cmd_verify(args) -> int:
    if args.properties:
        from copyavg.proofs.properties import cli_properties

        check_range("--examples", args.examples, lo=1, hi=10**6)
        args.make_progress = lambda **kw: progress_bar(args, desc="properties", unit="property", **kw)
        return cli_properties(args)
    from copyavg.proofs.registry import all_checks

    checks = all_checks(heavy=args.heavy)
    if args.theorems and not args.heavy:  # a heavy check named exactly runs without --heavy
        heavy = all_checks(heavy=True)
        checks.update({t: heavy[t] for t in args.theorems if t in heavy and t not in checks})
    selected = list(checks)
    if args.theorems:
        selected = [t for t in checks if any(fnmatch.fnmatch(t, pat) or t == pat for pat in args.theorems)]
        unknown = [p for p in args.theorems if not any(fnmatch.fnmatch(t, p) for t in checks)]
        if unknown:
            hint = "" if args.heavy or not any(fnmatch.fnmatch(t, p) for t in heavy for p in unknown) else \
                " (some are in the opt-in set: add --heavy)"
            raise UsageError(f"unknown theorem(s) {', '.join(unknown)}{hint}; known: {', '.join(checks)}")
    if args.markdown:
        check_output_file("--markdown", args.markdown)
    certs = _run_checks(args, selected, checks)
    bad = [c for c in certs if not c.as_expected]
    if args.json:
        print(dumps([c.to_dict() for c in certs], indent=1))
    else:
        print_certificates(certs)
    if args.markdown:
        from copyavg.proofs.report import write_markdown

        write_markdown(args.markdown, certs)
    return 1 if bad else 0


def _cmd_one_neuron(args) -> int:
    from copyavg.numeric.one_neuron import one_neuron

    if args.table:
        return _one_neuron_table(args)
    if args.m is None:
        raise UsageError("copyavg one-neuron: --m is required (or --table FILE)")
    _check_one_neuron_activation(args.activation, "one-neuron", args.teacher_norm)
    check_range("--m", args.m, lo=1, hi=M_MAX, what="number of teacher neurons, real allowed")
    check_range("--teacher-norm", args.teacher_norm, lo=RHO_RANGE[0], hi=RHO_RANGE[1])
    m = int(args.m) if float(args.m).is_integer() else args.m
    emit(one_neuron(args.activation, m, args.teacher_norm), args.json)
    return 0


def _one_neuron_table(args) -> int:
    """``one-neuron --table FILE``: L*(m), |w|, a for every activation, m = 1..--m-max (Markdown)."""
    from copyavg.numeric import ACTIVATIONS
    from copyavg.numeric.activations import QUADRATURE_NAMES
    from copyavg.numeric.one_neuron import one_neuron
    from copyavg.numeric.one_neuron_any import render_table

    check_range("--m-max", args.m_max, lo=1, hi=200, what="largest m in the table")
    check_output_file("--table", args.table)
    rows = {}
    names = [*ACTIVATIONS, *QUADRATURE_NAMES]
    with progress_bar(args, total=len(names), desc="one-neuron table", unit="activation") as bar:
        for name in names:
            bar.set_postfix_str(name, refresh=True)
            rows[name] = [one_neuron(name, mm) for mm in range(1, args.m_max + 1)]
            bar.update(1)
    try:
        with open(args.table, "w", encoding="utf-8") as fh:
            fh.write(render_table(rows))
    except OSError as exc:
        raise CommandFailed(f"--table {args.table}: {exc.strerror or exc}") from None
    print(f"wrote {args.table}")
    return 0


def _cmd_ca(args) -> int:
    import numpy as np

    from copyavg.numeric import Problem
    from copyavg.numeric.one_neuron import ca_configuration, parse_partition

    _check_one_neuron_activation(args.activation, "ca")
    check_range("--k", args.k, lo=1, hi=K_MAX)
    try:
        parts = parse_partition(args.partition, args.k)
    except ValueError as exc:
        raise UsageError(f"--partition: {exc}") from None
    d = args.k + 1 if args.d is None else args.d
    check_range("--d", d, lo=args.k, hi=K_MAX, what=f"input dimension, at least k = {args.k}")
    check_memory(args, f"ca --k {args.k} with {len(parts)} student neurons in d = {d}", args.k, len(parts), d,
                 hessian_copies=4 if args.polish else 2)
    blocks = getattr(args, "blocks", False)
    with progress_bar(args, total=2 + bool(args.polish) + bool(blocks), desc="ca", unit="stage") as bar:
        bar.set_postfix_str("loss and gradient", refresh=True)
        a, W, b, V = ca_configuration(args.activation, parts, d=d)
        P = Problem(b, V, args.activation)
        L, ga, gW = P.loss_and_gradient(a, W)
        out = {"activation": args.activation, "k": args.k, "d": d, "partition": list(parts), "loss": L,
               "grad_max": float(max(np.max(np.abs(ga)), np.max(np.abs(gW))))}
        bar.update(1)
        bar.set_postfix_str("Hessian and its inertia", refresh=True)
        out.update(_classify_point(P, a, W, out["grad_max"], args.activation))
        bar.update(1)
        if blocks:
            bar.set_postfix_str("symmetry blocks", refresh=True)
            out["blocks"] = _ca_blocks(parts, args.activation, d, a, W, args.json)
            bar.update(1)
        if args.polish:
            bar.set_postfix_str("flow to the nearby critical point", refresh=True)
            out["polished"] = _polish_near(P, a, W, args)
            bar.update(1)
    emit(out, args.json)
    return 0


def _ca_blocks(parts, activation, d, a, W, as_json) -> dict:
    """The Hessian's symmetry blocks at the CA point: ``"sector / irreducible"`` -> size,
    multiplicity and smallest eigenvalue (``copyavg.numeric.symmetry_partition``; one line each
    in text)."""
    from copyavg.numeric import NonDifferentiableError
    from copyavg.numeric.symmetry_partition import partition_classification

    try:
        c = partition_classification(parts, activation, d, point=(a, W))
    except (ValueError, NonDifferentiableError) as exc:
        raise CommandFailed(f"--blocks: {exc}") from None
    if not as_json:
        return {f"{b['sector']} / {b['irrep']}": f"size {b['size']}, multiplicity {b['multiplicity']}, "
                f"eig_min {b['eig_min']:.6g}" for b in c["blocks"]}
    return {f"{b['sector']} / {b['irrep']}": {"size": b["size"], "multiplicity": b["multiplicity"],
                                               "eig_min": b["eig_min"]} for b in c["blocks"]}


def _classify_point(P, a, W, grad_max: float, activation: str) -> dict:
    """Hessian inertia and type of a point (``not-critical`` when ``grad_max > 1e-8``)."""
    from copyavg.numeric import NonDifferentiableError
    from copyavg.numeric.classify import hessian_inertia

    try:
        H = P.hessian(a, W)
    except NonDifferentiableError as exc:
        return {"hessian_eigs_min": None, "hessian_eigs_max": None, "classification": "nondifferentiable",
                "note": str(exc)}
    inert = hessian_inertia(H, a, W, activation)
    return {"hessian_eigs_min": inert.eig_min, "hessian_eigs_max": inert.eig_max,
            "classification": inert.classification if grad_max <= 1e-8 else "not-critical",
            "inertia": {"negative": inert.n_negative, "zero": inert.n_zero, "positive": inert.n_positive,
                        "symmetry_zero_modes": inert.n_symmetry_zero, "tol": inert.tol}}


def _polish_near(P, a, W, args) -> dict:
    """``ca --polish``: the critical point gradient flow reaches from the CA point, classified."""
    from copyavg.numeric import NonDifferentiableError
    from copyavg.numeric.endpoints import classify_endpoint
    from copyavg.numeric.flow import nearby_critical_point

    try:
        r = nearby_critical_point(P, a, W)
    except NonDifferentiableError as exc:
        return {"status": "nondifferentiable", "message": str(exc)}
    ep = classify_endpoint(r["a"], r["W"], args.k, args.activation)
    out = {"loss": r["loss"], "grad_max": r["grad_max"], "status": r["status"], "distance": r["distance"],
           "loss_change": r["loss"] - r["start_loss"], "start_offset": r["offset"], "endpoint": ep.kind,
           "endpoint_partition": list(ep.partition) if ep.partition else None,
           "endpoint_effective_width": ep.width, "endpoint_reduction": ep.reduction,
           "max_cosines": list(ep.max_cosines), "a": r["a"].tolist(), "W": r["W"].tolist()}
    out.update(_classify_point(P, r["a"], r["W"], r["grad_max"], args.activation))
    if r["status"] != "converged":
        out["message"] = r["message"]
    return out


def _check_kn(args, need_n_lt_k=True):
    """Common checks; ``need_n_lt_k``: n < k (P-n-C); otherwise any n >= 1."""
    _check_activation(args.activation)
    check_range("--k", args.k, lo=2, hi=K_MAX, what="number of teacher neurons")
    n = getattr(args, "n", None)
    if isinstance(n, int) and need_n_lt_k and not (1 <= n < args.k):
        raise UsageError(f"--n must satisfy 1 <= n < k = {args.k}, got {n}")
    if isinstance(n, int) and not need_n_lt_k:
        check_range("--n", n, lo=1, hi=K_MAX, what="number of student neurons")
    d = getattr(args, "d", None)
    if d is not None and getattr(args, "teacher", None) is None:  # a teacher file may have d < k
        check_range("--d", d, lo=args.k, hi=K_MAX, what=f"input dimension, at least k = {args.k}")


def _cmd_pnc(args) -> int:
    from copyavg.numeric.pnc import solve_pnc

    _check_kn(args)
    _check_one_neuron_activation(args.activation, "pnc")
    d = args.k + 1 if args.d is None else args.d
    check_memory(args, f"pnc --k {args.k} --n {args.n} (d = {d})", args.k, args.n, d)
    with progress_bar(args, desc="P-n-C solve", unit="eval") as bar:
        p = solve_pnc(args.k, args.n, args.d, args.activation, callback=lambda: bar.update(1))
    emit(p.to_dict(), args.json)
    return 0


def _cmd_thresholds(args) -> int:
    from copyavg.numeric.activations import get_activation
    from copyavg.numeric.pnc import summarize_thresholds

    if args.certify:
        from copyavg.cli.certify import cmd_certify

        return cmd_certify(args)
    if isinstance(args.k, range) or args.out is not None:
        raise UsageError("--k A..B and --out need --certify")
    _check_kn(args)
    _check_one_neuron_activation(args.activation, "thresholds")
    if args.grid is not None:
        check_range("--grid", args.grid, lo=2, hi=K_MAX, what="grid size")
    act = get_activation(args.activation)
    # closed-form kernels, smooth or piecewise-linear (collinear pairs: weight-space second derivatives)
    blocks = act.exact and (act.smooth or act.family == "piecewise_linear") and not args.dense
    if getattr(args, "continuous", False):
        if not blocks:
            raise CommandFailed("--continuous needs the symmetry blocks of an activation with a closed-form "
                                "kernel (erf family or piecewise-linear) and no --dense "
                                f"(got {args.activation!r})")
        check_range("--k", args.k, lo=6, hi=K_MAX, what="k for --continuous")
    rows, search = _thresholds_blocks(args) if blocks else (_thresholds_dense(args), None)
    summary = summarize_thresholds(rows)
    cont = _thresholds_continuous(args, rows) if getattr(args, "continuous", False) else None
    if args.json:
        out = {"k": args.k, "activation": args.activation, "rows": rows, "summary": summary}
        if search is not None:
            out["search"] = search
        if cont is not None:
            out["continuous"] = cont
        print(dumps(out))
    else:
        print_thresholds(rows, summary)
        if search is not None:
            print_search(search)
        if cont is not None:
            _print_continuous(args.k, cont)
    return 0


def _thresholds_continuous(args, rows) -> dict:
    from copyavg.numeric.thresholds_continuous import from_rows

    try:
        return from_rows(args.k, rows, args.activation)
    except ValueError as exc:
        raise CommandFailed(str(exc)) from None


def _print_continuous(k, cont) -> None:
    names = {"pnc_minimum": "P-n-C a minimum from", "ca_saddle": "optimal CA a saddle from",
             "loss_crossing": "P-n-C loss lower from"}
    print(f"thresholds at real n (k = {k}; docs/theory.md §8):")
    for which, label in names.items():
        r = cont[which]
        if r is None:
            pl = "note" in cont
            print(f"  {label}: " + ("no change at n >= 4" if which == "pnc_minimum" and pl
                                     else "does not exist" if pl else "no change at n >= 5"))
        else:
            print(f"  {label} n = {r['n']:.6f} (n/k = {r['n_over_k']:.6f}; between n = {r['bracket'][0]} "
                  f"and {r['bracket'][1]})")
    if "note" in cont:
        print(f"  ({cont['note']})")


def _thresholds_dense(args) -> list:
    from copyavg.numeric.pnc import threshold_table

    check_memory(args, f"thresholds --k {args.k} (n up to {args.k - 1}, d = {args.k + 1})",
                 args.k, args.k - 1, args.k + 1)
    rows = []
    with progress_bar(args, total=args.k - 1, desc="n", unit="n") as bar:
        for n in range(1, args.k):
            bar.set_postfix_str(f"n = {n}", refresh=True)
            rows += threshold_table(args.k, args.activation, ns=[n])
            bar.update(1)
    return rows


def _thresholds_blocks(args) -> tuple[list, dict | None]:
    """Rows of the blocks route and, for the bisection search, its description (else None)."""
    from copyavg.numeric.thresholds_locate import locate
    from copyavg.numeric.thresholds_reduced import scan, table

    every = args.all or args.k - 1 <= 200
    with progress_bar(args, total=args.k - 1 if every else None, desc="n", unit="n") as bar:
        def step(n):
            bar.set_postfix_str(f"n = {n}", refresh=False)
            bar.update(1)

        try:
            if every:
                return table(args.k, args.activation, callback=step), None
            if args.grid is not None:
                return scan(args.k, args.activation, grid=args.grid, callback=step), None
            out = locate(args.k, args.activation, callback=step)
        except ValueError as exc:
            raise CommandFailed(str(exc)) from None
    search = {"method": "bisection", "evaluated": out["evaluated"], "widths": args.k - 1, "checks": 8,
              "brackets": out["brackets"], "consistent": out["consistent"]}
    return out["rows"], search


def _cmd_flow(args) -> int:
    from copyavg.cli.model import resolve_model
    from copyavg.experiments.sweep import RunSpec, run_one

    _check_activation(args.activation)
    teacher, model = resolve_model(args, K_MAX)
    _check_kn(args, need_n_lt_k=False)
    d = args.k + 1 if args.d is None else args.d
    check_range("--seed", args.seed, lo=0, hi=2**63 - 1)
    if args.plot:
        _check_plot_path(args.plot)
    check_memory(args, f"flow --k {args.k} --n {args.n} (d = {d})", args.k, args.n, d, hessian_copies=4)
    if args.biases or args.teacher_bias is not None:
        from copyavg.cli.flow_biased import flow_biased

        return flow_biased(args, d, _plot_curve)
    with progress_bar(args, desc="flow", unit="step") as bar:
        def step(t, a, W, loss, grad_max):
            bar.set_postfix_str(f"t = {t:.3g}, loss = {loss:.6g}, max|grad| = {grad_max:.2g}", refresh=False)
            bar.update(1)

        rec = run_one(RunSpec(args.activation, args.k, args.n, d, args.seed), {"callback": step, **model}, teacher)
    out = {key: rec[key] for key in ("kernel", "status", "loss", "grad_max", "endpoint", "partition", "time_s", "distance",
                                     "effective_width", "reduction", "hessian_type", "inertia", "train")}
    out.update({key: rec[key] for key in ("a_fixed", "teacher_sha256") if key in rec})
    if rec.get("message"):
        out["message"] = rec["message"]
    if args.plot:
        _plot_curve(args, rec)
    emit(out, args.json)
    return 0 if rec["status"] == "converged" else 1


def _check_plot_path(path) -> None:
    from matplotlib.backend_bases import FigureCanvasBase

    ext = path.rsplit(".", 1)[-1].lower() if "." in path else ""
    kinds = FigureCanvasBase.get_supported_filetypes()
    if ext not in kinds:
        raise UsageError(f"--plot {path}: the extension must be one of {', '.join(sorted(kinds))}")
    check_output_file("--plot", path)


def _plot_curve(args, rec) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    if rec["curve_t"]:
        ax.loglog(rec["curve_t"], rec["curve_loss"])
    ax.set_xlabel("time t")
    ax.set_ylabel("loss E[(f - f*)^2]")
    ax.set_title(f"{args.activation}, k = {args.k}, n = {args.n}, seed {args.seed}: {rec['endpoint']}")
    try:
        fig.savefig(args.plot, dpi=130, bbox_inches="tight")
    except OSError as exc:
        raise CommandFailed(f"--plot {args.plot}: {exc.strerror or exc}") from None
    finally:
        plt.close(fig)
