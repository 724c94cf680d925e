"""Training jobs on an existing distributed engine: a Dask cluster of two worker nodes started on this machine
(separate processes, loopback only, one thread each) trains two people's runs at once, stops a waiting and a
training job, and is torn down; with CNN_LAB_ENGINE set, the page's job manager sends its jobs there, and an
address it cannot use leaves one sentence and the jobs train here. Skipped when the engine is not installed
(requirements-cluster.txt)."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from ui_support import make_dataset, tiny_spec

from lab.errors import LabError
from lab.train import engines, remote, runs
from lab.train import manager as job_manager
from lab.train.config import TrainConfig
from lab.train.engine_jobs import EngineJob
from lab.train.live import Job

ROOT = Path(__file__).resolve().parents[1]
HAS_ENGINE = importlib.util.find_spec("distributed") is not None
needs_engine = pytest.mark.skipif(not HAS_ENGINE, reason="the cluster engine is not installed: "
                                  "pip install -r requirements-cluster.txt (Dask distributed)")
START_LIMIT_S = 120  # a deadline for the cluster to come up, so a broken start fails instead of hanging


@contextlib.contextmanager
def local_cluster(folder: Path, nodes: int = 2):
    """A scheduler and ``nodes`` workers (one thread each), all on 127.0.0.1: yields (address, processes)."""
    address_file = folder / "scheduler.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2")
    quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=folder, env=env)
    processes = [subprocess.Popen([sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", "0",
                                   "--no-dashboard", "--scheduler-file", str(address_file)], **quiet)]
    try:
        deadline = time.monotonic() + START_LIMIT_S
        while not address_file.is_file() and time.monotonic() < deadline:
            time.sleep(0.05)
        processes += [subprocess.Popen([sys.executable, "-m", "dask", "worker", "--scheduler-file", str(address_file),
                                        "--host", "127.0.0.1", "--nthreads", "1", "--no-dashboard",
                                        "--name", f"node-{index}", "--local-directory", str(folder)], **quiet)
                      for index in range(nodes)]
        yield json.loads(address_file.read_text())["address"], processes
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def port_open(address: str) -> bool:
    host, port = address.removeprefix("tcp://").rsplit(":", 1)
    with socket.socket() as probe:
        probe.settimeout(2)
        return probe.connect_ex((host, int(port))) == 0


def config_for(data: Path, runs_root: Path, owner: str, **settings) -> TrainConfig:
    settings = dict(dict(epochs=1, batch_size=8, early_stopping=None, name=f"{owner}'s net"), **settings)
    return TrainConfig(str(data), tiny_spec(), runs_root=str(runs_root), owner=owner, **settings)


def wait_for_epoch(job: engines.RemoteJob | EngineJob) -> None:
    deadline = time.monotonic() + START_LIMIT_S
    while not job.snapshot().history and not job.wait(0.1):
        assert time.monotonic() < deadline, "the job never finished an epoch"


@needs_engine
def test_two_nodes_train_two_peoples_runs_at_once_then_the_cluster_is_torn_down(tmp_path, monkeypatch):
    from distributed import Client

    data = make_dataset(tmp_path / "Data", train=24)
    runs_root = tmp_path / "shared-runs"
    with local_cluster(tmp_path, nodes=2) as (address, processes):
        assert address.startswith("tcp://127.0.0.1:")
        teacher = Client(address, timeout=START_LIMIT_S, set_as_default=False)
        teacher.wait_for_workers(2, timeout=START_LIMIT_S)
        workers = teacher.run(os.getpid)  # worker address -> pid
        assert len(set(workers.values())) == 2 and all(a.startswith("tcp://127.0.0.1:") for a in workers)

        monkeypatch.setenv(engines.ENV, address.replace("tcp://", "dask://"))
        engine = engines.from_environment()
        assert engine.slots() == 2
        ana, bruno = (engine.submit(config_for(data, runs_root, owner)) for owner in ("ana", "bruno"))
        assert ana.snapshot().status in ("queued", "running") and ana.run_dir != bruno.run_dir
        assert ana.wait(START_LIMIT_S) and bruno.wait(START_LIMIT_S)

        for job, owner in ((ana, "ana"), (bruno, "bruno")):
            snap = job.snapshot()
            assert snap.status == "finished", snap.messages
            assert snap.run_dir == str(job.run_dir) and job.run_dir.parent == runs_root and len(snap.history) == 1
            meta = runs.read_json(job.run_dir / runs.META)
            assert meta["owner"] == meta["config"]["owner"] == owner and meta["name"] == f"{owner}'s net"
            assert meta["status"] == "finished" and meta["pid"] == int(job.node.rsplit(":", 1)[1])
            model = runs.load_model_file(runs.model_file(job.run_dir))
            assert model.predict(np.zeros((1, 28, 28, 1), "float32"), verbose=0).shape == (1, 2)
            assert not remote.stop_file(job.run_dir).exists()
        assert {int(job.node.rsplit(":", 1)[1]) for job in (ana, bruno)} == set(workers.values())  # one each

        # Both nodes busy with long jobs: a third waits and is stopped before it trains; one of the two is stopped
        # while it trains (after its current batch, keeping its best model); the other's node dies in the middle.
        long = dict(epochs=500, batch_size=4, checkpoint={"monitor": "loss", "save_best_only": True}, evaluate=False)
        first, second = (engine.submit(config_for(data, runs_root, owner, **long)) for owner in ("carla", "davi"))
        for job in (first, second):
            wait_for_epoch(job)
            live = job.snapshot()
            assert live.status == "running" and live.history and live.run_dir == str(job.run_dir)
        waiting = engine.submit(config_for(data, runs_root, "eva"))
        assert waiting.snapshot().status == "queued"
        waiting.stop()
        assert waiting.wait(START_LIMIT_S) and waiting.snapshot().status == "stopped"
        assert not waiting.run_dir.exists()

        os.kill(runs.read_json(second.run_dir / runs.META)["pid"], signal.SIGKILL)
        first.stop()
        assert first.wait(START_LIMIT_S) and second.wait(START_LIMIT_S)
        snap = first.snapshot()
        assert snap.status == "stopped" and 1 <= len(snap.history) < 500, snap.messages
        assert runs.read_json(first.run_dir / runs.META)["status"] == "stopped"
        assert runs.model_file(first.run_dir) is not None and not remote.stop_file(first.run_dir).exists()
        snap = second.snapshot()
        assert snap.status == "interrupted" and "stopped in the middle" in snap.error and snap.history
        assert runs.read_json(second.run_dir / runs.META)["status"] == "interrupted"
        assert runs.model_file(second.run_dir) is not None  # the best weights it saved before it died
        assert sorted(info.status for info in runs.list_runs(runs_root)) == [
            "finished", "finished", "interrupted", "stopped"]

        teacher.wait_for_workers(2, timeout=START_LIMIT_S)  # the dead node's nanny started it again
        engine.close()
        teacher.shutdown()  # the scheduler and its workers close
        teacher.close()
        for process in processes:
            assert process.wait(timeout=START_LIMIT_S) is not None
        assert not port_open(address)


@needs_engine
def test_with_the_engine_set_the_job_manager_trains_on_the_cluster_and_stops_there(tmp_path, monkeypatch):
    from distributed import Client

    data = make_dataset(tmp_path / "Data", train=24)
    runs_root = tmp_path / "shared-runs"
    with local_cluster(tmp_path, nodes=2) as (address, processes):
        teacher = Client(address, timeout=START_LIMIT_S, set_as_default=False)
        teacher.wait_for_workers(2, timeout=START_LIMIT_S)
        workers = teacher.run(os.getpid)
        monkeypatch.setenv(engines.ENV, address.replace("tcp://", "dask://"))
        manager = job_manager.JobManager(workers=0)  # no local worker at all: every job must go to the cluster

        ana, bruno = (manager.submit(config_for(data, runs_root, owner)) for owner in ("ana", "bruno"))
        assert isinstance(ana, EngineJob) and isinstance(bruno, EngineJob)
        assert manager.capacity == 2 and manager.queue_position(ana) == manager.queue_position(bruno) == 0
        assert ana.wait(START_LIMIT_S) and bruno.wait(START_LIMIT_S)
        for job, owner in ((ana, "ana"), (bruno, "bruno")):
            snap = job.snapshot()
            assert snap.status == "finished" and snap.id == job.id and snap.queue_position is None, snap.messages
            assert snap.metrics and 0.0 <= snap.metrics["accuracy"] <= 1.0 and len(snap.history) == 1
            assert Path(snap.run_dir).parent == runs_root and runs.read_json(Path(snap.run_dir) / runs.META)["owner"] \
                == owner
        assert {int(job.node.rsplit(":", 1)[1]) for job in (ana, bruno)} == set(workers.values())  # one node each
        assert manager.wait_idle(START_LIMIT_S) and [job.id for job in manager.jobs("ana")] == [ana.id]

        # Carla's long run trains on the cluster; her second waits behind it (one job per person at once) and a
        # Stop takes it out of the queue; she shares the first, and her Stop ends it after its current batch.
        long = dict(epochs=500, batch_size=4, checkpoint={"monitor": "loss", "save_best_only": True}, evaluate=False)
        first = manager.submit(config_for(data, runs_root, "carla", **long))
        second = manager.submit(config_for(data, runs_root, "carla"))
        assert second.snapshot().status == "queued" and second.snapshot().queue_position == 1
        wait_for_epoch(first)
        live = first.snapshot()
        assert live.status == "running" and live.queue_position == 0 and live.epoch == len(live.history) + 1
        assert live.run_dir and manager.job_of_run(live.run_dir) is first
        second.stop(by="carla")
        assert second.wait(5) and second.snapshot().status == "stopped" and second.snapshot().run_dir is None
        first.share(True, by="carla")
        with pytest.raises(LabError):
            first.stop(by="bruno")
        first.stop(by="carla")
        assert first.wait(START_LIMIT_S)
        snap = first.snapshot()
        assert snap.status == "stopped" and 1 <= len(snap.history) < 500, snap.messages
        meta = runs.read_json(Path(snap.run_dir) / runs.META)
        assert meta["status"] == "stopped" and meta["shared"] is True and not remote.stop_file(snap.run_dir).exists()
        assert runs.model_file(snap.run_dir) is not None
        assert sorted(info.status for info in runs.list_runs(runs_root)) == ["finished", "finished", "stopped"]
        assert manager.wait_idle(START_LIMIT_S)

        manager.shutdown()
        teacher.shutdown()
        teacher.close()


@pytest.mark.parametrize("address, says", [("ray://127.0.0.1:10001", "dask://HOST:PORT"),
                                           ("dask://127.0.0.1", "dask://HOST:PORT"),
                                           pytest.param("dask://127.0.0.1:{port}", "did not answer",
                                                        marks=needs_engine)])
def test_an_engine_the_lab_cannot_use_is_one_sentence_and_the_jobs_train_here(address, says, tmp_path, monkeypatch):
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    monkeypatch.setenv(engines.ENV, address.format(port=port))
    monkeypatch.setattr(engines, "CONNECT_SECONDS", 1.0)
    data = make_dataset(tmp_path / "Data", train=4, test=0)
    manager = job_manager.JobManager(workers=0)
    job = manager.submit(config_for(data, tmp_path / "runs", "ana", evaluate=False))
    assert isinstance(job, Job)
    assert job.wait(START_LIMIT_S) and job.snapshot().status == "finished"
    notice = manager.engine_notice()
    assert notice.startswith("Runs train on this machine, not on the cluster: ") and says in notice


def test_the_train_page_says_when_it_trains_here_instead_of_on_the_cluster(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest
    from ui_support import APP, open_page, use_lab

    use_lab(monkeypatch, tmp_path)
    monkeypatch.setenv(engines.ENV, "ray://127.0.0.1:10001")
    monkeypatch.setattr(job_manager, "_MANAGER", None)  # the page's manager is made anew, with this address
    assert "dask://HOST:PORT" in job_manager.manager().engine_notice(timeout=START_LIMIT_S)
    at = open_page(AppTest.from_file(APP, default_timeout=60).run(), "train")
    assert not at.exception
    assert any(w.value.startswith("Runs train on this machine, not on the cluster: ") for w in at.warning)


def test_a_stop_file_written_before_the_job_starts_ends_it_before_it_trains(tmp_path):
    data = make_dataset(tmp_path / "Data", train=4, test=0)
    run_dir = runs.new_run_dir(tmp_path / "runs", "early")
    remote.request_stop(run_dir)
    outcome = remote.run_config(config_for(data, tmp_path / "runs", "ana", run_dir=str(run_dir)))
    assert outcome.snapshot.status == "stopped" and outcome.pid == os.getpid()
    assert not run_dir.exists() and not remote.stop_file(run_dir).exists()


@pytest.mark.parametrize("address", ["ray://127.0.0.1:10001", "127.0.0.1:8786", "dask://"])
def test_an_address_the_lab_cannot_use_is_one_sentence(address, monkeypatch):
    monkeypatch.setenv(engines.ENV, address)
    with pytest.raises(LabError, match="dask://HOST:PORT"):
        engines.from_environment()


def test_no_engine_address_means_training_on_this_machine(monkeypatch):
    monkeypatch.delenv(engines.ENV, raising=False)
    assert engines.from_environment() is None


@needs_engine
def test_a_scheduler_that_does_not_answer_is_one_sentence(tmp_path):
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    with pytest.raises(LabError, match=f"127.0.0.1:{port} did not answer"):
        engines.connect(f"dask://127.0.0.1:{port}", timeout=1)


def test_without_the_engine_package_the_address_is_one_sentence(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if it were not installed
    with pytest.raises(LabError, match="requirements-cluster.txt"):
        engines.connect("dask://127.0.0.1:8786")


def test_a_setting_that_cannot_work_is_refused_before_anything_is_sent(tmp_path):
    engine = engines.Engine(client=None, address="dask://127.0.0.1:8786")  # a client would be used after the check
    with pytest.raises(LabError, match="no dataset folder"):
        engine.submit(config_for(tmp_path / "missing", tmp_path / "runs", "ana"))
    assert not (tmp_path / "runs").exists()
