"""Read run records (``run.json``, design.md §5) into tidy pandas tables.

``final_table`` has one row per final run and averaging variant: variant ``off`` is the raw model at the
end of the run (``final``); ``tail``/``ema``/``swalr``/``poly`` are the averages (``averaged.<v>``).
``judged`` marks the row of the model a strategy is judged on (``off``, or DoG's ``poly``). A diverged
run keeps its rows with that status and a missing accuracy, so tables show it (a result, not an error); a
model that finished at chance level gets the status `AT_CHANCE` and counts as a failure too;
a failed run is refused (`refuse_failed`): its results would be missing, and the workflow retries it.
Every record is checked when read (`read_record`): a malformed one is a one-line error naming the file
and the key, never a traceback or a silently accepted number.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from report.grid import Grid
from report.plan import Run, runs

VARIANT_ORDER = ("off", "tail", "ema", "swalr", "poly")
STATUSES = ("ok", "diverged", "failed")
#: A finished model that never left chance level (the status `final_table` gives it): its test accuracy is
#: at most CHANCE_FACTOR × 1/K for K classes (10 % → 15 % on Fashion-MNIST). It counts as a failure like a
#: diverged run (no accuracy in any table or claim), never as a run that learned.
AT_CHANCE = "at chance"
CHANCE_FACTOR = 1.5


class RecordError(ValueError):
    """A run record is missing or malformed; the message names the file and the key."""


def _check_metric(path: Path, where: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise RecordError(f"{path}: {where} must be a number or null, got {value!r}")
    if where.endswith("_acc") and not 0 <= value <= 1:
        raise RecordError(f"{path}: {where} = {value!r} is not an accuracy in [0, 1]")


def read_record(path: str | Path, expected: dict[str, Any] | None = None) -> dict[str, Any]:
    """Load one ``run.json`` and check what the report relies on; ``expected``: the config values the
    profile planned for it (a record made with other settings is refused, not mixed in)."""
    path = Path(path)
    if not path.is_file():
        raise RecordError(f"run record not found: {path} (run the workflow, e.g. `snakemake --cores all`)")
    try:
        record = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise RecordError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(record, dict):
        raise RecordError(f"{path}: a run record is a JSON object")
    for key in ("status", "final", "budget_steps"):
        if key not in record:
            raise RecordError(f"{path}: missing key {key!r}")
    if record["status"] not in STATUSES:
        raise RecordError(f"{path}: status must be one of {list(STATUSES)}, got {record['status']!r}")
    for section, metrics in [
        ("final", record["final"]),
        *((f"averaged.{k}", v) for k, v in (record.get("averaged") or {}).items()),
    ]:
        if not isinstance(metrics, dict):
            raise RecordError(f"{path}: {section} must be an object")
        for key, value in metrics.items():
            if key.endswith(("_acc", "_loss")):
                _check_metric(path, f"{section}.{key}", value)
    for key, value in (expected or {}).items() if record["status"] != "failed" else ():
        found = _dotted(record.get("config") or {}, key)
        if found != value:
            raise RecordError(
                f"{path}: config {key} = {found!r}, but the profile plans {value!r} (a stale "
                "record from another profile version; rerun the workflow)"
            )
    return record


def _dotted(cfg: dict[str, Any], key: str) -> Any:
    node: Any = cfg
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def refuse_failed(records: dict[Any, dict[str, Any]], paths: dict[Any, Any]) -> None:
    """RecordError (one line) if a run failed: its results would be missing from every table. The next
    workflow invocation retries it (the Snakefile moves a failed record aside)."""
    failed = [k for k, rec in records.items() if rec.get("status") == "failed"]
    if failed:
        first = failed[0]
        raise RecordError(f"{len(failed)} run(s) failed, e.g. {paths[first]}: {records[first].get('error')}; "
                          "fix the cause and rerun the workflow, which retries only the failed runs")


def load(grid: Grid, phase: str, root: str | Path = ".") -> dict[Run, dict[str, Any]]:
    """Every record of ``phase``, keyed by its `report.plan.Run`; each checked against the budget and
    seed the profile plans for it; a failed run is an error (`refuse_failed`)."""
    root = Path(root)
    paths = {r: root / r.record(grid.profile) for r in runs(grid, phase)}
    records = {r: read_record(paths[r], {"budget.steps": r.budget.steps, "train.seed": r.seed})
               for r in paths}
    refuse_failed(records, paths)
    return records


def _accuracy(entry: dict[str, Any] | None, split: str = "test") -> float:
    value = None if entry is None else entry.get(f"{split}_acc")
    return math.nan if value is None else 100.0 * float(value)


def final_table(grid: Grid, records: dict[Run, dict[str, Any]]) -> pd.DataFrame:
    """Tidy final results: one row per (strategy, budget, seed, variant)."""
    rows = []
    for run, rec in records.items():
        entries = {"off": rec.get("final")}
        entries.update(rec.get("averaged") or {})
        output = grid.strategies[run.strategy].output
        for variant, entry in entries.items():
            acc = _accuracy(entry)
            status = rec["status"] if rec["status"] != "ok" or math.isfinite(acc) else "diverged"
            if status == "ok" and at_chance(acc, rec.get("num_classes")):
                status = AT_CHANCE
            rows.append(
                {
                    "strategy": run.strategy,
                    "budget": run.budget.label,
                    "percent": run.budget.percent,
                    "steps": run.budget.steps,
                    "seed": run.seed,
                    "variant": variant,
                    "status": status,
                    "judged": variant == output,
                    "test_acc": acc,
                    "val_acc": _accuracy(entry, "val"),
                    "test_loss": math.nan
                    if entry is None or entry.get("test_loss") is None
                    else float(entry["test_loss"]),
                    "wall_time_s": float(rec.get("wall_time_s") or math.nan),
                }
            )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame["strategy"] = pd.Categorical(frame["strategy"], categories=list(grid.strategies), ordered=True)
    present = [v for v in VARIANT_ORDER if v in set(frame["variant"])]
    present += sorted(set(frame["variant"]) - set(present))
    frame["variant"] = pd.Categorical(frame["variant"], categories=present, ordered=True)
    return frame.sort_values(["strategy", "percent", "seed", "variant"]).reset_index(drop=True)


def at_chance(accuracy_pct: float, num_classes: Any) -> bool:
    """Whether a test accuracy (%) is at chance level for ``num_classes`` classes (`AT_CHANCE`); False when
    the record does not say how many classes there are."""
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 2:
        return False
    return accuracy_pct <= CHANCE_FACTOR * 100.0 / num_classes


def judged(final: pd.DataFrame) -> pd.DataFrame:
    """The rows of the model each strategy is judged on (raw, or its declared average)."""
    return final[final["judged"]].copy()


def eval_table(grid: Grid, records: dict[Run, dict[str, Any]]) -> pd.DataFrame:
    """Anytime evaluations of the final runs: one row per (strategy, budget, seed, step) with the raw
    and the running-average accuracy on each evaluated split, and ``judged_*`` for the model the
    strategy is judged on (the running average when that is its output)."""
    rows = []
    for run, rec in records.items():
        output = grid.strategies[run.strategy].output
        for ev in rec.get("evals") or []:
            averaged = ev.get("averaged") or {}
            row = {
                "strategy": run.strategy,
                "budget": run.budget.label,
                "percent": run.budget.percent,
                "seed": run.seed,
                "step": int(ev["step"]),
                "fraction": float(ev.get("fraction", math.nan)),
            }
            for split in ("test", "val"):
                row[f"{split}_acc"] = _accuracy(ev, split)
                row[f"averaged_{split}_acc"] = _accuracy(averaged, split)
                use_average = output != "off" and ev.get("averaged_variant") == output
                row[f"judged_{split}_acc"] = (
                    row[f"averaged_{split}_acc"] if use_average else row[f"{split}_acc"]
                )
            rows.append(row)
    columns = [
        "strategy",
        "budget",
        "percent",
        "seed",
        "step",
        "fraction",
        "test_acc",
        "averaged_test_acc",
        "judged_test_acc",
        "val_acc",
        "averaged_val_acc",
        "judged_val_acc",
    ]
    return pd.DataFrame(rows, columns=columns)


def curve_table(grid: Grid, records: dict[Run, dict[str, Any]]) -> pd.DataFrame:
    """Training curves (step, lr, loss, grad_norm: the RMS minibatch gradient norm of each curve point, NaN
    in records made before it was recorded) of every run, long format."""
    frames = []
    for run, rec in records.items():
        curve = rec.get("curve") or {}
        if not curve.get("step"):
            continue
        frame = pd.DataFrame({k: curve.get(k) for k in ("step", "lr", "loss")})
        norms = curve.get("grad_norm")
        frame["grad_norm"] = pd.to_numeric(pd.Series(norms if norms and len(norms) == len(frame) else
                                                     [None] * len(frame)), errors="coerce").to_numpy(float)
        frame["strategy"], frame["budget"], frame["seed"] = run.strategy, run.budget.label, run.seed
        frame["percent"] = run.budget.percent
        frames.append(frame)
    if not frames:
        columns = ["step", "lr", "loss", "grad_norm", "strategy", "budget", "seed", "percent"]
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)


def averaging_start(rec: dict[str, Any]) -> int | None:
    """The update after which averaging starts (`stepsize.averaging.start_step` of the run's config)."""
    from stepsize.averaging import start_step

    swa = (rec.get("config") or {}).get("swa") or {}
    if swa.get("start") is None or rec.get("budget_steps") is None:
        return None
    return start_step(float(swa["start"]), int(rec["budget_steps"]))


def window_lr_table(grid: Grid, records: dict[Run, dict[str, Any]]) -> pd.DataFrame:
    """Per run: the mean learning rate of the base schedule over the averaging window, relative to the
    run's peak ``optimizer.lr`` (how far the schedule has annealed while tail/EMA average). NaN for
    optimizers whose ``lr`` is not a learning rate (OSGM and the learning-rate-free methods multiply a
    learned step, so their schedule says nothing about the step taken) and for Schedule-Free (constant)."""
    from stepsize.optim import SPECS

    rows = []
    for run, rec in records.items():
        name = ((rec.get("config") or {}).get("optimizer") or {}).get("name")
        spec = SPECS.get(name)
        value = math.nan
        if spec is not None and spec.lr == "learning rate" and not spec.modes:
            curve, start = rec.get("curve") or {}, averaging_start(rec)
            peak = ((rec.get("config") or {}).get("optimizer") or {}).get("lr")
            lrs = [
                lr
                for step, lr in zip(curve.get("step") or [], curve.get("lr") or [], strict=False)
                if start is not None and step > start and lr is not None
            ]
            value = sum(lrs) / len(lrs) / float(peak) if lrs and peak else math.nan
        rows.append(
            {
                "strategy": run.strategy,
                "budget": run.budget.label,
                "percent": run.budget.percent,
                "seed": run.seed,
                "window_lr": value,
            }
        )
    return pd.DataFrame(rows, columns=["strategy", "budget", "percent", "seed", "window_lr"])
