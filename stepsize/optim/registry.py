"""The optimizer registry: every spec of `stepsize.optim.library`, and ``create``/``validate``.

Modules of the library package are found by name (sorted); each defines ``SPEC`` or ``SPECS``. An
unknown name raises a one-line error listing the valid names; there is no fallback optimizer.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from torch.optim import Optimizer

from stepsize.optim import library
from stepsize.optim.spec import OptimizerSpec, Params


def _discover() -> dict[str, OptimizerSpec]:
    specs: dict[str, OptimizerSpec] = {}
    for info in sorted(pkgutil.iter_modules(library.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{library.__name__}.{info.name}")
        found = getattr(module, "SPECS", None) or ((module.SPEC,) if hasattr(module, "SPEC") else ())
        if not found or not all(isinstance(s, OptimizerSpec) for s in found):
            raise TypeError(f"{module.__name__} defines no SPEC/SPECS of OptimizerSpec")
        for spec in found:
            if spec.name in specs:
                raise ValueError(f"optimizer name {spec.name!r} is defined twice ({module.__name__})")
            specs[spec.name] = spec
    return specs


SPECS: dict[str, OptimizerSpec] = _discover()
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
