"""Weight averaging of a training trajectory with ``torch.optim.swa_utils`` (design.md §4).

- ``tail``: equal-weight average (SWA; Izmailov et al., "Averaging Weights Leads to Wider Optima and
  Better Generalization", UAI 2018, arXiv 1803.05407) of the iterates after updates
  ``n = s + period, s + 2·period, ...`` where ``s = start_step``: ``w̄ ← w̄ + (w − w̄)/(k + 1)``.
- ``ema``: exponential moving average ``w̄ ← d·w̄ + (1 − d)·w`` of every iterate after update ``s``
  (the first one is copied).
- ``swalr``: the same equal-weight average, on a branch whose LR is switched to ``SWALR`` at ``s``
  (driven by `stepsize.train`).

Averages are built from the *unwrapped* module (not the DDP or compiled wrapper), with
``use_buffers=False``; their BatchNorm statistics are recomputed by `recompute_bn` (``update_bn`` run
under the training autocast, memory format and input dtype) before evaluation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager

import torch
from torch import Tensor, nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn, update_bn

from stepsize.models import as_input


def start_step(start: float, total_steps: int) -> int:
    """Updates done before averaging starts: ``min(round(start · T), T − 1)`` (so the window is never
    empty)."""
    return min(round(start * total_steps), total_steps - 1)


class Averager:
    """One running average of a module's parameters, updated according to its window rule."""

    def __init__(self, kind: str, module: nn.Module, *, start: int, period: int, ema_decay: float) -> None:
        if kind not in ("tail", "ema", "swalr"):
            raise ValueError(f"swa.variants: unknown averaging kind {kind!r}")
        self.kind, self.start, self.period = kind, start, 1 if kind == "ema" else period
        avg_fn = get_ema_multi_avg_fn(ema_decay) if kind == "ema" else None
        self.model = AveragedModel(module, multi_avg_fn=avg_fn, use_buffers=False)

    def due(self, updates_done: int) -> bool:
        """Whether the iterate after ``updates_done`` updates joins the average."""
        past = updates_done - self.start
        return past > 0 and past % self.period == 0

    def maybe_update(self, module: nn.Module, updates_done: int) -> None:
        if self.due(updates_done):
            self.model.update_parameters(module)

    @property
    def n_averaged(self) -> int:
        return int(self.model.n_averaged.item())

    def summary(self) -> dict[str, int]:
        return {"n_averaged": self.n_averaged, "start_step": self.start}


def recompute_bn(
    model: nn.Module,
    images: Iterable[Tensor],
    autocast: Callable[[], AbstractContextManager],
    channels_last: bool,
    dtype: torch.dtype | None = None,
) -> None:
    """``torch.optim.swa_utils.update_bn`` on ``images`` under the training autocast, memory format and
    input dtype (`stepsize.models.as_input`)."""
    with autocast():
        update_bn((as_input(x, channels_last, dtype) for x in images), model)
