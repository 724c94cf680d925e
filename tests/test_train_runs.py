"""Runs on disk: listing that survives garbage, rename/delete, atomic writes and a checkpoint killed mid-save."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab.errors import LabError
from lab.train import runs

ROOT = Path(__file__).resolve().parents[1]


def make_run(root: Path, name="r1", status="finished", **extra) -> Path:
    path = runs.new_run_dir(root, name)
    runs.write_json_atomic(path / runs.META, {"name": name, "status": status, "created": runs.now_iso(),
                                              "class_names": ["a", "b"], "preprocessing": {"image_size": [8, 8]},
                                              "config": {"epochs": 3}, "best": {"val_loss": 0.5}, **extra})
    runs.write_json_atomic(path / runs.SPEC, {"layers": []})
    runs.write_csv_atomic(path / runs.HISTORY, [{"epoch": 1, "loss": 0.9, "val_loss": 0.7},
                                                {"epoch": 2, "loss": 0.5, "val_loss": float("nan")}])
    return path


def test_run_ids_are_timestamp_slug_and_unique(tmp_path):
    a = runs.new_run_dir(tmp_path, "Recommended Net!")
    b = runs.new_run_dir(tmp_path, "Recommended Net!")
    assert a.name.endswith("-recommended-net") and a != b
    assert len(a.name.split("-")[0]) == 8


def test_list_runs_tolerates_garbage_and_half_written(tmp_path):
    good = make_run(tmp_path, "good")
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "empty-folder").mkdir()
    half = tmp_path / "20260101-000000-half"
    half.mkdir()
    (half / runs.META).write_text('{"name": "half", "sta')  # killed mid-write of an old, non-atomic writer
    (half / runs.SPEC).write_text("{}")
    crashed = make_run(tmp_path, "crashed", status="running", pid=999_999_999, host=__import__("socket").gethostname())
    (tmp_path / ".hidden").mkdir()
    infos = {info.name: info for info in runs.list_runs(tmp_path)}
    assert set(infos) == {"good", "20260101-000000-half", "crashed"}
    assert infos["good"].epochs_done == 2 and infos["good"].best_val_loss == 0.5
    assert infos["20260101-000000-half"].status == "broken"
    assert infos["crashed"].status == "interrupted"
    assert runs.list_runs(tmp_path / "missing") == []
    loaded = runs.load_run(good)
    assert loaded.class_names == ["a", "b"] and list(loaded.history["epoch"]) == [1, 2]
    assert crashed.exists()


def test_rename_and_delete(tmp_path):
    path = make_run(tmp_path, "first")
    assert runs.rename_run(path, "Second try").name == "Second try"
    assert json.loads((path / runs.META).read_text())["name"] == "Second try"
    with pytest.raises(LabError):
        runs.rename_run(path, "  ")
    stranger = tmp_path / "not-a-run"
    stranger.mkdir()
    (stranger / "keep.txt").write_text("x")
    with pytest.raises(LabError, match="does not look like a run"):
        runs.delete_run(stranger)
    runs.delete_run(path)
    assert not path.exists() and stranger.exists()
    with pytest.raises(LabError):
        runs.load_run(path)


def test_interrupted_write_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "metrics.json"
    runs.write_json_atomic(target, {"accuracy": 0.9})

    def exploding_replace(src, dst):
        raise OSError("disk went away")

    monkeypatch.setattr(runs.os, "replace", exploding_replace)
    with pytest.raises(OSError):
        runs.write_json_atomic(target, {"accuracy": 0.1})
    monkeypatch.undo()
    assert json.loads(target.read_text()) == {"accuracy": 0.9}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_model_save_interrupted_mid_write_keeps_previous_model(tmp_path):
    import keras
    import numpy as np

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    path = tmp_path / "model.keras"
    runs.save_model_atomic(model, path)
    before = model.predict(np.ones((1, 4)), verbose=0)

    class Broken:
        def save(self, filepath):
            Path(filepath).write_bytes(b"PK\x03\x04 half a zip")
            raise KeyboardInterrupt  # the process is interrupted in the middle of writing

    with pytest.raises(KeyboardInterrupt):
        runs.save_model_atomic(Broken(), path)
    again = runs.load_model_file(path)
    assert np.allclose(again.predict(np.ones((1, 4)), verbose=0), before)
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]


SAVER = r"""
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import keras
from lab.train.runs import save_model_atomic, save_weights_atomic
path, kind = sys.argv[1], sys.argv[2]
model = keras.Sequential([keras.Input((32, 32, 1)), keras.layers.Conv2D(16, 3), keras.layers.Flatten(),
                          keras.layers.Dense(64), keras.layers.Dense(5, activation="softmax")])
save = (lambda: save_model_atomic(model, path)) if kind == "model" else \
    (lambda: save_weights_atomic(model.get_weights(), path))
save()
print("saved", flush=True)
while True:
    save()
"""

SAVER_SPEC = {"input_shape": [32, 32, 1], "layers": [
    {"type": "Conv2D", "filters": 16, "kernel_size": [3, 3]}, {"type": "Flatten"}, {"type": "Dense", "units": 64},
    {"type": "Dense", "units": 5, "activation": "softmax"}],
    "compile": {"optimizer": {"name": "adam"}, "loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]}}


@pytest.mark.parametrize("kind", ["model", "weights"])
def test_checkpoint_survives_sigkill_during_save(tmp_path, kind):
    """SIGKILL while the checkpoint file is being rewritten: the previous complete file is still there."""
    path = tmp_path / (runs.MODEL if kind == "model" else runs.WEIGHTS)
    temp_prefix = ".model-" if kind == "model" else ".best.weights-"
    if kind == "weights":
        runs.write_json_atomic(tmp_path / runs.SPEC, SAVER_SPEC)
    proc = subprocess.Popen([sys.executable, "-c", SAVER, str(path), kind], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert proc.stdout.readline().strip() == b"saved"
        deadline = time.monotonic() + 20
        caught = False
        while time.monotonic() < deadline:
            if any(p.name.startswith(temp_prefix) for p in tmp_path.iterdir()):
                caught = True
                break
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert caught, "never saw a save in progress"
    model = runs.load_model_file(path)
    assert model.output_shape == (None, 5)
    if kind == "weights":
        assert runs.model_file(tmp_path) == path  # a run folder with only weights and spec still has a model


def test_weights_file_round_trips_and_bad_weights_are_a_lab_error(tmp_path):
    import numpy as np

    from lab.build import build_model

    run = make_run(tmp_path, "w")
    runs.write_json_atomic(run / runs.SPEC, SAVER_SPEC)
    model = build_model(SAVER_SPEC, seed=3)
    runs.save_weights_atomic(model.get_weights(), run / runs.WEIGHTS)
    x = np.random.default_rng(0).uniform(0, 1, (2, 32, 32, 1)).astype("float32")
    again = runs.load_run(run).load_model()
    assert np.allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    runs.save_weights_atomic(model.get_weights()[:-1], run / runs.WEIGHTS)
    with pytest.raises(LabError, match="could not be loaded"):
        runs.load_model_file(run / runs.WEIGHTS)
    (run / runs.SPEC).unlink()
    assert runs.model_file(run) is None and not runs.run_info(run).has_model


def test_batch_log_appends_and_ignores_a_line_cut_short(tmp_path):
    path = tmp_path / runs.BATCHES
    log = runs.CsvAppender(path, ["epoch", "batch", "loss"])
    log.append([{"epoch": 1, "batch": b, "loss": 0.5} for b in (1, 2)])
    log.append([{"epoch": 2, "batch": 1, "loss": 0.25}])
    assert [(r["epoch"], r["batch"]) for r in runs.read_csv(path)] == [(1, 1), (1, 2), (2, 1)]
    with open(path, "a") as handle:  # a kill in the middle of the next append
        handle.write("2,2,0.1")
    assert [(r["epoch"], r["batch"]) for r in runs.read_csv(path)] == [(1, 1), (1, 2), (2, 1)]
    log.append([{"epoch": 2, "batch": 2, "loss": 0.125}])  # the next append starts at the last complete line
    rows = runs.read_csv(path)
    assert [(r["epoch"], r["batch"], r["loss"]) for r in rows][-2:] == [(2, 1, 0.25), (2, 2, 0.125)]
    assert path.read_text().count("\n") == 5


KILLED_JOB = r"""
import os, sys, time
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
sys.path.insert(0, sys.argv[3])
import keras
from test_train_support import make_dataset, small_spec
from lab.train import job as jobs

class Slow(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        time.sleep(0.05)

data = make_dataset(__import__("pathlib").Path(sys.argv[1]) / "data", train_per_class=12, test_per_class=2)
jobs.Job(jobs.TrainConfig(str(data), small_spec(), epochs=200, batch_size=8, seed=3, early_stopping=None,
                          run_dir=sys.argv[2], callbacks=[Slow()])).run()
"""


def test_run_killed_after_an_epoch_still_lists_and_predicts(tmp_path):
    """SIGKILL during training (no model.keras yet): the run lists as interrupted and predicts from its weights."""
    import numpy as np
    from PIL import Image

    from lab.train.predicting import predict_files

    run_dir = tmp_path / "runs" / "20260101-000000-killed"
    proc = subprocess.Popen([sys.executable, "-c", KILLED_JOB, str(tmp_path), str(run_dir), str(ROOT / "tests")],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            if (run_dir / runs.WEIGHTS).is_file() and len(runs.read_csv(run_dir / runs.HISTORY)) >= 2:
                break
            time.sleep(0.05)
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stderr.close()
    assert not (run_dir / runs.MODEL).exists()
    [info] = runs.list_runs(tmp_path / "runs")
    assert info.status == "interrupted" and info.has_model and info.epochs_done >= 2
    run = runs.load_run(run_dir)
    assert run.model_path == run_dir / runs.WEIGHTS
    assert set(run.batch_log["epoch"]) >= {1, 2}
    model = run.load_model()
    assert model.predict(np.zeros((1, 16, 16, 1)), verbose=0).shape == (1, 3)
    assert runs.resolve_model(run_dir)[0] == run_dir / runs.WEIGHTS
    image = tmp_path / "rows.png"
    Image.fromarray(np.tile(np.array([[255], [0], [0], [0]], np.uint8), (4, 16)), "L").save(image)
    [result] = predict_files(run_dir, [image], k=2)
    assert len(result["top"]) == 2 and {c for c, _ in result["top"]} <= {"blob", "cols", "rows"}
