"""copyavg.numeric: exact Gaussian-input loss, gradient and Hessian (NumPy; no SymPy).

Conventions: ``x ~ N(0, I_d)``, student ``f = sum_i a_i sigma(w_i.x)``, teacher
``f* = sum_j b_j sigma(v_j.x)``, loss ``L = E[(f - f*)^2]`` with no factor 1/2.

    from copyavg.numeric import loss, gradient, hessian
    L = loss(a, W, b, V, activation="erf2")          # a: (n,), W: (n, d), b: (k,), V: (k, d)
    ga, gW = gradient(a, W, b, V, activation="erf2")
    H = hessian(a, W, b, V, activation="erf2")        # order: a, then W row by row
"""

from .activations import ACTIVATIONS, Activation, get_activation
from .kernels import diag_kernel, pair_kernel
from .functions import gradient, hessian, loss, loss_and_gradient, problem_for
from .population import NonDifferentiableError, Problem

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "NonDifferentiableError",
    "Problem",
    "diag_kernel",
    "get_activation",
    "gradient",
    "hessian",
    "loss",
    "loss_and_gradient",
    "pair_kernel",
    "problem_for",
]
