"""Training jobs on a cluster: the same ``TrainConfig``, trained by a worker of an existing distributed engine.

By default the lab trains on its own machine and needs nothing extra. When a class outgrows one machine, a
teacher starts a Dask distributed scheduler and workers (docs/distributed.md, ``requirements-cluster.txt``) and
points the lab at it with ``CNN_LAB_ENGINE=dask://HOST:8786``:

    engine = engines.from_environment()   # None without CNN_LAB_ENGINE: train locally
    remote = engine.submit(config)        # at once: the run folder is claimed, the job waits for a free worker
    remote.snapshot()                     # a Snapshot: status and finished epochs from the run folder, then the
                                          # worker's own final Snapshot once the job is done
    remote.stop()                         # waiting: it never trains; training: ends after the current batch
    remote.wait(timeout)                  # True once finished, stopped or failed
    engine.close()

Datasets and runs must be on a file system that every machine mounts at the same path: the worker reads the
dataset and writes the run folder there, and the page reads it from there. Dask is imported only by ``connect``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
import uuid
from pathlib import Path

from lab.errors import LabError
from lab.i18n import t
from lab.train import remote, runs, status
from lab.train.config import TrainConfig
from lab.train.live import Job
from lab.train.snapshot import Snapshot

ENV = "CNN_LAB_ENGINE"
SCHEMES = {"dask": "tcp"}  # the lab's address scheme -> the engine's own protocol
CONNECT_SECONDS = 10.0


def from_environment() -> Engine | None:
    """The engine that ``CNN_LAB_ENGINE`` names, connected; None when it is unset (train on this machine)."""
    address = os.environ.get(ENV, "").strip()
    return connect(address) if address else None


def connect(address: str, timeout: float = CONNECT_SECONDS) -> Engine:
    """Connects to the scheduler at ``address`` (``dask://HOST:PORT``); LabError when that cannot be done."""
    scheme, _, place = address.partition("://")
    if scheme not in SCHEMES or not place:
        raise LabError(t("engine.unknown_address", address=address, env=ENV))
    try:
        from distributed import Client
    except ImportError:
        raise LabError(t("engine.not_installed", package="distributed", file="requirements-cluster.txt")) from None
    try:
        client = Client(f"{SCHEMES[scheme]}://{place}", timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as error:
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
        raise LabError(t("engine.unreachable", address=address, reason=reason)) from None
    except ValueError:  # no port, or a port that is not a number
        raise LabError(t("engine.unknown_address", address=address, env=ENV)) from None
    return Engine(client, address)


class Engine:
    """A connection to a cluster's scheduler. Public: ``submit(config)``, ``slots()``, ``close()``."""

    def __init__(self, client, address: str):
        self._client = client
        self.address = address

    def submit(self, config: TrainConfig) -> RemoteJob:
        """Sends ``config`` to the cluster and returns at once; LabError for a setting that cannot work.

        The run folder is claimed here, under ``config.runs_root`` (or is ``config.run_dir``), with absolute paths,
        so the worker writes exactly where this machine will read. A spec file is read here; a preset name travels.
        """
        if config.callbacks:
            raise ValueError(t("engine.callbacks_stay_home"))
        config.check()
        spec = config.spec
        if isinstance(spec, str):
            from lab.presets import names, resolve

            spec = spec if spec in names() else resolve(spec)
        name = Job(config).name
        if config.run_dir:
            run_dir = Path(config.run_dir).resolve()
            run_dir.mkdir(parents=True, exist_ok=True)
        else:
            run_dir = runs.new_run_dir(Path(config.runs_root).resolve(), name or "run")
        sent = dataclasses.replace(config, spec=spec, data_path=str(Path(config.data_path).resolve()),
                                   runs_root=str(run_dir.parent), run_dir=str(run_dir))
        future = self._client.submit(remote.run_config, sent, key=f"lab-train-{run_dir.name}-{uuid.uuid4().hex[:6]}",
                                     pure=False)
        return RemoteJob(future, sent, run_dir, name)

    def slots(self) -> int:
        """How many jobs the connected workers train at once (their threads, one job per thread)."""
        return sum(self._client.nthreads().values())

    def close(self) -> None:
        self._client.close()


class RemoteJob:
    """One job handed to the cluster. Public: ``snapshot()``, ``stop()``, ``wait(timeout)``, ``node``, ``run_dir``.

    ``id`` is the run folder's name; ``owner`` the config's. ``node`` ("host:pid" of the worker process that trained
    it) is known once the job is done.
    """

    def __init__(self, future, config: TrainConfig, run_dir: Path, name: str | None):
        self._future = future
        self.config = config
        self.run_dir = run_dir
        self.id = run_dir.name
        self.name = name
        self.owner = config.owner
        self.node: str | None = None
        self._stop_requested = False
        self._final: Snapshot | None = None

    def snapshot(self) -> Snapshot:
        if self._final is None and self._future.done():
            self._final = self._finish()
        return self._final or self._from_folder()

    def stop(self) -> None:
        """Asks the job to stop: a waiting job never trains, a training one ends after its current batch."""
        if self._future.done():
            return
        self._stop_requested = True
        remote.request_stop(self.run_dir)
        if runs.read_json(self.run_dir / runs.META) is None:
            self._future.cancel()  # not started yet; if it just did, the stop file ends it

    def wait(self, timeout: float | None = None) -> bool:
        """Blocks until the job is finished, stopped or failed; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._future.done():
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.1)
        self.snapshot()
        return True

    def _from_folder(self) -> Snapshot:
        """The job while it waits or trains, read from its run folder (which the worker writes every epoch)."""
        meta = runs.read_json(self.run_dir / runs.META)
        if meta is None:
            state = status.STOPPING if self._stop_requested else status.QUEUED
            return Snapshot(id=self.id, name=self.name, status=state, epochs=self.config.epochs)
        history = runs.read_csv(self.run_dir / runs.HISTORY)
        state = status.STOPPING if self._stop_requested else str(meta.get("status") or status.RUNNING)
        return Snapshot(id=self.id, name=self.name, status=state, epoch=len(history), epochs=self.config.epochs,
                        history=history, batch_log=runs.read_csv(self.run_dir / runs.BATCHES),
                        run_dir=str(self.run_dir), best=meta.get("best"),
                        class_names=list(meta.get("class_names") or []), queue_position=0)

    def _finish(self) -> Snapshot:
        """The final snapshot: the worker's own, or one sentence when the job was cancelled or its worker lost."""
        with contextlib.suppress(OSError):
            remote.stop_file(self.run_dir).unlink(missing_ok=True)
        if self._future.cancelled():
            with contextlib.suppress(OSError):
                self.run_dir.rmdir()  # claimed but never written
            sentence = t("train.job.removed_from_queue", lang=self.config.lang)
            return Snapshot(id=self.id, name=self.name, status=status.STOPPED, epochs=self.config.epochs,
                            messages=[sentence])
        try:
            outcome = self._future.result()
        except Exception as error:  # the worker died, or the task could not reach it
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:300]
            sentence = t("engine.job_lost", lang=self.config.lang, reason=reason)
            folder = str(self.run_dir) if (self.run_dir / runs.META).is_file() else None
            return Snapshot(id=self.id, name=self.name, status=status.FAILED, epochs=self.config.epochs,
                            run_dir=folder, error=sentence, messages=[sentence])
        self.node = outcome.node
        return dataclasses.replace(outcome.snapshot, id=self.id, queue_position=None)
