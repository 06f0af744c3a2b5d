"""Loop overhead: `stepsize.train`'s training loop vs a bare hand-written PyTorch loop.

Both loops train the same model on the same in-memory data (the same `InMemoryData` object, so data
costs are identical) for N steps; repetitions are interleaved (ours, bare, ours, bare, ...) so machine
load hits both alike (which goes first alternates). Only the update loop is timed (not setup or
evaluation). Prints per-step times (wall and process CPU), the ratio of the medians, the median of
the per-repetition ratios and the ratio of the fastest repetitions, ours / bare; target ≤ 1.03. On a
shared machine, load from other processes only adds time, so the ratio of minima is the least noisy.

    .venv/bin/python benchmarks/bench_loop.py [--steps 50] [--reps 10] [--width 8] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere without installing

import torch
import torch.nn.functional as F

import stepsize.models
import stepsize.optim
import stepsize.schedules
from stepsize import config
from stepsize.train import Run


def make_config(args: argparse.Namespace) -> dict:
    return config.resolve({
        "data": {"name": "synthetic", "in_channels": 1, "image_size": 28, "train_size": 8192,
                 "test_size": 128, "batch_size": args.batch, "augment": False},
        "model": {"name": args.model, "width": args.width},
        "optimizer": {"name": "momentum", "lr": 0.05, "momentum": 0.9, "weight_decay": 5e-4},
        "schedule": {"name": "cosine"},
        "budget": {"steps": args.steps},
        "swa": {"variants": []},
        "train": {"device": "cpu", "threads": args.threads, "progress": False,
                  "channels_last": args.channels_last, "checkpoint_every": 0},
    })


def time_ours(cfg: dict, out: Path) -> tuple[float, float]:
    run = Run(cfg, out)
    wall, cpu = time.perf_counter(), time.process_time()
    assert run._train() is None  # the real loop of `Run.execute` (base phase), without evaluation
    return time.perf_counter() - wall, time.process_time() - cpu


def time_bare(cfg: dict, data) -> tuple[float, float]:
    torch.manual_seed(cfg["train"]["seed"])
    fmt = torch.channels_last if cfg["train"]["channels_last"] else torch.contiguous_format
    model = stepsize.models.create(cfg["model"]["name"], data.num_classes, data.in_channels,
                                   width=cfg["model"]["width"]).to(memory_format=fmt)
    opt = stepsize.optim.create("momentum", model.parameters(), 0.05, momentum=0.9, weight_decay=5e-4)
    sched = stepsize.schedules.create("cosine", opt, cfg["budget"]["steps"])
    batches = data.train_batches(0)
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(cfg["budget"]["steps"]):
        x, y = next(batches)
        loss = F.cross_entropy(model(x.contiguous(memory_format=fmt)), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    loss.item()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--model", default="mini_resnet")
    parser.add_argument("--width", type=int, default=8)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--channels-last", action="store_true")
    args = parser.parse_args()
    cfg = make_config(args)
    with tempfile.TemporaryDirectory() as tmp:
        data = Run(cfg, Path(tmp) / "setup").data  # also sets threads and seeds as the real run does
        time_ours(cfg, Path(tmp) / "warmup")
        time_bare(cfg, data)
        ours, bare = [], []
        for rep in range(args.reps):  # alternate which loop goes first
            if rep % 2:
                bare.append(time_bare(cfg, data))
            ours.append(time_ours(cfg, Path(tmp) / f"ours{rep}"))
            if not rep % 2:
                bare.append(time_bare(cfg, data))
    print(f"{args.model} width {args.width}, batch {args.batch}, {args.steps} steps x {args.reps} reps, "
          f"{torch.get_num_threads()} thread(s)")
    for label, index in (("wall", 0), ("cpu", 1)):
        o = statistics.median(t[index] for t in ours) / args.steps * 1e3
        b = statistics.median(t[index] for t in bare) / args.steps * 1e3
        paired = statistics.median(a[index] / z[index] for a, z in zip(ours, bare, strict=True))
        fastest = min(t[index] for t in ours) / min(t[index] for t in bare)
        print(f"{label:>4}: ours {o:.3f} ms/step  bare {b:.3f} ms/step  ratio of medians {o / b:.4f}  "
              f"median paired ratio {paired:.4f}  ratio of minima {fastest:.4f} (target <= 1.03)")


if __name__ == "__main__":
    main()
