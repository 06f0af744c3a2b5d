"""`stepsize.averaging`: averaging windows, equal-weight and EMA averages, BN recomputation."""

from contextlib import nullcontext

import pytest
import torch
from torch import nn

from stepsize.averaging import Averager, recompute_bn, start_step


def test_start_step_rounds_and_keeps_the_window_non_empty():
    assert start_step(0.75, 400) == 300
    assert start_step(0.0, 10) == 0
    assert start_step(1.0, 10) == 9


def trajectory(n: int) -> list[dict[str, torch.Tensor]]:
    torch.manual_seed(0)
    return [{"weight": torch.randn(3, 2), "bias": torch.randn(3)} for _ in range(n)]


def follow(kind: str, states, *, start: int, period: int, decay: float = 0.9) -> Averager:
    model = nn.Linear(2, 3)
    averager = Averager(kind, model, start=start, period=period, ema_decay=decay)
    for done, state in enumerate(states, start=1):
        model.load_state_dict(state)
        averager.maybe_update(model, done)
    return averager


def test_tail_is_the_plain_mean_of_the_iterates_in_its_window():
    states = trajectory(12)
    avg = follow("tail", states, start=4, period=3)  # iterates after updates 7 and 10
    assert avg.n_averaged == 2 and avg.summary() == {"n_averaged": 2, "start_step": 4}
    expected = (states[6]["weight"] + states[9]["weight"]) / 2
    torch.testing.assert_close(avg.model.module.weight, expected)


def test_ema_updates_every_step_with_the_given_decay():
    states = trajectory(6)
    avg = follow("ema", states, start=3, period=5, decay=0.9)  # period is ignored: iterates 4, 5, 6
    assert avg.n_averaged == 3
    expected = states[3]["bias"]
    for s in states[4:]:
        expected = 0.9 * expected + 0.1 * s["bias"]
    torch.testing.assert_close(avg.model.module.bias, expected)


def test_unknown_kind_is_rejected():
    with pytest.raises(ValueError, match=r"swa.variants: unknown averaging kind 'polyak'"):
        Averager("polyak", nn.Linear(1, 1), start=0, period=1, ema_decay=0.9)


@pytest.mark.parametrize("channels_last", [False, True])
def test_recomputed_bn_statistics_are_those_of_the_given_batches(channels_last):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4))
    avg = Averager("tail", net, start=0, period=1, ema_decay=0.9)
    avg.maybe_update(net, 1)
    batches = [torch.randn(8, 2, 5, 5) * 3 + 1 for _ in range(3)]
    recompute_bn(avg.model, batches, nullcontext, channels_last)
    with torch.no_grad():
        features = [avg.model.module[0](b) for b in batches]
    bn = avg.model.module[1]
    # update_bn's cumulative average (momentum=None): the mean over batches of each batch's statistics
    mean = torch.stack([f.mean((0, 2, 3)) for f in features]).mean(0)
    var = torch.stack([f.var((0, 2, 3)) for f in features]).mean(0)
    torch.testing.assert_close(bn.running_mean, mean, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(bn.running_var, var, rtol=1e-4, atol=1e-5)
    assert bn.momentum == 0.1  # restored after the cumulative pass


def test_recompute_bn_casts_fp16_batches_to_the_given_dtype():
    """FFCV's fp16 CUDA batches with an fp32 model and no autocast (simulated on the CPU)."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4))
    avg = Averager("tail", net, start=0, period=1, ema_decay=0.9)
    avg.maybe_update(net, 1)
    batches = [torch.randn(8, 2, 5, 5).half() for _ in range(2)]
    with pytest.raises(RuntimeError):
        recompute_bn(avg.model, batches, nullcontext, False)
    recompute_bn(avg.model, batches, nullcontext, True, dtype=torch.float32)
    assert avg.model.module[1].running_mean.dtype == torch.float32
