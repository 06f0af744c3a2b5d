"""Budget-aware learning-rate schedules: pure numpy multipliers and a torch ``LRScheduler``.

Public API
----------
``NAMES``                                     every schedule name (one module each in ``library/``)
``SPECS[name]``                               its `ScheduleSpec`: formula, parameters, label, source
``DEFAULTS[name]``                            the schedule's own parameters and defaults (not warmup)
``multiplier(name, step, total_steps, **p)``  pure, vectorised LR multiplier (LR = base LR × f)
``create(name, optimizer, total_steps, **p)`` ``LRScheduler`` stepped once per update
``validate(name, total_steps, **p)``          raise ``ValueError`` naming the bad parameter
``describe(name)``                            its parameters with defaults, meaning and allowed values
``onecycle_momentum(step, total_steps, **p)`` OneCycle's momentum (cycled inversely to its LR)

Every schedule also accepts ``warmup_steps`` (int, 0 <= W < total_steps): a linear warmup prefix that
counts inside the budget.

Step convention (off-by-one rule, tested)
-----------------------------------------
Update indices t = 0 .. T−1, T = ``total_steps``. Without warmup the closed forms are evaluated at
progress p = t/(T − 1): the first update (t = 0) uses η_max and the last update (t = T − 1) uses the
end value η_min. With a warmup of W updates, t < W uses f(W)·(t + 1)/(W + 1) and the main schedule runs
at p = (t − W)/(T − 1 − W). A one-update budget (or main phase) gets p = 0, i.e. η_max. Steps past
the budget keep the end value. OneCycle and cyclic start low by design (their own definitions); all
schedules end at their end value on the last update. OneCycle also cycles the momentum as torch's
``OneCycleLR`` does by default (``cycle_momentum=True``), for groups that have one.

The scheduler is stepped after each ``optimizer.step()``: construction sets the LR of update 0, the
k-th ``scheduler.step()`` sets the LR of update k. This matches torch: e.g. ``cosine`` over T updates
equals ``CosineAnnealingLR(T_max=T − 1)``, ``linear`` equals ``LinearLR(1, r, total_iters=T − 1)``,
``onecycle`` (LR and momentum) equals ``OneCycleLR(max_lr=base LR, total_steps=T)`` with its defaults.
"""

from stepsize.schedules.library.uba import uba_fraction
from stepsize.schedules.registry import (
    DECAYING,
    DEFAULTS,
    LABELS,
    NAMES,
    SPECS,
    describe,
    momentum,
    multiplier,
    onecycle_momentum,
    resolve,
    spec,
    validate,
)
from stepsize.schedules.spec import Param, ScheduleSpec, fraction_to_step

__all__ = [
    "DECAYING",
    "DEFAULTS",
    "LABELS",
    "NAMES",
    "SPECS",
    "BudgetSchedule",
    "Param",
    "ScheduleSpec",
    "create",
    "describe",
    "fraction_to_step",
    "momentum",
    "multiplier",
    "onecycle_momentum",
    "resolve",
    "spec",
    "uba_fraction",
    "validate",
]


def __getattr__(name: str) -> object:
    """``create`` and ``BudgetSchedule`` (torch's ``LRScheduler``) load on first use (PEP 562), so that the
    pure-numpy formulas serve `theory` and `report` without importing torch (2.4 s)."""
    if name in ("BudgetSchedule", "create"):
        from stepsize.schedules import scheduler

        return getattr(scheduler, name)
    raise AttributeError(f"module 'stepsize.schedules' has no attribute {name!r}")
