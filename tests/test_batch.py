"""The batch runner (many runs in one process) and the guarantees every run keeps in it: a record
identical to the same run alone, isolation of a failing run, resumption that redoes only what is missing
or stale, one writer per run folder, and one-line errors for file-system faults."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stepsize import config, run_dir, run_record
from stepsize.train import main as train_main
from stepsize.train import train

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "experiments/base/fashion_mnist.yaml"
TINY = {
    "data": {"name": "synthetic", "in_channels": 1, "image_size": 12, "train_size": 512, "test_size": 256,
             "val_size": 128, "batch_size": 32, "eval_batch_size": 128, "augment": False},
    "model.name": "mini_resnet", "model.width": 4, "budget.steps": 24,
    "swa.variants": ["tail", "swalr"], "swa.start": 0.5, "swa.bn_batches": 2,
    "eval.final": ["test", "val"], "eval.along": ["val"], "eval.at_fractions": [0.5, 1.0],
    "train.device": "cpu", "train.threads": 1, "train.progress": False, "train.channels_last": False,
}
METRICS = ("status", "final", "averaged", "evals", "curve")


def planned(out: Path, **extra) -> dict:
    return {"config": str(BASE), "set": {**TINY, **extra}, "out": str(out)}


def write_plan(path: Path, runs: list[dict]) -> Path:
    path.write_text(json.dumps({"runs": runs}))
    return path


def run_batch(plan: Path, env: dict | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "stepsize.batch", str(plan)], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env=env)


def record(out: Path) -> dict:
    return json.loads((out / "run.json").read_text())


@pytest.fixture(scope="module")
def three_runs(tmp_path_factory) -> tuple[Path, list[dict], subprocess.CompletedProcess]:
    """A batch of three different runs: SGD with momentum, Schedule-Free (evaluation point) and DoG with
    its polynomial average."""
    root = tmp_path_factory.mktemp("batch")
    runs = [planned(root / "momentum"),
            planned(root / "sf", **{"optimizer": {"name": "sf_sgd", "lr": 1.0}, "schedule.name": "constant",
                                    "schedule.warmup_fraction": 0.1}),
            planned(root / "dog", **{"optimizer": {"name": "dog", "lr": 1.0}, "schedule.name": "constant",
                                     "swa.variants": ["tail", "poly"], "swa.running": "poly"})]
    proc = run_batch(write_plan(root / "plan.json", runs))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root, runs, proc


def test_a_run_in_a_batch_equals_the_same_run_alone(three_runs, tmp_path):
    root, runs, proc = three_runs
    assert "3 ok" in proc.stdout
    for run in runs:
        alone = train(config.load(run["config"], values=run["set"]), tmp_path / Path(run["out"]).name)
        in_batch = record(Path(run["out"]))
        for key in METRICS:
            assert in_batch[key] == alone[key], f"{run['out']}: {key} differs between the batch and alone"
    assert set(record(root / "dog")["averaged"]) == {"tail", "poly"}


def test_a_finished_batch_is_kept_and_a_stale_record_is_retrained(three_runs):
    root, runs, _ = three_runs
    before = {r["out"]: (Path(r["out"]) / "run.json").stat().st_mtime_ns for r in runs}
    proc = run_batch(root / "plan.json")
    assert proc.returncode == 0 and "3 kept" in proc.stdout
    assert before == {r["out"]: (Path(r["out"]) / "run.json").stat().st_mtime_ns for r in runs}
    # a record made by code that has changed since (here: a module hash that no longer matches)
    stale = record(root / "sf")
    module = next(iter(stale["code"]["modules"]))
    stale["code"]["modules"][module] = "0" * 16
    (root / "sf" / "run.json").write_text(json.dumps(stale))
    assert not run_record.is_current(stale, stale["config"])
    proc = run_batch(root / "plan.json")
    assert proc.returncode == 0 and "2 kept, 1 ok" in proc.stdout
    assert record(root / "sf")["code"]["modules"][module] != "0" * 16


def test_the_code_provenance_holds_the_run_own_specs_only(three_runs):
    root, _, _ = three_runs
    modules = record(root / "dog")["code"]["modules"]
    assert "optim/library/dog.py" in modules and "schedules/library/constant.py" in modules
    assert "optim/library/prodigy.py" not in modules and "schedules/library/cosine.py" not in modules
    assert "train.py" in modules and "averaging.py" in modules


def test_a_failing_run_leaves_the_others_done_and_is_retried(tmp_path):
    runs = [planned(tmp_path / "a"), planned(tmp_path / "bad", **{"optimizer.lr": -1.0}),
            planned(tmp_path / "b", **{"train.seed": 1})]
    plan = write_plan(tmp_path / "plan.json", runs)
    proc = run_batch(plan)
    assert proc.returncode == 0, proc.stderr
    assert record(tmp_path / "a")["status"] == record(tmp_path / "b")["status"] == "ok"
    failed = record(tmp_path / "bad")
    assert failed["status"] == "failed" and "optimizer.lr" in failed["error"] and "\n" not in failed["error"]
    assert "stepsize.batch: error:" in proc.stderr and "optimizer.lr" in proc.stderr
    runs[1]["set"]["optimizer.lr"] = 0.05  # fixed: the next invocation retries it, keeps the others
    proc = run_batch(write_plan(plan, runs))
    assert proc.returncode == 0 and "2 kept, 1 ok" in proc.stdout
    assert record(tmp_path / "bad")["status"] == "ok"


def test_a_killed_batch_redoes_only_what_was_missing(tmp_path):
    runs = [planned(tmp_path / f"r{i}", **{"train.seed": i, "budget.steps": 60, "train.checkpoint_every": 5})
            for i in range(3)]
    plan = write_plan(tmp_path / "plan.json", runs)
    proc = subprocess.Popen([sys.executable, "-m", "stepsize.batch", str(plan)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    while not (tmp_path / "r0" / "run.json").exists() and time.time() < deadline:
        time.sleep(0.05)
    while not (tmp_path / "r1" / "checkpoint.pt").exists() and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (tmp_path / "r0" / "run.json").exists() and not (tmp_path / "r2" / "run.json").exists()
    first = (tmp_path / "r0" / "run.json").stat().st_mtime_ns
    again = run_batch(plan)
    assert again.returncode == 0 and "1 kept, 2 ok" in again.stdout, again.stdout
    assert (tmp_path / "r0" / "run.json").stat().st_mtime_ns == first
    uninterrupted = run_batch(write_plan(tmp_path / "plan2.json", [
        planned(tmp_path / f"u{i}", **{"train.seed": i, "budget.steps": 60, "train.checkpoint_every": 5})
        for i in range(3)]))
    assert uninterrupted.returncode == 0
    for i in range(3):
        for key in METRICS:
            assert record(tmp_path / f"r{i}")[key] == record(tmp_path / f"u{i}")[key], (i, key)


def test_a_second_writer_of_a_run_folder_is_refused_in_one_line(tmp_path, capsys):
    out = tmp_path / "o"
    with run_dir.claim(out):
        proc = subprocess.run([sys.executable, "-m", "stepsize.train", str(BASE), "--out", str(out), "--set",
                               *[f"{k}={json.dumps(v)}" for k, v in TINY.items()]],
                              capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 1
    assert proc.stderr.strip().endswith(f"in use by pid {os.getpid()} on {os.uname().nodename} "
                                        "(one writer per run folder)") and proc.stderr.count("\n") == 1
    assert not (out / "run.json").exists()


def test_a_lock_taken_on_a_file_its_holder_just_unlinked_is_taken_again(tmp_path, monkeypatch):
    """Writer B opens ``.lock`` while A holds it; A finishes (unlinks the file, lets go); B's lock on the
    unlinked file would protect nothing, so B drops it and locks the file now at the path, which a third
    writer then finds held."""
    out = tmp_path / "o"
    with run_dir.claim(out):
        opened_while_held = os.open(out / run_dir.LOCK_NAME, os.O_RDWR)
    real_open, calls = os.open, []

    def first_open_is_stale(path, flags, mode=0o777):
        calls.append(path)
        return os.dup(opened_while_held) if len(calls) == 1 else real_open(path, flags, mode)

    monkeypatch.setattr(run_dir.os, "open", first_open_is_stale)
    with run_dir.claim(out):
        monkeypatch.setattr(run_dir.os, "open", real_open)
        assert len(calls) == 2, "the stale descriptor was dropped and the lock taken again"
        with pytest.raises(run_dir.RunDirError, match="in use by pid"):
            with run_dir.claim(out):
                pass
    os.close(opened_while_held)


def test_an_unwritable_output_folder_is_refused_before_any_compute(tmp_path, capsys):
    args = [str(BASE), "--set", *[f"{k}={json.dumps(v)}" for k, v in TINY.items()]]
    assert train_main([*args[:1], "--out", "/proc/self", *args[1:]]) == 1
    err = capsys.readouterr().err
    assert "--out /proc/self: cannot write there" in err and "nothing was trained" in err
    assert err.count("\n") == 1


def test_a_full_disk_when_writing_the_record_is_one_line(tmp_path, capsys, monkeypatch):
    import errno

    real = os.replace

    def full(src, dst):
        if str(dst).endswith("run.json"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))
        return real(src, dst)

    monkeypatch.setattr(os, "replace", full)
    args = [str(BASE), "--out", str(tmp_path / "o"), "--set",
            *[f"{k}={json.dumps(v)}" for k, v in TINY.items()]]
    assert train_main(args) == 1
    err = capsys.readouterr().err
    assert "No space left on device" in err and "run.json" in err and err.count("\n") == 1
    assert not list((tmp_path / "o").glob(".run.json.*.tmp")), "the temporary file is removed"


def test_a_bad_plan_is_one_line(tmp_path):
    bad = tmp_path / "plan.json"
    bad.write_text('{"runs": [{"out": "x"}]}')
    proc = run_batch(bad)
    assert proc.returncode == 1 and "runs[0] must have keys config, out" in proc.stderr
    assert proc.stderr.count("\n") == 1


def test_the_batch_stops_when_the_workflow_that_started_it_is_gone(tmp_path):
    """STEPSIZE_STOP_WITH (set by the Snakefile to Snakemake's PID): when that process dies, the
    trainer exits within seconds instead of computing on as an orphan."""
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    runs = [planned(tmp_path / f"r{i}", **{"train.seed": i, "budget.steps": 3000}) for i in range(4)]
    plan = write_plan(tmp_path / "plan.json", runs)
    proc = subprocess.Popen([sys.executable, "-m", "stepsize.batch", str(plan)], cwd=ROOT, text=True,
                            stderr=subprocess.PIPE, env={**os.environ, "STEPSIZE_STOP_WITH": str(parent.pid)})
    time.sleep(3)
    parent.kill()
    parent.wait()
    start = time.time()
    _, err = proc.communicate(timeout=60)
    assert time.time() - start < 10 and proc.returncode == 1
    assert f"the workflow process {parent.pid} that started this job is gone" in err
