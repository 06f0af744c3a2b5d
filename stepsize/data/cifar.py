"""CIFAR-10/100 (Krizhevsky 2009) through ``torchvision.datasets``, held in memory on the device.

``data.download: false`` (default) never touches the network; a missing dataset is a one-line
FileNotFoundError saying where we looked. torchvision is imported only when this builder is used.
"""

from __future__ import annotations

from typing import Any

import torch

from stepsize.data.memory import MEMORY_DEFAULTS, InMemoryData, with_defaults

DEFAULTS: dict[str, Any] = {"name": "cifar10", "root": "data/cifar", "download": False, **MEMORY_DEFAULTS}
STATS = {  # per-channel training-set mean and std
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
}
FOLDERS = {"cifar10": "cifar-10-batches-py", "cifar100": "cifar-100-python"}


def _split(name: str, root: str, train: bool, download: bool) -> tuple[torch.Tensor, torch.Tensor]:
    import torchvision.datasets

    cls = torchvision.datasets.CIFAR10 if name == "cifar10" else torchvision.datasets.CIFAR100
    try:
        ds = cls(root, train=train, download=download)
    except RuntimeError as err:  # torchvision: "Dataset not found or corrupted. ..."
        raise FileNotFoundError(
            f"{name} not found or corrupted under {root}/{FOLDERS[name]} ({err}); set data.root, or "
            "data.download=true on a machine with internet"
        ) from None
    images = torch.from_numpy(ds.data).permute(0, 3, 1, 2).contiguous()  # NHWC -> NCHW uint8
    return images, torch.tensor(ds.targets)


def build(cfg: dict[str, Any], *, device: Any, seed: int, rank: int = 0, world_size: int = 1) -> InMemoryData:
    """CIFAR-10 or CIFAR-100 (``cfg["name"]``) as `InMemoryData` (3×32×32)."""
    cfg = with_defaults(cfg, DEFAULTS)
    name = cfg["name"]
    if name not in STATS:
        raise ValueError(f"data.name: the CIFAR builder serves {list(STATS)}, got {name!r}")
    root, download = str(cfg["root"]), bool(cfg["download"])
    if download and rank != 0:
        torch.distributed.barrier()  # let rank 0 download first
    train_x, train_y = _split(name, root, True, download)
    test_x, test_y = _split(name, root, False, download)
    if download and rank == 0 and world_size > 1:
        torch.distributed.barrier()
    mean, std = STATS[name]
    return InMemoryData(
        train_x, train_y, test_x, test_y, num_classes=10 if name == "cifar10" else 100, mean=mean, std=std,
        cfg=cfg, device=device, seed=seed, rank=rank, world_size=world_size,
    )
