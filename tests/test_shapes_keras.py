"""The shape table equals Keras exactly: random valid stacks, every row and the totals."""

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lab import build, presets
from lab.shapes import table
from lab.spec import check

keras = pytest.importorskip("tensorflow").keras

pairs = st.tuples(st.integers(1, 5), st.integers(1, 5)).map(list)
small_pairs = st.tuples(st.integers(1, 3), st.integers(1, 3)).map(list)
paddings = st.sampled_from(["same", "valid"])
factors = st.floats(0.0, 0.5, allow_nan=False).map(lambda f: round(f, 3))


def image_layer(draw) -> dict:
    kind = draw(st.sampled_from(["Conv2D", "Conv2D", "Conv2D", "MaxPooling2D", "AveragePooling2D",
                                 "BatchNormalization", "Dropout", "Rescaling", "Resizing", "RandomRotation",
                                 "RandomFlip", "RandomTranslation", "RandomZoom", "Dense"]))
    if kind == "Conv2D":
        layer = {"type": kind, "filters": draw(st.integers(1, 8)), "kernel_size": draw(pairs),
                 "padding": draw(paddings), "use_bias": draw(st.booleans())}
        if draw(st.booleans()):
            layer["strides"] = draw(small_pairs)
        elif draw(st.integers(0, 4)) == 0:
            layer["dilation_rate"] = draw(small_pairs)
        if draw(st.booleans()):
            layer["kernel_size"] = layer["kernel_size"][0]
        return layer
    if kind in ("MaxPooling2D", "AveragePooling2D"):
        strides = draw(st.one_of(st.none(), small_pairs, st.integers(1, 3)))
        return {"type": kind, "pool_size": draw(st.one_of(small_pairs, st.integers(1, 3))), "strides": strides,
                "padding": draw(paddings)}
    if kind == "BatchNormalization":
        return {"type": kind, "center": draw(st.booleans()), "scale": draw(st.booleans())}
    if kind == "Dropout":
        return {"type": kind, "rate": draw(st.floats(0, 0.9).map(lambda r: round(r, 2)))}
    if kind == "Rescaling":
        return {"type": kind, "scale": 1 / 255, "offset": draw(st.sampled_from([0.0, -1.0]))}
    if kind == "Resizing":
        return {"type": kind, "height": draw(st.integers(4, 24)), "width": draw(st.integers(4, 24))}
    if kind == "RandomRotation":
        return {"type": kind, "factor": draw(factors)}
    if kind == "RandomFlip":
        return {"type": kind, "mode": draw(st.sampled_from(["horizontal", "vertical", "horizontal_and_vertical"]))}
    if kind == "RandomTranslation":
        return {"type": kind, "height_factor": draw(factors), "width_factor": draw(factors)}
    if kind == "RandomZoom":
        return {"type": kind, "height_factor": draw(factors)}
    return {"type": "Dense", "units": draw(st.integers(1, 6)), "activation": "relu"}


@st.composite
def stacks(draw) -> dict:
    spec = {"input_shape": [draw(st.integers(6, 36)), draw(st.integers(6, 36)), draw(st.sampled_from([1, 3]))],
            "layers": [], "compile": {"optimizer": {"name": "adam", "learning_rate": 0.001},
                                      "loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]}}
    for _ in range(draw(st.integers(0, 7))):
        layer = image_layer(draw)
        candidate = {**spec, "layers": [*spec["layers"], layer]}
        if table(candidate).ok:
            spec = candidate
    spec["layers"].append(draw(st.sampled_from([{"type": "Flatten"}, {"type": "GlobalAveragePooling2D"}])))
    for _ in range(draw(st.integers(0, 3))):
        spec["layers"].append(draw(st.sampled_from([
            {"type": "Dense", "units": draw(st.integers(1, 16)), "activation": "relu",
             "use_bias": draw(st.booleans())},
            {"type": "Dropout", "rate": 0.3},
            {"type": "BatchNormalization", "center": draw(st.booleans())}])))
    spec["layers"].append({"type": "Dense", "units": draw(st.integers(2, 30)), "activation": "softmax"})
    return spec


def keras_rows(model):
    for layer in model.layers:
        trainable = sum(math.prod(w.shape) for w in layer.trainable_weights)
        non_trainable = sum(math.prod(w.shape) for w in layer.non_trainable_weights)
        yield tuple(layer.output.shape[1:]), trainable, non_trainable


def assert_same_as_keras(spec):
    assert check(spec).ok, check(spec).errors
    model = build.build_model(spec, compile=False)
    ours = table(spec)
    assert len(ours.rows) == len(model.layers)
    for row, (shape, trainable, non_trainable) in zip(ours.rows, keras_rows(model)):
        assert (row.output_shape, row.trainable_params, row.non_trainable_params) == \
               (shape, trainable, non_trainable), (row.index, row.type, spec)
    assert ours.total_params == model.count_params()
    assert ours.trainable_params == sum(math.prod(w.shape) for w in model.trainable_weights)


@pytest.mark.parametrize("name", presets.names())
def test_presets_match_keras(name):
    assert_same_as_keras(presets.load(name))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(stacks())
def test_random_stacks_match_keras(spec):
    assert_same_as_keras(spec)


def test_formulas_spell_out_the_notes_arithmetic():
    spec = {"input_shape": [28, 28, 1], "layers": [
        {"type": "Conv2D", "filters": 10, "kernel_size": [3, 3], "padding": "valid"},
        {"type": "Conv2D", "filters": 10, "kernel_size": [3, 3], "padding": "same", "strides": 2},
        {"type": "Flatten"}, {"type": "Dense", "units": 24, "activation": "softmax"}]}
    rows = table(spec).rows
    assert rows[0].formula == "H, W: ⌊(28 − 3) / 1⌋ + 1 = 26; params: 3·3·1·10 + 10 = 100"
    assert rows[1].shape_formula == "H, W: ⌈26 / 2⌉ = 13"
    assert rows[1].params_formula == "params: 3·3·10·10 + 10 = 910"
    assert rows[2].shape_formula == "13·13·10 = 1,690"
    assert rows[3].params_formula == "params: 1690·24 + 24 = 40,584"
