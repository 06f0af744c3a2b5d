"""torchrun + DDP on CPU (gloo, 2 processes) vs 1 process with the same global batch."""

import json
import subprocess
import sys

import yaml

CONFIG = {
    "data": {"name": "synthetic", "in_channels": 1, "image_size": 12, "train_size": 1024, "test_size": 512,
             "batch_size": 32, "eval_batch_size": 256, "augment": False},
    "model": {"name": "mini_resnet", "width": 4},
    "optimizer": {"name": "momentum", "lr": 0.05, "momentum": 0.9, "weight_decay": 5.0e-4},
    "schedule": {"name": "cosine"},
    "budget": {"steps": 60},
    "swa": {"variants": ["tail", "swalr"], "start": 0.5, "period": 2, "bn_batches": 4},
    "train": {"device": "cpu", "threads": 1, "progress": False, "channels_last": False,
              "checkpoint_every": 20},
}
# Each rank normalises its BatchNorm layers over its half of the batch (no SyncBatchNorm on CPU), so the
# two runs differ slightly; measured here: |Δ acc| ≈ 0.01 on 512 test images.
TOLERANCE = 0.05


def test_two_gloo_processes_match_one_process_with_the_same_global_batch(tmp_path):
    config_path = tmp_path / "ddp.yaml"
    config_path.write_text(yaml.safe_dump(CONFIG))
    single = subprocess.run([sys.executable, "-m", "stepsize.train", str(config_path), "--out",
                             str(tmp_path / "one")], capture_output=True, text=True, timeout=300)
    assert single.returncode == 0, single.stderr
    ddp = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                          "-m", "stepsize.train", str(config_path), "--out", str(tmp_path / "two")],
                         capture_output=True, text=True, timeout=300)
    assert ddp.returncode == 0, ddp.stderr
    one = json.loads((tmp_path / "one" / "run.json").read_text())
    two = json.loads((tmp_path / "two" / "run.json").read_text())
    assert (one["world_size"], two["world_size"]) == (1, 2)
    assert one["status"] == two["status"] == "ok"
    # rank 0 wrote run.json and removed the checkpoint
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == ["run.json"]
    assert one["final"]["test_acc"] > 0.5
    assert abs(one["final"]["test_acc"] - two["final"]["test_acc"]) <= TOLERANCE
    for variant in ("tail", "swalr"):
        assert abs(one["averaged"][variant]["test_acc"] - two["averaged"][variant]["test_acc"]) <= TOLERANCE
    assert one["curve"]["loss"] != two["curve"]["loss"]  # really two processes, each on half the batch
