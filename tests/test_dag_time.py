"""Where a completed DAG's time went (report.dag_time): the training jobs' split from their Snakemake
benchmark files and run records, and the orchestrator record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from report import dag_time


def write_job(results: Path, job: str, wall: float, cpu: float, timings: list[dict], reused: int = 0) -> None:
    (results / "benchmarks/train").mkdir(parents=True, exist_ok=True)
    (results / "plans").mkdir(parents=True, exist_ok=True)
    (results / "benchmarks/train" / f"{job}.tsv").write_text(
        "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
        f"{wall}\t0:00:10\t1\t1\t1\t1\t0\t0\t{100 * cpu / wall}\t{cpu}\n")
    runs = []
    for i, t in enumerate([*timings, *[None] * reused]):
        out = f"results/p/runs/{job}/s{i}"
        runs.append({"out": out})
        folder = results.parents[1] / out
        folder.mkdir(parents=True)
        copied = {"train_s": 99.0, "eval_s": 99.0, "startup_s": 9.0, "setup_s": 9.0}  # another run's
        record = {"reused_from": "elsewhere", "timings_s": copied} if t is None else {"timings_s": t}
        (folder / "run.json").write_text(json.dumps(record))
    (results / "plans" / f"{job}.json").write_text(json.dumps({"runs": runs}))


def test_the_split_sums_the_runs_each_job_trained_and_leaves_out_reused_records(tmp_path):
    results = tmp_path / "results/p"
    run = {"train_s": 3.0, "eval_s": 1.0, "startup_s": 0.5, "setup_s": 0.5}
    write_job(results, "tune_a_0", wall=10.0, cpu=9.0, timings=[run, run], reused=1)
    write_job(results, "final_a_0", wall=20.0, cpu=19.0, timings=[{**run, "train_s": 12.0}])
    jobs = dag_time.job_times(results)
    assert jobs["tune_a_0"] == {"wall": 10.0, "cpu": 9.0, "train": 6.0, "eval": 2.0, "startup": 2.0}
    tune = dag_time.split(jobs, "tune")
    assert tune["jobs"] == 1 and tune["train"] == pytest.approx(60) and tune["fixed"] == pytest.approx(0)
    total = dag_time.split(jobs)
    assert total["jobs"] == 2 and total["wall"] == 30.0
    assert total["train"] == pytest.approx(100 * 18 / 30) and total["eval"] == pytest.approx(100 * 3 / 30)
    assert total["fixed"] == pytest.approx(100 - 100 * (18 + 3 + 3) / 30)
    assert total["load"] == pytest.approx(100 * 28 / 30)
    assert dag_time.split(jobs, "plateau") is None


def test_the_orchestrator_share_is_its_cpu_over_the_machine_time(tmp_path):
    results = tmp_path / "results/p"
    assert dag_time.orchestrator(results) is None
    (results / "logs").mkdir(parents=True)
    (results / "logs/orchestrator.json").write_text(json.dumps(
        {"cpu_user_s": 3.0, "cpu_system_s": 1.0, "wall_s": 100.0, "cores": 2, "scheduler": "greedy"}))
    o = dag_time.orchestrator(results)
    assert o["cpu_s"] == 4.0 and o["share"] == pytest.approx(2.0)
