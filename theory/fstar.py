"""High-accuracy reference optimum f* (and x* when attained), cached on disk.

The official OSGM benchmark code takes f* from scipy L-BFGS-B (gtol 1e-8); here we go further with
(semismooth) Newton so that the reference is accurate to roughly machine precision:

- ``Quadratic``, ``LogCoshRegression``: exact (x*, f* are stored in the problem).
- ``LeastSquares``: x* = lstsq(M, b), f* = ½‖Mx* − b‖².
- ``SquaredHingeSVM``: semismooth Newton with the generalised Hessian Z_Aᵀ Z_A and Armijo backtracking.
  f* = 0 exactly iff the data are linearly separable; a point with all margins z_iᵀw > 0 certifies it.
- ``LogisticRegression`` (λ = 0): if the data are separable (certified by the SVM solve above) the infimum
  f* = 0 is not attained and x* does not exist; otherwise damped Newton from w = 0. With λ > 0, Newton.
- anything else: scipy L-BFGS-B with gtol 1e-10.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.linalg
import scipy.optimize

from theory.cache import load_or_compute, resolve_cache_dir
from theory.problems import LeastSquares, LogisticRegression, Problem, Quadratic, SquaredHingeSVM
from theory.synthetic import LogCoshRegression


@dataclass(frozen=True)
class Reference:
    """f* and, when the infimum is attained, a minimiser x* with ‖∇f(x*)‖∞ = grad_inf."""

    fstar: float
    x_star: np.ndarray | None
    grad_inf: float
    method: str

    @property
    def attained(self) -> bool:
        return self.x_star is not None


def newton_minimize(
    problem: Problem, x: np.ndarray, *, gtol: float = 1e-11, max_iter: int = 100
) -> np.ndarray:
    """Damped (semismooth) Newton: d = −(∇²f + δI)⁻¹∇f with δ = 1e-12·tr(∇²f)/n, Armijo backtracking.

    Stops when ‖∇f‖∞ ≤ gtol·max(1, |f|) or when a step cannot decrease f (numerical floor).
    """
    fx, g = problem.f_and_grad(x)
    for _ in range(max_iter):
        if np.max(np.abs(g)) <= gtol * max(1.0, abs(fx)):
            break
        H = problem.hess(x)
        shift = 1e-12 * max(float(np.trace(H)) / H.shape[0], 1e-300)
        try:
            d = -scipy.linalg.cho_solve(scipy.linalg.cho_factor(H + shift * np.eye(H.shape[0])), g)
        except np.linalg.LinAlgError:
            d = -np.linalg.lstsq(H + shift * np.eye(H.shape[0]), g, rcond=None)[0]
        slope = float(g @ d)
        if slope >= 0:
            d, slope = -g, -float(g @ g)
        step = 1.0
        while step > 1e-20:
            f_new = problem.f(x + step * d)
            if f_new <= fx + 1e-4 * step * slope:
                break
            step *= 0.5
        else:
            break
        if f_new >= fx:
            break
        x = x + step * d
        fx, g = problem.f_and_grad(x)
    return x


def _solve(problem: Problem) -> Reference:
    if isinstance(problem, Quadratic | LogCoshRegression):
        return Reference(
            problem.f_star, problem.x_star.copy(), float(np.abs(problem.grad(problem.x_star)).max()), "exact"
        )
    if isinstance(problem, LeastSquares):
        x = np.linalg.lstsq(problem.M, problem.b, rcond=None)[0]
        return Reference(problem.f(x), x, float(np.abs(problem.grad(x)).max()), "lstsq")
    if isinstance(problem, SquaredHingeSVM):
        x = newton_minimize(problem, np.zeros(problem.dim))
        min_margin = float(np.min(problem.Z @ x))
        if min_margin > 0.0:  # separable: rescaling puts every margin >= 1, where f = 0 exactly
            x = x * ((1.0 + 1e-12) / min_margin)  # the 1e-12 keeps rounding from leaving a margin < 1
            return Reference(
                problem.f(x), x, float(np.abs(problem.grad(x)).max()), "separable: rescaled margin"
            )
        return Reference(problem.f(x), x, float(np.abs(problem.grad(x)).max()), "semismooth-newton")
    if isinstance(problem, LogisticRegression):
        if problem.reg == 0.0:
            X, y = problem.data()
            w = newton_minimize(SquaredHingeSVM(X, y, x0=problem.x0), np.zeros(problem.dim))
            if float(np.min(problem.Z @ w)) > 0.0:  # certificate: all margins > 0, so f(t·w) → 0 = inf f
                return Reference(0.0, None, 0.0, "separable: infimum 0 not attained")
        x = newton_minimize(problem, np.zeros(problem.dim))
        return Reference(problem.f(x), x, float(np.abs(problem.grad(x)).max()), "newton")
    result = scipy.optimize.minimize(
        problem.f_and_grad,
        problem.x0,
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 50000, "gtol": 1e-10, "ftol": 1e-16, "maxcor": 20},
    )
    return Reference(float(result.fun), result.x, float(np.abs(problem.grad(result.x)).max()), "L-BFGS-B")


def reference_solution(problem: Problem, *, cache_dir: Path | str | None = None) -> Reference:
    """f* (and x*) of ``problem``, solved once and cached under ``cache_dir`` (see ``theory.cache``)."""
    safe_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", problem.name)
    path = resolve_cache_dir(cache_dir) / f"fstar-{safe_name}-{problem.fingerprint()[:20]}.npz"

    def compute() -> dict[str, np.ndarray]:
        ref = _solve(problem)
        return {
            "fstar": np.array(ref.fstar),
            "x_star": np.empty(0) if ref.x_star is None else ref.x_star,
            "attained": np.array(ref.attained),
            "grad_inf": np.array(ref.grad_inf),
            "method": np.array(ref.method),
        }

    stored = load_or_compute(path, compute)
    x_star = stored["x_star"] if bool(stored["attained"]) else None
    return Reference(float(stored["fstar"]), x_star, float(stored["grad_inf"]), str(stored["method"]))
