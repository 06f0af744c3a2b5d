"""The problems of the official OSGM / HDM-Best benchmark, built exactly as the authors' scripts build them
(Chu, Gao, Ye, Udell, ICML 2025 arXiv 2502.11229 and Part II arXiv 2509.11007; code
udellgroup/osgm-best-hypergrad, files ``exp_svm.py``, ``exp_logistic.py``, ``def_problems.py``).

Names ``<data>:<objective>`` with data ∈ {a1a, a2a, a3a} (``theory/data/libsvm``, see its README) and:

- ``svm``: f(w) = ½ Σ_i max(0, 1 − z_iᵀw)², z_i = y_i [x_i, −1] (``get_smoothed_svm_problem``);
- ``logistic``: f(w) = Σ_i log(1 + exp(−y_i [x_i, 1]ᵀw)) (``get_logistic_problem``);

no regularisation, the dimension ``load_svmlight_file`` infers (largest feature index + the bias), sparse
products (the official arithmetic to the last bit, see ``theory.problems``).

Smoothness and start (``exp_svm.py``): the scripts call ``np.random.seed(20250128)``, then
L = σ_max(M)² + reg with ``scipy.sparse.linalg.svds(M, k=1)``, M = Z for the SVM and [X, 1] for logistic
(σ_max(Z)² for both: 4× the true logistic bound), then x0 = ``np.random.randn(n)``/‖·‖. SciPy before 1.15
drew the ARPACK start vector of ``svds`` from numpy's global stream (min(M.shape) standard normals), so x0
is the *second* block of the seeded stream; SciPy ≥ 1.15 draws it from a fresh unseeded generator, so L
moves by an ulp from run to run (which moves HDM-Best's best count on a1a logistic) and x0 becomes the
first block. We keep the behaviour under which the official README's numbers were made: v0 from the seeded
stream, which also makes L deterministic. (Check: with this x0 the official BFGS needs 91 gradient calls on
a1a SVM and Adam 566, the README's numbers; with the first block it needs 95 and 310.)

Part II's OSGM draws its three probe directions from the same global stream (``np.random.randn`` in
``algorithms/osgm.py``); no other method draws from it, so they are the draws right after x0:
``probe_stream`` returns a RandomState at that position. The Part II scripts (``exp_*_osgm.py``) seed with
20250701 instead; the official protocol runs every method from the same x0 (seed 20250128), as the HDM
scripts do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse
import scipy.sparse.linalg

from theory import datasets
from theory.problems import LogisticRegression, Problem, SquaredHingeSVM

DATA_DIR = Path(__file__).resolve().parent / "data" / "libsvm"
DATASETS = ("a1a", "a2a", "a3a")
OBJECTIVES = ("svm", "logistic")
PROBLEMS = tuple(f"{data}:{objective}" for objective in OBJECTIVES for data in DATASETS)
SEED = 20250128


@dataclass(frozen=True)
class OfficialProblem:
    """A problem of the official protocol and the state of the seeded stream right after its x0."""

    problem: Problem
    stream_state: tuple

    def probe_stream(self) -> np.random.RandomState:
        """A fresh RandomState at the position right after x0 (Part II OSGM's probe directions)."""
        stream = np.random.RandomState()
        stream.set_state(self.stream_state)
        return stream


def parse(name: str) -> tuple[str, str]:
    """(data, objective) of ``<data>:<objective>``; a one-line ValueError naming the problem otherwise."""
    data, _, objective = name.partition(":")
    if data not in DATASETS or objective not in OBJECTIVES:
        raise ValueError(
            f"unknown problem {name!r} for protocol 'official': expected one of {', '.join(PROBLEMS)}"
        )
    return data, objective


def official_problem(name: str, *, data_dir: Path | str | None = None) -> OfficialProblem:
    """Build ``name`` (a1a:svm, …) with the official data, objective, L, x0 and probe stream."""
    data, objective = parse(name)
    X, y = datasets.svmlight(Path(data_dir or DATA_DIR) / data)
    ones = np.ones((X.shape[0], 1))
    if objective == "svm":
        matrix = scipy.sparse.hstack([X, -ones]).multiply(y.reshape(-1, 1))
    else:
        matrix = scipy.sparse.hstack([X, ones])
    stream = np.random.RandomState(SEED)
    v0 = stream.standard_normal(min(matrix.shape))  # what svds drew from the global stream before SciPy 1.15
    L = scipy.sparse.linalg.svds(matrix, k=1, v0=v0, return_singular_vectors=False)[0] ** 2
    x0 = stream.randn(matrix.shape[1])
    x0 = x0 / np.linalg.norm(x0)
    cls = SquaredHingeSVM if objective == "svm" else LogisticRegression
    problem = cls(X, y, x0=x0, name=name, bias=-1.0 if objective == "svm" else 1.0, sparse=True, L=float(L))
    return OfficialProblem(problem, stream.get_state())
