"""The process-wide job manager: one training job at a time in a background thread, later ones in a queue.

The manager is process-wide, so a page that reloads finds its running job again.
"""

from __future__ import annotations

import collections
import threading
import time

from lab.train import status
from lab.train.config import TrainConfig
from lab.train.live import Job


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
                if old.status in status.DONE:
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
                job.run()  # speaks the job's language in this thread
            except BaseException:
                pass
            finally:
                with self._lock:
                    self._current = None

    def cancel(self, job: Job) -> bool:
        """Takes a job that has not started out of the queue; False when it is not waiting."""
        with self._lock:
            if job not in self._queue:
                return False
            self._queue.remove(job)
        job.cancel()
        return True

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
