"""What the convex last-iterate bound predicts about the study, held against its tuned runs.

The bound Ω_T of SGD for an arbitrary schedule on convex G-Lipschitz problems (Defazio, Cutkosky, Mehta &
Mishchenko 2023, arXiv 2310.07831, Theorem 10; `theory.last_iterate`) gives, for steps γ·s_t, the best peak
step γ* and the best value Ω*_T = 2√(𝒯₁𝒯₂), which does not depend on the scale of s. Schaipp, Hägele, Taylor,
Şimşekli & Bach (ICML 2025, arXiv 2501.18965) found that it predicts how real training curves and tuned
learning rates depend on the schedule. Here, for the schedules the study tunes with the reference optimizer
(the hand-made SGD schedules and UBA: `schedule_strategies`), at each budget of T updates:

- **ranking**: Ω*_T with constant G = 1, and with G_t measured in the strategy's own final runs (the RMS of
  the minibatch gradient norm ‖g_t‖ over each curve point, `curve.grad_norm` of the run records, squared
  and averaged over seeds); predicted: a smaller Ω*_T, a better test accuracy;
- **small budgets**: the bound's first term D²/(2Σ η_t) dominates when T is small, so the LR area
  Σ η_t = (tuned peak) · Σ s_t should rank the schedules by itself;
- **peak LRs**: the tuned peak LR of a schedule relative to the reference's against γ*_s/γ*_ref, and the
  tuned LR across budgets against γ* ∝ T^(−1/2).

Each ranking prediction is Spearman's ρ between the predicted score and the mean test accuracy over the
budget's seeds, with a percentile bootstrap interval that resamples those seeds (paired: one resample for
every schedule). The threshold, fixed on 2026-12-07 while the study's runs trained and before their results
were read: ρ > 0 (the bound orders the schedules better than chance). Schedules are sampled as in the authors'
code, the first T multipliers of a budget of T + 1 (`theory.last_iterate.schedule_multipliers`), so that a
decay to zero keeps η_T > 0.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from report.grid import Budget, Grid

RESAMPLES = 4000
COLUMNS = ["strategy", "budget", "percent", "steps", "omega_star", "omega_star_measured", "gamma_star",
           "lr", "lr_area", "mean_test_acc", "seeds"]


def schedule_strategies(grid: Grid) -> list[str]:
    """The strategies whose ``optimizer.lr`` is a learning rate set by their schedule, with the reference's
    (cosine's) optimizer: the hand-made schedules of that optimizer and UBA."""
    from stepsize.optim import SPECS

    if grid.report["cosine"] not in grid.strategies:
        return []
    reference = grid.optimizer_name(grid.report["cosine"])
    out = []
    for s in grid.strategies:
        spec = SPECS.get(grid.optimizer_name(s))
        if spec is not None and spec.lr == "learning rate" and not spec.modes:
            out += [s] if grid.optimizer_name(s) == reference else []
    return out


def multipliers(grid: Grid, strategy: str, steps: int) -> np.ndarray:
    """s_1..s_T of the strategy's schedule (its own parameters, warmup included), authors' sampling."""
    from stepsize.schedules import multiplier

    params = {k: v for k, v in grid.section(strategy, "schedule").items() if k != "name"}
    name = grid.strategy_value(strategy, "schedule.name") or "cosine"
    return multiplier(name, np.arange(steps), steps + 1, **params)


def measured_norms(curves: pd.DataFrame, strategy: str, budget: Budget) -> np.ndarray | None:
    """G_t, t = 1..T: per update, the root mean square over seeds of the RMS gradient norm of the curve
    point that covers it (None without gradient norms in the records)."""
    if curves.empty or not {"strategy", "budget", "seed", "step", "grad_norm"} <= set(curves.columns):
        return None
    rows = curves[(curves["strategy"] == strategy) & (curves["budget"] == budget.label)]
    if rows["grad_norm"].isna().all():
        return None
    per_seed = []
    for _, run in rows.groupby("seed"):
        run = run.sort_values("step")
        ends = run["step"].to_numpy(int)
        g2 = run["grad_norm"].to_numpy(float) ** 2
        index = np.searchsorted(ends, np.arange(1, budget.steps + 1), side="left")
        if index.max() >= len(ends):
            continue
        per_seed.append(g2[index])
    if not per_seed:
        return None
    mean = np.nanmean(np.vstack(per_seed), axis=0)
    return np.sqrt(mean) if np.all(np.isfinite(mean)) and np.all(mean > 0) else None


def bound_table(grid: Grid, final: pd.DataFrame, curves: pd.DataFrame,
                selections: dict[str, Any]) -> pd.DataFrame:
    """One row per (schedule strategy, budget): Ω*_T (G = 1 and measured G_t), γ*, the tuned peak LR, the
    LR area (peak · Σ s_t), the mean test accuracy of its judged model and the number of seeds."""
    from theory.last_iterate import refined_bound

    judged = final[final["judged"].astype(bool)]
    rows = []
    for strategy in schedule_strategies(grid):
        for budget in grid.budgets:
            s = multipliers(grid, strategy, budget.steps)
            const = refined_bound(s, name=strategy)
            norms = measured_norms(curves, strategy, budget)
            measured = math.nan if norms is None else refined_bound(s, 1.0, norms, name=strategy).omega_star
            selection = selections.get(strategy, {})
            chosen = selection.get("budgets", {}).get(budget.label, {})
            lr = chosen.get("value") if selection.get("knob") == "optimizer.lr" else None
            if lr is None:
                lr = grid.strategy_value(strategy, "optimizer.lr", math.nan)
            lr = float(lr)
            acc = judged[(judged["strategy"] == strategy) & (judged["budget"] == budget.label)]
            acc = acc["test_acc"].where(acc["status"] == "ok")
            rows.append({"strategy": strategy, "budget": budget.label, "percent": budget.percent,
                         "steps": budget.steps, "omega_star": const.omega_star,
                         "omega_star_measured": measured, "gamma_star": const.gamma_star, "lr": lr,
                         "lr_area": lr * float(np.sum(s)), "mean_test_acc": float(acc.mean()),
                         "seeds": int(acc.notna().sum())})
    return pd.DataFrame(rows, columns=COLUMNS)


def _accuracy_matrix(final: pd.DataFrame, strategies: list[str], budget: str) -> np.ndarray:
    """Test accuracy of the judged models, strategies × seeds of the budget (NaN: failed)."""
    judged = final[final["judged"].astype(bool) & (final["budget"] == budget)]
    acc = judged.assign(test_acc=judged["test_acc"].where(judged["status"] == "ok"),
                        strategy=judged["strategy"].astype(str))
    wide = acc.pivot_table(index="strategy", columns="seed", values="test_acc", aggfunc="first", dropna=False)
    return wide.reindex(strategies).to_numpy(float)


def rank_agreement(final: pd.DataFrame, table: pd.DataFrame, budget: str, score: str,
                   higher_is_better: bool, resamples: int = RESAMPLES, seed: int = 0) -> dict[str, Any]:
    """Spearman's ρ between ``score`` (sign-flipped when lower is better) and the mean test accuracy across
    the schedules at ``budget``, with the bootstrap samples over the budget's seeds (`bootstrap`)."""
    rows = table[(table["budget"] == budget) & table[score].notna()]
    strategies = list(rows["strategy"])
    predicted = rows[score].to_numpy(float) * (1 if higher_is_better else -1)
    acc = _accuracy_matrix(final, strategies, budget)
    if len(strategies) < 3 or acc.shape[1] < 2:
        return {"n": acc.shape[1], "rho": math.nan, "boot": np.empty(0), "schedules": len(strategies)}
    rho = float(stats.spearmanr(predicted, np.nanmean(acc, axis=1)).statistic)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, acc.shape[1], size=(resamples, acc.shape[1]))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a resample of failed runs only: dropped below
        means = np.nanmean(acc[:, picks], axis=2).T  # resamples × schedules
    keep = np.all(np.isfinite(means), axis=1) & (np.ptp(means, axis=1) > 0)
    boot = _spearman_rows(stats.rankdata(predicted), stats.rankdata(means[keep], axis=1))
    return {"n": acc.shape[1], "rho": rho, "boot": boot, "schedules": len(strategies)}


def _spearman_rows(x_ranks: np.ndarray, y_ranks: np.ndarray) -> np.ndarray:
    """Spearman's ρ of one ranked vector against every row of ranks (the Pearson correlation of ranks)."""
    x = x_ranks - x_ranks.mean()
    y = y_ranks - y_ranks.mean(axis=1, keepdims=True)
    return (y @ x) / (np.sqrt((y**2).sum(axis=1)) * np.sqrt((x**2).sum()))


def lr_ratio_table(grid: Grid, table: pd.DataFrame) -> pd.DataFrame:
    """Per schedule and budget: the tuned peak LR relative to the reference's (cosine) and γ*_s/γ*_ref; and
    per schedule, the tuned LR at each budget relative to its full-budget LR against the bound's
    γ*_T/γ*_full (≈ √(T_full/T))."""
    reference = grid.report["cosine"]
    out = []
    for budget in grid.budgets:
        at = table[table["budget"] == budget.label].set_index("strategy")
        full = table[table["budget"] == grid.full.label].set_index("strategy")
        if reference not in at.index:
            continue
        for strategy in at.index:
            out.append({"strategy": strategy, "budget": budget.label, "percent": budget.percent,
                        "lr_ratio": at.loc[strategy, "lr"] / at.loc[reference, "lr"],
                        "gamma_ratio": at.loc[strategy, "gamma_star"] / at.loc[reference, "gamma_star"],
                        "lr_vs_full": at.loc[strategy, "lr"] / full.loc[strategy, "lr"],
                        "gamma_vs_full": at.loc[strategy, "gamma_star"] / full.loc[strategy, "gamma_star"]})
    return pd.DataFrame(out, columns=["strategy", "budget", "percent", "lr_ratio", "gamma_ratio",
                                      "lr_vs_full", "gamma_vs_full"])


def log_agreement(ratios: pd.DataFrame, observed: str, predicted: str) -> float:
    """Spearman's ρ between predicted and observed log-ratios (rows other than the reference's own)."""
    rows = ratios[(ratios[observed] != 1.0) | (ratios[predicted] != 1.0)].dropna(subset=[observed, predicted])
    if len(rows) < 3 or rows[observed].nunique() < 2:
        return math.nan
    return float(stats.spearmanr(np.log(rows[predicted]), np.log(rows[observed])).statistic)


def uba_phi_star(grid: Grid, budget: Budget, phis: np.ndarray | None = None) -> float:
    """The φ of UBA (its other parameters as the study's UBA strategy) that minimises Ω*_T at ``budget``,
    over a log grid of φ in [1/16, 64]."""
    from stepsize.schedules import multiplier
    from theory.last_iterate import refined_bound

    uba = grid.report["uba"]
    params = {k: v for k, v in grid.section(uba, "schedule").items() if k not in ("name", "phi")}
    grid_phi = phis if phis is not None else np.geomspace(1 / 16, 64, 97)
    steps = np.arange(budget.steps)
    values = [refined_bound(multiplier("uba", steps, budget.steps + 1, phi=float(p), **params),
                            name="uba").omega_star for p in grid_phi]
    return float(grid_phi[int(np.argmin(values))])
