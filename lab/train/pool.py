"""Worker processes, as the server sees them: fresh Python processes (``python -m lab.train.worker``, never a fork
of a process that has TensorFlow loaded), one job at a time each, each watched by one thread that reads its reports
and notices when it dies. The two ends talk over a socket pair wrapped in ``multiprocessing`` connections (pickled
messages); a fresh interpreter, rather than multiprocessing's "spawn", never re-imports the server's main script.

How many, and how they share the machine, is decided here from the cores and the memory, or from the
environment: ``CNN_LAB_WORKERS`` (processes; 0 trains in a thread of the server instead),
``CNN_LAB_WORKER_THREADS`` (TensorFlow threads per worker; 0 for TensorFlow's own choice; default the cores shared
among the workers) and ``CNN_LAB_WORKER_NICE`` (how much lower the workers' priority is than the server's).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import TYPE_CHECKING

from lab.i18n import t
from lab.train import worker

if TYPE_CHECKING:
    from lab.train.handle import JobHandle

IDLE_EXIT_S = 900.0  # a worker with nothing to do for this long gives its memory back
NICENESS = 5  # how much lower a worker's priority is than the server's, unless CNN_LAB_WORKER_NICE says
GB = 1024 ** 3


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def memory_gb() -> float:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / GB
    except (ValueError, OSError, AttributeError):
        return 4.0


def _env_int(name: str) -> int | None:
    value = os.environ.get(name, "").strip()
    return int(value) if value.isdigit() else None


def worker_count() -> int:
    """CNN_LAB_WORKERS, else one per two cores and per 4 GB of memory, at least one."""
    chosen = _env_int("CNN_LAB_WORKERS")
    if chosen is not None:
        return chosen
    return max(1, min(cores() // 2, int(memory_gb() // 4)))


def worker_settings(workers: int) -> worker.WorkerSettings:
    """The cores shared among the workers, at a lower priority than the page's server (nice 5).

    The priority, not an idle core, leaves room for the page: measured on 2 cores (bench/perf_page_while_training.py,
    docs/benchmarks.md), a worker kept to one core trained 2 to 17 times slower whenever anything else wanted the
    CPU, and did not keep the page quicker than a worker on every core at nice 5, which trains as fast as at nice 0.
    """
    threads = _env_int("CNN_LAB_WORKER_THREADS")
    if threads is None:
        threads = max(1, cores() // max(workers, 1))
    niceness = _env_int("CNN_LAB_WORKER_NICE")
    return worker.WorkerSettings(threads=threads or None, niceness=NICENESS if niceness is None else niceness)


def lost_sentence(exitcode: int | None, epoch: int, best: dict | None, lang: str) -> str:
    """Why a job ended with its worker, in one sentence in the job's language."""
    if exitcode == -signal.SIGKILL:
        how = t("worker.lost.killed", lang=lang)
    elif exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = str(-exitcode)
        how = t("worker.lost.signal", lang=lang, signal=name)
    else:
        how = t("worker.lost.exit", lang=lang, code=exitcode)
    if best and best.get("epoch"):
        kept = t("worker.lost.kept", lang=lang, best=best["epoch"])
    else:
        kept = t("worker.lost.nothing_kept", lang=lang)
    return t("worker.lost", lang=lang, how=how, epoch=max(epoch, 1), kept=kept)


class WorkerProcess:
    """One worker process and the thread that listens to it.

    ``on_done(process, handle)`` is called when its job ends, ``on_lost(process, handle)`` when the process
    ended (``handle`` None when it had no job), ``on_idle(process)`` when it had nothing to do for IDLE_EXIT_S.
    """

    def __init__(self, settings: worker.WorkerSettings, on_done: Callable, on_lost: Callable, on_idle: Callable,
                 idle_exit_s: float = IDLE_EXIT_S):
        self.settings = settings
        self.job: JobHandle | None = None
        self.retired = False  # told to exit: it takes no more jobs
        self.ready = threading.Event()  # set once it has loaded TensorFlow
        self._on_done, self._on_lost, self._on_idle = on_done, on_lost, on_idle
        self._idle_exit_s = idle_exit_s
        self._send_lock = threading.Lock()
        ours, theirs = socket.socketpair()
        root = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        self.process = subprocess.Popen([sys.executable, "-m", "lab.train.worker", str(theirs.fileno())],
                                        pass_fds=[theirs.fileno()], env=env, cwd=os.getcwd())
        theirs.close()
        self._conn = Connection(ours.detach())
        self.send(("settings", settings))
        self._listener = threading.Thread(target=self._listen, name=f"lab-worker-{self.process.pid}", daemon=True)
        self._listener.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def exitcode(self) -> int | None:
        """None while it runs; its exit status, or minus the signal that ended it."""
        return self.process.poll()

    def send(self, message: tuple) -> None:
        with self._send_lock:
            try:
                self._conn.send(message)
            except (OSError, ValueError):
                pass  # the process is gone; the listener reports it

    def assign(self, handle: JobHandle) -> None:
        """Gives the process a job; the caller holds the manager's lock and checked that it is free."""
        self.job = handle
        self.send(("job", handle.order()))
        handle.started(self.send, self.pid)

    def retire(self) -> None:
        self.retired = True
        self.send(("exit",))

    def _listen(self) -> None:
        while True:
            if not wait([self._conn], timeout=self._idle_exit_s):
                self._on_idle(self)
                continue
            try:
                message = self._conn.recv()
            except (EOFError, OSError):
                break  # the process ended: its end of the socket closed with it
            self._take(message)
        self.retired = True
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:  # it closed the socket but lives on: end it
            self.process.kill()
            self.process.wait()
        job, self.job = self.job, None
        self._conn.close()
        self._on_lost(self, job)

    def _take(self, message: tuple) -> None:
        kind = message[0]
        if kind == "ready":
            self.ready.set()
            return
        job = self.job
        if kind in ("progress", "done") and job is not None and message[1] == job.id:
            job.apply(message[2], final=kind == "done")
            if kind == "done":
                self.job = None
                self._on_done(self, job)
