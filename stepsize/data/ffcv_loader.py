"""ImageNet-style training data through FFCV loaders (the `Data` protocol of design.md §3).

Pipelines follow ffcv-imagenet's ``train_imagenet.py`` (Leclerc et al., "FFCV: Accelerating Training by
Removing Data Bottlenecks", CVPR 2023, https://github.com/libffcv/ffcv-imagenet):

- train: ``RandomResizedCrop`` decoder (scale (0.08, 1), ratio (3/4, 4/3)) → horizontal flip → ToTensor →
  ToDevice → ToTorchImage → normalise with the ImageNet mean/std; order ``QUASI_RANDOM`` in one process and
  ``RANDOM`` when distributed (FFCV has no distributed QUASI_RANDOM); ``drop_last``.
- eval: ``CenterCrop`` decoder (crop ``center_crop_ratio`` × shorter side, resized to ``val_resolution``),
  order ``SEQUENTIAL``, every example once. Split "test" is ``val_path`` (ImageNet's official validation
  set, the usual test set); split "val", with ``val_size`` > 0, is ``val_size`` examples held out of
  ``train_path`` (a permutation seeded by ``split_seed``, `stepsize.data.memory.split_indices`), which the
  training loader then never visits (FFCV's ``indices``).
- progressive resizing: training resolution ``r(f)`` ramps linearly from ``min_resolution`` to the final
  resolution between budget fractions ``start_ramp`` and ``end_ramp``, rounded to a multiple of 32
  (`stepsize.data.transforms.progressive_resolution`), applied by setting the decoder's ``output_size``.

Normalisation: on CUDA the uint8 channels-last batch is moved to the GPU and normalised there in fp16 with
torch (ffcv's GPU ``NormalizeImage`` needs cupy, which is not a dependency); on CPU ffcv's jitted
``NormalizeImage`` writes float32 before ``ToTensor``, and the batch is copied out of FFCV's rotating buffers.

Reproducibility (what ffcv 1.0.2 does not give by itself, and how it is obtained here):

- batch order: epoch ``e``'s order is ``traversal_order.sample_order(e)``. FFCV's ``RANDOM`` is a pure
  function of (seed, epoch) (``default_rng(seed + epoch)``; distributed: ``DistributedSampler``), but its
  ``QUASI_RANDOM`` shuffles its page table *in place* on every call, so the order of epoch ``e`` depends on
  how many orders were drawn before. `PureQuasiRandom` shuffles a copy, making it a function of (seed,
  epoch). The in-epoch order after a resume is reproducible only because of this (tested).
- augmentation: ffcv's crop/flip draw from numba's per-thread RNG, unseeded. The seeded ops
  (`stepsize.data.ffcv_ops`) reseed it per example from (seed, the batch's sample ids, position in the
  batch); since the batch's ids are a
  function of (seed, epoch, batch index), batch ``k`` is a deterministic function of (seed, k).
- resume: ``train_batches(k)`` starts epoch ``k // steps_per_epoch`` and skips the first ``k mod
  steps_per_epoch`` batches of its order without decoding them.
- progressive resizing: the size of batch ``k`` is ``r(f)`` for the latest ``set_progress(f)`` before batch
  ``k`` is requested (prefetched batches of another size are discarded), so a trainer that calls
  ``set_progress(k / budget)`` before taking batch ``k`` — also before ``train_batches(k)`` on resume —
  sees the same batches when resumed.

Side effects of ffcv: constructing or iterating a Loader calls ``torch.set_num_threads(num_workers)``; the
value is restored here after each such call in the calling thread. When a Loader is garbage-collected numba
may print a harmless ``KeyError`` from a finaliser (libffcv/ffcv#167). ffcv's ``EpochIterator.close()`` does
not stop its decoding thread; every epoch iterator here is ended with `stop_epoch`, which waits for it.
The first epoch of each Loader includes numba's JIT compilation (seconds).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from stepsize.data.base import check_batch_split
from stepsize.data.ffcv_ops import copy_out, ffcv_ops, stop_epoch, torch_threads_kept
from stepsize.data.transforms import IMAGENET_MEAN, IMAGENET_STD, merge_config, progressive_resolution
from stepsize.data.write_ffcv import import_ffcv

DEFAULTS: dict[str, Any] = {
    "name": "ffcv",
    "train_path": None,  # .beton written by `python -m stepsize.data.write_ffcv`
    "val_path": None,
    "batch_size": 1024,  # global (all ranks); ffcv-imagenet rn18: 1024 on one GPU
    "num_workers": 8,  # numba threads decoding per process
    "in_memory": True,  # True: OS page cache (mmap); False: FFCV's process cache, page by page
    "resolution": 192,  # final training resolution (fixed when min_resolution is null)
    "min_resolution": None,  # progressive resizing: start resolution (null = off); ffcv-imagenet: 160
    "max_resolution": None,  # ffcv-imagenet's name for the end resolution: null or equal to `resolution`
    "start_ramp": 0.6875,  # budget fractions of the ramp; ffcv-imagenet rn18 16 epochs: epochs 11..13
    "end_ramp": 0.8125,
    "val_resolution": 256,  # ffcv-imagenet configs: 256 (its README says 224)
    "center_crop_ratio": 224 / 256,
    "num_classes": None,  # null = 1 + the largest training label
    "order": "quasi_random",  # quasi_random | random (distributed always uses random)
    "drop_last": True,
    "batches_ahead": 3,
    "val_size": 0,  # training examples held out as the validation split (0 = none)
    "split_seed": 0,
}
NULLABLE: dict[str, type] = {
    "train_path": str, "val_path": str, "min_resolution": int, "max_resolution": int, "num_classes": int,
}
ORDERS = ("quasi_random", "random")


def _beton_path(cfg: dict[str, Any], key: str) -> str:
    value = cfg[key]
    if value is None:
        raise ValueError(
            f"data.{key} is required for data.name=ffcv (a .beton from stepsize.data.write_ffcv)"
        )
    path = Path(value).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"data.{key}: no such file: {path}")
    return str(path)


class FFCVData:
    """Train/eval streams over FFCV ``.beton`` files with fields ``image`` (RGB) and ``label`` (int)."""

    in_channels = 3

    def __init__(self, cfg: dict[str, Any], *, device: Any, seed: int, rank: int = 0, world_size: int = 1):
        cfg = merge_config(cfg, DEFAULTS, "ffcv")
        self.cfg = cfg
        self.device = torch.device(device)
        self.seed, self.rank, self.world_size = int(seed), int(rank), int(world_size)
        self.batch_size = int(cfg["batch_size"])
        self.local_batch_size = check_batch_split(self.batch_size, self.world_size)
        self._check_values(cfg)
        self.train_path, self.val_path = _beton_path(cfg, "train_path"), _beton_path(cfg, "val_path")
        self.distributed = self.world_size > 1
        if self.distributed:
            self._check_process_group()
        self.order = "random" if self.distributed else cfg["order"]
        self.progressive = cfg["min_resolution"] is not None
        self.image_size = int(cfg["resolution"])
        self.fraction = 0.0
        # Spread seeds: ffcv orders use seed + epoch (RANDOM) or seed * 912300 + epoch (QUASI_RANDOM).
        self.order_seed = int(np.random.SeedSequence(self.seed).generate_state(1)[0] >> 1)
        self._mean = np.array(IMAGENET_MEAN) * 255
        self._std = np.array(IMAGENET_STD) * 255
        import_ffcv()  # the apt/pip hint when ffcv is missing
        train_labels = self._read_labels(self.train_path, "train_path")
        self.num_classes = self._num_classes(train_labels, cfg["num_classes"])
        from stepsize.data.memory import split_indices

        candidates, held_out = split_indices(len(train_labels), cfg["val_size"], cfg["split_seed"])
        self.train_indices = None if candidates is None else np.sort(candidates.numpy())
        self.val_indices = None if held_out is None else np.sort(held_out.numpy())
        self.train_size = len(train_labels) if candidates is None else len(candidates)
        self.splits = ("test",) if held_out is None else ("test", "val")
        self._train_loader = self._build_train_loader()
        self.steps_per_epoch = len(self._train_loader)
        if self.steps_per_epoch == 0:
            raise ValueError(
                f"data.batch_size={self.batch_size}: larger than the {self.train_size} training examples "
                f"{'per rank ' if self.distributed else ''}with drop_last"
            )
        self._eval_loaders: dict[str, Any] = {}
        self._order_cache: tuple[int, np.ndarray] | None = None
        self._cuda_mean_std: tuple[Tensor, Tensor] | None = None

    # ---- construction -------------------------------------------------------------------------------
    @staticmethod
    def _check_values(cfg: dict[str, Any]) -> None:
        for key in ("resolution", "val_resolution", "num_workers", "batches_ahead"):
            if not isinstance(cfg[key], int) or cfg[key] <= 0:
                raise ValueError(f"data.{key} must be a positive integer, got {cfg[key]!r}")
        for key in ("min_resolution", "max_resolution"):
            if cfg[key] is not None and (not isinstance(cfg[key], int) or cfg[key] <= 0):
                raise ValueError(f"data.{key} must be a positive integer or null, got {cfg[key]!r}")
        if cfg["max_resolution"] is not None and cfg["max_resolution"] != cfg["resolution"]:
            raise ValueError(
                f"data.max_resolution={cfg['max_resolution']} must equal data.resolution={cfg['resolution']} "
                "(the final training resolution), or be null"
            )
        if cfg["min_resolution"] is not None:
            progressive_resolution(
                0.0,
                min_resolution=cfg["min_resolution"],
                max_resolution=cfg["resolution"],
                start_ramp=cfg["start_ramp"],
                end_ramp=cfg["end_ramp"],
            )
        if not 0.0 < float(cfg["center_crop_ratio"]) <= 1.0:
            raise ValueError(f"data.center_crop_ratio must be in (0, 1], got {cfg['center_crop_ratio']!r}")
        if cfg["order"] not in ORDERS:
            raise ValueError(f"data.order: {cfg['order']!r} is not one of {', '.join(ORDERS)}")

    def _check_process_group(self) -> None:
        import torch.distributed as dist

        if not (dist.is_available() and dist.is_initialized()):
            raise ValueError(
                f"world_size={self.world_size} needs torch.distributed initialised (FFCV's "
                "distributed RANDOM order uses DistributedSampler)"
            )
        if (dist.get_rank(), dist.get_world_size()) != (self.rank, self.world_size):
            raise ValueError(
                f"rank/world_size {self.rank}/{self.world_size} disagree with torch.distributed's "
                f"{dist.get_rank()}/{dist.get_world_size()}"
            )

    def _image_tail(self) -> list[Any]:
        """Pipeline after the decoder (and flip): to a normalised NCHW channels-last batch on the device."""
        from ffcv.transforms import NormalizeImage, ToDevice, ToTensor, ToTorchImage

        if self.device.type == "cuda":
            return [ToTensor(), ToDevice(self.device, non_blocking=True), ToTorchImage()]
        return [NormalizeImage(self._mean, self._std, np.float32), ToTensor(), ToTorchImage()]

    def _label_pipeline(self) -> list[Any]:
        from ffcv.fields.decoders import IntDecoder
        from ffcv.transforms import ToDevice, ToTensor

        tail = [ToDevice(self.device, non_blocking=True)] if self.device.type == "cuda" else []
        return [IntDecoder(), ToTensor(), *tail]

    def _build_train_loader(self) -> Any:
        ops = ffcv_ops()
        from ffcv.loader import Loader, OrderOption

        self._decoder = ops.SeededRandomResizedCrop(self._target_size(), seed=self.seed)
        pipelines = {
            "image": [self._decoder, ops.SeededRandomHorizontalFlip(seed=self.seed), *self._image_tail()],
            "label": self._label_pipeline(),
        }
        order = OrderOption.QUASI_RANDOM if self.order == "quasi_random" else OrderOption.RANDOM
        with torch_threads_kept():
            loader = Loader(
                self.train_path,
                batch_size=self.local_batch_size,
                num_workers=self.cfg["num_workers"],
                order=order,
                os_cache=bool(self.cfg["in_memory"]),
                drop_last=bool(self.cfg["drop_last"]),
                distributed=self.distributed,
                seed=self.order_seed,
                indices=self.train_indices,
                pipelines=pipelines,
                batches_ahead=self.cfg["batches_ahead"],
            )
        if self.order == "quasi_random":
            loader.traversal_order = ops.PureQuasiRandom(loader)
        return loader

    def _build_val_loader(self, split: str) -> Any:
        """The eval loader of ``split``: "test" reads ``val_path``, "val" the held-out training examples."""
        from ffcv.fields.decoders import CenterCropRGBImageDecoder
        from ffcv.loader import Loader, OrderOption

        size = (self.cfg["val_resolution"], self.cfg["val_resolution"])
        pipelines = {
            "image": [
                CenterCropRGBImageDecoder(size, ratio=float(self.cfg["center_crop_ratio"])),
                *self._image_tail(),
            ],
            "label": self._label_pipeline(),
        }
        with torch_threads_kept():
            loader = Loader(
                self.val_path if split == "test" else self.train_path,
                batch_size=self.local_batch_size,
                num_workers=self.cfg["num_workers"],
                order=OrderOption.SEQUENTIAL,
                indices=None if split == "test" else self.val_indices,
                os_cache=bool(self.cfg["in_memory"]),
                drop_last=False,
                pipelines=pipelines,
                batches_ahead=self.cfg["batches_ahead"],
            )
        return loader

    @staticmethod
    def _read_labels(path: str, key: str) -> np.ndarray:
        """The label of every example, read from the file's metadata (no decoding); checks the fields."""
        from ffcv.reader import Reader

        reader = Reader(path)
        fields = list(reader.handlers)
        if fields[:2] != ["image", "label"]:
            raise ValueError(
                f"data.{key} {path}: expected fields ['image', 'label'] "
                f"(written by stepsize.data.write_ffcv), got {fields}"
            )
        labels = np.asarray(reader.metadata["f1"])
        if labels.size == 0:
            raise ValueError(f"data.{key} {path}: no examples")
        if labels.min() < 0:
            raise ValueError(f"data.{key} {path}: negative label {labels.min()}")
        return labels

    def _num_classes(self, labels: np.ndarray, configured: int | None) -> int:
        found = int(labels.max()) + 1
        if configured is None:
            return found
        if not isinstance(configured, int) or found > configured:
            raise ValueError(f"data.num_classes={configured!r}, but {self.train_path} has label {found - 1}")
        return configured

    # ---- progressive resizing -----------------------------------------------------------------------
    def _target_size(self) -> tuple[int, int]:
        if not self.progressive:
            return (self.image_size, self.image_size)
        res = progressive_resolution(
            self.fraction,
            min_resolution=self.cfg["min_resolution"],
            max_resolution=self.image_size,
            start_ramp=float(self.cfg["start_ramp"]),
            end_ramp=float(self.cfg["end_ramp"]),
        )
        return (res, res)

    def set_progress(self, fraction: float) -> None:
        """Record the budget fraction done; batches requested from now on use resolution r(fraction)."""
        if not (math.isfinite(fraction) and 0.0 <= fraction <= 1.0):
            raise ValueError(f"set_progress: fraction must be in [0, 1], got {fraction!r}")
        self.fraction = float(fraction)

    @property
    def current_resolution(self) -> int:
        return self._target_size()[0]

    # ---- streams ------------------------------------------------------------------------------------
    def epoch_order(self, epoch: int) -> np.ndarray:
        """This rank's sample ids of ``epoch``, cut to ``steps_per_epoch`` batches (ffcv Loader.__iter__)."""
        if self._order_cache is None or self._order_cache[0] != epoch:
            order = np.asarray(self._train_loader.traversal_order.sample_order(epoch))
            n = len(order) if not self.cfg["drop_last"] else self.steps_per_epoch * self.local_batch_size
            self._order_cache = (epoch, order[:n])
        return self._order_cache[1]

    def _epoch_iterator(self, order: np.ndarray) -> Any:
        from ffcv.loader.epoch_iterator import EpochIterator

        self._decoder.output_size = self._target_size()  # read when EpochIterator allocates its buffers
        return EpochIterator(self._train_loader, order)

    def _output(self, images: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
        labels = copy_out(labels.reshape(-1))
        if self.device.type == "cuda":
            if self._cuda_mean_std is None:
                self._cuda_mean_std = tuple(
                    torch.tensor(v, device=self.device, dtype=torch.float16).view(1, 3, 1, 1)
                    for v in (self._mean, self._std)
                )
            mean, std = self._cuda_mean_std
            return images.to(torch.float16).sub_(mean).div_(std), labels
        return copy_out(images), labels

    def train_batches(self, start_step: int = 0) -> Iterator[tuple[Tensor, Tensor]]:
        """Batches ``start_step, start_step + 1, ...`` forever (this rank's share; see module docstring)."""
        if start_step < 0:
            raise ValueError(f"train_batches: start_step must be >= 0, got {start_step}")
        step = int(start_step)
        while True:
            epoch, position = divmod(step, self.steps_per_epoch)
            size = self._target_size()
            iterator = self._epoch_iterator(self.epoch_order(epoch)[position * self.local_batch_size :])
            try:
                for images, labels in iterator:
                    yield self._output(images, labels)
                    step += 1
                    if self._target_size() != size:
                        break  # restart the epoch's remainder at the new resolution
            finally:
                stop_epoch(iterator)

    def eval_batches(self, split: str = "test") -> Iterator[tuple[Tensor, Tensor]]:
        """The whole ``split`` once, in file order (on every rank): "test" = ``val_path``, "val" = the
        held-out training examples."""
        if split not in self.splits:
            raise ValueError(f"no {split!r} split (splits: {', '.join(self.splits)}; a validation split "
                             "needs data.val_size > 0)")
        if split not in self._eval_loaders:
            if split == "test":
                labels = self._read_labels(self.val_path, "val_path")
                if labels.max() >= self.num_classes:
                    raise ValueError(
                        f"data.val_path {self.val_path}: label {labels.max()} is outside "
                        f"num_classes={self.num_classes}"
                    )
            self._eval_loaders[split] = self._build_val_loader(split)
        with torch_threads_kept():
            iterator = iter(self._eval_loaders[split])
        try:
            for images, labels in iterator:
                yield self._output(images, labels)
        finally:
            stop_epoch(iterator)

    def bn_batches(self, max_batches: int | None = None) -> Iterator[Tensor]:
        """Augmented training images (epoch 0's order, current resolution) for ``update_bn``."""
        if max_batches is not None and max_batches <= 0:
            return
        iterator = self._epoch_iterator(self.epoch_order(0))
        try:
            for count, (images, labels) in enumerate(iterator, start=1):
                yield self._output(images, labels)[0]
                if count == max_batches:
                    break
        finally:
            stop_epoch(iterator)


def build(cfg: dict[str, Any], *, device: Any, seed: int, rank: int = 0, world_size: int = 1) -> FFCVData:
    """Build the FFCV `Data` for this rank (see `FFCVData` and design.md §3)."""
    with torch_threads_kept():  # importing ffcv sets torch.set_num_threads(1)
        return FFCVData(cfg, device=device, seed=seed, rank=rank, world_size=world_size)
