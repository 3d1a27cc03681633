"""The loss of the piecewise-linear family is twice differentiable at collinear neurons.

``collinear-hessian:ACT`` (relu, abs, leaky_relu; ``linear`` is smooth): the pair kernel
``g(w, v) = |w| |v| H(theta)`` has a weight-space Hessian that extends continuously to collinear
(parallel and antiparallel) nonzero ``w, v``, so ``g`` -- and the loss, a finite sum of such terms
with the self terms ``a_i^2 s(|w_i|^2)`` -- is C^2 away from ``w_i = 0``, with the Hessian at
collinear points equal to the limit. Steps, all exact (SymPy; ``copyavg.symbolic.angular``):

1. ``atan2(C12, sqrt(D)) = pi/2 - theta`` on ``0 < theta < pi`` (derivative -1, value 0 at pi/2);
2. the angular coefficients ``A, K, K'`` are polynomials in ``theta, sin, cos`` (entire);
3. in the frame ``w = r e1``, ``v = s (cos e1 + sin e2)`` (d = 3, e3 for the orthogonal
   complement) the Hessian of ``g`` differentiated directly in the six weights equals the block
   formulas entry by entry (numerators reduce to 0 modulo ``cos^2 + sin^2 - 1``);
4. hence every frame entry is an entire function of ``theta``, the ``e``-terms carry a factor
   ``sin(theta)``, and the blocks at ``theta = 0, pi`` are ``(s/r) A I_perp``, ``K I + A c w^ w^^T``:
   invariant under rotations about the common axis, so the limit does not depend on the direction
   of approach (rotation invariance of g carries the frame to any (w, v));
5. a C^1 function (first partials finite and continuous: ``kernel-invariants``) whose Hessian off
   the collinear set (a real-algebraic set of codimension d - 1, met by a generic segment in
   finitely many points; for d = 1 every pair is collinear and g is bilinear on each quadrant)
   extends continuously is C^2, with that extension as its Hessian (fundamental theorem of
   calculus along segments, then continuity).
"""

from __future__ import annotations

import time

import sympy as sp

from copyavg.symbolic.activations import ACTIVATIONS
from copyavg.symbolic.angular import (
    atan2_identity,
    derive_angular,
    frame_identity_residuals,
    is_entire,
    limit_blocks,
)

from .certificates import Certificate, Status


def _names() -> tuple:
    return tuple(n for n, a in ACTIVATIONS.items()
                 if a.family == "piecewise_linear" and a.params["alpha"] != a.params["beta"])


def collinear_hessian(name: str) -> Certificate:
    t0 = time.perf_counter()
    f = derive_angular(name)
    atan_ok = atan2_identity()
    entire = {k: is_entire(e) for k, e in zip(("A", "K", "K'"), f.coefficients())}
    residuals = frame_identity_residuals(name)
    nonzero = [e for e in residuals if e != 0]
    limits = limit_blocks(name)
    witness = None
    if nonzero:  # refuted only with a certified witness (exact rational point, arb ball)
        from .witness import nonzero_witness

        witness = next((w for w in map(nonzero_witness, nonzero) if w is not None), None)
    if witness is not None:
        status, residual = Status.REFUTED, f"chain rule - block formula = {nonzero[0]}; {witness}"
    elif nonzero:
        status, residual = Status.UNDECIDED, f"not simplified to 0: {nonzero[0]}"
    elif atan_ok and all(entire.values()):
        status, residual = Status.PROVED, "0"
    else:
        status = Status.UNDECIDED
        residual = f"atan2 identity: {atan_ok}; entire coefficients: {entire}"
    return Certificate(
        theorem=f"collinear-hessian:{name}",
        statement=(f"for sigma = {ACTIVATIONS[name].description}, g(w, v) = E[sigma(w.x) sigma(v.x)] is C^2 "
                   "in (w, v) at collinear nonzero w, v; its Hessian there is the limit "
                   f"at theta = 0: {limits['0']}; at theta = pi: {limits['pi']}"),
        assumptions=("w != 0, v != 0", "r = |w|, s = |v|, theta = angle(w, v)"),
        status=status,
        method=("weight-space Hessian of g in the frame (w, v, complement) equals the block formulas "
                "with entire angular coefficients (exact: SymPy, reduction modulo cos^2 + sin^2 - 1); "
                "continuous extension of a C^1 function's Hessian"),
        residual=residual,
        evidence=(f"H(theta) = g/(r s) = {sp.sstr(f.H)}", f"A = {sp.sstr(f.A)}", f"K = {sp.sstr(f.K)}",
                  f"K' = {sp.sstr(f.Kp)}", f"atan2 identity: {atan_ok}", f"entire: {entire}",
                  f"{len(residuals)} frame entries compared, {len(nonzero)} nonzero",
                  "limit: in the frame every block entry is entire in theta and the e-terms carry "
                  "sin(theta); the blocks at theta = 0, pi are invariant under rotations about the "
                  "common axis, so the limit does not depend on the direction of approach",
                  "C^2: g is C^1 (kernel-invariants: first partials finite at collinear w, v) and its "
                  "Hessian off the collinear set extends continuously; integrating it along segments "
                  "(which meet the set in finitely many points, or lie in it where g is "
                  "|w||v| H(0 or pi), smooth) shows the extension is the Hessian; hence the loss, a "
                  "sum of such terms and the smooth a_i^2 s(|w_i|^2), is C^2 wherever all w_i != 0"),
        seconds=time.perf_counter() - t0,
    )


def all_checks() -> dict:
    """theorem id -> zero-argument callable returning a Certificate."""
    return {f"collinear-hessian:{n}": (lambda n=n: collinear_hessian(n)) for n in _names()}
