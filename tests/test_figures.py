"""The training figures draw what the study measured: on the hand-built study of `factories` (known
accuracies), each figure's lines hold the expected data, with the strategies' names in the legend and
labelled axes. Checked on the returned matplotlib figures, not on image files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from factories import BASE, GAIN, SEED_SHIFT, write_study

from report import figures
from report.aggregate import aggregate, read_theory
from report.latex import VARIANT_NAMES, display_name


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("study")
    g = write_study(root)
    theory = root / "results/unit/theory"
    aggregate(g, root, read_theory(theory / "checks.json", theory / "bench.csv"), root / "tables",
              root / "macros.tex")
    return g, root / "tables"


def expected_mean(strategy: str, fraction: float, seeds) -> float:
    """Mean test accuracy (%) over seeds of the factory's final runs."""
    return float(np.mean([100 * (BASE[strategy] + 0.05 * fraction + SEED_SHIFT[s]) for s in seeds]))


def lines_by_label(ax) -> dict:
    return {line.get_label(): line for line in ax.get_lines() if not line.get_label().startswith("_")}


def test_acc_vs_budget_draws_each_strategy_at_its_mean_accuracy(study):
    g, tables = study
    fig = figures.acc_vs_budget(pd.read_csv(tables / "final.csv"), g)
    ax = fig.axes[0]
    lines = lines_by_label(ax)
    assert set(lines) == {display_name(g, s, tex=False) for s in g.strategies}
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [display_name(g, s, tex=False)
                                                                    for s in g.strategies]
    for strategy in g.strategies:
        x, y = lines[display_name(g, strategy, tex=False)].get_data()
        assert list(x) == [b.percent for b in g.budgets]
        np.testing.assert_allclose(y, [expected_mean(strategy, b.fraction, g.seeds) for b in g.budgets])
    assert ax.get_xlabel().startswith("budget") and ax.get_ylabel() == "test accuracy (%)"
    assert ax.get_xscale() == "log"


def test_paired_panels_draw_each_difference_to_the_reference_in_small_panels(study):
    """Every non-reference strategy appears once, in panels of at most PANEL_SIZE, at its mean paired
    difference; a mean beyond the cap is drawn at the panel's edge and labelled with its true value."""
    g, tables = study
    final = pd.read_csv(tables / "final.csv")
    reference = g.report["cosine"]
    fig = figures.paired_panels(final, g)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    drawn = {}
    for ax in panels:
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert 0 < len(labels) <= figures.PANEL_SIZE
        for container in ax.containers:
            drawn[container.get_label()] = container.lines[0].get_ydata()
    others = [s for s in g.strategies if s != reference]
    assert set(drawn) == {display_name(g, s, tex=False) for s in others}
    for s in others:
        expected = [expected_mean(s, b.fraction, g.seeds) - expected_mean(reference, b.fraction, g.seeds)
                    for b in g.budgets]
        np.testing.assert_allclose(drawn[display_name(g, s, tex=False)], expected, atol=1e-9)
    # one strategy 40 points worse everywhere: clipped to its panel's edge, its value written beside it
    worse = others[0]
    shifted = np.where(final["strategy"] == worse, final["test_acc"] - 40, final["test_acc"])
    bad = final.assign(test_acc=shifted)
    fig = figures.paired_panels(bad, g)
    ax = fig.axes[0]
    assert ax.get_ylim()[0] >= -figures.Y_CAP - 2
    assert any(t.get_text().startswith("-4") for t in ax.texts)


def test_swa_gain_draws_each_variant_at_its_gain(study):
    g, tables = study
    final = pd.read_csv(tables / "final.csv")
    fig = figures.swa_gain(final, pd.read_csv(tables / "swa_gains.csv"),
                           pd.read_csv(tables / "swa_interaction.csv"), g)
    left = fig.axes[0]
    lines = lines_by_label(left)
    assert set(lines) == {VARIANT_NAMES[v] for v in GAIN}
    for variant, gain in GAIN.items():
        _, y = lines[VARIANT_NAMES[variant]].get_data()
        np.testing.assert_allclose(y, [100 * gain] * len(g.budgets), atol=1e-9)
    assert left.get_ylabel() == "gain over raw model (points)"
    bars = [p.get_height() for p in fig.axes[1].patches if p.get_height() != 0]
    assert sorted(set(np.round(bars, 9))) == sorted(round(100 * v, 9) for v in GAIN.values())


def test_tuning_curves_draw_validation_accuracy_over_each_knob_grid(study):
    g, tables = study
    tuning = pd.read_csv(tables / "tuning.csv")
    fig = figures.tuning_curves(tuning, g)
    titled = {ax.get_title(): ax for ax in fig.axes if ax.get_title()}
    assert set(titled) == {display_name(g, s, tex=False) for s in g.strategies}
    for strategy in g.strategies:
        ax = titled[display_name(g, strategy, tex=False)]
        lines = lines_by_label(ax)
        assert set(lines) == {f"{b.percent}%" for b in g.budgets}
        s = g.strategies[strategy]
        for b in g.budgets:
            x, y = lines[f"{b.percent}%"].get_data()
            rows = tuning[(tuning["strategy"] == strategy) & (tuning["budget"] == b.label)]
            rows = rows.sort_values("value")
            # every value tried: the declared ones, then the bracket round's (here twice the largest)
            np.testing.assert_allclose(x, [*s.values, 2 * s.values[-1]])
            np.testing.assert_allclose(y, rows["val_acc"])
        assert ax.get_xlabel() == s.knob.split(".")[-1]
    assert fig.axes[0].get_ylabel() == "val. accuracy (%)"


def test_performance_profile_draws_the_profiles_in_score_order(study):
    g, tables = study
    curves, scores = pd.read_csv(tables / "profile_curves.csv"), pd.read_csv(tables / "time_to_target.csv")
    fig = figures.performance_profile(curves, scores, g)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    drawn = [(s, float(v)) for s, v in zip(scores["strategy"], scores["score"], strict=True)
             if (curves["strategy"] == s).any()]
    assert len(drawn) == len(g.strategies)
    labels = [t.get_text() for ax in axes for t in ax.get_legend().get_texts()]
    assert labels == [f"{display_name(g, s, tex=False)} ({v:.2f})" for s, v in drawn]  # score order
    assert all(len(ax.get_lines()) <= figures.PANEL_SIZE for ax in axes)
    lines = [line for ax in axes for line in ax.get_lines()]
    for line, (strategy, _) in zip(lines, drawn, strict=True):
        c = curves[curves["strategy"] == strategy]
        x, y = line.get_data()
        np.testing.assert_allclose(x, c["tau"])
        np.testing.assert_allclose(y, c["rho"])
    assert all(ax.get_xlim() == (1.0, float(g.report["r_max"])) for ax in axes)
    assert axes[0].get_ylabel() == "share of problems solved"


def test_anytime_draws_validation_accuracy_along_the_full_budget(study):
    g, tables = study
    evals = pd.read_csv(tables / "evals.csv")
    curves = pd.DataFrame({"strategy": ["cosine"] * 3, "budget": [g.full.label] * 3, "seed": [0, 0, 0],
                           "step": [1, 2, 3], "loss": [2.3, 2.0, 1.8]})
    fig = figures.anytime(evals, curves, g)
    loss_ax, acc_ax = fig.axes
    name = display_name(g, "cosine", tex=False)
    x, y = lines_by_label(acc_ax)[name].get_data()
    steps = [round(f * g.full.steps) for f in g.anytime["fractions"]]
    assert list(x) == steps
    np.testing.assert_allclose(y, [f * expected_mean("cosine", 1.0, g.seeds) for f in g.anytime["fractions"]])
    _, loss = lines_by_label(loss_ax)[name].get_data()
    assert loss[0] == pytest.approx(2.3)
    assert loss_ax.get_yscale() == "log" and acc_ax.get_xlabel() == "iteration"
    # only the anytime figure's strategies are evaluated along their runs, and no target line is drawn
    # (the targets are test accuracies at the end of a budget, not validation accuracies along a run)
    assert set(lines_by_label(acc_ax)) == {display_name(g, s, tex=False) for s in g.anytime_strategies()}
    assert not [line for line in acc_ax.get_lines() if line.get_label().startswith("_")]
    assert acc_ax.get_ylabel() == "validation accuracy (%)"


def errorbars_by_label(ax) -> dict:
    """label -> (x, y, [(low, high) per point]) of each labelled error-bar series."""
    out = {}
    for container in ax.containers:
        x, y = container.lines[0].get_data()
        bars = [(seg[0][1], seg[1][1]) for seg in container.lines[2][0].get_segments()]
        out[container.get_label()] = (np.asarray(x, dtype=float), np.asarray(y, dtype=float), bars)
    return out


def test_acc_intervals_draws_each_mean_with_its_t_interval(study):
    from report.stats import t_interval

    g, tables = study
    fig = figures.acc_intervals(pd.read_csv(tables / "summary.csv"), g)
    drawn = errorbars_by_label(fig.axes[0])
    assert list(drawn) == [display_name(g, s, tex=False) for s in g.strategies]
    for strategy in g.strategies:
        x, y, bars = drawn[display_name(g, strategy, tex=False)]
        np.testing.assert_allclose(y, [expected_mean(strategy, b.fraction, g.seeds) for b in g.budgets])
        assert np.all(np.abs(np.log(x / [b.percent for b in g.budgets])) < 0.1), "drawn near its budget"
        for (low, high), b in zip(bars, g.budgets, strict=True):
            ci = t_interval([100 * (BASE[strategy] + 0.05 * b.fraction + SEED_SHIFT[s]) for s in g.seeds])
            assert (low, high) == pytest.approx((ci.low, ci.high))
    assert fig.axes[0].get_xscale() == "log"


def test_paired_differences_draw_each_strategy_minus_the_reference_per_budget(study):
    g, tables = study
    fig = figures.paired_differences(pd.read_csv(tables / "final.csv"), g, "cosine")
    ax = fig.axes[0]
    others = [s for s in g.strategies if s != "cosine"]
    assert [t.get_text() for t in ax.get_xticklabels()] == [display_name(g, s, tex=False) for s in others]
    drawn = errorbars_by_label(ax)
    assert list(drawn) == [f"{b.percent}%" for b in g.budgets]
    for _, y, bars in drawn.values():
        # the seed shift and the budget term cancel in a paired difference: no spread, a zero-width interval
        expected = [100 * (BASE[s] - BASE["cosine"]) for s in others]
        np.testing.assert_allclose(y, expected, atol=1e-9)
        np.testing.assert_allclose(np.array(bars), np.array([expected, expected]).T, atol=1e-9)
    assert "Cosine" in ax.get_ylabel()


def test_paired_differences_name_a_missing_reference(study):
    g, tables = study
    final = pd.read_csv(tables / "final.csv")
    with pytest.raises(ValueError, match="reference strategy 'sgd'"):
        figures.paired_differences(final, g, "sgd")
