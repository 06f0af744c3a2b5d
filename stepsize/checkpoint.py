"""Atomic training checkpoints (``DIR/checkpoint.pt``) and the RNG states they carry.

A checkpoint is written to a temporary file in the same folder and moved into place with
``os.replace``, so a run killed at any instant leaves either the previous or the new checkpoint, never a
torn one. It records the resolved config; resuming with a different config is an error.

A checkpoint is read with ``torch.load(..., weights_only=True)``: a file planted in the output folder
cannot run code when a run resumes. Everything saved is therefore kept to what that safe unpickler
accepts (tensors, dicts, lists, tuples, str, int, float, bool, None): numpy arrays (the numpy RNG state)
are stored as tensors under a one-key marker dict (`encode`) and restored on load (`decode`); any other
object is refused when the checkpoint is written, naming where it sits in the state.
"""

from __future__ import annotations

import errno
import os
import pickle
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from stepsize.run_record import temporary_path

FILENAME = "checkpoint.pt"


#: The marker key of an encoded numpy array: ``{NDARRAY: tensor}``.
NDARRAY = "__stepsize_ndarray__"
_PLAIN = (str, int, float, bool, type(None), torch.Tensor, torch.Size, torch.dtype, torch.device)


class ResumeError(ValueError):
    """The checkpoint in the output folder belongs to a different config, or cannot be read safely."""


def encode(obj: Any, where: str = "state") -> Any:
    """``obj`` in the types ``torch.load(weights_only=True)`` accepts: numpy arrays become
    ``{NDARRAY: tensor}``, numpy scalars Python numbers; dicts, lists and tuples are walked. TypeError
    naming ``where`` (the path inside the state) for anything else."""
    if isinstance(obj, np.ndarray):
        return {NDARRAY: torch.from_numpy(np.ascontiguousarray(obj).copy())}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, _PLAIN):
        return obj
    if isinstance(obj, dict):
        return {k: encode(v, f"{where}[{k!r}]") for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        items = [encode(v, f"{where}[{i}]") for i, v in enumerate(obj)]
        return items if isinstance(obj, list) else tuple(items)
    raise TypeError(f"checkpoint: {where} is a {type(obj).__module__}.{type(obj).__qualname__}, which a "
                    "safe (weights_only) checkpoint cannot hold")


def decode(obj: Any) -> Any:
    """The inverse of `encode`: ``{NDARRAY: tensor}`` back to a numpy array."""
    if isinstance(obj, dict):
        if len(obj) == 1 and NDARRAY in obj:
            return obj[NDARRAY].numpy()
        return {k: decode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [decode(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(decode(v) for v in obj)
    return obj


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
    """Restore the states of `rng_states` (as `load_matching` returns them)."""
    random.setstate(states["python"])
    np.random.set_state(states["numpy"])  # noqa: NPY002
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def save(path: str | Path, state: dict[str, Any]) -> None:
    """``torch.save(encode(state))`` to ``path`` atomically (tmp + fsync + ``os.replace``). A failed write
    removes its temporary file; one left by a SIGKILL is removed when the run restarts
    (`stepsize.run_dir.remove_stale_temporaries`). A full disk is an OSError (ENOSPC) naming ``path``,
    however torch reports it (its zip writer says ``unexpected pos``)."""
    path = Path(path)
    safe = encode(state)
    tmp = temporary_path(path)
    try:
        with open(tmp, "wb") as f:
            try:
                torch.save(safe, f)
                f.flush()
                os.fsync(f.fileno())
            except RuntimeError as err:  # torch's zip writer hides the OS error of a failed write
                raise _write_error(path, err) from None
            except OSError as err:  # a full disk seen by Python itself (flush, fsync)
                raise OSError(err.errno, err.strerror or " ".join(str(err).split()), str(path)) from None
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _write_error(path: Path, err: RuntimeError) -> OSError:
    """The OSError (with ``path`` as its filename) of a torch write failure: ENOSPC for the zip writer's
    ``unexpected pos`` / ``file write failed`` (what a full disk looks like through torch), EIO with the
    error's text otherwise."""
    text = " ".join(str(err).split())
    if "unexpected pos" in text or "write failed" in text:
        return OSError(errno.ENOSPC, "No space left on device (writing the checkpoint)", str(path))
    return OSError(errno.EIO, f"checkpoint write failed ({text[:160]})", str(path))


def load_matching(path: str | Path, config: dict[str, Any]) -> dict[str, Any] | None:
    """The checkpoint at ``path`` if it exists (None otherwise); ResumeError (one line) if it cannot be
    read or its config differs in anything that changes the computation (`run_record.comparable`: the
    thread count, progress bar and checkpoint period may change between a run and its resume)."""
    from stepsize.run_record import comparable

    path = Path(path)
    if not path.is_file():
        return None
    try:
        state = decode(torch.load(path, map_location="cpu", weights_only=True))
    except pickle.UnpicklingError as err:  # an object the safe unpickler refuses: never built, never run
        found = re.search(r"GLOBAL (\S+)", str(err))
        what = f" (it holds {found.group(1)})" if found else ""
        raise ResumeError(f"{path}: refused an unsafe checkpoint{what}: only tensors and plain data are "
                          "loaded; delete it to start the run over") from None
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
