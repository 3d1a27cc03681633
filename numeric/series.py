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
``sigma, ..., sigma''''`` converges to ``TOL`` with at most 1600 nodes (tanh: 2; sigmoid,
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
NEAR_RHO = 0.75
#: the names that stand for expressions (besides any expression in z)
NAMED = {"tanh": "tanh(z)", "softplus": "log(1 + exp(z))", "sigmoid": "1/(1 + exp(-z))",
         "silu": "z/(1 + exp(-z))"}
#: squared norms of the tiers tried (|w| <= 1, 2, 4, 8) and node counts tried per tier
TIER_Q = (1.0, 2.25, 4.0, 9.0, 16.0, 36.0, 64.0)
NODES = (100, 200, 400, 800, 1600)
#: Price's theorem: output name -> (derivative order in C11, in C22, factor)
PRICE = {"g": (0, 0, 1.0), "g1": (2, 0, 0.5), "g2": (0, 2, 0.5), "g3": (1, 1, 1.0),
         "g11": (4, 0, 0.25), "g12": (2, 2, 0.25), "g13": (3, 1, 0.5), "g22": (0, 4, 0.25),
         "g23": (1, 3, 0.5), "g33": (2, 2, 1.0)}
_ALLOWED = re.compile(r"^[A-Za-z0-9_ .+\-*/()^,]*$")


class QuadratureAccuracyWarning(UserWarning):
    """A quadrature-based kernel value whose error bound exceeds the requested tolerance."""


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
    """An activation expression, its derivatives (NumPy and mpmath) and its quadrature tiers."""

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
        self.np = [sp.lambdify(z, e, modules=["scipy", "numpy"]) for e in derivs]
        self.mp = [sp.lambdify(z, e, modules="mpmath") for e in derivs]
        self.odd = self._is_odd()
        self.tiers = []  # (q_max, M, N, quadrature error estimates per derivative order)
        self._cache: dict = {}
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

    def _raw_moments(self, k: int, q: np.ndarray, M: int):
        """``(c_n[sigma^(k)](q_i))_n`` (rows) and ``E[sigma^(k)(sqrt(q_i) z)^2]`` with M nodes."""
        x, sw, Q = _tier_grid(M)
        with np.errstate(all="ignore"):  # a non-finite result is refused by the caller
            F = self.values(k, np.sqrt(q)[:, None] * x[None, :]) * sw[None, :]
            return F @ Q, np.einsum("ij,ij->i", F, F)

    def _find_tiers(self) -> None:
        for qt in TIER_Q:
            found = None
            for M in NODES[:-1]:
                errs = []
                for k in range(5):
                    c1, s1 = self._raw_moments(k, np.array([qt]), M)
                    c2, s2 = self._raw_moments(k, np.array([qt]), 2 * M)
                    scale = np.sqrt(s2[0])
                    if not (np.all(np.isfinite(c2)) and np.isfinite(s2[0])):
                        errs = None
                        break
                    errs.append((np.linalg.norm(c1[0] - c2[0, : c1.shape[1]]) + abs(np.sqrt(s1[0]) - scale))
                                / max(scale, 1e-300))
                if errs is not None and max(errs) <= TOL / 2:
                    found = (qt, M, M // 2, tuple(errs))
                    break
            if found is None:
                break
            self.tiers.append(found)
        if not self.tiers:
            raise ValueError(f"activation {self.name!r}: E[sigma(|w| z)^2] (and those of its first four derivatives) "
                             "do not converge under Gauss-Hermite quadrature at |w| = 1 with up to 1600 nodes: "
                             "sigma must be square-integrable under the standard Gaussian, with moderate growth")
        self.max_norm = float(np.sqrt(self.tiers[-1][0]))

    def tier(self, qmax: float) -> int:
        for t, (qt, *_rest) in enumerate(self.tiers):
            if qmax <= qt * (1 + 1e-12):
                return t
        raise ValueError(f"C11, C22 (squared norms) must lie in [0, {self.tiers[-1][0]:g}] for the "
                         f"quadrature-based activation {self.name!r} (|w| <= {self.max_norm:g}, where its "
                         f"quadrature converges), got {qmax:.6g}")

    def moments(self, t: int, k: int, q: np.ndarray):
        """Rows ``c_n[sigma^(k)](q_i)`` of tier t and second moments (cached per value of q)."""
        q = np.ascontiguousarray(q, dtype=float).ravel()
        M, N = self.tiers[t][1], self.tiers[t][2]
        cache = self._cache
        if len(cache) > 20000:
            cache.clear()
        keys = [(t, k, v) for v in q.tolist()]
        hits = [cache.get(key) for key in keys]
        miss = [i for i, h in enumerate(hits) if h is None]
        C = np.empty((q.size, N + 1))
        S = np.empty(q.size)
        if miss:
            c, s = self._raw_moments(k, q[miss], M)
            C[miss], S[miss] = c, s
            if q.size - len(miss) or len(miss) <= 64:
                for j, i in enumerate(miss):
                    cache[keys[i]] = (c[j], s[j])
        for i, h in enumerate(hits):
            if h is not None:
                C[i], S[i] = h
        return C, S

    def diag(self, q):
        """``(s, s', s'')`` of ``s(q) = E[sigma(sqrt(q) z)^2]`` by 1-D quadrature (heat equation:
        ``s' = E[sigma'^2 + sigma sigma'']``, ``s'' = E[3 sigma''^2 + 4 sigma' sigma''' + sigma sigma'''']/2``)."""
        with np.errstate(under="ignore"):
            return self._diag(np.asarray(q, dtype=float))

    def _diag(self, q):
        flat = q.ravel()
        t = self.tier(float(flat.max(initial=0.0)))
        x, sw, _ = _tier_grid(self.tiers[t][1])
        u = np.sqrt(flat)[:, None] * x[None, :]
        w = sw * sw
        f = [self.values(k, u) for k in range(5)]
        s = (f[0] * f[0]) @ w
        s1 = (f[1] * f[1] + f[0] * f[2]) @ w
        s2 = (3 * f[2] * f[2] + 4 * f[1] * f[3] + f[0] * f[4]) @ w / 2
        return tuple(v.reshape(q.shape) for v in (s, s1, s2))


@functools.lru_cache(maxsize=64)
def compile_expression(activation: str) -> Compiled:
    """Parse and check ``activation`` (a name in ``NAMED`` or an expression in z); cached."""
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


def cross_pairs(cp: Compiled, t: int, kA: int, qA, kB: int, qB, rho):
    """``g[sigma^(kA), sigma^(kB)]`` for all pairs (rows qA against columns qB) and its error bound."""
    A, SA = cp.moments(t, kA, qA)
    B, SB = cp.moments(t, kB, qB)
    TA, TB = _tail(A, SA), _tail(B, SB)
    epsA, epsB = cp.tiers[t][3][kA], cp.tiers[t][3][kB]
    rA, rB = np.sqrt(SA), np.sqrt(SB)
    scale = rA[:, None] * rB[None, :]
    N = A.shape[1] - 1
    # fewest terms for the far pairs: NEAR_RHO^(n+1) max sqrt(TA/SA) max sqrt(TB/SB) <= TOL / 10
    rel = np.sqrt((TA / np.maximum(SA, 1e-300)[:, None]).max(0) * (TB / np.maximum(SB, 1e-300)[:, None]).max(0))
    ok = np.flatnonzero(NEAR_RHO ** np.arange(1, N + 2) * rel <= TOL / 10)
    Nd = int(ok[0]) if ok.size else N
    val = np.zeros(rho.shape)
    absr = np.abs(rho)
    for n in range(Nd, -1, -1):  # Horner over the far terms
        val *= rho
        val += A[:, n, None] * B[None, :, n]
    near = absr > NEAR_RHO
    bound = absr ** (Nd + 1) * np.sqrt(TA[:, Nd, None] * TB[None, :, Nd])
    if near.any():
        i, m = np.nonzero(near)
        val[i, m] = _series(A[i], B[m], rho[i, m])
        bound[i, m] = absr[i, m] ** (N + 1) * np.sqrt(TA[i, N] * TB[m, N])
    bound += scale * (epsA + epsB)  # quadrature of the coefficients (|rho| <= 1, Cauchy-Schwarz)
    return val, bound, scale


def cross_elementwise(cp: Compiled, t: int, kA: int, qA, kB: int, qB, rho):
    """As ``cross_pairs`` for 1-d arrays taken element by element."""
    A, SA = cp.moments(t, kA, qA)
    B, SB = cp.moments(t, kB, qB)
    N = A.shape[1] - 1
    val = _series(A, B, rho)
    scale = np.sqrt(SA * SB)
    bound = np.abs(rho) ** (N + 1) * np.sqrt(_tail(A, SA)[:, N] * _tail(B, SB)[:, N])
    bound += scale * (cp.tiers[t][3][kA] + cp.tiers[t][3][kB])
    return val, bound, scale


def kernel_with_bound(cp: Compiled, C11, C22, C12, order: int, pairs: bool):
    """``(values, bounds)``: tuples over ``PARTIAL_NAMES[order]``. ``pairs``: C11 of shape (n, 1)
    against C22 of shape (1, m) (all pairs); otherwise arrays of one common shape, element-wise."""
    with np.errstate(under="ignore"):  # powers rho^n and tails below the smallest double: 0
        return _kernel_with_bound(cp, C11, C22, C12, order, pairs)


def _kernel_with_bound(cp, C11, C22, C12, order, pairs):
    from .kernels import PARTIAL_NAMES

    t = cp.tier(float(max(np.max(C11, initial=0.0), np.max(C22, initial=0.0))))
    rho = _rho(C11, C22, C12)
    vals, bounds, done = [], [], {}
    for name in PARTIAL_NAMES[order]:
        kA, kB, fac = PRICE[name]
        if (kA, kB) not in done:
            if pairs:
                done[kA, kB] = cross_pairs(cp, t, kA, C11[:, 0], kB, C22[0, :], rho)
            else:
                shape = rho.shape
                v, b, s = cross_elementwise(cp, t, kA, C11.ravel(), kB, C22.ravel(), rho.ravel())
                done[kA, kB] = (v.reshape(shape), b.reshape(shape), s.reshape(shape))
        v, b, s = done[kA, kB]
        vals.append(fac * v)
        bounds.append(fac * b)
        if np.any(b > TOL * np.maximum(s, 1e-300)):
            warnings.warn(f"activation {cp.name!r}: quadrature-based kernel {name} with estimated error up to "
                          f"{np.max(b / np.maximum(s, 1e-300)):.2g} of its scale, above the requested {TOL:g}",
                          QuadratureAccuracyWarning, stacklevel=4)
    return tuple(vals), tuple(bounds)


class KernelFunctions:
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


class MpKernelFunctions:
    """The mpmath counterpart of ``KernelFunctions`` (``copyavg.numeric.mp``): every output by
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
