"""stepsize: budget-aware step sizes — schedules, online-scaled optimizers, SWA,
and the study that compares them."""

__version__ = "0.1.0"
