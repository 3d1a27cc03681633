"""Input validation and the pair geometry (norms, correlations, Gram determinants) of
``copyavg.numeric.population``, computed so that tiny and huge norms neither underflow nor overflow.

Accepted range (checked here, stated in the public docstrings):

* every entry of ``a``, ``W``, ``b``, ``V`` real and finite (complex input is refused);
* ``|a_i|, |b_j| <= MAX_OUTGOING`` (1e150);
* erf family: ``|w_i|, |v_j| <= MAX_NORM_ERF`` (1e75): the kernels are not homogeneous, and
  ``C11 C22`` must stay below the float64 overflow threshold;
* piecewise-linear family: ``|w_i|, |v_j| <= MAX_NORM_PL`` (1e150), no lower limit (only an exactly
  zero vector counts as ``w = 0``): the kernel is homogeneous and is evaluated from unit vectors;
* hermite family (``He_2`` .. ``He_5``): ``|w_i|, |v_j| <= 1e6`` (the kernel is a polynomial of
  degree up to 5 in ``C11, C22, C12``: values up to ~1e63, products in the loss far from overflow);
* trig family (sin, cos): ``|w_i|, |v_j| <= 16``: the kernels ``e^{-(C11+C22)/2} sinh(C12)`` /
  ``cosh(C12)`` are evaluated as written, and ``sinh``, ``cosh`` of ``|C12| <= 256`` stay below
  1e111 (no overflow) while every relative rounding error stays ~eps (C11 + C22) <= 1e-13;
* normal_cdf family: ``|w_i|, |v_j| <= 1e75``, as the erf family (an atan of ``C12`` over
  ``sqrt(1 + C11 + C22 + D)``, insensitive to the rounding of D near collinear pairs);
* gaussian family: ``|w_i|, |v_j| <= 1e6``: ``g = 1/sqrt(1 + C11 + C22 + D)`` feels the rounding of
  the Gram determinant of near-collinear pairs, ``~eps^2 |w|^2 |v|^2`` after refinement, relative
  to ``C11 + C22``: ``~eps^2 |w||v| <= 1e-19`` here (at |w| ~ 1e12 it reached 2e-8); its Hessian
  only for ``|w_i| <= 100`` (``HESSIAN_MAX_SQUARED_NORM``); likewise the normal_cdf Hessian, whose
  chain-rule W-W blocks cancel like the erf family's (~eps |w_i| of max|H|; the erf family has
  the cancellation-free form of ``copyavg.numeric._hessian_erf``, normal_cdf not yet);
* quadrature family (any expression in z, ``copyavg.numeric.series``): ``|w_i|, |v_j| <=``
  ``act.params["max_norm"]`` (1 .. 8), where the Gauss-Hermite quadrature of sigma and its first four
  derivatives converges to the requested tolerance;
* the loss scale ``S = sum_m |U_m| sqrt(E[sigma(y_m.x)^2]) <= MAX_LOSS_SCALE`` (1e150), with
  ``U = [a; -b]`` and ``Y = [W; V]``: every term of ``L`` is at most ``S^2`` in size.
"""

from __future__ import annotations

import numpy as np

MAX_OUTGOING = 1e150
MAX_NORM_ERF = 1e75
MAX_NORM_PL = 1e150
#: accepted ``|w_i|, |v_j|`` by activation family (the module docstring says why)
MAX_NORM = {"erf": MAX_NORM_ERF, "piecewise_linear": MAX_NORM_PL, "hermite": 1e6, "trig": 16.0,
            "gaussian": 1e6, "normal_cdf": MAX_NORM_ERF}
#: largest ``|w_i|^2`` at which ``hessian`` answers (non-homogeneous families): its W-W blocks
#: cancel at large norms; for gaussian the cancelling terms carry D (and its rounding) to the
#: power -5/2: asymmetry ~1e-10 of max|H| at |w| ~ 3e3, up to 1e-3 with large outgoing weights
HESSIAN_MAX_SQUARED_NORM = {"gaussian": 1e4, "normal_cdf": 1e4}  # normal_cdf: the erf-type cancellation
#: families with E[sigma^2] <= 1 at every norm (the loss-scale check can then be skipped for
#: small outgoing weights)
BOUNDED_SECOND_MOMENT = ("erf", "piecewise_linear", "trig", "gaussian", "normal_cdf")
MAX_LOSS_SCALE = 1e150
#: pairs with ``|cos| > _NEAR_COS`` get their Gram determinant from the projection
#: ``|y^ - cos w^|^2`` (absolute error ~eps in ``sin``) instead of ``1 - cos^2`` (error ~eps in ``sin^2``)
_NEAR_COS = 0.7


def limits_key(act) -> str:
    """The key of ``MAX_NORM`` for an activation: its family, or for the quadrature family (whose
    accepted norm depends on the expression) ``"quadrature NAME"``, registered on first use."""
    if act.family != "quadrature":
        return act.family
    key = f"quadrature {act.name}"
    MAX_NORM[key] = act.params["max_norm"]
    HESSIAN_MAX_SQUARED_NORM[key] = act.params["max_norm"] ** 2
    return key


def as_real_array(x, name: str, ndim: int) -> np.ndarray:
    """``x`` as a finite float64 array of ``ndim`` dimensions, or a ValueError naming ``name``."""
    try:
        raw = np.asarray(x)
        if raw.dtype.kind == "c":
            raise ValueError(f"{name} must be real, got complex values (dtype {raw.dtype})")
        if raw.dtype.kind == "O" and any(isinstance(v, complex) for v in raw.ravel()):
            raise ValueError(f"{name} must be real, got complex values")
        arr = np.asarray(raw, dtype=float)
    except (TypeError, ValueError, OverflowError) as exc:
        if "complex" in str(exc) and name in str(exc):
            raise
        raise ValueError(f"{name} must be a real {ndim}-d array of float64 numbers (finite, below 1.8e308), "
                         f"got {type(x).__name__}") from None
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return arr


def row_norms(X: np.ndarray) -> np.ndarray:
    """Euclidean norms of the rows of ``X`` without under/overflow; 0 only for a zero row."""
    with np.errstate(under="ignore", over="ignore"):
        q = np.einsum("ij,ij->i", X, X)
    if q.size and q.min() >= 1e-290 and q.max() <= 1e290:  # no square lost: sqrt(q) is exact to eps
        return np.sqrt(q)
    with np.errstate(under="ignore", over="ignore", invalid="ignore"):
        s = np.max(np.abs(X), axis=1)
        Xs = X / np.where(s > 0, s, 1.0)[:, None]
        return s * np.sqrt(np.einsum("ij,ij->i", Xs, Xs))


def directions(X: np.ndarray, norms: np.ndarray) -> np.ndarray:
    """Unit rows ``x / |x|`` (zero rows stay zero); rows with subnormal entries are first scaled by
    their largest entry, so that the rounding of a subnormal norm does not spoil the direction."""
    with np.errstate(under="ignore"):
        if norms.size == 0 or norms.min() >= 1e-290 or not np.any(norms > 0):
            return X / np.where(norms > 0, norms, 1.0)[:, None]
        s = np.max(np.abs(X), axis=1)
        Xs = X / np.where(s > 0, s, 1.0)[:, None]
        n = np.sqrt(np.einsum("ij,ij->i", Xs, Xs))
        return Xs / np.where(n > 0, n, 1.0)[:, None]


def check_outgoing(x: np.ndarray, name: str) -> None:
    """``|x_i| <= MAX_OUTGOING`` (also catches NaN and inf)."""
    if not np.abs(x).max() <= MAX_OUTGOING:
        raise ValueError(
            f"{name}: outgoing weights must be finite with |{name}_i| <= {MAX_OUTGOING:g}, "
            f"got max |{name}_i| = {np.abs(x).max():.3g}"
        )


def check_norms(norms: np.ndarray, name: str, family: str) -> None:
    """Row norms within the accepted range of the activation family (NaN/inf refused too)."""
    limit = MAX_NORM[family]
    if not norms.max() <= limit:
        raise ValueError(
            f"{name}: the rows of {name} must be finite with norm <= {limit:g} for the {family} "
            f"family (float64 kernels would overflow or lose accuracy), got {norms.max():.3g}"
        )


def check_loss_scale(S: float) -> None:
    if not S <= MAX_LOSS_SCALE:
        raise ValueError(
            f"a, b (with W, V): the loss scale S = sum_i |a_i| |sigma(w_i.x)|_2 + sum_j |b_j| "
            f"|sigma(v_j.x)|_2 = {S:.3g} exceeds {MAX_LOSS_SCALE:g} (accepted: S <= {MAX_LOSS_SCALE:g}, "
            f"so that L <= S^2 stays below 1e300); rescale a and b"
        )


def _diagonal(X: np.ndarray) -> np.ndarray:
    """A view of the entries ``X[i, i]`` of a C-contiguous (n, m) array, n <= m (no fancy indexing)."""
    return X.reshape(-1)[:: X.shape[1] + 1][: X.shape[0]]


def cosines(cos: np.ndarray, directions, self_pairs: bool):
    """``(cos, D, collinear)`` for all pairs, from the cosines ``cos`` (modified in place):
    ``D = 1 - cos^2 >= 0`` (the Gram determinant of unit vectors), accurate near ``|cos| = 1``
    through ``directions() -> (Rdir, Ydir)`` (unit rows, called only when some pair is near
    collinear), and ``collinear`` (boolean array, or False when there is none) where
    ``1 - cos^2`` rounds to 0, self pairs excluded. ``self_pairs``: row i of R is row i of Y (then
    ``cos_ii = 1``, ``D_ii = 0``). ``cos`` may exceed 1 in magnitude by rounding; the kernels are
    finite there since ``D = 0``.
    """
    D = 1.0 - cos * cos
    np.maximum(D, 0.0, out=D)
    if self_pairs:
        _diagonal(D)[:] = 1.0  # no refinement or collinearity with itself
    near = D < 1.0 - _NEAR_COS**2
    collinear = False
    if near.any():
        collinear = D == 0
        Rdir, Ydir = directions()
        refine_near_collinear(D, cos, Rdir, Ydir, near=near)
    if self_pairs:
        _diagonal(cos)[:] = 1.0
        _diagonal(D)[:] = 0.0
    return cos, D, collinear


def refine_near_collinear(D, cos, Rdir, Ydir, mask=None, scale=None, near=None) -> None:
    """In place: ``D = |y^ - cos w^|^2`` (times ``scale``) where ``|cos| > _NEAR_COS`` (and ``mask``),
    or where ``near`` when given."""
    if near is None:
        near = np.abs(cos) > _NEAR_COS
        if mask is not None:
            near &= mask
    if not near.any():
        return  # the common case: D = 1 - cos^2 has relative error ~eps for |cos| <= 0.7
    i, m = np.nonzero(near)
    with np.errstate(under="ignore"):
        r = Ydir[m] - cos[i, m, None] * Rdir[i]
        val = np.einsum("ij,ij->i", r, r)
    D[i, m] = val if scale is None else val * scale[i, m]


def check_student(a, W, d: int):
    """Shapes and reality; finiteness and ranges are checked in ``Problem._prepare``."""
    if not isinstance(a, np.ndarray) or a.dtype != np.float64:
        a = as_real_array(a, "a", 1)
    if not isinstance(W, np.ndarray) or W.dtype != np.float64:
        W = as_real_array(W, "W", 2)
    if a.ndim != 1:
        raise ValueError(f"a must be 1-dimensional, got shape {a.shape}")
    if a.shape[0] < 1:
        raise ValueError("a must have at least one entry (n >= 1 student neurons)")
    if W.shape != (a.shape[0], d):
        raise ValueError(
            f"W must have shape (n, d) = ({a.shape[0]}, {d}) to match a (n,) and V (k, d), got {W.shape}"
        )
    return a, W


def check_finite(what: str, *arrays) -> None:
    """A safety net behind the range checks: a non-finite result is a ValueError, never returned."""
    for arr in arrays:
        if not np.all(np.isfinite(arr)):
            raise ValueError(
                f"a, W, b, V: the {what} overflows float64 for these magnitudes; rescale the outgoing "
                f"weights (a, b) or the vectors (W, V)"
            )


def powers(x, p: int):
    """``x^p`` for the small integer exponents of ``HOMOGENEITY`` (None for p = 0)."""
    if p == 0:
        return None
    xp = x if abs(p) == 1 else x * x if abs(p) == 2 else x * x * x
    return xp if p > 0 else 1.0 / xp


def rescaled(u, r, c, p: int, q: int):
    """``u * r_i^p * c_m^q`` with ``u`` of shape (n, m)."""
    rp, cq = powers(r, p), powers(c, q)
    if rp is not None:
        u = u * rp[:, None]
    if cq is not None:
        u = u * cq[None, :]
    return u
