"""Read run records (``run.json``, design.md section 5) into tidy pandas tables.

``final_table`` has one row per (strategy, budget, seed, SWA variant): variant ``off`` is the raw model
at the end of the run (``final``); ``tail``/``ema``/``swalr`` are the averaged models (``averaged.<v>``).
A diverged run keeps its rows with ``status == "diverged"`` and a missing accuracy, so that tables can
show it instead of failing.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from report.grid import Grid

VARIANT_ORDER = ("off", "tail", "ema", "swalr")
STATUS_OK = "ok"
STATUS_DIVERGED = "diverged"


class RecordError(ValueError):
    """A run record is missing or malformed; the message names the file and the key."""


def read_record(path: str | Path) -> dict[str, Any]:
    """Load one ``run.json`` and check the keys the report relies on."""
    path = Path(path)
    if not path.is_file():
        raise RecordError(f"run record not found: {path} (run the training job, e.g. `snakemake {path}`)")
    try:
        record = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise RecordError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    for key in ("status", "final", "budget_steps"):
        if key not in record:
            raise RecordError(f"{path}: missing key {key!r}")
    if record["status"] not in (STATUS_OK, STATUS_DIVERGED):
        raise RecordError(f"{path}: status must be 'ok' or 'diverged', got {record['status']!r}")
    return record


def _accuracy(entry: dict[str, Any] | None) -> float:
    value = None if entry is None else entry.get("test_acc")
    if value is None or not math.isfinite(float(value)):
        return math.nan
    return float(value)


def _loss(entry: dict[str, Any] | None) -> float:
    value = None if entry is None else entry.get("test_loss")
    return math.nan if value is None else float(value)


def load_runs(grid: Grid, root: str | Path = ".") -> dict[tuple[str, str, int], dict[str, Any]]:
    """Every run record of the grid, keyed by (strategy, budget label, seed)."""
    root = Path(root)
    return {(j.strategy, j.budget.label, j.seed): read_record(root / j.run_dir(grid.profile) / "run.json")
            for j in grid.jobs}


def final_table(grid: Grid, records: dict[tuple[str, str, int], dict[str, Any]]) -> pd.DataFrame:
    """Tidy final results: one row per (strategy, budget, seed, variant)."""
    rows = []
    for (strategy, label, seed), rec in records.items():
        budget = grid.budget(label)
        entries = {"off": rec.get("final")}
        entries.update(rec.get("averaged") or {})
        for variant, entry in entries.items():
            acc = _accuracy(entry)
            diverged = rec["status"] == STATUS_DIVERGED or math.isnan(acc)
            rows.append({
                "strategy": strategy, "budget": label, "percent": budget.percent, "steps": budget.steps,
                "seed": seed, "variant": variant,
                "status": STATUS_DIVERGED if diverged else STATUS_OK,
                "test_acc": acc * 100.0, "test_loss": _loss(entry),
                "wall_time_s": float(rec.get("wall_time_s") or math.nan),
            })
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame["strategy"] = pd.Categorical(frame["strategy"], categories=list(grid.strategies), ordered=True)
    present = [v for v in VARIANT_ORDER if v in set(frame["variant"])]
    present += sorted(set(frame["variant"]) - set(present))
    frame["variant"] = pd.Categorical(frame["variant"], categories=present, ordered=True)
    return frame.sort_values(["strategy", "percent", "seed", "variant"]).reset_index(drop=True)


def eval_table(grid: Grid, records: dict[tuple[str, str, int], dict[str, Any]]) -> pd.DataFrame:
    """Anytime evaluations: one row per (strategy, budget, seed, evaluation step)."""
    rows = []
    for (strategy, label, seed), rec in records.items():
        budget = grid.budget(label)
        for ev in rec.get("evals") or []:
            acc = ev.get("test_acc")
            rows.append({
                "strategy": strategy, "budget": label, "percent": budget.percent, "seed": seed,
                "step": int(ev["step"]), "fraction": float(ev.get("fraction", ev["step"] / budget.steps)),
                "test_acc": math.nan if acc is None else 100.0 * float(acc),
            })
    columns = ["strategy", "budget", "percent", "seed", "step", "fraction", "test_acc"]
    return pd.DataFrame(rows, columns=columns)


def curve_table(grid: Grid, records: dict[tuple[str, str, int], dict[str, Any]]) -> pd.DataFrame:
    """Training curves (step, lr, loss) of every run, long format."""
    frames = []
    for (strategy, label, seed), rec in records.items():
        curve = rec.get("curve") or {}
        if not curve.get("step"):
            continue
        frame = pd.DataFrame({k: curve.get(k) for k in ("step", "lr", "loss")})
        frame["strategy"], frame["budget"], frame["seed"] = strategy, label, seed
        frame["percent"] = grid.budget(label).percent
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["step", "lr", "loss", "strategy", "budget", "seed", "percent"])
    return pd.concat(frames, ignore_index=True)


def averaging_start(rec: dict[str, Any]) -> int | None:
    """The update after which averaging starts (from the averaged entries, else the config), or None."""
    for entry in (rec.get("averaged") or {}).values():
        if isinstance(entry, dict) and entry.get("start_step") is not None:
            return int(entry["start_step"])
    start = ((rec.get("config") or {}).get("swa") or {}).get("start")
    return None if start is None else min(round(float(start) * int(rec["budget_steps"])),
                                          int(rec["budget_steps"]) - 1)


def window_lr_table(grid: Grid, records: dict[tuple[str, str, int], dict[str, Any]]) -> pd.DataFrame:
    """Per run: the mean learning rate of the base schedule over the averaging window (the updates after
    the averaging start), relative to the run's peak ``optimizer.lr`` -- how far the schedule has already
    annealed while tail/EMA average, and what SWALR's constant rate replaces. NaN for strategies whose
    optimizer is not the reference strategy's (OSGM: its "LR" multiplies a learned step, so it says
    nothing about the step actually taken)."""
    reference = grid.strategy_value(grid.report["cosine"], "optimizer.name") \
        if grid.report["cosine"] in grid.strategies else None
    rows = []
    for (strategy, label, seed), rec in records.items():
        if grid.strategy_value(strategy, "optimizer.name") != reference:
            rows.append({"strategy": strategy, "budget": label, "percent": grid.budget(label).percent,
                         "seed": seed, "window_lr": math.nan})
            continue
        curve, start = rec.get("curve") or {}, averaging_start(rec)
        peak = ((rec.get("config") or {}).get("optimizer") or {}).get("lr")
        lrs = [lr for step, lr in zip(curve.get("step") or [], curve.get("lr") or [], strict=False)
               if start is not None and step > start and lr is not None]
        value = sum(lrs) / len(lrs) / float(peak) if lrs and peak else math.nan
        rows.append({"strategy": strategy, "budget": label, "percent": grid.budget(label).percent,
                     "seed": seed, "window_lr": value})
    return pd.DataFrame(rows, columns=["strategy", "budget", "percent", "seed", "window_lr"])
