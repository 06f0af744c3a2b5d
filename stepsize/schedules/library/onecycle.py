"""OneCycle (Smith & Topin 2019, "Super-convergence"), exactly torch ``OneCycleLR`` (two phases).

With a = 1/div_factor, b = a/final_div_factor and e = pct_start · n − 1 (torch's phase boundary):
s <= e: anneal from a up to 1 with pct = s/e; otherwise anneal from 1 down to b with
pct = (s − e)/(n − 1 − e). ``anneal`` is "cos" (``stop + (start − stop)/2 · (1 + cos(π pct))``) or
"linear" (``(stop − start) · pct + start``). It starts low (a) by design, so the "first update gets
η_max" rule does not apply; the last update gets b · η_max.

Momentum (torch ``OneCycleLR(cycle_momentum=True)``, the default): inverse to the LR on the same phases
and anneal, m_max → m_base while the LR rises, then back to m_max (``base_momentum`` 0.85,
``max_momentum`` 0.95); the scheduler sets it on every group that has a momentum.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from stepsize.schedules.spec import (
    Param,
    ScheduleSpec,
    boolean_check,
    choice_check,
    fraction_check,
    positive_check,
)


def _shape(anneal: str, start: float, stop: float, pct: NDArray[np.float64]) -> NDArray[np.float64]:
    """torch's OneCycle anneal from ``start`` (pct = 0) to ``stop`` (pct = 1)."""
    if anneal == "cos":
        return stop + (start - stop) / 2.0 * (np.cos(np.pi * pct) + 1)
    return (stop - start) * pct + start


def _two_phases(s: NDArray[np.int64], n: int, pct_start: float, anneal: str, first: float, middle: float,
                last: float) -> NDArray[np.float64]:
    """``first`` → ``middle`` for s <= e, then ``middle`` → ``last``, e = pct_start · n − 1."""
    boundary = float(pct_start * n) - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        pct_rise = np.where(boundary > 0, s / boundary, 1.0)
        pct_fall = (s - boundary) / (n - 1 - boundary)
    rise, fall = _shape(anneal, first, middle, pct_rise), _shape(anneal, middle, last, pct_fall)
    return np.where(s <= boundary, rise, fall)


def onecycle(s: NDArray[np.int64], n: int, *, pct_start: float, div_factor: float, final_div_factor: float,
             anneal: str, **_momentum: Any) -> NDArray[np.float64]:
    """The LR multiplier: a → 1 → b (see the module docstring)."""
    low = 1.0 / div_factor
    return _two_phases(s, n, pct_start, anneal, low, 1.0, low / final_div_factor)


def onecycle_momentum(s: NDArray[np.int64], n: int, *, pct_start: float, anneal: str, base_momentum: float,
                      max_momentum: float, cycle_momentum: bool = True,
                      **_lr: Any) -> NDArray[np.float64] | None:
    """The absolute momentum: m_max → m_base → m_max on the LR's phases (None: ``cycle_momentum`` off)."""
    if not cycle_momentum:
        return None
    return _two_phases(s, n, pct_start, anneal, max_momentum, base_momentum, max_momentum)


def _check_momenta(where: str, p: Mapping[str, Any]) -> None:
    if p["base_momentum"] > p["max_momentum"]:
        raise ValueError(f"{where}: base_momentum must be <= max_momentum, got base_momentum="
                         f"{p['base_momentum']!r} > max_momentum={p['max_momentum']!r}")


SPEC = ScheduleSpec(
    name="onecycle", label="OneCycle", core=onecycle, momentum=onecycle_momentum, check=_check_momenta,
    params={
        "pct_start": Param(0.3, fraction_check(low_open=True, high_open=True)),
        "div_factor": Param(25.0, positive_check),
        "final_div_factor": Param(1e4, positive_check),
        "anneal": Param("cos", choice_check("cos", "linear")),
        "cycle_momentum": Param(True, boolean_check),
        "base_momentum": Param(0.85, fraction_check(high_open=True)),
        "max_momentum": Param(0.95, fraction_check(high_open=True)),
    },
    source="Smith & Topin 2019 (super-convergence); torch OneCycleLR", bibkey="smith2019superconvergence",
)
