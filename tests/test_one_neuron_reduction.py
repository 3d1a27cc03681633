"""The reduction of the one-neuron problem to order parameters (docs/theory.md §4 claim 4b)."""

import numpy as np
import sympy as sp

from copyavg.proofs import one_neuron_reduction as R
from copyavg.proofs.certificates import Status


def test_chain_rule_holds_for_a_generic_kernel():
    assert all(res == 0 for _, res in R.chain_rule_residuals(2, 1))


def test_wrong_order_parameter_map_is_caught():
    # c_j = y_j instead of rho y_j: the loss identity and the y-derivatives must fail (rho symbolic)
    bad = [lab for lab, res in R.chain_rule_residuals(1, 1, c_scale=1) if res != 0]
    assert any(lab.startswith("L(a, w)") for lab in bad)
    assert any(lab.startswith("dL/dy_1") for lab in bad)


def test_wrong_chain_rule_is_caught():
    # dq/dz = z instead of 2 z: caught in step 1 and breaks the lift of step 3
    assert any(res != 0 for lab, res in R.chain_rule_residuals(1, 1, q_factor=1) if lab.startswith("dL/dz"))
    assert any(res != 0 for _, res in R.lift_residuals(q_factor=1))
    assert all(res == 0 for _, res in R.lift_residuals())


def test_image_and_slope_steps():
    assert all(res == 0 for _, res in R.image_residuals())
    ok, _ = R.slope_positive("erf2")
    assert ok
    assert R.one_neuron_reduction_erf("erf2").status == Status.PROVED


def test_orthogonal_gradient_matches_generic_formula_numerically():
    """Independent route: central finite differences of the float64 loss (erf2) at a point with an
    orthogonal component, against 2 z L_q, L_q from finite differences of L_op in q (mpmath kernel)."""
    import mpmath

    from copyavg.numeric import loss

    a, y, z, rho_ = 0.7, np.array([0.4, -0.3]), 0.5, 1.0
    W = np.array([[y[0], y[1], z]])
    V = np.array([[rho_, 0, 0], [0, rho_, 0]])
    b = np.ones(2)
    h = 1e-5
    Wp, Wm = W.copy(), W.copy()
    Wp[0, 2] += h
    Wm[0, 2] -= h
    fd = (loss(np.array([a]), Wp, b, V, "erf2") - loss(np.array([a]), Wm, b, V, "erf2")) / (2 * h)

    def g(x, yy, c):  # erf2 kernel, closed form (docs/theory.md §2)
        return 2 / mpmath.pi * mpmath.asin(c / mpmath.sqrt((1 + x) * (1 + yy)))

    def Lop(qq):
        return a**2 * g(qq, qq, qq) - 2 * a * sum(g(qq, rho_**2, rho_ * yj) for yj in y)

    with mpmath.workdps(30):
        Lq = mpmath.diff(Lop, float(y @ y + z**2))
    # central difference with h = 1e-5 on an O(1) loss: truncation ~h^2 = 1e-10, rounding
    # ~1e-16/h = 1e-11; 1e-8 leaves a margin and still separates 2 z L_q from z L_q (|L_q| > 0.1)
    assert abs(Lq) > 0.1
    assert abs(fd - 2 * z * float(Lq)) < 1e-8


def test_generic_ca_gradient_reduction_can_fail():
    """The CA gradient of an undefined kernel reduces to I1, I2, J0, J1, J3; a wrong chain factor in
    the claimed own-group form (d|w|^2/d eps = r/sqrt m instead of 2r/sqrt m) leaves a residual."""
    from copyavg.proofs.from_loss import ca_generic_residuals

    assert all(e == 0 for _, e in ca_generic_residuals())
    bad = [lab for lab, e in ca_generic_residuals(own_factor=1) if e != 0]
    assert len(bad) == 1 and "S_i" in bad[0]


def test_ca_loss_decomposition_can_fail():
    """The CA loss of an undefined kernel is sum of group losses plus cross terms a_i J0 - m_i J0(1);
    doubling the cross terms (a plausible bookkeeping slip: ordered vs unordered pairs) is caught."""
    from copyavg.proofs import ca_decomposition as CA

    import time

    t0 = time.perf_counter()
    cert = CA.ca_loss_decomposition()
    assert 0 <= cert.seconds <= time.perf_counter() - t0
    assert cert.status == Status.PROVED and cert.theorem == "ca-loss-decomposition:generic"
    assert len(cert.evidence) == 1 + 9 + 3  # degree step, the 3 x 3 two-group grid, three-group partitions
    assert all(e.startswith("[ok]") for e in cert.evidence)
    assert all(r == 0 for _, r in CA.decomposition_residuals())  # the default form is the true one
    assert CA.full_pair_sum((1, 2)) - CA.claimed_form(2, (1, 2)) == 0
    assert CA.full_pair_sum((2, 1, 1)) - CA.claimed_form(3, (2, 1, 1), j0_factor=2) != 0
    assert CA.full_pair_sum((2, 2)) - CA.claimed_form(2, (2, 2), j0_factor=0) != 0


def test_ca_loss_decomposition_certificate_is_not_proved_for_a_wrong_form():
    from copyavg.proofs import ca_decomposition as CA

    cert = CA.ca_loss_decomposition(j0_factor=2)
    assert cert.status == Status.UNDECIDED and cert.residual != "0"
    assert sum(e.startswith("[UNDECIDED] partition") for e in cert.evidence) == 9 + 3  # every instance fails
    assert cert.evidence[0].startswith("[ok]")  # the degree step does not depend on the factor
    assert 0 <= cert.seconds < 600


def test_ca_loss_decomposition_helpers():
    """The polynomial-identity argument needs a full grid of 3 distinct sizes per group and
    coefficients of degree <= 2; the exchange symmetry acts on the first two arguments only."""
    from copyavg.proofs import ca_decomposition as CA

    firsts, seconds = {p[0] for p in CA.GRID2}, {p[1] for p in CA.GRID2}
    assert len(firsts) == len(seconds) == 3 and set(CA.GRID2) == {(x, y) for x in firsts for y in seconds}
    assert len(set(CA.THREE)) == len(CA.THREE) and all(len(p) == 3 for p in CA.THREE)
    m1, m2, x, c = sp.symbols("m1 m2 x c")
    assert CA.degree_ok(m1**2 * m2**2 * CA.g(x, 1, c) + m1 * CA.g(1, 1, 0), (m1, m2))
    assert not CA.degree_ok(m1**3 * CA.g(x, 1, c), (m1, m2))
    assert not CA.degree_ok(CA.g(x, 1, c) ** 2, (m1, m2))  # not linear in the g-terms
    assert CA._canon(CA.g(1, x, c)) == CA._canon(CA.g(x, 1, c))
    assert CA._canon(CA.g(x, 1, c)).args[2] == c and CA._canon(CA.g(c, 1, x)).args[2] == x
