"""Unit tests of the report package on small, hand-built run records (aggregation logic only; the real
runs are exercised by the end-to-end smoke DAG in test_dag_smoke.py)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from factories import BASE, GAIN, PROFILE, accuracy, make_record, write_study

from report import grid, latex, plan, runs, stats, tables, tuning
from report.aggregate import TABLE_FILES, aggregate, read_theory

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def study(tmp_path: Path) -> tuple[grid.Grid, Path]:
    return write_study(tmp_path, diverged=(("multistep", 100, 2),)), tmp_path


def run_aggregate(g: grid.Grid, root: Path) -> Path:
    out = root / "results/unit/tables"
    theory = root / "results/unit/theory"
    aggregate(
        g,
        root,
        read_theory(theory / "checks.json", theory / "bench.csv"),
        out,
        root / "results/unit/macros.tex",
    )
    return out


# ------------------------------------------------------------------------------------------- grid
def test_grid_budgets_knobs_and_references():
    g = grid.from_dict(PROFILE)
    assert [(b.label, b.steps) for b in g.budgets] == [("b25", 25), ("b100", 100)]
    assert g.strategies["cosine"].knob == "optimizer.lr" and g.strategies["cosine"].values == (0.05, 0.1)
    assert g.strategies["uba"].inherit == {"optimizer.lr": "cosine"}
    assert g.strategies["uba"].reuse_from == "cosine" and g.uba_phis() == {"uba": (1.0, 2.0)}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"seeds": [True, 1]}, "seeds: must be a list of distinct integers"),
        ({"seeds": [0, -1]}, "seeds: must be a list of distinct integers in"),
        ({"seeds": [0]}, "at least two paired seeds"),
        ({"budget_fractions": [0.0, 1.0]}, "budget_fractions"),
        ({"budget_fractions": [0.25, 0.5]}, "must include the full budget"),
        ({"bogus": 1}, "unknown key 'bogus'"),
        ({"tuning": {"seed": 0}}, "tuning.seed: 0 is also a final seed"),
        ({"tuning": {"seeds": [1000, 2]}}, "tuning.seeds: 2 is also a final seed"),
        ({"tuning": {"seeds": []}}, "tuning.seeds: must list at least one seed, got []"),
        ({"tuning": {"seeds": 1000}}, "tuning.seeds: must be a list of distinct integers"),
        ({"tuning": {"seed": 1000, "seeds": [1001]}}, "tuning.seed: give `seeds` (a list) or the old `seed`"),
        ({"tuning": {"grid_size": 2, "bracket": -1}}, "tuning.bracket: must be an integer >= 0, got -1"),
        ({"tuning": {"grid_size": 2, "bracket": 1.5}}, "tuning.bracket: must be an integer >= 0, got 1.5"),
        ({"tuning": {"grid_size": 2, "factor": 1}}, "tuning.factor: must be a number > 1, got 1"),
        ({"tuning": {"grid_size": 2, "factor": "2"}}, "tuning.factor: must be a number > 1, got '2'"),
        ({"tuning": {"grid_size": 3}}, "has 2 values; every strategy gets the same tuning budget"),
        ({"strategies": {"bad/label": {}}}, "a label uses letters"),
        ({"strategies": {"..": {}}}, "strategies.'..': a label uses letters"),
        ({"profile": ".."}, "profile: must be a plain name (a letter or digit, then letters, digits, '_' or "
                            "'-'), got '..'"),
        ({"profile": "."}, "profile: must be a plain name"),
        ({"profile": "../elsewhere"}, "profile: must be a plain name"),
        ({"profile": "a.b"}, "profile: must be a plain name"),
        ({"strategies": {"x": {"budget.steps": 3}}}, "strategies.x.budget.steps: set by the grid"),
        ({"strategies": {"x": {"tune": {"optimizer.lr": []}}}}, "the grid must be a non-empty list"),
        (
            {"strategies": {"x": {"tune": {"optimizer.lr": [0.1, -0.2]}}}},
            "grid values must be positive numbers",
        ),
        ({"strategies": {"x": {"inherit": {"optimizer.lr": "nope"}}}}, "unknown strategy 'nope'"),
        ({"report": {"cosinus": "x"}}, "report.cosinus: unknown key"),
        ({"report": {"targets": [0.8]}}, "report.targets: not set by hand: each budget's target is the tuned "
                                         "reference's (report.cosine) mean test accuracy there"),
        ({"resources": ["train"]}, "resources: must be a mapping"),
        ({"resources": {"train": 4}}, "resources.train: must be a mapping"),
        ({"resources": {"trian": {"threads": 2}}}, "resources.trian: unknown rule (known: ['train'])"),
        ({"resources": {"train": {"thread": 2}}}, "resources.train.thread: unknown key"),
        ({"resources": {"train": {"threads": 0}}}, "resources.train.threads: must be an integer >= 1, got 0"),
        ({"resources": {"train": {"threads": "two"}}},
         "resources.train.threads: must be an integer >= 1, got 'two'"),
        ({"resources": {"train": {"gpu": -1}}}, "resources.train.gpu: must be an integer >= 0, got -1"),
        ({"resources": {"train": {"runtime": -5}}},
         "resources.train.runtime: must be an integer >= 1, got -5"),
        ({"resources": {"train": {"mem_mb": 2.5}}},
         "resources.train.mem_mb: must be an integer >= 1, got 2.5"),
        ({"report": {"r_max": "big"}}, "report.r_max: must be a number > 1, got 'big'"),
        ({"report": {"equivalence_margin_pp": -0.5}},
         "report.equivalence_margin_pp: must be a positive number of accuracy points, got -0.5"),
        ({"report": {"lr_free_margin_pp": "1pp"}}, "report.lr_free_margin_pp: must be a positive number"),
        ({"report": {"cosine": "nosuch"}}, "report.cosine: unknown strategy 'nosuch' (strategies: "),
        ({"report": {"uba": ["uba"]}}, "report.uba: unknown strategy ['uba']"),
        ({"report": {"anytime_strategies": ["cosine", "nosuch"]}},
         "report.anytime_strategies: unknown strategy 'nosuch'"),
        ({"report": {"schedule_free": "sf_sgd"}}, "report.schedule_free: must be a list of strategy labels"),
        ({"report": {"swa_variant": "polyak"}},
         "report.swa_variant: must be one of ['tail', 'swalr', 'ema', "),
        ({"report": {"small_budget_max_fraction": 2}},
         "report.small_budget_max_fraction: must be a fraction"),
        ({"common": []}, "common: must map dotted keys to values, got []"),
        ({"common": "data.name=x"}, "common: must map dotted keys to values, got 'data.name=x'"),
        ({"anytime": {"splits": ["train"]}}, "anytime.splits: must be a list of distinct splits"),
        ({"description": {"a": [1, 2]}}, "description: must be a string, got dict"),
        ({"train_config": ["a.yaml"]}, "train_config: must be the path of a config file, got ['a.yaml']"),
        ({"theory": {"size": "huge"}}, "theory.size: must be one of"),
        ({"batching": {"by": "seed"}}, "batching.by: must be one of"),
        ({"seeds_by_budget": [0, 1]}, "seeds_by_budget: must map a budget's percent to its seeds"),
        ({"seeds_by_budget": {50: [0, 1, 2, 3]}}, "seeds_by_budget.50: no budget of 50 percent"),
        ({"seeds_by_budget": {25: [0, 1, 5]}}, "seeds_by_budget.25: must extend `seeds` (lacks 2)"),
        ({"seeds_by_budget": {25: [0, 1, 2, 2]}}, "seeds_by_budget.25: must be a list of distinct"),
        ({"seeds_by_budget": {25: [0, 1, 2, 1001]}}, "tuning.seeds: 1001 is also a final seed"),
    ],
)
def test_bad_profiles_name_the_bad_key(change, message):
    with pytest.raises(grid.ProfileError, match=re_escape(message)) as err:
        grid.from_dict({**PROFILE, **change})
    assert "\n" not in str(err.value)


def test_the_report_and_resource_keys_a_profile_may_set_are_accepted():
    raw = {**PROFILE, "common": None,
           "report": {"cosine": "cosine", "uba": "uba", "anytime_strategies": ["cosine", "linear"],
                      "r_max": 3, "equivalence_margin_pp": 0.25, "swa_variant": "tail"},
           "resources": {"train": {"gpu": 0, "cpus_per_gpu": 0, "threads": 2, "mem_mb": 1000, "runtime": 5}}}
    g = grid.from_dict(raw, source="unit.yaml")
    assert g.common == {} and g.report["r_max"] == 3 and g.train_resources()["threads"] == 2


def re_escape(text: str) -> str:
    import re

    return re.escape(text)


def test_a_misspelt_override_fails_when_the_dag_is_built():
    raw = {
        **PROFILE,
        "strategies": {
            **PROFILE["strategies"],
            "cosine": {"schedule.nam": "cosine", "tune": {"optimizer.lr": [0.05, 0.1]}},
        },
    }
    with pytest.raises(
        grid.ProfileError,
        match=r"strategy cosine: schedule.nam: unknown config section|"
        r"strategy cosine: .*nam",
    ):
        grid.validate_strategies(grid.from_dict(raw))


def test_a_repeated_strategy_label_is_refused(tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_text(
        "profile: dup\nstrategies:\n  cosine: {schedule.name: cosine}\n  cosine: {schedule.name: linear}\n"
    )
    with pytest.raises(grid.ProfileError, match="duplicate key 'cosine'"):
        grid.read_yaml(path)


@pytest.mark.timeout(30)
def test_yaml_aliases_are_refused_in_one_line_before_anything_expands_them(tmp_path):
    """A billion-laughs bomb under ``description`` used to hang the DAG build (memory growing)."""
    from factories import billion_laughs

    path = tmp_path / "bomb.yaml"
    path.write_text(yaml.safe_dump(PROFILE) + "description:\n  " + billion_laughs())
    with pytest.raises(grid.ProfileError, match=r"bomb.yaml: YAML aliases are not allowed \(\*a0 at line "
                                                r"\d+, column \d+\)") as err:
        grid.load(path)
    assert "\n" not in str(err.value)


def test_a_strategy_can_replace_a_whole_config_section_and_its_knob_goes_inside():
    raw = {
        **PROFILE,
        "common": {"optimizer": {"name": "momentum", "lr": 0.1, "momentum": 0.9}},
        "strategies": {
            "cosine": {"schedule.name": "cosine", "tune": {"optimizer.lr": [0.05, 0.1]}},
            "osgm": {
                "optimizer": {"name": "osgm", "lr": 1.0},
                "schedule.name": "constant",
                "tune": {"optimizer.lr": [0.5, 1.0]},
            },
        },
    }
    g = grid.from_dict(raw)
    assert g.section("osgm", "optimizer") == {"name": "osgm", "lr": 1.0}
    sets = g.overrides("osgm", g.full, 0, {"optimizer.lr": 0.5})
    assert sets["optimizer"] == {"name": "osgm", "lr": 0.5}
    assert sets["budget.steps"] == 100 and sets["train.seed"] == 0


# ------------------------------------------------------------------------------------------- plan
def test_runs_and_batches_of_each_phase():
    g = grid.from_dict(PROFILE)
    # 4 strategies x 2 budgets x (2 declared + 1 bracket values) x 2 tuning seeds
    assert len(plan.runs(g, "tune")) == 4 * 2 * 3 * 2 and len(plan.runs(g, "final")) == 4 * 2 * 3
    assert plan.runs(g, "tune")[0].out("unit") == "results/unit/tune/multistep/b25/k0/s1000"
    assert [r.out("unit") for r in plan.runs(g, "plateau")] == ["results/unit/plateau/cosine/s0"]
    assert plan.runs(g, "plateau")[0].budget.steps == 200
    by_strategy = plan.batches(g, "final")
    assert [b.name for b in by_strategy] == [
        "final_multistep_0",
        "final_cosine_0",
        "final_linear_0",
        "final_uba_0",
    ]
    counted = plan.batches(grid.from_dict({**PROFILE, "batching": {"by": "count", "max_runs": 10}}), "final")
    # the three independent strategies share chunks of at most 10 runs; UBA (inherits, reuses) is alone
    assert [len(b.runs) for b in counted] == [9, 9, 6] and counted[-1].strategies == ["uba"]
    per_budget = plan.batches(grid.from_dict({**PROFILE, "batching": {"by": "budget"}}), "tune")
    assert per_budget[0].name == "tune_multistep_b25_0" and len(per_budget) == 8 + 8
    assert per_budget[8].name == "tune2_multistep_b25_0" and per_budget[8].round == 2
    assert {r.index for r in per_budget[8].runs} == {2} and len(per_budget[8].runs) == 2  # one value, 2 seeds
    # the bracket round is never pooled across strategies: its plan waits for its own strategy's round 1
    pooled = plan.batches(grid.from_dict({**PROFILE, "batching": {"by": "count", "max_runs": 100}}), "tune")
    assert [b.name for b in pooled] == ["tune_all_0", "tune_uba_0", "tune2_multistep_0", "tune2_cosine_0",
                                        "tune2_linear_0", "tune2_uba_0"]
    assert len(pooled[0].runs) == 3 * 2 * 2 * 2 and all(r.index < 2 for r in pooled[0].runs)
    no_bracket = grid.from_dict({**PROFILE, "tuning": {"seeds": [1000], "grid_size": 2}})
    assert [b.round for b in plan.batches(no_bracket, "tune")] == [1] * 4


def test_anytime_evaluations_cover_the_judged_model_only():
    strategies = {**PROFILE["strategies"], "dog": {"optimizer.name": "dog", "swa.variants": ["tail", "poly"],
                                                   "output": "poly"}}
    g = grid.from_dict({**PROFILE, "strategies": strategies,
                        "report": {"anytime_strategies": ["cosine", "dog"]}})
    small, full = g.budgets
    assert g.overrides("cosine", full, 0, {})["swa.running"] == "off"  # judged raw: no running average
    assert g.overrides("dog", full, 0, {})["swa.running"] == "poly"  # judged on its average: that one
    assert "swa.running" not in g.overrides("cosine", small, 0, {})  # no anytime points below the full budget
    assert g.overrides("cosine", full, 0, {})["eval.at_fractions"] == [0.5, 1.0]


def test_plans_carry_the_choices_inherited_values_and_reuse(study):
    g, root = study
    selections = {s: json.loads((root / plan.selection_path(g, s)).read_text()) for s in g.strategies}
    tune_uba = next(b for b in plan.batches(g, "tune") if b.strategies == ["uba"])
    p = plan.plan(g, tune_uba, selections)
    # cosine chose its bracket value, lr 0.2 (a later index is better); UBA tunes phi at that lr; phi = 2
    # reuses cosine's run at that value and the same tuning seed
    assert {r["set"]["optimizer.lr"] for r in p["runs"]} == {0.2}
    reused = [r for r in p["runs"] if r["set"]["schedule.phi"] == 2.0]
    assert len(reused) == 2 * 2 and all(
        r["reuse"] == "/".join([*r["out"].replace("/uba/", "/cosine/").split("/")[:-2], "k2",
                                r["out"].split("/")[-1], "run.json"])
        for r in reused
    )
    assert {r["set"]["train.seed"] for r in reused} == {1000, 1001}
    assert all(r["set"]["eval.final"] == ["val"] for r in p["runs"])
    final_cosine = plan.plan(g, plan.batches(g, "final")[1], selections)
    full = [r for r in final_cosine["runs"] if r["set"]["budget.steps"] == 100]
    assert full[0]["set"]["eval.at_fractions"] == [0.5, 1.0] and full[0]["set"]["eval.along"] == ["val"]
    assert plan.plan_inputs(g, tune_uba)["selections"] == ["results/unit/tuning/cosine.json"]


# ----------------------------------------------------------------------------------------- tuning
def _val(v: float | None, status: str = "ok") -> dict:
    return {"status": status, "final": {"val_acc": v}}


@pytest.mark.parametrize(
    ("scores", "count", "expected"),
    [
        ([0.80, 0.81, 0.82], 2, [0.4, 0.8]),  # best at the largest declared value: above the grid
        ([0.82, 0.81, 0.80], 2, [0.025, 0.0125]),  # best at the smallest: below the grid
        ([0.80, 0.82, 0.81], 2, [0.141421, 0.0707107]),  # interior best b: b*sqrt(f), b/sqrt(f)
        ([0.80, 0.82, 0.81], 4, [0.141421, 0.0707107, 0.118921, 0.0840896]),  # then b*f^(1/4), b/f^(1/4)
        ([-math.inf] * 3, 2, [0.025, 0.0125]),  # every round-1 run failed: downward
        ([0.81, 0.81, 0.80], 1, [0.025]),  # a tie goes to the smaller value (here the smallest)
        ([0.80, 0.81, 0.82], 0, []),
    ],
)
def test_bracket_values_extend_past_an_edge_best_or_refine_an_interior_one(scores, count, expected):
    assert tuning.bracket_values([0.05, 0.1, 0.2], scores, 2.0, count) == expected


def test_bracket_values_use_the_factor():
    assert tuning.bracket_values([1.0, 3.0], [0.5, 0.9], 3.0, 2) == [9.0, 27.0]


def test_selection_averages_the_seeds_over_both_rounds_ties_and_divergence():
    g = grid.from_dict(PROFILE)  # 2 declared values (0.05, 0.1), 1 bracket value, seeds 1000 and 1001
    b25 = g.budget("b25")
    acc = {(0, 1000): 0.80, (0, 1001): 0.84, (1, 1000): 0.83, (1, 1001): 0.83,
           (2, 1000): 0.85, (2, 1001): 0.79}
    records = {r: _val(acc[(r.index, r.seed)]) for r in plan.runs(g, "tune", "linear")}
    assert tuning.values_tried(g, "linear", b25, records) == [0.05, 0.1, 0.2]  # round 1's best: the largest
    entry = tuning.select(g, "linear", records, {})["budgets"]["b25"]
    assert entry["values"] == [0.05, 0.1, 0.2] and entry["scores"] == pytest.approx([0.82, 0.83, 0.82])
    assert entry["index"] == 1 and entry["value"] == 0.1 and entry["at_cap"] is False
    assert entry["tried"][2] == {"value": 0.2, "round": 2, "score": pytest.approx(0.82),
                                 "seed_scores": [0.85, 0.79]}
    # a diverged seed makes its value's mean -inf: the worst value, whatever the other seed scored
    records[plan.Run("tune", "linear", b25, 1001, 1)] = _val(None, "diverged")
    entry = tuning.select(g, "linear", records, {})["budgets"]["b25"]
    assert entry["scores"][1] == -math.inf and entry["tried"][1]["seed_scores"] == [0.83, -math.inf]
    # round 1's best is now the smallest value, so the bracket value lies below it, and its tie with
    # 0.05 (0.82 each) goes to the smaller value: a choice at the cap of the values tried
    assert entry["values"] == [0.05, 0.1, 0.025] and entry["value"] == 0.025 and entry["at_cap"] is True
    failed = tuning.select(g, "linear", dict.fromkeys(records), {})["budgets"]["b25"]
    assert failed["all_failed"] and failed["values"] == [0.05, 0.1, 0.025] and failed["value"] == 0.025
    once = grid.from_dict({**PROFILE, "tuning": {"seeds": [1000], "grid_size": 2, "per_budget": False}})
    assert all(r.budget == once.full for r in plan.runs(once, "tune"))
    transferred = tuning.select(
        once, "linear", {r: _val(0.8 + 0.01 * r.index) for r in plan.runs(once, "tune", "linear")}, {}
    )
    assert transferred["budgets"]["b25"] == {**transferred["budgets"]["b100"], "transferred_from": "b100"}
    assert transferred["budgets"]["b100"]["at_cap"] is True and transferred["budgets"]["b100"]["value"] == 0.1


def test_a_bracket_round_plan_reads_the_round_one_records_of_its_strategy(tmp_path):
    g = grid.from_dict({**PROFILE, "batching": {"by": "budget"}})
    batch = next(b for b in plan.batches(g, "tune") if b.name == "tune2_linear_b100_0")
    inputs = plan.plan_inputs(g, batch)
    assert inputs["records"] == [f"results/unit/tune/linear/b100/k{i}/s{s}/run.json"
                                 for i in (0, 1) for s in (1000, 1001)]
    assert inputs["selections"] == [] and inputs["reuse"] == []
    round_one = next(b for b in plan.batches(g, "tune") if b.name == "tune_linear_b100_0")
    assert plan.plan_inputs(g, round_one)["records"] == []
    # the plan's values: the bracket value computed from those records (here round 1's best is 0.05)
    records = {r: _val(0.9 - 0.1 * r.index) for r in plan.round_one_runs(g, batch)}
    planned = plan.plan(g, batch, {}, records)
    assert [(r["set"]["optimizer.lr"], r["set"]["train.seed"]) for r in planned["runs"]] == [
        (0.025, 1000), (0.025, 1001)]
    assert [r["out"] for r in planned["runs"]] == [
        f"results/unit/tune/linear/b100/k2/s{s}" for s in (1000, 1001)]
    # a UBA bracket round needs cosine's choice (its LR) and may reuse cosine's runs, as its round 1 does
    uba = next(b for b in plan.batches(g, "tune") if b.name == "tune2_uba_b25_0")
    assert plan.plan_inputs(g, uba)["selections"] == ["results/unit/tuning/cosine.json"]
    assert len(plan.plan_inputs(g, uba)["records"]) == 2 * 2


def test_the_plan_command_writes_a_bracket_round_plan_from_the_records(study):
    _, root = study
    out = root / "plan.json"
    proc = subprocess.run(
        [sys.executable, "-m", "report", "plan", "--profile", str(root / "results/unit/profile.json"),
         "--batch", "tune2_linear_0", "--out", str(out)],
        cwd=root, capture_output=True, text=True, timeout=120, env={**__import__("os").environ,
                                                                     "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 0, proc.stderr
    runs_ = json.loads(out.read_text())["runs"]
    # write_study: a later index is better, so round 1's best is the largest value, 0.1: next 0.2
    assert {r["set"]["optimizer.lr"] for r in runs_} == {0.2} and len(runs_) == 2 * 2


# -------------------------------------------------------------------------------- records, tables
def test_summary_means_and_diverged_runs(study):
    g, root = study
    final = runs.final_table(g, runs.load(g, "final", root))
    summary = tables.summary(final)
    judged = summary[(summary.budget == "b100") & (summary.variant == "judged")].set_index("strategy")
    expected = [100 * accuracy("cosine", 1.0, s) for s in (0, 1, 2)]
    assert judged.loc["cosine", "mean"] == pytest.approx(sum(expected) / 3) and judged.loc["cosine", "n"] == 3
    assert judged.loc["multistep", "n"] == 2 and judged.loc["multistep", "n_diverged"] == 1
    ranks = tables.average_ranks(final).set_index("strategy")
    assert ranks.loc["multistep", "b100"] == pytest.approx(4.0) and ranks.loc["uba", "b100"] == pytest.approx(
        1.0
    )
    assert "^{\\dagger1}" in latex.main_table(summary, g)


def test_swa_gains_are_paired_differences(study):
    g, root = study
    gains = tables.swa_gain_over_strategies(runs.final_table(g, runs.load(g, "final", root)))
    for variant, gain in GAIN.items():
        row = gains[(gains.variant == variant) & (gains.budget == "b25")].iloc[0]
        assert row["mean"] == pytest.approx(100 * gain) and row["n"] == 3


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda r: r["final"].update(test_acc="high"), "final.test_acc must be a number or null"),
        (lambda r: r["final"].update(test_acc=1.5), "final.test_acc = 1.5 is not an accuracy in [0, 1]"),
        (lambda r: r.update(status="weird"), "status must be one of"),
        (
            lambda r: r["config"]["budget"].update(steps=7),
            "config budget.steps = 7, but the profile plans 25",
        ),
        (lambda r: r.pop("final"), "missing key 'final'"),
    ],
)
def test_a_bad_record_is_a_one_line_error_naming_the_file(study, edit, message):
    g, root = study
    path = root / plan.runs(g, "final")[0].record(g.profile)
    record = json.loads(path.read_text())
    edit(record)
    path.write_text(json.dumps(record))
    with pytest.raises(runs.RecordError, match=re_escape(message)) as err:
        runs.load(g, "final", root)
    assert str(path.name) in str(err.value) and "\n" not in str(err.value)
    path.write_text("{not json")
    with pytest.raises(runs.RecordError, match="not valid JSON"):
        runs.load(g, "final", root)
    path.unlink()
    with pytest.raises(runs.RecordError, match="run record not found"):
        runs.load(g, "final", root)


# ------------------------------------------------------------------------------------------- stats
def test_t_interval_mde_and_bootstrap_ratio():
    ci = stats.t_interval([1.0, 3.0])
    assert ci.mean == pytest.approx(2.0) and ci.half_width == pytest.approx(12.7062, abs=1e-4)
    # MDE = (t_0.975 + t_0.8) s / sqrt(n), n = 5, s = 1: (2.7764 + 0.9410) / sqrt(5)
    assert stats.minimum_detectable_effect([0, 1, 2, 1, 1.5811388]) == pytest.approx(
        (2.7764 + 0.9410) * np.std([0, 1, 2, 1, 1.5811388], ddof=1) / math.sqrt(5), rel=1e-3
    )
    ratio = stats.ratio_interval([1.0, 1.0, 1.0], [2.0, 2.0, 2.0])
    assert (ratio.mean, ratio.low, ratio.high) == pytest.approx((0.5, 0.5, 0.5))


# -------------------------------------------------------------------------------- aggregate + CLI
def test_aggregate_writes_every_table_macros_and_their_provenance(study):
    g, root = study
    out = run_aggregate(g, root)
    for name in TABLE_FILES:
        assert (out / name).is_file(), name
    cosine_mean = sum(100 * accuracy("cosine", 1.0, s) for s in (0, 1, 2)) / 3
    assert f"{cosine_mean:.2f}" in (out / "table_main.tex").read_text()
    macros = (root / "results/unit/macros.tex").read_text()
    assert "\\newcommand{\\numRuns}{73}" in macros  # 48 tuning + 24 final + 1 plateau
    # (2 declared + 1 bracket value) x 2 tuning seeds per strategy and budget, the same for every strategy
    for name, value in (("tuningRunsPerBudget", "6"), ("tuningValues", "3"), ("tuningBracket", "1"),
                        ("tuningSeedCount", "2"), ("tuningSeed", "1000 and 1001"), ("numEdgeChoices", "8")):
        assert f"\\newcommand{{\\{name}}}{{{value}}}" in macros, name
    assert "\\newcommand{\\numDiverged}{1}" in macros
    assert "\\newcommand{\\theoryChecksPassed}{1}" in macros
    provenance = json.loads((root / "results/unit/provenance.json").read_text())["macros"]
    assert set(provenance) == set(__import__("re").findall(r"\\newcommand\{\\(\w+)\}", macros))
    entry = provenance["cosineFullAcc"]
    assert entry["value"] == f"{cosine_mean:.2f}" and entry["source"].startswith("tables/summary.csv")
    assert entry["runs"] == [f"results/unit/runs/cosine/b100/s{s}" for s in (0, 1, 2)]
    tuned = pd.read_csv(out / "tuning.csv")
    # a later index is better (factories.write_study): every choice is the bracket value above the grid
    assert set(tuned[tuned["chosen"]]["value"]) == {0.2, 4.0} and tuned[tuned["chosen"]]["at_cap"].all()
    assert len(tuned) == 4 * 2 * 3 and list(tuned["round"][:3]) == [1, 1, 2]
    assert "Declared values + bracket" in (out / "table_tuning.tex").read_text()
    uba = pd.read_csv(out / "uba.csv")
    assert list(uba["value"][:3]) == [1.0, 2.0, 4.0] and set(uba["lr"]) == {0.2}
    assert "\\textbf{4: " in (out / "table_uba.tex").read_text()


def test_trace_prints_the_chain_behind_a_macro(study):
    g, root = study
    run_aggregate(g, root)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "report",
            "trace",
            "\\cosineFullAcc",
            "--profile",
            "unit",
            "--root",
            str(root),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "tables/summary.csv" in proc.stdout and "results/unit/runs/cosine/b100/s2" in proc.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "report", "trace", "\\noSuchMacro", "--profile", "unit", "--root", str(root)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "noSuchMacro" in bad.stderr and bad.stderr.count("\n") == 1


def test_every_macro_name_is_literal_in_the_source():
    """grep finds where each macro is made: every name passed to MacroBook.add is a string literal, a claim's
    literal `verdict_macro`, or a key of the literal dict `report.theory_report.theory_macros` returns."""
    import ast

    for module in ("report/macros.py", "report/setup_macros.py", "report/claims/registry.py"):
        tree = ast.parse((ROOT / module).read_text())
        for function in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]:
            for node in ast.walk(function):
                if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add" and node.args:
                    first = node.args[0]
                    literal = isinstance(first, ast.Constant) or (
                        isinstance(first, ast.Attribute) and first.attr == "verdict_macro")
                    assert literal or function.name == "theory_macros", ast.unparse(node)
    theory = ast.parse((ROOT / "report/theory_report.py").read_text())
    (made,) = [n for n in theory.body if isinstance(n, ast.FunctionDef) and n.name == "theory_macros"]
    (returned,) = [n.value for n in ast.walk(made) if isinstance(n, ast.Return)]
    assert isinstance(returned, ast.Dict) and returned.keys
    assert all(isinstance(k, ast.Constant) and isinstance(k.value, str) for k in returned.keys)


def test_cli_reports_missing_input_in_one_line(study, tmp_path):
    _, root = study
    cmd = [
        sys.executable,
        "-m",
        "report",
        "aggregate",
        "--profile",
        str(root / "results/unit/profile.json"),
        "--runs-root",
        str(root),
        "--checks",
        str(root / "nope/checks.json"),
        "--bench",
        str(root / "results/unit/theory/bench.csv"),
        "--out",
        str(tmp_path / "t"),
        "--macros",
        str(tmp_path / "m.tex"),
    ]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0
    assert "theory output not found" in proc.stderr and "nope/checks.json" in proc.stderr
    (root / "results/unit/theory/checks.json").write_text("[1, 2")
    proc = subprocess.run(
        [*cmd[:9], str(root / "results/unit/theory/checks.json"), *cmd[10:]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "not valid JSON" in proc.stderr


def test_figures_without_the_tables_folder_is_one_line_naming_the_table(study, tmp_path):
    _, root = study
    proc = subprocess.run(
        [sys.executable, "-m", "report", "figures", "--profile", str(root / "results/unit/profile.json"),
         "--tables", str(tmp_path / "no_tables"), "--out", str(tmp_path / "fig"), "--runs-root", str(root)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0, proc.stderr
    assert f"{tmp_path / 'no_tables' / 'final.csv'}: no such table" in proc.stderr
    assert not (tmp_path / "fig").exists()


def test_cli_rejects_bad_profile(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("profile: x\ntrain_config: a.yaml\nseeds: [0, 1]\ntuning: {}\nstrategies: {}\n")
    proc = subprocess.run(
        [sys.executable, "-m", "report", "jobs", str(bad)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "error:" in proc.stderr and "full_budget_steps" in proc.stderr


def test_escape_translates_unicode_math_for_latex():
    assert latex.escape("Δ_K ≤ 1e-10, 50%") == "\\ensuremath{\\Delta}\\_K \\ensuremath{\\le} 1e-10, 50\\%"
    assert latex.escape("café 😀") == "café ?"


def test_display_names_are_unique_and_readable():
    raw = {
        **PROFILE,
        "strategies": {
            "cosine": {"schedule.name": "cosine", "tune": {"optimizer.lr": [0.05, 0.1]}},
            "wsd": {"schedule.name": "wsd", "tune": {"optimizer.lr": [0.05, 0.1]}},
            "wsd_linear": {
                "schedule.name": "wsd",
                "schedule.decay_shape": "linear",
                "tune": {"optimizer.lr": [0.05, 0.1]},
            },
            "adamw_cosine": {
                "optimizer": {"name": "adamw", "lr": 0.01},
                "schedule.name": "cosine",
                "tune": {"optimizer.lr": [0.004, 0.008]},
            },
            "dog": {
                "optimizer": {"name": "dog", "lr": 1.0},
                "schedule.name": "constant",
                "output": "poly",
                "tune": {"optimizer.reps_rel": [0.0001, 0.001]},
            },
        },
    }
    names = latex.display_names(grid.from_dict(raw))
    assert names == {
        "cosine": "Cosine",
        "wsd": "WSD",
        "wsd_linear": "WSD (decay shape linear)",
        "adamw_cosine": "AdamW + Cosine",
        "dog": "DoG (poly avg.)",
    }


def test_make_record_factory_matches_what_the_trainer_writes(tmp_path):
    """The hand-made records have the keys of a real one (so these tests test the real format)."""
    from stepsize import config, train

    cfg = config.resolve(
        {
            "data": {
                "name": "synthetic",
                "train_size": 64,
                "test_size": 32,
                "batch_size": 16,
                "image_size": 8,
                "in_channels": 1,
                "val_size": 16,
            },
            "model": {"width": 2},
            "budget": {"steps": 2},
            "eval": {"final": ["test", "val"]},
            "swa": {"variants": ["tail", "swalr"], "start": 0.5},
            "train": {"device": "cpu", "threads": 1, "progress": False},
        }
    )
    real = train.train(cfg, tmp_path / "run")
    fake = make_record(0.8, 2, 0)
    assert set(fake) <= set(real) and set(fake["final"]) == set(real["final"])
    assert set(fake["averaged"]["tail"]) <= set(real["averaged"]["tail"]) and BASE


def test_the_bn_sentence_says_how_raw_models_are_evaluated():
    from report.setup_macros import _bn_sentence

    cfg = {"data": {"batch_size": 128}, "swa": {"bn_batches": 8}, "eval": {"recompute_bn": True}}
    assert "recomputed on 8 training batches of 128 images (" in _bn_sentence(cfg)
    assert "\\citep{wu2021rethinking}" in _bn_sentence(cfg)
    running = _bn_sentence({**cfg, "eval": {"recompute_bn": False}, "swa": {"bn_batches": None}})
    assert running.startswith("The raw models are evaluated with PyTorch's running")
    assert running.endswith("recomputed on one epoch of training batches")


def test_a_budget_with_its_own_seeds_is_planned_judged_and_described(tmp_path):
    """``seeds_by_budget`` adds seeds at one budget: its final runs, claim rows and table intervals use
    them all, a claim pooled over budgets uses the seeds every budget shares, and the paper says so."""
    from report.setup_macros import _seed_allocation_sentence, _seed_count

    strategies = {**PROFILE["strategies"],
                  "wsd": {"schedule.name": "wsd", "tune": {"optimizer.lr": [0.05, 0.1]}},
                  "wsd_linear": {"schedule.name": "wsd", "schedule.decay_shape": "linear",
                                 "tune": {"optimizer.lr": [0.05, 0.1]}}}
    raw = {**PROFILE, "strategies": strategies, "seeds_by_budget": {25: [0, 1, 2, 3, 4]}}
    # the profile.json that Snakemake writes has string keys; it must mean the same grid
    assert grid.from_dict(json.loads(json.dumps(raw))).budget_seeds == {"b25": [0, 1, 2, 3, 4]}
    g = write_study(tmp_path, raw, base={**BASE, "wsd": 0.815, "wsd_linear": 0.81})
    assert [len(g.seeds_at(b)) for b in g.budgets] == [5, 3]
    finals = plan.runs(g, "final", "cosine")
    assert sorted(r.seed for r in finals if r.budget.percent == 25) == [0, 1, 2, 3, 4]
    out = run_aggregate(g, tmp_path)
    claims = pd.read_csv(out / "claims.csv")
    linear = claims[claims["claim_id"] == "linear_vs_cosine"].set_index("setting")["n"]
    assert linear.to_dict() == {"25%": 5, "100%": 3}
    pooled = claims[claims["claim_id"] == "sqrt_vs_linear_cooldown"]
    assert pooled["n"].tolist() == [3]  # seeds 0-2 only: seeds 3 and 4 have no full-budget run
    assert pooled["estimate"].iloc[0] == pytest.approx(0.5, abs=1e-9)  # 0.815 - 0.81, in points
    assert _seed_count(g) == "3 seeds (5 at the 25\\% budget)"
    assert _seed_allocation_sentence(g).startswith("The 25\\% budget gets more seeds")
    plain = grid.from_dict(PROFILE)
    assert _seed_count(plain) == "3 seeds" and _seed_allocation_sentence(plain) == ""


def test_the_averaging_table_is_a_longtable_of_legible_columns():
    """One block of rows per budget and one column per averaging variant (budgets × variants side by
    side were 15 columns at ~4 pt); every strategy appears once per budget; a cell with no surviving run
    says so."""
    g = grid.from_dict(PROFILE, source="unit")
    variants = ["off", "tail", "swalr"]
    rows = [{"strategy": s, "budget": b.label, "variant": v, "mean": 80.0 + i, "half_width": 1.0, "n": 3,
             "n_diverged": 0} for s in g.strategies for b in g.budgets for i, v in enumerate(variants)]
    rows[0].update(n=0, n_diverged=3)
    text = latex.main_swa_table(pd.DataFrame(rows), g)
    assert text.startswith("\\begin{longtable}{l" + "c" * len(variants) + "}")
    assert text.count("\\textit{Budget") == len(g.budgets)
    body = [line for line in text.splitlines() if " & " in line and not line.startswith("Strategy")]
    assert len(body) == len(g.strategies) * len(g.budgets)
    assert body[0].split(" & ")[1] == "failed"
    assert all(line.count(" & ") == len(variants) for line in body)


def test_train_loss_is_the_mean_over_the_last_tenth_of_the_finished_runs():
    curves = pd.DataFrame([{"strategy": "cosine", "budget": "b100", "percent": 100, "seed": seed,
                            "step": step, "loss": loss}
                           for seed, tail in ((0, 0.5), (1, 0.7), (2, 9.0))
                           for step, loss in ((10, 2.0), (90, 1.0), (95, tail), (100, tail))])
    final = pd.DataFrame([{"strategy": "cosine", "budget": "b100", "seed": seed, "variant": "off",
                           "judged": True, "status": status, "test_acc": acc}
                          for seed, status, acc in ((0, "ok", 80.0), (1, "ok", 82.0), (2, "diverged", None))])
    table = tables.train_loss(curves, final)
    row = table.iloc[0]
    assert row["train_loss"] == pytest.approx((0.5 + 0.7) / 2)  # steps 95 and 100 only; seed 2 diverged
    assert row["test_acc"] == pytest.approx(81.0) and row["n"] == 2
