"""The job manager's side of a cluster: ``CNN_LAB_ENGINE`` set, the page's jobs train on the engine's workers.

``Cluster`` connects to the engine that ``CNN_LAB_ENGINE`` names in a thread of its own, so the page never waits
for it, then keeps the manager's clock: every ``POLL_SECONDS`` it reads how many jobs the workers train at once and
lets the manager end the jobs that finished and start waiting ones. An address it cannot use leaves one sentence
(``problem()``) and the manager trains on this machine instead.

``EngineJob`` is what the page holds for one job: it waits in the manager's fair queue like any other, is handed to
the engine (``lab.train.engines``) when its turn comes and a slot is free, and from then on mirrors its
``RemoteJob``: the snapshot read from the run folder, a stop through the stop file, sharing written into the run's
meta.json. ``node`` names the worker that trained it once it is done.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from lab import i18n, ownership
from lab.errors import LabError
from lab.i18n import t
from lab.train import engines, runs, status
from lab.train.config import TrainConfig
from lab.train.live import JobBase
from lab.train.snapshot import Snapshot

if TYPE_CHECKING:
    from lab.train.manager import JobManager

POLL_SECONDS = 0.5
CLOSE_WAIT_S = 30.0


class Cluster:
    """The connection to the engine at ``address``, made in the background once ``start`` is called."""

    def __init__(self, address: str):
        self.address = address
        self.engine: engines.Engine | None = None
        self._problem: str | None = None
        self._slots = 0
        self._lang = i18n.language()  # the connection's sentence speaks the language of whoever opened the lab
        self._ready = threading.Event()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def from_environment(cls) -> Cluster | None:
        """The cluster that CNN_LAB_ENGINE names; None when it is unset (train on this machine)."""
        address = os.environ.get(engines.ENV, "").strip()
        return cls(address) if address else None

    def start(self, tick: Callable[[], None]) -> None:
        """Connects in a thread of its own; then ``tick`` runs every POLL_SECONDS (once when the connection
        failed, so jobs that waited for it go on here)."""
        self._thread = threading.Thread(target=self._run, args=(tick,), name="lab-engine", daemon=True)
        self._thread.start()

    def _run(self, tick: Callable[[], None]) -> None:
        try:
            with i18n.speaking(self._lang):
                engine = engines.connect(self.address, timeout=engines.CONNECT_SECONDS)
            self._slots = engine.slots()
            self.engine = engine
        except LabError as error:
            self._problem = str(error)
        finally:
            self._ready.set()
        tick()
        while self.engine is not None and not self._closed.wait(POLL_SECONDS):
            with contextlib.suppress(OSError, TimeoutError):  # the scheduler away for a moment: the last count holds
                self._slots = self.engine.slots()
            tick()

    def ready(self, timeout: float | None = None) -> bool:
        """Waits up to ``timeout`` seconds for the connection; True when jobs can go to the engine."""
        return self._ready.wait(timeout) and self.trains

    @property
    def trains(self) -> bool:
        return self.engine is not None and not self._closed.is_set()

    def slots(self) -> int:
        """How many jobs the engine's workers train at once, as last read (0 until connected)."""
        return self._slots if self.trains else 0

    def problem(self, timeout: float = 0.0) -> str | None:
        """Why the lab trains on this machine although CNN_LAB_ENGINE is set, in one sentence; None when it does not
        (or not yet: waits up to ``timeout`` seconds for the connection)."""
        self._ready.wait(timeout)
        return t("engine.falls_back", problem=self._problem) if self._problem else None

    def close(self) -> None:
        """Stops the clock and closes the connection (jobs still on the engine go on there)."""
        self._closed.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(CLOSE_WAIT_S)  # the clock's last tick ends before the connection does
        if self.engine is not None:
            self.engine.close()


class EngineJob(JobBase):
    """A job of ``manager`` that the cluster trains. Public: the reading and control methods of ``Job``, ``node``."""

    def __init__(self, config: TrainConfig, manager: JobManager | None = None):
        super().__init__(config, manager)
        self.node: str | None = None  # "host:pid" of the worker that trained it, once done
        self._remote: engines.RemoteJob | None = None
        self._final: Snapshot | None = None
        self._began: float | None = None  # when it was first seen training (monotonic)
        self._marked: str | None = None  # the run folder this process counts as training

    # ------------------------------------------------------------------------------------------------------------
    # reading, from any thread

    def snapshot(self) -> Snapshot:
        with self._lock:
            final, remote, began = self._final, self._remote, self._began
        if final is not None:
            return final
        if remote is None:
            return Snapshot(id=self.id, name=self.name, status=status.QUEUED, epochs=self.config.epochs,
                            queue_position=self._place())
        snap = replace(remote.snapshot(), id=self.id)
        if snap.status in status.DONE:
            return replace(snap, queue_position=None)
        return _live(snap, began, self._place())

    # ------------------------------------------------------------------------------------------------------------
    # control, from any thread

    def stop(self, by: str = ownership.ANYONE) -> None:
        """Queued: removed from the queue. On the engine: ends after the current batch, keeping the best model."""
        if self._dequeued(by):
            return
        with self._lock:
            remote = None if self._final is not None else self._remote
        if remote is not None:
            remote.stop()

    def cancel(self) -> None:
        """Ends a job that never went to the engine (the manager took it out of its queue)."""
        self._end(Snapshot(id=self.id, name=self.name, status=status.STOPPED, epochs=self.config.epochs,
                           messages=[t("train.job.removed_from_queue", lang=self.config.lang)]))

    def share(self, shared: bool, by: str = ownership.ANYONE) -> None:
        """Shows the job and its run to everyone, or to its owner only again."""
        ownership.check_change(self.owner, by)
        self.shared = bool(shared)
        self._keep_shared()

    # ------------------------------------------------------------------------------------------------------------
    # the manager's side

    def start(self, engine: engines.Engine) -> bool:
        """Hands the job to ``engine``; False when its settings cannot work (the job then failed, with the reason)."""
        try:
            with i18n.speaking(self.config.lang):
                remote = engine.submit(self.config)
        except LabError as error:
            sentence = str(error)
            self._end(Snapshot(id=self.id, name=self.name, status=status.FAILED, epochs=self.config.epochs,
                               error=sentence, messages=[sentence]))
            return False
        with self._lock:
            self._remote = remote
            self.name = remote.name or self.name
        return True

    def follow(self) -> bool:
        """Reads the job on the engine (the manager's clock calls it); True once it is done."""
        with self._lock:
            remote, final = self._remote, self._final
        if final is not None or remote is None:
            return final is not None
        if remote.wait(0):
            self._keep_shared()
            self.node = remote.node
            if self._marked:
                status.mark_done(self._marked)
            self._end(replace(remote.snapshot(), id=self.id, queue_position=None))
            return True
        snap = remote.snapshot()
        with self._lock:
            self.status = snap.status
            if self._began is None and snap.status == status.RUNNING:
                self._began = time.monotonic()
        if snap.run_dir and not self._marked:
            status.mark_training(snap.run_dir)  # the Runs page neither deletes nor renames it while it trains
            self._marked = snap.run_dir
        self._keep_shared()
        return False

    def _end(self, final: Snapshot) -> None:
        with self._lock:
            self._final = final
            self.status = final.status
        self._done.set()

    def _keep_shared(self) -> None:
        """Writes the job's sharing into its run's meta.json, which the worker rewrites from its own copy."""
        with self._lock:
            remote = self._remote
        if remote is None:
            return
        meta = runs.read_json(remote.run_dir / runs.META)
        if meta is not None and ownership.shared_in(meta) != self.shared:
            with contextlib.suppress(OSError, LabError):  # written again at the next tick
                runs.set_shared(remote.run_dir, self.shared)


def _live(snap: Snapshot, began: float | None, place: int | None) -> Snapshot:
    """A training job's snapshot as the page expects it: the epoch in progress, the time so far and left."""
    done = len(snap.history)
    if snap.status not in (status.RUNNING, status.STOPPING):
        return replace(snap, queue_position=place)
    seconds = [row["seconds"] for row in snap.history if isinstance(row.get("seconds"), (int, float))]
    eta = sum(seconds) / len(seconds) * max(snap.epochs - done, 0) if seconds else None
    return replace(snap, epoch=min(done + 1, snap.epochs), elapsed=time.monotonic() - began if began else 0.0,
                   eta=eta, queue_position=place)
