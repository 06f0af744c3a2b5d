"""SGD-HD and Adam-HD, hypergradient descent on a global step size (Baydin et al., ICLR 2018):
`stepsize.optim.hypergradient` (its docstring has the update). ``lr`` is the initial step α_0; a
schedule multiplies the learned step by its factor."""

from __future__ import annotations

from typing import Any

from stepsize.optim.hypergradient import SGDHD, AdamHD
from stepsize.optim.spec import OptimizerSpec, Params, check_range


def _sgd_hd(params: Params, lr: float, **kw: Any) -> SGDHD:
    return SGDHD(params, lr=lr, **kw)


def _adam_hd(params: Params, lr: float, **kw: Any) -> AdamHD:
    return AdamHD(params, lr=lr, **kw)


def _check(where: str, kw: dict[str, Any]) -> None:
    check_range(where, "hyper_lr", kw["hyper_lr"], 0.0, float("inf"))
    if "momentum" in kw:
        check_range(where, "momentum", kw["momentum"], 0.0, 1.0, high_open=True)


_SOURCE = "Baydin et al., ICLR 2018"
_LR = "initial step of the learned step size"
SPECS = (
    OptimizerSpec("sgd_hd", "SGD-HD", _sgd_hd, {"hyper_lr": 1e-3, "momentum": 0.0, "weight_decay": 0.0},
                  _SOURCE, lr=_LR, check=_check, bibkey="baydin2018hypergradient"),
    OptimizerSpec("adam_hd", "Adam-HD", _adam_hd,
                  {"hyper_lr": 1e-7, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0},
                  _SOURCE, lr=_LR, check=_check, bibkey="baydin2018hypergradient"),
)
