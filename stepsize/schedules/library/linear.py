"""Linear decay (Li, Yumer & Ramanan, ICLR 2020, "Budgeted training"; torch ``LinearLR``).

f = r + (1 − r)(1 − p), r = ``min_ratio`` = η_min/η_max (0: decay to zero).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from stepsize.schedules.spec import Param, ScheduleSpec, fraction_check, progress


def linear(s: NDArray[np.int64], n: int, *, min_ratio: float) -> NDArray[np.float64]:
    """f = 1 + (r − 1) p."""
    return 1.0 + (min_ratio - 1.0) * progress(s, n)


SPEC = ScheduleSpec(
    name="linear", label="Linear", core=linear, params={"min_ratio": Param(0.0, fraction_check())},
    source="Li, Yumer & Ramanan, ICLR 2020 (budgeted training)", bibkey="li2020budgeted",
    decays=True, end_value=lambda p, n: p["min_ratio"] if n > 1 else 1.0,
)
