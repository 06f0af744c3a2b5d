"""The eight bound checks, one module each with the runs that feed it (settings per size: smoke < mini <
full; step sizes of the official code's orders of magnitude):

1. ``ratio_chaining``: Δ_K/Δ_0 = ∏ r_k and its AM–GM bound (COLT 2025; Part I, eq. (2));
2. ``kappa_star_rate``: the rate 1 − 1/κ* on a badly scaled quadratic (COLT 2025);
3. ``convex_hypergradient``: f(x_K) − f* ≤ R²/(Kγ*_K − ρ_K) with its ingredients (COLT 2025; ICML 2025);
4. ``superlinear``: per-step ratios → 0, and OSGM-G's bound chain (COLT 2025; Part I);
5. ``uba_chebyshev``: UBA = Chebyshev steps at midpoints, and end-point UBA against tuned baselines;
6. ``last_iterate_closed_forms``: the last-iterate bound Ω_T of SGD (Defazio et al. 2023, Theorem 10;
   Schaipp et al. 2025; ``theory.last_iterate``) against the constant schedule's closed form and the WSD
   theorem;
7. ``last_iterate_pep``: Ω*_T ≥ the exact worst case of every library schedule (PEP, PEPit);
8. ``last_iterate_optimal_schedule``: the schedule minimising Ω_T against linear decay.

For checks 1–5 the papers' exact theorem statements could not be read, so each bound is re-derived (in its
module's docstring) and checked in that form. Checks 6–8 take Ω_T and the WSD theorem as the authors' code
and tests state them (``fabian-sp/lr-scheduling``; the papers' full texts were not read here).

Each ``check_*`` verifies given data and returns a ``CheckResult`` whose ``cases`` are the inequalities in
readable form; it reports failure (never raises) when the data violate the bound, so wrong inputs are caught.
``run_checks`` runs the named checks at a size.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from theory.checks.convex_hypergradient import check_convex_hypergradient, run_convex_hypergradient
from theory.checks.kappa_star import check_kappa_star_rate, run_kappa_star_rate
from theory.checks.last_iterate_forms import check_last_iterate_closed_forms, run_last_iterate_closed_forms
from theory.checks.last_iterate_optimum import (
    check_last_iterate_optimal_schedule,
    run_last_iterate_optimal_schedule,
)
from theory.checks.last_iterate_pep import check_last_iterate_pep, run_last_iterate_pep
from theory.checks.ratio_chaining import check_ratio_chaining, run_ratio_chaining
from theory.checks.result import Case, CheckResult, to_jsonable
from theory.checks.superlinear import (
    check_superlinear,
    gradient_norm_chain,
    osgm_g_theory_step,
    run_superlinear,
)
from theory.checks.uba_chebyshev import check_uba_chebyshev, run_uba_chebyshev

RUNNERS: dict[str, Callable[[str, Path | str | None], CheckResult]] = {
    "ratio_chaining": run_ratio_chaining,
    "kappa_star_rate": run_kappa_star_rate,
    "convex_hypergradient": run_convex_hypergradient,
    "superlinear": run_superlinear,
    "uba_chebyshev": run_uba_chebyshev,
    "last_iterate_closed_forms": run_last_iterate_closed_forms,
    "last_iterate_pep": run_last_iterate_pep,
    "last_iterate_optimal_schedule": run_last_iterate_optimal_schedule,
}
CHECK_NAMES = tuple(RUNNERS)

__all__ = [
    "CHECK_NAMES",
    "RUNNERS",
    "Case",
    "CheckResult",
    "check_convex_hypergradient",
    "check_kappa_star_rate",
    "check_last_iterate_closed_forms",
    "check_last_iterate_optimal_schedule",
    "check_last_iterate_pep",
    "check_ratio_chaining",
    "check_superlinear",
    "check_uba_chebyshev",
    "gradient_norm_chain",
    "osgm_g_theory_step",
    "run_checks",
    "to_jsonable",
]


def run_checks(
    size: str = "mini", *, names: tuple[str, ...] = CHECK_NAMES, cache_dir: Path | str | None = None
) -> list[CheckResult]:
    unknown = [n for n in names if n not in RUNNERS]
    if unknown:
        raise ValueError(
            f"unknown check(s) {', '.join(unknown)}: expected names from {', '.join(CHECK_NAMES)}"
        )
    return [RUNNERS[n](size, cache_dir) for n in names]
