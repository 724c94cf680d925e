"""What state a job or a run is in, and which run folders this process is training now.

The job sets a run's status; the run store reads it. Both import this module, so neither imports the other.
"""

from __future__ import annotations

import threading
from pathlib import Path

QUEUED, RUNNING, STOPPING = "queued", "running", "stopping"
FINISHED, STOPPED, FAILED = "finished", "stopped", "failed"
INTERRUPTED = "interrupted"  # the process that trained it ended in the middle (killed, out of memory)

STATUSES = (QUEUED, RUNNING, STOPPING, FINISHED, STOPPED, FAILED, INTERRUPTED)
ACTIVE = (QUEUED, RUNNING, STOPPING)
DONE = (FINISHED, STOPPED, FAILED, INTERRUPTED)

_training: set[Path] = set()
_lock = threading.Lock()


def _key(run_dir) -> Path | None:
    try:
        return Path(run_dir).resolve()
    except (OSError, RuntimeError):
        return None


def mark_training(run_dir) -> None:
    """Called by a job once its run folder exists: the folder is being written until ``mark_done``."""
    key = _key(run_dir)
    if key is not None:
        with _lock:
            _training.add(key)


def mark_done(run_dir) -> None:
    key = _key(run_dir)
    with _lock:
        _training.discard(key)


def is_training(run_dir) -> bool:
    """True while a job of this process writes ``run_dir``."""
    key = _key(run_dir)
    with _lock:
        return key is not None and key in _training
