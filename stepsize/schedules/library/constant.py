"""Constant LR: f = 1 (after the optional warmup). No parameters besides ``warmup_steps``."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from stepsize.schedules.spec import ScheduleSpec


def constant(s: NDArray[np.int64], n: int) -> NDArray[np.float64]:
    """f = 1."""
    return np.ones(s.shape)


SPEC = ScheduleSpec(name="constant", label="Constant", core=constant, params={},
                    source="the classic baseline")
