"""OSGM: online-scaled gradient method for minibatch deep-learning training (a torch optimizer).

Sources
-------
* Online scaling (OSGM): Gao, Chu, Ye & Udell, "Gradient methods with online scaling", COLT 2025,
  arXiv 2411.01803, and Part I, arXiv 2505.23081: pick the step size ``P`` (scalar or diagonal) with
  an online learner minimising the hypergradient feedback h_x(P) = (f(x − P∘g) − f(x))/‖g‖², whose
  gradient is −∇f(x⁺)∘g/‖g‖² (diagonal) or −⟨∇f(x⁺), g⟩/‖g‖² (scalar).
* HDM-Best / OSGM-Best: Chu, Gao, Ye & Udell, "Provable and practical online learning rate adaptation
  with hypergradient descent", ICML 2025, arXiv 2502.11229, and Part II, arXiv 2509.11007; official
  code udellgroup/osgm-best-hypergrad ``algorithms/hdm.py``: AdaGrad on P (accumulator G += s∘s,
  P ← clip(P − α s/(√G + ε), 0, p_max)) and a heavy-ball coefficient β learned the same way from
  s_β = ⟨∇f(x⁺), x − x⁻⟩/den, clipped to [0, β_max], with den = ‖g‖² + (τ/2)‖x − x⁻‖².
  (The update rules are those of that code; the minibatch adaptation below is this project's.)
* Baydin et al., "Online learning rate adaptation with hypergradient descent", ICLR 2018: the
  hypergradient of the previous step is available from the current gradient, no extra evaluation.

Iteration (this project's minibatch adaptation)
-----------------------------------------------
With the minibatch gradient g_k at x_k (plus ``weight_decay``·x_k, coupled), the step lr_{k−1}·P_{k−1},
β_{k−1} that produced x_k = x_{k−1} − lr_{k−1}·P_{k−1}∘g_{k−1} + β_{k−1}(x_{k−1} − x_{k−2}) gets the feedback

    den   = ‖g_{k−1}‖² + (τ/2)‖x_{k−1} − x_{k−2}‖² + ε       (sums over the whole model, every group)
    s_P   = −g_k ∘ g_{k−1} / den          (diagonal; scalar: −⟨g_k, g_{k−1}⟩ / den over the group)
    s_β   =  ⟨g_k, x_{k−1} − x_{k−2}⟩ / den                    (inner product over the group)

then  G_P += s_P²,  P_k = clip(P_{k−1} − α s_P/(√G_P + ε), 0, p_max)      (AdaGrad, element-wise)
      G_β += s_β²,  β_k = clip(β_{k−1} − α_β s_β/(√G_β + ε), 0, β_max)     (if momentum="learned")
and   x_{k+1} = x_k − lr_k · P_k ∘ g_k + β_k (x_k − x_{k−1}).

What is adapted here, and why:
* Feedback from consecutive minibatch gradients. The deterministic methods evaluate ∇f(x⁺) at a trial
  point and keep it only if f decreased; here g_k is the next minibatch gradient at the point actually
  taken. Its noise is independent of the past, so E[⟨g_k, g_{k−1}⟩ | past] = ⟨∇f(x_k), g_{k−1}⟩, which is
  exactly −d/dQ f(x_{k−1} − Q g_{k−1}) for the full-batch loss f along the step taken: the numerator is
  an unbiased hypergradient estimate, and it includes the curvature-times-noise penalty of a large
  step. (The normaliser uses the noisy ‖g_{k−1}‖²; AdaGrad is insensitive to that scale.)
* No null steps, no lookahead, no L-estimation: they need function values at trial points (an extra
  forward pass per step, and minibatch losses are too noisy to decide descent), so every step is
  taken; ``p_max``, ``beta_max`` and the clipping at 0 are the only safeguards.
* ``lr`` (the param group's learning rate, default 1.0) multiplies the learned step, so any LR
  scheduler (and ``torch.optim.swa_utils.SWALR``) composes with OSGM. The step actually taken is the
  effective step Q_{k−1} = lr_{k−1}·P_{k−1}, and s_P above is the normalised hypergradient with respect
  to Q: ∂h/∂Q = −g_k∘g_{k−1}/den. The hypergradient with respect to P itself carries the factor
  lr_{k−1} (∂h/∂P = lr_{k−1}·s_P); OSGM applies s_P, without that factor, to P. Under a constant lr
  the two give the same AdaGrad trajectory (AdaGrad is invariant to a constant factor on its
  feedback, up to ε); under a schedule every step's feedback counts equally instead of in proportion
  to the LR at which it was measured, so P keeps learning while a schedule holds lr small.
* Normalisation across param groups: den uses the full-model ‖g_{k−1}‖² (and the τ term) summed over
  every param group, as the papers' h_x(P) = (f(x − P∘g) − f(x))/‖g‖² does for the whole x. A param
  group's P and β are blocks of one block-structured step (diagonal: per coordinate; scalar: one value
  per group), and each group's s_P (and s_β, of the heavy-ball feedback) is the exact partial
  derivative of that one feedback with respect to its own block. Splitting the parameters into
  several groups therefore does not change a diagonal OSGM without learned momentum (tested); with
  one group, den is simply the papers' ‖g‖². Each group adds its own ε.
* ``scope="scalar"`` learns one P per param group (HDM with AdaGrad), ``"diagonal"`` one per coordinate;
  β is one scalar per param group in both (as in the official experiments).
* ``momentum``: ``None``/``False``/``0`` → plain scaled gradient; a float → fixed heavy-ball β;
  ``"learned"`` → β learned as in HDM-Best, starting from ``beta_init``.
* τ (``tau``) defaults to 0: HDM-Best sets τ = L²/2 only after estimating L, which needs function values.

State layout
------------
Group-level state (the group's step counter ``step``, the scalar P and its AdaGrad sum
``step_size``/``step_size_sq_sum`` in ``scope="scalar"``, β and ``beta_sq_sum``, and the group's part
``last_sq_norm`` of the next step's den) lives in one fixed holder per group, the state of
``group["params"][0]``, created at the group's first step even if that parameter has no gradient
(:meth:`OSGM.group_state`). Per-parameter state holds the history ``prev_grad``, ``displacement``,
``prev_displacement`` and, in ``scope="diagonal"``, that parameter's ``step_size``/``step_size_sq_sum``.
A parameter without a gradient at a step takes no part in it: it does not move (no momentum step
either) and adds nothing to that step's numerators (its ‖g_{k−1}‖² still counts in den, which was
fixed at step k−1). A parameter that first gets a gradient later, or gets one again after steps
without, joins with zero history (it forgets its previous gradient and momentum, as a
parameter that took no part in the last step has moved by 0), so its first feedback is 0 and the
group's learned values are untouched; a diagonal parameter keeps its own learned P.

Defaults (this project's choice, not the papers'): ``scope="diagonal"``, ``p_init=0.1`` (the usual SGD
step for BN ResNets, so the first steps behave like SGD-momentum at lr 0.1), ``hyper_lr=beta_lr=0.01``
(AdaGrad moves each P_i by at most 0.01 per step), ``p_max=1``, ``momentum="learned"`` from
``beta_init=0.9`` clipped to ``beta_max=0.99``. They were picked on a small ResNet on Fashion-MNIST
(batch 128, a few hundred steps). There, with a fixed β = 0.9, P kept growing (the one-step
hypergradient does not see momentum's effect on later steps) and the final model's test accuracy
collapsed in one run, while the learned β lowered itself (to about 0.7) and the runs stayed usable.
The official code's P_0 = 0 and β_0 = 0.95 are meant for deterministic convex problems with null steps.

All optimizer state is tensors, so ``state_dict()``/``load_state_dict()`` round-trip exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor
from torch.optim import Optimizer

SCOPES = ("scalar", "diagonal")


def _momentum_mode(momentum: Any) -> str | float:
    """Normalise the ``momentum`` option to "none", "learned" or a fixed float in [0, 1)."""
    if momentum is None or momentum is False or (isinstance(momentum, int | float) and momentum == 0):
        return "none"
    if momentum == "learned":
        return "learned"
    if isinstance(momentum, int | float) and not isinstance(momentum, bool) and 0 < momentum < 1:
        return float(momentum)
    raise ValueError(f"osgm: momentum must be None, 'learned' or a float in [0, 1), got {momentum!r}")


_NUMERIC_OPTIONS = (
    "lr",
    "p_init",
    "hyper_lr",
    "p_max",
    "beta_init",
    "beta_lr",
    "beta_max",
    "weight_decay",
    "tau",
    "eps",
)


def _validate_options(group: dict[str, Any]) -> None:
    """Raise a one-line ``ValueError`` naming the first invalid option of a param group."""
    if group["scope"] not in SCOPES:
        raise ValueError(f"osgm: scope must be one of {list(SCOPES)}, got {group['scope']!r}")
    _momentum_mode(group["momentum"])
    for key in _NUMERIC_OPTIONS:
        value = group[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError(f"osgm: {key} must be a finite number, got {value!r}")
    ranges = {
        "lr": group["lr"] >= 0,
        "p_max": group["p_max"] > 0,
        "p_init": 0 <= group["p_init"] <= group["p_max"],
        "hyper_lr": group["hyper_lr"] >= 0,
        "beta_max": 0 <= group["beta_max"] < 1,
        "beta_init": 0 <= group["beta_init"] <= group["beta_max"],
        "beta_lr": group["beta_lr"] >= 0,
        "weight_decay": group["weight_decay"] >= 0,
        "tau": group["tau"] >= 0,
        "eps": group["eps"] > 0,
    }
    for key, ok in ranges.items():
        if not ok:
            raise ValueError(f"osgm: {key} out of range, got {group[key]!r} (see the OSGM docstring)")


def check_options(where: str, kw: dict[str, Any], lr: float = 1.0) -> None:
    """The checks of ``OSGM(params, lr, **kw)`` without building it (config validation); ``where`` is
    unused (the messages name ``osgm``, as the optimizer's own do)."""
    _validate_options({"lr": lr, **kw})


class OSGM(Optimizer):
    """Online-scaled gradient method with a learned (scalar or diagonal) step and optional learned momentum.

    Args:
        params: parameters or param groups.
        lr: multiplier on the learned step (scheduled by LR schedulers; 1.0 = use the learned step).
        scope: "diagonal" (per-coordinate step) or "scalar" (one step per param group).
        p_init: initial step P_0 (all coordinates).
        hyper_lr: AdaGrad step α of the step-size learner.
        p_max: upper clip of P (lower clip is 0).
        momentum: None/False/0, a fixed float β, or "learned".
        beta_init: initial β when ``momentum="learned"``.
        beta_lr: AdaGrad step α_β of the momentum learner.
        beta_max: upper clip of the learned β.
        weight_decay: coupled L2 coefficient added to the gradient.
        tau: weight of the (τ/2)‖x − x⁻‖² term in the feedback denominator.
        eps: AdaGrad/denominator floor.
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float = 1.0,
        *,
        scope: str = "diagonal",
        p_init: float = 0.1,
        hyper_lr: float = 0.01,
        p_max: float = 1.0,
        momentum: Any = "learned",
        beta_init: float = 0.9,
        beta_lr: float = 0.01,
        beta_max: float = 0.99,
        weight_decay: float = 0.0,
        tau: float = 0.0,
        eps: float = 1e-12,
    ) -> None:
        defaults = dict(
            lr=lr, scope=scope, p_init=p_init, hyper_lr=hyper_lr, p_max=p_max, momentum=momentum,
            beta_init=beta_init, beta_lr=beta_lr, beta_max=beta_max, weight_decay=weight_decay,
            tau=tau, eps=eps,
        )  # fmt: skip
        super().__init__(params, defaults)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a param group (options default to the constructor's) and validate its options."""
        super().add_param_group(param_group)
        _validate_options(self.param_groups[-1])

    # ------------------------------------------------------------------------------------- state
    def group_state(self, group: dict[str, Any]) -> dict[str, Tensor]:
        """The group-level state of ``group``: the state of its fixed holder ``group["params"][0]``.

        Created (step 0, P_0 = ``p_init`` in ``scope="scalar"``, β_0 = ``beta_init``) on first use, whether
        or not the holder has a gradient. Keys: ``step`` (updates this group has taken, a float32 CPU
        tensor as in ``torch.optim``), ``beta``, ``beta_sq_sum``, ``last_sq_norm`` (this group's part of the
        next step's feedback denominator) and, in ``scope="scalar"``, ``step_size``/``step_size_sq_sum``.
        """
        holder = group["params"][0]
        state = self.state[holder]
        if "step" not in state:
            options = {"dtype": holder.dtype, "device": holder.device}
            state["step"] = torch.zeros((), dtype=torch.float32)  # on the CPU, as in torch.optim
            if group["scope"] == "scalar":
                state["step_size"] = torch.full((), float(group["p_init"]), **options)
                state["step_size_sq_sum"] = torch.zeros((), **options)
            state["beta"] = torch.full((), float(group["beta_init"]), **options)
            state["beta_sq_sum"] = torch.zeros((), **options)
            state["last_sq_norm"] = torch.zeros((), **options)
        return state

    def _param_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Tensor]:
        """Per-parameter state; missing entries start at zero history (and P_0 = ``p_init``, diagonal)."""
        state = self.state[p]
        if group["scope"] == "diagonal" and "step_size" not in state:
            state["step_size"] = torch.full_like(p, group["p_init"], memory_format=torch.preserve_format)
            state["step_size_sq_sum"] = torch.zeros_like(state["step_size"])
        for key in _HISTORY_KEYS:
            if key not in state:
                state[key] = torch.zeros_like(p, memory_format=torch.preserve_format)
        return state

    def _forget_skipped(self, group: dict[str, Any]) -> None:
        """Drop the history of parameters without a gradient: they take no part in this step."""
        for p in group["params"]:
            if p.grad is None and "prev_grad" in self.state.get(p, {}):
                for key in _HISTORY_KEYS:
                    del self.state[p][key]

    # -------------------------------------------------------------------------------------- step
    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """One OSGM update for every param group (see the module docstring for the formulas)."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        groups = [group for group in self.param_groups if group["params"]]
        previous = _total([self.group_state(group)["last_sq_norm"] for group in groups])
        for group in groups:
            self._group_step(group, previous)
        return loss

    def _group_step(self, group: dict[str, Any], previous_sq_norm: Tensor) -> None:
        """Feedback for the previous step, AdaGrad on P (and β), then the scaled (momentum) update.

        ``previous_sq_norm`` is ‖g_{k−1}‖² (+ the τ term) of the whole model, summed over every group.
        Uses ``torch._foreach_*`` list ops, as ``torch.optim`` does, to keep the per-step launch count low.
        """
        shared = self.group_state(group)
        self._forget_skipped(group)
        params = [p for p in group["params"] if p.grad is not None]
        if not params:
            shared["last_sq_norm"].zero_()  # this group did not move: no part in the next feedback
            return
        mode = _momentum_mode(group["momentum"])
        states = [self._param_state(p, group) for p in params]
        buffers = {key: [st[key] for st in states] for key in _HISTORY_KEYS}
        if group["scope"] == "diagonal":
            buffers["step_size"] = [st["step_size"] for st in states]
            buffers["step_size_sq_sum"] = [st["step_size_sq_sum"] for st in states]
        grads = [p.grad for p in params]
        if group["weight_decay"]:
            grads = torch._foreach_add(grads, params, alpha=group["weight_decay"])
        if shared["step"].item() > 0:
            den = previous_sq_norm.to(shared["last_sq_norm"].device) + group["eps"]
            self._learn(group, shared, buffers, grads, den, mode)
        self._move(group, shared, params, buffers, grads, mode)
        part = _sum_of_squares(grads)  # ‖g_k‖² of this group, for the next step's den
        if group["tau"] and mode != "none":  # (τ/2)‖x_k − x_{k−1}‖², the displacement β_k multiplied
            part = part + 0.5 * group["tau"] * _sum_of_squares(buffers["prev_displacement"])
        shared["last_sq_norm"].copy_(part)
        shared["step"] += 1

    def _learn(
        self,
        group: dict[str, Any],
        shared: dict[str, Tensor],
        buffers: dict[str, list[Tensor]],
        grads: list[Tensor],
        den: Tensor,
        mode: str | float,
    ) -> None:
        """AdaGrad on P with s_P = −g_k∘g_{k−1}/den (scalar: summed over the group) and, if learned, on β
        with s_β = ⟨g_k, x_{k−1} − x_{k−2}⟩/den."""
        products = torch._foreach_mul(grads, buffers["prev_grad"])  # g_k ∘ g_{k−1}
        if group["scope"] == "diagonal":
            feedback = torch._foreach_div(products, -den)
            self._adagrad_step(buffers["step_size"], buffers["step_size_sq_sum"], feedback, group, "p")
        else:
            feedback = [-_sum(products) / den]
            self._adagrad_step([shared["step_size"]], [shared["step_size_sq_sum"]], feedback, group, "p")
        if mode == "learned":
            s_beta = _sum(torch._foreach_mul(grads, buffers["prev_displacement"])) / den
            self._adagrad_step([shared["beta"]], [shared["beta_sq_sum"]], [s_beta], group, "beta")

    @staticmethod
    def _move(
        group: dict[str, Any],
        shared: dict[str, Tensor],
        params: list[Tensor],
        buffers: dict[str, list[Tensor]],
        grads: list[Tensor],
        mode: str | float,
    ) -> None:
        """x_{k+1} = x_k − lr·P_k∘g_k + β_k(x_k − x_{k−1}); then shift the history buffers."""
        if group["scope"] == "diagonal":
            update = torch._foreach_mul(grads, buffers["step_size"])
        else:
            update = torch._foreach_mul(grads, shared["step_size"])
        torch._foreach_mul_(update, -group["lr"])
        if mode == "learned":
            torch._foreach_add_(update, torch._foreach_mul(buffers["displacement"], shared["beta"]))
        elif mode != "none":
            torch._foreach_add_(update, buffers["displacement"], alpha=float(mode))
        torch._foreach_add_(params, update)
        torch._foreach_copy_(buffers["prev_displacement"], buffers["displacement"])
        torch._foreach_copy_(buffers["displacement"], update)
        torch._foreach_copy_(buffers["prev_grad"], grads)

    @staticmethod
    def _adagrad_step(
        values: list[Tensor], sq_sums: list[Tensor], feedback: list[Tensor], group: dict[str, Any], which: str
    ) -> None:
        """Projected AdaGrad: G += s², v ← clip(v − α s/(√G + ε), 0, v_max) for P (``which="p"``) or β."""
        alpha, upper = (
            (group["hyper_lr"], group["p_max"]) if which == "p" else (group["beta_lr"], group["beta_max"])
        )
        torch._foreach_addcmul_(sq_sums, feedback, feedback)
        root = torch._foreach_sqrt(sq_sums)
        torch._foreach_add_(root, group["eps"])
        torch._foreach_addcdiv_(values, feedback, root, value=-alpha)
        torch._foreach_clamp_min_(values, 0.0)
        torch._foreach_clamp_max_(values, upper)


_HISTORY_KEYS = ("prev_grad", "displacement", "prev_displacement")


def _sum(tensors: list[Tensor]) -> Tensor:
    """Σ over all elements of all tensors (a 0-dim tensor; no host sync)."""
    return torch.stack([t.sum() for t in tensors]).sum()


def _sum_of_squares(tensors: list[Tensor]) -> Tensor:
    """Σ ‖t‖² over the list."""
    return torch.stack(torch._foreach_norm(tensors)).square().sum()


def _total(values: list[Tensor]) -> Tensor:
    """Σ of 0-dim tensors (the groups' parts of den), on the device of the first one."""
    if len(values) == 1:
        return values[0]
    return torch.stack([v.to(values[0].device) for v in values]).sum()
