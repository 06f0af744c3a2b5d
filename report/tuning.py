"""The tuning protocol's choice: each strategy's knob value per budget, on validation accuracy.

Every strategy gets the same tuning budget, at every budget (``tuning.per_budget: true``: the best value
may differ between a short and a long run, Li et al. 2020, and each budget is its own tuning problem) or
at the full budget only, the choice then used at every budget:

- round 1: the ``tuning.grid_size`` declared values of its main knob;
- round 2, the bracket round: ``tuning.bracket`` more values, a deterministic function of the round-1
  scores at that budget (`bracket_values`): beyond the declared grid when round 1's best is at its edge,
  between the best and its neighbours otherwise;

every value run once with each tuning seed (``tuning.seeds``, never a final seed), so each strategy
has ``(grid_size + bracket) × len(seeds)`` tuning runs per tuning budget. A value's score is the mean over
the tuning seeds of the validation accuracy of the judged model at the end of the run (``final.val_acc``,
or that of the strategy's ``output`` average); a diverged run scores −∞, so its value's mean is −∞ (a
failed run is refused, and retried by the workflow). The chosen value is the best mean over all values
tried; ties go to the smaller value. ``at_cap`` flags a choice at the largest or smallest value tried,
where the best may lie further out. The test split is never looked at.

A strategy that inherits a value (UBA's peak LR from cosine, in the smoke profile) records the parent's
choice at each budget, so its final runs read one file. `selection_path` files are written by the
Snakefile's rule ``select`` and read by the plans (`report.plan`) and the report (tuning curves,
`tuning_table`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from report.grid import Budget, Grid
from report.plan import Run, runs

if TYPE_CHECKING:
    import pandas as pd

#: Significant digits a bracket value is rounded to (a stable, readable value in configs and tables).
BRACKET_DIGITS = 6


def score(record: dict[str, Any] | None, output: str = "off") -> float:
    """The tuning score of a run record: the validation accuracy of the model the strategy is judged on
    (the raw model, or its ``output`` average), −∞ unless the run finished ok."""
    if not isinstance(record, dict) or record.get("status") != "ok":
        return -math.inf
    metrics = record.get("final") if output == "off" else (record.get("averaged") or {}).get(output)
    value = (metrics or {}).get("val_acc")
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else -math.inf


def mean_score(per_seed: list[float]) -> float:
    """A value's score: the mean of its per-seed scores, −∞ when any seed scored −∞ (diverged)."""
    if not per_seed or any(v == -math.inf for v in per_seed):
        return -math.inf
    return sum(per_seed) / len(per_seed)


def best_index(values: list[float], scores: list[float]) -> int:
    """The index of the best score; ties go to the smaller value."""
    return max(range(len(values)), key=lambda i: (scores[i], -values[i]))


def _rounded(value: float) -> float:
    return float(f"{value:.{BRACKET_DIGITS}g}")


def bracket_values(values: list[float], scores: list[float], factor: float, count: int) -> list[float]:
    """The bracket round's ``count`` values from the declared ``values`` (increasing) and their round-1
    mean ``scores`` (``f`` = ``factor``; b = the best declared value, ties to the smaller):

    - b the largest declared value: v_max·f, v_max·f², … (the optimum may lie above the grid);
    - b the smallest, or every round-1 run failed (−∞): v_min/f, v_min/f², … (below the grid);
    - b interior: refine around it, alternating up and down with halving exponents,
      b·f^(1/2), b·f^(−1/2), b·f^(1/4), b·f^(−1/4), b·f^(1/8), … (for ``count`` = 2: b·√f, b/√f).

    Each value is rounded to `BRACKET_DIGITS` significant digits."""
    if count <= 0:
        return []
    best = best_index(values, scores)
    if all(s == -math.inf for s in scores) or best == 0:
        out = [values[0] / factor**k for k in range(1, count + 1)]
    elif best == len(values) - 1:
        out = [values[-1] * factor**k for k in range(1, count + 1)]
    else:
        out = [values[best] * factor ** ((1 if j % 2 == 0 else -1) / 2 ** (j // 2 + 1)) for j in range(count)]
    return [_rounded(v) for v in out]


def seed_scores(
    grid: Grid, strategy: str, budget: Budget, index: int, records: dict[Run, dict[str, Any] | None]
) -> list[float]:
    """The scores of one knob index at one tuning budget, one per tuning seed (−∞ where missing)."""
    output = grid.strategies[strategy].output
    return [
        score(records.get(Run("tune", strategy, budget, seed, index)), output) for seed in grid.tuning_seeds
    ]


def values_tried(
    grid: Grid, strategy: str, budget: Budget, records: dict[Run, dict[str, Any] | None]
) -> list[float]:
    """Every value a strategy tries at one tuning budget, in index order: its declared values, then the
    bracket round's (`bracket_values` of the round-1 mean scores in ``records``)."""
    declared = list(grid.strategies[strategy].values)
    scores = [mean_score(seed_scores(grid, strategy, budget, i, records)) for i in range(len(declared))]
    extra = bracket_values(declared, scores, float(grid.tuning["factor"]), int(grid.tuning["bracket"]))
    return declared + extra


def _choice(
    grid: Grid, strategy: str, budget: Budget, records: dict[Run, dict[str, Any] | None]
) -> dict[str, Any]:
    """The choice at one tuning budget over every value tried (`values_tried`), with each value's round,
    mean score and per-seed scores."""
    values = values_tried(grid, strategy, budget, records)
    per_seed = [seed_scores(grid, strategy, budget, i, records) for i in range(len(values))]
    scores = [mean_score(p) for p in per_seed]
    best = best_index(values, scores)
    size = int(grid.tuning["grid_size"])
    return {
        "index": best,
        "value": values[best],
        "values": values,
        "scores": scores,
        "tried": [
            {"value": v, "round": 1 if i < size else 2, "score": scores[i], "seed_scores": per_seed[i]}
            for i, v in enumerate(values)
        ],
        "at_cap": values[best] in (min(values), max(values)),
        "all_failed": all(v == -math.inf for v in scores),
    }


def select(
    grid: Grid, strategy: str, records: dict[Run, dict[str, Any] | None], parents: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """The selection of ``strategy`` from its tuning records (both rounds, every tuning seed) and its
    parents' selections."""
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
            entry.update(_choice(grid, strategy, source, records))
        chosen[budget.label] = entry
    return {
        "strategy": strategy,
        "knob": s.knob,
        "values": list(s.values),
        "seeds": grid.tuning_seeds,
        "budgets": chosen,
    }


def load_records(grid: Grid, strategy: str, root: str | Path = ".") -> dict[Run, dict[str, Any] | None]:
    """The tuning records of one strategy (None where a record is missing or unreadable)."""
    from stepsize.run_record import read_json

    return {r: read_json(Path(root) / r.record(grid.profile)) for r in runs(grid, "tune", strategy)}


TUNING_COLUMNS = ["strategy", "budget", "percent", "knob", "value", "index", "round", "val_acc",
                  "val_acc_min", "val_acc_max", "chosen", "at_cap"]


def _percent(value: float) -> float:
    return 100 * value if math.isfinite(value) else math.nan


def tuning_table(grid: Grid, selections: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """Tidy tuning curves: one row per (strategy, budget, value tried) with its round, its validation
    accuracy (%, mean over the tuning seeds; NaN if a seed diverged), the lowest and highest seed's,
    whether it was chosen, and whether the choice is at the cap of the values tried."""
    import pandas as pd

    rows = []
    for strategy, sel in selections.items():
        if not sel.get("knob"):
            continue
        for label, entry in sel["budgets"].items():
            if entry.get("transferred_from"):
                continue
            for i, tried in enumerate(entry["tried"]):
                finite = [v for v in tried["seed_scores"] if math.isfinite(v)]
                rows.append(
                    {
                        "strategy": strategy,
                        "budget": label,
                        "percent": grid.budget(label).percent,
                        "knob": sel["knob"],
                        "value": tried["value"],
                        "index": i,
                        "round": tried["round"],
                        "val_acc": _percent(tried["score"]),
                        "val_acc_min": _percent(min(finite)) if finite else math.nan,
                        "val_acc_max": _percent(max(finite)) if finite else math.nan,
                        "chosen": i == entry["index"],
                        "at_cap": entry["at_cap"],
                    }
                )
    return pd.DataFrame(rows, columns=TUNING_COLUMNS)
