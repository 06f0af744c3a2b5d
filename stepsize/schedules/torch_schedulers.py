"""``torch.optim.lr_scheduler.LRScheduler`` subclasses for every schedule, stepped once per update.

Each class evaluates the pure multiplier of :mod:`stepsize.schedules.profiles` for the whole budget
once, at construction (a closed form, so there is no recursive drift and resuming is exact by
construction), and sets ``group["lr"] = base_lr × f(last_epoch)``. Usage::

    sched = create("uba", optimizer, total_steps=T, phi=0.5)
    for t in range(T):
        ...; optimizer.step(); sched.step()      # update t used f(t)

``state_dict()`` holds only plain Python values (name, budget, parameters, torch's counters and
base LRs); the precomputed table is rebuilt on ``load_state_dict``.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

import numpy as np
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from stepsize.schedules import profiles
from stepsize.schedules.registry import NAMES, PROFILES, resolve


class BudgetSchedule(LRScheduler):
    """Base class: LR = base LR × ``multiplier(schedule_name, last_epoch, total_steps, **params)``."""

    schedule_name: ClassVar[str] = ""
    #: Attributes rebuilt from ``params`` on load, so not saved in ``state_dict()``.
    derived: ClassVar[tuple[str, ...]] = ("_table",)

    def __init__(self, optimizer: Optimizer, total_steps: int, **params: Any) -> None:
        self.params: dict[str, Any] = copy.deepcopy(resolve(self.schedule_name, total_steps, **params))
        self.total_steps = int(total_steps)
        self._build_table()
        super().__init__(optimizer, last_epoch=-1)

    def _build_table(self) -> None:
        steps = np.arange(self.total_steps, dtype=np.int64)
        self._table = PROFILES[self.schedule_name](steps, self.total_steps, **self.params)

    def multiplier_at(self, step: int) -> float:
        """f(step); steps past the budget get the end value f(total_steps − 1)."""
        return float(self._table[min(step, self.total_steps - 1)])

    def get_lr(self) -> list[Any]:
        m = self.multiplier_at(self.last_epoch)
        return [base_lr * m for base_lr in self.base_lrs]

    _get_closed_form_lr = get_lr

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        for key in self.derived:
            state.pop(key, None)
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        self.params = resolve(self.schedule_name, self.total_steps, **self.params)
        self._build_table()


class Constant(BudgetSchedule):
    """Constant LR (see :func:`stepsize.schedules.profiles.constant`)."""

    schedule_name = "constant"


class StepDecay(BudgetSchedule):
    """Periodic step decay, torch ``StepLR`` (see :func:`stepsize.schedules.profiles.step_decay`)."""

    schedule_name = "step"


class MultiStep(BudgetSchedule):
    """Multi-step decay at budget fractions (see :func:`stepsize.schedules.profiles.multistep`)."""

    schedule_name = "multistep"


class Exponential(BudgetSchedule):
    """Exponential decay to ``final_ratio`` (see :func:`stepsize.schedules.profiles.exponential`)."""

    schedule_name = "exponential"


class Cosine(BudgetSchedule):
    """Cosine annealing, Loshchilov & Hutter 2017 (see :func:`stepsize.schedules.profiles.cosine`)."""

    schedule_name = "cosine"


class Linear(BudgetSchedule):
    """Linear decay, Li, Yumer & Ramanan 2020 (see :func:`stepsize.schedules.profiles.linear`)."""

    schedule_name = "linear"


class Polynomial(BudgetSchedule):
    """Polynomial decay (see :func:`stepsize.schedules.profiles.polynomial`)."""

    schedule_name = "polynomial"


class Rex(BudgetSchedule):
    """REX, paper form, Chen, Wolfe & Kyrillidis 2022 (see :func:`stepsize.schedules.profiles.rex`)."""

    schedule_name = "rex"


class RexCode(BudgetSchedule):
    """REX, the authors' code variant (see :func:`stepsize.schedules.profiles.rex_code`)."""

    schedule_name = "rex_code"


def momentum_key(group: dict[str, Any]) -> str | None:
    """Where a param group keeps the momentum OneCycle cycles: "betas" (β₁ of Adam-type optimizers),
    "momentum" if it is a number > 0 (SGD, RMSprop, OSGM's fixed β), else None (not cycled: plain SGD,
    ``momentum=0``, or OSGM's ``momentum=None``/``"learned"``, whose β is its own)."""
    if isinstance(group.get("betas"), list | tuple):
        return "betas"
    value = group.get("momentum")
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return "momentum"
    return None


class OneCycle(BudgetSchedule):
    """OneCycle, torch ``OneCycleLR`` with its defaults, momentum cycling included.

    LR: :func:`stepsize.schedules.profiles.onecycle`. With ``cycle_momentum=True`` (torch's default) the
    momentum follows :func:`stepsize.schedules.profiles.onecycle_momentum` (``max_momentum`` 0.95 →
    ``base_momentum`` 0.85 while the LR rises, back to 0.95 while it falls), set at every step like
    torch: ``group["momentum"]``, or β₁ of ``group["betas"]`` for Adam-type optimizers. Unlike torch,
    which cycles every group, only groups that have momentum are cycled (:func:`momentum_key`, decided
    at construction and saved in ``state_dict()``): a group with ``momentum`` 0, None or "learned" (plain
    SGD, RMSprop's default, OSGM with ``momentum="learned"``, which learns β itself) keeps its own.
    """

    schedule_name = "onecycle"
    derived = ("_table", "_momentum_table")

    def __init__(self, optimizer: Optimizer, total_steps: int, **params: Any) -> None:
        self.momentum_keys: list[str | None] = [momentum_key(group) for group in optimizer.param_groups]
        super().__init__(optimizer, total_steps, **params)

    def _build_table(self) -> None:
        super()._build_table()
        steps = np.arange(self.total_steps, dtype=np.int64)
        self._momentum_table = (
            profiles.onecycle_momentum(steps, self.total_steps, **self.params)
            if self.params["cycle_momentum"]
            else None
        )

    def momentum_at(self, step: int) -> float | None:
        """Momentum for update ``step`` (None without cycling); past the budget, the end value."""
        if self._momentum_table is None:
            return None
        return float(self._momentum_table[min(step, self.total_steps - 1)])

    def get_lr(self) -> list[Any]:
        momentum = self.momentum_at(self.last_epoch)
        if momentum is not None:
            for group, key in zip(self.optimizer.param_groups, self.momentum_keys, strict=False):
                if key == "betas":
                    group["betas"] = (momentum, *group["betas"][1:])
                elif key == "momentum":
                    group["momentum"] = momentum
        return super().get_lr()

    _get_closed_form_lr = get_lr


class WarmupStableDecay(BudgetSchedule):
    """Warmup–stable–decay (see :func:`stepsize.schedules.profiles.wsd`)."""

    schedule_name = "wsd"


class Cyclic(BudgetSchedule):
    """Triangular cyclical LR, Smith 2017 (see :func:`stepsize.schedules.profiles.cyclic`)."""

    schedule_name = "cyclic"


class UBA(BudgetSchedule):
    """Unified Budget-Aware schedule, Tang et al. 2025 (see :func:`stepsize.schedules.profiles.uba`)."""

    schedule_name = "uba"


CLASSES: dict[str, type[BudgetSchedule]] = {
    cls.schedule_name: cls
    for cls in (
        Constant, StepDecay, MultiStep, Exponential, Cosine, Linear, Polynomial,
        Rex, RexCode, OneCycle, WarmupStableDecay, Cyclic, UBA,
    )
}  # fmt: skip
assert tuple(CLASSES) == NAMES, "every schedule name needs a scheduler class"


def create(name: str, optimizer: Optimizer, total_steps: int, **params: Any) -> BudgetSchedule:
    """Build the scheduler ``name`` over a budget of ``total_steps`` updates (step it after each update)."""
    if name not in CLASSES:
        raise ValueError(f"unknown schedule {name!r}; valid names: {', '.join(NAMES)}")
    return CLASSES[name](optimizer, total_steps, **params)
