"""End points that are one critical point up to the loss's symmetries share one Hessian record.

With the sweep's teacher (``b = 1``, ``V = eye(k, d)``) the loss is invariant under permutations of
the student neurons, permutations of the first ``k`` input coordinates (they permute the teacher
neurons) and, for odd activations, the sign flips ``(a_i, w_i) -> (-a_i, -w_i)``. The end-point
classifier (``copyavg.numeric.endpoints``) measures the distance of a P-n-C or CA end point to its
reference point after mapping it by such a symmetry. When that distance is at most
``SYMMETRIC_DISTANCE``, the end point is an image of the reference point to that accuracy and its
Hessian is the reference point's Hessian conjugated by a signed permutation matrix (the same
spectrum) up to a perturbation of order ``distance * |third derivatives|``: the order by which any
polished end point's own Hessian already differs from that of the exact critical point (the end
points of the committed erf2 k = 50 sweep lie 8e-13 to 9e-10 from their reference points). All
such end points of one width, type and partition (at n = 45 all 20 seeds end at the one P-n-C
point) then get the Hessian record (inertia counts, extreme eigenvalues, type) of the first one
that this process classified, rather than one dense spectrum each (``O(N^3)``: about 1.4 s at
``N = 2548``, a third of a run).
"""

from __future__ import annotations

import numpy as np

#: largest distance (Euclidean in theta) to the reference point for sharing the Hessian record
SYMMETRIC_DISTANCE = 1e-8
#: the shared records must also agree in loss (the same critical value) to this absolute tolerance
SYMMETRIC_LOSS_TOL = 1e-10
_MAX_ENTRIES = 1024
_RECORDS: dict = {}


def shared_hessian_record(spec, kind: str, partition, distance, a, loss: float, grad_max: float,
                          compute) -> dict:
    """``compute()`` (the end point's Hessian record), or the record of an earlier end point that is
    the same critical point up to the symmetries (see the module docstring).

    ``spec`` is the run's ``RunSpec`` (unit-orthonormal teacher, both layers trained: the caller
    checks that); ``kind``, ``partition`` and ``distance`` come from the classifier; ``a`` is the
    end point's second layer (sign flips are symmetries only for odd activations, so with an even
    one every ``a_i`` must be ``>= 0``)."""
    from copyavg.numeric.activations import get_activation

    from .runs import CRITICAL_GRAD

    usable = (kind in ("pnc", "ca", "ca-optimal") and distance is not None
              and distance <= SYMMETRIC_DISTANCE and grad_max <= CRITICAL_GRAD
              and (get_activation(spec.activation).odd or bool(np.all(np.asarray(a) >= 0))))
    if not usable:
        return compute()
    key = (spec.activation, spec.k, spec.n, spec.d, kind, tuple(partition) if partition else None)
    hit = _RECORDS.get(key)
    if hit is not None and abs(hit[0] - loss) <= SYMMETRIC_LOSS_TOL:
        return {"inertia": dict(hit[1]["inertia"]), "hessian_type": hit[1]["hessian_type"]}
    rec = compute()
    if rec.get("inertia") is not None and rec["inertia"].get("method") == "dense":
        if len(_RECORDS) >= _MAX_ENTRIES:
            _RECORDS.clear()
        _RECORDS[key] = (float(loss), {"inertia": dict(rec["inertia"]), "hessian_type": rec["hessian_type"]})
    return rec
