"""DoG, "Distance over Gradients" (Ivgi, Hinder & Carmon, "DoG is SGD's Best Friend: A Parameter-Free
Dynamic Step Size Schedule", ICML 2023, arXiv 2302.12022), from the pip package ``dog-optimizer``:
η_t = max_{i≤t} ‖x_i − x_0‖ / √(Σ_{i≤t} ‖g_i‖²), with the first distance r_ε = ``reps_rel`` · (1 + ‖x_0‖)
(1e-4 suggested for networks with batch normalisation; the knob tuned here). ``lr`` multiplies η_t
(1.0 as recommended). The package pairs it with polynomial-decay averaging (Shamir & Zhang 2013,
γ = 8), the ``poly`` averaging variant of `stepsize.averaging`, which its authors call crucial without
a step-size decay."""

from __future__ import annotations

import math
from typing import Any

from torch.optim import Optimizer

from stepsize.optim.spec import OptimizerSpec, Params, check_range, require


def _check(where: str, kw: dict[str, Any]) -> None:
    check_range(where, "reps_rel", kw["reps_rel"], 0.0, math.inf, low_open=True)


def _dog(params: Params, lr: float, **kw: Any) -> Optimizer:
    return require("dog", "dog-optimizer", "dog").DoG(params, lr=lr, **kw)


SPEC = OptimizerSpec(
    "dog", "DoG", _dog, {"reps_rel": 1e-4, "weight_decay": 0.0, "eps": 1e-8},
    "Ivgi, Hinder & Carmon, ICML 2023; pip dog-optimizer", lr="multiplier of the DoG step", check=_check,
    bibkey="ivgi2023dog",
)
