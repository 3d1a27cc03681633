"""Rigorous evaluation of SymPy constants in arb ball arithmetic (python-flint).

``_to_arb`` encloses a SymPy expression (rationals, pi, e, sums, products, powers and the
elementary functions asin, acos, atan, atan2, sin, cos, tan, exp, log, erf, sinh, cosh, tanh, abs)
in an arb ball, given balls for its symbols; ``_arb_sign`` decides the sign of a constant by
raising the precision until the ball excludes 0 (``None``: undecided, never a guess);
``_decide_positive`` asks SymPy and arb and answers only when they agree. Shared by the theorem
checks of ``copyavg.proofs`` (re-exported by ``copyavg.proofs.optimal_ca``, where they first lived).
"""

from __future__ import annotations

import sympy as sp


class _NotArb(ValueError):
    """The expression uses something the arb evaluator does not support."""


def _to_arb(e, env: dict):
    """Evaluate a SymPy expression as an arb ball (rigorous enclosure); ``env``: symbol -> arb."""
    from flint import arb

    if e in env:
        return env[e]
    if isinstance(e, sp.Integer):
        return arb(int(e))
    if isinstance(e, sp.Rational):
        return arb(int(e.p)) / arb(int(e.q))
    if e is sp.pi:
        return arb.pi()
    if e is sp.E:
        return arb(1).exp()
    if isinstance(e, sp.Add):
        acc = arb(0)
        for a in e.args:
            acc = acc + _to_arb(a, env)
        return acc
    if isinstance(e, sp.Mul):
        acc = arb(1)
        for a in e.args:
            acc = acc * _to_arb(a, env)
        return acc
    if isinstance(e, sp.Pow):
        base = _to_arb(e.base, env)
        ex = e.exp
        if isinstance(ex, sp.Integer):
            n = int(ex)
            return base**n if n >= 0 else 1 / base ** (-n)
        if ex == sp.S.Half:
            return base.sqrt()
        if ex == -sp.S.Half:
            return 1 / base.sqrt()
        if isinstance(ex, sp.Rational):
            return base ** (arb(int(ex.p)) / arb(int(ex.q)))
        return base ** _to_arb(ex, env)
    funcs = {sp.asin: "asin", sp.acos: "acos", sp.atan: "atan", sp.sin: "sin", sp.cos: "cos",
             sp.exp: "exp", sp.log: "log", sp.erf: "erf", sp.sinh: "sinh", sp.cosh: "cosh",
             sp.tan: "tan", sp.tanh: "tanh"}
    if e.func in funcs and len(e.args) == 1:
        return getattr(_to_arb(e.args[0], env), funcs[e.func])()
    if isinstance(e, sp.atan2):
        from flint import arb as _a

        return _a.atan2(_to_arb(e.args[0], env), _to_arb(e.args[1], env))
    if isinstance(e, sp.Abs):
        return abs(_to_arb(e.args[0], env))
    raise _NotArb(f"no arb evaluation for {sp.srepr(e)[:80]}")


class _prec:
    """Context manager: set ``flint.ctx.prec`` and restore it afterwards."""

    def __init__(self, bits: int):
        self.bits = bits

    def __enter__(self):
        import flint

        self._old = flint.ctx.prec
        flint.ctx.prec = self.bits
        return self

    def __exit__(self, *exc):
        import flint

        flint.ctx.prec = self._old
        return False


def _arb_sign(e, env=None, precs=(64, 128, 256, 1024)) -> tuple[int | None, str]:
    """Rigorous sign of a constant (or of ``e`` at ``env``): (+1 / -1 / None, ball as text)."""
    env = env or {}
    ball = "?"
    for p in precs:
        with _prec(p):
            try:
                b = _to_arb(e, env)
            except _NotArb as exc:
                return None, str(exc)
            ball = str(b)
            if b > 0:
                return 1, ball
            if b < 0:
                return -1, ball
    return None, ball


def _decide_positive(e) -> tuple[bool | None, str]:
    """Is the constant ``e`` > 0? SymPy's answer and a rigorous arb enclosure must agree."""
    e = sp.nsimplify(e) if e.is_Float else e
    sym = sp.simplify(e).is_positive
    sgn, ball = _arb_sign(e)
    note = f"SymPy is_positive={sym}, arb enclosure {ball}"
    if sym is True and sgn == 1:
        return True, note
    if sym is False and sgn in (-1, None) and (sgn == -1 or sp.simplify(e) == 0):
        return False, note
    return None, note
