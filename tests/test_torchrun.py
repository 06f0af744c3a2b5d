"""The real ``torchrun`` entry point of the environment (as the Snakefile launches multi-GPU runs), on CPU
with gloo, on the smoke profile's cosine run (Fashion-MNIST subset, 40 updates of batch 32):

- two processes finish the run and their record matches the one-process run with the same global batch
  (each rank takes 16 of the 32 examples of every batch);
- a rank that raises ends the job fast (torchrun's agent stops the other rank) with that rank's one-line
  error, and its traceback reaches torchrun's failure summary.

Tolerance: each rank normalises its BatchNorm layers over its own 16 examples (no SyncBatchNorm on CPU),
so the two trajectories differ a little at every update and 40 updates at a high learning rate amplify
that. Measured on this setting (cosine seeds 0-2, step seed 0), |Δ test accuracy| <= 0.06 on the 500
test images and |Δ test loss| <= 5 % at the end, for the final model and each SWA variant; mid-run
evaluations differ more (20 % in loss), so only the end of the budget is compared. The test allows 0.1
and 10 %. Everything that does not depend on the trajectory (the LR curve, evaluation steps, the number
of averaged models) must be equal.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from report import grid
from stepsize import distributed

ROOT = Path(__file__).resolve().parents[1]
TORCHRUN = Path(sys.executable).with_name("torchrun")
PROFILE = ROOT / "experiments/smoke.yaml"
ACC_TOLERANCE = 0.1
LOSS_RTOL = 0.1
FAIL_FAST_S = 60
pytestmark = pytest.mark.slow


def smoke_command(out: Path, tmp_path: Path, strategy: str = "cosine") -> list[str]:
    """``-m stepsize.train`` arguments of the smoke profile's run (strategy, full budget, seed 0) as the
    Snakefile builds them; the data cache goes to tmp_path, so nothing is written in the repository."""
    g = grid.load(PROFILE)
    s = g.strategies[strategy]
    values = g.overrides(strategy, g.full, 0, {s.knob: s.values[-1]} if s.knob else {})
    sets = [item for k, v in values.items() for item in ("--set", f"{k}={json.dumps(v)}")]
    return ["-m", "stepsize.train", str(ROOT / g.train_config), "--out", str(out), *sets,
            "--set", "train.threads=1", "--set", "train.progress=false",
            "--set", f"data.cache_dir={tmp_path / 'cache'}"]


def torchrun(args: list[str], cwd: Path, env: dict | None = None, timeout: int = 300
             ) -> subprocess.CompletedProcess:
    """``torchrun --standalone --nproc_per_node=2 ARGS`` in ``cwd`` (a tmp folder, never the repository)."""
    if not TORCHRUN.is_file():
        pytest.fail(f"no torchrun next to {sys.executable}: install torch (bin/with-env installs it)")
    return subprocess.run([str(TORCHRUN), "--standalone", "--nproc_per_node=2", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, env=env)


def test_two_processes_match_one_process_with_the_same_global_batch(tmp_path):
    one = subprocess.run([sys.executable, *smoke_command(tmp_path / "one", tmp_path)], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert one.returncode == 0, one.stderr[-3000:]
    two = torchrun(smoke_command(tmp_path / "two", tmp_path), tmp_path)
    assert two.returncode == 0, two.stderr[-3000:]
    a = json.loads((tmp_path / "one/run.json").read_text())
    b = json.loads((tmp_path / "two/run.json").read_text())
    assert (a["world_size"], b["world_size"]) == (1, 2)
    assert a["status"] == b["status"] == "ok"
    assert a["curve"]["step"] == b["curve"]["step"] and a["curve"]["lr"] == b["curve"]["lr"]
    assert [e["step"] for e in a["evals"]] == [e["step"] for e in b["evals"]]
    assert a["curve"]["loss"] != b["curve"]["loss"], "rank 0 logs the loss of its half of each batch"
    pairs = [("final", a["final"], b["final"])] + [
        (variant, a["averaged"][variant], b["averaged"][variant]) for variant in a["averaged"]]
    assert {name for name, *_ in pairs} == {"final", "tail", "swalr", "ema"}
    for name, x, y in pairs:
        assert abs(x["test_acc"] - y["test_acc"]) <= ACC_TOLERANCE, (name, x, y)
        assert y["test_loss"] == pytest.approx(x["test_loss"], rel=LOSS_RTOL), (name, x, y)
        assert x.get("n_averaged") == y.get("n_averaged"), name
    assert a["final"]["test_acc"] > 0.3, "the smoke run learns something (10 classes: chance is 0.1)"


def processes_mentioning(text: str) -> list[int]:
    """PIDs of live processes whose command line contains ``text``."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue
            if text in cmdline and state != "Z":
                found.append(int(proc.name))
    return found


@pytest.mark.parametrize("rank", [1, 0])
def test_a_rank_that_raises_fails_the_job_fast_with_its_one_line_error(tmp_path, rank):
    out = tmp_path / f"fault{rank}"
    env = {**os.environ, distributed.FAULT_RAISE_ENV: f"{rank}:5"}
    start = time.perf_counter()
    proc = torchrun(smoke_command(out, tmp_path), tmp_path, env=env, timeout=4 * FAIL_FAST_S)
    wall = time.perf_counter() - start
    assert proc.returncode != 0
    assert wall < FAIL_FAST_S, f"the job took {wall:.0f} s to fail: a rank hung"
    line = (f"stepsize.train: error: rank {rank}: InjectedFault: injected fault after update 5 "
            f"({distributed.FAULT_RAISE_ENV}={rank}:5)")
    assert proc.stderr.splitlines().count(line) == 1, proc.stderr[-3000:]
    # torchrun's failure summary has the rank's traceback (from its error file). It may call the other
    # rank the root cause: that one fails too, at the same second, when its peer's socket closes.
    summary = proc.stderr.split("stepsize.train FAILED", 1)[1]
    assert f"rank      : {rank} (local_rank: {rank})" in summary, summary
    assert "in raise_injected_fault" in summary and "InjectedFault: injected fault" in summary
    assert not (out / "run.json").exists()
    assert processes_mentioning(str(out)) == [], "a worker outlived the failed job"


def test_the_fault_injection_variable_is_checked(monkeypatch):
    procs = distributed.Processes(rank=1, world_size=2, local_rank=1)
    distributed.raise_injected_fault(procs, 5)  # unset: nothing
    for bad in ("1", "x:5", "1:0", "1:-2"):
        monkeypatch.setenv(distributed.FAULT_RAISE_ENV, bad)
        with pytest.raises(ValueError, match="expected <rank>:<update>"):
            distributed.raise_injected_fault(procs, 5)
    monkeypatch.setenv(distributed.FAULT_RAISE_ENV, "1:5")
    distributed.raise_injected_fault(procs, 4)  # another update: nothing
    distributed.raise_injected_fault(distributed.Processes(0, 2, 0), 5)  # another rank: nothing
    with pytest.raises(distributed.InjectedFault, match=r"after update 5 \(STEPSIZE_FAULT_RAISE_RANK=1:5\)"):
        distributed.raise_injected_fault(procs, 5)


def test_error_lines_name_the_rank_only_in_a_run_of_several_processes():
    err = RuntimeError("boom")
    assert distributed.error_line(err, procs=distributed.Processes()) == "stepsize.train: error: boom"
    assert (distributed.error_line(err, unexpected=True, procs=distributed.Processes(1, 2, 1))
            == "stepsize.train: error: rank 1: RuntimeError: boom")


def batch_plan(tmp_path: Path, seeds: tuple[int, ...]) -> Path:
    """A plan of the smoke cosine run at a quarter of the budget, one run per seed."""
    g = grid.load(PROFILE)
    s = g.strategies["cosine"]
    runs = [{"config": str(ROOT / g.train_config), "out": str(tmp_path / f"s{seed}"),
             "set": {**g.overrides("cosine", g.budgets[0], seed, {s.knob: s.values[-1]}),
                     "train.threads": 1, "train.progress": False, "data.cache_dir": str(tmp_path / "cache")}}
            for seed in seeds]
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"runs": runs}))
    return path


def test_a_batch_under_torchrun_trains_every_run_once_on_both_ranks(tmp_path):
    """Every rank executes the plan in the same order; only rank 0 holds the folders and writes the
    records (a rank that skipped a run as "busy" would pair its collectives with the wrong run)."""
    plan = batch_plan(tmp_path, (0, 1, 2))
    proc = torchrun(["-m", "stepsize.batch", str(plan)], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for seed in (0, 1, 2):
        record = json.loads((tmp_path / f"s{seed}/run.json").read_text())
        assert record["status"] == "ok" and record["world_size"] == 2, seed
    assert proc.stdout.count("stepsize.batch: 3 ok") == 2, proc.stdout[-2000:]   # the summary of each rank
    again = torchrun(["-m", "stepsize.batch", str(plan)], tmp_path)
    assert again.returncode == 0 and again.stdout.count("stepsize.batch: 3 kept") == 2, again.stdout[-2000:]


def test_a_run_that_raises_in_a_batch_under_torchrun_fails_the_job_fast(tmp_path):
    plan = batch_plan(tmp_path, (0, 1))
    env = {**os.environ, distributed.FAULT_RAISE_ENV: "1:3"}
    start = time.perf_counter()
    proc = torchrun(["-m", "stepsize.batch", str(plan)], tmp_path, env=env, timeout=4 * FAIL_FAST_S)
    assert proc.returncode != 0 and time.perf_counter() - start < FAIL_FAST_S
    assert f"stepsize.batch: error: {tmp_path / 's0'}: InjectedFault" in proc.stderr, proc.stderr[-3000:]
    assert not (tmp_path / "s1/run.json").exists(), "the job stops at the failed run"
