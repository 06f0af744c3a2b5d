"""Check 2, the strongly convex rate with κ* (COLT 2025 arXiv 2411.01803): after a burn-in, OSGM's gap
f − f* contracts at least as fast as 1 − 1/κ* per step, where κ* = min over diagonal D ≻ 0 of the condition
number of D^½ A D^½ (the best diagonal preconditioner; the COLT authors' ``test_ls.m`` computes it as the SDP
max τ s.t. τA⁻¹ ⪯ Diag(d) ⪯ A⁻¹, κ* = 1/τ). Equivalently, the measured rate ρ̂ has 1/(1 − ρ̂) ≤ κ*.

The run: OSGM-R (ratio feedback, known f* = 0) and OSGM-H (hypergradient feedback), diagonal P, AdaGrad
α = 10/L on [0, 1e10/L], null steps, on a badly scaled quadratic A = D·B·D centred at x* = 0 (so f − f*
has no round-off floor); κ* from the barrier SDP of ``theory.preconditioner``, whose certified interval
must be tight to 1e-6. GD at 1/L is measured as a reference (expected near 1 − 1/κ, not judged).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from theory.checks.result import CheckResult, bound_case, tex_number
from theory.feedback import HypergradientFeedback, RatioFeedback
from theory.learners import AdaGrad, Box
from theory.osgm import run_osgm
from theory.preconditioner import optimal_diagonal_preconditioner
from theory.registry import check_size
from theory.synthetic import badly_scaled_quadratic, centred

NAME = "kappa_star_rate"
SETTINGS = {
    "smoke": {"dim": 20, "rounds": 300},
    "mini": {"dim": 30, "rounds": 400},
    "full": {"dim": 50, "rounds": 600},
}
RATE = ("1/(1 − ρ̂) ≤ κ*  (ρ̂: measured rate per step)", r"\frac{1}{1-\hat\rho} \le \kappa^\star")


def asymptotic_rate(
    gaps: np.ndarray, *, burn_in: float = 1 / 3, floor: float = 1e-250
) -> tuple[float, int, int]:
    """Geometric-mean contraction of the gaps over [burn_in·n, last gap above floor·gaps[0]]."""
    gaps = np.asarray(gaps, dtype=np.float64)
    valid = np.flatnonzero(gaps > floor * gaps[0])
    end = int(valid[-1]) if valid.size else 0
    start = int(burn_in * end)
    if end - start < 5:
        return float("nan"), start, end
    return float(np.exp((np.log(gaps[end]) - np.log(gaps[start])) / (end - start))), start, end


def check_kappa_star_rate(
    gap_series: dict[str, np.ndarray],
    kappa_star: float,
    *,
    kappa: float | None = None,
    burn_in: float = 1 / 3,
    reference: dict[str, np.ndarray] | None = None,
    kappa_lower: float | None = None,
    interval_rtol: float = 1e-6,
) -> CheckResult:
    """Every series in ``gap_series`` contracts at least as fast as 1 − 1/κ* after the burn-in.

    ``kappa_star`` is the condition number achieved by a diagonal preconditioner (an upper bound on κ*).
    ``kappa_lower`` is the SDP's certified lower bound. When it is given, the interval must be tight to
    ``interval_rtol``, so the target is κ* itself and not a looser upper bound. ``reference`` series (for
    example GD at 1/L) are measured and reported but not judged.
    """
    target = 1.0 - 1.0 / kappa_star
    certified = kappa_lower is None or kappa_lower <= kappa_star <= kappa_lower * (1 + interval_rtol)
    rates, windows, verdicts = {}, {}, {}
    for method, gaps in gap_series.items():
        rate, start, end = asymptotic_rate(gaps, burn_in=burn_in)
        rates[method], windows[method] = rate, [start, end]
        verdicts[method] = bool(np.isfinite(rate) and rate <= target)
    reference_rates = {m: asymptotic_rate(g, burn_in=burn_in)[0] for m, g in (reference or {}).items()}
    passed = bool(gap_series) and all(verdicts.values()) and certified
    numbers = {
        "kappa_star": kappa_star,
        "kappa_star_lower": kappa_lower,
        "kappa_star_certified": certified,
        "kappa": kappa,
        "target_rate": target,
        "rates": rates,
        "windows": windows,
        "passes": verdicts,
        "reference_rates": reference_rates,
    }
    summary = (
        f"target 1 − 1/κ* = {target:.4f} (κ* = {kappa_star:.3g}"
        + (f", κ = {kappa:.3g})" if kappa else ")")
        + ("" if kappa_lower is None else f", κ* interval certified to {interval_rtol:g}: {certified}")
        + "; measured "
        + ", ".join(f"{m} {r:.4f}" for m, r in rates.items())
        + (
            "; reference " + ", ".join(f"{m} {r:.4f}" for m, r in reference_rates.items())
            if reference_rates
            else ""
        )
    )
    data = {
        "series": {m: np.asarray(g).tolist() for m, g in {**gap_series, **(reference or {})}.items()},
        "kappa_star": kappa_star,
        "kappa": kappa,
    }
    cases = [
        bound_case(
            f"{method}, rounds {windows[method][0]}–{windows[method][1]}",
            *RATE,
            1.0 / (1.0 - rates[method]) if rates[method] < 1 else np.inf,
            kappa_star,
        )
        for method in gap_series
    ]
    if kappa_lower is not None:
        cases.append(
            bound_case(
                "κ* from the barrier SDP",
                f"(κ*_upper − κ*_lower)/κ*_lower ≤ {interval_rtol:g}",
                r"(\kappa^\star_{\mathrm{up}} - \kappa^\star_{\mathrm{low}})/\kappa^\star_{\mathrm{low}} \le "
                + tex_number(interval_rtol),
                (kappa_star - kappa_lower) / kappa_lower,
                interval_rtol,
            )
        )
    return CheckResult(NAME, passed, summary, numbers, data, cases)


def run_kappa_star_rate(size: str, cache_dir: Path | str | None = None) -> CheckResult:
    s = SETTINGS[check_size(size)]
    problem = centred(badly_scaled_quadratic(s["dim"]))
    pre = optimal_diagonal_preconditioner(problem.A, cache_dir=cache_dir)
    series = {}
    for label, feedback in (("OSGM-R", RatioFeedback(0.0)), ("OSGM-H", HypergradientFeedback())):
        trace = run_osgm(
            problem,
            feedback,
            AdaGrad(10.0 / problem.L, Box(0.0, 1e10 / problem.L)),
            kind="diag",
            landscape="monotone",
            max_iter=s["rounds"],
            tol=0.0,
            stop_below=1e-280,
        )
        series[label] = trace.array("fs")
    x, gd = problem.x0.copy(), [problem.f(problem.x0)]
    for _ in range(s["rounds"]):
        x = x - problem.grad(x) / problem.L
        gd.append(problem.f(x))
    result = check_kappa_star_rate(
        series,
        pre.kappa_star,
        kappa=pre.kappa,
        reference={"GD": np.array(gd)},
        kappa_lower=pre.kappa_lower,
    )
    result.numbers.update(
        sdp_kappa=pre.sdp_kappa, sdp_converged=pre.converged, kappa_jacobi=pre.kappa_jacobi, dim=problem.dim
    )
    return result
