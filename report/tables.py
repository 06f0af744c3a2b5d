"""Aggregate tidy run results (`report.runs.final_table`) into the study's tables (pandas DataFrames).

- ``summary``: final accuracy mean +/- 95% t-interval per strategy x budget x variant, where variant
  ``judged`` is the model each strategy is judged on (raw, or DoG's average); diverged and failed runs
  are counted and excluded from the mean.
- ``average_ranks``: per budget, strategies ranked by accuracy within each seed (1 = best, a diverged
  run ranks last), then averaged over seeds -- the presentation of Li et al. (2020) and REX.
- ``swa_gains``: paired (variant - off) accuracy differences per strategy x budget, and their average
  over strategies with an interval over seeds.
- ``paired_to_reference``: each strategy's accuracy minus a reference strategy's on the same seed, per
  budget, with an interval over seeds (the results explorer's paired differences).
- ``uba_choices``: UBA's tuning per budget on validation (its knob, φ or peak LR; every value tried);
- ``plateau``: the plateau runs (``multiple`` × the full budget) against the best full-budget result;
- ``swa_interaction``: per strategy x budget, the schedule's mean LR over the averaging window next to
  each variant's gain, and ``interaction_correlations``: their Spearman rank correlation over strategies
  -- does averaging help more when the schedule has not annealed yet?
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from report.grid import Grid
from report.stats import t_interval

SUMMARY_COLUMNS = [
    "strategy",
    "budget",
    "percent",
    "steps",
    "variant",
    "n",
    "n_diverged",
    "mean",
    "ci_low",
    "ci_high",
    "half_width",
]


def with_judged(final: pd.DataFrame) -> pd.DataFrame:
    """``final`` plus a copy of each strategy's judged rows under variant ``judged`` (first)."""
    judged = final[final["judged"]].copy()
    judged["variant"] = "judged"
    out = pd.concat([judged.astype({"variant": str}), final.astype({"variant": str})], ignore_index=True)
    order = ["judged", *[str(v) for v in final["variant"].cat.categories]]
    out["variant"] = pd.Categorical(out["variant"], categories=order, ordered=True)
    out["strategy"] = pd.Categorical(
        out["strategy"].astype(str), categories=final["strategy"].cat.categories, ordered=True
    )
    return out


def summary(final: pd.DataFrame) -> pd.DataFrame:
    """Mean +/- 95% CI of test accuracy (%) per strategy x budget x variant (``judged`` included)."""
    final = with_judged(final)
    rows = []
    for (strategy, budget, variant), grp in final.groupby(
        ["strategy", "budget", "variant"], observed=True, sort=False
    ):
        ok = grp[grp["status"] == "ok"]["test_acc"]
        ci = t_interval(ok)
        rows.append(
            {
                "strategy": strategy,
                "budget": budget,
                "percent": int(grp["percent"].iloc[0]),
                "steps": int(grp["steps"].iloc[0]),
                "variant": variant,
                "n": ci.n,
                "n_diverged": int((grp["status"] != "ok").sum()),
                "mean": ci.mean,
                "ci_low": ci.low,
                "ci_high": ci.high,
                "half_width": ci.half_width,
            }
        )
    out = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    for col in ("strategy", "variant"):
        out[col] = pd.Categorical(out[col], categories=final[col].cat.categories, ordered=True)
    return out.sort_values(["variant", "strategy", "percent"]).reset_index(drop=True)


def average_ranks(final: pd.DataFrame) -> pd.DataFrame:
    """Average rank (1 = best) of each strategy's judged model per budget, over seeds, plus the mean over
    budgets; a diverged run ranks last."""
    sub = final[final["judged"]].copy()
    sub["rank"] = sub.groupby(["budget", "seed"], observed=True)["test_acc"].rank(
        ascending=False, method="average", na_option="bottom"
    )
    table = sub.pivot_table(index="strategy", columns="percent", values="rank", aggfunc="mean", observed=True)
    table.columns = [f"b{c}" for c in table.columns]
    table["all"] = table.mean(axis=1)
    return table.reset_index()


def wide_by_variant(final: pd.DataFrame) -> pd.DataFrame:
    """One row per run (strategy, budget, percent, seed), one accuracy column per SWA variant (NaN for a
    run that did not finish)."""
    keys = ["strategy", "budget", "percent", "seed"]
    acc = final["test_acc"].where(final["status"] == "ok")
    wide = (
        final.assign(test_acc=acc).set_index([*keys, "variant"])["test_acc"].unstack("variant").reset_index()
    )
    wide.columns = [str(c) for c in wide.columns]
    return wide


def swa_gains(final: pd.DataFrame) -> pd.DataFrame:
    """Paired accuracy gain (variant - off, points) per strategy x budget x averaging variant."""
    return _gain_intervals(final, ["strategy", "budget", "percent"], lambda gain, grp: gain)


def swa_gain_over_strategies(final: pd.DataFrame, strategies: list[str] | None = None) -> pd.DataFrame:
    """Per budget x variant: the gain averaged over strategies within each seed, then a t-interval
    over seeds (so the interval's n is the number of seeds). Strategies with a diverged run are left
    out of that seed's average."""
    if strategies is not None:
        final = final[final["strategy"].isin(strategies)]
    return _gain_intervals(final, ["budget", "percent"], lambda gain, grp: gain.groupby(grp["seed"]).mean())


def _gain_intervals(final: pd.DataFrame, keys: list[str],
                    samples: Callable[[pd.Series, pd.DataFrame], pd.Series]) -> pd.DataFrame:
    """One row per ``keys`` group x averaging variant: the t-interval of ``samples(gain, group)``,
    where ``gain`` is the paired (variant - off) accuracy difference of the group's runs."""
    wide = wide_by_variant(final)
    variants = [v for v in final["variant"].cat.categories if v != "off" and v in wide.columns]
    rows = []
    for group_keys, grp in wide.groupby(keys, observed=True):
        for v in variants:
            ci = t_interval(samples(grp[v] - grp["off"], grp))
            rows.append({**dict(zip(keys, group_keys, strict=True)), "variant": v, "n": ci.n, "mean": ci.mean,
                         "ci_low": ci.low, "ci_high": ci.high})
    return pd.DataFrame(rows, columns=[*keys, "variant", "n", "mean", "ci_low", "ci_high"])


PAIRED_COLUMNS = ["strategy", "budget", "percent", "n", "mean", "ci_low", "ci_high"]


def paired_to_reference(final: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Per strategy x budget (the reference left out): each strategy's judged test accuracy minus the
    reference's on the same seed (points), the mean and 95% t-interval over the seeds where both runs
    finished. ``final`` as `report.runs.final_table` makes it, or as read back from ``final.csv``."""
    judged = final[final["judged"].astype(bool)]
    if reference not in set(judged["strategy"].astype(str)):
        raise ValueError(f"no final run of the reference strategy {reference!r}")
    acc = judged["test_acc"].where(judged["status"] == "ok")
    keys = ["budget", "percent", "seed"]
    wide = judged.assign(test_acc=acc, strategy=judged["strategy"].astype(str)).set_index(
        [*keys, "strategy"])["test_acc"].unstack("strategy")
    rows = []
    for strategy in dict.fromkeys(judged["strategy"].astype(str)):
        if strategy == reference:
            continue
        for (budget, percent), grp in wide.groupby(level=["budget", "percent"], sort=False):
            ci = t_interval(grp[strategy] - grp[reference])
            rows.append({"strategy": strategy, "budget": budget, "percent": int(percent), "n": ci.n,
                         "mean": ci.mean, "ci_low": ci.low, "ci_high": ci.high})
    out = pd.DataFrame(rows, columns=PAIRED_COLUMNS)
    return out.sort_values("percent", kind="stable").reset_index(drop=True)


def uba_choices(grid: Grid, selections: dict) -> pd.DataFrame:
    """UBA's tuning at every budget: one row per value tried (its knob, φ or the peak LR; its round;
    validation accuracy %, mean over the tuning seeds), with the φ and peak LR that run trained with (the
    knob's value, else the fixed or inherited one) and whether it was chosen."""
    label = grid.report["uba"]
    sel = selections.get(label)
    rows = []
    if sel and sel.get("knob"):
        knob = sel["knob"]
        fixed = {"phi": grid.strategy_value(label, "schedule.phi", math.nan),
                 "lr": grid.strategy_value(label, "optimizer.lr", math.nan)}
        for b in grid.budgets:
            entry = sel["budgets"][b.label]
            if entry.get("transferred_from"):
                entry = {**sel["budgets"][entry["transferred_from"]], **entry}
            lr = entry["inherited"].get("optimizer.lr", fixed["lr"])
            for i, tried in enumerate(entry["tried"]):
                value = tried["value"]
                rows.append(
                    {
                        "budget": b.label,
                        "percent": b.percent,
                        "knob": knob,
                        "value": value,
                        "round": tried["round"],
                        "phi": value if knob == "schedule.phi" else fixed["phi"],
                        "lr": value if knob == "optimizer.lr" else lr,
                        "val_acc": 100 * tried["score"] if math.isfinite(tried["score"]) else math.nan,
                        "chosen": i == entry["index"],
                        "at_cap": entry["at_cap"],
                    }
                )
    columns = ["budget", "percent", "knob", "value", "round", "phi", "lr", "val_acc", "chosen", "at_cap"]
    return pd.DataFrame(rows, columns=columns)


def plateau(grid: Grid, plateau_records: dict, summary_table: pd.DataFrame) -> pd.DataFrame:
    """The plateau runs' test accuracy (mean over their seeds) next to the best judged mean at the full
    budget, and the gap between the two (points)."""
    accs = [
        100 * float(r["final"]["test_acc"])
        for r in plateau_records.values()
        if r.get("status") == "ok" and r["final"].get("test_acc") is not None
    ]
    ci = t_interval(accs)
    name, best = best_strategy(summary_table, grid.full.label)
    strategy = grid.plateau.get("strategy")
    own = summary_table[
        (summary_table["strategy"] == strategy)
        & (summary_table["variant"] == "judged")
        & (summary_table["budget"] == grid.full.label)
    ]["mean"]
    return pd.DataFrame(
        [
            {
                "strategy": strategy,
                "multiple": grid.plateau.get("multiple"),
                "n": ci.n,
                "plateau_mean": ci.mean,
                "plateau_low": ci.low,
                "plateau_high": ci.high,
                "strategy_full_mean": float(own.iloc[0]) if len(own) else math.nan,
                "best_full_strategy": name,
                "best_full_mean": best,
                "gap": ci.mean - best,
            }
        ]
    )


def best_strategy(table: pd.DataFrame, budget: str, variant: str = "judged") -> tuple[str, float]:
    """The strategy with the highest mean accuracy at a budget (ties: the first in profile order)."""
    sub = table[(table["budget"] == budget) & (table["variant"] == variant)].dropna(subset=["mean"])
    if sub.empty:
        return "", math.nan
    row = sub.loc[sub["mean"].idxmax()]
    return str(row["strategy"]), float(row["mean"])


def swa_interaction(gains: pd.DataFrame, window_lr: pd.DataFrame) -> pd.DataFrame:
    """Per strategy x budget: mean window LR (over seeds) and each variant's mean gain (``swa_gains``)."""
    lr = window_lr.groupby(["strategy", "budget", "percent"], observed=True)["window_lr"].mean()
    wide = gains.pivot_table(
        index=["strategy", "budget", "percent"], columns="variant", values="mean", observed=True
    )
    wide.columns = [f"gain_{c}" for c in wide.columns]
    out = lr.to_frame().join(wide, how="left").reset_index()
    out["strategy"] = out["strategy"].astype(str)
    return out.sort_values(["percent", "strategy"]).reset_index(drop=True)


def interaction_correlations(interaction: pd.DataFrame) -> pd.DataFrame:
    """Spearman rho (and its two-sided p-value) between window LR and gain over strategies, per budget
    and variant; strategies with a missing value are left out, fewer than 3 give NaN."""
    rows = []
    for (budget, percent), grp in interaction.groupby(["budget", "percent"], sort=True):
        for column in [c for c in interaction.columns if c.startswith("gain_")]:
            pair = grp[["window_lr", column]].dropna()
            if len(pair) >= 3 and pair["window_lr"].nunique() > 1 and pair[column].nunique() > 1:
                res = scipy_stats.spearmanr(pair["window_lr"], pair[column])
                rho, p = float(res.statistic), float(res.pvalue)
            else:
                rho, p = math.nan, math.nan
            rows.append(
                {
                    "budget": budget,
                    "percent": percent,
                    "variant": column.removeprefix("gain_"),
                    "n": len(pair),
                    "rho": rho,
                    "p_value": p,
                }
            )
    return pd.DataFrame(rows, columns=["budget", "percent", "variant", "n", "rho", "p_value"])


TRAIN_LOSS_TAIL = 0.1  # the last 10 % of a run's updates: its final training loss


def train_loss(curves: pd.DataFrame, final: pd.DataFrame) -> pd.DataFrame:
    """Per strategy × budget: the final training loss (mean minibatch loss over the last `TRAIN_LOSS_TAIL`
    of each run's updates, then the mean over the runs that finished, `status` ok in ``final``) beside the
    mean test accuracy of the judged model: does a strategy optimise better, or generalise better?"""
    columns = ["strategy", "budget", "percent", "train_loss", "test_acc", "n"]
    if curves.empty or final.empty:
        return pd.DataFrame(columns=columns)
    ok = final[(final["variant"].astype(str) == "off") & (final["status"] == "ok")]
    finished = set(zip(ok["strategy"].astype(str), ok["budget"], ok["seed"], strict=True))
    judged = final[final["judged"].astype(bool) & (final["status"] == "ok")]
    rows = []
    for (strategy, budget), grp in curves.groupby(["strategy", "budget"], sort=False):
        per_seed = []
        for seed, run in grp.groupby("seed"):
            if (str(strategy), budget, seed) not in finished:
                continue
            last = run["step"].max()
            tail = run[run["step"] > (1 - TRAIN_LOSS_TAIL) * last]
            per_seed.append(float(tail["loss"].mean()))
        acc = judged[(judged["strategy"].astype(str) == str(strategy)) & (judged["budget"] == budget)]
        rows.append({"strategy": strategy, "budget": budget, "percent": int(grp["percent"].iloc[0]),
                     "train_loss": float(np.mean(per_seed)) if per_seed else float("nan"),
                     "test_acc": float(acc["test_acc"].mean()), "n": len(per_seed)})
    return pd.DataFrame(rows, columns=columns)
