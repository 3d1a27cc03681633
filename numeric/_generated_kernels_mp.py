# *** GENERATED FILE: DO NOT EDIT ***
# Rendered by `copyavg derive` from the kernels derived in copyavg.symbolic.kernels.
# sympy 1.14.0; source expressions sha256 ea911b3544b9657686d9ac0aea978cd3c57882ab5cdfd0782ccf9e808dcca480
# Regenerate with `copyavg derive`; `copyavg derive --check` verifies this file is fresh.
"""Generated pair kernels g(C11, C22, C12) and their partial derivatives (mpmath)."""

import mpmath
from mpmath import asin, atan, atan2, cos, mpf, nan, pi, sin, sqrt


def erf2_pair0(C11, C22, C12, D):
    return 2*atan(C12/sqrt(C11 + C22 + D + 1))/pi


def erf2_pair1(C11, C22, C12, D):
    x0 = C22 + 1
    x1 = C11 + D + x0
    x2 = 1/sqrt(x1)
    x3 = C12*x2
    x4 = 1/pi
    x5 = 2*x4
    x6 = x3*x4/(C12**2 + x1)
    return (
        x5*atan(x3),
        -x0*x6,
        -x6*(C11 + 1),
        x2*x5,
    )


def erf2_pair2(C11, C22, C12, D):
    x0 = C22 + 1
    x1 = C11 + D + x0
    x2 = 1/sqrt(x1)
    x3 = C12*x2
    x4 = 1/pi
    x5 = 2*x4
    x6 = C12**2
    x7 = x1 + x6
    x8 = x3*x4/x7
    x9 = C11 + 1
    x10 = 3*C11 + 3*C22 + 3*D + x6 + 3
    x11 = x1**(mpf(-3)/mpf(2))
    x12 = x11*x4
    x13 = x0*x12
    x14 = (mpf(1)/mpf(2))*C12/x7**2
    x15 = 2*x1
    x16 = C11*x10
    x17 = x12*x9
    return (
        x5*atan(x3),
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
    x4 = 1/pi
    x5 = 2*x4
    return (
        x5*atan(x3),
        -x0*x3*x4/(C12**2 + x1),
        x2*x5,
    )


def erf2_diag2(q):
    x0 = 2*q + 1
    x1 = 1/sqrt(x0)
    x2 = 2/pi
    x3 = q + 1
    return (
        x2*atan(q*x1),
        x1*x2/x3,
        -x2*(3*q + 2)/(x0**(mpf(3)/mpf(2))*x3**2),
    )


def erf2_one_neuron(m, rho):
    x0 = rho**2
    x1 = 1/(m*x0 + m - x0)
    x2 = m*rho*sqrt(x1)
    x3 = x0/(x0 + 1)
    x4 = -2*m*(m*asin(x3/m) - asin(x3))/pi
    return (
        x0*x1,
        m,
        x2,
        x4,
        x2,
        x4,
    )


def erf_pair0(C11, C22, C12, D):
    return 2*atan(2*C12/sqrt(2*C11 + 2*C22 + 4*D + 1))/pi


def erf_pair1(C11, C22, C12, D):
    x0 = 1/pi
    x1 = 2*C11
    x2 = 2*C22 + 1
    x3 = 4*D + x1 + x2
    x4 = 1/sqrt(x3)
    x5 = C12*x4
    x6 = 4*x0
    x7 = x5*x6/(4*C12**2 + x3)
    return (
        2*x0*atan(2*x5),
        -x2*x7,
        -x7*(x1 + 1),
        x4*x6,
    )


def erf_pair2(C11, C22, C12, D):
    x0 = 1/pi
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
    x13 = x4**(mpf(-3)/mpf(2))
    x14 = x13*x9
    x15 = x14*x3
    x16 = C12/x8**2
    x17 = 2*x4
    x18 = x1*x12
    x19 = x11*x14
    return (
        2*x0*atan(2*x6),
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
    x0 = 1/pi
    x1 = 2*C22 + 1
    x2 = 2*C11 + 4*D + x1
    x3 = 1/sqrt(x2)
    x4 = C12*x3
    x5 = 4*x0
    return (
        2*x0*atan(2*x4),
        -x1*x4*x5/(4*C12**2 + x2),
        x3*x5,
    )


def erf_diag2(q):
    x0 = 1/pi
    x1 = 4*q + 1
    x2 = 1/sqrt(x1)
    x3 = 2*q
    x4 = x3 + 1
    return (
        2*x0*atan(x2*x3),
        4*x0*x2/x4,
        -16*x0*(3*q + 1)/(x1**(mpf(3)/mpf(2))*x4**2),
    )


def erf_one_neuron(m, rho):
    x0 = rho**2
    x1 = 2*x0
    x2 = 1/(m*x1 + m - x1)
    x3 = m*rho*sqrt(x2)
    x4 = x1/(x1 + 1)
    x5 = -2*m*(m*asin(x4/m) - asin(x4))/pi
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
    return (mpf(1)/mpf(4))*(2*C12*atan2(C12, x0) + pi*C12 + 2*x0)/pi


def relu_pair1(C11, C22, C12, D):
    x0 = sqrt(D)
    x1 = 2*atan2(C12, x0)
    x2 = (mpf(1)/mpf(4))/pi
    x3 = x0*x2/(C12**2 + D)
    return (
        x2*(C12*x1 + pi*C12 + 2*x0),
        C22*x3,
        C11*x3,
        x2*(x1 + pi),
    )


def relu_pair2(C11, C22, C12, D):
    x0 = sqrt(D)
    x1 = 2*atan2(C12, x0)
    x2 = 1/pi
    x3 = (mpf(1)/mpf(4))*x2
    x4 = C12**2
    x5 = D + x4
    x6 = x3/x5
    x7 = x0*x6
    x8 = -D + x4
    x9 = 1/x0
    x10 = x2*x9
    x11 = (mpf(1)/mpf(8))*x10/x5**2
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
        (mpf(1)/mpf(2))*x10,
    )


def relu_grad1(C11, C22, C12, D):
    x0 = sqrt(D)
    x1 = 2*atan2(C12, x0)
    x2 = (mpf(1)/mpf(4))/pi
    return (
        x2*(C12*x1 + pi*C12 + 2*x0),
        C22*x0*x2/(C12**2 + D),
        x2*(x1 + pi),
    )


def relu_diag2(q):
    return (
        (mpf(1)/mpf(2))*q,
        mpf(mpf(1)/mpf(2)),
        mpf(0),
    )


def relu_angular(theta):
    x0 = (mpf(1)/mpf(2))/pi
    return (
        x0*sin(theta),
        -x0*(theta - pi),
        -x0,
    )


def relu_one_neuron(m, rho):
    x0 = sqrt(m)
    x1 = m - 1
    x2 = 2*sqrt(x1) + 2*asin(1/x0) + pi
    x3 = (mpf(1)/mpf(2))*rho*x0*x2/pi
    x4 = pi**2
    x5 = (mpf(1)/mpf(8))*m*rho**2*(4*pi*x1 - x2**2 + 4*x4)/x4
    return (
        mpf(nan),
        mpf(nan),
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
        mpf(0),
        mpf(0),
        mpf(1),
    )


def linear_pair2(C11, C22, C12, D):
    return (
        C12,
        mpf(0),
        mpf(0),
        mpf(1),
        mpf(0),
        mpf(0),
        mpf(0),
        mpf(0),
        mpf(0),
        mpf(0),
    )


def linear_grad1(C11, C22, C12, D):
    return (
        C12,
        mpf(0),
        mpf(1),
    )


def linear_diag2(q):
    return (
        q,
        mpf(1),
        mpf(0),
    )


def linear_angular(theta):
    return (
        mpf(0),
        mpf(1),
        mpf(0),
    )


def linear_one_neuron(m, rho):
    x0 = sqrt(m)*rho
    return (
        mpf(nan),
        mpf(nan),
        x0,
        mpf(0),
        x0,
        mpf(0),
    )


def abs_pair0(C11, C22, C12, D):
    x0 = sqrt(D)
    return 2*(C12*atan2(C12, x0) + x0)/pi


def abs_pair1(C11, C22, C12, D):
    x0 = sqrt(D)
    x1 = atan2(C12, x0)
    x2 = 1/pi
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
    x1 = atan2(C12, x0)
    x2 = 1/pi
    x3 = 2*x2
    x4 = C12**2
    x5 = D + x4
    x6 = x2/x5
    x7 = x0*x6
    x8 = -mpf(1)/mpf(2)*D + (mpf(1)/mpf(2))*x4
    x9 = 1/x0
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
    x1 = atan2(C12, x0)
    x2 = 1/pi
    x3 = 2*x2
    return (
        x3*(C12*x1 + x0),
        C22*x0*x2/(C12**2 + D),
        x1*x3,
    )


def abs_diag2(q):
    return (
        q,
        mpf(1),
        mpf(0),
    )


def abs_angular(theta):
    x0 = 1/pi
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
    x8 = sqrt(x4) + asin(1/x7)
    return (
        mpf(nan),
        mpf(nan),
        x1*x2,
        x6*(m*x3 + x0*x5 - x1**2),
        2*x2*x7*x8,
        m*x6*(x3 + 2*x5 - 4*x8**2),
    )


def leaky_relu_pair0(C11, C22, C12, D):
    x0 = sqrt(D)
    return (mpf(1)/mpf(40000))*(19602*C12*atan2(C12, x0) + 10201*pi*C12 + 19602*x0)/pi


def leaky_relu_pair1(C11, C22, C12, D):
    x0 = 10201*pi
    x1 = sqrt(D)
    x2 = 19602*atan2(C12, x1)
    x3 = 1/pi
    x4 = (mpf(1)/mpf(40000))*x3
    x5 = (mpf(9801)/mpf(40000))*x1*x3/(C12**2 + D)
    return (
        x4*(C12*x0 + C12*x2 + 19602*x1),
        C22*x5,
        C11*x5,
        x4*(x0 + x2),
    )


def leaky_relu_pair2(C11, C22, C12, D):
    x0 = 10201*pi
    x1 = sqrt(D)
    x2 = 19602*atan2(C12, x1)
    x3 = 1/pi
    x4 = (mpf(1)/mpf(40000))*x3
    x5 = C12**2
    x6 = D + x5
    x7 = (mpf(9801)/mpf(40000))/x6
    x8 = C22*x7
    x9 = x1*x3
    x10 = C11*x7
    x11 = -D + x5
    x12 = x3/x1
    x13 = (mpf(9801)/mpf(80000))*x12/x6**2
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
        (mpf(9801)/mpf(20000))*x12,
    )


def leaky_relu_grad1(C11, C22, C12, D):
    x0 = 10201*pi
    x1 = sqrt(D)
    x2 = 19602*atan2(C12, x1)
    x3 = 1/pi
    x4 = (mpf(1)/mpf(40000))*x3
    return (
        x4*(C12*x0 + C12*x2 + 19602*x1),
        (mpf(9801)/mpf(40000))*C22*x1*x3/(C12**2 + D),
        x4*(x0 + x2),
    )


def leaky_relu_diag2(q):
    return (
        (mpf(10001)/mpf(20000))*q,
        mpf(mpf(10001)/mpf(20000)),
        mpf(0),
    )


def leaky_relu_angular(theta):
    x0 = 1/pi
    x1 = (mpf(9801)/mpf(20000))*x0
    return (
        x1*sin(theta),
        -mpf(1)/mpf(20000)*x0*(9801*theta - 10001*pi),
        -x1,
    )


def leaky_relu_one_neuron(m, rho):
    x0 = sqrt(m)
    x1 = m - 1
    x2 = 19602*sqrt(x1) + 19602*asin(1/x0) + 10201*pi
    x3 = (mpf(1)/mpf(20002))*rho*x0*x2/pi
    x4 = pi**2
    x5 = (mpf(1)/mpf(800080000))*m*rho**2*(392079204*pi*x1 - x2**2 + 400080004*x4)/x4
    return (
        mpf(nan),
        mpf(nan),
        x3,
        x5,
        x3,
        x5,
    )


#: name -> (pair0, pair1, pair2, diag2)
KERNELS = {
    "erf2": (erf2_pair0, erf2_pair1, erf2_pair2, erf2_diag2),
    "erf": (erf_pair0, erf_pair1, erf_pair2, erf_diag2),
    "relu": (relu_pair0, relu_pair1, relu_pair2, relu_diag2),
    "linear": (linear_pair0, linear_pair1, linear_pair2, linear_diag2),
    "abs": (abs_pair0, abs_pair1, abs_pair2, abs_diag2),
    "leaky_relu": (leaky_relu_pair0, leaky_relu_pair1, leaky_relu_pair2, leaky_relu_diag2),
}

#: name -> f(C11, C22, C12, D) = (g, g1, g3), the partials loss and gradient need
GRADIENT = {
    "erf2": erf2_grad1,
    "erf": erf_grad1,
    "relu": relu_grad1,
    "linear": linear_grad1,
    "abs": abs_grad1,
    "leaky_relu": leaky_relu_grad1,
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
