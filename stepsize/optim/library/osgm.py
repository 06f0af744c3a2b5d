"""OSGM, the online-scaled gradient method of Gao, Chu, Ye & Udell (COLT 2025; arXiv 2411.01803,
2505.23081, 2509.11007) with HDM-Best's learned heavy ball (Chu et al., ICML 2025), adapted to
minibatches: `stepsize.optim.osgm.OSGM` (its docstring has the update). ``lr`` multiplies the learned
step (1.0 = unscaled), so every LR schedule composes with it."""

from __future__ import annotations

from typing import Any

from stepsize.optim.osgm import OSGM, check_options
from stepsize.optim.spec import OptimizerSpec, Params


def _osgm(params: Params, lr: float, **kw: Any) -> OSGM:
    return OSGM(params, lr=lr, **kw)


SPEC = OptimizerSpec(
    "osgm", "OSGM", _osgm,
    {"scope": "diagonal", "p_init": 0.1, "hyper_lr": 0.01, "p_max": 1.0, "momentum": "learned",
     "beta_init": 0.9, "beta_lr": 0.01, "beta_max": 0.99, "weight_decay": 0.0, "tau": 0.0, "eps": 1e-12},
    "Gao, Chu, Ye & Udell, COLT 2025; Chu et al., ICML 2025 (HDM-Best)", lr="multiplier of the learned step",
    check=check_options, bibkey="gao2025osgm",
)
