"""The model spec: a network as plain JSON data, and its validation.

A spec names Keras layer classes and their own constructor arguments, so that
``getattr(keras.layers, layer["type"])(**arguments)`` builds the same layer. Validation runs
before anything is built and needs no TensorFlow: each problem is one sentence that names the
layer, the argument and the fix.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from numbers import Real
from typing import Any

from lab.errors import LabError

ACTIVATIONS = ("relu", "sigmoid", "softmax", "tanh", "elu", "selu", "gelu", "swish", "softplus", "leaky_relu",
               "relu6", "linear")
INITIALIZERS = ("glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform", "lecun_normal",
                "random_normal", "random_uniform", "truncated_normal", "zeros", "ones", "orthogonal")
PADDINGS = ("valid", "same")
FILL_MODES = ("reflect", "wrap", "constant", "nearest")
INTERPOLATIONS = ("bilinear", "nearest")
RESIZE_INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5")
FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta")
LOSSES = ("sparse_categorical_crossentropy", "categorical_crossentropy", "binary_crossentropy")
METRICS = ("accuracy", "sparse_categorical_accuracy", "categorical_accuracy", "binary_accuracy", "precision",
           "recall", "auc", "f1_score", "top_3_accuracy", "top_5_accuracy")
IMAGE_LAYERS = ("Conv2D", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D", "Resizing",
                "RandomRotation", "RandomFlip", "RandomTranslation", "RandomZoom")


def ints(value: Any) -> tuple[int, int]:
    """An int or a pair of ints, as Keras reads kernel_size, strides and pool_size."""
    if isinstance(value, (list, tuple)):
        return int(value[0]), int(value[1])
    return int(value), int(value)


def times(pair: tuple[int, int]) -> str:
    return f"{pair[0]}×{pair[1]}"


# --- argument checks: each returns None when fine, else the end of a sentence ---------------------------------

Check = Callable[[Any], "str | None"]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(float(value))


def positive_int(value: Any) -> str | None:
    if not _is_int(value) or value <= 0:
        return f"must be a whole number of 1 or more, not {value!r}"
    return None


def positive_pair(value: Any) -> str | None:
    items = value if isinstance(value, (list, tuple)) else [value]
    if len(items) not in (1, 2) or isinstance(value, (list, tuple)) and len(items) != 2:
        return f"must be one whole number or a pair (height, width), not {value!r}"
    if not all(_is_int(v) and v > 0 for v in items):
        return f"must be whole numbers of 1 or more, not {value!r}"
    return None


def optional_pair(value: Any) -> str | None:
    return None if value is None else positive_pair(value)


def one_of(choices: tuple[str, ...]) -> Check:
    def check(value: Any) -> str | None:
        if value not in choices:
            return f"must be one of {', '.join(repr(c) for c in choices)}, not {value!r}"
        return None
    return check


def optional_one_of(choices: tuple[str, ...]) -> Check:
    inner = one_of(choices)
    return lambda value: None if value is None else inner(value)


def boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else f"must be true or false, not {value!r}"


def number(value: Any) -> str | None:
    return None if _is_number(value) else f"must be a number, not {value!r}"


def rate(value: Any) -> str | None:
    if not _is_number(value) or not 0 <= value < 1:
        return f"must be a number from 0 up to (but not including) 1, not {value!r}"
    return None


def positive_number(value: Any) -> str | None:
    if not _is_number(value) or value <= 0:
        return f"must be a number above 0, not {value!r}"
    return None


def optional_int(value: Any) -> str | None:
    return None if value is None or _is_int(value) else f"must be a whole number or empty, not {value!r}"


def factor(value: Any) -> str | None:
    """A random-augmentation factor: one number f (meaning −f…f) or a pair (low, high), within −1…1."""
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    if len(items) not in (1, 2) or not all(_is_number(v) for v in items):
        return f"must be a number or a pair (low, high), not {value!r}"
    if any(abs(v) > 1 for v in items):
        return f"must stay within −1 and 1, not {value!r}"
    if len(items) == 2 and items[0] > items[1]:
        return f"must be a pair (low, high) with low ≤ high, not {value!r}"
    return None


def optional_factor(value: Any) -> str | None:
    return None if value is None else factor(value)


REQUIRED = object()  # marks an argument Keras has no default for


@dataclass(frozen=True)
class Arg:
    """One constructor argument: its check, its Keras default (or REQUIRED), and how the editor shows it."""

    check: Check
    default: Any = None
    shown: bool = False
    help: str = ""
    start: Any = REQUIRED  # the editor's starting value when it differs from the Keras default

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def initial(self) -> Any:
        return copy.deepcopy(self.default if self.start is REQUIRED else self.start)


@dataclass(frozen=True)
class LayerType:
    name: str
    args: dict[str, Arg]
    help: str
    group: str

    def defaults(self) -> dict[str, Any]:
        """The arguments a new layer of this type starts with in the editor."""
        return {name: arg.initial() for name, arg in self.args.items() if arg.shown}


_init = Arg(one_of(INITIALIZERS), "glorot_uniform", help="how the weights start")
_bias_init = Arg(one_of(INITIALIZERS), "zeros", help="how the biases start")


def _pool_args() -> dict[str, Arg]:
    return {
        "pool_size": Arg(positive_pair, [2, 2], True, help="window size (height, width)"),
        "strides": Arg(optional_pair, None, True, help="step of the window; empty means the pool size"),
        "padding": Arg(one_of(PADDINGS), "valid", True, help="'valid' drops the border, 'same' pads with zeros"),
    }


def _augment_args() -> dict[str, Arg]:
    return {
        "fill_mode": Arg(one_of(FILL_MODES), "reflect", help="how points outside the image are filled"),
        "interpolation": Arg(one_of(INTERPOLATIONS), "bilinear"),
        "seed": Arg(optional_int, None),
        "fill_value": Arg(number, 0.0),
    }


LAYER_TYPES: dict[str, LayerType] = {
    layer.name: layer
    for layer in [
        LayerType("Conv2D", {
            "filters": Arg(positive_int, REQUIRED, True, start=32,
                    help="number of filters (feature maps) the layer learns"),
            "kernel_size": Arg(positive_pair, REQUIRED, True, start=[3, 3], help="size of each filter (height, width)"),
            "strides": Arg(positive_pair, [1, 1], True, help="step of the filter across the image"),
            "padding": Arg(one_of(PADDINGS), "valid", True, start="same",
                    help="'same' keeps the size (zero border), 'valid' shrinks"),
            "activation": Arg(optional_one_of(ACTIVATIONS), None, True, start="relu", help="applied to each output"),
            "dilation_rate": Arg(positive_pair, [1, 1], help="gaps between filter taps"),
            "use_bias": Arg(boolean, True, help="add one learned bias per filter"),
            "kernel_initializer": _init,
            "bias_initializer": _bias_init,
        }, "2-D convolution: slides learned filters over the image.", "Convolution"),
        LayerType("MaxPooling2D", _pool_args(), "Keeps the largest value of each window.", "Pooling"),
        LayerType("AveragePooling2D", _pool_args(), "Keeps the mean of each window.", "Pooling"),
        LayerType("GlobalAveragePooling2D", {"keepdims": Arg(boolean, False)},
                  "Averages each feature map to one number.", "Pooling"),
        LayerType("Flatten", {}, "Unrolls the feature maps into one long vector.", "Core"),
        LayerType("Dense", {
            "units": Arg(positive_int, REQUIRED, True, start=64, help="number of neurons"),
            "activation": Arg(optional_one_of(ACTIVATIONS), None, True, start="relu", help="applied to each output"),
            "use_bias": Arg(boolean, True, help="add one learned bias per neuron"),
            "kernel_initializer": _init,
            "bias_initializer": _bias_init,
        }, "Fully connected layer: every input feeds every neuron.", "Core"),
        LayerType("Dropout", {
            "rate": Arg(rate, REQUIRED, True, start=0.2, help="fraction of inputs set to 0 while training"),
            "seed": Arg(optional_int, None),
        }, "Switches off a random fraction of inputs while training, against overfitting.", "Regularisation"),
        LayerType("BatchNormalization", {
            "momentum": Arg(rate, 0.99, help="how slowly the moving statistics follow the batches"),
            "epsilon": Arg(positive_number, 0.001),
            "center": Arg(boolean, True, help="learn a shift β"),
            "scale": Arg(boolean, True, help="learn a scale γ"),
        }, "Normalises each channel over the batch, then scales and shifts it.", "Regularisation"),
        LayerType("Resizing", {
            "height": Arg(positive_int, REQUIRED, True, start=28, help="output height in pixels"),
            "width": Arg(positive_int, REQUIRED, True, start=28, help="output width in pixels"),
            "interpolation": Arg(one_of(RESIZE_INTERPOLATIONS), "bilinear"),
            "crop_to_aspect_ratio": Arg(boolean, False),
        }, "Resizes every image to a fixed size.", "Preprocessing"),
        LayerType("Rescaling", {
            "scale": Arg(number, REQUIRED, True, start=1 / 255,
                    help="multiplies every pixel (1/255 maps 0–255 to 0–1)"),
            "offset": Arg(number, 0.0, help="added after scaling"),
        }, "Multiplies (and shifts) the pixel values, e.g. 0–255 to 0–1.", "Preprocessing"),
        LayerType("RandomRotation", {
            "factor": Arg(factor, REQUIRED, True, start=[-0.1, 0.1],
                    help="rotation range as a fraction of a full turn"),
            **_augment_args(),
        }, "Rotates each training image by a random angle (off at prediction).", "Augmentation"),
        LayerType("RandomFlip", {
            "mode": Arg(one_of(FLIP_MODES), "horizontal_and_vertical", True, help="which flips to apply"),
            "seed": Arg(optional_int, None),
        }, "Flips training images at random (off at prediction).", "Augmentation"),
        LayerType("RandomTranslation", {
            "height_factor": Arg(factor, REQUIRED, True, start=0.1,
                    help="vertical shift range, fraction of the height"),
            "width_factor": Arg(factor, REQUIRED, True, start=0.1,
                    help="horizontal shift range, fraction of the width"),
            **_augment_args(),
        }, "Shifts training images at random (off at prediction).", "Augmentation"),
        LayerType("RandomZoom", {
            "height_factor": Arg(factor, REQUIRED, True, start=0.1,
                    help="zoom range; negative zooms in, positive zooms out"),
            "width_factor": Arg(optional_factor, None, help="empty keeps the aspect ratio"),
            **_augment_args(),
        }, "Zooms training images in or out at random (off at prediction).", "Augmentation"),
    ]
}


@dataclass(frozen=True)
class Problem:
    """One error or warning; ``layer`` is the 1-based layer number, or None for the spec as a whole."""

    layer: int | None
    message: str


@dataclass
class Report:
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def for_layer(self, index: int) -> list[Problem]:
        return [p for p in self.errors if p.layer == index]


def layer_label(index: int, layer: dict) -> str:
    return f"Layer {index} ({layer.get('type', '?')})"


def _check_args(index: int, layer: dict, report: Report) -> bool:
    """Checks one layer's own arguments; False when the layer cannot take part in the shape arithmetic."""
    label = layer_label(index, layer)
    kind = LAYER_TYPES.get(layer.get("type"))
    if kind is None:
        known = ", ".join(LAYER_TYPES)
        report.errors.append(Problem(index, f"{label}: unknown layer type {layer.get('type')!r}; use one of {known}."))
        return False
    fine = True
    for name in layer:
        if name != "type" and name not in kind.args:
            allowed = ", ".join(kind.args) or "no arguments"
            report.errors.append(Problem(index, f"{label}: unknown argument {name!r}; {kind.name} takes {allowed}."))
            fine = False
    for name, arg in kind.args.items():
        if name not in layer:
            if arg.required:
                report.errors.append(Problem(index, f"{label}: argument {name!r} is missing; set it."))
                fine = False
            continue
        complaint = arg.check(layer[name])
        if complaint:
            report.errors.append(Problem(index, f"{label}: {name} {complaint}."))
            fine = False
    if kind.name == "Conv2D" and fine:
        if max(ints(layer.get("strides", 1))) > 1 and max(ints(layer.get("dilation_rate", 1))) > 1:
            report.errors.append(Problem(index, f"{label}: strides above 1 cannot be combined with a dilation_rate "
                                                "above 1; set one of them back to 1."))
            fine = False
    return fine


def _check_compile(spec: dict, report: Report) -> None:
    settings = spec.get("compile")
    if settings is None:
        return
    if not isinstance(settings, dict):
        report.errors.append(Problem(None, "The compile settings must be an object with optimizer, loss and metrics."))
        return
    optimizer = settings.get("optimizer", {"name": "adam"})
    if isinstance(optimizer, str):
        optimizer = {"name": optimizer}
    name = str(optimizer.get("name", "")).lower()
    if name not in OPTIMIZERS:
        report.errors.append(Problem(None, f"Optimizer {optimizer.get('name')!r} is not supported; "
                                           f"use one of {', '.join(OPTIMIZERS)}."))
    learning_rate = optimizer.get("learning_rate", 0.001)
    if not _is_number(learning_rate) or not 0 < learning_rate <= 10:
        report.errors.append(Problem(None, f"The learning rate must be a number above 0 (e.g. 0.001), "
                                           f"not {learning_rate!r}."))
    for key in ("momentum", "rho", "beta_1", "beta_2"):
        if key in optimizer and rate(optimizer[key]):
            report.errors.append(Problem(None, f"The optimizer's {key} must be from 0 up to 1, "
                                               f"not {optimizer[key]!r}."))
    if boolean(settings.get("jit_compile", True)):
        report.errors.append(Problem(None, "The compile setting jit_compile must be true or false."))
    loss = settings.get("loss", "sparse_categorical_crossentropy")
    if loss not in LOSSES:
        report.errors.append(Problem(None, f"Loss {loss!r} is not supported; use one of {', '.join(LOSSES)}."))
    for metric in settings.get("metrics", []):
        if metric not in METRICS:
            report.errors.append(Problem(None, f"Metric {metric!r} is not supported; use one of {', '.join(METRICS)}."))


def _check_input(spec: dict, report: Report) -> bool:
    shape = spec.get("input_shape")
    if (not isinstance(shape, (list, tuple)) or len(shape) != 3
            or not all(_is_int(v) and v > 0 for v in shape)):
        report.errors.append(Problem(None, f"The input shape must be [height, width, channels] with whole numbers "
                                           f"of 1 or more, not {shape!r}."))
        return False
    return True


def check(spec: dict) -> Report:
    """Every error and warning of a spec, without building anything."""
    from lab.shapes import table

    report = Report()
    if not isinstance(spec, dict):
        report.errors.append(Problem(None, "A spec must be a JSON object with input_shape, layers and compile."))
        return report
    layers = spec.get("layers")
    if not isinstance(layers, list) or not layers:
        report.errors.append(Problem(None, "The network has no layers; add at least the Dense classifier head."))
        return report
    input_ok = _check_input(spec, report)
    args_ok = True
    for index, layer in enumerate(layers, start=1):
        if not isinstance(layer, dict):
            report.errors.append(Problem(index, f"Layer {index} must be an object with a 'type', not {layer!r}."))
            args_ok = False
        elif not _check_args(index, layer, report):
            args_ok = False
    _check_compile(spec, report)
    if not (input_ok and args_ok):
        return report

    result = table(spec)
    for row in result.rows:
        if row.error:
            report.errors.append(Problem(row.index, row.error))
            return report
    head = layers[-1]
    if head.get("type") != "Dense":
        report.errors.append(Problem(len(layers), f"{layer_label(len(layers), head)}: the last layer is the "
                                                  "classifier head and must be Dense; add a Dense layer at the end."))
    elif len(result.rows[-1].input_shape) != 1:
        report.errors.append(Problem(len(layers), f"{layer_label(len(layers), head)}: the head gets a "
                                                  f"{len(result.rows[-1].input_shape)}-D tensor "
                                                  f"{list(result.rows[-1].input_shape)}; add Flatten or "
                                                  "GlobalAveragePooling2D before it."))
    _warn(spec, result, report)
    return report


def _warn(spec: dict, result, report: Report) -> None:
    layers = spec["layers"]
    first_weighted = next((i for i, layer in enumerate(layers) if layer["type"] in ("Conv2D", "Dense")), None)
    if first_weighted is not None and not any(layer["type"] in ("Rescaling", "BatchNormalization")
                                              for layer in layers[:first_weighted]):
        index = first_weighted + 1
        report.warnings.append(Problem(index, f"{layer_label(index, layers[first_weighted])} receives raw pixels "
                                              "(0–255): add Rescaling(1/255) before it, or the model may not learn."))
    for row, layer in zip(result.rows[:-1], layers[:-1]):
        if layer["type"] == "Dense" and len(row.input_shape) == 3:
            report.warnings.append(Problem(row.index, f"{layer_label(row.index, layer)} is applied to every pixel "
                                                      f"of a {times(row.input_shape[:2])} map separately; add "
                                                      "Flatten before it unless that is what you want."))
        if row.params > 5_000_000:
            report.warnings.append(Problem(row.index, f"{layer_label(row.index, layer)} has {row.params:,} "
                                                      "parameters; pooling or fewer units would make it smaller "
                                                      "and faster."))
    head = layers[-1]
    loss = spec.get("compile", {}).get("loss", "sparse_categorical_crossentropy")
    if loss != "binary_crossentropy" and head.get("activation") != "softmax":
        report.warnings.append(Problem(len(layers), f"{layer_label(len(layers), head)}: the head's activation is "
                                                    f"{head.get('activation')!r}; use 'softmax' so the outputs are "
                                                    "class probabilities."))


def validate(spec: dict) -> Report:
    """Raises LabError with the first error; returns the report (its warnings) when the spec is valid."""
    report = check(spec)
    if report.errors:
        raise LabError(report.errors[0].message)
    return report


def new_layer(layer_type: str) -> dict:
    """A layer of the given type with the editor's starting arguments."""
    return {"type": layer_type, **LAYER_TYPES[layer_type].defaults()}


def adapt(spec: dict, input_shape=None, num_classes: int | None = None) -> tuple[dict, list[str]]:
    """A copy of the spec whose input follows the data and whose head has one unit per class."""
    spec = copy.deepcopy(spec)
    notes = []
    if input_shape is not None:
        shape = [int(v) for v in input_shape]
        if list(spec.get("input_shape", [])) != shape:
            notes.append(f"The input shape is now {shape} to match the dataset (was {spec.get('input_shape')}).")
            spec["input_shape"] = shape
    layers = spec.get("layers") or []
    if num_classes is not None and layers and layers[-1].get("type") == "Dense":
        head = layers[-1]
        if head.get("units") != num_classes:
            notes.append(f"The head now has {num_classes} units, one per class of the dataset "
                         f"(was {head.get('units')}).")
            head["units"] = int(num_classes)
        if num_classes == 2 and spec.get("compile", {}).get("loss") == "binary_crossentropy":
            head["units"] = 1
    return spec, notes
