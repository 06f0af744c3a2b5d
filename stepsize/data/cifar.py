"""CIFAR-10/100 (Krizhevsky 2009) through ``torchvision.datasets``, held in memory on the device.

``data.download: false`` (default) never touches the network; a missing dataset is a one-line
FileNotFoundError saying where we looked. With ``data.download: true`` rank 0 downloads while the other
ranks wait; a failed download (an offline machine) is a one-line FileNotFoundError on every rank, never a
hang at the barrier. torchvision is imported only when this builder is used.
"""

from __future__ import annotations

from typing import Any

import torch

from stepsize.data.memory import MEMORY_DEFAULTS, MEMORY_NULLABLE, InMemoryData, with_defaults

DEFAULTS: dict[str, Any] = {"name": "cifar10", "root": "data/cifar", "download": False, **MEMORY_DEFAULTS}
NULLABLE: dict[str, type] = dict(MEMORY_NULLABLE)
STATS = {  # per-channel training-set mean and std
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
}
FOLDERS = {"cifar10": "cifar-10-batches-py", "cifar100": "cifar-100-python"}


def _split(name: str, root: str, train: bool, download: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """One split as (uint8 NCHW images, labels); FileNotFoundError with one line when it is missing, or
    when ``download`` fails (torchvision raises ``urllib.error.URLError``, an OSError, when offline)."""
    import torchvision.datasets

    cls = torchvision.datasets.CIFAR10 if name == "cifar10" else torchvision.datasets.CIFAR100
    try:
        ds = cls(root, train=train, download=download)
    except RuntimeError as err:  # torchvision: "Dataset not found or corrupted. ..."
        raise FileNotFoundError(
            f"{name} not found or corrupted under {root}/{FOLDERS[name]} ({err}); set data.root, or "
            "data.download=true on a machine with internet"
        ) from None
    except OSError as err:  # URLError, HTTPError, timeouts, SSL errors, a read-only data.root, ...
        raise FileNotFoundError(
            f"{name}: data.download=true failed ({' '.join(str(err).split())}): is the machine offline? "
            f"Put the files under data.root={root} ({FOLDERS[name]}/) and set data.download=false"
        ) from None
    images = torch.from_numpy(ds.data).permute(0, 3, 1, 2).contiguous()  # NHWC -> NCHW uint8
    return images, torch.tensor(ds.targets)


Splits = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


def _load(name: str, root: str, download: bool) -> Splits:
    """(train images, train labels, test images, test labels)."""
    return (*_split(name, root, True, download), *_split(name, root, False, download))


def _download_on_rank0(name: str, root: str, rank: int, world_size: int) -> Splits:
    """Rank 0 downloads (if needed) while the other ranks wait at a barrier, then they read the files.

    Rank 0 reaches the barrier also when its download fails (whatever the error), and raises after it; the
    other ranks then find no files and raise their own one-line FileNotFoundError, so no rank hangs."""
    splits, failure = None, None
    if rank == 0:
        try:
            splits = _load(name, root, download=True)
        except Exception as err:  # any failure: pass the barrier first, then re-raise it
            failure = err
    if world_size > 1:
        torch.distributed.barrier()
    if failure is not None:
        raise failure
    if splits is not None:
        return splits
    try:
        return _load(name, root, download=False)
    except FileNotFoundError as err:
        raise FileNotFoundError(f"rank {rank}: {err} (after rank 0 tried data.download=true)") from None


def build(cfg: dict[str, Any], *, device: Any, seed: int, rank: int = 0, world_size: int = 1) -> InMemoryData:
    """CIFAR-10 or CIFAR-100 (``cfg["name"]``) as `InMemoryData` (3×32×32)."""
    cfg = with_defaults(cfg, DEFAULTS)
    name = cfg["name"]
    if name not in STATS:
        raise ValueError(f"data.name: the CIFAR builder serves {list(STATS)}, got {name!r}")
    root = str(cfg["root"])
    if cfg["download"]:
        train_x, train_y, test_x, test_y = _download_on_rank0(name, root, rank, world_size)
    else:
        train_x, train_y, test_x, test_y = _load(name, root, download=False)
    mean, std = STATS[name]
    return InMemoryData(
        train_x, train_y, test_x, test_y, num_classes=10 if name == "cifar10" else 100, mean=mean, std=std,
        cfg=cfg, device=device, seed=seed, rank=rank, world_size=world_size,
    )
