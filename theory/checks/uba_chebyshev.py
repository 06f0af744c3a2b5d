"""Check 5, UBA ↔ Chebyshev (Tang et al., "Stepsize anything", arXiv 2505.24452, and the classical
Chebyshev step sizes; Young 1953, Agarwal, Goel & Zhang 2021 arXiv 2103.01338): UBA with φ = 2κ on
[1/L, 1/μ], sampled at step midpoints (t + ½)/T, equals the decreasing Chebyshev steps (derived in this
project: UBA's fraction 2(1 + cos πs)/(2φ + (2 − φ)(1 + cos πs)) with η_max = 1/μ, η_min = 1/L, φ = 2κ is
2/((L + μ) − (L − μ) cos πs) after the substitution; see ``theory.chebyshev``). Its worst-case
contraction on quadratics with spectrum in [μ, L] is therefore optimal by construction, and this part
checks the algebra and the worst-case evaluation only. Sampled at the end points t/(T − 1), as trained
(``stepsize.schedules``), with a tuned peak, UBA must still beat every tuned baseline (constant, cosine,
linear, step, also sampled at end points) at every (κ, T); that comparison is not automatic.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from theory import chebyshev
from theory.checks.result import Case, CheckResult
from theory.registry import check_size

NAME = "uba_chebyshev"
SETTINGS = {
    "smoke": {"cases": [(10.0, 10), (100.0, 20)], "points": 501},
    "mini": {"cases": [(10.0, 20), (100.0, 10), (100.0, 50), (1000.0, 10), (1000.0, 50)], "points": 1001},
    "full": {
        "cases": [
            (10.0, 10),
            (10.0, 20),
            (10.0, 100),
            (100.0, 10),
            (100.0, 50),
            (100.0, 200),
            (1000.0, 10),
            (1000.0, 100),
            (1000.0, 300),
        ],
        "points": 4001,
    },
}


def tuned_baselines(
    mu: float, L: float, T: int, lambdas: np.ndarray, positions: chebyshev.Positions, grid_size: int
) -> dict[str, dict]:
    """Best-tuned (η_max, η_min) worst case of each baseline shape at the given sampling positions."""
    out = {}
    for shape_name, shape in chebyshev.BASELINE_SHAPES.items():
        value, eta_max, eta_min = chebyshev.best_tuned_log_worst_case(
            shape, mu, L, T, lambdas, positions=positions, grid_size=grid_size
        )
        out[shape_name] = {"log10_worst": value / np.log(10), "eta_max": eta_max, "eta_min": eta_min}
    return out


def uba_case(kappa: float, T: int, phi_factor: float, lambda_points: int, grid_size: int) -> dict:
    """All worst-case numbers of one (κ, T) case with μ = 1/κ, L = 1 (see check_uba_chebyshev)."""
    mu, L, phi = 1.0 / kappa, 1.0, phi_factor * kappa
    lambdas = chebyshev.curvature_grid(mu, L, T, lambda_points)
    uba = chebyshev.uba_steps(T, 1.0 / L, 1.0 / mu, phi, "midpoint")
    uba_end = chebyshev.uba_steps(T, 1.0 / L, 1.0 / mu, phi, "endpoint")
    cheb = chebyshev.chebyshev_steps(mu, L, T)
    log_optimal = np.log(chebyshev.chebyshev_worst_case(mu, L, T))
    log_uba = chebyshev.log_worst_case(uba, lambdas)
    tuned_end, eta_max_end, eta_min_end = chebyshev.best_tuned_log_worst_case(
        lambda s: chebyshev.uba_fraction(s, phi), mu, L, T, lambdas, positions="endpoint", grid_size=grid_size
    )
    baselines = tuned_baselines(mu, L, T, lambdas, "midpoint", grid_size)
    baselines_end = tuned_baselines(mu, L, T, lambdas, "endpoint", grid_size)
    best = min(b["log10_worst"] for b in baselines.values())
    best_end = min(b["log10_worst"] for b in baselines_end.values())
    match = float(np.max(np.abs(uba - cheb) / cheb))
    return {
        "kappa": kappa,
        "T": T,
        "phi": phi,
        "max_rel_diff_to_chebyshev": match,
        "log10_worst_uba": log_uba / np.log(10),
        "log10_worst_optimal": log_optimal / np.log(10),
        "log10_worst_uba_endpoint": chebyshev.log_worst_case(uba_end, lambdas) / np.log(10),
        "log10_worst_uba_endpoint_tuned": tuned_end / np.log(10),
        "uba_endpoint_tuned_eta_max": eta_max_end,
        "uba_endpoint_tuned_eta_min": eta_min_end,
        "baselines": baselines,
        "baselines_endpoint": baselines_end,
        "best_baseline": best,
        "best_baseline_endpoint": best_end,
        "matches": match <= 1e-10,
        "optimal": abs(log_uba - log_optimal) <= 1e-6 * max(1.0, abs(log_optimal)),
        "wins": log_uba / np.log(10) <= best,
        "endpoint_wins": tuned_end / np.log(10) < best_end,
        "_plot": {
            "uba": uba.tolist(),
            "chebyshev": cheb.tolist(),
            "uba_endpoint": uba_end.tolist(),
            "tuned": {
                n: (
                    b["eta_min"] + (b["eta_max"] - b["eta_min"]) * shape(chebyshev.schedule_positions(T))
                ).tolist()
                for (n, b), shape in zip(baselines.items(), chebyshev.BASELINE_SHAPES.values(), strict=True)
            },
        },
    }


def check_uba_chebyshev(
    cases: Sequence[tuple[float, int]],
    *,
    phi_factor: float = 2.0,
    lambda_points: int = 1001,
    grid_size: int = 41,
) -> CheckResult:
    """UBA(φ = phi_factor·κ) against the Chebyshev steps and tuned baselines, for each (κ, T) with μ = 1/κ
    and L = 1. Two samplings are judged separately.

    - Midpoint sampling s_t = (t + ½)/T on [1/L, 1/μ]. It must equal the decreasing Chebyshev steps
      (≤ 1e-10 relative) and attain W* = 1/cosh(T·arccosh((κ+1)/(κ−1))). Its win over the baselines is then
      automatic, since Chebyshev is optimal over all T-step sequences. So this part checks only the algebra
      (module docstring) and the worst-case evaluation.
    - End-point sampling t/(T − 1), the repository's training convention (``stepsize.schedules``). It gets
      the same (η_max, η_min) tuning as the baselines, which are also sampled at end points. It must beat
      the best tuned constant, cosine, linear and step schedule strictly, in every case. Nothing guarantees
      this: end-point UBA is not optimal. Its untuned worst case on [1/L, 1/μ] is also reported.
    """
    rows = [uba_case(kappa, T, phi_factor, lambda_points, grid_size) for kappa, T in cases]
    plot = {f"kappa={r['kappa']:g},T={r['T']}": r.pop("_plot") for r in rows}
    by_construction = bool(rows) and all(r["matches"] and r["optimal"] and r["wins"] for r in rows)
    as_trained = bool(rows) and all(r["endpoint_wins"] for r in rows)
    summary = (
        "midpoint sampling (equals Chebyshev, so optimal by construction): "
        + ", ".join(
            f"κ={r['kappa']:g},T={r['T']}: log10 W {r['log10_worst_uba']:.2f} "
            f"(W* {r['log10_worst_optimal']:.2f}, "
            f"best tuned baseline {r['best_baseline']:.2f})"
            for r in rows
        )
        + f": {'holds' if by_construction else 'FAILED'}; as trained (end points t/(T−1), tuned peak, "
        "vs tuned baselines at end points; not automatic): "
        + ", ".join(
            f"κ={r['kappa']:g},T={r['T']}: UBA {r['log10_worst_uba_endpoint_tuned']:.3f} vs "
            f"{r['best_baseline_endpoint']:.3f} ({'wins' if r['endpoint_wins'] else 'LOSES'}; untuned on "
            f"[1/L, 1/μ] {r['log10_worst_uba_endpoint']:.2f})"
            for r in rows
        )
    )
    numbers = {
        "phi_factor": phi_factor,
        "midpoint_by_construction_holds": by_construction,
        "endpoint_wins_every_case": as_trained,
        "cases": rows,
    }
    return CheckResult(
        NAME, by_construction and as_trained, summary, numbers, {"schedules": plot}, uba_cases(rows)
    )


def uba_cases(rows: list[dict]) -> list[Case]:
    """One row for the midpoint identity over all cases, one per case for end-point UBA's win."""
    where = ", ".join(f"κ={r['kappa']:g},T={r['T']}" for r in rows)
    identity = max((r["max_rel_diff_to_chebyshev"] for r in rows), default=np.nan)
    cases = [
        Case(
            f"all cases ({where})",
            "max |UBA(φ=2κ, midpoints) − Chebyshev step|/step ≤ 1e-10, and W = W*",
            r"\max_t |\eta^{\mathrm{UBA}}_t-\eta^{\mathrm{Cheb}}_t|/\eta^{\mathrm{Cheb}}_t \le 10^{-10}",
            identity,
            1e-10,
            1e-10 / identity if identity > 0 else np.inf,
            "factor",
            bool(rows) and all(r["matches"] and r["optimal"] and r["wins"] for r in rows),
        )
    ]
    cases += [
        Case(
            f"κ={r['kappa']:g}, T={r['T']}",
            "log10 W(UBA, end points, tuned) < log10 W(best tuned baseline)",
            r"\log_{10} W_{\mathrm{UBA}} < \min_{\mathrm{baseline}} \log_{10} W",
            r["log10_worst_uba_endpoint_tuned"],
            r["best_baseline_endpoint"],
            r["best_baseline_endpoint"] - r["log10_worst_uba_endpoint_tuned"],
            "decades",
            bool(r["endpoint_wins"]),
        )
        for r in rows
    ]
    return cases


def run_uba_chebyshev(size: str, cache_dir: Path | str | None = None) -> CheckResult:
    s = SETTINGS[check_size(size)]
    return check_uba_chebyshev(s["cases"], lambda_points=s["points"])
