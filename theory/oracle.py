"""Counting first-order oracle of the benchmark (Chu et al., ICML 2025 arXiv 2502.11229; Part II arXiv
2509.11007; the official code udellgroup/osgm-best-hypergrad counts every f and ∇f call the same way).

Every f and ∇f call a method makes is counted. With ``max_grad_calls`` set, a method that asks for gradient
number ``max_grad_calls + 1`` gets ``BudgetExhausted`` (the project protocol's budget, and the cap that
speeds up a grid search); with None the method's own iteration limit ends the run (the official protocol).

A call made with ``charge=False`` is not counted and not logged: it stands for an evaluation the official
code makes for its own bookkeeping without counting it (AGD's stopping test at x, HDM-Best's f(x₀)), so
that the official protocol reports what the official code reports.

For the convergence curves the oracle also records the gap f(x) − f* of the point whose gradient was asked
for (computing f there *without counting it* when the method itself did not ask for f: monitoring only, as
the official scripts log f for methods such as GD that never call it), at gradient calls 1–100, every 10th
call after that, and the last call (``curve()``): the figures lose nothing, the monitoring costs less.

A method also leaves two facts for the reporting rules here: ``iterations``, its own iteration count (the
official ``HyperGrid`` ranks grid settings by it), and ``failed``, set by a quasi-Newton run whose SciPy
result the official code treats as a failure.
"""

from __future__ import annotations

import numpy as np

from theory.problems import Problem


class BudgetExhausted(Exception):
    """Raised when a method asks for more gradient calls than the budget allows."""


class CountingOracle:
    def __init__(
        self, problem: Problem, *, max_grad_calls: int | None, fstar: float = 0.0, record: bool = True
    ) -> None:
        self.problem = problem
        self.max_grad_calls = None if max_grad_calls is None else int(max_grad_calls)
        self.fstar = float(fstar)
        self.record = record
        self.grad_calls = 0
        self.func_calls = 0
        self.iterations = 0
        self.failed = False
        self.exhausted = False
        self.curve_calls: list[int] = []
        self.curve_gaps: list[float] = []
        self._unlogged: tuple[int, np.ndarray, float | None] | None = None
        self.last_point: np.ndarray | None = None  # the point of the last ``grad`` call, and that
        self.last_grad: np.ndarray | None = None  # gradient (a monitor may reuse it)

    def _charge_gradient(self) -> None:
        if self.max_grad_calls is not None and self.grad_calls >= self.max_grad_calls:
            self.exhausted = True
            raise BudgetExhausted
        self.grad_calls += 1

    @staticmethod
    def _logged(call: int) -> bool:
        return call <= 100 or call % 10 == 0

    def _log(self, x: np.ndarray, value: float | None) -> None:
        """Record the gap at this call if it is a logged one; else keep it until the next call or curve()."""
        if not self.record:
            return
        if self._logged(self.grad_calls):
            self.curve_calls.append(self.grad_calls)
            self.curve_gaps.append((self.problem.f(x) if value is None else value) - self.fstar)
            self._unlogged = None
        else:
            self._unlogged = (self.grad_calls, x.copy() if value is None else x, value)

    def curve(self) -> tuple[list[int], list[float]]:
        """(gradient calls, gaps) of the logged calls, the last call included."""
        if self._unlogged is not None:
            call, x, value = self._unlogged  # x is a copy when value is None
            self.curve_calls.append(call)
            self.curve_gaps.append((self.problem.f(x) if value is None else value) - self.fstar)
            self._unlogged = None
        return self.curve_calls, self.curve_gaps

    def f(self, x: np.ndarray, *, charge: bool = True) -> float:
        self.func_calls += int(charge)
        return self.problem.f(x)

    def grad(self, x: np.ndarray, *, charge: bool = True) -> np.ndarray:
        if not charge:
            return self.problem.grad(x)
        self._charge_gradient()
        g = self.problem.grad(x)
        self._log(x, None)
        self.last_point, self.last_grad = x.copy(), g
        return g

    def f_and_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        self._charge_gradient()
        self.func_calls += 1
        value, g = self.problem.f_and_grad(x)
        self._log(x, value)
        self.last_point = self.last_grad = None
        return value, g
