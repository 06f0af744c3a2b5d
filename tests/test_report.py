"""Unit tests of the report package on small, hand-built run records (aggregation logic only; the real
runs are exercised by the end-to-end smoke DAG in test_dag_smoke.py)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from report import claims, grid, latex, records, stats, tables
from report.aggregate import TABLE_FILES, aggregate, read_theory

ROOT = Path(__file__).resolve().parents[1]

PROFILE = {
    "profile": "unit",
    "train_config": "experiments/base/fashion_mnist.yaml",
    "full_budget_steps": 100,
    "budget_fractions": [0.25, 1.0],
    "seeds": [0, 1, 2],
    "common": {"swa.variants": ["tail", "swalr"]},
    "strategies": {
        "step": {"schedule.name": "multistep", "schedule.milestones": [0.5, 0.75]},
        "cosine": {"schedule.name": "cosine"},
        "linear": {"schedule.name": "linear"},
        "uba_phi1": {"schedule.name": "uba", "schedule.phi": 1.0},
        "uba_phi2": {"schedule.name": "uba", "schedule.phi": 2.0},
    },
}
# accuracy (fraction) = BASE[strategy] + 0.05 x budget fraction + SEED_SHIFT[seed]; averages add GAIN
BASE = {"step": 0.80, "cosine": 0.82, "linear": 0.81, "uba_phi1": 0.83, "uba_phi2": 0.82}
SEED_SHIFT = {0: 0.0, 1: 0.01, 2: 0.02}
GAIN = {"tail": 0.004, "swalr": 0.006}
BENCH_CSV = """problem,method,converged,grad_calls,func_calls,final_gap,final_grad_inf,wall_s
svm_a1a,HDM-Best,True,276,275,1e-9,1e-5,0.1
svm_a1a,L-BFGS-M10,True,328,328,1e-9,1e-5,0.1
svm_a1a,Adam,True,566,0,1e-9,1e-5,0.1
logreg,HDM-Best,True,300,300,1e-9,1e-5,0.1
logreg,L-BFGS-M10,False,1000,1000,1e-3,1e-3,0.1
logreg,Adam,True,700,0,1e-9,1e-5,0.1
quad,HDM-Best,False,1000,1000,1e-3,1e-3,0.1
quad,L-BFGS-M10,True,50,50,1e-9,1e-5,0.1
quad,Adam,True,900,0,1e-9,1e-5,0.1
"""


def accuracy(strategy: str, percent: int, seed: int, base: dict | None = None) -> float:
    """The hand-made final accuracy (fraction) of one run."""
    return (base or BASE)[strategy] + 0.05 * percent / 100 + SEED_SHIFT[seed]


def make_record(acc: float | None, steps: int, seed: int, diverged: bool = False) -> dict:
    """A run record shaped like design.md section 5."""
    return {
        "schema": 1, "status": "diverged" if diverged else "ok", "diverged_step": 3 if diverged else None,
        "config": {"data": {"name": "fashion_mnist", "batch_size": 64, "train_subset": 1000},
                   "model": {"name": "mini_resnet"},
                   "optimizer": {"name": "momentum", "lr": 0.1, "momentum": 0.9, "weight_decay": 5e-4},
                   "swa": {"variants": ["tail", "swalr"], "start": 0.75, "swalr_lr": 0.05,
                           "ema_decay": 0.999}},
        "seed": seed, "budget_steps": steps,
        "curve": {"step": [0, 1, 2], "lr": [0.1, 0.1, 0.1], "loss": [2.3, 2.0, 1.8]},
        "evals": [{"step": steps, "fraction": 1.0, "test_acc": acc, "test_loss": 0.4,
                   "averaged_test_acc": None}],
        "final": {"test_acc": None if diverged else acc, "test_loss": None if diverged else 0.4},
        "averaged": {v: {"test_acc": None if diverged else acc + g, "test_loss": 0.4, "n_averaged": 5,
                         "start_step": steps * 3 // 4} for v, g in GAIN.items()},
        "wall_time_s": 1.5, "versions": {"python": "3.11.7", "torch": "2.14.1"},
        "git_commit": "0123456789abcdef", "device": "cpu",
    }


def write_study(root: Path, profile: dict | None = None, diverged: tuple = (),
                base: dict | None = None) -> grid.Grid:
    """Write records for every job of ``profile`` under ``root`` plus theory outputs; return the grid."""
    g = grid.from_dict(profile or PROFILE)
    for job in g.jobs:
        d = root / job.run_dir(g.profile)
        d.mkdir(parents=True, exist_ok=True)
        is_div = (job.strategy, job.budget.percent, job.seed) in diverged
        acc = accuracy(job.strategy, job.budget.percent, job.seed, base)
        rec = make_record(acc, job.budget.steps, job.seed, is_div)
        (d / "run.json").write_text(json.dumps(rec))
    theory = root / "results" / g.profile / "theory"
    theory.mkdir(parents=True, exist_ok=True)
    (theory / "checks.json").write_text(json.dumps({"checks": [
        {"name": "ratio_identity", "passed": True, "summary": "identity holds to 1e-12", "numbers": {}},
        {"name": "regret_bound", "passed": False, "summary": "bound violated at K = 7", "numbers": {}}],
        "wall_time_s": 4.0}))
    (theory / "bench.csv").write_text(BENCH_CSV)
    (theory / "curves.csv").write_text("problem,method,grad_calls,gap\nquad,GD,1,1.0\nquad,GD,2,0.5\n")
    (root / "results" / g.profile / "profile.json").write_text(json.dumps(profile or PROFILE))
    return g


@pytest.fixture
def study(tmp_path: Path) -> tuple[grid.Grid, Path]:
    return write_study(tmp_path, diverged=(("step", 100, 2),)), tmp_path


# ------------------------------------------------------------------------------------------- grid
def test_grid_expands_strategies_budgets_seeds():
    g = grid.from_dict(PROFILE)
    assert len(g.jobs) == 5 * 2 * 3
    assert [b.label for b in g.budgets] == ["b25", "b100"]
    assert [b.steps for b in g.budgets] == [25, 100]
    assert g.jobs[0].run_dir("unit") == "results/unit/runs/step/b25/s0"
    assert g.uba_phis() == {"uba_phi1": 1.0, "uba_phi2": 2.0}


def test_train_args_are_shell_quoted_yaml_values():
    args = grid.from_dict(PROFILE).train_args("step", "b25", 1)
    assert "--set 'schedule.milestones=[0.5, 0.75]'" in args
    assert "--set 'schedule.name=\"multistep\"'" in args
    assert "--set budget.steps=25" in args and "--set train.seed=1" in args


def test_a_strategy_can_replace_a_whole_config_section():
    raw = {**PROFILE, "common": {"optimizer.name": "momentum", "optimizer.momentum": 0.9},
           "strategies": {"cosine": {"schedule.name": "cosine"},
                          "osgm": {"optimizer": {"name": "osgm", "lr": 1.0}, "schedule.name": "constant"}}}
    g = grid.from_dict(raw)
    assert g.section("osgm", "optimizer") == {"name": "osgm", "lr": 1.0}      # common momentum dropped
    assert g.section("cosine", "optimizer") == {"name": "momentum", "momentum": 0.9}
    assert g.strategy_value("osgm", "optimizer.momentum") is None
    args = g.train_args("osgm", "b25", 0)
    # the section mapping comes after the common dotted keys, so it replaces them in the trainer too
    assert args.index("optimizer.momentum=0.9") < args.index('optimizer={"name": "osgm", "lr": 1.0}')


def test_budget_epochs_give_exact_steps():
    raw = {**PROFILE, "budget_epochs": [16, 24, 88], "steps_per_epoch": 1251}
    raw.pop("full_budget_steps")
    raw.pop("budget_fractions")
    g = grid.from_dict(raw)
    assert [b.steps for b in g.budgets] == [16 * 1251, 24 * 1251, 88 * 1251]
    assert [b.label for b in g.budgets] == ["b18", "b27", "b100"]


@pytest.mark.parametrize(("change", "message"), [
    ({"seeds": []}, "seeds must be a list"),
    ({"budget_fractions": [0.0, 1.0]}, "budget_fractions"),
    ({"budget_fractions": [0.251, 0.249]}, "duplicate percent labels"),
    ({"bogus": 1}, "unknown key 'bogus'"),
    ({"strategies": {"bad/label": {}}}, "strategy label 'bad/label'"),
    ({"strategies": {"x": {"budget.steps": 3}}}, "must not set 'budget.steps'"),
    ({"report": {"cosinus": "x"}}, "unknown key report.cosinus"),
])
def test_bad_profiles_name_the_bad_key(change, message):
    with pytest.raises(grid.ProfileError, match=message):
        grid.from_dict({**PROFILE, **change})


def test_missing_required_key():
    raw = dict(PROFILE)
    raw.pop("strategies")
    with pytest.raises(grid.ProfileError, match="missing required key 'strategies'"):
        grid.from_dict(raw)


def test_escape_translates_unicode_math_for_latex():
    assert latex.escape("Δ_K ≤ 1e-10, 50%") == "\\ensuremath{\\Delta}\\_K \\ensuremath{\\le} 1e-10, 50\\%"
    assert latex.escape("κ → ‖g‖²") == ("\\ensuremath{\\kappa} \\ensuremath{\\rightarrow} \\ensuremath{\\|}g"
                                      "\\ensuremath{\\|}\\ensuremath{^{2}}")
    assert latex.escape("café 😀") == "café ?"


# ------------------------------------------------------------------------------------------ stats
def test_t_interval_matches_hand_computation():
    ci = stats.t_interval([1.0, 3.0])
    # mean 2, sample sd sqrt(2), sem 1, t_{0.975, 1} = 12.7062
    assert ci.mean == pytest.approx(2.0)
    assert ci.half_width == pytest.approx(12.7062, abs=1e-4)
    one = stats.t_interval([5.0, math.nan])
    assert one.n == 1 and math.isnan(one.low)


# ------------------------------------------------------------------------------- records, tables
def test_summary_means_and_diverged_runs(study):
    g, root = study
    final = records.final_table(g, records.load_runs(g, root))
    summary = tables.summary(final)
    off = summary[(summary.budget == "b100") & (summary.variant == "off")].set_index("strategy")
    row = off.loc["cosine"]
    expected = [100 * accuracy("cosine", 100, s) for s in (0, 1, 2)]
    assert row["mean"] == pytest.approx(sum(expected) / 3)
    assert row["n"] == 3 and row["n_diverged"] == 0
    step = off.loc["step"]
    assert step["n"] == 2 and step["n_diverged"] == 1
    assert step["mean"] == pytest.approx(100 * (accuracy("step", 100, 0) + accuracy("step", 100, 1)) / 2)


def test_diverged_run_ranks_last_and_shows_dagger(study):
    g, root = study
    final = records.final_table(g, records.load_runs(g, root))
    ranks = tables.average_ranks(final).set_index("strategy")
    # step is the worst strategy anyway; with its seed-2 run diverged it still ranks last (5) in that seed
    assert ranks.loc["step", "b100"] == pytest.approx(5.0)
    assert ranks.loc["uba_phi1", "b100"] == pytest.approx(1.0)
    tex = latex.main_table(tables.summary(final), g)
    assert "^{\\dagger1}" in tex


def test_all_seeds_diverged_shows_diverged_word(tmp_path):
    g = write_study(tmp_path, diverged=tuple(("linear", 25, s) for s in (0, 1, 2)))
    final = records.final_table(g, records.load_runs(g, tmp_path))
    line = next(x for x in latex.main_table(tables.summary(final), g).splitlines() if x.startswith("Linear"))
    assert "diverged" in line


def test_swa_gains_are_paired_differences(study):
    g, root = study
    final = records.final_table(g, records.load_runs(g, root))
    gains = tables.swa_gain_over_strategies(final)
    for variant, gain in GAIN.items():
        row = gains[(gains.variant == variant) & (gains.budget == "b25")].iloc[0]
        assert row["mean"] == pytest.approx(100 * gain)
        assert row["n"] == 3


def test_missing_record_is_a_one_line_error(study):
    g, root = study
    (root / g.jobs[0].run_dir(g.profile) / "run.json").unlink()
    with pytest.raises(records.RecordError, match=r"run record not found: .*step/b25/s0/run\.json"):
        records.load_runs(g, root)


# ------------------------------------------------------------------------------------------ claims
def test_verdict_rules():
    # (low, high, n): a verdict either way needs the interval to exclude 0 (symmetric rule)
    assert claims.directional_verdict(0.1, 0.9, 3) == claims.REPRODUCED
    assert claims.directional_verdict(-0.1, 1.1, 3) == claims.INCONCLUSIVE
    assert claims.directional_verdict(-1.0, -0.2, 3) == claims.NOT_REPRODUCED
    # a negative mean whose interval contains 0 is no evidence against the claim
    assert claims.directional_verdict(-1.0, 0.6, 3) == claims.INCONCLUSIVE
    assert claims.directional_verdict(math.nan, math.nan, 1) == claims.NOT_TESTABLE
    # non-inferiority with margin 0.5: significantly below 0 fails even inside the margin
    assert claims.noninferiority_verdict(-0.4, 0.8, 3, 0.5) == claims.REPRODUCED
    assert claims.noninferiority_verdict(-0.4, -0.1, 3, 0.5) == claims.NOT_REPRODUCED
    assert claims.noninferiority_verdict(-2.0, 0.8, 3, 0.5) == claims.INCONCLUSIVE
    assert claims.noninferiority_verdict(math.nan, math.nan, 1, 0.5) == claims.NOT_TESTABLE
    assert claims.equivalence_verdict(-0.1, 0.1, 3, 0.5) == claims.REPRODUCED
    assert claims.equivalence_verdict(0.6, 0.9, 3, 0.5) == claims.NOT_REPRODUCED
    assert claims.equivalence_verdict(-0.9, 0.2, 3, 0.5) == claims.INCONCLUSIVE
    assert claims.combine([claims.REPRODUCED, claims.INCONCLUSIVE]) == claims.INCONCLUSIVE
    assert claims.combine([claims.REPRODUCED, claims.NOT_REPRODUCED]) == claims.NOT_REPRODUCED
    assert claims.combine([claims.REPRODUCED, claims.REPRODUCED]) == claims.REPRODUCED
    # one budget not reproduced fails the claim even when another budget is not testable
    assert claims.combine([claims.NOT_TESTABLE, claims.NOT_REPRODUCED]) == claims.NOT_REPRODUCED
    assert claims.combine([claims.NOT_TESTABLE, claims.REPRODUCED]) == claims.NOT_TESTABLE


def test_phi_is_chosen_on_the_other_seeds():
    acc = pd.DataFrame({"uba_phi1": [90.0, 80.0, 85.0], "uba_phi4": [70.0, 95.0, 84.0]}, index=[0, 1, 2])
    # seed 0 is judged with the phi best on seeds 1-2 (phi4: 89.5 > 82.5), not with its own best (phi1)
    assert claims.held_out_choice(acc) == {0: "uba_phi4", 1: "uba_phi1", 2: "uba_phi1"}
    assert claims.held_out_choice(acc.iloc[:1]) == {}, "one seed: nothing to choose on"


def test_uba_claim_is_not_rescued_by_picking_the_luckiest_phi(tmp_path):
    """Each phi wins on one seed only, by luck; the best-of-the-same-runs choice would beat cosine on
    every seed, the held-out choice must not."""
    lucky = {"uba_phi1": {0: 0.02, 1: -0.02, 2: -0.02}, "uba_phi2": {0: -0.02, 1: 0.02, 2: -0.02},
             "uba_phi4": {0: -0.02, 1: -0.02, 2: 0.02}}
    profile = {**PROFILE, "strategies": {**PROFILE["strategies"],
                                         "uba_phi4": {"schedule.name": "uba", "schedule.phi": 4.0}}}
    g = write_study(tmp_path, profile, base={**BASE, "uba_phi4": BASE["cosine"]})
    for job in g.jobs:
        if job.strategy in lucky:
            path = tmp_path / job.run_dir(g.profile) / "run.json"
            rec = json.loads(path.read_text())
            cosine = json.loads((tmp_path / job.run_dir(g.profile).replace(job.strategy, "cosine", 1)
                                 / "run.json").read_text())
            rec["final"]["test_acc"] = cosine["final"]["test_acc"] + lucky[job.strategy][job.seed]
            path.write_text(json.dumps(rec))
    final = records.final_table(g, records.load_runs(g, tmp_path))
    rows = claims.uba_vs_cosine(final, g)
    assert all(r["estimate"] == pytest.approx(-2.0) for r in rows), rows
    assert {r["verdict"] for r in rows} == {claims.NOT_REPRODUCED}


def test_sci_keeps_the_mantissa_digits():
    from report.macros import sci

    assert sci(2.5e-4) == "$2.5\\times10^{-4}$" and sci(5e-4) == "$5\\times10^{-4}$"
    assert sci(0.1) == "0.1" and sci(float("nan")) == "--"


def test_claims_on_hand_built_study(study):
    g, root = study
    final = records.final_table(g, records.load_runs(g, root))
    bench = pd.read_csv(root / "results/unit/theory/bench.csv")
    table = claims.claims_table(final, g, bench)
    verdicts = claims.claim_verdicts(table)
    uba = table[table.claim_id == "uba"]
    # uba_phi1 beats cosine by exactly 1 point in every seed: zero variance, interval above 0
    assert list(uba["estimate"]) == pytest.approx([1.0, 1.0])
    assert "best phi = 1" in uba["detail"].iloc[0]
    assert verdicts["uba"] == claims.REPRODUCED
    assert verdicts["linear"] == claims.REPRODUCED        # linear - step = +1 point at 25 %
    assert verdicts["swa"] == claims.REPRODUCED           # swalr adds 0.6 points to every run
    assert verdicts["phi2"] == claims.REPRODUCED          # uba_phi2 and cosine are identical runs here
    # hdm: wins on svm_a1a (276 < 328, 566) and logreg (L-BFGS-M10 n.c.), loses on quad -> 2 of 3
    hdm = table[(table.claim_id == "hdm") & (table.setting == "all problems")].iloc[0]
    assert hdm["estimate"] == 2 and verdicts["hdm"] == claims.REPRODUCED


def test_phi2_outside_margin_and_not_testable(tmp_path):
    g = write_study(tmp_path, base={**BASE, "uba_phi2": BASE["cosine"] + 0.01})   # 1 point > 0.5 margin
    final = records.final_table(g, records.load_runs(g, tmp_path))
    table = claims.claims_table(final, g, None)
    verdicts = claims.claim_verdicts(table)
    assert verdicts["phi2"] == claims.NOT_REPRODUCED
    assert verdicts["hdm"] == claims.NOT_TESTABLE
    one_seed = write_study(tmp_path / "one", {**PROFILE, "seeds": [0]})
    final1 = records.final_table(one_seed, records.load_runs(one_seed, tmp_path / "one"))
    v1 = claims.claim_verdicts(claims.claims_table(final1, one_seed, None))
    assert set(v1.values()) == {claims.NOT_TESTABLE}


def test_linear_claim_not_testable_without_small_budget(tmp_path):
    g = write_study(tmp_path, {**PROFILE, "budget_fractions": [0.5, 1.0]})
    final = records.final_table(g, records.load_runs(g, tmp_path))
    rows = claims.linear_vs_step(final, g)
    assert rows[0]["verdict"] == claims.NOT_TESTABLE and "no budget <= 25%" in rows[0]["detail"]


# -------------------------------------------------------------------------------- aggregate + CLI
def test_aggregate_writes_every_table_and_macros(study):
    g, root = study
    out = root / "results/unit/tables"
    theory = root / "results/unit/theory"
    macros_path = root / "results/unit/macros.tex"
    aggregate(g, root, read_theory(theory / "checks.json", theory / "bench.csv"), out, macros_path)
    for name in TABLE_FILES:
        assert (out / name).is_file(), name
    main = (out / "table_main.tex").read_text()
    cosine_mean = sum(100 * accuracy("cosine", 100, s) for s in (0, 1, 2)) / 3
    assert f"{cosine_mean:.2f}" in main
    macros = macros_path.read_text()
    assert "\\newcommand{\\numRuns}{30}" in macros
    assert "\\newcommand{\\numDiverged}{1}" in macros
    assert "\\newcommand{\\theoryChecksPassed}{1}" in macros
    assert "\\newcommand{\\claimUbaVerdict}{reproduced}" in macros
    checks = (out / "table_theory_checks.tex").read_text()
    assert "ratio\\_identity" in checks and "\\textbf{no}" in checks
    bench = (out / "table_theory_bench.tex").read_text()
    assert "276 (275)" in bench and "n.c." in bench, "gradient (function) calls, n.c. when not converged"


def test_cli_reports_missing_input_in_one_line(study, tmp_path):
    _, root = study
    cmd = [sys.executable, "-m", "report", "aggregate", "--profile", str(root / "results/unit/profile.json"),
           "--runs-root", str(root), "--checks", str(root / "nope/checks.json"),
           "--bench", str(root / "results/unit/theory/bench.csv"), "--out", str(tmp_path / "t"),
           "--macros", str(tmp_path / "m.tex")]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "theory output not found" in proc.stderr and "nope/checks.json" in proc.stderr


def test_cli_rejects_bad_profile(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("profile: x\ntrain_config: a.yaml\nseeds: [0]\nstrategies: {}\n")
    proc = subprocess.run([sys.executable, "-m", "report", "jobs", str(bad)], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2
    assert "error:" in proc.stderr and "full_budget_steps" in proc.stderr


def test_hdm_claim_ignores_problems_no_method_solved():
    rows = [("easy", "HDM-Best", 50, True), ("easy", "L-BFGS-M10", 90, True), ("easy", "Adam", 120, True),
            ("hard", "HDM-Best", 1000, False), ("hard", "L-BFGS-M10", 1000, False),
            ("hard", "Adam", 1000, False)]
    bench = pd.DataFrame(rows, columns=["problem", "method", "grad_calls", "converged"])
    table = pd.DataFrame(claims.hdm_vs_quasi_newton(bench), columns=claims.CLAIM_COLUMNS)
    per_problem = dict(zip(table["setting"], table["verdict"], strict=True))
    assert per_problem["easy"] == claims.REPRODUCED
    assert per_problem["hard"] == claims.NOT_TESTABLE
    assert per_problem["all problems"] == claims.REPRODUCED     # 1 of 1 deciding problem
    none_solved = bench[bench["problem"] == "hard"]
    overall = claims.hdm_vs_quasi_newton(none_solved)[-1]
    assert overall["verdict"] == claims.NOT_TESTABLE
    lost = bench.assign(grad_calls=[500, 90, 120, 1000, 1000, 1000])
    assert claims.hdm_vs_quasi_newton(lost)[-1]["verdict"] == claims.NOT_REPRODUCED


def test_swa_interaction_correlates_gain_with_the_window_lr():
    g = grid.from_dict(PROFILE)
    recs = {}
    for i, strategy in enumerate(g.strategies):          # window LR rises with i, gain falls with i
        for seed in g.seeds:
            rec = make_record(0.8, 100, seed)
            rec["curve"] = {"step": list(range(1, 101)), "lr": [0.1] * 75 + [0.01 * (i + 1)] * 25}
            rec["averaged"]["tail"]["test_acc"] = 0.8 + 0.01 * (5 - i)
            recs[(strategy, "b100", seed)] = rec
    window = records.window_lr_table(g, recs)
    assert window["window_lr"].tolist() == pytest.approx([0.1 * (i + 1) for i in range(5) for _ in g.seeds])
    final = records.final_table(g, recs)
    interaction = tables.swa_interaction(tables.swa_gains(final), window)
    corr = tables.interaction_correlations(interaction).set_index("variant")
    assert corr.loc["tail", "rho"] == pytest.approx(-1.0) and corr.loc["tail", "n"] == 5
    from report.macros import interaction_macros

    sentence = interaction_macros(g, tables.interaction_correlations(interaction))["swaInteractionSentence"]
    assert "tail avg. adds more where the schedule has already annealed" in sentence
