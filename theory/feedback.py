"""OSGM feedback functions ℓ_x(P) and their gradients in the stepsize P (scalar, diagonal or full matrix).

Notation (Gao, Chu, Ye, Udell, COLT 2025 arXiv 2411.01803; Part I arXiv 2505.23081): g = ∇f(x),
x⁺ = x − P g, g⁺ = ∇f(x⁺). The three feedbacks of the papers and the authors' MATLAB code:

- ratio          r_x(P) = (f(x⁺) − f*)/(f(x) − f*),      ∇_P r = −g⁺gᵀ/(f(x) − f*)
- hypergradient  h_x(P) = (f(x⁺) − f(x))/‖g‖²,            ∇_P h = −g⁺gᵀ/‖g‖²
- gradient norm  g_x(P) = ‖∇f(x⁺)‖/‖g‖ (quadratic, Hessian A), ∇_P g_x = −(A g⁺/‖g⁺‖) gᵀ/‖g‖

(the chain rule through x⁺ = x − P g gives ∂f(x⁺)/∂P = −g⁺gᵀ). Restricting P to the diagonal gives
−(g⁺∘g)/den and to a scalar −⟨g⁺, g⟩/den. Each feedback is convex in P for convex f, since P ↦ x − P g is
affine (h and r are convex f composed with it; g_x is the norm of an affine map for a quadratic); derived in
this project. ``accept`` is the monotone ("null step") landscape test of the official code (Gwzwpxz/osgm,
``osgmhx.m``, ``osgmgx.m``; udellgroup/osgm-best-hypergrad, ``algorithms/hdm.py``): f(x⁺) ≤ f(x), or
‖g⁺‖ < ‖g‖ for the gradient-norm feedback.

The ratio feedback may use a known f* or the adaptive lower bound z of the authors' ``osgmrx.m``:
start at z = f(x₁) − 0.1 and, whenever f(x) < z, reset z = f(x) − min(0.01·(z − f(x)), 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from theory.problems import Problem

Kind = Literal["scalar", "diag", "full"]
KINDS: tuple[Kind, ...] = ("scalar", "diag", "full")


def check_kind(kind: str) -> Kind:
    if kind not in KINDS:
        raise ValueError(f"stepsize kind={kind!r}: expected one of {', '.join(KINDS)}")
    return kind  # type: ignore[return-value]


def apply_stepsize(P: np.ndarray, g: np.ndarray) -> np.ndarray:
    """P g for a scalar (shape ()), diagonal (shape (n,)) or full (shape (n, n)) stepsize."""
    return P @ g if P.ndim == 2 else P * g


def outer_in_class(left: np.ndarray, right: np.ndarray, kind: Kind) -> np.ndarray:
    """left·rightᵀ projected onto the stepsize class: ⟨left, right⟩, left∘right or the outer product."""
    if kind == "scalar":
        return np.asarray(float(left @ right))
    if kind == "diag":
        return left * right
    return np.outer(left, right)


def zero_stepsize(kind: Kind, dim: int) -> np.ndarray:
    return {"scalar": np.zeros(()), "diag": np.zeros(dim), "full": np.zeros((dim, dim))}[kind]


@dataclass(frozen=True)
class Trial:
    """One online round: the current point and the trial point x⁺ = x − P g."""

    x: np.ndarray
    fx: float
    g: np.ndarray
    x_plus: np.ndarray
    f_plus: float
    g_plus: np.ndarray


def make_trial(
    problem: Problem, x: np.ndarray, P: np.ndarray, fx: float | None = None, g: np.ndarray | None = None
) -> Trial:
    if fx is None or g is None:
        fx, g = problem.f_and_grad(x)
    x_plus = x - apply_stepsize(P, g)
    f_plus, g_plus = problem.f_and_grad(x_plus)
    return Trial(x, fx, g, x_plus, f_plus, g_plus)


class HypergradientFeedback:
    """h_x(P) = (f(x − P∇f(x)) − f(x))/‖∇f(x)‖² (COLT 2025; ICML 2025 arXiv 2502.11229)."""

    name = "hypergradient"

    def observe(self, trial: Trial) -> None:
        """Hook for stateful feedbacks (no state here)."""

    def value(self, trial: Trial) -> float:
        return (trial.f_plus - trial.fx) / float(trial.g @ trial.g)

    def gradient(self, trial: Trial, kind: Kind) -> np.ndarray:
        return -outer_in_class(trial.g_plus, trial.g, kind) / float(trial.g @ trial.g)

    def accept(self, trial: Trial) -> bool:
        return bool(trial.f_plus <= trial.fx)


class RatioFeedback:
    """r_x(P) = (f(x − P∇f(x)) − z)/(f(x) − z) with z = f* (known) or the adaptive lower bound (COLT 2025)."""

    name = "ratio"

    def __init__(self, fstar: float | None = None) -> None:
        self.known = fstar is not None
        self.lower_bound: float | None = None if fstar is None else float(fstar)

    def observe(self, trial: Trial) -> None:
        if self.known:
            return
        if self.lower_bound is None:
            self.lower_bound = trial.fx - 0.1
        elif trial.fx < self.lower_bound:
            self.lower_bound = trial.fx - min(0.01 * (self.lower_bound - trial.fx), 1.0)

    def _denominator(self, trial: Trial) -> float:
        if self.lower_bound is None:
            raise ValueError("RatioFeedback: call observe(trial) first when f* is unknown")
        return trial.fx - self.lower_bound

    def value(self, trial: Trial) -> float:
        return (trial.f_plus - self.lower_bound) / self._denominator(trial)

    def gradient(self, trial: Trial, kind: Kind) -> np.ndarray:
        return -outer_in_class(trial.g_plus, trial.g, kind) / self._denominator(trial)

    def accept(self, trial: Trial) -> bool:
        return bool(trial.f_plus <= trial.fx)


class GradientNormFeedback:
    """g_x(P) = ‖∇f(x − P∇f(x))‖/‖∇f(x)‖ for a quadratic with Hessian A (COLT 2025, OSGM-G)."""

    name = "gradient_norm"

    def __init__(self, hessian: np.ndarray) -> None:
        self.hessian = np.asarray(hessian, dtype=np.float64)

    def observe(self, trial: Trial) -> None:
        """Hook for stateful feedbacks (no state here)."""

    def value(self, trial: Trial) -> float:
        return float(np.linalg.norm(trial.g_plus) / np.linalg.norm(trial.g))

    def gradient(self, trial: Trial, kind: Kind) -> np.ndarray:
        norm_plus = float(np.linalg.norm(trial.g_plus))
        if norm_plus == 0.0:
            return zero_stepsize(kind, trial.g.size)
        direction = self.hessian @ trial.g_plus / norm_plus
        return -outer_in_class(direction, trial.g, kind) / float(np.linalg.norm(trial.g))

    def accept(self, trial: Trial) -> bool:
        return bool(np.linalg.norm(trial.g_plus) < np.linalg.norm(trial.g))


Feedback = HypergradientFeedback | RatioFeedback | GradientNormFeedback


def make_feedback(name: str, problem: Problem, fstar: float | None = None) -> Feedback:
    """Feedback by name: ``ratio`` (known f* or adaptive bound), ``hypergradient``, ``gradient_norm``."""
    if name == "ratio":
        return RatioFeedback(fstar)
    if name == "hypergradient":
        return HypergradientFeedback()
    if name == "gradient_norm":
        hessian = problem.constant_hessian()
        if hessian is None:
            raise ValueError(f"feedback 'gradient_norm' needs a quadratic problem, got {problem.name!r}")
        return GradientNormFeedback(hessian)
    raise ValueError(f"feedback={name!r}: expected ratio, hypergradient or gradient_norm")


def feedback_value_and_gradient(
    problem: Problem, feedback: Feedback, x: np.ndarray, P: np.ndarray, kind: Kind
) -> tuple[float, np.ndarray]:
    """ℓ_x(P) and ∇_P ℓ_x(P) at a given point (used by tests and the hindsight solves)."""
    trial = make_trial(problem, x, P)
    return feedback.value(trial), feedback.gradient(trial, kind)
