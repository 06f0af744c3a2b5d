"""Atomic training checkpoints (``DIR/checkpoint.pt``) and the RNG states they carry.

A checkpoint is written to a temporary file in the same folder and moved into place with
``os.replace``, so a run killed at any instant leaves either the previous or the new checkpoint, never a
torn one. It records the resolved config; resuming with a different config is an error.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from stepsize.run_record import temporary_path

FILENAME = "checkpoint.pt"


class ResumeError(ValueError):
    """The checkpoint in the output folder belongs to a different config."""


def rng_states() -> dict[str, Any]:
    """Python, numpy, torch CPU (and CUDA, when available) random-generator states."""
    states: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),  # noqa: NPY002 (the legacy global state is what we restore)
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict[str, Any]) -> None:
    random.setstate(states["python"])
    np.random.set_state(states["numpy"])  # noqa: NPY002
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def save(path: str | Path, state: dict[str, Any]) -> None:
    """``torch.save(state)`` to ``path`` atomically (tmp + fsync + ``os.replace``). A failed write removes
    its temporary file; one left by a SIGKILL is removed when the run restarts
    (`stepsize.run_dir.remove_stale_temporaries`)."""
    path = Path(path)
    tmp = temporary_path(path)
    try:
        with open(tmp, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load_matching(path: str | Path, config: dict[str, Any]) -> dict[str, Any] | None:
    """The checkpoint at ``path`` if it exists (None otherwise); ResumeError (one line) if it cannot be
    read or its config differs in anything that changes the computation (`run_record.comparable`: the
    thread count, progress bar and checkpoint period may change between a run and its resume)."""
    from stepsize.run_record import comparable

    path = Path(path)
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # torn by a disk fault, truncated, not a torch file: every reader error
        raise ResumeError(f"{path}: unreadable checkpoint ({type(err).__name__}: "
                          f"{' '.join(str(err).split())[:120]}); delete it to start the run over") from None
    if not isinstance(state, dict) or "config" not in state:
        raise ResumeError(f"{path}: not a stepsize checkpoint; delete it to start the run over")
    ours, theirs = comparable(config), comparable(state["config"])
    if ours != theirs:
        differing = sorted(
            f"{s}.{k}" for s in set(ours) | set(theirs)
            for k in set(ours.get(s, {})) | set(theirs.get(s, {}))
            if ours.get(s, {}).get(k) != theirs.get(s, {}).get(k)
        )
        raise ResumeError(
            f"{path} was written with a different config (differs in {', '.join(differing) or 'sections'}); "
            "delete it or use another --out folder"
        )
    return state
