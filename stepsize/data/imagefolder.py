"""ImageNet-style data from JPEG folders through torchvision (fallback for FFCV, and its benchmark baseline).

Same `Data` protocol (design.md §3) and the same augmentation as `stepsize.data.ffcv_loader`:

- train: RandomResizedCrop(resolution, scale=(0.08, 1), ratio=(3/4, 4/3)) → horizontal flip → ``ToTensor``
  → ``Normalize(ImageNet mean, std)`` on PIL images of ``torchvision.datasets.ImageFolder``;
- eval: ``Resize(round(val_resolution / center_crop_ratio))`` → ``CenterCrop(val_resolution)``, i.e. a
  centre crop of ``center_crop_ratio`` × the shorter side resized to ``val_resolution`` (the crop of
  ffcv's ``CenterCropRGBImageDecoder``). Split "test" is the ``val/`` tree; split "val", with
  ``val_size`` > 0, is ``val_size`` images held out of the training tree (a permutation seeded by
  ``split_seed``, `stepsize.data.memory.split_indices`), evaluated like the test split and never trained on.

Determinism (batch ``k`` is a function of ``(seed, k)``): epoch ``e`` visits the examples in the order
``default_rng([seed, e]).permutation(n)`` (`stepsize.data.transforms.epoch_permutation`), global batch ``k``
is positions ``[b·B, (b+1)·B)`` of epoch ``k // steps_per_epoch`` (``b = k mod steps_per_epoch``, the last
partial batch dropped), and rank ``r`` takes its contiguous share of it. Each example's crop and flip are
drawn from ``random.Random(s)`` with ``s`` fixed per (seed, epoch, position) (`epoch_sample_seeds`), by
`SeededRandomResizedCropFlip` — torchvision's ``RandomResizedCrop.get_params`` algorithm with a local RNG,
then ``torchvision.transforms.functional.resized_crop``/``hflip``. So neither the number of workers nor
which worker runs an example changes it, and no global RNG is touched (seeding torch's global generator
per example inside ``fork_rng`` instead costs about as much as decoding a small JPEG).
``train_batches(k)`` builds the index lists from batch ``k`` on; the skipped batches are never decoded.
Each ``train_batches`` call owns one ``DataLoader`` whose workers persist across epochs
(``persistent_workers`` when ``num_workers > 0``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from stepsize.data.base import check_batch_split
from stepsize.data.transforms import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    epoch_permutation,
    epoch_sample_seeds,
    merge_config,
)

DEFAULTS: dict[str, Any] = {
    "name": "imagefolder",
    "root": None,  # folder with train/ and val/ ImageFolder trees ...
    "train_root": None,  # ... or the two trees given separately (override root)
    "val_root": None,
    "batch_size": 1024,  # global (all ranks)
    "num_workers": 8,
    "resolution": 192,  # training crop size
    "val_resolution": 256,
    "center_crop_ratio": 224 / 256,
    "num_classes": None,  # null = the number of class folders
    "val_size": 0,  # training images held out as the validation split (0 = none)
    "split_seed": 0,
}
NULLABLE: dict[str, type] = {"root": str, "train_root": str, "val_root": str, "num_classes": int}


class SeededRandomResizedCropFlip:
    """RandomResizedCrop(size, scale, ratio) then a horizontal flip (p = 0.5), drawn from ``Random(seed)``.

    The crop follows torchvision's ``RandomResizedCrop.get_params`` (Szegedy et al., "Going deeper with
    convolutions", CVPR 2015): up to 10 tries of area ``U(scale) · H·W`` and aspect ratio
    ``exp(U(log ratio))`` that fit in the image, else the largest central crop with the ratio clamped.
    """

    def __init__(self, size: int, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)):
        self.size, self.scale, self.ratio = size, scale, ratio

    def crop_params(self, rng: random.Random, height: int, width: int) -> tuple[int, int, int, int]:
        area = height * width
        log_ratio = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        for _ in range(10):
            target_area = area * rng.uniform(*self.scale)
            aspect = math.exp(rng.uniform(*log_ratio))
            w = round(math.sqrt(target_area * aspect))
            h = round(math.sqrt(target_area / aspect))
            if 0 < w <= width and 0 < h <= height:
                return rng.randint(0, height - h), rng.randint(0, width - w), h, w
        in_ratio = width / height
        if in_ratio < min(self.ratio):
            w, h = width, round(width / min(self.ratio))
        elif in_ratio > max(self.ratio):
            h, w = height, round(height * max(self.ratio))
        else:
            w, h = width, height
        return (height - h) // 2, (width - w) // 2, h, w

    def __call__(self, image: Any, seed: int) -> Any:
        from torchvision.transforms import functional as F

        rng = random.Random(seed)
        i, j, h, w = self.crop_params(rng, image.height, image.width)
        image = F.resized_crop(image, i, j, h, w, [self.size, self.size], antialias=True)
        return F.hflip(image) if rng.random() < 0.5 else image


class _SeededImageFolder(torch.utils.data.Dataset):
    """``dataset[(index, seed)]`` = ``(to_tensor(augment(image, seed)), label)``."""

    def __init__(self, folder: Any, augment: SeededRandomResizedCropFlip, to_tensor: Any,
                 ids: list[int] | None = None):
        self.folder, self.augment, self.to_tensor = folder, augment, to_tensor
        self.ids = list(range(len(folder))) if ids is None else ids  # training image i = folder[ids[i]]

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, item: tuple[int, int]) -> tuple[Tensor, int]:
        index, seed = item
        path, label = self.folder.samples[self.ids[index]]
        return self.to_tensor(self.augment(self.folder.loader(path), seed)), label


class _EpochBatches:
    """Batch sampler: lists of ``(index, augmentation seed)`` for this rank, from global batch k."""

    def __init__(self, n: int, batch_size: int, local_batch_size: int, rank: int, seed: int, start_step: int):
        self.n, self.batch_size, self.local = n, batch_size, local_batch_size
        self.rank, self.seed = rank, seed
        self.steps_per_epoch = n // batch_size
        self.epoch, self.position = divmod(start_step, self.steps_per_epoch)

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        """One epoch (the rest of it after a resume); the next ``iter`` continues with the next epoch."""
        order = epoch_permutation(self.seed, self.epoch, self.n)
        seeds = epoch_sample_seeds(self.seed, self.epoch, self.n)
        first, self.position = self.position, 0
        self.epoch += 1
        for b in range(first, self.steps_per_epoch):
            lo = b * self.batch_size + self.rank * self.local
            yield [(int(order[i]), int(seeds[i])) for i in range(lo, lo + self.local)]

    def __len__(self) -> int:
        return self.steps_per_epoch


def _folder(path: Any, key: str) -> Path:
    if path is None:
        raise ValueError(
            f"data.{key} is required for data.name=imagefolder (or data.root with train/ and val/)"
        )
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"data.{key}: no such directory: {folder}")
    return folder


class ImageFolderData:
    """`Data` over ``torchvision.datasets.ImageFolder`` trees (class subfolders of images)."""

    in_channels = 3

    def __init__(self, cfg: dict[str, Any], *, device: Any, seed: int, rank: int = 0, world_size: int = 1):
        from torchvision import transforms as T
        from torchvision.datasets import ImageFolder

        cfg = merge_config(cfg, DEFAULTS, "imagefolder")
        self.cfg, self.device, self.seed = cfg, torch.device(device), int(seed)
        self.rank, self.world_size = int(rank), int(world_size)
        self.batch_size = int(cfg["batch_size"])
        self.local_batch_size = check_batch_split(self.batch_size, self.world_size)
        for key in ("resolution", "val_resolution"):
            if not isinstance(cfg[key], int) or cfg[key] <= 0:
                raise ValueError(f"data.{key} must be a positive integer, got {cfg[key]!r}")
        if not isinstance(cfg["num_workers"], int) or cfg["num_workers"] < 0:
            raise ValueError(f"data.num_workers must be a non-negative integer, got {cfg['num_workers']!r}")
        if not 0.0 < float(cfg["center_crop_ratio"]) <= 1.0:
            raise ValueError(f"data.center_crop_ratio must be in (0, 1], got {cfg['center_crop_ratio']!r}")
        root = cfg["root"]
        train_root = cfg["train_root"] or (Path(root) / "train" if root is not None else None)
        val_root = cfg["val_root"] or (Path(root) / "val" if root is not None else None)
        train_key = "train_root" if cfg["train_root"] else "root"
        val_key = "val_root" if cfg["val_root"] else "root"
        self.image_size = int(cfg["resolution"])
        normalize = T.Normalize(IMAGENET_MEAN, IMAGENET_STD)
        self.augment = SeededRandomResizedCropFlip(self.image_size)
        self.to_tensor = T.Compose([T.ToTensor(), normalize])
        val_size = int(cfg["val_resolution"])
        self.eval_transform = T.Compose(
            [
                T.Resize(round(val_size / float(cfg["center_crop_ratio"])), antialias=True),
                T.CenterCrop(val_size),
                T.ToTensor(),
                normalize,
            ]
        )
        self.train_folder = ImageFolder(str(_folder(train_root, train_key)))
        self.val_folder = ImageFolder(str(_folder(val_root, val_key)), transform=self.eval_transform)
        if self.val_folder.classes != self.train_folder.classes:
            raise ValueError(
                f"data.{val_key}: class folders {self.val_folder.classes[:5]}... differ from the "
                f"training set's {self.train_folder.classes[:5]}..."
            )
        found = len(self.train_folder.classes)
        if cfg["num_classes"] is not None and cfg["num_classes"] != found:
            raise ValueError(f"data.num_classes={cfg['num_classes']!r}, but {train_root} has {found} classes")
        self.num_classes = found
        from stepsize.data.memory import split_indices

        candidates, held_out = split_indices(len(self.train_folder), cfg["val_size"], cfg["split_seed"])
        self.train_ids = None if candidates is None else sorted(candidates.tolist())
        self.eval_folders = {"test": self.val_folder}
        if held_out is not None:
            holdout = ImageFolder(str(_folder(train_root, train_key)), transform=self.eval_transform)
            self.eval_folders["val"] = torch.utils.data.Subset(holdout, sorted(held_out.tolist()))
        self.splits = tuple(self.eval_folders)
        self.train_size = len(self.train_folder) if candidates is None else len(candidates)
        self.steps_per_epoch = self.train_size // self.batch_size
        if self.steps_per_epoch == 0:
            raise ValueError(
                f"data.batch_size={self.batch_size} exceeds the {self.train_size} training images"
            )
        self._eval_loaders: dict[str, torch.utils.data.DataLoader] = {}

    def _loader(
        self, dataset: Any, batch_sampler: Any = None, persistent: bool = True, **kw: Any
    ) -> torch.utils.data.DataLoader:
        workers = self.cfg["num_workers"]
        return torch.utils.data.DataLoader(
            dataset,
            batch_sampler=batch_sampler,
            num_workers=workers,
            persistent_workers=persistent and workers > 0,
            pin_memory=self.device.type == "cuda",
            generator=torch.Generator().manual_seed(self.seed),  # leaves the global RNG untouched
            **kw,
        )

    def _to_device(self, images: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
        return (images.to(self.device, non_blocking=True), labels.to(self.device, non_blocking=True))

    def _train_batches(self, start_step: int, persistent: bool) -> Iterator[tuple[Tensor, Tensor]]:
        sampler = _EpochBatches(
            self.train_size, self.batch_size, self.local_batch_size, self.rank, self.seed, int(start_step)
        )
        loader = self._loader(
            _SeededImageFolder(self.train_folder, self.augment, self.to_tensor, self.train_ids), sampler,
            persistent
        )
        while True:  # each pass of the loader is one epoch (the sampler advances its epoch)
            for images, labels in loader:
                yield self._to_device(images, labels)

    def train_batches(self, start_step: int = 0) -> Iterator[tuple[Tensor, Tensor]]:
        """Batches ``start_step, start_step + 1, ...`` forever (this rank's share; see module docstring)."""
        if start_step < 0:
            raise ValueError(f"train_batches: start_step must be >= 0, got {start_step}")
        return self._train_batches(start_step, persistent=True)

    def eval_batches(self, split: str = "test") -> Iterator[tuple[Tensor, Tensor]]:
        """The whole ``split`` once, in ImageFolder order (on every rank): "test" = the ``val/`` tree,
        "val" = the held-out training images."""
        if split not in self.eval_folders:
            raise ValueError(f"no {split!r} split (splits: {', '.join(self.splits)}; a validation split "
                             "needs data.val_size > 0)")
        if split not in self._eval_loaders:
            self._eval_loaders[split] = self._loader(
                self.eval_folders[split], batch_size=self.local_batch_size, shuffle=False)
        for images, labels in self._eval_loaders[split]:
            yield self._to_device(images, labels)

    def bn_batches(self, max_batches: int | None = None) -> Iterator[Tensor]:
        """Augmented training images of epoch 0 (at most ``max_batches`` batches) for ``update_bn``."""
        limit = self.steps_per_epoch if max_batches is None else min(max_batches, self.steps_per_epoch)
        if limit <= 0:
            return
        stream = self._train_batches(0, persistent=False)
        try:
            for count, (images, _) in enumerate(stream, start=1):
                yield images
                if count == limit:
                    return
        finally:
            stream.close()

    def set_progress(self, fraction: float) -> None:
        """No progressive resizing on this path: the training resolution is fixed."""


def build(
    cfg: dict[str, Any], *, device: Any, seed: int, rank: int = 0, world_size: int = 1
) -> ImageFolderData:
    """Build the torchvision ImageFolder `Data` for this rank (see `ImageFolderData` and design.md §3)."""
    return ImageFolderData(cfg, device=device, seed=seed, rank=rank, world_size=world_size)
