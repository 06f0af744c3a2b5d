"""Training figures (seaborn/matplotlib, each saved as PDF and PNG) from the aggregated CSV tables.

- ``acc_vs_budget``: final test accuracy of each strategy's judged model vs budget: mean line, a dot per
  seed;
- ``paired_panels`` (the paper's main figure): each strategy's paired difference to the tuned reference vs
  budget with its 95% interval, a few strategies per panel;
- ``acc_intervals`` and ``paired_differences`` (the results explorer's, not the paper's): that mean with
  its 95% interval, and each strategy's difference to a reference strategy on the same seed;
- ``swa_gain``: accuracy gain of each averaging variant vs budget (mean over strategies), per
  strategy at the full budget, and against the schedule's mean LR over the averaging window;
- ``tuning_curves``: validation accuracy vs each strategy's knob, one line per budget, the chosen value
  marked (the equal tuning budget made visible);
- ``performance_profile``: AlgoPerf-style profiles ρ_s(τ) of the horizon-aware updates to the test-accuracy
  targets of the tuned reference (`report.time_to_target`);
- ``bound_predictions``: the tuned schedules' accuracy against the convex bound Ω*_T per budget, and the
  tuned peak LRs against the bound's γ* ratios (`report.bound_predictions`);
- ``anytime``: training loss and validation accuracy along the full-budget runs of a few strategies (the
  only runs evaluated along the way, `report.grid.Grid.anytime_strategies`).

Each function returns its figure; `make_all` saves those of FIGURES. The paper's figures show every
seed; the tables give the intervals. notebooks/results_explorer.ipynb calls every function here, so it
shows what the paper shows.

No backend is chosen here: the file-writing entry point (``python -m report figures``) selects Agg
itself, and a notebook keeps its inline backend.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from report.grid import Grid
from report.latex import VARIANT_NAMES, display_name

FIGURES = ("acc_vs_budget", "paired_panels", "swa_gain", "tuning_curves", "performance_profile", "anytime",
           "bound_predictions")
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
    ax.plot(
        mean.index,
        mean.values,
        marker="o",
        markersize=3,
        linewidth=1.2,
        color=color,
        label=label,
        linestyle=linestyle,
    )
    ax.scatter(points[x], points[y], s=6, color=color, alpha=0.45, linewidths=0)


def _budget_axis(ax, grid: Grid, label: str = "budget (% of the full budget)") -> None:
    ax.set_xscale("log")
    ax.set_xticks([b.percent for b in grid.budgets], [f"{b.percent}%" for b in grid.budgets])
    ax.minorticks_off()
    ax.set_xlabel(label)


def acc_vs_budget(final: pd.DataFrame, grid: Grid) -> plt.Figure:
    """Final test accuracy of each strategy's judged model vs budget (mean line, dots per seed)."""
    judged = final[final["judged"].astype(bool) & (final["status"] == "ok")]
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for color, strategy in zip(_palette(len(grid.strategies)), grid.strategies, strict=True):
        dash = (0, (4, 2)) if grid.strategy_value(strategy, "schedule.name") == "uba" else "-"
        _mean_and_seeds(
            ax,
            judged[judged["strategy"] == strategy],
            "percent",
            "test_acc",
            color,
            display_name(grid, strategy, tex=False),
            dash,
        )
    _budget_axis(ax, grid)
    ax.set_ylabel("test accuracy (%)")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=6.5, frameon=False)
    return fig


def _interval(rows: pd.DataFrame) -> list[pd.Series]:
    """Error-bar lengths below and above ``mean`` from ``ci_low``/``ci_high`` (0 where undefined, n < 2)."""
    return [(rows["mean"] - rows["ci_low"]).fillna(0.0), (rows["ci_high"] - rows["mean"]).fillna(0.0)]


def acc_intervals(summary: pd.DataFrame, grid: Grid) -> plt.Figure:
    """Mean test accuracy of each strategy's judged model vs budget with its 95% t-interval over seeds
    (``summary.csv``, the numbers of the main table); the strategies side by side at each budget."""
    judged = summary[summary["variant"] == "judged"]
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    n = len(grid.strategies)
    for i, (color, strategy) in enumerate(zip(_palette(n), grid.strategies, strict=True)):
        rows = judged[judged["strategy"] == strategy].dropna(subset=["mean"]).sort_values("percent")
        if rows.empty:
            continue
        dash = (0, (4, 2)) if grid.strategy_value(strategy, "schedule.name") == "uba" else "-"
        bars = ax.errorbar(
            rows["percent"] * 1.025 ** (i - (n - 1) / 2),
            rows["mean"],
            yerr=_interval(rows),
            color=color,
            marker="o",
            markersize=3,
            linewidth=1.0,
            capsize=2,
            label=display_name(grid, strategy, tex=False),
        )
        bars.lines[0].set_linestyle(dash)
    _budget_axis(ax, grid)
    ax.set_ylabel("test accuracy (%), mean and 95% CI")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=6.5, frameon=False)
    return fig


def paired_differences(final: pd.DataFrame, grid: Grid, reference: str) -> plt.Figure:
    """Each strategy's judged test accuracy minus the ``reference`` strategy's on the same seed: mean and
    95% t-interval over seeds per budget (`report.tables.paired_to_reference`); above 0 is better."""
    from report.tables import paired_to_reference

    table = paired_to_reference(final, reference)
    others = [s for s in grid.strategies if s != reference]
    fig, ax = plt.subplots(figsize=(max(4.0, 0.42 * len(others) + 1.6), 3.4))
    colors = sns.color_palette("viridis", len(grid.budgets))
    width = 0.8 / len(grid.budgets)
    for j, (color, budget) in enumerate(zip(colors, grid.budgets, strict=True)):
        rows = table[table["budget"] == budget.label].set_index("strategy").reindex(others)
        ax.errorbar(
            [k + (j - (len(grid.budgets) - 1) / 2) * width for k in range(len(others))],
            rows["mean"],
            yerr=_interval(rows),
            fmt="o",
            markersize=3.5,
            capsize=2,
            linewidth=1.0,
            color=color,
            label=f"{budget.percent}%",
        )
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(others)), [display_name(grid, s, tex=False) for s in others], rotation=75,
                  fontsize=6.5)
    ax.set_ylabel(f"test acc. − {display_name(grid, reference, tex=False)} (points)")
    ax.legend(title="budget", fontsize=7, title_fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def bound_predictions(bounds: pd.DataFrame, ratios: pd.DataFrame, grid: Grid) -> plt.Figure:
    """What the convex bound predicts (`report.bound_predictions`): per budget, each tuned schedule's mean
    test accuracy against its Ω*_T (G = 1; lower predicts better), one panel per budget; last panel, the
    tuned peak LR relative to the reference's against the bound's γ*_s/γ*_ref (log-log, the diagonal is
    the prediction), one colour per budget."""
    from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

    budgets = [b for b in grid.budgets if b.label in set(bounds["budget"])]
    n = len(budgets) + 1
    cols = 2
    fig, axes = plt.subplots(-(-n // cols), cols, figsize=(9.0, 3.6 * -(-n // cols)), squeeze=False)
    flat = list(axes.flat)
    colors = sns.color_palette("viridis", max(1, len(budgets)))
    for ax, budget in zip(flat, budgets, strict=False):
        rows = bounds[bounds["budget"] == budget.label]
        ax.scatter(rows["omega_star"], rows["mean_test_acc"], s=16, color="C0")
        for _, r in rows.iterrows():
            name = display_name(grid, str(r["strategy"]), tex=False)
            ax.annotate(name, (r["omega_star"], r["mean_test_acc"]), fontsize=6, xytext=(3, 2),
                        textcoords="offset points")
        ax.set_title(f"{budget.percent}% budget", fontsize=9)
        ax.set_xlabel(r"$\Omega^\star_T$ (G = 1; lower predicts better)", fontsize=8)
        ax.set_ylabel("mean test accuracy (%)", fontsize=8)
        ax.tick_params(labelsize=7)
    last = flat[len(budgets)]
    for color, budget in zip(colors, budgets, strict=True):
        rows = ratios[(ratios["budget"] == budget.label) & (ratios["lr_ratio"] > 0)]
        last.scatter(rows["gamma_ratio"], rows["lr_ratio"], s=16, color=color, label=f"{budget.percent}%")
    finite = ratios[["gamma_ratio", "lr_ratio"]].replace([float("inf")], float("nan")).dropna()
    if len(finite):
        low = float(finite.min().min()) / 1.3
        high = float(finite.max().max()) * 1.3
        last.plot([low, high], [low, high], color="black", linewidth=0.8)
    last.set_xscale("log")
    last.set_yscale("log")
    for axis in (last.xaxis, last.yaxis):  # plain numbers on the major ticks only: legible
        axis.set_major_locator(LogLocator(base=2.0))
        axis.set_major_formatter(ScalarFormatter())
        axis.set_minor_formatter(NullFormatter())
    last.set_title("tuned peak LR vs the bound's", fontsize=9)
    last.set_xlabel(r"bound: $\gamma^\star_s / \gamma^\star_{\mathrm{ref}}$", fontsize=8)
    last.set_ylabel("tuned peak LR / reference's", fontsize=8)
    last.tick_params(labelsize=7)
    last.legend(title="budget", fontsize=7, title_fontsize=7, frameon=False)
    for ax in flat[n:]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


PANEL_SIZE = 6  # strategies per panel of `paired_panels`: few enough lines to tell apart


def panel_grid(strategies: list[str], panel_height: float, **shared) -> tuple[plt.Figure, list]:
    """Small multiples: ``strategies`` cut into chunks of `PANEL_SIZE` (order kept), one panel each, two
    panels a row; returns the figure and its (axes, chunk) pairs; axes left over are hidden."""
    chunks = [strategies[i:i + PANEL_SIZE] for i in range(0, len(strategies), PANEL_SIZE)] or [[]]
    cols = min(2, len(chunks))
    rows = -(-len(chunks) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.0 * cols, panel_height * rows), squeeze=False, **shared)
    for ax in list(axes.flat)[len(chunks):]:
        ax.set_visible(False)
    return fig, list(zip(axes.flat, chunks, strict=False))
Y_CAP = 8.0  # points: `paired_panels` marks means beyond it at the panel's edge


def paired_panels(final: pd.DataFrame, grid: Grid, reference: str | None = None) -> plt.Figure:
    """The paper's main figure: each strategy's paired test-accuracy difference to the tuned ``reference``
    (cosine by default) against budget, mean and 95% t-interval over seeds, in panels of at most
    `PANEL_SIZE` strategies (profile order, so families stay together), each panel with its own distinct
    colours. The y-range of a panel covers its intervals up to a cap of ±`Y_CAP` points; a mean beyond it
    is drawn at the edge as a triangle and labelled with its value, so one failed strategy cannot
    flatten every other line."""
    import numpy as np

    from report.tables import paired_to_reference

    reference = reference or grid.report["cosine"]
    table = paired_to_reference(final, reference)
    others = [s for s in grid.strategies if s != reference and s in set(table["strategy"])]
    fig, panels = panel_grid(others, panel_height=2.6, sharex=True)
    markers = ("o", "s", "^", "D", "v", "P")
    for ax, chunk in panels:
        sub = table[table["strategy"].isin(chunk)]
        spread = pd.concat([sub["ci_low"], sub["ci_high"], sub["mean"]]).dropna()
        low = max(float(spread.min()) if len(spread) else -1.0, -Y_CAP)
        high = min(float(spread.max()) if len(spread) else 1.0, Y_CAP)
        pad = 0.08 * max(high - low, 1.0)
        low, high = min(low, 0.0) - pad, max(high, 0.0) + pad
        for k, (color, strategy) in enumerate(zip(sns.color_palette("colorblind", len(chunk)), chunk,
                                                   strict=True)):
            rows = sub[sub["strategy"] == strategy].sort_values("percent")
            x = rows["percent"].to_numpy(float) * 1.04 ** (k - (len(chunk) - 1) / 2)
            mean = rows["mean"].to_numpy(float)
            shown = np.clip(mean, low, high)
            ax.errorbar(x, shown, yerr=[np.clip(shown - rows["ci_low"].fillna(rows["mean"]), 0, None),
                                        np.clip(rows["ci_high"].fillna(rows["mean"]) - shown, 0, None)],
                        color=color, marker=markers[k % len(markers)], markersize=3.5, linewidth=1.0,
                        capsize=2, label=display_name(grid, strategy, tex=False))
            for xi, mi, si in zip(x, mean, shown, strict=True):
                if np.isfinite(mi) and mi != si:
                    ax.annotate(f"{mi:+.0f}", (xi, si), fontsize=6, color=color, ha="center",
                                va="top" if mi < si else "bottom")
        ax.set_ylim(low, high)
        ax.axhline(0, color="black", linewidth=0.8)
        _budget_axis(ax, grid, "budget")
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6.5, frameon=False, loc="center left", bbox_to_anchor=(1.01, 0.5))  # off the data
    fig.supylabel(f"test acc. − {display_name(grid, reference, tex=False)} (points)", fontsize=8)
    fig.tight_layout()
    return fig


def swa_gain(final: pd.DataFrame, gains: pd.DataFrame, interaction: pd.DataFrame, grid: Grid) -> plt.Figure:
    """Left: averaging gain vs budget, averaged over strategies within each seed (dots) and over seeds
    (line). Middle: mean gain per strategy at the full budget. Right: that gain against the schedule's
    mean LR over the averaging window (one dot per strategy), the "why" of the interaction."""
    from report.tables import wide_by_variant

    fig, axes = plt.subplots(1, 3, figsize=(10.0, 3.0), gridspec_kw={"width_ratios": [1, 2, 1.1]})
    wide = wide_by_variant(final)
    variants = [v for v in VARIANT_NAMES if v not in ("off", "poly") and v in wide.columns]
    colors = dict(zip(variants, sns.color_palette("Set2", max(1, len(variants))), strict=False))
    for v in variants:
        per_seed = (wide[v] - wide["off"]).groupby([wide["percent"], wide["seed"]]).mean().rename("gain")
        _mean_and_seeds(axes[0], per_seed.reset_index(), "percent", "gain", colors[v], VARIANT_NAMES[v])
    axes[0].axhline(0, color="black", linewidth=0.8)
    _budget_axis(axes[0], grid, "budget")
    axes[0].set_ylabel("gain over raw model (points)")
    axes[0].legend(fontsize=7, frameon=False)
    full_label = grid.full.label
    full = gains[(gains["budget"] == full_label) & gains["variant"].isin(variants)].copy()
    if not full.empty:
        full["name"] = [display_name(grid, s, tex=False) for s in full["strategy"]]
        full["variant"] = [VARIANT_NAMES.get(v, v) for v in full["variant"]]
        sns.barplot(
            data=full,
            x="name",
            y="mean",
            hue="variant",
            ax=axes[1],
            palette="Set2",
            order=[display_name(grid, s, tex=False) for s in grid.strategies],
        )
        axes[1].axhline(0, color="black", linewidth=0.8)
        axes[1].tick_params(axis="x", rotation=75, labelsize=6)
        axes[1].set_xlabel("")
        axes[1].set_ylabel(f"mean gain at {grid.full.percent}% budget")
        axes[1].legend(fontsize=6.5, frameon=False)
    at_full = interaction[interaction["budget"] == full_label]
    for v in variants:
        if f"gain_{v}" in at_full.columns:
            axes[2].scatter(
                at_full["window_lr"], at_full[f"gain_{v}"], s=12, color=colors[v], label=VARIANT_NAMES[v]
            )
    axes[2].axhline(0, color="black", linewidth=0.8)
    axes[2].set_xlabel("mean LR / peak over the averaging window")
    axes[2].set_ylabel(f"mean gain at {grid.full.percent}% budget")
    fig.tight_layout()
    return fig


def tuning_curves(tuning: pd.DataFrame, grid: Grid) -> plt.Figure:
    """One panel per tuned strategy: validation accuracy (mean over the tuning seeds) vs its knob on a log
    axis, a line per budget through every value tried (the bracket round's values marked ×, the seeds'
    range a thin bar); the chosen value of each budget circled."""
    strategies = [s for s in grid.strategies if s in set(tuning["strategy"])]
    cols = 6
    rows = max(1, -(-len(strategies) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(1.7 * cols, 1.45 * rows + 0.4), squeeze=False, sharey=True)
    colors = dict(
        zip([b.label for b in grid.budgets], sns.color_palette("viridis", len(grid.budgets)), strict=True)
    )
    for ax, strategy in zip(axes.flat, strategies, strict=False):
        sub = tuning[tuning["strategy"] == strategy]
        for b in grid.budgets:
            line = sub[sub["budget"] == b.label].sort_values("value")
            if line.empty:
                continue
            color = colors[b.label]
            ax.plot(line["value"], line["val_acc"], marker="o", markersize=2.5, linewidth=1.0, color=color,
                    label=f"{b.percent}%")
            if {"val_acc_min", "val_acc_max"} <= set(line.columns):
                ax.vlines(line["value"], line["val_acc_min"], line["val_acc_max"], color=color, linewidth=0.6,
                          alpha=0.6)
            if "round" in line.columns:
                extra = line[line["round"] == 2]
                ax.scatter(extra["value"], extra["val_acc"], s=14, marker="x", linewidths=0.8, color=color)
            chosen = line[line["chosen"].astype(bool)]
            ax.scatter(chosen["value"], chosen["val_acc"], s=28, facecolors="none", edgecolors=color)
        ax.set_xscale("log")
        ax.set_title(display_name(grid, strategy, tex=False), fontsize=6.5)
        ax.set_xlabel(str(sub["knob"].iloc[0]).split(".")[-1], fontsize=6)
        ax.tick_params(labelsize=5.5)
        ax.minorticks_off()
    for ax in list(axes.flat)[len(strategies) :]:
        ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel("val. accuracy (%)", fontsize=6.5)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        loc="upper center",
        ncol=len(labels),
        fontsize=7,
        frameon=False,
        title="budget (cross: a bracket-round value; circle: the chosen one; bar: range over the seeds)",
        title_fontsize=7,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    return fig


def performance_profile(curves: pd.DataFrame, scores: pd.DataFrame, grid: Grid) -> plt.Figure:
    """ρ_s(τ): the share of (target, seed) problems a strategy solves within τ × the fastest's updates
    (horizon-aware: the smallest budget whose final run reaches the target on test), in panels of at most
    `PANEL_SIZE` strategies in score order (area under the curve), each with its own distinct colours; the
    legends are ordered by score."""
    order = [s for s in scores["strategy"] if (curves["strategy"] == s).any()]
    fig, panels = panel_grid(order, panel_height=2.4, sharey=True)
    styles = ("-", "--", "-.", ":", "-", "--")
    for ax, chunk in panels:
        for k, (color, strategy) in enumerate(zip(sns.color_palette("colorblind", len(chunk)), chunk,
                                                   strict=True)):
            c = curves[curves["strategy"] == strategy]
            score = float(scores[scores["strategy"] == strategy]["score"].iloc[0])
            ax.step(c["tau"], c["rho"], where="post", color=color, linewidth=1.2, linestyle=styles[k],
                    label=f"{display_name(grid, strategy, tex=False)} ({score:.2f})")
        ax.set_xlim(1.0, float(grid.report["r_max"]))
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("τ (budget reaching the target / fastest strategy's)", fontsize=7)
        ax.set_ylabel("share of problems solved", fontsize=7)
        ax.tick_params(labelsize=7)
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=6.5, frameon=False)
    fig.tight_layout()
    return fig


def anytime(evals: pd.DataFrame, curves: pd.DataFrame, grid: Grid) -> plt.Figure:
    """Training loss (running mean) and validation accuracy of the judged model at the evaluation
    points, full budget, of the strategies evaluated there (`Grid.anytime_strategies`). No target lines:
    the targets are test accuracies reached at the end of a budget (`report.time_to_target`)."""
    full = grid.full.label
    chosen = grid.anytime_strategies()
    fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.0))
    for color, strategy in zip(sns.color_palette("tab10", len(chosen)), chosen, strict=True):
        label = display_name(grid, strategy, tex=False)
        c = curves[(curves["strategy"] == strategy) & (curves["budget"] == full)]
        if len(c):
            mean = c.groupby("step")["loss"].mean()
            window = max(1, len(mean) // 25)
            axes[0].plot(
                mean.index,
                mean.rolling(window, min_periods=1).mean(),
                color=color,
                label=label,
                linewidth=1.0,
            )
        e = evals[(evals["strategy"] == strategy) & (evals["budget"] == full)]
        if len(e):
            acc = e.groupby("step")["judged_val_acc"].mean()
            axes[1].plot(acc.index, acc.values, marker="o", markersize=3, color=color, label=label)
    axes[0].set_xlabel("iteration")
    axes[0].set_ylabel("training loss (running mean)")
    axes[0].set_yscale("log")
    axes[1].set_xlabel("iteration")
    axes[1].set_ylabel("validation accuracy (%)")
    axes[1].legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


#: The tables `make_all` reads.
FIGURE_TABLES = ("final.csv", "swa_gains.csv", "swa_interaction.csv", "tuning.csv", "profile_curves.csv",
                 "time_to_target.csv", "evals.csv", "bound_predictions.csv", "bound_lr_ratios.csv")


def make_all(grid: Grid, tables_dir: str | Path, curves: pd.DataFrame, out_dir: str | Path) -> None:
    """Every figure of FIGURES from the CSVs in ``tables_dir`` (FileNotFoundError naming the first
    missing one, before any figure is drawn)."""
    t = Path(tables_dir)
    missing = [name for name in FIGURE_TABLES if not (t / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{t / missing[0]}: no such table (`python -m report aggregate` writes it)")
    final = pd.read_csv(t / "final.csv")
    save(acc_vs_budget(final, grid), out_dir, "acc_vs_budget")
    save(paired_panels(final, grid), out_dir, "paired_panels")
    save(
        swa_gain(final, pd.read_csv(t / "swa_gains.csv"), pd.read_csv(t / "swa_interaction.csv"), grid),
        out_dir,
        "swa_gain",
    )
    save(tuning_curves(pd.read_csv(t / "tuning.csv"), grid), out_dir, "tuning_curves")
    save(
        performance_profile(
            pd.read_csv(t / "profile_curves.csv"), pd.read_csv(t / "time_to_target.csv"), grid
        ),
        out_dir,
        "performance_profile",
    )
    save(anytime(pd.read_csv(t / "evals.csv"), curves, grid), out_dir, "anytime")
    bounds, ratios = pd.read_csv(t / "bound_predictions.csv"), pd.read_csv(t / "bound_lr_ratios.csv")
    save(bound_predictions(bounds, ratios, grid), out_dir, "bound_predictions")
