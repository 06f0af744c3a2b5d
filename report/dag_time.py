"""Where a completed DAG's time went: its training jobs' train / eval / start-up split and load, and the
orchestrator's CPU (read by ``benchmarks/bench_engine.py --dag`` and the README block, `report.readme`).

For every training job, Snakemake's benchmark file (``results/<profile>/benchmarks/train/<job>.tsv``)
gives its wall and CPU seconds; the run records it trained (its plan's ``out`` folders; reused records
excluded) give ``timings_s``: ``train_s`` (updates), ``eval_s`` (every evaluation, precise BN included),
``startup_s`` + ``setup_s``; the rest of the job's wall time is its fixed cost (interpreter, imports,
exit). The orchestrator record (``logs/orchestrator.json``, `report.orchestrator`) holds the Snakemake
process's own CPU time over the DAG's wall time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PARTS = ("train", "eval", "startup")


def job_times(results: Path) -> dict[str, dict[str, float]]:
    """Per training job: ``wall``, ``cpu`` and the summed ``train``/``eval``/``startup`` of its runs."""
    import pandas as pd

    checkout = results.parents[1]  # plans name run folders relative to the checkout
    jobs: dict[str, dict[str, float]] = {}
    for tsv in sorted((results / "benchmarks/train").glob("*.tsv")):
        bench = pd.read_csv(tsv, sep="\t").iloc[-1]
        plan = json.loads((results / "plans" / f"{tsv.stem}.json").read_text())
        paths = [checkout / r["out"] / "run.json" for r in plan["runs"]]
        records = [json.loads(p.read_text()) for p in paths if p.is_file()]  # an unfinished run has none
        timings = [r["timings_s"] for r in records if r.get("timings_s") and not r.get("reused_from")]
        jobs[tsv.stem] = {
            "wall": float(bench["s"]),
            "cpu": float(bench["cpu_time"]),
            "train": sum(t["train_s"] for t in timings),
            "eval": sum(t["eval_s"] for t in timings),
            "startup": sum(t["startup_s"] + t["setup_s"] for t in timings),
        }
    return jobs


def split(jobs: dict[str, dict[str, float]], phase: str = "") -> dict[str, float] | None:
    """The jobs of ``phase`` (a job-name prefix: tune, final, plateau; "" = all) summed: ``jobs``,
    ``wall``, the shares (%) of ``train``/``eval``/``startup``/``fixed`` in their wall time, and their
    ``load`` (%, CPU / wall as Snakemake's benchmark files record it: they sample a job's CPU every 30 s
    after its first 30 s, so this is a lower bound, low for short jobs; ``benchmarks/bench_dag.py``
    samples the training processes every 0.5 s); None when there is no such job."""
    chosen = [j for name, j in jobs.items() if name.startswith(phase)]
    if not chosen:
        return None
    total = {k: sum(j[k] for j in chosen) for k in chosen[0]}
    wall = total["wall"]
    shares = {k: 100 * total[k] / wall for k in PARTS}
    return {"jobs": len(chosen), "wall": wall, **shares, "fixed": 100 - sum(shares.values()),
            "load": 100 * total["cpu"] / wall}


def orchestrator(results: Path) -> dict[str, Any] | None:
    """The orchestrator record with its ``cpu_s`` and ``share`` (% of the machine's CPU time over the
    DAG's wall time), or None when the workflow has not finished there yet."""
    path = results / "logs/orchestrator.json"
    if not path.is_file():
        return None
    record = json.loads(path.read_text())
    cpu = record["cpu_user_s"] + record["cpu_system_s"]
    return {**record, "cpu_s": cpu, "share": 100 * cpu / (record["wall_s"] * (record.get("cores") or 1))}
