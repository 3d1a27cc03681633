"""Text tables for people: verify's certificates and the thresholds table (lines <= 100 chars)."""

from __future__ import annotations

import textwrap

from copyavg.cli.common import LINE_WIDTH


def _shorten(text: str, width: int) -> str:
    return textwrap.shorten(" ".join(str(text).split()), width=width, placeholder=" ...")


def print_certificates(certs) -> None:
    """One row per certificate (method wrapped under the row); residual/witness of unexpected
    outcomes shortened to a few lines (full text with --json or --markdown)."""
    w = max([len(c.theorem) for c in certs] + [7])
    print(f"{'theorem':<{w}}  {'status':<9}  {'expected':<9}  {'time':>6}")
    for c in certs:
        exp = c.expected.value if c.expected is not None else "either"
        print(f"{c.theorem:<{w}}  {c.status.value:<9}  {exp:<9}  {c.seconds:6.2f}")
        for line in textwrap.wrap("method: " + " ".join(c.method.split()), width=LINE_WIDTH,
                                  initial_indent="    ", subsequent_indent="      "):
            print(line)
        if not c.as_expected:
            text = _shorten(f"residual/witness: {c.residual}", 4 * (LINE_WIDTH - 6))
            for line in textwrap.wrap(text, width=LINE_WIDTH, initial_indent="    ", subsequent_indent="      "):
                print(line)
    bad = sum(not c.as_expected for c in certs)
    print(f"{len(certs) - bad}/{len(certs)} as expected")


def print_thresholds(rows, summary) -> None:
    print(f"{'n':>4} {'n/k':>6} {'P-n-C loss':>14} {'P-n-C':>10} {'opt-CA loss':>14} {'opt-CA':>10}")
    for r in rows:
        print(f"{r['n']:>4} {r['n_over_k']:6.3f} {r['pnc_loss']:14.10f} {r['pnc_type']:>10} "
              f"{r['ca_loss']:14.10f} {r['ca_type']:>10}")
    labels = {"pnc_type_changes": "P-n-C type changes", "ca_type_changes": "optimal-CA type changes",
              "loss_crossings": "P-n-C / optimal-CA loss crossings"}
    for key, val in summary.items():
        print(f"{labels.get(key, key)}:")
        for item in val or ["none"]:
            print(f"  {item}")


def print_search(search) -> None:
    """What the default bisection search of ``thresholds`` (k > 201) did and did not check."""
    verdict = ("all of them agree with one change each" if search["consistent"] else
               "WARNING: they contradict a single change; run with --all")
    lines = [f"search: bisection in n from the predicted change points, not every n ({search['evaluated']} of "
             f"{search['widths']} widths evaluated, {search['checks']} of them evenly spaced checks; {verdict}).",
             "Each change lies between adjacent evaluated n (property false below, true above); further changes "
             "between evaluated n are not excluded: --all evaluates every n."]
    lines += [f"{which}: no change found" for which, br in search["brackets"].items() if br is None]
    for line in lines:
        print(textwrap.fill(line, width=LINE_WIDTH, subsequent_indent="  "))
