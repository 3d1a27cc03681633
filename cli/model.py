"""The model options of ``flow`` and ``sweep``: which layers are trained (``--train``, ``--a-fixed``)
and the teacher (``--teacher FILE``, default unit-orthonormal). Checked before any work starts."""

from __future__ import annotations

import argparse

from copyavg.cli.common import UsageError, check_range

A_FIXED_MAX = 1e6  # |a_fixed| bound: far beyond any use, far below overflow of the loss


def model_options() -> argparse.ArgumentParser:
    """Parent parser with ``--train``, ``--a-fixed`` and ``--teacher``."""
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("model")
    g.add_argument("--train", choices=("aW", "W"), default="aW",
                   help="aW: train both layers; W: train the first layer only, every outgoing weight "
                        "fixed at --a-fixed (soft committee machine with erf2; unit-output-weight ReLU "
                        "model with relu) (default: %(default)s)")
    g.add_argument("--a-fixed", type=float, default=None, dest="a_fixed", metavar="A",
                   help=f"the fixed outgoing weight with --train W, 0 < |A| <= {A_FIXED_MAX:g} (default: 1)")
    g.add_argument("--teacher", default=None, metavar="FILE",
                   help="teacher from FILE: .npz with arrays b (k,), V (k, d), or .json "
                        "{\"b\": [...], \"V\": [[...], ...]}; sets k and d (--k, --d optional, must agree) "
                        "(default: v_j = e_j, b_j = 1)")
    return p


def resolve_model(args, k_max: int) -> tuple:
    """``(teacher or None, flow options)`` from ``--teacher``, ``--train``, ``--a-fixed``; with a
    teacher file, ``args.k`` and ``args.d`` are set from it. Raises UsageError / ValueError (one line)."""
    from copyavg.experiments.teacher import load_teacher

    if args.a_fixed is not None and args.train != "W":
        raise UsageError("--a-fixed needs --train W (with --train aW the outgoing weights are trained)")
    opts = {}
    if args.train == "W":
        a = 1.0 if args.a_fixed is None else args.a_fixed
        check_range("--a-fixed", a, lo=-A_FIXED_MAX, hi=A_FIXED_MAX, what="fixed outgoing weight")
        if a == 0:
            raise UsageError("--a-fixed must be non-zero (with a = 0 the student is the zero function)")
        opts = {"train": "W", "a_fixed": float(a)}
    teacher = None
    if args.teacher is not None:
        teacher = load_teacher(args.teacher, d=args.d, activation=args.activation, k_max=k_max)
        if args.k is not None and args.k != teacher.k:
            raise UsageError(f"--k {args.k} differs from k = {teacher.k} of the teacher file {args.teacher}")
        if teacher.k < 2:
            raise UsageError(f"teacher file {args.teacher}: k = {teacher.k} teacher neuron; k >= 2 is needed")
        args.k, args.d = teacher.k, teacher.d
    elif args.k is None:
        raise UsageError("--k is required (or give the teacher with --teacher FILE)")
    return teacher, opts
