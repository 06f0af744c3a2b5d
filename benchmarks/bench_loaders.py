"""FFCV vs torchvision ImageFolder: training-batch throughput on the same JPEGs, cores and output size.

    .venv/bin/python benchmarks/bench_loaders.py [--src IMAGEFOLDER] [--n-images 2000] [--size 128]
        [--resolution 112] [--batch-size 128] [--workers 2] [--rounds 6] [--write-mode jpg]

Streams (all produce what training consumes: normalised float32 NCHW batches on the CPU, with
RandomResizedCrop(resolution) + horizontal flip, ``--workers`` decoding workers):

- ``torchvision``: this repository's `ImageFolderData` (DataLoader worker processes, PIL decoding);
- ``ffcv``: this repository's `FFCVData` (numba threads) on a .beton written from the same ImageFolder
  (``--write-mode jpg``: every image stored as JPEG, so both sides decode JPEG);
- ``ffcv-stock``: ffcv's own Loader with the same decoder/flip/normalisation, without this repository's
  per-example reseeding and copy-out (what determinism costs).

Measurement: the streams stay open and are measured one after another, ``--rounds`` rounds. Before each
measurement the script sleeps ``--settle`` s (the other streams finish prefetching), the stream yields
``--drain`` batches untimed (emptying its own prefetch), then one epoch's worth of batches is timed:
wall-clock img/s and CPU time per image (this process's threads plus its child processes, so worker
processes count). Round 1 (numba JIT, worker start-up) is excluded; the script prints medians and the
ratio ffcv / torchvision (target ≥ 3×). On a busy machine the wall-clock ratio is noisy; the CPU-time
ratio is the robust one, and equals the throughput ratio when both saturate the same cores.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil  # an ffcv dependency
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere
from stepsize.data import ffcv_loader, ffcv_ops, imagefolder
from stepsize.data.transforms import IMAGENET_MEAN, IMAGENET_STD, write_synthetic_imagefolder
from stepsize.data.write_ffcv import write_beton


def cpu_seconds() -> float:
    """User + system CPU time of this process (all threads) and its live child processes."""
    me = psutil.Process()
    total = sum(me.cpu_times()[:2])
    for child in me.children(recursive=True):
        try:
            total += sum(child.cpu_times()[:2])
        except psutil.NoSuchProcess:
            pass
    return total


def measure(stream: Iterator, drain: int, batches: int) -> tuple[float, float]:
    """(images per second, CPU µs per image) over ``batches`` batches after ``drain`` untimed ones."""
    for _ in range(drain):
        next(stream)
    cpu, start, images = cpu_seconds(), time.perf_counter(), 0
    for _ in range(batches):
        images += len(next(stream)[1])
    wall = time.perf_counter() - start
    return images / wall, (cpu_seconds() - cpu) / images * 1e6


def stock_ffcv_stream(path: Path, resolution: int, batch_size: int, workers: int) -> Iterator:
    """ffcv's own RandomResizedCrop decoder + flip + NormalizeImage (no reseeding, no copy), forever."""
    import numpy as np
    from ffcv.fields.decoders import IntDecoder, RandomResizedCropRGBImageDecoder
    from ffcv.loader import Loader, OrderOption
    from ffcv.transforms import NormalizeImage, RandomHorizontalFlip, ToTensor, ToTorchImage

    mean, std = np.array(IMAGENET_MEAN) * 255, np.array(IMAGENET_STD) * 255
    pipelines = {
        "image": [
            RandomResizedCropRGBImageDecoder((resolution, resolution)),
            RandomHorizontalFlip(),
            NormalizeImage(mean, std, np.float32),
            ToTensor(),
            ToTorchImage(),
        ],
        "label": [IntDecoder(), ToTensor()],
    }
    threads = torch.get_num_threads()
    loader = Loader(
        str(path),
        batch_size=batch_size,
        num_workers=workers,
        order=OrderOption.QUASI_RANDOM,
        seed=0,
        pipelines=pipelines,
    )
    torch.set_num_threads(threads)  # ffcv sets it to num_workers
    while True:
        iterator = iter(loader)
        try:
            for batch in iterator:  # noqa: UP028 (`yield from` would call ffcv's close() first)
                yield batch
        finally:  # also when the stream is closed: wait for the decoding thread (see stop_epoch)
            ffcv_ops.stop_epoch(iterator)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--src", type=Path, help="ImageFolder to read (default: generate one)")
    parser.add_argument("--n-images", type=int, default=2000, help="generated images (10 classes)")
    parser.add_argument("--size", type=int, default=128, help="generated image side (px)")
    parser.add_argument("--resolution", type=int, default=112, help="RandomResizedCrop output (px)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--drain", type=int, default=6)
    parser.add_argument("--settle", type=float, default=1.0, help="pause before each measurement (s)")
    parser.add_argument("--write-mode", default="jpg", choices=["jpg", "proportion", "raw"])
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_loaders_") as tmp:
        work = Path(tmp)
        src = args.src
        if src is None:
            src = work / "jpeg"
            write_synthetic_imagefolder(
                src, num_classes=10, images_per_class=args.n_images // 10, size=args.size
            )
        start = time.perf_counter()
        n = write_beton(
            src,
            work / "train.beton",
            write_mode=args.write_mode,
            max_resolution=max(args.size, 400),
            compress_probability=0.1,
            num_workers=args.workers,
        )
        print(f"wrote {n} images ({args.write_mode}) to .beton in {time.perf_counter() - start:.1f} s")
        common = {
            "batch_size": args.batch_size,
            "num_workers": args.workers,
            "resolution": args.resolution,
            "val_resolution": args.resolution,
        }
        beton = str(work / "train.beton")
        ffcv = ffcv_loader.build(
            {"name": "ffcv", "train_path": beton, "val_path": beton, **common}, device="cpu", seed=0
        )
        tv = imagefolder.build(
            {"name": "imagefolder", "train_root": str(src), "val_root": str(src), **common},
            device="cpu",
            seed=0,
        )
        # torchvision first: its worker processes fork before numba's threads start
        streams = {
            "torchvision": tv.train_batches(),
            "ffcv": ffcv.train_batches(),
            "ffcv-stock": stock_ffcv_stream(
                work / "train.beton", args.resolution, args.batch_size, args.workers
            ),
        }
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in streams}
        for round_ in range(args.rounds):
            for name, stream in streams.items():
                time.sleep(args.settle)
                results[name].append(measure(stream, args.drain, ffcv.steps_per_epoch))
            cells = [f"{k} {v[-1][0]:6.0f} img/s {v[-1][1]:5.0f} µs-cpu/img" for k, v in results.items()]
            print(
                f"round {round_ + 1}: " + " | ".join(cells) + ("  (warm-up, excluded)" if round_ == 0 else "")
            )
        for stream in streams.values():
            stream.close()

    rate = {k: statistics.median(r for r, _ in v[1:]) for k, v in results.items()}
    cpu = {k: statistics.median(c for _, c in v[1:]) for k, v in results.items()}
    per_round = [f[0] / t[0] for f, t in zip(results["ffcv"][1:], results["torchvision"][1:], strict=True)]
    print(
        f"{n} images {args.size}px -> RandomResizedCrop {args.resolution}px + flip, batch {args.batch_size}, "
        f"{args.workers} workers, {os.cpu_count()} cores"
    )
    print("median img/s:        " + ", ".join(f"{k} {v:.0f}" for k, v in rate.items()))
    print("median CPU µs/image: " + ", ".join(f"{k} {v:.0f}" for k, v in cpu.items()))
    ratio = rate["ffcv"] / rate["torchvision"]
    print(
        f"ffcv / torchvision throughput: {ratio:.2f}x (rounds {min(per_round):.2f}-{max(per_round):.2f}x), "
        f"CPU-efficiency {cpu['torchvision'] / cpu['ffcv']:.2f}x; target >= 3x: "
        f"{'met' if ratio >= 3 else 'NOT met'}"
    )
    print(
        f"ffcv / ffcv-stock throughput: {rate['ffcv'] / rate['ffcv-stock']:.2f}, "
        f"CPU {cpu['ffcv'] / cpu['ffcv-stock']:.2f}x (reseeding + copy-out)"
    )
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
