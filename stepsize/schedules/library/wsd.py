"""Warmup–stable–decay (Hu et al. 2024, MiniCPM, arXiv 2404.06395; Hägele et al. 2024, arXiv 2405.18392).

Constant 1 until progress 1 − d (d = ``decay_fraction``), then with q = (p − (1 − d))/d:
f = r + (1 − r) · D(q), D(q) = 1 − q ("linear"), ½(1 + cos πq) ("cosine") or 1 − √q ("sqrt", the
cooldown Hägele et al. found best). The warmup is the common ``warmup_steps`` prefix.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from stepsize.schedules.spec import Param, ScheduleSpec, choice_check, floor_to, fraction_check, progress

COOLDOWNS: dict[str, Callable[[NDArray[np.float64]], NDArray[np.float64]]] = {
    "linear": lambda q: 1.0 - q,
    "cosine": lambda q: 0.5 * (1.0 + np.cos(np.pi * q)),
    "sqrt": lambda q: 1.0 - np.sqrt(q),
}


def wsd(s: NDArray[np.int64], n: int, *, decay_fraction: float, decay_shape: str,
        min_ratio: float) -> NDArray[np.float64]:
    """f = 1 before progress 1 − d, then r + (1 − r) D(q)."""
    if decay_fraction == 0:
        return np.ones(s.shape)
    q = np.clip((progress(s, n) - (1.0 - decay_fraction)) / decay_fraction, 0.0, 1.0)
    return floor_to(min_ratio, COOLDOWNS[decay_shape](q))


SPEC = ScheduleSpec(
    name="wsd", label="WSD", core=wsd,
    params={"decay_fraction": Param(0.2, fraction_check()),
            "decay_shape": Param("sqrt", choice_check(*COOLDOWNS)),
            "min_ratio": Param(0.0, fraction_check())},
    source="Hu et al. 2024 (MiniCPM); Hägele et al. 2024 (cooldowns)", bibkey="hagele2024scaling",
    decays=True,
    end_value=lambda p, n: 1.0 if p["decay_fraction"] == 0 or n == 1 else p["min_ratio"],
)
