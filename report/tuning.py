"""The tuning protocol's choice: each strategy's knob value per budget, on validation accuracy.

Every strategy gets the same tuning budget: ``tuning.grid_size`` values of its main knob, one run each
with the tuning seed (not a final seed), at every budget (``tuning.per_budget: true``: the best value
may differ between a short and a long run, Li et al. 2020, and each budget is its own tuning problem) or
at the full budget only, the choice then used at every budget. The chosen value is the one with the
best validation accuracy of the judged model at the end of the run (``final.val_acc``, or that of the
strategy's ``output`` average); a diverged run scores −∞ (a failed one is refused, and retried by the
workflow), and ties go to the smaller value. The test split is never looked at.

A strategy that inherits a value (UBA's peak LR from cosine) records the parent's choice at each
budget, so its final runs read one file. `selection_path` files are written by the Snakefile's rule
``select`` and read by the plans (`report.plan`) and the report (tuning curves, `tuning_table`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from report.grid import Grid
from report.plan import Run, runs

if TYPE_CHECKING:
    import pandas as pd


def score(record: dict[str, Any] | None, output: str = "off") -> float:
    """The tuning score of a run record: the validation accuracy of the model the strategy is judged on
    (the raw model, or its ``output`` average), −∞ unless the run finished ok."""
    if not isinstance(record, dict) or record.get("status") != "ok":
        return -math.inf
    metrics = record.get("final") if output == "off" else (record.get("averaged") or {}).get(output)
    value = (metrics or {}).get("val_acc")
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else -math.inf


def select(
    grid: Grid, strategy: str, records: dict[Run, dict[str, Any] | None], parents: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """The selection of ``strategy`` from its tuning records and its parents' selections."""
    s = grid.strategies[strategy]
    chosen: dict[str, dict[str, Any]] = {}
    for budget in grid.budgets:
        source = budget if grid.tuning["per_budget"] else grid.full
        inherited = {key: parents[p]["budgets"][budget.label]["value"] for key, p in s.inherit.items()}
        entry: dict[str, Any] = {
            "inherited": inherited,
            "transferred_from": None if source == budget else source.label,
        }
        if s.knob:
            scores = [
                score(records.get(Run("tune", strategy, source, grid.tuning["seed"], i)), s.output)
                for i in range(len(s.values))
            ]
            best = max(range(len(scores)), key=lambda i: (scores[i], -i))
            entry.update(
                index=best,
                value=s.values[best],
                scores=scores,
                edge=best in (0, len(scores) - 1),
                all_failed=all(v == -math.inf for v in scores),
            )
        chosen[budget.label] = entry
    return {"strategy": strategy, "knob": s.knob, "values": list(s.values), "budgets": chosen}


def load_records(grid: Grid, strategy: str, root: str | Path = ".") -> dict[Run, dict[str, Any] | None]:
    """The tuning records of one strategy (None where a record is missing or unreadable)."""
    from stepsize.run_record import read_json

    return {r: read_json(Path(root) / r.record(grid.profile)) for r in runs(grid, "tune", strategy)}


def tuning_table(grid: Grid, selections: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """Tidy tuning curves: one row per (strategy, budget, knob value) with its validation accuracy and
    whether it was chosen."""
    import pandas as pd

    rows = []
    for strategy, sel in selections.items():
        if not sel.get("knob"):
            continue
        for label, entry in sel["budgets"].items():
            if entry.get("transferred_from"):
                continue
            for i, (value, sc) in enumerate(zip(sel["values"], entry["scores"], strict=True)):
                rows.append(
                    {
                        "strategy": strategy,
                        "budget": label,
                        "percent": grid.budget(label).percent,
                        "knob": sel["knob"],
                        "value": value,
                        "index": i,
                        "val_acc": 100 * sc if math.isfinite(sc) else math.nan,
                        "chosen": i == entry["index"],
                        "edge": entry["edge"],
                    }
                )
    return pd.DataFrame(
        rows, columns=["strategy", "budget", "percent", "knob", "value", "index", "val_acc", "chosen", "edge"]
    )
