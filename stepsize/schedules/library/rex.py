"""REX, paper form (Chen, Wolfe & Kyrillidis, MLSys 2022, arXiv 2107.04197).

f = r + (1 − r) · (1 − p) / (½ + ½(1 − p)), r = ``min_ratio``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from stepsize.schedules.spec import Param, ScheduleSpec, floor_to, fraction_check, progress


def rex(s: NDArray[np.int64], n: int, *, min_ratio: float) -> NDArray[np.float64]:
    """f = r + (1 − r) z/(½ + ½ z), z = 1 − p."""
    z = 1.0 - progress(s, n)
    return floor_to(min_ratio, z / (0.5 + 0.5 * z))


SPEC = ScheduleSpec(
    name="rex", label="REX", core=rex, params={"min_ratio": Param(0.0, fraction_check())},
    source="Chen, Wolfe & Kyrillidis, MLSys 2022 (REX)", bibkey="chen2022rex",
    decays=True, end_value=lambda p, n: p["min_ratio"] if n > 1 else 1.0,
)
