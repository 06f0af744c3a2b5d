"""The run record ``DIR/run.json`` (design.md §5): its fields, environment facts, code provenance and
atomic JSON writing.

A record is *current* for a planned run when its status is final (ok, diverged), its resolved config
equals the planned one, and the source of every `stepsize` module it ran with is unchanged
(`code_provenance`); the batch runner keeps current records and reruns the others, so an edit to the
code that a run imports never leaves a stale result behind.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

SCHEMA = 2
FINAL_STATUSES = ("ok", "diverged")  # "failed" records are retried by the next invocation
METRIC_KEYS = ("acc", "loss")


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


def read_json(path: str | Path) -> Any | None:
    """A JSON file's content, or None if it is missing or not valid JSON (a torn or foreign file)."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


# ------------------------------------------------------------------------------------------ provenance
def _stepsize_root() -> Path:
    return Path(__file__).resolve().parent


LIBRARIES = ("stepsize.schedules.library.", "stepsize.optim.library.")


def code_provenance(own_library_modules: set[str] | frozenset[str] = frozenset()) -> dict[str, str]:
    """``{module file relative to the package: sha256}`` of the code a run ran with: every `stepsize`
    module this process has imported, except the schedule and optimizer specs other than the run's own
    (``own_library_modules``; the registries import every spec, a run uses one of each)."""
    root = _stepsize_root()
    found: dict[str, str] = {}
    for name, module in list(sys.modules.items()):
        if not (name == "stepsize" or name.startswith("stepsize.")):
            continue
        if name.startswith(LIBRARIES) and name not in own_library_modules:
            continue
        file = getattr(module, "__file__", None)
        if file and Path(file).suffix == ".py":
            path = Path(file).resolve()
            try:
                found[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
            except (OSError, ValueError):
                continue
    return dict(sorted(found.items()))


def code_changed(recorded: dict[str, str] | None) -> list[str]:
    """The modules of a recorded provenance whose source differs now (or is gone); all when unknown."""
    if not recorded:
        return ["<no code provenance recorded>"]
    root = _stepsize_root()
    changed = []
    for rel, digest in recorded.items():
        path = root / rel
        try:
            now = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        except OSError:
            now = None
        if now != digest:
            changed.append(rel)
    return changed


def versions() -> dict[str, str]:
    """Versions of python, torch, numpy, and of the optional packages this process imported."""
    import numpy
    import torch

    found = {"python": platform.python_version(), "torch": torch.__version__, "numpy": numpy.__version__}
    for name in ("torchvision", "ffcv", "schedulefree", "prodigyopt", "dadaptation", "dog"):
        module = sys.modules.get(name)
        if module is not None:
            found[name] = getattr(module, "__version__", "unknown")
    return found


def git_commit() -> str | None:
    """``git rev-parse HEAD`` of the repository holding this package, or None."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=_stepsize_root(), capture_output=True, text=True, timeout=10,
            check=True,
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


# ------------------------------------------------------------------------------------------ the record
def null_metrics(splits: tuple[str, ...] = ("test",)) -> dict[str, None]:
    """``{<split>_acc: None, <split>_loss: None}`` for each split."""
    return {f"{split}_{key}": None for split in splits for key in METRIC_KEYS}


def new_record(cfg: dict[str, Any]) -> dict[str, Any]:
    """An empty record for ``cfg`` (status ok until something diverges)."""
    return {
        "schema": SCHEMA,
        "status": "ok",
        "diverged_step": None,
        "error": None,
        "config": cfg,
        "seed": cfg["train"]["seed"],
        "budget_steps": cfg["budget"]["steps"],
        "curve": {"step": [], "lr": [], "loss": [], "grad_norm": []},
        "evals": [],
        "final": null_metrics(tuple(cfg["eval"]["final"])),
        "averaged": {},
    }


def failed_record(cfg: dict[str, Any] | None, error: str) -> dict[str, Any]:
    """The record of a run that raised: its one-line error, no metrics; retried by the next invocation."""
    return {"schema": SCHEMA, "status": "failed", "error": error, "config": cfg, "final": {}, "averaged": {},
            "evals": [], "curve": {"step": [], "lr": [], "loss": []},
            "budget_steps": None if cfg is None else cfg["budget"]["steps"]}


def is_current(record: Any, cfg: dict[str, Any]) -> bool:
    """Whether ``record`` is a finished result of exactly ``cfg`` with unchanged code (module doc)."""
    return (isinstance(record, dict) and record.get("status") in FINAL_STATUSES
            and record.get("schema") == SCHEMA and comparable(record.get("config")) == comparable(cfg)
            and not code_changed((record.get("code") or {}).get("modules")))


#: Config keys that do not change what a run computes (they may differ between a run and its resume).
NON_SCIENCE_KEYS = (("train", "threads"), ("train", "progress"), ("train", "checkpoint_every"),
                    ("train", "keep_checkpoint"))


def json_lists(obj: Any) -> Any:
    """``obj`` with tuples made lists, recursively (what a JSON round trip does to them)."""
    if isinstance(obj, dict):
        return {k: json_lists(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_lists(v) for v in obj]
    return obj


def comparable(cfg: Any) -> Any:
    """``cfg`` without the keys of `NON_SCIENCE_KEYS`, tuples as lists (a config in memory and the same
    config read back from ``run.json`` compare equal), for resume and currency checks."""
    if not isinstance(cfg, dict):
        return json_lists(cfg)
    out = json_lists(cfg)
    for section, key in NON_SCIENCE_KEYS:
        if isinstance(out.get(section), dict):
            out[section].pop(key, None)
    return out
