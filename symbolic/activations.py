"""Symbolic activation registry.

Each activation is one spec carrying its symbolic form sigma(z) and the family it belongs to, so
that the kernel derivation (``copyavg.symbolic.kernels``) can pick the right route:

* ``erf`` family: ``sigma(z) = erf(lam * z)``; Price's theorem once
  (``dg/dC12 = E[sigma'(X) sigma'(Y)]`` is a Gaussian integral), then integrate back from the
  ``C12 = 0`` value.
* ``piecewise_linear`` family: ``sigma(z) = alpha * min(z, 0) + beta * max(z, 0)`` (ReLU is
  ``(0, 1)``, linear ``(1, 1)``, |z| ``(-1, 1)``, leaky ReLU ``(s, 1)``); Price's theorem twice
  (``d2g/dC12^2 = (beta - alpha)^2 E[delta(X) delta(Y)]``), integrated back twice from the values
  of g and dg/dC12 at ``C12 = 0``.

The registry ``ACTIVATIONS`` is explicit: tests parametrize over it and code generation renders
one numeric module section per entry. Names match ``copyavg.numeric.activations``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

z = sp.Symbol("z", real=True)

#: families derived in ``copyavg.symbolic.kernels_extra`` (params ``{"sigma": expression in z}``):
#: ``hermite`` (polynomials, Isserlis/Wick moments), ``trig`` and ``gaussian`` (sums of exponentials
#: of quadratics, Gaussian integrals), ``normal_cdf`` (Price's theorem once, as the erf family),
#: ``monomial`` (``z^2`` .. ``z^5``, Isserlis/Wick moments as hermite), ``gelu`` (``z Phi(z)``: Price's
#: theorem twice, ``sigma''`` a polynomial times the normal density)
EXTRA_FAMILIES = ("hermite", "trig", "gaussian", "normal_cdf", "monomial", "gelu")


@dataclass(frozen=True)
class SymbolicActivation:
    """Symbolic description of an activation function.

    Parameters
    ----------
    name : registry key (a valid Python identifier; used in generated function names).
    family : ``"erf"``, ``"piecewise_linear"`` or one of ``EXTRA_FAMILIES``.
    params : exact family parameters: ``{"lam": ...}``, ``{"alpha": ..., "beta": ...}`` or
        ``{"sigma": expression in z}``.
    description : one line for documents.
    """

    name: str
    family: str
    params: dict = field(hash=False)
    description: str = ""

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"activation name must be an identifier, got {self.name!r}")
        if self.family == "erf":
            lam = sp.sympify(self.params["lam"])
            if not (lam.is_positive):
                raise ValueError(f"{self.name}: erf scale lam must be positive, got {lam}")
        elif self.family == "piecewise_linear":
            sp.sympify(self.params["alpha"]), sp.sympify(self.params["beta"])
        elif self.family in EXTRA_FAMILIES:
            if not isinstance(self.params.get("sigma"), sp.Expr):
                raise ValueError(f"{self.name}: family {self.family!r} needs params['sigma'], a SymPy expression")
        else:
            raise ValueError(f"{self.name}: unknown family {self.family!r}")

    @property
    def sigma(self) -> sp.Expr:
        """sigma(z) as a SymPy expression in the real symbol ``z``."""
        if self.family == "erf":
            return sp.erf(sp.sympify(self.params["lam"]) * z)
        if self.family in EXTRA_FAMILIES:
            return self.params["sigma"]
        al, be = sp.sympify(self.params["alpha"]), sp.sympify(self.params["beta"])
        return al * sp.Min(z, 0) + be * sp.Max(z, 0)

    @property
    def is_odd(self) -> bool:
        """True when sigma(-z) = -sigma(z) (decided symbolically, separately for z > 0; sigma(0) = 0)."""
        zp = sp.Symbol("zp", positive=True)
        odd_pos = sp.simplify(self.sigma.subs(z, zp) + self.sigma.subs(z, -zp)) == 0
        return bool(odd_pos and sp.simplify(self.sigma.subs(z, 0)) == 0)


def erf_activation(name: str, lam, description: str = "") -> SymbolicActivation:
    """``sigma(z) = erf(lam z)``."""
    return SymbolicActivation(name, "erf", {"lam": sp.nsimplify(lam)}, description)


def relu_family(name: str, alpha, beta, description: str = "") -> SymbolicActivation:
    """``sigma(z) = alpha min(z, 0) + beta max(z, 0)``."""
    return SymbolicActivation(
        name, "piecewise_linear", {"alpha": sp.nsimplify(alpha), "beta": sp.nsimplify(beta)},
        description,
    )


def extra_activation(name: str, family: str, sigma: sp.Expr, description: str) -> SymbolicActivation:
    """An activation of one of ``EXTRA_FAMILIES`` given by its expression ``sigma`` in ``z``."""
    return SymbolicActivation(name, family, {"sigma": sigma}, description)


def _hermite(n: int) -> sp.Expr:
    """The probabilists' Hermite polynomial He_n(z) (``He_1 = z`` is the registered ``linear``)."""
    return sp.expand(sp.hermite_prob(n, z))


ACTIVATIONS: dict[str, SymbolicActivation] = {
    a.name: a
    for a in (
        erf_activation("erf2", 1 / sp.sqrt(2), "erf(z/sqrt(2)), the paper's 'erf' (MLPGradientFlow: sigmoid2)"),
        erf_activation("erf", 1, "erf(z)"),
        relu_family("relu", 0, 1, "max(z, 0)"),
        relu_family("linear", 1, 1, "z"),
        relu_family("abs", -1, 1, "|z|"),
        relu_family("leaky_relu", sp.Rational(1, 100), 1, "max(z, 0) + 0.01 min(z, 0)"),
        *(extra_activation(f"hermite{n}", "hermite", _hermite(n), f"He_{n}(z) = {sp.sstr(_hermite(n))}")
          for n in range(2, 6)),
        extra_activation("sin", "trig", sp.sin(z), "sin(z)"),
        extra_activation("cos", "trig", sp.cos(z), "cos(z)"),
        extra_activation("gaussian", "gaussian", sp.exp(-z**2 / 2), "exp(-z^2/2)"),
        extra_activation("normal_cdf", "normal_cdf", (1 + sp.erf(z / sp.sqrt(2))) / 2,
                         "Phi(z) = (1 + erf(z/sqrt(2)))/2, the standard normal CDF"),
        *(extra_activation(f"monomial{n}", "monomial", z**n, f"z^{n}") for n in range(2, 6)),
        extra_activation("gelu", "gelu", z * (1 + sp.erf(z / sp.sqrt(2))) / 2,
                         "GELU z Phi(z) = z (1 + erf(z/sqrt(2)))/2 (exact, not the tanh approximation)"),
    )
}
