"""torchrun / DistributedDataParallel setup: which process am I, and on which device.

Under ``torchrun`` the environment gives ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``; the process group
uses NCCL on CUDA and gloo on CPU. A plain ``python -m stepsize.train`` is rank 0 of 1.

A rank that fails reports it in one line, ``stepsize.train: error: rank <r>: <message>`` (`error_line`),
and exits non-zero; torchrun's agent then stops the other ranks, so the job fails at once instead of
hanging in the next collective. The traceback is not lost: it goes to torchrun's error file, which the
agent prints in its failure summary. ``STEPSIZE_FAULT_RAISE_RANK=<rank>:<update>`` makes one rank raise
after that many updates (the tests' fault injection).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Processes:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def from_environment() -> Processes:
    """Rank, world size and local rank from torchrun's environment variables (defaults: 0, 1, 0)."""
    env = os.environ
    return Processes(int(env.get("RANK", 0)), int(env.get("WORLD_SIZE", 1)), int(env.get("LOCAL_RANK", 0)))


def resolve_device(requested: str, procs: Processes) -> torch.device:
    """``auto`` → ``cuda:<local_rank>`` if CUDA is available, else ``cpu``; ``cuda`` → this rank's GPU."""
    if requested == "auto":
        requested = "cuda" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"train.device={requested}: CUDA is not available on this machine")
        if requested == "cuda":
            requested = f"cuda:{procs.local_rank}"
        torch.cuda.set_device(torch.device(requested))
    return torch.device(requested)


def init(procs: Processes, device: torch.device) -> None:
    """Join the process group (nccl on CUDA, gloo on CPU) when there is more than one process."""
    if procs.distributed and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")


def barrier(procs: Processes) -> None:
    if procs.distributed:
        dist.barrier()


def earliest(procs: Processes, step: int | None, device: torch.device) -> int | None:
    """The smallest ``step`` over all ranks (None = no rank has one): every rank agrees on where a run
    diverged, so all of them stop at the same collective. One all-reduce; a no-op for one process."""
    if not procs.distributed:
        return step
    none = 2**62
    t = torch.tensor([none if step is None else step], dtype=torch.int64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MIN)
    found = int(t.item())
    return None if found == none else found


def shutdown(procs: Processes) -> None:
    if procs.distributed and dist.is_initialized():
        dist.destroy_process_group()


# ------------------------------------------------------------------------------------------ failures
#: Fault injection: ``<rank>:<update>`` makes that rank raise `InjectedFault` after that many updates
#: (base updates, then SWALR-branch updates, counted together, as ``STEPSIZE_FAULT_KILL_AT``).
FAULT_RAISE_ENV = "STEPSIZE_FAULT_RAISE_RANK"


class InjectedFault(RuntimeError):
    """The error ``STEPSIZE_FAULT_RAISE_RANK`` raises."""


@functools.cache
def _fault_target(value: str) -> tuple[int, int] | None:
    if not value.strip():
        return None
    rank, sep, update = value.strip().partition(":")
    if not sep or not rank.isdigit() or not update.isdigit() or int(update) < 1:
        raise ValueError(f"{FAULT_RAISE_ENV}={value!r}: expected <rank>:<update>, e.g. 1:5")
    return int(rank), int(update)


def raise_injected_fault(procs: Processes, work: int) -> None:
    """Raise `InjectedFault` on the rank and at the update ``STEPSIZE_FAULT_RAISE_RANK`` names (called
    after each update with the updates done so far); a no-op when the variable is unset."""
    target = _fault_target(os.environ.get(FAULT_RAISE_ENV, ""))
    if target == (procs.rank, work):
        raise InjectedFault(f"injected fault after update {work} ({FAULT_RAISE_ENV}={target[0]}:{target[1]})")


def error_line(err: BaseException, *, unexpected: bool = False, procs: Processes | None = None,
               message: str | None = None) -> str:
    """The one stderr line of an error that ends a run: ``stepsize.train: error: <message>``, with
    ``rank <r>: `` before the message in a run of several processes. An ``unexpected`` error (not a
    config, data or resume error) carries its type, and under torchrun its traceback goes to the agent's
    error file (TORCHELASTIC_ERROR_FILE), which the agent prints when the job fails: call this in the
    ``except`` block, where the traceback is the one being handled. ``message``: the text to report
    (default ``str(err)``)."""
    procs = procs or from_environment()
    if message is None:
        message = f"{type(err).__name__}: {err}" if unexpected else str(err)
    if unexpected and os.environ.get("TORCHELASTIC_ERROR_FILE"):
        from torch.distributed.elastic.multiprocessing.errors import ErrorHandler

        ErrorHandler().record_exception(err)
    rank = f"rank {procs.rank}: " if procs.distributed else ""
    return f"stepsize.train: error: {rank}{message}"
