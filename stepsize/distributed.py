"""torchrun / DistributedDataParallel setup: which process am I, and on which device.

Under ``torchrun`` the environment gives ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``; the process group
uses NCCL on CUDA and gloo on CPU. A plain ``python -m stepsize.train`` is rank 0 of 1.
"""

from __future__ import annotations

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
