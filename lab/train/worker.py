"""Training in a process of its own: the worker's side.

The page's server never trains. It hands a ``JobOrder`` (plain, picklable data) to a worker process, which trains
it with :func:`run_job` and reports what changed a few times a second through a channel; the server mirrors the
job in a ``lab.train.handle.JobHandle``. :func:`run_job` is one plain function of an order and a channel, so any
engine that carries picklable messages can call it; :func:`serve` is the main loop of the lab's own worker
processes (``lab.train.pool``), which run one job after another.

A channel is anything with ``send(message)``, ``poll(timeout) -> bool`` and ``recv()`` (a
``multiprocessing.connection.Connection``). Messages are tuples:

- to the worker: ``("job", order)``, ``("stop", job_id)``, ``("share", job_id, shared)``, ``("exit",)``;
- from the worker: ``("ready", pid)`` once TensorFlow is loaded, ``("progress", job_id, change)`` while a job
  trains and ``("done", job_id, change)`` when it ends (``change`` as ``lab.train.live.Job.progress`` makes it).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Protocol

from lab.train.config import TrainConfig
from lab.train.snapshot import Snapshot

REPORT_S = 0.25  # how often a training job reports (and reads a stop); the page redraws every second


class Channel(Protocol):
    def send(self, message: tuple) -> None: ...

    def poll(self, timeout: float | None = 0.0) -> bool: ...

    def recv(self) -> tuple: ...


@dataclass(frozen=True)
class JobOrder:
    """One job for a worker: its id (the handle's), its settings (no in-process callbacks), shared or not."""

    job_id: str
    config: TrainConfig
    shared: bool = False


@dataclass(frozen=True)
class WorkerSettings:
    """How a worker process behaves. threads: TensorFlow's intra- and inter-op threads (None: TensorFlow's own
    choice, every core); niceness: added to the process's niceness, so the page's server comes first."""

    threads: int | None = None
    niceness: int = 0


def run_job(order: JobOrder, channel: Channel) -> Snapshot:
    """Trains ``order`` in this process, reporting through ``channel`` and obeying its stop; the last snapshot.

    A channel that closes (the server is gone) stops the job after the current batch, keeping the best model.
    """
    from lab.train.live import Job

    job = Job(order.config, job_id=order.job_id)
    job.shared = order.shared
    finished = threading.Event()
    state = {"cursor": None}
    reporter = threading.Thread(target=_report, args=(job, channel, finished, state), name="lab-job-report",
                                daemon=True)
    reporter.start()
    try:
        snap = job.run()
    finally:
        finished.set()
        reporter.join()
    change, _ = job.progress(state["cursor"])
    _send(channel, ("done", job.id, change))
    return snap


def _report(job, channel: Channel, finished: threading.Event, state: dict) -> None:
    """Every REPORT_S: obeys the messages that came (stop, share) and sends what changed."""
    while True:
        try:
            while channel.poll(0):
                message = channel.recv()
                if message[0] == "stop" and message[1] == job.id:
                    job.stop()
                elif message[0] == "share" and message[1] == job.id:
                    job.share(message[2])
        except (EOFError, OSError):
            job.stop()  # nobody listens any more: end soon, keeping the best model
            return
        if finished.is_set():
            return
        change, state["cursor"] = job.progress(state["cursor"])
        if not _send(channel, ("progress", job.id, change)):
            job.stop()
            return
        finished.wait(REPORT_S)


def _send(channel: Channel, message: tuple) -> bool:
    try:
        channel.send(message)
        return True
    except (OSError, EOFError, ValueError):
        return False


def settle_process(settings: WorkerSettings) -> None:
    """Lowers this process's priority, then loads TensorFlow with its thread counts (before any operation)."""
    if settings.niceness:
        try:
            os.nice(settings.niceness)
        except OSError:
            pass
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    if settings.threads:
        tf.config.threading.set_intra_op_parallelism_threads(settings.threads)
        tf.config.threading.set_inter_op_parallelism_threads(settings.threads)


def serve(channel: Channel, settings: WorkerSettings | None = None) -> None:
    """The main loop of a worker process: one job after another, until ``("exit",)`` or the channel closes.

    Without ``settings`` the first message brings them: ``("settings", WorkerSettings)``.
    """
    if settings is None:
        try:
            _, settings = channel.recv()
        except (EOFError, OSError):
            return
    settle_process(settings)
    if not _send(channel, ("ready", os.getpid())):
        return
    while True:
        try:
            message = channel.recv()
        except (EOFError, OSError):
            return
        if message[0] == "exit":
            return
        if message[0] == "job":
            run_job(message[1], channel)
            _forget_models()
        # a stop or share that arrives after its job ended has nothing left to act on


def _forget_models() -> None:
    """Frees what the last job left in Keras, so a long-lived worker does not grow from job to job."""
    import gc

    import keras

    keras.backend.clear_session()
    gc.collect()


if __name__ == "__main__":  # python -m lab.train.worker FD: the pool's worker process, FD its end of a socket pair
    import sys
    from multiprocessing.connection import Connection

    serve(Connection(int(sys.argv[1])))
