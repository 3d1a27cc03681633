r"""The one-neuron problem for the homogeneous activations ``z^p`` (``monomial2`` .. ``monomial5``).

``sigma(t z) = t^p sigma(z)``, so for ``w = t u`` (``|u| = 1``) the student ``a sigma(w.x)`` only
depends on ``A = a t^p`` and ``u``: only the product ``a |w|^p`` is fixed (we report ``|w| = 1``,
``a = A``, as for the piecewise-linear family). With the unit teacher ``v_j = e_j``, ``b_j = 1``:
``G(u) = sum_j h(u_j)``, ``h(c) = E[z1^p z2^p]`` at correlation ``c`` (``HERMITE_WEIGHTS``: the
Hermite expansion ``h(c) = sum_k c_k^2 k! c^k``), ``s = (2p - 1)!!``, best ``A = G/s``, loss
``L = T - G^2/s`` with ``T = m s + m (m - 1) h(0)``. The direction problem is ``max |sum_j h(u_j)|``
on the unit sphere of the teacher span (``h`` is increasing in ``|c|``, so the optimum has no
component outside the span and, ``h`` being even or odd, non-negative ``u_j``).

KKT on ``y_j = u_j^2``: ``h'(s)/(2 s)`` (``s = sqrt(y)``) takes one common value at every non-zero
coordinate. For odd ``p`` that function of ``s`` is strictly convex and infinite at ``s = 0``, so
every critical point has all ``m`` coordinates positive and at most two distinct values: ``k``
coordinates at ``s2`` and ``m - k`` at ``s1 <= s2``. The global maximum is therefore the best point
of the one-parameter families ``FAMILY(k)`` (``k = 0..m``), each maximised here numerically; for
even ``p``, ``h(sqrt y)`` is affine (p = 2: every unit ``u`` ties) or convex (p = 4: the copy).
Proofs: ``one-neuron:monomialP`` and ``one-neuron-optimum:monomialP`` (docs/theory.md §11).
"""

from __future__ import annotations

import math

import numpy as np

from .one_neuron import _check_m


#: largest integer m whose KKT families are searched (monomial5; beyond: average vs copy only)
FAMILY_M_MAX = 200


def hermite_weights(p: int) -> dict:
    """``{k: c_k^2 k!}`` with ``z^p = sum_k c_k He_k(z)``: ``E[z1^p z2^p] = sum_k c_k^2 k! c^k``.

    Parameters
    ----------
    p : int
        The power, ``1 <= p <= 12``.

    Returns
    -------
    dict
        Degree ``k`` (same parity as ``p``) -> coefficient (int).

    Raises
    ------
    ValueError
        ``p`` not an integer in ``[1, 12]``.

    Examples
    --------
    >>> hermite_weights(3)  # E[z1^3 z2^3] = 9 c + 6 c^3
    {1: 9, 3: 6}
    """
    if not isinstance(p, (int, np.integer)) or not 1 <= p <= 12:
        raise ValueError(f"p must be an integer in [1, 12], got {p!r}")
    out = {}
    for k in range(p % 2, p + 1, 2):
        j = (p - k) // 2
        ck = math.factorial(p) // (math.factorial(k) * math.factorial(j) * 2**j)
        out[k] = ck * ck * math.factorial(k)
    return out


def _h(p: int, c):
    return sum(w * c**k for k, w in hermite_weights(p).items())


def _power(name: str) -> int:
    if not (isinstance(name, str) and name.startswith("monomial") and name[8:] in ("2", "3", "4", "5")):
        raise ValueError(f"activation must be one of monomial2 .. monomial5, got {name!r}")
    return int(name[8:])


def _family_best(p: int, m: int, k: int) -> tuple[float, float, float]:
    """``max G`` on the family: ``k`` coordinates at ``s2``, ``m - k`` at ``s1 <= s2``, unit norm;
    returns ``(G, s1, s2)`` (grid of 401 points on ``s1 in [0, 1/sqrt m]``, then bounded Brent)."""
    from scipy.optimize import minimize_scalar

    top = 1 / math.sqrt(m)

    def G(s1):
        s2 = math.sqrt(max(1 - (m - k) * s1 * s1, 0.0) / k)
        return k * _h(p, s2) + (m - k) * _h(p, s1)

    grid = np.linspace(0.0, top, 401)
    vals = [G(s) for s in grid]
    i = int(np.argmax(vals))
    s1, best = float(grid[i]), vals[i]
    if 0 < i < len(grid) - 1:
        r = minimize_scalar(lambda s: -G(s), bounds=(grid[i - 1], grid[i + 1]), method="bounded",
                            options={"xatol": 1e-14})
        if -r.fun > best:
            s1, best = float(r.x), -r.fun
    return best, s1, math.sqrt(max(1 - (m - k) * s1 * s1, 0.0) / k)


def homogeneous_one_neuron(activation: str, m) -> dict:
    """The one-neuron optimum of ``monomial2`` .. ``monomial5`` against ``m`` unit teacher neurons.

    Parameters
    ----------
    activation : str
        ``"monomial2"`` .. ``"monomial5"``.
    m : real
        Number of teacher neurons, ``m >= 1``; the global direction search needs an integer ``m``
        (otherwise only the average and copy formulas are compared).

    Returns
    -------
    dict
        ``norm`` (1.0: only ``a |w|^p`` is fixed), ``a`` (``= a |w|^p``), ``loss``, ``direction``
        (``"average"``, ``"copy"``, ``"any"`` or ``"split"``), ``cosines`` (the sorted ``|u_j|``
        of the optimum, integer ``m <= FAMILY_M_MAX``, else None), ``families_searched`` (False for
        monomial5 with ``m > FAMILY_M_MAX``: average vs copy only), and the average point ``norm_average`` (1.0),
        ``a_average``, ``loss_average``; ``only_product_fixed`` is True.

    Raises
    ------
    ValueError
        Not a monomial activation, ``m < 1``.

    Examples
    --------
    >>> sol = homogeneous_one_neuron("monomial3", 3)  # average: G = 3 h(1/sqrt 3) = 11 sqrt 3, s = 15, a = G/s
    >>> sol["direction"], round(sol["loss"], 12), round(sol["a"], 12)
    ('average', 20.8, 1.270170592217)
    """
    p = _power(activation)
    mf = _check_m(m)
    s = float(math.prod(range(1, 2 * p, 2)))
    T = mf * s + mf * (mf - 1) * _h(p, 0.0)
    G_avg = mf * _h(p, 1 / math.sqrt(mf))
    G_copy = _h(p, 1.0) + (mf - 1) * _h(p, 0.0)
    best = {"G": G_avg, "direction": "average", "cosines": None}
    if mf.is_integer() and mf > 1:
        mi = int(mf)
        if p == 2:
            best["direction"] = "any"
        elif p == 4:
            best = {"G": G_copy, "direction": "copy", "cosines": None}
        elif p == 3:  # the average is the unique optimum (one-neuron-optimum:monomial3)
            pass
        elif mi > FAMILY_M_MAX:
            best["direction"] = "average" if G_avg >= G_copy else "copy"
            best["G"] = max(G_avg, G_copy)
            best["unsearched"] = True
        else:  # p = 5: the KKT families (module docstring)
            fam = [_family_best(p, mi, k) for k in range(1, mi + 1)]
            k = int(np.argmax([f[0] for f in fam]))
            G, s1, s2 = fam[k]
            k += 1
            if G > G_avg * (1 + 1e-13):  # a family point strictly better than the average
                direction = "copy" if s1 < 1e-7 and k == 1 else "split"
                best = {"G": G, "direction": direction,
                        "cosines": sorted([s2] * k + [s1] * (mi - k), reverse=True)}
    elif not mf.is_integer() and G_copy > G_avg:  # real m: the formal copy profile only
        best = {"G": G_copy, "direction": "copy", "cosines": None}
    if best["cosines"] is None and mf.is_integer() and mf <= FAMILY_M_MAX:
        best["cosines"] = ([1.0] + [0.0] * (int(mf) - 1)) if best["direction"] == "copy" else [1 / math.sqrt(mf)] * int(mf)
    return {"norm": 1.0, "a": float(best["G"] / s), "loss": float(T - best["G"] ** 2 / s), "direction": best["direction"],
            "cosines": [float(c) for c in best["cosines"]] if best["cosines"] else None, "norm_average": 1.0, "a_average": G_avg / s,
            "loss_average": T - G_avg**2 / s, "only_product_fixed": True,
            "families_searched": not best.get("unsearched", False)}
