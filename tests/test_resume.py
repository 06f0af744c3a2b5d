"""SIGKILL at a random step + rerun of the same command = bit-identical metrics (CPU)."""

import json
import os
import random
import signal
import subprocess
import sys

import yaml

from stepsize.train import KILL_ENV

STEPS, FORK = 40, 20  # swa.start 0.5; the SWALR branch adds STEPS - FORK updates
CONFIG = {
    "data": {"name": "synthetic", "in_channels": 1, "image_size": 12, "train_size": 512, "test_size": 256,
             "batch_size": 32, "eval_batch_size": 128, "augment": True, "crop_padding": 2},
    "model": {"name": "mini_resnet", "width": 4},
    "optimizer": {"name": "momentum", "lr": 0.05, "momentum": 0.9, "weight_decay": 5.0e-4},
    "schedule": {"name": "cosine"},
    "budget": {"steps": STEPS},
    "swa": {"variants": ["tail", "swalr", "ema"], "start": 0.5, "period": 3, "swalr_lr": 0.02,
            "anneal_steps": 5, "bn_batches": 4},
    "eval": {"at_fractions": [0.3, 0.8, 1.0]},
    "train": {"device": "cpu", "threads": 1, "progress": False, "channels_last": True, "checkpoint_every": 3,
              "log_every": 2},
}
METRICS = ("status", "diverged_step", "curve", "evals", "final", "averaged")


def launch(config_path, out, kill_at=None):
    env = {k: v for k, v in os.environ.items() if k != KILL_ENV}
    if kill_at is not None:
        env[KILL_ENV] = str(kill_at)
    cmd = [sys.executable, "-m", "stepsize.train", str(config_path), "--out", str(out)]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


def test_a_run_killed_twice_with_sigkill_resumes_to_bit_identical_metrics(tmp_path):
    config_path = tmp_path / "run.yaml"
    config_path.write_text(yaml.safe_dump(CONFIG))
    rng = random.Random(20250101)
    kill_base = rng.randint(4, STEPS - 1)  # after the first checkpoint (update 3), inside the base run
    kill_branch = rng.randint(STEPS + 1, 2 * STEPS - FORK - 1)  # inside the SWALR branch

    reference = launch(config_path, tmp_path / "reference")
    assert reference.returncode == 0, reference.stderr

    out = tmp_path / "interrupted"
    first = launch(config_path, out, kill_at=kill_base)
    assert first.returncode == -signal.SIGKILL, first.stderr
    assert (out / "checkpoint.pt").exists() and not (out / "run.json").exists()
    second = launch(config_path, out, kill_at=kill_branch)
    assert second.returncode == -signal.SIGKILL, second.stderr
    assert not (out / "run.json").exists()
    third = launch(config_path, out)
    assert third.returncode == 0, third.stderr
    assert not (out / "checkpoint.pt").exists()

    expected = json.loads((tmp_path / "reference" / "run.json").read_text())
    resumed = json.loads((out / "run.json").read_text())
    assert expected["status"] == "ok" and set(expected["averaged"]) == {"tail", "swalr", "ema"}
    for key in METRICS:
        assert resumed[key] == expected[key], f"{key} differs (kills at {kill_base}, {kill_branch})"
