"""Online learners for the stepsize P: projected online gradient descent and (element-wise) AdaGrad.

Used as in the OSGM papers (Gao, Chu, Ye, Udell, COLT 2025 arXiv 2411.01803; Part I arXiv 2505.23081) and
the official code (AdaGrad everywhere there; plain OGD in the theory). Candidate sets 𝒫:

- ``Box(lower, upper)``: element-wise bounds; the official code clips diagonal P to [0, 1e10/L] (HDM-Best).
  For a box, the projection in the diagonal AdaGrad metric is exactly coordinate-wise clipping [D].
- ``FrobeniusBall(radius)``: {P : ‖P‖_F ≤ radius}, a bounded full-matrix set for the theory.

Regret bounds (standard online convex optimisation; s_k = ∇ℓ_k(P_k), comparator P̂ ∈ 𝒫):

- projected OGD with constant η (Zinkevich 2003):
  Σ_k ℓ_k(P_k) − ℓ_k(P̂) ≤ ‖P₁ − P̂‖²_F/(2η) + (η/2) Σ_k ‖s_k‖²_F.
- diagonal AdaGrad with step α, P ← Π(P − α s/√G), G = Σ s∘s (Duchi, Hazan, Singer 2011, Thm 5):
  regret ≤ (max_k ‖P_k − P̂‖²_∞/(2α) + α) Σ_i √G_{K,i}. (The ε = 1e-12 added to √G for numerical
  safety is ignored by the bound; it changes the iterates by a relative 1e-12/√G.)

A regret bound holds only for the learner that produced the stepsizes, so ``replay`` re-runs a learner
from a fresh state on the recorded feedback gradients; the checks compare that with the recorded P_k.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Box:
    """{P : lower ≤ P ≤ upper element-wise}."""

    lower: float = -np.inf
    upper: float = np.inf

    def __post_init__(self) -> None:
        if not self.lower <= self.upper:
            raise ValueError(f"Box: lower={self.lower} must be <= upper={self.upper}")

    def project(self, P: np.ndarray) -> np.ndarray:
        return np.clip(P, self.lower, self.upper)

    def contains(self, P: np.ndarray, tol: float = 0.0) -> bool:
        return bool(np.all(P >= self.lower - tol) and np.all(P <= self.upper + tol))


@dataclass(frozen=True)
class FrobeniusBall:
    """{P : ‖P‖_F ≤ radius}; Euclidean projection rescales."""

    radius: float

    def __post_init__(self) -> None:
        if not self.radius > 0:
            raise ValueError(f"FrobeniusBall: radius={self.radius} must be > 0")

    def project(self, P: np.ndarray) -> np.ndarray:
        norm = float(np.linalg.norm(P))
        return P if norm <= self.radius else P * (self.radius / norm)

    def contains(self, P: np.ndarray, tol: float = 0.0) -> bool:
        return float(np.linalg.norm(P)) <= self.radius * (1.0 + tol) + tol


StepsizeSet = Box | FrobeniusBall


class ProjectedOGD:
    """P_{k+1} = Π_𝒫(P_k − η s_k)."""

    name = "ogd"

    def __init__(self, eta: float, domain: StepsizeSet | None = None) -> None:
        if not eta > 0:
            raise ValueError(f"ProjectedOGD: eta={eta} must be > 0")
        self.eta = float(eta)
        self.domain = domain if domain is not None else Box()

    def step(self, P: np.ndarray, s: np.ndarray) -> np.ndarray:
        return self.domain.project(P - self.eta * s)

    def replay(self, P0: np.ndarray, gradients: np.ndarray) -> np.ndarray:
        """P_0 = P0, P_{k+1} = Π(P_k − η s_k): the stepsizes this learner plays on the gradients s_k."""
        return _replay(self.step, P0, gradients)

    def regret_bound(self, stepsizes: np.ndarray, gradients: np.ndarray, comparator: np.ndarray) -> float:
        """‖P₁ − P̂‖²/(2η) + (η/2) Σ_k ‖s_k‖² over the rounds (stepsizes[k] = P_k, gradients[k] = s_k)."""
        first = float(np.sum((stepsizes[0] - comparator) ** 2))
        return first / (2.0 * self.eta) + 0.5 * self.eta * float(np.sum(gradients**2))


class AdaGrad:
    """Element-wise AdaGrad: G ← G + s∘s, P ← Π_box(P − α s/(√G + ε)) (as in the official OSGM code)."""

    name = "adagrad"

    def __init__(self, alpha: float, domain: Box | None = None, eps: float = 1e-12) -> None:
        if not alpha > 0:
            raise ValueError(f"AdaGrad: alpha={alpha} must be > 0")
        if domain is not None and not isinstance(domain, Box):
            raise ValueError("AdaGrad: only a Box domain has an exact projection in the AdaGrad metric")
        self.alpha = float(alpha)
        self.domain = domain if domain is not None else Box()
        self.eps = float(eps)
        self.accumulator: np.ndarray | None = None

    def step(self, P: np.ndarray, s: np.ndarray) -> np.ndarray:
        self.accumulator = s * s if self.accumulator is None else self.accumulator + s * s
        return self.domain.project(P - self.alpha * s / (np.sqrt(self.accumulator) + self.eps))

    def reset(self) -> None:
        self.accumulator = None

    def replay(self, P0: np.ndarray, gradients: np.ndarray) -> np.ndarray:
        """The stepsizes a fresh copy of this AdaGrad (same α, box, ε) plays on the gradients s_k."""
        fresh = AdaGrad(self.alpha, self.domain, self.eps)
        return _replay(fresh.step, P0, gradients)

    def regret_bound(self, stepsizes: np.ndarray, gradients: np.ndarray, comparator: np.ndarray) -> float:
        """(max_k ‖P_k − P̂‖²_∞/(2α) + α) Σ_i √(Σ_k s_{k,i}²) (Duchi et al. 2011, Thm 5)."""
        spread = float(np.max(np.abs(stepsizes - comparator)))
        sum_root = float(np.sum(np.sqrt(np.sum(gradients**2, axis=0))))
        return (spread**2 / (2.0 * self.alpha) + self.alpha) * sum_root


def _replay(
    step: Callable[[np.ndarray, np.ndarray], np.ndarray], P0: np.ndarray, gradients: np.ndarray
) -> np.ndarray:
    """[P_0, P_1, …, P_{K−1}] with P_{k+1} = step(P_k, s_k) (one entry per recorded round)."""
    played, P = [], np.asarray(P0, dtype=np.float64)
    for s in gradients:
        played.append(P)
        P = step(P, s)
    return np.array(played)


Learner = ProjectedOGD | AdaGrad


def replay_error(learner: Learner, stepsizes: np.ndarray, feedback_grads: np.ndarray) -> float:
    """max_k |P_k(recorded) − P_k(learner replayed from P_0)|, relative to max(max|P|, 1e-300): the regret
    bound of ``learner`` applies to the trajectory only if the learner produced its stepsizes."""
    if stepsizes.shape[0] == 0:
        return 0.0
    replayed = learner.replay(stepsizes[0], feedback_grads)
    scale = max(float(np.max(np.abs(stepsizes))), 1e-300)
    return float(np.max(np.abs(replayed - stepsizes)) / scale)
