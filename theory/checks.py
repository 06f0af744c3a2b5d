"""The five bound checks. Each ``check_*`` verifies given data and returns a ``CheckResult``; it reports
failure (never raises) when the data violate the bound, so wrong inputs are caught. The runs that
produce the data live in ``theory.check_runs``.

Bounds (statements re-derived in /work/shared/reference/osgm.md §2 and uba.md §1.4, labelled [D] there;
the papers' exact theorem statements could not be read and are unverified):

1. ratio chaining (COLT 2025 arXiv 2411.01803; Part I arXiv 2505.23081, eq. (2)): with vanilla steps
   Δ_K/Δ_0 = ∏_{k<K} r_k exactly, and ∏ r_k ≤ (mean_{k<K} r_k)^K (AM–GM, needs r_k ≥ 0, i.e. a valid f*).
2. strongly convex (COLT 2025): after a burn-in the per-step contraction of f − f* is at most 1 − 1/κ*.
3. convex, hypergradient feedback, null steps (COLT 2025; ICML 2025 arXiv 2502.11229):
   Δ_K ≤ R²/(K·γ*_K − ρ_K) with R = max_{k≤K} ‖x_k − x*‖, and ρ_K ≤ the online learner's regret bound.
   (Derivation: Δ_{k+1} = Δ_k + min{h_k, 0}‖g_k‖² and ‖g_k‖ ≥ Δ_k/R give 1/Δ_K ≥ Σ_k max{−h_k, 0}/R²,
   and K·γ*_K − ρ_K = −Σ_k h_k(P_k) by definition.)
4. superlinear (COLT 2025 for quadratics with full-matrix P; Part I for local superlinear convergence):
   the per-step ratio Δ_{k+1}/Δ_k tends to 0.
5. UBA ↔ Chebyshev (Tang et al. arXiv 2505.24452 + classical Chebyshev steps): UBA with φ = 2κ on
   [1/L, 1/μ] equals the decreasing Chebyshev steps and has the smallest worst-case contraction.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from theory import chebyshev
from theory.hindsight import hypergradient_hindsight
from theory.learners import Box, Learner
from theory.osgm import OSGMTrace
from theory.problems import Problem


@dataclass
class CheckResult:
    name: str
    passed: bool
    summary: str
    numbers: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)

    def record(self) -> dict:
        """JSON-ready {name, passed, summary, numbers}."""
        return {
            "name": self.name,
            "passed": bool(self.passed),
            "summary": self.summary,
            "numbers": to_jsonable(self.numbers),
        }


def to_jsonable(value: object) -> object:
    """Convert numpy scalars/arrays (and non-finite floats, as strings) for json.dump."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        number = float(value)
        return number if np.isfinite(number) else str(number)
    return value


# 1. ratio chaining ---------------------------------------------------------------------------------------


def check_ratio_chaining(
    problem: Problem, trace: OSGMTrace, fstar: float, *, rtol: float = 1e-10, label: str = ""
) -> CheckResult:
    """Δ_K/Δ_0 = ∏_{k<K} r_k (relative error ≤ rtol) and ≤ (mean r)^K for every K.

    Gaps are re-evaluated from the stored iterates (not the run's own numbers), so the identity also
    tests that the run made vanilla steps x_{k+1} = x_k − P_k∇f(x_k) with the logged feedback r_k.
    """
    name = "ratio_chaining"
    ratios = trace.array("losses")
    gaps = problem.f_many(np.asarray(trace.xs)) - fstar
    numbers: dict = {"label": label, "rounds": int(ratios.size), "fstar": fstar}
    if ratios.size == 0:
        return CheckResult(name, False, f"{label}: no rounds recorded", numbers)
    if not (np.all(gaps > 0) and np.all(ratios >= 0) and np.all(np.isfinite(ratios))):
        numbers["min_gap"] = float(np.min(gaps))
        return CheckResult(
            name,
            False,
            f"{label}: f − f* or a ratio is not positive (min gap "
            f"{np.min(gaps):.3g}): f* is not a lower bound on this trajectory",
            numbers,
        )
    log_product = np.cumsum(np.log(ratios))
    log_gap_ratio = np.log(gaps[1:] / gaps[0])
    identity_error = float(np.max(np.abs(np.expm1(log_product - log_gap_ratio))))
    counts = np.arange(1, ratios.size + 1)
    log_amgm = counts * np.log(np.cumsum(ratios) / counts)
    amgm_slack = log_amgm - log_gap_ratio
    amgm_ok = bool(np.all(amgm_slack >= -1e-12 * np.maximum(1.0, np.abs(log_amgm))))
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
    return CheckResult(name, passed, summary, numbers, data)


# 2. strongly convex rate with κ* --------------------------------------------------------------------------


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
) -> CheckResult:
    """Every series in ``gap_series`` contracts at least as fast as 1 − 1/κ* after the burn-in.

    ``reference`` series (e.g. GD at 1/L) are measured and reported but not judged.
    """
    name = "kappa_star_rate"
    target = 1.0 - 1.0 / kappa_star
    rates, windows, verdicts = {}, {}, {}
    for method, gaps in gap_series.items():
        rate, start, end = asymptotic_rate(gaps, burn_in=burn_in)
        rates[method], windows[method] = rate, [start, end]
        verdicts[method] = bool(np.isfinite(rate) and rate <= target)
    reference_rates = {m: asymptotic_rate(g, burn_in=burn_in)[0] for m, g in (reference or {}).items()}
    passed = bool(gap_series) and all(verdicts.values())
    numbers = {
        "kappa_star": kappa_star,
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
    return CheckResult(name, passed, summary, numbers, data)


# 3. convex hypergradient bound ----------------------------------------------------------------------------


def check_convex_hypergradient(
    problem: Problem,
    trace: OSGMTrace,
    fstar: float,
    x_star: np.ndarray,
    learner: Learner,
    domain: Box,
    *,
    checkpoints: Sequence[int],
    kind: str = "diag",
) -> CheckResult:
    """Δ_K ≤ R²/(K·γ*_K − ρ_K) and ρ_K ≤ learner regret bound at each checkpoint K; needs monotone f_k."""
    name = "convex_hypergradient"
    fs = trace.array("fs")
    xs = np.asarray(trace.xs)
    grads = np.asarray(trace.grads)
    losses = trace.array("losses")
    stepsizes = np.asarray(trace.stepsizes)
    feedback_grads = np.asarray(trace.feedback_grads)
    gaps = fs - fstar
    distances = np.linalg.norm(xs - x_star, axis=1)
    increase = float(np.max(np.diff(fs))) if fs.size > 1 else 0.0
    monotone = increase <= 1e-12 * max(1.0, float(np.max(np.abs(fs))))
    rows, start = [], None
    for K in sorted({int(k) for k in checkpoints if 0 < k <= losses.size}):
        hind = hypergradient_hindsight(problem, xs[:K], fs[:K], grads[:K], domain, kind=kind, start=start)
        start = np.atleast_1d(hind.comparator)
        gamma_star = -hind.total / K
        regret = float(np.sum(losses[:K])) - hind.total
        denominator = K * gamma_star - regret  # = −Σ_k h_k(P_k)
        radius = float(np.max(distances[: K + 1]))
        bound = radius**2 / denominator if denominator > 0 else np.inf
        regret_bound = learner.regret_bound(stepsizes[:K], feedback_grads[:K], hind.comparator)
        rows.append(
            {
                "K": K,
                "gap": float(gaps[K]),
                "bound": bound,
                "R": radius,
                "gamma_star": gamma_star,
                "two_L_gamma_star": 2.0 * problem.L * gamma_star,
                "regret": regret,
                "regret_bound": regret_bound,
                "hindsight_pgrad_inf": hind.projected_grad_inf,
                "bound_holds": bool(np.isfinite(bound) and gaps[K] <= bound * (1 + 1e-9)),
                "regret_ok": bool(regret <= regret_bound),
            }
        )
    nonvacuous = bool(rows) and np.isfinite(rows[-1]["bound"])
    bounds_ok = all(r["bound_holds"] or not np.isfinite(r["bound"]) for r in rows)
    regrets_ok = all(r["regret_ok"] for r in rows)
    nonnegative = bool(np.all(gaps >= 0))
    passed = bool(monotone and nonvacuous and bounds_ok and regrets_ok and nonnegative)
    numbers = {
        "monotone": monotone,
        "max_increase": increase,
        "nonvacuous_at_last_K": nonvacuous,
        "gaps_nonnegative": nonnegative,
        "min_bound_over_gap": min((r["bound"] / r["gap"] for r in rows if r["gap"] > 0), default=np.nan),
        "bound_holds_all_K": bounds_ok,
        "regret_below_bound_all_K": regrets_ok,
        "L": problem.L,
        "checkpoints": rows,
    }
    last = rows[-1] if rows else {}
    summary = (
        f"monotone {monotone}; at K = {last.get('K')}: Δ = {last.get('gap', np.nan):.3g} ≤ "
        f"R²/(Kγ* − ρ) = {last.get('bound', np.nan):.3g}: {bounds_ok}; 2Lγ* = "
        f"{last.get('two_L_gamma_star', np.nan):.3g}; ρ = {last.get('regret', np.nan):.3g} ≤ "
        f"bound {last.get('regret_bound', np.nan):.3g}: {regrets_ok}"
    )
    data = {"gaps": gaps.tolist(), "checkpoints": rows}
    return CheckResult(name, passed, summary, numbers, data)


# 4. superlinear convergence ---------------------------------------------------------------------------------


def windowed_ratios(gaps: np.ndarray, windows: int = 8, floor: float = 1e-280) -> np.ndarray:
    """Geometric-mean per-step ratio Δ_{k+1}/Δ_k in ``windows`` equal windows of the run above ``floor``."""
    gaps = np.asarray(gaps, dtype=np.float64)
    valid = np.flatnonzero(gaps > floor)
    end = int(valid[-1]) if valid.size else 0
    edges = np.linspace(0, end, windows + 1).round().astype(int)
    return np.array(
        [
            np.exp((np.log(gaps[b]) - np.log(gaps[a])) / (b - a)) if b > a else np.nan
            for a, b in itertools.pairwise(edges)
        ]
    )


def check_superlinear(
    gap_series: dict[str, np.ndarray],
    *,
    windows: int = 8,
    final_max: float = 0.05,
    drop_factor: float = 10.0,
    reference: dict[str, np.ndarray] | None = None,
) -> CheckResult:
    """Per series: last-window ratio ≤ final_max, ≤ first-window ratio / drop_factor, and the last three
    window ratios strictly decreasing (a linear rate would give constant window ratios).
    ``reference`` series are measured and reported (window ratios) but not judged."""
    name = "superlinear"
    per_series, verdicts = {}, {}
    for label, gaps in gap_series.items():
        ratios = windowed_ratios(gaps, windows)
        ok = bool(
            np.all(np.isfinite(ratios))
            and ratios[-1] <= final_max
            and ratios[-1] <= ratios[0] / drop_factor
            and np.all(np.diff(ratios[-3:]) < 0)
        )
        per_series[label], verdicts[label] = ratios.tolist(), ok
    passed = bool(gap_series) and all(verdicts.values())
    summary = "; ".join(
        f"{label}: window ratios {per_series[label][0]:.3g} → {per_series[label][-1]:.3g} "
        f"({'superlinear' if verdicts[label] else 'NOT superlinear'})"
        for label in gap_series
    )
    numbers = {
        "window_ratios": per_series,
        "passes": verdicts,
        "final_max": final_max,
        "drop_factor": drop_factor,
        "rounds": {k: len(v) - 1 for k, v in gap_series.items()},
        "reference_window_ratios": {
            k: windowed_ratios(v, windows).tolist() for k, v in (reference or {}).items()
        },
    }
    data = {
        "series": {k: np.asarray(v).tolist() for k, v in gap_series.items()},
        "reference": {k: np.asarray(v).tolist() for k, v in (reference or {}).items()},
    }
    return CheckResult(name, passed, summary, numbers, data)


# 5. UBA ↔ Chebyshev -------------------------------------------------------------------------------------


def check_uba_chebyshev(
    cases: Sequence[tuple[float, int]],
    *,
    phi_factor: float = 2.0,
    lambda_points: int = 1001,
    grid_size: int = 41,
) -> CheckResult:
    """For each (κ, T) with μ = 1/κ, L = 1: UBA(φ = phi_factor·κ) on [1/L, 1/μ] at midpoints equals the
    decreasing Chebyshev steps (≤ 1e-10 relative), attains W* = 1/cosh(T·arccosh((κ+1)/(κ−1))) and has a
    worst case no larger than the best-tuned constant, cosine, linear and step schedules."""
    name = "uba_chebyshev"
    rows, plot = [], {}
    for kappa, T in cases:
        mu, L = 1.0 / kappa, 1.0
        lambdas = chebyshev.curvature_grid(mu, L, T, lambda_points)
        uba = chebyshev.uba_steps(T, 1.0 / L, 1.0 / mu, phi_factor * kappa, "midpoint")
        uba_end = chebyshev.uba_steps(T, 1.0 / L, 1.0 / mu, phi_factor * kappa, "endpoint")
        cheb = chebyshev.chebyshev_steps(mu, L, T)
        match = float(np.max(np.abs(uba - cheb) / cheb))
        log_optimal = np.log(chebyshev.chebyshev_worst_case(mu, L, T))
        log_uba = chebyshev.log_worst_case(uba, lambdas)
        baselines = {}
        for shape_name, shape in chebyshev.BASELINE_SHAPES.items():
            value, eta_max, eta_min = chebyshev.best_tuned_log_worst_case(
                shape, mu, L, T, lambdas, grid_size=grid_size
            )
            baselines[shape_name] = {
                "log10_worst": value / np.log(10),
                "eta_max": eta_max,
                "eta_min": eta_min,
            }
        best_baseline = min(b["log10_worst"] for b in baselines.values())
        row = {
            "kappa": kappa,
            "T": T,
            "phi": phi_factor * kappa,
            "max_rel_diff_to_chebyshev": match,
            "log10_worst_uba": log_uba / np.log(10),
            "log10_worst_optimal": log_optimal / np.log(10),
            "log10_worst_uba_endpoint": chebyshev.log_worst_case(uba_end, lambdas) / np.log(10),
            "baselines": baselines,
            "matches": match <= 1e-10,
            "optimal": abs(log_uba - log_optimal) <= 1e-6 * max(1.0, abs(log_optimal)),
            "wins": log_uba / np.log(10) <= best_baseline,
        }
        rows.append(row)
        plot[f"kappa={kappa:g},T={T}"] = {
            "uba": uba.tolist(),
            "chebyshev": cheb.tolist(),
            "uba_endpoint": uba_end.tolist(),
            "tuned": {
                n: (
                    b["eta_min"] + (b["eta_max"] - b["eta_min"]) * shape(chebyshev.schedule_positions(T))
                ).tolist()
                for (n, b), shape in zip(baselines.items(), chebyshev.BASELINE_SHAPES.values(), strict=True)
            },
        }
    passed = bool(rows) and all(r["matches"] and r["optimal"] and r["wins"] for r in rows)
    summary = "; ".join(
        f"κ={r['kappa']:g},T={r['T']}: UBA log10 W = {r['log10_worst_uba']:.2f} (optimal "
        f"{r['log10_worst_optimal']:.2f}), best tuned baseline "
        f"{min(b['log10_worst'] for b in r['baselines'].values()):.2f}"
        for r in rows
    )
    return CheckResult(name, passed, summary, {"phi_factor": phi_factor, "cases": rows}, {"schedules": plot})
