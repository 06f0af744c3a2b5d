"""Optimizer factory: ``create(name, params, lr, **kw)`` over ``torch.optim`` plus :class:`OSGM`.

Names: ``sgd`` (plain SGD), ``momentum`` (SGD, heavy ball, Polyak 1964), ``nesterov`` (SGD with
Nesterov momentum, Sutskever et al. 2013), ``rmsprop`` (Tieleman & Hinton 2012), ``adam`` (Kingma & Ba
2015), ``adamw`` (Loshchilov & Hutter 2019) and ``osgm`` (online-scaled steps, see
:mod:`stepsize.optim.osgm`; its ``lr`` is a multiplier on the learned step, 1.0 = unscaled).
Every optimizer accepts ``weight_decay``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor
from torch.optim import Optimizer

from stepsize.optim.osgm import OSGM

NAMES: tuple[str, ...] = ("sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw", "osgm")

#: Allowed keyword arguments of each optimizer with their defaults (``lr`` is passed separately).
DEFAULTS: dict[str, dict[str, Any]] = {
    "sgd": {"weight_decay": 0.0},
    "momentum": {"momentum": 0.9, "dampening": 0.0, "weight_decay": 0.0},
    "nesterov": {"momentum": 0.9, "weight_decay": 0.0},
    "rmsprop": {"alpha": 0.99, "eps": 1e-8, "momentum": 0.0, "centered": False, "weight_decay": 0.0},
    "adam": {"betas": [0.9, 0.999], "eps": 1e-8, "amsgrad": False, "weight_decay": 0.0},
    "adamw": {"betas": [0.9, 0.999], "eps": 1e-8, "amsgrad": False, "weight_decay": 0.01},
    "osgm": {
        "scope": "diagonal",
        "p_init": 0.1,
        "hyper_lr": 0.01,
        "p_max": 1.0,
        "momentum": "learned",
        "beta_init": 0.9,
        "beta_lr": 0.01,
        "beta_max": 0.99,
        "weight_decay": 0.0,
        "tau": 0.0,
        "eps": 1e-12,
    },
}


def _check(name: str, lr: Any, kw: dict[str, Any]) -> dict[str, Any]:
    """Merge defaults, reject unknown keys and out-of-range common values with one-line messages."""
    if name not in DEFAULTS:
        raise ValueError(f"unknown optimizer {name!r}; valid names: {', '.join(NAMES)}")
    unknown = sorted(set(kw) - set(DEFAULTS[name]))
    if unknown:
        valid = sorted(DEFAULTS[name])
        raise ValueError(f"optimizer {name!r}: unknown parameter {unknown[0]!r}; valid parameters: {valid}")
    if isinstance(lr, bool) or not isinstance(lr, int | float) or not math.isfinite(lr) or lr < 0:
        raise ValueError(f"optimizer {name!r}: lr must be a finite number >= 0, got {lr!r}")
    full = {**copy.deepcopy(DEFAULTS[name]), **kw}
    wd = full["weight_decay"]
    if isinstance(wd, bool) or not isinstance(wd, int | float) or not wd >= 0:
        raise ValueError(f"optimizer {name!r}: weight_decay must be a number >= 0, got {wd!r}")
    if name in ("momentum", "nesterov"):
        m = full["momentum"]
        if isinstance(m, bool) or not isinstance(m, int | float) or not 0 < m < 1:
            raise ValueError(f"optimizer {name!r}: momentum must be in (0, 1), got {m!r}")
    if "betas" in full:
        betas = full["betas"]
        if not isinstance(betas, list | tuple) or len(betas) != 2 or not all(0 <= b < 1 for b in betas):
            raise ValueError(f"optimizer {name!r}: betas must be two numbers in [0, 1), got {betas!r}")
        full["betas"] = tuple(float(b) for b in betas)
    return full


def create(name: str, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float, **kw: Any) -> Optimizer:
    """Build optimizer ``name`` over ``params`` with learning rate ``lr`` (``osgm``: the step multiplier)."""
    full = _check(name, lr, kw)
    try:
        if name == "sgd":
            return torch.optim.SGD(params, lr=lr, **full)
        if name == "momentum":
            return torch.optim.SGD(params, lr=lr, nesterov=False, **full)
        if name == "nesterov":
            return torch.optim.SGD(params, lr=lr, nesterov=True, dampening=0.0, **full)
        if name == "rmsprop":
            return torch.optim.RMSprop(params, lr=lr, **full)
        if name == "adam":
            return torch.optim.Adam(params, lr=lr, **full)
        if name == "adamw":
            return torch.optim.AdamW(params, lr=lr, **full)
        return OSGM(params, lr=lr, **full)
    except ValueError as err:  # torch's own range checks: keep them one line and name the optimizer
        raise ValueError(f"optimizer {name!r}: {' '.join(str(err).split())}") from None


def validate(name: str, lr: float, **kw: Any) -> None:
    """Raise ``ValueError`` (one line) if ``create(name, params, lr, **kw)`` would reject the settings."""
    create(name, [torch.zeros(1, requires_grad=True)], lr, **kw)
