"""Training jobs: ``model.fit`` in a background thread, live snapshots, stop, a one-at-a-time queue.

    job = manager().submit(TrainConfig("Data/sketch-digits", presets.load("recommended"), epochs=5))
    job.snapshot()   # any thread, any time: status, epoch, batch, batch_log, history, eta, diagnostics, ...
    job.stop()       # ends after the current batch; the best model so far is kept

The manager is process-wide, so a page that reloads finds its running job again. TensorFlow is imported when a
job starts, not when this module is imported.
"""

from __future__ import annotations

import collections
import copy
import math
import os
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field, fields
from pathlib import Path

from lab.errors import LabError
from lab.train import diagnostics, runs

STATUSES = ("queued", "running", "stopping", "finished", "stopped", "failed")
ACTIVE = ("queued", "running", "stopping")
DONE = ("finished", "stopped", "failed")


def _default_early_stopping():
    return {"monitor": "val_loss", "patience": 3, "restore_best_weights": True}


def _default_checkpoint():
    return {"monitor": "val_loss", "mode": "auto", "save_best_only": True}


def _cardinality(dataset) -> int | None:
    try:
        steps = int(dataset.cardinality())
    except Exception:  # a dataset of unknown length: fall back to counting as Keras reports
        return None
    return steps if steps > 0 else None


def auto_steps_per_execution(batches: int | None) -> int:
    return min(8, max(1, (batches or 0) // 16))


@dataclass
class TrainConfig:
    """Everything a training run needs.

    data_path: dataset folder (Train/ and optionally Test/ of class folders, or class folders directly).
    spec: a spec dict, a preset name or a path to a spec JSON file.
    epochs, batch_size, seed, validation_split: as in Keras; the seed fixes weights, split and shuffling.
    early_stopping: EarlyStopping arguments (monitor, patience, restore_best_weights, ...) or None for none.
    checkpoint: monitor, mode and save_best_only of the atomic model checkpoint, or None to save only at the end.
    reduce_lr: ReduceLROnPlateau arguments (e.g. {"monitor": "val_loss", "factor": 0.5, "patience": 2}) or None.
    runs_root: where run folders go; run_dir: an exact folder to use instead (created if missing, must be empty).
    name: the run's display name (default: the spec's name). image_size, color_mode: override the dataset's.
    strategy: "auto" (default: one device, Mirrored with several GPUs, MultiWorker when TF_CONFIG is set),
    "default", "mirrored" or "multiworker".
    terminate_on_nan: stop at a NaN loss. evaluate: score the best model on Test (else validation) at the end.
    steps_per_execution: batches run per call into TensorFlow; several save most of a small network's per-batch
    overhead on a CPU, at the price of live batch metrics (and a stop) every that many batches. None picks one
    from the epoch's length (up to 8; 1 for epochs of fewer than 32 batches, where every point of the chart counts).
    """

    data_path: str
    spec: dict | str
    epochs: int = 10
    batch_size: int = 32
    seed: int | None = 1337
    validation_split: float = 0.2
    early_stopping: dict | None = field(default_factory=_default_early_stopping)
    checkpoint: dict | None = field(default_factory=_default_checkpoint)
    reduce_lr: dict | None = None
    runs_root: str = "runs"
    name: str | None = None
    image_size: tuple | list | None = None
    color_mode: str | None = None
    run_dir: str | None = None
    strategy: str = "auto"
    terminate_on_nan: bool = True
    evaluate: bool = True
    steps_per_execution: int | None = None
    callbacks: list = field(default_factory=list)  # extra Keras callbacks (not stored with the run)

    def check(self) -> None:
        """LabError with one sentence for a setting that cannot work."""
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise LabError(f"Epochs must be a whole number of 1 or more, not {self.epochs!r}.")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise LabError(f"The batch size must be a whole number of 1 or more, not {self.batch_size!r}.")
        if not (isinstance(self.validation_split, (int, float)) and 0 < self.validation_split < 1):
            raise LabError(f"The validation split must be between 0 and 1 (e.g. 0.2), not {self.validation_split!r}.")
        if self.seed is not None and (not isinstance(self.seed, int) or self.seed < 0):
            raise LabError(f"The seed must be a whole number of 0 or more, not {self.seed!r}.")
        if self.steps_per_execution is not None and (
                not isinstance(self.steps_per_execution, int) or self.steps_per_execution < 1):
            raise LabError("steps_per_execution must be a whole number of 1 or more, "
                           f"not {self.steps_per_execution!r}.")
        if self.strategy not in ("auto", "default", "mirrored", "multiworker"):
            raise LabError(f"Strategy {self.strategy!r} is unknown; use auto, default, mirrored or multiworker.")
        if not Path(self.data_path).is_dir():
            raise LabError(f"There is no dataset folder at {self.data_path}; check the path.")
        if self.run_dir:
            out = Path(self.run_dir)
            if out.exists() and not out.is_dir():
                raise LabError(f"The output {out} is a file, not a folder; choose a new --out folder.")
            if out.is_dir() and any(out.iterdir()):
                raise LabError(f"The output folder {out} is not empty; choose a new --out folder.")

    def summary(self) -> dict:
        out = {f.name: copy.deepcopy(getattr(self, f.name)) for f in fields(self)
               if f.name not in ("spec", "callbacks")}
        if out.get("image_size") is not None:
            out["image_size"] = list(out["image_size"])
        return out


class Job:
    """One training run. Public: ``snapshot()``, ``stop()``, ``wait(timeout)``, ``run()`` (in this thread)."""

    def __init__(self, config: TrainConfig, manager: JobManager | None = None):
        self.config = config
        self.id = uuid.uuid4().hex[:10]
        self._manager = manager
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._done = threading.Event()
        self.status = "queued"
        self.submitted = time.time()
        self._started = None  # monotonic
        self._fit_started = None
        self._finished = None
        self._epoch = 0  # 1-based epoch in progress (0 before the first)
        self._batch = 0
        self._batches = None
        self._epoch_started = None
        self._batch_log: list[dict] = []
        self._history: list[dict] = []
        self._messages: list[str] = []
        self._diagnostics: dict[str, dict] = {}
        self._diagnosis_log: list[dict] = []  # every diagnosis made, resolved ones included
        self._cut_short = False
        self._nan_at = None
        self.run_dir: Path | None = None
        self.error: str | None = None
        self.user_error = False  # True when the failure is a LabError (bad settings or data)
        self.metrics: dict | None = None
        self.best: dict | None = None
        self.class_names: list[str] = []
        self.name = config.name or (config.spec.get("name") if isinstance(config.spec, dict) else str(config.spec))
        self.model = None
        self._num_classes = 2
        self._learning_rate = None
        self._meta: dict = {}
        self._checkpoint = None
        self._batches_csv: runs.CsvAppender | None = None
        self._batches_written = 0

    # ------------------------------------------------------------------------------------------------------------
    # reading from any thread

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def snapshot(self) -> dict:
        """A consistent copy of the job's state; cheap enough to call every second from another thread.

        Keys: id, name, status (queued, running, stopping, finished, stopped, failed), epoch (1-based, 0 before
        the first), epochs, batch (batches done in this epoch), batches (per epoch, None until known),
        batch_log (list of {"epoch", "batch", "loss", metrics...}: Keras' running means within the epoch),
        history (list of {"epoch", "loss", metrics, "val_loss", val metrics, "learning_rate", "seconds"}),
        elapsed and eta (seconds; eta None while unknown), messages (list of str), diagnostics (the ones that
        hold now, as dicts: code, level, title, message, epoch), diagnosis_log (every diagnosis made),
        run_dir, error (one sentence or None), metrics (the final evaluation or None), best ({"epoch",
        "monitor", "value", "loss", "val_loss", ...} or None), class_names, learning_rate, queue_position
        (0 running, 1 next in line, ...; None when done).
        """
        with self._lock:
            now = time.monotonic()
            epochs = self.config.epochs
            elapsed = (now if self._finished is None else self._finished) - self._started if self._started else 0.0
            snap = {
                "id": self.id,
                "name": self.name,
                "status": self.status,
                "epoch": self._epoch,
                "epochs": epochs,
                "batch": self._batch,
                "batches": self._batches,
                "batch_log": list(self._batch_log),
                "history": list(self._history),
                "elapsed": elapsed,
                "eta": self._eta(now) if self.status in ("running", "stopping") else (0.0 if self.status in DONE
                                                                                      else None),
                "messages": list(self._messages),
                "diagnostics": list(self._diagnostics.values()),
                "diagnosis_log": list(self._diagnosis_log),
                "run_dir": str(self.run_dir) if self.run_dir else None,
                "error": self.error,
                "metrics": self.metrics,
                "best": dict(self.best) if self.best else None,
                "class_names": list(self.class_names),
                "learning_rate": self._learning_rate,
            }
        snap["queue_position"] = self._manager.queue_position(self) if self._manager else (
            0 if snap["status"] in ("running", "stopping") else None)
        return snap

    def _eta(self, now: float) -> float | None:
        if self._fit_started is None or not self._batches:
            return None
        epochs, batches = self.config.epochs, self._batches
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

    # ------------------------------------------------------------------------------------------------------------
    # control

    def stop(self) -> None:
        """Queued: removed from the queue. Running: ends after the current batch, keeping the best model."""
        if self._manager is not None and self._manager._cancel(self):
            return
        with self._lock:
            if self.status in DONE:
                return
            self._stop.set()
            if self.status == "running":
                self.status = "stopping"
                self._messages.append("Stopping after the current batch.")

    def wait(self, timeout: float | None = None) -> bool:
        """Blocks until the job is finished, stopped or failed; False on timeout."""
        return self._done.wait(timeout)

    def message(self, text: str) -> None:
        with self._lock:
            self._messages.append(text)

    def _diagnose(self, found) -> None:
        for item in found:
            if item is None:
                continue
            with self._lock:
                new = item.code not in self._diagnostics
                self._diagnostics[item.code] = item.to_dict()
                if new:
                    self._diagnosis_log.append(item.to_dict())
                    self._messages.append(f"{item.title}: {item.message}")

    def _resolve(self, codes, epoch: int) -> None:
        """Drops epoch diagnostics that no longer hold, with a message saying so."""
        with self._lock:
            for code in codes:
                if self._diagnostics.pop(code, None) is not None:
                    self._messages.append(f"Epoch {epoch}: {diagnostics.RESOLVED[code]}")

    # ------------------------------------------------------------------------------------------------------------
    # callbacks from the training thread (see lab.train.callbacks.LiveMetrics)

    def record_epoch_begin(self, epoch: int) -> None:
        with self._lock:
            self._epoch = epoch + 1
            self._batch = 0
            self._epoch_started = time.monotonic()

    def record_batch(self, epoch: int, batch: int, logs) -> bool:
        entry = dict(logs) if logs else {}
        entry["epoch"] = epoch + 1
        # With several steps per execution Keras may count past the epoch's last batch.
        entry["batch"] = min(batch + 1, self._batches) if self._batches else batch + 1
        batch = entry["batch"] - 1
        with self._lock:
            # Keras may hand batches to several threads; keep the log in batch order all the same.
            log = self._batch_log
            at = len(log)
            while at and log[at - 1]["epoch"] == entry["epoch"] and log[at - 1]["batch"] > entry["batch"]:
                at -= 1
            log.insert(at, entry) if at < len(log) else log.append(entry)
            self._batch = max(self._batch, batch + 1)
        loss = entry.get("loss")
        if loss is not None and not math.isfinite(loss) and self.config.terminate_on_nan:
            if self._nan_at is None:
                self._nan_at = (epoch + 1, batch + 1)
            return True
        if self._stop.is_set():
            self._cut_short = True
            return True
        return False

    def record_epoch_end(self, epoch: int, logs: dict) -> None:
        now = time.monotonic()
        if self._stop.is_set():
            self._cut_short = True
            if self.model is not None:
                self.model.stop_training = True
            self.message(f"Epoch {epoch + 1} was cut short by the stop; its partial results are not kept.")
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
            self._learning_rate = lr
        if self.run_dir is not None:
            runs.write_csv_atomic(self.run_dir / runs.HISTORY, history)
            # The batch log only grows: append this epoch's rows instead of rewriting every row so far.
            if self._batches_csv is None and new_batches:
                self._batches_csv = runs.CsvAppender(self.run_dir / runs.BATCHES, _batch_columns(new_batches))
            if new_batches:
                self._batches_csv.append(new_batches)
                self._batches_written += len(new_batches)
        found = diagnostics.check_epoch(history, self._num_classes, learning_rate=lr)
        self._diagnose(found)
        self._resolve(set(diagnostics.RESOLVED) - {item.code for item in found}, epoch + 1)

    def _read_learning_rate(self):
        try:
            import keras

            return float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        except Exception:
            return None

    def _on_checkpoint(self, epoch: int, value: float, improved: bool) -> None:
        if not improved:
            return
        row = next((r for r in reversed(self._history) if r.get("epoch") == epoch), {})
        best = {"epoch": epoch, "monitor": (self.config.checkpoint or {}).get("monitor", "val_loss"), "value": value}
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            if key in row:
                best[key] = row[key]
        with self._lock:
            self.best = best
        self._write_meta(best=best)

    # ------------------------------------------------------------------------------------------------------------
    # the run itself

    def run(self, extra_callbacks=None) -> dict:
        """Trains in the calling thread (the manager calls this in its worker); returns the final snapshot."""
        try:
            self._execute(extra_callbacks or [])
        except BaseException as error:  # a job failure must never take the process down
            self._fail(error)
            if not isinstance(error, Exception):
                raise
        finally:
            with self._lock:
                self._finished = time.monotonic()
            self._done.set()
        return self.snapshot()

    def _set_status(self, status: str) -> None:
        with self._lock:
            self.status = status

    def _fail(self, error: BaseException) -> None:
        if isinstance(error, LabError):
            sentence = str(error)
        elif isinstance(error, KeyboardInterrupt):
            sentence = "Training was interrupted."
        else:
            first = (str(error).strip().splitlines() or [""])[0][:300]
            sentence = f"Training failed with {type(error).__name__}: {first}" if first else \
                f"Training failed with {type(error).__name__}."
        details = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        with self._lock:
            self.status = "failed"
            self.error = sentence
            self.user_error = isinstance(error, LabError)
            self._messages.append(sentence)
            if not isinstance(error, LabError):
                self._messages.append(details)
        try:
            self._save_final_model()
        except Exception:
            pass  # best.weights.npz stays, and the run still loads from it
        try:
            self._write_meta(status="failed", error=sentence, finished=runs.now_iso())
        except Exception:
            pass

    def _save_final_model(self) -> bool:
        """Writes model.keras from the checkpoint's weights file, then drops that file; False when there is none."""
        checkpoint, model = self._checkpoint, self.model
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

    def _write_meta(self, **updates) -> None:
        if self.run_dir is None:
            return
        with self._lock:
            self._meta.update(updates)
            meta = dict(self._meta)
        runs.write_json_atomic(self.run_dir / runs.META, meta)

    def _execute(self, extra_callbacks) -> None:
        config = self.config
        with self._lock:
            if self._stop.is_set():
                self.status = "stopped"
                return
            self.status = "running"
            self._started = time.monotonic()
        config.check()
        spec = config.spec
        if isinstance(spec, str):
            from lab.presets import resolve

            spec = resolve(spec)
        from lab.spec import validate

        validate(spec, batch_size=config.batch_size)  # memory too, for this batch size
        self.message("Starting TensorFlow and loading the data.")

        strategy = make_strategy(config.strategy)
        import keras
        import tensorflow as tf

        from lab.build import build_model
        from lab.train import callbacks as cbs
        from lab.train import data_access
        from lab.train.labels import prepare_spec

        data_classes = data_access.class_names_of(config.data_path)
        spec_for_labels = prepare_spec(spec, spec.get("input_shape") or [28, 28, 1], max(len(data_classes), 2))
        label_mode = spec_for_labels[1]
        if config.seed is not None:
            keras.utils.set_random_seed(int(config.seed))
        loaded = data_access.load_for_training(
            config.data_path, batch_size=config.batch_size, validation_split=config.validation_split,
            seed=config.seed if config.seed is not None else 1337, label_mode=label_mode,
            image_size=config.image_size, color_mode=config.color_mode)
        for warning in getattr(loaded, "warnings", None) or []:
            self.message(str(warning))
        class_names = list(loaded.class_names)
        spec, label_mode, notes = prepare_spec(spec, loaded.input_shape, len(class_names))
        for note in notes:
            self.message(note)
        with self._lock:
            self.class_names = class_names
            self._num_classes = len(class_names)

        train, val, test = loaded.train, loaded.val, getattr(loaded, "test", None)
        if strategy.num_replicas_in_sync > 1 or _is_multiworker(strategy):
            train, val, test = (_shard_by_data(ds) for ds in (train, val, test))
            replicas = strategy.num_replicas_in_sync
            self.message(f"Training on {replicas} replica{'s' if replicas != 1 else ''} with "
                         f"{strategy_name(strategy)}; each step splits a batch of {config.batch_size} between them.")

        self._batches = _cardinality(train)
        steps_per_execution = config.steps_per_execution or auto_steps_per_execution(self._batches)
        with strategy.scope():
            model = build_model(spec, seed=config.seed, steps_per_execution=steps_per_execution)
        self.model = model

        chief = _is_chief(strategy)
        self.run_dir = self._make_run_dir(chief)
        preprocessing = dict(getattr(loaded, "preprocessing", None) or {})
        preprocessing.setdefault("image_size", list(loaded.input_shape[:2]))
        preprocessing.setdefault("color_mode", "grayscale" if loaded.input_shape[2] == 1 else "rgb")
        self._meta = {
            "name": self.name,
            "id": self.run_dir.name,
            "created": runs.now_iso(),
            "finished": None,
            "status": "running",
            "dataset": {"name": Path(config.data_path).resolve().name, "path": str(Path(config.data_path).resolve())},
            "class_names": class_names,
            "input_shape": list(loaded.input_shape),
            "label_mode": label_mode,
            "preprocessing": preprocessing,
            "seed": config.seed,
            "config": _json_config(config),
            "versions": runs.versions(),
            "strategy": {"name": strategy_name(strategy), "replicas": int(strategy.num_replicas_in_sync)},
            **runs.process_tag(),
        }
        runs.write_json_atomic(self.run_dir / runs.SPEC, spec)
        self._write_meta()

        max_pixel = _max_pixel(train, tf)
        if max_pixel is not None:
            self._diagnose([diagnostics.check_inputs(spec, max_pixel)])

        weights_path = self.run_dir / runs.WEIGHTS
        callback_list = [cbs.LiveMetrics(self)]  # records, stops on request and on a NaN loss
        early = None
        if config.early_stopping:
            early = keras.callbacks.EarlyStopping(**_monitor_defaults(config.early_stopping, val is not None))
            callback_list.append(cbs.FullEpochsOnly(early, lambda: self._cut_short))
        if config.reduce_lr:
            callback_list.append(cbs.FullEpochsOnly(
                keras.callbacks.ReduceLROnPlateau(**_monitor_defaults(config.reduce_lr, val is not None)),
                lambda: self._cut_short))
        checkpoint = None
        if config.checkpoint is not None:
            settings = _monitor_defaults(config.checkpoint, val is not None)
            checkpoint = cbs.AtomicCheckpoint(weights_path, monitor=settings.get("monitor", "val_loss"),
                                              mode=settings.get("mode", "auto"),
                                              save_best_only=settings.get("save_best_only", True),
                                              on_save=self._on_checkpoint, on_message=self.message)
            callback_list.append(cbs.FullEpochsOnly(checkpoint, lambda: self._cut_short))
        self._checkpoint = checkpoint
        callback_list.extend(config.callbacks)
        callback_list.extend(extra_callbacks)

        if self._stop.is_set():
            self._finish(model, None, loaded, class_names, checkpoint, early, stopped=True)
            return
        self.message(f"Training {len(class_names)} classes for up to {config.epochs} epochs.")
        with self._lock:
            self._fit_started = time.monotonic()
        model.fit(train, validation_data=val, epochs=config.epochs, callbacks=callback_list, verbose=0,
                  shuffle=False)
        self._finish(model, test, loaded, class_names, checkpoint, early, stopped=self._stop.is_set())

    def _make_run_dir(self, chief: bool) -> Path:
        config = self.config
        if not chief:
            import tempfile

            return Path(tempfile.mkdtemp(prefix="lab-worker-run-"))
        if config.run_dir:
            path = Path(config.run_dir)
            try:
                if path.exists() and (not path.is_dir() or any(path.iterdir())):
                    raise LabError(f"The output {path} is a file or a folder that is not empty; choose a new "
                                   "--out folder.")
                path.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise LabError(f"The output folder {path} cannot be made ({error.strerror or type(error).__name__}); "
                               "choose another --out folder.") from None
            return path
        return runs.new_run_dir(config.runs_root, self.name or "run")

    def _finish(self, model, test, loaded, class_names, checkpoint, early, stopped: bool) -> None:
        nan = self._nan_at
        if nan is not None:
            self._diagnose([diagnostics.nan_loss(nan[0], nan[1], self._learning_rate or _spec_lr(self.config))])
        kept = None
        if checkpoint is not None and checkpoint.best_weights is not None:
            self._save_final_model()
            model.set_weights(checkpoint.best_weights)
            kept = checkpoint.best_epoch
        elif nan is None and self._batch_log:
            runs.save_model_atomic(model, self.run_dir / runs.MODEL)
        if early is not None and getattr(early, "stopped_epoch", 0) > 0:
            self.message(f"Early stopping: {early.monitor} stopped improving, so training ended after epoch "
                         f"{early.stopped_epoch + 1}.")
        if kept is not None:
            self.message(f"Kept the best model, from epoch {kept}.")

        status = "stopped" if stopped or nan is not None else "finished"
        if nan is not None and kept is None:
            status = "failed"
            with self._lock:
                self.error = self._diagnostics["nan_loss"]["message"]

        metrics = None
        if self.config.evaluate and status != "failed" and (self.run_dir / runs.MODEL).is_file():
            self.message("Evaluating the best model.")
            metrics = self._evaluate(model, test, loaded, class_names)
            if metrics is not None:
                runs.write_json_atomic(self.run_dir / runs.METRICS, metrics)
        with self._lock:
            self.metrics = metrics
            self.status = status
            durations = {"total_seconds": time.monotonic() - (self._started or time.monotonic()),
                         "fit_seconds": time.monotonic() - self._fit_started if self._fit_started else 0.0,
                         "epochs_done": len(self._history)}
        self._write_meta(status=status, finished=runs.now_iso(), durations=durations, best=self.best,
                         error=self.error, epochs_done=len(self._history),
                         test_accuracy=(metrics or {}).get("accuracy"))

    def _evaluate(self, model, test, loaded, class_names):
        from lab.train import data_access
        from lab.train.evaluate import evaluate

        preprocessing = self._meta.get("preprocessing") or {}
        if test is not None:
            try:
                dataset, data_classes, _ = data_access.split_dataset(
                    self.config.data_path, "Test", preprocessing, batch_size=max(self.config.batch_size, 64))
                result = evaluate(model, dataset, data_classes, class_names, files=dataset.used, split="Test")
                if dataset.skipped:
                    self.message(data_access.skipped_sentence(dataset.skipped))
                return result
            except LabError as error:
                self.message(f"Evaluating with file names failed ({error}); using the loader's test split.")
            return evaluate(model, test, class_names, class_names, split="Test")
        if loaded.val is not None:
            self.message("The dataset has no Test split, so the scores below are on the validation images.")
            return evaluate(model, loaded.val, class_names, class_names, split="validation")
        return None


def _batch_columns(batch_log: list[dict]) -> list[str]:
    columns = ["epoch", "batch"]
    for row in batch_log[:1] + batch_log[-1:]:
        for key in row:
            if key not in columns:
                columns.append(key)
    return columns


def _json_config(config: TrainConfig) -> dict:
    out = config.summary()
    out["data_path"] = str(out["data_path"])
    if isinstance(config.spec, str):
        out["spec_source"] = config.spec
    return out


def _spec_lr(config: TrainConfig):
    spec = config.spec if isinstance(config.spec, dict) else {}
    optimizer = (spec.get("compile") or {}).get("optimizer") or {}
    return optimizer.get("learning_rate") if isinstance(optimizer, dict) else None


def _monitor_defaults(settings: dict, has_val: bool) -> dict:
    settings = dict(settings)
    monitor = settings.get("monitor", "val_loss")
    if not has_val and monitor.startswith("val_"):
        settings["monitor"] = monitor[4:]
    settings.setdefault("monitor", "val_loss" if has_val else "loss")
    return settings


def _max_pixel(dataset, tf):
    try:
        for images, _ in dataset.take(1):
            return float(tf.reduce_max(images))
    except Exception:
        return None
    return None


def make_strategy(kind: str = "auto"):
    """A tf.distribute strategy: "auto" follows lab.build.make_strategy (TF_CONFIG means multi-worker)."""
    import tensorflow as tf

    if kind == "multiworker":
        if not os.environ.get("TF_CONFIG"):
            raise LabError("Multi-worker training needs the TF_CONFIG environment variable on every machine; "
                           "see docs/distributed.md.")
        return tf.distribute.MultiWorkerMirroredStrategy()
    if kind == "mirrored":
        return tf.distribute.MirroredStrategy()
    if kind == "default":
        return tf.distribute.get_strategy()
    from lab.build import make_strategy as auto

    return auto()


def _is_multiworker(strategy) -> bool:
    import tensorflow as tf

    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def strategy_name(strategy) -> str:
    """The public tf.distribute name of a strategy (MultiWorkerMirroredStrategy, MirroredStrategy, ...)."""
    if _is_multiworker(strategy):
        return "MultiWorkerMirroredStrategy"
    name = type(strategy).__name__
    return "default" if name.startswith("_Default") else name


def _is_chief(strategy) -> bool:
    if not _is_multiworker(strategy):
        return True
    resolver = getattr(strategy, "cluster_resolver", None)
    task_type = getattr(resolver, "task_type", None)
    task_id = getattr(resolver, "task_id", 0)
    return task_type in (None, "chief") or (task_type == "worker" and task_id == 0 and
                                            "chief" not in (resolver.cluster_spec().as_dict() or {}))


def _shard_by_data(dataset):
    if dataset is None:
        return None
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


# ----------------------------------------------------------------------------------------------------------------
# the process-wide manager


class JobManager:
    """Runs one job at a time in a background thread; later jobs wait in a queue."""

    def __init__(self, keep: int = 20):
        self.keep = keep
        self._lock = threading.Lock()
        self._jobs: list[Job] = []
        self._queue: collections.deque[Job] = collections.deque()
        self._current: Job | None = None
        self._worker: threading.Thread | None = None

    def submit(self, config: TrainConfig) -> Job:
        """Queues a job and returns it at once; it starts when the jobs before it are done."""
        job = Job(config, manager=self)
        with self._lock:
            self._jobs.append(job)
            self._queue.append(job)
            self._trim()
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="lab-train-worker", daemon=True)
                self._worker.start()
        return job

    def _trim(self) -> None:
        while len(self._jobs) > self.keep:
            for old in self._jobs:
                if old.status in DONE:
                    self._jobs.remove(old)
                    break
            else:
                return

    def _work(self) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    self._current = None
                    self._worker = None
                    return
                job = self._queue.popleft()
                self._current = job
            try:
                job.run()
            except BaseException:
                pass
            finally:
                with self._lock:
                    self._current = None

    def _cancel(self, job: Job) -> bool:
        with self._lock:
            if job in self._queue:
                self._queue.remove(job)
                job._stop.set()
                with job._lock:
                    job.status = "stopped"
                    job._messages.append("Removed from the queue before it started.")
                job._done.set()
                return True
        return False

    def queue_position(self, job: Job) -> int | None:
        """0 for the running job, 1 for the next in line, ...; None when the job is done."""
        with self._lock:
            if job is self._current:
                return 0
            try:
                return self._queue.index(job) + 1
            except ValueError:
                return None

    def jobs(self) -> list[Job]:
        """Recent jobs, newest first (finished ones included)."""
        with self._lock:
            return list(reversed(self._jobs))

    def current(self) -> Job | None:
        """The job training now, or None."""
        with self._lock:
            return self._current

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return next((job for job in self._jobs if job.id == job_id), None)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Blocks until no job runs or waits; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                idle = self._current is None and not self._queue
            if idle:
                return True
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.05)


_MANAGER: JobManager | None = None
_MANAGER_LOCK = threading.Lock()


def manager() -> JobManager:
    """The process-wide JobManager (created on first use)."""
    global _MANAGER
    with _MANAGER_LOCK:
        if _MANAGER is None:
            _MANAGER = JobManager()
        return _MANAGER


def is_active_run(run_dir) -> bool:
    """True when a job of this process is queued, running or stopping with ``run_dir`` as its folder."""
    if _MANAGER is None:
        return False
    try:
        target = Path(run_dir).resolve()
    except OSError:
        return False
    for job in _MANAGER.jobs():
        if job.run_dir is not None and job.status in ACTIVE and Path(job.run_dir).resolve() == target:
            return True
    return False
