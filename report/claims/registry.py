"""Every claim of the study, one `Claim` entry each; looked up by id, so their order never matters.

Adding a claim is one entry here (its test in `report.claims.training` or `report.claims.theory`) and,
if the paper should quote it, one sentence using its ``verdict_macro`` (README, "Extending").
"""

from __future__ import annotations

import pandas as pd

from report.claims import theory, training
from report.claims.base import CLAIM_COLUMNS, COMPARATOR_DIVERGED, NOT_TESTABLE, Claim, ClaimResult, Study

CLAIMS: tuple[Claim, ...] = (
    Claim(
        "linear_vs_cosine",
        "Linear decay is at least as good as cosine at every budget",
        "defazio2023when",
        "10 deep-learning problems and LLMs (Defazio et al. 2023)",
        training.linear_vs_cosine,
        "claimLinearCosineVerdict",
    ),
    Claim(
        "wsd_vs_cosine",
        "WSD with a 20\\% $1-\\sqrt{\\cdot}$ cooldown matches cosine at every budget",
        "hagele2024scaling",
        "language models, 124M-360M parameters (Hägele et al. 2024)",
        training.wsd_matches_cosine,
        "claimWsdCosineVerdict",
    ),
    Claim(
        "sqrt_vs_linear_cooldown",
        "A $1-\\sqrt{\\cdot}$ cooldown beats a linear cooldown",
        "hagele2024scaling",
        "language models (Hägele et al. 2024)",
        training.sqrt_beats_linear_cooldown,
        "claimSqrtCooldownVerdict",
    ),
    Claim(
        "schedule_free_vs_best",
        "Schedule-Free is at least as good as the best tuned schedule at every budget",
        "defazio2024road",
        "28 problems incl. CIFAR, ImageNet, AlgoPerf (Defazio et al. 2024)",
        training.schedule_free_vs_best,
        "claimScheduleFreeVerdict",
    ),
    Claim(
        "averaging_closes_gap",
        "Averaging a constant-LR run closes part of its gap to an annealed schedule",
        "hagele2024scaling,sanyal2023lawa,izmailov2018averaging",
        "LLMs and CIFAR (Hägele; Sanyal; Izmailov)",
        training.averaging_closes_the_gap,
        "claimAveragingGapVerdict",
    ),
    Claim(
        "lr_free_within_delta",
        "Learning-rate-free methods land within $\\delta$ of tuned SGD/AdamW",
        "mishchenko2024prodigy,defazio2023dadaptation,ivgi2023dog",
        "their papers' vision and language tasks",
        training.lr_free_within_delta,
        "claimLrFreeVerdict",
    ),
    Claim(
        "uba_vs_cosine",
        "UBA ($\\varphi$ chosen on validation) is at least as good as cosine at every budget",
        "tang2025stepsize",
        "vision and language models (Tang et al. 2025)",
        training.uba_vs_cosine,
        "claimUbaVerdict",
    ),
    Claim(
        "linear_vs_step",
        "Linear decay beats step decay at small budgets",
        "li2020budgeted",
        "CIFAR, ImageNet, detection (Li et al. 2020)",
        training.linear_beats_step,
        "claimLinearStepVerdict",
    ),
    Claim(
        "swa_improves",
        "SWA improves accuracy over the raw model at the full budget",
        "izmailov2018averaging",
        "CIFAR, ImageNet (Izmailov et al. 2018)",
        training.swa_improves,
        "claimSwaVerdict",
    ),
    Claim(
        "hdm_official",
        "HDM-Best needs fewer gradient calls than L-BFGS-M10 and Adam",
        "chu2025hdm",
        "LIBSVM problems of the authors' benchmark (Chu et al. 2025)",
        theory.hdm_official,
        "claimHdmOfficialVerdict",
    ),
    Claim(
        "hdm_project",
        "HDM-Best needs fewer gradient calls than L-BFGS-M10 and Adam (our problems)",
        "chu2025hdm",
        "this project's convex problems",
        theory.hdm_project,
        "claimHdmProjectVerdict",
    ),
    Claim(
        "phi2_is_cosine",
        "UBA with $\\varphi = 2$ equals cosine",
        "tang2025stepsize",
        "the closed form",
        theory.phi2_is_cosine,
        "claimPhiTwoVerdict",
        kind="implementation",
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
    """The claims table (every claim's rows) and each claim's verdict, by id. ``reads``, if given, gets
    each claim's (strategy, budget) pairs of final runs it read (`Study.read`)."""
    rows, verdicts = [], {}
    for claim in CLAIMS:
        study.read.clear()
        study.diverged.clear()
        result = _diverged_comparators(claim.test(study, claim), study.diverged)
        rows += result.rows
        verdicts[claim.claim_id] = result.verdict
        if reads is not None:
            reads[claim.claim_id] = set(study.read)
    return pd.DataFrame(rows, columns=CLAIM_COLUMNS), verdicts


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
