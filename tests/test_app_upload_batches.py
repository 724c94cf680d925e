"""Uploads on the Predict page come in batches: once every picture of a batch is added to a dataset, the uploader
empties for the next batch instead of piling it on top."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from ui_support import APP, big_square, make_dataset, open_page, png_bytes, use_lab

from lab.data import samples


@pytest.fixture
def letters(tmp_path, monkeypatch):
    use_lab(monkeypatch, tmp_path)
    data = tmp_path / "Data"
    make_dataset(data, "tiny", train=4, test=1)
    samples.new_dataset("letters", ["square", "stripes"], source="tiny", root=data)
    return data


def stripes(size: int = 64) -> np.ndarray:
    picture = np.zeros((size, size), np.uint8)
    picture[::8] = 255
    return picture


def uploaders(at) -> list[str]:
    return [widget.key for widget in at.get("file_uploader")]


def test_the_uploader_empties_once_every_picture_of_the_batch_is_added(letters):
    at = AppTest.from_file(APP, default_timeout=60).run()
    open_page(at, "predict")
    at.radio(key="predict_source").set_value("upload").run()
    at.file_uploader(key="predict_upload").set_value([("one.png", png_bytes(big_square(64)), "image/png"),
                                                     ("two.png", png_bytes(stripes()), "image/png")]).run()
    assert not at.exception, [e.value for e in at.exception]
    at.button(key="record_add_upload").click().run()
    assert samples.counts("letters", letters) == {"square": 1, "stripes": 0}
    assert uploaders(at) == ["predict_upload"]  # one picture of the two is in: the batch stays

    at.selectbox(key="predict_square_file").set_value("two.png").run()
    at.button(key="record_add_upload").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert samples.counts("letters", letters) == {"square": 2, "stripes": 0}
    assert uploaders(at) == ["predict_upload_1"]  # a new, empty uploader for the next batch
    assert any("Every picture of the batch (2) is in your dataset" in s.value for s in at.success)

    at.file_uploader(key="predict_upload_1").set_value(("three.png", png_bytes(stripes(80)), "image/png")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not any("Every picture" in s.value for s in at.success)
    assert not any(widget.key == "predict_square_file" for widget in at.selectbox)  # one picture: nothing to pick
    at.button(key="record_add_upload").click().run()
    assert samples.counts("letters", letters) == {"square": 3, "stripes": 0}


def test_a_picture_that_could_not_be_added_keeps_the_batch(letters):
    at = AppTest.from_file(APP, default_timeout=60).run()
    open_page(at, "predict")
    at.radio(key="predict_source").set_value("upload").run()
    at.file_uploader(key="predict_upload").set_value(("tiny.png", png_bytes(big_square(28)), "image/png")).run()
    at.button(key="record_add_upload").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.error  # too small to keep, said in one sentence
    assert samples.counts("letters", letters) == {"square": 0, "stripes": 0}
    assert uploaders(at) == ["predict_upload"]
