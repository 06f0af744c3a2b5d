"""CIFAR-style ResNets (He, Zhang, Ren, Sun, "Deep Residual Learning for Image Recognition", CVPR 2016, §4.2).

ResNet-(6n+2): a 3×3 stem conv, three stages of ``n`` basic blocks with widths w, 2w, 4w (w = 16 in the
paper) and strides 1, 2, 2, global average pooling and a linear classifier. Shortcuts are **option A**
of the paper (identity; when the shape changes, subsample by stride 2 and zero-pad the new channels), so
the parameter counts are the paper's: ResNet-20 0.27M, ResNet-56 0.85M (10 classes).

``mini_resnet`` is the same network with one block per stage (ResNet-8) and a stride-2 stem, so a 28×28
input is processed at 14×14 / 7×7 / 4×4; it is the fast net of the mini profile.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class PadShortcut(nn.Module):
    """Option-A shortcut: ``x[:, :, ::s, ::s]`` zero-padded from ``c_in`` to ``c_out`` channels."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.stride, self.extra = stride, c_out - c_in

    def forward(self, x: Tensor) -> Tensor:
        x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, 0, self.extra)) if self.extra else x


class BasicBlock(nn.Module):
    """``relu(bn(conv(relu(bn(conv(x))))) + shortcut(x))`` with 3×3 convolutions."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = PadShortcut(c_in, c_out, stride) if stride != 1 or c_in != c_out else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class CifarResNet(nn.Module):
    """ResNet with ``blocks_per_stage`` basic blocks in each of 3 stages (widths w, 2w, 4w)."""

    def __init__(
        self, blocks_per_stage: int, *, num_classes: int, in_channels: int, width: int, stem_stride: int = 1
    ) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, stem_stride, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU()
        )
        blocks: list[nn.Module] = []
        c_in = width
        for stage, c_out in enumerate((width, 2 * width, 4 * width)):
            for i in range(blocks_per_stage):
                blocks.append(BasicBlock(c_in, c_out, stride=2 if stage > 0 and i == 0 else 1))
                c_in = c_out
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(c_in, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: Tensor) -> Tensor:
        x = self.blocks(self.stem(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def cifar_resnet(depth: int, *, num_classes: int, in_channels: int = 3, width: int = 16) -> CifarResNet:
    """ResNet-``depth`` for CIFAR, depth = 6n + 2 (8, 20, 32, 44, 56, 110, ...)."""
    if (depth - 2) % 6 or depth < 8:
        raise ValueError(f"CIFAR ResNet depth must be 6n+2 with n >= 1, got {depth}")
    return CifarResNet((depth - 2) // 6, num_classes=num_classes, in_channels=in_channels, width=width)


def mini_resnet(*, num_classes: int, in_channels: int = 1, width: int = 8) -> CifarResNet:
    """ResNet-8 with a stride-2 stem: the fast network of the mini profile (widths w, 2w, 4w)."""
    return CifarResNet(1, num_classes=num_classes, in_channels=in_channels, width=width, stem_stride=2)
