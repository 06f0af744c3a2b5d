"""The run record ``DIR/run.json`` (design.md §5): environment facts and atomic JSON writing."""

from __future__ import annotations

import json
import math
import os
import platform
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

SCHEMA = 1


def finite_or_null(obj: Any) -> Any:
    """``obj`` with every non-finite float replaced by None (JSON has no NaN/inf; readers see null)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite_or_null(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [finite_or_null(v) for v in obj]
    return obj


def temporary_path(path: Path) -> Path:
    """Where ``path`` is written before ``os.replace`` moves it into place: ``.<name>.<pid>.tmp`` next to
    it (same file system, so the rename is atomic)."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def remove_stale_temporaries(folder: str | Path, names: tuple[str, ...]) -> list[Path]:
    """Delete the ``.<name>.<pid>.tmp`` files of ``names`` in ``folder`` (left by a process killed while
    writing them) and return them. Call it when a run starts: an output folder belongs to one run at a
    time, so no other process is writing there."""
    folder = Path(folder)
    stale = [p for name in names for p in folder.glob(f".{name}.*.tmp")
             if p.name[len(name) + 2 : -4].isdigit() and p.is_file()]
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


def write_json_atomic(path: str | Path, obj: Any) -> None:
    """Write ``obj`` as JSON to ``path`` via a temporary file in the same folder + ``os.replace``, so a
    reader never sees a half-written file. Non-finite floats are written as null."""
    path = Path(path)
    tmp = temporary_path(path)
    try:
        with open(tmp, "w") as f:
            json.dump(finite_or_null(obj), f, indent=1, allow_nan=False)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def versions() -> dict[str, str]:
    """Versions of python, torch, numpy, and of torchvision/ffcv only when this process imported them."""
    import numpy
    import torch

    found = {"python": platform.python_version(), "torch": torch.__version__, "numpy": numpy.__version__}
    for name in ("torchvision", "ffcv"):
        module = sys.modules.get(name)
        if module is not None:
            found[name] = getattr(module, "__version__", "unknown")
    return found


def git_commit() -> str | None:
    """``git rev-parse HEAD`` of the repository holding this package, or None."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent, capture_output=True,
            text=True, timeout=10, check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def cpu_model() -> str:
    """The CPU's ``model name`` from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_name(device: Any) -> str:
    """``"cpu (<CPU model>, <n> cores)"`` or ``"cuda (<GPU name>)"``."""
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return f"cpu ({cpu_model()}, {os.cpu_count()} cores)"


def environment(device: Any, world_size: int) -> dict[str, Any]:
    """The environment part of the record: versions, git commit, hostname, device, threads, processes."""
    import torch

    return {
        "versions": versions(),
        "git_commit": git_commit(),
        "hostname": socket.gethostname(),
        "device": device_name(device),
        "threads": torch.get_num_threads(),
        "world_size": world_size,
    }


def null_metrics() -> dict[str, None]:
    return {"test_acc": None, "test_loss": None}


def new_record(cfg: dict[str, Any]) -> dict[str, Any]:
    """An empty record for ``cfg`` (status ok until something diverges)."""
    return {
        "schema": SCHEMA,
        "status": "ok",
        "diverged_step": None,
        "config": cfg,
        "seed": cfg["train"]["seed"],
        "budget_steps": cfg["budget"]["steps"],
        "curve": {"step": [], "lr": [], "loss": []},
        "evals": [],
        "final": null_metrics(),
        "averaged": {},
    }
