"""The schedule registry: every ``SPEC`` of `stepsize.schedules.library`, and the validated entry points.

Modules of the library package are found by name (sorted), so a new schedule is one new file there.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from stepsize.discovery import discover
from stepsize.schedules import library
from stepsize.schedules.spec import COMMON, MEANINGS, ScheduleSpec

SPECS: dict[str, ScheduleSpec] = discover(library, ScheduleSpec, "schedule")
NAMES: tuple[str, ...] = tuple(SPECS)
#: Each schedule's own parameters with their defaults (the common ``warmup_steps`` is not listed).
DEFAULTS: dict[str, dict[str, Any]] = {name: dict(spec.defaults) for name, spec in SPECS.items()}
#: Schedules whose first update gets η_max, that never increase and end at their end value.
DECAYING: tuple[str, ...] = tuple(name for name, spec in SPECS.items() if spec.decays)
LABELS: dict[str, str] = {name: spec.label for name, spec in SPECS.items()}


def spec(name: str) -> ScheduleSpec:
    """The spec of schedule ``name``; ValueError listing the valid names otherwise."""
    if name not in SPECS:
        raise ValueError(f"unknown schedule {name!r}; valid names: {', '.join(NAMES)}")
    return SPECS[name]


def resolve(name: str, total_steps: int, **params: Any) -> dict[str, Any]:
    """Validate and return the full parameter dict (defaults filled in, ``warmup_steps`` included).

    Raises ``ValueError`` with a one-line message naming the bad name, key or value.
    """
    return spec(name).validate(total_steps, params)


def describe(name: str) -> str:
    """What schedule ``name`` is and every parameter it takes: its default, meaning and allowed values
    (from its spec, `spec.MEANINGS` and its module's docstring); ValueError for an unknown name."""
    import sys
    import textwrap

    s = spec(name)
    summary = (sys.modules[s.core.__module__].__doc__ or "").strip().split("\n\n")[0]
    lines = [f"{name} ({s.label}): {s.source}", textwrap.indent(summary, "    "), "parameters:"]
    checks = {**{k: p.check for k, p in s.params.items()}, "warmup_steps": None, "warmup_fraction": None}
    defaults = {**s.defaults, **COMMON}
    for key, check in checks.items():
        allowed = ((check.__doc__ or "").strip().rstrip(".") if check is not None
                   else "an integer >= 0, < total_steps" if key == "warmup_steps" else "a fraction in [0, 1)")
        meaning = MEANINGS.get(key, "")
        lines.append(f"  {key} = {defaults[key]!r}: {meaning}{'; ' if meaning else ''}{allowed[:1].lower()}"
                     f"{allowed[1:]}")
    if not s.params:
        lines.append("  (no parameters of its own)")
    return "\n".join(lines)


def validate(name: str, total_steps: int, **params: Any) -> None:
    """Raise ``ValueError`` (one line, naming the parameter) if the schedule or its parameters are invalid."""
    resolve(name, total_steps, **params)


def _steps(name: str, step: ArrayLike) -> NDArray[np.int64]:
    steps = np.asarray(step)
    if steps.dtype.kind not in "iu" and not (
        steps.dtype.kind == "f" and np.all(np.isfinite(steps)) and np.all(steps == np.round(steps))
    ):
        raise ValueError(f"schedule {name!r}: step must be integer-valued, got {step!r}")
    if np.any(steps < 0):
        raise ValueError(f"schedule {name!r}: step must be >= 0, got min {int(np.min(steps))}")
    return steps.astype(np.int64)


def multiplier(name: str, step: ArrayLike, total_steps: int, **params: Any) -> NDArray[np.float64]:
    """LR multiplier f(step) of schedule ``name`` over a budget of ``total_steps`` updates (validated).

    ``step`` may be an int or an integer array (0-based update indices); steps >= total_steps get the
    end value. LR = base LR × multiplier.
    """
    full = resolve(name, total_steps, **params)
    return spec(name).evaluate(_steps(name, step), int(total_steps), full)


def momentum(name: str, step: ArrayLike, total_steps: int, **params: Any) -> NDArray[np.float64] | None:
    """The absolute momentum schedule ``name`` sets at ``step`` (OneCycle), or None if it sets none."""
    full = resolve(name, total_steps, **params)
    return spec(name).evaluate_momentum(_steps(name, step), int(total_steps), full)


def onecycle_momentum(step: ArrayLike, total_steps: int, **params: Any) -> NDArray[np.float64]:
    """OneCycle's momentum (torch ``OneCycleLR(cycle_momentum=True)``); see `library.onecycle`."""
    out = momentum("onecycle", step, total_steps, **params)
    assert out is not None
    return out
