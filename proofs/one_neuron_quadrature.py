r"""docs/theory.md §11: the one-neuron problem for tanh, softplus, sigmoid, silu (quadrature kernels).

``one-neuron:NAME`` (opt-in: ``copyavg verify --heavy``): the claim "on the average profile the
one-neuron loss has a unique minimising ``|w|`` (a root of ``dF/dt``), and the average is the best
direction" stays undecided. Their pair kernel is a 2-D Gaussian quadrature with a float error bound
(about 1e-10 of its scale, ``copyavg.numeric.series``). A local minimiser of the average profile
is certified separately (``one-neuron-local:NAME``, ``copyavg.proofs.one_neuron_hermite``: arb
enclosures of the kernel by its Hermite series); its uniqueness is not. The evidence: the float optimum of the average and copy profiles, the
loss at ``t* +- 1e-3`` (above the optimum by far more than the kernel error), the number of local
maxima of ``F`` on a 120-point grid of ``|w|``, and for silu and softplus (``sigma(tz)/t -> relu``)
the ``|w| -> infinity`` limit, which for silu at m >= 3 is below every searched finite ``|w|``, and the
full-space multi-start search of ``copyavg.numeric.one_neuron_search`` (every direction, not only
average and copy).
"""

from __future__ import annotations

import math
import time

from .certificates import Certificate, Status

NAMES = ("tanh", "softplus", "sigmoid", "silu")


def _profile_F(name: str, m: int, kind: str = "average"):
    import numpy as np

    from copyavg.numeric.kernels import pair_kernel

    one = np.ones(1)

    def F(tv: float) -> float:
        q = np.array([tv * tv])
        if kind == "average":
            G = m * pair_kernel(name, q, one, one * (tv / math.sqrt(m)))[0]
        else:
            G = pair_kernel(name, q, one, one * tv)[0] + (m - 1) * pair_kernel(name, q, one, 0 * one)[0]
        return float(G * G / pair_kernel(name, q, q, q)[0])

    return F


def _evidence(name: str, mv: int) -> tuple[str, bool]:
    from copyavg.numeric.activations import get_activation
    from copyavg.numeric.one_neuron_any import profile_optimum

    t_max = float(get_activation(name).params["max_norm"])
    avg, cp = profile_optimum(name, mv, "average"), profile_optimum(name, mv, "copy")
    F = _profile_F(name, mv)
    ts = avg["norm"]
    lo = 1e-3 / math.sqrt(mv)
    grid = [lo * (t_max / lo) ** (i / 119) for i in range(120)]
    vals = [F(x) for x in grid]
    peaks = sum(1 for i in range(1, 119) if vals[i] > vals[i - 1] and vals[i] > vals[i + 1])
    note = (f"m = {mv}: average profile optimum |w| = {ts:.8f}, a = {avg['a']:.8f}, L = {avg['loss']:.10f}"
            f"{' (at the end of the searched range)' if avg['boundary'] else ''}; copy profile L = {cp['loss']:.10f}; "
            f"{peaks} local maxima of F on the grid")
    interior = not avg["boundary"]
    if interior:
        Fs = F(ts)
        drop = Fs - max(F(ts - 1e-3), F(ts + 1e-3))
        note += f"; F(t*) - max F(t* +- 1e-3) = {drop:.2e} (kernel error ~1e-10)"
        interior = drop > 1e-8  # a strict local maximum resolved above the float kernel's error
    reported = avg["loss"]
    if name in ("silu", "softplus"):
        from copyavg.numeric.one_neuron_limits import relu_limit

        lim = relu_limit(name, mv)
        note += f"; |w| -> infinity limit L = {lim['loss']:.10f}"
        interior = interior and lim["loss"] > avg["loss"]
        reported = min(reported, lim["loss"])
    from copyavg.numeric.one_neuron_search import search_evidence

    srch = search_evidence(name, mv, reported)
    gaps = [srch["gap"]] + ([srch["gap_limit"]] if srch["gap_limit"] is not None else [])
    note += (f"; full-space multi-start over w in R^(m+1) ({srch['search']['starts']} random starts, "
             f"{srch['search']['structured']} two-value families{', and the |w| -> infinity directions' if len(gaps) > 1 else ''}): "
             f"best loss found minus the average's = {min(gaps):.1e}{' (BELOW)' if srch['below'] else ''}")
    return note, interior and peaks == 1 and not srch["below"]


def one_neuron_quadrature(name: str) -> Certificate:
    t0 = time.perf_counter()
    ev = []
    unimodal = []
    for mv in (2, 5):
        note, ok = _evidence(name, mv)
        ev.append(note)
        unimodal.append(ok)
    ev.append("not certified: the direction (the full-space search above is float evidence), and uniqueness of the "
              "critical point on the profile (one-neuron-local:" + name + " certifies a local minimiser in an interval; "
              "one-neuron-profile:" + name + ", for tanh and sigmoid at the m it lists, that the profile's global "
              "minimum lies in a 1e-3 bracket around it)")
    summary = ("interior optimum, one grid maximum" if all(unimodal) else
               "the optimum is not a single interior maximum at every m tried")
    return Certificate(
        theorem=f"one-neuron:{name}",
        statement=(f"sigma = {name}, unit orthonormal teacher, m >= 2: on the average profile the one-neuron loss has a "
                   "unique minimising |w| (the root of dF/dt), and the average direction is optimal among all"),
        assumptions=("x ~ N(0, I_d); teacher v_j = e_j, b_j = 1; loss E[(f - f*)^2] (no 1/2)",
                     "kernel: the quadrature family (float, error bound ~1e-10 of its scale)"),
        status=Status.UNDECIDED, method="numeric evidence (float profiles, grid scan, limits)",
        residual=summary, evidence=tuple(ev), expected=Status.UNDECIDED,
        seconds=time.perf_counter() - t0,
    )


def all_checks() -> dict:
    return {f"one-neuron:{n}": (lambda n=n: one_neuron_quadrature(n)) for n in NAMES}
