"""theory/: feedback gradients, online learners, OSGM, HDM-Best, Part II OSGM, baselines, counting oracle."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from theory import baselines, hdm
from theory.feedback import (
    GradientNormFeedback,
    HypergradientFeedback,
    RatioFeedback,
    feedback_value_and_gradient,
    make_feedback,
)
from theory.learners import AdaGrad, Box, FrobeniusBall, ProjectedOGD
from theory.oracle import BudgetExhausted, CountingOracle
from theory.osgm import osgm_h_diagonal, run_osgm
from theory.problems import LogisticRegression, Quadratic
from theory.synthetic import random_quadratic


@pytest.fixture(scope="module", autouse=True)
def _single_thread_blas():
    with threadpool_limits(1):
        yield


QUADRATIC = random_quadratic(5, 10.0, seed=4)
RNG = np.random.default_rng(7)
_X = RNG.standard_normal((30, 4))
LOGISTIC = LogisticRegression(_X, np.where(_X[:, 0] + RNG.standard_normal(30) > 0, 1.0, -1.0))


def _random_stepsize(kind, dim, rng):
    return {
        "scalar": np.asarray(0.05 * rng.random()),
        "diag": 0.05 * rng.random(dim),
        "full": 0.05 * rng.standard_normal((dim, dim)),
    }[kind]


@pytest.mark.parametrize("kind", ["scalar", "diag", "full"])
@pytest.mark.parametrize("feedback_name", ["ratio", "hypergradient", "gradient_norm"])
@pytest.mark.parametrize("problem", [QUADRATIC, LOGISTIC], ids=["quadratic", "logistic"])
def test_feedback_gradient_matches_finite_differences(problem, feedback_name, kind):
    if feedback_name == "gradient_norm" and problem is LOGISTIC:
        with pytest.raises(ValueError, match="needs a quadratic"):
            make_feedback(feedback_name, problem)
        return
    rng = np.random.default_rng(0)
    feedback = make_feedback(feedback_name, problem, fstar=problem.f(problem.x0) - 5.0)
    x = problem.x0 + 0.2 * rng.standard_normal(problem.dim)
    P = _random_stepsize(kind, problem.dim, rng)
    _, grad = feedback_value_and_gradient(problem, feedback, x, P, kind)
    eps = 1e-6
    numeric = np.zeros_like(P)
    for index in np.ndindex(P.shape):
        step = np.zeros_like(P)
        step[index] = eps
        plus, _ = feedback_value_and_gradient(problem, feedback, x, P + step, kind)
        minus, _ = feedback_value_and_gradient(problem, feedback, x, P - step, kind)
        numeric[index] = (plus - minus) / (2 * eps)
    assert np.allclose(grad, numeric, rtol=1e-5, atol=1e-7)


def test_feedback_values_at_known_points():
    x = QUADRATIC.x0
    g = QUADRATIC.grad(x)
    newton = np.linalg.inv(QUADRATIC.A)
    ratio, _ = feedback_value_and_gradient(QUADRATIC, RatioFeedback(0.0), x, newton, "full")
    norm, _ = feedback_value_and_gradient(QUADRATIC, GradientNormFeedback(QUADRATIC.A), x, newton, "full")
    hyper, _ = feedback_value_and_gradient(QUADRATIC, HypergradientFeedback(), x, newton, "full")
    assert abs(ratio) < 1e-12 and abs(norm) < 1e-12
    assert hyper == pytest.approx(-0.5 * g @ newton @ g / (g @ g))
    descent, _ = feedback_value_and_gradient(
        QUADRATIC, HypergradientFeedback(), x, np.asarray(1 / QUADRATIC.L), "scalar"
    )
    assert descent <= -1 / (2 * QUADRATIC.L) + 1e-15  # descent lemma: h_x(I/L) ≤ −1/(2L)


def test_adaptive_lower_bound_follows_the_official_rule():
    feedback = RatioFeedback(None)
    trial = type("T", (), {"fx": 10.0})
    feedback.observe(trial)
    assert feedback.lower_bound == pytest.approx(9.9)
    trial.fx = 5.0
    feedback.observe(trial)
    assert feedback.lower_bound == pytest.approx(5.0 - min(0.01 * 4.9, 1.0))


def test_projections_of_the_learners():
    box = Box(0.0, 1.0)
    assert np.array_equal(box.project(np.array([-1.0, 0.5, 3.0])), [0.0, 0.5, 1.0])
    ball = FrobeniusBall(2.0)
    assert np.linalg.norm(ball.project(np.full((2, 2), 5.0))) == pytest.approx(2.0)
    ogd = ProjectedOGD(0.5, box)
    assert np.array_equal(ogd.step(np.array([0.2, 0.9]), np.array([1.0, -1.0])), [0.0, 1.0])
    ada = AdaGrad(0.1, box)
    first = ada.step(np.array([0.5, 0.5]), np.array([2.0, -0.001]))
    assert np.allclose(first, [0.4, 0.6])  # the first AdaGrad step moves each coordinate by α
    assert box.contains(ada.step(np.array([0.05, 0.95]), np.array([10.0, -10.0])))
    with pytest.raises(ValueError, match="only a Box"):
        AdaGrad(0.1, ball)
    with pytest.raises(ValueError, match="eta=0"):
        ProjectedOGD(0.0)


@pytest.mark.parametrize("learner", [ProjectedOGD(0.05, Box(-1.0, 1.0)), AdaGrad(0.5, Box(-1.0, 1.0))])
def test_regret_stays_below_the_learner_bound_on_linear_losses(learner):
    rng = np.random.default_rng(1)
    losses = rng.standard_normal((300, 3)) + np.array([0.3, -0.2, 0.0])
    P, stepsizes = np.zeros(3), []
    for s in losses:
        stepsizes.append(P)
        P = learner.step(P, s)
    stepsizes = np.array(stepsizes)
    comparator = -np.sign(losses.sum(axis=0))  # best point of the box for linear losses
    regret = float(np.sum(losses * stepsizes) - np.sum(losses @ comparator))
    bound = learner.regret_bound(stepsizes, losses, comparator)
    assert 0 < regret <= bound


def test_scalar_vanilla_osgm_h_with_ogd_is_normalised_hdm():
    """Scalar OSGM-H + OGD + vanilla steps = HDM with normalised hypergradient (COLT 2025, arXiv 2411.01803:
    OGD on the scalar h_x is the normalised HDM update)."""
    eta, x, alpha = 0.3, QUADRATIC.x0.copy(), 0.0
    trace = run_osgm(
        QUADRATIC,
        HypergradientFeedback(),
        ProjectedOGD(eta),
        kind="scalar",
        landscape="vanilla",
        max_iter=40,
        tol=0.0,
    )
    for k in range(40):
        assert np.allclose(trace.xs[k], x, rtol=1e-12, atol=1e-14)
        g = QUADRATIC.grad(x)
        x_next = x - alpha * g
        alpha = alpha + eta * float(QUADRATIC.grad(x_next) @ g) / float(g @ g)
        x = x_next


def test_monotone_landscape_never_increases_f_and_vanilla_can():
    big_step = np.full(QUADRATIC.dim, 3.0 / QUADRATIC.L)
    learner_args = {"kind": "diag", "max_iter": 30, "tol": 0.0, "P0": big_step}
    monotone = run_osgm(
        QUADRATIC, HypergradientFeedback(), ProjectedOGD(1e-9), landscape="monotone", **learner_args
    )
    vanilla = run_osgm(
        QUADRATIC, HypergradientFeedback(), ProjectedOGD(1e-9), landscape="vanilla", **learner_args
    )
    assert np.all(np.diff(monotone.fs) <= 0) and not all(monotone.accepted)
    assert np.any(np.diff(vanilla.fs) > 0)
    assert monotone.grad_calls == monotone.func_calls == monotone.rounds + 1


class _Walled(Quadratic):
    """QUADRATIC with f = +∞ (and a NaN gradient) farther than 10 from x*: a trial point can be non-finite."""

    def f_and_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        if np.linalg.norm(x - self.x_star) > 10.0:
            return np.inf, np.full(x.size, np.nan)
        return super().f_and_grad(x)


WALLED = _Walled(QUADRATIC.A, QUADRATIC.x_star, 0.0, x0=QUADRATIC.x0)


def test_monotone_landscape_halves_p_after_a_non_finite_trial_and_makes_progress():
    big = np.full(WALLED.dim, 50.0 / WALLED.L)
    trace = run_osgm(
        WALLED, HypergradientFeedback(), AdaGrad(0.1), kind="diag", max_iter=300, tol=0.0, P0=big
    )
    assert trace.shrinks > 0 and not np.isfinite(trace.trial_fs[0]) and not trace.accepted[0]
    assert np.isinf(trace.losses[0]) and np.array_equal(trace.stepsizes[1], 0.5 * big)
    assert trace.fs[-1] < 1e-6 * trace.fs[0]  # the halving ends; then the feedback takes over
    vanilla = run_osgm(
        WALLED, HypergradientFeedback(), AdaGrad(0.1), kind="diag", landscape="vanilla", tol=0.0, P0=big
    )
    assert vanilla.diverged and vanilla.status == "diverged" and vanilla.rounds == 0


def test_bench_osgm_halves_p_after_a_non_finite_trial():
    oracle = CountingOracle(WALLED, max_grad_calls=300, fstar=0.0)
    away = WALLED.x0 - WALLED.x_star
    start = WALLED.x_star + 9.0 * away / np.linalg.norm(away)  # 1 inside the wall
    x = osgm_h_diagonal(oracle, start, alpha=10.0, L=WALLED.L, tol=1e-8)  # first P = 10 overshoots
    assert np.any(~np.isfinite(oracle.curve_gaps)) and np.max(np.abs(WALLED.grad(x))) < 1e-8


@pytest.mark.parametrize("learner", [ProjectedOGD(0.05, Box(-1.0, 1.0)), AdaGrad(0.5, Box(-1.0, 1.0))])
def test_learner_replay_reproduces_the_stepsizes(learner):
    rng = np.random.default_rng(2)
    gradients = rng.standard_normal((20, 3))
    P, played = np.zeros(3), []
    for s in gradients:
        played.append(P)
        P = learner.step(P, s)
    assert np.array_equal(learner.replay(np.zeros(3), gradients), np.array(played))


def test_counting_oracle_counts_and_enforces_the_budget():
    oracle = CountingOracle(QUADRATIC, max_grad_calls=2, fstar=0.0)
    oracle.f(QUADRATIC.x0)
    oracle.f_and_grad(QUADRATIC.x0)
    oracle.grad(QUADRATIC.x0)
    with pytest.raises(BudgetExhausted):
        oracle.grad(QUADRATIC.x0)
    assert (oracle.grad_calls, oracle.func_calls) == (2, 2) and oracle.curve_calls == [1, 2]


EASY = random_quadratic(10, 10.0, seed=5)


@pytest.mark.parametrize(
    ("label", "runner"),
    [
        ("HDM-Best", lambda o, x: hdm.hdm_best(o, x, L=EASY.L, tol=1e-6)),
        ("OSGM", lambda o, x: hdm.osgm_parameter_free(o, x, probes=np.random.default_rng(0), tol=1e-6)),
        ("GD", lambda o, x: baselines.gradient_descent(o, x, step=1 / EASY.L, tol=1e-6)),
        ("GD-HB", lambda o, x: baselines.heavy_ball(o, x, step=1 / EASY.L, beta=0.5, tol=1e-6)),
        ("AGD-CVX", lambda o, x: baselines.nesterov_convex(o, x, L=EASY.L, tol=1e-6)),
        ("AGD-SCVX", lambda o, x: baselines.nesterov_strongly_convex(o, x, L=EASY.L, mu=EASY.mu, tol=1e-6)),
        ("AdaGrad", lambda o, x: baselines.adagrad(o, x, lr=1.0, tol=1e-6)),
        ("Adam", lambda o, x: baselines.adam(o, x, lr=0.1, tol=1e-6)),
        ("BFGS", lambda o, x: baselines.scipy_quasi_newton(o, x, tol=1e-6)),
        ("L-BFGS-M3", lambda o, x: baselines.scipy_quasi_newton(o, x, tol=1e-6, memory=3)),
    ],
)
def test_every_method_reaches_tolerance_on_an_easy_quadratic(label, runner):
    oracle = CountingOracle(EASY, max_grad_calls=3000, fstar=0.0)
    x = runner(oracle, EASY.x0.copy())
    assert np.max(np.abs(EASY.grad(x))) < 1e-6, label
    n = oracle.grad_calls
    calls, gaps = oracle.curve()
    assert 0 < n < 3000 and calls == sorted({c for c in range(1, n + 1) if c <= 100 or c % 10 == 0} | {n})
    assert len(gaps) == len(calls) and np.all(np.isfinite(gaps))


def test_methods_stop_at_the_budget_and_return_their_iterate():
    hard = random_quadratic(10, 1e4, seed=6)
    for runner in (
        lambda o, x: hdm.hdm_best(o, x, L=hard.L, tol=1e-12),
        lambda o, x: baselines.gradient_descent(o, x, step=1 / hard.L, tol=1e-12),
        lambda o, x: baselines.scipy_quasi_newton(o, x, tol=1e-14, memory=3),
    ):
        oracle = CountingOracle(hard, max_grad_calls=25, fstar=0.0)
        x = runner(oracle, hard.x0.copy())
        assert oracle.grad_calls == 25 and hard.f(x) < hard.f(hard.x0)
