"""D-Adaptation (Defazio & Mishchenko, "Learning-Rate-Free Learning by D-Adaptation", ICML 2023,
arXiv 2301.07733), from the pip package ``dadaptation``: the step is scaled by a lower bound d_k on the
distance to the solution, grown from ⟨Σ λ_i g_i, s⟩/‖s‖; ``lr`` multiplies it (1.0 as recommended; the
knob tuned here). ``dadapt_sgd`` is its SGD-momentum form, ``dadapt_adam`` its Adam form."""

from __future__ import annotations

import math
from typing import Any

from torch.optim import Optimizer

from stepsize.optim.spec import OptimizerSpec, Params, check_range, require


def _check(where: str, kw: dict[str, Any]) -> None:
    check_range(where, "d0", kw["d0"], 0.0, math.inf, low_open=True)
    if "momentum" in kw:
        check_range(where, "momentum", kw["momentum"], 0.0, 1.0, high_open=True)


def _dadapt_sgd(params: Params, lr: float, **kw: Any) -> Optimizer:
    return require("dadaptation", "dadaptation", "dadapt_sgd").DAdaptSGD(params, lr=lr, **kw)


def _dadapt_adam(params: Params, lr: float, **kw: Any) -> Optimizer:
    return require("dadaptation", "dadaptation", "dadapt_adam").DAdaptAdam(params, lr=lr, **kw)


_SOURCE = "Defazio & Mishchenko, ICML 2023; pip dadaptation"
SPECS = (
    OptimizerSpec("dadapt_sgd", "D-Adaptation SGD", _dadapt_sgd,
                  {"momentum": 0.9, "weight_decay": 0.0, "d0": 1e-6}, _SOURCE,
                  lr="multiplier of the estimated step", check=_check, bibkey="defazio2023dadaptation"),
    OptimizerSpec("dadapt_adam", "D-Adaptation Adam", _dadapt_adam,
                  {"betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "decouple": True, "d0": 1e-6},
                  _SOURCE, lr="multiplier of the estimated step", check=_check,
                  bibkey="defazio2023dadaptation"),
)
