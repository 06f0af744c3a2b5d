"""Problem names used by the CLI, the checks and the benchmark, and the sizes ``smoke``, ``mini``, ``full``.

Names:
- ``<data>-<objective>`` with data ∈ {breast_cancer, digits, fmnist} and objective ∈ {logistic, svm};
- ``colt_ls-<σ>`` (the COLT least-squares test, e.g. ``colt_ls-0.01``);
- ``quadratic-scaled`` (A = D·B·D, cond(B) = 10) and ``quadratic-random`` (κ = 100);
- ``svmlight:<path>:<objective>`` for any LIBSVM-format file (a1a, w1a, mushrooms, ...).

Size only changes the Fashion-MNIST pair (smoke: 300 images pooled to 7×7; mini: 1000 images pooled to
14×14; full: all 12000 training images of the pair at 28×28), the quadratics' dimension
(20 / 50 / 100) and the COLT dimension (50 / 100 / 100).
"""

from __future__ import annotations

from pathlib import Path

from theory import datasets
from theory.problems import LogisticRegression, Problem, SquaredHingeSVM
from theory.synthetic import badly_scaled_quadratic, colt_least_squares, random_quadratic

SIZES = ("smoke", "mini", "full")
OBJECTIVES = {"logistic": LogisticRegression, "svm": SquaredHingeSVM}
DATASETS = ("breast_cancer", "digits", "fmnist")
BENCH_PROBLEMS = (
    "breast_cancer-logistic",
    "breast_cancer-svm",
    "digits-logistic",
    "digits-svm",
    "colt_ls-0.01",
    "quadratic-scaled",
    "fmnist-logistic",
    "fmnist-svm",
)
_FMNIST = {
    "smoke": {"n_samples": 300, "pool": 4},
    "mini": {"n_samples": 1000, "pool": 2},
    "full": {"n_samples": None, "pool": 1},
}
_QUADRATIC_DIM = {"smoke": 20, "mini": 50, "full": 100}
_COLT_DIM = {"smoke": 50, "mini": 100, "full": 100}


def check_size(size: str) -> str:
    if size not in SIZES:
        raise ValueError(f"size={size!r}: expected one of {', '.join(SIZES)}")
    return size


def _objective(name: str, objective: str) -> type[Problem]:
    if objective not in OBJECTIVES:
        raise ValueError(f"problem {name!r}: unknown objective {objective!r} (expected logistic or svm)")
    return OBJECTIVES[objective]


def load_dataset(data: str, size: str, cache_dir: Path | str | None = None) -> tuple:
    if data == "breast_cancer":
        return datasets.breast_cancer()
    if data == "digits":
        return datasets.digits_even_odd()
    if data == "fmnist":
        return datasets.fashion_mnist_pair(**_FMNIST[size], cache_dir=cache_dir)
    raise ValueError(f"unknown data set {data!r} (expected one of {', '.join(DATASETS)})")


def build_problem(name: str, size: str = "mini", cache_dir: Path | str | None = None) -> Problem:
    """The problem called ``name`` at ``size``; a clear ValueError/FileNotFoundError for a bad name/path.
    ``cache_dir``: where the Fashion-MNIST pair is cached (``theory.cache``)."""
    size = check_size(size)
    if name.startswith("svmlight:"):
        path, _, objective = name[len("svmlight:") :].rpartition(":")
        if not path:
            raise ValueError(f"problem {name!r}: expected svmlight:<path>:<logistic|svm>")
        cls = _objective(name, objective)
        X, y = datasets.svmlight(Path(path))
        return cls(X, y, name=f"{Path(path).name}-{objective}")
    if name.startswith("colt_ls-"):
        try:
            sigma = float(name[len("colt_ls-") :])
        except ValueError:
            raise ValueError(f"problem {name!r}: expected colt_ls-<sigma>, e.g. colt_ls-0.01") from None
        problem = colt_least_squares(sigma, dim=_COLT_DIM[size])
        problem.name = name
        return problem
    if name == "quadratic-scaled":
        return badly_scaled_quadratic(_QUADRATIC_DIM[size], name=name)
    if name == "quadratic-random":
        return random_quadratic(_QUADRATIC_DIM[size], 100.0, name=name)
    data, _, objective = name.partition("-")
    if data in DATASETS and objective:
        cls = _objective(name, objective)
        X, y = load_dataset(data, size, cache_dir)
        return cls(X, y, name=name)
    raise ValueError(
        f"unknown problem {name!r}: expected <breast_cancer|digits|fmnist>-<logistic|svm>, colt_ls-<sigma>, "
        "quadratic-scaled, quadratic-random or svmlight:<path>:<logistic|svm>"
    )
