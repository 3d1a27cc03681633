"""Markdown rendering of certificates (for `copyavg verify --markdown` and the derivation docs).

Formulas that SymPy can parse (residuals, the right-hand side of ``label: expression`` evidence)
are rendered as LaTeX (``$...$``), like ``kernels.md``; everything else is text with ``|`` escaped
so that table cells stay cells. Without timings (``timings=False``, used by ``copyavg derive
--docs``) the output depends only on the certificates' content: regeneration is byte-stable.
"""

from __future__ import annotations

import re

_FORMULA = re.compile(r"^[A-Za-z0-9_.*+\-/()^, ]+$")
_WORDS = re.compile(r"[A-Za-z]{2,}\s+[A-Za-z]{2,}")  # two words in a row: prose, not a formula


def escape(text) -> str:
    """Text safe inside a Markdown table cell or paragraph: ``|`` escaped, one line."""
    return " ".join(str(text).split()).replace("|", "\\|")


def latex(text: str) -> str | None:
    """``$...$`` for a formula SymPy parses (a product, a function call, ...), else None."""
    s = str(text).strip()
    if not s or len(s) > 2000 or not _FORMULA.match(s) or _WORDS.search(s):
        return None
    if not any(op in s for op in "*/+-^(") and not s.replace(".", "", 1).isdigit():
        return None
    try:
        import sympy as sp

        expr = sp.parse_expr(s.replace("^", "**"), evaluate=False)
        return f"${sp.latex(expr)}$"
    except Exception:  # noqa: BLE001 - any parse failure means: not a formula, keep the text
        return None


def _evidence_line(e: str) -> str:
    label, sep, rest = str(e).partition(": ")
    if sep and len(label) <= 40:
        tex = latex(rest)
        if tex is not None:
            return f"- {escape(label)}: {tex}"
    return f"- {escape(e)}"


def render_markdown(certs, title: str = "copyavg verify: certificates", timings: bool = True) -> str:
    """A summary table, then each theorem with its statement, assumptions, method, residual or
    witness and the steps/evidence. ``timings``: include the wall time column."""
    head = "| theorem | status | expected | method |" + (" time (s) |" if timings else "")
    lines = [f"# {title}", "", head, "|---|---|---|---|" + ("---|" if timings else "")]
    for c in certs:
        exp = c.expected.value if c.expected is not None else "either"
        row = f"| `{c.theorem}` | {c.status.value} | {exp} | {escape(c.method)} |"
        lines.append(row + (f" {c.seconds:.2f} |" if timings else ""))
    lines.append("")
    for c in certs:
        res = latex(c.residual) or (f"`{escape(c.residual)}`" if c.residual else "(none)")
        lines += [f"## `{c.theorem}`: {c.status.value}", "", f"**Statement.** {escape(c.statement)}", "",
                  "**Assumptions.** " + escape("; ".join(c.assumptions)), "", f"**Method.** {escape(c.method)}", "",
                  f"**Residual / witness.** {res}", ""]
        if c.evidence:
            lines += ["**Evidence / steps.**", ""] + [_evidence_line(e) for e in c.evidence] + [""]
    return "\n".join(lines) + "\n"


def write_markdown(path, certs, title: str = "copyavg verify: certificates", timings: bool = True) -> None:
    """Write ``render_markdown(certs, title, timings)`` to ``path``."""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(render_markdown(certs, title, timings))
