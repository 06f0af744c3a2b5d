"""The study engine on this machine: runs per hour batched vs one process per run, fixed cost per budget,
and the achieved FLOP/s of the default model's training step against its kernels' ceiling.

1. **Runs per hour.** One training job of the default profile (a strategy's tuning job: every knob value
   at every budget, as the DAG plans it with `report.plan`) is executed twice, side by side in this run:
   *alone*, one ``python -m stepsize.train`` process per run (the engine before batching), and
   *batched*, one ``python -m stepsize.batch`` process for the whole job. Repetitions alternate
   (alone, batched, batched, alone, ...) so that machine load hits both alike. Printed: wall time of
   each, runs per hour, and the ratio batched / alone (target >= 1.8).
2. **Fixed cost per budget** (target <= 10 % of a job's time at every budget): from the batched job's run
   records (`timings_s`: startup, setup, train, eval) and its process wall time, everything that is not a
   training update or an evaluation. It is split into the per-run fixed cost and the process's one-time
   cost (interpreter start, imports, the dataset load, exit: paid by whichever run comes first), which is
   also printed shared out over the job's runs. The same for the alone mode shows what batching removed.
   ``--dag results/<profile>`` instead prints where a completed DAG's training jobs spent their time
   (train / eval / start-up / fixed, from Snakemake benchmark files and run records, per phase), their
   mean load, and the orchestrator's CPU time (``logs/orchestrator.json``): what the study actually paid.
3. **FLOP/s.** The default model (mini_resnet width 8, batch 128, 1x28x28) counted with
   `torch.utils.flop_counter.FlopCounterMode` over one training step (forward + backward); its achieved
   FLOP/s (the median step time, optimizer included) against the ceiling of the same conv/linear shapes
   timed alone, forward and backward, in this run, and against a large fp32 GEMM.

    bin/with-env python benchmarks/bench_engine.py [--profile experiments/mini.yaml] [--strategy cosine]
                                                   [--reps 2] [--threads 1]
    bin/with-env python benchmarks/bench_engine.py --dag results/mini
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from anywhere without installing


# ------------------------------------------------------------------------------------------- the job
def tuning_job(profile: str, strategy: str, out_root: Path) -> list[dict]:
    """The planned runs of ``strategy``'s first tuning job, writing under ``out_root``."""
    from report import grid as grid_mod
    from report import plan

    g = grid_mod.load(profile)
    batch = next(b for b in plan.batches(g, "tune") if strategy in b.strategies)
    if g.strategies[strategy].inherit or g.strategies[strategy].reuse_from:
        raise SystemExit(f"--strategy {strategy}: pick a strategy that inherits and reuses nothing")
    runs = plan.plan(g, batch, {})["runs"]
    for i, run in enumerate(runs):
        run["out"] = str(out_root / f"r{i}")
        run["reuse"] = None
    return runs


def run_alone(runs: list[dict], threads: int) -> float:
    """One ``stepsize.train`` process per run (sequential); total wall time."""
    start = time.perf_counter()
    for run in runs:
        sets = [f"{k}={json.dumps(v)}" for k, v in run["set"].items()]
        subprocess.run([sys.executable, "-m", "stepsize.train", run["config"], "--out", run["out"],
                        "--set", *sets, f"train.threads={threads}"], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def run_batched(runs: list[dict], plan_path: Path, threads: int) -> float:
    """One ``stepsize.batch`` process for the whole job; its wall time."""
    plan_path.write_text(json.dumps({"runs": [{**r, "set": {**r["set"], "train.threads": threads}}
                                              for r in runs]}))
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "stepsize.batch", str(plan_path)], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def fixed_cost(runs: list[dict], job_wall: float) -> dict[int, tuple[int, float, float, float, float, float]]:
    """budget steps -> (runs, mean wall s, mean train s, mean eval s, mean per-run fixed s, mean share of
    the process's one-time cost s).

    A run's fixed cost is its wall time minus its training and evaluation time. Part of it is paid once
    per process, by whichever run comes first: importing the optimizers' dependencies, loading the
    dataset (a run's ``startup_s + setup_s`` above the median run's). That part, and the job's wall time
    outside every run (interpreter start, ``import torch``, exit), is the process's one-time cost, shared
    equally over its runs; the rest is the per-run fixed cost."""
    records = [json.loads((Path(r["out"]) / "run.json").read_text()) for r in runs]
    before_train = [rec["timings_s"]["startup_s"] + rec["timings_s"]["setup_s"] for rec in records]
    usual = statistics.median(before_train)
    once = [max(0.0, b - usual) for b in before_train]
    outside = max(0.0, job_wall - sum(rec["wall_time_s"] for rec in records))
    shared = (outside + sum(once)) / len(records)
    by_budget: dict[int, list[tuple[float, ...]]] = {}
    for rec, first in zip(records, once, strict=True):
        t = rec["timings_s"]
        per_run = rec["wall_time_s"] - first - t["train_s"] - t["eval_s"]
        by_budget.setdefault(rec["budget_steps"], []).append(
            (rec["wall_time_s"] - first + shared, t["train_s"], t["eval_s"], per_run, shared))
    return {steps: (len(rows), *(sum(r[i] for r in rows) / len(rows) for i in range(5)))
            for steps, rows in sorted(by_budget.items())}


def dag_fixed_cost(results: Path) -> None:
    """Where a completed DAG's time went (`report.dag_time`): per phase of its training jobs, the shares
    of training, evaluation, start-up/set-up and fixed cost in their wall time and their mean load; then
    the orchestrator's CPU time against the DAG's wall time."""
    from report import dag_time

    jobs = dag_time.job_times(results)
    if not jobs:
        raise SystemExit(f"--dag {results}: no training-job benchmark files in {results}/benchmarks/train")
    print(f"\n## Where the training jobs of the completed DAG in {results} spent their time")
    print("| phase | jobs | wall (s) | train | eval | start-up + set-up | fixed (rest) "
          "| load as Snakemake samples it (a lower bound) |")
    print("|---|---|---|---|---|---|---|---|")
    for phase in ("tune", "final", "plateau", ""):
        row = dag_time.split(jobs, phase)
        if row is not None:
            print(f"| {phase or 'all'} | {row['jobs']} | {row['wall']:.0f} | {row['train']:.1f} % | "
                  f"{row['eval']:.1f} % | {row['startup']:.1f} % | {row['fixed']:.1f} % | "
                  f"{row['load']:.0f} % |")
    o = dag_time.orchestrator(results)
    if o is None:
        print(f"\nOrchestrator: no {results}/logs/orchestrator.json (written when a workflow ends)")
    else:
        print(f"\nOrchestrator ({o['scheduler']} scheduler, {o['jobs']} jobs, {o['cpu']}): "
              f"{o['cpu_s']:.1f} CPU s over {o['wall_s'] / 60:.1f} min of wall time, "
              f"{o['share']:.2f} % of the machine's CPU time")


# ------------------------------------------------------------------------------------------- FLOP/s
def flops_report(threads: int, batch: int = 128, width: int = 8) -> None:
    import torch
    import torch.nn.functional as F
    from torch.utils.flop_counter import FlopCounterMode

    from stepsize import models, optim

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = models.create("mini_resnet", 10, 1, width=width)
    opt = optim.create("momentum", model.parameters(), 0.05, momentum=0.9, weight_decay=5e-4)
    x, y = torch.randn(batch, 1, 28, 28), torch.randint(0, 10, (batch,))

    shapes: list[tuple[str, torch.nn.Module, tuple[int, ...]]] = []
    hooks = [m.register_forward_hook(lambda m, i, o: shapes.append((type(m).__name__, m, tuple(i[0].shape))))
             for m in model.modules() if isinstance(m, torch.nn.Conv2d | torch.nn.Linear)]
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(model(x), y).backward()
    for h in hooks:
        h.remove()
    total = counter.get_total_flops()
    kernel = sum(v for op, v in counter.get_flop_counts()["Global"].items()
                 if "conv" in str(op) or "mm" in str(op))

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()

    def timed(fn, reps: int) -> float:
        for _ in range(3):
            fn()
        times = []
        for _ in range(reps):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return statistics.median(times)

    step_s = timed(step, 40)
    inputs = [(m, torch.randn(s, requires_grad=True)) for _, m, s in shapes]

    def kernels() -> None:  # each conv/linear of the step alone, forward + backward (weights' grads too)
        for m, inp in inputs:
            out = (F.conv2d(inp, m.weight, None, m.stride, m.padding, m.dilation, m.groups)
                   if isinstance(m, torch.nn.Conv2d) else F.linear(inp, m.weight))
            out.backward(torch.ones_like(out))

    kernel_s = timed(kernels, 40)
    a = torch.randn(2048, 2048)
    gemm_s = timed(lambda: a @ a, 10)
    achieved = total / step_s
    ceiling = kernel / kernel_s
    gemm = 2 * 2048**3 / gemm_s
    print(f"\n## FLOP/s of one training step (mini_resnet width {width}, batch {batch}, {threads} thread(s))")
    print(f"FLOPs per step (forward + backward, FlopCounterMode): {total / 1e9:.3f} GFLOP "
          f"(convs and GEMMs: {kernel / 1e9:.3f})")
    print(f"achieved: {achieved / 1e9:.1f} GFLOP/s (median step {1e3 * step_s:.2f} ms, optimizer included)")
    print(f"the same conv/linear shapes alone, forward + backward: {ceiling / 1e9:.1f} GFLOP/s "
          f"({1e3 * kernel_s:.2f} ms)")
    print(f"fp32 GEMM 2048^3: {gemm / 1e9:.1f} GFLOP/s")
    print(f"ratio achieved / same-shape kernel ceiling: {achieved / ceiling:.2f}")
    print(f"ratio achieved / GEMM peak: {achieved / gemm:.2f}")


# ------------------------------------------------------------------------------------------- main
def print_fixed(title: str, table: dict[int, tuple[int, float, float, float, float, float]]) -> None:
    print(f"\n{title}")
    print("| budget (updates) | runs | wall per run (s) | train (s) | eval (s) | per-run fixed (s) "
          "| per-run fixed share | + one-time cost shared out (s) | fixed share with it |")
    print("|---|---|---|---|---|---|---|---|---|")
    for steps, (n, wall, tr, ev, per_run, shared) in table.items():
        own, with_shared = per_run / (wall - shared), (per_run + shared) / wall
        print(f"| {steps} | {n} | {wall:.2f} | {tr:.2f} | {ev:.2f} | {per_run:.3f} | {100 * own:.1f} % | "
              f"{shared:.2f} | {100 * with_shared:.1f} % |")
    runs = sum(row[0] for row in table.values())
    wall = sum(n * w for n, w, *_ in table.values())
    work = sum(n * (tr + ev) for n, _, tr, ev, *_ in table.values())
    print(f"| whole job | {runs} | {wall / runs:.2f} | | | | | | {100 * (wall - work) / wall:.1f} % |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="experiments/mini.yaml")
    parser.add_argument("--strategy", default="cosine")
    parser.add_argument("--reps", type=int, default=2, help="repetitions of each mode (alternating)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--skip-flops", action="store_true")
    parser.add_argument("--dag", type=Path, default=None, metavar="RESULTS",
                        help="only summarise the training jobs of a completed DAG (e.g. results/mini)")
    args = parser.parse_args()
    os.chdir(ROOT)
    if args.dag is not None:
        dag_fixed_cost(args.dag)
        return
    load = os.getloadavg()[0]
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown CPU")
    print(f"# bench_engine: {cpu}, {os.cpu_count()} cores, load average {load:.2f} at start")
    tmp = Path(tempfile.mkdtemp(prefix="bench_engine_"))
    try:
        walls: dict[str, list[float]] = {"alone": [], "batched": []}
        last: dict[str, list[dict]] = {}
        order = ["alone", "batched", "batched", "alone"] * ((args.reps + 1) // 2)
        for i, mode in enumerate(order[: 2 * args.reps]):
            runs = tuning_job(args.profile, args.strategy, tmp / f"{mode}{i}")
            wall = run_alone(runs, args.threads) if mode == "alone" else \
                run_batched(runs, tmp / f"plan{i}.json", args.threads)
            walls[mode].append(wall)
            last[mode] = runs
            print(f"rep {i}: {mode:8s} {len(runs)} runs in {wall:.1f} s")
        n = len(last["batched"])
        alone, batched = statistics.median(walls["alone"]), statistics.median(walls["batched"])
        print(f"\n## Runs per hour ({args.strategy}'s tuning job of {args.profile}: {n} runs, "
              f"{args.threads} thread(s), median of {args.reps})")
        print(f"one process per run: {alone:.1f} s -> {3600 * n / alone:.0f} runs/hour")
        print(f"batched (one process): {batched:.1f} s -> {3600 * n / batched:.0f} runs/hour")
        print(f"ratio batched / alone: {alone / batched:.2f} (target >= 1.8)")
        print_fixed("## Fixed cost per budget, batched (target <= 10 %)",
                    fixed_cost(last["batched"], walls["batched"][-1]))
        print_fixed("## Fixed cost per budget, one process per run",
                    fixed_cost(last["alone"], walls["alone"][-1]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not args.skip_flops:
        flops_report(args.threads)


if __name__ == "__main__":
    main()
