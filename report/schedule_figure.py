"""``lr_schedules`` figure: every schedule over one budget, the strategies as configured, UBA for several φ.

Left panel: every schedule of :data:`stepsize.schedules.NAMES` with its default parameters (solid), and,
dashed, each strategy of the profile that trains with something else: other schedule parameters
(``--set`` overrides, warmup included) or another optimizer (OSGM, whose schedule multiplies a learned
step). Right panel: UBA for φ ∈ {0.5, 1, 2, 4, 10} and every φ of the profile (its other parameters those
that all the profile's UBA strategies share, e.g. a warmup, else the defaults), with cosine dotted
over φ = 2. Curves come from :func:`stepsize.schedules.multiplier` with
exactly the schedule overrides the training jobs receive.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from numpy.typing import NDArray

from report.figures import save
from report.grid import Grid
from report.latex import display_name, escape

DEFAULT_PHIS = (0.5, 1.0, 2.0, 4.0, 10.0)


@dataclass(frozen=True)
class Curve:
    """One line of the figure: its legend label, the multiplier at every update of the budget, and the
    schedule it draws (a strategy's curve takes that schedule's color; None for another optimizer)."""

    label: str
    values: NDArray[np.float64]
    schedule: str | None = None


def schedule_of(grid: Grid, strategy: str) -> tuple[str, dict[str, Any]]:
    """The schedule name and parameters one strategy trains with (common overrides, then its own)."""
    params = grid.section(strategy, "schedule")
    return params.pop("name", "constant"), params


def default_curves(total: int) -> list[Curve]:
    """Every schedule of ``stepsize.schedules.NAMES`` with its default parameters."""
    from stepsize.schedules import DEFAULTS, LABELS, NAMES, multiplier

    steps = np.arange(total)
    curves = []
    for name in NAMES:
        label = LABELS[name]
        if name == "uba":
            label += f" (φ = {DEFAULTS['uba']['phi']:g})"
        curves.append(Curve(label, multiplier(name, steps, total), name))
    return curves


def uba_params(grid: Grid, total: int) -> dict[str, Any]:
    """UBA's parameters other than φ for the φ panel: those every UBA strategy of the profile shares
    (e.g. a common warmup), else the defaults."""
    from stepsize.schedules import resolve

    shared = [_without_phi(resolve("uba", total, **schedule_of(grid, s)[1])) for s in grid.uba_phis()]
    if shared and all(params == shared[0] for params in shared):
        return shared[0]
    return _without_phi(resolve("uba", total))


def _without_phi(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k != "phi"}


def _multiplies_a_learned_step(grid: Grid, strategy: str) -> bool:
    """Whether the strategy's ``lr`` multiplies a learned or estimated step (OSGM, the LR-free methods)."""
    from stepsize.optim import SPECS

    spec = SPECS.get(grid.strategy_value(strategy, "optimizer.name"))
    return spec is not None and spec.lr != "learning rate"


def _already_drawn(grid: Grid, strategy: str, total: int) -> bool:
    """Whether a strategy's curve is one of the default curves (its schedule with default parameters)
    or of the φ panel (UBA with the panel's other parameters), with the profile's common optimizer."""
    from stepsize.schedules import resolve

    if grid.strategy_value(strategy, "optimizer.name") != grid.reference_optimizer():
        return False  # e.g. OSGM: the schedule multiplies a learned step
    name, params = schedule_of(grid, strategy)
    configured = resolve(name, total, **params)
    if name == "uba":
        return _without_phi(configured) == uba_params(grid, total)
    return configured == resolve(name, total)


def configured_curves(grid: Grid, total: int) -> list[Curve]:
    """The profile's strategies as configured, where they are not already drawn."""
    from stepsize.schedules import multiplier

    steps = np.arange(total)
    curves = []
    for strategy in grid.strategies:
        if _already_drawn(grid, strategy, total):
            continue
        name, params = schedule_of(grid, strategy)
        own_optimizer = grid.strategy_value(strategy, "optimizer.name") != grid.reference_optimizer()
        label = display_name(grid, strategy, tex=False) + " (as trained"
        label += ", × learned step)" if _multiplies_a_learned_step(grid, strategy) else ")"
        curves.append(Curve(label, multiplier(name, steps, total, **params), None if own_optimizer else name))
    return curves


def phi_curves(grid: Grid, total: int) -> list[Curve]:
    """UBA for φ in {0.5, 1, 2, 4, 10} and every φ of the profile, sorted (other parameters:
    :func:`uba_params`)."""
    from stepsize.schedules import multiplier

    steps, params = np.arange(total), uba_params(grid, total)
    phis = sorted({phi for values in grid.uba_phis().values() for phi in values} | set(DEFAULT_PHIS))
    return [
        Curve(
            f"φ = {phi:g}" + (" (= cosine)" if phi == 2 else ""),
            multiplier("uba", steps, total, phi=phi, **params),
        )
        for phi in phis
    ]


def _colors(n: int) -> list:
    """tab20's strong shades first, then its light ones, so neighbours in the legend differ."""
    palette = sns.color_palette("tab20", 20)
    order = [*range(0, 20, 2), *range(1, 20, 2)]
    return [palette[order[i % 20]] for i in range(n)]


def lr_schedules(grid: Grid, out_dir: str | Path, total_steps: int | None = None) -> None:
    """Write ``lr_schedules.{pdf,png}`` (:func:`lr_schedules_figure`)."""
    save(lr_schedules_figure(grid, total_steps), out_dir, "lr_schedules")


def lr_schedules_figure(grid: Grid, total_steps: int | None = None) -> plt.Figure:
    """Left: every schedule (defaults) and, dashed, the strategies configured otherwise; right: UBA for
    φ in {0.5, 1, 2, 4, 10} and every φ of the profile (over the full budget unless ``total_steps``)."""
    from stepsize.schedules import DEFAULTS, multiplier

    total = total_steps or grid.full_budget_steps
    x = np.arange(total) / total
    defaults, configured = default_curves(total), configured_curves(grid, total)
    fig, axes = plt.subplots(1, 2, figsize=(7.6, 3.2), sharey=True)
    colors = dict(zip([c.schedule for c in defaults], _colors(len(defaults)), strict=True))
    for curve in defaults:
        axes[0].plot(x, curve.values, color=colors[curve.schedule], linewidth=1.1, label=curve.label)
    for curve in configured:
        axes[0].plot(
            x,
            curve.values,
            color=colors.get(curve.schedule, "black"),
            linewidth=1.3,
            linestyle="--",
            label=curve.label,
        )
    title = f"every schedule, default parameters (T = {total})"
    axes[0].set_title(title + ("; dashed: strategies as configured" if configured else ""), fontsize=7.5)
    phis = phi_curves(grid, total)
    for curve, color in zip(phis, sns.color_palette("viridis", len(phis)), strict=True):
        axes[1].plot(x, curve.values, color=color, linewidth=1.2, label=curve.label)
    params = uba_params(grid, total)
    cosine = {k: v for k, v in params.items() if k in ("min_ratio", "warmup_steps")}
    axes[1].plot(
        x,
        multiplier("cosine", np.arange(total), total, **cosine),
        color="black",
        linewidth=0.8,
        linestyle=":",
        label="cosine",
    )  # φ = 2 is cosine
    changed = {k: v for k, v in params.items() if v != DEFAULTS["uba"].get(k, 0)}
    shown = ", ".join(f"{k} = {v:g}" if isinstance(v, float) else f"{k} = {v}" for k, v in changed.items())
    axes[1].set_title("UBA" + (f" ({shown})" if shown else ""), fontsize=8)
    axes[1].legend(fontsize=7, frameon=False)
    for ax in axes:
        ax.set_xlabel("fraction of the budget, $t/T$")
    axes[0].set_ylabel(r"LR multiplier $\eta_t/\eta_{\max}$")
    handles, labels = axes[0].get_legend_handles_labels()
    rows = -(-len(labels) // 5)
    fig.legend(handles, labels, loc="lower center", ncol=5, fontsize=6.5, frameon=False)
    fig.tight_layout(rect=(0, 0.045 * rows + 0.02, 1, 1))
    return fig


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
    reference = (
        grid.strategy_value(grid.report["cosine"], "optimizer.name")
        if grid.report["cosine"] in grid.strategies
        else None
    )
    if name == reference:
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
        parts = [", ".join(f"{escape(k)} = {_value(v)}" for k, v in resolved.items() if v is not None)]
        knob = grid.strategies[strategy]
        if knob.knob:
            bracket = int(grid.tuning["bracket"])  # the bracket round's values depend on the results
            parts.append(
                f"tuned: {escape(knob.knob)} $\\in$ \\{{{', '.join(_value(v) for v in knob.values)}\\}}"
                + (f" + {bracket} bracket values" if bracket else "")
            )
        parts += [f"{escape(key)} from {escape(parent)}" for key, parent in knob.inherit.items()]
        extra = optimizer_params(grid, strategy)
        if extra:
            parts.append("optimizer: " + ", ".join(f"{escape(k)} = {_value(v)}" for k, v in extra.items()))
        shown = "; ".join(part for part in parts if part)
        optimizer = grid.strategy_value(strategy, "optimizer.name", "(base config)")
        rows.append(
            f"{display_name(grid, strategy)} & {escape(optimizer)} & \\texttt{{{escape(name)}}} & "
            f"{shown or '--'} \\\\"
        )
    return "\n".join(
        [
            "\\begin{tabular}{lllp{0.5\\linewidth}}",
            "\\toprule",
            "Strategy & Optimizer & Schedule & Parameters \\\\",
            "\\midrule",
            *rows,
            "\\bottomrule",
            "\\end{tabular}",
            "",
        ]
    )
