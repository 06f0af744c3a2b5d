"""What the convex bound predicts (report.bound_predictions, report.claims.bound): the schedules it covers,
the multipliers it reads, measured gradient norms, rank agreement with its bootstrap, LR ratios and the
claims built on them, on hand-made data whose answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from factories import PROFILE

from report import bound_predictions as bp
from report import claims
from report.claims import registry
from report.grid import from_dict

PROFILE_WITH_OTHERS = {
    **PROFILE,
    "strategies": {
        **PROFILE["strategies"],
        "constant": {"schedule.name": "constant", "tune": {"optimizer.lr": [0.05, 0.1]}},
        "sf_sgd": {"optimizer": {"name": "sf_sgd", "lr": 1.0}, "schedule.name": "constant",
                   "tune": {"optimizer.lr": [1.0, 2.0]}},
        "adamw_cosine": {"optimizer": {"name": "adamw", "lr": 0.001}, "schedule.name": "cosine",
                         "tune": {"optimizer.lr": [0.001, 0.002]}},
    },
}


@pytest.fixture(scope="module")
def grid():
    return from_dict(PROFILE_WITH_OTHERS, source="unit")


def final_from(grid, score: dict[tuple[str, str], float], seeds=(0, 1, 2, 3), noise=0.05) -> pd.DataFrame:
    """Judged final rows with test accuracy = score + a small seed effect."""
    rng = np.random.default_rng(0)
    rows = []
    for (strategy, budget), value in score.items():
        for seed in seeds:
            rows.append({"strategy": strategy, "budget": budget, "seed": seed, "variant": "off",
                         "judged": True, "status": "ok", "test_acc": value + noise * rng.standard_normal()})
    columns = ["strategy", "budget", "seed", "variant", "judged", "status", "test_acc"]
    return pd.DataFrame(rows, columns=columns)


def test_the_bound_covers_the_schedules_of_the_reference_optimizer_only(grid):
    assert bp.schedule_strategies(grid) == ["multistep", "cosine", "linear", "uba", "constant"]


def test_multipliers_follow_the_authors_sampling(grid):
    """Linear decay over T sampled from a budget of T + 1: s_t = 1 − (t − 1)/T, so η_T > 0."""
    s = bp.multipliers(grid, "linear", 10)
    np.testing.assert_allclose(s, 1 - np.arange(10) / 10)
    assert bp.multipliers(grid, "constant", 7).tolist() == [1.0] * 7


def test_measured_norms_repeat_each_curve_point_over_its_window_and_average_seeds(grid):
    budget = grid.budgets[0]  # 25 updates
    steps = [10, 20, 25]
    curves = pd.DataFrame([{"strategy": "cosine", "budget": budget.label, "seed": seed, "step": step,
                            "grad_norm": norm}
                           for seed, norms in ((0, (1.0, 2.0, 3.0)), (1, (3.0, 2.0, 1.0)))
                           for step, norm in zip(steps, norms, strict=True)])
    g = bp.measured_norms(curves, "cosine", budget)
    assert g.shape == (budget.steps,)
    np.testing.assert_allclose(g[:10], np.sqrt((1 + 9) / 2))
    np.testing.assert_allclose(g[10:20], 2.0)
    np.testing.assert_allclose(g[20:], np.sqrt((9 + 1) / 2))
    assert bp.measured_norms(curves.assign(grad_norm=np.nan), "cosine", budget) is None
    assert bp.measured_norms(pd.DataFrame(), "cosine", budget) is None


def test_rank_agreement_is_one_when_accuracy_follows_the_bound_and_minus_one_when_reversed(grid):
    table = bp.bound_table(grid, final_from(grid, {}), pd.DataFrame(), {})
    label = grid.full.label
    at = table[table["budget"] == label].set_index("strategy")["omega_star"]
    follows = final_from(grid, {(s, label): 90 - 10 * v for s, v in at.items()}, noise=1e-4)
    result = bp.rank_agreement(follows, table, label, "omega_star", higher_is_better=False)
    assert result["rho"] == pytest.approx(1.0) and result["boot"].min() == pytest.approx(1.0)
    reverse = final_from(grid, {(s, label): 90 + 10 * v for s, v in at.items()}, noise=1e-4)
    assert bp.rank_agreement(reverse, table, label, "omega_star", False)["rho"] == pytest.approx(-1.0)


def test_lr_ratios_are_relative_to_the_reference_and_to_the_full_budget(grid):
    selections = {s: {"knob": "optimizer.lr", "budgets": {b.label: {"value": 0.1 * (1 + i)}
                                                          for i, b in enumerate(grid.budgets)}}
                  for s in bp.schedule_strategies(grid)}
    selections["linear"]["budgets"][grid.full.label]["value"] = 0.4
    table = bp.bound_table(grid, final_from(grid, {}), pd.DataFrame(), selections)
    ratios = bp.lr_ratio_table(grid, table).set_index(["strategy", "budget"])
    assert ratios.loc[("cosine", grid.full.label), "lr_ratio"] == 1.0
    assert ratios.loc[("linear", grid.full.label), "lr_ratio"] == pytest.approx(2.0)
    assert ratios.loc[("cosine", grid.budgets[0].label), "lr_vs_full"] == pytest.approx(0.5)
    # the bound: a shorter horizon allows a larger γ* (≈ √(T_full/T) for a constant schedule)
    assert ratios.loc[("constant", grid.budgets[0].label), "gamma_vs_full"] > 1.5


def test_the_phi_that_minimises_the_bound_is_found_on_its_grid(grid):
    phis = np.array([0.5, 2.0, 8.0])
    found = bp.uba_phi_star(grid, grid.full, phis)
    assert found in phis


def test_the_bound_claims_are_reproduced_when_accuracy_follows_the_bound(grid):
    table = bp.bound_table(grid, final_from(grid, {}), pd.DataFrame(), {})
    score = {(r.strategy, r.budget): 90 - 1000 * r.omega_star for r in table.itertuples()}
    study = claims.Study(grid, final_from(grid, score, noise=0.01))
    result = registry.by_id("bound_ranks_schedules").test(study, registry.by_id("bound_ranks_schedules"))
    deciding = [r for r in result.rows if r["deciding"]]
    assert len(deciding) == len(grid.budgets) and result.verdict == claims.REPRODUCED
    assert all(r["test"] == "rank correlation > 0" and r["estimate"] > 0.8 for r in deciding)
    opposite = {(s, b): 180 - v for (s, b), v in score.items()}
    study = claims.Study(grid, final_from(grid, opposite, noise=0.01))
    claim = registry.by_id("bound_ranks_schedules")
    assert claim.test(study, claim).verdict == claims.NOT_REPRODUCED
