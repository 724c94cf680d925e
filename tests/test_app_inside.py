"""Looking inside the network on the pages (AppTest): Predict's feature maps and saliency for an uploaded image, and
the Architecture page's augmentation preview. Real Keras, a really trained run, real files."""

from __future__ import annotations

import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from ui_support import APP, open_page, png_bytes, square_image, use_lab

from lab import shapes
from lab.train.runs import load_run

LOOK = "predict_inside_0"  # the look-inside expander of the first image on Predict
PICK = f"{LOOK}_class"


@pytest.fixture
def env(squares_run, monkeypatch):
    root, run = squares_run
    use_lab(monkeypatch, root)
    return run


def predict_with_upload(lang: str | None = None) -> AppTest:
    from lab.ui.predict import SOURCES

    at = AppTest.from_file(APP, default_timeout=90)
    if lang:
        at.query_params["lang"] = lang
    at.run()
    open_page(at, "predict")
    at.radio(key="predict_source").set_value(SOURCES[1]).run()
    picture = png_bytes(square_image(np.random.default_rng(5)))
    at.file_uploader(key="predict_upload").set_value(("square.png", picture, "image/png")).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def look_inside(at: AppTest) -> AppTest:
    at.session_state[LOOK] = True
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def captions(at: AppTest) -> list[str]:
    return [caption for image in at.image for caption in image.captions]


def layer_grids(at: AppTest) -> list[str]:
    """The captions of the feature-map grids ("Layer 2 · Conv2D · 28 × 28 × 4")."""
    return [caption for caption in captions(at) if caption.startswith("Layer ")]


SALIENCY = ("What the model receives", "Grad-CAM on layer 2, the last Conv2D", "Gradient over the input")


def saliency_pictures(at: AppTest) -> list[str]:
    """The addresses of the input, Grad-CAM and gradient pictures, in that order."""
    shown = {image.captions[0]: image.value[0] for image in at.image if image.captions[:1] in ([c] for c in SALIENCY)}
    return [shown[caption] for caption in SALIENCY if caption in shown]


def test_the_section_stays_closed_and_computes_nothing_until_opened(env):
    at = predict_with_upload()
    assert [e.label for e in at.expander] == ["Look inside: feature maps and saliency"]
    assert layer_grids(at) == []
    assert PICK not in at.session_state


def test_one_grid_per_conv_and_pooling_layer_headed_by_the_shape_table(env):
    at = look_inside(predict_with_upload())
    run = load_run(env)
    table = shapes.table(run.spec)
    expected = [f"Layer {row.index} · {row.type} · {' × '.join(map(str, row.output_shape))}"
                for row in table.rows if row.type in ("Conv2D", "MaxPooling2D", "AveragePooling2D")]
    assert expected == ["Layer 2 · Conv2D · 28 × 28 × 4", "Layer 3 · MaxPooling2D · 14 × 14 × 4"]
    assert layer_grids(at) == expected
    headings = [m.value for m in at.markdown]
    assert "**Input**  \n`28 × 28 × 1`" in headings  # the input as the model receives it, first
    assert any("2 · Conv2D" in h and "28 × 28 × 4" in h for h in headings), headings
    ranges = [c.value for c in at.caption if c.value.startswith("values ")]
    assert len(ranges) == 3 and re.fullmatch(r"values 0 to \d+", ranges[0]), ranges  # the input's (0..255) first
    assert ranges[1] == ranges[2]  # ReLU then MaxPooling2D: the pool keeps the largest activation, drops no range


def test_the_class_picker_changes_what_the_saliency_explains(env):
    at = look_inside(predict_with_upload())
    picker = at.selectbox(key=PICK)
    assert picker.value == 0  # the guess, "square"
    assert any(c.value.startswith("Why square?") for c in at.caption)
    assert len(saliency_pictures(at)) == 3  # input, Grad-CAM, gradient
    before = saliency_pictures(at)

    picker.set_value(1).run()
    assert not at.exception
    assert any(c.value.startswith("Why not stripes?") and "guesses square" in c.value for c in at.caption)
    after = saliency_pictures(at)
    assert after[0] == before[0]  # the same input
    assert after[1:] != before[1:]  # other places lit for another class


def test_the_look_inside_speaks_portuguese(env):
    at = look_inside(predict_with_upload("pt-BR"))
    assert [e.label for e in at.expander] == ["Olhe dentro da rede: mapas de características e saliência"]
    assert "Camada 2 · Conv2D · 28 × 28 × 4" in captions(at)
    assert any(c.value.startswith("Por que square?") for c in at.caption)


# --- the augmentation preview on the Architecture page ---------------------------------------------------------


def architecture_with(preset: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90).run()
    open_page(at, "architecture")
    at.selectbox(key="arch_preset").set_value(preset)
    at.button(key="arch_load_preset").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def augmented(at: AppTest):
    return next(image for image in at.image if image.captions and image.captions[0] == "#1")


def test_the_augmentation_preview_shows_eight_different_rotations(env):
    at = architecture_with("seed-improved")  # Resizing, Rescaling, RandomRotation(0.2), Conv2D, ...
    label = "Augmentation preview: what the Random* layers do to a picture"
    assert label in [e.label for e in at.expander]
    assert not any(image.captions and image.captions[0] == "#1" for image in at.image)  # closed: nothing drawn

    at.session_state["arch_augment"] = True
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    pictures = augmented(at)
    assert pictures.captions == [f"#{number}" for number in range(1, 9)]
    assert len(set(pictures.value)) == 8  # a picture's address is the hash of its bytes: eight different pictures
    assert "The sample · 28 × 28 × 1" in captions(at)
    assert any("3 · RandomRotation" in c.value for c in at.caption)
    assert any(re.fullmatch(r"What the next layer receives: 28 × 28 × 1, values 0 to (1|0\.\d+)", c.value)
               for c in at.caption)  # after Rescaling(1/255)

    at.button(key="arch_augment_again").click().run()
    assert set(augmented(at).value).isdisjoint(pictures.value)  # new random angles

    at.selectbox(key="arch_augment_class").set_value("stripes").run()
    assert "#1" in captions(at) and set(augmented(at).value).isdisjoint(pictures.value)


def test_no_augmentation_layer_no_preview(env):
    at = architecture_with("seed-first")
    assert all("Augmentation preview" not in e.label for e in at.expander)


# --- the filters of a run (the Runs page draws them with the same function) -------------------------------------


def filters_of_a_run():
    import os

    from lab.train.runs import load_run
    from lab.ui import inside

    run = load_run(os.environ["CNN_LAB_INSIDE_RUN"])
    inside.filters_view(run.path, run.load_model(), key="filters")


def test_filters_before_and_after_training(env, monkeypatch):
    monkeypatch.setenv("CNN_LAB_INSIDE_RUN", str(env))
    at = AppTest.from_function(filters_of_a_run, default_timeout=90).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("2 · Conv2D" in m.value and "4 filters of 3 × 3 × 1" in m.value for m in at.markdown)
    shown = {image.captions[0]: image.value[0] for image in at.image}
    assert set(shown) == {"Before training", "After training"}
    assert shown["Before training"] != shown["After training"]  # training moved the weights


def test_a_run_without_its_first_weights_shows_the_trained_filters(env, monkeypatch, tmp_path):
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(env, copy)
    (copy / "first.weights.npz").unlink()
    monkeypatch.setenv("CNN_LAB_INSIDE_RUN", str(copy))
    at = AppTest.from_function(filters_of_a_run, default_timeout=90).run()
    assert not at.exception, [e.value for e in at.exception]
    assert [caption for image in at.image for caption in image.captions] == ["After training"]
    assert any("did not keep its weights from before training" in c.value for c in at.caption)
