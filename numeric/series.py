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
with ``|rho| <= NEAR_RHO`` use the fewest terms that meet the tolerance; collinear ones (a neuron
with itself) a 1-D quadrature; the other nearly collinear ones all ``N`` terms of their tier.

Accepted range: ``|w| <= max_norm``, the largest of 0.5, 1, 1.5, 2, 3, 4, 6, 8 at which the quadrature
of sigma and its first four derivatives converges to ``TOL`` with at most 1600 nodes (checked against 2M) (tanh: 2;
sigmoid, softplus, silu: 4; entire functions of moderate growth: 8). An expression without such a range
(not square-integrable, like ``exp(z**2)``, or too rough) is refused with a ValueError.
SymPy is imported only here, when an expression is compiled. Evaluations over all pairs use, per
tier, Chebyshev interpolants in ``|w|`` of the coefficients (``_series_fast``, built at first use;
their measured error is added to the coefficients' error).
"""

from __future__ import annotations

import functools
import re
import threading
import warnings

import numpy as np

from ._series_pairs import (NEAR_RHO, QUAD_SAFETY, TOL, _cross_elementwise, _cross_pairs, _rho, _tail,  # noqa: F401
                            _tier_grid)

#: the names that stand for expressions (besides any expression in z)
NAMED = {"tanh": "tanh(z)", "softplus": "log(1 + exp(z))", "sigmoid": "1/(1 + exp(-z))",
         "silu": "z/(1 + exp(-z))"}
#: squared norms of the tiers tried (|w| <= 0.5, 1, 1.5, 2, 3, 4, 6, 8) and node counts tried per tier
TIER_Q = (0.25, 1.0, 2.25, 4.0, 9.0, 16.0, 36.0, 64.0)
NODES = (100, 150, 200, 300, 400, 600, 800, 1200, 1600)
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
        ``(q_max, M, N, errors, Ns)``: squared norms up to ``q_max`` use M Gauss-Hermite nodes and
        N + 1 terms (Ns + 1 suffice for pairs with ``|rho| <= NEAR_RHO``); ``errors[k]``: estimated
        relative quadrature error of the coefficients of sigma^(k).
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
        self._seen: dict = {}
        self._memo: dict = {}
        self._gen = 0  # evaluation counter (kernel_with_bound)
        self._lock = threading.Lock()
        self._interp: dict = {}
        self._find_tiers()

    def interp(self, t: int):
        """The tier's Chebyshev interpolants (``_series_fast.TierInterp``, built at first use), or
        None when they do not meet ``INTERP_TOL`` (then the direct quadrature is used)."""
        hit = self._interp.get(t, False)
        if hit is False:
            from ._series_fast import TierInterp

            with np.errstate(under="ignore"):  # squares of tiny weights and coefficients: 0, harmless
                hit = TierInterp(self, t)
            hit = hit if hit.coef is not None else None
            with self._lock:
                self._interp[t] = hit
        return hit

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

    def _raw_moments(self, k: int, q: np.ndarray, M: int, N: int | None = None, ref: bool = False):
        """``(c_n[sigma^(k)](q_i))_{n <= N}`` (rows) and ``E[sigma^(k)(sqrt(q_i) z)^2]`` with M nodes
        (``ref``: a reference of the tier search, with a grid of only N + 1 columns)."""
        x, sw, Q = _tier_grid(M, N) if ref else _tier_grid(M)
        with np.errstate(all="ignore"):  # a non-finite result is refused by the caller
            F = self.node_values(k, q, M) * sw[None, :]
            return F @ (Q if N is None else Q[:, : N + 1]), np.einsum("ij,ij->i", F, F)

    def node_values(self, k: int, q: np.ndarray, M: int) -> np.ndarray:
        """``sigma^(k)(sqrt(q_i) x_j)`` at the M nodes; the last few results are kept (the diagonal
        kernel and the coefficients of one call evaluate the same)."""
        key = (k, M, q.tobytes())
        hit = self._nodes.get(key)
        if hit is None:
            x = _tier_grid(M)[0]
            hit = self.values(k, np.sqrt(q)[:, None] * x[None, :])
            with self._lock:  # a Problem may be shared between threads
                if len(self._nodes) >= 16:
                    self._nodes.pop(next(iter(self._nodes)), None)
                self._nodes[key] = hit
        return hit

    def _find_tiers(self) -> None:
        start = 0
        for qt in TIER_Q:
            found = None
            for j, M in enumerate(NODES[start:], start):  # larger norms never need fewer nodes
                start = j
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
            b, sb = self._raw_moments(k, np.array([qt]), 2 * M, M // 2, ref=True)
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
        far = np.flatnonzero(NEAR_RHO ** np.arange(1, worst.size + 1) * worst <= TOL / 10)
        Ns = min(int(far[0]) if far.size else N, N)
        errs = tuple(float((np.linalg.norm(c1[k][: N + 1] - c2[k][: N + 1]) + abs(np.sqrt(s1[k]) - np.sqrt(s2[k])))
                           / np.sqrt(s2[k])) for k in range(5))
        return (qt, M, N, errs, Ns) if max(errs) <= TOL / 20 else None  # bounds: <= TOL / 2 in all

    def tier(self, qmax: float) -> int:
        for t, (qt, *_rest) in enumerate(self.tiers):
            if qmax <= qt * (1 + 1e-12):
                return t
        raise ValueError(f"C11, C22 (squared norms) must lie in [0, {self.tiers[-1][0]:g}] for the "
                         f"quadrature-based activation {self.name!r} (|w| <= {self.max_norm:g}, where its "
                         f"quadrature converges), got {qmax:.6g}")

    def moments(self, t: int, k: int, q: np.ndarray, upto: int):
        """``(C, S, T)``: rows ``c_n[sigma^(k)](q_i)`` for ``n <= upto`` (tier t), second moments
        ``S`` and tails ``T[i, N] = S_i - sum_{n<=N} c_n^2`` (``_tail``). Values met in an earlier
        evaluation (the teacher's) are kept in a store sorted by q, one per length; values met
        earlier in the same evaluation (a student as row, then as column) come from a memo."""
        q = np.ascontiguousarray(q, dtype=float).ravel()
        M, L = self.tiers[t][1], upto + 1
        key = (t, k, L)
        C, S, T = np.empty((q.size, L)), np.empty(q.size), np.empty((q.size, L))
        todo = np.ones(q.size, dtype=bool)
        for src in (self._cache.get(key), self._memo.get(key, (None, None))[1] if
                    self._memo.get(key, (None,))[0] == self._gen else None):
            if src is None or not todo.any():
                continue
            qs, Cs, Ss, Ts = src
            idx = np.minimum(np.searchsorted(qs, q), qs.size - 1)
            hit = todo & (qs[idx] == q)
            C[hit], S[hit], T[hit] = Cs[idx[hit]], Ss[idx[hit]], Ts[idx[hit]]
            todo &= ~hit
        if todo.any():
            c, s = self._raw_moments(k, q[todo], M, upto)
            C[todo], S[todo] = c, s
            T[todo] = _tail(c, s) + (2 * QUAD_SAFETY * self.tiers[t][3][k]) * s[:, None]  # coefficients' error
            self._remember(key, q[todo], C[todo], S[todo], T[todo])
        return C, S, T

    def _remember(self, key, qm, c, s, T) -> None:
        """Memo of this evaluation; the store gets the values first met in an earlier one (<= 4096)."""
        with self._lock:
            order = np.argsort(qm, kind="stable")
            self._memo[key] = (self._gen, (qm[order], c[order], s[order], T[order]))
            seen = self._seen.setdefault(key, {})
            again = [j for j, v in enumerate(qm.tolist()) if seen.setdefault(v, self._gen) < self._gen]
            if len(seen) > 20000:
                seen.clear()
            if not again:
                return
            new_q, first = np.unique(qm[again], return_index=True)
            rows = np.asarray(again)[first]
            parts = [(new_q, c[rows], s[rows], T[rows])]
            store = self._cache.get(key)
            if store is not None and store[0].size + new_q.size <= 4096:
                parts.insert(0, store)
            allq = np.concatenate([p[0] for p in parts])
            order = np.argsort(allq, kind="stable")
            self._cache[key] = tuple(np.concatenate([p[j] for p in parts])[order] for j in range(4))

    def diag(self, q):
        """``(s, s', s'')`` of ``s(q) = E[sigma(sqrt(q) z)^2]`` by 1-D quadrature (heat equation:
        ``s' = E[sigma'^2 + sigma sigma'']``, ``s'' = E[3 sigma''^2 + 4 sigma' sigma^(3) + sigma sigma^(4)]/2``);
        ``s''`` (which needs the third and fourth derivatives) only when it is asked for."""
        q = np.asarray(q, dtype=float)
        from ._series_fast import fast_diag

        with np.errstate(under="ignore"):
            fast = fast_diag(self, q)
        return _Diag(self, q) if fast is None else fast


class _Diag:
    """``(s, s', s'')`` evaluated on first access (loss and gradient never ask for ``s''``)."""

    def __init__(self, cp: Compiled, q: np.ndarray):
        self.cp, self.q, self._out = cp, q, {}
        self.flat = np.ascontiguousarray(q.ravel())
        self.M = cp.tiers[cp.tier(float(self.flat.max(initial=0.0)))][1]

    def _f(self, k):
        return self.cp.node_values(k, self.flat, self.M)

    def __getitem__(self, j: int):
        if j not in self._out:
            f = self._f
            with np.errstate(under="ignore"):  # squared tiny Gauss-Hermite weights flush to 0: harmless
                w = _tier_grid(self.M)[1] ** 2
                if j == 0:
                    v = (f(0) * f(0)) @ w
                elif j == 1:
                    v = (f(1) * f(1) + f(0) * f(2)) @ w
                else:
                    v = (3 * f(2) * f(2) + 4 * f(1) * f(3) + f(0) * f(4)) @ w / 2
            self._out[j] = v.reshape(self.q.shape)
        return self._out[j]

    def __iter__(self):
        return iter((self[0], self[1], self[2]))

    def __len__(self):
        return 3


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
    with cp._lock:
        cp._gen += 1
    with np.errstate(under="ignore"):  # powers rho^n and tails below the smallest double: 0
        return _kernel_with_bound(cp, C11, C22, C12, order, pairs)


def _kernel_with_bound(cp, C11, C22, C12, order, pairs):
    from .kernels import PARTIAL_NAMES

    t = cp.tier(float(max(np.max(C11, initial=0.0), np.max(C22, initial=0.0))))
    rho = _rho(C11, C22, C12)
    names = PARTIAL_NAMES[order]
    ks = sorted({PRICE[name][:2] for name in names})
    if pairs:
        from ._series_fast import fast_pairs

        fast = fast_pairs(cp, t, ks, np.ascontiguousarray(C11[:, 0]), np.ascontiguousarray(C22[0, :]), rho)
        V, Bd, Sc = fast if fast is not None else _cross_pairs(cp, t, ks, C11[:, 0], C22[0, :], rho)
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


def _kernel_functions(name: str) -> "_KernelFunctions":
    return _KernelFunctions(compile_expression(name))


class _KernelFunctions:  # noqa: D101
    """The interface of the generated kernels for one compiled expression: ``fns[order](C11, C22,
    C12, D)`` (order 0, 1, 2; D unused) and ``fns[3](q) -> (s, s', s'')``."""

    def __init__(self, cp: Compiled):
        self.cp = cp

    def __reduce__(self):  # picklable (a Problem is): rebuilt from the name, compiled once per process
        return (_kernel_functions, (self.cp.name,))

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
