r"""The three change points along n of any k, located and then certified (erf2).

``certify_k(k)`` first *locates* the change points (``copyavg.numeric.thresholds_locate.locate``,
float64 rows, bracketing and bisection), then runs the stability certificates of
``copyavg.proofs.stability`` on each located ``n``:

* ``pnc_minimum``: ``pnc_stability_change(k, n)`` - the P-n-C point is a saddle at n, a strict
  local minimum at n + 1;
* ``ca_saddle``: ``ca_stability_change(k, n)`` - the optimal CA point is a strict local minimum
  at n, a saddle at n + 1;
* ``loss_crossing``: ``pnc_ca_loss_crossing(k, n)`` - the P-n-C loss is above the optimal CA loss
  at n and below it at n + 1.

What is proved is only "property false at n, true at n + 1" for the located n. The locate step's
premise - a single change of each property along n - is *not* part of the certificate (the
bisection evaluates O(log k) rows and checks them against a single change, ``consistent``).
Located n outside the certificates' range ``lo <= n <= k - 2`` (``lo = 4`` for the CA point, 3
for the others: the block code needs at least three copies, and n + 1 < k) give an undecided
certificate saying so. A property with no change located gets no certificate (None): that no
change exists is float evidence only.
"""

from __future__ import annotations

import time

from .certificates import Certificate, Status

__all__ = ["PREMISE", "WHICH", "certify_k", "range_certificate"]

#: property -> (certificate function name in copyavg.proofs.stability, certificate id prefix,
#: smallest n it covers: the blocks need three copies, n - 1 of them at the CA point, n at P-n-C)
WHICH = {"pnc_minimum": ("pnc_stability_change", "pnc-stability-change", 3),
         "ca_saddle": ("ca_stability_change", "ca-stability-change", 4),
         "loss_crossing": ("pnc_ca_loss_crossing", "pnc-ca-loss-crossing", 3)}

PREMISE = ("each certificate proves the property false at the located n and true at n + 1; that the "
           "property changes only once along n (the premise of the bisection that located n) is not "
           "part of the certificate")


def range_certificate(k: int, which: str, n: int) -> Certificate:
    """The undecided certificate for a located ``n`` outside ``lo <= n <= k - 2``."""
    lo = WHICH[which][2]
    return Certificate(theorem=f"{WHICH[which][1]}:erf2-k{k}",
                       statement=f"erf2, k = {k}: the change of {which} between n = {n} and n = {n + 1}",
                       assumptions=(), status=Status.UNDECIDED,
                       method="none: outside the range of the block certificates",
                       residual=f"n = {n} outside {lo} <= n <= k - 2 = {k - 2} (the symmetry blocks need at "
                                "least three copies; n + 1 < k)")


def certify_k(k: int, callback=None) -> dict:
    """Locate the three change points at ``k`` (erf2) and certify each.

    Parameters
    ----------
    k : int
        Number of teacher neurons, ``5 <= k <= 10**6``.
    callback : callable, optional
        Called with a short string before each step (progress).

    Returns
    -------
    dict
        ``{"k", "brackets", "consistent", "evaluated", "certificates", "seconds"}``;
        ``certificates`` maps each key of ``WHICH`` to a ``Certificate`` or None (no change located).

    Raises
    ------
    ValueError
        Bad ``k`` or a failed float solve in the locate step.
    """
    from copyavg.numeric.thresholds_locate import locate

    from . import stability

    if not isinstance(k, int) or isinstance(k, bool) or not 5 <= k <= 10**6:
        raise ValueError(f"k must be an integer with 5 <= k <= 10**6, got {k!r}")
    t0 = time.perf_counter()
    note = callback or (lambda s: None)
    note(f"k = {k}: locate")
    found = locate(k, "erf2")
    certs = {}
    for which, (fn, _, lo) in WHICH.items():
        br = found["brackets"][which]
        if br is None:
            certs[which] = None
            continue
        n = br[0]
        note(f"k = {k}: {which} n = {n}/{n + 1}")
        certs[which] = getattr(stability, fn)(k, n) if lo <= n <= k - 2 else range_certificate(k, which, n)
    return {"k": k, "brackets": found["brackets"], "consistent": found["consistent"],
            "evaluated": found["evaluated"], "certificates": certs, "seconds": time.perf_counter() - t0}
