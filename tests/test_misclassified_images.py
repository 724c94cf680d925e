"""Misclassified images are shown for every dataset: those without a file of their own (a CSV import, scored on
its shuffled validation split) are kept as PNGs in the run folder, exactly as the model received them."""

from __future__ import annotations

import json
import shutil

import numpy as np
from PIL import Image
from streamlit.testing.v1 import AppTest
from ui_support import APP, make_dataset, open_page, square_image, train_run


def look_alike_classes(root):
    """Two classes of the same kind of picture: a model cannot tell them apart, so about half is misclassified."""
    folder = make_dataset(root, "alike", train=30, test=0)
    shutil.rmtree(folder / "Test")
    rng = np.random.default_rng(7)
    for path in (folder / "Train" / "stripes").glob("*.png"):
        Image.fromarray(square_image(rng), "L").save(path)
    return folder


def test_a_dataset_without_files_to_point_at_keeps_its_misclassified_images_in_the_run(tmp_path):
    data = look_alike_classes(tmp_path / "Data")
    run = train_run(data, tmp_path / "runs", epochs=1)
    metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    wrong = metrics["misclassified"]
    assert metrics["split"] == "validation" and wrong
    for item in wrong:
        path = run / "misclassified" / f"{item['index']:06d}.png"
        assert item["file"] == str(path) and path.is_file()
        with Image.open(path) as picture:
            assert picture.size == (28, 28) and picture.mode == "L"
            assert np.asarray(picture).max() > 150  # a bright square, as the model received it


def test_the_runs_page_shows_those_images(tmp_path, monkeypatch):
    data = look_alike_classes(tmp_path / "Data")
    run = train_run(data, tmp_path / "runs", epochs=1)
    monkeypatch.setenv("CNN_LAB_DATA", str(tmp_path / "Data"))
    monkeypatch.setenv("CNN_LAB_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("CNN_LAB_TF_PRELOAD", "0")
    at = AppTest.from_file(APP, default_timeout=120).run()
    open_page(at, "runs")
    assert not at.exception, [e.value for e in at.exception]
    shown = [element for element in at.main if type(element).__name__ == "Image"]
    assert len(shown) >= 6, "no thumbnails of misclassified images"
    assert not any("no file" in c.value.lower() for c in at.caption)
    assert (run / "misclassified").is_dir()
