"""A synthetic, learnable image-classification set for tests and benchmarks (no files, no downloads).

Class c has a fixed random template ``T_c`` (uint8-range); an example is ``clip(T_c + noise·N(0, 1))``
as uint8, drawn from a generator seeded by ``data.data_seed`` (not the run seed, so every run sees the
same dataset). ``noise`` sets the difficulty.
"""

from __future__ import annotations

from typing import Any

import torch

from stepsize.data.memory import MEMORY_DEFAULTS, MEMORY_NULLABLE, InMemoryData, with_defaults

DEFAULTS: dict[str, Any] = {
    "name": "synthetic",
    "num_classes": 10,
    "in_channels": 3,
    "image_size": 32,
    "train_size": 2048,
    "test_size": 512,
    "noise": 64.0,
    "data_seed": 0,
    **MEMORY_DEFAULTS,
}
NULLABLE: dict[str, type] = dict(MEMORY_NULLABLE)


def noisy_examples(
    templates: torch.Tensor, labels: torch.Tensor, noise: float, generator: torch.Generator
) -> torch.Tensor:
    """uint8 images ``clip(round(T_label + noise·N(0, 1)), 0, 255)``."""
    images = templates[labels] + noise * torch.randn(templates[labels].shape, generator=generator)
    return images.clamp(0, 255).round().to(torch.uint8)


def build(cfg: dict[str, Any], *, device: Any, seed: int, rank: int = 0, world_size: int = 1) -> InMemoryData:
    """The synthetic set as `InMemoryData` (templates, then train labels/images, then test, from one
    generator seeded by ``data_seed``)."""
    cfg = with_defaults(cfg, DEFAULTS)
    for key in ("num_classes", "in_channels", "image_size", "train_size", "test_size"):
        value = cfg[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"data.{key} must be a positive integer, got {value!r}")
    if isinstance(cfg["noise"], bool) or not isinstance(cfg["noise"], int | float) or cfg["noise"] < 0:
        raise ValueError(f"data.noise must be a number >= 0, got {cfg['noise']!r}")
    g = torch.Generator().manual_seed(int(cfg["data_seed"]))
    classes, channels, size = cfg["num_classes"], cfg["in_channels"], cfg["image_size"]
    templates = torch.rand((classes, channels, size, size), generator=g) * 255
    train_y = torch.randint(0, classes, (cfg["train_size"],), generator=g)
    train_x = noisy_examples(templates, train_y, cfg["noise"], g)
    test_y = torch.randint(0, classes, (cfg["test_size"],), generator=g)
    test_x = noisy_examples(templates, test_y, cfg["noise"], g)
    return InMemoryData(
        train_x, train_y, test_x, test_y, num_classes=classes, mean=(0.5,) * channels, std=(0.29,) * channels,
        cfg=cfg, device=device, seed=seed, rank=rank, world_size=world_size,
    )
