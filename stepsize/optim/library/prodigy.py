"""Prodigy (Mishchenko & Defazio, "Prodigy: An Expeditiously Adaptive Parameter-Free Learner", ICML 2024,
arXiv 2306.06101), from the pip package ``prodigyopt``: Adam whose step is scaled by an online estimate
d_t of the distance to the solution, d_{t+1} = max(d_t, d̂_{t+1}) with d̂ from the weighted sum of
⟨g_i, x_0 − x_i⟩; ``lr`` multiplies it (1.0 as recommended) and ``d_coef`` scales the estimate (the
knob its README suggests tuning). The README pairs it with cosine annealing."""

from __future__ import annotations

import math
from typing import Any

from torch.optim import Optimizer

from stepsize.optim.spec import OptimizerSpec, Params, check_range, require


def _check(where: str, kw: dict[str, Any]) -> None:
    check_range(where, "d_coef", kw["d_coef"], 0.0, math.inf, low_open=True)
    check_range(where, "d0", kw["d0"], 0.0, math.inf, low_open=True)


def _prodigy(params: Params, lr: float, **kw: Any) -> Optimizer:
    return require("prodigyopt", "prodigyopt", "prodigy").Prodigy(params, lr=lr, **kw)


SPEC = OptimizerSpec(
    "prodigy", "Prodigy", _prodigy,
    {"betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "decouple": True, "use_bias_correction": False,
     "safeguard_warmup": False, "d0": 1e-6, "d_coef": 1.0},
    "Mishchenko & Defazio, ICML 2024; pip prodigyopt", lr="multiplier of the estimated step",
    check=_check, bibkey="mishchenko2024prodigy",
)
