"""Argument parsers of derive, verify, one-neuron, ca, pnc, thresholds and flow."""

from __future__ import annotations

import argparse
import re
import textwrap

from copyavg.cli import commands as cmd
from copyavg.cli.common import memory_options, progress_options
from copyavg.cli.model import model_options

ACTIVATION_HELP = ("activation: erf2 = erf(z/sqrt 2) (the paper's 'erf'), erf, relu, linear, abs, "
                   "leaky_relu; hermite2, hermite3, hermite4, hermite5 (He_n), sin, cos, gaussian = exp(-z^2/2), "
                   "normal_cdf, monomial2, monomial3, monomial4, monomial5 (z^p), gelu = z Phi(z); tanh, softplus, sigmoid, silu "
                   "or any expression in z, e.g. 'tanh(z)' (quadrature-based kernel, error bound "
                   "1e-10 of its scale)")


def _desc(text: str) -> str:
    return textwrap.fill(text, width=79)


def _k_or_range(text: str):
    """An integer, or ``A..B`` / ``A..B:STEP`` (a ``range``, B inclusive)."""
    m = re.fullmatch(r"\s*(\d+)\s*\.\.\s*(\d+)\s*(?::\s*(\d+))?\s*", text)
    if m:
        a, b, step = int(m[1]), int(m[2]), int(m[3] or 1)
        if b < a or step < 1:
            raise argparse.ArgumentTypeError(f"a range A..B[:STEP] needs A <= B and STEP >= 1, got {text!r}")
        return range(a, b + 1, step)
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"need an integer or a range A..B[:STEP], got {text!r}") from None


def _activation(p) -> None:
    p.add_argument("--activation", default="erf2", metavar="ACT", help=ACTIVATION_HELP)


def _json(p) -> None:
    p.add_argument("--json", action="store_true",
                   help="print one strict JSON object instead of text (inf/nan written as null)")


def _d(p) -> None:
    p.add_argument("--d", type=int, default=None,
                   help=f"input dimension, k <= d <= {cmd.K_MAX} (default: k + 1)")


def add_derive_verify(sub) -> None:
    prog = [progress_options()]
    d = sub.add_parser("derive", parents=prog, help="derive kernels symbolically and render the generated code",
                       description=_desc("Without options: render numeric/_generated_kernels*.py from a "
                                         "fresh SymPy derivation. With --check: compare only. With --docs "
                                         "DIR: write the derivation documents into DIR only (nothing else "
                                         "is written)."))
    d.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 if the committed generated code differs from a fresh render")
    d.add_argument("--docs", metavar="DIR",
                   help="write kernels.md and proofs.md into DIR (created if missing; runs every check) "
                        "instead of the generated code (default: no documents)")
    d.set_defaults(func=cmd._cmd_derive)
    v = sub.add_parser("verify", parents=prog, help="run theorem checks and print certificates",
                       description=_desc("Check the theorems and print one certificate each (proved / "
                                         "refuted / undecided). Exit 1 when any outcome is not the "
                                         "expected one."))
    v.add_argument("theorems", nargs="*", metavar="THEOREM",
                   help="theorem ids or glob patterns, e.g. 'kernel-*' (default: all)")
    v.add_argument("--json", action="store_true", help="print the certificates as strict JSON")
    v.add_argument("--markdown", metavar="FILE",
                   help="also write the certificates as a Markdown report to FILE (default: none)")
    v.add_argument("--heavy", action="store_true",
                   help="also run the opt-in certificate sets: the thresholds change points at k = 100, 200, "
                        "500, 1000, 10^4 (docs/theory.md §8); one-neuron evidence for tanh, softplus, sigmoid, "
                        "silu; one-neuron:gelu at m = 2..20 (a minute or two more)")
    v.add_argument("--properties", action="store_true",
                   help="run the hypothesis property suite of the numeric kernels instead")
    v.add_argument("--examples", type=int, default=50, help="examples per property, 1..1e6 (with --properties)")
    v.add_argument("--seed", type=int, default=0, help="random seed (with --properties)")
    v.set_defaults(func=cmd._cmd_verify)


def add_points(sub) -> None:
    o = sub.add_parser("one-neuron", parents=[progress_options()],
                       help="optimal single student neuron against m teacher neurons")
    _activation(o)
    o.add_argument("--m", type=float,
                   help=f"number of teacher neurons, 1 <= m <= {cmd.M_MAX:g} (real m allowed; default: none, "
                        "required unless --table)")
    o.add_argument("--table", metavar="FILE",
                   help="instead: write the Markdown table of L*(m), |w|, a for every activation and "
                        "m = 1..--m-max to FILE (default: none)")
    o.add_argument("--m-max", type=int, default=20, dest="m_max", help="largest m of --table, 1..200")
    o.add_argument("--teacher-norm", type=float, default=1.0, dest="teacher_norm",
                   help=f"common teacher norm rho, {cmd.RHO_RANGE[0]:g} <= rho <= {cmd.RHO_RANGE[1]:g}")
    _json(o)
    o.set_defaults(func=cmd._cmd_one_neuron)
    common = [progress_options(), memory_options()]
    c = sub.add_parser("ca", parents=common, help="build a copy-average configuration and classify it")
    _activation(c)
    c.add_argument("--k", type=int, required=True, help=f"number of teacher neurons, 1..{cmd.K_MAX} (required)")
    c.add_argument("--partition", required=True,
                   help="group sizes m_i >= 1 summing to k, e.g. 1,1,3 (required)")
    _d(c)
    _json(c)
    c.add_argument("--polish", action="store_true",
                   help="also find the critical point gradient flow reaches from it "
                        "(ReLU: CA points are not critical)")
    c.add_argument("--blocks", action="store_true",
                   help="also the Hessian's symmetry blocks: per sector and irreducible type of the "
                        "permutations of equal-size groups, block size, multiplicity, smallest eigenvalue")
    c.set_defaults(func=cmd._cmd_ca)
    pn = sub.add_parser("pnc", parents=common, help="solve the perturbed n-copy family and classify the point")
    _activation(pn)
    pn.add_argument("--k", type=int, required=True, help="number of teacher neurons, k >= 2 (required)")
    pn.add_argument("--n", type=int, required=True, help="number of student neurons, 1 <= n < k (required)")
    _d(pn)
    _json(pn)
    pn.set_defaults(func=cmd._cmd_pnc)
    th = sub.add_parser("thresholds", parents=common,
                        help="P-n-C vs optimal CA for n = 1..k-1: types and loss crossing")
    _activation(th)
    th.add_argument("--k", type=_k_or_range, required=True,
                    help="number of teacher neurons, k >= 2 (required); with --certify also a range "
                         "A..B or A..B:STEP (every STEP-th k from A to B inclusive)")
    th.add_argument("--dense", action="store_true",
                    help="classify by the dense Hessian of every point (minutes at k = 50) instead of "
                         "its symmetry blocks (the only route for kernels without a closed form)")
    th.add_argument("--all", action="store_true",
                    help="blocks route: every n even when k > 201 (default there: the three change points "
                         "by bracketing and bisection in n from their predicted places, O(log k) rows)")
    th.add_argument("--grid", type=int, default=None,
                    help="blocks route, k > 201: instead of the default search, a grid of GRID >= 2 values of n "
                         "bisected down to adjacent n wherever a type or the loss order changes")
    th.add_argument("--continuous", action="store_true",
                    help="also the thresholds at real n (blocks route, k >= 6): roots of the smallest "
                         "block eigenvalue and of the loss difference between the integer change points; "
                         "piecewise-linear family: the P-n-C threshold only)")
    th.add_argument("--certify", action="store_true",
                    help="erf2, k >= 5: locate the three change points by bisection, then prove each "
                         "(saddle/minimum of the P-n-C and optimal CA points and the loss order on both "
                         "sides, ball arithmetic): proved / refuted / undecided per change point; exit 1 "
                         "unless all are proved. Proves the located change, not that it is the only one")
    th.add_argument("--out", metavar="FILE", default=None,
                    help="with --certify: append one table row per finished k to FILE (k already in FILE "
                         "are skipped, so an interrupted run can be resumed; default: no table, the results on stdout)")
    _json(th)
    th.set_defaults(func=cmd._cmd_thresholds)


def add_flow(sub) -> None:
    fl = sub.add_parser("flow", parents=[progress_options(), memory_options(), model_options()],
                        help="one gradient-flow run from Glorot-normal initialisation, polished",
                        description=_desc("Gradient flow on the exact loss from the seeded Glorot-normal "
                                          "start, then Newton polish. Exit 1 (after printing status and "
                                          "message) when the run did not converge, e.g. a ReLU neuron "
                                          "reached the kink w = 0. --train W keeps the outgoing weights "
                                          "fixed; --teacher FILE replaces the unit-orthonormal teacher."))
    _activation(fl)
    fl.add_argument("--k", type=int, default=None,
                    help="number of teacher neurons, k >= 2 (required unless --teacher gives it; default: the teacher file's k)")
    fl.add_argument("--n", type=int, required=True, help="number of student neurons, n >= 1 (required)")
    _d(fl)
    fl.add_argument("--seed", type=int, default=0, help="seed of the initialisation, >= 0")
    fl.add_argument("--biases", action="store_true",
                    help="train student biases c_i too (started at 0), against teacher biases "
                         "--teacher-bias; every activation (monomials of degree >= 3 may diverge); no endpoint classification")
    fl.add_argument("--teacher-bias", type=float, default=None, dest="teacher_bias", metavar="E",
                    help="bias of every teacher neuron, -100 <= E <= 100 (needs --biases; default 0)")
    _json(fl)
    fl.add_argument("--plot", metavar="FILE",
                    help="save the loss curve to FILE, format by extension (.png, .svg, .pdf, ...) "
                         "(default: no plot)")
    fl.set_defaults(func=cmd._cmd_flow)
