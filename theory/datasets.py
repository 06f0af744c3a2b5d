"""Real binary-classification data sets for the theory benchmarks, as ``(X, y)`` with ``y ∈ {−1, +1}``.

The OSGM papers (Gao, Chu, Ye, Udell, COLT 2025 arXiv 2411.01803; Chu et al., ICML 2025 arXiv 2502.11229;
Part II arXiv 2509.11007) benchmark on LIBSVM binary sets. Offline we use sklearn's bundled real sets,
a Fashion-MNIST pair from the Debian package, and any LIBSVM-format file through sklearn's svmlight loader.

Preprocessing (chosen in this project, documented so results can be compared):

- breast cancer (569 × 30): features min–max scaled to [−1, 1] (the LIBSVM ``*_scale`` convention);
  label "benign" → +1. This set is linearly separable (certified in ``theory.fstar``).
- digits (1797 × 64): pixels / 16; binary task "even digit" (+1) vs "odd digit" (−1). Not separable.
- Fashion-MNIST pair: T-shirt/top (class 0, +1) vs Shirt (class 6, −1), pixels / 255, optionally
  average-pooled ``pool × pool`` and subsampled (seeded) to ``n_samples`` rows.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import scipy.sparse

from theory.cache import load_or_compute, resolve_cache_dir

FASHION_MNIST_ROOT = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


def scale_to_unit_box(X: np.ndarray) -> np.ndarray:
    """Min–max scale every column to [−1, 1]; constant columns become 0."""
    lo, hi = X.min(axis=0), X.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    return np.where(hi > lo, 2.0 * (X - lo) / span - 1.0, 0.0)


def breast_cancer() -> tuple[np.ndarray, np.ndarray]:
    """sklearn's Wisconsin diagnostic breast-cancer set, scaled to [−1, 1]; benign = +1."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    return scale_to_unit_box(data.data.astype(np.float64)), np.where(data.target == 1, 1.0, -1.0)


def digits_even_odd() -> tuple[np.ndarray, np.ndarray]:
    """sklearn's 8×8 digits as the binary task even (+1) vs odd (−1); pixels / 16."""
    from sklearn.datasets import load_digits

    data = load_digits()
    return data.data.astype(np.float64) / 16.0, np.where(data.target % 2 == 0, 1.0, -1.0)


def fashion_mnist_pair(
    positive: int = 0,
    negative: int = 6,
    *,
    n_samples: int | None = None,
    pool: int = 1,
    split: str = "train",
    root: Path | str = FASHION_MNIST_ROOT,
    seed: int = 0,
    cache_dir: Path | str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Two Fashion-MNIST classes as a binary problem (default T-shirt/top vs Shirt, the hardest pair).

    ``pool`` average-pools the 28×28 images by ``pool × pool`` blocks (28 must be divisible by it);
    ``n_samples`` draws a seeded subsample without replacement (all rows when None). The selected uint8
    images are cached (``theory.cache``, keyed by the arguments and the files' size and time), so a
    later call neither decodes the files nor imports the training package.
    """
    root = Path(root)
    prefix = {"train": "train", "test": "t10k"}.get(split)
    if prefix is None:
        raise ValueError(f"split={split!r}: expected 'train' or 'test'")
    images_path = root / f"{prefix}-images-idx3-ubyte.gz"
    labels_path = root / f"{prefix}-labels-idx1-ubyte.gz"
    for path in (images_path, labels_path):
        if not path.is_file():
            raise FileNotFoundError(
                f"Fashion-MNIST file not found: {path} "
                "(install it with `apt-get install dataset-fashion-mnist`)"
            )
    if positive == negative or not (0 <= positive < 10 and 0 <= negative < 10):
        raise ValueError(f"Fashion-MNIST classes ({positive}, {negative}): need two distinct labels in 0..9")
    if pool < 1 or 28 % pool:
        raise ValueError(f"pool={pool}: must divide 28")
    stats = [(str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns) for p in (images_path, labels_path)]
    key = hashlib.sha256(repr((positive, negative, n_samples, seed, stats)).encode()).hexdigest()[:20]

    def select() -> dict[str, np.ndarray]:
        from stepsize.data.fashion_mnist import read_idx  # here, not at the top: it imports torch

        images, labels = read_idx(images_path), read_idx(labels_path)
        keep = np.flatnonzero((labels == positive) | (labels == negative))
        if n_samples is not None:
            if not 0 < n_samples <= keep.size:
                raise ValueError(f"n_samples={n_samples}: must be in 1..{keep.size}")
            keep = np.sort(np.random.default_rng(seed).choice(keep, size=n_samples, replace=False))
        return {"images": images[keep], "labels": labels[keep]}

    pair = load_or_compute(resolve_cache_dir(cache_dir) / f"fmnist-pair-{key}.npz", select)
    images, labels = pair["images"], pair["labels"]
    X = images.astype(np.float64) / 255.0
    if pool > 1:
        side = 28 // pool
        X = X.reshape(-1, side, pool, side, pool).mean(axis=(2, 4))
    return X.reshape(len(labels), -1), np.where(labels == positive, 1.0, -1.0)


def svmlight(
    path: Path | str, *, n_features: int | None = None
) -> tuple[scipy.sparse.csr_matrix, np.ndarray]:
    """Any LIBSVM/svmlight binary file (a1a, w1a, mushrooms, ...) via sklearn, as (CSR X, y ∈ {−1, +1}).

    The larger of the two label values becomes +1 (LIBSVM uses {−1, +1}, {0, 1} or {1, 2}). Without
    ``n_features`` the dimension is the largest feature index present, as in the official scripts. A
    missing file is a FileNotFoundError and an unreadable one a ValueError, each naming the path.
    """
    from sklearn.datasets import load_svmlight_file

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"svmlight file not found: {path}")
    try:
        X, labels = load_svmlight_file(str(path), n_features=n_features)
    except (ValueError, UnicodeDecodeError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ValueError(f"svmlight file {path} is not valid svmlight/LIBSVM text ({reason})") from None
    values = np.unique(labels)
    if values.size != 2:
        raise ValueError(f"svmlight file {path}: expected 2 label values, found {values.size}")
    return scipy.sparse.csr_matrix(X, dtype=np.float64), np.where(labels == values[1], 1.0, -1.0)
