"""The layer catalogue: every type has every piece, follows the real Keras class, and speaks both languages.

Adding a layer type is one entry in ``lab.layers.LAYER_TYPES`` (and its words): the last test adds one and shows
that the checks, the shape table, the exported script and the summaries take it with no other change.
"""

import copy
import inspect
import runpy

import numpy as np
import pytest

from lab import codegen, i18n, layers, shape_rules
from lab.layers import LAYER_TYPES, WIDGETS, Arg, LayerType, new_layer
from lab.shapes import table
from lab.spec import check

keras = pytest.importorskip("tensorflow").keras

IMAGE = (28, 28, 3)


def one_layer_spec(layer: dict) -> dict:
    head = [] if layer["type"] in ("Flatten", "GlobalAveragePooling2D") else [{"type": "Flatten"}]
    return {"input_shape": list(IMAGE), "layers": [{"type": "Rescaling", "scale": 1 / 255}, layer, *head,
                                                   {"type": "Dense", "units": 3, "activation": "softmax"}]}


@pytest.mark.parametrize("name", LAYER_TYPES)
def test_every_layer_type_has_every_piece(name):
    kind = LAYER_TYPES[name]
    assert kind.name == name and kind.group_id in layers.GROUPS
    for lang in i18n.LANGUAGES:
        with i18n.speaking(lang):
            assert kind.help.endswith(".") and kind.group
            for arg_name, arg in kind.args.items():
                assert arg.widget in WIDGETS, (name, arg_name)
                assert arg.help_id is None or arg.help, (name, arg_name)
    for arg_name, arg in kind.args.items():
        assert arg.help_id, f"{name}.{arg_name} has no help"
        if not arg.required:
            assert arg.check(arg.default) is None, (name, arg_name)  # the Keras default passes its own check
        assert arg.check(arg.initial()) is None, (name, arg_name)
        if arg.choices:
            assert all(arg.check(choice) is None for choice in arg.choices)
            assert arg.check("no such choice") is not None
    layer = new_layer(name)
    assert check(one_layer_spec(layer)).ok, check(one_layer_spec(layer)).errors
    outcome = kind.rule(layer, IMAGE)
    assert isinstance(outcome, shape_rules.Outcome) and outcome.shape_formula and outcome.params_formula
    assert layers.short(layer).startswith(kind.abbreviation or name)
    assert isinstance(layers.summary(layer), str)
    if kind.window is not None:
        assert layers.window(layer).computes in ("convolution", "max", "mean")


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("size, kernel, stride, dilation", [(28, 3, 1, 1), (28, 3, 2, 1), (27, 4, 3, 1),
                                                           (13, 5, 2, 1), (12, 3, 1, 2), (9, 2, 2, 1)])
def test_window_padding_matches_a_real_convolution(size, kernel, stride, dilation, padding):
    """Padding (or cropping) the input by hand as the window says, then sliding with "valid", gives Keras's output."""
    layer = {"type": "Conv2D", "filters": 1, "kernel_size": kernel, "strides": stride, "dilation_rate": dilation,
             "padding": padding, "use_bias": False}
    conv = keras.layers.Conv2D(**{k: v for k, v in layer.items() if k != "type"}, kernel_initializer="ones")
    image = np.random.default_rng(0).uniform(size=(1, size, size + 1, 1)).astype("float32")
    expected = conv(image).numpy()
    window = layers.window(layer)
    if padding == "same":
        (top, bottom), (left, right) = window.same_padding(size, size + 1)
        image = np.pad(image, ((0, 0), (top, bottom), (left, right), (0, 0)))
    else:
        rows, columns = window.valid_dropped(size, size + 1)
        image = image[:, :size - rows, :size + 1 - columns]
    by_hand = keras.layers.Conv2D(**{**{k: v for k, v in layer.items() if k != "type"}, "padding": "valid"},
                                  kernel_initializer="ones")(image).numpy()
    assert by_hand.shape == expected.shape and np.allclose(by_hand, expected, atol=1e-5)


@pytest.mark.parametrize("name", LAYER_TYPES)
def test_every_argument_is_the_real_keras_argument_with_its_default(name):
    parameters = inspect.signature(getattr(keras.layers, name)).parameters
    for arg_name, arg in LAYER_TYPES[name].args.items():
        assert arg_name in parameters, f"keras.layers.{name} takes no {arg_name}"
        real = parameters[arg_name].default
        if arg.required:
            assert real is inspect.Parameter.empty, (name, arg_name)
        else:
            ours = tuple(arg.default) if isinstance(arg.default, list) else arg.default
            assert ours == real, (name, arg_name, ours, real)


def test_a_choice_argument_needs_its_choices_and_a_widget_kind_must_exist():
    with pytest.raises(ValueError):
        Arg(layers.CHOICE, "a")
    with pytest.raises(ValueError):
        Arg("slider", 1)
    with pytest.raises(ValueError):
        Arg(layers.WHOLE, 1, choices=("a",))
    assert Arg(layers.OPTIONAL_CHOICE, None, choices=("a",)).check(None) is None


def test_summaries_short_names_and_windows():
    conv = {"type": "Conv2D", "filters": 32, "kernel_size": [3, 3], "strides": [2, 2], "padding": "same",
            "activation": "relu", "dilation_rate": 1}
    assert layers.summary(conv) == "32 filters 3×3, stride 2×2, same, relu"
    assert layers.short(conv) == "Conv2D(32,same)"
    assert layers.short({"type": "Conv2D", "filters": 8, "kernel_size": 3}) == "Conv2D(8,valid)"
    assert layers.short({"type": "Dropout", "rate": 0.4}) == "Dropout(0.4)"
    assert layers.short({"type": "RandomZoom", "height_factor": 0.1}) == "RandZoom"
    assert layers.short({"type": "Conv3D"}) == "Conv3D"
    assert layers.summary({"type": "Dense", "units": 24, "activation": "softmax"}) == "24 units, softmax"
    assert layers.summary({"type": "Rescaling", "scale": 1 / 255}) == "× 1/255"
    assert layers.summary({"type": "RandomFlip"}) == "horizontal and vertical"
    assert layers.summary({"type": "Dense"}) == ""  # a broken layer has no summary, never an exception
    pool = layers.window({"type": "MaxPooling2D", "pool_size": 3})
    assert (pool.size, pool.strides, pool.dilation, pool.computes) == ((3, 3), (3, 3), (1, 1), "max")
    dilated = layers.window({"type": "Conv2D", "filters": 1, "kernel_size": [3, 5], "dilation_rate": 2})
    assert dilated.span == (5, 9) and dilated.strides == (1, 1)
    assert layers.window({"type": "Dense", "units": 3}) is None
    stride_two = layers.window({"type": "Conv2D", "filters": 1, "kernel_size": 3, "strides": 2})
    assert stride_two.same_padding(28, 27) == ((0, 1), (1, 1))
    assert stride_two.valid_dropped(28, 27) == (1, 0)
    assert pool.valid_dropped(2, 7) == (2, 1)
    assert set(layers.sliding_types()) == {"Conv2D", "MaxPooling2D", "AveragePooling2D"}


def test_the_catalogue_speaks_portuguese():
    conv = {"type": "Conv2D", "filters": 32, "kernel_size": 3, "padding": "same", "activation": "relu"}
    with i18n.speaking("pt-BR"):
        assert layers.summary(conv) == "32 filtros 3×3, same, relu"
        assert layers.summary({"type": "Dense", "units": 10}) == "10 neurônios"
        assert layers.summary({"type": "RandomFlip", "mode": "horizontal_and_vertical"}) == "horizontal e vertical"
        assert layers.layer_label(3, conv) == "Camada 3 (Conv2D)"
        assert LAYER_TYPES["Dense"].args["units"].help.startswith("Número de neurônios")
        assert LAYER_TYPES["Dropout"].help.startswith("Desliga uma fração aleatória das entradas")
        assert LAYER_TYPES["RandomZoom"].group == "Aumento de dados"
    assert LAYER_TYPES["Dense"].args["units"].help.startswith("Number of neurons")  # the words follow the language


def test_a_new_layer_type_needs_only_its_catalogue_entry(monkeypatch, tmp_path):
    """SpatialDropout2D, added here as one entry, is checked, tabled, exported and summarised like the rest."""
    entry = LayerType("SpatialDropout2D", {"rate": Arg(layers.RATE, layers.REQUIRED, True, "layers.arg.rate",
                                                       start=0.1)},
                      "layers.help.dropout", "layers.group.regularisation", shape_rules.unchanged_image,
                      "SpatialDrop", short_args=("rate",), keeps_picture=True)
    monkeypatch.setitem(LAYER_TYPES, entry.name, entry)
    layer = new_layer("SpatialDropout2D")
    spec = one_layer_spec({"type": "Conv2D", "filters": 4, "kernel_size": 3})
    spec["layers"].insert(2, layer)
    spec["compile"] = {"optimizer": {"name": "adam", "learning_rate": 0.001},
                       "loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]}
    assert check(spec).ok, check(spec).errors
    assert layers.short(layer) == "SpatialDrop(0.1)"
    rows = table(spec).rows
    assert rows[2].output_shape == (26, 26, 4) and rows[2].formula == "unchanged; no parameters"
    script = tmp_path / "exported.py"
    script.write_text(codegen.to_script(spec), encoding="utf-8")
    model = runpy.run_path(str(script), run_name="exported")["model"]
    assert [tuple(layer.output.shape[1:]) for layer in model.layers] == [row.output_shape for row in rows]
    bad = copy.deepcopy(spec)
    bad["layers"][2]["rate"] = 1.5
    assert check(bad).errors[0].message.startswith("Layer 3 (SpatialDropout2D): rate must be a number from 0")
    flat = copy.deepcopy(spec)
    flat["layers"].insert(3, {"type": "Flatten"})
    flat["layers"][2], flat["layers"][3] = flat["layers"][3], flat["layers"][2]
    assert "Layer 4 (SpatialDropout2D) needs an image-shaped input" in check(flat).errors[0].message
