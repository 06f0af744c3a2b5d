"""The claims: the symmetric verdict rule with its margins, each claim on hand-built studies with known
differences, choices made on validation only, and a registry whose order does not matter."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from factories import PROFILE, write_study

from report import claims, runs
from report.aggregate import read_selections
from report.claims import base, registry, theory
from report.grid import from_dict

CONTENDERS = {
    **PROFILE,
    "strategies": {
        **PROFILE["strategies"],
        "constant": {"schedule.name": "constant", "tune": {"optimizer.lr": [0.05, 0.1]}},
        "wsd": {"schedule.name": "wsd", "tune": {"optimizer.lr": [0.05, 0.1]}},
        "wsd_linear": {
            "schedule.name": "wsd",
            "schedule.decay_shape": "linear",
            "tune": {"optimizer.lr": [0.05, 0.1]},
        },
        "sf_sgd": {
            "optimizer": {"name": "sf_sgd", "lr": 1.0},
            "schedule.name": "constant",
            "tune": {"optimizer.lr": [1.0, 2.0]},
        },
        "dog": {
            "optimizer": {"name": "dog", "lr": 1.0},
            "schedule.name": "constant",
            "output": "poly",
            "swa.variants": ["tail", "swalr", "poly"],
            "tune": {"optimizer.reps_rel": [0.0001, 0.001]},
        },
    },
}
BASE = {
    "multistep": 0.80,
    "cosine": 0.82,
    "linear": 0.81,
    "uba": 0.83,
    "constant": 0.78,
    "wsd": 0.82,
    "wsd_linear": 0.815,
    "sf_sgd": 0.825,
    "dog": 0.80,
}


def study_of(root: Path, profile: dict = CONTENDERS, base_acc: dict = BASE, **kw) -> claims.Study:
    g = write_study(root, profile, base=base_acc, **kw)
    final = runs.final_table(g, runs.load(g, "final", root))
    bench = pd.read_csv(root / "results/unit/theory/bench.csv")
    bench["converged"] = bench["converged"].astype(bool)
    return claims.Study(
        g, final, runs.eval_table(g, runs.load(g, "final", root)), read_selections(g, root), bench, None
    )


# ------------------------------------------------------------------------------------------ verdicts
def test_threshold_rule_is_symmetric_and_reports_margins():
    up = base.threshold_test([1.0, 1.2, 0.8, 1.1, 0.9], 0.0)
    assert up["verdict"] == claims.REPRODUCED and up["margin"] > 1
    down = base.threshold_test([-1.0, -1.2, -0.8, -1.1, -0.9], 0.0)
    assert down["verdict"] == claims.NOT_REPRODUCED and down["margin"] == pytest.approx(up["margin"])
    assert base.threshold_test([0.5, -0.5, 0.4, -0.3, 0.1], 0.0)["verdict"] == claims.INCONCLUSIVE
    # non-inferiority with delta 0.5: slightly negative but above -0.5 is reproduced
    assert base.threshold_test([-0.1, -0.2, -0.15, -0.1, -0.12], -0.5)["verdict"] == claims.REPRODUCED
    assert base.threshold_test([1.0], 0.0)["verdict"] == claims.NOT_TESTABLE
    assert math.isfinite(up["mde"]) and up["mde"] > 0


def test_equivalence_rule():
    assert base.equivalence_test([0.05, -0.05, 0.02, 0.0, -0.01], 0.5)["verdict"] == claims.REPRODUCED
    # three outcomes: entirely above +delta is "exceeded" (A better than the claim says), below -delta fails
    assert base.equivalence_test([1.0, 1.1, 0.9, 1.05, 0.95], 0.5)["verdict"] == claims.EXCEEDED
    assert base.equivalence_test([-1.0, -1.1, -0.9, -1.05, -0.95], 0.5)["verdict"] == claims.NOT_REPRODUCED
    assert base.equivalence_test([0.2, 0.9, -0.3, 0.7, 0.1], 0.5)["verdict"] == claims.INCONCLUSIVE


def test_every_setting_combination():
    c = base.combine_every
    assert c([claims.REPRODUCED, claims.REPRODUCED]) == claims.REPRODUCED
    assert c([claims.REPRODUCED, claims.INCONCLUSIVE]) == claims.INCONCLUSIVE
    assert c([claims.NOT_TESTABLE, claims.NOT_REPRODUCED]) == claims.NOT_REPRODUCED
    assert c([claims.NOT_TESTABLE, claims.REPRODUCED]) == claims.NOT_TESTABLE
    assert c([claims.EXCEEDED, claims.REPRODUCED]) == claims.EXCEEDED
    assert c([claims.EXCEEDED, claims.INCONCLUSIVE]) == claims.INCONCLUSIVE
    assert c([]) == claims.NOT_TESTABLE


@pytest.mark.parametrize("test", [base.SUPERIORITY, base.NON_INFERIORITY, base.EQUIVALENCE])
def test_decision_pvalue_agrees_with_the_interval_at_every_level(test):
    """p <= alpha exactly when the interval at confidence 1 - alpha decides: Holm's levels can be read
    either way."""
    rng = np.random.default_rng(0)
    threshold = 0.5 if test == base.EQUIVALENCE else (0.0 if test == base.SUPERIORITY else -0.5)
    for _ in range(200):
        x = rng.normal(rng.uniform(-2, 2), rng.uniform(0.1, 2), size=int(rng.integers(3, 11)))
        row = {"estimate": x.mean(), "sd": x.std(ddof=1), "n": x.size}
        p = base.decision_pvalue(test, x.mean(), x.std(ddof=1), x.size, threshold)
        for alpha in (0.05, 0.01, 0.005):
            low, high = base.t_row_at(row, alpha)
            decided = base.interval_verdict(test, low, high, threshold)[0] != claims.INCONCLUSIVE
            if abs(p - alpha) > 1e-9:
                assert decided == (p <= alpha), (test, p, alpha, low, high)


def test_holm_step_down():
    from report.stats import holm

    # m = 4 at alpha 0.05: levels 0.0125, 0.0167, 0.025, 0.05 in ascending order of p
    rejected, adjusted, level = holm([0.01, 0.04, 0.015, float("nan"), 0.03])
    assert rejected.tolist() == [True, False, True, False, False]  # 0.03 > 0.025 stops the procedure
    assert level[0] == pytest.approx(0.05 / 4) and level[2] == pytest.approx(0.05 / 3)
    assert adjusted[0] == pytest.approx(0.04) and adjusted[2] == pytest.approx(0.045)
    assert adjusted[4] == pytest.approx(0.06) and adjusted[1] == pytest.approx(0.06)
    assert math.isnan(adjusted[3]) and not rejected[3]


def test_the_correction_turns_marginal_rows_inconclusive():
    """Two rows decided on their raw intervals (p ≈ 0.027 and 0.037) among strong ones: Holm compares the
    smaller with α/2, which stops the procedure, so both become inconclusive, their raw verdicts kept;
    deterministic rows stay outside the family."""
    rng = np.random.default_rng(1)
    claim = registry.by_id("linear_vs_cosine")
    strong = [claim.row(f"s{i}", **base.threshold_test(rng.normal(3.0, 0.3, 8), 0.0)) for i in range(9)]
    marginal = [claim.row(f"m{i}", **base.threshold_test(v, 0.0)) for i, v in enumerate(
        ([0.9, -0.1, 0.6, 0.1, 0.7, -0.05, 0.5, 0.25], [0.9, -0.15, 0.6, 0.1, 0.7, -0.1, 0.5, 0.25]))]
    assert all(r["raw_verdict"] == claims.REPRODUCED and 0.025 < r["p_value"] < 0.05 for r in marginal)
    exact = claim.row("d", test=base.DETERMINISTIC, verdict=claims.REPRODUCED)
    registry.correct_family([*strong, *marginal, exact])
    assert all(r["verdict"] == claims.REPRODUCED and r["margin"] > 0 for r in strong)
    for r in marginal:
        assert r["verdict"] == claims.INCONCLUSIVE and r["raw_verdict"] == claims.REPRODUCED
        assert r["holm_low"] <= r["ci_low"] and r["p_holm"] >= r["p_value"] and math.isnan(r["margin"])
    assert exact["verdict"] == claims.REPRODUCED and math.isnan(exact["p_holm"])
    # alone, the smaller marginal row is decided again (the last Holm step compares with α itself)
    alone = claim.row("m", **base.threshold_test([0.9, -0.1, 0.6, 0.1, 0.7, -0.05, 0.5, 0.25], 0.0))
    registry.correct_family([alone])
    assert alone["verdict"] == claims.REPRODUCED


def test_every_claim_row_carries_its_declared_test(tmp_path):
    table, _ = claims.evaluate_all(study_of(tmp_path))
    for claim in registry.CLAIMS:
        tested = table[(table["claim_id"] == claim.claim_id) & (table["n"] > 0)]
        assert claim.wording and claim.test_type
        assert set(tested["test"]) <= {claim.test_type}, claim.claim_id


# --------------------------------------------------------------------------------- claims on data
def test_claims_on_a_hand_built_study(tmp_path):
    table, verdicts = claims.evaluate_all(study_of(tmp_path))
    # every difference below is constant over seeds (zero variance): decided by its sign / margin
    assert verdicts["linear_vs_cosine"] == claims.NOT_REPRODUCED  # linear - cosine = -1 < -0.5
    assert verdicts["wsd_vs_cosine"] == claims.REPRODUCED  # 0 within +/- 0.5
    assert verdicts["sqrt_vs_linear_cooldown"] == claims.REPRODUCED  # +0.5 at every budget
    assert verdicts["uba_surpasses_best"] == claims.REPRODUCED  # +1 over the best SGD schedule
    assert verdicts["linear_vs_step"] == claims.REPRODUCED  # +1 at 25 %
    assert verdicts["swa_improves"] == claims.REPRODUCED  # swalr +0.6 everywhere
    assert verdicts["schedule_free_vs_best"] == claims.REPRODUCED  # sf 82.5 vs best (uba excluded) 82
    assert verdicts["phi2_is_cosine"] == claims.REPRODUCED
    assert verdicts["hdm_official"] == claims.NOT_TESTABLE and verdicts["hdm_project"] == claims.REPRODUCED
    gap = table[table["setting"] == "full budget, tail (verdict)"].iloc[0]
    # constant + tail gains 0.4 of a 4-point gap to cosine: a tenth of the gap, every seed
    assert gap["estimate"] == pytest.approx(0.1) and gap["verdict"] == claims.REPRODUCED
    uba_rows = table[table["claim_id"] == "uba_surpasses_best"]
    assert all("schedules on validation" in d and d.startswith("uba − ") for d in uba_rows["detail"])
    assert set(uba_rows["test"]) == {base.SUPERIORITY}


def test_the_best_schedule_is_chosen_on_validation_not_on_test(tmp_path):
    st = study_of(tmp_path)
    f = st.final
    # make linear the best on test but the worst on validation: the claim must still pick by validation
    st.final = f.assign(
        test_acc=np.where(f["strategy"] == "linear", f["test_acc"] + 5, f["test_acc"]),
        val_acc=np.where(f["strategy"] == "linear", f["val_acc"] - 5, f["val_acc"]),
    )
    result = registry.by_id("schedule_free_vs_best").test(st, registry.by_id("schedule_free_vs_best"))
    assert all("linear" not in row["detail"].split(" − ")[1] for row in result.rows)


def test_dog_is_judged_on_its_average(tmp_path):
    g = write_study(tmp_path, CONTENDERS, base=BASE)
    for r in [r for r in __import__("report.plan").plan.runs(g, "final") if r.strategy == "dog"]:
        path = tmp_path / r.record(g.profile)
        rec = json.loads(path.read_text())
        rec["averaged"]["poly"] = {"test_acc": rec["final"]["test_acc"] + 0.01, "test_loss": 0.3}
        path.write_text(json.dumps(rec))
    st = claims.Study(g, runs.final_table(g, runs.load(g, "final", tmp_path)))
    gain = st.accuracy("dog", "b100") - st.accuracy("dog", "b100", "off")
    assert gain.to_numpy() == pytest.approx([1.0, 1.0, 1.0])
    judged = st.final[(st.final["strategy"] == "dog") & st.final["judged"]]
    assert set(judged["variant"].astype(str)) == {"poly"}


def test_claims_are_not_testable_without_their_inputs(tmp_path):
    one = {**PROFILE, "strategies": {"cosine": PROFILE["strategies"]["cosine"]}}
    g = write_study(tmp_path, one)
    st = claims.Study(g, runs.final_table(g, runs.load(g, "final", tmp_path)))
    _, verdicts = claims.evaluate_all(st)
    assert {
        verdicts[k]
        for k in (
            "linear_vs_cosine",
            "wsd_vs_cosine",
            "uba_surpasses_best",
            "lr_free_within_delta",
            "averaging_closes_gap",
            "schedule_free_vs_best",
        )
    } == {claims.NOT_TESTABLE}


def test_registry_order_never_matters(tmp_path, monkeypatch):
    st = study_of(tmp_path)
    _, verdicts = claims.evaluate_all(st)
    shuffled = list(registry.CLAIMS)
    random.Random(0).shuffle(shuffled)
    monkeypatch.setattr(registry, "CLAIMS", tuple(shuffled))
    _, again = registry.evaluate_all(st)
    assert again == verdicts
    assert registry.by_id("uba_surpasses_best").verdict_macro == "claimUbaVerdict"
    with pytest.raises(KeyError, match="unknown claim 'nope'"):
        registry.by_id("nope")


def test_hdm_claim_ignores_problems_no_method_solved():
    claim = registry.by_id("hdm_project")
    rows = [
        ("easy", "HDM-Best", 50, True),
        ("easy", "L-BFGS-M10", 90, True),
        ("easy", "Adam", 120, True),
        ("hard", "HDM-Best", 1000, False),
        ("hard", "L-BFGS-M10", 1000, False),
        ("hard", "Adam", 1000, False),
    ]
    bench = pd.DataFrame(rows, columns=["problem", "method", "grad_calls", "converged"])
    result = theory.hdm_rows(claim, bench, "p")
    per_problem = {r["setting"]: r["verdict"] for r in result.rows}
    assert per_problem == {
        "p: easy": claims.REPRODUCED,
        "p: hard": claims.NOT_TESTABLE,
        "p: all problems": claims.REPRODUCED,
    }
    lost = bench.assign(grad_calls=[500, 90, 120, 1000, 1000, 1000])
    assert theory.hdm_rows(claim, lost, "p").verdict == claims.NOT_REPRODUCED
    assert theory.hdm_rows(claim, bench[bench["problem"] == "hard"], "p").verdict == claims.NOT_TESTABLE


def test_selections_on_disk_are_those_the_claims_read(tmp_path):
    st = study_of(tmp_path)
    on_disk = json.loads((tmp_path / "results/unit/tuning/uba.json").read_text())
    assert st.selections["uba"] == on_disk and from_dict(CONTENDERS).strategies["uba"].knob == "schedule.phi"


def test_a_claim_whose_comparator_diverged_says_so(tmp_path):
    """Every cosine run diverged: the claims against cosine are not "not testable at this scale" (the
    inputs exist) but "comparator diverged", naming cosine; claims without cosine keep their verdicts."""
    every_cosine_run = tuple(("cosine", p, s) for p in (25, 100) for s in (0, 1, 2))
    g = write_study(tmp_path, diverged=every_cosine_run)
    st = claims.Study(g, runs.final_table(g, runs.load(g, "final", tmp_path)))
    rows, verdicts = claims.evaluate_all(st)
    assert verdicts["linear_vs_cosine"] == claims.COMPARATOR_DIVERGED
    detail = rows[rows["claim_id"] == "linear_vs_cosine"]["detail"]
    assert detail.str.contains("cosine at b100: 3 of 3 runs diverged").any()
    healthy = write_study(tmp_path / "healthy")
    _, before = claims.evaluate_all(claims.Study(healthy, runs.final_table(
        healthy, runs.load(healthy, "final", tmp_path / "healthy"))))
    assert before["linear_vs_cosine"] != claims.COMPARATOR_DIVERGED
    assert claims.NOT_TESTABLE not in {v for k, v in verdicts.items() if k == "linear_vs_cosine"}


def test_a_run_that_never_left_chance_is_a_failure(tmp_path):
    """D-Adaptation-like runs that finish at chance accuracy (status ok) count as failures: no accuracy in
    the tables or claims, and a claim comparing against them is "comparator diverged"."""
    g = write_study(tmp_path, CONTENDERS, base=BASE)
    for r in [r for r in __import__("report.plan").plan.runs(g, "final") if r.strategy == "wsd"]:
        path = tmp_path / r.record(g.profile)
        rec = json.loads(path.read_text())
        rec["num_classes"] = 10
        rec["final"]["test_acc"] = 0.1003
        path.write_text(json.dumps(rec))
    final = runs.final_table(g, runs.load(g, "final", tmp_path))
    wsd = final[(final["strategy"] == "wsd") & (final["variant"] == "off")]
    assert set(wsd["status"]) == {runs.AT_CHANCE}
    learned = final[(final["strategy"] == "cosine") & (final["variant"] == "off")]
    assert set(learned["status"]) == {"ok"}  # records without num_classes, or above chance, are kept
    _, verdicts = claims.evaluate_all(claims.Study(g, final))
    assert verdicts["wsd_vs_cosine"] == claims.COMPARATOR_DIVERGED
    assert not runs.at_chance(15.1, 10) and runs.at_chance(15.0, 10) and not runs.at_chance(5.0, None)


def test_seeds_to_decide_matches_the_detectable_effect():
    from report.stats import minimum_detectable_effect, seeds_to_decide

    x = np.array([0.3, -0.2, 0.5, 0.1, -0.1, 0.4])
    mde = minimum_detectable_effect(x)
    n = seeds_to_decide(mde, x.std(ddof=1))
    assert n == x.size  # the effect detectable at this many seeds needs exactly these seeds
    assert seeds_to_decide(mde / 2, x.std(ddof=1)) == 18  # half the effect: three times the seeds here
    assert seeds_to_decide(0.0, 1.0) == math.inf and math.isnan(seeds_to_decide(1.0, 0.0))
