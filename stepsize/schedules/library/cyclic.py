"""Triangular cyclical LR (Smith, WACV 2017, "Cyclical learning rates"; torch ``CyclicLR`` "triangular").

``cycles`` triangles over the budget, each rising from r = ``min_ratio`` to 1 and back:
u = frac(p · cycles), f = r + (1 − r)(1 − |2u − 1|). Starts and ends at r (so the first update gets
η_min, unlike the decaying schedules).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from stepsize.schedules.spec import Param, ScheduleSpec, floor_to, fraction_check, integer_check, progress


def cyclic(s: NDArray[np.int64], n: int, *, cycles: int, min_ratio: float) -> NDArray[np.float64]:
    """f = r + (1 − r)(1 − |2u − 1|), u = frac(p · cycles)."""
    u = np.mod(progress(s, n) * cycles, 1.0)
    return floor_to(min_ratio, 1.0 - np.abs(2.0 * u - 1.0))


SPEC = ScheduleSpec(
    name="cyclic", label="Cyclic", core=cyclic,
    params={"cycles": Param(2, integer_check(1)), "min_ratio": Param(0.1, fraction_check())},
    source="Smith, WACV 2017 (cyclical learning rates)", bibkey="smith2017cyclical",
)
