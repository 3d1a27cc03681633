# *** GENERATED FILE: DO NOT EDIT ***
# Rendered by `copyavg derive` from the kernels derived in copyavg.symbolic.kernels.
# sympy 1.14.0; source expressions sha256 85fdbc7ba0b3ef737af85553af1f12f4a717d1733797278f425eb27af892516f
# Regenerate with `copyavg derive`; `copyavg derive --check` verifies this file is fresh.
"""Generated pair kernels g(C11, C22, C12) and their partial derivatives (numpy)."""

import numpy
from numpy import arcsin, arctan, arctan2, cos, cosh, exp, nan, pi, sin, sinh, sqrt


def _full(like, value):
    return numpy.full(numpy.shape(like), float(value))


def erf2_pair0(C11, C22, C12, D):
    return 2*arctan(C12/sqrt(C11 + C22 + D + 1))/pi


def erf2_pair1(C11, C22, C12, D):
    x0 = C22 + 1
    x1 = C11 + D + x0
    x2 = 1/sqrt(x1)
    x3 = C12*x2
    x4 = pi**(-1.0)
    x5 = 2*x4
    x6 = x3*x4/(C12**2 + x1)
    return (
        x5*arctan(x3),
        -x0*x6,
        -x6*(C11 + 1),
        x2*x5,
    )


def erf2_pair2(C11, C22, C12, D):
    x0 = C22 + 1
    x1 = C11 + D + x0
    x2 = 1/sqrt(x1)
    x3 = C12*x2
    x4 = pi**(-1.0)
    x5 = 2*x4
    x6 = C12**2
    x7 = x1 + x6
    x8 = x3*x4/x7
    x9 = C11 + 1
    x10 = 3*C11 + 3*C22 + 3*D + x6 + 3
    x11 = x1**(-3/2)
    x12 = x11*x4
    x13 = x0*x12
    x14 = (1/2)*C12/x7**2
    x15 = 2*x1
    x16 = C11*x10
    x17 = x12*x9
    return (
        x5*arctan(x3),
        -x0*x8,
        -x8*x9,
        x2*x5,
        x13*x14*(C22*x10 + x10),
        x12*x14*(x0*x15 + x0*x16 + x0*x7 - x15*x7),
        -x13,
        x14*x17*(x10 + x16),
        -x17,
        C12*x11*x5,
    )


def erf2_grad1(C11, C22, C12, D):
    x0 = C22 + 1
    x1 = C11 + D + x0
    x2 = 1/sqrt(x1)
    x3 = C12*x2
    x4 = pi**(-1.0)
    x5 = 2*x4
    return (
        x5*arctan(x3),
        -x0*x3*x4/(C12**2 + x1),
        x2*x5,
    )


def erf2_diag2(q):
    x0 = 2*q + 1
    x1 = 1/sqrt(x0)
    x2 = 2/pi
    x3 = q + 1
    return (
        x2*arctan(q*x1),
        x1*x2/x3,
        -x2*(3*q + 2)/(x0**(3/2)*x3**2),
    )


def erf2_one_neuron(m, rho):
    x0 = rho**2
    x1 = (m*x0 + m - x0)**(-1.0)
    x2 = m*rho*sqrt(x1)
    x3 = x0/(x0 + 1)
    x4 = -2*m*(m*arcsin(x3/m) - arcsin(x3))/pi
    return (
        x0*x1,
        m,
        x2,
        x4,
        x2,
        x4,
    )


def erf_pair0(C11, C22, C12, D):
    return 2*arctan(2*C12/sqrt(2*C11 + 2*C22 + 4*D + 1))/pi


def erf_pair1(C11, C22, C12, D):
    x0 = pi**(-1.0)
    x1 = 2*C11
    x2 = 2*C22 + 1
    x3 = 4*D + x1 + x2
    x4 = 1/sqrt(x3)
    x5 = C12*x4
    x6 = 4*x0
    x7 = x5*x6/(4*C12**2 + x3)
    return (
        2*x0*arctan(2*x5),
        -x2*x7,
        -x7*(x1 + 1),
        x4*x6,
    )


def erf_pair2(C11, C22, C12, D):
    x0 = pi**(-1.0)
    x1 = 2*C11
    x2 = 2*C22
    x3 = x2 + 1
    x4 = 4*D + x1 + x3
    x5 = 1/sqrt(x4)
    x6 = C12*x5
    x7 = 4*C12**2
    x8 = x4 + x7
    x9 = 4*x0
    x10 = x6*x9/x8
    x11 = x1 + 1
    x12 = 6*C11 + 6*C22 + 12*D + x7 + 3
    x13 = x4**(-3/2)
    x14 = x13*x9
    x15 = x14*x3
    x16 = C12/x8**2
    x17 = 2*x4
    x18 = x1*x12
    x19 = x11*x14
    return (
        2*x0*arctan(2*x6),
        -x10*x3,
        -x10*x11,
        x5*x9,
        x15*x16*(x12*x2 + x12),
        x14*x16*(x17*x3 - x17*x8 + x18*x3 + x3*x8),
        -x15,
        x16*x19*(x12 + x18),
        -x19,
        16*C12*x0*x13,
    )


def erf_grad1(C11, C22, C12, D):
    x0 = pi**(-1.0)
    x1 = 2*C22 + 1
    x2 = 2*C11 + 4*D + x1
    x3 = 1/sqrt(x2)
    x4 = C12*x3
    x5 = 4*x0
    return (
        2*x0*arctan(2*x4),
        -x1*x4*x5/(4*C12**2 + x2),
        x3*x5,
    )


def erf_diag2(q):
    x0 = pi**(-1.0)
    x1 = 4*q + 1
    x2 = 1/sqrt(x1)
    x3 = 2*q
    x4 = x3 + 1
    return (
        2*x0*arctan(x2*x3),
        4*x0*x2/x4,
        -16*x0*(3*q + 1)/(x1**(3/2)*x4**2),
    )


def erf_one_neuron(m, rho):
    x0 = rho**2
    x1 = 2*x0
    x2 = (m*x1 + m - x1)**(-1.0)
    x3 = m*rho*sqrt(x2)
    x4 = x1/(x1 + 1)
    x5 = -2*m*(m*arcsin(x4/m) - arcsin(x4))/pi
    return (
        x0*x2,
        m,
        x3,
        x5,
        x3,
        x5,
    )


def relu_pair0(C11, C22, C12, D):
    x0 = sqrt(D)
    return (1/4)*(2*C12*arctan2(C12, x0) + pi*C12 + 2*x0)/pi


def relu_pair1(C11, C22, C12, D):
    x0 = sqrt(D)
    x1 = 2*arctan2(C12, x0)
    x2 = (1/4)/pi
    x3 = x0*x2/(C12**2 + D)
    return (
        x2*(C12*x1 + pi*C12 + 2*x0),
        C22*x3,
        C11*x3,
        x2*(x1 + pi),
    )


def relu_pair2(C11, C22, C12, D):
    x0 = sqrt(D)
    x1 = 2*arctan2(C12, x0)
    x2 = pi**(-1.0)
    x3 = (1/4)*x2
    x4 = C12**2
    x5 = D + x4
    x6 = x3/x5
    x7 = x0*x6
    x8 = -D + x4
    x9 = x0**(-1.0)
    x10 = x2*x9
    x11 = (1/8)*x10/x5**2
    x12 = x11*x8
    x13 = C12*x6*x9
    return (
        x3*(C12*x1 + pi*C12 + 2*x0),
        C22*x7,
        C11*x7,
        x3*(x1 + pi),
        C22**2*x12,
        x11*(C11*C22*x8 + 2*D*x5),
        -C22*x13,
        C11**2*x12,
        -C11*x13,
        (1/2)*x10,
    )


def relu_grad1(C11, C22, C12, D):
    x0 = sqrt(D)
    x1 = 2*arctan2(C12, x0)
    x2 = (1/4)/pi
    return (
        x2*(C12*x1 + pi*C12 + 2*x0),
        C22*x0*x2/(C12**2 + D),
        x2*(x1 + pi),
    )


def relu_diag2(q):
    return (
        (1/2)*q,
        _full(q, 1/2),
        _full(q, 0),
    )


def relu_angular(theta):
    x0 = (1/2)/pi
    return (
        x0*sin(theta),
        -x0*(theta - pi),
        -x0,
    )


def relu_one_neuron(m, rho):
    x0 = sqrt(m)
    x1 = m - 1
    x2 = 2*sqrt(x1) + 2*arcsin(x0**(-1.0)) + pi
    x3 = (1/2)*rho*x0*x2/pi
    x4 = pi**2
    x5 = (1/8)*m*rho**2*(4*pi*x1 - x2**2 + 4*x4)/x4
    return (
        _full(rho, nan),
        _full(rho, nan),
        x3,
        x5,
        x3,
        x5,
    )


def linear_pair0(C11, C22, C12, D):
    return C12


def linear_pair1(C11, C22, C12, D):
    return (
        C12,
        _full(D, 0),
        _full(D, 0),
        _full(D, 1),
    )


def linear_pair2(C11, C22, C12, D):
    return (
        C12,
        _full(D, 0),
        _full(D, 0),
        _full(D, 1),
        _full(D, 0),
        _full(D, 0),
        _full(D, 0),
        _full(D, 0),
        _full(D, 0),
        _full(D, 0),
    )


def linear_grad1(C11, C22, C12, D):
    return (
        C12,
        _full(D, 0),
        _full(D, 1),
    )


def linear_diag2(q):
    return (
        q,
        _full(q, 1),
        _full(q, 0),
    )


def linear_angular(theta):
    return (
        _full(theta, 0),
        _full(theta, 1),
        _full(theta, 0),
    )


def linear_one_neuron(m, rho):
    x0 = sqrt(m)*rho
    return (
        _full(rho, nan),
        _full(rho, nan),
        x0,
        _full(rho, 0),
        x0,
        _full(rho, 0),
    )


def abs_pair0(C11, C22, C12, D):
    x0 = sqrt(D)
    return 2*(C12*arctan2(C12, x0) + x0)/pi


def abs_pair1(C11, C22, C12, D):
    x0 = sqrt(D)
    x1 = arctan2(C12, x0)
    x2 = pi**(-1.0)
    x3 = 2*x2
    x4 = x0*x2/(C12**2 + D)
    return (
        x3*(C12*x1 + x0),
        C22*x4,
        C11*x4,
        x1*x3,
    )


def abs_pair2(C11, C22, C12, D):
    x0 = sqrt(D)
    x1 = arctan2(C12, x0)
    x2 = pi**(-1.0)
    x3 = 2*x2
    x4 = C12**2
    x5 = D + x4
    x6 = x2/x5
    x7 = x0*x6
    x8 = -1/2*D + (1/2)*x4
    x9 = x0**(-1.0)
    x10 = x2*x9/x5**2
    x11 = x10*x8
    x12 = C12*x6*x9
    return (
        x3*(C12*x1 + x0),
        C22*x7,
        C11*x7,
        x1*x3,
        C22**2*x11,
        x10*(C11*C22*x8 + D*x5),
        -C22*x12,
        C11**2*x11,
        -C11*x12,
        x3*x9,
    )


def abs_grad1(C11, C22, C12, D):
    x0 = sqrt(D)
    x1 = arctan2(C12, x0)
    x2 = pi**(-1.0)
    x3 = 2*x2
    return (
        x3*(C12*x1 + x0),
        C22*x0*x2/(C12**2 + D),
        x1*x3,
    )


def abs_diag2(q):
    return (
        q,
        _full(q, 1),
        _full(q, 0),
    )


def abs_angular(theta):
    x0 = pi**(-1.0)
    x1 = 2*x0
    return (
        x1*sin(theta),
        -x0*(2*theta - pi),
        -x1,
    )


def abs_one_neuron(m, rho):
    x0 = 2*m
    x1 = x0 - 2 + pi
    x2 = rho/pi
    x3 = pi**2
    x4 = m - 1
    x5 = pi*x4
    x6 = rho**2/x3
    x7 = sqrt(m)
    x8 = sqrt(x4) + arcsin(x7**(-1.0))
    return (
        _full(rho, nan),
        _full(rho, nan),
        x1*x2,
        x6*(m*x3 + x0*x5 - x1**2),
        2*x2*x7*x8,
        m*x6*(x3 + 2*x5 - 4*x8**2),
    )


def leaky_relu_pair0(C11, C22, C12, D):
    x0 = sqrt(D)
    return (1/40000)*(19602*C12*arctan2(C12, x0) + 10201*pi*C12 + 19602*x0)/pi


def leaky_relu_pair1(C11, C22, C12, D):
    x0 = 10201*pi
    x1 = sqrt(D)
    x2 = 19602*arctan2(C12, x1)
    x3 = pi**(-1.0)
    x4 = (1/40000)*x3
    x5 = (9801/40000)*x1*x3/(C12**2 + D)
    return (
        x4*(C12*x0 + C12*x2 + 19602*x1),
        C22*x5,
        C11*x5,
        x4*(x0 + x2),
    )


def leaky_relu_pair2(C11, C22, C12, D):
    x0 = 10201*pi
    x1 = sqrt(D)
    x2 = 19602*arctan2(C12, x1)
    x3 = pi**(-1.0)
    x4 = (1/40000)*x3
    x5 = C12**2
    x6 = D + x5
    x7 = (9801/40000)/x6
    x8 = C22*x7
    x9 = x1*x3
    x10 = C11*x7
    x11 = -D + x5
    x12 = x3/x1
    x13 = (9801/80000)*x12/x6**2
    x14 = x11*x13
    x15 = C12*x12
    return (
        x4*(C12*x0 + C12*x2 + 19602*x1),
        x8*x9,
        x10*x9,
        x4*(x0 + x2),
        C22**2*x14,
        x13*(C11*C22*x11 + 2*D*x6),
        -x15*x8,
        C11**2*x14,
        -x10*x15,
        (9801/20000)*x12,
    )


def leaky_relu_grad1(C11, C22, C12, D):
    x0 = 10201*pi
    x1 = sqrt(D)
    x2 = 19602*arctan2(C12, x1)
    x3 = pi**(-1.0)
    x4 = (1/40000)*x3
    return (
        x4*(C12*x0 + C12*x2 + 19602*x1),
        (9801/40000)*C22*x1*x3/(C12**2 + D),
        x4*(x0 + x2),
    )


def leaky_relu_diag2(q):
    return (
        (10001/20000)*q,
        _full(q, 10001/20000),
        _full(q, 0),
    )


def leaky_relu_angular(theta):
    x0 = pi**(-1.0)
    x1 = (9801/20000)*x0
    return (
        x1*sin(theta),
        -1/20000*x0*(9801*theta - 10001*pi),
        -x1,
    )


def leaky_relu_one_neuron(m, rho):
    x0 = sqrt(m)
    x1 = m - 1
    x2 = 19602*sqrt(x1) + 19602*arcsin(x0**(-1.0)) + 10201*pi
    x3 = (1/20002)*rho*x0*x2/pi
    x4 = pi**2
    x5 = (1/800080000)*m*rho**2*(392079204*pi*x1 - x2**2 + 400080004*x4)/x4
    return (
        _full(rho, nan),
        _full(rho, nan),
        x3,
        x5,
        x3,
        x5,
    )


def hermite2_pair0(C11, C22, C12, D):
    return C11*C22 - C11 + 2*C12**2 - C22 + 1


def hermite2_pair1(C11, C22, C12, D):
    return (
        C11*C22 - C11 + 2*C12**2 - C22 + 1,
        C22 - 1,
        C11 - 1,
        4*C12,
    )


def hermite2_pair2(C11, C22, C12, D):
    return (
        C11*C22 - C11 + 2*C12**2 - C22 + 1,
        C22 - 1,
        C11 - 1,
        4*C12,
        _full(D, 0),
        _full(D, 1),
        _full(D, 0),
        _full(D, 0),
        _full(D, 0),
        _full(D, 4),
    )


def hermite2_grad1(C11, C22, C12, D):
    return (
        C11*C22 - C11 + 2*C12**2 - C22 + 1,
        C22 - 1,
        4*C12,
    )


def hermite2_diag2(q):
    return (
        3*q**2 - 2*q + 1,
        2*(3*q - 1),
        _full(q, 6),
    )


def hermite3_pair0(C11, C22, C12, D):
    x0 = 3*C11
    return 3*C12*(2*C12**2 + C22*x0 - 3*C22 - x0 + 3)


def hermite3_pair1(C11, C22, C12, D):
    x0 = 3*C11
    x1 = 2*C12**2
    x2 = 9*C12
    return (
        3*C12*(C22*x0 - 3*C22 - x0 + x1 + 3),
        x2*(C22 - 1),
        x2*(C11 - 1),
        9*C11*C22 - 9*C11 - 9*C22 + 9*x1 + 9,
    )


def hermite3_pair2(C11, C22, C12, D):
    x0 = 3*C11
    x1 = 2*C12**2
    x2 = C22 - 1
    x3 = 9*C12
    x4 = C11 - 1
    return (
        3*C12*(C22*x0 - 3*C22 - x0 + x1 + 3),
        x2*x3,
        x3*x4,
        9*C11*C22 - 9*C11 - 9*C22 + 9*x1 + 9,
        _full(D, 0),
        x3,
        9*x2,
        _full(D, 0),
        9*x4,
        36*C12,
    )


def hermite3_grad1(C11, C22, C12, D):
    x0 = 3*C11
    x1 = 2*C12**2
    return (
        3*C12*(C22*x0 - 3*C22 - x0 + x1 + 3),
        9*C12*(C22 - 1),
        9*C11*C22 - 9*C11 - 9*C22 + 9*x1 + 9,
    )


def hermite3_diag2(q):
    x0 = 5*q**2
    return (
        3*q*(-6*q + x0 + 3),
        -36*q + 9*x0 + 9,
        18*(5*q - 2),
    )


def hermite4_pair0(C11, C22, C12, D):
    x0 = 6*C11
    x1 = 6*C22
    x2 = C11**2
    x3 = 3*x2
    x4 = 24*C12**2
    x5 = C22**2
    x6 = C11*x4
    return 36*C11*C22 + 24*C12**4 - 3*C22*x4 + 3*C22*x6 - 3*x0*x5 - 3*x0 - 3*x1*x2 - 3*x1 + 3*x3*x5 + 3*x3 + 3*x4 + 9*x5 - 3*x6 + 9


def hermite4_pair1(C11, C22, C12, D):
    x0 = 6*C11
    x1 = 6*C22
    x2 = C11**2
    x3 = 3*x2
    x4 = C12**2
    x5 = 24*x4
    x6 = C22**2
    x7 = C11*x5
    x8 = 2*C22
    x9 = 4*x4
    x10 = -C11*x8 - x9 - 1
    x11 = 3*C11
    return (
        36*C11*C22 + 24*C12**4 - 3*C22*x5 + 3*C22*x7 - 3*x0*x6 - 3*x0 - 3*x1*x2 - 3*x1 + 3*x3*x6 + 3*x3 + 3*x5 + 9*x6 - 3*x7 + 9,
        18*C11*x6 + 18*C11 + 18*C22*x9 + 18*x10 - 18*x6 + 18*x8,
        18*C11*x9 + 36*C11 + 18*C22*x2 + 18*C22 + 18*x10 - 18*x2,
        48*C12*(C22*x11 - 3*C22 - x11 + 2*x4 + 3),
    )


def hermite4_pair2(C11, C22, C12, D):
    x0 = 6*C11
    x1 = 6*C22
    x2 = C11*C22
    x3 = C11**2
    x4 = 3*x3
    x5 = C12**2
    x6 = 24*x5
    x7 = C22**2
    x8 = 2*C22
    x9 = 4*x5
    x10 = C11 - 1
    x11 = -C11*x8 - x9
    x12 = 2*C11
    x13 = C22 - 1
    x14 = 3*C11
    x15 = 2*x5
    x16 = -C11 - C22 + x15 + x2 + 1
    x17 = 144*C12
    return (
        -3*C11*x6 + 24*C12**4 - 3*C22*x6 - 3*x0*x7 - 3*x0 - 3*x1*x3 - 3*x1 + 3*x2*x6 + 36*x2 + 3*x4*x7 + 3*x4 + 3*x6 + 9*x7 + 9,
        18*C11*x7 + 18*C22*x9 + 18*x10 + 18*x11 - 18*x7 + 18*x8,
        18*C11*x9 + 18*C22*x3 + 18*x11 + 18*x12 + 18*x13 - 18*x3,
        48*C12*(C22*x14 - 3*C22 - x14 + x15 + 3),
        18*x7 - 18*x8 + 18,
        36*x16,
        x13*x17,
        -18*x12 + 18*x3 + 18,
        x10*x17,
        144*x16,
    )


def hermite4_grad1(C11, C22, C12, D):
    x0 = 6*C11
    x1 = 6*C22
    x2 = C11**2
    x3 = 3*x2
    x4 = C12**2
    x5 = 24*x4
    x6 = C22**2
    x7 = C11*x5
    x8 = 2*C22
    x9 = 4*x4
    x10 = 3*C11
    return (
        36*C11*C22 + 24*C12**4 - 3*C22*x5 + 3*C22*x7 - 3*x0*x6 - 3*x0 - 3*x1*x2 - 3*x1 + 3*x3*x6 + 3*x3 + 3*x5 + 9*x6 - 3*x7 + 9,
        18*C11*x6 - 18*C11*x8 + 18*C11 + 18*C22*x9 - 18*x6 + 18*x8 - 18*x9 - 18,
        48*C12*(C22*x10 - 3*C22 - x10 + 2*x4 + 3),
    )


def hermite4_diag2(q):
    x0 = q**2
    x1 = q**3
    return (
        105*q**4 - 36*q + 126*x0 - 180*x1 + 9,
        252*q - 540*x0 + 420*x1 - 36,
        -1080*q + 1260*x0 + 252,
    )


def hermite5_pair0(C11, C22, C12, D):
    x0 = 30*C11
    x1 = 30*C22
    x2 = C11**2
    x3 = 15*x2
    x4 = 40*C12**2
    x5 = C22**2
    x6 = C11*x4
    return 15*C12*(60*C11*C22 + 8*C12**4 - C22*x4 + C22*x6 - x0*x5 - x0 - x1*x2 - x1 + x3*x5 + x3 + x4 + 15*x5 - x6 + 15)


def hermite5_pair1(C11, C22, C12, D):
    x0 = 30*C11
    x1 = 30*C22
    x2 = C11*C22
    x3 = C11**2
    x4 = 15*x3
    x5 = C12**2
    x6 = 40*x5
    x7 = 8*C12**4
    x8 = C22**2
    x9 = C11*x6
    x10 = 3*x8
    x11 = 6*C22
    x12 = 4*x5
    x13 = -C11*x11 - x12 - 3
    x14 = 150*C12
    x15 = 3*x3
    x16 = 6*C11
    x17 = 24*x5
    return (
        15*C12*(-C22*x6 + C22*x9 - x0*x8 - x0 - x1*x3 - x1 + 60*x2 + x4*x8 + x4 + x6 + x7 + 15*x8 - x9 + 15),
        x14*(C11*x10 + 3*C11 + C22*x12 - x10 + x11 + x13),
        x14*(C11*x12 + C22*x15 + 3*C22 + x13 - x15 + x16),
        -75*C11*x17 - 75*C22*x17 + 75*x10*x3 + 75*x10 - 75*x11*x3 - 75*x11 + 75*x15 - 75*x16*x8 - 75*x16 + 75*x17*x2 + 75*x17 + 900*x2 + 75*x7 + 225,
    )


def hermite5_pair2(C11, C22, C12, D):
    x0 = 30*C11
    x1 = 30*C22
    x2 = C11*C22
    x3 = C11**2
    x4 = 15*x3
    x5 = C12**2
    x6 = 40*x5
    x7 = 8*C12**4
    x8 = C22**2
    x9 = C11*x6
    x10 = 3*x8
    x11 = 3*C11
    x12 = 6*C22
    x13 = 4*x5
    x14 = -x13
    x15 = C22*x13 + x14
    x16 = -C11*x12 - 3
    x17 = 150*C12
    x18 = 3*x3
    x19 = 3*C22
    x20 = 6*C11
    x21 = C11*x13 + x14
    x22 = 24*x5
    x23 = 2*C22
    x24 = 450*C12
    x25 = C12*(C22*x11 - x11 - x19 + 2*x5 + 3)
    x26 = -C11*x23 - 1
    x27 = 2*C11
    return (
        15*C12*(-C22*x6 + C22*x9 - x0*x8 - x0 - x1*x3 - x1 + 60*x2 + x4*x8 + x4 + x6 + x7 + 15*x8 - x9 + 15),
        x17*(C11*x10 - x10 + x11 + x12 + x15 + x16),
        x17*(C22*x18 + x16 - x18 + x19 + x20 + x21),
        -75*C11*x22 - 75*C22*x22 + 75*x10*x3 + 75*x10 - 75*x12*x3 - 75*x12 + 75*x18 + 75*x2*x22 + 900*x2 - 75*x20*x8 - 75*x20 + 75*x22 + 75*x7 + 225,
        x24*(-x23 + x8 + 1),
        300*x25,
        450*C11*x8 + 450*C11 + 450*x15 + 450*x23 + 450*x26 - 450*x8,
        x24*(-x27 + x3 + 1),
        450*C22*x3 + 450*C22 + 450*x21 + 450*x26 + 450*x27 - 450*x3,
        1200*x25,
    )


def hermite5_grad1(C11, C22, C12, D):
    x0 = 30*C11
    x1 = 30*C22
    x2 = C11*C22
    x3 = C11**2
    x4 = 15*x3
    x5 = C12**2
    x6 = 40*x5
    x7 = 8*C12**4
    x8 = C22**2
    x9 = C11*x6
    x10 = 6*C22
    x11 = 4*x5
    x12 = 3*x8
    x13 = 6*C11
    x14 = 24*x5
    return (
        15*C12*(-C22*x6 + C22*x9 - x0*x8 - x0 - x1*x3 - x1 + 60*x2 + x4*x8 + x4 + x6 + x7 + 15*x8 - x9 + 15),
        150*C12*(-C11*x10 + C11*x12 + 3*C11 + C22*x11 + x10 - x11 - x12 - 3),
        -75*C11*x14 - 75*C22*x14 - 75*x10*x3 - 75*x10 + 75*x12*x3 + 75*x12 - 75*x13*x8 - 75*x13 + 75*x14*x2 + 75*x14 + 900*x2 + 225*x3 + 75*x7 + 225,
    )


def hermite5_diag2(q):
    x0 = q**2
    x1 = q**3
    x2 = 63*q**4
    return (
        15*q*(-60*q + 130*x0 - 140*x1 + x2 + 15),
        -1800*q + 5850*x0 - 8400*x1 + 75*x2 + 225,
        11700*q - 25200*x0 + 18900*x1 - 1800,
    )


def sin_pair0(C11, C22, C12, D):
    return exp(-1/2*C11 - 1/2*C22)*sinh(C12)


def sin_pair1(C11, C22, C12, D):
    x0 = exp(-1/2*C11 - 1/2*C22)
    x1 = x0*sinh(C12)
    x2 = -1/2*x1
    return (
        x1,
        x2,
        x2,
        x0*cosh(C12),
    )


def sin_pair2(C11, C22, C12, D):
    x0 = exp(-1/2*C11 - 1/2*C22)
    x1 = x0*sinh(C12)
    x2 = -1/2*x1
    x3 = x0*cosh(C12)
    x4 = (1/4)*x1
    x5 = -1/2*x3
    return (
        x1,
        x2,
        x2,
        x3,
        x4,
        x4,
        x5,
        x4,
        x5,
        x1,
    )


def sin_grad1(C11, C22, C12, D):
    x0 = exp(-1/2*C11 - 1/2*C22)
    x1 = x0*sinh(C12)
    return (
        x1,
        -1/2*x1,
        x0*cosh(C12),
    )


def sin_diag2(q):
    x0 = exp(-2*q)
    return (
        exp(-q)*sinh(q),
        x0,
        -2*x0,
    )


def cos_pair0(C11, C22, C12, D):
    return exp(-1/2*C11 - 1/2*C22)*cosh(C12)


def cos_pair1(C11, C22, C12, D):
    x0 = exp(-1/2*C11 - 1/2*C22)
    x1 = x0*cosh(C12)
    x2 = -1/2*x1
    return (
        x1,
        x2,
        x2,
        x0*sinh(C12),
    )


def cos_pair2(C11, C22, C12, D):
    x0 = exp(-1/2*C11 - 1/2*C22)
    x1 = x0*cosh(C12)
    x2 = -1/2*x1
    x3 = x0*sinh(C12)
    x4 = (1/4)*x1
    x5 = -1/2*x3
    return (
        x1,
        x2,
        x2,
        x3,
        x4,
        x4,
        x5,
        x4,
        x5,
        x1,
    )


def cos_grad1(C11, C22, C12, D):
    x0 = exp(-1/2*C11 - 1/2*C22)
    x1 = x0*cosh(C12)
    return (
        x1,
        -1/2*x1,
        x0*sinh(C12),
    )


def cos_diag2(q):
    x0 = exp(-2*q)
    return (
        exp(-q)*cosh(q),
        -x0,
        2*x0,
    )


def gaussian_pair0(C11, C22, C12, D):
    return 1/sqrt(C11 + C22 + D + 1)


def gaussian_pair1(C11, C22, C12, D):
    x0 = C22 + 1
    x1 = C11 + D + x0
    x2 = x1**(-3/2)
    x3 = (1/2)*x2
    return (
        1/sqrt(x1),
        -x0*x3,
        -x3*(C11 + 1),
        C12*x2,
    )


def gaussian_pair2(C11, C22, C12, D):
    x0 = C22 + 1
    x1 = C11 + D + x0
    x2 = x1**(-3/2)
    x3 = (1/2)*x2
    x4 = C11 + 1
    x5 = x1**(-5/2)
    x6 = (3/4)*x5
    x7 = (3/2)*C12*x5
    return (
        1/sqrt(x1),
        -x0*x3,
        -x3*x4,
        C12*x2,
        x0**2*x6,
        (1/4)*x5*(3*C11*x0 - 2*C11 - 2*D + x0),
        -x0*x7,
        x4**2*x6,
        -x4*x7,
        x5*(3*C12**2 + x1),
    )


def gaussian_grad1(C11, C22, C12, D):
    x0 = C22 + 1
    x1 = C11 + D + x0
    x2 = x1**(-3/2)
    return (
        1/sqrt(x1),
        -1/2*x0*x2,
        C12*x2,
    )


def gaussian_diag2(q):
    x0 = 2*q + 1
    return (
        1/sqrt(x0),
        -1/x0**(3/2),
        3/x0**(5/2),
    )


def normal_cdf_pair0(C11, C22, C12, D):
    return (1/4)*(2*arctan(C12/sqrt(C11 + C22 + D + 1)) + pi)/pi


def normal_cdf_pair1(C11, C22, C12, D):
    x0 = C22 + 1
    x1 = C11 + D + x0
    x2 = 1/sqrt(x1)
    x3 = C12*x2
    x4 = pi**(-1.0)
    x5 = (1/4)*x4
    x6 = x3*x5/(C12**2 + x1)
    return (
        x5*(2*arctan(x3) + pi),
        -x0*x6,
        -x6*(C11 + 1),
        (1/2)*x2*x4,
    )


def normal_cdf_pair2(C11, C22, C12, D):
    x0 = C22 + 1
    x1 = C11 + D + x0
    x2 = 1/sqrt(x1)
    x3 = C12*x2
    x4 = pi**(-1.0)
    x5 = (1/4)*x4
    x6 = C12**2
    x7 = x1 + x6
    x8 = x3*x5/x7
    x9 = C11 + 1
    x10 = (1/2)*x4
    x11 = 3*C11 + 3*C22 + 3*D + x6 + 3
    x12 = x1**(-3/2)
    x13 = C12*x12
    x14 = (1/8)*x13*x4/x7**2
    x15 = 2*x1
    x16 = C11*x11
    x17 = x12*x5
    return (
        x5*(2*arctan(x3) + pi),
        -x0*x8,
        -x8*x9,
        x10*x2,
        x0*x14*(C22*x11 + x11),
        x14*(x0*x15 + x0*x16 + x0*x7 - x15*x7),
        -x0*x17,
        x14*x9*(x11 + x16),
        -x17*x9,
        x10*x13,
    )


def normal_cdf_grad1(C11, C22, C12, D):
    x0 = C22 + 1
    x1 = C11 + D + x0
    x2 = 1/sqrt(x1)
    x3 = C12*x2
    x4 = pi**(-1.0)
    x5 = (1/4)*x4
    return (
        x5*(2*arctan(x3) + pi),
        -x0*x3*x5/(C12**2 + x1),
        (1/2)*x2*x4,
    )


def normal_cdf_diag2(q):
    x0 = pi**(-1.0)
    x1 = 2*q + 1
    x2 = 1/sqrt(x1)
    x3 = q + 1
    x4 = (1/2)*x0
    return (
        (1/4)*x0*(2*arctan(q*x2) + pi),
        x2*x4/x3,
        -x4*(3*q + 2)/(x1**(3/2)*x3**2),
    )


def monomial2_pair0(C11, C22, C12, D):
    return C11*C22 + 2*C12**2


def monomial2_pair1(C11, C22, C12, D):
    return (
        C11*C22 + 2*C12**2,
        C22,
        C11,
        4*C12,
    )


def monomial2_pair2(C11, C22, C12, D):
    return (
        C11*C22 + 2*C12**2,
        C22,
        C11,
        4*C12,
        _full(D, 0),
        _full(D, 1),
        _full(D, 0),
        _full(D, 0),
        _full(D, 0),
        _full(D, 4),
    )


def monomial2_grad1(C11, C22, C12, D):
    return (
        C11*C22 + 2*C12**2,
        C22,
        4*C12,
    )


def monomial2_diag2(q):
    return (
        3*q**2,
        6*q,
        _full(q, 6),
    )


def monomial3_pair0(C11, C22, C12, D):
    return 3*C12*(3*C11*C22 + 2*C12**2)


def monomial3_pair1(C11, C22, C12, D):
    x0 = C11*C22
    x1 = 2*C12**2
    x2 = 9*C12
    return (
        3*C12*(3*x0 + x1),
        C22*x2,
        C11*x2,
        9*x0 + 9*x1,
    )


def monomial3_pair2(C11, C22, C12, D):
    x0 = C11*C22
    x1 = 2*C12**2
    x2 = 9*C12
    return (
        3*C12*(3*x0 + x1),
        C22*x2,
        C11*x2,
        9*x0 + 9*x1,
        _full(D, 0),
        x2,
        9*C22,
        _full(D, 0),
        9*C11,
        36*C12,
    )


def monomial3_grad1(C11, C22, C12, D):
    x0 = C11*C22
    x1 = 2*C12**2
    return (
        3*C12*(3*x0 + x1),
        9*C12*C22,
        9*x0 + 9*x1,
    )


def monomial3_diag2(q):
    return (
        15*q**3,
        45*q**2,
        90*q,
    )


def monomial4_pair0(C11, C22, C12, D):
    return 3*(3*C11**2*C22**2 + 24*C11*C12**2*C22 + 8*C12**4)


def monomial4_pair1(C11, C22, C12, D):
    x0 = C12**2
    x1 = C11*C22
    x2 = 72*x0 + 18*x1
    return (
        9*C11**2*C22**2 + 24*C12**4 + 72*x0*x1,
        C22*x2,
        C11*x2,
        48*C12*(2*x0 + 3*x1),
    )


def monomial4_pair2(C11, C22, C12, D):
    x0 = C12**2
    x1 = C11*C22
    x2 = C11**2
    x3 = C22**2
    x4 = 72*x0 + 18*x1
    x5 = 2*x0
    x6 = x1 + x5
    x7 = 144*C12
    return (
        24*C12**4 + 72*x0*x1 + 9*x2*x3,
        C22*x4,
        C11*x4,
        48*C12*(3*x1 + x5),
        18*x3,
        36*x6,
        C22*x7,
        18*x2,
        C11*x7,
        144*x6,
    )


def monomial4_grad1(C11, C22, C12, D):
    x0 = C12**2
    x1 = C11*C22
    return (
        9*C11**2*C22**2 + 24*C12**4 + 72*x0*x1,
        18*C22*(4*x0 + x1),
        48*C12*(2*x0 + 3*x1),
    )


def monomial4_diag2(q):
    return (
        105*q**4,
        420*q**3,
        1260*q**2,
    )


def monomial5_pair0(C11, C22, C12, D):
    return 15*C12*(15*C11**2*C22**2 + 40*C11*C12**2*C22 + 8*C12**4)


def monomial5_pair1(C11, C22, C12, D):
    x0 = 8*C12**4
    x1 = C12**2
    x2 = C11*C22
    x3 = x1*x2
    x4 = C11**2*C22**2
    x5 = 150*C12*(4*x1 + 3*x2)
    return (
        15*C12*(x0 + 40*x3 + 15*x4),
        C22*x5,
        C11*x5,
        75*x0 + 1800*x3 + 225*x4,
    )


def monomial5_pair2(C11, C22, C12, D):
    x0 = 8*C12**4
    x1 = C12**2
    x2 = C11*C22
    x3 = x1*x2
    x4 = C11**2
    x5 = C22**2
    x6 = x4*x5
    x7 = 3*x2
    x8 = 4*x1
    x9 = 150*C12*(x7 + x8)
    x10 = 450*C12
    x11 = C12*(2*x1 + x7)
    x12 = 450*x2 + 450*x8
    return (
        15*C12*(x0 + 40*x3 + 15*x6),
        C22*x9,
        C11*x9,
        75*x0 + 1800*x3 + 225*x6,
        x10*x5,
        300*x11,
        C22*x12,
        x10*x4,
        C11*x12,
        1200*x11,
    )


def monomial5_grad1(C11, C22, C12, D):
    x0 = 8*C12**4
    x1 = C12**2
    x2 = C11*C22
    x3 = x1*x2
    x4 = C11**2*C22**2
    return (
        15*C12*(x0 + 40*x3 + 15*x4),
        150*C12*C22*(4*x1 + 3*x2),
        75*x0 + 1800*x3 + 225*x4,
    )


def monomial5_diag2(q):
    return (
        945*q**5,
        4725*q**4,
        18900*q**3,
    )


def gelu_pair0(C11, C22, C12, D):
    x0 = C11 + 1
    x1 = C22 + D + x0
    x2 = 1/sqrt(x1)
    x3 = 2/pi
    return (1/4)*C12*x3*arctan(C12*x2) + (1/4)*C12 + (1/4)*x2*x3*(C11*C22*x1 + C12**2)/(x0*(C22 + 1))


def gelu_pair1(C11, C22, C12, D):
    x0 = pi**(-1.0)
    x1 = C11 + 1
    x2 = D + x1
    x3 = C22 + x2
    x4 = 1/sqrt(x3)
    x5 = C12*x4
    x6 = x0*arctan(x5)
    x7 = x1**(-1.0)
    x8 = C22 + 1
    x9 = x8**(-1.0)
    x10 = C12**2
    x11 = C11*C22*x3 + x10
    x12 = x11*x9
    x13 = x12*x7
    x14 = x0*x4
    x15 = 2*C11
    x16 = x7*x9
    x17 = x15*x16
    x18 = x3**(-1.0)
    x19 = x10*x18
    x20 = (x19 + 1)**(-1.0)
    x21 = x13*x18 + x19*x20
    x22 = -C22*x17 + x21
    x23 = 2*C22
    x24 = (1/4)*x14
    x25 = x0*x5
    x26 = (1/2)*x25
    return (
        (1/2)*C12*x6 + (1/4)*C12 + (1/2)*x13*x14,
        -x24*(C22*x22 - x16*x23*(D + x15 + x8) + x21 + 2*x12/x1**2),
        -x24*(C11*x22 + 2*x11*x7/x8**2 - x17*(x2 + x23) + x21),
        x16*x25 + x20*x26 + x22*x26 + (1/2)*x6 + 1/4,
    )


def gelu_pair2(C11, C22, C12, D):
    x0 = pi**(-1.0)
    x1 = C11 + 1
    x2 = D + x1
    x3 = C22 + x2
    x4 = 1/sqrt(x3)
    x5 = C12*x4
    x6 = x0*arctan(x5)
    x7 = x0*x4
    x8 = C12**2
    x9 = C11*C22
    x10 = x3*x9 + x8
    x11 = x1**(-1.0)
    x12 = C22 + 1
    x13 = x12**(-1.0)
    x14 = x11*x13
    x15 = 2*x14
    x16 = x10*x15
    x17 = 2*C11
    x18 = C22*x14
    x19 = x3**(-1.0)
    x20 = x19*x8
    x21 = x20 + 1
    x22 = x21**(-1.0)
    x23 = x20*x22
    x24 = x10*x14
    x25 = x19*x24
    x26 = x23 + x25
    x27 = -x17*x18 + x26
    x28 = x1**(-2.0)
    x29 = x13*x28
    x30 = 2*x10
    x31 = x29*x30
    x32 = D + x12 + x17
    x33 = 2*C22
    x34 = x14*x33
    x35 = x26 + x31 - x32*x34
    x36 = C22*x27 + x35
    x37 = (1/4)*x7
    x38 = x12**(-2.0)
    x39 = x11*x38
    x40 = x30*x39
    x41 = x2 + x33
    x42 = x14*x17
    x43 = x41*x42
    x44 = x26 + x40 - x43
    x45 = C11*x27 + x44
    x46 = x0*x5
    x47 = (1/2)*x46
    x48 = -x27
    x49 = x19*(-C22*x48 + x35)
    x50 = 4*x18
    x51 = x14*x9
    x52 = x3**(-2.0)
    x53 = x21**(-2.0)
    x54 = C12**4*x53
    x55 = x52*x54
    x56 = -x23 - x25 + x51 + x55
    x57 = x19*x33
    x58 = x56*x57
    x59 = 4*x29
    x60 = x59*x9
    x61 = 2*x22
    x62 = x52*x8
    x63 = x61*x62
    x64 = x54/x3**3
    x65 = 2*x64
    x66 = x16*x52
    x67 = x17*x19
    x68 = x18*x67
    x69 = -x63 + x65 - x66 + x68
    x70 = -x49 - x50 + x58 + x60 + x69
    x71 = x10*x19
    x72 = C22*x29
    x73 = x22*x62 + x24*x52 - x64
    x74 = 8*x10
    x75 = x63 - x65 + x66
    x76 = x19*x36 + x75
    x77 = (1/8)*x7
    x78 = C11*x14
    x79 = -C22*x17*x39 - x19*x41*x78 + x39*x71 + x42 + x73
    x80 = 4*x14
    x81 = C11*x41
    x82 = 4*x39
    x83 = 4*x51
    x84 = x19*x40 - x19*x43
    x85 = x20*x53
    x86 = x14 + x22 - x85
    x87 = x15*x19 + x19*x61 - 2*x53*x62 - x68 + x75
    x88 = (1/4)*x46
    x89 = x19*(-C11*x48 + x44)
    x90 = C11*x80
    x91 = x56*x67
    x92 = x82*x9
    return (
        (1/2)*C12*x6 + (1/4)*C12 + (1/4)*x16*x7,
        -x36*x37,
        -x37*x45,
        x14*x46 + x22*x47 + x27*x47 + (1/2)*x6 + 1/4,
        x77*(-C22*x70 - x14*x32*x57 + 8*x18 + x19*x31 - 8*x32*x72 + x33*(-x17*x72 - x18*x19*x32 + x29*x71 + x34 + x73) + x76 + x13*x74/x1**3),
        x77*(-C11*x70 - C22*x32*x82 + 4*x10*x28*x38 - x15*x71 - x20*x61 + x32*x80 + x33*x79 + x50 - x59*x81 + x76 + x83 + x84),
        -x88*(x49 + x50 + x57*x86 - x58 + x59 - x60 + x87),
        x77*(-C11*(x69 - x89 - x90 + x91 + x92) + x11*x74/x12**3 + x17*x79 + x19*x45 - 8*x39*x81 + x75 + 8*x78 + x84),
        -x88*(x67*x86 + x82 + x87 + x89 + x90 - x91 - x92),
        -x7*(C11*C22*x11*x13 - x20*x86 - 1/2*x20*(x15 + 3*x23 + 3*x25 - 2*x55 + x61 - x83 - 2*x85) - 1/2*x23 - 1/2*x25 - x86),
    )


def gelu_grad1(C11, C22, C12, D):
    x0 = pi**(-1.0)
    x1 = C11 + 1
    x2 = C22 + D + x1
    x3 = 1/sqrt(x2)
    x4 = C12*x3
    x5 = x0*arctan(x4)
    x6 = x1**(-1.0)
    x7 = C22 + 1
    x8 = x7**(-1.0)
    x9 = C12**2
    x10 = x8*(C11*C22*x2 + x9)
    x11 = x10*x6
    x12 = x0*x3
    x13 = 2*C11
    x14 = x6*x8
    x15 = C22*x14
    x16 = x2**(-1.0)
    x17 = x16*x9
    x18 = (x17 + 1)**(-1.0)
    x19 = x11*x16 + x17*x18
    x20 = -x13*x15 + x19
    x21 = x0*x4
    x22 = (1/2)*x21
    return (
        (1/2)*C12*x5 + (1/4)*C12 + (1/2)*x11*x12,
        -1/4*x12*(C22*x20 - 2*x15*(D + x13 + x7) + x19 + 2*x10/x1**2),
        x14*x21 + x18*x22 + x20*x22 + (1/2)*x5 + 1/4,
    )


def gelu_diag2(q):
    x0 = pi**(-1.0)
    x1 = 2*q
    x2 = x1 + 1
    x3 = 1/sqrt(x2)
    x4 = q*x3
    x5 = 2*arctan(x4)
    x6 = q + 1
    x7 = x6**2
    x8 = x2**(7/2)
    x9 = q**2
    x10 = x2 + x9
    x11 = x2**3
    x12 = x10*x9
    x13 = x10*x7*x8
    x14 = q**3
    return (
        (1/4)*q*(4*x0*x4/x6 + x0*x5 + 1),
        (1/4)*x0*(4*q*x10*x11*(3*q + 2) + x1*x11*x6**3 - 8*x11*x12 - 4*x12*x2**2*x6 + x13*x5 + pi*x13)/(x10*x7*x8),
        (1/2)*x0*x3*(18*q - 5*x14 + 11*x9 + 6)/(4*q**5 + 16*q**4 + 7*q + 25*x14 + 19*x9 + 1),
    )


#: name -> (pair0, pair1, pair2, diag2)
KERNELS = {
    "erf2": (erf2_pair0, erf2_pair1, erf2_pair2, erf2_diag2),
    "erf": (erf_pair0, erf_pair1, erf_pair2, erf_diag2),
    "relu": (relu_pair0, relu_pair1, relu_pair2, relu_diag2),
    "linear": (linear_pair0, linear_pair1, linear_pair2, linear_diag2),
    "abs": (abs_pair0, abs_pair1, abs_pair2, abs_diag2),
    "leaky_relu": (leaky_relu_pair0, leaky_relu_pair1, leaky_relu_pair2, leaky_relu_diag2),
    "hermite2": (hermite2_pair0, hermite2_pair1, hermite2_pair2, hermite2_diag2),
    "hermite3": (hermite3_pair0, hermite3_pair1, hermite3_pair2, hermite3_diag2),
    "hermite4": (hermite4_pair0, hermite4_pair1, hermite4_pair2, hermite4_diag2),
    "hermite5": (hermite5_pair0, hermite5_pair1, hermite5_pair2, hermite5_diag2),
    "sin": (sin_pair0, sin_pair1, sin_pair2, sin_diag2),
    "cos": (cos_pair0, cos_pair1, cos_pair2, cos_diag2),
    "gaussian": (gaussian_pair0, gaussian_pair1, gaussian_pair2, gaussian_diag2),
    "normal_cdf": (normal_cdf_pair0, normal_cdf_pair1, normal_cdf_pair2, normal_cdf_diag2),
    "monomial2": (monomial2_pair0, monomial2_pair1, monomial2_pair2, monomial2_diag2),
    "monomial3": (monomial3_pair0, monomial3_pair1, monomial3_pair2, monomial3_diag2),
    "monomial4": (monomial4_pair0, monomial4_pair1, monomial4_pair2, monomial4_diag2),
    "monomial5": (monomial5_pair0, monomial5_pair1, monomial5_pair2, monomial5_diag2),
    "gelu": (gelu_pair0, gelu_pair1, gelu_pair2, gelu_diag2),
}

#: name -> f(C11, C22, C12, D) = (g, g1, g3), the partials loss and gradient need
GRADIENT = {
    "erf2": erf2_grad1,
    "erf": erf_grad1,
    "relu": relu_grad1,
    "linear": linear_grad1,
    "abs": abs_grad1,
    "leaky_relu": leaky_relu_grad1,
    "hermite2": hermite2_grad1,
    "hermite3": hermite3_grad1,
    "hermite4": hermite4_grad1,
    "hermite5": hermite5_grad1,
    "sin": sin_grad1,
    "cos": cos_grad1,
    "gaussian": gaussian_grad1,
    "normal_cdf": normal_cdf_grad1,
    "monomial2": monomial2_grad1,
    "monomial3": monomial3_grad1,
    "monomial4": monomial4_grad1,
    "monomial5": monomial5_grad1,
    "gelu": gelu_grad1,
}

#: name -> f(m, rho) = (|w|^2, a, a|w|, L*(m)) at the one-neuron optimum (nan: not fixed),
#: then (a|w|, L) at the best point with w along sum_j v_j (the average direction)
ONE_NEURON = {
    "erf2": erf2_one_neuron,
    "erf": erf_one_neuron,
    "relu": relu_one_neuron,
    "linear": linear_one_neuron,
    "abs": abs_one_neuron,
    "leaky_relu": leaky_relu_one_neuron,
}

#: name -> f(theta) = (A, K, K'), the angular coefficients of the weight-space Hessian (piecewise-linear family)
ANGULAR = {
    "relu": relu_angular,
    "linear": linear_angular,
    "abs": abs_angular,
    "leaky_relu": leaky_relu_angular,
}
