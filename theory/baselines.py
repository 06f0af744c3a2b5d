"""Baseline first-order and quasi-Newton methods of the OSGM/HDM benchmark, on a counting oracle.

Baselines of the official benchmark code (Chu et al., ICML 2025 arXiv 2502.11229; Part II arXiv
2509.11007; COLT 2025 arXiv 2411.01803 for GD with the optimal diagonal preconditioner), re-implemented
from their textbook definitions (α = 1/L unless stated):

- GD:        x ← x − α∇f(x).
- GD-OptDiag: x ← x − d∘∇f(x), d the SDP-optimal diagonal preconditioner scaled so D^½ H D^½ ⪯ I.
- GD-HB:     v ← βv + α∇f(x), x ← x − v (Polyak heavy ball).
- AGD-CVX:   Nesterov's method, λ_{k+1} = (1 + √(1 + 4λ_k²))/2, y = x_k + (λ_k − 1)/λ_{k+1}·(x_k − x_{k−1}).
- AGD-SCVX:  Nesterov's method with constant momentum (√L − √μ)/(√L + √μ).
- AdaGrad:   G ← G + g∘g, x ← x − lr·g/(√G + ε), ε = 1e-8 (Duchi et al. 2011).
- Adam:      β₁ = 0.9, β₂ = 0.999, ε = 1e-8, bias-corrected (Kingma & Ba 2015).
- BFGS, L-BFGS-M: scipy.optimize.minimize (``BFGS`` with ∞-norm gtol; ``L-BFGS-B`` with maxcor = M).

Every method stops when ‖∇f‖∞ < tol at the point where it evaluated the gradient and returns that point;
when the oracle's budget is exhausted it returns its current iterate (quasi-Newton: the best point seen).
"""

from __future__ import annotations

import numpy as np
import scipy.optimize

from theory.oracle import BudgetExhausted, CountingOracle


def _small(g: np.ndarray, tol: float) -> bool:
    return bool(np.max(np.abs(g)) < tol)


def gradient_descent(
    oracle: CountingOracle, x0: np.ndarray, *, step: float | np.ndarray, tol: float
) -> np.ndarray:
    """GD with a scalar step or a fixed diagonal preconditioner (array ``step``)."""
    x = x0.copy()
    try:
        while True:
            g = oracle.grad(x)
            if _small(g, tol):
                return x
            x = x - step * g
    except BudgetExhausted:
        return x


def heavy_ball(oracle: CountingOracle, x0: np.ndarray, *, step: float, beta: float, tol: float) -> np.ndarray:
    x, v = x0.copy(), np.zeros_like(x0)
    try:
        while True:
            g = oracle.grad(x)
            if _small(g, tol):
                return x
            v = beta * v + step * g
            x = x - v
    except BudgetExhausted:
        return x


def nesterov_convex(oracle: CountingOracle, x0: np.ndarray, *, L: float, tol: float) -> np.ndarray:
    x_prev, y, lam = x0.copy(), x0.copy(), 1.0
    try:
        while True:
            g = oracle.grad(y)
            if _small(g, tol):
                return y
            x = y - g / L
            lam_next = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * lam * lam))
            y = x + (lam - 1.0) / lam_next * (x - x_prev)
            x_prev, lam = x, lam_next
    except BudgetExhausted:
        return x_prev


def nesterov_strongly_convex(
    oracle: CountingOracle, x0: np.ndarray, *, L: float, mu: float, tol: float
) -> np.ndarray:
    beta = (np.sqrt(L) - np.sqrt(mu)) / (np.sqrt(L) + np.sqrt(mu))
    x_prev, y = x0.copy(), x0.copy()
    try:
        while True:
            g = oracle.grad(y)
            if _small(g, tol):
                return y
            x = y - g / L
            y = x + beta * (x - x_prev)
            x_prev = x
    except BudgetExhausted:
        return x_prev


def adagrad(
    oracle: CountingOracle, x0: np.ndarray, *, lr: float, tol: float, eps: float = 1e-8
) -> np.ndarray:
    x, G = x0.copy(), np.zeros_like(x0)
    try:
        while True:
            g = oracle.grad(x)
            if _small(g, tol):
                return x
            G += g * g
            x = x - lr * g / (np.sqrt(G) + eps)
    except BudgetExhausted:
        return x


def adam(
    oracle: CountingOracle,
    x0: np.ndarray,
    *,
    lr: float,
    tol: float,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
) -> np.ndarray:
    x, m, v = x0.copy(), np.zeros_like(x0), np.zeros_like(x0)
    k = 0
    try:
        while True:
            g = oracle.grad(x)
            if _small(g, tol):
                return x
            k += 1
            m = beta1 * m + (1 - beta1) * g
            v = beta2 * v + (1 - beta2) * g * g
            x = x - lr * (m / (1 - beta1**k)) / (np.sqrt(v / (1 - beta2**k)) + eps)
    except BudgetExhausted:
        return x


def scipy_quasi_newton(
    oracle: CountingOracle, x0: np.ndarray, *, tol: float, memory: int | None = None
) -> np.ndarray:
    """BFGS (memory None) or L-BFGS-B with ``maxcor = memory``; all scipy's f/∇f evaluations are counted."""
    best: dict[str, object] = {"x": x0.copy(), "f": np.inf}

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        value, g = oracle.f_and_grad(x)
        if value < best["f"]:
            best["x"], best["f"] = x.copy(), value
        return value, g

    if memory is None:
        method, options = "BFGS", {"gtol": tol, "norm": np.inf, "maxiter": 10**7}
    else:
        method, options = (
            "L-BFGS-B",
            {"maxcor": memory, "gtol": tol, "ftol": 1e-25, "maxiter": 10**7, "maxfun": 10**7},
        )
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            result = scipy.optimize.minimize(fun, x0, jac=True, method=method, options=options)
    except BudgetExhausted:
        return np.asarray(best["x"])
    return result.x
