"""Schedule registry: names, default parameters, validation, and the validated ``multiplier`` entry point."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from stepsize.schedules import profiles

PROFILES: dict[str, Callable[..., NDArray[np.float64]]] = {
    "constant": profiles.constant,
    "step": profiles.step_decay,
    "multistep": profiles.multistep,
    "exponential": profiles.exponential,
    "cosine": profiles.cosine,
    "linear": profiles.linear,
    "polynomial": profiles.polynomial,
    "rex": profiles.rex,
    "rex_code": profiles.rex_code,
    "onecycle": profiles.onecycle,
    "wsd": profiles.wsd,
    "cyclic": profiles.cyclic,
    "uba": profiles.uba,
}
NAMES: tuple[str, ...] = tuple(PROFILES)

#: Each schedule's own parameters with their defaults (the common ``warmup_steps`` is not listed).
DEFAULTS: dict[str, dict[str, Any]] = {
    "constant": {},
    "step": {"step_fraction": 0.3, "gamma": 0.1},
    "multistep": {"milestones": [0.5, 0.75], "gamma": 0.1},
    "exponential": {"final_ratio": 0.01},
    "cosine": {"min_ratio": 0.0},
    "linear": {"min_ratio": 0.0},
    "polynomial": {"power": 2.0, "min_ratio": 0.0},
    "rex": {"min_ratio": 0.0},
    "rex_code": {"min_ratio": 0.0},
    "onecycle": {
        "pct_start": 0.3,
        "div_factor": 25.0,
        "final_div_factor": 1e4,
        "anneal": "cos",
        "cycle_momentum": True,
        "base_momentum": 0.85,
        "max_momentum": 0.95,
    },
    "wsd": {"decay_fraction": 0.2, "decay_shape": "sqrt", "min_ratio": 0.0},
    "cyclic": {"cycles": 2, "min_ratio": 0.1},
    "uba": {"phi": 1.0, "min_ratio": 0.0, "phases": None},
}

_PHASE_KEYS = ("fraction", "phi", "max_ratio", "min_ratio")


# ------------------------------------------------------------------------------------ value checks
def _number(where: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{where}: {key} must be a finite number, got {value!r}")
    return float(value)


def _fraction(where: str, key: str, value: Any, *, low_open: bool = False, high_open: bool = False) -> None:
    v = _number(where, key, value)
    low_ok = v > 0 if low_open else v >= 0
    high_ok = v < 1 if high_open else v <= 1
    if not (low_ok and high_ok):
        interval = f"{'(' if low_open else '['}0, 1{')' if high_open else ']'}"
        raise ValueError(f"{where}: {key} must be a fraction in {interval}, got {value!r}")


def _positive(where: str, key: str, value: Any) -> None:
    if _number(where, key, value) <= 0:
        raise ValueError(f"{where}: {key} must be > 0, got {value!r}")


def _integer(where: str, key: str, value: Any, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{where}: {key} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _choice(where: str, key: str, value: Any, options: tuple[str, ...]) -> None:
    if value not in options:
        raise ValueError(f"{where}: {key} must be one of {list(options)}, got {value!r}")


def _boolean(where: str, key: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{where}: {key} must be true or false, got {value!r}")


def _check_momenta(where: str, p: dict[str, Any]) -> None:
    """OneCycle momenta: each in [0, 1), base_momentum <= max_momentum."""
    _boolean(where, "cycle_momentum", p["cycle_momentum"])
    _fraction(where, "base_momentum", p["base_momentum"], high_open=True)
    _fraction(where, "max_momentum", p["max_momentum"], high_open=True)
    if p["base_momentum"] > p["max_momentum"]:
        raise ValueError(
            f"{where}: base_momentum must be <= max_momentum, got base_momentum={p['base_momentum']!r} "
            f"> max_momentum={p['max_momentum']!r}"
        )


def _check_phase_range(where: str, key: str, phase: Mapping[str, Any], min_ratio: Any) -> None:
    """A phase's floor must not exceed its peak: min_ratio (own, else the top-level one) <= max_ratio."""
    low, high = phase.get("min_ratio", min_ratio), phase.get("max_ratio", 1.0)
    if low > high:
        inherited = "" if "min_ratio" in phase else ", the top-level min_ratio"
        raise ValueError(
            f"{where}: {key}.min_ratio ({low!r}{inherited}) must be <= {key}.max_ratio ({high!r})"
        )


def _check_phases(where: str, phases: Any, min_ratio: Any = 0.0) -> None:
    if phases is None:
        return
    if not isinstance(phases, list | tuple) or not phases:
        raise ValueError(f"{where}: phases must be a non-empty list of dicts, got {phases!r}")
    total = 0.0
    for i, ph in enumerate(phases):
        key = f"phases[{i}]"
        if not isinstance(ph, Mapping):
            raise ValueError(f"{where}: {key} must be a dict, got {ph!r}")
        unknown = sorted(set(ph) - set(_PHASE_KEYS))
        if unknown:
            raise ValueError(
                f"{where}: {key} has unknown key {unknown[0]!r}; valid keys: {list(_PHASE_KEYS)}"
            )
        if "fraction" not in ph:
            raise ValueError(f"{where}: {key}.fraction is required")
        _fraction(where, f"{key}.fraction", ph["fraction"], low_open=True)
        total += float(ph["fraction"])
        if "phi" in ph:
            _positive(where, f"{key}.phi", ph["phi"])
        if "max_ratio" in ph:
            _positive(where, f"{key}.max_ratio", ph["max_ratio"])
        if "min_ratio" in ph:
            _fraction(where, f"{key}.min_ratio", ph["min_ratio"])
        _check_phase_range(where, key, ph, min_ratio)
    if abs(total - 1.0) > 1e-9:
        raise ValueError(f"{where}: phases[*].fraction must sum to 1, got {total!r}")


def _check_params(name: str, p: dict[str, Any]) -> None:
    """Schedule-specific range checks; ``p`` holds every parameter (defaults filled in)."""
    where = f"schedule {name!r}"
    for key in ("min_ratio",):
        if key in p:
            _fraction(where, key, p[key])
    if "gamma" in p:
        _number(where, "gamma", p["gamma"])
        if not 0 < p["gamma"] <= 1:
            raise ValueError(f"{where}: gamma must be in (0, 1], got {p['gamma']!r}")
    if name == "step":
        _fraction(where, "step_fraction", p["step_fraction"], low_open=True)
    elif name == "multistep":
        ms = p["milestones"]
        if not isinstance(ms, list | tuple):
            raise ValueError(f"{where}: milestones must be a list of budget fractions, got {ms!r}")
        for i, q in enumerate(ms):
            _fraction(where, f"milestones[{i}]", q)
        if list(ms) != sorted(ms):
            raise ValueError(f"{where}: milestones must be increasing, got {ms!r}")
    elif name == "exponential":
        _fraction(where, "final_ratio", p["final_ratio"], low_open=True)
    elif name == "polynomial":
        _positive(where, "power", p["power"])
    elif name == "onecycle":
        _fraction(where, "pct_start", p["pct_start"], low_open=True, high_open=True)
        _positive(where, "div_factor", p["div_factor"])
        _positive(where, "final_div_factor", p["final_div_factor"])
        _choice(where, "anneal", p["anneal"], ("cos", "linear"))
        _check_momenta(where, p)
    elif name == "wsd":
        _fraction(where, "decay_fraction", p["decay_fraction"])
        _choice(where, "decay_shape", p["decay_shape"], ("linear", "cosine", "sqrt"))
    elif name == "cyclic":
        _integer(where, "cycles", p["cycles"], minimum=1)
    elif name == "uba":
        _positive(where, "phi", p["phi"])
        _check_phases(where, p["phases"], p["min_ratio"])


# ------------------------------------------------------------------------------------- public API
def resolve(name: str, total_steps: int, **params: Any) -> dict[str, Any]:
    """Validate and return the full parameter dict (defaults filled in, ``warmup_steps`` included).

    Raises ``ValueError`` with a one-line message naming the bad name, key or value.
    """
    if name not in PROFILES:
        raise ValueError(f"unknown schedule {name!r}; valid names: {', '.join(NAMES)}")
    where = f"schedule {name!r}"
    allowed = {*DEFAULTS[name], "warmup_steps"}
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ValueError(f"{where}: unknown parameter {unknown[0]!r}; valid parameters: {sorted(allowed)}")
    total = _integer(where, "total_steps", total_steps, minimum=1)
    full = {**DEFAULTS[name], "warmup_steps": 0, **params}
    warmup = _integer(where, "warmup_steps", full["warmup_steps"], minimum=0)
    if warmup >= total:
        raise ValueError(f"{where}: warmup_steps must be < total_steps ({total}), got {warmup}")
    _check_params(name, full)
    return full


def validate(name: str, total_steps: int, **params: Any) -> None:
    """Raise ``ValueError`` (one line, naming the parameter) if the schedule or its parameters are invalid."""
    resolve(name, total_steps, **params)


def multiplier(name: str, step: ArrayLike, total_steps: int, **params: Any) -> NDArray[np.float64]:
    """LR multiplier f(step) of schedule ``name`` over a budget of ``total_steps`` updates (validated).

    ``step`` may be an int or an integer array (0-based update indices); steps >= total_steps get the
    end value. LR = base LR × multiplier.
    """
    full = resolve(name, total_steps, **params)
    steps = np.asarray(step)
    if steps.dtype.kind not in "iu" and not (
        steps.dtype.kind == "f" and np.all(np.isfinite(steps)) and np.all(steps == np.round(steps))
    ):
        raise ValueError(f"schedule {name!r}: step must be integer-valued, got {step!r}")
    if np.any(steps < 0):
        raise ValueError(f"schedule {name!r}: step must be >= 0, got min {int(np.min(steps))}")
    return PROFILES[name](steps.astype(np.int64), int(total_steps), **full)
