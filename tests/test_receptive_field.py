"""The receptive-field column equals what real Keras computes: the input pixels one output value depends on."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from lab import i18n
from lab.shapes import table

tf = pytest.importorskip("tensorflow")
keras = tf.keras

SIDE = 96  # big enough that the probed value's field never reaches the border

windows = st.tuples(st.integers(1, 5), st.integers(1, 5)).map(list)
steps = st.tuples(st.integers(1, 2), st.integers(1, 2)).map(list)


@st.composite
def sliding_layer(draw) -> dict:
    kind = draw(st.sampled_from(["Conv2D", "Conv2D", "MaxPooling2D", "AveragePooling2D"]))
    padding = draw(st.sampled_from(["same", "valid"]))
    if kind == "Conv2D":
        layer = {"type": kind, "filters": 2, "kernel_size": draw(windows), "padding": padding}
        if draw(st.booleans()):
            layer["strides"] = draw(steps)
        elif draw(st.booleans()):
            layer["dilation_rate"] = draw(steps)
        return layer
    return {"type": kind, "pool_size": draw(st.tuples(st.integers(2, 3), st.integers(2, 3)).map(list)),
            "strides": draw(st.one_of(st.none(), steps)), "padding": padding}


def spec_of(layers: list[dict]) -> dict:
    return {"input_shape": [SIDE, SIDE, 1], "layers": layers}


def probed_field(layers: list[dict]) -> tuple[int, int]:
    """(rows, columns) of input pixels a central output value depends on, found by its gradient.

    Kernels of ones, no activation and average pooling in place of max pooling (the same window, but every pixel
    it covers gets a gradient), so each pixel in the field has a positive gradient and every other pixel zero.
    """
    inputs = keras.Input((SIDE, SIDE, 1))
    x = inputs
    for layer in layers:
        if layer["type"] == "Conv2D":
            x = keras.layers.Conv2D(1, layer["kernel_size"], strides=layer.get("strides", 1),
                                    dilation_rate=layer.get("dilation_rate", 1), padding=layer["padding"],
                                    use_bias=False, kernel_initializer="ones", trainable=False)(x)
        else:
            x = keras.layers.AveragePooling2D(layer["pool_size"], strides=layer["strides"],
                                              padding=layer["padding"])(x)
    model = keras.Model(inputs, x)
    image = tf.ones((1, SIDE, SIDE, 1))
    with tf.GradientTape() as tape:
        tape.watch(image)
        out = model(image)
        height, width = out.shape[1], out.shape[2]
        value = out[0, height // 2, width // 2, 0]
    touched = np.argwhere(tape.gradient(value, image).numpy()[0, :, :, 0] > 0)
    return tuple(int(v) for v in touched.max(axis=0) - touched.min(axis=0) + 1)


# The same 40 stacks on every run; kernels frozen so that only the input's gradient is computed (TensorFlow's CPU
# kernel for a filter gradient aborts the process on some dilated stacks).
@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(sliding_layer(), min_size=1, max_size=4))
def test_random_stacks_match_the_pixels_keras_reads(layers):
    rows = table(spec_of(layers)).rows
    assume(all(row.output_shape is not None and min(row.output_shape[:2]) >= 3 for row in rows))
    size = rows[-1].receptive.size
    assume(max(size) <= SIDE // 2)  # a field that reaches the border would be cut there
    assert probed_field(layers) == size


def test_formula_follows_the_notes():
    layers = [{"type": "Conv2D", "filters": 4, "kernel_size": [3, 3], "padding": "same"},
              {"type": "MaxPooling2D", "pool_size": [2, 2]},
              {"type": "Conv2D", "filters": 4, "kernel_size": [3, 3], "dilation_rate": [2, 2], "padding": "same"},
              {"type": "Dropout", "rate": 0.2},
              {"type": "Flatten"},
              {"type": "Dense", "units": 2}]
    rows = table(spec_of(layers)).rows
    assert [row.receptive_text for row in rows] == ["3 × 3", "4 × 4", "12 × 12", "12 × 12", "whole input",
                                                     "whole input"]
    assert rows[2].receptive_formula == "H, W: r = 4 + (3 − 1)·2·2 = 12, jump 2·1 = 2"
    assert rows[3].receptive_formula == "unchanged"
    assert rows[0].as_dict()["receptive_field"] == [3, 3] and rows[5].as_dict()["receptive_field"] is None
    with i18n.speaking("pt-BR"):
        rows = table(spec_of(layers)).rows
        assert rows[4].receptive_text == "entrada inteira"
    assert rows[2].receptive_formula == "H, W: r = 4 + (3 − 1)·2·2 = 12, salto 2·1 = 2"


def test_resizing_counts_the_field_in_its_own_pixels():
    rows = table(spec_of([{"type": "Conv2D", "filters": 2, "kernel_size": 3},
                          {"type": "Resizing", "height": 32, "width": 32},
                          {"type": "Conv2D", "filters": 2, "kernel_size": 5}])).rows
    assert [row.receptive.size for row in rows] == [(3, 3), (1, 1), (5, 5)]


def architecture_page():
    from lab.ui import architecture

    architecture.render()


def test_the_shape_table_shows_the_column_with_its_formula():
    app = AppTest.from_function(architecture_page, default_timeout=60).run()
    assert not app.exception, [e.value for e in app.exception]
    html = next(m.value for m in app.markdown if m.value.startswith('<table class="lab-shape-table"'))
    assert ">Receptive field</th>" in html and "r_out = r_in + (k − 1)·d·j_in" in html
    assert "r = 1 + (3 − 1)·1·1 = 3, jump 1·1 = 1" in html
