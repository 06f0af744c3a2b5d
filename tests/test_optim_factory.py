"""``stepsize.optim.create``: torch optimizers underneath, settings passed through, bad input rejected."""

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
    ],
)
def test_create_builds_the_torch_optimizer_with_defaults(name: str, cls: type, expected: dict) -> None:
    opt = optim.create(name, _params(), lr=0.05)
    assert type(opt) is cls
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
    x = torch.nn.Parameter(torch.tensor([2.0, -1.0, 0.5]))
    lr = 1.0 if name == "osgm" else 0.05
    opt = optim.create(name, [x], lr=lr)
    start = x.detach().square().sum().item()
    for _ in range(20):
        opt.zero_grad()
        x.square().sum().backward()
        opt.step()
    assert x.detach().square().sum().item() < 0.5 * start


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
        ("sgdd", 0.1, {}, "valid names: sgd, momentum, nesterov, rmsprop, adam, adamw, osgm"),
        ("adam", 0.1, {"momentum": 0.9}, "unknown parameter 'momentum'; valid parameters"),
        ("sgd", -0.1, {}, "lr"),
        ("momentum", 0.1, {"momentum": 1.5}, "momentum"),
        ("adamw", 0.1, {"weight_decay": -1.0}, "weight_decay"),
        ("adam", 0.1, {"betas": [0.9]}, "betas"),
        ("rmsprop", 0.1, {"eps": -1.0}, "epsilon"),  # torch's own check, kept on one line
        ("osgm", 1.0, {"scope": "matrix"}, "scope"),
    ],
)
def test_bad_input_gives_one_line_error(name: str, lr: float, kw: dict, needle: str) -> None:
    for call in (lambda: optim.create(name, _params(), lr, **kw), lambda: optim.validate(name, lr, **kw)):
        with pytest.raises(ValueError) as info:
            call()
        assert needle in str(info.value) and "\n" not in str(info.value), str(info.value)
