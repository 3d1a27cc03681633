"""Every theorem check copyavg knows, in the order `copyavg verify` runs them."""

from __future__ import annotations


def all_checks(heavy: bool = False) -> dict:
    """theorem id -> zero-argument callable returning a Certificate.

    ``heavy``: also the heavier certificate sets (``copyavg verify --heavy``; ``copyavg derive
    --docs``): the quadrature-family one-neuron evidence and one-neuron:gelu at m = 2..20.
    """
    from . import (ca_critical, collinear, from_loss, kernels, one_neuron, one_neuron_gelu, one_neuron_monomial,
                   one_neuron_pl, optimal_ca, stability, universal_ca, universal_one_neuron)

    checks = {}
    for module in (kernels, collinear, one_neuron, one_neuron_pl, universal_one_neuron, one_neuron_monomial):
        checks.update(module.all_checks())
    checks.update(one_neuron_gelu.all_checks(heavy))
    for module in (ca_critical, from_loss, optimal_ca, universal_ca, stability):
        checks.update(module.all_checks())
    return checks
