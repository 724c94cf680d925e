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
from lab.train.runs import save_model_atomic
path = sys.argv[1]
model = keras.Sequential([keras.Input((32, 32, 1)), keras.layers.Conv2D(16, 3), keras.layers.Flatten(),
                          keras.layers.Dense(64), keras.layers.Dense(5, activation="softmax")])
save_model_atomic(model, path)
print("saved", flush=True)
while True:
    save_model_atomic(model, path)
"""


def test_checkpoint_survives_sigkill_during_save(tmp_path):
    path = tmp_path / "model.keras"
    proc = subprocess.Popen([sys.executable, "-c", SAVER, str(path)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert proc.stdout.readline().strip() == b"saved"
        deadline = time.monotonic() + 20
        caught = False
        while time.monotonic() < deadline:
            if any(p.name.startswith(".model-") for p in tmp_path.iterdir()):
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
