"""Fine-tuning: a run trained on one dataset starts training on another with the same or fewer classes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_train_support import make_dataset, small_spec

from lab.errors import LabError
from lab.train import finetune, runs
from lab.train.job import Job, TrainConfig

ROOT = Path(__file__).resolve().parents[1]


def train(data, runs_root, epochs=4, **settings):
    settings.setdefault("spec", small_spec())
    config = TrainConfig(str(data), epochs=epochs, batch_size=8, seed=3, runs_root=str(runs_root),
                         early_stopping=None, **settings)
    snap = Job(config).run()
    assert snap.status == "finished", (snap.error, snap.messages)
    return Path(snap.run_dir), snap


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """(three-class dataset, a run trained on it for a few epochs, the runs folder)."""
    root = tmp_path_factory.mktemp("finetune")
    data = make_dataset(root / "shapes")
    run, _ = train(data, root / "runs", epochs=6, name="base")
    return data, run, root / "runs"


def old_layers(run):
    model = runs.load_model_file(run / runs.MODEL)
    return [layer.get_weights() for layer in model.layers]


def test_fewer_classes_keep_their_units_by_name_and_the_run_records_where_it_started(base, tmp_path):
    data, run, _ = base
    subset = make_dataset(tmp_path / "two", classes=("rows", "blob"), seed=5)  # sorted: blob, rows
    tuned, snap = train(subset, tmp_path / "runs", epochs=1, spec=None, from_run=str(run))
    meta = json.loads((tuned / runs.META).read_text())
    assert meta["from_run"] == {"id": run.name, "path": str(run.resolve()), "name": "base", "freeze": False,
                                "classes_kept": 2, "classes": 2}
    assert meta["config"]["from_run"] == str(run) and meta["class_names"] == ["blob", "rows"]
    assert meta["name"] == "base fine-tuned"
    assert any("Starting from run base: 2 of 2 classes" in m for m in snap.messages)

    before = old_layers(run)
    first = runs.read_weights(tuned / runs.FIRST_WEIGHTS)  # the weights training started from
    conv_kernel, conv_bias, head_kernel, head_bias = first
    assert np.array_equal(conv_kernel, before[1][0]) and np.array_equal(conv_bias, before[1][1])
    old_kernel, old_bias = before[-1]  # columns: blob, cols, rows
    assert np.array_equal(head_kernel, old_kernel[:, [0, 2]]) and np.array_equal(head_bias, old_bias[[0, 2]])
    assert json.loads((tuned / runs.SPEC).read_text())["layers"][-1]["units"] == 2


def test_a_class_the_run_never_saw_gets_a_fresh_unit(base, tmp_path):
    data, run, _ = base
    other = make_dataset(tmp_path / "other", classes=("cols", "dots"), seed=6)
    tuned, snap = train(other, tmp_path / "runs", epochs=1, spec=None, from_run=str(run))
    assert json.loads((tuned / runs.META).read_text())["from_run"]["classes_kept"] == 1
    head_kernel = runs.read_weights(tuned / runs.FIRST_WEIGHTS)[-2]
    old_kernel = old_layers(run)[-1][0]
    assert np.array_equal(head_kernel[:, 0], old_kernel[:, 1])  # cols keeps its unit
    assert not any(np.allclose(head_kernel[:, 1], old_kernel[:, k]) for k in range(3))


def test_freeze_keeps_the_convolutional_part_and_trains_the_head(base, tmp_path):
    data, run, _ = base
    tuned, snap = train(data, tmp_path / "runs", epochs=2, spec=None, from_run=str(run), freeze=True)
    before, after = old_layers(run), old_layers(tuned)
    assert all(np.array_equal(a, b) for a, b in zip(before[1], after[1]))  # Conv2D: unchanged
    assert not np.array_equal(before[-1][0], after[-1][0])  # the head learned
    assert json.loads((tuned / runs.META).read_text())["from_run"]["freeze"] is True
    assert any("first 3 layers" in m for m in snap.messages)
    assert snap.metrics["accuracy"] >= 0.9


def test_the_run_decides_the_image_size_and_colour(tmp_path):
    small = make_dataset(tmp_path / "small", size=16)
    run, _ = train(small, tmp_path / "runs", epochs=1)
    big = make_dataset(tmp_path / "big", size=24, seed=2)
    tuned, _ = train(big, tmp_path / "runs", epochs=1, spec=None, from_run=str(run), image_size=[24, 24])
    meta = json.loads((tuned / runs.META).read_text())
    assert meta["input_shape"] == [16, 16, 1] and meta["preprocessing"]["image_size"] == [16, 16]


def test_a_run_that_stretched_its_images_passes_the_stretch_on(tmp_path):
    data = make_dataset(tmp_path / "shapes")
    run, _ = train(data, tmp_path / "runs", epochs=1)
    meta = json.loads((run / runs.META).read_text())
    meta["preprocessing"]["contrast"] = "stretch"
    (run / runs.META).write_text(json.dumps(meta))
    tuned, snap = train(data, tmp_path / "runs", epochs=1, spec=None, from_run=str(run))
    assert json.loads((tuned / runs.META).read_text())["preprocessing"]["contrast"] == "stretch"


def test_runs_that_cannot_start_a_dataset_say_why(base, tmp_path):
    data, run, runs_root = base
    four = make_dataset(tmp_path / "four", classes=("a", "b", "c", "d"), train_per_class=2, test_per_class=0)
    with pytest.raises(LabError, match=r"learned 3 classes and this dataset has 4; .*same or fewer"):
        finetune.check_start(run, four)
    points = dict((str(info.path), reason) for info, reason in finetune.starting_points(four, runs_root))
    assert "same or fewer classes" in points[str(run)]
    assert dict((str(info.path), reason) for info, reason in finetune.starting_points(data, runs_root))[str(run)] \
        is None
    with pytest.raises(LabError, match="not both"):
        TrainConfig(str(data), small_spec(), from_run=str(run)).check()
    with pytest.raises(LabError, match="Freezing needs a run"):
        TrainConfig(str(data), small_spec(), freeze=True).check()
    with pytest.raises(LabError, match="No network to train"):
        TrainConfig(str(data), None).check()


def test_head_mapping_by_name():
    assert finetune.head_mapping(["a", "b", "c"], ["c", "a"]) == [2, 0]
    assert finetune.head_mapping(["a", "b"], ["a", "z"]) == [0, None]


def test_lab_train_from_a_run_on_the_command_line(base, tmp_path):
    data, run, _ = base
    out = tmp_path / "tuned"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run([sys.executable, "-m", "lab", "train", "--data", str(data), "--from", str(run), "--freeze",
                           "--epochs", "1", "--batch-size", "8", "--out", str(out), "--json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1])["run_dir"] == str(out)
    assert json.loads((out / runs.META).read_text())["from_run"]["freeze"] is True

    both = subprocess.run([sys.executable, "-m", "lab", "train", "--data", str(data), "--from", str(run), "--spec",
                           "recommended"], cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert both.returncode == 2 and "not both" in both.stderr and "Traceback" not in both.stderr


def test_every_kind_of_job_names_a_fine_tune_after_its_starting_run_before_it_starts(tmp_path):
    from lab.train.engine_jobs import EngineJob
    from lab.train.handle import JobHandle

    config = TrainConfig(str(tmp_path), None, from_run=str(tmp_path / "20261127-101500-squares"),
                         runs_root=str(tmp_path / "runs"))
    names = {kind.__name__: kind(config).name for kind in (Job, JobHandle, EngineJob)}
    assert set(names.values()) == {Job(config).name}, names
    assert "20261127-101500-squares" in names["JobHandle"] and names["JobHandle"] != "None"
