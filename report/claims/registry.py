"""Every claim of the study, one `Claim` entry each; looked up by id, so their order never matters.

Adding a claim is one entry here (its test in `report.claims.training` or `report.claims.theory`) and,
if the paper should quote it, one sentence using its ``verdict_macro`` (README, "Extending").
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from report.claims import bound, theory, training
from report.claims.base import (
    BOOTSTRAP_TESTS,
    CLAIM_COLUMNS,
    COMPARATOR_DIVERGED,
    CORRELATION,
    DETERMINISTIC,
    EQUIVALENCE,
    EXACT,
    INCONCLUSIVE,
    NON_INFERIORITY,
    NOT_TESTABLE,
    RATIO,
    STATISTICAL_TESTS,
    SUPERIORITY,
    Claim,
    ClaimResult,
    Study,
    combine_every,
    interval_verdict,
    t_row_at,
)
from report.stats import CONFIDENCE, holm, percentile_interval, seeds_to_decide

#: The family-wise error rate of the study's claims (Holm's correction over every deciding row).
FAMILY_ALPHA = 1.0 - CONFIDENCE

CLAIMS: tuple[Claim, ...] = (
    Claim(
        "linear_vs_cosine",
        "Linear decay is at least as good as cosine at every budget",
        "defazio2023when",
        "10 deep-learning problems and LLMs (Defazio et al. 2023)",
        training.linear_vs_cosine,
        "claimLinearCosineVerdict",
        wording="linear decay matches or outperforms cosine",
        test_type=NON_INFERIORITY,
        short="linear decay $\\geq$ cosine",
    ),
    Claim(
        "wsd_vs_cosine",
        "WSD with a 20\\% $1-\\sqrt{\\cdot}$ cooldown matches cosine at every budget",
        "hagele2024scaling",
        "language models, 124M-360M parameters (Hägele et al. 2024)",
        training.wsd_matches_cosine,
        "claimWsdCosineVerdict",
        wording="WSD matches the performance of cosine",
        test_type=EQUIVALENCE,
        short="WSD $\\approx$ cosine",
    ),
    Claim(
        "sqrt_vs_linear_cooldown",
        "A $1-\\sqrt{\\cdot}$ cooldown beats a linear cooldown",
        "hagele2024scaling",
        "language models (Hägele et al. 2024)",
        training.sqrt_beats_linear_cooldown,
        "claimSqrtCooldownVerdict",
        wording="the $1-\\sqrt{\\cdot}$ cooldown outperforms the linear one",
        test_type=SUPERIORITY,
        short="$1-\\sqrt{\\cdot}$ cooldown $>$ linear cooldown",
    ),
    Claim(
        "schedule_free_vs_best",
        "Schedule-Free is at least as good as the best tuned schedule at every budget",
        "defazio2024road",
        "28 problems incl. CIFAR, ImageNet, AlgoPerf (Defazio et al. 2024)",
        training.schedule_free_vs_best,
        "claimScheduleFreeVerdict",
        wording="matches or exceeds tuned schedules",
        test_type=NON_INFERIORITY,
        short="Schedule-Free $\\geq$ the best schedule",
    ),
    Claim(
        "averaging_closes_gap",
        "Averaging a constant-LR run closes part of its gap to an annealed schedule",
        "hagele2024scaling,sanyal2023lawa,izmailov2018averaging",
        "LLMs and CIFAR (Hägele; Sanyal; Izmailov)",
        training.averaging_closes_the_gap,
        "claimAveragingGapVerdict",
        wording="averaging recovers (part of) the benefit of annealing",
        test_type=RATIO,
        short="averaging closes part of the annealing gap",
    ),
    Claim(
        "lr_free_within_delta",
        "Learning-rate-free methods land within $\\delta$ of tuned SGD/AdamW",
        "mishchenko2024prodigy,defazio2023dadaptation,ivgi2023dog",
        "their papers' vision and language tasks",
        training.lr_free_within_delta,
        "claimLrFreeVerdict",
        wording="close to, or matching, hand-tuned learning rates",
        test_type=NON_INFERIORITY,
        short="learning-rate-free methods within $\\delta$",
    ),
    Claim(
        "uba_surpasses_best",
        "UBA surpasses the best common schedule (chosen on validation) at every budget",
        "tang2025stepsize",
        "vision and language models (Tang et al. 2025)",
        training.uba_surpasses_best,
        "claimUbaVerdict",
        wording="UBA consistently surpasses the commonly-used schedules",
        test_type=SUPERIORITY,
        short="UBA $>$ the best common schedule",
    ),
    Claim(
        "linear_vs_step",
        "Linear decay beats step decay at small budgets",
        "li2020budgeted",
        "CIFAR, ImageNet, detection (Li et al. 2020)",
        training.linear_beats_step,
        "claimLinearStepVerdict",
        wording="linear decay beats step decay at small budgets",
        test_type=SUPERIORITY,
        short="linear $>$ step decay at small budgets",
    ),
    Claim(
        "swa_improves",
        "SWA improves accuracy over the raw model at the full budget",
        "izmailov2018averaging",
        "CIFAR, ImageNet (Izmailov et al. 2018)",
        training.swa_improves,
        "claimSwaVerdict",
        wording="SWA improves generalisation over SGD",
        test_type=SUPERIORITY,
        short="SWA $>$ the raw model",
    ),
    Claim(
        "bound_ranks_schedules",
        "The last-iterate bound $\\Omega^\\star_T$ ranks the tuned schedules as their test accuracy does, at "
        "every budget",
        "schaipp2025surprising",
        "convex bound against language-model training (Schaipp et al. 2025)",
        bound.bound_ranks_schedules,
        "claimBoundRankVerdict",
        wording="the convex last-iterate bound predicts how schedules compare in deep learning",
        test_type=CORRELATION,
        short="the bound $\\Omega^\\star_T$ ranks the schedules",
    ),
    Claim(
        "small_budget_area",
        "At the smallest budget the learning-rate area $\\sum_t \\eta_t$ ranks the tuned schedules",
        "defazio2023when,schaipp2025surprising",
        "the bound's first term $D^2/(2\\sum_t \\eta_t)$, which dominates at small $T$",
        bound.small_budget_area,
        "claimSmallBudgetAreaVerdict",
        wording="at small $T$ the bound is dominated by $D^2/(2\\sum_t \\eta_t)$",
        test_type=CORRELATION,
        short="the learning-rate area ranks the schedules at the smallest budget",
    ),
    Claim(
        "hdm_official",
        "HDM-Best needs fewer gradient calls than L-BFGS-M10 and Adam",
        "chu2025hdm",
        "LIBSVM problems of the authors' benchmark (Chu et al. 2025)",
        theory.hdm_official,
        "claimHdmOfficialVerdict",
        wording="HDM-Best outperforms L-BFGS and Adam",
        test_type=DETERMINISTIC,
        short="HDM-Best needs the fewest gradient calls (official problems)",
    ),
    Claim(
        "hdm_project",
        "HDM-Best needs fewer gradient calls than L-BFGS-M10 and Adam (our problems)",
        "chu2025hdm",
        "this project's convex problems",
        theory.hdm_project,
        "claimHdmProjectVerdict",
        wording="HDM-Best outperforms L-BFGS and Adam",
        test_type=DETERMINISTIC,
        short="HDM-Best needs the fewest gradient calls (our problems)",
    ),
    Claim(
        "phi2_is_cosine",
        "UBA with $\\varphi = 2$ equals cosine",
        "tang2025stepsize",
        "the closed form",
        theory.phi2_is_cosine,
        "claimPhiTwoVerdict",
        kind="implementation",
        wording="$\\varphi = 2$ recovers cosine",
        test_type=EXACT,
        short="UBA($\\varphi = 2$) = cosine",
    ),
)
_BY_ID = {c.claim_id: c for c in CLAIMS}
assert len(_BY_ID) == len(CLAIMS), "claim ids must be unique"


def by_id(claim_id: str) -> Claim:
    """A claim by its id; KeyError listing the ids otherwise."""
    if claim_id not in _BY_ID:
        raise KeyError(f"unknown claim {claim_id!r}; claims: {', '.join(_BY_ID)}")
    return _BY_ID[claim_id]


def evaluate_all(
    study: Study, reads: dict[str, set[tuple[str, str]]] | None = None
) -> tuple[pd.DataFrame, dict[str, str]]:
    """The claims table (every claim's rows) and each claim's verdict, by id, after Holm's correction
    (`correct_family`). ``reads``, if given, gets each claim's (strategy, budget) pairs of final runs it
    read (`Study.read`)."""
    results: list[tuple[Claim, ClaimResult]] = []
    for claim in CLAIMS:
        study.read.clear()
        study.diverged.clear()
        results.append((claim, _diverged_comparators(claim.test(study, claim), study.diverged)))
        if reads is not None:
            reads[claim.claim_id] = set(study.read)
    correct_family([row for claim, result in results if claim.kind == "empirical" for row in result.rows])
    rows, verdicts = [], {}
    for claim, result in results:
        verdicts[claim.claim_id] = _combined(result)
        rows += [{k: v for k, v in row.items() if not k.startswith("_")} for row in result.rows]
    return pd.DataFrame(rows, columns=CLAIM_COLUMNS), verdicts


def in_family(row: dict[str, Any]) -> bool:
    """A row is one of the study's decisions (corrected together) when it decides its claim's verdict and
    is a statistical test with a p-value (deterministic and exact rows are not tests)."""
    return bool(row["deciding"]) and row["test"] in STATISTICAL_TESTS and math.isfinite(row["p_value"])


def correct_family(rows: list[dict[str, Any]], alpha: float = FAMILY_ALPHA) -> None:
    """Holm's correction (`report.stats.holm`) over the deciding rows of every empirical claim, in place:
    each row keeps its raw interval and verdict (``ci_low``, ``ci_high``, ``raw_verdict``) and gets
    ``p_holm``, the interval at its Holm level α/(m − k + 1) (``holm_low``, ``holm_high``), the verdict
    at that level when Holm rejects it (inconclusive otherwise) and its margin in half-widths of the
    corrected interval."""
    family = [row for row in rows if in_family(row)]
    rejected, adjusted, levels = holm([row["p_value"] for row in family], alpha)
    for row, reject, p_holm, level in zip(family, rejected, adjusted, levels, strict=True):
        if row["test"] in BOOTSTRAP_TESTS:
            low, high = percentile_interval(row.get("_boot", ()), 1.0 - level)
        else:
            low, high = t_row_at(row, level)
        verdict, excess = interval_verdict(row["test"], low, high, row["threshold"])
        half = (high - low) / 2
        decided = bool(reject) and verdict != INCONCLUSIVE
        row.update(
            seeds_needed=math.nan if decided or row["test"] in BOOTSTRAP_TESTS else _seeds_needed(row, level),
            p_holm=float(p_holm),
            holm_low=low,
            holm_high=high,
            verdict=verdict if decided else INCONCLUSIVE,
            margin=(excess / half if half > 0 else math.inf) if decided else math.nan,
        )


def _seeds_needed(row: dict[str, Any], level: float) -> float:
    """For a row left inconclusive: the seeds at which its observed distance from the nearest bound of its
    test would be detected with 80 % power at its Holm level (`report.stats.seeds_to_decide`)."""
    bounds = [-row["threshold"], row["threshold"]] if row["test"] == EQUIVALENCE else [row["threshold"]]
    distance = min(abs(row["estimate"] - b) for b in bounds)
    return seeds_to_decide(distance, row["sd"], level)


def _combined(result: ClaimResult) -> str:
    """A claim's verdict from its deciding rows after the correction (`base.combine_every`); a claim
    without a corrected row (deterministic, exact) keeps its own verdict, as does a claim left untestable
    because a comparator diverged."""
    deciding = [row for row in result.rows if row["deciding"]]
    if not any(in_family(row) for row in deciding):
        return result.verdict
    verdict = combine_every([NOT_TESTABLE if r["verdict"] == COMPARATOR_DIVERGED else r["verdict"]
                             for r in deciding])
    diverged = verdict == NOT_TESTABLE and result.verdict == COMPARATOR_DIVERGED
    return COMPARATOR_DIVERGED if diverged else verdict


def _diverged_comparators(
    result: ClaimResult, diverged: dict[tuple[str, str], tuple[int, int]]
) -> ClaimResult:
    """A claim left untestable because compared runs diverged says so: its "not testable" rows and
    verdict become "comparator diverged", the detail naming who diverged where."""
    if not diverged:
        return result
    who = "; ".join(f"{s} at {b}: {k} of {n} runs diverged" for (s, b), (k, n) in sorted(diverged.items()))
    rows = [{**r, "verdict": COMPARATOR_DIVERGED, "detail": "; ".join(filter(None, (r["detail"], who)))}
            if r["verdict"] == NOT_TESTABLE else r for r in result.rows]
    verdict = COMPARATOR_DIVERGED if result.verdict == NOT_TESTABLE else result.verdict
    return ClaimResult(rows, verdict)
