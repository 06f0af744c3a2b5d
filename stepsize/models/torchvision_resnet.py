"""ImageNet ResNet-18/50 from torchvision (He et al., CVPR 2016), configurable classes and input channels.

torchvision is imported here only, on first use.
"""

from __future__ import annotations

from torch import nn


def torchvision_resnet(arch: str, *, num_classes: int, in_channels: int = 3, width: int = 64) -> nn.Module:
    """``torchvision.models.<arch>(num_classes=...)``, randomly initialised; a new 7×7 stem for
    ``in_channels != 3``. The width of torchvision's ResNets is fixed at 64."""
    if width != 64:
        raise ValueError(f"model.width: torchvision {arch} has a fixed width of 64, got {width}")
    import torchvision.models

    model = getattr(torchvision.models, arch)(weights=None, num_classes=num_classes)
    if in_channels != 3:
        model.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        nn.init.kaiming_normal_(model.conv1.weight, mode="fan_out", nonlinearity="relu")
    return model
