"""Updates to reach a validation-accuracy target, summarised as AlgoPerf-style performance profiles.

Following the AlgoPerf benchmark (Dahl et al. 2023, "Benchmarking Neural Network Training Algorithms",
arXiv 2306.07179; scoring in its DOCUMENTATION.md): a *problem* p is one (target accuracy, seed) pair;
t_{s,p} is the first anytime evaluation of strategy s's full-budget run (seed of p) at which the
validation accuracy of the model s is judged on reaches the target, in updates, and ∞ if it never does
within the budget. The performance ratio is r_{s,p} = t_{s,p} / min_s' t_{s',p}, and the profile
ρ_s(τ) = |{p : r_{s,p} ≤ τ}| / |P| for τ ∈ [1, r_max] (r_max = 4: a strategy more than 4× slower than the
fastest, or that misses the target, gets no credit). The score is the area under ρ_s over [1, r_max],
normalised by r_max − 1 (1 = fastest on every problem). Problems no strategy solves are dropped.
Evaluations happen at the profile's ``anytime.fractions`` of the full budget, so times are multiples of
that grid.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from report.grid import Grid


def times_to_target(grid: Grid, evals: pd.DataFrame) -> pd.DataFrame:
    """One row per (strategy, target, seed): the updates to reach the target (``inf`` if never)."""
    full = evals[evals["budget"] == grid.full.label]
    rows = []
    for strategy in grid.strategies:
        for seed in grid.seeds_at(grid.full):
            run = full[(full["strategy"] == strategy) & (full["seed"] == seed)].sort_values("step")
            for target in grid.report["targets"]:
                reached = run[run["judged_val_acc"] >= 100 * target]
                rows.append(
                    {
                        "strategy": strategy,
                        "target": float(target),
                        "seed": seed,
                        "updates": float(reached["step"].iloc[0]) if len(reached) else math.inf,
                        "evaluated": len(run) > 0,
                    }
                )
    return pd.DataFrame(rows, columns=["strategy", "target", "seed", "updates", "evaluated"])


def performance_ratios(times: pd.DataFrame) -> pd.DataFrame:
    """r_{s,p} per strategy and problem (target, seed); problems no strategy solved are dropped."""
    times = times[times["evaluated"]]
    best = times.groupby(["target", "seed"])["updates"].transform("min")
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


def scores(grid: Grid, evals: pd.DataFrame) -> pd.DataFrame:
    """Per strategy: the AlgoPerf score (normalised area under ρ on [1, r_max]), the share of problems
    solved within r_max, and the median updates to each target (over seeds; inf if not reached by half)."""
    r_max = float(grid.report["r_max"])
    times = times_to_target(grid, evals)
    ratios = performance_ratios(times)
    curves = profile_curves(ratios, r_max)
    rows = []
    for strategy in grid.strategies:
        c = curves[curves["strategy"] == strategy]
        area = float(np.trapezoid(c["rho"], c["tau"]) / (r_max - 1.0)) if len(c) else math.nan
        r = ratios[ratios["strategy"] == strategy]["ratio"]
        row = {
            "strategy": strategy,
            "score": area,
            "solved": float(np.mean(r <= r_max)) if len(r) else math.nan,
            "problems": len(r),
        }
        for target in grid.report["targets"]:
            t = times[(times["strategy"] == strategy) & (times["target"] == float(target))]["updates"]
            row[f"median_updates_{round(1000 * float(target))}"] = float(np.median(t)) if len(t) else math.nan
        rows.append(row)
    return pd.DataFrame(rows).sort_values("score", ascending=False, kind="stable").reset_index(drop=True)
