"""The `Data` protocol every dataset builder returns (design.md §3).

A builder module (`stepsize.data.<name>`) exposes ``DEFAULTS: dict`` (its allowed config keys with default
values), ``NULLABLE: dict`` (for each key whose default is null, the type it takes otherwise; used by
config validation) and ``build(cfg, *, device, seed, rank=0, world_size=1) -> Data``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from torch import Tensor


@runtime_checkable
class Data(Protocol):
    """A training/evaluation data source for one rank.

    ``train_batches(k)`` yields batch k, k+1, ... forever; batch k is a deterministic function of
    (seed, k), so a resumed run that starts at step k sees exactly the batches of the uninterrupted run.
    Under DDP each rank yields its own share (``batch_size // world_size`` examples) of global batch k.
    """

    num_classes: int
    in_channels: int
    image_size: int  # training resolution (final resolution with progressive resizing)
    train_size: int  # examples in the training split
    batch_size: int  # global batch size (all ranks)
    splits: tuple[str, ...]  # the evaluation splits: "test", and "val" when one is held out

    def train_batches(self, start_step: int = 0) -> Iterator[tuple[Tensor, Tensor]]:
        """Infinite stream of augmented (images, labels) on the device, starting at batch ``start_step``."""
        ...

    def eval_batches(self, split: str = "test") -> Iterator[tuple[Tensor, Tensor]]:
        """One evaluation split ("test" or "val") once, as normalised (images, labels) on the device."""
        ...

    def bn_batches(self, max_batches: int | None = None) -> Iterator[Tensor]:
        """Training images (augmented as in training) for recomputing BatchNorm statistics."""
        ...

    def set_progress(self, fraction: float) -> None:
        """Tell the loader the budget fraction done (progressive resizing); may do nothing."""
        ...


class MissingDependencyError(ImportError):
    """An optional package a builder needs (ffcv) is not importable; the message says how to install it.

    The training CLI reports it as one line and exits 1, like a config error; other ImportErrors (bugs)
    keep their traceback."""


def check_batch_split(batch_size: int, world_size: int) -> int:
    """Return the per-rank batch size; raise ValueError if the global batch does not split evenly."""
    if batch_size <= 0:
        raise ValueError(f"data.batch_size must be a positive integer, got {batch_size}")
    if batch_size % world_size:
        raise ValueError(
            f"data.batch_size={batch_size} is not divisible by the number of processes ({world_size})"
        )
    return batch_size // world_size
