"""Training in worker processes: the channel's messages, live snapshots across a process, stop, a killed worker,
the fair queue's order, and a server that never imports TensorFlow to train."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from multiprocessing import Pipe
from pathlib import Path

import keras
import numpy as np
import pytest
from test_train_support import make_dataset, small_spec

from lab.errors import LabError
from lab.train import fairness, pool, runs, status
from lab.train.config import TrainConfig
from lab.train.handle import JobHandle
from lab.train.manager import JobManager
from lab.train.worker import JobOrder, run_job

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("data") / "shapes")


@pytest.fixture(scope="module")
def workers():
    """One worker process for the module's jobs (it loads TensorFlow once)."""
    manager = JobManager(workers=1)
    yield manager
    manager.shutdown()


def config(dataset, tmp_path, **overrides):
    settings = dict(spec=small_spec(), epochs=3, batch_size=8, seed=7, runs_root=str(tmp_path / "runs"))
    settings.update(overrides)
    return TrainConfig(str(dataset), **settings)


def wait_for(predicate, timeout=120.0, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


# --- the channel, in this process ---------------------------------------------------------------------------------


def test_run_job_reports_through_a_channel_and_a_handle_rebuilds_the_job(dataset, tmp_path):
    """The worker's entry point is one function of a picklable order and a channel; its messages alone rebuild
    the job's snapshot on the other end, and a stop sent on the channel ends it after the current batch."""
    ours, theirs = Pipe()
    job_config = config(dataset, tmp_path, epochs=40, batch_size=4, early_stopping=None, owner="browser:ana")
    mirror = JobHandle(job_config)
    order = mirror.order()
    assert order == JobOrder(job_id=mirror.id, config=job_config, shared=False)
    trainer = threading.Thread(target=run_job, args=(order, theirs))
    trainer.start()
    mirror.started(ours.send)
    kinds, seen = [], []
    while True:
        kind, job_id, change = ours.recv()
        assert job_id == mirror.id
        kinds.append(kind)
        mirror.apply(change, final=kind == "done")
        snap = mirror.snapshot()
        seen.append((snap.epoch, len(snap.batch_log)))
        if kind == "done":
            break
        if snap.epoch >= 3 and mirror.status == status.RUNNING:
            mirror.stop()
            assert mirror.snapshot().status == status.STOPPING  # at once, before the worker answers
    trainer.join(30)
    snap = mirror.snapshot()
    assert kinds.count("progress") >= 5 and kinds[-1] == "done"
    assert seen == sorted(seen)  # progress only moved forward
    assert snap.status == status.STOPPED and mirror.wait(0)
    rows = [(row["epoch"], row["batch"]) for row in snap.batch_log]
    assert rows == sorted(rows) and len(set(rows)) == len(rows)  # every batch once, in order
    assert len(snap.history) == snap.batch_log[-1]["epoch"] - 1  # the cut-short epoch is not recorded
    assert "Stopping after the current batch." in snap.messages
    written = runs.read_csv(Path(snap.run_dir) / runs.HISTORY)
    assert [row["loss"] for row in written] == [row["loss"] for row in snap.history]
    meta = json.loads((Path(snap.run_dir) / runs.META).read_text())
    assert meta["owner"] == "browser:ana" and meta["shared"] is False and meta["status"] == "stopped"


# --- worker processes ---------------------------------------------------------------------------------------------


def test_a_job_trains_in_a_worker_process_with_live_snapshots(dataset, tmp_path, workers):
    # Long enough (about 2 s here) that the reports, four a second, see it at several points however fast it runs.
    job = workers.submit(config(dataset, tmp_path, epochs=24, batch_size=4, early_stopping=None, owner="browser:ana"))
    assert isinstance(job, JobHandle)
    seen = []
    while not job.wait(0.02):
        snap = job.snapshot()
        if snap.status == "running" and snap.batch_log:
            seen.append((snap.epoch, len(snap.batch_log)))
    snap = job.snapshot()
    assert snap.status == "finished", snap.messages
    assert job.worker_pid in workers.worker_pids() and job.worker_pid != os.getpid()
    assert len(set(seen)) >= 2 and seen == sorted(seen), seen  # it moved while it trained, only forward
    assert (snap.epoch, snap.batches, len(snap.history), len(snap.batch_log)) == (24, 18, 24, 24 * 18)
    assert snap.eta == 0.0 and snap.elapsed > 0 and snap.queue_position is None
    assert snap.metrics["split"] == "Test" and snap.metrics["accuracy"] >= 0.9
    meta = json.loads((Path(snap.run_dir) / runs.META).read_text())
    assert meta["pid"] == job.worker_pid and meta["owner"] == "browser:ana"
    assert not status.is_training(snap.run_dir)
    model = runs.load_run(snap.run_dir).load_model()
    assert model.predict(np.zeros((1, 16, 16, 1)), verbose=0).shape == (1, 3)


def test_stop_a_worker_job_and_take_a_waiting_one_out_of_the_queue(dataset, tmp_path, workers):
    long = workers.submit(config(dataset, tmp_path, epochs=200, batch_size=4, early_stopping=None,
                                 owner="browser:ana", name="long"))
    waiting = workers.submit(config(dataset, tmp_path, epochs=1, owner="browser:ana", name="waiting"))
    assert wait_for(lambda: long.snapshot().epoch >= 2)
    assert long.snapshot().queue_position == 0 and waiting.snapshot().queue_position == 1
    assert status.is_training(long.snapshot().run_dir)
    with pytest.raises(LabError, match="belongs to someone else"):
        long.stop(by="browser:bruno")
    assert long.snapshot().status == "running"
    waiting.stop(by="browser:ana")
    assert waiting.snapshot().status == "stopped" and waiting.wait(0)
    long.stop(by="browser:ana")
    assert long.wait(60)
    snap = long.snapshot()
    assert snap.status == "stopped", snap.messages
    assert 2 <= len(snap.history) < 200
    assert runs.load_model_file(Path(snap.run_dir) / runs.MODEL).output_shape == (None, 3)
    assert list((tmp_path / "runs").glob("*-waiting")) == []


def test_a_killed_worker_leaves_an_interrupted_run_that_loads(dataset, tmp_path, workers):
    job = workers.submit(config(dataset, tmp_path, epochs=200, batch_size=4, early_stopping=None, lang="pt-BR",
                                owner="browser:ana"))
    assert wait_for(lambda: len(job.snapshot().history) >= 2 and job.snapshot().best is not None)
    killed = job.worker_pid
    os.kill(killed, signal.SIGKILL)
    assert job.wait(30)
    snap = job.snapshot()
    assert snap.status == "interrupted"
    assert snap.error.startswith(f"O processo que fazia este treino terminou durante a época {snap.epoch}")
    assert "a memória acaba" in snap.error and f"da época {snap.best['epoch']}" in snap.error
    run_dir = Path(snap.run_dir)
    meta = json.loads((run_dir / runs.META).read_text())
    assert meta["status"] == "interrupted" and meta["error"] == snap.error and meta["finished"]
    assert runs.run_info(run_dir).status == "interrupted" and not status.is_training(run_dir)
    model = runs.load_run(run_dir).load_model()  # from best.weights.npz and spec.json
    assert model.predict(np.zeros((1, 16, 16, 1)), verbose=0).shape == (1, 3)
    assert killed not in workers.worker_pids()

    after = workers.submit(config(dataset, tmp_path, epochs=1, owner="browser:ana"))  # a fresh worker takes it
    assert after.wait(180) and after.snapshot().status == "finished", after.snapshot().messages
    assert after.worker_pid != killed


def test_the_server_never_imports_tensorflow_to_train(dataset, tmp_path):
    script = textwrap.dedent(f"""
        import sys
        from lab.train.config import TrainConfig
        from lab.train.manager import JobManager
        sys.path.insert(0, {str(ROOT / "tests")!r})
        from test_train_support import small_spec
        manager = JobManager(workers=1)
        job = manager.submit(TrainConfig({str(dataset)!r}, small_spec(), epochs=1, batch_size=8,
                                         runs_root={str(tmp_path / "runs")!r}))
        assert job.wait(300)
        print(job.snapshot().status, "tensorflow" in sys.modules, "keras" in sys.modules)
        """)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=400,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["finished", "False", "False"]


def test_worker_count_and_threads_follow_the_machine_and_the_environment(monkeypatch):
    monkeypatch.delenv("CNN_LAB_WORKERS", raising=False)
    monkeypatch.delenv("CNN_LAB_WORKER_THREADS", raising=False)
    monkeypatch.delenv("CNN_LAB_WORKER_NICE", raising=False)
    monkeypatch.setattr(pool, "cores", lambda: 2)
    monkeypatch.setattr(pool, "memory_gb", lambda: 24.0)
    assert pool.worker_count() == 1
    assert pool.worker_settings(1) == pool.worker.WorkerSettings(threads=2, niceness=5)  # the page comes first
    monkeypatch.setattr(pool, "cores", lambda: 16)
    monkeypatch.setattr(pool, "memory_gb", lambda: 16.0)
    assert pool.worker_count() == 4  # memory, 4 GB each, is the limit
    assert pool.worker_settings(4).threads == 4  # the cores shared among the workers
    monkeypatch.setenv("CNN_LAB_WORKERS", "3")
    monkeypatch.setenv("CNN_LAB_WORKER_THREADS", "0")
    monkeypatch.setenv("CNN_LAB_WORKER_NICE", "0")
    assert pool.worker_count() == 3
    assert pool.worker_settings(3) == pool.worker.WorkerSettings(threads=None, niceness=0)


def test_the_words_for_a_lost_worker():
    assert pool.lost_sentence(1, 4, None, "en") == (
        "The process training this run ended during epoch 4 (it exited with status 1); no epoch had finished, so "
        "there is no model to keep; start it again, perhaps with a smaller batch size.")
    assert "(it was stopped by the signal SIGTERM)" in pool.lost_sentence(-15, 2, {"epoch": 1}, "en")
    assert "from epoch 1, is kept" in pool.lost_sentence(-15, 2, {"epoch": 1}, "en")


# --- the fair queue -----------------------------------------------------------------------------------------------


def test_turns_go_to_whoever_was_served_longest_ago():
    queues = {"ana": ["a2", "a3"], "bruno": ["b1", "b2"], "carla": ["c1"]}
    # Ana trains a1 now and was the last served: Bruno and Carla come first, then Ana and Bruno alternate.
    assert fairness.start_order(queues, ["ana"], {"ana": 1}, per_person=1, capacity=1) == \
           ["b1", "c1", "a2", "b2", "a3"]
    assert fairness.pick(queues, ["ana"], {"ana": 1}, per_person=1) == "bruno"
    # Two places: Bruno and Carla start at once; Ana's second job waits for her first, not for a free place.
    assert fairness.start_order(queues, ["ana"], {"ana": 1}, per_person=1, capacity=3) == \
           ["b1", "c1", "a2", "b2", "a3"]
    assert fairness.pick({"ana": ["a2"]}, ["ana"], {"ana": 1}, per_person=1) is fairness.NOBODY
    assert fairness.pick({None: ["script"]}, [], {}, per_person=1) is None  # nobody in particular is someone
    assert fairness.pick({"ana": ["a2"]}, ["ana"], {"ana": 1}, per_person=2) == "ana"
    assert fairness.start_order({}, ["ana"], {}, per_person=1, capacity=1) == []


class Gate(keras.callbacks.Callback):
    """Records when its job begins to train, then holds it until the gate opens."""

    def __init__(self, name: str, started: list, opened: threading.Event):
        super().__init__()
        self.name, self.started, self.opened = name, started, opened

    def on_train_begin(self, logs=None):
        self.started.append(self.name)
        self.opened.wait(120)


def test_the_manager_takes_turns_between_people_and_shows_each_their_place(dataset, tmp_path):
    started: list[str] = []
    gates = {}
    manager = JobManager(workers=2)  # jobs with callbacks train in threads here, two at once

    def submit(name, owner):
        gates[name] = threading.Event()
        return manager.submit(config(dataset, tmp_path, epochs=1, evaluate=False, owner=owner, name=name,
                                     callbacks=[Gate(name, started, gates[name])]))

    jobs = {"a1": submit("a1", "ana"), "a2": submit("a2", "ana"), "a3": submit("a3", "ana")}
    assert wait_for(lambda: started == ["a1"])
    jobs["b1"] = submit("b1", "bruno")
    assert wait_for(lambda: started == ["a1", "b1"])  # a free place, and Ana already trains her share
    jobs.update(b2=submit("b2", "bruno"), c1=submit("c1", "carla"))
    places = {name: job.snapshot().queue_position for name, job in jobs.items()}
    assert places == {"a1": 0, "b1": 0, "c1": 1, "a2": 2, "b2": 3, "a3": 4}
    assert [job.id for job in manager.jobs("carla")] == [jobs["c1"].id]  # nobody sees another's jobs
    assert manager.running("carla") == [] and manager.current("carla") is None
    for done, name in enumerate(("a1", "b1", "c1", "a2", "b2", "a3"), 1):
        gates[name].set()
        jobs[name].wait(120)
        # the job that took the free place has begun before another place frees: the order below is the queue's
        assert wait_for(lambda done=done: len(started) >= min(2 + done, 6))
    assert manager.wait_idle(120)
    assert started == ["a1", "b1", "c1", "a2", "b2", "a3"]
    assert all(job.snapshot().status == "finished" for job in jobs.values())
