"""``torch.optim.lr_scheduler.LRScheduler`` for every schedule spec, stepped once per update.

The scheduler evaluates the spec's pure multiplier for the whole budget once, at construction (a closed
form, so there is no recursive drift and resuming is exact by construction), and sets
``group["lr"] = base_lr × f(last_epoch)``. Usage::

    sched = create("uba", optimizer, total_steps=T, phi=0.5)
    for t in range(T):
        ...; optimizer.step(); sched.step()      # update t used f(t)

A spec with a momentum profile (OneCycle) also sets each group's momentum at every step, as torch's
``OneCycleLR(cycle_momentum=True)`` does: ``group["momentum"]``, or β₁ of ``group["betas"]`` for
Adam-type optimizers. Unlike torch, which cycles every group, only groups that have a momentum are
cycled (`momentum_key`, decided at construction and saved in ``state_dict()``).

``state_dict()`` holds only plain Python values (name, budget, parameters, torch's counters and
base LRs); the precomputed tables are rebuilt on ``load_state_dict``, which refuses a state of another
schedule, other parameters or another budget (`BudgetSchedule.load_state_dict`).
"""

from __future__ import annotations

import copy
import warnings
from typing import Any

import numpy as np
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from stepsize.run_record import json_lists
from stepsize.schedules.registry import resolve, spec

_DERIVED = ("_table", "_momentum_table", "_spec", "_warned_past_budget")
#: Keys every state of a `BudgetSchedule` has (beside torch's own counters).
_REQUIRED = ("name", "total_steps", "params", "last_epoch", "base_lrs")


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


class BudgetSchedule(LRScheduler):
    """LR = base LR × ``multiplier(name, last_epoch, total_steps, **params)``.

    Resuming: ``load_state_dict(state)`` accepts only a state saved by a scheduler of the same schedule
    name, parameters and budget (``total_steps``); anything else is a one-line ``ValueError`` naming
    each difference (an empty or foreign dict included). To continue a run on a *different budget* on
    purpose, say so: ``load_state_dict(state, allow_new_total_steps=True)`` keeps this scheduler's
    ``total_steps`` and the saved progress (``last_epoch``), so the next ``step()`` sets the LR of the
    new budget's schedule at that update.

    Stepping past the budget keeps the end value and warns once (``UserWarning``): an update beyond
    ``total_steps`` is outside the schedule that was planned.
    """

    def __init__(self, optimizer: Optimizer, total_steps: int, name: str, **params: Any) -> None:
        self.name = name
        self.params: dict[str, Any] = copy.deepcopy(resolve(name, total_steps, **params))
        self.total_steps = int(total_steps)
        self.momentum_keys: list[str | None] = [momentum_key(g) for g in optimizer.param_groups]
        self._warned_past_budget = False
        self._build_tables()
        super().__init__(optimizer, last_epoch=-1)

    def _build_tables(self) -> None:
        self._spec = spec(self.name)
        steps = np.arange(self.total_steps, dtype=np.int64)
        self._table = self._spec.evaluate(steps, self.total_steps, self.params)
        self._momentum_table = self._spec.evaluate_momentum(steps, self.total_steps, self.params)

    def multiplier_at(self, step: int) -> float:
        """f(step); steps past the budget get the end value f(total_steps − 1)."""
        return float(self._table[min(step, self.total_steps - 1)])

    def momentum_at(self, step: int) -> float | None:
        """The momentum set for update ``step`` (None when the schedule sets none)."""
        if self._momentum_table is None:
            return None
        return float(self._momentum_table[min(step, self.total_steps - 1)])

    def get_lr(self) -> list[Any]:
        if self.last_epoch > self.total_steps and not self._warned_past_budget:
            self._warned_past_budget = True
            warnings.warn(f"schedule {self.name!r} stepped past its budget of {self.total_steps} updates; "
                          "later updates keep its end value", UserWarning, stacklevel=3)
        momentum = self.momentum_at(self.last_epoch)
        if momentum is not None:
            for group, key in zip(self.optimizer.param_groups, self.momentum_keys, strict=False):
                if key == "betas":
                    group["betas"] = (momentum, *group["betas"][1:])
                elif key == "momentum":
                    group["momentum"] = momentum
        m = self.multiplier_at(self.last_epoch)
        return [base_lr * m for base_lr in self.base_lrs]

    _get_closed_form_lr = get_lr

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        for key in _DERIVED:
            state.pop(key, None)
        return state

    def load_state_dict(self, state_dict: dict[str, Any], *, allow_new_total_steps: bool = False) -> None:
        """Load a `state_dict` of the same schedule, parameters and budget (class docstring); a one-line
        ``ValueError`` names every difference. ``allow_new_total_steps=True``: a saved budget that differs
        is accepted, and this scheduler's own ``total_steps`` is kept."""
        if not isinstance(state_dict, dict):
            raise ValueError(f"scheduler state: expected a dict, got {type(state_dict).__name__}")
        missing = [k for k in _REQUIRED if k not in state_dict]
        if missing:
            raise ValueError("scheduler state: not a state of a budget schedule "
                             f"(missing {', '.join(missing)})")
        differences = []
        if state_dict["name"] != self.name:
            differences.append(f"name: saved {state_dict['name']!r}, this scheduler {self.name!r}")
        saved, ours = json_lists(state_dict["params"]), json_lists(self.params)
        if not isinstance(saved, dict):
            differences.append(f"params: saved {saved!r}, not a mapping")
        else:
            for key in sorted(set(saved) | set(ours)):
                if saved.get(key, "<unset>") != ours.get(key, "<unset>"):
                    differences.append(f"params.{key}: saved {saved.get(key, '<unset>')!r}, "
                                       f"this scheduler {ours.get(key, '<unset>')!r}")
        if state_dict["total_steps"] != self.total_steps and not allow_new_total_steps:
            differences.append(f"total_steps: saved {state_dict['total_steps']!r}, this scheduler "
                               f"{self.total_steps} (load_state_dict(state, allow_new_total_steps=True) "
                               "continues on the new budget)")
        if differences:
            raise ValueError(f"scheduler state of another schedule: {'; '.join(differences)}")
        total_steps = self.total_steps
        super().load_state_dict({k: v for k, v in state_dict.items() if k not in _DERIVED})
        self.total_steps = total_steps
        self.params = resolve(self.name, self.total_steps, **self.params)
        self._warned_past_budget = False
        self._build_tables()


def create(name: str, optimizer: Optimizer, total_steps: int, **params: Any) -> BudgetSchedule:
    """Build the scheduler ``name`` over a budget of ``total_steps`` updates (step it after each update).

    ``params``: the schedule's own parameters (``stepsize.schedules.DEFAULTS[name]`` lists them with their
    defaults; ``stepsize.schedules.describe(name)`` explains each) plus the common ``warmup_steps`` or
    ``warmup_fraction``. Resuming and changing the budget: `BudgetSchedule` (``load_state_dict``).
    """
    return BudgetSchedule(optimizer, total_steps, name, **params)
