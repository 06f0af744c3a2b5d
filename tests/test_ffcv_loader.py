"""End-to-end tests of the FFCV data path: JPEG ImageFolder → writer CLI → .beton → `FFCVData` on CPU.

Needs ffcv (``pip install ffcv==1.0.2`` after ``apt-get install pkg-config libturbojpeg0-dev
libopencv-dev``); without it every test here fails with that hint. Each FFCV Loader JIT-compiles its
pipeline (seconds), so the two `FFCVData` objects are built once per module.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from stepsize.data.transforms import progressive_resolution, write_synthetic_imagefolder

ROOT = Path(__file__).resolve().parents[1]
PER_CLASS_TRAIN, PER_CLASS_VAL, CLASSES = 20, 7, 3
BATCH = 16


def ffcv_config(folder: Path) -> dict:
    return {
        "name": "ffcv",
        "train_path": str(folder / "train.beton"),
        "val_path": str(folder / "val.beton"),
        "batch_size": BATCH,
        "num_workers": 1,
        "min_resolution": 32,  # progressive resizing 32 -> 64 between 20 % and 60 % of the budget
        "resolution": 64,
        "start_ramp": 0.2,
        "end_ramp": 0.6,
        "val_resolution": 32,
    }


@pytest.fixture(scope="module")
def betons(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess]:
    """Synthetic JPEG trees, train.beton via the CLI (all JPEG), val.beton in-process (raw pixels)."""
    from stepsize.data.write_ffcv import import_ffcv, write_beton

    import_ffcv()  # fails here, with the apt/pip hint, when ffcv is missing
    folder = tmp_path_factory.mktemp("ffcv")
    jpeg = folder / "jpeg"
    write_synthetic_imagefolder(jpeg / "train", num_classes=CLASSES, images_per_class=PER_CLASS_TRAIN)
    write_synthetic_imagefolder(jpeg / "val", num_classes=CLASSES, images_per_class=PER_CLASS_VAL, seed=1)
    command = [
        sys.executable, "-m", "stepsize.data.write_ffcv", "--src", str(folder / "jpeg" / "train"),
        "--out", str(folder / "train.beton"), "--write-mode", "jpg", "--jpeg-quality", "90",
        "--max-resolution", "400", "--num-workers", "2", "--chunk-size", "25",
    ]  # fmt: skip
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    with subprocess.Popen(command, cwd=ROOT, **pipes) as process:  # overlaps with the in-process write
        write_beton(jpeg / "val", folder / "val.beton", write_mode="raw", num_workers=1)
        stdout, stderr = process.communicate(timeout=300)
    cli = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    return folder, cli


@pytest.fixture(scope="module")
def smoke_process(betons, tmp_path_factory: pytest.TempPathFactory):
    """A tiny training run through the training CLI on the .beton files, started early to overlap.

    The recipe's peak LR 0.5 is for batch 1024; at batch 16 it is scaled linearly (Goyal et al. 2017) to
    0.008. Unscaled, 8 updates of resnet8 could exceed the divergence limit on some CPUs (seen in CI).
    """
    folder, out = betons[0], tmp_path_factory.mktemp("smoke_run")
    overrides = [
        f"data.train_path={folder / 'train.beton'}", f"data.val_path={folder / 'val.beton'}",
        "data.batch_size=16", "data.num_workers=1", "data.min_resolution=32", "data.max_resolution=64",
        "data.resolution=64", "data.start_ramp=0.25", "data.end_ramp=0.5", "data.val_resolution=32",
        "model.name=resnet8", "optimizer.lr=0.008", "budget.steps=8", "schedule.warmup_steps=2",
        "swa.variants=[tail]", "swa.period=1", "swa.bn_batches=2", "eval.at_fractions=[0.5,1.0]",
        "train.compile=false", "train.checkpoint_every=0", "train.device=cpu",
    ]  # fmt: skip
    command = [sys.executable, "-m", "stepsize.train", "experiments/base/imagenet_rn18.yaml",
               "--out", str(out), "--set", *overrides]  # fmt: skip
    with (out / "log.txt").open("w") as log:  # a file, not a pipe: nobody reads until the last test
        with subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT) as process:
            yield process, out
            process.kill()


@pytest.fixture(scope="module")
def data(betons):
    from stepsize.data import ffcv_loader

    return ffcv_loader.build(ffcv_config(betons[0]), device="cpu", seed=0)


@pytest.fixture(scope="module")
def twin(betons):
    """A second build with the same config and seed."""
    from stepsize.data import ffcv_loader

    return ffcv_loader.build(ffcv_config(betons[0]), device="cpu", seed=0)


def take(batches, n: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    out = [next(batches) for _ in range(n)]
    batches.close()
    return out


@pytest.mark.usefixtures("smoke_process")  # starts the training smoke run in the background
def test_writer_cli_writes_every_image_with_imagefolder_labels(betons):
    from ffcv.reader import Reader

    folder, cli = betons
    assert cli.returncode == 0, cli.stderr
    assert "wrote 60 images" in cli.stdout
    reader = Reader(str(folder / "train.beton"))
    assert reader.num_samples == CLASSES * PER_CLASS_TRAIN
    np.testing.assert_array_equal(reader.metadata["f1"], np.repeat(np.arange(CLASSES), PER_CLASS_TRAIN))
    assert set(reader.metadata["f0"]["mode"].tolist()) == {0}  # all JPEG (ffcv IMAGE_MODES['jpg'] = 0)
    assert not list(folder.glob(".*partial*"))


def test_attributes_and_train_batch_format(data):
    from stepsize.data.base import Data

    assert isinstance(data, Data)
    assert (data.num_classes, data.in_channels, data.train_size) == (CLASSES, 3, 60)
    assert (data.image_size, data.batch_size, data.steps_per_epoch) == (64, BATCH, 60 // BATCH)
    images, labels = take(data.train_batches(0), 1)[0]
    assert images.shape == (BATCH, 3, 32, 32) and images.dtype == torch.float32
    assert images.is_contiguous(memory_format=torch.channels_last)
    assert labels.shape == (BATCH,) and labels.dtype == torch.int64
    assert torch.isfinite(images).all() and -3.0 < images.mean() < 3.0 and images.std() > 0.1


def test_labels_follow_the_epoch_order(data):
    """Across epochs 0 and 1 the labels are those of the ids in each epoch's (pure quasi-random) order."""
    per_epoch = data.steps_per_epoch * BATCH
    labels = torch.cat([y for _, y in take(data.train_batches(0), 2 * data.steps_per_epoch)]).numpy()
    expected = [np.asarray(data.epoch_order(e)) // PER_CLASS_TRAIN for e in (0, 1)]
    np.testing.assert_array_equal(labels, np.concatenate(expected))
    assert len(set(data.epoch_order(0).tolist())) == per_epoch  # no repeats within an epoch
    assert not np.array_equal(data.epoch_order(0), data.epoch_order(1))


def test_quasi_random_order_is_a_function_of_seed_and_epoch(data):
    first = data._train_loader.traversal_order.sample_order(2).copy()
    for epoch in (0, 1, 5):  # ffcv 1.0.2's own QuasiRandom would change epoch 2's order after these
        data._train_loader.traversal_order.sample_order(epoch)
    np.testing.assert_array_equal(data._train_loader.traversal_order.sample_order(2), first)
    assert sorted(first.tolist()) == list(range(60))


def test_same_seed_gives_identical_batches_across_builds(data, twin):
    n = data.steps_per_epoch + 2  # crosses an epoch boundary
    pairs = zip(take(data.train_batches(0), n), take(twin.train_batches(0), n), strict=True)
    for (x1, y1), (x2, y2) in pairs:
        assert torch.equal(x1, x2) and torch.equal(y1, y2)


def test_resume_at_start_step_continues_the_same_stream(data):
    full = take(data.train_batches(0), 7)
    resumed = take(data.train_batches(4), 3)  # epoch 1, second batch
    for (x1, y1), (x2, y2) in zip(full[4:], resumed, strict=True):
        assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert not torch.equal(full[0][0], full[3][0])  # epochs differ (order and augmentation)


def test_progressive_resizing_changes_the_output_size_deterministically(data, twin):
    assert data.current_resolution == 32
    try:
        stream = data.train_batches(0)
        assert next(stream)[0].shape[-1] == 32
        data.set_progress(1.0)  # the next batch is produced at the final resolution
        second = next(stream)
        stream.close()
        assert second[0].shape[-2:] == (64, 64) and data.current_resolution == data.image_size == 64
        twin.set_progress(1.0)
        resumed = take(twin.train_batches(1), 1)[0]  # a resume at step 1 with the same progress
        assert torch.equal(second[0], resumed[0]) and torch.equal(second[1], resumed[1])
        with pytest.raises(ValueError, match="fraction"):
            data.set_progress(1.5)
    finally:
        data.set_progress(0.0)
        twin.set_progress(0.0)


def test_progressive_resolution_rule():
    kw = {"min_resolution": 160, "max_resolution": 192, "start_ramp": 0.5, "end_ramp": 0.75}
    assert progressive_resolution(0.0, **kw) == 160 and progressive_resolution(0.5, **kw) == 160
    assert progressive_resolution(0.74, **kw) == 192  # 190.7 rounds to the multiple of 32 nearest: 192
    assert progressive_resolution(0.55, **kw) == 160  # 166.4 -> 160
    assert progressive_resolution(1.0, **kw) == 192
    with pytest.raises(ValueError, match="min_resolution"):
        progressive_resolution(0.0, min_resolution=224, max_resolution=192, start_ramp=0.1, end_ramp=0.2)


def test_eval_covers_every_val_image_once_in_file_order(data, betons):
    """Eval yields all 21 images once, each the centre crop of the same-index JPEG (nearest neighbour)."""
    from stepsize.data import imagefolder

    batches = list(data.eval_batches())
    images = torch.cat([x for x, _ in batches])
    labels = torch.cat([y for _, y in batches])
    assert images.shape == (CLASSES * PER_CLASS_VAL, 3, 32, 32)
    np.testing.assert_array_equal(labels.numpy(), np.repeat(np.arange(CLASSES), PER_CLASS_VAL))
    torchvision_data = imagefolder.build(
        {"name": "imagefolder", "train_root": str(betons[0] / "jpeg" / "train"),
         "val_root": str(betons[0] / "jpeg" / "val"), "batch_size": BATCH, "num_workers": 0,
         "resolution": 32, "val_resolution": 32},
        device="cpu", seed=0,
    )  # fmt: skip
    reference = torch.cat([x for x, _ in torchvision_data.eval_batches()])
    distances = (images[:, None] - reference[None]).abs().mean(dim=(2, 3, 4))
    np.testing.assert_array_equal(distances.argmin(dim=1).numpy(), np.arange(len(images)))
    off_diagonal = distances + torch.diag(torch.full((len(images),), float("inf")))
    # same image up to crop rounding and resize interpolation: far closer than any other image
    assert distances.diagonal().max() < 0.5 * off_diagonal.min()


def test_bn_batches_and_torch_threads_untouched(data):
    threads = torch.get_num_threads()
    bn = list(data.bn_batches(max_batches=2))
    assert len(bn) == 2 and all(x.shape == (BATCH, 3, 32, 32) for x in bn)
    assert len(list(data.bn_batches())) == data.steps_per_epoch
    assert torch.get_num_threads() == threads


def test_config_errors_name_the_key(betons, tmp_path):
    from stepsize.data import ffcv_loader

    cfg = ffcv_config(betons[0])
    with pytest.raises(ValueError, match=r"data\.colour"):
        ffcv_loader.build({**cfg, "colour": 1}, device="cpu", seed=0)
    with pytest.raises(FileNotFoundError, match=r"data\.train_path"):
        ffcv_loader.build({**cfg, "train_path": str(tmp_path / "missing.beton")}, device="cpu", seed=0)
    with pytest.raises(ValueError, match=r"data\.order"):
        ffcv_loader.build({**cfg, "order": "shuffled"}, device="cpu", seed=0)
    with pytest.raises(ValueError, match=r"data\.num_classes"):
        ffcv_loader.build({**cfg, "num_classes": 2}, device="cpu", seed=0)
    with pytest.raises(ValueError, match=r"data\.max_resolution"):
        ffcv_loader.build({**cfg, "max_resolution": 96}, device="cpu", seed=0)
    with pytest.raises(ValueError, match=r"torch\.distributed"):
        ffcv_loader.build(cfg, device="cpu", seed=0, rank=0, world_size=2)


def test_training_cli_smoke_run_on_ffcv(smoke_process):
    """`python -m stepsize.train experiments/base/imagenet_rn18.yaml` with resnet8 on the tiny .beton."""
    process, out = smoke_process
    process.wait(timeout=600)
    assert process.returncode == 0, (out / "log.txt").read_text()[-3000:]
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "ok" and record["config"]["data"]["name"] == "ffcv"
    assert [e["step"] for e in record["evals"]] == [4, 8]
    assert 0.0 <= record["final"]["test_acc"] <= 1.0 and math.isfinite(record["final"]["test_loss"])
    assert record["averaged"]["tail"]["n_averaged"] == 2
    assert all(math.isfinite(v) for v in record["curve"]["loss"])
