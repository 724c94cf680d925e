"""The model spec: a network as plain JSON data, and its validation.

A spec names Keras layer classes and their own constructor arguments, so that
``getattr(keras.layers, layer["type"])(**arguments)`` builds the same layer. Validation runs
before anything is built and needs no TensorFlow: each problem is one sentence that names the
layer, the argument and the fix.
"""

from __future__ import annotations

import copy
import json
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
LOSSES = ("sparse_categorical_crossentropy", "categorical_crossentropy", "binary_crossentropy")
METRICS = ("accuracy", "sparse_categorical_accuracy", "categorical_accuracy", "binary_accuracy", "precision",
           "recall", "auc", "f1_score", "top_3_accuracy", "top_5_accuracy")
MAX_SPEC_BYTES = 1_000_000  # a spec file or upload; the presets are about 1 kB
MAX_DEPTH = 16  # how deeply a spec's objects and lists may nest; a real spec needs 4
MAX_LAYERS = 500
MAX_NAME = 200  # characters of a spec's name
MAX_TEXT = 5_000  # characters of a spec's description
MAX_INT = 2**31 - 1  # the largest size, count or seed; TensorFlow keeps many of them in 32 bits
DEFAULT_BATCH_SIZE = 32  # the batch size check() assumes when it estimates the memory a network needs
IMAGE_LAYERS = ("Conv2D", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D", "Resizing",
                "RandomRotation", "RandomFlip", "RandomTranslation", "RandomZoom")


def show(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, so a huge or deep value never floods a message."""
    try:
        text = repr(value)
    except RecursionError:
        text = f"a deeply nested {type(value).__name__}"
    return text if len(text) <= limit else text[:limit - 1] + "…"


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
    if not isinstance(value, Real) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:  # an int beyond any float
        return False


def positive_int(value: Any) -> str | None:
    if not _is_int(value) or value <= 0:
        return f"must be a whole number of 1 or more, not {show(value)}"
    if value > MAX_INT:
        return f"must be at most {MAX_INT:,}, not {value:,}"
    return None


def positive_pair(value: Any) -> str | None:
    items = value if isinstance(value, (list, tuple)) else [value]
    if len(items) not in (1, 2) or isinstance(value, (list, tuple)) and len(items) != 2:
        return f"must be one whole number or a pair (height, width), not {show(value)}"
    if not all(_is_int(v) and 0 < v <= MAX_INT for v in items):
        return f"must be whole numbers from 1 to {MAX_INT:,}, not {show(value)}"
    return None


def optional_pair(value: Any) -> str | None:
    return None if value is None else positive_pair(value)


def one_of(choices: tuple[str, ...]) -> Check:
    def check(value: Any) -> str | None:
        if value not in choices:
            return f"must be one of {', '.join(repr(c) for c in choices)}, not {show(value)}"
        return None
    return check


def optional_one_of(choices: tuple[str, ...]) -> Check:
    inner = one_of(choices)
    return lambda value: None if value is None else inner(value)


def boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else f"must be true or false, not {show(value)}"


def number(value: Any) -> str | None:
    return None if _is_number(value) else f"must be a number, not {show(value)}"


def rate(value: Any) -> str | None:
    if not _is_number(value) or not 0 <= value < 1:
        return f"must be a number from 0 up to (but not including) 1, not {show(value)}"
    return None


def positive_number(value: Any) -> str | None:
    if not _is_number(value) or value <= 0:
        return f"must be a number above 0, not {show(value)}"
    return None


def non_negative_number(value: Any) -> str | None:
    if not _is_number(value) or value < 0:
        return f"must be a number of 0 or more, not {show(value)}"
    return None


def optional_int(value: Any) -> str | None:
    if value is None or _is_int(value) and 0 <= value <= MAX_INT:
        return None
    return f"must be a whole number from 0 to {MAX_INT:,} or empty, not {show(value)}"


def factor(value: Any) -> str | None:
    """A random-augmentation factor: one number f (meaning −f…f) or a pair (low, high), within −1…1."""
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    if len(items) != (2 if isinstance(value, (list, tuple)) else 1) or not all(_is_number(v) for v in items):
        return f"must be a number or a pair (low, high), not {show(value)}"
    if any(abs(v) > 1 for v in items):
        return f"must stay within −1 and 1, not {show(value)}"
    if len(items) == 2 and items[0] > items[1]:
        return f"must be a pair (low, high) with low ≤ high, not {show(value)}"
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


def learning_rate(value: Any) -> str | None:
    if not _is_number(value) or not 0 < value <= 10:
        return f"must be a number above 0 and at most 10 (e.g. 0.001), not {show(value)}"
    return None


def optional_positive_number(value: Any) -> str | None:
    return None if value is None else positive_number(value)


def optional_non_negative_number(value: Any) -> str | None:
    return None if value is None else non_negative_number(value)


def optional_count(least: int) -> Check:
    def check(value: Any) -> str | None:
        if value is None or _is_int(value) and least <= value <= MAX_INT:
            return None
        return f"must be a whole number of {least} or more, or empty, not {show(value)}"
    return check


@dataclass(frozen=True)
class OptimizerArg:
    """One keyword argument of a Keras optimizer: its check, and whether Keras wants it as a float."""

    check: Check
    real: bool = False  # Keras refuses an int where it wants a float (learning_rate=1 raises ValueError)

    def convert(self, value: Any) -> Any:
        return float(value) if self.real and value is not None else value


def _real(check: Check) -> OptimizerArg:
    return OptimizerArg(check, real=True)


# Every keyword argument of each optimizer's constructor (the optimizer's own ``name`` aside: in a spec,
# "name" picks the optimizer). tests/test_security_spec.py compares this table with the real signatures.
_OPTIMIZER_COMMON = {
    "learning_rate": _real(learning_rate),
    "weight_decay": _real(optional_non_negative_number),
    "clipnorm": _real(optional_positive_number),
    "clipvalue": _real(optional_positive_number),
    "global_clipnorm": _real(optional_positive_number),
    "use_ema": OptimizerArg(boolean),
    "ema_momentum": _real(rate),
    "ema_overwrite_frequency": OptimizerArg(optional_count(1)),
    "loss_scale_factor": _real(optional_positive_number),
    "gradient_accumulation_steps": OptimizerArg(optional_count(2)),
}
_ADAM = {"beta_1": _real(rate), "beta_2": _real(rate), "epsilon": _real(positive_number),
         "amsgrad": OptimizerArg(boolean)}
OPTIMIZER_ARGS: dict[str, dict[str, OptimizerArg]] = {
    "sgd": {**_OPTIMIZER_COMMON, "momentum": _real(rate), "nesterov": OptimizerArg(boolean)},
    "adam": {**_OPTIMIZER_COMMON, **_ADAM},
    "adamw": {**_OPTIMIZER_COMMON, **_ADAM, "weight_decay": _real(non_negative_number)},
    "rmsprop": {**_OPTIMIZER_COMMON, "rho": _real(rate), "momentum": _real(rate), "epsilon": _real(positive_number),
                "centered": OptimizerArg(boolean)},
    "adagrad": {**_OPTIMIZER_COMMON, "initial_accumulator_value": _real(non_negative_number),
                "epsilon": _real(positive_number)},
    "adadelta": {**_OPTIMIZER_COMMON, "rho": _real(rate), "epsilon": _real(positive_number)},
}
OPTIMIZER_CLASSES = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop", "adagrad": "Adagrad",
                     "adadelta": "Adadelta"}
OPTIMIZERS = tuple(OPTIMIZER_CLASSES)
CLIPS = ("clipnorm", "clipvalue", "global_clipnorm")
DEFAULT_OPTIMIZER = {"name": "adam", "learning_rate": 0.001}


def optimizer_arguments(settings: Any) -> tuple[str, dict[str, Any]]:
    """The Keras class name and keyword arguments of a checked optimizer setting (a name or an object)."""
    settings = {"name": settings} if isinstance(settings, str) else dict(settings)
    name = str(settings.pop("name", "adam")).lower()
    allowed = OPTIMIZER_ARGS[name]
    unknown = [key for key in settings if key not in allowed]
    if unknown:
        raise LabError(f"The {OPTIMIZER_CLASSES[name]} optimizer has no setting {show(unknown[0])}; use "
                       f"{', '.join(allowed)}, or remove it.")
    return OPTIMIZER_CLASSES[name], {key: allowed[key].convert(value) for key, value in settings.items()}




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
    kind = layer.get("type", "?")
    return f"Layer {index} ({kind if isinstance(kind, str) and len(kind) <= 40 else show(kind, 40)})"


def _check_args(index: int, layer: dict, report: Report) -> bool:
    """Checks one layer's own arguments; False when the layer cannot take part in the shape arithmetic."""
    label = layer_label(index, layer)
    kind = layer.get("type")
    kind = LAYER_TYPES.get(kind) if isinstance(kind, str) else None
    if kind is None:
        known = ", ".join(LAYER_TYPES)
        what = f"unknown layer type {show(layer['type'])}" if "type" in layer else "no 'type'"
        report.errors.append(Problem(index, f"{label}: {what}; use one of {known}."))
        return False
    fine = True
    for name in layer:
        if name != "type" and name not in kind.args:
            allowed = ", ".join(kind.args) or "no arguments"
            report.errors.append(Problem(index, f"{label}: unknown argument {show(name)}; {kind.name} takes "
                                                f"{allowed}."))
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


def _check_optimizer(optimizer: Any, report: Report) -> None:
    if isinstance(optimizer, str):
        optimizer = {"name": optimizer}
    if not isinstance(optimizer, dict):
        report.errors.append(Problem(None, f"The optimizer must be a name such as 'adam' or an object with a name "
                                           f"and its settings, not {show(optimizer)}."))
        return
    name = optimizer.get("name", "adam")
    allowed = OPTIMIZER_ARGS.get(name.lower()) if isinstance(name, str) else None
    if allowed is None:
        report.errors.append(Problem(None, f"Optimizer {show(name)} is not supported; "
                                           f"use one of {', '.join(OPTIMIZERS)}."))
    cls = OPTIMIZER_CLASSES[name.lower()] if allowed else "chosen"
    for key, value in optimizer.items():
        if key == "name":
            continue
        if key not in (allowed or _OPTIMIZER_COMMON):
            if allowed:
                report.errors.append(Problem(None, f"The {cls} optimizer has no setting {show(key)}; use "
                                                   f"{', '.join(allowed)}, or remove it."))
            continue
        complaint = (allowed or _OPTIMIZER_COMMON)[key].check(value)
        if complaint:
            what = "The learning rate" if key == "learning_rate" else f"The optimizer's {key}"
            report.errors.append(Problem(None, f"{what} {complaint}."))
    clips = [key for key in CLIPS if optimizer.get(key) is not None]
    if len(clips) > 1:
        report.errors.append(Problem(None, f"The optimizer sets {' and '.join(clips)}; Keras takes only one of "
                                           f"{', '.join(CLIPS)}, so keep one."))


def _check_compile(spec: dict, report: Report) -> None:
    if "compile" not in spec:
        return
    settings = spec["compile"]
    if not isinstance(settings, dict):
        report.errors.append(Problem(None, f"The compile settings must be an object with optimizer, loss and "
                                           f"metrics, not {show(settings)}."))
        return
    for key in settings:
        if key not in ("optimizer", "loss", "metrics", "jit_compile"):
            report.errors.append(Problem(None, f"Unknown compile setting {show(key)}; use optimizer, loss, metrics "
                                               "or jit_compile."))
    _check_optimizer(settings.get("optimizer", DEFAULT_OPTIMIZER), report)
    if boolean(settings.get("jit_compile", True)):
        report.errors.append(Problem(None, "The compile setting jit_compile must be true or false."))
    loss = settings.get("loss", "sparse_categorical_crossentropy")
    if not isinstance(loss, str) or loss not in LOSSES:
        report.errors.append(Problem(None, f"Loss {show(loss)} is not supported; use one of {', '.join(LOSSES)}."))
    metrics = settings.get("metrics", [])
    if not isinstance(metrics, list):
        report.errors.append(Problem(None, f"The metrics must be a list such as [\"accuracy\"], not {show(metrics)}."))
        return
    for metric in metrics:
        if not isinstance(metric, str) or metric not in METRICS:
            report.errors.append(Problem(None, f"Metric {show(metric)} is not supported; use one of "
                                               f"{', '.join(METRICS)}."))


def _check_input(spec: dict, report: Report) -> bool:
    shape = spec.get("input_shape")
    if (not isinstance(shape, (list, tuple)) or len(shape) != 3
            or not all(_is_int(v) and 0 < v <= MAX_INT for v in shape)):
        report.errors.append(Problem(None, f"The input shape must be [height, width, channels] with whole numbers "
                                           f"of 1 or more, not {show(shape)}."))
        return False
    return True


def _check_text(spec: dict, report: Report) -> None:
    for key, limit in (("name", MAX_NAME), ("description", MAX_TEXT)):
        if key not in spec:
            continue
        value = spec[key]
        if not isinstance(value, str):
            report.errors.append(Problem(None, f"The spec's {key} must be text, not {show(value)}."))
        elif len(value) > limit:
            report.errors.append(Problem(None, f"The spec's {key} has {len(value):,} characters; shorten it to "
                                               f"{limit:,} or fewer."))


def depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """How deeply lists and objects nest in ``value`` (0 for a plain value), counting no further than limit + 1.

    Iterative, so a value nested deeper than Python's recursion limit is measured without a RecursionError.
    """
    deepest = 0
    stack = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (dict, list, tuple)):
            level += 1
            deepest = max(deepest, level)
            if level > limit:
                return level
            stack.extend((child, level) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def check(spec: dict, batch_size: int = DEFAULT_BATCH_SIZE) -> Report:
    """Every error and warning of a spec, without building anything.

    Takes any JSON value and never raises: what is wrong comes back as errors. A network that would not fit
    this machine's memory when trained with ``batch_size`` images per batch is an error too.
    """
    from lab.shapes import memory_problem, table

    report = Report()
    if not isinstance(spec, dict):
        report.errors.append(Problem(None, "A spec must be a JSON object with input_shape, layers and compile."))
        return report
    if depth(spec) > MAX_DEPTH:
        report.errors.append(Problem(None, f"The spec nests lists and objects more than {MAX_DEPTH} deep; a spec "
                                           "needs 4 at most, so export it again."))
        return report
    _check_text(spec, report)
    layers = spec.get("layers")
    if not isinstance(layers, list) or not layers:
        report.errors.append(Problem(None, "The network has no layers; add at least the Dense classifier head."))
        return report
    if len(layers) > MAX_LAYERS:
        report.errors.append(Problem(None, f"The network has {len(layers):,} layers; use {MAX_LAYERS} or fewer."))
        return report
    input_ok = _check_input(spec, report)
    args_ok = True
    for index, layer in enumerate(layers, start=1):
        if not isinstance(layer, dict):
            report.errors.append(Problem(index, f"Layer {index} must be an object with a 'type', not {show(layer)}."))
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
    too_big = memory_problem(spec, batch_size, result)
    if too_big:
        report.errors.append(too_big)
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
    settings = spec.get("compile") if isinstance(spec.get("compile"), dict) else {}
    loss = settings.get("loss", "sparse_categorical_crossentropy")
    if loss != "binary_crossentropy" and head.get("activation") != "softmax":
        report.warnings.append(Problem(len(layers), f"{layer_label(len(layers), head)}: the head's activation is "
                                                    f"{head.get('activation')!r}; use 'softmax' so the outputs are "
                                                    "class probabilities."))


def validate(spec: dict, batch_size: int = DEFAULT_BATCH_SIZE) -> Report:
    """Raises LabError with the first error; returns the report (its warnings) when the spec is valid."""
    report = check(spec, batch_size)
    if report.errors:
        raise LabError(report.errors[0].message)
    return report


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def load_text(data: str | bytes, source: str = "The spec") -> dict:
    """A spec object from the text of a JSON file or upload: the one place specs enter from outside.

    Refuses, each with one LabError sentence that starts with ``source``: more than MAX_SPEC_BYTES, text that
    is not UTF-8, anything that is not JSON (NaN and Infinity included), nesting deeper than MAX_DEPTH, and
    JSON that is not an object. The object's contents are left to ``check``.
    """
    if len(data) > MAX_SPEC_BYTES:
        raise LabError(f"{source} is {len(data):,} bytes; a spec is a few kilobytes, so load the spec JSON that "
                       "CNN Lab exports.")
    if isinstance(data, (bytes, bytearray)):
        try:
            data = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise LabError(f"{source} is not a text file in UTF-8 (byte {error.start + 1:,} cannot be read); save "
                           "it as UTF-8 JSON or export the spec again.") from None
    try:
        spec = json.loads(data, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise LabError(f"{source} is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg}); "
                       "fix it or export the spec again.") from None
    except RecursionError:
        raise LabError(f"{source} nests lists and objects too deeply to read; a spec needs 4 levels at most, so "
                       "export it again.") from None
    except ValueError as error:  # NaN/Infinity, or an integer with thousands of digits
        reason = str(error) if "JSON number" in str(error) else "a number has thousands of digits"
        raise LabError(f"{source} is not valid JSON ({reason}); fix it or export the spec again.") from None
    if not isinstance(spec, dict):
        raise LabError(f"{source} is JSON but not a spec: it needs one object with input_shape, layers and "
                       "compile.")
    if depth(spec) > MAX_DEPTH:
        raise LabError(f"{source} nests lists and objects more than {MAX_DEPTH} deep; a spec needs 4 at most, so "
                       "export it again.")
    return spec


def new_layer(layer_type: str) -> dict:
    """A layer of the given type with the editor's starting arguments."""
    return {"type": layer_type, **LAYER_TYPES[layer_type].defaults()}


def adapt(spec: dict, input_shape=None, num_classes: int | None = None) -> tuple[dict, list[str]]:
    """A copy of the spec whose input follows the data and whose head has one unit per class.

    A spec of the wrong shape comes back copied but otherwise unchanged, for ``check`` to explain.
    """
    spec = copy.deepcopy(spec)
    notes = []
    if input_shape is not None:
        shape = [int(v) for v in input_shape]
        current = spec.get("input_shape")
        if not (isinstance(current, (list, tuple)) and list(current) == shape):
            notes.append(f"The input shape is now {shape} to match the dataset (was {show(spec.get('input_shape'))}).")
            spec["input_shape"] = shape
    layers = spec.get("layers") if isinstance(spec.get("layers"), list) else []
    head = layers[-1] if layers else None
    if num_classes is not None and isinstance(head, dict) and head.get("type") == "Dense":
        if head.get("units") != num_classes:
            notes.append(f"The head now has {num_classes} units, one per class of the dataset "
                         f"(was {show(head.get('units'))}).")
            head["units"] = int(num_classes)
        settings = spec.get("compile") if isinstance(spec.get("compile"), dict) else {}
        if num_classes == 2 and settings.get("loss") == "binary_crossentropy":
            head["units"] = 1
    return spec, notes
