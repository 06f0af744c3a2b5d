"""Fashion-MNIST (Xiao, Rasul, Vollgraf 2017, arXiv 1708.07747) read from the IDX ``.gz`` files.

The Debian package ``dataset-fashion-mnist`` installs them under ``/usr/share/datasets/fashion-mnist``.
The files are decoded with gzip + numpy (no torchvision import) and the decoded uint8 arrays are cached
as one ``.npz`` under ``data.cache_dir`` (null = decode every time), written atomically so parallel jobs
can share it.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from stepsize.data.memory import MEMORY_DEFAULTS, MEMORY_NULLABLE, InMemoryData, with_defaults

DEFAULTS: dict[str, Any] = {
    "name": "fashion_mnist",
    "root": "/usr/share/datasets/fashion-mnist",
    "cache_dir": "data/cache",
    **MEMORY_DEFAULTS,
    "crop_padding": 2,
}
NULLABLE: dict[str, type] = {**MEMORY_NULLABLE, "cache_dir": str}  # cache_dir null = decode every time
FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
MEAN, STD = (0.2860,), (0.3530,)  # training-set pixel statistics
NUM_CLASSES = 10
APT_HINT = "install it with `apt-get install dataset-fashion-mnist` or set data.root"


def read_idx(path: Path) -> np.ndarray:
    """Decode one (optionally gzipped) IDX file: magic ``0x0000 0x08 ndim``, big-endian int32 dims, uint8
    data (LeCun et al.'s MNIST format)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path}: not a uint8 IDX file (bad magic number)")
    ndim = raw[3]
    dims = tuple(int(d) for d in np.frombuffer(raw, ">i4", count=ndim, offset=4))
    data = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path}: expected {int(np.prod(dims))} values for shape {dims}, found {data.size}")
    return data.reshape(dims).copy()  # writable (torch.from_numpy warns on read-only buffers)


def _paths(root: Path) -> dict[str, Path]:
    paths = {key: root / name for key, name in FILES.items()}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"Fashion-MNIST file {missing[0]} not found; {APT_HINT}")
    return paths


def _cache_file(cache_dir: Path, paths: dict[str, Path]) -> Path:
    stats = [(str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns) for p in paths.values()]
    return cache_dir / f"fashion_mnist-{hashlib.sha1(repr(stats).encode()).hexdigest()[:16]}.npz"


def load_arrays(root: str | Path, cache_dir: str | Path | None = None) -> dict[str, np.ndarray]:
    """``{"train_images": [60000, 28, 28] uint8, "train_labels": [60000] uint8, "test_*": ...}``."""
    paths = _paths(Path(root))
    cache = _cache_file(Path(cache_dir), paths) if cache_dir is not None else None
    if cache is not None and cache.is_file():
        with np.load(cache) as z:
            return {key: z[key] for key in FILES}
    arrays = {key: read_idx(path) for key, path in paths.items()}
    for split in ("train", "test"):
        if len(arrays[f"{split}_images"]) != len(arrays[f"{split}_labels"]):
            raise ValueError(f"Fashion-MNIST under {root}: {split} images and labels differ in length")
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f"{cache.name}.{os.getpid()}.tmp.npz")
        np.savez(tmp, **arrays)
        os.replace(tmp, cache)
    return arrays


def build(cfg: dict[str, Any], *, device: Any, seed: int, rank: int = 0, world_size: int = 1) -> InMemoryData:
    """Fashion-MNIST as `InMemoryData` (1×28×28, 10 classes)."""
    cfg = with_defaults(cfg, DEFAULTS)
    arrays = load_arrays(cfg["root"], cfg["cache_dir"])
    return InMemoryData(
        torch.from_numpy(arrays["train_images"]).unsqueeze(1),
        torch.from_numpy(arrays["train_labels"]),
        torch.from_numpy(arrays["test_images"]).unsqueeze(1),
        torch.from_numpy(arrays["test_labels"]),
        num_classes=NUM_CLASSES, mean=MEAN, std=STD, cfg=cfg, device=device, seed=seed, rank=rank,
        world_size=world_size,
    )
