"""Predictions of the convex last-iterate bound, tested on the study's runs (`report.bound_predictions`).

Each row is Spearman's ρ between a predicted score of the tuned schedules and their mean test accuracy at
one budget, with a percentile bootstrap interval over that budget's seeds; the threshold, fixed before the
study's results were read, is ρ > 0 (test type `CORRELATION`; its bootstrap samples ride along in the row
for Holm's correction).
"""

from __future__ import annotations

import math
from typing import Any

from report import bound_predictions as bp
from report.claims.base import CORRELATION, Claim, ClaimResult, Study, combine_every, interval_verdict
from report.stats import CONFIDENCE, bootstrap_pvalue, percentile_interval


def correlation_fields(result: dict[str, Any]) -> dict[str, Any]:
    """The row fields of "ρ > 0" from `bound_predictions.rank_agreement`."""
    boot = result["boot"]
    low, high = percentile_interval(boot, CONFIDENCE)
    verdict, excess = interval_verdict(CORRELATION, low, high, 0.0)
    half = (high - low) / 2
    return {"test": CORRELATION, "n": result["n"], "estimate": result["rho"], "ci_low": low, "ci_high": high,
            "threshold": 0.0, "unit": "Spearman rho", "raw_verdict": verdict, "verdict": verdict,
            "p_value": bootstrap_pvalue(boot), "_boot": boot,
            "margin": math.nan if math.isnan(excess) else excess / half if half > 0 else math.inf}


def _table(study: Study):
    table = bp.bound_table(study.grid, study.final, study.curves, study.selections)
    for strategy in bp.schedule_strategies(study.grid):
        for budget in study.grid.budgets:
            study.read.add((strategy, budget.label))
    return table


def bound_ranks_schedules(study: Study, claim: Claim) -> ClaimResult:
    """At each budget: ρ(−Ω*_T with G = 1, test accuracy) decides; with the measured G_t it is shown."""
    if len(bp.schedule_strategies(study.grid)) < 3 or study.final.empty:
        return claim.not_testable("every budget", "fewer than three tuned schedules")
    table = _table(study)
    rows = []
    for budget in study.grid.budgets:
        for score, label, deciding in (("omega_star", "G = 1", True),
                                       ("omega_star_measured", "measured G_t", False)):
            result = bp.rank_agreement(study.final, table, budget.label, score, higher_is_better=False)
            fields = correlation_fields(result) if result["boot"].size else {"test": CORRELATION}
            detail = f"{result['schedules']} schedules; Spearman rho of -Omega*_T vs test accuracy"
            rows.append(claim.row(f"{budget.percent}%, {label}", **fields, deciding=deciding, detail=detail))
    return ClaimResult(rows, combine_every([r["verdict"] for r in rows if r["deciding"]]))


def small_budget_area(study: Study, claim: Claim) -> ClaimResult:
    """At the smallest budget: ρ(tuned peak LR · Σ s_t, test accuracy) > 0 (the bound's first term)."""
    if len(bp.schedule_strategies(study.grid)) < 3 or study.final.empty:
        return claim.not_testable("smallest budget", "fewer than three tuned schedules")
    table = _table(study)
    budget = study.grid.budgets[0]
    result = bp.rank_agreement(study.final, table, budget.label, "lr_area", higher_is_better=True)
    fields = correlation_fields(result) if result["boot"].size else {"test": CORRELATION}
    row = claim.row(f"{budget.percent}%", **fields,
                    detail=f"{result['schedules']} schedules; Spearman rho of the LR area vs test accuracy")
    return ClaimResult([row], row["verdict"])
