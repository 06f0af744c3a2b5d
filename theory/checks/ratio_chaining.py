"""Check 1, ratio chaining (COLT 2025 arXiv 2411.01803; Part I arXiv 2505.23081, eq. (2)): with vanilla
steps x_{k+1} = x_k − P_k∇f(x_k) and the ratio feedback r_k = (f(x_{k+1}) − f*)/(f(x_k) − f*),

    Δ_K/Δ_0 = ∏_{k<K} r_k  exactly,   and   ∏_{k<K} r_k ≤ (mean_{k<K} r_k)^K  (AM–GM, needs r_k ≥ 0).

The run: OSGM-R (known f*), diagonal P, AdaGrad α = 1/L on [0, 1e10/L], vanilla steps, on the COLT
least-squares problem (σ = 0.1) and on digits logistic regression (f* from the Newton reference solve),
stopped once Δ has shrunk by 1e-10 (least squares) or 1e-6 (logistic), where rounding in f − f* starts.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from theory.checks.result import Case, CheckResult, bound_case, combine, tex_number
from theory.feedback import RatioFeedback
from theory.fstar import reference_solution
from theory.learners import AdaGrad, Box
from theory.osgm import OSGMTrace, run_osgm
from theory.problems import Problem
from theory.registry import build_problem, check_size
from theory.synthetic import colt_least_squares

NAME = "ratio_chaining"
SETTINGS = {
    "smoke": {"colt_dim": 30, "rounds": 150},
    "mini": {"colt_dim": 100, "rounds": 300},
    "full": {"colt_dim": 100, "rounds": 500},
}


def identity_formula(rtol: float) -> tuple[str, str]:
    return (
        f"max_K |(Δ_K/Δ_0)/∏_{{k<K}} r_k − 1| ≤ {rtol:g}",
        r"\max_K \bigl|\tfrac{\Delta_K/\Delta_0}{\prod_{k<K} r_k} - 1\bigr| \le " + tex_number(rtol),
    )


AMGM = (
    "log10(Δ_K/Δ_0) ≤ K·log10(mean_{k<K} r_k)",
    r"\log_{10}\tfrac{\Delta_K}{\Delta_0} \le K \log_{10} \bar r_K",
)


def check_ratio_chaining(
    problem: Problem, trace: OSGMTrace, fstar: float, *, rtol: float = 1e-10, label: str = ""
) -> CheckResult:
    """Δ_K/Δ_0 = ∏_{k<K} r_k (relative error ≤ rtol) and ≤ (mean r)^K for every K.

    Gaps are re-evaluated from the stored iterates (not the run's own numbers), so the identity also
    tests that the run made vanilla steps x_{k+1} = x_k − P_k∇f(x_k) with the logged feedback r_k.
    Cases: the identity (its largest relative error against rtol) and AM–GM at its tightest K ≥ 2 (at
    K = 1 it is an equality).
    """
    ratios = trace.array("losses")
    gaps = problem.f_many(np.asarray(trace.xs)) - fstar
    numbers: dict = {"label": label, "rounds": int(ratios.size), "fstar": fstar}
    failed = [Case(label, *identity_formula(rtol), np.nan, rtol, np.nan, "factor", False)]
    if ratios.size == 0:
        return CheckResult(NAME, False, f"{label}: no rounds recorded", numbers, cases=failed)
    if not (np.all(gaps > 0) and np.all(ratios >= 0) and np.all(np.isfinite(ratios))):
        numbers["min_gap"] = float(np.min(gaps))
        summary = (
            f"{label}: f − f* or a ratio is not positive (min gap {np.min(gaps):.3g}): f* is not a lower "
            "bound on this trajectory"
        )
        return CheckResult(NAME, False, summary, numbers, cases=failed)
    log_product = np.cumsum(np.log(ratios))
    log_gap_ratio = np.log(gaps[1:] / gaps[0])
    identity_error = float(np.max(np.abs(np.expm1(log_product - log_gap_ratio))))
    counts = np.arange(1, ratios.size + 1)
    log_amgm = counts * np.log(np.cumsum(ratios) / counts)
    amgm_slack = log_amgm - log_gap_ratio
    amgm_ok = bool(np.all(amgm_slack >= -1e-12 * np.maximum(1.0, np.abs(log_amgm))))
    tight = int(np.argmin(amgm_slack[1:])) + 1 if ratios.size > 1 else 0  # K = 1 is an equality
    cases = [
        bound_case(label, *identity_formula(rtol), identity_error, rtol),
        Case(
            f"{label}, tightest K = {counts[tight]}",
            *AMGM,
            float(log_gap_ratio[tight] / np.log(10)),
            float(log_amgm[tight] / np.log(10)),
            float(amgm_slack[tight] / np.log(10)),
            "decades",
            amgm_ok,
        ),
    ]
    passed = identity_error <= rtol and amgm_ok
    numbers.update(
        identity_max_rel_error=identity_error,
        identity_rtol=rtol,
        amgm_holds_every_K=amgm_ok,
        amgm_min_log_slack=float(np.min(amgm_slack)),
        final_gap_ratio=float(gaps[-1] / gaps[0]),
        mean_ratio=float(np.mean(ratios)),
    )
    summary = (
        f"{label}: max relative error of Δ_K/Δ_0 = ∏r_k is {identity_error:.2e} (≤ {rtol:g}: "
        f"{identity_error <= rtol}); AM–GM bound holds for every K: {amgm_ok}"
    )
    data = {
        "K": counts.tolist(),
        "log10_gap_ratio": (log_gap_ratio / np.log(10)).tolist(),
        "log10_product": (log_product / np.log(10)).tolist(),
        "log10_amgm": (log_amgm / np.log(10)).tolist(),
    }
    return CheckResult(NAME, passed, summary, numbers, data, cases)


def run_ratio_chaining(size: str, cache_dir: Path | str | None = None) -> CheckResult:
    s = SETTINGS[check_size(size)]
    parts = []
    for problem, shrink in (
        (colt_least_squares(0.1, dim=s["colt_dim"]), 1e-10),
        (build_problem("digits-logistic", size), 1e-6),
    ):
        fstar = reference_solution(problem, cache_dir=cache_dir).fstar
        gap0 = problem.f(problem.x0) - fstar
        trace = run_osgm(
            problem,
            RatioFeedback(fstar),
            AdaGrad(1.0 / problem.L, Box(0.0, 1e10 / problem.L)),
            kind="diag",
            landscape="vanilla",
            max_iter=s["rounds"],
            tol=0.0,
            stop_below=fstar + shrink * gap0,
        )
        parts.append(check_ratio_chaining(problem, trace, fstar, label=problem.name))
    return combine(NAME, parts)
