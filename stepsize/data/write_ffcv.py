"""Write a torchvision ImageFolder (one subfolder per class) to an FFCV ``.beton`` file.

``python -m stepsize.data.write_ffcv --src DIR --out FILE.beton [--max-resolution 400] [--jpeg-quality 90]
[--compress-probability 0.1] [--write-mode proportion] [--num-workers N] [--chunk-size 100]``

This is ffcv-imagenet's ``write_imagenet.py`` (Leclerc et al., "FFCV: Accelerating Training by Removing
Data Bottlenecks", CVPR 2023): ``DatasetWriter(out, {"image": RGBImageField(write_mode, max_resolution,
compress_probability, jpeg_quality), "label": IntField()}, num_workers).from_indexed_dataset(ImageFolder(src),
chunksize)``. Images whose longer side exceeds ``max_resolution`` are downscaled (cv2.INTER_AREA); with
``write_mode=proportion`` a random ``compress_probability`` fraction is stored as JPEG at ``jpeg_quality``
and the rest as raw pixels. The ResNet-18 ImageNet setting of ffcv-imagenet is ``400 px, 10 % JPEG, q90``
(the defaults here). Which images get JPEG-compressed is random (ffcv draws ``np.random.rand()`` in its
writer processes), so two writes of the same folder can differ byte-wise.

The file is written next to ``--out`` under a temporary name and renamed when complete, so an
interrupted write never leaves a truncated ``.beton`` behind.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from stepsize.data.base import MissingDependencyError
from stepsize.data.transforms import IMAGE_EXTENSIONS

WRITE_MODES = ("raw", "jpg", "smart", "proportion")
FFCV_HINT = (
    "ffcv is not importable ({error}); install its build dependencies with "
    "`apt-get install pkg-config libturbojpeg0-dev libopencv-dev` then `pip install ffcv==1.0.2`"
)


def import_ffcv() -> Any:
    """Import and return the ``ffcv`` package, or raise `MissingDependencyError` (an ImportError) with the
    apt/pip install hint, on one line."""
    try:
        import ffcv
        import ffcv.fields
        import ffcv.loader
        import ffcv.writer
    except ImportError as error:  # also raised when the compiled extension or system libs are missing
        raise MissingDependencyError(FFCV_HINT.format(error=" ".join(str(error).split()))) from error
    return ffcv


def count_class_images(src: Path) -> dict[str, int]:
    """Images per class subfolder of ``src`` (ImageFolder's extensions), counted without torchvision."""
    counts: dict[str, int] = {}
    for folder in sorted(p for p in src.iterdir() if p.is_dir()):
        n = sum(1 for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
        if n:
            counts[folder.name] = n
    return counts


def check_arguments(
    src: Path,
    out: Path,
    *,
    max_resolution: int,
    jpeg_quality: int,
    compress_probability: float,
    write_mode: str,
    num_workers: int,
    chunk_size: int,
) -> dict[str, int]:
    """Validate everything before the (slow) ffcv import; return the per-class image counts."""
    if not src.is_dir():
        raise FileNotFoundError(f"--src {src}: no such directory")
    counts = count_class_images(src)
    if not counts:
        raise ValueError(
            f"--src {src}: no images found in class subfolders (expected {src}/<class>/<image>.jpg)"
        )
    if out.is_dir():
        raise ValueError(f"--out {out}: is a directory; give a file path such as {out}/train.beton")
    parent = out.parent
    if not parent.is_dir():
        raise FileNotFoundError(f"--out {out}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PermissionError(f"--out {out}: directory {parent} is not writable")
    if max_resolution <= 0:
        raise ValueError(f"--max-resolution must be positive, got {max_resolution}")
    if not 1 <= jpeg_quality <= 100:
        raise ValueError(f"--jpeg-quality must be in 1..100, got {jpeg_quality}")
    if not 0.0 <= compress_probability <= 1.0:
        raise ValueError(f"--compress-probability must be in [0, 1], got {compress_probability}")
    if write_mode not in WRITE_MODES:
        raise ValueError(f"--write-mode {write_mode!r}: expected one of {', '.join(WRITE_MODES)}")
    if num_workers < 1:
        raise ValueError(f"--num-workers must be >= 1, got {num_workers}")
    if chunk_size < 1:
        raise ValueError(f"--chunk-size must be >= 1, got {chunk_size}")
    return counts


def write_beton(
    src: str | Path,
    out: str | Path,
    *,
    max_resolution: int = 400,
    jpeg_quality: int = 90,
    compress_probability: float = 0.1,
    write_mode: str = "proportion",
    num_workers: int = 2,
    chunk_size: int = 100,
) -> int:
    """Write ImageFolder ``src`` to FFCV file ``out`` (fields ``image``, ``label``); return the image count.

    Labels are ImageFolder's: class index in sorted order of the subfolder names.
    """
    src, out = Path(src), Path(out)
    check_arguments(
        src,
        out,
        max_resolution=max_resolution,
        jpeg_quality=jpeg_quality,
        compress_probability=compress_probability,
        write_mode=write_mode,
        num_workers=num_workers,
        chunk_size=chunk_size,
    )
    import_ffcv()
    from ffcv.fields import IntField, RGBImageField
    from ffcv.writer import DatasetWriter
    from torchvision.datasets import ImageFolder

    dataset = ImageFolder(str(src))  # yields (PIL RGB image, class index); RGBImageField takes PIL images
    fields = {
        "image": RGBImageField(
            write_mode=write_mode,
            max_resolution=max_resolution,
            compress_probability=compress_probability,
            jpeg_quality=jpeg_quality,
        ),
        "label": IntField(),
    }
    partial = out.with_name(f".{out.name}.partial-{os.getpid()}")
    try:
        DatasetWriter(str(partial), fields, num_workers=num_workers).from_indexed_dataset(
            dataset, chunksize=chunk_size
        )
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return len(dataset)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m stepsize.data.write_ffcv", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--src", type=Path, required=True, help="ImageFolder root (one subfolder per class)")
    parser.add_argument("--out", type=Path, required=True, help="output .beton file")
    parser.add_argument("--max-resolution", type=int, default=400, help="cap on the longer side (px)")
    parser.add_argument("--jpeg-quality", type=int, default=90)
    parser.add_argument(
        "--compress-probability",
        type=float,
        default=0.1,
        help="fraction stored as JPEG when --write-mode=proportion",
    )
    parser.add_argument("--write-mode", default="proportion", help=f"one of {', '.join(WRITE_MODES)}")
    parser.add_argument("--num-workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--chunk-size", type=int, default=100)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """CLI entry point: 0 on success; 2 with a one-line ``error: ...`` on stderr for bad input."""
    args = parse_args(argv)
    start = time.perf_counter()
    try:
        n = write_beton(
            args.src,
            args.out,
            max_resolution=args.max_resolution,
            jpeg_quality=args.jpeg_quality,
            compress_probability=args.compress_probability,
            write_mode=args.write_mode,
            num_workers=args.num_workers,
            chunk_size=args.chunk_size,
        )
    except (ValueError, OSError, ImportError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    size_mb = args.out.stat().st_size / 2**20
    print(f"wrote {n} images to {args.out} ({size_mb:.1f} MiB) in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
