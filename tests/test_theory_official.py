"""theory/: the official protocol reproduces the authors' benchmark (udellgroup/osgm-best-hypergrad) call for
call: the data, the objectives to the last bit, L, x0 and the probe stream, the budget unit and reporting
rule, and the gradient calls the official code gives on a1a and a2a SVM."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse
import scipy.sparse.linalg
from scipy.special import expit
from sklearn.datasets import load_svmlight_file
from threadpoolctl import threadpool_limits

from theory import hdm, official
from theory.bench import run_method
from theory.bench_methods import MethodSpec
from theory.oracle import BudgetExhausted, CountingOracle
from theory.problems import Quadratic
from theory.protocols import OFFICIAL, PROJECT
from theory.synthetic import random_quadratic

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module", autouse=True)
def _single_thread_blas():
    with threadpool_limits(1):
        yield


def test_the_data_files_are_the_documented_ones():
    readme = (official.DATA_DIR / "README.md").read_text()
    for name in official.DATASETS:
        digest = hashlib.sha256((official.DATA_DIR / name).read_bytes()).hexdigest()
        assert f"| {name} |" in readme and f"`{digest}`" in readme


def _official_formulas(name: str):
    """f and ∇f as ``def_problems.py`` defines them (sparse [X, ∓1], the labels where it puts them)."""
    data, objective = name.split(":")
    X, y = load_svmlight_file(str(official.DATA_DIR / data))
    ones = np.ones((X.shape[0], 1))
    if objective == "svm":
        Z = scipy.sparse.hstack([X, -ones]).multiply(y.reshape(-1, 1))
        return (
            lambda w: 0.5 * np.sum(np.maximum(0, 1 - Z.dot(w)) ** 2),
            lambda w: -Z.T.dot(np.maximum(0, 1 - Z.dot(w))),
        )
    Xe = scipy.sparse.hstack([X, ones])
    return (
        lambda w: np.logaddexp(0.0, -y * (Xe @ w)).sum() + 0.5 * 0.0 * np.linalg.norm(w) ** 2,
        lambda w: Xe.T.dot(-y * expit(-y * Xe.dot(w))) + 0.0 * w,
    )


@pytest.mark.parametrize("name", ["a1a:svm", "a3a:logistic"])
def test_objectives_equal_the_official_ones_to_the_last_bit(name):
    problem = official.official_problem(name).problem
    f, grad = _official_formulas(name)
    rng = np.random.default_rng(0)
    for scale in (1e-3, 1e-1, 1.0, 10.0):
        w = scale * rng.standard_normal(problem.dim)
        value, g = problem.f_and_grad(w)
        assert value == f(w) and problem.f(w) == value
        assert np.array_equal(g, grad(w)) and np.array_equal(problem.grad(w), g)


def test_start_smoothness_and_probe_stream_follow_the_seeded_stream():
    """np.random.seed(20250128); svds's start vector (min(Z.shape) normals, as SciPy < 1.15 drew it);
    x0 = the next n normals, normalised; Part II's probes are the draws after that."""
    built = official.official_problem("a2a:svm")
    problem = built.problem
    stream = np.random.RandomState(official.SEED)
    v0 = stream.standard_normal(min(problem.Z.shape))
    x0 = stream.randn(problem.dim)
    assert np.array_equal(problem.x0, x0 / np.linalg.norm(x0))
    L = scipy.sparse.linalg.svds(problem.Z, k=1, v0=v0, return_singular_vectors=False)[0] ** 2
    assert problem.L == L == official.official_problem("a2a:svm").problem.L  # deterministic
    assert np.array_equal(built.probe_stream().standard_normal(5), stream.standard_normal(5))
    assert problem.dim == 120 and problem.bias == -1.0  # 119 features as sklearn infers them, bias −1


def test_unknown_official_problems_and_missing_files_are_one_line_errors(tmp_path):
    for bad in ("a9a:svm", "a1a:ridge", "digits-svm"):
        with pytest.raises(ValueError, match=f"unknown problem '{bad}' for protocol 'official'"):
            official.official_problem(bad)
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "a1a"))):
        official.official_problem("a1a:svm", data_dir=tmp_path)


def test_hdm_best_shrinks_its_step_at_iterations_48_98():
    assert [i for i in range(200) if hdm.decays_now(i)] == [48, 98, 148, 198]


def test_budget_units_iterations_against_gradient_calls():
    """Official: 1000 iterations, so a non-converging HDM-Best makes 1 + 1000 gradient calls. Project:
    1000 gradient calls."""
    hard = random_quadratic(10, 1e6, seed=6)
    runs = {}
    for protocol in (OFFICIAL, PROJECT):
        oracle = CountingOracle(hard, max_grad_calls=protocol.max_grad_calls)
        hdm.hdm_best(oracle, hard.x0.copy(), L=hard.L, tol=1e-14, max_iter=protocol.max_iter)
        runs[protocol.name] = oracle.grad_calls, oracle.iterations
    assert runs["official"] == (1001, 1000) and runs["project"][0] == 1000


class _Recording(Quadratic):
    """A quadratic that records where its gradient is evaluated."""

    points: list

    def grad(self, x):
        self.points.append(np.array(x))
        return super().grad(x)


def test_part_two_osgm_probes_with_the_given_stream():
    base = random_quadratic(6, 10.0, seed=3)
    problem = _Recording(base.A, base.x_star, x0=base.x0)
    problem.points = []
    stream = np.random.RandomState(5)
    oracle = CountingOracle(problem, max_grad_calls=None, record=False)
    hdm.osgm_parameter_free(oracle, problem.x0.copy(), probes=np.random.RandomState(5), max_iter=3)
    for point in problem.points[1:4]:
        delta = stream.standard_normal(problem.dim)
        assert np.allclose(point - problem.x0, 1e-4 * delta / np.linalg.norm(delta), rtol=0, atol=1e-15)


def _fake(iterations: int, converges: bool, gap: float):
    """A 'method' that spends ``iterations`` gradient calls and ends at a point with a given quality."""

    def run(oracle, x0):
        try:
            for i in range(iterations):
                oracle.grad(x0)
                oracle.iterations = i + 1
        except BudgetExhausted:
            return x0
        return oracle.problem.x_star if converges else oracle.problem.x_star + gap

    return run


def test_reporting_rules_of_the_two_protocols():
    """Nothing converges: the official HyperGrid reports the first setting, the project the smallest gap.
    Otherwise both report the fewest units, the first setting on ties."""
    quadratic = random_quadratic(4, 10.0, seed=2)
    none = MethodSpec("m", [("a", _fake(1000, False, 1.0)), ("b", _fake(1000, False, 0.1))])
    assert run_method(quadratic, none, 0.0, OFFICIAL).row["setting"] == "a"
    assert run_method(quadratic, none, 0.0, PROJECT).row["setting"] == "b"
    some = MethodSpec(
        "m", [("a", _fake(1000, False, 1.0)), ("b", _fake(300, True, 0)), ("c", _fake(300, True, 0))]
    )
    for protocol in (OFFICIAL, PROJECT):
        row = run_method(quadratic, some, 0.0, protocol).row
        assert (row["setting"], row["grad_calls"], row["converged"]) == ("b", 300, True)


#: The problems of issue-level command ``python -m theory bench --protocol official --problems ...``.
FOUR_PROBLEMS = ("a1a:svm", "a2a:svm", "a1a:logistic", "a3a:logistic")
N_C = None  # not converged within the budget
#: Counts of every method on the four problems that do not depend on the floating-point kernels: the same
#: with the AVX2 kernels and with OpenBLAS's Sandy Bridge + numpy's baseline ones (measured side by side).
#: Equal to the authors' code: a1a SVM HDM-Best 276, BFGS 91, Adam 566 (its README and a rerun on this
#: stack) and a2a SVM HDM-Best 378 (the rerun); the others are this implementation's, pinned so that a
#: change of the methods shows.
KERNEL_FREE_COUNTS = {
    "a1a:svm": {"HDM-Best": 276, "OSGM": 356, "BFGS": 91, "Adam": 566, "AdaGrad": N_C, "GD": N_C,
                "GD-HB": N_C, "AGD-CVX": N_C, "AGD-SCVX": N_C, "L-BFGS-M1": N_C},
    "a2a:svm": {"HDM-Best": 378, "OSGM": 491, "BFGS": 96, "Adam": N_C, "AdaGrad": N_C, "GD": N_C,
                "GD-HB": N_C, "AGD-CVX": N_C, "AGD-SCVX": N_C},
    "a1a:logistic": {"BFGS": 108, "Adam": N_C, "AdaGrad": N_C, "GD": N_C, "GD-HB": N_C, "AGD-CVX": N_C,
                     "AGD-SCVX": N_C, "L-BFGS-M1": N_C},
    "a3a:logistic": {"HDM-Best": 883, "OSGM": N_C, "BFGS": 108, "Adam": N_C, "AdaGrad": N_C, "GD": N_C,
                     "GD-HB": N_C, "AGD-CVX": N_C, "AGD-SCVX": N_C, "L-BFGS-M1": N_C},
}
#: Counts that follow the kernels' rounding (L-BFGS-B; HDM-Best and OSGM on a1a logistic), with the AVX2
#: kernels the CLI selects on every CPU that has them. a1a SVM L-BFGS-M10 318 equals the authors' code.
AVX2_COUNTS = {
    "a1a:svm": {"L-BFGS-M10": 318, "L-BFGS-M5": 430, "L-BFGS-M3": 715},
    "a2a:svm": {"L-BFGS-M10": 366, "L-BFGS-M5": 532, "L-BFGS-M3": 710, "L-BFGS-M1": N_C},
    "a1a:logistic": {"HDM-Best": 768, "OSGM": 849, "L-BFGS-M10": 917, "L-BFGS-M5": N_C, "L-BFGS-M3": N_C},
    "a3a:logistic": {"L-BFGS-M10": N_C, "L-BFGS-M5": N_C, "L-BFGS-M3": N_C},
}


def _assert_counts(table: pd.DataFrame, expected: dict[str, dict[str, int | None]]) -> None:
    got = {(p, m): (int(table["grad_calls"][p, m]) if table["converged"][p, m] else N_C)
           for p, methods in expected.items() for m in methods}
    want = {(p, m): count for p, methods in expected.items() for m, count in methods.items()}
    assert got == want


@pytest.fixture(scope="module")
def official_svm_bench(tmp_path_factory):
    """``python -m theory bench --protocol official`` on the four problems of the issue-level command, as
    a user runs it (the CLI fixes the BLAS and numpy kernels before numpy loads; L-BFGS-B's counts
    depend on them)."""
    out = tmp_path_factory.mktemp("official")
    result = subprocess.run(
        [
            *(sys.executable, "-m", "theory", "bench", "--protocol", "official", "--out", str(out)),
            *("--problems", *FOUR_PROBLEMS, "--cache-dir", str(out / "cache")),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(out / "bench.csv").set_index(["problem", "method"])
    return table, result.stdout


def test_official_counts_on_a1a_and_a2a_svm(official_svm_bench):
    """The official code's gradient calls on this stack (numpy 2.4, SciPy 1.17; its README, made with an
    older SciPy, reports the same for HDM-Best, BFGS and Adam, and 328 for L-BFGS-M10)."""
    table, stdout = official_svm_bench
    calls = table["grad_calls"]
    assert calls["a1a:svm", "HDM-Best"] == 276 and table["func_calls"]["a1a:svm", "HDM-Best"] == 275
    assert calls["a1a:svm", "BFGS"] == 91 and table["func_calls"]["a1a:svm", "BFGS"] == 91
    assert calls["a1a:svm", "Adam"] == 566
    assert calls["a2a:svm", "HDM-Best"] == 378
    for method in ("GD", "GD-HB", "AGD-CVX", "AGD-SCVX", "AdaGrad"):  # the README: not within 1000
        assert not table["converged"]["a1a:svm", method] and calls["a1a:svm", method] == 1000
    assert not table["converged"]["a1a:svm", "L-BFGS-M1"]
    assert set(table["protocol"]) == {"official"}
    assert "a1a:svm: " in stdout and "HDM-Best 276" in stdout


def test_every_kernel_free_count_of_the_four_problem_official_bench(official_svm_bench):
    table, stdout = official_svm_bench
    assert set(table.index.get_level_values("problem")) == set(FOUR_PROBLEMS)
    assert set(table.index.get_level_values("method")) == {m for p in FOUR_PROBLEMS for m in
                                                           {**KERNEL_FREE_COUNTS[p], **AVX2_COUNTS[p]}}
    _assert_counts(table, KERNEL_FREE_COUNTS)
    for problem in FOUR_PROBLEMS:
        assert f"  {problem}: " in stdout


def test_official_lbfgs_count_with_the_avx2_kernels(official_svm_bench):
    cpu = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    if not (re.search(r"\bavx2\b", cpu) and re.search(r"\bfma\b", cpu)):
        pytest.skip("the CLI pins OpenBLAS's AVX2 kernels only on a CPU that has them")
    table, _ = official_svm_bench
    assert table["grad_calls"]["a1a:svm", "L-BFGS-M10"] == 318
    _assert_counts(table, AVX2_COUNTS)
