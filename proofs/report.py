"""Markdown rendering of certificates (for `copyavg verify --markdown` and the derivation docs).

Formulas that SymPy can parse (residuals, the right-hand side of ``label: expression`` evidence,
formulas inside statements and assumptions) are rendered as LaTeX (``$...$``), like ``kernels.md``;
everything else is text with ``|`` escaped so that table cells stay cells. Without timings
(``timings=False``, used by ``copyavg derive --docs``) the output depends only on the
certificates' content: regeneration is byte-stable.
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

        expr = sp.parse_expr(s.replace("^", "**"))
        return f"${sp.latex(expr)}$"
    except Exception:  # noqa: BLE001 - any parse failure means: not a formula, keep the text
        return None


def _groups(text: str) -> list[str]:
    """Split at spaces outside parentheses: ``f(x + 1)/2 equals y`` -> ``f(x + 1)/2``, ``equals``, ``y``."""
    out, cur, depth = [], "", 0
    for ch in text:
        if ch == " " and depth <= 0:
            out.append(cur)
            cur = ""
            continue
        depth += (ch == "(") - (ch == ")")
        cur += ch
    return out + [cur]


def prose(text) -> str:
    """Text with the formulas inside it (SymPy syntax with ``*`` or ``/`` and a letter, e.g.
    ``2*asin(C12/sqrt(C11 + 1))/pi``) rendered as inline LaTeX, the rest escaped."""
    parts = []
    for g in _groups(" ".join(str(text).split())):
        core = g.rstrip(",;:.")
        tex = None
        if ("*" in core or "/" in core) and re.search("[A-Za-z]", core) and not core.startswith("L*"):
            tex = latex(core)
        parts.append(tex + escape(g[len(core):]) if tex else escape(g))
    return " ".join(parts)


def _evidence_line(e: str) -> str:
    label, sep, rest = str(e).partition(": ")
    if sep and len(label) <= 40:
        tex = latex(rest)
        if tex is not None:
            return f"- {escape(label)}: {tex}"
    return f"- {prose(e)}"


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
        lines += [f"## `{c.theorem}`: {c.status.value}", "", f"**Statement.** {prose(c.statement)}", "",
                  "**Assumptions.** " + prose("; ".join(c.assumptions)), "", f"**Method.** {escape(c.method)}", "",
                  f"**Residual / witness.** {res}", ""]
        if c.evidence:
            lines += ["**Evidence / steps.**", ""] + [_evidence_line(e) for e in c.evidence] + [""]
    return "\n".join(lines) + "\n"


def write_markdown(path, certs, title: str = "copyavg verify: certificates", timings: bool = True) -> None:
    """Write ``render_markdown(certs, title, timings)`` to ``path``."""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(render_markdown(certs, title, timings))
