"""The ``torch.optim`` optimizers the study uses, as specs.

``sgd`` plain SGD (Robbins & Monro 1951); ``momentum`` SGD with heavy-ball momentum (Polyak 1964), torch's
form v ← μv + g, x ← x − ηv; ``nesterov`` (Sutskever et al. 2013); ``rmsprop`` (Tieleman & Hinton 2012);
``adam`` (Kingma & Ba, ICLR 2015); ``adamw`` with decoupled weight decay (Loshchilov & Hutter, ICLR 2019).
"""

from __future__ import annotations

from typing import Any

import torch

from stepsize.optim.spec import OptimizerSpec, Params, check_range


def _momentum_in_unit_interval(where: str, kw: dict[str, Any]) -> None:
    check_range(where, "momentum", kw["momentum"], 0.0, 1.0, low_open=True, high_open=True)


def _sgd(params: Params, lr: float, **kw: Any) -> torch.optim.Optimizer:
    return torch.optim.SGD(params, lr=lr, **kw)


def _momentum(params: Params, lr: float, **kw: Any) -> torch.optim.Optimizer:
    return torch.optim.SGD(params, lr=lr, nesterov=False, **kw)


def _nesterov(params: Params, lr: float, **kw: Any) -> torch.optim.Optimizer:
    return torch.optim.SGD(params, lr=lr, nesterov=True, dampening=0.0, **kw)


def _rmsprop(params: Params, lr: float, **kw: Any) -> torch.optim.Optimizer:
    return torch.optim.RMSprop(params, lr=lr, **kw)


def _adam(params: Params, lr: float, **kw: Any) -> torch.optim.Optimizer:
    return torch.optim.Adam(params, lr=lr, **kw)


def _adamw(params: Params, lr: float, **kw: Any) -> torch.optim.Optimizer:
    return torch.optim.AdamW(params, lr=lr, **kw)


_ADAM = {"betas": (0.9, 0.999), "eps": 1e-8, "amsgrad": False}
SPECS = (
    OptimizerSpec("sgd", "SGD", _sgd, {"weight_decay": 0.0}, "Robbins & Monro 1951"),
    OptimizerSpec("momentum", "SGD with momentum", _momentum,
                  {"momentum": 0.9, "dampening": 0.0, "weight_decay": 0.0}, "Polyak 1964",
                  check=_momentum_in_unit_interval),
    OptimizerSpec("nesterov", "SGD with Nesterov momentum", _nesterov, {"momentum": 0.9, "weight_decay": 0.0},
                  "Sutskever et al., ICML 2013", check=_momentum_in_unit_interval),
    OptimizerSpec("rmsprop", "RMSprop", _rmsprop,
                  {"alpha": 0.99, "eps": 1e-8, "momentum": 0.0, "centered": False, "weight_decay": 0.0},
                  "Tieleman & Hinton 2012"),
    OptimizerSpec("adam", "Adam", _adam, {**_ADAM, "weight_decay": 0.0}, "Kingma & Ba, ICLR 2015",
                  bibkey="kingma2015adam"),
    OptimizerSpec("adamw", "AdamW", _adamw, {**_ADAM, "weight_decay": 0.01}, "Loshchilov & Hutter, ICLR 2019",
                  bibkey="loshchilov2019adamw"),
)
