"""``stepsize.optim``: one spec per optimizer; the library classes underneath, settings passed through, bad
input rejected with one line, no fallback for an unknown name."""

from __future__ import annotations

import pytest
import torch

from stepsize import optim


def _params() -> list[torch.nn.Parameter]:
    return [torch.nn.Parameter(torch.tensor([2.0, -1.0]))]


@pytest.mark.parametrize(
    ("name", "cls", "expected"),
    [
        ("sgd", torch.optim.SGD, {"momentum": 0, "nesterov": False}),
        ("momentum", torch.optim.SGD, {"momentum": 0.9, "nesterov": False}),
        ("nesterov", torch.optim.SGD, {"momentum": 0.9, "nesterov": True}),
        ("rmsprop", torch.optim.RMSprop, {"alpha": 0.99}),
        ("adam", torch.optim.Adam, {"betas": (0.9, 0.999)}),
        ("adamw", torch.optim.AdamW, {"weight_decay": 0.01}),
        ("osgm", optim.OSGM, {"scope": "diagonal", "momentum": "learned"}),
        ("sf_sgd", "SGDScheduleFree", {"momentum": 0.9, "warmup_steps": 0}),
        ("sf_adamw", "AdamWScheduleFree", {"betas": (0.9, 0.999)}),
        ("prodigy", "Prodigy", {"d_coef": 1.0, "d0": 1e-6}),
        ("dadapt_sgd", "DAdaptSGD", {"momentum": 0.9}),
        ("dadapt_adam", "DAdaptAdam", {"decouple": True}),
        ("dog", "DoG", {"reps_rel": 1e-4}),
    ],
)
def test_create_builds_the_torch_optimizer_with_defaults(name: str, cls: type, expected: dict) -> None:
    opt = optim.create(name, _params(), lr=0.05)
    assert type(opt) is cls if isinstance(cls, type) else type(opt).__name__ == cls
    group = opt.param_groups[0]
    assert group["lr"] == 0.05
    for key, value in expected.items():
        assert group[key] == value, key


@pytest.mark.parametrize("name", optim.NAMES)
def test_weight_decay_and_overrides_reach_the_param_group(name: str) -> None:
    opt = optim.create(name, _params(), lr=0.01, weight_decay=1e-3)
    assert opt.param_groups[0]["weight_decay"] == 1e-3
    assert set(optim.DEFAULTS) == set(optim.NAMES)


@pytest.mark.parametrize("name", optim.NAMES)
def test_every_optimizer_decreases_a_quadratic(name: str) -> None:
    """A learning rate of 0.05, or 1.0 where ``lr`` multiplies a learned or estimated step; 100 steps
    (the learning-rate-free methods first grow their distance estimate from d0 = 1e-6)."""
    x = torch.nn.Parameter(torch.tensor([2.0, -1.0, 0.5]))
    lr = 0.05 if optim.SPECS[name].lr == "learning rate" else 1.0
    opt = optim.create(name, [x], lr=lr)
    if optim.has_modes(opt):
        opt.train()
    start = x.detach().square().sum().item()
    for _ in range(100):
        opt.zero_grad()
        x.square().sum().backward()
        opt.step()
    assert x.detach().square().sum().item() < 0.01 * start


@pytest.mark.parametrize("name", optim.NAMES)
def test_specs_are_complete_and_declare_their_modes(name: str) -> None:
    spec = optim.SPECS[name]
    assert spec.name == name and spec.label and spec.source and spec.build.__module__.startswith("stepsize.")
    assert optim.has_modes(optim.create(name, _params(), lr=0.01)) == spec.modes


def test_an_unknown_or_unbuilt_name_never_falls_through() -> None:
    for call in (lambda: optim.create("signsgd", _params(), 0.1), lambda: optim.validate("signsgd", 0.1),
                 lambda: optim.spec("signsgd")):
        with pytest.raises(ValueError, match=r"^unknown optimizer 'signsgd'; valid names: "):
            call()


def test_the_evaluation_point_restores_the_training_point_exactly() -> None:
    """Schedule-Free: evaluating at x and coming back leaves y bit for bit (the package's own
    eval()/train() round trip does not)."""
    x = torch.nn.Parameter(torch.tensor([2.0, -1.0, 0.5]))
    opt = optim.create("sf_sgd", [x], lr=0.3)
    opt.train()
    for _ in range(5):
        opt.zero_grad()
        x.square().sum().backward()
        opt.step()
    y = x.detach().clone()
    with optim.evaluation_point(opt) as saved:
        assert saved is not None and not torch.equal(x.detach(), y)  # x differs from y
    assert torch.equal(x.detach(), y) and opt.param_groups[0]["train_mode"]


@pytest.mark.parametrize("name", [n for n in optim.NAMES if optim.SPECS[n].modes])
def test_schedule_free_optimizers_are_created_ready_to_step(name: str) -> None:
    """The package builds them in eval mode, where ``step()`` raises "Optimizer was not in train mode"."""
    x = torch.nn.Parameter(torch.tensor([2.0, -1.0, 0.5]))
    opt = optim.create(name, [x], lr=4.0 if name == "sf_sgd" else 0.05)
    assert opt.param_groups[0]["train_mode"] and torch.equal(x.detach(), torch.tensor([2.0, -1.0, 0.5]))
    x.square().sum().backward()
    opt.step()
    assert not torch.equal(x.detach(), torch.tensor([2.0, -1.0, 0.5]))


def test_overrides_are_used() -> None:
    opt = optim.create("momentum", _params(), lr=0.1, momentum=0.5)
    assert opt.param_groups[0]["momentum"] == 0.5
    opt = optim.create("adam", _params(), lr=0.1, betas=[0.8, 0.99])  # YAML gives lists
    assert opt.param_groups[0]["betas"] == (0.8, 0.99)
    opt = optim.create("osgm", _params(), lr=1.0, scope="scalar", momentum=None)
    assert opt.param_groups[0]["scope"] == "scalar" and opt.param_groups[0]["momentum"] is None


@pytest.mark.parametrize(
    ("name", "lr", "kw", "needle"),
    [
        ("sgdd", 0.1, {}, "unknown optimizer 'sgdd'; valid names: "),
        ("adam", 0.1, {"momentum": 0.9}, "unknown parameter 'momentum'; valid parameters"),
        ("sgd", -0.1, {}, "lr"),
        ("momentum", 0.1, {"momentum": 1.5}, "momentum"),
        ("adamw", 0.1, {"weight_decay": -1.0}, "weight_decay"),
        ("adam", 0.1, {"betas": [0.9]}, "betas"),
        ("rmsprop", 0.1, {"eps": -1.0}, "eps must be in (0, inf]"),
        ("rmsprop", 0.1, {"alpha": -1.0}, "alpha"),  # torch's own check, kept on one line
        ("prodigy", 1.0, {"d_coef": 0.0}, "d_coef must be in (0, inf]"),
        ("dog", 1.0, {"reps_rel": -1e-4}, "reps_rel"),
        ("sf_sgd", 1.0, {"momentum": 1.0}, "momentum must be in (0, 1)"),
        ("osgm", 1.0, {"scope": "matrix"}, "scope"),
    ],
)
def test_bad_input_gives_one_line_error(name: str, lr: float, kw: dict, needle: str) -> None:
    calls = [lambda: optim.create(name, _params(), lr, **kw)]
    if needle != "alpha":  # torch's own checks run only when the optimizer is built
        calls.append(lambda: optim.validate(name, lr, **kw))
    for call in calls:
        with pytest.raises(ValueError) as info:
            call()
        assert needle in str(info.value) and "\n" not in str(info.value), str(info.value)


@pytest.mark.parametrize(("name", "twin", "kw"), [
    ("sgd_hd", torch.optim.SGD, {}),
    ("sgd_hd", torch.optim.SGD, {"momentum": 0.9, "weight_decay": 1e-2}),
    ("adam_hd", torch.optim.Adam, {"weight_decay": 1e-2}),
])
def test_hypergradient_methods_without_hypergradient_are_their_torch_twins(name, twin, kw) -> None:
    """β = 0 leaves α at α_0: SGD-HD / Adam-HD are then exactly torch's SGD / Adam (their reference)."""
    torch.manual_seed(0)
    a = torch.nn.Parameter(torch.randn(5))
    b = torch.nn.Parameter(a.detach().clone())
    ours = optim.create(name, [a], lr=0.01, hyper_lr=0.0, **kw)
    ref = twin([b], lr=0.01, **kw)
    target = torch.randn(5)
    for _ in range(20):
        for p, opt in ((a, ours), (b, ref)):
            opt.zero_grad()
            (((p - target) ** 2).sum() + 0.1 * (p ** 4).sum()).backward()
            opt.step()
    assert torch.allclose(a, b, atol=1e-6, rtol=1e-5)


def test_hypergradient_grows_a_too_small_step_and_shrinks_a_too_large_one() -> None:
    """On f(x) = ½‖x‖², consecutive gradients agree when α < 1 (α grows by β⟨g_t, g_{t−1}⟩ > 0) and
    alternate in sign when α > 1 (α shrinks): the hypergradient moves α toward the optimal step 1."""
    for start, grows in ((0.1, True), (1.5, False)):
        x = torch.nn.Parameter(torch.tensor([3.0, -2.0, 1.0]))
        opt = optim.create("sgd_hd", [x], lr=start, hyper_lr=0.01)
        for _ in range(3):
            opt.zero_grad()
            (0.5 * x.square().sum()).backward()
            opt.step()
        alpha = opt.param_groups[0]["alpha"]
        assert (alpha > start) if grows else (alpha < start)


def test_a_schedule_scales_the_learned_step() -> None:
    """A schedule's factor lr/α_0 multiplies the learned α (α itself is not reset by the scheduler)."""
    x = torch.nn.Parameter(torch.tensor([1.0]))
    opt = optim.create("sgd_hd", [x], lr=0.1, hyper_lr=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 0.5)
    before = x.detach().clone()
    opt.zero_grad()
    x.square().sum().backward()
    opt.step()
    assert sched.get_last_lr() == [0.05]
    assert torch.allclose(before - x.detach(), torch.tensor([0.5 * 0.1 * 2.0]))
