"""A training job on a cluster node: ``run_config(config)`` is the task that an engine sends to a worker.

The task trains ``Job(config).run()`` in the worker's process, into ``config.run_dir`` on storage that every
machine mounts at the same path. A stop crosses machines as a file beside the run folder (``stop_file``): whoever
wants the job to end writes it (``request_stop``), and the task, which watches for it, calls ``Job.stop()``, so
the job ends after the current batch and keeps its best model, exactly as a stop on the page does. A stop written
before the task starts ends the job before it trains. The file sits beside the folder, not in it, because the
job needs an empty run folder to start in, and the runs listing skips names that begin with a dot.

When a node dies in the middle of a job (switched off, out of memory), the engine sends the task to another
node. The run folder then already holds the first attempt: the task marks that run interrupted, keeping what it
saved, and ends there rather than train into a folder that is not empty.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from lab.i18n import t
from lab.train import runs, status
from lab.train.config import TrainConfig
from lab.train.live import Job
from lab.train.snapshot import Snapshot

STOP_POLL_SECONDS = 0.5


@dataclass(frozen=True)
class Outcome:
    """What a node sends back: the job's final snapshot and which process on which machine trained it."""

    snapshot: Snapshot
    host: str
    pid: int

    @property
    def node(self) -> str:
        return f"{self.host}:{self.pid}"


def stop_file(run_dir) -> Path:
    """The file whose presence asks the job training into ``run_dir`` to stop."""
    run_dir = Path(run_dir)
    return run_dir.parent / f".{run_dir.name}.stop"


def request_stop(run_dir) -> None:
    runs.write_text_atomic(stop_file(run_dir), runs.now_iso() + "\n")


def run_config(config: TrainConfig) -> Outcome:
    """Trains ``config`` (with its ``run_dir`` set) in this process; a stop file ends it early."""
    earlier = runs.read_json(Path(config.run_dir) / runs.META)
    if earlier is not None:
        return Outcome(_interrupted(config, earlier), socket.gethostname(), os.getpid())
    job = Job(config)
    flag = stop_file(config.run_dir)
    with _watching(flag, job):
        snapshot = job.run()
    _drop_if_empty(Path(config.run_dir))
    return Outcome(snapshot, socket.gethostname(), os.getpid())


@contextlib.contextmanager
def _watching(flag: Path, job: Job) -> Iterator[None]:
    """Calls ``job.stop()`` once ``flag`` exists (checked now, then every STOP_POLL_SECONDS); removes it after."""
    if flag.exists():
        job.stop()
    done = threading.Event()

    def watch():
        while not done.wait(STOP_POLL_SECONDS):
            if flag.exists():
                job.stop()
                return

    watcher = threading.Thread(target=watch, name="lab-stop-file", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()
        flag.unlink(missing_ok=True)


def _interrupted(config: TrainConfig, meta: dict) -> Snapshot:
    """The snapshot of a run whose first attempt died with its node; its meta.json says so from now on."""
    run_dir = Path(config.run_dir)
    if meta.get("status") in status.DONE:
        final, sentence = meta["status"], meta.get("error")
    else:
        final, sentence = status.INTERRUPTED, t("engine.node_lost", lang=config.lang)
        meta.update(status=final, error=sentence, finished=runs.now_iso())
        runs.write_json_atomic(run_dir / runs.META, meta)
    history = runs.read_csv(run_dir / runs.HISTORY)
    return Snapshot(name=meta.get("name"), status=final, epoch=len(history), epochs=config.epochs, history=history,
                    eta=0.0, messages=[sentence] if sentence else [], run_dir=str(run_dir), error=sentence,
                    best=meta.get("best"), class_names=list(meta.get("class_names") or []))


def _drop_if_empty(run_dir: Path) -> None:
    """Removes the claimed run folder of a job that ended before writing anything into it."""
    with contextlib.suppress(OSError):
        run_dir.rmdir()
