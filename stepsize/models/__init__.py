"""Image-classification models by name: ``create(name, num_classes, in_channels, **kw)``.

| name              | source                                                               | default width |
|-------------------|----------------------------------------------------------------------|---------------|
| ``mini_resnet``   | 3-stage ResNet, 1 block/stage, stride-2 stem (this project's mini net) | 8           |
| ``resnet8/20/56`` | He et al. 2016, "Deep Residual Learning", §4.2 CIFAR nets (option A) | 16            |
| ``preact_resnet18`` | He et al. 2016, "Identity Mappings in Deep Residual Networks"      | 64            |
| ``resnet18/50``   | torchvision (He et al. 2016 ImageNet nets), imported lazily          | 64 (fixed)    |

Every model takes ``in_channels`` (1 for Fashion-MNIST) and ``num_classes``. Modules are imported on
first use, so the mini path never imports torchvision.
"""

from __future__ import annotations

import importlib
from typing import Any

import torch
from torch import Tensor, nn

# name -> ("module:function", fixed keyword arguments)
REGISTRY: dict[str, tuple[str, dict[str, Any]]] = {
    "mini_resnet": ("stepsize.models.cifar_resnet:mini_resnet", {}),
    "resnet8": ("stepsize.models.cifar_resnet:cifar_resnet", {"depth": 8}),
    "resnet20": ("stepsize.models.cifar_resnet:cifar_resnet", {"depth": 20}),
    "resnet56": ("stepsize.models.cifar_resnet:cifar_resnet", {"depth": 56}),
    "preact_resnet18": ("stepsize.models.preact_resnet:preact_resnet18", {}),
    "resnet18": ("stepsize.models.torchvision_resnet:torchvision_resnet", {"arch": "resnet18"}),
    "resnet50": ("stepsize.models.torchvision_resnet:torchvision_resnet", {"arch": "resnet50"}),
}
NAMES: tuple[str, ...] = tuple(REGISTRY)

#: Keys of the ``model`` config section besides ``name`` (null = the model's own default).
DEFAULTS: dict[str, Any] = {"width": None}

__all__ = ["DEFAULTS", "NAMES", "as_input", "create"]


def create(name: str, num_classes: int, in_channels: int = 3, **kw: Any) -> nn.Module:
    """Build model ``name`` for ``num_classes`` classes and ``in_channels`` input channels.

    Keyword arguments: ``width`` (int or None = default of the model). Raises ValueError for an unknown
    name or a bad value.
    """
    if name not in REGISTRY:
        raise ValueError(f"model.name: unknown model {name!r}; valid: {', '.join(NAMES)}")
    if not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
    if not isinstance(in_channels, int) or in_channels < 1:
        raise ValueError(f"in_channels must be a positive integer, got {in_channels!r}")
    unknown = sorted(set(kw) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"model.{unknown[0]}: unknown model option; allowed: {', '.join(DEFAULTS)}")
    width = kw.get("width")
    if width is not None and (isinstance(width, bool) or not isinstance(width, int) or width < 1):
        raise ValueError(f"model.width must be a positive integer or null, got {width!r}")
    target, fixed = REGISTRY[name]
    module_name, attr = target.split(":")
    factory = getattr(importlib.import_module(module_name), attr)
    options = {**fixed, "num_classes": num_classes, "in_channels": in_channels}
    if width is not None:
        options["width"] = width
    return factory(**options)


def as_input(x: Tensor, channels_last: bool, dtype: torch.dtype | None = None) -> Tensor:
    """Batch ``x`` as the model takes it: in its memory format (channels_last or contiguous) and, when
    ``dtype`` is given, in that dtype. The one place a batch enters a model (training step, evaluation,
    BN recomputation). Returns ``x`` itself when nothing changes."""
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    if dtype is not None and x.dtype != dtype:
        return x.to(dtype=dtype, memory_format=fmt)
    return x.contiguous(memory_format=fmt)
