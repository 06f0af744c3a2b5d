"""GPU training throughput: ResNet-50 at 224 px and ResNet-18 at 32 px, bf16 autocast, channels_last,
torch.compile, synthetic data already on the device (no loader cost), in images/second; then a real
Fashion-MNIST training run through `stepsize.train` on the GPU (experiments/base/fashion_mnist.yaml with
``train.device=cuda``, bf16, its SWA variants), timed by the run record.

ResNet-18 at 32 px is measured twice: torchvision's ImageNet ResNet-18 (stride-2 stem + max-pool) and
the CIFAR PreAct ResNet-18 of experiments/base/cifar10.yaml. ResNet-50's rate is set beside
ffcv-imagenet's published one (rn50, 88 epochs of 1,281,167 images in 77.2 min on 8 A100s, Leclerc et al.
2023: about 3,040 img/s per GPU, including its data loading).

Part ``concurrent`` (the cifar10 profile's `runs_per_gpu`): K processes, each training the cifar10
profile's model (PreAct ResNet-18, batch 128, 32 px, bf16, channels_last, synthetic data on the device)
for ``--concurrent-steps`` updates, started together on the one GPU, against one such process alone;
printed as runs per hour and their ratio (K runs at once / one at a time), the quantity `runs_per_gpu`
buys.

    python benchmarks/bench_gpu.py [--batch-rn50 256] [--batch-rn18 512] [--steps 50] [--no-compile]
        [--parts throughput,concurrent,fashion_mnist] [--concurrent 4] [--concurrent-steps 300]
        [--fmnist-steps 2000] [--fmnist-root DIR]

The Fashion-MNIST part reads the four IDX ``.gz`` files from ``--fmnist-root`` (default: the Debian
package's folder). On a machine without that package copy them into the repository first (e.g.
``data/fashion-mnist``, 30 MB) and pass that folder.

Needs CUDA; exits with status 1 and a one-line message otherwise. The numbers are this script's output on
your machine; none are claimed in the repository.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere without installing

import torch
import torch.nn.functional as F

import stepsize.models
import stepsize.optim

REPO = Path(__file__).resolve().parents[1]


def images_per_second(name: str, size: int, batch: int, steps: int, compile_model: bool) -> float:
    device = torch.device("cuda")
    classes = 1000 if size > 64 else 10
    model = stepsize.models.create(name, classes, 3).to(device, memory_format=torch.channels_last)
    opt = stepsize.optim.create("momentum", model.parameters(), 0.1, momentum=0.9, weight_decay=5e-5)
    forward = torch.compile(model) if compile_model else model
    x = torch.randn(batch, 3, size, size, device=device).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, classes, (batch,), device=device)

    def step() -> None:
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = F.cross_entropy(forward(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(10):  # compilation and cuDNN autotuning
        step()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
    return batch * steps / (time.perf_counter() - start)


FFCV_RN50_IMG_S_PER_GPU = 1_281_167 * 88 / (77.2 * 60) / 8  # ffcv-imagenet rn50 88 epochs, 8 x A100


def concurrent_worker(steps: int, batch: int) -> None:
    """One training process of the ``concurrent`` part (no compile: each process would compile alone)."""
    device = torch.device("cuda")
    model = stepsize.models.create("preact_resnet18", 10, 3).to(device, memory_format=torch.channels_last)
    opt = stepsize.optim.create("momentum", model.parameters(), 0.1, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(batch, 3, 32, 32, device=device).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,), device=device)
    for _ in range(steps):
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    torch.cuda.synchronize()


def concurrent_runs(k: int, steps: int, batch: int) -> float:
    """Wall time of ``k`` worker processes started together (each a whole process: start-up included)."""
    import subprocess

    cmd = [sys.executable, __file__, "--worker", str(steps), "--batch-rn18", str(batch)]
    start = time.perf_counter()
    procs = [subprocess.Popen(cmd) for _ in range(k)]
    if any(proc.wait() != 0 for proc in procs):
        raise RuntimeError("a concurrent worker failed")
    return time.perf_counter() - start


def fashion_mnist_run(root: str, steps: int, compile_model: bool) -> dict:
    """One real training run of experiments/base/fashion_mnist.yaml on the GPU; returns its record."""
    from stepsize import config
    from stepsize.train import train

    with tempfile.TemporaryDirectory(prefix="bench_gpu_fmnist_") as tmp:
        overrides = [
            f"data.root={root}", f"data.cache_dir={Path(tmp) / 'cache'}", f"budget.steps={steps}",
            "train.device=cuda", "train.amp=auto", f"train.compile={str(compile_model).lower()}",
            "train.threads=null", "train.progress=false",
        ]
        cfg = config.load(REPO / "experiments/base/fashion_mnist.yaml", overrides)
        return train(cfg, Path(tmp) / "run", started=time.perf_counter())


def report_fashion_mnist(record: dict) -> str:
    """One line: updates, training img/s, phase timings, test accuracies."""
    cfg = record["config"]
    steps, batch = cfg["budget"]["steps"], cfg["data"]["batch_size"]
    swalr = record["averaged"].get("swalr")
    updates = steps + (steps - swalr["start_step"] if swalr else 0)
    t = record["timings_s"]
    rate = updates * batch / t["train_s"]
    averaged = " ".join(f"{k} {v['test_acc']}" for k, v in record["averaged"].items())
    return (f"fashion_mnist {cfg['model']['name']} width {cfg['model']['width']}, batch {batch}: "
            f"{updates} updates ({steps} base + SWALR branch) in {t['train_s']:.1f} s = {rate:,.0f} img/s; "
            f"setup {t['setup_s']:.1f} s, eval {t['eval_s']:.1f} s, wall {record['wall_time_s']:.1f} s; "
            f"test_acc {record['final']['test_acc']}, {averaged} ({record['status']})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-rn50", type=int, default=256)
    parser.add_argument("--batch-rn18", type=int, default=512)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--no-compile", action="store_true")
    parser.add_argument("--parts", default="throughput,concurrent,fashion_mnist",
                        help="comma-separated: throughput (synthetic ResNets), concurrent (K runs per GPU), "
                        "fashion_mnist (a real run)")
    parser.add_argument("--concurrent", type=int, default=4, help="K: runs sharing the GPU")
    parser.add_argument("--concurrent-steps", type=int, default=300, help="updates of each concurrent run")
    parser.add_argument("--worker", type=int, metavar="STEPS", help=argparse.SUPPRESS)
    parser.add_argument("--fmnist-steps", type=int, default=2000, help="budget.steps of the real run")
    parser.add_argument("--fmnist-root", default="/usr/share/datasets/fashion-mnist",
                        help="folder with the four Fashion-MNIST IDX .gz files")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    known = {"throughput", "concurrent", "fashion_mnist"}
    if not parts <= known:
        parser.error(f"--parts: unknown part(s) {sorted(parts - known)}")
    if not torch.cuda.is_available():
        print("bench_gpu: no CUDA device available; run it on a machine with an NVIDIA GPU", file=sys.stderr)
        return 1
    torch.backends.cudnn.benchmark = True
    if args.worker is not None:
        concurrent_worker(args.worker, args.batch_rn18)  # the parent passes the batch
        return 0
    compile_model = not args.no_compile
    print(f"device: {torch.cuda.get_device_name()}  torch {torch.__version__}  compile={compile_model}  "
          "bf16 channels_last", flush=True)
    cases = (("resnet50", 224, args.batch_rn50), ("resnet18", 32, args.batch_rn18),
             ("preact_resnet18", 32, args.batch_rn18))
    for name, size, batch in cases if "throughput" in parts else ():
        rate = images_per_second(name, size, batch, args.steps, compile_model)
        print(f"{name} @ {size}px, batch {batch}: {rate:,.0f} img/s (training step: fwd + bwd + SGD)",
              flush=True)
        if name == "resnet50":
            print(f"  ratio to ffcv-imagenet's published rn50 rate per A100 ({FFCV_RN50_IMG_S_PER_GPU:,.0f} "
                  f"img/s, data loading included): {rate / FFCV_RN50_IMG_S_PER_GPU:.2f}", flush=True)
    if "concurrent" in parts:
        k, steps = args.concurrent, args.concurrent_steps
        alone = concurrent_runs(1, steps, 128)
        together = concurrent_runs(k, steps, 128)
        print(f"preact_resnet18 batch 128, {steps} updates per run: 1 run alone {alone:.1f} s "
              f"({3600 / alone:,.0f} runs/hour); {k} runs at once {together:.1f} s "
              f"({3600 * k / together:,.0f} runs/hour); ratio {k * alone / together:.2f} "
              f"(runs_per_gpu = {k})", flush=True)
    if "fashion_mnist" in parts:
        try:
            record = fashion_mnist_run(args.fmnist_root, args.fmnist_steps, compile_model)
        except (ValueError, FileNotFoundError) as err:
            print(f"bench_gpu: fashion_mnist: {err}", file=sys.stderr)
            return 1
        print(report_fashion_mnist(record), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
