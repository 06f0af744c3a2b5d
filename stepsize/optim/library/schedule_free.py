"""Schedule-Free SGD and AdamW (Defazio, Yang, Mehta, Mishchenko, Khaled & Cutkosky, "The Road Less
Scheduled", NeurIPS 2024, arXiv 2405.15682), from the pip package ``schedulefree``
(facebookresearch/schedule_free).

Update (SGD form): y_t = (1 − β) z_t + β x_t, z_{t+1} = z_t − γ ∇f(y_t), x_{t+1} = (1 − c_{t+1}) x_t +
c_{t+1} z_{t+1} with c_{t+1} = γ_t² / Σ_{i≤t} γ_i² (the LR-weighted average; ``weight_lr_power`` 2).
Gradients are taken at y (the training point); the model is evaluated at x. The package's
``optimizer.train()``/``eval()`` move the weights between the two, which the trainer calls wherever the
model switches mode; BatchNorm statistics are recomputed at x before every evaluation and checkpoints
are saved at x (the package README). A warmup of the LR is advised: the profile's schedule gives it
(``constant`` with ``warmup_fraction``), so ``warmup_steps`` of the package stays 0.
"""

from __future__ import annotations

from typing import Any

from torch.optim import Optimizer

from stepsize.optim.spec import OptimizerSpec, Params, check_range, require


def _momentum(where: str, kw: dict[str, Any]) -> None:
    check_range(where, "momentum", kw["momentum"], 0.0, 1.0, low_open=True, high_open=True)


def _in_train_mode(optimizer: Optimizer) -> Optimizer:
    """The package builds its optimizers in eval mode (``step()`` raises until ``train()``); the ones
    `stepsize.optim.create` returns are ready to step (``train()`` on fresh parameters is a no-op on
    their values: y = x = z at the start)."""
    optimizer.train()
    return optimizer


def _sf_sgd(params: Params, lr: float, **kw: Any) -> Optimizer:
    build = require("schedulefree", "schedulefree", "sf_sgd").SGDScheduleFree
    return _in_train_mode(build(params, lr=lr, **kw))


def _sf_adamw(params: Params, lr: float, **kw: Any) -> Optimizer:
    build = require("schedulefree", "schedulefree", "sf_adamw").AdamWScheduleFree
    return _in_train_mode(build(params, lr=lr, **kw))


_SOURCE = "Defazio et al., NeurIPS 2024 (The Road Less Scheduled); pip schedulefree"
SPECS = (
    OptimizerSpec("sf_sgd", "Schedule-Free SGD", _sf_sgd,
                  {"momentum": 0.9, "weight_decay": 0.0, "warmup_steps": 0, "r": 0.0, "weight_lr_power": 2.0},
                  _SOURCE, modes=True, check=_momentum, bibkey="defazio2024road"),
    OptimizerSpec("sf_adamw", "Schedule-Free AdamW", _sf_adamw,
                  {"betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "warmup_steps": 0, "r": 0.0,
                   "weight_lr_power": 2.0},
                  _SOURCE, modes=True, bibkey="defazio2024road"),
)
