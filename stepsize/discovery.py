"""Find the specs of a library package: every module of it defines ``SPEC`` (or a tuple ``SPECS``).

Used by the schedule and optimizer registries, so that adding a method is one new file in
``stepsize/schedules/library/`` or ``stepsize/optim/library/``. Modules are imported in name order; a
module without a spec of the expected type, or a name defined twice, is an import-time error.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType
from typing import Any


def discover(package: ModuleType, spec_type: type, kind: str) -> dict[str, Any]:
    """``{spec.name: spec}`` over the modules of ``package`` (``kind`` names them in errors)."""
    specs: dict[str, Any] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        found = getattr(module, "SPECS", None) or ((module.SPEC,) if hasattr(module, "SPEC") else ())
        if not found or not all(isinstance(s, spec_type) for s in found):
            raise TypeError(f"{module.__name__} defines no SPEC/SPECS of {spec_type.__name__}")
        for spec in found:
            if spec.name in specs:
                raise ValueError(f"{kind} name {spec.name!r} is defined twice ({module.__name__})")
            specs[spec.name] = spec
    return specs
