"""On-disk cache for expensive reference quantities (f*, x*, SDP preconditioners), as ``.npz`` files.

The directory is, in order: the ``cache_dir`` argument, the environment variable ``STEPSIZE_THEORY_CACHE``,
or ``results/cache/theory`` under the repository root (``results/`` is git-ignored). Files are written
atomically (temporary file + ``os.replace``) so concurrent jobs never read half-written entries.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

CACHE_ENV = "STEPSIZE_THEORY_CACHE"
REPO_ROOT = Path(__file__).resolve().parents[1]


def resolve_cache_dir(cache_dir: Path | str | None = None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir)
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return REPO_ROOT / "results" / "cache" / "theory"


def load_or_compute(path: Path, compute: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Return the arrays stored at ``path``; compute, store and return them when absent or unreadable."""
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as stored:
                return {key: stored[key] for key in stored.files}
        except (OSError, ValueError):
            pass  # a corrupt entry is recomputed below
    arrays = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **arrays)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return arrays
