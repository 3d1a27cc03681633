"""Helpers shared by ``copyavg.numeric.flow`` and ``copyavg.numeric.newton``: argument checks, the
evaluator of loss, gradient and Hessian in the flat vector of trained parameters, and the symmetric
factorization of the BDF iteration matrix."""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg as sla
from scipy.linalg.lapack import spotrf, spotrs

from .population import Problem
from .training import check_train, hessian_block, trained_gradient


def _check_problem(problem) -> None:
    if not isinstance(problem, Problem):
        raise ValueError(f"problem must be a copyavg.numeric.Problem, got {type(problem).__name__}")


def _student(problem: Problem, a0, W0, names=("a0", "W0")):
    na, nw = names
    try:
        a = np.array(a0, dtype=float)
        W = np.array(W0, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{na} and {nw} must be real arrays") from None
    if a.ndim != 1 or a.shape[0] < 1:
        raise ValueError(f"{na} must be a non-empty 1-d array (n,), got shape {a.shape}")
    if W.shape != (a.shape[0], problem.d):
        raise ValueError(f"{nw} must have shape (n, d) = ({a.shape[0]}, {problem.d}), got {W.shape}")
    if not (np.isfinite(a).all() and np.isfinite(W).all()):
        raise ValueError(f"{na} and {nw} must be finite (no NaN or inf)")
    return a, W


def _positive(name: str, value, *, allow_inf: bool = False, integer: bool = False):
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if ok:
        value = float(value)
        ok = value > 0 and (math.isfinite(value) or (allow_inf and value == math.inf))
    if ok and integer:
        ok = value == math.inf or value == int(value)
    if not ok:
        kind = "a positive integer" if integer else "a positive number"
        raise ValueError(f"{name} must be {kind}, got {value!r}")
    return value


class _Evaluator:
    """Loss/gradient/Hessian of a Problem in the flat vector ``y`` of the trained parameters, with
    counters and a one-entry cache. ``train="aW"``: ``y = (a, W row by row)``; ``train="W"``:
    ``y = W`` row by row and ``a`` is the fixed ``a_fixed``; gradient and Hessian are then the W
    parts of the full ones (``copyavg.numeric.training``)."""

    def __init__(self, problem: Problem, a_fixed, train: str = "aW"):
        self.P = problem
        self.train = check_train(train)
        self.a_fixed = np.array(a_fixed, dtype=float)
        self.n = self.a_fixed.shape[0]
        self.d = problem.d
        self.n_grad = 0
        self.n_hess = 0
        self._y = None
        self._Lg = None

    def theta(self, a, W):
        return np.concatenate((a, W.ravel())) if self.train == "aW" else np.array(W, dtype=float).ravel()

    def split(self, y):
        if self.train == "W":
            return self.a_fixed, y.reshape(self.n, self.d)
        return y[: self.n], y[self.n:].reshape(self.n, self.d)

    def full(self, y):
        """``theta = (a, W row by row)`` of the point ``y``."""
        return y if self.train == "aW" else np.concatenate((self.a_fixed, y))

    def loss_grad(self, y):
        if self._y is not None and np.array_equal(y, self._y):
            return self._Lg
        a, W = self.split(y)
        self.n_grad += 1
        L, ga, gW = self.P.loss_and_gradient(a, W)
        g = trained_gradient(ga, gW, self.train)
        self._y = y.copy()
        self._Lg = (L, g)
        return L, g

    def hessian(self, y):
        a, W = self.split(y)
        self.n_hess += 1
        return hessian_block(self.P.hessian(a, W), self.n, self.train)


class _Diverged(Exception):
    pass


# -- gradient flow ------------------------------------------------------------------------------
def _symmetric_factorization(solver, single: bool) -> None:
    """Let a BDF solver factor its iteration matrix ``I - c J = I + c H`` by Cholesky.

    The matrix is symmetric (``J = -H``) and positive definite unless ``H`` has an eigenvalue
    below ``-1/c``; Cholesky costs half an LU. Falls back to LU when Cholesky fails. This replaces
    the ``lu``/``solve_lu`` attributes that ``scipy.integrate.BDF`` sets in ``__init__`` (and counts
    in ``nlu``); if a SciPy version lacks them, the solver is left unchanged.

    ``single``: factor in float32 (half the time again). The factorization only serves the
    simplified Newton iteration of the implicit step, whose residuals stay in float64: a less
    accurate factor slows that iteration's contraction a little but does not change the solution
    it converges to. Falls back to float64 LU when the float32 Cholesky fails.
    """
    if not (callable(getattr(solver, "lu", None)) and callable(getattr(solver, "solve_lu", None))
            and hasattr(solver, "nlu")):
        return

    def lu(A):
        solver.nlu += 1
        if single:
            c, info = spotrf(A.astype(np.float32), lower=False, clean=False, overwrite_a=True)
            if info == 0:
                return 1, c
        else:
            try:
                return 2, sla.cho_factor(A, check_finite=False)
            except (np.linalg.LinAlgError, sla.LinAlgError):
                pass
        return 0, sla.lu_factor(A, overwrite_a=True, check_finite=False)

    def solve_lu(F, b):
        kind, fac = F
        if kind == 1:
            x, _ = spotrs(fac, b.astype(np.float32), lower=False)
            return x.astype(np.float64)
        if kind == 2:
            return sla.cho_solve(fac, b, check_finite=False)
        return sla.lu_solve(fac, b, check_finite=False)

    solver.lu = lu
    solver.solve_lu = solve_lu
