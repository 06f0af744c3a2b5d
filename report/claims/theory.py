"""The claims checked on the convex problems and formulas: HDM-Best's gradient calls, UBA(φ = 2) = cosine.

The gradient-call claim is deterministic (no seeds): reproduced when HDM-Best converges with fewer
gradient calls than both L-BFGS-M10 and Adam on a strict majority of the problems that decide it (not
converging counts as infinitely many calls; a problem on which none of the three converges decides
nothing). It is judged twice: on the official problems under the official protocol of the authors' code
(the setting of the published claim) and on this project's problems.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from report.claims.base import NOT_REPRODUCED, NOT_TESTABLE, REPRODUCED, Claim, ClaimResult, Study

RIVALS = ("L-BFGS-M10", "Adam")


def _calls(value: float) -> str:
    return f"{int(value)}" if math.isfinite(value) else "not converged"


def hdm_rows(claim: Claim, bench: pd.DataFrame | None, setting: str) -> ClaimResult:
    """Per problem: HDM-Best against the better of L-BFGS-M10 and Adam; the majority verdict last."""
    if bench is None or bench.empty:
        return claim.not_testable(setting, "no benchmark results")
    missing = [m for m in ("HDM-Best", *RIVALS) if m not in set(bench["method"])]
    if missing:
        return claim.not_testable(setting, f"method {missing[0]} missing from the benchmark")
    calls = bench.assign(
        eff=np.where(bench["converged"].astype(bool), bench["grad_calls"].astype(float), math.inf)
    ).pivot_table(index="problem", columns="method", values="eff", aggfunc="min")
    rows, wins, decided = [], 0, 0
    for problem, r in calls.iterrows():
        rival = min(r[m] for m in RIVALS)
        win = bool(math.isfinite(r["HDM-Best"]) and r["HDM-Best"] < rival)
        deciding = math.isfinite(r["HDM-Best"]) or math.isfinite(rival)
        wins, decided = wins + win, decided + deciding
        estimate = (
            r["HDM-Best"] - rival if math.isfinite(r["HDM-Best"]) and math.isfinite(rival) else math.nan
        )
        verdict = (REPRODUCED if win else NOT_REPRODUCED) if deciding else NOT_TESTABLE
        rows.append(
            claim.row(
                f"{setting}: {problem}",
                n=1,
                estimate=estimate,
                unit="calls",
                verdict=verdict,
                detail=f"HDM-Best {_calls(r['HDM-Best'])}, L-BFGS-M10 {_calls(r['L-BFGS-M10'])}, "
                f"Adam {_calls(r['Adam'])}",
            )
        )
    if decided:
        overall = REPRODUCED if wins > decided / 2 else NOT_REPRODUCED
        detail = (
            f"HDM-Best needs fewer gradient calls than L-BFGS-M10 and Adam on {wins} of the {decided} "
            f"problems where at least one of the three converged (none did on {len(calls) - decided} "
            f"of {len(calls)} problems)"
        )
    else:
        overall = NOT_TESTABLE
        detail = f"none of HDM-Best, L-BFGS-M10 and Adam converged on any of the {len(calls)} problems"
    rows.append(
        claim.row(
            f"{setting}: all problems",
            n=decided,
            estimate=float(wins),
            unit="problems won",
            verdict=overall,
            detail=detail,
        )
    )
    return ClaimResult(rows, overall)


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
                n=len(grid.budgets),
                estimate=worst,
                unit="max |difference|",
                verdict=verdict,
                detail=f"largest |f_UBA(phi=2) - f_cosine| over every update: {worst:g}",
            )
        ],
        verdict,
    )
