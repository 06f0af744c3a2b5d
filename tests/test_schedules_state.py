"""Resuming a schedule mid-budget gives the same later LRs; its state holds only plain values."""

from __future__ import annotations

import io
import re
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


def _state_after(steps: int, name: str, total: int = TOTAL, **params: Any) -> dict[str, Any]:
    _, opt = _model_and_optimizer()
    sched = S.create(name, opt, total, **params)
    for _ in range(steps):
        opt.step()
        sched.step()
    return sched.state_dict()


@pytest.mark.parametrize(("built", "message"), [
    (("uba", 2 * TOTAL, {"phi": 8.0}), f"total_steps: saved {TOTAL}, this scheduler {2 * TOTAL} "
                                        "(load_state_dict(state, allow_new_total_steps=True)"),
    (("uba", TOTAL, {"phi": 2.0}), "params.phi: saved 8.0, this scheduler 2.0"),
    (("uba", TOTAL, {"phi": 8.0, "min_ratio": 0.1}), "params.min_ratio: saved 0.0, this scheduler 0.1"),
    (("cosine", TOTAL, {}), "name: saved 'uba', this scheduler 'cosine'; params.phi: saved 8.0, this "
                            "scheduler '<unset>'"),
])
def test_a_state_of_another_schedule_parameters_or_budget_is_refused(built, message) -> None:
    """It used to be adopted silently: a 600-step scheduler became the 300-step one it loaded."""
    name, total, params = built
    _, opt = _model_and_optimizer()
    target = S.create(name, opt, total, **params)
    before = target.state_dict()
    with pytest.raises(ValueError, match=re.escape(message)) as err:
        target.load_state_dict(_state_after(10, "uba", phi=8.0))
    assert str(err.value).startswith("scheduler state of another schedule: ") and "\n" not in str(err.value)
    assert target.state_dict() == before, "a refused state changes nothing"


def test_an_empty_or_foreign_state_is_refused() -> None:
    _, opt = _model_and_optimizer()
    sched = S.create("cosine", opt, TOTAL)
    with pytest.raises(ValueError, match=r"^scheduler state: not a state of a budget schedule "
                                         r"\(missing name, total_steps, params, last_epoch, base_lrs\)$"):
        sched.load_state_dict({})
    with pytest.raises(ValueError, match=r"\(missing name, total_steps, params\)$"):
        sched.load_state_dict(torch.optim.lr_scheduler.StepLR(opt, 3).state_dict())


def test_the_budget_changes_on_resume_only_when_asked() -> None:
    saved = _state_after(10, "uba", phi=0.5)
    _, opt = _model_and_optimizer()
    longer = S.create("uba", opt, 2 * TOTAL, phi=0.5)
    longer.load_state_dict(saved, allow_new_total_steps=True)
    assert longer.total_steps == 2 * TOTAL and longer.last_epoch == 10
    longer.step()
    expected = S.multiplier("uba", 11, 2 * TOTAL, phi=0.5)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.2 * float(expected))
    _, opt2 = _model_and_optimizer()
    same = S.create("uba", opt2, TOTAL, phi=0.5)
    same.load_state_dict(saved)  # same schedule, parameters and budget: accepted
    assert same.last_epoch == 10


def test_stepping_past_the_budget_warns_once() -> None:
    import warnings

    _, opt = _model_and_optimizer()
    sched = S.create("cosine", opt, 5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(5):  # the budget's 5 updates: the last step prepares an update that never comes
            opt.step()
            sched.step()
    with pytest.warns(UserWarning, match=r"schedule 'cosine' stepped past its budget of 5 updates") as seen:
        for _ in range(4):
            opt.step()
            sched.step()
    assert len([w for w in seen if "past its budget" in str(w.message)]) == 1


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
