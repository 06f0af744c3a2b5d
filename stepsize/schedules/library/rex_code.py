"""REX, code variant: the 0.1 + 0.9 z denominator of a public implementation, not of the paper.

f = r + (1 − r) · (1 − p) / (0.1 + 0.9(1 − p)), r = ``min_ratio``; it stays high longer and drops
more steeply at the end than the paper form (`stepsize.schedules.library.rex`, Chen, Wolfe &
Kyrillidis, MLSys 2022).

Provenance: this is the formula of ``lr_scheduler.py`` (``REX_LR``) in GitHub IvanVassi/REX_LR,
``val = min + (max − min) · z/(0.1 + 0.9 z)`` with z = (T − t mod T)/T. That repository's README describes
it as a "very simple REX learning rate scheduler based on paper" and cites the three authors as the
paper's authors, so it is not attributed here to the authors themselves; google/init2winit's REX family
links the same file as the code form ("beta = 0.9 (in code) or 1 (in paper)"). Our p = t/(T − 1) ends
at exactly 0 on the last update, where that code's z = (T − t)/T ends at 1/T.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from stepsize.schedules.spec import Param, ScheduleSpec, floor_to, fraction_check, progress


def rex_code(s: NDArray[np.int64], n: int, *, min_ratio: float) -> NDArray[np.float64]:
    """f = r + (1 − r) z/(0.1 + 0.9 z), z = 1 − p."""
    z = 1.0 - progress(s, n)
    return floor_to(min_ratio, z / (0.1 + 0.9 * z))


SPEC = ScheduleSpec(
    name="rex_code", label="REX (code)", core=rex_code, params={"min_ratio": Param(0.0, fraction_check())},
    source="the public REX_LR code (IvanVassi/REX_LR), linked by google/init2winit",
    decays=True, end_value=lambda p, n: p["min_ratio"] if n > 1 else 1.0,
)
