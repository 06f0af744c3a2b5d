"""Check 8, the schedule that minimises the last-iterate bound Ω_T over all step sequences, against linear
decay, the bound's predicted optimum (Defazio et al. 2023, arXiv 2310.07831: linear decay attains the
optimal O(DG/√T) last-iterate rate through Theorem 10; Schaipp et al., ICML 2025, arXiv 2501.18965, minimise
Ω_T numerically and find linear decay's shape). With G_t = G, for each T:

    Ω*_T(s_opt) ≤ Ω*_T(linear decay),  s_opt = argmin over s ∈ [1e-12, ∞)^T of Ω*_T(s)

(``last_iterate.optimal_schedule``: L-BFGS-B on log Ω*_T with its exact gradient, started from the constant
schedule, so the result is not seeded with the answer; it must be stationary, max_j |s_j ∂log Ω*_T/∂s_j|
≤ 1e-6). Holding this
only says the optimiser is no worse than one candidate; the prediction is in the margin, the excess
e_T = Ω*_T(linear)/Ω*_T(s_opt) − 1, which must fall as T grows (judged: e at the largest T ≤ e at the
smallest), and in the shape of s_opt, reported as its largest distance to 1 − (t − 1)/T over the first 90 %
of the steps (s_opt scaled to s_1 = 1; the last steps are free to differ: η_T only weights x_T in the bound).
The best library schedule at each T (default parameters) is reported too.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np

from theory import last_iterate
from theory.checks.result import Case, CheckResult, bound_case
from theory.registry import check_size

NAME = "last_iterate_optimal_schedule"
SETTINGS = {
    "smoke": {"T": (10, 50)},
    "mini": {"T": (20, 100, 400)},
    "full": {"T": (20, 100, 400, 1000)},
}
OPTIMUM = ("Ω*_T(argmin_s Ω*_T) ≤ Ω*_T(linear decay)  (D = G = 1)",
           r"\min_s \Omega^\star_T(s) \le \Omega^\star_T(\mathrm{linear})")
TREND = ("e_T = Ω*_T(linear)/min_s Ω*_T − 1 falls with T: e(T_max) ≤ e(T_min)",
         r"e_{T_{\max}} \le e_{T_{\min}}")


def optimum_row(T: int) -> dict:
    """The optimum, linear decay and every library schedule's Ω*_T at one T (D = G = 1)."""
    from stepsize.schedules import NAMES

    optimum = last_iterate.optimal_schedule(T)
    linear = last_iterate.schedule_multipliers("linear", T)
    library = {name: last_iterate.schedule_bound(name, T).omega_star for name in NAMES}
    best = min(library, key=library.__getitem__)
    shape = optimum.multipliers / optimum.multipliers[0]
    head = max(1, int(0.9 * T))
    return {
        "T": T,
        "omega_star_optimum": optimum.omega_star,
        "gamma_star_optimum": optimum.gamma_star,
        "omega_star_linear": library["linear"],
        "excess": library["linear"] / optimum.omega_star - 1.0,
        "shape_max_diff_90": float(np.max(np.abs(shape[:head] - linear[:head]))),
        "best_library": best,
        "omega_star_best_library": library[best],
        "omega_star_library": library,
        "converged": optimum.converged,
        "stationarity": optimum.stationarity,
        "iterations": optimum.iterations,
        "message": optimum.message,
        "_plot": {"optimum": shape.tolist(), "linear": linear.tolist()},
    }


def check_last_iterate_optimal_schedule(rows: list[dict], *, rtol: float = 1e-9) -> CheckResult:
    """Per T: a converged optimum with Ω*_T ≤ linear decay's (relative ``rtol``); and the excess of linear
    decay falling from the smallest to the largest T."""
    if not rows:
        case = Case("no T", *OPTIMUM, math.nan, math.nan, math.nan, "factor", False)
        return CheckResult(NAME, False, "no T given", {}, cases=[case])
    plot = {f"T={r['T']}": r.pop("_plot") for r in rows if "_plot" in r}
    cases = []
    for r in rows:
        case = bound_case(f"T = {r['T']} (from constant steps, {r['iterations']} iterations, stationarity "
                          f"{r['stationarity']:.0e}{'' if r['converged'] else ': NOT converged'})", *OPTIMUM,
                          r["omega_star_optimum"], r["omega_star_linear"], slack=rtol)
        cases.append(case if r["converged"] else dataclasses.replace(case, passed=False))
    first, last = min(rows, key=lambda r: r["T"]), max(rows, key=lambda r: r["T"])
    if last["T"] > first["T"]:
        cases.append(bound_case(f"T = {first['T']} → {last['T']}", *TREND, last["excess"], first["excess"]))
    passed = all(c.passed for c in cases)
    summary = (
        "min over all step sequences vs linear decay (D = G = 1): "
        + ", ".join(
            f"T={r['T']}: {r['omega_star_optimum']:.5f} ≤ {r['omega_star_linear']:.5f} (excess "
            f"{100 * r['excess']:.2f} %, T·excess {r['T'] * r['excess']:.2f}; shape distance "
            f"{r['shape_max_diff_90']:.3f}; best library schedule {r['best_library']} "
            f"{r['omega_star_best_library']:.5f})"
            for r in rows
        )
        + f": {'holds' if passed else 'FAILED'}"
    )
    numbers = {"rtol": rtol, "rows": rows}
    return CheckResult(NAME, passed, summary, numbers, {"schedules": plot}, cases)


def run_last_iterate_optimal_schedule(size: str, cache_dir: Path | str | None = None) -> CheckResult:
    return check_last_iterate_optimal_schedule([optimum_row(T) for T in SETTINGS[check_size(size)]["T"]])
