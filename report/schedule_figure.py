"""``lr_schedules`` figure: every strategy's LR multiplier over one budget, and UBA for several phi.

Curves come from :func:`stepsize.schedules.multiplier` with exactly the schedule overrides the
training jobs receive, so the figure shows the schedules that ran.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from report.figures import save
from report.grid import Grid
from report.latex import display_name, escape

DEFAULT_PHIS = (0.5, 1.0, 2.0, 4.0, 10.0)


def schedule_of(grid: Grid, strategy: str) -> tuple[str, dict[str, Any]]:
    """The schedule name and parameters one strategy trains with (common overrides, then its own)."""
    params = grid.section(strategy, "schedule")
    return params.pop("name", "constant"), params


def lr_schedules(grid: Grid, out_dir: str | Path, total_steps: int | None = None) -> None:
    """Left: each strategy's multiplier (UBA drawn separately); right: UBA for phi in {0.5, 1, 2, 4, 10}
    and every phi of the profile."""
    from stepsize.schedules import multiplier

    total = total_steps or grid.full_budget_steps
    steps = np.arange(total)
    fig, axes = plt.subplots(1, 2, figsize=(7.6, 3.0), sharey=True)
    others = [s for s in grid.strategies if schedule_of(grid, s)[0] != "uba"]
    for color, strategy in zip(sns.color_palette("tab20", max(1, len(others))), others, strict=False):
        name, params = schedule_of(grid, strategy)
        label = display_name(grid, strategy, tex=False)
        if grid.strategy_value(strategy, "optimizer.name") == "osgm":
            label += " (× learned step)"
        axes[0].plot(steps / total, multiplier(name, steps, total, **params), color=color, linewidth=1.1,
                     label=label)
    axes[0].set_title(f"schedules over one budget (T = {total})", fontsize=8)
    phis = sorted(set(grid.uba_phis().values()) | set(DEFAULT_PHIS))
    uba = grid.uba_phis()
    uba_params = schedule_of(grid, next(iter(uba)))[1] if uba else {}
    uba_params.pop("phi", None)
    for color, phi in zip(sns.color_palette("viridis", len(phis)), phis, strict=True):
        axes[1].plot(steps / total, multiplier("uba", steps, total, phi=phi, **uba_params), color=color,
                     linewidth=1.2, label=f"φ = {phi:g}" + (" (= cosine)" if phi == 2 else ""))
    axes[1].set_title("UBA", fontsize=8)
    axes[1].legend(fontsize=7, frameon=False)
    for ax in axes:
        ax.set_xlabel("fraction of the budget, $t/T$")
    axes[0].set_ylabel(r"LR multiplier $\eta_t/\eta_{\max}$")
    handles, labels = axes[0].get_legend_handles_labels()
    rows = -(-len(labels) // 6)
    fig.legend(handles, labels, loc="lower center", ncol=6, fontsize=6.5, frameon=False)
    fig.tight_layout(rect=(0, 0.045 * rows + 0.02, 1, 1))
    save(fig, out_dir, "lr_schedules")


def _value(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:g}"
    return escape(value)


def optimizer_params(grid: Grid, strategy: str) -> dict[str, Any]:
    """The optimizer keyword arguments a strategy overrides (common, then its own), library defaults
    filled in for an optimizer other than the profile's common one (e.g. OSGM)."""
    from stepsize.optim import DEFAULTS

    merged = grid.section(strategy, "optimizer")
    name = merged.pop("name", None)
    if name == grid.common.get("optimizer.name"):
        return {}
    return {**DEFAULTS.get(name, {}), **merged}


def schedule_table(grid: Grid) -> str:
    """LaTeX tabular: each strategy's schedule and all its parameters (library defaults filled in); for
    a strategy with its own optimizer (OSGM) also that optimizer's parameters."""
    from stepsize.schedules import DEFAULTS

    rows = []
    for strategy in grid.strategies:
        name, params = schedule_of(grid, strategy)
        resolved = {**DEFAULTS.get(name, {}), **params}
        shown = ", ".join(f"{escape(k)} = {_value(v)}" for k, v in resolved.items() if v is not None)
        extra = optimizer_params(grid, strategy)
        if extra:
            shown += "; optimizer: " + ", ".join(f"{escape(k)} = {_value(v)}" for k, v in extra.items())
        optimizer = grid.strategy_value(strategy, "optimizer.name", "(base config)")
        rows.append(f"{display_name(grid, strategy)} & {escape(optimizer)} & \\texttt{{{escape(name)}}} & "
                    f"{shown or '--'} \\\\")
    return "\n".join(["\\begin{tabular}{lllp{0.5\\linewidth}}", "\\toprule",
                      "Strategy & Optimizer & Schedule & Parameters \\\\", "\\midrule", *rows,
                      "\\bottomrule", "\\end{tabular}", ""])
