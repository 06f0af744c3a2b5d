"""theory/: problems, data loaders, f* reference solves and their cache, the problem registry."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize
from threadpoolctl import threadpool_limits

from theory import datasets, fstar
from theory.fstar import reference_solution
from theory.problems import LeastSquares, LogisticRegression, Quadratic, SquaredHingeSVM
from theory.registry import build_problem
from theory.synthetic import badly_scaled_quadratic, colt_least_squares, logcosh_regression, random_quadratic


@pytest.fixture(scope="module", autouse=True)
def _single_thread_blas():
    with threadpool_limits(1):
        yield


def _small_problems():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 5))
    y = np.where(X @ rng.standard_normal(5) + 0.8 * rng.standard_normal(40) > 0, 1.0, -1.0)
    return [
        random_quadratic(6, 20.0, seed=1),
        LeastSquares(rng.standard_normal((8, 6)), rng.standard_normal(8)),
        LogisticRegression(X, y),
        LogisticRegression(X, y, reg=0.3),
        SquaredHingeSVM(X, y),
        logcosh_regression(5, rows=9),
    ]


@pytest.mark.parametrize("problem", _small_problems(), ids=lambda p: type(p).__name__)
def test_gradient_hessian_and_batches_match_finite_differences(problem):
    x = problem.x0 + 0.3 * np.random.default_rng(2).standard_normal(problem.dim)
    assert scipy.optimize.check_grad(problem.f, problem.grad, x) < 1e-5 * max(
        1.0, np.linalg.norm(problem.grad(x))
    )
    value, grad = problem.f_and_grad(x)
    assert value == pytest.approx(problem.f(x)) and np.allclose(grad, problem.grad(x))
    points = x + 0.1 * np.random.default_rng(3).standard_normal((4, problem.dim))
    assert np.allclose(problem.f_many(points), [problem.f(p) for p in points])
    assert np.allclose(problem.grad_many(points), [problem.grad(p) for p in points])
    values, grads = problem.f_and_grad_many(points)
    assert np.allclose(values, problem.f_many(points)) and np.allclose(grads, problem.grad_many(points))
    if not isinstance(problem, SquaredHingeSVM):  # the SVM Hessian is only a generalised one
        eps = 1e-6
        numeric = np.array(
            [(problem.grad(x + eps * e) - problem.grad(x - eps * e)) / (2 * eps) for e in np.eye(problem.dim)]
        )
        assert np.allclose(problem.hess(x), numeric, atol=1e-5 * max(1.0, np.abs(numeric).max()))
    eig = np.linalg.eigvalsh(problem.hess(x))
    assert eig[-1] <= problem.L * (1 + 1e-9)
    assert eig[0] >= problem.mu * (1 - 1e-9) - 1e-9


def test_badly_scaled_quadratic_has_small_diagonal_condition_number():
    q = badly_scaled_quadratic(20, kappa_inner=10.0, scale_decades=1.5)
    jacobi = np.diag(q.A) ** -0.5
    eig = np.linalg.eigvalsh(jacobi[:, None] * q.A * jacobi[None, :])
    assert q.L / q.mu > 100 and eig[-1] / eig[0] < 15
    assert q.f(q.x_star) == 0.0 and np.allclose(q.grad(q.x_star), 0.0)


def test_colt_least_squares_is_invertible_with_zero_minimum(tmp_path):
    problem = colt_least_squares(1e-2, dim=30)
    ref = reference_solution(problem, cache_dir=tmp_path)
    assert problem.mu > 0 and ref.fstar < 1e-20 and ref.grad_inf < 1e-10
    assert np.linalg.norm(problem.x0) == pytest.approx(1.0)


def test_colt_least_squares_is_symmetric_positive_definite_as_in_test_ls():
    """M = (0.01G + I)·D·(0.01G + I)ᵀ + σI with one G: symmetric, eigenvalues ≥ σ; test_ls.m's σ = 1e-3."""
    problem = colt_least_squares(dim=40)
    assert problem.name == "colt_ls-0.001" and np.array_equal(problem.M, problem.M.T)
    assert np.linalg.eigvalsh(problem.M).min() >= 1e-3 * (1 - 1e-9)


def test_margin_problem_conventions_change_nothing_but_the_bias_sign():
    """bias −1 (the official SVM) mirrors the bias weight; sparse Z gives the dense values to rounding."""
    rng = np.random.default_rng(4)
    X = rng.standard_normal((25, 3))
    y = np.where(rng.random(25) > 0.5, 1.0, -1.0)
    w = rng.standard_normal(4)
    mirrored = w * np.array([1.0, 1.0, 1.0, -1.0])
    for cls in (SquaredHingeSVM, LogisticRegression):
        plus, minus = cls(X, y), cls(X, y, bias=-1.0, sparse=True, L=7.0)
        assert minus.f(mirrored) == pytest.approx(plus.f(w), rel=1e-14)
        assert np.allclose(minus.grad(mirrored) * np.array([1, 1, 1, -1.0]), plus.grad(w), rtol=1e-13)
        assert minus.L == 7.0 and np.allclose(minus.data()[0], X) and np.array_equal(minus.data()[1], y)
    with pytest.raises(ValueError, match="bias=2"):
        SquaredHingeSVM(X, y, bias=2.0)


def test_reference_solution_reaches_machine_precision_and_is_cached(tmp_path, monkeypatch):
    X, y = datasets.digits_even_odd()
    problem = LogisticRegression(X, y, name="digits-even-odd")
    ref = reference_solution(problem, cache_dir=tmp_path)
    assert ref.attained and ref.grad_inf < 1e-7
    lbfgs = scipy.optimize.minimize(
        problem.f_and_grad, problem.x0, jac=True, method="L-BFGS-B", options={"maxiter": 3000, "gtol": 1e-9}
    )
    assert ref.fstar <= lbfgs.fun + 1e-9
    assert len(list(tmp_path.glob("fstar-digits-even-odd-*.npz"))) == 1

    def fail(_problem):
        raise AssertionError("the cached value should have been used")

    monkeypatch.setattr(fstar, "_solve", fail)
    again = reference_solution(problem, cache_dir=tmp_path)
    assert again.fstar == ref.fstar and np.array_equal(again.x_star, ref.x_star)


def test_separable_data_give_fstar_zero_with_certificate(tmp_path):
    X, y = datasets.breast_cancer()
    logistic = reference_solution(LogisticRegression(X, y), cache_dir=tmp_path)
    assert logistic.fstar == 0.0 and not logistic.attained
    svm_problem = SquaredHingeSVM(X, y)
    svm = reference_solution(svm_problem, cache_dir=tmp_path)
    assert svm.fstar == 0.0 and np.min(svm_problem.Z @ svm.x_star) >= 1.0 - 1e-12


def test_exact_reference_for_quadratics(tmp_path):
    q = Quadratic(np.diag([1.0, 4.0]), np.array([1.0, -2.0]), 3.0)
    ref = reference_solution(q, cache_dir=tmp_path)
    assert ref.fstar == 3.0 and np.array_equal(ref.x_star, [1.0, -2.0])


def test_registry_builds_every_benchmark_problem_at_smoke_size():
    for name in (
        "breast_cancer-logistic",
        "digits-svm",
        "fmnist-logistic",
        "colt_ls-0.1",
        "quadratic-scaled",
        "quadratic-random",
    ):
        problem = build_problem(name, "smoke")
        assert problem.name == name and np.isfinite(problem.f(problem.x0)) and problem.L > 0


def test_fashion_mnist_pair_shapes_and_labels():
    X, y = datasets.fashion_mnist_pair(n_samples=50, pool=4, seed=1)
    assert X.shape == (50, 49) and set(np.unique(y)) <= {-1.0, 1.0}
    assert 0.0 <= X.min() and X.max() <= 1.0


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("nope-logistic", "unknown problem 'nope-logistic'"),
        ("digits-ridge", "unknown objective 'ridge'"),
        ("colt_ls-abc", "colt_ls-<sigma>"),
    ],
)
def test_bad_problem_names_give_clear_errors(name, message):
    with pytest.raises(ValueError, match=message):
        build_problem(name, "mini")


def test_bad_size_is_rejected():
    with pytest.raises(ValueError, match="size='huge'"):
        build_problem("quadratic-scaled", "huge")


def test_missing_files_name_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nowhere\.svm"):
        build_problem(f"svmlight:{tmp_path / 'nowhere.svm'}:logistic", "mini")
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        datasets.fashion_mnist_pair(root=tmp_path)


def test_a_corrupt_svmlight_file_is_a_one_line_error_naming_it(tmp_path):
    path = tmp_path / "corrupt.svm"
    path.write_text("+1 1:0.5 2:x\n-1 garbage\n")
    with pytest.raises(ValueError, match=r"corrupt\.svm is not valid svmlight") as info:
        build_problem(f"svmlight:{path}:svm", "mini")
    assert len(str(info.value).splitlines()) == 1


def test_svmlight_file_round_trip(tmp_path):
    from sklearn.datasets import dump_svmlight_file

    rng = np.random.default_rng(0)
    X = rng.random((30, 4))
    labels = np.where(rng.random(30) > 0.5, 1, 0)
    path = tmp_path / "toy.svm"
    dump_svmlight_file(X, labels, str(path))
    problem = build_problem(f"svmlight:{path}:svm", "mini")
    assert isinstance(problem, SquaredHingeSVM) and problem.dim == 5 and problem.name == "toy.svm-svm"
    _, y = problem.data()
    assert np.array_equal(y, np.where(labels == 1, 1.0, -1.0))
