"""Markdown rendering of certificates (for `copyavg verify --markdown` and the derivation docs)."""

from __future__ import annotations


def write_markdown(path, certs, title: str = "copyavg verify: certificates") -> None:
    """Write certificates as a Markdown report: a summary table, then each theorem with its
    statement, assumptions, method, residual or witness and the steps/evidence."""
    lines = [f"# {title}", "",
             "| theorem | status | expected | method | time (s) |", "|---|---|---|---|---|"]
    for c in certs:
        exp = c.expected.value if c.expected is not None else "either"
        lines.append(f"| `{c.theorem}` | {c.status.value} | {exp} | {c.method} | {c.seconds:.2f} |")
    lines.append("")
    for c in certs:
        lines += [f"## `{c.theorem}`: {c.status.value}", "", f"**Statement.** {c.statement}", "",
                  "**Assumptions.** " + "; ".join(c.assumptions), "", f"**Method.** {c.method}", "",
                  f"**Residual / witness.** `{c.residual}`", ""]
        if c.evidence:
            lines += ["**Evidence / steps.**", ""] + [f"- {e}" for e in c.evidence] + [""]
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
