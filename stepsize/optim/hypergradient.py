"""Hypergradient descent: SGD-HD and Adam-HD (Baydin, Cornish, Martínez Rubio, Schmidt & Wood, "Online
learning rate adaptation with hypergradient descent", ICLR 2018, arXiv 1703.04782; authors' code
gbaydin/hypergradient-descent, ``sgd_hd.py`` and ``adam_hd.py``).

The deep-learning ancestor of OSGM: one global step size α per param group, learned by gradient descent
on the loss *through the previous update*. The update θ_t = θ_{t−1} − α u_{t−1} (u: the direction that
step took) gives ∂f(θ_t)/∂α = −⟨∇f(θ_t), u_{t−1}⟩, available from the current gradient at no extra cost,
so before each step

    α_t = α_{t−1} + β ⟨g_t, u_{t−1}⟩        (β: ``hyper_lr``; the inner product over the whole group)

then the base method steps with α_t:

* ``sgd_hd`` — SGD, or SGD with heavy-ball momentum (``momentum`` μ > 0: v ← μv + g, u = v; Baydin et
  al.'s SGDN-HD uses Nesterov's form, torch's heavy ball is used here so that μ means what it means for
  the study's ``momentum`` optimizer); u = g without momentum.
* ``adam_hd`` — Adam with bias-corrected moments: u = m̂/(√v̂ + ε).

Gradients include coupled weight decay (g ← ∇f + λθ), as in the authors' code. With ``hyper_lr = 0``
both are exactly torch's SGD / Adam (tested), their plain reference twins.

Composition with schedules (this project's convention, as for OSGM): the param group's ``lr`` at
construction is α_0, the learned α starts there, and a schedule's later change of ``lr`` multiplies the
learned step by ``lr / α_0``; the hypergradient of the step actually taken carries that factor
(−factor·⟨g_t, u_{t−1}⟩). Under the constant schedule the study uses for them, this is the paper's
method exactly. No clipping of α: the paper has none (a run whose α turns negative ascends, and the
trainer's divergence check stops it).

Defaults: β = 0.001 for SGD-HD and 1e-7 for Adam-HD, the values of the paper's experiments (§4).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor
from torch.optim import Optimizer

BASE_LR = "hd_initial_lr"  # the group's lr at construction: α_0, and the reference of a schedule's factor


class _Hypergradient(Optimizer):
    """The shared part: the learned α per group (group state ``alpha``) and its hypergradient update."""

    def __init__(self, params: Any, defaults: dict[str, Any]) -> None:
        for key in ("lr", "hyper_lr", "weight_decay"):
            value = defaults[key]
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{key} must be a finite number >= 0, got {value!r}")
        super().__init__(params, defaults)
        for group in self.param_groups:
            group.setdefault(BASE_LR, group["lr"])
            group.setdefault("alpha", group["lr"])

    def _direction(self, p: Tensor, grad: Tensor, group: dict[str, Any]) -> Tensor:
        raise NotImplementedError

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:  # type: ignore[override]
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            factor = group["lr"] / group[BASE_LR] if group[BASE_LR] > 0 else 0.0
            grads, hyper = [], torch.zeros(())
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad if group["weight_decay"] == 0 else p.grad.add(p, alpha=group["weight_decay"])
                previous = self.state[p].get("direction")
                if previous is not None:
                    hyper = hyper + torch.sum(grad * previous)
                grads.append((p, grad))
            # α_t = α_{t−1} − β ∂f/∂α, with ∂f/∂α = −factor_{t−1}·⟨g_t, u_{t−1}⟩ (module docstring)
            last = group.get("last_factor", factor)
            group["alpha"] = group["alpha"] + group["hyper_lr"] * last * float(hyper)
            group["last_factor"] = factor
            for p, grad in grads:
                direction = self._direction(p, grad, group)
                p.add_(direction, alpha=-group["alpha"] * factor)
                self.state[p]["direction"] = direction
        return loss


class SGDHD(_Hypergradient):
    """SGD-HD (with heavy-ball momentum when ``momentum`` > 0); module docstring."""

    def __init__(self, params: Any, lr: float = 0.1, hyper_lr: float = 1e-3, momentum: float = 0.0,
                 weight_decay: float = 0.0) -> None:
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        super().__init__(params, {"lr": lr, "hyper_lr": hyper_lr, "momentum": momentum,
                                  "weight_decay": weight_decay})

    def _direction(self, p: Tensor, grad: Tensor, group: dict[str, Any]) -> Tensor:
        if group["momentum"] == 0:
            return grad.clone()
        state = self.state[p]
        if "momentum_buffer" not in state:
            state["momentum_buffer"] = grad.clone()
        else:
            state["momentum_buffer"].mul_(group["momentum"]).add_(grad)
        return state["momentum_buffer"].clone()


class AdamHD(_Hypergradient):
    """Adam-HD; module docstring."""

    def __init__(self, params: Any, lr: float = 1e-3, hyper_lr: float = 1e-7,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, {"lr": lr, "hyper_lr": hyper_lr, "betas": tuple(betas), "eps": eps,
                                  "weight_decay": weight_decay})

    def _direction(self, p: Tensor, grad: Tensor, group: dict[str, Any]) -> Tensor:
        beta1, beta2 = group["betas"]
        state = self.state[p]
        if "exp_avg" not in state:
            state["step"] = 0
            state["exp_avg"] = torch.zeros_like(p)
            state["exp_avg_sq"] = torch.zeros_like(p)
        state["step"] += 1
        state["exp_avg"].mul_(beta1).add_(grad, alpha=1 - beta1)
        state["exp_avg_sq"].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        m_hat = state["exp_avg"] / (1 - beta1 ** state["step"])
        v_hat = state["exp_avg_sq"] / (1 - beta2 ** state["step"])
        return m_hat / (v_hat.sqrt() + group["eps"])
