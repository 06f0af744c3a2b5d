"""UBA ↔ Chebyshev: worst-case contraction of step-size schedules on quadratics with spectrum in [μ, L].

T gradient steps x ← x − η_t ∇f(x) on f = ½ xᵀAx multiply each eigen-component of x by
∏_t (1 − η_t λ); the worst case over curvature is W(η) = max_{λ∈[μ,L]} |∏_t (1 − η_t λ)|.
Its minimiser is the Chebyshev step sequence (Young 1953; see also Agarwal, Goel & Zhang 2021, arXiv
2103.01338): 1/η_j at the roots of the degree-T Chebyshev polynomial mapped to [μ, L],

    η_j = 2 / ((L + μ) − (L − μ)·cos((2j + 1)π/(2T))),  j = 0..T−1  (decreasing order),
    W* = 1 / cosh(T·arccosh((κ + 1)/(κ − 1))),  κ = L/μ.

The UBA schedule (Tang et al., "Stepsize anything", arXiv 2505.24452; the closed form of the third-party
``UBAScheduler`` in ukiyois/Deep-Learning-in-Astronomy-WaveltMamba, which matches the abstract's single
parameter φ; the paper's body could not be read), as ``stepsize.schedules.uba_fraction`` implements it,

    η(s) = η_min + (η_max − η_min)·2(1 + cos πs) / (2φ + (2 − φ)(1 + cos πs)),  s = t/T ∈ [0, 1],

with η_max = 1/μ, η_min = 1/L and φ = 2κ equals the continuous decreasing Chebyshev schedule
η(s) = 2/((L + μ) − (L − μ) cos πs) (derived in this project: put c = 1 + cos πs, φ = 2κ and
η_max − η_min = (L − μ)/(Lμ) into the fraction and simplify). Sampled at the midpoints
s_j = (j + ½)/T it reproduces the Chebyshev steps exactly; at the end points s_j = j/(T − 1) (the
repository's schedule convention, design.md §1) it is a close but not optimal sequence.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np

from stepsize.schedules import uba_fraction

Positions = Literal["midpoint", "endpoint"]


def schedule_positions(T: int, positions: Positions = "midpoint") -> np.ndarray:
    """Budget fractions s_t of the T steps: (t + ½)/T (midpoint) or t/(T − 1) (endpoint)."""
    if T < 2:
        raise ValueError(f"T={T}: need a budget of at least 2 steps")
    if positions == "midpoint":
        return (np.arange(T) + 0.5) / T
    if positions == "endpoint":
        return np.arange(T) / (T - 1)
    raise ValueError(f"positions={positions!r}: expected 'midpoint' or 'endpoint'")


def shape_constant(s: np.ndarray) -> np.ndarray:
    return np.ones_like(s)


def shape_cosine(s: np.ndarray) -> np.ndarray:
    """Cosine annealing (Loshchilov & Hutter 2017): ½(1 + cos πs)."""
    return 0.5 * (1.0 + np.cos(np.pi * s))


def shape_linear(s: np.ndarray) -> np.ndarray:
    """Linear decay (Li, Yumer & Ramanan, ICLR 2020): 1 − s."""
    return 1.0 - s


def shape_step(s: np.ndarray) -> np.ndarray:
    """Multi-step decay: ×0.1 at 50% and again at 75% of the budget."""
    return np.where(s < 0.5, 1.0, np.where(s < 0.75, 0.1, 0.01))


BASELINE_SHAPES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "constant": shape_constant,
    "cosine": shape_cosine,
    "linear": shape_linear,
    "step": shape_step,
}


def uba_steps(
    T: int, eta_min: float, eta_max: float, phi: float, positions: Positions = "midpoint"
) -> np.ndarray:
    """η_min + (η_max − η_min)·F(s_t) with UBA's fraction F of ``stepsize.schedules.uba_fraction``, φ > 0."""
    if not phi > 0:
        raise ValueError(f"phi={phi}: UBA needs phi > 0")
    return eta_min + (eta_max - eta_min) * uba_fraction(schedule_positions(T, positions), phi)


def chebyshev_steps(mu: float, L: float, T: int) -> np.ndarray:
    """Optimal worst-case steps in decreasing order: 2/((L + μ) − (L − μ) cos((2j + 1)π/(2T)))."""
    j = np.arange(T)
    return 2.0 / ((L + mu) - (L - mu) * np.cos((2 * j + 1) * np.pi / (2 * T)))


def chebyshev_worst_case(mu: float, L: float, T: int) -> float:
    """W* = 1/cosh(T·arccosh((κ + 1)/(κ − 1))), the optimal worst-case contraction of T steps."""
    kappa = L / mu
    return float(1.0 / np.cosh(T * np.arccosh((kappa + 1.0) / (kappa - 1.0))))


def curvature_grid(mu: float, L: float, T: int, points: int = 4001) -> np.ndarray:
    """λ grid on [μ, L]: linear + geometric spacing + the Chebyshev extrema cos(kπ/T) mapped to [μ, L]."""
    extrema = 0.5 * (L + mu) + 0.5 * (L - mu) * np.cos(np.arange(T + 1) * np.pi / T)
    return np.unique(np.concatenate([np.linspace(mu, L, points), np.geomspace(mu, L, points), extrema]))


def log_worst_case(steps: np.ndarray, lambdas: np.ndarray) -> float:
    """log max_λ |∏_t (1 − η_t λ)| over the grid (log domain: products span hundreds of decades)."""
    with np.errstate(divide="ignore"):
        logs = np.log(np.abs(1.0 - np.outer(lambdas, steps))).sum(axis=1)
    return float(np.max(logs))


def best_tuned_log_worst_case(
    shape: Callable[[np.ndarray], np.ndarray],
    mu: float,
    L: float,
    T: int,
    lambdas: np.ndarray,
    positions: Positions = "midpoint",
    grid_size: int = 41,
) -> tuple[float, float, float]:
    """Best log worst case of η_min + (η_max − η_min)·shape(s) over η_max ∈ [0.25/L, 2/μ] (log grid, plus
    2/(L + μ) and 1/μ) and η_min ∈ {0, 1/L}. Returns (log W, η_max, η_min) of the best setting."""
    s = schedule_positions(T, positions)
    m = shape(s)
    eta_maxes = np.unique(np.append(np.geomspace(0.25 / L, 2.0 / mu, grid_size), [2.0 / (L + mu), 1.0 / mu]))
    best = (np.inf, np.nan, np.nan)
    for eta_max in eta_maxes:
        for eta_min in (0.0, 1.0 / L):
            if eta_min > eta_max:
                continue
            value = log_worst_case(eta_min + (eta_max - eta_min) * m, lambdas)
            if value < best[0]:
                best = (value, float(eta_max), eta_min)
    return best
