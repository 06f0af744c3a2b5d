"""Check 7, the last-iterate bound against the exact worst case (Defazio et al. 2023, arXiv 2310.07831,
Theorem 10; Schaipp et al., ICML 2025, arXiv 2501.18965): for every library schedule s (its default
parameters, plus UBA at other φ and a warmup variant) at small T, with D = G = 1 and γ = γ*,

    W_T(γ*·s) ≤ Ω*_T(s),

W_T the exact worst-case f(x_T) − f* of the subgradient method x_{t+1} = x_t − γ*s_t g_t on convex
G-Lipschitz functions with ‖x₁ − x*‖ ≤ D, from a performance-estimation problem (``theory.pep``, PEPit with
Clarabel; its dual value, an upper bound on W_T up to the solver's tolerance, so the comparison allows a
relative 1e-6). Schedules are sampled as in ``theory.last_iterate`` (the first T updates of a budget of
T + 1). At T = 1 there is no step and both sides are exact, W_1 = Ω*_1 = DG: that case is judged as an
equality. For contrast, and not judged, the average-iterate bound Ω*_avg = D√(Σs_t²)/Σs_t is compared with the
same worst case: it is not a bound on the last iterate, and the PEP shows where it fails as one.
"""

from __future__ import annotations

import math
from pathlib import Path

from theory import last_iterate, pep
from theory.checks.result import Case, CheckResult, bound_case
from theory.registry import check_size

NAME = "last_iterate_pep"
VARIANTS = ("uba:phi=0.5", "uba:phi=4", "linear:warmup_fraction=0.25")
SETTINGS = {
    "smoke": {"T": (3,), "variants": ()},
    "mini": {"T": (4, 8), "variants": VARIANTS},
    "full": {"T": (4, 8, 16), "variants": VARIANTS},
}
RTOL = 1e-6
BOUND = ("W_T(γ*s) ≤ Ω*_T(s)  (exact worst case by PEP, D = G = 1)",
         r"W_T(\gamma^\star s) \le \Omega^\star_T(s)")


def pep_row(schedule: str, T: int, D: float = 1.0, G: float = 1.0) -> dict:
    """Ω*_T, γ*, Ω*_avg and the PEP worst case at γ* of one (schedule, T)."""
    s = last_iterate.schedule_multipliers(schedule, T)
    bound = last_iterate.refined_bound(s, D, G, name=schedule)
    average = last_iterate.average_bound(s, D, G, name=schedule)
    worst = pep.sgd_worst_case(bound.gamma_star * s, D, G, name=schedule)
    return {"schedule": schedule, "T": T, "gamma_star": bound.gamma_star, "omega_star": bound.omega_star,
            "omega_star_average": average.omega_star, "pep_worst": worst}


def check_last_iterate_pep(rows: list[dict], exact: dict | None = None, *, rtol: float = RTOL) -> CheckResult:
    """W_T ≤ Ω*_T (relative ``rtol``) for every row; one case per schedule, at its tightest T. ``exact``
    (T = 1: W_1 and Ω*_1) must agree to ``rtol``."""
    if not rows:
        case = Case("no schedule", *BOUND, math.nan, math.nan, math.nan, "factor", False)
        return CheckResult(NAME, False, "no PEP case given", {}, cases=[case])
    cases = []
    for schedule in dict.fromkeys(r["schedule"] for r in rows):
        own = [r for r in rows if r["schedule"] == schedule]
        tight = max(own, key=lambda r: r["pep_worst"] / r["omega_star"])
        Ts = ", ".join(str(r["T"]) for r in own)
        # the tightest T has the largest W/Ω*: the case holds there iff it holds at every T
        cases.append(bound_case(f"{schedule}, T = {tight['T']} (tightest of T = {Ts})", *BOUND,
                                tight["pep_worst"], tight["omega_star"], slack=rtol))
    if exact is not None:
        equal = abs(exact["pep_worst"] / exact["omega_star"] - 1) <= rtol
        cases.append(Case("constant, T = 1 (no step: both sides exact)", "W_1 = Ω*_1 = DG",
                          r"W_1 = \Omega^\star_1 = DG", exact["pep_worst"], exact["omega_star"],
                          exact["omega_star"] / exact["pep_worst"], "factor", bool(equal)))
    passed = all(c.passed for c in cases)
    ratios = [r["pep_worst"] / r["omega_star"] for r in rows]
    fails_average = [r for r in rows if r["pep_worst"] > r["omega_star_average"] * (1 + rtol)]
    Ts = sorted({r["T"] for r in rows})
    per_schedule = cases[: len(cases) - (exact is not None)]
    summary = (
        f"exact worst case W_T ≤ Ω*_T for {sum(c.passed for c in per_schedule)} of {len(per_schedule)} "
        f"schedules at T = {', '.join(map(str, Ts))} (W/Ω* from "
        f"{min(ratios):.3f} to {max(ratios):.3f}); "
        + ", ".join(f"{r['schedule']} T={r['T']}: {r['pep_worst']:.4f} ≤ {r['omega_star']:.4f}"
                    for r in rows if r["T"] == Ts[-1])
        + (f"; T = 1: W_1 = {exact['pep_worst']:.6f}, Ω*_1 = {exact['omega_star']:.6f}" if exact else "")
        + f"; for contrast, the average-iterate bound is below the last iterate's worst case in "
        f"{len(fails_average)} of {len(rows)} cases"
    )
    numbers = {"rtol": rtol, "pepit": pep.pepit_version(), "solver": pep.SOLVER, "rows": rows,
               "exact_T1": exact, "average_bound_fails": len(fails_average)}
    data = {"rows": rows}
    return CheckResult(NAME, passed, summary, numbers, data, cases)


def run_last_iterate_pep(size: str, cache_dir: Path | str | None = None) -> CheckResult:
    from stepsize.schedules import NAMES

    s = SETTINGS[check_size(size)]
    rows = [pep_row(name, T) for name in (*NAMES, *s["variants"]) for T in s["T"]]
    return check_last_iterate_pep(rows, pep_row("constant", 1))
