"""The benchmark's methods and their tuning grids, per protocol (``theory.protocols``).

Stable names (the ``method`` column, ``theory.methods``), with the settings each tries in grid order:

- ``HDM-Best``: lr_P ∈ {0.1, 1, 10, 100}/L × lr_β ∈ {1, 3, 5, 10, 100} (20 settings);
- ``OSGM``: Part II's parameter-free method (no grid);
- ``OSGM-H`` and ``OSGM-R (adaptive f*)`` (project protocol): the COLT-style diagonal methods of
  ``theory.osgm.osgm_diagonal``, α ∈ {0.1, 1, 10, 100}/L;
- ``Adam``, ``AdaGrad``: lr ∈ {1e-3, 1e-2, 1e-1, 1, 10, 1/L};  ``GD-HB``: β ∈ {0.1, 0.5, 0.9, 0.99}, α = 1/L;
- ``GD``, ``AGD-CVX``, ``AGD-SCVX`` (μ = the problem's μ, or 1e-4 when μ = 0, as in the official scripts),
  ``BFGS``, ``L-BFGS-M1/3/5/10``: untuned;
- ``GD-OptDiag`` (project protocol, quadratics only): GD with the SDP-optimal diagonal preconditioner
  (it needs a constant Hessian; the COLT paper uses it on least squares only).

The protocol chooses the grid (``GRIDS[protocol.size_grid[size]]``, whose order decides ties), the
iteration cap and the switches that reproduce the official counts (``theory.baselines``, ``theory.hdm``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from theory import baselines, hdm
from theory.oracle import CountingOracle
from theory.osgm import osgm_h_diagonal, osgm_r_adaptive
from theory.preconditioner import optimal_diagonal_preconditioner
from theory.protocols import GRIDS, BenchProblem, Protocol

Runner = Callable[[CountingOracle, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class MethodSpec:
    """A method's settings in grid order (which decides ties) and the order to run them in (``search``,
    default: grid order). The order only changes how much a grid search costs, never what it returns."""

    name: str
    settings: list[tuple[str, Runner]]  # (description, runner)
    search: tuple[int, ...] | None = None

    def search_order(self) -> list[int]:
        return list(self.search) if self.search is not None else list(range(len(self.settings)))


def hdm_search_order(grid: dict) -> tuple[int, ...]:
    """HDM-Best's settings in the order to try them: the official default lr = 10/L, lr_β = 10
    (``algo_config.hdm_params``) first, then by decreasing lr (the largest often converge first on the
    logistic problems, and a converged run caps the later ones); grid order within one lr."""
    settings = [(a, b) for a in grid["hdm_lr"] for b in grid["hdm_beta_lr"]]
    return tuple(
        sorted(range(len(settings)), key=lambda i: (settings[i] != (10.0, 10.0), -settings[i][0], i))
    )


def method_specs(
    bench_problem: BenchProblem, protocol: Protocol, grid: str, *, cache_dir: Path | str | None = None
) -> list[MethodSpec]:
    """Every method of ``protocol`` applicable to the problem, with the settings of ``GRIDS[grid]``."""
    if grid not in GRIDS:
        raise ValueError(f"grid={grid!r}: expected one of {', '.join(GRIDS)}")
    g = GRIDS[grid]
    problem = bench_problem.problem
    L, tol, budget, cap = problem.L, protocol.tol, protocol.budget, protocol.max_iter
    official = protocol.official_reporting
    test_at = "x" if official else "y"
    mu_agd = problem.mu if problem.mu > 0 else 1e-4
    lr_grid = [1.0 / L if lr == "1/L" else float(lr) for lr in g["lr"]]
    specs = [
        MethodSpec(
            "HDM-Best",
            [
                (
                    f"lr={a:g}/L,beta_lr={b:g}",
                    lambda o, x, a=a, b=b: hdm.hdm_best(
                        o,
                        x,
                        L=L,
                        lr_scale=a,
                        beta_lr=b,
                        tol=tol,
                        budget=budget,
                        max_iter=cap,
                        charge_initial_f=not official,
                    ),
                )
                for a in g["hdm_lr"]
                for b in g["hdm_beta_lr"]
            ],
            search=hdm_search_order(g),
        ),
        MethodSpec(
            "OSGM",
            [
                (
                    "parameter-free, probes after x0"
                    if official
                    else "parameter-free, probes default_rng(0)",
                    lambda o, x: hdm.osgm_parameter_free(
                        o, x, probes=bench_problem.probe_stream(), tol=tol, budget=budget, max_iter=budget
                    ),
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
                [
                    (
                        f"maxcor={m}",
                        lambda o, x, m=m: baselines.scipy_quasi_newton(o, x, tol=tol, memory=m, max_iter=cap),
                    )
                ],
            )
            for m in (10, 5, 3, 1)
        ],
        MethodSpec(
            "BFGS", [("scipy", lambda o, x: baselines.scipy_quasi_newton(o, x, tol=tol, max_iter=cap))]
        ),
        MethodSpec(
            "Adam",
            [
                (f"lr={lr:g}", lambda o, x, lr=lr: baselines.adam(o, x, lr=lr, tol=tol, max_iter=cap))
                for lr in lr_grid
            ],
        ),
        MethodSpec(
            "AdaGrad",
            [
                (f"lr={lr:g}", lambda o, x, lr=lr: baselines.adagrad(o, x, lr=lr, tol=tol, max_iter=cap))
                for lr in lr_grid
            ],
        ),
        MethodSpec(
            "GD",
            [
                (
                    "step=1/L",
                    lambda o, x: baselines.gradient_descent(o, x, step=1.0 / L, tol=tol, max_iter=cap),
                )
            ],
        ),
        MethodSpec(
            "GD-HB",
            [
                (
                    f"beta={b:g}",
                    lambda o, x, b=b: baselines.heavy_ball(o, x, step=1.0 / L, beta=b, tol=tol, max_iter=cap),
                )
                for b in g["hb_beta"]
            ],
        ),
        MethodSpec(
            "AGD-CVX",
            [
                (
                    "L",
                    lambda o, x: baselines.nesterov_convex(o, x, L=L, tol=tol, max_iter=cap, test_at=test_at),
                )
            ],
        ),
        MethodSpec(
            "AGD-SCVX",
            [
                (
                    f"mu={mu_agd:.3g}",
                    lambda o, x: baselines.nesterov_strongly_convex(
                        o, x, L=L, mu=mu_agd, tol=tol, max_iter=cap, test_at=test_at
                    ),
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
                        lambda o, x: baselines.gradient_descent(o, x, step=pre.d, tol=tol, max_iter=cap),
                    )
                ],
            )
        )
    return [spec for spec in specs if spec.name in protocol.methods and spec.settings]
