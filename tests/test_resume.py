"""SIGKILL at a seeded random step (and at the edges) + rerun of the same command = bit-identical metrics
(CPU)."""

import json
import os
import random
import signal
import subprocess
import sys

import pytest
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


def seeded_kills() -> tuple[int, int]:
    """Kill points drawn from a fixed seed (reproducible): one in the base run, one in the SWALR branch."""
    rng = random.Random(20250101)
    # from right after the first checkpoint (update 3) to the last base update (before the final evals)
    kill_base = rng.randint(3, STEPS)
    # any update of the SWALR branch, its last one (before the branch's evaluation) included
    return kill_base, rng.randint(STEPS + 1, 2 * STEPS - FORK)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The config file and the record of the uninterrupted run."""
    folder = tmp_path_factory.mktemp("reference")
    config_path = folder / "run.yaml"
    config_path.write_text(yaml.safe_dump(CONFIG))
    done = launch(config_path, folder / "out")
    assert done.returncode == 0, done.stderr
    return config_path, json.loads((folder / "out" / "run.json").read_text())


@pytest.mark.parametrize(
    "kills",
    [seeded_kills(), (STEPS, 2 * STEPS - FORK)],  # edges: right before the base's / the branch's evaluation
    ids=["seeded", "before-evaluations"],
)
def test_a_run_killed_twice_with_sigkill_resumes_to_bit_identical_metrics(tmp_path, reference, kills):
    config_path, expected = reference
    kill_base, kill_branch = kills

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

    resumed = json.loads((out / "run.json").read_text())
    assert expected["status"] == "ok" and set(expected["averaged"]) == {"tail", "swalr", "ema"}
    for key in METRICS:
        assert resumed[key] == expected[key], f"{key} differs (kills at {kill_base}, {kill_branch})"


def test_a_restart_removes_the_temporary_files_of_writes_cut_short_by_a_kill(tmp_path):
    """A SIGKILL inside checkpoint.save or the run.json write leaves ``.<name>.<pid>.tmp``; the next start
    in that folder deletes them (and nothing else)."""
    from stepsize import config
    from stepsize.train import train

    out = tmp_path / "out"
    out.mkdir()
    stale = [out / ".checkpoint.pt.4242.tmp", out / ".run.json.77.tmp"]
    kept = [out / "notes.txt", out / ".run.json.tmp", out / ".other.pt.12.tmp"]
    for path in stale + kept:
        path.write_bytes(b"partial")
    cfg = config.resolve({**CONFIG, "budget": {"steps": 6}, "swa": {"variants": []},
                          "eval": {"at_fractions": [1.0]}})
    assert train(cfg, out)["status"] == "ok"
    assert sorted(p.name for p in out.iterdir()) == sorted(["run.json", *(p.name for p in kept)])
