"""Smooth convex test problems: f, ∇f, (generalised) Hessian, smoothness L and strong convexity μ.

Problems of the OSGM papers (Gao, Chu, Ye, Udell: COLT 2025 arXiv 2411.01803, Part I arXiv 2505.23081,
Part II arXiv 2509.11007; Chu, Gao, Ye, Udell: ICML 2025 arXiv 2502.11229):

- ``Quadratic``: f(x) = f* + ½ (x − x*)ᵀ A (x − x*), stored around x* so that f − f* has no cancellation.
- ``LeastSquares``: f(x) = ½‖Mx − b‖² (the COLT test problem, built by ``theory.synthetic``).
- ``LogisticRegression``: f(w) = Σ_i log(1 + exp(−z_iᵀw)) + (λ/2)‖w‖², z_i = y_i [x_i, b].
- ``SquaredHingeSVM``: f(w) = ½ Σ_i max(0, 1 − z_iᵀw)², z_i = y_i [x_i, b].

Logistic and SVM objectives are sums over samples with no regularisation by default, as in the official
benchmark scripts of the ICML/Part II papers (udellgroup/osgm-best-hypergrad, ``def_problems.py``). By
default the bias entry is b = +1 and L is the true global bound: σ_max(Z)²/4 + λ (logistic) and σ_max(Z)²
(SVM). The official scripts use b = −1 for the SVM and σ_max(Z)² for both objectives (4× the true logistic
bound); ``theory.official`` builds the problems with those conventions (``bias``, ``L``, ``sparse``).
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from functools import cached_property

import numpy as np
import scipy.sparse
from scipy.special import expit

DEFAULT_X0_SEED = 20250128  # the seed of the official HDM scripts (exp_svm.py, exp_logistic.py)


def unit_random_start(dim: int, seed: int = DEFAULT_X0_SEED) -> np.ndarray:
    """x0 = ξ/‖ξ‖ with ξ ~ N(0, I) from numpy's PCG64 seeded with ``seed``: the project protocol's start,
    the official scripts' recipe with another generator (``theory.official`` draws theirs exactly)."""
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
    """Shared storage for linear classifiers: margins m = Z w with rows z_i = y_i [x_i, b] (bias entry b).

    ``bias`` is +1 in this project; the official SVM script uses −1 (its logistic script +1), which only
    flips the sign of the bias weight. ``sparse=True`` keeps Z as a scipy CSR matrix: its products sum each
    row (and each column of Zᵀs) in index order, the arithmetic of the official scripts' sparse matrices,
    so their runs are reproduced bit for bit. ``L`` overrides the smoothness constant (the official
    protocol uses σ_max(Z)² for both objectives); by default it is the true global bound of the subclass.
    """

    def __init__(
        self,
        X: np.ndarray,
        y: np.ndarray,
        *,
        x0: np.ndarray | None,
        name: str,
        bias: float = 1.0,
        sparse: bool = False,
    ) -> None:
        X = X if scipy.sparse.issparse(X) else np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if X.ndim != 2 or y.shape != (X.shape[0],):
            raise ValueError(f"{name!r}: X must be (m, d) and y (m,), got {X.shape} and {y.shape}")
        if not np.all(np.isin(y, (-1.0, 1.0))):
            raise ValueError(f"{name!r}: labels must be in {{-1, +1}}")
        if bias not in (-1.0, 1.0):
            raise ValueError(f"{name!r}: bias={bias} must be +1 or -1")
        self.bias = float(bias)
        column = np.full((X.shape[0], 1), self.bias)
        if sparse:
            X = X if scipy.sparse.issparse(X) else scipy.sparse.csr_matrix(X)
            self.Z = scipy.sparse.hstack([X, column]).multiply(y[:, None]).tocsr()
            self.ZT = self.Z.T.tocsr()  # rows in the same index order: Zᵀs sums each column of Z by rows
        else:
            dense = X.toarray() if scipy.sparse.issparse(X) else X
            self.Z = np.hstack([dense, column]) * y[:, None]
            self.ZT = self.Z.T
        self.x0 = unit_random_start(self.Z.shape[1]) if x0 is None else np.asarray(x0, dtype=np.float64)
        self.name = name
        self._last_margins: tuple[bytes, np.ndarray] | None = None

    def margins(self, x: np.ndarray) -> np.ndarray:
        """Z x, remembered for the last x (methods often ask for f and ∇f at the same point); read-only."""
        key = x.tobytes()
        last = self._last_margins
        if last is not None and last[0] == key:
            return last[1]
        margins = self.Z @ x
        margins.flags.writeable = False
        self._last_margins = (key, margins)
        return margins

    @cached_property
    def dense_Z(self) -> np.ndarray:
        """Z as a dense array (Hessians, batched evaluations, fingerprints)."""
        return self.Z.toarray() if scipy.sparse.issparse(self.Z) else self.Z

    @cached_property
    def sigma_max_sq(self) -> float:
        """σ_max(Z)² by LAPACK's dense SVD (deterministic)."""
        return float(np.linalg.norm(self.dense_Z, 2) ** 2)

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        """The (X, y) the problem was built from (y_i is the last column of Z over the bias entry)."""
        y = self.dense_Z[:, -1] / self.bias
        return self.dense_Z[:, :-1] * y[:, None], y

    def _defining_arrays(self) -> list[np.ndarray]:
        return [self.dense_Z]


class LogisticRegression(_MarginProblem):
    """f(w) = Σ_i log(1 + exp(−z_iᵀw)) + (λ/2)‖w‖²; ∇f = −Zᵀσ(−Zw) + λw; ∇²f = Zᵀ diag(σ(1−σ)) Z + λI.

    True smoothness L = σ_max(Z)²/4 + λ (the default; σ(1 − σ) ≤ 1/4).
    """

    def __init__(
        self,
        X: np.ndarray,
        y: np.ndarray,
        *,
        reg: float = 0.0,
        x0: np.ndarray | None = None,
        name: str = "logistic",
        bias: float = 1.0,
        sparse: bool = False,
        L: float | None = None,
    ) -> None:
        super().__init__(X, y, x0=x0, name=name, bias=bias, sparse=sparse)
        if reg < 0:
            raise ValueError(f"{name!r}: reg={reg} must be >= 0")
        self.reg = float(reg)
        self.L = self.sigma_max_sq / 4.0 + self.reg if L is None else float(L)
        self.mu = self.reg

    def f(self, x: np.ndarray) -> float:
        return float(np.logaddexp(0.0, -self.margins(x)).sum()) + 0.5 * self.reg * float(x @ x)

    def grad(self, x: np.ndarray) -> np.ndarray:
        return -(self.ZT @ expit(-self.margins(x))) + self.reg * x

    def f_and_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        m = self.margins(x)
        value = float(np.logaddexp(0.0, -m).sum()) + 0.5 * self.reg * float(x @ x)
        return value, -(self.ZT @ expit(-m)) + self.reg * x

    def f_many(self, points: np.ndarray) -> np.ndarray:
        return np.logaddexp(0.0, -(points @ self.dense_Z.T)).sum(axis=1) + 0.5 * self.reg * np.einsum(
            "ki,ki->k", points, points
        )

    def grad_many(self, points: np.ndarray) -> np.ndarray:
        return -(expit(-(points @ self.dense_Z.T)) @ self.dense_Z) + self.reg * points

    def f_and_grad_many(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        margins = points @ self.dense_Z.T
        values = np.logaddexp(0.0, -margins).sum(axis=1) + 0.5 * self.reg * np.einsum(
            "ki,ki->k", points, points
        )
        return values, -(expit(-margins) @ self.dense_Z) + self.reg * points

    def hess(self, x: np.ndarray) -> np.ndarray:
        Z = self.dense_Z
        s = expit(Z @ x)
        return (Z.T * (s * (1.0 - s))) @ Z + self.reg * np.eye(self.dim)

    def _defining_arrays(self) -> list[np.ndarray]:
        return [self.dense_Z, np.array([self.reg])]


class SquaredHingeSVM(_MarginProblem):
    """f(w) = ½ Σ_i max(0, 1 − z_iᵀw)²; ∇f = −Zᵀ max(0, 1 − Zw); generalised Hessian Z_Aᵀ Z_A (active A).

    True smoothness L = σ_max(Z)² (the default). f sums the squared slacks with ``np.sum`` (pairwise
    summation), as the official scripts do.
    """

    def __init__(
        self,
        X: np.ndarray,
        y: np.ndarray,
        *,
        x0: np.ndarray | None = None,
        name: str = "svm",
        bias: float = 1.0,
        sparse: bool = False,
        L: float | None = None,
    ) -> None:
        super().__init__(X, y, x0=x0, name=name, bias=bias, sparse=sparse)
        self.L = self.sigma_max_sq if L is None else float(L)
        self.mu = 0.0

    def f(self, x: np.ndarray) -> float:
        slack = np.maximum(0.0, 1.0 - self.margins(x))
        return 0.5 * float(np.sum(slack**2))

    def grad(self, x: np.ndarray) -> np.ndarray:
        return -(self.ZT @ np.maximum(0.0, 1.0 - self.margins(x)))

    def f_and_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        slack = np.maximum(0.0, 1.0 - self.margins(x))
        return 0.5 * float(np.sum(slack**2)), -(self.ZT @ slack)

    def f_many(self, points: np.ndarray) -> np.ndarray:
        slack = np.maximum(0.0, 1.0 - points @ self.dense_Z.T)
        return 0.5 * np.einsum("km,km->k", slack, slack)

    def grad_many(self, points: np.ndarray) -> np.ndarray:
        return -(np.maximum(0.0, 1.0 - points @ self.dense_Z.T) @ self.dense_Z)

    def f_and_grad_many(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        slack = np.maximum(0.0, 1.0 - points @ self.dense_Z.T)
        return 0.5 * np.einsum("km,km->k", slack, slack), -(slack @ self.dense_Z)

    def hess(self, x: np.ndarray) -> np.ndarray:
        active = self.dense_Z[self.dense_Z @ x < 1.0]
        return active.T @ active
