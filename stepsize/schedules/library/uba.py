"""Unified Budget-Aware schedule, UBA (Tang et al., NeurIPS 2025, "Stepsize anything", arXiv 2505.24452).

η_t = η_min + (η_max − η_min) · 2(1 + cos πp) / (2φ + (2 − φ)(1 + cos πp)), φ > 0,
i.e. f = r + (1 − r) · F_φ(p) with r = ``min_ratio``.

Provenance: the paper's body could not be read (only its abstract: one hyper-parameter φ, tied in
theory to the condition number), so this closed form is second-hand, taken from a third-party
implementation, GitHub ukiyois/Deep-Learning-in-Astronomy-WaveltMamba, ``galaxy10_training.py``
(``UBAScheduler``); it matches the abstract's single-φ description but is not checked against the
paper's own equations. Properties (this project's algebra, checked in the tests): φ = 2 is exactly
cosine annealing; the equivalent tangent form is F = 1/(1 + (φ/2) tan²(πp/2)); mid-budget value
F(½) = 2/(2 + φ); φ → 0 tends to a constant LR, φ > 2 decays early. Continuous link to Chebyshev step
sizes: the worst-case-optimal step sizes on a quadratic with condition number κ, sorted decreasingly
and rescaled to [η_min, η_max], are exactly UBA with φ = 2κ (derived in this project, checked
numerically in ``theory/``, not taken from the paper).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from stepsize.schedules.spec import Param, ScheduleSpec, floor_to, fraction_check, positive_check, progress


def uba_fraction(p: ArrayLike, phi: float) -> NDArray[np.float64]:
    """UBA shape on [0, 1]: F(p) = 2(1 + cos πp) / (2φ + (2 − φ)(1 + cos πp)); F(0) = 1, F(1) = 0.

    Equals 1/(1 + (φ/2) tan²(πp/2)); F(½) = 2/(2 + φ); φ = 2 gives ½(1 + cos πp) (cosine) exactly.
    """
    c1 = 1.0 + np.cos(np.pi * np.asarray(p, dtype=np.float64))
    return 2.0 * c1 / (2.0 * phi + (2.0 - phi) * c1)


def uba(s: NDArray[np.int64], n: int, *, phi: float, min_ratio: float) -> NDArray[np.float64]:
    """f = r + (1 − r) F_φ(p)."""
    return floor_to(min_ratio, uba_fraction(progress(s, n), phi))


SPEC = ScheduleSpec(
    name="uba", label="UBA", core=uba,
    params={"phi": Param(1.0, positive_check), "min_ratio": Param(0.0, fraction_check())},
    source="Tang et al., NeurIPS 2025 (Stepsize anything); closed form from a third-party implementation",
    bibkey="tang2025stepsize", decays=True, end_value=lambda p, n: p["min_ratio"] if n > 1 else 1.0,
)
