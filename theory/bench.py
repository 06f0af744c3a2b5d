"""The benchmark: every method of a protocol on every problem, with the protocol's budget, grids and
reporting rule (``theory.protocols``; methods and grids in ``theory.bench_methods``).

``run_benchmark`` returns two tables: one row per (problem, method) with BENCH_COLUMNS (the best setting's
counts) and the convergence curves of those settings with CURVE_COLUMNS (the gap f − f* at each gradient
call; f* from ``theory.fstar``). ``iterations`` is the method's own count (the official rule ranks by it);
``protocol``, ``budget``, ``budget_unit`` and ``tol`` say under which rules the row was made.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from theory.bench_methods import MethodSpec, method_specs
from theory.fstar import reference_solution
from theory.oracle import CountingOracle
from theory.problems import Problem
from theory.protocols import PROJECT, Protocol
from theory.registry import check_size

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
    "iterations",
    "protocol",
    "budget",
    "budget_unit",
    "tol",
]
CURVE_COLUMNS = ["problem", "method", "grad_calls", "gap"]


@dataclass
class MethodResult:
    row: dict
    curve_calls: list[int]
    curve_gaps: list[float]
    exhausted: bool = False  # the run hit its gradient-call cap


def _one_setting(
    problem: Problem, name: str, description: str, runner, fstar: float, protocol: Protocol, cap: int | None
) -> MethodResult:
    """Run one grid setting and report it under the protocol's counting rule."""
    oracle = CountingOracle(problem, max_grad_calls=cap, fstar=fstar)
    start = time.perf_counter()
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        x = runner(oracle, problem.x0.copy())
        wall = time.perf_counter() - start
        final_f, final_g = problem.f_and_grad(x)
    grad_inf = float(np.max(np.abs(final_g))) if np.all(np.isfinite(final_g)) else np.inf
    grad_calls, func_calls = oracle.grad_calls, oracle.func_calls
    if protocol.official_reporting:
        if oracle.failed:  # the official quasi-Newton wrappers report a failed run as max_iter calls
            grad_calls = func_calls = protocol.budget
        converged = bool(grad_calls < protocol.budget - 1)  # the official [S] flag
    else:
        converged = bool(grad_inf < protocol.tol)
    row = {
        "problem": problem.name,
        "method": name,
        "converged": converged,
        "grad_calls": grad_calls,
        "func_calls": func_calls,
        "final_gap": float(final_f - fstar) if np.isfinite(final_f) else np.inf,
        "final_grad_inf": grad_inf,
        "wall_s": wall,
        "setting": description,
        "iterations": oracle.iterations,
        "protocol": protocol.name,
        "budget": protocol.budget,
        "budget_unit": "iterations" if protocol.iteration_budget else "gradient calls",
        "tol": protocol.tol,
    }
    return MethodResult(row, *oracle.curve(), exhausted=oracle.exhausted)


def _rank(result: MethodResult, protocol: Protocol) -> tuple:
    """Smaller is better: the official HyperGrid ranks by iterations; the project by calls of converged
    runs, then by the final gap of the others."""
    row = result.row
    if protocol.official_reporting:
        return (row["iterations"],)
    return (0, row["grad_calls"]) if row["converged"] else (1, row["final_gap"])


def _units(result: MethodResult, protocol: Protocol) -> int:
    return result.row["iterations"] if protocol.official_reporting else result.row["grad_calls"]


def run_method(
    problem: Problem, spec: MethodSpec, fstar: float, protocol: Protocol = PROJECT
) -> MethodResult:
    """Run every setting of ``spec`` and return the best one under the protocol's rule, ties going to the
    setting first in grid order.

    The settings run in ``spec.search_order()`` (the default setting first). Once one has converged in u
    units, a later one runs with a cap of u − 1 gradient calls (u when it comes earlier in grid order,
    since it would win the tie): it can only win by converging within the cap, and a run cut short by the
    cap is never chosen. For every tuned method a converged run needs as many gradient calls as units, so
    the choice is the one an uncapped search makes.
    """
    best: tuple[int, MethodResult] | None = None
    for index in spec.search_order():
        description, runner = spec.settings[index]
        cap = None
        if best is not None and best[1].row["converged"]:
            cap = _units(best[1], protocol) - (0 if index < best[0] else 1)
            if cap < 1:
                continue
        budget = protocol.max_grad_calls if cap is None else cap
        result = _one_setting(problem, spec.name, description, runner, fstar, protocol, budget)
        if cap is not None and result.exhausted:
            continue
        if best is None or (_rank(result, protocol), index) < (_rank(best[1], protocol), best[0]):
            best = (index, result)
    assert best is not None
    return best[1]


_FORKED_TASKS: list[tuple] = []


def _forked_task(index: int) -> tuple[list[dict], list[pd.DataFrame], list[str]]:
    return _bench_problem(*_FORKED_TASKS[index])


def _bench_problem(
    name: str, bench_problem: Any, protocol: Protocol, size: str, methods: Sequence[str] | None,
    cache_dir: Path | str | None,
) -> tuple[list[dict], list[pd.DataFrame], list[str]]:
    """Every selected method on one problem: (rows, curves, log lines)."""
    problem = bench_problem.problem
    fstar = reference_solution(problem, cache_dir=cache_dir).fstar
    rows, curves, lines = [], [], []
    for spec in method_specs(bench_problem, protocol, protocol.size_grid[size], cache_dir=cache_dir):
        if methods is not None and spec.name not in methods:
            continue
        result = run_method(problem, spec, fstar, protocol)
        r = result.row
        rows.append(r)
        curves.append(pd.DataFrame({"problem": problem.name, "method": spec.name,
                                    "grad_calls": result.curve_calls, "gap": result.curve_gaps}))
        lines.append(
            f"{name:24s} {spec.name:11s} converged={r['converged']!s:5s} grad={r['grad_calls']:5d} "
            f"func={r['func_calls']:5d} gap={r['final_gap']:.2e} ({r['wall_s']:.2f}s, {r['setting']})"
        )
    return rows, curves, lines


def run_benchmark(
    problem_names: Sequence[str] | None = None,
    *,
    protocol: Protocol = PROJECT,
    size: str = "mini",
    methods: Sequence[str] | None = None,
    cache_dir: Path | str | None = None,
    log: Callable[[str], None] | None = None,
    jobs: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run the protocol on each problem (default: its problem list at ``size``) with its grid; returns
    (table, curves) as DataFrames with BENCH_COLUMNS and CURVE_COLUMNS. ``jobs`` > 1 runs that many problems
    at a time in forked processes (each problem's runs are independent of the others'; the tables are the
    same, in the same order)."""
    check_size(size)
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise ValueError(f"jobs: must be a positive integer, got {jobs!r}")
    if problem_names is None:
        problem_names = protocol.problems(size)
    if methods is not None:
        unknown = sorted(set(methods) - set(protocol.methods))
        if unknown:
            raise ValueError(
                f"unknown method(s) {', '.join(unknown)} for protocol {protocol.name!r}: expected names "
                f"from {', '.join(protocol.methods)}"
            )
    built = [protocol.build(name, size, cache_dir) for name in problem_names]  # all checked before any run
    tasks = [(name, b, protocol, size, methods, cache_dir)
             for name, b in zip(problem_names, built, strict=True)]
    if jobs == 1 or len(tasks) == 1:
        results = [_bench_problem(*task) for task in tasks]
    else:
        global _FORKED_TASKS
        _FORKED_TASKS = tasks  # forked workers inherit the built problems (closures: not picklable)
        context = multiprocessing.get_context("fork")  # and the BLAS settings of this process
        try:
            with concurrent.futures.ProcessPoolExecutor(min(jobs, len(tasks)), mp_context=context) as pool:
                results = list(pool.map(_forked_task, range(len(tasks))))
        finally:
            _FORKED_TASKS = []
    rows, curves = [], []
    for problem_rows, problem_curves, lines in results:
        rows += problem_rows
        curves += problem_curves
        for line in lines if log is not None else ():
            log(line)
    table = pd.DataFrame(rows, columns=BENCH_COLUMNS)
    curve_table = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=CURVE_COLUMNS)
    return table, curve_table[CURVE_COLUMNS]
