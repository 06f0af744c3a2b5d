"""The claims checked on the convex problems and formulas: HDM-Best's gradient calls, UBA(φ = 2) = cosine.

The gradient-call claim is deterministic (single runs, no seeds: no interval, never called robust, not
part of the Holm family of the study's statistical tests): reproduced when HDM-Best converges with fewer
gradient calls than both L-BFGS-M10 and Adam on a strict majority of the problems that decide it (not
converging counts as infinitely many calls; a problem on which none of the three converges decides
nothing). It is judged twice: on the official problems under the official protocol of the authors' code
(the setting of the published claim) and on this project's problems.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from report.claims.base import DETERMINISTIC, EXACT, NOT_REPRODUCED, REPRODUCED, Claim, ClaimResult, Study


def hdm_rows(claim: Claim, bench: pd.DataFrame | None, setting: str) -> ClaimResult:
    """Per problem: HDM-Best against the better of L-BFGS-M10 and Adam, the majority verdict last
    (`report.theory_report.hdm_claim_rows`, which the theory section's macros use too)."""
    from report.theory_report import hdm_claim_rows

    found = hdm_claim_rows(bench, setting)
    # the last row (the majority over problems) decides; the per-problem rows are its evidence
    rows = [claim.row(**row, test=DETERMINISTIC, deciding=i == len(found) - 1) for i, row in enumerate(found)]
    return ClaimResult(rows, rows[-1]["verdict"])


def hdm_official(study: Study, claim: Claim) -> ClaimResult:
    return hdm_rows(claim, study.bench_official, "official protocol (a1a-a3a)")


def hdm_project(study: Study, claim: Claim) -> ClaimResult:
    return hdm_rows(claim, study.bench, "project problems")


def phi2_is_cosine(study: Study, claim: Claim) -> ClaimResult:
    """UBA(φ = 2) and cosine give the same multiplier at every update of every budget of the grid (the
    reason the study reuses cosine's runs for UBA at φ = 2): the largest absolute difference."""
    from stepsize.schedules import multiplier

    grid = study.grid
    worst = 0.0
    for budget in [*grid.budgets]:
        steps = np.arange(budget.steps)
        worst = max(
            worst,
            float(
                np.max(
                    np.abs(
                        multiplier("uba", steps, budget.steps, phi=2.0)
                        - multiplier("cosine", steps, budget.steps)
                    )
                )
            ),
        )
    verdict = REPRODUCED if worst == 0.0 else NOT_REPRODUCED
    return ClaimResult(
        [
            claim.row(
                "every budget of the grid",
                test=EXACT,
                n=len(grid.budgets),
                estimate=worst,
                unit="max |difference|",
                verdict=verdict,
                detail=f"largest |f_UBA(phi=2) - f_cosine| over every update: {worst:g}",
            )
        ],
        verdict,
    )
