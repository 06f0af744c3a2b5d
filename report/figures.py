"""Training figures (seaborn/matplotlib, each saved as PDF and PNG) from the aggregated CSV tables.

- ``acc_vs_budget``: final accuracy vs budget per strategy (SWA off): mean line, one dot per seed;
- ``swa_gain``: accuracy gain of each averaging variant vs budget (mean over strategies), per
  strategy at the full budget, and against the schedule's mean LR over the averaging window;
- ``phi_sensitivity``: UBA accuracy vs phi per budget, cosine as the dashed reference;
- ``anytime``: training loss and test accuracy along the full-budget runs of a few strategies.

With few seeds a 95% t-interval is very wide (t = 12.7 for two seeds); the figures therefore show each
seed, and the tables give the intervals.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from report.grid import Grid
from report.latex import VARIANT_NAMES, display_name

FIGURES = ("acc_vs_budget", "swa_gain", "phi_sensitivity", "anytime")
sns.set_theme(style="whitegrid", context="paper", font_scale=1.0)


def save(fig: plt.Figure, out_dir: str | Path, name: str) -> None:
    """Save ``name.pdf`` and ``name.png`` and close the figure."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(out / f"{name}.pdf", bbox_inches="tight")
    fig.savefig(out / f"{name}.png", dpi=150, bbox_inches="tight")
    plt.close(fig)


def _palette(n: int) -> list:
    return sns.color_palette("tab20", n) if n > 10 else sns.color_palette("tab10", n)


def _mean_and_seeds(ax, points: pd.DataFrame, x: str, y: str, color, label: str, linestyle="-") -> None:
    """The mean over seeds as a line with markers, every seed as a small dot (few seeds: the spread is
    shown directly rather than as a t-interval, which is very wide for n = 2)."""
    points = points.dropna(subset=[y])
    if points.empty:
        return
    mean = points.groupby(x)[y].mean().sort_index()
    ax.plot(mean.index, mean.values, marker="o", markersize=3, linewidth=1.2, color=color, label=label,
            linestyle=linestyle)
    ax.scatter(points[x], points[y], s=6, color=color, alpha=0.45, linewidths=0)


def _budget_axis(ax, grid: Grid, label: str = "budget (% of the full budget)") -> None:
    ax.set_xscale("log")
    ax.set_xticks([b.percent for b in grid.budgets], [f"{b.percent}%" for b in grid.budgets])
    ax.minorticks_off()
    ax.set_xlabel(label)


def acc_vs_budget(final: pd.DataFrame, grid: Grid, out_dir: str | Path) -> None:
    """Final accuracy (SWA off) vs budget, one line per strategy (mean), dots per seed."""
    off = final[(final["variant"] == "off") & (final["status"] == "ok")]
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for color, strategy in zip(_palette(len(grid.strategies)), grid.strategies, strict=True):
        dash = (0, (4, 2)) if grid.strategy_value(strategy, "schedule.name") == "uba" else "-"
        _mean_and_seeds(ax, off[off["strategy"] == strategy], "percent", "test_acc", color,
                        display_name(grid, strategy, tex=False), dash)
    _budget_axis(ax, grid)
    ax.set_ylabel("test accuracy (%)")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=6.5, frameon=False)
    save(fig, out_dir, "acc_vs_budget")


def swa_gain(final: pd.DataFrame, gains: pd.DataFrame, interaction: pd.DataFrame, grid: Grid,
             out_dir: str | Path) -> None:
    """Left: averaging gain vs budget, averaged over strategies within each seed (dots) and over seeds
    (line). Middle: mean gain per strategy at the full budget. Right: that gain against the schedule's
    mean LR over the averaging window (one dot per strategy), the "why" of the interaction."""
    from report.tables import wide_by_variant

    fig, axes = plt.subplots(1, 3, figsize=(10.0, 3.0), gridspec_kw={"width_ratios": [1, 2, 1.1]})
    wide = wide_by_variant(final)
    variants = [v for v in VARIANT_NAMES if v != "off" and v in wide.columns]
    colors = dict(zip(variants, sns.color_palette("Set2", max(1, len(variants))), strict=False))
    for v in variants:
        per_seed = (wide[v] - wide["off"]).groupby([wide["percent"], wide["seed"]]).mean().rename("gain")
        _mean_and_seeds(axes[0], per_seed.reset_index(), "percent", "gain", colors[v], VARIANT_NAMES[v])
    axes[0].axhline(0, color="black", linewidth=0.8)
    _budget_axis(axes[0], grid, "budget")
    axes[0].set_ylabel("gain over raw model (points)")
    axes[0].legend(fontsize=7, frameon=False)
    full_label = grid.budgets[-1].label
    full = gains[gains["budget"] == full_label].copy()
    if not full.empty:
        full["name"] = [display_name(grid, s, tex=False) for s in full["strategy"]]
        full["variant"] = [VARIANT_NAMES.get(v, v) for v in full["variant"]]
        sns.barplot(data=full, x="name", y="mean", hue="variant", ax=axes[1], palette="Set2",
                    order=[display_name(grid, s, tex=False) for s in grid.strategies])
        axes[1].axhline(0, color="black", linewidth=0.8)
        axes[1].tick_params(axis="x", rotation=75, labelsize=6.5)
        axes[1].set_xlabel("")
        axes[1].set_ylabel(f"mean gain at {grid.budgets[-1].percent}% budget")
        axes[1].legend(fontsize=6.5, frameon=False)
    at_full = interaction[interaction["budget"] == full_label]
    for v in variants:
        if f"gain_{v}" in at_full.columns:
            axes[2].scatter(at_full["window_lr"], at_full[f"gain_{v}"], s=12, color=colors[v],
                            label=VARIANT_NAMES[v])
    axes[2].axhline(0, color="black", linewidth=0.8)
    axes[2].set_xlabel("mean LR / peak over the averaging window")
    axes[2].set_ylabel(f"mean gain at {grid.budgets[-1].percent}% budget")
    fig.tight_layout()
    save(fig, out_dir, "swa_gain")


def phi_sensitivity(final: pd.DataFrame, grid: Grid, out_dir: str | Path) -> None:
    """UBA accuracy vs phi, one line per budget (mean) with seed dots; cosine at the same budget dashed."""
    fig, ax = plt.subplots(figsize=(4.8, 3.2))
    off = final[(final["variant"] == "off") & (final["status"] == "ok")]
    phis = grid.uba_phis()
    uba = off[off["strategy"].isin(list(phis))].assign(phi=lambda d: d["strategy"].astype(str).map(phis))
    cosine = off[off["strategy"] == grid.report["cosine"]]
    for color, b in zip(sns.color_palette("viridis", len(grid.budgets)), grid.budgets, strict=True):
        _mean_and_seeds(ax, uba[uba["budget"] == b.label], "phi", "test_acc", color,
                        f"UBA, {b.percent}% budget")
        c = cosine[cosine["budget"] == b.label]["test_acc"]
        if len(c) and math.isfinite(c.mean()):
            ax.axhline(c.mean(), color=color, linestyle="--", linewidth=0.9)
    ax.set_xscale("log")
    if phis:
        ax.set_xticks(sorted(phis.values()), [f"{p:g}" for p in sorted(phis.values())])
        ax.minorticks_off()
    ax.set_xlabel("φ (log scale); dashed: cosine")
    ax.set_ylabel("test accuracy (%)")
    ax.legend(fontsize=7, frameon=False)
    save(fig, out_dir, "phi_sensitivity")


def anytime(evals: pd.DataFrame, curves: pd.DataFrame, grid: Grid, out_dir: str | Path) -> None:
    """Training loss (running mean) and test accuracy at the evaluation points, full budget."""
    full = grid.budgets[-1].label
    chosen = [s for s in grid.report["anytime_strategies"] if s in grid.strategies]
    chosen = chosen or list(grid.strategies)[:5]
    fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.0))
    for color, strategy in zip(sns.color_palette("tab10", len(chosen)), chosen, strict=True):
        label = display_name(grid, strategy, tex=False)
        c = curves[(curves["strategy"] == strategy) & (curves["budget"] == full)]
        if len(c):
            mean = c.groupby("step")["loss"].mean()
            window = max(1, len(mean) // 25)
            axes[0].plot(mean.index, mean.rolling(window, min_periods=1).mean(), color=color, label=label,
                         linewidth=1.0)
        e = evals[(evals["strategy"] == strategy) & (evals["budget"] == full)]
        if len(e):
            acc = e.groupby("step")["test_acc"].mean()
            axes[1].plot(acc.index, acc.values, marker="o", markersize=3, color=color, label=label)
    axes[0].set_xlabel("iteration")
    axes[0].set_ylabel("training loss (running mean)")
    axes[0].set_yscale("log")
    axes[1].set_xlabel("iteration")
    axes[1].set_ylabel("test accuracy (%)")
    axes[1].legend(fontsize=7, frameon=False)
    fig.tight_layout()
    save(fig, out_dir, "anytime")


def make_all(grid: Grid, tables_dir: str | Path, curves: pd.DataFrame, out_dir: str | Path) -> None:
    """Every figure of FIGURES from the CSVs in ``tables_dir``."""
    t = Path(tables_dir)
    final = pd.read_csv(t / "final.csv")
    acc_vs_budget(final, grid, out_dir)
    swa_gain(final, pd.read_csv(t / "swa_gains.csv"), pd.read_csv(t / "swa_interaction.csv"), grid, out_dir)
    phi_sensitivity(final, grid, out_dir)
    anytime(pd.read_csv(t / "evals.csv"), curves, grid, out_dir)
