"""Snapshot: a training job's state at one moment, copied so any thread may read it while the job goes on."""

from __future__ import annotations

from dataclasses import dataclass, field

from lab.train.diagnostics import Diagnosis
from lab.train.status import QUEUED


@dataclass(frozen=True)
class Snapshot:
    """What the page, the command line and the tests read about a job.

    status: queued, running, stopping, finished, stopped or failed (``lab.train.status``).
    epoch: the 1-based epoch in progress (0 before the first); epochs: how many were asked for.
    batch: batches done in this epoch; batches: batches per epoch (None until known).
    batch_log: {"epoch", "batch", "loss", metrics...} rows: Keras' running means within each epoch.
    history: {"epoch", "loss", metrics, "val_loss", val metrics, "learning_rate", "seconds"} rows, one per epoch.
    elapsed, eta: seconds; eta is None while unknown and 0 once the job is done.
    messages: what the job said, in its language. diagnostics: the diagnoses that hold now; diagnosis_log:
    every diagnosis made, resolved ones included.
    run_dir: the run folder (None before it exists). error: one sentence when the job failed.
    metrics: the final evaluation (None when there is none). best: {"epoch", "monitor", "value", "loss",
    "val_loss", ...} of the best epoch so far. learning_rate: the optimizer's rate after the last epoch.
    queue_position: 0 training, 1 next in line, ...; None when the job is done.
    """

    id: str = ""
    name: str | None = None
    status: str = QUEUED
    epoch: int = 0
    epochs: int = 0
    batch: int = 0
    batches: int | None = None
    batch_log: list[dict] = field(default_factory=list)
    history: list[dict] = field(default_factory=list)
    elapsed: float = 0.0
    eta: float | None = None
    messages: list[str] = field(default_factory=list)
    diagnostics: list[Diagnosis] = field(default_factory=list)
    diagnosis_log: list[Diagnosis] = field(default_factory=list)
    run_dir: str | None = None
    error: str | None = None
    metrics: dict | None = None
    best: dict | None = None
    class_names: list[str] = field(default_factory=list)
    learning_rate: float | None = None
    queue_position: int | None = None
