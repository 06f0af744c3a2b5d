"""Helpers shared by the ImageNet-style loaders (`ffcv_loader`, `imagefolder`) and their tests/benchmark.

- ImageNet normalisation constants;
- the progressive-resizing rule of ffcv-imagenet (Leclerc et al., "FFCV: Accelerating Training by Removing
  Data Bottlenecks", CVPR 2023; https://github.com/libffcv/ffcv-imagenet, ``get_resolution``), with the ramp
  given as budget fractions instead of epochs;
- seeded per-epoch orders and per-example augmentation seeds (a pure function of ``(seed, epoch)``, so a
  resumed run sees the same batches);
- config merging with a one-line error for unknown keys;
- a synthetic ImageFolder of JPEGs, used by the tests and ``benchmarks/bench_loaders.py``.

Nothing here imports torchvision or ffcv.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)
IMAGE_EXTENSIONS: tuple[str, ...] = (
    ".jpg",
    ".jpeg",
    ".png",
    ".ppm",
    ".bmp",
    ".pgm",
    ".tif",
    ".tiff",
    ".webp",
)


def merge_config(cfg: Mapping[str, Any], defaults: Mapping[str, Any], builder: str) -> dict[str, Any]:
    """``{**defaults, **cfg}``; raise ValueError naming the first key of ``cfg`` that ``defaults`` lacks."""
    unknown = sorted(set(cfg) - set(defaults))
    if unknown:
        raise ValueError(
            f"data.{unknown[0]}: unknown key for data.name={builder}; allowed: {', '.join(sorted(defaults))}"
        )
    return {**defaults, **cfg}


def progressive_resolution(
    fraction: float, *, min_resolution: int, max_resolution: int, start_ramp: float, end_ramp: float
) -> int:
    """Training resolution at budget ``fraction`` (ffcv-imagenet ``get_resolution``, ramp in budget units).

    ``r(f) = min_res`` for ``f <= start_ramp``, ``max_res`` for ``f >= end_ramp``, and in between the linear
    interpolation ``min_res + (f - start_ramp) / (end_ramp - start_ramp) * (max_res - min_res)`` rounded
    to the nearest multiple of 32, as in ffcv-imagenet (``int(np.round(interp / 32)) * 32``).
    """
    if min_resolution > max_resolution:
        raise ValueError(
            f"data.min_resolution={min_resolution} exceeds the final resolution {max_resolution}"
        )
    if not 0.0 <= start_ramp <= end_ramp:
        raise ValueError(f"data.start_ramp={start_ramp} and data.end_ramp={end_ramp} need 0 <= start <= end")
    if fraction <= start_ramp:
        return int(min_resolution)
    if fraction >= end_ramp:
        return int(max_resolution)
    interp = np.interp(fraction, [start_ramp, end_ramp], [min_resolution, max_resolution])
    return int(np.round(interp / 32)) * 32


def epoch_permutation(seed: int, epoch: int, n: int) -> np.ndarray:
    """Order of the ``n`` training examples in ``epoch``: ``default_rng([seed, epoch]).permutation(n)``."""
    return np.random.default_rng([seed, epoch]).permutation(n)


def epoch_sample_seeds(seed: int, epoch: int, n: int) -> np.ndarray:
    """One augmentation seed per position of ``epoch`` (independent of the order's stream)."""
    return np.random.default_rng([seed, epoch, 1]).integers(0, 2**63 - 1, size=n, dtype=np.int64)


def write_synthetic_imagefolder(
    root: str | Path,
    *,
    num_classes: int = 3,
    images_per_class: int = 20,
    size: int = 64,
    quality: int = 90,
    seed: int = 0,
) -> list[Path]:
    """Write ``num_classes × images_per_class`` RGB JPEGs (``root/class<k>/<i>.jpg``) and return their paths.

    Each image is a smooth random field (8×8 uniform noise upsampled bilinearly to ``size``) plus Gaussian
    pixel noise (σ = 12) and a class-dependent brightness offset, saved by PIL at ``quality``. The content
    is a deterministic function of ``seed``.
    """
    from PIL import Image
    from scipy.ndimage import zoom

    root = Path(root)
    rng = np.random.default_rng(seed)
    paths: list[Path] = []
    for label in range(num_classes):
        folder = root / f"class{label}"
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(images_per_class):
            coarse = rng.uniform(0.0, 255.0, size=(8, 8, 3))
            field = zoom(coarse, (size / 8, size / 8, 1), order=1)
            pixels = field + rng.normal(0.0, 12.0, size=field.shape) + 40.0 * label / max(num_classes - 1, 1)
            path = folder / f"{index:05d}.jpg"
            Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(path, quality=quality)
            paths.append(path)
    return paths
