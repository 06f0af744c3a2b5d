"""Evidence for `eval.recompute_bn`: the raw model judged with BatchNorm's running statistics against the
same weights with their statistics recomputed on training batches ("precise BN"; Wu & Johnson 2021,
"Rethinking 'Batch' in BatchNorm", arXiv 2105.07576).

Why it matters to the study: every average and every Schedule-Free model is evaluated with recomputed
statistics (`torch.optim.swa_utils.update_bn`; Schedule-Free's README asks for it). If the raw SGD/AdamW
models kept PyTorch's running statistics (momentum 0.1: an average over the last ~10 updates, still 4 % of
the initial mean 0 / variance 1 after 30 updates), a comparison at a small budget would judge weights
and stale statistics together. This script trains each strategy of a profile at one budget over several
seeds (the strategy's middle knob value, the final seeds' paired init and batch order), twice: once with
running statistics, once recomputed. Training is identical in both (the test of `eval.recompute_bn`
checks it); only the evaluation differs. Printed: test accuracy mean and s.d. over seeds per mode, and the
s.d. of each strategy's paired difference to ``--reference`` (what a paired claim's interval grows with).

    bin/with-env python benchmarks/bn_statistics.py [--profile experiments/mini.yaml] [--budget b10]
        [--strategies constant,cosine,linear,multistep,wsd] [--reference cosine] [--seeds 10]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from anywhere without installing


def middle_knob_run(profile: str, strategy: str, budget: str) -> dict:
    """The planned tuning run of ``strategy`` at ``budget`` with the middle value of its knob grid."""
    from report import grid as grid_mod
    from report import plan

    g = grid_mod.load(profile)
    if strategy not in g.strategies:
        raise SystemExit(f"--strategies: unknown strategy {strategy!r} in {profile}")
    batch = next(b for b in plan.batches(g, "tune") if strategy in b.strategies)
    runs = [r for r in plan.plan(g, batch, {})["runs"] if f"/{strategy}/{budget}/" in r["out"]]
    if not runs:
        raise SystemExit(f"--budget: no tuning run of {strategy} at {budget!r} in {profile}")
    return runs[len(runs) // 2]


def test_accuracy(run: dict, seed: int, recompute: bool) -> float:
    from stepsize import config
    from stepsize.train import train

    values = {**run["set"], "train.seed": seed, "train.threads": 1, "train.progress": False,
              "swa.variants": [], "eval.final": ["test"], "eval.recompute_bn": recompute}
    with tempfile.TemporaryDirectory() as out:
        record = train(config.load(run["config"], values=values), out)
    return 100 * record["final"]["test_acc"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="experiments/mini.yaml")
    parser.add_argument("--budget", default="b10")
    parser.add_argument("--strategies", default="constant,cosine,linear,multistep,wsd")
    parser.add_argument("--reference", default="cosine")
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args()
    strategies = args.strategies.split(",")
    if args.reference not in strategies:
        raise SystemExit(f"--reference {args.reference!r} is not one of --strategies")

    acc: dict[tuple[str, bool], list[float]] = {}
    for strategy in strategies:
        run = middle_knob_run(args.profile, strategy, args.budget)
        for recompute in (False, True):
            acc[strategy, recompute] = [test_accuracy(run, s, recompute) for s in range(args.seeds)]

    print(f"{args.profile}, budget {args.budget}, {args.seeds} seeds, test accuracy (%)")
    print("| strategy | running: mean ± s.d. | recomputed: mean ± s.d. | s.d. of − "
          f"{args.reference}, running | recomputed |")
    print("|---|---|---|---|---|")
    for strategy in strategies:
        cells = []
        for recompute in (False, True):
            a = acc[strategy, recompute]
            cells.append(f"{statistics.mean(a):.1f} ± {statistics.stdev(a):.1f}")
        for recompute in (False, True):
            pairs = zip(acc[strategy, recompute], acc[args.reference, recompute], strict=True)
            diff = [x - y for x, y in pairs]
            cells.append("–" if strategy == args.reference else f"{statistics.stdev(diff):.2f}")
        print(f"| {strategy} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
