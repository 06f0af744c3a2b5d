"""theory/: the eight bound checks pass on correct input and report failure on wrong input; SDP for κ*;
UBA ↔ Chebyshev algebra."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from theory import chebyshev
from theory.checks import (
    check_convex_hypergradient,
    check_kappa_star_rate,
    check_ratio_chaining,
    check_superlinear,
    check_uba_chebyshev,
    gradient_norm_chain,
    osgm_g_theory_step,
    run_checks,
)
from theory.checks.convex_hypergradient import run_convex_hypergradient
from theory.feedback import HypergradientFeedback, RatioFeedback
from theory.fstar import reference_solution
from theory.learners import AdaGrad, Box, FrobeniusBall, ProjectedOGD
from theory.osgm import run_osgm
from theory.preconditioner import _jacobi_normalised, optimal_diagonal_preconditioner, sdp_barrier
from theory.registry import build_problem
from theory.synthetic import badly_scaled_quadratic, centred, colt_least_squares, random_quadratic


@pytest.fixture(scope="module", autouse=True)
def _single_thread_blas():
    with threadpool_limits(1):
        yield


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("theory-cache")


@pytest.fixture(scope="module")
def smoke_results(cache):
    return {r.name: r for r in run_checks("smoke", cache_dir=cache)}


def test_every_check_passes_on_the_smoke_runs(smoke_results):
    assert set(smoke_results) == {
        "ratio_chaining",
        "kappa_star_rate",
        "convex_hypergradient",
        "superlinear",
        "uba_chebyshev",
        "last_iterate_closed_forms",
        "last_iterate_pep",
        "last_iterate_optimal_schedule",
    }
    for result in smoke_results.values():
        assert result.passed, result.summary
        record = result.record()
        assert set(record) == {"name", "passed", "summary", "cases", "numbers"}
        assert record["cases"] and all(case["passed"] for case in record["cases"])


# 1. ratio chaining

LS = colt_least_squares(0.1, dim=20)


def _ratio_trace(landscape, P0=None):
    # stop at Δ ≤ 1e-10·Δ_0: below that, rounding in ½‖Mx − b‖² dominates f − f* (as in the runner)
    stop = 1e-10 * LS.f(LS.x0)
    return run_osgm(
        LS,
        RatioFeedback(0.0),
        AdaGrad(1.0 / LS.L, Box(0.0, 1e10 / LS.L)),
        kind="diag",
        landscape=landscape,
        max_iter=80,
        tol=0.0,
        P0=P0,
        stop_below=stop,
    )


def test_ratio_chaining_holds_to_machine_precision():
    result = check_ratio_chaining(LS, _ratio_trace("vanilla"), 0.0)
    assert result.passed and result.numbers["identity_max_rel_error"] < 1e-10


def test_ratio_chaining_fails_with_a_wrong_fstar():
    trace = _ratio_trace("vanilla")
    too_high = 0.5 * (LS.f(trace.xs[-1]) + LS.f(trace.xs[0]))
    result = check_ratio_chaining(LS, trace, too_high)
    assert not result.passed and "not a lower bound" in result.summary


def test_ratio_chaining_fails_when_steps_are_not_vanilla():
    trace = _ratio_trace("monotone", P0=np.full(LS.dim, 5.0 / LS.L))  # over-large start: null steps
    assert not all(trace.accepted)
    result = check_ratio_chaining(LS, trace, 0.0)
    assert not result.passed and result.numbers["identity_max_rel_error"] > 1e-3


# 2. κ* rate


@pytest.fixture(scope="module")
def scaled_quadratic_runs(cache):
    problem = centred(badly_scaled_quadratic(16))
    pre = optimal_diagonal_preconditioner(problem.A, cache_dir=cache)
    osgm = run_osgm(
        problem,
        RatioFeedback(0.0),
        AdaGrad(10.0 / problem.L, Box(0.0, 1e10 / problem.L)),
        kind="diag",
        max_iter=250,
        tol=0.0,
        stop_below=1e-280,
    ).array("fs")
    x, gd = problem.x0.copy(), [problem.f(problem.x0)]
    for _ in range(250):
        x = x - problem.grad(x) / problem.L
        gd.append(problem.f(x))
    return pre, osgm, np.array(gd)


def test_kappa_star_rate_passes_for_osgm(scaled_quadratic_runs):
    pre, osgm, _ = scaled_quadratic_runs
    assert check_kappa_star_rate({"OSGM-R": osgm}, pre.kappa_star).passed


def test_kappa_star_rate_fails_for_plain_gd_and_for_a_wrong_kappa(scaled_quadratic_runs):
    pre, osgm, gd = scaled_quadratic_runs
    assert not check_kappa_star_rate({"GD": gd}, pre.kappa_star).passed
    assert not check_kappa_star_rate({"OSGM-R": osgm}, 1.01).passed  # claims an impossible κ*


def test_kappa_star_rate_needs_a_certified_kappa_star(scaled_quadratic_runs):
    pre, osgm, _ = scaled_quadratic_runs
    assert pre.converged
    assert check_kappa_star_rate({"OSGM-R": osgm}, pre.kappa_star, kappa_lower=pre.kappa_lower).passed
    loose = check_kappa_star_rate({"OSGM-R": osgm}, pre.kappa_star, kappa_lower=0.5 * pre.kappa_star)
    assert not loose.passed and not loose.numbers["kappa_star_certified"]


# 3. convex hypergradient bound


@pytest.fixture(scope="module")
def convex_setup(cache):
    problem = build_problem("digits-logistic", "smoke")
    ref = reference_solution(problem, cache_dir=cache)
    domain = Box(0.0, 100.0 / problem.L)
    learner = ProjectedOGD(1.0 / problem.L, domain)
    trace = run_osgm(
        problem, HypergradientFeedback(), learner, kind="diag", landscape="monotone", max_iter=60, tol=0.0
    )
    return problem, ref, domain, learner, trace


def test_convex_bound_holds_and_regret_is_below_the_ogd_bound(convex_setup):
    result = _convex_check(convex_setup)
    assert result.passed, result.summary
    last = result.numbers["checkpoints"][-1]
    assert last["two_L_gamma_star"] >= last["two_L_gamma_at_1_over_L"] >= 1.0
    assert last["hindsight_certified_rel_gap"] <= 1e-4 and last["regret"] <= last["regret_bound"]
    assert last["denominator"] == pytest.approx(last["sum_minus_h"], rel=1e-9)  # K·γ* − ρ = −Σ h_k(P_k)
    assert "bound/gap" in result.summary


def test_convex_bound_fails_with_a_too_high_fstar(convex_setup):
    problem, ref, domain, learner, trace = convex_setup
    too_high = trace.fs[-1] + 1.0  # claims a minimum above the last iterate's value
    result = check_convex_hypergradient(
        problem, trace, too_high, ref.x_star, learner, domain, checkpoints=[60]
    )
    assert not result.passed and not result.numbers["gaps_nonnegative"]


def test_convex_bound_fails_for_an_over_large_step_without_null_steps(convex_setup):
    problem, ref, domain, _, _ = convex_setup
    frozen = ProjectedOGD(1e-12, Box(0.0, 1e3 / problem.L))
    trace = run_osgm(
        problem,
        HypergradientFeedback(),
        frozen,
        kind="diag",
        landscape="vanilla",
        max_iter=30,
        tol=0.0,
        P0=np.full(problem.dim, 50.0 / problem.L),
    )
    result = check_convex_hypergradient(
        problem, trace, ref.fstar, ref.x_star, frozen, domain, checkpoints=[30]
    )
    assert not result.passed and not result.numbers["monotone"]


def _convex_check(setup, **overrides):
    problem, ref, domain, learner, trace = setup
    arguments = {"x_star": ref.x_star, "learner": learner, "checkpoints": [30, 60], **overrides}
    x_star, claimed = arguments.pop("x_star"), arguments.pop("learner")
    return check_convex_hypergradient(problem, trace, ref.fstar, x_star, claimed, domain, **arguments)


def test_convex_bound_itself_fails_for_a_point_that_is_not_the_minimiser(convex_setup):
    """x* = centre of the trajectory: R shrinks to about half the distance travelled, so R²/(Kγ* − ρ)
    falls below the gap at K = 60 (the true R is ~100× larger)."""
    trace = convex_setup[-1]
    centre = 0.5 * (trace.xs[0] + trace.xs[-1])
    result = _convex_check(convex_setup, x_star=centre)
    last = result.numbers["checkpoints"][-1]
    assert not result.passed and not last["bound_holds"] and last["gap"] > last["bound"]
    assert not result.numbers["convexity_ok"]  # the proof step Δ_k ≤ ⟨g_k, x_k − x*⟩ fails too


def test_convex_regret_comparison_fails_for_a_wrongly_claimed_learner(convex_setup):
    """Claiming OGD with a 1000× larger η gives a regret bound below the measured ρ_K; claiming a 1000×
    smaller η gives a larger bound, which the replay of the recorded stepsizes rejects."""
    problem = convex_setup[0]
    larger = _convex_check(convex_setup, learner=ProjectedOGD(1000.0 / problem.L, convex_setup[2]))
    last = larger.numbers["checkpoints"][-1]
    assert not larger.passed and not last["regret_ok"] and last["regret"] > last["regret_bound"]
    smaller = _convex_check(convex_setup, learner=ProjectedOGD(1e-3 / problem.L, convex_setup[2]))
    assert not smaller.passed and not smaller.numbers["learner_replay_ok"]
    assert all(row["regret_ok"] for row in smaller.numbers["checkpoints"])


def test_convex_gamma_star_rules_fail_for_a_wrong_smoothness_or_an_inexact_solve(convex_setup):
    problem = convex_setup[0]
    wrong_L = _convex_check(convex_setup, smoothness=problem.L / 50)  # h(50/L·I) > −1/(2·L/50)
    assert not wrong_L.passed and not wrong_L.numbers["rules_all_K"]["descent_lemma_ok"]
    inexact = _convex_check(convex_setup, hindsight_maxiter=1)
    assert not inexact.passed and not inexact.numbers["rules_all_K"]["hindsight_certified"]
    assert inexact.numbers["checkpoints"][-1]["hindsight_certified_rel_gap"] > 1e-4


def test_convex_check_rejects_a_trace_of_another_problem(convex_setup):
    _, ref, domain, learner, trace = convex_setup
    other = build_problem("digits-svm", "smoke")
    result = check_convex_hypergradient(
        other, trace, ref.fstar, ref.x_star, learner, domain, checkpoints=[60]
    )
    assert not result.passed and not result.numbers["values_match_trace"]


def test_convex_runner_uses_the_attained_minimiser(cache, monkeypatch):
    monkeypatch.setattr(
        "theory.checks.convex_hypergradient.build_problem",
        lambda name, size: build_problem("breast_cancer-logistic", size),
    )
    with pytest.raises(ValueError, match="needs an attained minimiser"):
        run_convex_hypergradient("smoke", cache)


# 4. superlinear


def test_superlinear_passes_for_full_matrix_and_fails_for_diagonal():
    quadratic = centred(random_quadratic(10, 10.0))
    series = {}
    for kind in ("full", "diag"):
        trace = run_osgm(
            quadratic,
            HypergradientFeedback(),
            ProjectedOGD(1.0 / quadratic.L),
            kind=kind,
            landscape="vanilla",
            max_iter=250,
            tol=0.0,
            stop_below=1e-280,
        )
        series[kind] = trace.array("fs")
    assert check_superlinear({"full": series["full"]}).passed
    result = check_superlinear({"diag": series["diag"]})
    assert not result.passed and result.numbers["window_ratios"]["diag"][-1] > 0.05


@pytest.fixture(scope="module")
def osgm_g_theory_run():
    quadratic = centred(random_quadratic(10, 10.0))
    _, trace, learner = osgm_g_theory_step(quadratic, 300)
    return quadratic, trace, learner


def test_gradient_norm_bound_chain_holds_with_the_theory_step(osgm_g_theory_run):
    quadratic, trace, learner = osgm_g_theory_run
    D = np.linalg.norm(np.linalg.inv(quadratic.A))
    assert learner.eta == pytest.approx(D / (quadratic.L * np.sqrt(300)))
    chain = gradient_norm_chain(quadratic, trace, learner, quadratic.A, checkpoints=[100, trace.rounds])
    assert chain["holds"], chain["rules"]
    last = chain["checkpoints"][-1]
    assert last["log10_grad_ratio"] <= last["log10_amgm"] <= last["log10_regret_form"]
    assert chain["comparator_loss_max"] < 1e-12  # g_x(A⁻¹) = 0
    result = check_superlinear({"x": trace.array("fs")}, bound_chains={"OSGM-G": chain})
    assert "bound chain" in result.summary


def test_gradient_norm_bound_chain_fails_on_wrong_constants(osgm_g_theory_run):
    quadratic, trace, learner = osgm_g_theory_run
    wrong_L = gradient_norm_chain(
        quadratic, trace, learner, quadratic.A, checkpoints=[trace.rounds], smoothness=quadratic.L / 2
    )
    assert not wrong_L["holds"] and not wrong_L["rules"]["gradient_bound_ok"]
    small = ProjectedOGD(learner.eta, FrobeniusBall(0.1 * learner.domain.radius))  # P* ∉ 𝒫, other P_k
    wrong_set = gradient_norm_chain(quadratic, trace, small, quadratic.A, checkpoints=[trace.rounds])
    assert not wrong_set["rules"]["comparator_in_domain"] and not wrong_set["rules"]["learner_replay_ok"]
    series = {"quadratic": trace.array("fs")}
    assert not check_superlinear(series, bound_chains={"OSGM-G": wrong_L}).passed


# 5. UBA ↔ Chebyshev


def test_uba_chebyshev_passes_with_phi_two_kappa_and_fails_with_a_wrong_phi():
    cases = [(10.0, 12), (100.0, 20)]
    good = check_uba_chebyshev(cases, lambda_points=301, grid_size=15)
    assert good.passed, good.summary
    assert all(case["endpoint_wins"] for case in good.numbers["cases"])
    assert "optimal by construction" in good.summary and "not automatic" in good.summary
    for wrong_factor in (1.0, 4.0):
        bad = check_uba_chebyshev(cases, phi_factor=wrong_factor, lambda_points=301, grid_size=15)
        assert not bad.passed and not any(case["matches"] for case in bad.numbers["cases"])


def test_uba_as_trained_comparison_can_fail():
    """φ = 2 makes UBA exactly cosine: with the same peak tuning it cannot beat the tuned baselines
    (cosine among them), so the end-point rule fails on its own."""
    result = check_uba_chebyshev([(10.0, 12)], phi_factor=0.2, lambda_points=301, grid_size=15)
    case = result.numbers["cases"][0]
    assert not case["endpoint_wins"] and not result.numbers["endpoint_wins_every_case"]
    assert (
        case["log10_worst_uba_endpoint_tuned"] >= case["baselines_endpoint"]["cosine"]["log10_worst"] - 1e-12
    )
    assert not result.passed


@pytest.mark.parametrize("phi", [0.5, 2.0, 20.0])
@pytest.mark.parametrize("T", [2, 7, 50])
def test_theory_uba_equals_the_trained_schedule(phi, T):
    """theory.chebyshev's end-point UBA is the repository's schedule: multiplier("uba") at p = t/(T − 1)."""
    from stepsize.schedules import multiplier

    eta_min, eta_max = 0.1, 3.0
    trained = eta_max * multiplier("uba", np.arange(T), T, phi=phi, min_ratio=eta_min / eta_max)
    theory_steps = chebyshev.uba_steps(T, eta_min, eta_max, phi, "endpoint")
    assert np.allclose(theory_steps, trained, rtol=1e-13, atol=0.0)
    p = chebyshev.schedule_positions(T, "endpoint")
    assert np.allclose(
        chebyshev.uba_fraction(p, phi), multiplier("uba", np.arange(T), T, phi=phi), atol=1e-15
    )


def test_uba_algebra():
    s = np.linspace(0, 1, 11)
    assert np.allclose(chebyshev.uba_fraction(s, 2.0), chebyshev.shape_cosine(s), atol=1e-15)
    assert chebyshev.uba_fraction(np.array([0.5]), 3.0)[0] == pytest.approx(2 / (2 + 3.0))
    kappa, T = 50.0, 16
    uba = chebyshev.uba_steps(T, 1.0, kappa, 2 * kappa)  # η ∈ [1/L, 1/μ] with L = 1, μ = 1/κ
    assert np.allclose(uba, chebyshev.chebyshev_steps(1 / kappa, 1.0, T), rtol=1e-13)
    grid = chebyshev.curvature_grid(1 / kappa, 1.0, T, 2001)
    assert np.exp(chebyshev.log_worst_case(uba, grid)) == pytest.approx(
        chebyshev.chebyshev_worst_case(1 / kappa, 1.0, T), rel=1e-8
    )
    with pytest.raises(ValueError, match="phi=0"):
        chebyshev.uba_steps(T, 1.0, kappa, 0.0)


# SDP for κ*


def test_barrier_sdp_matches_cvxpy_and_beats_jacobi(tmp_path):
    H = random_quadratic(10, 50.0, seed=3).A
    scales = np.logspace(0, 2, 10)
    H = scales[:, None] * H * scales[None, :]
    barrier = optimal_diagonal_preconditioner(H, cache_dir=tmp_path)
    cvx = optimal_diagonal_preconditioner(H, cache_dir=tmp_path, method="cvxpy")
    assert barrier.converged
    assert barrier.kappa_lower <= barrier.kappa_star <= barrier.kappa_lower * (1 + 1e-7)
    assert cvx.kappa_star == pytest.approx(barrier.kappa_star, rel=1e-6)
    assert barrier.kappa_star <= barrier.kappa_jacobi and barrier.kappa_star < barrier.kappa
    root = np.sqrt(barrier.d)
    assert np.linalg.eigvalsh(root[:, None] * H * root[None, :])[-1] == pytest.approx(1.0)


def test_sdp_flags_an_unfinished_newton_loop():
    H = random_quadratic(10, 50.0, seed=3).A
    G = np.linalg.inv(_jacobi_normalised(H)[0])
    G = 0.5 * (G + G.T)
    _, tau, gap, converged = sdp_barrier(G)
    assert converged and gap <= 1e-8 * tau
    _, tau_cut, gap_cut, converged_cut = sdp_barrier(G, max_newton=2)
    assert not converged_cut and gap_cut > 1e-8 * tau_cut
    assert tau_cut + gap_cut >= tau * (1 - 1e-9)  # the returned certificate stays valid


def test_sdp_rejects_bad_matrices(tmp_path):
    with pytest.raises(ValueError, match="positive definite"):
        optimal_diagonal_preconditioner(np.diag([1.0, 0.0]), cache_dir=tmp_path)
    with pytest.raises(ValueError, match="method='mosek'"):
        optimal_diagonal_preconditioner(np.eye(2), cache_dir=tmp_path, method="mosek")
