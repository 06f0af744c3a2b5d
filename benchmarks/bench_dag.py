"""A whole DAG, timed as a user runs it: wall time, the orchestrator's CPU, the training processes' load.

    bin/with-env python benchmarks/bench_dag.py --fresh [--checkout DIR] [--profile mini] [-- SNAKEMAKE ARGS]

Runs ``snakemake --cores all`` (the README's main command, with the interpreter of this environment) in
``--checkout`` (default: this repository) from empty ``results/<profile>``, ``figures/<profile>`` and
``paper/build/<profile>`` folders (``--fresh`` deletes them first; without it, existing outputs are
refused, never deleted, or kept as they are with ``--keep``), and prints one Markdown row:

- **wall** time of the whole command;
- **orchestrator CPU**: the ``snakemake`` process's own user + system seconds (all its threads, not its
  children), sampled from ``/proc/PID/stat`` every 0.5 s until it exits; its share of the DAG's total
  CPU time (``RUSAGE_CHILDREN`` of this script: every process of the run);
- **training load**: the CPU seconds over the wall seconds of the training processes (``python -m
  stepsize.batch``), each sampled from ``/proc`` every 0.5 s from the first time it is seen to the last
  (Snakemake's own benchmark files are no measure of it: they sample a job's CPU time every 30 s after
  its first 30 s, so a 40-second job loses the CPU of its last 10);
- the CPU model, so that a time always names its machine.

To compare two commits side by side, run it twice in one session on the same machine, e.g. with a
clone of the older commit as ``--checkout`` (``git worktree add /some/dir COMMIT``), and compare the
tables of both with ``benchmarks/compare_tables.py``.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from stepsize.run_record import cpu_model  # noqa: E402


def process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` itself (all threads), or None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Trainers:
    """The training processes seen so far: per PID, [first seen, last seen, CPU then, CPU now]."""

    MARK = b"-m\x00stepsize.batch\x00"  # in /proc/PID/cmdline (arguments are NUL-separated)

    def __init__(self) -> None:
        self.seen: dict[int, list[float]] = {}

    def sample(self) -> None:
        now = time.monotonic()
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                if self.MARK not in Path(f"/proc/{name}/cmdline").read_bytes():
                    continue
            except OSError:
                continue
            cpu = process_cpu_s(int(name))
            if cpu is not None:
                entry = self.seen.setdefault(int(name), [now, now, cpu, cpu])
                entry[1], entry[3] = now, cpu

    def load(self) -> tuple[float, float, int]:
        """(CPU seconds, wall seconds, processes) over the sampled lifetimes."""
        cpu = sum(e[3] - e[2] for e in self.seen.values())
        wall = sum(e[1] - e[0] for e in self.seen.values())
        return cpu, wall, len(self.seen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--checkout", type=Path, default=ROOT, help="repository to run in (default: this one)"
    )
    parser.add_argument("--profile", default="mini", help="profile name")
    parser.add_argument("--fresh", action="store_true", help="delete the profile's earlier outputs first")
    parser.add_argument("--keep", action="store_true", help="time a run over the earlier outputs as they are")
    parser.add_argument("snakemake_args", nargs="*", help="extra snakemake arguments (after --)")
    args = parser.parse_args()
    checkout = args.checkout.resolve()
    if not (checkout / "Snakefile").is_file():
        raise SystemExit(f"--checkout {checkout}: no Snakefile there")
    earlier = checkout / "results" / args.profile
    if earlier.exists() and not (args.fresh or args.keep):
        raise SystemExit(f"{earlier} exists: pass --fresh to delete it (and the profile's figures and paper) "
                         "and time the DAG from empty results, or --keep to time a run over it")
    if args.fresh:
        for sub in (f"results/{args.profile}", f"figures/{args.profile}", f"paper/build/{args.profile}"):
            shutil.rmtree(checkout / sub, ignore_errors=True)
    command = [sys.executable, "-m", "snakemake", "--cores", "all", *args.snakemake_args]
    commit = subprocess.run(
        ["git", "rev-parse", "--short=12", "HEAD"], cwd=checkout, capture_output=True, text=True
    ).stdout.strip()
    load = os.getloadavg()[0]
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=checkout, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    orchestrator = 0.0
    trainers = Trainers()
    while proc.poll() is None:
        value = process_cpu_s(proc.pid)
        if value is not None:
            orchestrator = value
        trainers.sample()
        time.sleep(0.5)
    wall = time.perf_counter() - started
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    total_cpu = children.ru_utime + children.ru_stime
    if proc.returncode != 0:
        raise SystemExit(f"snakemake exited with {proc.returncode} in {checkout} (see its .snakemake/log)")
    train_cpu, train_wall, jobs = trainers.load()
    print(
        "| commit | CPU | load at start | wall (min) | DAG CPU (min) | orchestrator CPU (s) | its share "
        "| training processes | their load |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    print(
        f"| {commit} | {cpu_model()}, {os.cpu_count()} cores | {load:.2f} | {wall / 60:.1f} | "
        f"{total_cpu / 60:.1f} | {orchestrator:.0f} | {100 * orchestrator / total_cpu:.1f} % | {jobs} | "
        f"{100 * train_cpu / train_wall:.0f} % |"
    )


if __name__ == "__main__":
    main()
