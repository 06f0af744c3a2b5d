"""Exponential decay (torch ``ExponentialLR``): f = γ^s with γ = final_ratio^{1/(n−1)}.

γ is set so that the last update gets ``final_ratio`` × η_max. A classic baseline schedule; for
budgeted training it is among the schedules compared by Li, Yumer & Ramanan (ICLR 2020, "Budgeted
training", arXiv 1905.04753: "exp" in their CIFAR-10 schedule comparison) and by Chen, Wolfe &
Kyrillidis (MLSys 2022, REX, arXiv 2107.04197: "exponential decay" among its baselines).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from stepsize.schedules.spec import Param, ScheduleSpec, fraction_check


def exponential(s: NDArray[np.int64], n: int, *, final_ratio: float) -> NDArray[np.float64]:
    """f = final_ratio^{s/(n−1)}."""
    gamma = final_ratio ** (1.0 / (n - 1)) if n > 1 else 1.0
    return gamma ** s.astype(np.float64)


SPEC = ScheduleSpec(
    name="exponential", label="Exponential", core=exponential,
    params={"final_ratio": Param(0.01, fraction_check(low_open=True))},
    source="torch ExponentialLR; a baseline of Li et al. 2020 and Chen et al. 2022", bibkey="li2020budgeted",
    decays=True, end_value=lambda p, n: p["final_ratio"] if n > 1 else 1.0,
)
