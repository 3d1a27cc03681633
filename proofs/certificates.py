"""Certificates: what a theorem check returns.

Follows ``sympy.Expr.equals``: a check answers *proved*, *refuted* (with a witness) or *undecided*
(with the evidence gathered), never a bare bool, and undecided never counts as proved.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from enum import Enum


def jsonable(obj):
    """Plain JSON values: NumPy scalars and arrays become numbers and lists; non-finite floats
    (inf, nan) become ``null``; anything else its ``str``."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if hasattr(obj, "tolist"):  # NumPy arrays and scalars
        return jsonable(obj.tolist())
    if isinstance(obj, bool) or obj is None or isinstance(obj, (int, str)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    return str(obj)


def strict_json(obj, **kwargs) -> str:
    """Strict JSON (RFC 8259: no NaN/Infinity) of ``jsonable(obj)``."""
    return json.dumps(jsonable(obj), allow_nan=False, **kwargs)


class Status(str, Enum):
    PROVED = "proved"
    REFUTED = "refuted"
    UNDECIDED = "undecided"


@dataclass(frozen=True)
class Certificate:
    """The outcome of checking one theorem.

    Attributes
    ----------
    theorem : short id, e.g. ``"kernel-closed-form:erf2"``.
    statement : the claim in words, with its conventions.
    assumptions : what the claim assumes.
    status : proved / refuted / undecided.
    method : how it was decided (e.g. "exact simplification (SymPy)").
    residual : the simplified difference (proved: "0") or the witness (refuted).
    evidence : further facts (numeric checks, sample values), as strings.
    expected : the status the paper / docs/theory.md leads us to expect ("proved" for a true claim,
        "refuted" for a variant that should fail), or None for a variant to be settled either
        way; ``copyavg verify`` fails when they differ, and on undecided unless ``expected`` is
        UNDECIDED (a question docs/theory.md lists as open: the check then records its evidence,
        and settling it either way also passes).
    seconds : wall time of the check.
    """

    theorem: str
    statement: str
    assumptions: tuple
    status: Status
    method: str
    residual: str = ""
    evidence: tuple = field(default_factory=tuple)
    expected: Status | None = Status.PROVED
    seconds: float = 0.0

    @property
    def as_expected(self) -> bool:
        if self.status == Status.UNDECIDED:
            return self.expected == Status.UNDECIDED
        return self.expected in (None, Status.UNDECIDED) or self.status == self.expected

    def to_dict(self) -> dict:
        d = asdict(self)
        d["status"] = self.status.value
        d["expected"] = self.expected.value if self.expected is not None else "either"
        d["assumptions"] = list(self.assumptions)
        d["evidence"] = list(self.evidence)
        return d

    def to_json(self) -> str:
        return strict_json(self.to_dict())
