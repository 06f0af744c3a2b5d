"""A run's output folder: one writer at a time, writable before any compute, no stale temporaries.

`claim(out_dir)` creates the folder, takes an exclusive ``fcntl`` lock on ``DIR/.lock`` (released by the
kernel when the process dies, even by SIGKILL, so a lock is never stale), writes the holder's PID and
host into it, checks that a file can be written there, and only then removes the temporaries of writes
cut short by a kill (``.<name>.<pid>.tmp``, `stepsize.run_record.temporary_path`): with the lock held, no
other process is writing them. A second writer gets a one-line refusal naming the holder. The lock file
itself is removed when the run is done.
"""

from __future__ import annotations

import errno
import fcntl
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_NAME = ".lock"
OUTPUT_NAMES = ("checkpoint.pt", "run.json")


class RunDirError(OSError):
    """The output folder cannot be used (locked by another writer, not writable); one-line message."""


def remove_stale_temporaries(folder: str | Path, names: tuple[str, ...] = OUTPUT_NAMES) -> list[Path]:
    """Delete the ``.<name>.<pid>.tmp`` files of ``names`` in ``folder`` and return them (call it only
    while holding the folder's lock)."""
    folder = Path(folder)
    stale = [p for name in names for p in folder.glob(f".{name}.*.tmp")
             if p.name[len(name) + 2 : -4].isdigit() and p.is_file()]
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


def _check_writable(folder: Path) -> None:
    probe = folder / f".write-probe.{os.getpid()}"
    try:
        probe.write_bytes(b"x")
    except OSError as err:
        raise RunDirError(f"--out {folder}: cannot write there ({err.strerror}); nothing was trained") \
            from None
    finally:
        probe.unlink(missing_ok=True)


def _lock(folder: Path) -> int:
    """Open and ``flock`` ``folder/.lock``; return its descriptor. A holder unlinks the file before it lets
    go, so a lock taken on a file that is no longer (or no longer the same file) at that path protects
    nothing: it is dropped and taken again on the file now there."""
    path = folder / LOCK_NAME
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            os.close(fd)
            if err.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            holder = _holder(path)
            raise RunDirError(f"--out {folder}: in use by {holder} (one writer per run folder)") from None
        try:
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)  # the holder unlinked it between our open and our lock: try the current file


def _holder(path: Path) -> str:
    try:
        return path.read_text(errors="replace").strip() or "another process"
    except OSError:
        return "another process"


@contextmanager
def claim(out_dir: str | Path) -> Iterator[Path]:
    """Hold ``out_dir`` for one run (module docstring); yields its path."""
    folder = Path(out_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise RunDirError(f"--out {folder}: cannot create the folder ({err.strerror})") from None
    _check_writable(folder)
    fd = _lock(folder)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
        remove_stale_temporaries(folder)
        yield folder
        (folder / LOCK_NAME).unlink(missing_ok=True)  # still held: no other writer can be using it
    finally:
        os.close(fd)  # releases the lock
