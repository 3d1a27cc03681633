"""Numeric activation registry (NumPy/SciPy and mpmath; never imports SymPy).

SciPy (``scipy.special.erf``) is imported only when ``Activation.sigma`` is evaluated for the erf
family, mpmath only when an mpmath value is asked for (``sigma_mp``, ``params_mp``): importing
``copyavg.numeric`` loads neither (a test checks this), which keeps the import quick.

Names and parameters mirror ``copyavg.symbolic.activations.ACTIVATIONS``; a test checks that both
registries list the same activations with the same sigma. ``smooth`` is False when the kernel is
not twice differentiable everywhere (the piecewise-linear family with ``alpha != beta``: the loss
is not differentiable at ``w = 0`` and its Hessian does not exist at collinear neurons).
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np


class _LazyModule:
    """Stands for a module and imports it at the first attribute access (``mpmath.sqrt(2)``)."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr):
        return getattr(importlib.import_module(self._name), attr)


mpmath = _LazyModule("mpmath")  # imported when an mpmath value is first asked for


@dataclass(frozen=True)
class Activation:
    """A registered activation (look it up with ``get_activation``).

    Attributes
    ----------
    name : registry key.
    family : ``"erf"`` (``sigma(z) = erf(lam z)``), ``"piecewise_linear"``
        (``sigma(z) = alpha min(z, 0) + beta max(z, 0)``), ``"hermite"`` (``He_2`` .. ``He_5``),
        ``"trig"`` (sin, cos), ``"gaussian"`` (``exp(-z^2/2)``) or ``"normal_cdf"`` (``Phi(z)``).
    params : ``{"lam": float}``, ``{"alpha": float, "beta": float}`` or ``{}`` (the last four
        families: no parameters).
    odd : sigma(-z) = -sigma(z).
    smooth : the kernel is C^2 everywhere.
    kinks : points where sigma is not differentiable (quadrature splits there).
    exact : the kernel is a closed form (False for the ``"quadrature"`` family: any expression in
        ``z``, its kernel from a Hermite series with a stated error bound, ``copyavg.numeric.series``;
        ``params`` then holds ``expr`` and ``max_norm``, the accepted ``|w|``).

    Examples
    --------
    >>> act = get_activation("leaky_relu")
    >>> act.family, act.params, act.smooth
    ('piecewise_linear', {'alpha': 0.01, 'beta': 1.0}, False)
    """

    name: str
    family: str
    params: dict
    odd: bool
    smooth: bool
    kinks: tuple
    exact: bool = True

    def sigma(self, z):
        """``sigma(z)`` on NumPy arrays.

        Parameters
        ----------
        z : array_like
            Real inputs, any magnitude.

        Returns
        -------
        ndarray
            Same shape as ``z``.

        Examples
        --------
        >>> get_activation("relu").sigma([-1.0, 2.0]).tolist()
        [0.0, 2.0]
        """
        z = np.asarray(z, dtype=float)
        if self.family == "erf":
            from scipy.special import erf  # imported here: SciPy is slow to import

            return erf(self.params["lam"] * z)
        if self.name in _EXTRA:
            return _EXTRA[self.name][0](z)
        if self.family == "quadrature":
            return _compiled(self.name).values(0, z)
        return self.params["alpha"] * np.minimum(z, 0.0) + self.params["beta"] * np.maximum(z, 0.0)

    def sigma_mp(self, z):
        """``sigma(z)`` at mpmath precision (``params_mp`` keeps exact rationals exact).

        Parameters
        ----------
        z : mpf or real
            A real scalar.

        Returns
        -------
        mpf

        Examples
        --------
        >>> print(get_activation("abs").sigma_mp(mpmath.mpf(-3)))
        3.0
        """
        if self.family == "quadrature":
            return _compiled(self.name).mp[0](mpmath.mpf(z))
        p = self.params_mp()
        if self.family == "erf":
            return mpmath.erf(p["lam"] * z)
        if self.name in _EXTRA:
            return _EXTRA[self.name][1](mpmath.mpf(z))
        return p["alpha"] * min(z, 0) + p["beta"] * max(z, 0)

    def params_mp(self) -> dict:
        """The parameters at the current mpmath precision (exact where they are rationals).

        Returns
        -------
        dict
            ``{"lam": mpf}`` or ``{"alpha": mpf, "beta": mpf}``.

        Examples
        --------
        >>> print(get_activation("leaky_relu").params_mp()["alpha"])
        0.01
        """
        if self.family == "quadrature":
            return {}
        return {k: _MP_PARAMS[self.name][k]() for k in self.params}


def _erf_act(name, lam, lam_mp):
    _MP_PARAMS[name] = {"lam": lam_mp}
    return Activation(name, "erf", {"lam": lam}, odd=True, smooth=True, kinks=())


def _pl_act(name, alpha, beta, alpha_mp, beta_mp):
    _MP_PARAMS[name] = {"alpha": alpha_mp, "beta": beta_mp}
    odd = alpha == beta
    return Activation(name, "piecewise_linear", {"alpha": alpha, "beta": beta}, odd=odd,
                      smooth=alpha == beta, kinks=() if alpha == beta else (0.0,))


_MP_PARAMS: dict[str, dict[str, Callable[[], mpmath.mpf]]] = {}

#: probabilists' Hermite polynomials He_2 .. He_5 as coefficient lists (highest degree first)
_HERMITE = {2: (1, 0, -1), 3: (1, 0, -3, 0), 4: (1, 0, -6, 0, 3), 5: (1, 0, -10, 0, 15, 0)}


def _horner(coeffs, z):
    out = 0 * z + coeffs[0]
    for c in coeffs[1:]:
        out = out * z + c
    return out


#: name -> (sigma on NumPy arrays, sigma on an mpf); the sigma of the families beyond erf and
#: piecewise-linear (``copyavg.symbolic.activations.EXTRA_FAMILIES``)
_EXTRA: dict = {
    **{f"hermite{n}": ((lambda z, c=c: _horner(c, z)), (lambda z, c=c: _horner(c, z)))
       for n, c in _HERMITE.items()},
    "sin": (np.sin, lambda z: mpmath.sin(z)),  # lambdas: mpmath is imported on first use
    "cos": (np.cos, lambda z: mpmath.cos(z)),
    "gaussian": ((lambda z: np.exp(-z * z / 2)), (lambda z: mpmath.exp(-z * z / 2))),
    "normal_cdf": ((lambda z: 0.5 * _erfc(-z / math.sqrt(2))), lambda z: mpmath.ncdf(z)),
}


def _erfc(x):
    from scipy.special import erfc  # imported here: SciPy is slow to import

    return erfc(x)


def _extra_act(name, family, odd):
    return Activation(name, family, {}, odd=odd, smooth=True, kinks=())

ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        _erf_act("erf2", 1 / math.sqrt(2), lambda: 1 / mpmath.sqrt(2)),
        _erf_act("erf", 1.0, lambda: mpmath.mpf(1)),
        _pl_act("relu", 0.0, 1.0, lambda: mpmath.mpf(0), lambda: mpmath.mpf(1)),
        _pl_act("linear", 1.0, 1.0, lambda: mpmath.mpf(1), lambda: mpmath.mpf(1)),
        _pl_act("abs", -1.0, 1.0, lambda: mpmath.mpf(-1), lambda: mpmath.mpf(1)),
        _pl_act("leaky_relu", 0.01, 1.0, lambda: mpmath.mpf(1) / 100, lambda: mpmath.mpf(1)),
        *(_extra_act(f"hermite{n}", "hermite", odd=n % 2 == 1) for n in _HERMITE),
        _extra_act("sin", "trig", odd=True),
        _extra_act("cos", "trig", odd=False),
        _extra_act("gaussian", "gaussian", odd=False),
        _extra_act("normal_cdf", "normal_cdf", odd=False),
    )
}


def _compiled(name: str):
    from .series import compile_expression  # SymPy is imported only for expressions

    return compile_expression(name)


#: names of quadrature-based activations (``copyavg.numeric.series.NAMED``); any expression in z too
QUADRATURE_NAMES = ("tanh", "softplus", "sigmoid", "silu")


def get_activation(activation: str) -> Activation:
    """Look up ``activation`` by name, with an error that lists the allowed names.

    Parameters
    ----------
    activation : str
        One of ``sorted(ACTIVATIONS)``: erf, erf2, relu, linear, abs, leaky_relu, hermite2 ..
        hermite5, sin, cos, gaussian, normal_cdf (closed-form kernels); or tanh, softplus,
        sigmoid, silu, or any SymPy expression in the single symbol ``z`` (e.g. ``"tanh(z)"``,
        ``"z*exp(-z**2)"``) square-integrable under the standard Gaussian and four times
        differentiable: the ``"quadrature"`` family (``exact=False``, ``copyavg.numeric.series``).

    Returns
    -------
    Activation

    Raises
    ------
    ValueError
        Unknown name (or not a string), an expression with other symbols than ``z``, not
        square-integrable or not four times differentiable; the message names ``activation``.

    Examples
    --------
    >>> get_activation("erf2").params
    {'lam': 0.7071067811865475}
    >>> act = get_activation("tanh(z)")
    >>> act.family, act.exact, act.params["max_norm"]
    ('quadrature', False, 1.5)
    >>> get_activation("ReLU")
    Traceback (most recent call last):
    ...
    ValueError: activation must be one of ['abs', 'cos', 'erf', 'erf2', 'gaussian', 'hermite2', 'hermite3', 'hermite4', 'hermite5', 'leaky_relu', 'linear', 'normal_cdf', 'relu', 'sin'], or tanh, softplus, sigmoid, silu, or an expression in z, got 'ReLU'
    """
    try:
        return ACTIVATIONS[activation]
    except (KeyError, TypeError):
        pass
    if isinstance(activation, str) and (activation in QUADRATURE_NAMES or "z" in activation
                                       or not activation.isidentifier()):
        return _quadrature_activation(activation)
    raise ValueError(
        f"activation must be one of {sorted(ACTIVATIONS)}, or {', '.join(QUADRATURE_NAMES)}, or an "
        f"expression in z, got {activation!r}"
    ) from None


def _quadrature_activation(text: str) -> Activation:
    cp = _compiled(text)
    return Activation(cp.name, "quadrature", {"expr": str(cp.expr), "max_norm": cp.max_norm}, odd=cp.odd,
                      smooth=True, kinks=(), exact=False)
