"""Time to target as AlgoPerf defines it, horizon-aware (report.time_to_target): targets from the tuned
reference's test accuracy per budget, a strategy's time = the smallest budget whose final run reaches the
target on test, ratios and profiles over (target, seed) problems; anytime evaluations only for the
anytime figure's strategies (report.grid_schema.Grid.phase_overrides)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from factories import PROFILE, write_study

from report import grid, latex, time_to_target

# test accuracy (%) of the judged model per strategy, budget and seed 0, 1, 2 (PROFILE: b25 = 25 updates,
# b100 = 100 updates). cosine is the reference: targets b25 = mean(79, 80, 81) = 80, b100 = 90.
TEST_ACC = {
    "cosine": {"b25": [79.0, 80.0, 81.0], "b100": [89.0, 90.0, 91.0]},
    "multistep": {"b25": [91.0, 91.0, 91.0], "b100": [91.0, 91.0, 91.0]},  # both targets at b25
    "linear": {"b25": [85.0, 85.0, 85.0], "b100": [92.0, 92.0, 92.0]},  # the b100 target only at b100
    "uba": {"b25": [50.0, 50.0, 50.0], "b100": [60.0, 60.0, 60.0]},  # never
}


def final_frame(test_acc: dict = TEST_ACC, val_acc: float | None = None) -> pd.DataFrame:
    """A `report.runs.final_table`-shaped frame: the judged raw model, plus a non-judged average that is
    always far better (it must never count)."""
    rows = []
    for strategy, by_budget in test_acc.items():
        for budget, accs in by_budget.items():
            for seed, acc in enumerate(accs):
                val = acc if val_acc is None else val_acc
                rows.append({"strategy": strategy, "budget": budget, "seed": seed, "variant": "off",
                             "judged": True, "test_acc": acc, "val_acc": val})
                rows.append({"strategy": strategy, "budget": budget, "seed": seed, "variant": "tail",
                             "judged": False, "test_acc": 99.0, "val_acc": 99.0})
    return pd.DataFrame(rows)


@pytest.fixture
def g() -> grid.Grid:
    return grid.from_dict({**PROFILE, "report": {"r_max": 4.0}})


def times_of(g: grid.Grid, final: pd.DataFrame) -> pd.DataFrame:
    return time_to_target.times_to_target(g, final).set_index(["strategy", "target_budget", "seed"])


def test_targets_are_the_reference_means_at_each_budget(g):
    assert time_to_target.targets(g, final_frame()) == {"b25": pytest.approx(80), "b100": pytest.approx(90)}
    other = grid.from_dict({**PROFILE, "report": {"cosine": "linear"}})
    assert time_to_target.targets(other, final_frame()) == {"b25": 85.0, "b100": 92.0}


def test_time_is_the_smallest_budget_whose_final_run_reaches_the_target(g):
    t = times_of(g, final_frame())
    assert t.loc[("multistep", "b100", 0), "updates"] == 25.0  # reaches 90 already at 25 %
    assert t.loc[("multistep", "b100", 0), "reached_at"] == "b25"
    assert t.loc[("linear", "b25", 1), "updates"] == 25.0
    assert t.loc[("linear", "b100", 1), "updates"] == 100.0  # 85 < 90 at 25 %, 92 at 100 %
    assert t.loc[("cosine", "b25", 0), "updates"] == 100.0  # 79 < 80 at 25 %; 89 >= 80 at 100 %
    assert t.loc[("cosine", "b25", 1), "updates"] == 25.0  # the reference's own mean counts as reached
    assert math.isinf(t.loc[("cosine", "b100", 0), "updates"])  # 89 < 90 at every budget
    assert math.isinf(t.loc[("uba", "b25", 2), "updates"])  # the averages' 99 % are not its judged model


def test_a_strategy_reaching_only_at_a_larger_budget_gets_the_budget_ratio(g):
    ratios = time_to_target.performance_ratios(time_to_target.times_to_target(g, final_frame()))
    r = ratios.set_index(["strategy", "target_budget", "seed"])["ratio"]
    assert r[("linear", "b100", 0)] == pytest.approx(100 / 25)  # multistep reached at 25 %
    assert r[("multistep", "b100", 0)] == 1.0
    scores = time_to_target.scores(g, final_frame()).set_index("strategy")
    assert scores.loc["multistep", "score"] == pytest.approx(1.0)
    # linear: ratio 1 on the b25 target, 4 = r_max on the b100 one: solved everything, half the area
    assert scores.loc["linear", "solved"] == 1.0
    assert scores.loc["linear", "score"] == pytest.approx(0.5, abs=0.02)
    assert scores.loc["uba", "solved"] == 0.0 and scores.loc["uba", "score"] == 0.0
    assert scores.loc["cosine", ["median_updates_b25", "median_updates_b100"]].tolist() == [25, 100]
    assert math.isinf(scores.loc["uba", "median_updates_b100"])
    assert scores.loc["linear", "target_b100"] == pytest.approx(90.0)
    assert scores.index[0] == "multistep"


def test_the_validation_split_is_never_read(g):
    """Huge validation accuracies, low test ones: nothing reaches a target above the test accuracies."""
    low = {s: {"b25": [50.0] * 3, "b100": [55.0] * 3} for s in ("multistep", "linear", "uba")}
    final = final_frame({"cosine": TEST_ACC["cosine"], **low}, val_acc=99.9)
    times = time_to_target.times_to_target(g, final)
    assert np.isinf(times[times["strategy"] != "cosine"]["updates"]).all()
    assert time_to_target.targets(g, final) == {"b25": pytest.approx(80.0), "b100": pytest.approx(90.0)}


def test_only_the_shared_seeds_are_problems():
    g = grid.from_dict({**PROFILE, "seeds_by_budget": {25: [0, 1, 2, 3, 4]}})
    acc = {s: {"b25": [80.0] * 5, "b100": [90.0] * 3} for s in g.strategies}
    times = time_to_target.times_to_target(g, final_frame(acc))
    assert sorted(set(times["seed"])) == [0, 1, 2]


def test_anytime_evaluations_only_for_the_anytime_strategies():
    g = grid.from_dict({**PROFILE, "report": {"anytime_strategies": ["linear"]}})
    small, full = g.budgets
    assert g.anytime_strategies() == ["linear"]
    for strategy in g.strategies:
        along = g.overrides(strategy, full, 0, {})
        expected = strategy == "linear"
        assert bool(along["eval.along"]) == bool(along["eval.at_fractions"]) == expected, strategy
        assert not g.overrides(strategy, small, 0, {})["eval.along"]
        assert g.overrides(strategy, full, 0, {}, phase="plateau")["eval.along"] == []
    # the default list names strategies this profile lacks: those it has are evaluated, the others not
    default = grid.from_dict(PROFILE)
    assert default.anytime_strategies() == ["cosine", "linear", "multistep"]
    assert default.overrides("uba", default.full, 0, {})["eval.along"] == []


def test_aggregate_writes_the_targets_as_results(tmp_path):
    """The profile table heads each column by its target's budget and value; \\targetList comes from the
    aggregated table (results), not from the profile."""
    from report.aggregate import aggregate, read_theory

    g = write_study(tmp_path)
    out, theory = tmp_path / "results/unit/tables", tmp_path / "results/unit/theory"
    aggregate(g, tmp_path, read_theory(theory / "checks.json", theory / "bench.csv"), out,
              tmp_path / "results/unit/macros.tex")
    scores = pd.read_csv(out / "time_to_target.csv")
    assert {"median_updates_b25", "median_updates_b100", "target_b25", "target_b100"} <= set(scores.columns)
    target = scores["target_b100"].iloc[0]
    assert f"100\\%: {target:.2f}" in latex.profile_table(scores, g)
    macros = (tmp_path / "results/unit/macros.tex").read_text()
    first = f"{scores['target_b25'].iloc[0]:.2f}\\% (25\\% budget) and "
    assert f"\\newcommand{{\\targetList}}{{{first}" in macros
    assert "\\newcommand{\\numTargets}{2}" in macros
