"""Weight averaging of a training trajectory (design.md §4), with ``torch.optim.swa_utils`` and DoG's
averager.

- ``tail``: equal-weight average (SWA; Izmailov et al., "Averaging Weights Leads to Wider Optima and
  Better Generalization", UAI 2018, arXiv 1803.05407) of the iterates after updates
  ``n = s + period, s + 2·period, ...`` where ``s = start_step``: ``w̄ ← w̄ + (w − w̄)/(k + 1)``.
- ``ema``: exponential moving average ``w̄ ← d·w̄ + (1 − d)·w`` of every iterate after update ``s``
  (the first one is copied).
- ``swalr``: the same equal-weight average, on a branch whose LR is switched to ``SWALR`` at ``s``
  (driven by `stepsize.train`).
- ``poly``: polynomial-decay averaging (Shamir & Zhang, ICML 2013) of every iterate from the first,
  ``w̄_t = (1 − (1+γ)/(t+γ)) w̄_{t−1} + (1+γ)/(t+γ) w_t`` with γ = ``poly_gamma`` (8), by the
  ``PolynomialDecayAverager`` of the ``dog-optimizer`` package (Ivgi et al., ICML 2023), the averager
  DoG is meant to be used with.

Averages are built from the *unwrapped* module (not the DDP or compiled wrapper); with an optimizer
that keeps an evaluation point (Schedule-Free), the trainer feeds them that point
(`stepsize.optim.evaluation_point`). Their BatchNorm statistics are recomputed by `recompute_bn`
(``update_bn`` under the training autocast, memory format and input dtype) before evaluation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import Any

import torch
from torch import Tensor, nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn, update_bn

from stepsize.models import as_input

KINDS = ("tail", "swalr", "ema", "poly")


def start_step(start: float, total_steps: int) -> int:
    """Updates done before averaging starts: ``min(round(start · T), T − 1)`` (so the window is never
    empty)."""
    return min(round(start * total_steps), total_steps - 1)


class Averager:
    """One running average of a module's parameters, updated according to its window rule."""

    def __init__(self, kind: str, module: nn.Module, *, start: int, period: int, ema_decay: float,
                 poly_gamma: float = 8.0) -> None:
        if kind not in KINDS:
            raise ValueError(f"swa.variants: unknown averaging kind {kind!r}")
        self.kind = kind
        self.start = 0 if kind == "poly" else start
        self.period = 1 if kind in ("ema", "poly") else period
        self._poly: Any = None
        if kind == "poly":
            from dog import PolynomialDecayAverager

            self._poly = PolynomialDecayAverager(module, gamma=poly_gamma)
            self.model = self._poly.av_model
        else:
            avg_fn = get_ema_multi_avg_fn(ema_decay) if kind == "ema" else None
            self.model = AveragedModel(module, multi_avg_fn=avg_fn, use_buffers=False)

    def due(self, updates_done: int) -> bool:
        """Whether the iterate after ``updates_done`` updates joins the average."""
        past = updates_done - self.start
        return past > 0 and past % self.period == 0

    def update(self, module: nn.Module) -> None:
        """Add ``module``'s current parameters (the one the averager was built on, for ``poly``)."""
        if self._poly is not None:
            self._poly.step()
        else:
            self.model.update_parameters(module)

    def maybe_update(self, module: nn.Module, updates_done: int) -> None:
        """`update` if the iterate after ``updates_done`` updates is due."""
        if self.due(updates_done):
            self.update(module)

    @property
    def n_averaged(self) -> int:
        if self._poly is not None:
            return self._poly.t - 1
        return int(self.model.n_averaged.item())

    def summary(self) -> dict[str, int]:
        return {"n_averaged": self.n_averaged, "start_step": self.start}

    def state_dict(self) -> dict[str, Any]:
        if self._poly is not None:
            return self._poly.state_dict()
        return self.model.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self._poly is not None:
            self._poly.load_state_dict(state)
        else:
            self.model.load_state_dict(state)


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
