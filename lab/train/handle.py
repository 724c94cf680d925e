"""JobHandle: a job that trains in a worker process, as the page's server sees it.

The handle is what pages hold: ``snapshot()``, ``stop()``, ``wait()``, ``share()``, like ``lab.train.live.Job``.
The worker sends what changed (``Job.progress``) a few times a second; the handle keeps the latest state and
answers from it, so reading a snapshot never waits for the worker. A stop or a share goes to the worker through
``send``, which the pool sets when the job starts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from lab import ownership
from lab.i18n import t
from lab.train import runs, status
from lab.train.config import TrainConfig
from lab.train.live import JobBase, insert_batch_row
from lab.train.snapshot import Snapshot

if TYPE_CHECKING:
    from lab.train.manager import JobManager
    from lab.train.worker import JobOrder

_SCALARS = ("name", "epoch", "batch", "batches", "run_dir", "error", "user_error", "best", "class_names",
            "learning_rate", "diagnostics")


class JobHandle(JobBase):
    """A job of ``manager`` that a worker process trains. Public: the reading and control methods of ``Job``."""

    def __init__(self, config: TrainConfig, manager: JobManager | None = None):
        super().__init__(config, manager)
        self._send: Callable[[tuple], None] | None = None
        self.worker_pid: int | None = None
        self._stop_asked = False
        self.epoch = 0
        self.batch = 0
        self.batches: int | None = None
        self.run_dir: str | None = None
        self.error: str | None = None
        self.user_error = False
        self.best: dict | None = None
        self.metrics: dict | None = None
        self.class_names: list[str] = []
        self.learning_rate: float | None = None
        self.diagnostics: list = []
        self._batch_log: list[dict] = []
        self._history: list[dict] = []
        self._messages: list[str] = []
        self._diagnosis_log: list = []
        self._elapsed = 0.0
        self._eta: float | None = None
        self._received = time.monotonic()

    # ------------------------------------------------------------------------------------------------------------
    # reading, from any thread

    def snapshot(self) -> Snapshot:
        with self._lock:
            since = time.monotonic() - self._received
            elapsed, eta = self._elapsed, self._eta
            if self.status in (status.RUNNING, status.STOPPING):
                elapsed += since
                eta = None if eta is None else max(eta - since, 0.0)
            fields = dict(
                id=self.id, name=self.name, status=self.status, epoch=self.epoch, epochs=self.config.epochs,
                batch=self.batch, batches=self.batches, batch_log=list(self._batch_log), history=list(self._history),
                elapsed=elapsed, eta=0.0 if self.status in status.DONE else eta, messages=list(self._messages),
                diagnostics=list(self.diagnostics), diagnosis_log=list(self._diagnosis_log), run_dir=self.run_dir,
                error=self.error, metrics=self.metrics, best=dict(self.best) if self.best else None,
                class_names=list(self.class_names), learning_rate=self.learning_rate)
        return Snapshot(**fields, queue_position=self._place())

    # ------------------------------------------------------------------------------------------------------------
    # control, from any thread

    def stop(self, by: str = ownership.ANYONE) -> None:
        """Queued: removed from the queue. Running: ends after the current batch, keeping the best model."""
        if self._dequeued(by):
            return
        with self._lock:
            if self.status in status.DONE:
                return
            self._stop_asked = True
            if self.status == status.RUNNING:
                self.status = status.STOPPING  # the worker says so too, a moment later
            send = self._send
        if send is not None:
            send(("stop", self.id))

    def cancel(self) -> None:
        """Ends a job that never started (the manager took it out of its queue)."""
        with self._lock:
            self.status = status.STOPPED
            self._messages.append(t("train.job.removed_from_queue", lang=self.config.lang))
        self._done.set()

    def share(self, shared: bool, by: str = ownership.ANYONE) -> None:
        """Shows the job and its run to everyone, or to its owner only again."""
        ownership.check_change(self.owner, by)
        with self._lock:
            self.shared = bool(shared)
            send, done, run_dir = self._send, self.status in status.DONE, self.run_dir
        if done and run_dir:
            runs.set_shared(run_dir, self.shared)
        elif send is not None:
            send(("share", self.id, self.shared))

    # ------------------------------------------------------------------------------------------------------------
    # the pool's side

    def order(self) -> JobOrder:
        """What a worker needs to train this job: picklable (the config without in-process callbacks)."""
        from lab.train.worker import JobOrder

        return JobOrder(job_id=self.id, config=replace(self.config, callbacks=[]), shared=self.shared)

    def started(self, send: Callable[[tuple], None], pid: int | None = None) -> None:
        """The job went to worker process ``pid``; ``send`` reaches it. A stop asked in between follows at once."""
        with self._lock:
            self._send = send
            self.worker_pid = pid
            stop = self._stop_asked
        if stop:
            send(("stop", self.id))

    def apply(self, change: dict, final: bool = False) -> None:
        """Takes in what the worker reported (``Job.progress``)."""
        with self._lock:
            for key in _SCALARS:
                setattr(self, key, change[key])
            if "metrics" in change:
                self.metrics = change["metrics"]
            if not (self.status == status.STOPPING and change["status"] == status.RUNNING):
                self.status = change["status"]
            for row in change["new_batches"]:
                insert_batch_row(self._batch_log, row)
            self._history.extend(change["new_history"])
            self._messages.extend(change["new_messages"])
            self._diagnosis_log.extend(change["new_diagnosis_log"])
            self._elapsed, self._eta = change["elapsed"], change["eta"]
            self._received = time.monotonic()
            run_dir = self.run_dir
            if final:
                self._send = None
                if self.status not in status.DONE:
                    self.status = status.FAILED
        if run_dir:
            (status.mark_done if final else status.mark_training)(run_dir)
        if final:
            self._done.set()

    def lost(self, sentence: str) -> None:
        """The worker process ended in the middle of this job: the run is interrupted, its best weights kept."""
        with self._lock:
            if self.status in status.DONE:
                return
            self.status = status.INTERRUPTED
            self.error = sentence
            self._messages.append(sentence)
            self._send = None
            self._eta = 0.0
            run_dir = self.run_dir
        if run_dir:
            _mark_interrupted(Path(run_dir), sentence)
            status.mark_done(run_dir)
        self._done.set()


def _mark_interrupted(run_dir: Path, sentence: str) -> None:
    """Writes the interruption into the run's meta.json (the worker that would have is gone)."""
    meta = runs.read_json(run_dir / runs.META)
    if meta is None:
        return
    meta.update(status=status.INTERRUPTED, error=sentence, finished=runs.now_iso())
    try:
        runs.write_json_atomic(run_dir / runs.META, meta)
    except OSError:
        pass  # the run store still reads it as interrupted: the process named in meta.json is gone
