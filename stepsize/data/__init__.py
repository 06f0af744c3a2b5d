"""Datasets and loaders, looked up lazily by name (design.md §3).

``build(cfg, device=..., seed=...)`` imports only the builder module named by ``cfg["name"]``, so the
Fashion-MNIST path never imports torchvision or ffcv.
"""

from __future__ import annotations

import importlib
from typing import Any

from stepsize.data.base import Data

# name -> "module:function"; modules are imported on first use only.
REGISTRY: dict[str, str] = {
    "fashion_mnist": "stepsize.data.fashion_mnist:build",
    "cifar10": "stepsize.data.cifar:build",
    "cifar100": "stepsize.data.cifar:build",
    "synthetic": "stepsize.data.synthetic:build",
    "imagefolder": "stepsize.data.imagefolder:build",
    "ffcv": "stepsize.data.ffcv_loader:build",
}
NAMES: tuple[str, ...] = tuple(REGISTRY)

__all__ = ["NAMES", "REGISTRY", "Data", "build", "builder_defaults", "builder_nullable"]


def _module_and_attr(name: str) -> tuple[Any, str]:
    if name not in REGISTRY:
        raise ValueError(f"data.name: unknown dataset {name!r}; valid: {', '.join(NAMES)}")
    module_name, attr = REGISTRY[name].split(":")
    return importlib.import_module(module_name), attr


def builder_defaults(name: str) -> dict[str, Any]:
    """The allowed ``data.*`` keys and their defaults for dataset ``name`` (used by config validation):
    the builder module's ``DEFAULTS`` (which need not list ``name``) with ``name`` set to ``name``."""
    module, _ = _module_and_attr(name)
    return {**module.DEFAULTS, "name": name}


def builder_nullable(name: str) -> dict[str, type]:
    """The type each null-default ``data.*`` key of dataset ``name`` takes besides null (the builder's
    ``NULLABLE``), so that config validation can name a key given a value of the wrong type."""
    module, _ = _module_and_attr(name)
    return dict(getattr(module, "NULLABLE", {}))


def build(cfg: dict[str, Any], *, device: Any, seed: int, rank: int = 0, world_size: int = 1) -> Data:
    """Build the dataset named ``cfg["name"]`` for this rank (see `stepsize.data.base.Data`)."""
    module, attr = _module_and_attr(cfg["name"])
    return getattr(module, attr)(cfg, device=device, seed=seed, rank=rank, world_size=world_size)
