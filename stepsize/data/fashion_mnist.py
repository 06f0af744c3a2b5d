"""Fashion-MNIST (Xiao, Rasul, Vollgraf 2017, arXiv 1708.07747) read from the IDX ``.gz`` files.

The Debian package ``dataset-fashion-mnist`` installs them under ``/usr/share/datasets/fashion-mnist``.
The files are decoded with gzip + numpy (no torchvision import) and the decoded uint8 arrays are cached
as one ``.npz`` under ``data.cache_dir`` (null = decode every time), written atomically so parallel jobs
can share it, and kept in memory for the later runs of the same process (the batch runner).

Faults: a cache file that cannot be read back (truncated, not a zip, wrong arrays) is deleted and
rebuilt, with a line on stderr naming it; the temporary files of cache writes cut short by a kill are
removed by the next writer; a truncated or corrupt ``.gz`` (bad CRC), an IDX header that does not match
its data and a label outside 0..9 are one-line errors naming the file.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import sys
import zlib
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
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:  # truncated, not gzip, bad CRC
        raise ValueError(
            f"{path}: corrupt file ({type(err).__name__}: {' '.join(str(err).split())}); "
            "reinstall it (apt-get install --reinstall dataset-fashion-mnist)"
        ) from None
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


def _read_cache(cache: Path) -> dict[str, np.ndarray] | None:
    """The cached arrays, or None (after deleting the file) if it cannot be read back whole."""
    try:
        with np.load(cache) as z:
            arrays = {key: z[key] for key in FILES}
        _check(arrays, cache)
        return arrays
    except Exception as err:
        print(
            f"stepsize.data: {cache}: unreadable cache ({type(err).__name__}), rebuilding it", file=sys.stderr
        )
        cache.unlink(missing_ok=True)
        return None


def _check(arrays: dict[str, np.ndarray], where: Path) -> None:
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3 or len(images) != len(labels):
            raise ValueError(f"{where}: {split} images {images.shape} and labels {labels.shape} do not match")
        if labels.size and int(labels.max()) >= NUM_CLASSES:
            raise ValueError(f"{where}: {split} label {int(labels.max())} is outside 0..{NUM_CLASSES - 1}")


def _remove_dead_writers(cache: Path) -> None:
    """Delete ``<cache>.<pid>.tmp.npz`` files whose writer process is gone (killed mid-write)."""
    for tmp in cache.parent.glob(f"{cache.name}.*.tmp.npz"):
        pid = tmp.name[len(cache.name) + 1 : -len(".tmp.npz")]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            tmp.unlink(missing_ok=True)


@functools.lru_cache(maxsize=4)
def load_arrays(root: str | Path, cache_dir: str | Path | None = None) -> dict[str, np.ndarray]:
    """``{"train_images": [60000, 28, 28] uint8, "train_labels": [60000] uint8, "test_*": ...}`` (read
    once per process; callers must not modify the arrays)."""
    paths = _paths(Path(root))
    cache = _cache_file(Path(cache_dir), paths) if cache_dir is not None else None
    if cache is not None and cache.is_file():
        arrays = _read_cache(cache)
        if arrays is not None:
            return arrays
    arrays = {key: read_idx(path) for key, path in paths.items()}
    for split in ("train", "test"):
        if len(arrays[f"{split}_images"]) != len(arrays[f"{split}_labels"]):
            raise ValueError(f"Fashion-MNIST under {root}: {split} images and labels differ in length")
        labels = arrays[f"{split}_labels"]
        if labels.size and int(labels.max()) >= NUM_CLASSES:
            raise ValueError(
                f"{paths[f'{split}_labels']}: label {int(labels.max())} is outside 0..{NUM_CLASSES - 1}"
            )
    if cache is not None:
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            _remove_dead_writers(cache)
            tmp = cache.with_name(f"{cache.name}.{os.getpid()}.tmp.npz")
            try:
                np.savez(tmp, **arrays)
                os.replace(tmp, cache)
            finally:
                tmp.unlink(missing_ok=True)
        except OSError as err:  # a read-only or full cache folder: train anyway, without the cache
            print(
                f"stepsize.data: cannot write the cache {cache} ({err.strerror}); continuing without it",
                file=sys.stderr,
            )
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
        num_classes=NUM_CLASSES,
        mean=MEAN,
        std=STD,
        cfg=cfg,
        device=device,
        seed=seed,
        rank=rank,
        world_size=world_size,
    )
