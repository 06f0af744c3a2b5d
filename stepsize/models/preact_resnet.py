"""PreAct ResNet-18 for 32×32 inputs (He, Zhang, Ren, Sun, "Identity Mappings in Deep Residual Networks",
ECCV 2016).

Pre-activation basic blocks ``x + conv(relu(bn(conv(relu(bn(x))))))`` in 4 stages of 2 blocks with widths
w, 2w, 4w, 8w (w = 64) and strides 1, 2, 2, 2; a 3×3 stride-1 stem; a 1×1 projection shortcut where the
shape changes; final BN-ReLU, global average pooling and a linear classifier (≈11.2M parameters for 10
classes). This is the CIFAR variant used by SWA and budgeted-training studies.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class PreActBlock(nn.Module):
    """Pre-activation basic block with a 1×1 projection shortcut when the shape changes."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.shortcut = (
            nn.Conv2d(c_in, c_out, 1, stride, bias=False) if stride != 1 or c_in != c_out else None
        )

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(x))
        shortcut = self.shortcut(out) if self.shortcut is not None else x
        out = self.conv1(out)
        out = self.conv2(F.relu(self.bn2(out)))
        return out + shortcut


class PreActResNet(nn.Module):
    """Pre-activation ResNet with ``blocks`` blocks per stage (4 stages, widths w·(1, 2, 4, 8))."""

    def __init__(self, blocks: tuple[int, ...], *, num_classes: int, in_channels: int, width: int) -> None:
        super().__init__()
        self.stem = nn.Conv2d(in_channels, width, 3, 1, 1, bias=False)
        layers: list[nn.Module] = []
        c_in = width
        for stage, n in enumerate(blocks):
            c_out = width * 2**stage
            for i in range(n):
                layers.append(PreActBlock(c_in, c_out, stride=2 if stage > 0 and i == 0 else 1))
                c_in = c_out
        self.blocks = nn.Sequential(*layers)
        self.bn = nn.BatchNorm2d(c_in)
        self.fc = nn.Linear(c_in, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = F.relu(self.bn(self.blocks(self.stem(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def preact_resnet18(*, num_classes: int, in_channels: int = 3, width: int = 64) -> PreActResNet:
    """PreAct ResNet-18: 2 blocks in each of 4 stages."""
    return PreActResNet((2, 2, 2, 2), num_classes=num_classes, in_channels=in_channels, width=width)
