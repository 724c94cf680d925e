"""The Predict page in AppTest: upload, webcam and canvas inputs reach the model; bad inputs get a clear message."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from ui_support import APP, big_square, open_page, png_bytes, square_image, use_lab

from lab.ui import session


@pytest.fixture
def env(squares_run, monkeypatch):
    root, run = squares_run
    use_lab(monkeypatch, root)
    return run


def predict_page():
    at = AppTest.from_file(APP, default_timeout=60).run()
    open_page(at, "predict")
    assert not at.exception, at.exception
    return at


def guesses(at) -> list[str]:
    """The "### class · 97%" headlines of the shown predictions."""
    return [m.value for m in at.markdown if m.value.startswith("### ")]


def test_no_run_yet_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_LAB_RUNS", str(tmp_path / "none"))
    at = predict_page()
    assert any("no trained model yet" in i.value for i in at.info)


def test_latest_finished_run_is_chosen(env):
    at = predict_page()
    assert at.selectbox(key="predict_run").value == str(env)
    assert at.session_state[session.RUN] == str(env)


def test_upload_png_gives_a_prediction(env):
    at = predict_page()
    at.radio(key="predict_source").set_value("upload").run()
    upload = at.file_uploader(key="predict_upload")
    rng = np.random.default_rng(5)
    upload.set_value([("square.png", png_bytes(square_image(rng)), "image/png"),
                      ("big-square.png", png_bytes(big_square(300)), "image/png")])
    at.run()
    assert not at.exception
    shown = guesses(at)
    assert len(shown) == 2 and all(text.startswith("### square") for text in shown), shown
    assert len(at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")) >= 2


def test_a_model_of_the_quick_digits_points_real_writing_to_the_large_set(env, tmp_path, monkeypatch):
    from ui_support import make_dataset, train_run

    def upload_one(at):
        at.radio(key="predict_source").set_value("upload").run()
        at.file_uploader(key="predict_upload").set_value(
            [("square.png", png_bytes(square_image(np.random.default_rng(5))), "image/png")])
        at.run()
        assert not at.exception, at.exception
        return [c.value for c in at.caption if "large set" in c.value]

    assert upload_one(predict_page()) == []  # a model of another dataset: no such note
    digits = make_dataset(tmp_path / "Data", name="sketch-digits")
    train_run(digits, tmp_path / "runs", epochs=1, name="quick digits")
    use_lab(monkeypatch, tmp_path)
    notes = upload_one(predict_page())
    assert len(notes) == 1 and "sketch-digits-3000" in notes[0] and "95 %" in notes[0]


def test_non_image_upload_gets_a_clear_message(env):
    at = predict_page()
    at.radio(key="predict_source").set_value("upload").run()
    at.file_uploader(key="predict_upload").set_value(("notes.png", b"this is not a picture", "image/png"))
    at.run()
    assert not at.exception
    assert any("not an image" in e.value for e in at.error)
    assert guesses(at) == []


def test_huge_image_gets_a_clear_message(env):
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (8000, 8000)).save(buf, "PNG")
    at = predict_page()
    at.radio(key="predict_source").set_value("upload").run()
    at.file_uploader(key="predict_upload").set_value(("huge.png", buf.getvalue(), "image/png"))
    at.run()
    assert not at.exception
    assert any("8000×8000" in e.value for e in at.error)


def test_webcam_photo_gives_a_prediction(env):
    at = predict_page()
    at.radio(key="predict_source").set_value("webcam").run()
    url = "data:image/png;base64," + base64.b64encode(png_bytes(big_square(240))).decode("ascii")
    at.session_state["predict_webcam"] = {"shots": [{"id": "20261127-120000-abcdef", "url": url, "target": None}]}
    at.run()  # what the square camera sends for one "Take photo": the square's pixels as a PNG
    assert not at.exception
    shown = guesses(at)
    assert len(shown) == 1 and shown[0].startswith("### square"), shown


def canvas_key() -> str:
    """The canvas's key before any "Clear" (see lab.ui.predict.canvas_key)."""
    return "predict_canvas_0"


def canvas_value(arr: np.ndarray) -> dict:
    url = "data:image/png;base64," + base64.b64encode(png_bytes(arr)).decode("ascii")
    return {"drawing": {"raw": {"objects": [{"type": "path"}]}, "data": url}}


def test_canvas_drawing_gives_a_prediction(env):
    at = predict_page()
    assert any("Draw something" in i.value for i in at.info)  # empty canvas: a hint, no guess
    rgba = np.zeros((280, 280, 4), np.uint8)
    rgba[70:210, 70:210] = 255  # a white filled square, opaque on a transparent canvas
    at.session_state[canvas_key()] = canvas_value(rgba)
    at.run()
    assert not at.exception
    shown = guesses(at)
    assert len(shown) == 1 and shown[0].startswith("### square"), shown


def test_blank_canvas_gets_a_clear_message(env):
    at = predict_page()
    at.session_state[canvas_key()] = canvas_value(np.zeros((280, 280, 4), np.uint8))
    at.run()
    assert not at.exception
    assert guesses(at) == []
    assert at.info, "an empty drawing must say so"


def test_the_chosen_input_survives_a_switch_to_portuguese(env):
    at = predict_page()
    at.radio(key="predict_source").set_value("webcam").run()
    at.radio(key="predict_invert").set_value("keep").run()
    at.sidebar.selectbox(key=session.LANGUAGE_PICK).set_value("pt-BR").run()
    assert not at.exception, [e.value for e in at.exception]
    source, invert = at.radio(key="predict_source"), at.radio(key="predict_invert")
    assert (source.value, source.label, source.options) == ("webcam", "Imagem de", ["Desenho", "Arquivo", "Webcam",
                                                                             "Imagem do conjunto"])
    assert (invert.value, invert.options) == ("keep", ["Automático", "Inverter", "Não inverter"])
    assert at.number_input(key="predict_burst").label == "Fotos em uma sequência"
    assert any("Tirar foto" in i.value and "câmera" in i.value for i in at.info)


def test_any_image_of_the_dataset_can_be_read_and_looked_inside(env):
    at = predict_page()
    at.radio(key="predict_source").set_value("dataset").run()
    assert not at.exception, [e.value for e in at.exception]
    at.selectbox(key="predict_ds_split").set_value("Test")
    at.selectbox(key="predict_ds_class").set_value("stripes").run()
    at.slider(key="predict_ds_number").set_value(2).run()
    assert not at.exception, [e.value for e in at.exception]
    assert guesses(at) and guesses(at)[0].startswith("### stripes")  # a model that learned stripes reads them
    captions = [picture.caption for element in at.main if type(element).__name__ == "Image"
                for picture in element.proto.imgs]
    assert any(c.startswith("stripes/") for c in captions), captions
    assert any(e.label.startswith("Look inside") for e in at.expander)
