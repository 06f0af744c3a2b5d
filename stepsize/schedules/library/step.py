"""Periodic step decay (torch ``StepLR``): f = γ^⌊s/k⌋, k = max(1, ceil(step_fraction · (n − 1))).

The LR is multiplied by ``gamma`` every ``step_fraction`` of the budget (He et al. 2016 style step
schedules; the budget-scaled form follows Li, Yumer & Ramanan, ICLR 2020, "Budgeted training").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from stepsize.schedules.spec import Param, ScheduleSpec, fraction_check, fraction_to_step, gamma_check


def step(s: NDArray[np.int64], n: int, *, step_fraction: float, gamma: float) -> NDArray[np.float64]:
    """f = γ^⌊s/k⌋ with period k = max(1, ceil(step_fraction · (n − 1)))."""
    period = max(1, fraction_to_step(step_fraction, n))
    return gamma ** (s // period).astype(np.float64)


def end_value(p: Mapping[str, Any], n: int) -> float:
    """γ^⌊(n − 1)/k⌋: one decay per full period that fits before the last update."""
    return float(step(np.array([n - 1]), n, step_fraction=p["step_fraction"], gamma=p["gamma"])[0])


SPEC = ScheduleSpec(
    name="step", label="StepLR (periodic)", core=step,
    params={"step_fraction": Param(0.3, fraction_check(low_open=True)), "gamma": Param(0.1, gamma_check)},
    source="torch StepLR; budget-scaled as in Li, Yumer & Ramanan, ICLR 2020", bibkey="li2020budgeted",
    decays=True, end_value=end_value,
)
