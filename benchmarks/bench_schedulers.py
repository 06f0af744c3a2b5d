"""Per-step cost of every ``stepsize.schedules`` scheduler relative to torch's ``CosineAnnealingLR``.

Goal: no schedule's ``scheduler.step()`` costs more than 2× torch's cosine. Each schedule is timed in
blocks interleaved with a cosine scheduler on an identical optimizer (same number of param groups) in
the same run, alternating which goes first; the ratio is the median block CPU time of the schedule
over the median block CPU time of cosine (process CPU time, so other processes' load matters less).
Construction (which evaluates the whole budget once) is reported separately, also as CPU time.
The optimizer is SGD with momentum 0.9, so ``onecycle``'s steps include its momentum cycling (every
group's momentum is set at each step, as torch's ``OneCycleLR`` does by default).
Exit status 1 if any ratio exceeds the goal.

    .venv/bin/python -m benchmarks.bench_schedulers [--steps 20000] [--groups 4] [--rounds 50]  # repo root
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import torch
from torch.optim.lr_scheduler import CosineAnnealingLR, LRScheduler

from stepsize import schedules

GOAL = 2.0


def _optimizer(groups: int) -> torch.optim.Optimizer:
    param_groups = [
        {"params": [torch.nn.Parameter(torch.zeros(8))], "lr": 0.1 * (i + 1)} for i in range(groups)
    ]
    return torch.optim.SGD(param_groups, lr=0.1, momentum=0.9)


def _mark_stepped(sched: LRScheduler) -> LRScheduler:
    """Call the (wrapped) ``optimizer.step()`` once; without gradients it is a no-op that silences
    torch's "scheduler stepped before optimizer" warning."""
    sched.optimizer.step()
    return sched


def _block_ns(sched: LRScheduler, steps: int) -> int:
    """CPU time of ``steps`` scheduler steps (process CPU time: robust to other processes' load)."""
    step = sched.step
    start = time.process_time_ns()
    for _ in range(steps):
        step()
    return time.process_time_ns() - start


def measure(name: str, total: int, groups: int, rounds: int) -> tuple[float, float, float]:
    """Return (µs per step of ``name``, µs per step of torch cosine, construction ms of ``name``)."""
    opt = _optimizer(groups)
    start = time.process_time_ns()
    ours = _mark_stepped(schedules.create(name, opt, total))
    build_ms = (time.process_time_ns() - start) / 1e6
    cosine = _mark_stepped(CosineAnnealingLR(_optimizer(groups), T_max=total - 1))
    block = max(1, total // rounds)
    ours_ns, cosine_ns = [], []
    for r in range(rounds):
        if r % 2 == 0:
            ours_ns.append(_block_ns(ours, block))
            cosine_ns.append(_block_ns(cosine, block))
        else:
            cosine_ns.append(_block_ns(cosine, block))
            ours_ns.append(_block_ns(ours, block))
    return statistics.median(ours_ns) / block / 1e3, statistics.median(cosine_ns) / block / 1e3, build_ms


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--steps", type=int, default=20000, help="budget T, and scheduler steps timed per schedule"
    )
    parser.add_argument("--groups", type=int, default=4, help="optimizer param groups")
    parser.add_argument("--rounds", type=int, default=50, help="interleaved timing blocks")
    args = parser.parse_args(argv)
    if args.steps < args.rounds or args.groups < 1:
        print("error: need --steps >= --rounds and --groups >= 1", file=sys.stderr)
        return 2

    load = os.getloadavg()
    print(
        f"torch {torch.__version__}; T={args.steps}; {args.groups} groups; {args.rounds} interleaved blocks"
    )
    print(
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (CPU times; contention still inflates them)"
    )
    print(f"{'schedule':<12} {'us/step':>9} {'cosine us/step':>15} {'ratio':>7} {'build ms':>9}")
    worst = 0.0
    _mark_stepped(CosineAnnealingLR(_optimizer(args.groups), T_max=1))  # warm up torch's lazy imports
    for name in schedules.NAMES:
        ours_us, cosine_us, build_ms = measure(name, args.steps, args.groups, args.rounds)
        ratio = ours_us / cosine_us
        worst = max(worst, ratio)
        print(f"{name:<12} {ours_us:>9.2f} {cosine_us:>15.2f} {ratio:>7.2f} {build_ms:>9.2f}")
    verdict = "OK" if worst <= GOAL else "FAIL"
    print(f"worst ratio {worst:.2f} (goal <= {GOAL:.1f}x torch CosineAnnealingLR): {verdict}")
    return 0 if worst <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
