r"""Weight-space Hessian of the piecewise-linear pair kernel, smooth through collinear vectors.

For ``sigma(z) = alpha min(z, 0) + beta max(z, 0)`` the kernel is positively homogeneous,
``g(w, v) = r s H(theta)`` with ``r = |w|``, ``s = |v|`` and ``theta`` the angle between w and v.
Its second partials in ``(C11, C22, C12)`` blow up like ``1 / sin(theta)`` at ``theta -> 0, pi``,
but their combination in weight space does not (see ``docs/theory.md``). With the unit vectors
``w^ = w / r``, ``v^ = v / s``, the unit vector ``e`` along the part of ``v^`` orthogonal to ``w^``
and ``e' = sin(theta) w^ - cos(theta) e`` (the unit vector along the part of ``w^`` orthogonal to
``v^``), the chain rule gives

    d2g/dw dw^T = (s/r) [ A (I - w^ w^^T) - K' sin(theta) e e^T ]
    d2g/dw dv^T = K I + A w^ v^^T - K' sin(theta) e e'^T
    d2g/dv dv^T = (r/s) [ A (I - v^ v^^T) - K' sin(theta) e' e'^T ]

with the *angular coefficients*

    K(theta) = -H'(theta) / sin(theta),    A(theta) = H(theta) - cos(theta) K(theta),    K'(theta),

(``dg/dw = s A w^ + K v``; ``A' = -cos(theta) K'`` in general). For the piecewise-linear family
``K``, ``A`` and ``K'`` are polynomials in ``theta, sin(theta), cos(theta)``: entire functions, so
every block is an analytic function of ``theta`` in the frame ``(w^, e)`` and the singular factor
``1/sin(theta)`` has cancelled. As ``theta -> 0`` or ``pi`` the ``e``-terms vanish (factor
``sin(theta)``) and the limit ``(s/r) A I_perp``, ``K I + A w^ v^^T`` does not depend on the
direction of approach.

This module derives ``H``, ``K``, ``A``, ``K'`` from the kernel derived in
``copyavg.symbolic.kernels`` and checks the block formulas against the chain rule exactly;
``copyavg.proofs.collinear`` turns the checks into a certificate and ``copyavg.symbolic.codegen``
renders ``(A, K, K')`` as ``NAME_angular(theta)``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import sympy as sp

from .activations import ACTIVATIONS
from .kernels import C11, C12, C22, D, derive_kernel

theta = sp.Symbol("theta", real=True)
r, s = sp.symbols("r s", positive=True)
_S = sp.Symbol("S", positive=True)  # sin(theta) on 0 < theta < pi
_c = sp.Symbol("c", real=True)  # cos(theta)
_phi = sp.Symbol("phi", real=True)  # atan(cos/sin) = pi/2 - theta, kept as a symbol in identities

ANGULAR_NAMES = ("A", "K", "Kp")


@dataclass(frozen=True)
class AngularForm:
    """``H(theta) = g / (r s)`` and the angular coefficients of one piecewise-linear activation."""

    name: str
    H: sp.Expr
    A: sp.Expr
    K: sp.Expr
    Kp: sp.Expr

    def coefficients(self) -> tuple:
        return (self.A, self.K, self.Kp)


def piecewise_linear_names() -> tuple:
    return tuple(n for n, a in ACTIVATIONS.items() if a.family == "piecewise_linear")


def _atan2_to_angle(expr: sp.Expr) -> sp.Expr:
    """``atan2(C12, sqrt(D))`` at ``C12 = r s cos(theta)``, ``sqrt(D) = r s sin(theta)`` is
    ``pi/2 - theta`` for ``0 < theta < pi`` (``atan2_identity`` proves it)."""
    def repl(e):
        y, x = e.args
        if sp.simplify(y - C12) != 0 or sp.simplify(x - sp.sqrt(D)) != 0:
            raise ValueError(f"unexpected atan2 argument in the kernel: {e}")
        return sp.pi / 2 - theta
    return expr.replace(lambda e: isinstance(e, sp.atan2), repl)


def atan2_identity() -> bool:
    """``atan(cos t / sin t) = pi/2 - t`` on ``0 < t < pi``: both sides have derivative -1 there
    (exact simplification) and agree at ``t = pi/2``; the interval is connected."""
    lhs = sp.atan(sp.cos(theta) / sp.sin(theta))
    slope = sp.simplify(sp.diff(lhs, theta))
    return bool(slope == -1 and sp.simplify(lhs.subs(theta, sp.pi / 2)) == 0)


@functools.lru_cache(maxsize=None)
def derive_angular(name: str) -> AngularForm:
    """``H``, ``A``, ``K``, ``K'`` for the piecewise-linear activation ``name``."""
    if name not in ACTIVATIONS or ACTIVATIONS[name].family != "piecewise_linear":
        raise ValueError(f"activation must be one of {list(piecewise_linear_names())}, got {name!r}")
    g = _atan2_to_angle(derive_kernel(name).g_safe)
    g = g.subs(D, (r * s * _S) ** 2).subs({C11: r**2, C22: s**2, C12: r * s * sp.cos(theta)})
    H = sp.simplify((g / (r * s)).subs(_S, sp.sin(theta)))
    K = sp.simplify(sp.cancel(-sp.diff(H, theta) / sp.sin(theta)))
    A = sp.simplify(H - sp.cos(theta) * K)
    Kp = sp.simplify(sp.diff(K, theta))
    return AngularForm(name, H, A, K, Kp)


def is_entire(expr: sp.Expr) -> bool:
    """True when ``expr`` is a polynomial in ``theta, sin(theta), cos(theta)`` (an entire function
    of theta: no singular factor such as ``1/sin(theta)`` is left)."""
    u, v = sp.symbols("u v")
    e = sp.expand(expr).subs({sp.sin(theta): u, sp.cos(theta): v})
    try:
        sp.Poly(e, theta, u, v)
    except sp.PolynomialError:
        return False
    return not e.has(sp.sin, sp.cos, sp.tan, sp.cot, sp.atan, sp.atan2)


# --- the block formulas against the chain rule ------------------------------------------------
_W = sp.symbols("w1:4", real=True)
_V = sp.symbols("v1:4", real=True)
#: the frame: w = r e1, v = s (cos e1 + sin e2); e3 stands for the orthogonal complement of span(w, v)
_FRAME = {_W[0]: r, _W[1]: 0, _W[2]: 0, _V[0]: s * _c, _V[1]: s * _S, _V[2]: 0}


def _tidy_radicals(e: sp.Expr) -> sp.Expr:
    """sqrt(poly) -> sqrt(factored poly), so that sqrt(r^2 s^2 S^2) becomes r s S."""
    return e.replace(lambda x: isinstance(x, sp.Pow) and x.exp.is_Rational and x.exp.q == 2,
                     lambda x: sp.Pow(sp.factor(sp.expand(x.base)), x.exp))


def chain_rule_hessian(name: str) -> sp.Matrix:
    """Hessian of ``g(|w|^2, |v|^2, w.v)`` in the six weights ``(w, v)`` (d = 3), differentiated
    directly in the weights (an independent route from the generated partials), evaluated in the
    frame, with ``atan(cos/sin)`` written as the symbol ``phi``."""
    ww, vv, wv = (sum(x * y for x, y in zip(p, q)) for p, q in ((_W, _W), (_V, _V), (_W, _V)))
    g = derive_kernel(name).g_safe.subs(D, ww * vv - wv**2).subs({C11: ww, C22: vv, C12: wv})
    X = _W + _V
    out = sp.zeros(6, 6)
    for i in range(6):
        gi = sp.diff(g, X[i])
        for j in range(i, 6):
            e = _tidy_radicals(sp.diff(gi, X[j]).subs(_FRAME))
            e = e.replace(lambda x: isinstance(x, (sp.atan2, sp.atan)), lambda x: _phi if _is_phi(x) else x)
            out[i, j] = out[j, i] = e
    return out


def _is_phi(x) -> bool:
    if isinstance(x, sp.atan2):
        return sp.simplify(x.args[0] / x.args[1] - _c / _S) == 0
    return sp.simplify(x.args[0] - _c / _S) == 0


def formula_hessian(name: str) -> sp.Matrix:
    """The block formulas of the module docstring in the frame (``theta = pi/2 - phi``)."""
    f = derive_angular(name)
    sub = {theta: sp.pi / 2 - _phi}
    trig = {sp.sin(sp.pi / 2 - _phi): _S, sp.cos(sp.pi / 2 - _phi): _c}
    A, K, Kp = (e.subs(sub).subs(trig) for e in f.coefficients())
    wh = sp.Matrix([1, 0, 0])
    vh = sp.Matrix([_c, _S, 0])
    e = sp.Matrix([0, 1, 0])
    ep = _S * wh - _c * e
    eye = sp.eye(3)
    Hww = (s / r) * (A * (eye - wh * wh.T) - Kp * _S * e * e.T)
    Hwv = K * eye + A * wh * vh.T - Kp * _S * e * ep.T
    Hvv = (r / s) * (A * (eye - vh * vh.T) - Kp * _S * ep * ep.T)
    return sp.Matrix(sp.BlockMatrix([[Hww, Hwv], [Hwv.T, Hvv]]))


def frame_identity_residuals(name: str) -> list:
    """Chain rule minus formula, entry by entry, as numerator polynomials reduced modulo
    ``cos^2 + sin^2 - 1``: all zero proves the block formulas for 0 < theta < pi (with
    ``atan2_identity``); rotation invariance carries them from the frame to any (w, v)."""
    diff = chain_rule_hessian(name) - formula_hessian(name)
    out = []
    for i in range(6):
        for j in range(i, 6):
            num, _ = sp.fraction(sp.together(sp.expand(diff[i, j])))
            num = sp.expand(num)
            if num == 0:
                out.append(sp.Integer(0))
                continue
            _, rem = sp.reduced(num, [_c**2 + _S**2 - 1], _c, _S, r, s, _phi)
            out.append(sp.expand(rem))
    return out


def limit_blocks(name: str) -> dict:
    """The blocks at ``theta = 0`` and ``theta = pi`` (the ``e``-terms carry ``sin(theta)``), as
    readable strings: ``{"0": "...", "pi": "..."}``; ``c = cos(theta) = +-1``."""
    f = derive_angular(name)

    def term(coef, tensor):
        coef = sp.simplify(coef)
        return "0" if coef == 0 else f"{sp.sstr(coef)} {tensor}"

    out = {}
    for key, t0 in (("0", 0), ("pi", sp.pi)):
        A, K = (sp.simplify(e.subs(theta, t0)) for e in (f.A, f.K))
        wv = " + ".join(x for x in (term(K, "I"), term(A * sp.cos(t0), "w^ w^T")) if x != "0") or "0"
        out[key] = (f"d2g/dw dw^T = {term(A * s / r, '(I - w^ w^T)')}, d2g/dw dv^T = {wv}, "
                    f"d2g/dv dv^T = {term(A * r / s, '(I - v^ v^T)')}")
    return out
