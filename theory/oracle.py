"""Counting first-order oracle for the benchmark protocol of the official OSGM/HDM code
(udellgroup/osgm-best-hypergrad; Chu et al., ICML 2025 arXiv 2502.11229; Part II arXiv 2509.11007):
every f and ∇f call a method makes is counted, and a method that asks for gradient number
``max_grad_calls + 1`` gets ``BudgetExhausted``.

For the convergence curves the oracle also records, at each gradient call, the gap f(x) − f* of the
point whose gradient was asked for (computing f there *without counting it* when the method itself did
not ask for f: monitoring only, as the official scripts log f for methods such as GD that never call it).
"""

from __future__ import annotations

import numpy as np

from theory.problems import Problem


class BudgetExhausted(Exception):
    """Raised when a method asks for more gradient calls than the budget allows."""


class CountingOracle:
    def __init__(
        self, problem: Problem, *, max_grad_calls: int, fstar: float = 0.0, record: bool = True
    ) -> None:
        self.problem = problem
        self.max_grad_calls = int(max_grad_calls)
        self.fstar = float(fstar)
        self.record = record
        self.grad_calls = 0
        self.func_calls = 0
        self.curve_calls: list[int] = []
        self.curve_gaps: list[float] = []

    def _charge_gradient(self) -> None:
        if self.grad_calls >= self.max_grad_calls:
            raise BudgetExhausted
        self.grad_calls += 1

    def _log(self, value: float) -> None:
        if self.record:
            self.curve_calls.append(self.grad_calls)
            self.curve_gaps.append(value - self.fstar)

    def f(self, x: np.ndarray) -> float:
        self.func_calls += 1
        return self.problem.f(x)

    def grad(self, x: np.ndarray) -> np.ndarray:
        self._charge_gradient()
        if self.record:
            value, g = self.problem.f_and_grad(x)
            self._log(value)
            return g
        return self.problem.grad(x)

    def f_and_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        self._charge_gradient()
        self.func_calls += 1
        value, g = self.problem.f_and_grad(x)
        self._log(value)
        return value, g
