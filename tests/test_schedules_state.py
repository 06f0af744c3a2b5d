"""Resuming a schedule mid-budget gives the same later LRs; its state holds only plain values."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
import torch

from stepsize import schedules as S

TOTAL = 30
CUTS = (0, 1, 13, 29, 30)
PARAMS: dict[str, dict[str, Any]] = {
    "uba": {"phi": 0.5, "min_ratio": 0.05},
    "multistep": {"milestones": [0.2, 0.7]},
}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _model_and_optimizer() -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 1))
    opt = torch.optim.SGD(
        [{"params": model[0].parameters(), "lr": 0.2}, {"params": model[1].parameters(), "lr": 0.05}],
        lr=0.1,
        momentum=0.9,
    )
    return model, opt


def _train_step(model: torch.nn.Module, opt: torch.optim.Optimizer, t: int) -> None:
    g = torch.Generator().manual_seed(t)
    x = torch.randn(8, 3, generator=g)
    opt.zero_grad()
    model(x).pow(2).mean().backward()
    opt.step()


def _is_plain(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_plain(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(_is_plain(v) for v in value)
    return value is None or isinstance(value, bool | int | float | str)


def _run(model: torch.nn.Module, opt: torch.optim.Optimizer, sched: Any, steps: range,
         read: Callable[[torch.optim.Optimizer], Any]) -> list[Any]:
    """``read(opt)`` before each update of ``steps`` (an update, then a scheduler step)."""
    seen = []
    for t in steps:
        seen.append(read(opt))
        _train_step(model, opt, t)
        sched.step()
    return seen


def _saved_after(cut: int, build: Callable[[], tuple], name: str, **params: Any) -> dict[str, Any]:
    """The optimizer and scheduler states after ``cut`` updates, through torch.save and torch.load
    with ``weights_only=True`` (plain containers only)."""
    model, opt = build()
    sched = S.create(name, opt, TOTAL, **params)
    _run(model, opt, sched, range(cut), lambda o: None)
    buffer = io.BytesIO()
    torch.save({"opt": opt.state_dict(), "sched": sched.state_dict()}, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def _lrs(opt: torch.optim.Optimizer) -> list[float]:
    return [g["lr"] for g in opt.param_groups]


@pytest.mark.parametrize("name", S.NAMES)
@pytest.mark.parametrize("warmup", [0, 6])
def test_resume_mid_budget_gives_identical_later_lrs(name: str, warmup: int) -> None:
    params = {**PARAMS.get(name, {}), "warmup_steps": warmup}
    model, opt = _model_and_optimizer()
    reference = _run(model, opt, S.create(name, opt, TOTAL, **params), range(TOTAL), _lrs)
    for cut in CUTS:
        saved = _saved_after(cut, _model_and_optimizer, name, **params)
        model2, opt2 = _model_and_optimizer()
        sched2 = S.create(name, opt2, TOTAL, **params)
        opt2.load_state_dict(saved["opt"])
        sched2.load_state_dict(saved["sched"])
        resumed = _run(model2, opt2, sched2, range(cut, TOTAL), _lrs)
        assert resumed == reference[cut:], f"{name}: LRs differ after resuming at step {cut}"


@pytest.mark.parametrize("name", S.NAMES)
def test_state_dict_holds_only_plain_values(name: str) -> None:
    _, opt = _model_and_optimizer()
    sched = S.create(name, opt, TOTAL, **PARAMS.get(name, {}))
    state = sched.state_dict()
    assert _is_plain(state), {k: type(v) for k, v in state.items()}
    assert state["total_steps"] == TOTAL
    assert state["params"] == S.resolve(name, TOTAL, **PARAMS.get(name, {}))


def test_loaded_state_rebuilds_the_table_from_its_own_parameters() -> None:
    _, opt = _model_and_optimizer()
    source = S.create("uba", opt, TOTAL, phi=8.0)
    for _ in range(10):
        opt.step()
        source.step()
    _, opt2 = _model_and_optimizer()
    target = S.create("uba", opt2, TOTAL, phi=0.5)
    target.load_state_dict(source.state_dict())
    for _ in range(5):
        opt.step()
        opt2.step()
        source.step()
        target.step()
        assert source.get_last_lr() == target.get_last_lr()


@pytest.mark.parametrize("adam", [False, True])
def test_onecycle_momentum_survives_a_saved_and_loaded_resume(adam: bool) -> None:
    """OneCycle's cycled momentum (β₁ for Adam) continues exactly after torch.save/torch.load."""

    def build() -> tuple[torch.nn.Module, torch.optim.Optimizer]:
        torch.manual_seed(0)
        model = torch.nn.Linear(3, 1)
        opt = (
            torch.optim.Adam(model.parameters(), lr=0.01)
            if adam
            else torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        )
        return model, opt

    def momentum(opt: torch.optim.Optimizer) -> float:
        group = opt.param_groups[0]
        return group["betas"][0] if adam else group["momentum"]

    def read(opt: torch.optim.Optimizer) -> tuple[float, float]:
        return opt.param_groups[0]["lr"], momentum(opt)

    model, opt = build()
    reference = _run(model, opt, S.create("onecycle", opt, TOTAL), range(TOTAL), read)
    for cut in CUTS:
        saved = _saved_after(cut, build, "onecycle")
        model2, opt2 = build()
        sched2 = S.create("onecycle", opt2, TOTAL)
        opt2.load_state_dict(saved["opt"])
        sched2.load_state_dict(saved["sched"])
        assert sched2.momentum_keys == ["betas" if adam else "momentum"]
        resumed = _run(model2, opt2, sched2, range(cut, TOTAL), read)
        assert resumed == reference[cut:], f"resume at {cut}"
