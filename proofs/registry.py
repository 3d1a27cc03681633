"""Every theorem check copyavg knows, in the order `copyavg verify` runs them."""

from __future__ import annotations


def all_checks() -> dict:
    """theorem id -> zero-argument callable returning a Certificate."""
    from . import (ca_additive, ca_critical, collinear, from_loss, kernels, one_neuron, one_neuron_pl, one_neuron_reduction,
                   optimal_ca, stability, universal_ca, universal_one_neuron)

    checks = {}
    for module in (kernels, collinear, one_neuron, one_neuron_reduction, one_neuron_pl, universal_one_neuron,
                   ca_critical, from_loss, ca_additive, optimal_ca, universal_ca, stability):
        checks.update(module.all_checks())
    return checks
