r"""Quadrature-based kernels for any activation given as an expression in ``z`` (family ``"quadrature"``).

Route (docs/theory.md §2): with ``h_n = He_n / sqrt(n!)`` orthonormal under ``N(0, 1)`` and
``rho = C12 / sqrt(C11 C22)``, Mehler's formula gives

    g[f1, f2](C11, C22, C12) = E[f1(u1) f2(u2)] = sum_n c_n[f1](C11) c_n[f2](C22) rho^n,
    c_n[f](q) = E[f(sqrt(q) z) h_n(z)]    (1-D Gauss-Hermite quadrature, all n at once),

and every partial of ``g = g[sigma, sigma]`` is such a cross kernel of derivatives of sigma (Price:
``dg/dC12 = g[sigma', sigma']``, ``dg/dC11 = g[sigma'', sigma] / 2``, ...; ``PRICE``), so no
``1/sqrt(C11)`` appears. Error bound of the truncation after ``N`` terms (Cauchy-Schwarz with
Parseval): ``|tail| <= |rho|^(N+1) sqrt(T1 T2)``, ``T = E[f(sqrt(q) z)^2] - sum_{n<=N} c_n^2``
with the second moment from the same 1-D quadrature; to it is added the estimated quadrature error
of the coefficients (node count M against 2M, measured when the activation is compiled). Pairs
with ``|rho| <= NEAR_RHO`` use the fewest terms that meet the tolerance; nearly collinear ones all
``N`` terms of their tier.

Accepted range: ``|w| <= max_norm``, the largest of 1, 1.5, 2, 3, 4, 6, 8 at which the quadrature of
``sigma, ..., sigma''''`` converges to ``TOL`` with at most 800 nodes (checked against 1600) (tanh: 2; sigmoid,
softplus, silu: 4; entire functions of moderate growth: 8). An expression without such a range
(not square-integrable, like ``exp(z**2)``, or too rough) is refused with a ValueError.
SymPy is imported only here, when an expression is compiled.
"""

from __future__ import annotations

import functools
import re
import warnings

import numpy as np

#: requested bound on every kernel value, relative to ``sqrt(E f1^2 E f2^2)``
TOL = 1e-10
#: pairs with |rho| above this use all the terms of their tier (no early truncation)
NEAR_RHO = 0.5
#: the names that stand for expressions (besides any expression in z)
NAMED = {"tanh": "tanh(z)", "softplus": "log(1 + exp(z))", "sigmoid": "1/(1 + exp(-z))",
         "silu": "z/(1 + exp(-z))"}
#: squared norms of the tiers tried (|w| <= 1, 2, 4, 8) and node counts tried per tier
TIER_Q = (0.25, 1.0, 2.25, 4.0, 9.0, 16.0, 36.0, 64.0)
NODES = (100, 150, 200, 300, 400, 600, 800)
#: Price's theorem: output name -> (derivative order in C11, in C22, factor)
PRICE = {"g": (0, 0, 1.0), "g1": (2, 0, 0.5), "g2": (0, 2, 0.5), "g3": (1, 1, 1.0),
         "g11": (4, 0, 0.25), "g12": (2, 2, 0.25), "g13": (3, 1, 0.5), "g22": (0, 4, 0.25),
         "g23": (1, 3, 0.5), "g33": (2, 2, 1.0)}
_ALLOWED = re.compile(r"^[A-Za-z0-9_ .+\-*/()^,]*$")


class QuadratureAccuracyWarning(UserWarning):
    """A quadrature-based kernel value whose error bound exceeds the requested tolerance ``TOL``.

    Issued (``warnings.warn``) by every evaluation whose bound is above ``TOL`` times the kernel's
    scale ``sqrt(E f1^2 E f2^2)``; the value is returned all the same, with its bound available from
    ``kernel_with_bound``.

    Examples
    --------
    >>> issubclass(QuadratureAccuracyWarning, UserWarning)
    True
    """


@functools.lru_cache(maxsize=8)
def _tier_grid(M: int):
    """Nodes ``x``, square roots of the weights (summing to 1) and ``Q[j, n] = sqrt(w_j) h_n(x_j)``
    for ``n <= M // 2`` (orthonormal columns; the recursion starts from ``sqrt(w)``, so the
    Hermite values themselves never overflow)."""
    from scipy.special import roots_hermitenorm

    with np.errstate(under="ignore"):  # weights below the smallest double: 0, negligible
        x, w = roots_hermitenorm(M)
        sw = np.sqrt(w / w.sum())
    N = M // 2
    Q = np.empty((M, N + 1))
    Q[:, 0] = sw
    Q[:, 1] = x * sw
    with np.errstate(under="ignore"):
        for n in range(1, N):
            Q[:, n + 1] = (x * Q[:, n] - np.sqrt(n) * Q[:, n - 1]) / np.sqrt(n + 1)
    return x, sw, Q


class Compiled:
    """An activation expression, its derivatives (NumPy and mpmath) and its quadrature tiers.

    Built by ``compile_expression`` (cached); raises ValueError naming ``activation`` when sigma
    is not four times differentiable or its quadrature does not converge at ``|w| = 1``.

    Attributes
    ----------
    name : str
        ``"tanh"``, ``"softplus"``, ``"sigmoid"``, ``"silu"`` or the expression as SymPy prints it.
    expr : sympy.Expr
        sigma in the real symbol z.
    np, mp : list of callables
        ``sigma^(k)`` for k = 0..4 on NumPy arrays / on mpf.
    odd : bool
        sigma(-z) = -sigma(z) (checked at sample points).
    tiers : list of tuple
        ``(q_max, M, N, errors)``: squared norms up to ``q_max`` use M Gauss-Hermite nodes and N + 1
        terms; ``errors[k]``: estimated relative quadrature error of the coefficients of sigma^(k).
    max_norm : float
        Accepted ``|w|``: ``sqrt`` of the last tier's ``q_max``.
    """

    def __init__(self, name: str, expr):
        import sympy as sp

        z = sp.Symbol("z", real=True)
        expr = expr.subs(sp.Symbol("z"), z)
        self.name, self.expr = name, expr
        derivs = [expr]
        for _ in range(4):
            derivs.append(sp.diff(derivs[-1], z))
        for k, e in enumerate(derivs):
            if e.has(sp.DiracDelta, sp.Derivative, sp.Subs, sp.Heaviside, sp.sign, sp.zoo, sp.nan):
                raise ValueError(f"activation {name!r}: derivative {k} of sigma is not an ordinary function "
                                 "(sigma must be 4 times differentiable; kinked activations have closed forms: "
                                 "relu, abs, leaky_relu)")
        self.np = [sp.lambdify(z, e, modules=["scipy", "numpy"], cse=True) for e in derivs]
        self.mp = [sp.lambdify(z, e, modules="mpmath") for e in derivs]
        self.odd = self._is_odd()
        self.tiers = []  # (q_max, M, N, quadrature error estimates per derivative order)
        self._cache: dict = {}
        self._nodes: dict = {}
        self._find_tiers()

    def values(self, k: int, u: np.ndarray) -> np.ndarray:
        """``sigma^(k)(u)``; entries that overflow in float64 are re-evaluated with mpmath."""
        with np.errstate(all="ignore"):
            out = np.array(np.broadcast_to(self.np[k](u), np.shape(u)), dtype=float)
        bad = ~np.isfinite(out)
        if bad.any():
            import mpmath

            out[bad] = [float(self.mp[k](mpmath.mpf(float(v)))) for v in np.asarray(u)[bad]]
        return out

    def _is_odd(self) -> bool:
        t = np.linspace(0.1, 3.0, 7)
        return bool(np.allclose(self.values(0, -t), -self.values(0, t), rtol=1e-13, atol=1e-300))

    def _raw_moments(self, k: int, q: np.ndarray, M: int, N: int | None = None):
        """``(c_n[sigma^(k)](q_i))_{n <= N}`` (rows) and ``E[sigma^(k)(sqrt(q_i) z)^2]`` with M nodes."""
        x, sw, Q = _tier_grid(M)
        with np.errstate(all="ignore"):  # a non-finite result is refused by the caller
            F = self.node_values(k, q, M) * sw[None, :]
            return F @ (Q if N is None else Q[:, : N + 1]), np.einsum("ij,ij->i", F, F)

    def node_values(self, k: int, q: np.ndarray, M: int) -> np.ndarray:
        """``sigma^(k)(sqrt(q_i) x_j)`` at the M nodes; the last few results are kept (the diagonal
        kernel and the coefficients of one call evaluate the same)."""
        key = (k, M, q.tobytes())
        hit = self._nodes.get(key)
        if hit is None:
            if len(self._nodes) >= 16:
                self._nodes.pop(next(iter(self._nodes)))
            x = _tier_grid(M)[0]
            hit = self._nodes[key] = self.values(k, np.sqrt(q)[:, None] * x[None, :])
        return hit

    def _find_tiers(self) -> None:
        for qt in TIER_Q:
            found = None
            for M in NODES:
                found = self._try_tier(qt, M)
                if found is not None:
                    break
            if found is None:
                break
            self.tiers.append(found)
        if not self.tiers:
            raise ValueError(f"activation {self.name!r}: E[sigma(|w| z)^2] (and those of its first four derivatives) "
                             f"do not converge under Gauss-Hermite quadrature at |w| = 1 with up to {NODES[-1]} "
                             "nodes: sigma must be square-integrable under the standard Gaussian, with moderate growth")
        self.max_norm = float(np.sqrt(self.tiers[-1][0]))

    def _try_tier(self, qt: float, M: int):
        """``(qt, M, N, errors)`` when M nodes and N terms meet ``TOL`` at ``q = qt``, else None.

        N: the fewest terms with ``sqrt(T_kA(N) T_kB(N)) <= TOL / 4`` (relative) for every pair of
        ``PRICE`` (the truncation bound at ``|rho| = 1``), from the coefficients with 2M nodes;
        errors: ``|c(M) - c(2M)|_2`` over those terms plus the change of ``sqrt(E f^2)``, relative."""
        c1, s1, c2, s2 = [], [], [], []
        for k in range(5):
            a, sa = self._raw_moments(k, np.array([qt]), M)
            b, sb = self._raw_moments(k, np.array([qt]), 2 * M)
            if not (np.all(np.isfinite(b)) and np.isfinite(sb[0]) and np.all(np.isfinite(a))):
                return None
            c1.append(a[0])
            s1.append(sa[0])
            c2.append(b[0, : a.shape[1]])
            s2.append(max(sb[0], 1e-300))
        rel = [np.maximum(s2[k] - np.cumsum(c2[k] ** 2), 0.0) / s2[k] for k in range(5)]
        worst = np.max([np.sqrt(rel[kA] * rel[kB]) for kA, kB, _ in PRICE.values()], axis=0)
        ok = np.flatnonzero(worst <= TOL / 4)
        if not ok.size:
            return None
        N = int(ok[0])
        errs = tuple(float((np.linalg.norm(c1[k][: N + 1] - c2[k][: N + 1]) + abs(np.sqrt(s1[k]) - np.sqrt(s2[k])))
                           / np.sqrt(s2[k])) for k in range(5))
        return (qt, M, N, errs) if max(errs) <= TOL / 4 else None

    def tier(self, qmax: float) -> int:
        for t, (qt, *_rest) in enumerate(self.tiers):
            if qmax <= qt * (1 + 1e-12):
                return t
        raise ValueError(f"C11, C22 (squared norms) must lie in [0, {self.tiers[-1][0]:g}] for the "
                         f"quadrature-based activation {self.name!r} (|w| <= {self.max_norm:g}, where its "
                         f"quadrature converges), got {qmax:.6g}")

    def moments(self, t: int, k: int, q: np.ndarray):
        """``(C, S, T)``: rows ``c_n[sigma^(k)](q_i)`` of tier t, second moments ``S`` and tails
        ``T[i, N] = S_i - sum_{n<=N} c_n^2`` (``_tail``); cached per value of q (the teacher's)."""
        q = np.ascontiguousarray(q, dtype=float).ravel()
        M, N = self.tiers[t][1], self.tiers[t][2]
        cache = self._cache
        if len(cache) > 20000:
            cache.clear()
        keys = [(t, k, v) for v in q.tolist()]
        hits = [cache.get(key) for key in keys]
        miss = [i for i, h in enumerate(hits) if h is None]
        if len(miss) == q.size:
            c, s = self._raw_moments(k, q, M, N)
            T = _tail(c, s)
            if q.size <= 64:
                for j, key in enumerate(keys):
                    cache[key] = (c[j], s[j], T[j])
            return c, s, T
        C, S, T = np.empty((q.size, N + 1)), np.empty(q.size), np.empty((q.size, N + 1))
        if miss:
            c, s = self._raw_moments(k, q[miss], M, N)
            C[miss], S[miss], T[miss] = c, s, _tail(c, s)
            for i in miss:
                cache[keys[i]] = (C[i], S[i], T[i])
        for i, h in enumerate(hits):
            if h is not None:
                C[i], S[i], T[i] = h
        return C, S, T

    def diag(self, q):
        """``(s, s', s'')`` of ``s(q) = E[sigma(sqrt(q) z)^2]`` by 1-D quadrature (heat equation:
        ``s' = E[sigma'^2 + sigma sigma'']``, ``s'' = E[3 sigma''^2 + 4 sigma' sigma''' + sigma sigma'''']/2``)."""
        with np.errstate(under="ignore"):
            return self._diag(np.asarray(q, dtype=float))

    def _diag(self, q):
        flat = q.ravel()
        t = self.tier(float(flat.max(initial=0.0)))
        M = self.tiers[t][1]
        w = _tier_grid(M)[1] ** 2
        f = [self.node_values(k, flat, M) for k in range(5)]
        s = (f[0] * f[0]) @ w
        s1 = (f[1] * f[1] + f[0] * f[2]) @ w
        s2 = (3 * f[2] * f[2] + 4 * f[1] * f[3] + f[0] * f[4]) @ w / 2
        return tuple(v.reshape(q.shape) for v in (s, s1, s2))


@functools.lru_cache(maxsize=64)
def compile_expression(activation: str) -> Compiled:
    """Parse and check ``activation`` (a name in ``NAMED`` or an expression in z); cached.

    Parameters
    ----------
    activation : str
        tanh, softplus, sigmoid, silu, or a SymPy expression in the single symbol z made of numbers,
        ``+ - * / **``, parentheses and SymPy functions (e.g. ``"z*exp(-z**2/4) + cos(z)"``).

    Returns
    -------
    Compiled

    Raises
    ------
    ValueError
        Not parseable, other symbols than z, unknown functions, not four times differentiable, or
        not square-integrable under the standard Gaussian at ``|w| = 1``; the message names
        ``activation``.

    Examples
    --------
    >>> cp = compile_expression("sin(z)")
    >>> cp.name, cp.odd, cp.max_norm
    ('sin(z)', True, 8.0)
    >>> compile_expression("tanh(y)")
    Traceback (most recent call last):
    ...
    ValueError: activation 'tanh(y)': the only symbol allowed is z, got ['y']
    """
    text = NAMED.get(activation, activation)
    if not isinstance(text, str) or not _ALLOWED.match(text) or "__" in text or "lambda" in text:
        raise ValueError(f"activation {activation!r}: not a known name nor an expression in z made of "
                         "numbers, z, + - * / ** ( ) and SymPy functions")
    import sympy as sp

    z = sp.Symbol("z")
    try:
        expr = sp.sympify(text, locals={"z": z, "E": sp.E, "S": sp.S, "N": sp.Symbol("N"),
                                        "I": sp.Symbol("I"), "Q": sp.Symbol("Q"), "O": sp.Symbol("O")})
    except (sp.SympifyError, SyntaxError, TypeError, AttributeError, ValueError) as exc:
        raise ValueError(f"activation {activation!r}: cannot be parsed as an expression in z ({exc})") from None
    if not isinstance(expr, sp.Expr):
        raise ValueError(f"activation {activation!r}: not an expression in z")
    other = expr.free_symbols - {z}
    if other:
        raise ValueError(f"activation {activation!r}: the only symbol allowed is z, got "
                         f"{sorted(str(s) for s in other)}")
    if expr.has(sp.I) or expr.atoms(sp.Function) & {sp.Function("f")}:
        raise ValueError(f"activation {activation!r}: sigma must be real")
    if expr.atoms(sp.core.function.AppliedUndef):
        raise ValueError(f"activation {activation!r}: unknown functions "
                         f"{sorted(str(f.func) for f in expr.atoms(sp.core.function.AppliedUndef))}")
    name = activation if activation in NAMED else str(expr)
    return Compiled(name, expr)


def _rho(C11, C22, C12):
    with np.errstate(all="ignore"):
        r = C12 / (np.sqrt(C11) * np.sqrt(C22))
    return np.clip(np.where((C11 > 0) & (C22 > 0), r, 0.0), -1.0, 1.0)


def _tail(C, S):
    """``T_N = S - sum_{n<=N} c_n^2`` for every N (>= 0; rounding ~eps S kept as a floor)."""
    T = S[:, None] - np.cumsum(C * C, axis=1)
    return np.maximum(T, 4e-16 * S[:, None])


def _series(A, B, rho):
    """``sum_n A[.., n] B[.., n] rho^n`` for gathered pairs (all arrays share the leading shape)."""
    P = np.cumprod(np.concatenate((np.ones(rho.shape + (1,)), np.repeat(rho[..., None], A.shape[-1] - 1, -1)), -1), -1)
    return np.einsum("...n,...n,...n->...", A, B, P)


def _cross_pairs(cp: Compiled, t: int, ks, qA, qB, rho):
    """``g[sigma^(kA), sigma^(kB)]`` for every ``(kA, kB)`` in ``ks`` and all pairs (rows qA against
    columns qB): ``(values, bounds, scales)``, arrays of shape ``(len(ks), n, m)``.

    Pairs with ``|rho| <= NEAR_RHO`` take the fewest terms ``Nd`` meeting ``TOL / 10`` at their
    largest ``|rho|`` (one Horner pass for all kernels); the others all ``N`` terms of the tier."""
    mA = {k: cp.moments(t, k, qA) for k in {kA for kA, _ in ks}}
    mB = {k: cp.moments(t, k, qB) for k in {kB for _, kB in ks}}
    A = np.stack([mA[kA][0] for kA, _ in ks])  # (K, n, N+1)
    B = np.stack([mB[kB][0] for _, kB in ks])  # (K, m, N+1)
    TA = np.stack([mA[kA][2] for kA, _ in ks])
    TB = np.stack([mB[kB][2] for _, kB in ks])
    SA = np.stack([mA[kA][1] for kA, _ in ks])
    SB = np.stack([mB[kB][1] for _, kB in ks])
    scale = np.sqrt(SA[:, :, None] * SB[:, None, :])
    eps = np.array([cp.tiers[t][3][kA] + cp.tiers[t][3][kB] for kA, kB in ks])
    N = A.shape[2] - 1
    absr = np.abs(rho)
    near = absr > NEAR_RHO
    r_far = float(np.max(np.where(near, 0.0, absr), initial=0.0))
    rel = np.sqrt((TA / np.maximum(SA, 1e-300)[..., None]).max((0, 1))
                  * (TB / np.maximum(SB, 1e-300)[..., None]).max((0, 1)))
    ok = np.flatnonzero(r_far ** np.arange(1, N + 2) * rel <= TOL / 10)
    Nd = int(ok[0]) if ok.size else N
    val = A[:, :, None, Nd] * B[:, None, :, Nd]
    for n in range(Nd - 1, -1, -1):  # Horner over the far terms, all kernels at once
        val *= rho
        val += A[:, :, None, n] * B[:, None, :, n]
    bound = absr ** (Nd + 1) * np.sqrt(TA[:, :, None, Nd] * TB[:, None, :, Nd])
    if near.any():
        i, m = np.nonzero(near)
        val[:, i, m] = _series(A[:, i], B[:, m], rho[i, m])
        bound[:, i, m] = absr[i, m] ** (N + 1) * np.sqrt(TA[:, i, N] * TB[:, m, N])
    bound += scale * eps[:, None, None]  # quadrature of the coefficients (|rho| <= 1, Cauchy-Schwarz)
    return val, bound, scale


def _cross_elementwise(cp: Compiled, t: int, ks, qA, qB, rho):
    """As ``_cross_pairs`` for 1-d arrays taken element by element: arrays of shape ``(len(ks), size)``."""
    out = []
    for kA, kB in ks:
        A, SA, TA = cp.moments(t, kA, qA)
        B, SB, TB = cp.moments(t, kB, qB)
        N = A.shape[1] - 1
        scale = np.sqrt(SA * SB)
        bound = np.abs(rho) ** (N + 1) * np.sqrt(TA[:, N] * TB[:, N])
        out.append((_series(A, B, rho), bound + scale * (cp.tiers[t][3][kA] + cp.tiers[t][3][kB]), scale))
    return tuple(np.stack(x) for x in zip(*out))


def kernel_with_bound(cp: Compiled, C11, C22, C12, order: int, pairs: bool):
    """The kernel and its partials with their error bounds.

    Parameters
    ----------
    cp : Compiled
        From ``compile_expression``.
    C11, C22, C12 : ndarray
        ``pairs=True``: C11 of shape (n, 1) against C22 of shape (1, m), C12 of shape (n, m) (all
        pairs); otherwise 1-d arrays of one length, taken element by element. Squared norms within
        ``[0, cp.max_norm^2]``, ``|C12| <= sqrt(C11 C22)`` (not checked here: ``pair_kernel`` checks).
    order : {0, 1, 2}
    pairs : bool

    Returns
    -------
    values, bounds : tuple of ndarray
        Over ``copyavg.numeric.kernels.PARTIAL_NAMES[order]``; ``bounds``: truncation bound of the
        series plus the estimated quadrature error of its coefficients (module docstring).

    Raises
    ------
    ValueError
        A squared norm beyond ``cp.max_norm^2``.

    Examples
    --------
    >>> import numpy as np
    >>> cp = compile_expression("tanh")
    >>> (g,), (bound,) = kernel_with_bound(cp, np.array([1.0]), np.array([1.0]), np.array([0.5]), 0, False)
    >>> round(float(g[0]), 10), bool(bound[0] < 1e-10)
    (0.1863244132, True)
    """
    with np.errstate(under="ignore"):  # powers rho^n and tails below the smallest double: 0
        return _kernel_with_bound(cp, C11, C22, C12, order, pairs)


def _kernel_with_bound(cp, C11, C22, C12, order, pairs):
    from .kernels import PARTIAL_NAMES

    t = cp.tier(float(max(np.max(C11, initial=0.0), np.max(C22, initial=0.0))))
    rho = _rho(C11, C22, C12)
    names = PARTIAL_NAMES[order]
    ks = sorted({PRICE[name][:2] for name in names})
    if pairs:
        V, Bd, Sc = _cross_pairs(cp, t, ks, C11[:, 0], C22[0, :], rho)
    else:
        V, Bd, Sc = (x.reshape((len(ks),) + rho.shape)
                     for x in _cross_elementwise(cp, t, ks, C11.ravel(), C22.ravel(), rho.ravel()))
    rel = Bd / np.maximum(Sc, 1e-300)
    if np.any(rel > TOL):
        warnings.warn(f"activation {cp.name!r}: quadrature-based kernel with estimated error up to "
                      f"{rel.max():.2g} of its scale, above the requested {TOL:g}",
                      QuadratureAccuracyWarning, stacklevel=4)
    idx = {k: j for j, k in enumerate(ks)}
    vals = tuple(PRICE[name][2] * V[idx[PRICE[name][:2]]] for name in names)
    bounds = tuple(PRICE[name][2] * Bd[idx[PRICE[name][:2]]] for name in names)
    return vals, bounds


class _KernelFunctions:  # noqa: D101
    """The interface of the generated kernels for one compiled expression: ``fns[order](C11, C22,
    C12, D)`` (order 0, 1, 2; D unused) and ``fns[3](q) -> (s, s', s'')``."""

    def __init__(self, cp: Compiled):
        self.cp = cp

    def __getitem__(self, order: int):
        if order == 3:
            return self.cp.diag

        def fn(C11, C22, C12, D=None):
            C11, C22, C12 = (np.asarray(x, dtype=float) for x in (C11, C22, C12))
            pairs = C11.ndim == 2 and C22.ndim == 2 and C11.shape[1] == 1 and C22.shape[0] == 1
            if not pairs:
                C11, C22, C12 = np.broadcast_arrays(C11, C22, C12)
            vals, _ = kernel_with_bound(self.cp, C11, C22, np.asarray(C12, dtype=float), order, pairs)
            return vals[0] if order == 0 else vals

        return fn


class _MpKernelFunctions:
    """The mpmath counterpart of ``_KernelFunctions`` (``copyavg.numeric.mp``): every output by
    Price's theorem as ``E[sigma^(kA)(u1) sigma^(kB)(u2)]`` with ``u2 = sqrt(C22)(rho z1 +
    sqrt(1 - rho^2) z2)``, nested ``mpmath.quad`` at the working precision (slow: seconds to
    minutes per value; a reference for small networks, independent of the Hermite series)."""

    def __init__(self, cp: Compiled):
        self.cp = cp

    def _expect2(self, kA, kB, C11, C22, C12):
        import mpmath

        fA, fB = self.cp.mp[kA], self.cp.mp[kB]
        a, b = mpmath.sqrt(C11), mpmath.sqrt(C22)
        rho = C12 / (a * b) if a * b > 0 else mpmath.mpf(0)
        rho = max(min(rho, mpmath.mpf(1)), mpmath.mpf(-1))
        s = mpmath.sqrt(1 - rho * rho)
        phi = lambda x: mpmath.exp(-x * x / 2) / mpmath.sqrt(2 * mpmath.pi)  # noqa: E731
        if s == 0 or b == 0:
            return mpmath.quad(lambda x: phi(x) * fA(a * x) * fB(b * rho * x), [-mpmath.inf, 0, mpmath.inf])
        return mpmath.quad(lambda x, y: phi(x) * phi(y) * fA(a * x) * fB(b * (rho * x + s * y)),
                           [-mpmath.inf, 0, mpmath.inf], [-mpmath.inf, 0, mpmath.inf])

    def __getitem__(self, order: int):
        import mpmath

        from .kernels import PARTIAL_NAMES

        if order == 3:
            def diag(q):
                f = self.cp.mp
                rq = mpmath.sqrt(q)
                phi = lambda x: mpmath.exp(-x * x / 2) / mpmath.sqrt(2 * mpmath.pi)  # noqa: E731
                E = lambda h: mpmath.quad(lambda x: phi(x) * h(rq * x), [-mpmath.inf, 0, mpmath.inf])  # noqa: E731
                return (E(lambda u: f[0](u) ** 2), E(lambda u: f[1](u) ** 2 + f[0](u) * f[2](u)),
                        E(lambda u: 3 * f[2](u) ** 2 + 4 * f[1](u) * f[3](u) + f[0](u) * f[4](u)) / 2)
            return diag

        def fn(C11, C22, C12, D=None):
            done, out = {}, []
            for name in PARTIAL_NAMES[order]:
                kA, kB, fac = PRICE[name]
                if (kA, kB) not in done:
                    done[kA, kB] = self._expect2(kA, kB, C11, C22, C12)
                out.append(fac * done[kA, kB])
            return out[0] if order == 0 else tuple(out)

        return fn
