"""In-memory loader: deterministic batches, resume by step, DDP slices, augmentation on the device."""

import pytest
import torch

from stepsize import data as data_registry
from stepsize.data.base import Data
from stepsize.data.memory import crop_flip, crop_flip_params

SMALL = {"name": "synthetic", "train_size": 200, "test_size": 50, "image_size": 8, "batch_size": 16,
         "eval_batch_size": 20, "crop_padding": 2}


def build(seed=0, rank=0, world_size=1, **overrides):
    cfg = {**SMALL, **overrides}
    return data_registry.build(cfg, device="cpu", seed=seed, rank=rank, world_size=world_size)


def take(iterator, n):
    return [next(iterator) for _ in range(n)]


def test_the_loader_satisfies_the_data_protocol():
    d = build()
    assert isinstance(d, Data)
    assert (d.num_classes, d.in_channels, d.image_size, d.train_size, d.batch_size) == (10, 3, 8, 200, 16)


def test_batch_k_depends_only_on_seed_and_k():
    full = take(build().train_batches(0), 30)  # 12 batches per epoch: crosses two epoch boundaries
    resumed = take(build().train_batches(17), 13)
    for (x, y), (x2, y2) in zip(full[17:], resumed, strict=True):
        assert torch.equal(x, x2) and torch.equal(y, y2)
    other_seed = next(build(seed=1).train_batches(17))
    assert not torch.equal(other_seed[0], resumed[0][0])


def test_each_epoch_visits_distinct_examples_in_a_new_order():
    d = build(augment=False)
    epoch0 = torch.cat([d.global_batch_indices(k) for k in range(d.steps_per_epoch)])
    epoch1 = torch.cat([d.global_batch_indices(k + d.steps_per_epoch) for k in range(d.steps_per_epoch)])
    assert len(set(epoch0.tolist())) == len(epoch0) == d.steps_per_epoch * 16
    assert not torch.equal(epoch0, epoch1)


def test_ddp_ranks_take_their_slices_of_the_same_global_batch():
    x, y = next(build().train_batches(5))
    parts = [next(build(rank=r, world_size=2).train_batches(5)) for r in (0, 1)]
    assert torch.equal(torch.cat([p[0] for p in parts]), x)
    assert torch.equal(torch.cat([p[1] for p in parts]), y)
    with pytest.raises(ValueError, match=r"data.batch_size=16 is not divisible by the number of processes"):
        build(world_size=3)


def test_crop_is_a_shift_of_the_zero_padded_image_and_flip_mirrors():
    x = torch.arange(2 * 1 * 4 * 4, dtype=torch.uint8).view(2, 1, 4, 4)
    offsets = torch.tensor([[0, 2], [1, 2]])  # (dy, dx) per image: (0, 1) and (2, 2)
    out = crop_flip(x, 1, offsets, torch.tensor([False, True]))
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1))
    assert torch.equal(out[0], padded[0, :, 0:4, 1:5])
    assert torch.equal(out[1], padded[1, :, 2:6, 2:6].flip(-1))


def test_augmentation_draws_are_reproducible_and_vary():
    g = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    o1, f1 = crop_flip_params(64, 2, True, g())
    o2, f2 = crop_flip_params(64, 2, True, g())
    assert torch.equal(o1, o2) and torch.equal(f1, f2)
    assert o1.min() == 0 and o1.max() == 4 and 0 < f1.sum() < 64


def test_normalised_images_and_eval_split():
    d = build(augment=False)
    x, y = next(d.train_batches(0))
    assert x.dtype == torch.float32 and x.shape == (16, 3, 8, 8) and y.dtype == torch.long
    raw = d.train_x[d.global_batch_indices(0)].float()
    torch.testing.assert_close(x, (raw / 255 - 0.5) / 0.29)
    batches = list(d.eval_batches())
    assert [len(b[1]) for b in batches] == [20, 20, 10]
    assert torch.equal(torch.cat([b[1] for b in batches]), d.test_y)


def test_bn_batches_are_whole_augmented_training_batches():
    d = build(rank=1, world_size=2)
    batches = list(d.bn_batches(3))
    assert len(batches) == 3 and all(b.shape == (16, 3, 8, 8) for b in batches)
    assert len(list(d.bn_batches())) == d.steps_per_epoch


def test_subsets_and_their_errors():
    d = build(train_subset=64, test_subset=10)
    assert d.train_size == 64 and len(d.test_x) == 10
    with pytest.raises(ValueError, match=r"data.train_subset must be null or an integer in \[1, 200\]"):
        build(train_subset=500)
    with pytest.raises(ValueError, match=r"data.batch_size=16 exceeds the 8 training examples"):
        build(train_subset=8)
    with pytest.raises(ValueError, match=r"data.colour: unknown key for data.name=synthetic; allowed: "):
        build(colour=True)


def test_synthetic_classes_are_separable_by_their_templates():
    d = build(augment=False, noise=32.0)
    templates = torch.stack([d.train_x[d.train_y == c].float().mean(0) for c in range(10)])
    dist = ((d.test_x.float()[:, None] - templates[None]) ** 2).flatten(2).sum(-1)
    assert (dist.argmin(1) == d.test_y).float().mean() > 0.9
