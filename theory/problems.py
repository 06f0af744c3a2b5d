"""Smooth convex test problems: f, ∇f, (generalised) Hessian, smoothness L and strong convexity μ.

Problems of the OSGM papers (Gao, Chu, Ye, Udell: COLT 2025 arXiv 2411.01803, Part I arXiv 2505.23081,
Part II arXiv 2509.11007; Chu, Gao, Ye, Udell: ICML 2025 arXiv 2502.11229):

- ``Quadratic``: f(x) = f* + ½ (x − x*)ᵀ A (x − x*), stored around x* so that f − f* has no cancellation.
- ``LeastSquares``: f(x) = ½‖Mx − b‖² (the COLT test problem, built by ``colt_least_squares``).
- ``LogisticRegression``: f(w) = Σ_i log(1 + exp(−z_iᵀw)) + (λ/2)‖w‖², z_i = y_i [x_i, 1].
- ``SquaredHingeSVM``: f(w) = ½ Σ_i max(0, 1 − z_iᵀw)², z_i = y_i [x_i, 1].

Logistic and SVM objectives are sums over samples with no regularisation by default, as in the official
benchmark scripts of the ICML/Part II papers. Smoothness constants are the true global bounds:
L = σ_max(Z)²/4 + λ (logistic) and σ_max(Z)² (SVM). The official scripts use σ_max(Z)² for both (4× the
true logistic bound); the benchmark grids are expressed in units of 1/L so this only shifts the grids.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod

import numpy as np
from scipy.special import expit

DEFAULT_X0_SEED = 20250128  # seed of the official HDM experiment scripts (x0 = N(0, I)/‖·‖)


def unit_random_start(dim: int, seed: int = DEFAULT_X0_SEED) -> np.ndarray:
    """x0 = ξ/‖ξ‖ with ξ ~ N(0, I), the starting point of the official benchmark scripts."""
    xi = np.random.default_rng(seed).standard_normal(dim)
    return xi / np.linalg.norm(xi)


class Problem(ABC):
    """A smooth convex objective. Subclasses set ``name``, ``x0``, ``L`` (smoothness) and ``mu`` (≥ 0)."""

    name: str
    x0: np.ndarray
    L: float
    mu: float

    @property
    def dim(self) -> int:
        return int(self.x0.size)

    @abstractmethod
    def f(self, x: np.ndarray) -> float: ...

    @abstractmethod
    def grad(self, x: np.ndarray) -> np.ndarray: ...

    @abstractmethod
    def hess(self, x: np.ndarray) -> np.ndarray:
        """Hessian (for the SVM: the generalised Hessian of the active set)."""

    def f_and_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        return self.f(x), self.grad(x)

    def f_many(self, points: np.ndarray) -> np.ndarray:
        """f at each row of a (K, n) array."""
        return np.array([self.f(p) for p in points])

    def grad_many(self, points: np.ndarray) -> np.ndarray:
        """∇f at each row of a (K, n) array, as a (K, n) array."""
        return np.array([self.grad(p) for p in points])

    def f_and_grad_many(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.f_many(points), self.grad_many(points)

    def constant_hessian(self) -> np.ndarray | None:
        """The Hessian if f is quadratic, else None."""
        return None

    @abstractmethod
    def _defining_arrays(self) -> list[np.ndarray]: ...

    def fingerprint(self) -> str:
        """SHA-256 of the class and its defining data (used as the f* cache key)."""
        digest = hashlib.sha256(type(self).__name__.encode())
        for array in [*self._defining_arrays(), self.x0]:
            digest.update(np.ascontiguousarray(array, dtype=np.float64).tobytes())
        return digest.hexdigest()


class Quadratic(Problem):
    """f(x) = f* + ½ (x − x*)ᵀ A (x − x*) with A symmetric positive semidefinite; ∇f = A(x − x*)."""

    def __init__(
        self,
        A: np.ndarray,
        x_star: np.ndarray,
        f_star: float = 0.0,
        *,
        x0: np.ndarray | None = None,
        name: str = "quadratic",
    ) -> None:
        A = np.asarray(A, dtype=np.float64)
        if A.ndim != 2 or A.shape[0] != A.shape[1] or not np.allclose(A, A.T):
            raise ValueError(f"Quadratic {name!r}: A must be a symmetric square matrix, got shape {A.shape}")
        self.A = 0.5 * (A + A.T)
        self.x_star = np.asarray(x_star, dtype=np.float64)
        self.f_star = float(f_star)
        self.x0 = unit_random_start(A.shape[0]) if x0 is None else np.asarray(x0, dtype=np.float64)
        self.name = name
        eig = np.linalg.eigvalsh(self.A)
        self.L, self.mu = float(eig[-1]), float(max(eig[0], 0.0))

    def f(self, x: np.ndarray) -> float:
        d = x - self.x_star
        return self.f_star + 0.5 * float(d @ (self.A @ d))

    def grad(self, x: np.ndarray) -> np.ndarray:
        return self.A @ (x - self.x_star)

    def f_and_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        d = x - self.x_star
        Ad = self.A @ d
        return self.f_star + 0.5 * float(d @ Ad), Ad

    def f_many(self, points: np.ndarray) -> np.ndarray:
        D = points - self.x_star
        return self.f_star + 0.5 * np.einsum("ki,ki->k", D, D @ self.A)

    def grad_many(self, points: np.ndarray) -> np.ndarray:
        return (points - self.x_star) @ self.A

    def hess(self, x: np.ndarray) -> np.ndarray:
        return self.A

    def constant_hessian(self) -> np.ndarray:
        return self.A

    def _defining_arrays(self) -> list[np.ndarray]:
        return [self.A, self.x_star, np.array([self.f_star])]


class LeastSquares(Problem):
    """f(x) = ½‖Mx − b‖²; ∇f = Mᵀ(Mx − b); ∇²f = MᵀM."""

    def __init__(
        self, M: np.ndarray, b: np.ndarray, *, x0: np.ndarray | None = None, name: str = "least_squares"
    ) -> None:
        self.M = np.asarray(M, dtype=np.float64)
        self.b = np.asarray(b, dtype=np.float64)
        self.x0 = unit_random_start(self.M.shape[1]) if x0 is None else np.asarray(x0, dtype=np.float64)
        self.name = name
        self._H = self.M.T @ self.M
        sv = np.linalg.svd(self.M, compute_uv=False)
        self.L = float(sv[0] ** 2)
        self.mu = float(sv[-1] ** 2) if self.M.shape[0] >= self.M.shape[1] else 0.0

    def f(self, x: np.ndarray) -> float:
        r = self.M @ x - self.b
        return 0.5 * float(r @ r)

    def grad(self, x: np.ndarray) -> np.ndarray:
        return self.M.T @ (self.M @ x - self.b)

    def f_and_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        r = self.M @ x - self.b
        return 0.5 * float(r @ r), self.M.T @ r

    def f_many(self, points: np.ndarray) -> np.ndarray:
        R = points @ self.M.T - self.b
        return 0.5 * np.einsum("ki,ki->k", R, R)

    def grad_many(self, points: np.ndarray) -> np.ndarray:
        return (points @ self.M.T - self.b) @ self.M

    def hess(self, x: np.ndarray) -> np.ndarray:
        return self._H

    def constant_hessian(self) -> np.ndarray:
        return self._H

    def _defining_arrays(self) -> list[np.ndarray]:
        return [self.M, self.b]


class _MarginProblem(Problem):
    """Shared storage for linear classifiers: margins m = Z w with z_i = y_i [x_i, 1]."""

    def __init__(self, X: np.ndarray, y: np.ndarray, *, x0: np.ndarray | None, name: str) -> None:
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if X.ndim != 2 or y.shape != (X.shape[0],):
            raise ValueError(f"{name!r}: X must be (m, d) and y (m,), got {X.shape} and {y.shape}")
        if not np.all(np.isin(y, (-1.0, 1.0))):
            raise ValueError(f"{name!r}: labels must be in {{-1, +1}}")
        self.Z = np.hstack([X, np.ones((X.shape[0], 1))]) * y[:, None]
        self.x0 = unit_random_start(self.Z.shape[1]) if x0 is None else np.asarray(x0, dtype=np.float64)
        self.name = name
        self._sigma_max_sq = float(np.linalg.norm(self.Z, 2) ** 2)

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        """The (X, y) the problem was built from (y_i is the last column of Z)."""
        y = self.Z[:, -1]
        return self.Z[:, :-1] * y[:, None], y.copy()

    def _defining_arrays(self) -> list[np.ndarray]:
        return [self.Z]


class LogisticRegression(_MarginProblem):
    """f(w) = Σ_i log(1 + exp(−z_iᵀw)) + (λ/2)‖w‖²; ∇f = −Zᵀσ(−Zw) + λw; ∇²f = Zᵀ diag(σ(1−σ)) Z + λI."""

    def __init__(
        self,
        X: np.ndarray,
        y: np.ndarray,
        *,
        reg: float = 0.0,
        x0: np.ndarray | None = None,
        name: str = "logistic",
    ) -> None:
        super().__init__(X, y, x0=x0, name=name)
        if reg < 0:
            raise ValueError(f"{name!r}: reg={reg} must be >= 0")
        self.reg = float(reg)
        self.L = self._sigma_max_sq / 4.0 + self.reg
        self.mu = self.reg

    def f(self, x: np.ndarray) -> float:
        return float(np.logaddexp(0.0, -(self.Z @ x)).sum()) + 0.5 * self.reg * float(x @ x)

    def grad(self, x: np.ndarray) -> np.ndarray:
        return -(self.Z.T @ expit(-(self.Z @ x))) + self.reg * x

    def f_and_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        m = self.Z @ x
        value = float(np.logaddexp(0.0, -m).sum()) + 0.5 * self.reg * float(x @ x)
        return value, -(self.Z.T @ expit(-m)) + self.reg * x

    def f_many(self, points: np.ndarray) -> np.ndarray:
        return np.logaddexp(0.0, -(points @ self.Z.T)).sum(axis=1) + 0.5 * self.reg * np.einsum(
            "ki,ki->k", points, points
        )

    def grad_many(self, points: np.ndarray) -> np.ndarray:
        return -(expit(-(points @ self.Z.T)) @ self.Z) + self.reg * points

    def f_and_grad_many(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        margins = points @ self.Z.T
        values = np.logaddexp(0.0, -margins).sum(axis=1) + 0.5 * self.reg * np.einsum(
            "ki,ki->k", points, points
        )
        return values, -(expit(-margins) @ self.Z) + self.reg * points

    def hess(self, x: np.ndarray) -> np.ndarray:
        s = expit(self.Z @ x)
        return (self.Z.T * (s * (1.0 - s))) @ self.Z + self.reg * np.eye(self.dim)

    def _defining_arrays(self) -> list[np.ndarray]:
        return [self.Z, np.array([self.reg])]


class SquaredHingeSVM(_MarginProblem):
    """f(w) = ½ Σ_i max(0, 1 − z_iᵀw)²; ∇f = −Zᵀ max(0, 1 − Zw); generalised Hessian Z_Aᵀ Z_A (active A)."""

    def __init__(
        self, X: np.ndarray, y: np.ndarray, *, x0: np.ndarray | None = None, name: str = "svm"
    ) -> None:
        super().__init__(X, y, x0=x0, name=name)
        self.L = self._sigma_max_sq
        self.mu = 0.0

    def f(self, x: np.ndarray) -> float:
        slack = np.maximum(0.0, 1.0 - self.Z @ x)
        return 0.5 * float(slack @ slack)

    def grad(self, x: np.ndarray) -> np.ndarray:
        return -(self.Z.T @ np.maximum(0.0, 1.0 - self.Z @ x))

    def f_and_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        slack = np.maximum(0.0, 1.0 - self.Z @ x)
        return 0.5 * float(slack @ slack), -(self.Z.T @ slack)

    def f_many(self, points: np.ndarray) -> np.ndarray:
        slack = np.maximum(0.0, 1.0 - points @ self.Z.T)
        return 0.5 * np.einsum("km,km->k", slack, slack)

    def grad_many(self, points: np.ndarray) -> np.ndarray:
        return -(np.maximum(0.0, 1.0 - points @ self.Z.T) @ self.Z)

    def f_and_grad_many(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        slack = np.maximum(0.0, 1.0 - points @ self.Z.T)
        return 0.5 * np.einsum("km,km->k", slack, slack), -(slack @ self.Z)

    def hess(self, x: np.ndarray) -> np.ndarray:
        active = self.Z[self.Z @ x < 1.0]
        return active.T @ active


def random_quadratic(
    dim: int, kappa: float, *, L: float = 1.0, seed: int = 0, name: str = "quadratic-random"
) -> Quadratic:
    """A = Q diag(λ) Qᵀ with Haar-random Q and λ log-spaced in [L/κ, L]; x* ~ N(0, I); f* = 0."""
    if dim < 2 or kappa < 1:
        raise ValueError(f"random_quadratic: need dim >= 2 and kappa >= 1, got dim={dim}, kappa={kappa}")
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    A = (Q * np.geomspace(L / kappa, L, dim)) @ Q.T
    return Quadratic(A, rng.standard_normal(dim), 0.0, x0=unit_random_start(dim, seed + 1), name=name)


def badly_scaled_quadratic(
    dim: int,
    *,
    kappa_inner: float = 10.0,
    scale_decades: float = 1.5,
    seed: int = 0,
    name: str = "quadratic-scaled",
) -> Quadratic:
    """A = D·B·D: B a random quadratic with cond(B) = kappa_inner, D = diag(10^u), u evenly spaced in
    [0, scale_decades] and shuffled. cond(A) ≫ cond(B) but a diagonal preconditioner undoes D, so the
    diagonal-optimal κ* (COLT paper) is at most about κ(B)."""
    inner = random_quadratic(dim, kappa_inner, seed=seed)
    scales = np.random.default_rng(seed + 2).permutation(np.logspace(0.0, scale_decades, dim))
    A = scales[:, None] * inner.A * scales[None, :]
    A /= np.linalg.eigvalsh(A)[-1]
    return Quadratic(A, inner.x_star / scales, 0.0, x0=unit_random_start(dim, seed + 1), name=name)


def colt_least_squares(sigma: float, *, dim: int = 100, seed: int = 123) -> LeastSquares:
    """The COLT 2025 least-squares test (authors' ``test_ls.m``, re-implemented with numpy's RNG, so the
    random draws differ from MATLAB's ``rng(123)``): M = (0.01·G₁ + I)·Diag(u)·(0.01·G₂ + I)ᵀ + σI with
    G₁, G₂ standard normal and u uniform(0, 1); b uniform(0, 1); f = ½‖Mx − b‖², so f* = 0 (M invertible);
    x0 a random unit vector."""
    if sigma <= 0:
        raise ValueError(f"colt_least_squares: sigma={sigma} must be > 0")
    rng = np.random.default_rng(seed)
    eye = np.eye(dim)
    M = ((0.01 * rng.standard_normal((dim, dim)) + eye) * rng.random(dim)) @ (
        0.01 * rng.standard_normal((dim, dim)) + eye
    ).T + sigma * eye
    b = rng.random(dim)
    x0 = rng.standard_normal(dim)
    return LeastSquares(M, b, x0=x0 / np.linalg.norm(x0), name=f"colt_ls-{sigma:g}")


class LogCoshRegression(Problem):
    """f(x) = Σ_i log cosh(a_iᵀx) + (λ/2)‖x‖²: strongly convex (μ = λ), smooth (L = ‖A‖² + λ), not
    quadratic, with x* = 0 and f* = 0 exactly. log cosh t is evaluated as log1p(2 sinh²(t/2)) (accurate to
    machine precision relative to its value as t → 0) so gaps can be measured far below 1e-16; used for the
    local-superlinear check (a problem built for this project, not from the papers)."""

    def __init__(self, A: np.ndarray, reg: float, *, x0: np.ndarray, name: str = "logcosh") -> None:
        if not reg > 0:
            raise ValueError(f"{name!r}: reg={reg} must be > 0 (strong convexity)")
        self.A = np.asarray(A, dtype=np.float64)
        self.reg = float(reg)
        self.x0 = np.asarray(x0, dtype=np.float64)
        self.name = name
        self.L = float(np.linalg.norm(self.A, 2) ** 2) + self.reg
        self.mu = self.reg
        self.x_star = np.zeros(self.A.shape[1])
        self.f_star = 0.0

    @staticmethod
    def _log_cosh(t: np.ndarray) -> np.ndarray:
        a = np.abs(t)
        small = np.minimum(a, 20.0)
        return np.where(
            a < 20.0, np.log1p(2.0 * np.sinh(0.5 * small) ** 2), a - np.log(2.0) + np.log1p(np.exp(-2.0 * a))
        )

    def f(self, x: np.ndarray) -> float:
        return float(self._log_cosh(self.A @ x).sum()) + 0.5 * self.reg * float(x @ x)

    def grad(self, x: np.ndarray) -> np.ndarray:
        return self.A.T @ np.tanh(self.A @ x) + self.reg * x

    def hess(self, x: np.ndarray) -> np.ndarray:
        sech_sq = 1.0 / np.cosh(np.minimum(np.abs(self.A @ x), 350.0)) ** 2
        return (self.A.T * sech_sq) @ self.A + self.reg * np.eye(self.dim)

    def _defining_arrays(self) -> list[np.ndarray]:
        return [self.A, np.array([self.reg])]


def logcosh_regression(
    dim: int = 20, *, rows: int = 40, reg: float = 0.1, start_norm: float = 3.0, seed: int = 0
) -> LogCoshRegression:
    """A Gaussian (rows × dim)/√rows design, λ = reg, x0 a random point at distance ``start_norm`` from x*."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((rows, dim)) / np.sqrt(rows)
    x0 = rng.standard_normal(dim)
    return LogCoshRegression(A, reg, x0=start_norm * x0 / np.linalg.norm(x0), name="logcosh")
