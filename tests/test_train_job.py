"""Real training jobs on a tiny dataset made in a temporary folder."""

import csv
import json
import math
import time

import keras
import numpy as np
import pytest
from test_train_support import make_dataset, small_spec

from lab.errors import LabError
from lab.train import job as jobs
from lab.train import runs
from lab.train.job import JobManager, TrainConfig


class SlowBatches(keras.callbacks.Callback):
    """Makes each batch take a little longer so another thread can act in the middle of an epoch."""

    def __init__(self, seconds=0.02):
        super().__init__()
        self.seconds = seconds

    def on_train_batch_end(self, batch, logs=None):
        time.sleep(self.seconds)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("data") / "shapes")


def config(dataset, tmp_path, **overrides):
    settings = dict(spec=small_spec(), epochs=3, batch_size=8, seed=7, runs_root=str(tmp_path / "runs"))
    settings.update(overrides)
    return TrainConfig(str(dataset), **settings)


def test_job_trains_with_live_snapshots_and_writes_the_run(dataset, tmp_path):
    manager = JobManager()
    job = manager.submit(config(dataset, tmp_path, callbacks=[SlowBatches(0.005)]))
    seen = []
    while not job.wait(0.01):
        snap = job.snapshot()
        if snap.status == "running" and snap.batch:
            seen.append((snap.epoch, snap.batch, len(snap.batch_log)))
    snap = job.snapshot()
    assert snap.status == "finished", snap.messages
    assert len(set(seen)) >= 3 and seen == sorted(seen)  # progress was visible and only moved forward
    assert snap.epoch == 3 and snap.batches == 9 and len(snap.history) == 3
    assert len(snap.batch_log) == 27 and {"loss", "accuracy", "epoch", "batch"} <= set(snap.batch_log[0])
    assert snap.history[-1]["loss"] < math.log(3) * 0.8
    assert [d.code for d in snap.diagnostics] == []  # a model that learns: no warnings
    assert snap.eta == 0.0 and snap.elapsed > 0 and snap.queue_position is None

    run_dir = runs.Path(snap.run_dir)
    assert run_dir.parent == tmp_path / "runs" and run_dir.name.endswith("-tiny")
    assert {p.name for p in run_dir.iterdir()} == {"meta.json", "spec.json", "history.csv", "batches.csv",
                                                   "model.keras", "metrics.json", "first.weights.npz"}
    meta = json.loads((run_dir / "meta.json").read_text())
    assert meta["status"] == "finished" and meta["class_names"] == ["blob", "cols", "rows"]
    assert meta["seed"] == 7 and meta["preprocessing"]["image_size"] == [16, 16]
    assert {"tensorflow", "keras", "python"} <= set(meta["versions"]) and meta["best"]["epoch"] >= 1
    assert json.loads((run_dir / "spec.json").read_text())["layers"][-1]["units"] == 3
    with open(run_dir / "batches.csv") as handle:
        assert len(list(csv.DictReader(handle))) == 27
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["split"] == "Test" and metrics["n"] == 24 and metrics["accuracy"] >= 0.9
    assert set(metrics["per_class"]) == {"blob", "cols", "rows"} and len(metrics["confusion"]) == 3
    for item in metrics["misclassified"]:
        assert item["file"].endswith(".png") and item["true"] != item["predicted"]

    run = runs.load_run(run_dir)
    assert list(run.history["epoch"]) == [1, 2, 3]
    model = run.load_model()
    assert model.predict(np.zeros((1, 16, 16, 1)), verbose=0).shape == (1, 3)
    assert [info.status for info in runs.list_runs(tmp_path / "runs")] == ["finished"]


def test_stop_mid_epoch_and_queue(dataset, tmp_path):
    manager = JobManager()
    first = manager.submit(config(dataset, tmp_path, epochs=30, batch_size=4, early_stopping=None,
                                  callbacks=[SlowBatches(0.03)], name="long"))
    second = manager.submit(config(dataset, tmp_path, epochs=1, name="next"))
    third = manager.submit(config(dataset, tmp_path, epochs=1, name="cancelled"))
    assert manager.jobs()[0] is third
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        snap = first.snapshot()
        if snap.epoch >= 2 and snap.batch >= 3:
            break
        time.sleep(0.01)
    assert manager.current() is first
    assert second.snapshot().status == "queued" and second.snapshot().queue_position == 1
    assert third.snapshot().queue_position == 2
    third.stop()
    assert third.snapshot().status == "stopped" and second.snapshot().queue_position == 1
    assert first.snapshot().eta > 0

    first.stop()
    assert first.snapshot().status in ("stopping", "stopped")
    assert first.wait(30)
    snap = first.snapshot()
    assert snap.status == "stopped"
    last_epoch = snap.batch_log[-1]["epoch"]
    in_last = [row for row in snap.batch_log if row["epoch"] == last_epoch]
    assert len(in_last) < snap.batches  # ended inside the epoch, after a batch
    assert len(snap.history) == last_epoch - 1  # the cut-short epoch is not recorded
    run_dir = runs.Path(snap.run_dir)
    assert json.loads((run_dir / "meta.json").read_text())["status"] == "stopped"
    assert runs.load_model_file(run_dir / "model.keras").output_shape == (None, 3)
    assert "partial results are not kept" in " ".join(snap.messages)

    assert second.wait(60)
    assert second.snapshot().status == "finished"
    assert manager.wait_idle(5) and manager.current() is None
    assert list((tmp_path / "runs").glob("*-cancelled")) == []  # a cancelled job makes no run folder


def test_seed_reproduces_first_epoch_loss(dataset, tmp_path):
    losses = []
    for _ in range(2):
        job = jobs.Job(config(dataset, tmp_path, epochs=1, seed=123, evaluate=False, checkpoint=None))
        snap = job.run()
        assert snap.status == "finished", snap.messages
        losses.append(snap.history[0]["loss"])
    assert losses[0] == pytest.approx(losses[1], rel=1e-5, abs=1e-6)


def test_diagnostics_fire_on_a_model_that_cannot_learn(dataset, tmp_path):
    spec = small_spec(learning_rate=1e-9, rescale=False, head_init="zeros")
    snap = jobs.Job(config(dataset, tmp_path, spec=spec, epochs=1, evaluate=False)).run()
    codes = {d.code for d in snap.diagnostics}
    assert codes == {"guessing", "unscaled_inputs"}, snap.messages
    assert snap.history[0]["loss"] == pytest.approx(math.log(3), abs=0.01)
    guessing = next(d for d in snap.diagnostics if d.code == "guessing")
    assert "ln(3)" in guessing.message


class PoisonWeights(keras.callbacks.Callback):
    """Turns every weight into NaN in the middle of epoch 2, so the next batch's loss is NaN."""

    def on_train_batch_end(self, batch, logs=None):
        if self.model._lab_epoch == 1 and batch == 2:
            self.model.set_weights([np.full_like(w, np.nan) for w in self.model.get_weights()])

    def on_epoch_begin(self, epoch, logs=None):
        self.model._lab_epoch = epoch


def test_nan_loss_stops_keeps_the_best_model_and_explains(dataset, tmp_path):
    snap = jobs.Job(config(dataset, tmp_path, epochs=5, callbacks=[PoisonWeights()])).run()
    assert snap.status == "stopped", snap.messages
    nan = next(d for d in snap.diagnostics if d.code == "nan_loss")
    assert "epoch 2, batch 4" in nan.message and "0.001" in nan.message  # 10x below the spec's 0.01
    assert len(snap.history) == 2 and math.isnan(snap.history[1]["loss"])
    assert snap.best["epoch"] == 1 and snap.metrics["accuracy"] > 0.3  # evaluated with epoch 1's weights
    model = runs.load_model_file(runs.Path(snap.run_dir) / "model.keras")
    assert np.isfinite(model.predict(np.zeros((1, 16, 16, 1)), verbose=0)).all()


def test_failures_become_status_failed_with_one_sentence(dataset, tmp_path):
    bad = small_spec()
    bad["compile"]["loss"] = "binary_crossentropy"
    snap = jobs.Job(config(dataset, tmp_path, spec=bad)).run()
    assert snap.status == "failed" and "two classes" in snap.error
    snap = jobs.Job(config(tmp_path / "nowhere", tmp_path)).run()
    assert snap.status == "failed" and "no dataset folder" in snap.error

    class Boom(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise RuntimeError("simulated crash\nwith details")

    snap = jobs.Job(config(dataset, tmp_path, epochs=2, callbacks=[Boom()])).run()
    assert snap.status == "failed" and snap.error == "Training failed with RuntimeError: simulated crash"
    assert any("Traceback" in m for m in snap.messages)
    run_dir = runs.Path(snap.run_dir)
    meta = json.loads((run_dir / "meta.json").read_text())
    assert meta["status"] == "failed"
    # the checkpoint of epoch 1 became model.keras on the way out; its weights file is gone
    assert (run_dir / "model.keras").is_file() and not (run_dir / runs.WEIGHTS).exists()
    assert runs.load_model_file(run_dir / "model.keras").output_shape == (None, 3)


def test_config_checks():
    with pytest.raises(LabError, match="Epochs"):
        TrainConfig(".", {}, epochs=0).check()
    with pytest.raises(LabError, match="validation split"):
        TrainConfig(".", {}, validation_split=1.5).check()
    assert jobs.manager() is jobs.manager()


def test_steps_per_execution_follows_the_epoch_length():
    assert [jobs.auto_steps_per_execution(n) for n in (None, 9, 31, 32, 64, 144, 250, 5000)] == \
           [1, 1, 1, 2, 4, 8, 8, 8]


def test_several_steps_per_execution_keep_the_batch_count_honest(dataset, tmp_path):
    job = JobManager().submit(config(dataset, tmp_path, epochs=2, steps_per_execution=4))
    assert job.wait(120)
    snap = job.snapshot()
    assert snap.status == "finished", snap.messages
    batches = [(entry["epoch"], entry["batch"]) for entry in snap.batch_log]
    assert batches == [(1, 4), (1, 8), (1, 9), (2, 4), (2, 8), (2, 9)]
    assert snap.batch == snap.batches == 9


def test_a_job_speaks_its_own_language_in_its_thread(dataset, tmp_path):
    from lab import i18n
    from lab.train import status

    bad = small_spec()
    bad["compile"]["loss"] = "binary_crossentropy"
    job = JobManager().submit(config(dataset, tmp_path, spec=bad, lang="pt-BR"))
    assert job.wait(120)
    snap = job.snapshot()
    assert i18n.language() == "en"  # this thread still speaks English
    assert snap.status == status.FAILED and "duas classes" in snap.error, snap.messages
    assert "Iniciando o TensorFlow e carregando os dados." in snap.messages

    waiting = jobs.Job(config(dataset, tmp_path, lang="pt-BR"))
    assert waiting.begin()
    waiting.stop()  # from this English-speaking thread: the words are still the job's
    assert waiting.snapshot().messages == ["Parando depois do lote atual."]
    assert TrainConfig(".", {}).lang == "en"
    with i18n.speaking("pt-BR"):
        assert TrainConfig(".", {}).lang == "pt-BR"  # the language of whoever submits


def test_the_run_store_sees_a_training_run_as_active_until_it_ends(dataset, tmp_path):
    from lab.train import status

    job = JobManager().submit(config(dataset, tmp_path, epochs=30, batch_size=4, early_stopping=None,
                                     callbacks=[SlowBatches(0.02)]))
    deadline = time.monotonic() + 60
    while job.snapshot().run_dir is None and time.monotonic() < deadline:
        time.sleep(0.01)
    run_dir = runs.Path(job.snapshot().run_dir)
    assert status.is_training(run_dir) and runs.run_info(run_dir).status == "running"
    with pytest.raises(LabError, match="still training"):
        runs.delete_run(run_dir)
    job.stop()
    assert job.wait(30)
    assert not status.is_training(run_dir) and runs.run_info(run_dir).status == "stopped"
    runs.delete_run(run_dir)
    assert not run_dir.exists()
