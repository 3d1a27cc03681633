"""Every theorem check copyavg knows, in the order `copyavg verify` runs them."""

from __future__ import annotations


def all_checks(heavy: bool = False) -> dict:
    """theorem id -> zero-argument callable returning a Certificate.

    ``heavy``: also the heavier certificate sets (``copyavg verify --heavy``; ``copyavg derive
    --docs``): the quadrature-family one-neuron evidence and certified local minimisers
    (``one-neuron-local:*``), the average profiles' global minima (``one-neuron-profile:*``, at
    ``m = 2``), one-neuron:gelu at m = 2..20, CA criticality on those local minimisers
    (``ca-critical:tanh`` .. ``ca-critical:silu``) and the
    thresholds change points at k = 100 ... 10^4 (``heavy_checks``).
    """
    from . import (ca_critical, ca_critical_more, ca_decomposition, collinear, from_loss, kernels, one_neuron,
                   one_neuron_gelu, one_neuron_monomial, one_neuron_pl, one_neuron_reduction, optimal_ca, stability,
                   universal_ca, universal_one_neuron)

    checks = {}
    for module in (kernels, collinear, one_neuron, one_neuron_reduction, one_neuron_pl, universal_one_neuron,
                   one_neuron_monomial):
        checks.update(module.all_checks())
    checks.update(one_neuron_gelu.all_checks(heavy))
    if heavy:
        from . import one_neuron_hermite, one_neuron_profile

        checks.update(one_neuron_hermite.all_checks())
        checks.update(one_neuron_profile.all_checks())
    for module in (ca_critical, from_loss, ca_decomposition, optimal_ca, universal_ca, ca_critical_more, stability):
        checks.update(module.all_checks())
    if heavy:
        from . import ca_critical_quadrature

        checks.update(ca_critical_quadrature.heavy_checks())
        checks.update(stability.heavy_checks())
    return checks


def heavy_checks() -> dict:
    """The opt-in thresholds checks (part of ``all_checks(heavy=True)``): the change points of docs/theory.md §8 at k = 100 ... 10^4."""
    from . import stability

    return stability.heavy_checks()
