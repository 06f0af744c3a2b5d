"""Fashion-MNIST (IDX files) and CIFAR (torchvision on-disk format) loaders, offline."""

import gzip
import hashlib
import pickle

import numpy as np
import pytest
import torch

from stepsize.data import cifar, fashion_mnist
from stepsize.data.fashion_mnist import FILES, load_arrays, read_idx

REAL_ROOT = "/usr/share/datasets/fashion-mnist"


def write_idx(path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, ">i4").tobytes()
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def tiny_fashion_mnist(root, n_train=40, n_test=20):
    rng = np.random.default_rng(0)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28)), "train_labels": np.arange(n_train) % 10,
        "test_images": rng.integers(0, 256, (n_test, 28, 28)), "test_labels": np.arange(n_test) % 10,
    }
    root.mkdir(parents=True, exist_ok=True)
    for key, name in FILES.items():
        write_idx(root / name, arrays[key])
    return arrays


def test_idx_files_round_trip_and_are_cached(tmp_path):
    arrays = tiny_fashion_mnist(tmp_path / "fm")
    for cache in (None, tmp_path / "cache", tmp_path / "cache"):  # decode, decode + write cache, read cache
        loaded = load_arrays(tmp_path / "fm", cache)
        for key, array in arrays.items():
            np.testing.assert_array_equal(loaded[key], array)
    assert len(list((tmp_path / "cache").glob("fashion_mnist-*.npz"))) == 1


def test_the_builder_serves_the_tiny_files_as_1x28x28(tmp_path):
    tiny_fashion_mnist(tmp_path / "fm")
    d = fashion_mnist.build({"root": str(tmp_path / "fm"), "cache_dir": None, "batch_size": 8}, device="cpu",
                            seed=0)
    x, _ = next(d.train_batches(0))
    assert x.shape == (8, 1, 28, 28) and d.num_classes == 10 and d.train_size == 40


def test_bad_idx_and_missing_files_give_clear_errors(tmp_path):
    bad = tmp_path / "bad.gz"
    with gzip.open(bad, "wb") as f:
        f.write(b"\x00\x00\x0d\x01" + b"\x00" * 8)
    with pytest.raises(ValueError, match="not a uint8 IDX file"):
        read_idx(bad)
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        load_arrays(tmp_path / "nowhere")


def test_damaged_files_are_one_line_naming_the_file(tmp_path):
    """A truncated download, a flipped byte (bad CRC) and a label out of range: one line each, naming the
    file, never a zlib/gzip traceback."""
    arrays = tiny_fashion_mnist(tmp_path / "fm")
    images = tmp_path / "fm" / FILES["train_images"]
    whole = images.read_bytes()
    images.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ValueError, match=rf"{images}: corrupt file \(EOFError") as err:
        read_idx(images)
    assert "\n" not in str(err.value) and "reinstall" in str(err.value)
    flipped = bytearray(whole)
    flipped[-5] ^= 0xFF  # in the gzip trailer's CRC-32
    images.write_bytes(bytes(flipped))
    with pytest.raises(ValueError, match=rf"{images}: corrupt file \(BadGzipFile: CRC check failed"):
        read_idx(images)
    images.write_bytes(whole)
    labels = arrays["train_labels"].copy()
    labels[3] = 12
    write_idx(tmp_path / "fm" / FILES["train_labels"], labels)
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte.gz: label 12 is outside 0..9"):
        load_arrays.__wrapped__(tmp_path / "fm", None)


def test_a_truncated_cache_is_rebuilt_and_dead_writers_temporaries_removed(tmp_path, capsys):
    arrays = tiny_fashion_mnist(tmp_path / "fm")
    cache_dir = tmp_path / "cache"
    load_arrays.__wrapped__(tmp_path / "fm", cache_dir)
    (cache,) = cache_dir.glob("fashion_mnist-*.npz")
    cache.write_bytes(cache.read_bytes()[:100])  # a write killed half-way by an older version, a full disk
    dead = cache.with_name(f"{cache.name}.999999999.tmp.npz")  # no such process: its writer was killed
    dead.write_bytes(b"partial")
    loaded = load_arrays.__wrapped__(tmp_path / "fm", cache_dir)
    assert f"{cache}: unreadable cache (BadZipFile), rebuilding it" in capsys.readouterr().err
    np.testing.assert_array_equal(loaded["train_images"], arrays["train_images"])
    with np.load(cache) as z:  # rebuilt whole
        np.testing.assert_array_equal(z["test_labels"], arrays["test_labels"])
    assert not dead.exists()
    assert [p.name for p in cache_dir.iterdir()] == [cache.name]


def test_the_real_fashion_mnist_files():
    """Needs the Debian package dataset-fashion-mnist (fails, with the apt hint, when it is missing)."""
    arrays = load_arrays(REAL_ROOT)
    assert arrays["train_images"].shape == (60000, 28, 28) and arrays["test_images"].shape == (10000, 28, 28)
    assert np.bincount(arrays["train_labels"]).tolist() == [6000] * 10
    assert np.bincount(arrays["test_labels"]).tolist() == [1000] * 10
    mean = arrays["train_images"].mean() / 255
    assert abs(mean - fashion_mnist.MEAN[0]) < 1e-3


# ------------------------------------------------------------------------------------------- CIFAR
def fake_cifar10(root, monkeypatch, n_per_batch=8):
    """Write CIFAR-10 in torchvision's on-disk format (pickled batches + batches.meta) and make the
    torchvision class's md5 list match the fake files."""
    import torchvision.datasets

    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for i, name in enumerate(names):
        batch = {"data": rng.integers(0, 256, (n_per_batch, 3072), dtype=np.uint8),
                 "labels": [(i + j) % 10 for j in range(n_per_batch)]}
        (folder / name).write_bytes(pickle.dumps(batch))
    meta = {"label_names": [f"class{i}" for i in range(10)]}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta))

    def md5(name):
        return hashlib.md5((folder / name).read_bytes()).hexdigest()

    cls = torchvision.datasets.CIFAR10
    monkeypatch.setattr(cls, "train_list", [[n, md5(n)] for n in names[:5]])
    monkeypatch.setattr(cls, "test_list", [["test_batch", md5("test_batch")]])
    monkeypatch.setattr(cls, "meta", {**cls.meta, "md5": md5("batches.meta")})
    return folder


def test_cifar10_loads_through_torchvision_from_the_on_disk_format(tmp_path, monkeypatch):
    folder = fake_cifar10(tmp_path, monkeypatch)
    d = cifar.build({"name": "cifar10", "root": str(tmp_path), "batch_size": 8}, device="cpu", seed=0)
    assert (d.train_size, len(d.test_x), d.num_classes, d.in_channels, d.image_size) == (40, 8, 10, 3, 32)
    first = pickle.loads((folder / "data_batch_1").read_bytes())["data"][0].reshape(3, 32, 32)
    assert torch.equal(d.train_x[0], torch.from_numpy(first))  # CHW layout kept
    assert next(d.train_batches(0))[0].shape == (8, 3, 32, 32)


def test_missing_cifar_says_where_it_looked_and_how_to_download(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"cifar100 not found .*cifar-100-python.*data.download=true"):
        cifar.build({"name": "cifar100", "root": str(tmp_path)}, device="cpu", seed=0)


def offline(*args, **kwargs):
    """What ``urllib.request.urlopen`` does on a machine without network access."""
    import urllib.error

    raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")


def test_cifar_download_offline_is_one_line_naming_data_download_and_root(tmp_path, monkeypatch):
    import urllib.request

    monkeypatch.setattr(urllib.request, "urlopen", offline)  # torchvision downloads through it
    with pytest.raises(FileNotFoundError) as err:
        cifar.build({"name": "cifar10", "root": str(tmp_path), "download": True}, device="cpu", seed=0)
    message = str(err.value)
    assert "\n" not in message
    assert "data.download=true failed" in message and "offline" in message
    assert f"data.root={tmp_path}" in message and "Temporary failure in name resolution" in message


def test_cifar_download_offline_through_the_cli_exits_1_with_one_line(tmp_path, monkeypatch, capsys):
    import urllib.request

    import yaml

    from stepsize.train import main

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"data": {"name": "cifar10", "root": str(tmp_path / "cifar"),
                                             "download": True},
                                    "train": {"device": "cpu", "progress": False}, "budget": {"steps": 2}}))
    assert main([str(path), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("stepsize.train: error: cifar10: data.download=true failed")
    assert err.count("\n") == 1


RANK_SCRIPT = """
import datetime, sys, urllib.error, urllib.request
import torch.distributed as dist
from stepsize.data import cifar

def offline(*args, **kwargs):
    raise urllib.error.URLError("no network")

urllib.request.urlopen = offline
rank, root, store = int(sys.argv[1]), sys.argv[2], sys.argv[3]
dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=2,
                        timeout=datetime.timedelta(seconds=60))
try:
    cifar.build({"name": "cifar10", "root": root, "download": True}, device="cpu", seed=0, rank=rank,
                world_size=2)
except FileNotFoundError as err:
    print("ONE-LINE-ERROR", err)
"""


def test_a_failed_download_on_rank_0_does_not_hang_the_other_ranks(tmp_path):
    """Two gloo processes: rank 0's download fails offline; both end with a one-line error, well before
    the process group's 60 s timeout (without the fix rank 1 waited at its barrier until then)."""
    import subprocess
    import sys
    import time
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    start = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", RANK_SCRIPT, str(rank), str(tmp_path / "cifar"),
                               str(tmp_path / "store")], cwd=repo, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for rank in (0, 1)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert time.perf_counter() - start < 50
    for p, (out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
        assert out.count("ONE-LINE-ERROR") == 1 and out.count("\n") == 1, out
    assert "data.download=true failed" in outputs[0][0]
    assert outputs[1][0].startswith("ONE-LINE-ERROR rank 1: cifar10 not found")
