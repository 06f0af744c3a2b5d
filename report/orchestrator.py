"""The Snakemake process's own cost: a scheduler that idles when nothing changes, and its CPU record.

Why the scheduler spun (Snakemake 9.27, ``snakemake/scheduling/job_scheduler.py``). With a job rate
limiter (the CLI's default ``--max-jobs-per-timespan 100/1s``) every pass of ``JobScheduler.schedule``
ends by starting a ``threading.Timer(1 s)`` whose only job is to wake the scheduler for another pass.
Each pass triggered by an event (a job started or finished) therefore starts one more perpetual
one-second chain: after N events the scheduler makes ~N passes a second, and every pass re-validates
each ready job, re-evaluates its input functions and stats the inputs (``update_input_sizes``: the
707 run records of ``aggregate``), then, with the ILP scheduler, solves an ILP in a CBC subprocess. On
the 2-core machine that took 14 CPU-minutes of a 52-minute default DAG (AMD EPYC), and 271 CPU-seconds
of a 35-minute one (Intel Xeon, ``benchmarks/RESULTS.md``), its CBC subprocesses not counted, from the
training processes. A local run submits a handful of jobs per minute, so the limiter buys nothing there:
`quiet_local_scheduler` removes it when the workflow starts (``onstart``), and the default workflow
profile picks the greedy scheduler (priorities kept, no ILP per pass; the greedy choice applies to
``--profile profiles/slurm`` too). Cluster runs keep the limiter: there it throttles ``sbatch``.

`write_record` stores the process's CPU time beside its wall time (``onsuccess``/``onerror``), so that
``benchmarks/bench_engine.py --dag`` can print the orchestration share of a completed DAG.
"""

from __future__ import annotations

import json
import os
import resource
import time
from pathlib import Path
from typing import Any

from stepsize.run_record import cpu_model


def quiet_local_scheduler(workflow: Any) -> bool:
    """Drop the job rate limiter of a local run's scheduler (module docstring); return whether it did."""
    scheduler = getattr(workflow, "scheduler", None)
    if not workflow.local_exec or scheduler is None or getattr(scheduler, "job_rate_limiter", None) is None:
        return False
    scheduler.job_rate_limiter = None
    return True


def write_record(
    path: str | Path,
    started: float,
    outcome: str,
    scheduler: str,
    jobs: int | None = None,
    log: str | Path | list | None = None,
) -> dict[str, Any]:
    """Write ``path`` (JSON): this process's user and system CPU seconds (all its threads, not its
    children), the wall seconds since ``started`` (``time.time()``), the outcome, the scheduler, the
    number of jobs it finished, the CPU model and the name of this run's Snakemake log (``log``: the
    path, or a list whose first entry is it), which ties the record to the run `report.readme` reads."""
    if isinstance(log, list | tuple):
        log = log[0] if log else None
    usage = resource.getrusage(resource.RUSAGE_SELF)
    record = {
        "outcome": outcome,
        "scheduler": scheduler,
        "jobs": jobs,
        "wall_s": round(time.time() - started, 3),
        "cpu_user_s": round(usage.ru_utime, 3),
        "cpu_system_s": round(usage.ru_stime, 3),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "pid": os.getpid(),
        "log": None if log is None else Path(log).name,
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=1) + "\n")
    os.replace(tmp, path)
    return record
