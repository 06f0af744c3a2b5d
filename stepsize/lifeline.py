"""Stop a job when the workflow that started it is gone (``--stop-with PID``).

Snakemake runs each job as ``bash -c '<command>'``. When Snakemake itself is killed (``kill -9``), the
shell and the trainer under it are orphaned and would go on computing, and writing, while a new
invocation starts the same job again. The batch runner is therefore given Snakemake's PID, and a daemon
thread checks it every second: once that process is gone (or a zombie), the trainer exits at once with
a line on stderr. What it had finished is on disk (run records, periodic checkpoints); the next
invocation resumes from there.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie (Linux /proc; elsewhere: signal 0)."""
    stat = Path(f"/proc/{pid}/stat")
    if stat.parent.parent.is_dir():
        try:
            return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except (OSError, IndexError):
            return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


ENV = "STEPSIZE_STOP_WITH"


def export_stop_with(pid: int) -> None:
    """Ask every job this process starts from now on to stop when ``pid`` is gone (the Snakefile calls it
    with Snakemake's PID; `stepsize.batch` reads ``$STEPSIZE_STOP_WITH``)."""
    os.environ[ENV] = str(pid)


def stop_with(pid: int, what: str = "stepsize", interval: float = 1.0) -> threading.Thread:
    """Start the watchdog thread: exit this process (status 1) when ``pid`` is gone."""
    def watch() -> None:
        event = threading.Event()
        while not event.wait(interval):
            if not alive(pid):
                print(f"{what}: error: the workflow process {pid} that started this job is gone; stopping",
                      file=sys.stderr, flush=True)
                os._exit(1)

    thread = threading.Thread(target=watch, name="lifeline", daemon=True)
    thread.start()
    return thread
