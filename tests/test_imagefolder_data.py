"""Tests of the torchvision ImageFolder data path (`stepsize.data.imagefolder`) on generated JPEGs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from stepsize.data import imagefolder
from stepsize.data.transforms import write_synthetic_imagefolder

CLASSES, PER_CLASS_TRAIN, PER_CLASS_VAL, BATCH = 3, 20, 7, 16


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("imagefolder")
    write_synthetic_imagefolder(folder / "train", num_classes=CLASSES, images_per_class=PER_CLASS_TRAIN)
    write_synthetic_imagefolder(folder / "val", num_classes=CLASSES, images_per_class=PER_CLASS_VAL, seed=1)
    return folder


def build(root: Path, seed: int = 0, rank: int = 0, world_size: int = 1, **overrides):
    cfg = {"name": "imagefolder", "root": str(root), "batch_size": BATCH, "num_workers": 0,
           "resolution": 32, "val_resolution": 32, **overrides}  # fmt: skip
    return imagefolder.build(cfg, device="cpu", seed=seed, rank=rank, world_size=world_size)


def take(stream, n: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    out = [next(stream) for _ in range(n)]
    stream.close()
    return out


def assert_same(a, b) -> None:
    assert len(a) == len(b)
    for (x1, y1), (x2, y2) in zip(a, b, strict=True):
        assert torch.equal(x1, x2) and torch.equal(y1, y2)


def test_attributes_and_batch_format(root):
    from stepsize.data.base import Data

    data = build(root)
    assert isinstance(data, Data)
    assert (data.num_classes, data.in_channels, data.image_size) == (CLASSES, 3, 32)
    assert (data.train_size, data.batch_size, data.steps_per_epoch) == (60, BATCH, 3)
    images, labels = take(data.train_batches(), 1)[0]
    assert images.shape == (BATCH, 3, 32, 32) and images.dtype == torch.float32
    assert labels.shape == (BATCH,) and labels.dtype == torch.int64
    assert set(labels.tolist()) <= set(range(CLASSES))
    assert torch.isfinite(images).all() and images.std() > 0.1


def test_epoch_visits_distinct_examples_with_their_labels(root):
    """The labels of one epoch are the ImageFolder labels of the epoch's permutation, no repeats."""
    data = build(root)
    labels = torch.cat([y for _, y in take(data.train_batches(), data.steps_per_epoch)]).numpy()
    order = np.random.default_rng([0, 0]).permutation(60)[: data.steps_per_epoch * BATCH]
    np.testing.assert_array_equal(labels, np.asarray(data.train_folder.targets)[order])


def test_eval_covers_every_val_image_once(root):
    data = build(root)
    batches = list(data.eval_batches())
    assert [len(y) for _, y in batches] == [16, 5]
    labels = torch.cat([y for _, y in batches]).numpy()
    np.testing.assert_array_equal(labels, np.repeat(np.arange(CLASSES), PER_CLASS_VAL))
    images = torch.cat([x for x, _ in batches])
    assert images.shape == (21, 3, 32, 32)
    assert len({tuple(x.flatten()[:64].tolist()) for x in images}) == 21  # 21 distinct images
    assert torch.equal(images, torch.cat([x for x, _ in data.eval_batches()]))  # no augmentation


def test_same_seed_same_batches_other_seed_different(root):
    first = take(build(root, seed=3).train_batches(), 5)  # crosses the epoch boundary (3 steps/epoch)
    assert_same(first, take(build(root, seed=3).train_batches(), 5))
    other = take(build(root, seed=4).train_batches(), 1)
    assert not torch.equal(first[0][0], other[0][0])


def test_resume_and_worker_count_do_not_change_batches(root):
    data = build(root)
    full = take(data.train_batches(0), 7)
    assert_same(full[4:], take(data.train_batches(4), 3))
    assert not torch.equal(full[0][0], full[3][0])  # epoch 1 differs from epoch 0
    with_workers = build(root, num_workers=2)  # persistent worker processes, per-example seeds
    assert_same(full[2:6], take(with_workers.train_batches(2), 4))


def test_ranks_share_the_global_batch(root):
    whole = take(build(root).train_batches(1), 2)
    parts = [take(build(root, rank=r, world_size=2).train_batches(1), 2) for r in (0, 1)]
    for k in range(2):
        assert torch.equal(whole[k][0], torch.cat([parts[0][k][0], parts[1][k][0]]))
        assert torch.equal(whole[k][1], torch.cat([parts[0][k][1], parts[1][k][1]]))


def test_bn_batches_and_global_rng_untouched(root):
    data = build(root)
    state = torch.get_rng_state()
    bn = list(data.bn_batches(max_batches=2))
    assert len(bn) == 2 and all(x.shape == (BATCH, 3, 32, 32) for x in bn)
    assert len(list(data.bn_batches())) == data.steps_per_epoch
    assert torch.equal(torch.get_rng_state(), state)
    data.set_progress(0.5)  # no progressive resizing on this path
    assert take(data.train_batches(), 1)[0][0].shape[-1] == 32


def test_config_errors_name_the_key(root, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"data\.root"):
        build(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match=r"data\.val_root"):
        build(root, val_root=str(tmp_path / "nowhere"))
    with pytest.raises(ValueError, match=r"data\.colour"):
        build(root, colour=1)
    with pytest.raises(ValueError, match=r"data\.num_classes"):
        build(root, num_classes=10)
    with pytest.raises(ValueError, match=r"data\.batch_size"):
        build(root, batch_size=64)
    with pytest.raises(ValueError, match=r"data\.resolution"):
        build(root, resolution=0)
    with pytest.raises(ValueError, match="start_step"):
        build(root).train_batches(-1)


def test_seeded_random_resized_crop_flip_draws():
    """torchvision's RandomResizedCrop sampling rule and a fair flip, reproducible per seed."""
    import random

    from PIL import Image
    from torchvision.transforms import functional as F

    augment = imagefolder.SeededRandomResizedCropFlip(24)
    height, width = 48, 80
    image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (height, width, 3), dtype=np.uint8))
    flipped = 0
    for seed in range(300):
        i, j, h, w = augment.crop_params(random.Random(seed), height, width)
        assert 0 <= i <= height - h and 0 <= j <= width - w and h > 0 and w > 0
        fallback = (i, j) == ((height - h) // 2, (width - w) // 2) and h == height
        assert fallback or (0.07 <= h * w / (height * width) <= 1.0 and 0.7 <= w / h <= 1.4)
        out = np.asarray(augment(image, seed))
        crop = F.resized_crop(image, i, j, h, w, [24, 24], antialias=True)
        assert np.array_equal(out, np.asarray(crop)) or np.array_equal(out, np.asarray(F.hflip(crop)))
        flipped += not np.array_equal(out, np.asarray(crop))
    assert 0.4 < flipped / 300 < 0.6
    np.testing.assert_array_equal(np.asarray(augment(image, 7)), np.asarray(augment(image, 7)))
