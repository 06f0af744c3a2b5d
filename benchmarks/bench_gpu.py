"""GPU training throughput: ResNet-50 at 224 px and ResNet-18 at 32 px, bf16 autocast, channels_last,
torch.compile, synthetic data already on the device (no loader cost). Prints images/second.

ResNet-18 at 32 px is measured twice: torchvision's ImageNet ResNet-18 (stride-2 stem + max-pool) and
the CIFAR PreAct ResNet-18 of experiments/base/cifar10.yaml.

    .venv/bin/python benchmarks/bench_gpu.py [--batch-rn50 256] [--batch-rn18 512] [--steps 50] [--no-compile]

Needs CUDA; exits with status 1 and a one-line message otherwise. The numbers are this script's output on
your machine; none are claimed in the repository.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere without installing

import torch
import torch.nn.functional as F

import stepsize.models
import stepsize.optim


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-rn50", type=int, default=256)
    parser.add_argument("--batch-rn18", type=int, default=512)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--no-compile", action="store_true")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("bench_gpu: no CUDA device available; run it on a machine with an NVIDIA GPU", file=sys.stderr)
        return 1
    torch.backends.cudnn.benchmark = True
    compile_model = not args.no_compile
    print(f"device: {torch.cuda.get_device_name()}  torch {torch.__version__}  compile={compile_model}  "
          "bf16 channels_last")
    cases = (("resnet50", 224, args.batch_rn50), ("resnet18", 32, args.batch_rn18),
             ("preact_resnet18", 32, args.batch_rn18))
    for name, size, batch in cases:
        rate = images_per_second(name, size, batch, args.steps, compile_model)
        print(f"{name} @ {size}px, batch {batch}: {rate:,.0f} img/s (training step: fwd + bwd + SGD)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
