"""The budgeted-training claims, each a `Claim` with its test (verdict rule: `report.claims`).

The strategies a claim compares are named in the profile's ``report`` section (cosine, linear, ...);
margins δ are stated there before any run (``equivalence_margin_pp``, ``lr_free_margin_pp``).
"""

from __future__ import annotations

import math

import numpy as np

from report.claims.base import (
    NOT_TESTABLE,
    Claim,
    ClaimResult,
    Study,
    combine_every,
    equivalence_test,
    threshold_test,
)
from report.stats import ratio_interval


def _every_budget(study: Study, claim: Claim, a: str, b: str, test, budgets=None) -> ClaimResult:
    """``test(paired a − b)`` at each budget (all by default), combined "at every budget"."""
    if not study.has(a, b):
        return claim.not_testable("every budget", f"the grid lacks {a} or {b}")
    rows = []
    for budget in budgets or study.grid.budgets:
        fields = test(study.paired(a, b, budget.label))
        rows.append(claim.row(f"{budget.percent}%", **fields, detail=f"{a} − {b}"))
    return ClaimResult(rows, combine_every([r["verdict"] for r in rows]))


def _margin(study: Study, key: str) -> float:
    return float(study.grid.report[key])


# ----------------------------------------------------------------------------------- schedule shape
def linear_vs_cosine(study: Study, claim: Claim) -> ClaimResult:
    r = study.grid.report
    delta = _margin(study, "equivalence_margin_pp")
    return _every_budget(study, claim, r["linear"], r["cosine"], lambda d: threshold_test(d, -delta))


def wsd_matches_cosine(study: Study, claim: Claim) -> ClaimResult:
    r = study.grid.report
    delta = _margin(study, "equivalence_margin_pp")
    return _every_budget(study, claim, r["wsd"], r["cosine"], lambda d: equivalence_test(d, delta))


def sqrt_beats_linear_cooldown(study: Study, claim: Claim) -> ClaimResult:
    """Pooled over budgets: per seed (those every budget has), the mean over budgets of
    wsd(1−√) − wsd(linear)."""
    r = study.grid.report
    a, b = r["wsd"], r["wsd_linear"]
    if not study.has(a, b):
        return claim.not_testable("all budgets", f"the grid lacks {a} or {b}")
    seeds = study.grid.seeds
    per_budget = np.vstack([study.paired(a, b, budget.label, seeds=seeds) for budget in study.grid.budgets])
    fields = threshold_test(per_budget.mean(axis=0), 0.0)
    return ClaimResult(
        [claim.row("mean over budgets", **fields, detail=f"{a} − {b}, per seed averaged over the budgets")],
        fields["verdict"],
    )


def uba_vs_cosine(study: Study, claim: Claim) -> ClaimResult:
    r = study.grid.report
    delta = _margin(study, "equivalence_margin_pp")
    result = _every_budget(study, claim, r["uba"], r["cosine"], lambda d: threshold_test(d, -delta))
    chosen = study.selections.get(r["uba"], {}).get("budgets", {})
    for row, budget in zip(result.rows, study.grid.budgets, strict=False):
        phi = chosen.get(budget.label, {}).get("value")
        if phi is not None:
            row["detail"] = f"phi = {phi:g} chosen on validation; margin {delta:g} points"
    return result


def linear_beats_step(study: Study, claim: Claim) -> ClaimResult:
    r = study.grid.report
    small = [b for b in study.grid.budgets if b.fraction <= r["small_budget_max_fraction"] + 1e-12]
    if not small:
        return claim.not_testable("small budgets", f"no budget <= {100 * r['small_budget_max_fraction']:g}%")
    return _every_budget(study, claim, r["linear"], r["step"], lambda d: threshold_test(d, 0.0), small)


# ------------------------------------------------------------------------------- the contenders
def _best_by_validation(study: Study, candidates: list[str], budget: str) -> str | None:
    """The candidate with the best mean *validation* accuracy at ``budget`` (the test split is never
    used to pick a side of a comparison)."""
    means = {s: float(np.nanmean(study.accuracy(s, budget, split="val"))) for s in candidates if study.has(s)}
    means = {s: m for s, m in means.items() if math.isfinite(m)}
    return max(means, key=means.get) if means else None


def schedule_candidates(study: Study) -> list[str]:
    """The hand-made schedules (SGD and AdamW, not UBA, OSGM or the learning-rate-free/-schedule-free
    methods), the field's "best tuned schedule" pool."""
    r = study.grid.report
    excluded = {r["uba"], "osgm", *r["schedule_free"], *r["lr_free"]}
    return [s for s in study.grid.strategies if s not in excluded]


def schedule_free_vs_best(study: Study, claim: Claim) -> ClaimResult:
    r = study.grid.report
    delta = _margin(study, "equivalence_margin_pp")
    free = [s for s in r["schedule_free"] if study.has(s)]
    if not free:
        return claim.not_testable("every budget", "the grid has no Schedule-Free strategy")
    rows = []
    for budget in study.grid.budgets:
        sf = _best_by_validation(study, free, budget.label)
        best = _best_by_validation(study, schedule_candidates(study), budget.label)
        if sf is None or best is None:
            rows.append(claim.row(f"{budget.percent}%", detail="no finished run to compare"))
            continue
        fields = threshold_test(study.paired(sf, best, budget.label), -delta)
        rows.append(
            claim.row(
                f"{budget.percent}%",
                **fields,
                detail=f"{sf} − {best} (both chosen on validation); margin {delta:g} points",
            )
        )
    return ClaimResult(rows, combine_every([row["verdict"] for row in rows]))


def lr_free_within_delta(study: Study, claim: Claim) -> ClaimResult:
    """Each learning-rate-free method against the tuned baseline of its family at the full budget."""
    r = study.grid.report
    delta = _margin(study, "lr_free_margin_pp")
    adam_family = {"prodigy", "dadapt_adam"}
    full = study.grid.full.label
    rows = []
    for method in r["lr_free"]:
        name = (
            study.grid.strategy_value(method, "optimizer.name") if method in study.grid.strategies else None
        )
        base = r["adam_baseline"] if name in adam_family else r["sgd_baseline"]
        if not study.has(method, base):
            rows.append(claim.row(method, detail=f"the grid lacks {method} or {base}"))
            continue
        fields = threshold_test(study.paired(method, base, full), -delta)
        rows.append(
            claim.row(
                f"{method} (full budget)", **fields, detail=f"{method} − {base}; margin {delta:g} points"
            )
        )
    return ClaimResult(rows, combine_every([row["verdict"] for row in rows]))


# -------------------------------------------------------------------------------------- averaging
def swa_improves(study: Study, claim: Claim) -> ClaimResult:
    """The SWA variant minus the raw model, averaged over strategies within each seed, full budget."""
    variant, full = study.grid.report["swa_variant"], study.grid.full.label
    f = study.final
    if variant not in set(f["variant"].astype(str)):
        return claim.not_testable("full budget", f"the runs have no {variant!r} average")
    strategies = [
        s for s in study.grid.strategies if study.grid.strategies[s].output == "off" and study.has(s)
    ]
    diffs = np.vstack([study.paired(s, s, full, variant, "off") for s in strategies])
    fields = threshold_test(np.nanmean(diffs, axis=0), 0.0)
    return ClaimResult(
        [
            claim.row(
                f"full budget, {variant}",
                **fields,
                detail=f"mean over {len(strategies)} strategies within each seed",
            )
        ],
        fields["verdict"],
    )


def averaging_closes_the_gap(study: Study, claim: Claim) -> ClaimResult:
    """Fraction of the gap between the constant LR and cosine closed by averaging the constant-LR run:
    (acc(constant + average) − acc(constant)) / (acc(cosine) − acc(constant)), full budget, bootstrap
    interval over seeds; tested on the tail average (the verdict row), EMA and SWALR shown beside it."""
    r = study.grid.report
    const, cosine, full = r["constant"], r["cosine"], study.grid.full.label
    if not study.has(const, cosine):
        return claim.not_testable("full budget", f"the grid lacks {const} or {cosine}")
    gap = study.paired(cosine, const, full)
    rows, verdict = [], NOT_TESTABLE
    for variant in ("tail", "ema", "swalr"):
        if variant not in set(study.final["variant"].astype(str)):
            continue
        ci = ratio_interval(study.paired(const, const, full, variant, "off"), gap)
        verdict_here, margin = NOT_TESTABLE, math.nan
        if math.isfinite(ci.low):
            half = (ci.high - ci.low) / 2
            if ci.low > 0:
                verdict_here, margin = "reproduced", ci.low / half if half > 0 else math.inf
            elif ci.high < 0:
                verdict_here, margin = "not reproduced", -ci.high / half if half > 0 else math.inf
            else:
                verdict_here = "inconclusive"
        rows.append(
            claim.row(
                f"full budget, {variant}" + (" (verdict)" if variant == "tail" else ""),
                n=ci.n,
                estimate=ci.mean,
                ci_low=ci.low,
                ci_high=ci.high,
                threshold=0.0,
                verdict=verdict_here,
                margin=margin,
                unit="fraction of the gap",
                detail=f"gap {cosine} − {const} = {np.nanmean(gap):+.2f} points; "
                "bootstrap interval over seeds",
            )
        )
        if variant == "tail":
            verdict = verdict_here
    return ClaimResult(rows, verdict)
