"""Benchmark protocol of the official OSGM/HDM code (Chu et al., ICML 2025 arXiv 2502.11229; Part II
arXiv 2509.11007): at most 1000 gradient calls, success when ‖∇f‖∞ < 1e-4, every f and ∇f call counted.

Methods (stable names used in ``bench.csv``) and their tuning grids, as in the official scripts:

- ``HDM-Best``: lr_P ∈ {0.1, 1, 10, 100}/L × lr_β ∈ {1, 3, 5, 10, 100} (20 settings);
- ``OSGM``: Part II's parameter-free method (no grid; probe seed 0);
- ``OSGM-H``: COLT-style diagonal OSGM-H (AdaGrad, null steps, P ∈ [0, 1e10/L]), α ∈ {0.1, 1, 10, 100}/L;
- ``OSGM-R (adaptive f*)``: the same with ratio feedback whose f* is replaced by the adaptive lower bound
  z of the authors' ``osgmrx.m`` (start z = f(x₀) − 0.1; when f(x) < z, z ← f(x) − min(0.01(z − f(x)), 1)).
  The known f* is never used. Same α grid;
- ``Adam``, ``AdaGrad``: lr ∈ {1e-3, 1e-2, 1e-1, 1, 10, 1/L};  ``GD-HB``: β ∈ {0.1, 0.5, 0.9, 0.99}, α = 1/L;
- ``GD``, ``AGD-CVX``, ``AGD-SCVX`` (μ = problem μ, or 1e-4 when μ = 0 as in the official scripts),
  ``BFGS``, ``L-BFGS-M3``, ``L-BFGS-M5``, ``L-BFGS-M10``: untuned;
- ``GD-OptDiag``: GD with the SDP-optimal diagonal preconditioner, on quadratic problems only (it needs
  a constant Hessian; the COLT paper uses it on least squares only).

These official grids run at ``--size mini`` and ``--size full``. ``smoke`` uses the sub-grids of
``GRIDS["reduced"]`` (HDM-Best 3 × 2 settings, …) to stay fast. The ``setting`` column of ``bench.csv`` names
the winner. ``mini`` and ``full`` include the COLT least-squares σ sweep, σ ∈ {1e-4, 1e-3, 1e-2, 1e-1}.
For a tuned method the table reports the best setting: the one that converges with the fewest gradient
calls (ties: first in grid order; the official default setting is listed first), or, if none converges,
the one with the smallest final gap. Its calls are the calls of that setting's run only (the grid search
itself is not charged, as in the official ``HyperGrid``). A speed-up that does not change the result:
once some setting has converged with c calls, later settings run with a cap of c − 1 calls (they can only
win by converging strictly earlier). The algorithms' own budget-dependent constants always use the
protocol budget, never the cap.

Safeguard (this project's, as in ``theory.osgm``): when an OSGM-H/OSGM-R trial point is not finite, it is
treated as a null step and P is halved (the feedback is undefined there).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from theory import baselines, hdm
from theory.feedback import (
    Feedback,
    HypergradientFeedback,
    RatioFeedback,
    Trial,
    apply_stepsize,
    zero_stepsize,
)
from theory.fstar import reference_solution
from theory.learners import AdaGrad, Box
from theory.oracle import BudgetExhausted, CountingOracle
from theory.preconditioner import optimal_diagonal_preconditioner
from theory.problems import Problem
from theory.registry import BENCH_PROBLEMS, build_problem, check_size

BUDGET = 1000
TOL = 1e-4
METHODS = (
    "HDM-Best",
    "OSGM",
    "OSGM-H",
    "OSGM-R (adaptive f*)",
    "L-BFGS-M10",
    "L-BFGS-M5",
    "L-BFGS-M3",
    "BFGS",
    "Adam",
    "AdaGrad",
    "GD",
    "GD-HB",
    "AGD-CVX",
    "AGD-SCVX",
    "GD-OptDiag",
)
BENCH_COLUMNS = [
    "problem",
    "method",
    "converged",
    "grad_calls",
    "func_calls",
    "final_gap",
    "final_grad_inf",
    "wall_s",
    "setting",
]
CURVE_COLUMNS = ["problem", "method", "grad_calls", "gap"]

Runner = Callable[[CountingOracle, np.ndarray], np.ndarray]


def osgm_diagonal(
    oracle: CountingOracle, x0: np.ndarray, feedback: Feedback, *, alpha: float, L: float, tol: float
) -> np.ndarray:
    """COLT-style OSGM on a counting oracle (``osgmhx.m``/``osgmrx.m``): diagonal P, AdaGrad(α) on the
    feedback, box [0, 1e10/L], null steps. A non-finite trial point is a null step that halves P."""
    learner = AdaGrad(alpha, Box(0.0, 1e10 / L))
    x, P = x0.copy(), zero_stepsize("diag", x0.size)
    try:
        fx, g = oracle.f_and_grad(x)
        while np.max(np.abs(g)) >= tol:
            x_plus = x - apply_stepsize(P, g)
            f_plus, g_plus = oracle.f_and_grad(x_plus)
            if not (np.isfinite(f_plus) and np.all(np.isfinite(g_plus))):
                P = 0.5 * P
                continue
            trial = Trial(x, fx, g, x_plus, f_plus, g_plus)
            feedback.observe(trial)
            P = learner.step(P, feedback.gradient(trial, "diag"))
            if f_plus <= fx:
                x, fx, g = x_plus, f_plus, g_plus
    except BudgetExhausted:
        pass
    return x


def osgm_h_diagonal(
    oracle: CountingOracle, x0: np.ndarray, *, alpha: float, L: float, tol: float
) -> np.ndarray:
    """Diagonal OSGM-H: hypergradient feedback h_x (``osgm_diagonal``)."""
    return osgm_diagonal(oracle, x0, HypergradientFeedback(), alpha=alpha, L=L, tol=tol)


def osgm_r_adaptive(
    oracle: CountingOracle, x0: np.ndarray, *, alpha: float, L: float, tol: float
) -> np.ndarray:
    """Diagonal OSGM-R with the adaptive lower bound z in place of f* (``osgm_diagonal``)."""
    return osgm_diagonal(oracle, x0, RatioFeedback(None), alpha=alpha, L=L, tol=tol)


@dataclass(frozen=True)
class MethodSpec:
    name: str
    settings: list[tuple[str, Runner]]  # (description, runner) in grid order


GRIDS = {
    # the official scripts' grids (osgm.md §3.2), used for --size full
    "official": {
        "hdm_lr": (10.0, 0.1, 1.0, 100.0),
        "hdm_beta_lr": (10.0, 1.0, 3.0, 5.0, 100.0),
        "osgm_h_alpha": (10.0, 0.1, 1.0, 100.0),
        "lr": (1e-3, 1e-2, 1e-1, 1.0, 10.0, "1/L"),
        "hb_beta": (0.1, 0.5, 0.9, 0.99),
    },
    # sub-grids for the fast sizes (smoke, mini): the settings that won on these problems in full runs
    "reduced": {
        "hdm_lr": (10.0, 1.0, 100.0),
        "hdm_beta_lr": (5.0, 1.0),
        "osgm_h_alpha": (10.0, 100.0),
        "lr": (1e-1, 1e-2, 1.0),
        "hb_beta": (0.9, 0.99),
    },
}
SIZE_GRID = {"smoke": "reduced", "mini": "official", "full": "official"}
COLT_SWEEP = ("colt_ls-0.0001", "colt_ls-0.001", "colt_ls-0.01", "colt_ls-0.1")  # σ of test_stochastic.m


def _with_colt_sweep(problems: tuple[str, ...]) -> tuple[str, ...]:
    """The problem list with colt_ls-0.01 replaced by the whole σ sweep (in increasing σ)."""
    out: list[str] = []
    for name in problems:
        out += list(COLT_SWEEP) if name == "colt_ls-0.01" else [name]
    return tuple(out)


SIZE_PROBLEMS = {
    "smoke": ("breast_cancer-svm", "colt_ls-0.01", "quadratic-scaled", "fmnist-logistic"),
    "mini": _with_colt_sweep(BENCH_PROBLEMS),
    "full": _with_colt_sweep(BENCH_PROBLEMS),
}


def method_specs(
    problem: Problem,
    *,
    grid: str = "official",
    tol: float = TOL,
    budget: int = BUDGET,
    cache_dir: Path | str | None = None,
) -> list[MethodSpec]:
    """All benchmark methods applicable to ``problem`` with their grids (``official`` or ``reduced``)."""
    if grid not in GRIDS:
        raise ValueError(f"grid={grid!r}: expected one of {', '.join(GRIDS)}")
    g = GRIDS[grid]
    L = problem.L
    mu_agd = problem.mu if problem.mu > 0 else 1e-4
    lr_grid = [1.0 / L if lr == "1/L" else float(lr) for lr in g["lr"]]
    specs = [
        MethodSpec(
            "HDM-Best",
            [
                (
                    f"lr={a:g}/L,beta_lr={b:g}",
                    lambda o, x, a=a, b=b: hdm.hdm_best(
                        o, x, L=L, lr_scale=a, beta_lr=b, tol=tol, max_iter=budget
                    ),
                )
                for a in g["hdm_lr"]
                for b in g["hdm_beta_lr"]
            ],
        ),
        MethodSpec(
            "OSGM",
            [
                (
                    "parameter-free,seed=0",
                    lambda o, x: hdm.osgm_parameter_free(o, x, tol=tol, seed=0, max_iter=budget),
                )
            ],
        ),
        MethodSpec(
            "OSGM-H",
            [
                (f"alpha={a:g}/L", lambda o, x, a=a: osgm_h_diagonal(o, x, alpha=a / L, L=L, tol=tol))
                for a in g["osgm_h_alpha"]
            ],
        ),
        MethodSpec(
            "OSGM-R (adaptive f*)",
            [
                (
                    f"adaptive f*,alpha={a:g}/L",
                    lambda o, x, a=a: osgm_r_adaptive(o, x, alpha=a / L, L=L, tol=tol),
                )
                for a in g["osgm_h_alpha"]
            ],
        ),
        *[
            MethodSpec(
                f"L-BFGS-M{m}",
                [(f"maxcor={m}", lambda o, x, m=m: baselines.scipy_quasi_newton(o, x, tol=tol, memory=m))],
            )
            for m in (10, 5, 3)
        ],
        MethodSpec("BFGS", [("scipy", lambda o, x: baselines.scipy_quasi_newton(o, x, tol=tol))]),
        MethodSpec(
            "Adam",
            [(f"lr={lr:g}", lambda o, x, lr=lr: baselines.adam(o, x, lr=lr, tol=tol)) for lr in lr_grid],
        ),
        MethodSpec(
            "AdaGrad",
            [(f"lr={lr:g}", lambda o, x, lr=lr: baselines.adagrad(o, x, lr=lr, tol=tol)) for lr in lr_grid],
        ),
        MethodSpec(
            "GD", [("step=1/L", lambda o, x: baselines.gradient_descent(o, x, step=1.0 / L, tol=tol))]
        ),
        MethodSpec(
            "GD-HB",
            [
                (f"beta={b:g}", lambda o, x, b=b: baselines.heavy_ball(o, x, step=1.0 / L, beta=b, tol=tol))
                for b in g["hb_beta"]
            ],
        ),
        MethodSpec("AGD-CVX", [("L", lambda o, x: baselines.nesterov_convex(o, x, L=L, tol=tol))]),
        MethodSpec(
            "AGD-SCVX",
            [
                (
                    f"mu={mu_agd:.3g}",
                    lambda o, x: baselines.nesterov_strongly_convex(o, x, L=L, mu=mu_agd, tol=tol),
                )
            ],
        ),
    ]
    hessian = problem.constant_hessian()
    if hessian is not None:
        pre = optimal_diagonal_preconditioner(hessian, cache_dir=cache_dir)
        specs.append(
            MethodSpec(
                "GD-OptDiag",
                [
                    (
                        f"kappa*={pre.kappa_star:.3g}",
                        lambda o, x: baselines.gradient_descent(o, x, step=pre.d, tol=tol),
                    )
                ],
            )
        )
    return specs


@dataclass
class MethodResult:
    row: dict
    curve_calls: list[int]
    curve_gaps: list[float]


def run_method(
    problem: Problem, spec: MethodSpec, fstar: float, *, budget: int = BUDGET, tol: float = TOL
) -> MethodResult:
    """Run every setting of ``spec`` under the protocol and return the best setting's row and curve."""
    best: MethodResult | None = None
    best_key: tuple = (np.inf, np.inf)
    for description, runner in spec.settings:
        cap = budget if best is None or not best.row["converged"] else best.row["grad_calls"] - 1
        if cap < 1:
            break
        oracle = CountingOracle(problem, max_grad_calls=cap, fstar=fstar)
        start = time.perf_counter()
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            x = runner(oracle, problem.x0.copy())
            wall = time.perf_counter() - start
            final_f, final_g = problem.f_and_grad(x)
        grad_inf = float(np.max(np.abs(final_g))) if np.all(np.isfinite(final_g)) else np.inf
        converged = bool(grad_inf < tol)
        gap = float(final_f - fstar) if np.isfinite(final_f) else np.inf
        key = (0, oracle.grad_calls) if converged else (1, gap)
        if best is None or key < best_key:
            best_key = key
            best = MethodResult(
                {
                    "problem": problem.name,
                    "method": spec.name,
                    "converged": converged,
                    "grad_calls": oracle.grad_calls,
                    "func_calls": oracle.func_calls,
                    "final_gap": gap,
                    "final_grad_inf": grad_inf,
                    "wall_s": wall,
                    "setting": description,
                },
                oracle.curve_calls,
                oracle.curve_gaps,
            )
    assert best is not None
    return best


def run_benchmark(
    problem_names: Sequence[str] | None = None,
    *,
    size: str = "mini",
    methods: Sequence[str] | None = None,
    budget: int = BUDGET,
    tol: float = TOL,
    cache_dir: Path | str | None = None,
    log: Callable[[str], None] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run the protocol on each problem (default: the size's problem list) with the size's grid;
    returns (table, curves) as DataFrames with BENCH_COLUMNS and CURVE_COLUMNS."""
    check_size(size)
    if problem_names is None:
        problem_names = SIZE_PROBLEMS[size]
    if methods is not None:
        unknown = sorted(set(methods) - set(METHODS))
        if unknown:
            raise ValueError(
                f"unknown method(s) {', '.join(unknown)}: expected names from {', '.join(METHODS)}"
            )
    rows, curves = [], []
    for name in problem_names:
        problem = build_problem(name, size)
        fstar = reference_solution(problem, cache_dir=cache_dir).fstar
        for spec in method_specs(problem, grid=SIZE_GRID[size], tol=tol, budget=budget, cache_dir=cache_dir):
            if methods is not None and spec.name not in methods:
                continue
            result = run_method(problem, spec, fstar, budget=budget, tol=tol)
            rows.append(result.row)
            curves.append(
                pd.DataFrame(
                    {
                        "problem": name,
                        "method": spec.name,
                        "grad_calls": result.curve_calls,
                        "gap": result.curve_gaps,
                    }
                )
            )
            if log is not None:
                r = result.row
                log(
                    f"{name:24s} {spec.name:11s} converged={r['converged']!s:5s} grad={r['grad_calls']:5d} "
                    f"gap={r['final_gap']:.2e} ({r['wall_s']:.2f}s, {r['setting']})"
                )
    table = pd.DataFrame(rows, columns=BENCH_COLUMNS)
    curve_table = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=CURVE_COLUMNS)
    return table, curve_table[CURVE_COLUMNS]
