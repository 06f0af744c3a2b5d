"""Polynomial decay (torch ``PolynomialLR``; the "poly" policy of ParseNet, Liu et al. 2015, and DeepLab).

f = r + (1 − r)(1 − p)^power, r = ``min_ratio``; ``power`` > 0 (1 is linear).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from stepsize.schedules.spec import Param, ScheduleSpec, floor_to, fraction_check, positive_check, progress


def polynomial(s: NDArray[np.int64], n: int, *, power: float, min_ratio: float) -> NDArray[np.float64]:
    """f = r + (1 − r)(1 − p)^power."""
    return floor_to(min_ratio, (1.0 - progress(s, n)) ** power)


SPEC = ScheduleSpec(
    name="polynomial", label="Polynomial", core=polynomial,
    params={"power": Param(2.0, positive_check), "min_ratio": Param(0.0, fraction_check())},
    source="torch PolynomialLR (the poly policy of ParseNet/DeepLab)",
    decays=True, end_value=lambda p, n: p["min_ratio"] if n > 1 else 1.0,
)
