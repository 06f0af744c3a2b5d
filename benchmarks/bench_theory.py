"""Time the theory part of the DAG on a size (default mini) against the 60 s target: `python -m theory check`,
`python -m theory bench` (project protocol) and `python -m theory bench --protocol official`.

Runs the three commands as subprocesses, one after the other, as the DAG's rules run them (the two
benches with ``--jobs 2``: two problems at a time on the machine's two cores), twice: with an empty
f*/SDP cache (cold: includes the reference solves and the κ* SDPs) and again with that cache filled
(warm). Prints each wall time and CPU time (user + system of the subprocess and its workers), the totals
against the target, and the load average (the machine may be shared).

    bin/with-env python benchmarks/bench_theory.py [--size mini] [--target 60] [--jobs 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COMMANDS = (("check",), ("bench",), ("bench", "--protocol", "official"))


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], cpu_totals: list[float]) -> float:
    start, cpu_start = time.perf_counter(), _children_cpu()
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - start, _children_cpu() - cpu_start
    cpu_totals.append(cpu)
    if result.returncode not in (0, 1):  # 1 = a bound check failed: still a timing, reported below
        sys.exit(f"command failed ({result.returncode}): {' '.join(command)}\n{result.stderr.strip()}")
    last_line = result.stdout.strip().splitlines()[-1]
    shown = command[3:command.index("--out")]
    print(f"    theory {' '.join(shown)}: {wall:6.1f} s wall, {cpu:6.1f} s CPU  ({last_line})")
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="mini", choices=("smoke", "mini", "full"))
    parser.add_argument("--target", type=float, default=60.0, help="seconds")
    parser.add_argument("--jobs", type=int, default=2, help="processes of each bench (the DAG's: 2)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cache, out = Path(tmp) / "cache", Path(tmp) / "out"
        totals, cpu = {}, {}
        for label in ("cold cache", "warm cache"):
            print(f"{label}:")
            cpu[label] = []
            totals[label] = sum(
                timed(
                    [
                        sys.executable,
                        "-m",
                        "theory",
                        *command,
                        "--out",
                        str(out / "-".join(command)),
                        "--size",
                        args.size,
                        "--cache-dir",
                        str(cache),
                        *(("--jobs", str(args.jobs)) if command[0] == "bench" else ()),
                    ],
                    cpu[label],
                )
                for command in COMMANDS
            )
    for label, total in totals.items():
        print(
            f"theory check + bench + official bench ({args.size}, {label}): {total:.1f} s wall = "
            f"{total / args.target:.2f} × the {args.target:g} s target; {sum(cpu[label]):.1f} s CPU = "
            f"{sum(cpu[label]) / args.target:.2f} ×"
        )
    print("load average (1, 5, 15 min): " + ", ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
