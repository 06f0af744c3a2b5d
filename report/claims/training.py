"""The budgeted-training claims, each a `Claim` with its test (verdict rule: `report.claims`).

The strategies a claim compares are named in the profile's ``report`` section (cosine, linear, ...);
margins δ are stated there before any run (``equivalence_margin_pp``, ``lr_free_margin_pp``).
"""

from __future__ import annotations

import math

import numpy as np

from report.claims.base import (
    NOT_TESTABLE,
    RATIO,
    Claim,
    ClaimResult,
    Study,
    combine_every,
    equivalence_test,
    interval_verdict,
    threshold_test,
)
from report.stats import bootstrap_pvalue, bootstrap_ratio


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


def uba_surpasses_best(study: Study, claim: Claim) -> ClaimResult:
    """UBA "consistently surpasses" the common schedules (Tang et al. 2025): superiority (θ = 0) at every
    budget against the best hand-made schedule of UBA's own optimizer, that best one chosen on the
    validation split of its final runs (never on the test split the difference is judged on)."""
    uba = study.grid.report["uba"]
    if not study.has(uba):
        return claim.not_testable("every budget", f"the grid lacks {uba}")
    optimizer = study.grid.optimizer_name(uba)
    pool = [s for s in schedule_candidates(study) if study.grid.optimizer_name(s) == optimizer]
    rows = []
    for budget in study.grid.budgets:
        best = _best_by_validation(study, pool, budget.label)
        if best is None:
            rows.append(claim.row(f"{budget.percent}%", detail="no finished common schedule to compare"))
            continue
        fields = threshold_test(study.paired(uba, best, budget.label), 0.0)
        detail = f"{uba} − {best} (the best of {len(pool)} {optimizer} schedules on validation)"
        rows.append(claim.row(f"{budget.percent}%", **fields, detail=detail))
    return ClaimResult(rows, combine_every([row["verdict"] for row in rows]))


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
    """The hand-made schedules, the field's "best tuned schedule" pool: strategies whose optimizer's
    ``lr`` is a learning rate that the schedule sets (SGD, AdamW; `stepsize.optim.SPECS`), not UBA; so not
    OSGM or hypergradient descent (which learn their step), the learning-rate-free methods (which estimate
    it) nor Schedule-Free (train/eval modes)."""
    from stepsize.optim import SPECS

    def hand_made(strategy: str) -> bool:
        spec = SPECS.get(study.grid.optimizer_name(strategy))
        return spec is not None and spec.lr == "learning rate" and not spec.modes

    uba = study.grid.report["uba"]
    return [s for s in study.grid.strategies if s != uba and hand_made(s)]


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
        ci, ratios = bootstrap_ratio(study.paired(const, const, full, variant, "off"), gap)
        verdict_here, excess = interval_verdict(RATIO, ci.low, ci.high, 0.0)
        half = (ci.high - ci.low) / 2
        margin = math.nan if math.isnan(excess) else excess / half if half > 0 else math.inf
        rows.append(
            claim.row(
                f"full budget, {variant}" + (" (verdict)" if variant == "tail" else ""),
                test=RATIO,
                n=ci.n,
                estimate=ci.mean,
                ci_low=ci.low,
                ci_high=ci.high,
                threshold=0.0,
                verdict=verdict_here,
                p_value=bootstrap_pvalue(ratios),
                margin=margin,
                unit="fraction of the gap",
                deciding=variant == "tail",
                _boot=ratios,
                detail=f"gap {cosine} − {const} = {np.nanmean(gap):+.2f} points; "
                "bootstrap interval over seeds",
            )
        )
        if variant == "tail":
            verdict = verdict_here
    return ClaimResult(rows, verdict)
