"""One record per schedule (`ScheduleSpec`), the shared step convention and the parameter checks.

A schedule is a pure function ``core(s, n, **params)`` of the local step ``s = 0 .. n−1`` of its main
phase (``n`` updates after the optional warmup) that returns the LR multiplier. Everything else is
derived from its spec: the validated numpy multiplier (`stepsize.schedules.multiplier`), the torch
``LRScheduler`` (`stepsize.schedules.BudgetSchedule`), the config defaults, the report's labels and the
lists the generic tests run over.

Conventions (shared by every schedule, tested):

* ``t = 0 .. T−1`` counts optimizer updates; ``T = total_steps`` is the whole budget.
* A linear warmup of ``W = warmup_steps`` updates (``0 <= W < T``; or ``W = round(warmup_fraction · T)``,
  a warmup that scales with the budget) comes first and counts inside the budget:
  ``f(t) = core(0, n) · (t + 1)/(W + 1)`` for ``t < W``, so the ramp ends one step below the schedule's
  start value and update ``W`` gets the start value itself.
* The main schedule runs over ``n = T − W`` updates with local index ``s = t − W`` and progress
  ``p = s/(n − 1)`` (``p = 0`` when ``n = 1``): ``s = 0`` gets the start value (η_max) and the last update
  ``s = n − 1`` gets the end value (η_min). Steps past the budget keep the end value.
* A budget fraction ``q`` used as a milestone becomes the first local step whose progress reaches it,
  ``ceil(q · (n − 1))`` (`fraction_to_step`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

Core = Callable[..., NDArray[np.float64]]
Momentum = Callable[..., NDArray[np.float64] | None]
Check = Callable[[str, str, Any], None]  # (where, key, value) -> None or ValueError


# ------------------------------------------------------------------------------- step convention
def fraction_to_step(fraction: float, n: int) -> int:
    """Local step at which a budget fraction is reached: the first ``s`` with ``s/(n−1) >= fraction``.

    Equals ``ceil(fraction · (n − 1))``; the product is rounded to 9 decimals first so that, e.g.,
    0.7 × 10 = 7.000000000000001 maps to 7 and not 8. A one-step phase (p = 0 only) never reaches a
    positive fraction: the result is then 1, past its only step.
    """
    if n == 1:
        return 0 if fraction <= 0 else 1
    return math.ceil(round(fraction * (n - 1), 9))


def progress(s: NDArray[np.int64], n: int) -> NDArray[np.float64]:
    """p = s/(n − 1), and p = 0 for a one-step main phase."""
    if n == 1:
        return np.zeros(s.shape)
    return s / (n - 1)


def floor_to(min_ratio: float, fraction: NDArray[np.float64]) -> NDArray[np.float64]:
    """η_min/η_max + (1 − η_min/η_max) · fraction: rescale a [0, 1] profile onto [min_ratio, 1]."""
    return min_ratio + (1.0 - min_ratio) * fraction


def with_warmup(core: Callable[[NDArray[np.int64], int], NDArray[np.float64]], step: ArrayLike,
                total_steps: int, warmup_steps: int) -> NDArray[np.float64]:
    """Evaluate ``core(s, n)`` after a linear warmup prefix of ``warmup_steps`` updates.

    For ``t < W``: ``core(0, n) · (t + 1)/(W + 1)``; for ``t >= W``: ``core(min(t − W, n − 1), n)``
    with ``n = T − W``.
    """
    t = np.asarray(step, dtype=np.int64)
    n = total_steps - warmup_steps
    s = np.clip(t - warmup_steps, 0, n - 1)
    out = np.asarray(core(s, n), dtype=np.float64) * np.ones(s.shape)
    if warmup_steps > 0:
        start = float(core(np.zeros(1, dtype=np.int64), n)[0])
        out = np.where(t < warmup_steps, start * (t + 1) / (warmup_steps + 1), out)
    return out


# ------------------------------------------------------------------------------- parameter checks
def _number(where: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{where}: {key} must be a finite number, got {value!r}")
    return float(value)


def fraction_check(low_open: bool = False, high_open: bool = False) -> Check:
    """A number in [0, 1] (ends open as asked)."""
    interval = f"{'(' if low_open else '['}0, 1{')' if high_open else ']'}"

    def check(where: str, key: str, value: Any) -> None:
        v = _number(where, key, value)
        if not ((v > 0 if low_open else v >= 0) and (v < 1 if high_open else v <= 1)):
            raise ValueError(f"{where}: {key} must be a fraction in {interval}, got {value!r}")

    check.__doc__ = f"A fraction in {interval}."
    return check


def positive_check(where: str, key: str, value: Any) -> None:
    """A finite number > 0."""
    if _number(where, key, value) <= 0:
        raise ValueError(f"{where}: {key} must be > 0, got {value!r}")


def gamma_check(where: str, key: str, value: Any) -> None:
    """A decay factor in (0, 1]."""
    if not 0 < _number(where, key, value) <= 1:
        raise ValueError(f"{where}: {key} must be in (0, 1], got {value!r}")


def integer_check(minimum: int) -> Check:
    """An integer >= ``minimum``."""

    def check(where: str, key: str, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
            raise ValueError(f"{where}: {key} must be an integer >= {minimum}, got {value!r}")

    check.__doc__ = f"An integer >= {minimum}."
    return check


def choice_check(*options: str) -> Check:
    """One of ``options``."""

    def check(where: str, key: str, value: Any) -> None:
        if value not in options:
            raise ValueError(f"{where}: {key} must be one of {list(options)}, got {value!r}")

    check.__doc__ = f"One of {list(options)}."
    return check


def boolean_check(where: str, key: str, value: Any) -> None:
    """true or false."""
    if not isinstance(value, bool):
        raise ValueError(f"{where}: {key} must be true or false, got {value!r}")


def milestones_check(where: str, key: str, value: Any) -> None:
    """A list of strictly increasing budget fractions in [0, 1]."""
    if not isinstance(value, list | tuple):
        raise ValueError(f"{where}: {key} must be a list of budget fractions, got {value!r}")
    for i, q in enumerate(value):
        fraction_check()(where, f"{key}[{i}]", q)
    if any(b <= a for a, b in itertools.pairwise(value)):
        raise ValueError(f"{where}: {key} must be strictly increasing (each milestone applies gamma once), "
                         f"got {value!r}")


#: The parameters every schedule takes, with their defaults (the warmup prefix).
COMMON: dict[str, Any] = {"warmup_steps": 0, "warmup_fraction": 0.0}
#: What each parameter name means, in every schedule that has it (`stepsize.schedules.describe`).
MEANINGS: dict[str, str] = {
    "warmup_steps": "updates of the linear warmup prefix, inside the budget (0: none)",
    "warmup_fraction": "the warmup as a fraction of the budget, round(fraction x T) updates (0: none)",
    "min_ratio": "end LR as a fraction of the peak, eta_min / eta_max",
    "final_ratio": "LR of the last update as a fraction of the peak",
    "phi": "UBA's shape: 2 is cosine, below 2 keeps the LR high longer, above 2 decays early",
    "milestones": "budget fractions at which the LR is multiplied by gamma",
    "gamma": "factor applied to the LR at each drop",
    "step_fraction": "budget fraction between two drops",
    "cycles": "number of triangular cycles over the budget",
    "power": "exponent of the polynomial decay (1: linear)",
    "pct_start": "budget fraction spent increasing the LR",
    "div_factor": "peak LR / starting LR",
    "final_div_factor": "starting LR / final LR",
    "anneal": "shape of the annealing phases",
    "cycle_momentum": "cycle the momentum inversely to the LR",
    "base_momentum": "momentum at the LR peak",
    "max_momentum": "momentum at the LR minimum (start and end)",
    "decay_fraction": "budget fraction of the final decay phase",
    "decay_shape": "shape of the decay phase",
}


def warmup_of(params: Mapping[str, Any], total_steps: int) -> int:
    """The warmup length W in updates: ``warmup_steps``, or ``round(warmup_fraction · T)``."""
    fraction = float(params.get("warmup_fraction", 0.0) or 0.0)
    return round(fraction * total_steps) if fraction else int(params.get("warmup_steps", 0))


@dataclass(frozen=True)
class Param:
    """One parameter of a schedule: its default and the check its value must pass."""

    default: Any
    check: Check


# ----------------------------------------------------------------------------------------- the spec
@dataclass(frozen=True)
class ScheduleSpec:
    """Everything the library knows about one schedule.

    ``core(s, n, **params)``: the multiplier on the main phase (local steps ``s``, ``n`` updates).
    ``params``: its own parameters (``warmup_steps`` is common to all and not listed).
    ``label``: its name in tables and figures. ``source``: who proposed it (the docstring has the formula).
    ``decays``: the first update gets 1 (η_max), the profile never increases, and the last update gets
    ``end_value(params, n)``. ``check(where, params)``: cross-parameter checks, if any.
    ``momentum(s, n, **params)``: an absolute momentum the scheduler also sets (OneCycle), if any; it
    may return None for parameters that turn it off.
    """

    name: str
    label: str
    core: Core
    params: Mapping[str, Param]
    source: str
    decays: bool = False
    end_value: Callable[[Mapping[str, Any], int], float] | None = None
    check: Callable[[str, Mapping[str, Any]], None] | None = None
    momentum: Momentum | None = None
    bibkey: str | None = None
    defaults: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "defaults", {k: p.default for k, p in self.params.items()})
        if self.decays and self.end_value is None:
            raise ValueError(f"schedule spec {self.name!r}: a decaying schedule needs end_value")

    def validate(self, total_steps: Any, params: Mapping[str, Any]) -> dict[str, Any]:
        """Every parameter (defaults filled in, ``warmup_steps`` included), checked; ValueError naming
        the bad key otherwise."""
        where = f"schedule {self.name!r}"
        allowed = {*self.params, *COMMON}
        unknown = sorted(set(params) - allowed)
        if unknown:
            raise ValueError(f"{where}: unknown parameter {unknown[0]!r}; "
                             f"valid parameters: {sorted(allowed)}")
        integer_check(1)(where, "total_steps", total_steps)
        full = {**self.defaults, **COMMON, **params}
        integer_check(0)(where, "warmup_steps", full["warmup_steps"])
        fraction_check(high_open=True)(where, "warmup_fraction", full["warmup_fraction"])
        if full["warmup_steps"] and full["warmup_fraction"]:
            raise ValueError(f"{where}: set warmup_steps or warmup_fraction, not both")
        if warmup_of(full, total_steps) >= total_steps:
            raise ValueError(f"{where}: warmup_steps must be < total_steps ({total_steps}), "
                             f"got {warmup_of(full, total_steps)}")
        for key, param in self.params.items():
            param.check(where, key, full[key])
        if self.check is not None:
            self.check(where, full)
        return full

    def evaluate(self, step: ArrayLike, total_steps: int, params: Mapping[str, Any]) -> NDArray[np.float64]:
        """The multiplier at ``step`` (0-based update indices) for checked ``params``."""
        own = {k: v for k, v in params.items() if k not in COMMON}
        return with_warmup(lambda s, n: self.core(s, n, **own), step, total_steps,
                           warmup_of(params, total_steps))

    def evaluate_momentum(self, step: ArrayLike, total_steps: int,
                          params: Mapping[str, Any]) -> NDArray[np.float64] | None:
        """The absolute momentum at ``step`` (held at its start value during the warmup), or None."""
        if self.momentum is None:
            return None
        own = {k: v for k, v in params.items() if k not in COMMON}
        t = np.asarray(step, dtype=np.int64)
        warmup = warmup_of(params, total_steps)
        n = total_steps - warmup
        out = self.momentum(np.clip(t - warmup, 0, n - 1), n, **own)
        return None if out is None else np.asarray(out, dtype=np.float64)


def sequence(values: Sequence[Any]) -> list[Any]:
    """A parameter value that is a list, copied (specs hold tuples; configs hold lists)."""
    return list(values)
