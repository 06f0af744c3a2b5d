"""Check 4, superlinear convergence (COLT 2025 arXiv 2411.01803 for quadratics with full-matrix P; Part I
arXiv 2505.23081 for local superlinear convergence): the per-step ratio Δ_{k+1}/Δ_k tends to 0. Judged on
window ratios (the geometric mean of Δ_{k+1}/Δ_k over 8 equal windows of the run above 1e-280): the last
window's ratio must be ≤ 0.05 and ≤ the first window's / 10, and the last three must decrease strictly (a
linear rate gives constant window ratios).

The runs: full-matrix OSGM-H with projected OGD η = 1/L, vanilla steps, on a centred random quadratic
(κ = 10) and on the strongly convex non-quadratic log-cosh regression. Full-matrix OSGM-G (gradient-norm
feedback, null steps) runs twice on the quadratic. The first run uses the step the COLT bound prescribes,
η = D/(L√K) with K the round budget and D = ‖P_0 − A⁻¹‖_F, on the Frobenius ball of radius 2D (which
contains P* = A⁻¹); its bound chain is judged,

    ‖∇f(x_K)‖/‖∇f(x_0)‖ ≤ ∏ g_j(P_j) ≤ (mean_j g_j(P_j))^K ≤ ((ρ̄_K + Σ_j g_j(P*))/K)^K
                        ≤ (D²/(2ηK) + ηL²/2)^K = (DL/√K)^K at η = D/(L√K),

and its window ratios are reported, not judged. The second uses the constant η = 1/L², which stays linear;
it is reported only.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from theory.checks.result import Case, CheckResult, relation
from theory.feedback import GradientNormFeedback, HypergradientFeedback
from theory.learners import FrobeniusBall, Learner, ProjectedOGD, replay_error
from theory.osgm import OSGMTrace, run_osgm
from theory.problems import Problem, Quadratic
from theory.registry import check_size
from theory.synthetic import centred, logcosh_regression, random_quadratic

NAME = "superlinear"
SETTINGS = {
    "smoke": {"dim": 10, "rounds": 400},
    "mini": {"dim": 20, "rounds": 600},
    "full": {"dim": 20, "rounds": 800},
}


def window_rule(final_max: float, drop_factor: float) -> tuple[str, str]:
    return (
        f"ratio of the last window ≤ min({final_max:g}, first window/{drop_factor:g}), last 3 decreasing",
        rf"\bar r_{{\mathrm{{last}}}} \le \min({final_max:g},\ \bar r_{{\mathrm{{first}}}}/{drop_factor:g})",
    )


CHAIN = (
    "log10 ‖∇f(x_K)‖/‖∇f(x_0)‖ ≤ K·log10(D²/(2ηK) + ηL²/2), every link of the chain",
    r"\log_{10}\tfrac{\|\nabla f(x_K)\|}{\|\nabla f(x_0)\|} \le "
    r"K\log_{10}\bigl(\tfrac{D^2}{2\eta K}+\tfrac{\eta L^2}{2}\bigr)",
)


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
    """The chain of COLT 2025's superlinear bound for full-matrix OSGM-G on a quadratic (module docstring):

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
    cases = [
        Case(
            f"{label}, last of {windows} windows",
            *window_rule(final_max, drop_factor),
            per_series[label][-1],
            min(final_max, per_series[label][0] / drop_factor),
            _margin_factor(per_series[label][-1], min(final_max, per_series[label][0] / drop_factor)),
            "factor",
            verdicts[label],
        )
        for label in gap_series
    ]
    cases += [chain_case(label, chain) for label, chain in chains.items()]
    return CheckResult(NAME, passed, summary, numbers, data, cases)


def _margin_factor(lhs: float, rhs: float) -> float:
    return rhs / lhs if lhs > 0 and np.isfinite(lhs) and np.isfinite(rhs) else np.nan


def chain_case(label: str, chain: dict) -> Case:
    """The chain's end points at its last checkpoint: log10 ‖∇f(x_K)‖/‖∇f(x_0)‖ ≤ K·log10(theory form)."""
    last = chain["checkpoints"][-1] if chain["checkpoints"] else {}
    lhs, rhs = last.get("log10_grad_ratio", np.nan), last.get("log10_theory_form", np.nan)
    return Case(f"{label}, K = {last.get('K')}", *CHAIN, lhs, rhs, rhs - lhs, "decades", bool(chain["holds"]))


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
        f"{relation(terms[0], terms[1])} AM–GM {terms[1]:.1f} {relation(terms[1], terms[2])} regret-bound "
        f"form {terms[2]:.1f} {relation(terms[2], terms[3])} theory form {terms[3]:.1f} (η = "
        f"{chain['eta']:.3g} = D/(L√K) for K = {chain['horizon_of_eta']:.0f}, ηL² = DL/√K = "
        f"{chain['eta_L2']:.3g}): {verdict}"
    )


def run_superlinear(size: str, cache_dir: Path | str | None = None) -> CheckResult:
    s = SETTINGS[check_size(size)]
    quadratic = centred(random_quadratic(s["dim"], 10.0))
    logcosh = logcosh_regression(s["dim"], rows=2 * s["dim"])
    rounds = s["rounds"]
    series = {}
    for label, problem in (("quadratic", quadratic), ("logcosh", logcosh)):
        trace = run_osgm(
            problem,
            HypergradientFeedback(),
            ProjectedOGD(1.0 / problem.L),
            kind="full",
            landscape="vanilla",
            max_iter=rounds,
            tol=0.0,
            stop_below=1e-280,
        )
        series[f"{label} (full-matrix OSGM-H)"] = trace.array("fs")
    theory_label, theory_trace, theory_learner = osgm_g_theory_step(quadratic, rounds)
    constant = run_osgm(
        quadratic,
        GradientNormFeedback(quadratic.A),
        ProjectedOGD(1.0 / quadratic.L**2),
        kind="full",
        landscape="monotone",
        max_iter=rounds,
        tol=0.0,
        stop_below=1e-280,
    )
    chain = gradient_norm_chain(
        quadratic,
        theory_trace,
        theory_learner,
        quadratic.A,
        checkpoints=[theory_trace.rounds // 4, theory_trace.rounds // 2, theory_trace.rounds],
    )
    return check_superlinear(
        series,
        reference={
            theory_label: theory_trace.array("fs"),
            "quadratic (full-matrix OSGM-G, η = 1/L²)": constant.array("fs"),
        },
        bound_chains={theory_label: chain},
    )


def osgm_g_theory_step(problem: Quadratic, rounds: int) -> tuple[str, OSGMTrace, ProjectedOGD]:
    """Full-matrix OSGM-G with the COLT step η = D/(L√K) (module docstring), K = rounds, D = ‖P_0 − A⁻¹‖_F
    with P_0 = 0, projected on the Frobenius ball of radius 2D (bounded, contains P* = A⁻¹), null steps."""
    D = float(np.linalg.norm(np.linalg.inv(problem.A)))
    learner = ProjectedOGD(D / (problem.L * np.sqrt(rounds)), FrobeniusBall(2.0 * D))
    trace = run_osgm(
        problem,
        GradientNormFeedback(problem.A),
        learner,
        kind="full",
        landscape="monotone",
        max_iter=rounds,
        tol=0.0,
        stop_below=1e-280,
    )
    return "quadratic (full-matrix OSGM-G, η = D/(L√K))", trace, learner
