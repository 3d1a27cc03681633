"""The ``copyavg`` command.

    copyavg derive [--check] [--docs DIR]     regenerate (or check) the generated numeric code
    copyavg verify [THEOREM ...] [--json]     run theorem checks, print certificates
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
import time


def _cmd_derive(args) -> int:
    from copyavg.symbolic.codegen import check_generated, write_generated

    if args.check:
        problems = check_generated()
        if problems:
            for p in problems:
                print(p, file=sys.stderr)
            print("copyavg derive --check: generated code is STALE", file=sys.stderr)
            return 1
        print("copyavg derive --check: generated code is fresh")
    else:
        for path in write_generated():
            print(f"wrote {path}")
    if args.docs:
        from copyavg.symbolic.docs import write_docs

        for path in write_docs(args.docs):
            print(f"wrote {path}")
    return 0


def _cmd_verify(args) -> int:
    from copyavg.proofs.kernels import all_checks

    checks = all_checks()
    selected = list(checks)
    if args.theorems:
        selected = [t for t in checks if any(fnmatch.fnmatch(t, pat) or t == pat for pat in args.theorems)]
        unknown = [p for p in args.theorems if not any(fnmatch.fnmatch(t, p) for t in checks)]
        if unknown:
            print(f"copyavg verify: unknown theorem(s) {unknown}; known: {sorted(checks)}", file=sys.stderr)
            return 2
    certs = []
    for t in selected:
        certs.append(checks[t]())
    bad = [c for c in certs if not c.as_expected]
    if args.json:
        print(json.dumps([c.to_dict() for c in certs], indent=1))
    else:
        w = max(len(c.theorem) for c in certs)
        print(f"{'theorem':<{w}}  {'status':<9}  {'expected':<9}  {'time':>6}  method")
        for c in certs:
            exp = c.expected.value if c.expected is not None else "either"
            print(f"{c.theorem:<{w}}  {c.status.value:<9}  {exp:<9}  {c.seconds:6.2f}  {c.method}")
            if not c.as_expected:
                print(f"    residual/witness: {c.residual}")
        print(f"{len(certs) - len(bad)}/{len(certs)} as expected")
    return 1 if bad else 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="copyavg", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("derive", help="derive kernels symbolically and render the generated numeric code")
    d.add_argument("--check", action="store_true", help="exit 1 if the committed generated code is stale")
    d.add_argument("--docs", metavar="DIR", help="also write the derivation document into DIR")
    d.set_defaults(func=_cmd_derive)
    v = sub.add_parser("verify", help="run theorem checks and print certificates")
    v.add_argument("theorems", nargs="*", metavar="THEOREM", help="theorem ids or glob patterns (default: all)")
    v.add_argument("--json", action="store_true", help="print certificates as JSON")
    v.set_defaults(func=_cmd_verify)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    t0 = time.perf_counter()
    rc = args.func(args)
    if not getattr(args, "json", False):
        print(f"({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    return rc


if __name__ == "__main__":
    sys.exit(main())
