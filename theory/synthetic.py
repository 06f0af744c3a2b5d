"""Synthetic convex test problems, seeded: random and badly scaled quadratics, the COLT 2025 least-squares
test, and a strongly convex log-cosh regression (Gao, Chu, Ye, Udell, COLT 2025 arXiv 2411.01803; Part I
arXiv 2505.23081). Each returns a ``theory.problems.Problem`` with x0, L and μ set.
"""

from __future__ import annotations

import numpy as np

from theory.problems import LeastSquares, Problem, Quadratic, unit_random_start


def random_quadratic(
    dim: int, kappa: float, *, L: float = 1.0, seed: int = 0, name: str = "quadratic-random"
) -> Quadratic:
    """A = Q diag(λ) Qᵀ with Haar-random Q and λ log-spaced in [L/κ, L]; x* ~ N(0, I); f* = 0."""
    if dim < 2 or kappa < 1:
        raise ValueError(f"random_quadratic: need dim >= 2 and kappa >= 1, got dim={dim}, kappa={kappa}")
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    A = (Q * np.geomspace(L / kappa, L, dim)) @ Q.T
    return Quadratic(A, rng.standard_normal(dim), 0.0, x0=unit_random_start(dim, seed + 1), name=name)


def badly_scaled_quadratic(
    dim: int,
    *,
    kappa_inner: float = 10.0,
    scale_decades: float = 1.5,
    seed: int = 0,
    name: str = "quadratic-scaled",
) -> Quadratic:
    """A = D·B·D: B a random quadratic with cond(B) = kappa_inner, D = diag(10^u), u evenly spaced in
    [0, scale_decades] and shuffled. cond(A) ≫ cond(B) but a diagonal preconditioner undoes D, so the
    diagonal-optimal κ* (COLT paper) is at most about κ(B)."""
    inner = random_quadratic(dim, kappa_inner, seed=seed)
    scales = np.random.default_rng(seed + 2).permutation(np.logspace(0.0, scale_decades, dim))
    A = scales[:, None] * inner.A * scales[None, :]
    A /= np.linalg.eigvalsh(A)[-1]
    return Quadratic(A, inner.x_star / scales, 0.0, x0=unit_random_start(dim, seed + 1), name=name)


def colt_least_squares(sigma: float = 1e-3, *, dim: int = 100, seed: int = 123) -> LeastSquares:
    """The least-squares test of the COLT 2025 paper (authors' code Gwzwpxz/osgm, ``test_ls.m``):

        M = (0.01·G + I)·Diag(u)·(0.01·G + I)ᵀ + σI,  G standard normal (n×n), u ~ uniform(0, 1)ⁿ,
        b ~ uniform(0, 1)ⁿ,  f(x) = ½‖Mx − b‖²  (f* = 0, M invertible),  x0 = ξ/‖ξ‖, ξ standard normal,

    with the *same* G on both sides, so M is symmetric positive definite. ``test_ls.m`` uses σ = 1e-3 (the
    default here); the sweep σ ∈ {1e-4, 1e-3, 1e-2, 1e-1} of the benchmark is that of the authors'
    ``test_stochastic.m``. The draws use numpy's PCG64 seeded with ``seed`` (in the order G, u, b, ξ), not
    MATLAB's ``rng(123)``, so the matrices differ from the authors' while following the same recipe."""
    if sigma <= 0:
        raise ValueError(f"colt_least_squares: sigma={sigma} must be > 0")
    rng = np.random.default_rng(seed)
    eye = np.eye(dim)
    factor = 0.01 * rng.standard_normal((dim, dim)) + eye
    M = (factor * rng.random(dim)) @ factor.T + sigma * eye
    M = 0.5 * (M + M.T)  # symmetric by construction; this removes the last-bit asymmetry of the product
    b = rng.random(dim)
    x0 = rng.standard_normal(dim)
    return LeastSquares(M, b, x0=x0 / np.linalg.norm(x0), name=f"colt_ls-{sigma:g}")


class LogCoshRegression(Problem):
    """f(x) = Σ_i log cosh(a_iᵀx) + (λ/2)‖x‖²: strongly convex (μ = λ), smooth (L = ‖A‖² + λ), not
    quadratic, with x* = 0 and f* = 0 exactly. log cosh t is evaluated as log1p(2 sinh²(t/2)) (accurate to
    machine precision relative to its value as t → 0) so gaps can be measured far below 1e-16; used for the
    local-superlinear check (a problem built for this project, not from the papers)."""

    def __init__(self, A: np.ndarray, reg: float, *, x0: np.ndarray, name: str = "logcosh") -> None:
        if not reg > 0:
            raise ValueError(f"{name!r}: reg={reg} must be > 0 (strong convexity)")
        self.A = np.asarray(A, dtype=np.float64)
        self.reg = float(reg)
        self.x0 = np.asarray(x0, dtype=np.float64)
        self.name = name
        self.L = float(np.linalg.norm(self.A, 2) ** 2) + self.reg
        self.mu = self.reg
        self.x_star = np.zeros(self.A.shape[1])
        self.f_star = 0.0

    @staticmethod
    def _log_cosh(t: np.ndarray) -> np.ndarray:
        a = np.abs(t)
        small = np.minimum(a, 20.0)
        return np.where(
            a < 20.0, np.log1p(2.0 * np.sinh(0.5 * small) ** 2), a - np.log(2.0) + np.log1p(np.exp(-2.0 * a))
        )

    def f(self, x: np.ndarray) -> float:
        return float(self._log_cosh(self.A @ x).sum()) + 0.5 * self.reg * float(x @ x)

    def grad(self, x: np.ndarray) -> np.ndarray:
        return self.A.T @ np.tanh(self.A @ x) + self.reg * x

    def hess(self, x: np.ndarray) -> np.ndarray:
        sech_sq = 1.0 / np.cosh(np.minimum(np.abs(self.A @ x), 350.0)) ** 2
        return (self.A.T * sech_sq) @ self.A + self.reg * np.eye(self.dim)

    def _defining_arrays(self) -> list[np.ndarray]:
        return [self.A, np.array([self.reg])]


def logcosh_regression(
    dim: int = 20, *, rows: int = 40, reg: float = 0.1, start_norm: float = 3.0, seed: int = 0
) -> LogCoshRegression:
    """A Gaussian (rows × dim)/√rows design, λ = reg, x0 a random point at distance ``start_norm`` from x*."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((rows, dim)) / np.sqrt(rows)
    x0 = rng.standard_normal(dim)
    return LogCoshRegression(A, reg, x0=start_norm * x0 / np.linalg.norm(x0), name="logcosh")


def centred(problem: Quadratic) -> Quadratic:
    """The same quadratic moved to x* = 0, f* = 0 (f − f* = ½xᵀAx has no cancellation)."""
    return Quadratic(problem.A, np.zeros(problem.dim), 0.0, x0=problem.x0, name=problem.name + "-centred")
