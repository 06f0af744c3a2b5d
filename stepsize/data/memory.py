"""In-memory image datasets on the device with batched augmentation there (no worker processes).

The whole split is kept as a uint8 tensor ``[N, C, H, W]`` on the device (the airbench pattern, Jordan
2024, arXiv 2404.00498). Batch k of the training stream is a pure function of ``(seed, k)``:

- epoch ``e = k // (N // B)`` visits the examples in the order ``randperm(N)`` drawn from a CPU
  ``torch.Generator`` seeded with ``hash(seed, e)``; batch k takes the next ``B`` indices (drop-last);
- augmentation (random crop after zero padding by ``p`` pixels, random horizontal flip) draws its
  offsets and flips for the whole global batch from a generator seeded with ``hash(seed, k)``.

So a resumed run needs only the step, and under DDP rank r takes rows ``[r·B/W, (r+1)·B/W)`` of exactly
the batch one process would see. Images become float ``(x/255 − mean)/std``.

Validation split: with ``val_size`` = v > 0, the training split is permuted once by a generator seeded
with ``split_seed`` (not the run seed: every run of a study sees the same split); the last v examples of
that permutation are the validation split and the training examples are drawn from the others (the
first ``train_subset`` of them). The test split is never touched for tuning. With v = 0 the training
examples are the first ``train_subset`` of the file order, as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor

from stepsize.data.base import check_batch_split

#: Keys shared by every in-memory dataset (each builder adds its own, e.g. ``root``).
MEMORY_DEFAULTS: dict[str, Any] = {
    "batch_size": 128,  # global batch (all ranks)
    "eval_batch_size": 1000,
    "augment": True,
    "crop_padding": 4,  # pixels of zero padding before the random crop (0 = no crop)
    "flip": True,  # random horizontal flip (only when augment is true)
    "train_subset": None,  # use only the first n training examples (tests, smoke runs)
    "test_subset": None,  # evaluate on the first n test examples
    "val_size": 0,  # examples held out of the training split as the validation split (0 = none)
    "split_seed": 0,  # seed of the one permutation that separates validation from training examples
}
#: The types of the null-default keys of `MEMORY_DEFAULTS` (see `stepsize.data.base`).
MEMORY_NULLABLE: dict[str, type] = {"train_subset": int, "test_subset": int}

_MIX = 1_000_003  # prime multiplier that turns (seed, index) into one generator seed


def with_defaults(cfg: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """``{**defaults, **cfg}``; ValueError naming the first key of ``cfg`` not in ``defaults`` (``name``
    is always allowed: a builder's ``DEFAULTS`` need not list it)."""
    allowed = {"name", *defaults}
    unknown = sorted(set(cfg) - allowed)
    if unknown:
        name = cfg.get("name", defaults.get("name"))
        raise ValueError(f"data.{unknown[0]}: unknown key for data.name={name}; "
                         f"allowed: {', '.join(sorted(allowed))}")
    return {**defaults, **cfg}


def _generator(seed: int, index: int, stream: int) -> torch.Generator:
    return torch.Generator().manual_seed((seed * _MIX + index) * 4 + stream)


def split_indices(n: int, val_size: Any, split_seed: Any) -> tuple[Tensor | None, Tensor | None]:
    """(training candidates, validation indices) of a training split of ``n`` examples: ``(None, None)``
    for no validation split, else the first n − v and the last v entries of ``randperm(n)`` seeded with
    ``split_seed``."""
    if isinstance(val_size, bool) or not isinstance(val_size, int) or not 0 <= val_size < n:
        raise ValueError(f"data.val_size must be an integer in [0, {n - 1}], got {val_size!r}")
    if isinstance(split_seed, bool) or not isinstance(split_seed, int) or split_seed < 0:
        raise ValueError(f"data.split_seed must be an integer >= 0, got {split_seed!r}")
    if val_size == 0:
        return None, None
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(split_seed))
    return perm[: n - val_size], perm[n - val_size :]


def subset_size(key: str, value: Any, available: int) -> int:
    """Validated ``data.train_subset``/``data.test_subset``: null → all; else 1 ≤ n ≤ available."""
    if value is None:
        return available
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= available:
        raise ValueError(f"data.{key} must be null or an integer in [1, {available}], got {value!r}")
    return value


def crop_flip_params(
    batch: int, padding: int, flip: bool, generator: torch.Generator
) -> tuple[Tensor | None, Tensor | None]:
    """Random crop offsets ``[2, batch]`` in [0, 2·padding] and flip flags ``[batch]``, drawn on the CPU
    from ``generator`` (so they do not depend on the device); None where that augmentation is off."""
    offsets = torch.randint(0, 2 * padding + 1, (2, batch), generator=generator) if padding > 0 else None
    flips = torch.rand(batch, generator=generator) < 0.5 if flip else None
    return offsets, flips


def crop_flip(x: Tensor, padding: int, offsets: Tensor | None, flips: Tensor | None) -> Tensor:
    """Batched random crop (after zero padding by ``padding``) and horizontal flip of ``[B, C, H, W]``
    images, applied on their device with one gather."""
    b, c, h, w = x.shape
    if offsets is not None:
        dy, dx = offsets.to(x.device)
        padded = torch.nn.functional.pad(x, (padding, padding, padding, padding))
        rows = (dy[:, None] + torch.arange(h, device=x.device))[:, None, :, None]
        cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, None, :]
        batch = torch.arange(b, device=x.device)[:, None, None, None]
        chan = torch.arange(c, device=x.device)[None, :, None, None]
        x = padded[batch, chan, rows, cols]
    if flips is not None:
        x = torch.where(flips.to(x.device)[:, None, None, None], x.flip(3), x)
    return x


class InMemoryData:
    """`stepsize.data.base.Data` over uint8 tensors held on ``device``."""

    def __init__(
        self,
        train_x: Tensor,
        train_y: Tensor,
        test_x: Tensor,
        test_y: Tensor,
        *,
        num_classes: int,
        mean: tuple[float, ...],
        std: tuple[float, ...],
        cfg: dict[str, Any],
        device: Any,
        seed: int,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        self.device = torch.device(device)
        candidates, val_idx = split_indices(len(train_x), cfg["val_size"], cfg["split_seed"])
        n_train = subset_size("train_subset", cfg["train_subset"],
                              len(train_x) if candidates is None else len(candidates))
        if val_idx is not None:  # gather only the rows used (train_subset of the candidates, in order)
            val_x, val_y = train_x[val_idx], train_y[val_idx]
            train_x, train_y = train_x[candidates[:n_train]], train_y[candidates[:n_train]]
        n_test = subset_size("test_subset", cfg["test_subset"], len(test_x))
        self.batch_size = int(cfg["batch_size"])
        self.local_batch_size = check_batch_split(self.batch_size, world_size)
        if self.batch_size > n_train:
            raise ValueError(f"data.batch_size={self.batch_size} exceeds the {n_train} training examples")
        eval_bs = cfg["eval_batch_size"]
        if isinstance(eval_bs, bool) or not isinstance(eval_bs, int) or eval_bs < 1:
            raise ValueError(f"data.eval_batch_size must be a positive integer, got {eval_bs!r}")
        padding = cfg["crop_padding"]
        if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
            raise ValueError(f"data.crop_padding must be an integer >= 0, got {padding!r}")
        self.eval_batch_size, self.padding = eval_bs, padding if cfg["augment"] else 0
        self.flip = bool(cfg["augment"] and cfg["flip"])
        self.train_x = train_x[:n_train].to(self.device)
        self.train_y = train_y[:n_train].to(self.device, torch.long)
        test = (test_x[:n_test].to(self.device), test_y[:n_test].to(self.device, torch.long))
        self.eval_sets = {"test": test}
        if val_idx is not None:
            self.eval_sets["val"] = (val_x.to(self.device), val_y.to(self.device, torch.long))
        self.splits = tuple(self.eval_sets)
        self.num_classes, self.in_channels = num_classes, int(train_x.shape[1])
        self.image_size, self.train_size = int(train_x.shape[-1]), n_train
        self.seed, self.rank, self.world_size = int(seed), int(rank), int(world_size)
        self.steps_per_epoch = n_train // self.batch_size
        self._mean = torch.tensor(mean, device=self.device).view(1, -1, 1, 1) * 255
        self._inv_std = 1 / (torch.tensor(std, device=self.device).view(1, -1, 1, 1) * 255)
        self._epoch_order: tuple[int, Tensor] | None = None

    @property
    def test_x(self) -> Tensor:
        return self.eval_sets["test"][0]

    @property
    def test_y(self) -> Tensor:
        return self.eval_sets["test"][1]

    # ------------------------------------------------------------------ helpers
    def normalize(self, x: Tensor) -> Tensor:
        """uint8 → float32 ``(x − 255·mean) / (255·std)``."""
        return (x.float() - self._mean) * self._inv_std

    def _order(self, epoch: int) -> Tensor:
        if self._epoch_order is None or self._epoch_order[0] != epoch:
            perm = torch.randperm(self.train_size, generator=_generator(self.seed, epoch, 0))
            self._epoch_order = (epoch, perm.to(self.device))
        return self._epoch_order[1]

    def global_batch_indices(self, step: int) -> Tensor:
        """Indices of the ``batch_size`` training examples of global batch ``step``."""
        epoch, within = divmod(step, self.steps_per_epoch)
        return self._order(epoch)[within * self.batch_size : (within + 1) * self.batch_size]

    def _augmented(self, idx: Tensor, generator: torch.Generator, rows: slice | None = None) -> Tensor:
        """Augmented, normalised images ``idx[rows]``; the random draws cover all of ``idx``."""
        offsets, flips = crop_flip_params(len(idx), self.padding, self.flip, generator)
        if rows is not None:
            idx = idx[rows]
            offsets = None if offsets is None else offsets[:, rows]
            flips = None if flips is None else flips[rows]
        return self.normalize(crop_flip(self.train_x[idx], self.padding, offsets, flips))

    # ------------------------------------------------------------------ Data protocol
    def train_batches(self, start_step: int = 0) -> Iterator[tuple[Tensor, Tensor]]:
        """Batch k = ``start_step``, ``start_step`` + 1, ...: this rank's rows of global batch k."""
        rows = slice(self.rank * self.local_batch_size, (self.rank + 1) * self.local_batch_size)
        step = start_step
        while True:
            idx = self.global_batch_indices(step)
            yield self._augmented(idx, _generator(self.seed, step, 1), rows), self.train_y[idx[rows]]
            step += 1

    def eval_batches(self, split: str = "test") -> Iterator[tuple[Tensor, Tensor]]:
        """The whole ``split`` ("test", or "val" when ``val_size`` > 0) in order, in batches of
        ``eval_batch_size``."""
        if split not in self.eval_sets:
            raise ValueError(f"no {split!r} split in this dataset (splits: {', '.join(self.splits)}; "
                             "a validation split needs data.val_size > 0)")
        images, labels = self.eval_sets[split]
        for i in range(0, len(images), self.eval_batch_size):
            batch = slice(i, i + self.eval_batch_size)
            yield self.normalize(images[batch]), labels[batch]

    def bn_batches(self, max_batches: int | None = None) -> Iterator[Tensor]:
        """Whole global augmented training batches (the same on every rank) from a stream of their own,
        for ``update_bn``; ``max_batches`` None = one epoch."""
        n = self.steps_per_epoch if max_batches is None else min(max_batches, self.steps_per_epoch)
        order = torch.randperm(self.train_size, generator=_generator(self.seed, 0, 2)).to(self.device)
        for k in range(n):
            idx = order[k * self.batch_size : (k + 1) * self.batch_size]
            yield self._augmented(idx, _generator(self.seed, k, 3))

    def set_progress(self, fraction: float) -> None:
        """No progressive resizing for in-memory data."""

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}={len(v[0])}" for k, v in self.eval_sets.items())
        return (
            f"InMemoryData(train={self.train_size}, {sizes}, batch={self.batch_size}, "
            f"image={self.in_channels}x{self.image_size}x{self.image_size}, device={self.device})"
        )
