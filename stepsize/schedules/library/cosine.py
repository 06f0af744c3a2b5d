"""Cosine annealing (Loshchilov & Hutter, ICLR 2017, SGDR, without restarts).

f = r + (1 − r) · ½(1 + cos(π p)), r = ``min_ratio`` = η_min/η_max.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from stepsize.schedules.spec import Param, ScheduleSpec, floor_to, fraction_check, progress


def cosine(s: NDArray[np.int64], n: int, *, min_ratio: float) -> NDArray[np.float64]:
    """f = r + (1 − r) · ½(1 + cos πp)."""
    return floor_to(min_ratio, (1.0 + np.cos(np.pi * progress(s, n))) / 2.0)


SPEC = ScheduleSpec(
    name="cosine", label="Cosine", core=cosine, params={"min_ratio": Param(0.0, fraction_check())},
    source="Loshchilov & Hutter, ICLR 2017 (SGDR)", bibkey="loshchilov2017sgdr",
    decays=True, end_value=lambda p, n: p["min_ratio"] if n > 1 else 1.0,
)
