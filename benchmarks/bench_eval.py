"""Where a run's evaluation time goes, and what the evaluation kernels can still gain, side by side.

    bin/with-env python benchmarks/bench_eval.py [--profile experiments/mini.yaml] [--strategy cosine]
                                                 [--reps 5] [--threads 1]

1. **Breakdown per budget.** One final run of ``--strategy`` at each budget of the profile, planned as the
   DAG plans it (`report.plan`: the same splits, averages, anytime evaluations), with the evaluation's
   three parts timed inside the real loop: the forward passes over the evaluation splits (and the images
   they cover), the BatchNorm recomputation on training batches (precise BN), and the BatchNorm folding.
   Printed beside the run's training time, so that evaluation's share of the run is the row's last column.
2. **Kernels.** The default model (BatchNorm folded, as evaluated) over 10,000 images, every option timed
   in rotation (``--reps`` rounds, median): ``no_grad`` vs ``inference_mode``, eval batch 125-1000,
   channels-last, TorchScript freeze + ``optimize_for_inference``, and four models stacked with
   ``torch.func`` (one pass for several averages) against the same four one after the other. Each
   option's largest logit difference to the default says whether it would change a result.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from stepsize.run_record import cpu_model  # noqa: E402


# ------------------------------------------------------------------------------------ 1. breakdown
def final_run_configs(profile: str, strategy: str) -> list[dict]:
    """The resolved configs of the first final run of ``strategy`` at every budget, as `report.plan`
    plans them (evaluated splits, averages, anytime evaluations), its knob at the middle of its grid."""
    from report import grid as grid_mod
    from report import plan
    from stepsize import config

    g = grid_mod.load(profile)
    s = g.strategies[strategy]
    if s.inherit:
        raise SystemExit(f"--strategy {strategy}: pick a strategy that inherits nothing")
    knobs = {s.knob: s.values[len(s.values) // 2]} if s.knob else {}
    first = {}
    for run in plan.runs(g, "final", strategy):
        first.setdefault(run.budget.steps, g.overrides(strategy, run.budget, run.seed, knobs, "final"))
    return [config.load(g.train_config, values=first[steps]) for steps in sorted(first)]


def timed_parts() -> tuple[dict[str, float], dict[str, int], Callable[[], None]]:
    """Wrap the evaluation's parts with timers; return (seconds, counts, undo)."""
    import stepsize.evaluation as evaluation
    import stepsize.train as train

    seconds = {"forward": 0.0, "recompute_bn": 0.0, "fold_bn": 0.0}
    counts = {"images": 0, "evaluations": 0}
    originals = (
        train.evaluate_splits,
        train.averaging.recompute_bn,
        evaluation.fold_batchnorm,
        evaluation.evaluate,
    )

    def fold(model):
        t = time.perf_counter()
        out = originals[2](model)
        seconds["fold_bn"] += time.perf_counter() - t
        return out

    def evaluate(model, data, split, **kw):
        images = sum(len(y) for _, y in data.eval_batches(split))
        t = time.perf_counter()
        out = originals[3](model, data, split, **kw)
        seconds["forward"] += time.perf_counter() - t
        counts["images"] += images
        return out

    def evaluate_splits(*args, **kw):
        counts["evaluations"] += 1
        return originals[0](*args, **kw)

    def recompute(*args, **kw):
        t = time.perf_counter()
        originals[1](*args, **kw)
        seconds["recompute_bn"] += time.perf_counter() - t

    train.evaluate_splits, train.averaging.recompute_bn = evaluate_splits, recompute
    evaluation.fold_batchnorm, evaluation.evaluate = fold, evaluate

    def undo() -> None:
        (
            train.evaluate_splits,
            train.averaging.recompute_bn,
            evaluation.fold_batchnorm,
            evaluation.evaluate,
        ) = originals

    return seconds, counts, undo


def breakdown(profile: str, strategy: str) -> None:
    from stepsize import train

    print(f"\n## Evaluation of one final run of {strategy} ({profile}), per budget")
    print(
        "| updates | evaluations | images | train (s) | forward (s) | precise BN (s) | BN folding (s) "
        "| eval (s) | eval share of train + eval |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for cfg in final_run_configs(profile, strategy):
        seconds, counts, undo = timed_parts()
        try:
            with tempfile.TemporaryDirectory() as out:
                record = train.train(cfg, out)
        finally:
            undo()
        t = record["timings_s"]
        print(
            f"| {cfg['budget']['steps']} | {counts['evaluations']} | {counts['images']} | "
            f"{t['train_s']:.2f} | "
            f"{seconds['forward']:.2f} | {seconds['recompute_bn']:.2f} | {seconds['fold_bn']:.2f} | "
            f"{t['eval_s']:.2f} | {100 * t['eval_s'] / (t['train_s'] + t['eval_s']):.0f} % |"
        )


# ------------------------------------------------------------------------------------ 2. kernels
def kernels(reps: int, n: int = 10_000) -> None:
    from torch.func import functional_call, stack_module_state

    from stepsize import models
    from stepsize.evaluation import fold_batchnorm

    torch.manual_seed(0)
    nets = []
    for _ in range(4):
        net = models.create("mini_resnet", 10, 1, width=8).train()
        with torch.no_grad():  # BatchNorm statistics that are not the identity
            for _ in range(3):
                net(torch.randn(128, 1, 28, 28))
        nets.append(net.eval())
    x = torch.randn(n, 1, 28, 28)
    folded = fold_batchnorm(nets[0])
    last = copy.deepcopy(folded).to(memory_format=torch.channels_last)
    with torch.no_grad():
        frozen = torch.jit.optimize_for_inference(
            torch.jit.freeze(torch.jit.trace(copy.deepcopy(nets[0]), x[:250]))
        )
    params, buffers = stack_module_state(nets)
    skeleton = copy.deepcopy(nets[0]).to("meta")
    stacked = torch.vmap(lambda p, b, xb: functional_call(skeleton, (p, b), (xb,)), in_dims=(0, 0, None))
    four = [fold_batchnorm(m) for m in nets]

    def over(model: Callable, batch: int, mode: Callable = torch.no_grad, layout: bool = False) -> Callable:
        def run() -> torch.Tensor:
            outs = []
            with mode():
                for i in range(0, n, batch):
                    xb = x[i : i + batch]
                    outs.append(model(xb.contiguous(memory_format=torch.channels_last) if layout else xb))
            return torch.cat(outs, dim=-2)

        return run

    def four_in_a_row() -> torch.Tensor:
        outputs = [over(m, 250)() for m in four]
        return outputs[0]

    options: dict[str, tuple[Callable, float]] = {
        "default: folded, no_grad, batch 250 (1 model)": (over(folded, 250), 1),
        "inference_mode, batch 250": (over(folded, 250, torch.inference_mode), 1),
        "no_grad, batch 125": (over(folded, 125), 1),
        "no_grad, batch 500": (over(folded, 500), 1),
        "no_grad, batch 1000": (over(folded, 1000), 1),
        "channels-last, batch 250": (over(last, 250, layout=True), 1),
        "TorchScript freeze + optimize_for_inference, batch 250": (over(frozen, 250), 1),
        "4 models one after the other, batch 250 (per model)": (four_in_a_row, 4),
        "4 models stacked, torch.func.vmap, batch 250 (per model)": (
            lambda: over(lambda xb: stacked(params, buffers, xb), 250)()[0],
            4,
        ),
    }
    reference = options["default: folded, no_grad, batch 250 (1 model)"][0]()
    diffs = {name: float((fn() - reference).abs().max()) for name, (fn, _) in options.items()}
    times: dict[str, list[float]] = {name: [] for name in options}
    for _ in range(reps):
        for name, (fn, models_per_call) in options.items():
            t = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - t) / models_per_call)
    base = statistics.median(times["default: folded, no_grad, batch 250 (1 model)"])
    print(
        f"\n## Evaluation kernels: mini_resnet width 8, {n} images, {torch.get_num_threads()} thread(s), "
        f"median of {reps} rounds"
    )
    print("| option | ms per model | images/s | speed vs default | largest logit difference |")
    print("|---|---|---|---|---|")
    for name, values in times.items():
        m = statistics.median(values)
        print(f"| {name} | {1000 * m:.0f} | {n / m:.0f} | {base / m:.2f}x | {diffs[name]:.1e} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="experiments/mini.yaml")
    parser.add_argument("--strategy", default="cosine")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    os.chdir(ROOT)
    torch.set_num_threads(args.threads)
    print(
        f"# bench_eval: {cpu_model()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start"
    )
    breakdown(args.profile, args.strategy)
    kernels(args.reps)


if __name__ == "__main__":
    main()
