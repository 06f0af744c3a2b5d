"""OSGM: online scaled gradient methods (Gao, Chu, Ye, Udell, COLT 2025 arXiv 2411.01803; Part I arXiv
2505.23081), the variants OSGM-R / OSGM-H / OSGM-G of the authors' MATLAB code (Gwzwpxz/osgm): ``run_osgm``
records a trace for the bound checks; ``osgm_diagonal`` runs on the benchmark's counting oracle.

Each online round k (one f and one ∇f call, since ∇f(x⁺) is reused when the step is taken):

    x⁺ = x_k − P_k ∇f(x_k)                      trial point with the current stepsize
    ℓ_k = ℓ_{x_k}(P_k),  s_k = ∇_P ℓ_{x_k}(P_k)  feedback (ratio, hypergradient or gradient norm)
    P_{k+1} = learner(P_k, s_k)                 projected OGD or AdaGrad
    x_{k+1} = x⁺                                "vanilla" landscape
    x_{k+1} = x⁺ if accept(x_k, x⁺) else x_k    "monotone" landscape (null step; P is still updated)

The trace keeps everything the bound checks need: x_k, f(x_k), ∇f(x_k), P_k, ℓ_k, s_k and acceptance.

A non-finite trial point (f(x⁺) or ∇f(x⁺) overflowing) gives no feedback. The vanilla landscape then stops
with status ``diverged``. The monotone landscape treats it as a null step and halves the stepsize,
P_{k+1} = Π_𝒫(P_k/2), with ℓ_k = ∞ and s_k = 0 logged. This safeguard is this project's choice, not the
papers'. P = 0 gives x⁺ = x, so the halving always ends at a finite trial point. ``status`` is
``converged``, ``max_iter`` or ``diverged``; ``shrinks`` counts the halvings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from theory.feedback import (
    Feedback,
    HypergradientFeedback,
    Kind,
    RatioFeedback,
    Trial,
    apply_stepsize,
    check_kind,
    zero_stepsize,
)
from theory.learners import AdaGrad, Box, Learner
from theory.oracle import BudgetExhausted, CountingOracle
from theory.problems import Problem

Landscape = Literal["vanilla", "monotone"]


@dataclass
class OSGMTrace:
    """Per-round history of an OSGM run (index k = online round; ``xs`` has one more row: the final x)."""

    xs: list[np.ndarray] = field(default_factory=list)
    fs: list[float] = field(default_factory=list)
    grads: list[np.ndarray] = field(default_factory=list)
    stepsizes: list[np.ndarray] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    feedback_grads: list[np.ndarray] = field(default_factory=list)
    trial_fs: list[float] = field(default_factory=list)
    accepted: list[bool] = field(default_factory=list)
    grad_calls: int = 0
    func_calls: int = 0
    converged: bool = False
    diverged: bool = False
    status: str = "max_iter"
    shrinks: int = 0

    @property
    def rounds(self) -> int:
        return len(self.losses)

    def array(self, name: str) -> np.ndarray:
        return np.asarray(getattr(self, name))


def run_osgm(
    problem: Problem,
    feedback: Feedback,
    learner: Learner,
    *,
    kind: Kind = "diag",
    landscape: Landscape = "monotone",
    max_iter: int = 1000,
    tol: float = 1e-4,
    P0: np.ndarray | None = None,
    x0: np.ndarray | None = None,
    stop_below: float | None = None,
) -> OSGMTrace:
    """Run OSGM for at most ``max_iter`` rounds; stop when ‖∇f(x)‖∞ < tol, ∇f(x) = 0 or f(x) ≤ stop_below.

    P0 defaults to 0 (the official code's start: the first trial point is x itself, so round 1 only learns).
    """
    kind = check_kind(kind)
    if landscape not in ("vanilla", "monotone"):
        raise ValueError(f"landscape={landscape!r}: expected 'vanilla' or 'monotone'")
    x = np.array(problem.x0 if x0 is None else x0, dtype=np.float64)
    P = zero_stepsize(kind, x.size) if P0 is None else np.array(P0, dtype=np.float64)
    trace = OSGMTrace()
    fx, g = problem.f_and_grad(x)
    trace.func_calls += 1
    trace.grad_calls += 1
    for _ in range(max_iter):
        stationary = not np.any(g)  # ∇f = 0: every feedback divides by ‖∇f‖, so stop
        if stationary or np.max(np.abs(g)) < tol or (stop_below is not None and fx <= stop_below):
            trace.converged, trace.status = True, "converged"
            break
        x_plus = x - apply_stepsize(P, g)
        f_plus, g_plus = problem.f_and_grad(x_plus)
        trace.func_calls += 1
        trace.grad_calls += 1
        trial = Trial(x, fx, g, x_plus, f_plus, g_plus)
        finite = bool(np.isfinite(f_plus) and np.all(np.isfinite(g_plus)))
        if not finite and landscape == "vanilla":
            trace.diverged, trace.status = True, "diverged"
            break
        feedback.observe(trial)
        loss = feedback.value(trial) if finite else np.inf
        s = feedback.gradient(trial, kind) if finite else zero_stepsize(kind, x.size)
        take = landscape == "vanilla" or (finite and feedback.accept(trial))
        trace.xs.append(x)
        trace.fs.append(fx)
        trace.grads.append(g)
        trace.stepsizes.append(P)
        trace.losses.append(loss)
        trace.feedback_grads.append(s)
        trace.trial_fs.append(f_plus)
        trace.accepted.append(take)
        if finite:
            P = learner.step(P, s)
        else:
            P = learner.domain.project(0.5 * P)
            trace.shrinks += 1
        if take:
            x, fx, g = x_plus, f_plus, g_plus
    trace.xs.append(x)
    trace.fs.append(fx)
    trace.grads.append(g)
    return trace


def osgm_diagonal(
    oracle: CountingOracle, x0: np.ndarray, feedback: Feedback, *, alpha: float, L: float, tol: float
) -> np.ndarray:
    """COLT-style diagonal OSGM on a counting oracle, after the authors' ``osgmhx.m`` / ``osgmrx.m``
    (Gwzwpxz/osgm): P₀ = 0, AdaGrad(α) on the feedback, null steps; the benchmark's OSGM-H and OSGM-R.

    Differences from the MATLAB code, kept on purpose:

    - P is projected on the box [0, 1e10/L] (the MATLAB code does not project): the regret bounds need a
      bounded set, and the projection matches HDM-Best's clipping;
    - AdaGrad divides by √G + 1e-12 (``theory.learners.AdaGrad``) where MATLAB divides by √(G + 1e-20);
      both only guard against G = 0 and differ by a relative 1e-12/√G;
    - a trial point is accepted when f(x⁺) ≤ f(x) (MATLAB: f(x⁺) < f(x)), the monotone landscape of the
      bound checks (with equality the descent identity Δ_{k+1} = Δ_k + min{h, 0}‖g‖² holds either way);
    - an accepted step reuses ∇f(x⁺) for the next round, so a round costs one gradient call; the MATLAB
      loop evaluates ∇f(x) again at the top of every round (two calls per round);
    - this project's safeguard: a non-finite trial point is a null step that halves P.
    """
    learner = AdaGrad(alpha, Box(0.0, 1e10 / L))
    x, P = x0.copy(), zero_stepsize("diag", x0.size)
    try:
        fx, g = oracle.f_and_grad(x)
        while np.max(np.abs(g)) >= tol:
            x_plus = x - apply_stepsize(P, g)
            f_plus, g_plus = oracle.f_and_grad(x_plus)
            if not (np.isfinite(f_plus) and np.all(np.isfinite(g_plus))):
                P = 0.5 * P
                continue
            trial = Trial(x, fx, g, x_plus, f_plus, g_plus)
            feedback.observe(trial)
            P = learner.step(P, feedback.gradient(trial, "diag"))
            if f_plus <= fx:
                x, fx, g = x_plus, f_plus, g_plus
    except BudgetExhausted:
        pass
    return x


def osgm_h_diagonal(
    oracle: CountingOracle, x0: np.ndarray, *, alpha: float, L: float, tol: float
) -> np.ndarray:
    """Diagonal OSGM-H: hypergradient feedback h_x (``osgm_diagonal``)."""
    return osgm_diagonal(oracle, x0, HypergradientFeedback(), alpha=alpha, L=L, tol=tol)


def osgm_r_adaptive(
    oracle: CountingOracle, x0: np.ndarray, *, alpha: float, L: float, tol: float
) -> np.ndarray:
    """Diagonal OSGM-R with the adaptive lower bound z of ``osgmrx.m`` in place of f* (start
    z = f(x₀) − 0.1; when f(x) < z, z ← f(x) − min(0.01(z − f(x)), 1)); the known f* is never used."""
    return osgm_diagonal(oracle, x0, RatioFeedback(None), alpha=alpha, L=L, tol=tol)
