"""The five bound checks. Each ``check_*`` verifies given data and returns a ``CheckResult``; it reports
failure (never raises) when the data violate the bound, so wrong inputs are caught. The runs that
produce the data live in ``theory.check_runs``.

Bounds (statements re-derived in /work/shared/reference/osgm.md §2 and uba.md §1.4, labelled [D] there;
the papers' exact theorem statements could not be read and are unverified):

1. ratio chaining (COLT 2025 arXiv 2411.01803; Part I arXiv 2505.23081, eq. (2)): with vanilla steps
   Δ_K/Δ_0 = ∏_{k<K} r_k exactly, and ∏ r_k ≤ (mean_{k<K} r_k)^K (AM–GM, needs r_k ≥ 0, i.e. a valid f*).
2. strongly convex (COLT 2025): after a burn-in the per-step contraction of f − f* is at most 1 − 1/κ*.
3. convex, hypergradient feedback, null steps (COLT 2025; ICML 2025 arXiv 2502.11229):
   Δ_K ≤ R²/(K·γ*_K − ρ_K) with R = max_{k≤K} ‖x_k − x*‖, γ*_K = max_𝒫 (1/K)Σ_k −h_k(P) ≥ 1/(2L), and
   ρ_K = Σ_k h_k(P_k) − Σ_k h_k(P̂_K) ≤ the online learner's regret bound.
   (Derivation: Δ_{k+1} = Δ_k + min{h_k, 0}‖g_k‖² and ‖g_k‖ ≥ Δ_k/R give 1/Δ_K ≥ Σ_k max{−h_k, 0}/R²,
   and K·γ*_K − ρ_K = −Σ_k h_k(P_k) by definition; each step of this chain is checked separately.)
4. superlinear (COLT 2025 for quadratics with full-matrix P; Part I for local superlinear convergence):
   the per-step ratio Δ_{k+1}/Δ_k tends to 0.
5. UBA ↔ Chebyshev (Tang et al. arXiv 2505.24452 + classical Chebyshev steps): UBA with φ = 2κ on
   [1/L, 1/μ], sampled at step midpoints, equals the decreasing Chebyshev steps. Its worst-case contraction
   is therefore optimal by construction. Sampled at the end points t/(T − 1) as trained, with a tuned
   peak, it must still beat every tuned baseline. That comparison is not automatic.
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
    kappa_lower: float | None = None,
    interval_rtol: float = 1e-6,
) -> CheckResult:
    """Every series in ``gap_series`` contracts at least as fast as 1 − 1/κ* after the burn-in.

    ``kappa_star`` is the condition number achieved by a diagonal preconditioner (an upper bound on κ*).
    ``kappa_lower`` is the SDP's certified lower bound. When it is given, the interval must be tight to
    ``interval_rtol``, so the target is κ* itself and not a looser upper bound. ``reference`` series (for
    example GD at 1/L) are measured and reported but not judged.
    """
    name = "kappa_star_rate"
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
    return CheckResult(name, passed, summary, numbers, data)


# 3. convex hypergradient bound ----------------------------------------------------------------------------


def descent_identity_error(fs: np.ndarray, losses: np.ndarray, grads: np.ndarray) -> float:
    """max_k |f_{k+1} − f_k − min{h_k, 0}·‖g_k‖²| / max(1, |f_k|): 0 (to rounding) for null steps that
    accept exactly the trial points with h_k ≤ 0, i.e. f(x⁺) ≤ f(x)."""
    K = losses.size
    predicted = np.minimum(losses, 0.0) * np.einsum("ki,ki->k", grads[:K], grads[:K])
    return float(np.max(np.abs(np.diff(fs)[:K] - predicted) / np.maximum(1.0, np.abs(fs[:K]))))


def convexity_slack(gaps: np.ndarray, grads: np.ndarray, xs: np.ndarray, x_star: np.ndarray) -> np.ndarray:
    """(⟨g_k, x_k − x*⟩ − Δ_k)/max(1, Δ_k) per iterate; ≥ 0 for convex f and a true minimiser x*. This is
    the proof step Δ_k ≤ ‖g_k‖·‖x_k − x*‖ that turns the per-step descent into the R² bound."""
    inner = np.einsum("ki,ki->k", grads, xs - x_star)
    return (inner - gaps) / np.maximum(1.0, np.abs(gaps))


def replay_error(learner: Learner, stepsizes: np.ndarray, feedback_grads: np.ndarray) -> float:
    """max_k |P_k(recorded) − P_k(learner replayed from P_0)|, relative to max(max|P|, 1e-300): the regret
    bound of ``learner`` applies to the trajectory only if the learner produced its stepsizes."""
    if stepsizes.shape[0] == 0:
        return 0.0
    replayed = learner.replay(stepsizes[0], feedback_grads)
    scale = max(float(np.max(np.abs(stepsizes))), 1e-300)
    return float(np.max(np.abs(replayed - stepsizes)) / scale)


def reference_gamma(
    problem: Problem, xs: np.ndarray, fs: np.ndarray, grads: np.ndarray, step: float
) -> float:
    """γ(step) = −(1/K) Σ_k h_k(step·I), the average hypergradient gain of the fixed stepsize ``step``. The
    descent lemma gives h_x(I/L) ≤ −1/(2L), so γ(1/L) ≥ 1/(2L) when L is a true smoothness constant."""
    values = problem.f_many(xs - step * grads)
    return float(-np.mean((values - fs) / np.einsum("ki,ki->k", grads, grads)))


def convex_checkpoint(
    problem: Problem,
    arrays: dict[str, np.ndarray],
    K: int,
    learner: Learner,
    domain: Box,
    *,
    kind: str,
    smoothness: float,
    start: np.ndarray | None,
    hindsight_maxiter: int,
    certificate_rtol: float,
) -> tuple[dict, np.ndarray]:
    """Every quantity of the convex hypergradient bound at checkpoint K (see check_convex_hypergradient)."""
    xs, fs, grads, gaps = arrays["xs"], arrays["fs"], arrays["grads"], arrays["gaps"]
    losses, stepsizes, feedback_grads = arrays["losses"], arrays["stepsizes"], arrays["feedback_grads"]
    hind = hypergradient_hindsight(
        problem, xs[:K], fs[:K], grads[:K], domain, kind=kind, start=start, maxiter=hindsight_maxiter
    )
    gamma_star = -hind.total / K  # γ*_K = max_𝒫 (1/K) Σ_k −h_k(P), from the hindsight solve
    regret = float(np.sum(losses[:K])) - hind.total  # ρ_K = Σ_k h_k(P_k) − Σ_k h_k(P̂_K)
    denominator = K * gamma_star - regret
    radius = float(np.max(arrays["distances"][: K + 1]))
    bound = radius**2 / denominator if denominator > 0 else np.inf
    regret_bound = learner.regret_bound(stepsizes[:K], feedback_grads[:K], hind.comparator)
    a_priori_denominator = K * gamma_star - regret_bound
    a_priori = radius**2 / a_priori_denominator if a_priori_denominator > 0 else np.inf
    step = 1.0 / smoothness
    step_in_domain = domain.contains(np.asarray(step))
    gamma_step = reference_gamma(problem, xs[:K], fs[:K], grads[:K], step)
    relative_gap = hind.certified_gap / max(abs(hind.total), 1e-300)
    row = {
        "K": K,
        "gap": float(gaps[K]),
        "R": radius,
        "gamma_star": gamma_star,
        "gamma_star_upper": gamma_star + hind.certified_gap / K,
        "two_L_gamma_star": 2.0 * smoothness * gamma_star,
        "gamma_at_1_over_L": gamma_step,
        "two_L_gamma_at_1_over_L": 2.0 * smoothness * gamma_step,
        "regret": regret,
        "regret_bound": regret_bound,
        "denominator": denominator,
        "bound": bound,
        "bound_over_gap": bound / gaps[K] if gaps[K] > 0 else np.inf,
        "a_priori_bound": a_priori,
        "a_priori_vacuous": not np.isfinite(a_priori),
        "sum_minus_h": float(-np.sum(losses[:K])),
        "hindsight_pgrad_inf": hind.projected_grad_inf,
        "hindsight_certified_gap": hind.certified_gap,
        "hindsight_certified_rel_gap": relative_gap,
        "hindsight_certified": bool(relative_gap <= certificate_rtol),
        "one_over_L_in_domain": bool(step_in_domain),
        "descent_lemma_ok": bool(gamma_step >= 0.5 / smoothness * (1 - 1e-12)),
        "gamma_star_ge_reference": bool(
            not step_in_domain or gamma_star >= gamma_step - 1e-12 * abs(gamma_step)
        ),
        "bound_holds": bool(np.isfinite(bound) and gaps[K] <= bound * (1 + 1e-9)),
        "a_priori_holds": bool(not np.isfinite(a_priori) or gaps[K] <= a_priori * (1 + 1e-9)),
        "regret_ok": bool(regret <= regret_bound),
    }
    return row, np.atleast_1d(hind.comparator)


_ROW_RULES = (
    "hindsight_certified",
    "one_over_L_in_domain",
    "descent_lemma_ok",
    "gamma_star_ge_reference",
    "bound_holds",
    "a_priori_holds",
    "regret_ok",
)


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
    smoothness: float | None = None,
    hindsight_maxiter: int = 1000,
    certificate_rtol: float = 1e-4,
    label: str = "",
) -> CheckResult:
    """The convex hypergradient bound (osgm.md §2 T3) with null steps, at each checkpoint K:

        f(x_K) − f* ≤ R²/(K·γ*_K − ρ_K),  R = max_{k≤K} ‖x_k − x*‖,
        γ*_K = max_{P∈𝒫} (1/K) Σ_{k<K} −h_k(P) ≥ 1/(2L)  (when I/L ∈ 𝒫),
        ρ_K = Σ_k h_k(P_k) − Σ_k h_k(P̂_K) ≤ the learner's regret bound ρ̄_K(P̂_K).

    γ*_K and P̂_K come from the hindsight solve and ρ_K from its value. By these definitions
    K·γ*_K − ρ_K = −Σ_k h_k(P_k) exactly, so the solve does not change the first inequality. It enters the
    verdict through the other rules:

    - the solve's Frank–Wolfe certificate: the true γ* is within ``certificate_rtol``;
    - γ(1/L) ≥ 1/(2L), the descent lemma on the trajectory;
    - γ*_K ≥ γ(1/L), the solve beats the feasible point I/L;
    - ρ_K ≤ ρ̄_K;
    - the a-priori form R²/(K·γ*_K − ρ̄_K), judged only where its denominator is positive and reported as
      vacuous otherwise.

    The trajectory is also checked against the proof's ingredients. The checks re-evaluate f at the
    stored iterates, so a trace that does not match the problem fails:

    - monotone f;
    - the descent identity f_{k+1} = f_k + min{h_k, 0}‖g_k‖²;
    - convexity at x*, Δ_k ≤ ⟨g_k, x_k − x*⟩, which fails for a point that is not a minimiser;
    - the learner replay: the stepsizes are those that ``learner`` plays on the logged feedback gradients.

    ``smoothness`` defaults to problem.L.
    """
    name = "convex_hypergradient"
    L = float(problem.L if smoothness is None else smoothness)
    xs = np.asarray(trace.xs)
    fs = problem.f_many(xs)
    losses = trace.array("losses")
    arrays = {
        "xs": xs,
        "fs": fs,
        "grads": np.asarray(trace.grads),
        "gaps": fs - fstar,
        "losses": losses,
        "stepsizes": np.asarray(trace.stepsizes),
        "feedback_grads": np.asarray(trace.feedback_grads),
        "distances": np.linalg.norm(xs - x_star, axis=1),
    }
    trajectory = {
        "values_match_trace": bool(
            np.max(np.abs(fs - trace.array("fs")) / np.maximum(1.0, np.abs(fs))) <= 1e-12
        ),
        "monotone": bool(np.all(np.diff(fs) <= 1e-12 * np.maximum(1.0, np.abs(fs[:-1])))),
        "gaps_nonnegative": bool(np.all(arrays["gaps"] >= 0)),
        "finite_losses": bool(losses.size > 0 and np.all(np.isfinite(losses))),
    }
    numbers: dict = {"label": label, "L": L, "rounds": int(losses.size)}
    if not trajectory["finite_losses"]:
        numbers.update(trajectory)
        return CheckResult(name, False, f"{label}: no rounds or a non-finite feedback value", numbers)
    identity = descent_identity_error(fs, losses, arrays["grads"])
    slack = convexity_slack(arrays["gaps"], arrays["grads"], xs, x_star)
    replay = replay_error(learner, arrays["stepsizes"], arrays["feedback_grads"])
    trajectory.update(
        descent_identity_ok=identity <= 1e-10,
        convexity_ok=bool(np.min(slack) >= -1e-9),
        learner_replay_ok=replay <= 1e-9,
    )
    rows, start = [], None
    for K in sorted({int(k) for k in checkpoints if 0 < k <= losses.size}):
        row, start = convex_checkpoint(
            problem,
            arrays,
            K,
            learner,
            domain,
            kind=kind,
            smoothness=L,
            start=start,
            hindsight_maxiter=hindsight_maxiter,
            certificate_rtol=certificate_rtol,
        )
        rows.append(row)
    rules = {rule: all(r[rule] for r in rows) for rule in _ROW_RULES}
    nonvacuous = bool(rows) and bool(np.isfinite(rows[-1]["bound"]))
    passed = bool(nonvacuous and all(trajectory.values()) and all(rules.values()))
    numbers.update(
        trajectory,
        rules_all_K=rules,
        nonvacuous_at_last_K=nonvacuous,
        descent_identity_max_error=identity,
        convexity_min_slack=float(np.min(slack)),
        learner_replay_max_error=replay,
        min_bound_over_gap=min((r["bound_over_gap"] for r in rows), default=np.nan),
        checkpoints=rows,
    )
    failed = [k for k, v in {**trajectory, **rules}.items() if not v] + ([] if nonvacuous else ["vacuous"])
    summary = convex_summary(label, rows[-1] if rows else {}, failed)
    data = {"gaps": arrays["gaps"].tolist(), "checkpoints": rows}
    return CheckResult(name, passed, summary, numbers, data)


def _relation(left: float, right: float) -> str:
    """'≤' if left ≤ right else '>' (so a summary never states an inequality that does not hold)."""
    return "≤" if left <= right else ">"


def convex_summary(label: str, last: dict, failed: list[str]) -> str:
    """One line: the bound at the last checkpoint and how loose it is, γ*, the regret comparison, the a-priori
    form and the failed rules."""
    nan = float("nan")
    K, gap, bound = last.get("K", 0), last.get("gap", nan), last.get("bound", nan)
    gain, gain_ref = last.get("two_L_gamma_star", nan), last.get("two_L_gamma_at_1_over_L", nan)
    regret, regret_bound = last.get("regret", nan), last.get("regret_bound", nan)
    if last.get("a_priori_vacuous", True):
        a_priori = f"vacuous here (B = {regret_bound:.3g} ≥ Kγ* = {K * last.get('gamma_star', nan):.3g})"
    else:
        a_priori = f"{last.get('a_priori_bound', nan):.3g}"
    verdict = "all rules hold" if not failed else "FAILED: " + ", ".join(failed)
    return (
        f"{label}: at K = {K}, Δ = {gap:.3g} {_relation(gap, bound)} R²/(Kγ* − ρ) = {bound:.3g} with "
        f"R = {last.get('R', nan):.3g} (bound/gap = {last.get('bound_over_gap', nan):.2g}); "
        f"2Lγ* = {gain:.3g} {'≥' if gain >= gain_ref else '<'} 2Lγ(1/L) = "
        f"{gain_ref:.3g} (the descent lemma needs ≥ 1; γ* certified to a relative "
        f"{last.get('hindsight_certified_rel_gap', nan):.0e}); ρ = {regret:.3g} "
        f"{_relation(regret, regret_bound)} learner regret bound B = {regret_bound:.3g}; a-priori "
        f"R²/(Kγ* − B): {a_priori}; {verdict}"
    )


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


def gradient_norm_chain(
    problem: Problem,
    trace: OSGMTrace,
    learner: Learner,
    hessian: np.ndarray,
    *,
    checkpoints: Sequence[int],
    smoothness: float | None = None,
) -> dict:
    """The chain of COLT 2025's superlinear bound for full-matrix OSGM-G on a quadratic (osgm.md §2 T5):

        ‖∇f(x_k)‖/‖∇f(x_0)‖ ≤ ∏_{j<k} g_j(P_j) ≤ (mean_{j<k} g_j(P_j))^k = ((ρ_k + Σ_j g_j(P*))/k)^k
                            ≤ ((ρ̄_k + Σ_j g_j(P*))/k)^k ≤ (D²/(2ηk) + ηL²/2 + mean_j g_j(P*))^k,

    with P* = A⁻¹ (g_x(P*) = 0 for the true Hessian), D = ‖P_0 − P*‖_F and ρ_k the regret against P*. The
    first step is the null-step rule (‖∇f‖ never grows, so each step's ratio is min(g_j, 1) ≤ g_j); the
    second is AM–GM; ρ̄_k is the learner's regret bound. The last step uses ‖∇_P g_x‖_F ≤ ‖A‖ = L and holds
    for projected OGD with constant η. With η = D/(L√K) it is (DL/√K)^K at the horizon K. Each inequality
    is checked in log space. So are P* ∈ 𝒫 and the learner replay.
    """
    L = float(problem.L if smoothness is None else smoothness)
    xs, grads = np.asarray(trace.xs), np.asarray(trace.grads)
    losses, stepsizes = trace.array("losses"), np.asarray(trace.stepsizes)
    feedback_grads = np.asarray(trace.feedback_grads)
    K = losses.size
    P_star = np.linalg.inv(hessian)
    norms = np.linalg.norm(grads, axis=1)
    comparator = np.linalg.norm(problem.grad_many(xs[:K] - grads[:K] @ P_star.T), axis=1) / norms[:K]
    counts = np.arange(1, K + 1)
    log_progress = np.log(norms[1 : K + 1] / norms[0])
    log_amgm = counts * np.log(np.cumsum(losses) / counts)
    eta = float(getattr(learner, "eta", np.nan))
    D = float(np.linalg.norm(stepsizes[0] - P_star))
    rows = []
    for k in sorted({int(c) for c in checkpoints if 0 < c <= K}):
        regret = float(np.sum(losses[:k] - comparator[:k]))
        regret_bound = learner.regret_bound(stepsizes[:k], feedback_grads[:k], P_star)
        offset = float(np.sum(comparator[:k]))
        theory = D**2 / (2 * eta * k) + eta * L**2 / 2 + offset / k
        rows.append(
            {
                "K": k,
                "log10_grad_ratio": float(log_progress[k - 1] / np.log(10)),
                "log10_amgm": float(log_amgm[k - 1] / np.log(10)),
                "regret": regret,
                "regret_bound": regret_bound,
                "log10_regret_form": float(k * np.log((regret_bound + offset) / k) / np.log(10)),
                "log10_theory_form": float(k * np.log(theory) / np.log(10)) if theory > 0 else np.nan,
                "regret_ok": bool(regret <= regret_bound * (1 + 1e-9)),
            }
        )
    tol = 1e-9 * np.maximum(1.0, np.abs(log_amgm))
    ok = {
        "finite": bool(K > 0 and np.all(np.isfinite(losses))),
        "null_step_amgm_ok": bool(np.all(log_progress <= log_amgm + tol)),
        "regret_ok": all(r["regret_ok"] for r in rows),
        "gradient_bound_ok": bool(
            np.max(np.linalg.norm(feedback_grads.reshape(K, -1), axis=1)) <= L * (1 + 1e-9)
        ),
        "comparator_in_domain": bool(learner.domain.contains(P_star, tol=1e-12)),
        "learner_replay_ok": replay_error(learner, stepsizes, feedback_grads) <= 1e-9,
    }
    return {
        "holds": bool(rows) and all(ok.values()),
        "rules": ok,
        "eta": eta,
        "D": D,
        "L": L,
        "horizon_of_eta": (D / (eta * L)) ** 2,  # the K with η = D/(L√K)
        "eta_L2": eta * L**2,  # = DL/√K at that horizon
        "comparator_loss_max": float(np.max(comparator)) if K else np.nan,
        "checkpoints": rows,
    }


def check_superlinear(
    gap_series: dict[str, np.ndarray],
    *,
    windows: int = 8,
    final_max: float = 0.05,
    drop_factor: float = 10.0,
    reference: dict[str, np.ndarray] | None = None,
    bound_chains: dict[str, dict] | None = None,
) -> CheckResult:
    """Per series: last-window ratio ≤ final_max, ≤ first-window ratio / drop_factor, and the last three
    window ratios strictly decreasing (a linear rate would give constant window ratios).
    ``reference`` series are measured and reported (window ratios and whether they meet the same criterion)
    but not judged. ``bound_chains`` (from ``gradient_norm_chain``) are judged: each must hold."""
    name = "superlinear"
    per_series, verdicts = {}, {}
    for label, gaps in gap_series.items():
        per_series[label], verdicts[label] = superlinear_verdict(gaps, windows, final_max, drop_factor)
    reference_ratios, reference_verdicts = {}, {}
    for label, gaps in (reference or {}).items():
        reference_ratios[label], reference_verdicts[label] = superlinear_verdict(
            gaps, windows, final_max, drop_factor
        )
    chains = bound_chains or {}
    passed = bool(gap_series) and all(verdicts.values()) and all(c["holds"] for c in chains.values())
    summary = "; ".join(
        f"{label}: window ratios {per_series[label][0]:.3g} → {per_series[label][-1]:.3g} "
        f"({'superlinear' if verdicts[label] else 'NOT superlinear'})"
        for label in gap_series
    )
    summary += "".join(
        f"; reference, not judged: {label}: {ratios[0]:.3g} → {ratios[-1]:.3g} "
        f"({'meets' if reference_verdicts[label] else 'does not meet'} the superlinear criterion)"
        for label, ratios in reference_ratios.items()
    )
    summary += "".join(chain_summary(label, chain) for label, chain in chains.items())
    numbers = {
        "window_ratios": per_series,
        "passes": verdicts,
        "final_max": final_max,
        "drop_factor": drop_factor,
        "rounds": {k: len(v) - 1 for k, v in gap_series.items()},
        "reference_window_ratios": reference_ratios,
        "reference_meets_criterion": reference_verdicts,
        "reference_rounds": {k: len(v) - 1 for k, v in (reference or {}).items()},
        "bound_chains": chains,
    }
    data = {
        "series": {k: np.asarray(v).tolist() for k, v in gap_series.items()},
        "reference": {k: np.asarray(v).tolist() for k, v in (reference or {}).items()},
    }
    return CheckResult(name, passed, summary, numbers, data)


def superlinear_verdict(
    gaps: np.ndarray, windows: int, final_max: float, drop_factor: float
) -> tuple[list[float], bool]:
    """Window ratios and whether they meet the superlinear criterion of ``check_superlinear``."""
    ratios = windowed_ratios(gaps, windows)
    ok = bool(
        np.all(np.isfinite(ratios))
        and ratios[-1] <= final_max
        and ratios[-1] <= ratios[0] / drop_factor
        and np.all(np.diff(ratios[-3:]) < 0)
    )
    return ratios.tolist(), ok


def chain_summary(label: str, chain: dict) -> str:
    """'; <label>: bound chain at K (log10): ‖∇f‖ ratio ≤ AM–GM ≤ regret form ≤ theory form: holds'."""
    last = chain["checkpoints"][-1] if chain["checkpoints"] else {}
    terms = [
        last.get(key, np.nan)
        for key in ("log10_grad_ratio", "log10_amgm", "log10_regret_form", "log10_theory_form")
    ]
    failed = [k for k, v in chain["rules"].items() if not v]
    verdict = "holds" if chain["holds"] else "FAILED " + ", ".join(failed or ["no checkpoints"])
    return (
        f"; {label}: bound chain at K = {last.get('K')} (log10): ‖∇f‖ ratio {terms[0]:.1f} "
        f"{_relation(terms[0], terms[1])} AM–GM {terms[1]:.1f} {_relation(terms[1], terms[2])} regret-bound "
        f"form {terms[2]:.1f} {_relation(terms[2], terms[3])} theory form {terms[3]:.1f} (η = "
        f"{chain['eta']:.3g} = D/(L√K) for K = {chain['horizon_of_eta']:.0f}, ηL² = DL/√K = "
        f"{chain['eta_L2']:.3g}): {verdict}"
    )


# 5. UBA ↔ Chebyshev -------------------------------------------------------------------------------------


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
      (uba.md §1.4) and the worst-case evaluation.
    - End-point sampling t/(T − 1), the repository's training convention (``stepsize.schedules``). It gets
      the same (η_max, η_min) tuning as the baselines, which are also sampled at end points. It must beat
      the best tuned constant, cosine, linear and step schedule strictly, in every case. Nothing guarantees
      this: end-point UBA is not optimal. Its untuned worst case on [1/L, 1/μ] is also reported.
    """
    name = "uba_chebyshev"
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
    return CheckResult(name, by_construction and as_trained, summary, numbers, {"schedules": plot})
