"""Many training runs in one process: ``python -m stepsize.batch PLAN.json [--workers K]``.

A study job is a batch of grid points (the Snakefile writes one plan per job, design.md §7). Running
them in one process pays the interpreter, ``import torch`` and dataset decoding once per job instead of
once per run; every run still goes through `stepsize.train.train` exactly as alone, so its record is
identical bit for bit (CPU) to the same run executed by ``python -m stepsize.train``.

Plan: ``{"runs": [{"config": base YAML, "set": {dotted key: value}, "out": DIR, "reuse": null | path}]}``.
For each run, in order:

- a record in ``DIR/run.json`` that is *current* (`stepsize.run_record.is_current`: finished, same
  resolved config, unchanged code) is kept: rerunning a job after an interruption, or after an edit that
  does not touch what a run imports, redoes only what is missing or stale;
- ``reuse``: the run is known to equal another run bit for bit (UBA with φ = 2 is cosine, tested), so
  that run's current record is copied, with this run's config and a ``reused_from`` note;
- otherwise it trains (resuming from ``DIR/checkpoint.pt`` if a kill cut it short). A run that raises is
  recorded as ``status: failed`` with its one-line error, and the batch goes on; a failed record is
  retried the next time the job runs.

Under torchrun (multi-GPU runs) every rank executes the plan; rank 0 holds the folders and writes the
records, and a run that raises fails the job (the other ranks would wait forever in a collective).

``--workers K`` runs K processes over the plan (several runs sharing one GPU); they divide the runs by
the output folders' locks, so each run is trained once.

Exit status: 0 when every run has a record (ok, diverged or failed), 1 for a bad plan. A failed run
does not fail the job on purpose: Snakemake deletes the new outputs of a failed job, which would throw
away the finished runs of the same batch; the failure is on stderr and in the record, the report counts
it, and the Snakefile moves a failed record aside (``run.failed.json``) when it plans the workflow, so
the next ``snakemake`` (a dry run too) shows and reruns the job: the failed run is retried, the others
are kept.
"""

from __future__ import annotations

import time

_START = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import traceback  # noqa: E402
from contextlib import nullcontext  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from stepsize import config, run_dir, run_record  # noqa: E402

PLAN_KEYS = {"config", "set", "out", "reuse"}


class PlanError(ValueError):
    """The plan file is malformed; the message names the file and the run."""


def read_plan(path: str | Path) -> list[dict[str, Any]]:
    """The runs of a plan file, checked (one-line `PlanError` naming the file and the entry)."""
    path = Path(path)
    try:
        plan = json.loads(path.read_text())
    except OSError as err:
        raise PlanError(f"plan {path}: {err.strerror}") from None
    except ValueError as err:
        raise PlanError(f"plan {path}: not valid JSON ({err})") from None
    runs = plan.get("runs") if isinstance(plan, dict) else None
    if not isinstance(runs, list):
        raise PlanError(f"plan {path}: expected an object with a 'runs' list")
    for i, run in enumerate(runs):
        if not isinstance(run, dict) or not {"config", "out"} <= set(run) or set(run) - PLAN_KEYS:
            raise PlanError(f"plan {path}: runs[{i}] must have keys config, out (and set, reuse), "
                            f"got {run!r}")
    return runs


def reuse(cfg: dict[str, Any], source: str | Path, out: Path) -> dict[str, Any]:
    """Copy the current record at ``source`` (ValueError when there is none) as this run's record."""
    record = run_record.read_json(source)
    if not (isinstance(record, dict) and record.get("status") in run_record.FINAL_STATUSES):
        raise ValueError(f"reuse: {source} has no finished run record to reuse")
    if run_record.code_changed((record.get("code") or {}).get("modules")):
        raise ValueError(f"reuse: {source} was made by code that has changed since; rerun it first")
    record = {**record, "config": cfg, "reused_from": str(source)}
    run_record.write_json_atomic(out / "run.json", record)
    return record


def execute(run: dict[str, Any], started: float) -> str:
    """One planned run: "kept", "reused", "ok", "diverged", "failed" or "busy" (another worker has it)."""
    from stepsize import distributed
    from stepsize.train import one_line, summary_line, train

    out = Path(run["out"])
    procs = distributed.from_environment()
    cfg = None
    try:
        cfg = config.load(run["config"], values=run.get("set") or {})
        # Under torchrun only rank 0 holds the folder; the other ranks follow the same decisions (a run's
        # record changes only by rank 0, after the run's last collective), so every rank trains the same
        # runs in the same order.
        with run_dir.claim(out) if procs.is_main else nullcontext(out):
            if run_record.is_current(run_record.read_json(out / "run.json"), cfg):
                return "kept"
            if run.get("reuse"):
                if procs.is_main:
                    reuse(cfg, run["reuse"], out)
                return "reused"
            record = train(cfg, out, started, claimed=True, keep_group=True)
            if procs.is_main:
                (out / "run.failed.json").unlink(missing_ok=True)
        if procs.is_main:
            print(summary_line(record, out), flush=True)
        return record["status"]
    except run_dir.RunDirError as err:
        if "in use by" in str(err):
            return "busy"
        return _failed(cfg, out, one_line(err), procs)
    except Exception as err:
        traceback.print_exc(file=sys.stderr)
        return _failed(cfg, out, f"{type(err).__name__}: {one_line(err)}", procs)


def _failed(cfg: dict[str, Any] | None, out: Path, error: str, procs: Any) -> str:
    """Record a failed run (rank 0). Under torchrun the job stops instead (raises): the other ranks may
    wait in a collective of the failed run, and torchrun's agent ends them."""
    print(f"stepsize.batch: error: {out}: {error}", file=sys.stderr, flush=True)
    if procs.world_size > 1:
        if procs.is_main:
            _write_failed(cfg, out, error)
        raise SystemExit(1)
    _write_failed(cfg, out, error)
    return "failed"


def _write_failed(cfg: dict[str, Any] | None, out: Path, error: str) -> None:
    try:
        with run_dir.claim(out):
            run_record.write_json_atomic(out / "run.json", run_record.failed_record(cfg, error))
    except OSError:
        pass  # the folder cannot take even the failure record: the message above is all there is


def run_plan(runs: list[dict[str, Any]]) -> dict[str, int]:
    """Execute every run of the plan in this process; counts of outcomes."""
    counts: dict[str, int] = {}
    for i, run in enumerate(runs):
        started = _START if i == 0 else time.perf_counter()
        outcome = execute(run, started)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def missing(runs: list[dict[str, Any]]) -> list[str]:
    """The output folders of the plan that have no record (ok, diverged or failed)."""
    return [r["out"] for r in runs
            if (run_record.read_json(Path(r["out"]) / "run.json") or {}).get("status")
            not in (*run_record.FINAL_STATUSES, "failed")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stepsize.batch", description=__doc__.split("\n")[0])
    parser.add_argument("plan", help="plan JSON: {'runs': [{'config', 'set', 'out', 'reuse'}, ...]}")
    parser.add_argument("--workers", type=int, default=1, help="processes sharing this job (one device)")
    parser.add_argument("--threads", type=int, help="torch threads of each run (train.threads; default: "
                        "the run's config)")
    parser.add_argument("--stop-with", type=int, metavar="PID", help="exit when process PID is gone (the "
                        "Snakemake process that started the job, stepsize.lifeline; default: "
                        "$STEPSIZE_STOP_WITH, which the Snakefile sets)")
    args = parser.parse_args(argv)
    env = os.environ.get("STEPSIZE_STOP_WITH", "")
    args.stop_with = args.stop_with or (int(env) if env.isdigit() else None)
    if args.stop_with:
        from stepsize.lifeline import stop_with

        stop_with(args.stop_with, "stepsize.batch")
    try:
        runs = read_plan(args.plan)
    except PlanError as err:
        print(f"stepsize.batch: error: {err}", file=sys.stderr)
        return 1
    if args.workers < 1:
        print(f"stepsize.batch: error: --workers must be >= 1, got {args.workers}", file=sys.stderr)
        return 1
    if args.threads is not None and args.threads < 1:
        print(f"stepsize.batch: error: --threads must be >= 1, got {args.threads}", file=sys.stderr)
        return 1
    if args.threads is not None:  # not part of what a record is compared on (run_record.comparable)
        runs = [{**run, "set": {**(run.get("set") or {}), "train.threads": args.threads}} for run in runs]
    if args.workers > 1:
        extra = ["--stop-with", str(args.stop_with)] if args.stop_with else []
        extra += ["--threads", str(args.threads)] if args.threads is not None else []
        procs = [subprocess.Popen([sys.executable, "-m", "stepsize.batch", args.plan, *extra])
                 for _ in range(args.workers)]
        for proc in procs:
            proc.wait()
    else:
        from stepsize import distributed

        try:
            counts = run_plan(runs)
        finally:
            distributed.shutdown(distributed.from_environment())
        print("stepsize.batch: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())), flush=True)
    lost = missing(runs)
    if lost:
        print(f"stepsize.batch: error: {len(lost)} run(s) left no record, first {lost[0]}", file=sys.stderr)
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
