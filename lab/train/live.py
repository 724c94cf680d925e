"""Job: one training run's live state. Any thread reads a ``Snapshot`` of it or asks it to stop; the training
thread records batches and epochs into it (``lab.train.callbacks.LiveMetrics``) and runs ``lab.train.pipeline``.

    job = Job(TrainConfig("Data/sketch-digits", presets.load("recommended"), epochs=5))
    job.run()        # trains in this thread; lab.train.manager runs jobs in worker processes instead
    job.snapshot()   # any thread, any time
    job.stop()       # ends after the current batch; the best model so far is kept

``progress(cursor)`` gives what changed since the last call as plain data, so another process can mirror the job
(``lab.train.handle.JobHandle``); both sides keep the batch log in order with ``insert_batch_row``.
"""

from __future__ import annotations

import math
import os
import threading
import time
import traceback
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from lab import i18n, ownership
from lab.errors import LabError
from lab.i18n import t
from lab.train import diagnostics, pipeline, runs, status
from lab.train.config import TrainConfig
from lab.train.diagnostics import Diagnosis
from lab.train.snapshot import Snapshot

if TYPE_CHECKING:
    from lab.train.manager import JobManager


def new_job_id() -> str:
    return uuid.uuid4().hex[:10]


def insert_batch_row(log: list[dict], entry: dict) -> None:
    """Appends a batch row, or inserts it before the rows of later batches of its epoch that came first.

    Keras may hand batches to several threads; the log stays in batch order all the same.
    """
    at = len(log)
    while at and log[at - 1]["epoch"] == entry["epoch"] and log[at - 1]["batch"] > entry["batch"]:
        at -= 1
    log.insert(at, entry) if at < len(log) else log.append(entry)


def job_name(config: TrainConfig) -> str | None:
    """The run's name as asked, else the spec's, a preset's or file's; for a fine-tune, its run's folder until the
    job reads the run."""
    if config.name:
        return config.name
    if isinstance(config.spec, dict):
        return config.spec.get("name")
    if config.spec is None and config.from_run:
        return t("finetune.run_name", name=Path(config.from_run).name)
    return str(config.spec)


class JobBase:
    """What every kind of job shares: who asked for it, its name and status, and the wait for its end.

    ``Job`` trains in this process, ``lab.train.handle.JobHandle`` mirrors one in a worker process and
    ``lab.train.engine_jobs.EngineJob`` one on a cluster; the manager and the pages treat them alike.
    """

    def __init__(self, config: TrainConfig, manager: JobManager | None = None, job_id: str | None = None):
        self.config = config
        self.id = job_id or new_job_id()
        self.owner = config.owner
        self.shared = False
        self.submitted = time.time()
        self.name = job_name(config)
        self.status = status.QUEUED
        self._manager = manager
        self._lock = threading.Lock()
        self._done = threading.Event()

    def wait(self, timeout: float | None = None) -> bool:
        """Blocks until the job is finished, stopped, failed or interrupted; False on timeout."""
        return self._done.wait(timeout)

    def _place(self) -> int | None:
        """Its place in the manager's queue: 0 while it trains, 1, 2, ... while it waits; None when done."""
        return self._manager.queue_position(self) if self._manager is not None else None

    def _dequeued(self, by: str) -> bool:
        """The start of every ``stop()``: LabError unless ``by`` may stop it; True when it was only queued and the
        manager took it out of its queue (nothing more to do)."""
        ownership.check_change(self.owner, by)
        return self._manager is not None and self._manager.cancel(self)


class Job(JobBase):
    """One training run. Public: ``snapshot()``, ``stop()``, ``wait(timeout)``, ``run()`` (in this thread)."""

    def __init__(self, config: TrainConfig, manager: JobManager | None = None, job_id: str | None = None):
        super().__init__(config, manager, job_id)
        self._stop = threading.Event()
        self._started = None  # monotonic
        self._fit_started = None
        self._finished = None
        self._epoch = 0  # 1-based epoch in progress (0 before the first)
        self._batch = 0
        self.batches: int | None = None  # per epoch, once the data is loaded
        self._epoch_started = None
        self._batch_log: list[dict] = []
        self._arrivals: list[dict] = []  # the batch log's rows in the order they came (``progress`` sends them)
        self._history: list[dict] = []
        self._messages: list[str] = []
        self._diagnostics: dict[str, Diagnosis] = {}
        self._diagnosis_log: list[Diagnosis] = []  # every diagnosis made, resolved ones included
        self.cut_short = False  # the epoch in progress ended early because of a stop
        self.nan_at: tuple[int, int] | None = None  # (epoch, batch) of the first NaN loss
        self.run_dir: Path | None = None
        self.error: str | None = None
        self.user_error = False  # True when the failure is a LabError (bad settings or data)
        self.metrics: dict | None = None
        self.best: dict | None = None
        self.class_names: list[str] = []
        self.model = None
        self.checkpoint = None  # the AtomicCheckpoint, once training has started
        self._num_classes = 2
        self.learning_rate = None
        self._meta: dict = {}
        self._batches_csv: runs.CsvAppender | None = None
        self._batches_written = 0

    # ------------------------------------------------------------------------------------------------------------
    # reading from any thread

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def snapshot(self) -> Snapshot:
        """A consistent copy of the job's state; cheap enough to call every second from another thread."""
        with self._lock:
            now = time.monotonic()
            elapsed = (now if self._finished is None else self._finished) - self._started if self._started else 0.0
            if self.status in (status.RUNNING, status.STOPPING):
                eta = self._eta(now)
            else:
                eta = 0.0 if self.status in status.DONE else None
            fields = dict(
                id=self.id, name=self.name, status=self.status, epoch=self._epoch, epochs=self.config.epochs,
                batch=self._batch, batches=self.batches, batch_log=list(self._batch_log),
                history=list(self._history), elapsed=elapsed, eta=eta, messages=list(self._messages),
                diagnostics=list(self._diagnostics.values()), diagnosis_log=list(self._diagnosis_log),
                run_dir=str(self.run_dir) if self.run_dir else None, error=self.error, metrics=self.metrics,
                best=dict(self.best) if self.best else None, class_names=list(self.class_names),
                learning_rate=self.learning_rate)
        if self._manager is not None:
            place = self._place()
        else:
            place = 0 if fields["status"] in (status.RUNNING, status.STOPPING) else None
        return Snapshot(**fields, queue_position=place)

    def _eta(self, now: float) -> float | None:
        if self._fit_started is None or not self.batches:
            return None
        epochs, batches = self.config.epochs, self.batches
        epoch_seconds = [row["seconds"] for row in self._history if isinstance(row.get("seconds"), (int, float))]
        in_epoch = now - self._epoch_started if self._epoch_started else 0.0
        if epoch_seconds:
            per_epoch = sum(epoch_seconds) / len(epoch_seconds)
            per_batch = per_epoch / batches
        elif self._batch:
            per_batch = in_epoch / self._batch
            per_epoch = per_batch * batches
        else:
            return None
        remaining_here = max(per_epoch - in_epoch, per_batch * (batches - self._batch), 0.0)
        return remaining_here + max(epochs - max(self._epoch, 1), 0) * per_epoch

    @property
    def epochs_done(self) -> int:
        with self._lock:
            return len(self._history)

    @property
    def has_batches(self) -> bool:
        with self._lock:
            return bool(self._batch_log)

    def progress(self, cursor: dict | None = None) -> tuple[dict, dict]:
        """(what changed since ``cursor``, the next cursor): plain, picklable data for a mirror in another process.

        The lists that only grow (batch rows in their order of arrival, history, messages, the diagnosis log)
        come as their new items; the rest whole. ``elapsed`` and ``eta`` are as of this call.
        """
        cursor = dict(cursor or {"batches": 0, "history": 0, "messages": 0, "log": 0, "metrics": False})
        snap = self.snapshot()
        with self._lock:
            arrivals = self._arrivals[cursor["batches"]:]
            user_error = self.user_error
        change = {
            "status": snap.status, "name": snap.name, "epoch": snap.epoch, "batch": snap.batch,
            "batches": snap.batches, "elapsed": snap.elapsed, "eta": snap.eta, "run_dir": snap.run_dir,
            "error": snap.error, "user_error": user_error, "best": snap.best, "class_names": snap.class_names,
            "learning_rate": snap.learning_rate, "diagnostics": snap.diagnostics,
            "new_batches": arrivals, "new_history": snap.history[cursor["history"]:],
            "new_messages": snap.messages[cursor["messages"]:],
            "new_diagnosis_log": snap.diagnosis_log[cursor["log"]:],
        }
        if snap.metrics is not None and not cursor["metrics"]:
            change["metrics"] = snap.metrics
        cursor.update(batches=cursor["batches"] + len(arrivals), history=len(snap.history),
                      messages=len(snap.messages), log=len(snap.diagnosis_log),
                      metrics=cursor["metrics"] or snap.metrics is not None)
        return change, cursor

    # ------------------------------------------------------------------------------------------------------------
    # control (any thread: the words are in the job's language, not the caller's)

    def stop(self, by: str = ownership.ANYONE) -> None:
        """Queued: removed from the queue. Running: ends after the current batch, keeping the best model.

        ``by``: who asks (``lab.ownership``); LabError when it is not their job.
        """
        if self._dequeued(by):
            return
        with self._lock:
            if self.status in status.DONE:
                return
            self._stop.set()
            if self.status == status.RUNNING:
                self.status = status.STOPPING
                self._messages.append(t("train.job.stopping", lang=self.config.lang))

    def cancel(self) -> None:
        """Ends a job that never started (the manager took it out of its queue)."""
        self._stop.set()
        with self._lock:
            self.status = status.STOPPED
            self._messages.append(t("train.job.removed_from_queue", lang=self.config.lang))
        self._done.set()

    def share(self, shared: bool, by: str = ownership.ANYONE) -> None:
        """Shows the job and its run to everyone (or to its owner only again); LabError when it is not ``by``'s."""
        ownership.check_change(self.owner, by)
        self.shared = bool(shared)
        self.write_meta(shared=self.shared)

    # ------------------------------------------------------------------------------------------------------------
    # the training thread

    def message(self, text: str) -> None:
        with self._lock:
            self._messages.append(text)

    def diagnose(self, found) -> None:
        for item in found:
            if item is None:
                continue
            with self._lock:
                new = item.code not in self._diagnostics
                self._diagnostics[item.code] = item
                if new:
                    self._diagnosis_log.append(item)
                    self._messages.append(f"{item.title}: {item.message}")

    def diagnosis(self, code: str) -> Diagnosis | None:
        with self._lock:
            return self._diagnostics.get(code)

    def _resolve(self, codes, epoch: int) -> None:
        """Drops epoch diagnostics that no longer hold, with a message saying so."""
        with self._lock:
            for code in codes:
                if self._diagnostics.pop(code, None) is not None:
                    self._messages.append(diagnostics.resolved_message(code, epoch))

    def begin(self) -> bool:
        """Marks the job running; False when a stop came first (the job then ends as stopped)."""
        with self._lock:
            if self._stop.is_set():
                self.status = status.STOPPED
                return False
            self.status = status.RUNNING
            self._started = time.monotonic()
            return True

    def learned_classes(self, class_names: list[str]) -> None:
        with self._lock:
            self.class_names = list(class_names)
            self._num_classes = len(class_names)

    def open_run(self, run_dir: Path, meta: dict) -> None:
        """The run folder exists: the run store counts it as training until the job ends."""
        status.mark_training(run_dir)
        if self.owner is not None:
            meta = {**meta, "owner": self.owner, "shared": self.shared}
        with self._lock:
            self._meta = dict(meta)
        runs.write_json_atomic(run_dir / runs.META, dict(meta))
        self.run_dir = run_dir  # only now does the snapshot name the folder: its record is on disk

    def fit_begins(self) -> None:
        with self._lock:
            self._fit_started = time.monotonic()

    def end(self, final_status: str, metrics: dict | None, error: str | None = None) -> dict:
        """Sets the final status and evaluation; returns how long it took."""
        with self._lock:
            self.metrics = metrics
            self.status = final_status
            if error is not None:
                self.error = error
            now = time.monotonic()
            return {"total_seconds": now - (self._started or now),
                    "fit_seconds": now - self._fit_started if self._fit_started else 0.0,
                    "epochs_done": len(self._history)}

    def preprocessing(self) -> dict:
        with self._lock:
            return dict(self._meta.get("preprocessing") or {})

    def record_epoch_begin(self, epoch: int) -> None:
        with self._lock:
            self._epoch = epoch + 1
            self._batch = 0
            self._epoch_started = time.monotonic()

    def record_batch(self, epoch: int, batch: int, logs) -> bool:
        entry = dict(logs) if logs else {}
        entry["epoch"] = epoch + 1
        # With several steps per execution Keras may count past the epoch's last batch.
        entry["batch"] = min(batch + 1, self.batches) if self.batches else batch + 1
        batch = entry["batch"] - 1
        with self._lock:
            insert_batch_row(self._batch_log, entry)
            self._arrivals.append(entry)
            self._batch = max(self._batch, batch + 1)
        loss = entry.get("loss")
        if loss is not None and not math.isfinite(loss) and self.config.terminate_on_nan:
            if self.nan_at is None:
                self.nan_at = (epoch + 1, batch + 1)
            return True
        if self._stop.is_set():
            self.cut_short = True
            return True
        return False

    def record_epoch_end(self, epoch: int, logs: dict) -> None:
        now = time.monotonic()
        if self._stop.is_set():
            self.cut_short = True
            if self.model is not None:
                self.model.stop_training = True
            self.message(t("train.job.epoch_cut_short", epoch=epoch + 1))
            return
        lr = self._read_learning_rate()
        row = {"epoch": epoch + 1}
        row.update({k: float(v) for k, v in logs.items() if isinstance(v, (int, float)) and k != "learning_rate"})
        row["learning_rate"] = lr
        row["seconds"] = now - (self._epoch_started or now)
        with self._lock:
            self._history.append(row)
            history = list(self._history)
            new_batches = self._batch_log[self._batches_written:]
            self.learning_rate = lr
        if self.run_dir is not None:
            runs.write_csv_atomic(self.run_dir / runs.HISTORY, history)
            # The batch log only grows: append this epoch's rows instead of rewriting every row so far.
            if self._batches_csv is None and new_batches:
                self._batches_csv = runs.CsvAppender(self.run_dir / runs.BATCHES, _batch_columns(new_batches))
            if new_batches:
                self._batches_csv.append(new_batches)
                self._batches_written += len(new_batches)
        found = diagnostics.check_epoch(history, self._num_classes, learning_rate=lr)
        self.diagnose(found)
        self._resolve(set(diagnostics.RESOLVED) - {item.code for item in found}, epoch + 1)

    def _read_learning_rate(self):
        try:
            import keras

            return float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        except Exception:
            return None

    def on_checkpoint(self, epoch: int, value: float, improved: bool) -> None:
        if not improved:
            return
        row = next((r for r in reversed(self._history) if r.get("epoch") == epoch), {})
        best = {"epoch": epoch, "monitor": (self.config.checkpoint or {}).get("monitor", "val_loss"), "value": value}
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            if key in row:
                best[key] = row[key]
        with self._lock:
            self.best = best
        self.write_meta(best=best)

    # ------------------------------------------------------------------------------------------------------------
    # the run itself

    def run(self, extra_callbacks=None) -> Snapshot:
        """Trains in the calling thread, speaking the config's language; returns the final snapshot."""
        with i18n.speaking(self.config.lang):
            try:
                pipeline.train(self, extra_callbacks or [])
            except BaseException as error:  # a job failure must never take the process down
                self._fail(error)
                if not isinstance(error, Exception):
                    raise
            finally:
                with self._lock:
                    self._finished = time.monotonic()
                if self.run_dir is not None:
                    status.mark_done(self.run_dir)
                self._done.set()
        return self.snapshot()

    def _fail(self, error: BaseException) -> None:
        if isinstance(error, LabError):
            sentence = str(error)
        elif isinstance(error, KeyboardInterrupt):
            sentence = t("train.job.interrupted")
        else:
            first = (str(error).strip().splitlines() or [""])[0][:300]
            sentence = (t("train.job.crashed_with", kind=type(error).__name__, detail=first) if first
                        else t("train.job.crashed", kind=type(error).__name__))
        details = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        with self._lock:
            self.status = status.FAILED
            self.error = sentence
            self.user_error = isinstance(error, LabError)
            self._messages.append(sentence)
            if not isinstance(error, LabError):
                self._messages.append(details)
        try:
            self.save_final_model()
        except Exception:
            pass  # best.weights.npz stays, and the run still loads from it
        try:
            self.write_meta(status=status.FAILED, error=sentence, finished=runs.now_iso())
        except Exception:
            pass

    def save_final_model(self) -> bool:
        """Writes model.keras from the checkpoint's weights file, then drops that file; False when there is none."""
        checkpoint, model = self.checkpoint, self.model
        if self.run_dir is None or model is None or checkpoint is None or checkpoint.saved_weights is None:
            return False
        if not (self.run_dir / runs.MODEL).is_file():
            model.set_weights(checkpoint.saved_weights)
            runs.save_model_atomic(model, self.run_dir / runs.MODEL)
        try:
            os.unlink(self.run_dir / runs.WEIGHTS)
        except OSError:
            pass
        return True

    def write_meta(self, **updates) -> None:
        if self.run_dir is None:
            return
        with self._lock:
            self._meta.update(updates)
            meta = dict(self._meta)
        runs.write_json_atomic(self.run_dir / runs.META, meta)


def _batch_columns(batch_log: list[dict]) -> list[str]:
    columns = ["epoch", "batch"]
    for row in batch_log[:1] + batch_log[-1:]:
        for key in row:
            if key not in columns:
                columns.append(key)
    return columns
