"""Budget-aware learning-rate schedules: pure numpy multipliers and torch ``LRScheduler`` classes.

Public API
----------
``NAMES``                                     every schedule name
``DEFAULTS[name]``                            the schedule's own parameters and defaults (not warmup)
``multiplier(name, step, total_steps, **p)``  pure, vectorised LR multiplier (LR = base LR × f)
``create(name, optimizer, total_steps, **p)`` ``LRScheduler`` stepped once per update
``validate(name, total_steps, **p)``          raise ``ValueError`` naming the bad parameter
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

Sources: Loshchilov & Hutter 2017 (cosine); Li, Yumer & Ramanan 2020 (linear, budgeted training);
Chen, Wolfe & Kyrillidis 2022 (REX); Smith 2017 (cyclic); Smith & Topin 2019 (OneCycle); Hu et al.
2024 and Hägele et al. 2024 (WSD); Tang et al. 2025, arXiv 2505.24452 (UBA; see ``profiles.uba``).
"""

from stepsize.schedules.profiles import fraction_to_step, onecycle_momentum, uba_fraction
from stepsize.schedules.registry import DEFAULTS, NAMES, multiplier, resolve, validate
from stepsize.schedules.torch_schedulers import CLASSES, BudgetSchedule, create

__all__ = [
    "CLASSES",
    "DEFAULTS",
    "NAMES",
    "BudgetSchedule",
    "create",
    "fraction_to_step",
    "multiplier",
    "onecycle_momentum",
    "resolve",
    "uba_fraction",
    "validate",
]
