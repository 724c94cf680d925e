"""The process-wide cache of run models behind the Predict page: one load per model file, the same object after,
a fresh load when the file changes, and a background preload that the first ``get`` finds finished."""

from __future__ import annotations

import os

import keras
import pytest

from lab.errors import LabError
from lab.train import runs
from lab.ui import model_cache


def _save(path, units: int = 3):
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(units, activation="softmax")])
    path.parent.mkdir(parents=True, exist_ok=True)
    runs.save_model_atomic(model, path)
    return path


@pytest.fixture
def counted(monkeypatch):
    """Counts the model files read through lab.train.runs.load_model_file (what the cache calls)."""
    read = []
    real = runs.load_model_file

    def counting(path):
        read.append(str(path))
        return real(path)

    monkeypatch.setattr(runs, "load_model_file", counting)
    monkeypatch.delenv("CNN_LAB_TF_PRELOAD", raising=False)
    monkeypatch.delenv("CNN_LAB_MODEL_PRELOAD", raising=False)
    model_cache.clear()
    yield read
    model_cache.clear()


def test_a_model_loads_once_and_the_same_object_comes_back(tmp_path, counted):
    path = _save(tmp_path / "run" / runs.MODEL)
    first = model_cache.get(path)
    assert model_cache.get(path) is first
    assert model_cache.get(tmp_path / "run") is first  # the run folder names the same file
    assert counted == [str(path)]
    assert first.output_shape == (None, 3)


def test_a_changed_file_is_loaded_again(tmp_path, counted):
    path = _save(tmp_path / "run" / runs.MODEL, units=3)
    old = model_cache.get(path)
    _save(path, units=5)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # even on a coarse clock
    new = model_cache.get(path)
    assert new is not old and new.output_shape == (None, 5)
    assert len(counted) == 2


def test_a_preload_in_the_background_is_what_the_first_get_returns(tmp_path, counted):
    path = _save(tmp_path / "run" / runs.MODEL)
    assert model_cache.preload(tmp_path / "run")
    entry = model_cache._entries[model_cache._key(path)]
    assert entry.done.wait(60)
    assert model_cache.loaded(path)
    assert model_cache.get(path) is entry.model
    assert counted == [str(path)]  # get() found it loaded: no second read


def test_the_newest_finished_run_is_the_one_preloaded(tmp_path, counted, monkeypatch):
    monkeypatch.setenv("CNN_LAB_RUNS", str(tmp_path / "runs"))
    for name, created in (("old", "2026-01-01T00:00:00"), ("new", "2026-02-01T00:00:00")):
        folder = tmp_path / "runs" / name
        _save(folder / runs.MODEL)
        runs.write_json_atomic(folder / runs.META, {"name": name, "status": "finished", "created": created})
    assert model_cache.newest() == tmp_path / "runs" / "new" / runs.MODEL
    assert model_cache.preload_newest()
    model_cache.get(tmp_path / "runs" / "new")
    assert counted == [str(tmp_path / "runs" / "new" / runs.MODEL)]


def test_only_a_few_models_are_kept(tmp_path, counted):
    paths = [_save(tmp_path / f"run{i}" / runs.MODEL) for i in range(model_cache.LIMIT + 1)]
    for path in paths:
        model_cache.get(path)
    assert not model_cache.loaded(paths[0]) and model_cache.loaded(paths[-1])
    model_cache.get(paths[0])
    assert counted.count(str(paths[0])) == 2


def test_preloads_are_off_with_the_tensorflow_preload(tmp_path, counted, monkeypatch):
    path = _save(tmp_path / "run" / runs.MODEL)
    monkeypatch.setenv("CNN_LAB_TF_PRELOAD", "0")
    assert not model_cache.preload(path)
    assert not model_cache.loaded(path) and counted == []


def test_a_broken_model_file_is_one_sentence_each_time_it_is_asked_for(tmp_path, counted):
    path = tmp_path / "run" / runs.MODEL
    path.parent.mkdir()
    path.write_bytes(b"not a model")
    for _ in range(2):
        with pytest.raises(LabError, match="model"):
            model_cache.get(path)
    assert len(counted) == 2  # a failed load is tried again, not kept
