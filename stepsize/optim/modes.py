"""Training and evaluation points of optimizers that keep two (Schedule-Free, Defazio et al. 2024).

Such an optimizer has ``train()``/``eval()``: in train mode the model holds y (where gradients are
taken), in eval mode x (the point to evaluate, average and save). Switching back and forth is a lerp
each way, which is not exact in floating point, so `evaluation_point` restores the training point from
a copy instead: evaluating, averaging or checkpointing a run leaves its trajectory bit for bit the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor
from torch.optim import Optimizer


def has_modes(optimizer: Optimizer) -> bool:
    """Whether ``optimizer`` keeps separate training and evaluation points (``train()``/``eval()``)."""
    return callable(getattr(optimizer, "eval", None)) and callable(getattr(optimizer, "train", None))


def _params(optimizer: Optimizer) -> list[Tensor]:
    return [p for group in optimizer.param_groups for p in group["params"]]


@contextmanager
def evaluation_point(optimizer: Optimizer) -> Iterator[list[Tensor] | None]:
    """Inside the block the parameters hold the evaluation point (``optimizer.eval()``); after it, the
    optimizer is in train mode and the parameters hold their training values exactly. Yields the saved
    training values (to checkpoint them), or None for an optimizer without modes (nothing changes)."""
    if not has_modes(optimizer):
        yield None
        return
    params = _params(optimizer)
    saved = [p.detach().clone() for p in params]
    optimizer.eval()
    try:
        yield saved
    finally:
        optimizer.train()
        with torch.no_grad():
            for p, y in zip(params, saved, strict=True):
                p.copy_(y)


def restore_training_point(optimizer: Optimizer, saved: list[Tensor]) -> None:
    """After loading a checkpoint saved at the evaluation point: train mode, training values restored."""
    if not has_modes(optimizer):
        return
    optimizer.train()
    with torch.no_grad():
        for p, y in zip(_params(optimizer), saved, strict=True):
            p.copy_(y)
