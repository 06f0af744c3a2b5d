"""The optimizer registry: every spec of `stepsize.optim.library`, and ``create``/``validate``.

Modules of the library package are found by name (sorted); each defines ``SPEC`` or ``SPECS``. An
unknown name raises a one-line error listing the valid names; there is no fallback optimizer.
"""

from __future__ import annotations

from typing import Any

from torch.optim import Optimizer

from stepsize.discovery import discover
from stepsize.optim import library
from stepsize.optim.spec import OptimizerSpec, Params

SPECS: dict[str, OptimizerSpec] = discover(library, OptimizerSpec, "optimizer")
NAMES: tuple[str, ...] = tuple(SPECS)
#: Allowed keyword arguments of each optimizer with their defaults (``lr`` is passed separately).
DEFAULTS: dict[str, dict[str, Any]] = {name: dict(spec.options) for name, spec in SPECS.items()}
LABELS: dict[str, str] = {name: spec.label for name, spec in SPECS.items()}


def spec(name: str) -> OptimizerSpec:
    """The spec of optimizer ``name``; ValueError listing the valid names otherwise."""
    if name not in SPECS:
        raise ValueError(f"unknown optimizer {name!r}; valid names: {', '.join(NAMES)}")
    return SPECS[name]


def create(name: str, params: Params, lr: float, **kw: Any) -> Optimizer:
    """Build optimizer ``name`` over ``params`` with ``lr`` (a learning rate, or the multiplier of a learned
    step: see ``SPECS[name].lr``) and its keyword arguments."""
    return spec(name).create(params, lr, kw)


def validate(name: str, lr: float, **kw: Any) -> None:
    """Raise ``ValueError`` (one line) if ``create(name, params, lr, **kw)`` would reject the settings;
    builds nothing."""
    spec(name).resolve(lr, kw)
