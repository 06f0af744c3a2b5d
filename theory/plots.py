"""Figures for the theory checks and the benchmark (matplotlib + seaborn; each saved as PDF and PNG).

File names are stable: ``theory_check_<check name>``, ``theory_bench_<problem>`` and ``theory_summary``.
Each figure comes from a function that returns it (`CHECK_PLOTTERS`, `plot_bench_problem`,
`summary_figure`), which notebooks/theory_checks.ipynb calls too. No backend is chosen here: the
file-writing entry point (``python -m theory figures``) selects Agg itself.
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from theory.methods import FEATURED, METHOD_ORDER

_COLOURS = sns.color_palette("tab10", 10)
_STYLE = {m: (_COLOURS[i % 10], "-" if i < 10 else "--") for i, m in enumerate(METHOD_ORDER)}


def safe_stem(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)


def save(fig: plt.Figure, out_dir: Path, stem: str) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{stem}.pdf", out_dir / f"{stem}.png"]
    fig.tight_layout()
    fig.savefig(paths[0])
    fig.savefig(paths[1], dpi=150)
    plt.close(fig)
    return paths


def _positive(values: list | np.ndarray) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    return np.where(array > 0, array, np.nan)


def plot_ratio_chaining(entry: dict) -> plt.Figure:
    runs = entry["data"]["runs"]
    labels = [r.get("label", "") for r in entry["numbers"]["runs"]]
    fig, axes = plt.subplots(1, len(runs), figsize=(5 * len(runs), 3.6), squeeze=False)
    for ax, run, label in zip(axes[0], runs, labels, strict=True):
        if not run:
            continue
        ax.plot(run["K"], run["log10_gap_ratio"], lw=2.5, label=r"$\log_{10}\Delta_K/\Delta_0$")
        ax.plot(run["K"], run["log10_product"], "--", color="k", lw=1, label=r"$\log_{10}\prod_{k<K} r_k$")
        ax.plot(run["K"], run["log10_amgm"], ":", color="C3", label=r"AM–GM: $K\log_{10}\bar r_K$")
        ax.set(title=f"ratio chaining: {label}", xlabel="round K", ylabel="log10")
        ax.legend(fontsize=8)
    return fig


def plot_kappa_star(entry: dict, ax: plt.Axes | None = None) -> plt.Figure | None:
    data = entry["data"]
    own = ax is None
    fig, ax = plt.subplots(figsize=(5.5, 3.8)) if own else (None, ax)
    for method, gaps in data["series"].items():
        ax.semilogy(_positive(gaps), label=method)
    first = next(iter(data["series"].values()))
    k = np.arange(len(first))
    ax.semilogy(
        k,
        first[0] * (1 - 1 / data["kappa_star"]) ** k,
        "k--",
        lw=1,
        label=rf"$(1-1/\kappa^*)^k$, $\kappa^*$={data['kappa_star']:.3g}",
    )
    if data.get("kappa"):
        ax.semilogy(
            k,
            first[0] * (1 - 1 / data["kappa"]) ** k,
            "k:",
            lw=1,
            label=rf"$(1-1/\kappa)^k$, $\kappa$={data['kappa']:.3g}",
        )
    lowest = min(np.nanmin(_positive(g)) for g in data["series"].values())
    ax.set(
        title="strongly convex: rate vs κ*",
        xlabel="round k",
        ylabel=r"$f(x_k)-f^*$",
        ylim=(lowest / 10, None),
    )
    ax.legend(fontsize=8)
    return fig


def plot_convex(entry: dict) -> plt.Figure:
    data = entry["data"]
    rows = data["checkpoints"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    ax1.loglog(np.arange(1, len(data["gaps"]) + 1), _positive(data["gaps"]), label=r"$f(x_K)-f^*$")
    ax1.loglog(
        [r["K"] + 1 for r in rows], [r["bound"] for r in rows], "o--", label=r"$R^2/(K\gamma^*_K-\rho_K)$"
    )
    ax1.set(title="convex, hypergradient feedback, null steps", xlabel="round K + 1", ylabel="gap")
    ax1.legend(fontsize=8)
    ax2.plot([r["K"] for r in rows], [r["regret"] for r in rows], "o-", label=r"measured regret $\rho_K$")
    ax2.plot([r["K"] for r in rows], [r["regret_bound"] for r in rows], "s--", label="OGD regret bound")
    ax2.set(title="regret vs bound", xlabel="round K", yscale="log")
    ax2.legend(fontsize=8)
    return fig


def plot_superlinear(entry: dict, ratio_ax: plt.Axes | None = None) -> plt.Figure | None:
    """Gaps and per-step ratios Δ_{k+1}/Δ_k; with ``ratio_ax`` only the ratio panel is drawn there."""
    series = {**entry["data"]["series"], **entry["data"].get("reference", {})}
    fig, (gap_ax, ratio_ax) = (
        plt.subplots(1, 2, figsize=(10, 3.8)) if ratio_ax is None else (None, (None, ratio_ax))
    )
    for label, gaps in series.items():
        gaps = _positive(gaps)
        if gap_ax is not None:
            gap_ax.semilogy(gaps, label=label)
        ratio_ax.semilogy(gaps[1:] / gaps[:-1], ".", ms=3, label=label)
    if gap_ax is not None:
        gap_ax.set(title="superlinear convergence", xlabel="round k", ylabel=r"$f(x_k)-f^*$")
    ratio_ax.set(title=r"per-step ratio $\Delta_{k+1}/\Delta_k$", xlabel="round k")
    ratio_ax.legend(fontsize=8)
    return fig


def plot_uba(entry: dict, ax: plt.Axes | None = None) -> plt.Figure | None:
    schedules = entry["data"]["schedules"]
    cases = entry["numbers"]["cases"]
    if ax is not None:
        key, schedule = list(schedules.items())[-1]
        _draw_schedule(ax, key, schedule)
        return None
    fig, axes = plt.subplots(2, len(cases), figsize=(4.5 * len(cases), 7), squeeze=False)
    for column, ((key, schedule), case) in enumerate(zip(schedules.items(), cases, strict=True)):
        _draw_schedule(axes[0][column], key, schedule)
        names = [
            "UBA φ=2κ, midpoints",
            "UBA, end points (as trained)",
            "UBA, end points, tuned peak",
            *case["baselines"].keys(),
            "optimal W*",
        ]
        values = [
            case["log10_worst_uba"],
            case["log10_worst_uba_endpoint"],
            case.get("log10_worst_uba_endpoint_tuned", np.nan),
            *[b["log10_worst"] for b in case["baselines"].values()],
            case["log10_worst_optimal"],
        ]
        colours = ["C0", "C9", "C8", *[f"C{i + 1}" for i in range(len(case["baselines"]))], "k"]
        axes[1][column].barh(names, values, color=colours)
        axes[1][column].set(
            xlabel=r"$\log_{10}\max_\lambda|\prod_t(1-\eta_t\lambda)|$", title="worst-case contraction"
        )
    return fig


def _draw_schedule(ax: plt.Axes, key: str, schedule: dict) -> None:
    t = np.arange(len(schedule["uba"]))
    ax.semilogy(t, schedule["uba"], lw=2.5, label="UBA, φ = 2κ")
    ax.semilogy(t, schedule["chebyshev"], "k.", label="Chebyshev steps (sorted)")
    for name, steps in schedule["tuned"].items():
        ax.semilogy(t, np.maximum(steps, 1e-3), lw=1, alpha=0.8, label=f"{name} (tuned)")
    ax.set(title=f"schedules, {key}", xlabel="step t", ylabel=r"$\eta_t$ (μ = 1/κ, L = 1)")
    ax.legend(fontsize=7)


def plot_last_iterate_pep(entry: dict) -> plt.Figure:
    """Per library schedule at each T: the bound Ω*_T against the exact worst case W_T of SGD at γ* (PEP),
    D = G = 1 (left, schedules ordered by Ω*_T at the largest T), and how tight the bound is, W_T/Ω*_T
    (right): which schedule is worst-case best, and how much of the bound is slack."""
    rows = pd.DataFrame(entry["numbers"]["rows"])
    Ts = sorted(rows["T"].unique())
    last = rows[rows["T"] == Ts[-1]].sort_values("omega_star")
    order = list(last["schedule"])
    fig, axes = plt.subplots(1, 2, figsize=(10.0, 0.28 * len(order) + 1.4), sharey=True)
    y = np.arange(len(order))
    markers = ("o", "s", "^", "D")
    for k, T in enumerate(Ts):
        sub = rows[rows["T"] == T].set_index("schedule").reindex(order)
        shift = (k - (len(Ts) - 1) / 2) * 0.18
        axes[0].scatter(sub["omega_star"], y + shift, marker=markers[k % 4], color=f"C{k}",
                        label=rf"$\Omega^\star_T$, T = {T}")
        axes[0].scatter(sub["pep_worst"], y + shift, marker=markers[k % 4], facecolors="none",
                        edgecolors=f"C{k}", label=f"PEP worst case, T = {T}")
        axes[1].scatter(sub["pep_worst"] / sub["omega_star"], y + shift, marker=markers[k % 4], color=f"C{k}",
                        label=f"T = {T}")
    axes[0].set(yticks=y, yticklabels=order, xlabel=r"$f(x_T) - f^\star$ (D = G = 1)")
    axes[0].invert_yaxis()
    axes[0].legend(fontsize=7, frameon=False)
    axes[1].axvline(1.0, color="black", linewidth=0.8)
    axes[1].set(xlabel=r"$W_T / \Omega^\star_T$ (1: the bound is exact)")
    axes[1].legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


CHECK_PLOTTERS = {
    "last_iterate_pep": plot_last_iterate_pep,
    "ratio_chaining": plot_ratio_chaining,
    "kappa_star_rate": plot_kappa_star,
    "convex_hypergradient": plot_convex,
    "superlinear": plot_superlinear,
    "uba_chebyshev": plot_uba,
}


def plot_checks(check_data: dict, out_dir: Path) -> list[Path]:
    paths = []
    for name, entry in check_data.items():
        if name in CHECK_PLOTTERS:
            paths += save(CHECK_PLOTTERS[name](entry), out_dir, f"theory_check_{name}")
    return paths


def plot_bench_problem(curves: pd.DataFrame, problem: str, ax: plt.Axes | None = None) -> plt.Figure | None:
    own = ax is None
    fig, ax = plt.subplots(figsize=(6, 4)) if own else (None, ax)
    subset = curves[curves["problem"] == problem]
    for method in [m for m in METHOD_ORDER if m in set(subset["method"])]:
        rows = subset[subset["method"] == method]
        best = pd.Series(rows["gap"].to_numpy()).clip(lower=1e-16).cummin()
        colour, style = _STYLE[method]
        width = 2.4 if method in FEATURED else 1.1
        ax.semilogy(rows["grad_calls"], best, style, label=method, color=colour, lw=width)
    ax.set(title=problem, xlabel="gradient calls", ylabel=r"best $f-f^*$ so far (floored at 1e-16)")
    if own:
        ax.legend(fontsize=7, ncol=2)
    return fig


def plot_bench(bench: pd.DataFrame, curves: pd.DataFrame, out_dir: Path) -> list[Path]:
    paths = []
    for problem in bench["problem"].unique():
        paths += save(plot_bench_problem(curves, problem), out_dir, f"theory_bench_{safe_stem(problem)}")
    return paths


def plot_summary(check_data: dict, bench: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Write the paper's ``theory_summary`` figure (:func:`summary_figure`)."""
    return save(summary_figure(check_data, bench), out_dir, "theory_summary")


def summary_figure(check_data: dict, bench: pd.DataFrame) -> plt.Figure:
    """Paper figure: (a) κ* rate, (b) superlinear ratios, (c) UBA vs Chebyshev, (d) benchmark calls table."""
    fig, axes = plt.subplots(2, 2, figsize=(11, 8.5))
    if "kappa_star_rate" in check_data:
        plot_kappa_star(check_data["kappa_star_rate"], ax=axes[0][0])
    if "superlinear" in check_data:
        plot_superlinear(check_data["superlinear"], ratio_ax=axes[0][1])
    if "uba_chebyshev" in check_data:
        plot_uba(check_data["uba_chebyshev"], ax=axes[1][0])
    _calls_heatmap(bench, axes[1][1])
    return fig


def _calls_heatmap(bench: pd.DataFrame, ax: plt.Axes) -> None:
    """Gradient calls to tolerance per method × problem; grey ✗ where the method did not converge."""
    calls = bench.assign(calls=np.where(bench["converged"], bench["grad_calls"], np.nan))
    pivot = calls.pivot(index="method", columns="problem", values="calls")
    pivot = pivot.reindex([m for m in METHOD_ORDER if m in pivot.index])
    ax.set_facecolor("0.9")
    sns.heatmap(
        np.log10(pivot),
        ax=ax,
        annot=pivot,
        fmt=".0f",
        cmap="viridis_r",
        cbar_kws={"label": "log10 gradient calls"},
        annot_kws={"fontsize": 7},
    )
    present = (
        bench.assign(ran=True).pivot(index="method", columns="problem", values="ran").reindex(pivot.index)
    )
    for (row, column), value in np.ndenumerate(pivot.to_numpy()):
        if np.isnan(value):
            mark = "✗" if present.iloc[row, column] is True else "n/a"
            ax.text(column + 0.5, row + 0.5, mark, ha="center", va="center", fontsize=7, color="0.4")
    ax.set(
        title="gradient calls to ‖∇f‖∞ < 1e-4\n(✗: not within the budget; n/a: not run)", xlabel="", ylabel=""
    )
    ax.tick_params(axis="x", labelrotation=45, labelsize=7)
