"""The process-wide job manager: a fair queue in front of a few workers.

Each person (a job's owner, ``lab.ownership``) has a first-in-first-out queue. The manager takes turns between
people (``lab.train.fairness``), runs at most ``per_person`` jobs of one person at once and ``workers`` in all. A
job trains in a worker process (``lab.train.pool``) and the page holds its ``JobHandle``; with ``workers=0``, or
when its config carries Keras callbacks (which cannot cross to another process), it trains in a thread of this
process as a ``Job``, one at a time. The manager is process-wide, so a page that reloads finds its jobs again.

``CNN_LAB_WORKERS`` sets the workers of the page's manager (default from the cores and the memory, see
``lab.train.pool``); ``CNN_LAB_JOBS_PER_PERSON`` how many jobs of one person may train at once (default 1).

``CNN_LAB_ENGINE=dask://HOST:PORT`` hands the jobs to a cluster instead (``lab.train.engine_jobs``): in the same
fair order, as many at once as its workers train, each as an ``EngineJob``. Jobs with Keras callbacks stay here;
an address the lab cannot use leaves one sentence (``engine_notice``) and the jobs train here.
"""

from __future__ import annotations

import collections
import os
import threading
import time
from pathlib import Path

from lab import ownership
from lab.train import fairness, pool, status
from lab.train.config import TrainConfig
from lab.train.engine_jobs import Cluster, EngineJob
from lab.train.handle import JobHandle
from lab.train.live import Job
from lab.train.worker import WorkerSettings

AnyJob = Job | JobHandle | EngineJob
CONNECT_WAIT_S = 30.0  # how long a job submitted while the cluster connects waits to know where it trains


class JobManager:
    """Queues jobs fairly between people and trains them in ``workers`` processes (0: in a thread of this one)."""

    def __init__(self, workers: int = 0, per_person: int = 1, keep: int = 20, settings: WorkerSettings | None = None,
                 idle_exit_s: float = pool.IDLE_EXIT_S):
        self.workers = max(0, int(workers))
        self.per_person = max(1, int(per_person))
        self.keep = keep  # finished jobs remembered per person
        self.settings = settings or pool.worker_settings(self.workers)
        self.idle_exit_s = idle_exit_s
        self._lock = threading.Lock()
        self._jobs: list[AnyJob] = []  # oldest first
        self._queues: dict[str | None, collections.deque[AnyJob]] = {}  # people in the order they began waiting
        self._served: dict[str | None, int] = {}  # when each person last had a job started
        self._clock = 0
        self._running: list[AnyJob] = []
        self._processes: list[pool.WorkerProcess] = []
        self._cluster = Cluster.from_environment()
        if self._cluster is not None:
            self._cluster.start(self._engine_tick)

    @property
    def capacity(self) -> int:
        if self._cluster is not None and self._cluster.trains:
            return self._cluster.slots()
        return max(1, self.workers)

    # ------------------------------------------------------------------------------------------------------------
    # submitting and ending

    def submit(self, config: TrainConfig) -> AnyJob:
        """Queues a job and returns it at once; it starts when its turn comes."""
        here = self.workers == 0 or bool(config.callbacks)
        if not config.callbacks and self._cluster is not None and self._cluster.ready(CONNECT_WAIT_S):
            job = EngineJob(config, manager=self)
        else:
            job = Job(config, manager=self) if here else JobHandle(config, manager=self)
        with self._lock:
            self._jobs.append(job)
            self._queues.setdefault(job.owner, collections.deque()).append(job)
            self._trim()
            self._dispatch()
        return job

    def cancel(self, job: AnyJob) -> bool:
        """Takes a job that has not started out of the queue; False when it is not waiting."""
        with self._lock:
            queue = self._queues.get(job.owner)
            if not queue or job not in queue:
                return False
            queue.remove(job)
            if not queue:
                del self._queues[job.owner]
        job.cancel()
        return True

    def _dispatch(self) -> None:
        """Starts waiting jobs while there is room (the caller holds the lock)."""
        while len(self._running) < self.capacity:
            job = self._next()
            if job is None:
                return
            self._running.append(job)
            if isinstance(job, Job):
                threading.Thread(target=self._run_here, args=(job,), name=f"lab-train-{job.id}", daemon=True).start()
            elif isinstance(job, EngineJob):
                if not job.start(self._cluster.engine):
                    self._running.remove(job)
            else:
                self._free_process().assign(job)

    def _next(self) -> AnyJob | None:
        """The job whose turn it is (``lab.train.fairness``), taken out of its queue; None when none may start."""
        owner = fairness.pick(self._queues, [job.owner for job in self._running], self._served, self.per_person)
        if owner is fairness.NOBODY:
            return None
        queue = self._queues[owner]
        job = queue.popleft()
        if not queue:
            del self._queues[owner]
        self._clock += 1
        self._served[owner] = self._clock
        return job

    def _free_process(self) -> pool.WorkerProcess:
        for process in self._processes:
            if process.job is None and not process.retired:
                return process
        process = pool.WorkerProcess(self.settings, self._process_done, self._process_lost, self._process_idle,
                                     idle_exit_s=self.idle_exit_s)
        self._processes.append(process)
        return process

    def _run_here(self, job: Job) -> None:
        try:
            job.run()  # speaks the job's language in this thread
        except BaseException:
            pass
        finally:
            self._ended(job)

    def _ended(self, job: AnyJob) -> None:
        with self._lock:
            if job in self._running:
                self._running.remove(job)
            self._dispatch()

    def _engine_tick(self) -> None:
        """The cluster's clock: ends the jobs it finished and starts waiting ones in the slots it has now."""
        with self._lock:
            remote = [job for job in self._running if isinstance(job, EngineJob)]
        ended = [job for job in remote if job.follow()]
        with self._lock:
            for job in ended:
                self._running.remove(job)
            self._dispatch()

    def _process_done(self, process: pool.WorkerProcess, job: JobHandle) -> None:
        self._ended(job)

    def _process_lost(self, process: pool.WorkerProcess, job: JobHandle | None) -> None:
        if job is not None:
            job.lost(pool.lost_sentence(process.exitcode, job.epoch, job.best, job.config.lang))
        with self._lock:
            if process in self._processes:
                self._processes.remove(process)
        if job is not None:
            self._ended(job)

    def _process_idle(self, process: pool.WorkerProcess) -> None:
        with self._lock:
            if process.job is None and not process.retired:
                process.retire()

    def _trim(self) -> None:
        """Forgets the oldest finished jobs of a person beyond ``keep``."""
        finished: dict[str | None, list[AnyJob]] = {}
        for job in self._jobs:
            if job.status in status.DONE:
                finished.setdefault(job.owner, []).append(job)
        for jobs in finished.values():
            for old in jobs[: max(len(jobs) - self.keep, 0)]:
                self._jobs.remove(old)

    # ------------------------------------------------------------------------------------------------------------
    # reading

    def queue_position(self, job: AnyJob) -> int | None:
        """0 for a running job; for a waiting one, 1 + how many waiting jobs will start before it (if the jobs
        training now end in the order they started); None when the job is done."""
        with self._lock:
            if job in self._running:
                return 0
            if job not in self._queues.get(job.owner, ()):
                return None
            order = fairness.start_order(self._queues, [job.owner for job in self._running], self._served,
                                         self.per_person, self.capacity)
        return next((place for place, waiting in enumerate(order, start=1) if waiting is job), None)

    def jobs(self, viewer: str = ownership.ANYONE) -> list[AnyJob]:
        """Recent jobs ``viewer`` may see, newest first (finished ones included)."""
        with self._lock:
            return [job for job in reversed(self._jobs) if ownership.can_see(job.owner, job.shared, viewer)]

    def running(self, viewer: str = ownership.ANYONE) -> list[AnyJob]:
        """The jobs training now that ``viewer`` may see, oldest first."""
        with self._lock:
            return [job for job in self._running if ownership.can_see(job.owner, job.shared, viewer)]

    def current(self, viewer: str = ownership.ANYONE) -> AnyJob | None:
        """The first job training now that ``viewer`` may see, or None."""
        running = self.running(viewer)
        return running[0] if running else None

    def get(self, job_id: str, viewer: str = ownership.ANYONE) -> AnyJob | None:
        return next((job for job in self.jobs(viewer) if job.id == job_id), None)

    def job_of_run(self, run_dir) -> AnyJob | None:
        """The job that writes ``run_dir``, while the manager remembers it."""
        target = Path(run_dir).resolve()
        for job in self.jobs():
            written = job.snapshot().run_dir
            if written and Path(written).resolve() == target:
                return job
        return None

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Blocks until no job runs or waits; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                idle = not self._running and not self._queues
            if idle:
                return True
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.05)

    def engine_notice(self, timeout: float = 0.0) -> str | None:
        """One sentence when CNN_LAB_ENGINE is set but the lab trains on this machine instead; else None. Waits up
        to ``timeout`` seconds for the connection to the cluster to succeed or fail."""
        return self._cluster.problem(timeout) if self._cluster is not None else None

    def worker_pids(self) -> list[int]:
        """The process ids of the worker processes alive now."""
        with self._lock:
            return [process.pid for process in self._processes if process.exitcode is None]

    # ------------------------------------------------------------------------------------------------------------
    # the worker processes

    def prewarm(self, timeout: float = 0.0) -> bool:
        """Starts a worker process now, unless one is there: it loads TensorFlow before the first job comes. Waits
        up to ``timeout`` seconds for that; True when a worker is ready."""
        with self._lock:
            if not self.workers or (self._cluster is not None and not self._cluster.problem()):
                return False  # no worker processes here, or the cluster trains the jobs
            live = [process for process in self._processes if not process.retired]
            process = live[0] if live else self._free_process()
        return process.ready.wait(timeout)

    def shutdown(self) -> None:
        """Asks every idle worker process to exit now (a busy one exits when idle for ``idle_exit_s``) and closes the
        connection to the cluster (its jobs go on there)."""
        if self._cluster is not None:
            self._cluster.close()
        with self._lock:
            for process in self._processes:
                if process.job is None and not process.retired:
                    process.retire()


_MANAGER: JobManager | None = None
_MANAGER_LOCK = threading.Lock()


def manager() -> JobManager:
    """The process-wide JobManager of the page (created on first use), with CNN_LAB_WORKERS worker processes."""
    global _MANAGER
    with _MANAGER_LOCK:
        if _MANAGER is None:
            per_person = os.environ.get("CNN_LAB_JOBS_PER_PERSON", "").strip()
            _MANAGER = JobManager(workers=pool.worker_count(),
                                  per_person=int(per_person) if per_person.isdigit() else 1)
        return _MANAGER
