"""Best fixed stepsize in hindsight for a recorded OSGM trajectory, and the regret against it.

For rounds k = 0..K−1 with points x_k, values f_k and gradients g_k, the hypergradient losses are
h_k(P) = (f(x_k − P g_k) − f_k)/‖g_k‖² (Gao, Chu, Ye, Udell, COLT 2025 arXiv 2411.01803). The comparator

    P̂_K = argmin_{P ∈ 𝒫} Σ_k h_k(P),   γ*_K = −(1/K)·Σ_k h_k(P̂_K),   ρ_K = Σ_k h_k(P_k) − Σ_k h_k(P̂_K)

is computed for a scalar or diagonal box 𝒫 with scipy L-BFGS-B (the objective is convex in P; the solve is
vectorised over the K points with ``Problem.f_and_grad_many``). An inexact solve can only overestimate
min Σ h_k and so *underestimate* ρ_K. The accuracy is certified, not just reported: F(P) = Σ_k h_k(P) is
convex, so for every P in the box F(P) ≥ F(P̂) + ⟨∇F(P̂), P − P̂⟩, and minimising the right-hand side over
the box (coordinate-wise, a Frank–Wolfe gap) gives

    min_𝒫 F ≥ F(P̂) − gap,   gap = Σ_i max(∇F_i·(p̂_i − l), ∇F_i·(p̂_i − u)) ≥ 0,

hence γ*_K ∈ [γ̂, γ̂ + gap/K] and ρ_K ∈ [ρ̂, ρ̂ + gap] (this project's; standard convex duality).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.optimize

from theory.learners import Box
from theory.problems import Problem


@dataclass(frozen=True)
class Hindsight:
    comparator: np.ndarray  # P̂_K
    total: float  # Σ_k h_k(P̂_K)
    projected_grad_inf: float  # ‖projected ∇‖∞ at P̂_K (0 at an exact solution)
    certified_gap: float  # F(P̂_K) − min_𝒫 F ≤ certified_gap (Frank–Wolfe gap; inf for an unbounded box)


def hypergradient_hindsight(
    problem: Problem,
    xs: np.ndarray,
    fs: np.ndarray,
    grads: np.ndarray,
    domain: Box,
    *,
    kind: str = "diag",
    start: np.ndarray | None = None,
    maxiter: int = 1000,
) -> Hindsight:
    """min over the box of Σ_k h_{x_k}(P) for scalar or diagonal P."""
    if kind not in ("scalar", "diag"):
        raise ValueError(f"hypergradient_hindsight: kind={kind!r} must be 'scalar' or 'diag'")
    weights = 1.0 / np.einsum("ki,ki->k", grads, grads)
    dim = 1 if kind == "scalar" else xs.shape[1]

    def objective(p: np.ndarray) -> tuple[float, np.ndarray]:
        points = xs - (p[0] * grads if kind == "scalar" else p * grads)
        values, trial_grads = problem.f_and_grad_many(points)
        total = float(np.sum((values - fs) * weights))
        per_coordinate = -np.sum(trial_grads * grads * weights[:, None], axis=0)
        return total, (np.array([per_coordinate.sum()]) if kind == "scalar" else per_coordinate)

    p0 = (
        np.full(dim, np.clip(0.0, domain.lower, domain.upper)) if start is None else np.asarray(start).ravel()
    )
    bounds = [
        (None if np.isinf(domain.lower) else domain.lower, None if np.isinf(domain.upper) else domain.upper)
    ]
    result = scipy.optimize.minimize(
        objective,
        p0,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds * dim,
        options={"maxiter": maxiter, "gtol": 1e-9, "ftol": 1e-12, "maxcor": 20},
    )
    p = result.x
    total, grad = objective(p)
    projected = p - np.clip(p - grad, domain.lower, domain.upper)
    comparator = np.asarray(p[0]) if kind == "scalar" else p
    return Hindsight(comparator, total, float(np.max(np.abs(projected))), frank_wolfe_gap(p, grad, domain))


def frank_wolfe_gap(p: np.ndarray, grad: np.ndarray, domain: Box) -> float:
    """max_{P ∈ box} ⟨∇F(p), p − P⟩ = Σ_i max(∇F_i (p_i − l), ∇F_i (p_i − u)) ≥ 0; bounds F(p) − min F for
    convex F (a coordinate with ∇F_i ≠ 0 and an infinite bound on the descent side gives inf)."""
    with np.errstate(invalid="ignore"):
        towards_lower = np.where(grad > 0, grad * (p - domain.lower), 0.0)
        towards_upper = np.where(grad < 0, grad * (p - domain.upper), 0.0)
    return float(np.sum(np.maximum(towards_lower, 0.0) + np.maximum(towards_upper, 0.0)))
