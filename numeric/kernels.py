"""Hand-written wrapper around the generated pair kernels.

``pair_kernel(activation, C11, C22, C12, order)`` evaluates ``g`` and its partial derivatives in
``(C11, C22, C12)`` (``order`` 0, 1 or 2) on broadcastable arrays, and does the case analysis the
generated code leaves out:

* erf family: the Gram determinant ``D = C11 C22 - C12^2`` is supplied clipped at 0 (so
  correlations that round past +-1 never give NaN);
* piecewise-linear family with a kink: ``g`` is homogeneous, ``g(C11, C22, C12) = |w||v| h(cos)``, so every
  partial is evaluated at unit vectors (``C11 = C22 = 1``, ``C12 = cos``, ``D = 1 - cos^2``) and
  rescaled by ``|w|^p |v|^r`` (``HOMOGENEITY``): tiny and huge norms neither underflow nor
  overflow in ``C11 C22``. A zero vector makes ``g`` vanish identically in the other vector, so
  every output is set to its exact value 0 there.

Output order (order 2): ``g, g1, g2, g3, g11, g12, g13, g22, g23, g33`` with 1 = C11, 2 = C22,
3 = C12. ``diag_kernel(activation, q)`` gives ``s(q) = g(q, q, q)``, ``s'(q)``, ``s''(q)``.
"""

from __future__ import annotations

import numpy as np

from ._generated_kernels import KERNELS
from .activations import get_activation

PARTIAL_NAMES = {
    0: ("g",),
    1: ("g", "g1", "g2", "g3"),
    2: ("g", "g1", "g2", "g3", "g11", "g12", "g13", "g22", "g23", "g33"),
}

#: piecewise-linear family: ``g_X(C11, C22, C12) = |w|^p |v|^r g_X(1, 1, cos)`` with
#: ``(p, r) = HOMOGENEITY[X]`` (g is of degree 1 in |w| and in |v|; each derivative in C11 takes
#: away |w|^2, in C22 |v|^2, in C12 |w||v|)
HOMOGENEITY = {
    "g": (1, 1), "g1": (-1, 1), "g2": (1, -1), "g3": (0, 0), "g11": (-3, 1),
    "g12": (-1, -1), "g13": (-2, 0), "g22": (1, -3), "g23": (0, -2), "g33": (-1, -1),
}


def gram_determinant(C11, C22, C12):
    """``max(C11 C22 - C12^2, 0)``: the squared area spanned by w and v, clipped at 0.

    Parameters
    ----------
    C11, C22, C12 : float or ndarray
        ``|w|^2``, ``|v|^2`` and ``w.v``, broadcastable against each other. Nothing is checked
        (``pair_kernel`` validates its arguments before calling); NaN propagates, and products
        below the smallest double underflow to 0 silently.

    Returns
    -------
    float or ndarray
        ``C11 C22 - C12^2`` clipped at 0: an ndarray of the broadcast shape when that shape is not
        scalar, else a (Python or NumPy) float.

    Examples
    --------
    >>> float(gram_determinant(1.0, 1.0, 1.0 + 1e-16))  # rounds past collinear: clipped
    0.0
    """
    with np.errstate(under="ignore"):  # products below the smallest double are 0: harmless here
        D = C11 * C22 - C12 * C12
    return np.maximum(D, 0.0, out=D) if isinstance(D, np.ndarray) else max(D, 0.0)


#: largest accepted squared norm (``C11``, ``C22``, ``q``): the erf family's kernels form products
#: ``C11 C22`` (1e300); the piecewise-linear family is evaluated from unit vectors (|w| <= 1e150)
MAX_SQUARED_NORM = {"erf": 1e150, "piecewise_linear": 1e300, "hermite": 1e12, "trig": 256.0,
                    "gaussian": 1e12, "normal_cdf": 1e150}


def _checked(x, name: str, family: str | None):
    """``x`` as a float array; real and finite, and (``family`` given) ``0 <= x <= limit``."""
    raw = np.asarray(x)
    if raw.dtype.kind == "c":
        raise ValueError(f"{name} must be real, got complex values")
    try:
        arr = np.asarray(raw, dtype=float)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} must be real float64 numbers, got {type(x).__name__}") from None
    if family is None:
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must be finite (no NaN or inf)")
    elif not np.all((arr >= 0) & (arr <= MAX_SQUARED_NORM[family])):
        raise ValueError(f"{name} (a squared norm) must lie in [0, {MAX_SQUARED_NORM[family]:g}] for the "
                         f"{family} family, got values outside (or NaN)")
    return arr


#: relative slack of the Cauchy-Schwarz check: C12 computed as a dot product in float64 may exceed
#: sqrt(C11 C22) by a few rounding errors (about d eps); 1e-8 leaves room for d up to ~1e7.
CAUCHY_SCHWARZ_SLACK = 1e-8


def _check_cauchy_schwarz(C11, C22, C12) -> None:
    """``|C12| <= sqrt(C11 C22)`` up to rounding: otherwise no vectors w, v have these Gram entries
    and the kernel has no meaning (the clipped formulas would return a number silently)."""
    with np.errstate(over="ignore", under="ignore"):
        bound = np.sqrt(C11) * np.sqrt(C22) * (1.0 + CAUCHY_SCHWARZ_SLACK)
    if not np.all(np.abs(C12) <= bound):
        raise ValueError("C12 must satisfy |C12| <= sqrt(C11 C22) (C11 = |w|^2, C22 = |v|^2, C12 = w.v "
                         f"of two vectors), up to relative rounding {CAUCHY_SCHWARZ_SLACK:g}")


def _in_range(x, name, act):
    limit = act.params["max_norm"] ** 2
    if not np.all((x >= 0) & (x <= limit)):
        raise ValueError(f"{name} (a squared norm) must lie in [0, {limit:g}] for the quadrature-based activation "
                         f"{act.name!r} (|w| <= {act.params['max_norm']:g}, where its quadrature converges)")
    return x


def _quadrature(act, C11, C22, C12, order: int):
    """Quadrature family (``copyavg.numeric.series``): element-wise over the broadcast arrays."""
    from .series import _KernelFunctions, compile_expression

    C11 = _in_range(_checked(C11, "C11", None), "C11", act)
    C22 = _in_range(_checked(C22, "C22", None), "C22", act)
    C12 = _checked(C12, "C12", None)
    _check_cauchy_schwarz(C11, C22, C12)
    C11, C22, C12 = np.broadcast_arrays(C11, C22, C12)
    out = _KernelFunctions(compile_expression(act.name))[order](C11.ravel(), C22.ravel(), C12.ravel())
    out = (out,) if order == 0 else out
    out = tuple(np.array(o, dtype=float).reshape(C11.shape) for o in out)
    return out[0] if order == 0 else out


def _raw(activation: str, C11, C22, C12, D, order: int):
    fns = KERNELS[activation]
    out = fns[order](C11, C22, C12, D)
    return (out,) if order == 0 else out


def _homogeneous(activation: str, C11, C22, C12, order: int):
    """Piecewise-linear family from unit vectors: see the module docstring."""
    with np.errstate(under="ignore", over="ignore", divide="ignore", invalid="ignore"):
        nw, nv = np.sqrt(C11), np.sqrt(C22)
        zero = (nw == 0) | (nv == 0)
        cos = np.clip(np.where(zero, 0.0, C12 / np.where(zero, 1.0, nw) / np.where(zero, 1.0, nv)), -1.0, 1.0)
        P = C11 * C22
        normal = (P >= 1e-290) & (P <= 1e290)  # the Gram determinant itself is representable
        D = np.where(normal, np.maximum(P - C12 * C12, 0.0) / np.where(normal, P, 1.0), (1.0 - cos) * (1.0 + cos))
        unit = _raw(activation, 1.0, 1.0, cos, D, order)
        out = []
        for k, (name, u) in enumerate(zip(PARTIAL_NAMES[order], unit)):
            p, r = HOMOGENEITY[name]
            o = np.array(np.broadcast_to(u * nw ** p * nv ** r, D.shape), dtype=float)
            o[zero] = 0.0
            if k >= 4:  # second partials: not defined at collinear vectors
                o[(D == 0) & ~zero] = np.inf
            out.append(o)
    return out


def pair_kernel(activation: str, C11, C22, C12, order: int = 0):
    """``g`` (order 0) or the tuple of ``g`` and its partials up to ``order`` (1 or 2).

    Parameters
    ----------
    activation : str
        A name from ``copyavg.numeric.ACTIVATIONS``.
    C11, C22, C12 : array_like
        ``|w|^2 >= 0``, ``|v|^2 >= 0`` and ``w.v`` (broadcast against each other, real, finite),
        with ``C12^2 <= C11 C22`` up to rounding; ``C11, C22 <= 1e150`` (erf and normal_cdf
        families; ``<= 1e75`` for ``order=2``), ``<= 1e300`` (piecewise-linear family), ``<= 1e12``
        (hermite2..hermite5: polynomials of degree <= 5; gaussian: ``1/sqrt(1 + C11 + C22 + D)``
        feels the rounding of D near collinear pairs) or ``<= 256`` (sin, cos: ``sinh``/``cosh(C12)``
        stay below 1e111) (``MAX_SQUARED_NORM``).
    order : {0, 1, 2}
        Highest derivative order.

    Returns
    -------
    ndarray or tuple of ndarray
        ``g``; or ``(g, g1, g2, g3)``; or the ten outputs up to second order (names in
        ``PARTIAL_NAMES``). Entries where a partial derivative does not exist (piecewise-linear
        family, second order, collinear vectors) come out as inf: the
        second partials in ``(C11, C22, C12)`` really are infinite there, while the Hessian in the
        weights is finite (``copyavg.numeric.angular.pair_weight_hessian``).

    Raises
    ------
    ValueError
        Unknown activation or order; complex, non-finite or out-of-range ``C11, C22, C12``.

    Examples
    --------
    >>> round(float(pair_kernel("relu", 1.0, 1.0, 0.0)), 6)  # 1 / (2 pi)
    0.159155
    >>> g, g1, g2, g3 = pair_kernel("erf2", 1.0, 1.0, 0.5, order=1)
    >>> round(float(g3), 6)  # (2/pi) / sqrt((1 + C11)(1 + C22) - C12^2)
    0.328749
    """
    act = get_activation(activation)
    if order not in (0, 1, 2):
        raise ValueError(f"order must be 0, 1 or 2, got {order!r}")
    if act.family == "quadrature":
        return _quadrature(act, C11, C22, C12, order)
    C11 = _checked(C11, "C11", act.family)
    C22 = _checked(C22, "C22", act.family)
    C12 = _checked(C12, "C12", None)
    _check_cauchy_schwarz(C11, C22, C12)
    if act.family == "piecewise_linear" and not act.smooth:  # linear: g = C12, exact as it is
        out = _homogeneous(activation, *np.broadcast_arrays(C11, C22, C12), order)
        return out[0] if order == 0 else tuple(out)
    if MAX_SQUARED_NORM[act.family] == 1e150 and order == 2 and not max(C11.max(initial=0.0), C22.max(initial=0.0)) <= 1e75:
        raise ValueError(f"C11, C22: the second partials of the {act.family} family overflow float64 in "
                         "products like C22 (C11 C22); order 2 accepts C11, C22 <= 1e75")
    if act.family == "piecewise_linear":  # linear: g = C12 does not involve D
        D = np.zeros(np.broadcast(C11, C22, C12).shape)
    else:
        D = np.array(gram_determinant(*np.broadcast_arrays(C11, C22, C12)), dtype=float)
    with np.errstate(over="ignore", under="ignore"):  # huge denominators: their (negligible) 0
        out = _raw(activation, C11, C22, C12, D, order)
    out = tuple(np.array(np.broadcast_to(o, D.shape), dtype=float) for o in out)  # e.g. g1 = C22 - 1
    return out[0] if order == 0 else out


def diag_kernel(activation: str, q):
    """``(s, s', s'')`` of ``s(q) = g(q, q, q) = E[sigma(w.x)^2]`` at ``|w|^2 = q``.

    Parameters
    ----------
    activation : str
        A name from ``copyavg.numeric.ACTIVATIONS``.
    q : array_like
        ``|w|^2``, in ``[0, MAX_SQUARED_NORM[family]]``: 1e150 (erf, normal_cdf), 1e300
        (piecewise-linear), 1e12 (hermite, gaussian), 256 (sin, cos).

    Returns
    -------
    tuple of ndarray
        ``s(q)``, ``s'(q)``, ``s''(q)``.

    Raises
    ------
    ValueError
        Unknown activation; complex, NaN or out-of-range ``q``.

    Examples
    --------
    >>> [float(x) for x in diag_kernel("relu", 2.0)]  # s(q) = q / 2
    [1.0, 0.5, 0.0]
    """
    act = get_activation(activation)
    if act.family == "quadrature":
        q = _checked(q, "q", None)
        from .series import compile_expression

        return compile_expression(act.name).diag(_in_range(q, "q", act))
    q = _checked(q, "q", act.family)
    with np.errstate(over="ignore", under="ignore"):  # s'' at huge q: its (negligible) 0
        return tuple(np.array(np.broadcast_to(o, q.shape), dtype=float) for o in KERNELS[activation][3](q))
