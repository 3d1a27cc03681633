r"""The one-neuron problem (n = 1) in order parameters, derived from the kernels.

One student neuron ``(a, w)`` against m teacher neurons ``v_j = rho e_j`` (orthonormal directions,
common norm ``rho``, outgoing weights 1). With ``r = |w|`` and ``u_j = cos angle(w, v_j)``
(``sum_j u_j^2 <= 1``) the loss (docs/theory.md §1 convention, no 1/2) is

    L(a, r, u) = a^2 s(r^2) - 2 a sum_j g(r^2, rho^2, r rho u_j) + T,
    T = m s(rho^2) + m (m - 1) g(rho^2, rho^2, 0).

erf family, ``sigma(z) = erf(lam z)``: with ``X = 2 lam^2 r^2``, ``Y = 2 lam^2 rho^2`` the derived
kernel gives ``s = (2/pi) asin(X/(1+X))`` and ``g = (2/pi) asin(c u)``,
``c^2 = X Y / ((1+X)(1+Y))``. The unique non-trivial critical point (proved in
``copyavg.proofs.one_neuron``) is

    u_j = 1/sqrt(m),  X = Y / (m + (m-1) Y),  a = m,
    L*(m) = (2/pi) [ m asin(Y/(1+Y)) - m^2 asin(Y / (m (1+Y))) ].

piecewise-linear family: ``g(r^2, rho^2, r rho u) = r rho kappa(u)`` is homogeneous, only
``p = a r`` is fixed: ``p = rho F / c_s``, ``L* = T - rho^2 F^2 / c_s`` with ``s(q) = c_s q`` and
``F = max_u sum_j kappa(u_j)`` over unit u: ``F = m kappa(1/sqrt m)`` (average of all m) for relu,
leaky_relu and linear; ``F = kappa(1) + (m - 1) kappa(0)`` (copy one teacher neuron) for |z|
(proved in ``copyavg.proofs.one_neuron_pl``).
"""

from __future__ import annotations

import functools

import sympy as sp

from .activations import ACTIVATIONS
from .kernels import C11, C12, C22, derive_kernel, q

m = sp.Symbol("m", positive=True)
rho = sp.Symbol("rho", positive=True)
r = sp.Symbol("r", positive=True)
a = sp.Symbol("a", real=True)
u = sp.Symbol("u", real=True)


def kernel_at(name: str, C11v, C22v, C12v) -> sp.Expr:
    """The derived kernel g of activation ``name`` at the given (C11, C22, C12)."""
    return derive_kernel(name).g.subs({C11: C11v, C22: C22v, C12: C12v}, simultaneous=True)


def diag_at(name: str, qv) -> sp.Expr:
    """s(q) = g(q, q, q) in the derived (arcsine) form."""
    return sp.simplify(kernel_at(name, qv, qv, qv))


def reduced_loss(name: str, us) -> sp.Expr:
    """L(a, r, u_1..u_m) for an explicit list ``us`` of cosines (m = len(us)), teacher norm rho."""
    mm = len(us)
    T = mm * diag_at(name, rho**2) + mm * (mm - 1) * kernel_at(name, rho**2, rho**2, 0)
    return a**2 * diag_at(name, r**2) - 2 * a * sum(kernel_at(name, r**2, rho**2, r * rho * uj) for uj in us) + T


def _factor_radicands(e):
    """Factor the radicand of every square root, then split ``sqrt(x y) -> sqrt(x) sqrt(y)`` only
    where SymPy's assumptions justify it (``expand_power_base`` without ``force``: both factors
    known non-negative). Sound: ``sqrt((x-1)(x-3))`` stays whole (at ``x = 1/2`` it differs from
    ``sqrt(x-1) sqrt(x-3)``)."""
    e = e.replace(lambda x: isinstance(x, sp.Pow) and x.exp in (sp.S.Half, -sp.S.Half),
                  lambda x: sp.Pow(sp.factor(x.base), x.exp))
    return sp.expand_power_base(e)


def _is_zero(e) -> bool:
    """True when ``e`` is *proved* identically zero (under the declared symbol assumptions) by sound
    simplification: ``simplify``, ``radsimp``, radicands factored and split only where the
    assumptions allow. False means *undecided*, never "non-zero" (a non-zero claim needs a witness)."""
    e = sp.simplify(e)
    if e == 0:
        return True
    e = sp.simplify(_factor_radicands(e))
    if e == 0:
        return True
    return sp.simplify(sp.radsimp(e)) == 0


@functools.lru_cache(maxsize=None)
def derive_erf_family(name: str):
    """Derive the non-trivial critical point of the erf-family one-neuron problem.

    Returns ``(solution, steps)``; ``steps`` is a tuple of ``(claim, decided)`` pairs, each decided
    exactly by SymPy (``decided`` True) or not (False: the derivation is then incomplete).
    """
    act = ACTIVATIONS[name]
    if act.family != "erf":
        raise ValueError(f"{name} is not in the erf family")
    lam2 = sp.sympify(act.params["lam"]) ** 2
    X, Y, al = sp.symbols("X Y alpha", positive=True)
    steps = []
    # 1. reduced forms from the derived kernel
    c = sp.sqrt(X * Y / ((1 + X) * (1 + Y)))
    rX, rhoY = sp.sqrt(X / (2 * lam2)), sp.sqrt(Y / (2 * lam2))
    g_red = kernel_at(name, rX**2, rhoY**2, rX * rhoY * u)
    s_red = diag_at(name, rX**2)
    steps.append(("g(r^2, rho^2, r rho u) = (2/pi) asin(c u), c^2 = X Y/((1+X)(1+Y)), X = 2 lam^2 r^2, Y = 2 lam^2 rho^2",
                  _is_zero(g_red - 2 / sp.pi * sp.asin(c * u))))
    steps.append(("s(r^2) = (2/pi) asin(X/(1+X))", _is_zero(s_red - 2 / sp.pi * sp.asin(X / (1 + X)))))
    # 2. u-stationarity: mu u_j sqrt(1 - c^2 u_j^2) = (2/pi) a c; h(u) = u sqrt(1 - c^2 u^2) increasing
    dg_du = sp.diff(2 / sp.pi * sp.asin(c * u), u)
    steps.append(("dg/du_j = (2/pi) c / sqrt(1 - c^2 u_j^2), so KKT in u_j reads mu u_j sqrt(1 - c^2 u_j^2) = (2/pi) a c",
                  _is_zero(dg_du - 2 / sp.pi * c / sp.sqrt(1 - c**2 * u**2))))
    h = u * sp.sqrt(1 - c**2 * u**2)
    steps.append(("h'(u) = (1 - 2 c^2 u^2) / sqrt(1 - c^2 u^2)",
                  _is_zero(sp.diff(h, u) - (1 - 2 * c**2 * u**2) / sp.sqrt(1 - c**2 * u**2))))
    margin = sp.factor(sp.together(1 - 2 * c**2) * (1 + X) * (1 + Y))
    steps.append((f"1 - 2 c^2 = ({sp.sstr(sp.expand(margin))}) / ((1+X)(1+Y)): h strictly increasing on [0, 1] "
                  "when 1 + X + Y - X Y > 0, so all u_j are equal, non-zero (a r != 0), of the sign of a; mu > 0 "
                  "makes the constraint active: u_j = 1/sqrt(m)", _is_zero(sp.expand(margin) - (1 + X + Y - X * Y))))
    # 3. with u_j = 1/sqrt(m): g = (2/pi) asin(beta), beta^2 = kappa alpha, alpha = X/(1+X)
    kappa = sp.simplify(c**2 / m / (X / (1 + X)))
    steps.append((f"beta^2 = c^2/m = kappa alpha with kappa = {sp.sstr(kappa)} independent of X",
                  not kappa.has(X)))
    beta = sp.sqrt(kappa * al)
    S, A = sp.asin(al), sp.asin(beta)
    Phi = m**2 * (2 / sp.pi) * A**2 / S  # = m^2 g^2 / s after a = m g / s
    chi = lambda y: sp.asin(y) * sp.sqrt(1 - y**2) / y  # noqa: E731
    P = 2 / sp.pi * m**2 * A * beta / (S**2 * sp.sqrt(1 - al**2) * sp.sqrt(1 - beta**2))
    steps.append(("eliminating a = m g/s leaves max over alpha of Phi = m^2 g^2 / s; "
                  "Phi'(alpha) = P (chi(alpha) - chi(beta)), P > 0, chi(y) = asin(y) sqrt(1-y^2)/y",
                  _is_zero(sp.diff(Phi, al) - P * (chi(al) - chi(beta)))))
    y = sp.Symbol("y", positive=True)
    psi = sp.asin(y) - y * sp.sqrt(1 - y**2)
    steps.append(("chi'(y) = -(asin(y) - y sqrt(1-y^2)) / (y^2 sqrt(1-y^2)) and psi(y) = asin(y) - y sqrt(1-y^2) has "
                  "psi(0) = 0, psi'(y) = 2 y^2 / sqrt(1-y^2) > 0, so chi is strictly decreasing on (0, 1)",
                  _is_zero(sp.diff(chi(y), y) + psi / (y**2 * sp.sqrt(1 - y**2)))
                  and _is_zero(sp.diff(psi, y) - 2 * y**2 / sp.sqrt(1 - y**2)) and psi.subs(y, 0) == 0))
    steps.append(("beta > alpha iff alpha < kappa (beta^2 - alpha^2 = alpha (kappa - alpha)), so Phi' > 0 below "
                  "alpha = kappa and < 0 above: the unique critical point alpha* = kappa is the global maximum",
                  _is_zero(beta**2 - al**2 - al * (kappa - al))))
    Xs = sp.solve(sp.Eq(X / (1 + X), kappa), X)
    ok = len(Xs) == 1
    Xstar = sp.simplify(Xs[0]) if ok else sp.nan
    a_star = sp.simplify(m * sp.asin(beta.subs(al, kappa)) / sp.asin(kappa))
    steps.append((f"alpha* = kappa gives X* = {sp.sstr(Xstar)}, and a* = m g/s = m (equal arcsine arguments)",
                  ok and _is_zero(a_star - m)))
    Yv = 2 * lam2 * rho**2
    Xv = Xstar.subs(Y, Yv)
    norm2 = sp.simplify(Xv / (2 * lam2))
    T = m * diag_at(name, rho**2)
    loss = sp.simplify(_factor_radicands(sp.simplify(T - Phi.subs(al, kappa).subs(Y, Yv))))
    sol = {"norm2": norm2, "a": m, "ar": m * sp.sqrt(norm2), "u": 1 / sp.sqrt(m), "loss": loss,
           "kappa": kappa.subs(Y, Yv), "margin": sp.expand(margin)}
    return sol, tuple(steps)


def piecewise_linear_split(name: str):
    """``(A^2, c)`` with ``kappa(u) = A^2 u + c h(u)``, ``h(u) = sqrt(1 - u^2) + u asin(u)``.

    ``sigma = A z + B |z|`` with ``A = (alpha + beta)/2``, ``B = (beta - alpha)/2``; ``c = 2 B^2/pi``.
    """
    act = ACTIVATIONS[name]
    al, be = sp.sympify(act.params["alpha"]), sp.sympify(act.params["beta"])
    return sp.nsimplify(((al + be) / 2) ** 2), 2 * ((be - al) / 2) ** 2 / sp.pi


def h_fn(x):
    """h(u) = sqrt(1 - u^2) + u asin(u): even, h(0) = 1, h(1) = pi/2, h' = asin, h'' = 1/sqrt(1 - u^2)."""
    return sp.sqrt(1 - x**2) + x * sp.asin(x)


@functools.lru_cache(maxsize=None)
def solution(name: str) -> dict:
    """The optimum of the one-neuron problem as expressions in ``m`` and ``rho``.

    Keys: ``norm2`` (|w|^2, erf family), ``a`` (erf family), ``ar`` (a |w|), ``u`` (the cosines:
    each ``1/sqrt(m)`` for ``direction == "average"``; ``1`` means u_1 = 1, u_j = 0 otherwise for
    ``"copy"``), ``loss`` (L*(m)), ``direction``, and ``ar_average`` / ``loss_average``: the best
    point with ``w`` along ``sum_j v_j`` (the symmetric KKT point; equal to the optimum unless
    ``direction == "copy"``). For the piecewise-linear family ``norm2`` and ``a`` are None (only
    a r is fixed). The piecewise-linear optimum is proved in ``copyavg.proofs.one_neuron_pl``:
    the symmetric average when ``A = (alpha + beta)/2 != 0``, a copy of one teacher neuron when
    ``A = 0`` (|z|).
    """
    act = ACTIVATIONS[name]
    if act.family == "erf":
        sol = derive_erf_family(name)[0]
        return dict(sol, direction="average", ar_average=sol["ar"], loss_average=sol["loss"])
    # piecewise-linear: homogeneous kernel g(r^2, rho^2, r rho u) = r rho kappa(u)
    kappa = sp.simplify(kernel_at(name, 1, 1, u))
    cs = sp.simplify(diag_at(name, q) / q)
    T = m * diag_at(name, rho**2) + m * (m - 1) * kernel_at(name, rho**2, rho**2, 0)
    F_avg = m * kappa.subs(u, 1 / sp.sqrt(m))  # sum_j kappa(u_j) at u_j = 1/sqrt(m)
    F_copy = kappa.subs(u, 1) + (m - 1) * kappa.subs(u, 0)  # at u = e_1
    A2, c = piecewise_linear_split(name)
    direction = "copy" if A2 == 0 and c != 0 else "average"
    F = F_copy if direction == "copy" else F_avg
    return {"norm2": None, "a": None, "ar": sp.simplify(rho * F / cs), "loss": sp.simplify(T - rho**2 * F**2 / cs),
            "u": sp.Integer(1) if direction == "copy" else 1 / sp.sqrt(m), "direction": direction,
            "ar_average": sp.simplify(rho * F_avg / cs), "loss_average": sp.simplify(T - rho**2 * F_avg**2 / cs),
            "kappa_fn": kappa, "c_s": cs, "T": T}


def lstar(name: str, teacher_norm=1) -> sp.Expr:
    """L*(m): the optimal one-neuron loss against m teacher neurons of norm ``teacher_norm``."""
    return sp.simplify(solution(name)["loss"].subs(rho, teacher_norm))
