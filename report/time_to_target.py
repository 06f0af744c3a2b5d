"""Updates to reach a test-accuracy target set by the tuned reference, across budgets, summarised as
AlgoPerf-style performance profiles.

Following the AlgoPerf benchmark (Dahl et al. 2023, "Benchmarking Neural Network Training Algorithms",
arXiv 2306.07179; scoring in its DOCUMENTATION.md), adapted to budgeted training:

- *targets* are not set by hand: AlgoPerf derives each workload's target from a tuned baseline, so each
  budget b of the study gives one target, the mean final *test* accuracy of the tuned reference strategy
  (``report.cosine``) over b's final seeds (`targets`);
- a *problem* p is one (target, seed) pair over the seeds every budget shares (``seeds``);
- t_{s,p} is *horizon-aware*: the updates of the smallest budget whose final run of strategy s (seed of p,
  the model s is judged on, test split) reaches the target, ∞ if none does. A run is only judged at the end
  of the horizon it was scheduled for (Li et al. 2020, "Budgeted Training"), never midway through a run
  annealed for a longer one; the validation split used for tuning is never read here.

The performance ratio is r_{s,p} = t_{s,p} / min_s' t_{s',p} (so a ratio is a quotient of two budgets), and
the profile ρ_s(τ) = |{p : r_{s,p} ≤ τ}| / |P| for τ ∈ [1, r_max] (r_max = 4: a strategy more than 4×
slower than the fastest, or that misses the target, gets no credit). The score is the area under ρ_s over
[1, r_max], normalised by r_max − 1 (1 = fastest on every problem). Problems no strategy solves are dropped.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from report.grid import Grid

TIME_COLUMNS = ["strategy", "target_budget", "target", "seed", "updates", "reached_at", "evaluated"]
#: Tolerance of "reaches the target" (accuracies in %): the reference's own mean is reachable.
TOLERANCE = 1e-9


def _judged_test(final: pd.DataFrame) -> pd.DataFrame:
    """The final rows of the model each strategy is judged on, with their *test* accuracy (%) only."""
    if final.empty:
        return pd.DataFrame(columns=["strategy", "budget", "seed", "test_acc"])
    rows = final[final["judged"].astype(bool)]
    return rows[["strategy", "budget", "seed", "test_acc"]].astype({"strategy": str, "budget": str})


def targets(grid: Grid, final: pd.DataFrame) -> dict[str, float]:
    """Budget label -> target (test accuracy, %): the mean over that budget's final seeds of the tuned
    reference strategy's (``report.cosine``) judged model; NaN where it has no finished run (AlgoPerf:
    targets from a tuned baseline, here one per budget of the study)."""
    judged = _judged_test(final)
    ref = judged[judged["strategy"] == grid.report["cosine"]]
    out = {}
    for budget in grid.budgets:
        acc = ref[ref["budget"] == budget.label]["test_acc"].to_numpy(float)
        acc = acc[np.isfinite(acc)]
        out[budget.label] = float(acc.mean()) if acc.size else math.nan
    return out


def _time(runs: pd.DataFrame, grid: Grid, target: float) -> tuple[float, str]:
    """Updates of the smallest budget whose run (one strategy and seed) reaches ``target``, and its
    label; (inf, "") if none does."""
    for budget in grid.budgets:
        acc = runs[runs["budget"] == budget.label]["test_acc"].to_numpy(float)
        if np.any(np.isfinite(acc) & (acc >= target - TOLERANCE)):
            return float(budget.steps), budget.label
    return math.inf, ""


def times_to_target(grid: Grid, final: pd.DataFrame) -> pd.DataFrame:
    """One row per (strategy, target, seed): the horizon-aware updates to reach the target (``inf`` if
    no budget does), the budget that reaches it, and whether the strategy has runs of that seed."""
    judged = _judged_test(final)
    rows = []
    for target_budget, target in targets(grid, final).items():
        if not math.isfinite(target):
            continue
        for strategy in grid.strategies:
            own = judged[judged["strategy"] == strategy]
            for seed in grid.seeds:
                runs = own[own["seed"] == seed]
                updates, reached_at = _time(runs, grid, target)
                rows.append({"strategy": strategy, "target_budget": target_budget, "target": target,
                             "seed": seed, "updates": updates, "reached_at": reached_at,
                             "evaluated": len(runs) > 0})
    return pd.DataFrame(rows, columns=TIME_COLUMNS)


def performance_ratios(times: pd.DataFrame) -> pd.DataFrame:
    """r_{s,p} per strategy and problem (target, seed); problems no strategy solved are dropped."""
    times = times[times["evaluated"].astype(bool)]
    best = times.groupby(["target_budget", "seed"])["updates"].transform("min")
    out = times.assign(best=best)
    out = out[np.isfinite(out["best"])]
    return out.assign(ratio=out["updates"] / out["best"])


def profile_curves(ratios: pd.DataFrame, r_max: float, points: int = 121) -> pd.DataFrame:
    """ρ_s(τ) on an even grid of τ in [1, r_max]."""
    taus = np.linspace(1.0, r_max, points)
    rows = []
    for strategy, grp in ratios.groupby("strategy", sort=False):
        r = grp["ratio"].to_numpy(float)
        for tau in taus:
            rows.append(
                {"strategy": strategy, "tau": float(tau), "rho": float(np.mean(r <= tau)) if len(r) else 0.0}
            )
    return pd.DataFrame(rows, columns=["strategy", "tau", "rho"])


def curves(grid: Grid, final: pd.DataFrame) -> pd.DataFrame:
    """The profiles ρ_s(τ) of every strategy (`profile_curves` of the horizon-aware times)."""
    return profile_curves(performance_ratios(times_to_target(grid, final)), float(grid.report["r_max"]))


def scores(grid: Grid, final: pd.DataFrame) -> pd.DataFrame:
    """Per strategy: the AlgoPerf score (normalised area under ρ on [1, r_max]), the share of problems
    solved within r_max, and for each target (named by the budget it comes from, ``b10``) its value
    (``target_b10``, test accuracy %) and the median updates over seeds to reach it
    (``median_updates_b10``; inf if not reached by half)."""
    r_max = float(grid.report["r_max"])
    times = times_to_target(grid, final)
    ratios = performance_ratios(times)
    curves_ = profile_curves(ratios, r_max)
    goals = targets(grid, final)
    rows = []
    for strategy in grid.strategies:
        c = curves_[curves_["strategy"] == strategy]
        area = float(np.trapezoid(c["rho"], c["tau"]) / (r_max - 1.0)) if len(c) else math.nan
        r = ratios[ratios["strategy"] == strategy]["ratio"]
        row = {
            "strategy": strategy,
            "score": area,
            "solved": float(np.mean(r <= r_max)) if len(r) else math.nan,
            "problems": len(r),
        }
        for label, target in goals.items():
            t = times[(times["strategy"] == strategy) & (times["target_budget"] == label)]["updates"]
            row[f"target_{label}"] = target
            row[f"median_updates_{label}"] = float(np.median(t)) if len(t) else math.nan
        rows.append(row)
    return pd.DataFrame(rows).sort_values("score", ascending=False, kind="stable").reset_index(drop=True)
