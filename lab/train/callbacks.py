"""Keras callbacks of a training job: live metrics and stop, atomic checkpoints, a gate for cut-short epochs.

Imported only on the training path (it imports Keras).
"""

from __future__ import annotations

import math
import sys
import time

import keras

from lab import i18n
from lab.i18n import t
from lab.train.runs import save_weights_atomic


class LiveMetrics(keras.callbacks.Callback):
    """Records batch and epoch logs into a sink and asks Keras to stop when the sink says so.

    Per batch it only stores the floats Keras already produced, under the sink's lock: no rendering, no tensor
    conversion, no disk I/O. It is safe for Keras' asynchronous batch dispatch, so recording runs beside the
    training loop instead of holding it up. A stop request is also checked before each batch, so training ends
    at most one batch after ``stop()``. A NaN or infinite loss stops training too (like TerminateOnNaN).

    The sink (a ``Job``) provides ``record_batch(epoch, batch, logs) -> bool`` (True to stop),
    ``record_epoch_begin(epoch)``, ``record_epoch_end(epoch, logs)`` and ``stop_requested``.
    """

    async_safe = True

    def __init__(self, sink):
        super().__init__()
        self.sink = sink
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self.sink.record_epoch_begin(epoch)

    def on_train_batch_begin(self, batch, logs=None):
        if self.sink.stop_requested:
            self.model.stop_training = True

    def on_train_batch_end(self, batch, logs=None):
        if self.sink.record_batch(self._epoch, batch, logs):
            self.model.stop_training = True

    def on_test_batch_begin(self, batch, logs=None):
        # A stop during training skips the validation pass of the cut-short epoch.
        if self.sink.stop_requested:
            self.model.stop_evaluating = True

    def on_epoch_end(self, epoch, logs=None):
        self.sink.record_epoch_end(epoch, logs or {})


class FullEpochsOnly(keras.callbacks.Callback):
    """Runs an inner callback but hides the end of an epoch that was cut short by a stop.

    A cut-short epoch has metrics over part of the data; EarlyStopping, ReduceLROnPlateau and the checkpoint
    must not compare it with full epochs.
    """

    def __init__(self, inner, is_cut_short):
        super().__init__()
        self.inner = inner
        self.is_cut_short = is_cut_short

    def set_model(self, model):
        super().set_model(model)
        self.inner.set_model(model)

    def set_params(self, params):
        super().set_params(params)
        self.inner.set_params(params)

    def on_train_begin(self, logs=None):
        self.inner.on_train_begin(logs)

    def on_train_end(self, logs=None):
        self.inner.on_train_end(logs)

    def on_epoch_begin(self, epoch, logs=None):
        self.inner.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if not self.is_cut_short():
            self.inner.on_epoch_end(epoch, logs)


def _improved(mode: str, monitor: str, value: float, best: float | None) -> bool:
    if best is None:
        return True
    if mode == "auto":
        mode = "max" if any(k in monitor for k in ("acc", "auc", "precision", "recall", "f1")) else "min"
    return value > best if mode == "max" else value < best


class AtomicCheckpoint(keras.callbacks.Callback):
    """Saves the weights at epoch ends, atomically, and keeps the best weights in memory.

    ``path`` gets ``model.get_weights()`` as an .npz file (``lab.train.runs.save_weights_atomic``), written beside
    it and moved into place, so a process killed mid-save leaves the previous complete file. Weights alone take a
    few milliseconds where a full ``model.save`` takes 50-130 ms per epoch; the job writes the .keras model once,
    at the end, from ``saved_weights``. ``on_save(epoch, value, improved)`` is called after each save.
    """

    def __init__(self, path, monitor="val_loss", mode="auto", save_best_only=True, on_save=None, on_message=None):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            raise ValueError(t("train.checkpoint.mode", value=mode))
        self.path = path
        self.monitor = monitor
        self.mode = mode
        self.save_best_only = save_best_only
        self.on_save = on_save
        self.on_message = on_message
        self.best = None
        self.best_epoch = None
        self.best_weights = None
        self.saved_weights = None  # what the file at ``path`` holds
        self._warned = False

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        monitor = self.monitor
        value = logs.get(monitor)
        if value is None and "loss" in logs:
            if not self._warned and self.on_message:
                self.on_message(t("train.checkpoint.monitor_missing", monitor=monitor))
            self._warned = True
            monitor, value = "loss", logs.get("loss")
        if value is None or not math.isfinite(value):
            return
        improved = _improved(self.mode, monitor, value, self.best)
        if improved:
            self.best, self.best_epoch = float(value), epoch + 1
            self.best_weights = self.model.get_weights()
        if improved or not self.save_best_only:
            weights = self.best_weights if improved else self.model.get_weights()
            save_weights_atomic(weights, self.path)
            self.saved_weights = weights
            if self.on_save:
                self.on_save(epoch + 1, float(value), improved)


class TerminalProgress(keras.callbacks.Callback):
    """A one-line progress bar on a terminal (stderr by default); one line per epoch when not a terminal."""

    async_safe = True

    def __init__(self, epochs, stream=None, width=24, interval=0.25):
        super().__init__()
        self.epochs = epochs
        self.stream = stream or sys.stderr
        self.width = width
        self.interval = interval
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last = 0.0
        self._start = 0.0
        self._epoch = 0
        self._lang = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._start = time.monotonic()
        self._lang = i18n.language()  # batch ends may come on Keras' own threads, which speak no language

    @staticmethod
    def _fmt(logs):
        return "  ".join(f"{k} {v:.4f}" for k, v in logs.items() if isinstance(v, (int, float)))

    def on_train_batch_end(self, batch, logs=None):
        if not self.tty:
            return
        now = time.monotonic()
        if now - self._last < self.interval:
            return
        self._last = now
        steps = self.params.get("steps") or 0
        done = batch + 1
        filled = int(self.width * done / steps) if steps else 0
        bar = "#" * filled + "-" * (self.width - filled)
        eta = (now - self._start) / done * (steps - done) if steps else 0
        self.stream.write("\r" + t("train.progress.batch", lang=self._lang, epoch=self._epoch + 1, epochs=self.epochs,
                                   bar=bar, done=done, steps=steps or "?", metrics=self._fmt(logs or {}), eta=eta)
                          + " ")
        self.stream.flush()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.monotonic() - self._start
        prefix = "\r" if self.tty else ""
        self.stream.write(prefix + t("train.progress.epoch", epoch=epoch + 1, epochs=self.epochs, seconds=seconds,
                                     metrics=self._fmt(logs or {})) + " " * 8 + "\n")
        self.stream.flush()
