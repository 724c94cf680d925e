"""The layer catalogue: everything the lab knows about each Keras layer type, in one table.

A layer type declares its constructor arguments (each with its check, its Keras default, the widget that edits it
and the id of its help text: what the argument does, how it changes the output shape and the parameters, when to
change it), its shape rule, its sliding window if it has one, a one-line summary of a layer's key settings, a short
name for lists of runs, and its guide (output shape, parameters, when to choose it). Adding a layer type means
adding one entry to LAYER_TYPES (and its words to lab/locale/*/layers.po); the spec's checks, the shape table, the
code export and the page read it from here.

Words are ids here and become sentences only when shown (``Arg.help``, ``LayerType.help``, ``summary``), so the
catalogue speaks the language of whoever reads it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lab import shape_rules, values
from lab.i18n import t
from lab.shape_rules import Outcome, Shape, Window
from lab.values import Check, ints, show, times

ACTIVATIONS = ("relu", "sigmoid", "softmax", "tanh", "elu", "selu", "gelu", "swish", "softplus", "leaky_relu",
               "relu6", "linear")
INITIALIZERS = ("glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform", "lecun_normal",
                "random_normal", "random_uniform", "truncated_normal", "zeros", "ones", "orthogonal")
PADDINGS = ("valid", "same")
FILL_MODES = ("reflect", "wrap", "constant", "nearest")
INTERPOLATIONS = ("bilinear", "nearest")
RESIZE_INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5")
FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical")

# The widget kinds: each names the editor widget for an argument and the check its value must pass.
WHOLE = "positive_int"          # a whole number of 1 or more
PAIR = "positive_pair"          # (height, width) of whole numbers, or one number for both
OPTIONAL_PAIR = "optional_pair"  # a pair, or empty (None) for the layer's own choice
SWITCH = "boolean"              # true or false
NUMBER = "number"               # any finite number
RATE = "rate"                   # a fraction from 0 up to (not including) 1
POSITIVE = "positive_number"    # a number above 0
SEED = "optional_int"           # a whole number of 0 or more, or empty
RANGE = "factor"                # a fraction f (meaning −f…f) or a (low, high) pair within −1…1
OPTIONAL_RANGE = "optional_factor"
VALUE_RANGE = "value_range"     # (low, high): the pixel values a layer receives, e.g. [0, 255] or [0, 1]
CHOICE = "choice"               # one of ``choices``
OPTIONAL_CHOICE = "optional_choice"  # one of ``choices``, or empty (None)
_CHECKS: dict[str, Check] = {
    WHOLE: values.positive_int, PAIR: values.positive_pair, OPTIONAL_PAIR: values.optional_pair,
    SWITCH: values.boolean, NUMBER: values.number, RATE: values.rate, POSITIVE: values.positive_number,
    SEED: values.optional_int, RANGE: values.factor, OPTIONAL_RANGE: values.optional_factor,
    VALUE_RANGE: values.value_range,
}
WIDGETS = (*_CHECKS, CHOICE, OPTIONAL_CHOICE)

REQUIRED = object()  # marks an argument Keras has no default for


@dataclass(frozen=True)
class Arg:
    """One constructor argument: the widget that edits it (which decides its check), its Keras default (or
    REQUIRED), whether the editor shows it outside "Advanced", the id of its help text, and the editor's
    starting value when that differs from the Keras default."""

    widget: str
    default: Any = None
    shown: bool = False
    help_id: str | None = None
    start: Any = REQUIRED
    choices: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.widget not in WIDGETS:
            raise ValueError(f"unknown widget kind {self.widget!r}")
        if (self.widget in (CHOICE, OPTIONAL_CHOICE)) != bool(self.choices):
            raise ValueError(f"a {self.widget} argument needs choices exactly when it is a choice")

    @property
    def check(self) -> Check:
        """Returns None for a good value, else the end of a sentence saying what it must be."""
        if self.widget == CHOICE:
            return values.one_of(self.choices)
        if self.widget == OPTIONAL_CHOICE:
            return values.optional_one_of(self.choices)
        return _CHECKS[self.widget]

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def help(self) -> str:
        """The help text in the current language ("" when the argument has none)."""
        return t(self.help_id) if self.help_id else ""

    def initial(self) -> Any:
        return copy.deepcopy(self.default if self.start is REQUIRED else self.start)


def _no_summary(layer: dict) -> str:
    return ""


@dataclass(frozen=True)
class LayerType:
    """One Keras layer class as the lab knows it."""

    name: str  # the Keras class name
    args: dict[str, Arg]
    help_id: str  # one sentence: what the layer does
    group_id: str  # the words id of the group the editor lists it under
    rule: Callable[[dict, Shape], Outcome]  # its output shape and parameters (lab.shape_rules)
    abbreviation: str = ""  # a short name for lists ("MaxPool"); the class name when empty
    short_args: tuple[str, ...] = ()  # the arguments a list of runs shows in brackets: Conv2D(32,same)
    summarize: Callable[[dict], str] = _no_summary  # its key settings in words, for the layer list
    window: Callable[[dict], Window] | None = None  # how it slides over an image, for layers that do
    keeps_picture: bool = False  # its output is still the input picture (scaled, resized or augmented)
    weighs_input: bool = False  # learns weights that multiply its input (raw 0–255 pixels make it learn badly)
    normalises: bool = False  # brings the pixel values into a small range
    consistency: Callable[[dict], str | None] | None = None  # a problem between its arguments, in words
    # The layer guide: what it does to the shape, the parameters it learns, and when to choose it.
    shape_id: str = "layers.shape.unchanged"
    params_id: str = "layers.params.none"
    when_id: str = ""

    @property
    def help(self) -> str:
        return t(self.help_id)

    @property
    def group(self) -> str:
        return t(self.group_id)

    def guide(self) -> tuple[str, str, str]:
        """Its output shape, its parameters and when to choose it, in words."""
        return t(self.shape_id), t(self.params_id), t(self.when_id)

    def defaults(self) -> dict[str, Any]:
        """The arguments a new layer of this type starts with in the editor."""
        return {name: arg.initial() for name, arg in self.args.items() if arg.shown}

    def short(self, layer: dict) -> str:
        """E.g. "Conv2D(32,same)", "Dense(24)", "MaxPool"."""
        name = self.abbreviation or self.name
        if not self.short_args:
            return name
        parts = []
        for key in self.short_args:
            arg = self.args[key]
            value = layer.get(key, "?" if arg.required else arg.default)
            parts.append(f"{value:g}" if isinstance(value, float) else str(value))
        return f"{name}({','.join(parts)})"


# --- summaries: a layer's key settings in words ------------------------------------------------------------------

def _stride(layer: dict) -> list[str]:
    strides = layer.get("strides")
    if strides is None or ints(strides) == (1, 1):
        return []
    return [t("layers.summary.stride", stride=times(ints(strides)))]


def _conv_summary(layer: dict) -> str:
    parts = [t("layers.summary.filters", filters=layer["filters"], kernel=times(ints(layer["kernel_size"]))),
             *_stride(layer), layer.get("padding", "valid")]
    if layer.get("activation"):
        parts.append(layer["activation"])
    return ", ".join(parts)


def _pool_summary(layer: dict) -> str:
    return ", ".join([times(ints(layer.get("pool_size", 2))), *_stride(layer), layer.get("padding", "valid")])


def _dense_summary(layer: dict) -> str:
    return ", ".join([t("layers.summary.units", units=layer["units"]), *filter(None, [layer.get("activation")])])


def _dropout_summary(layer: dict) -> str:
    return t("layers.summary.rate", rate=f"{layer['rate']:g}")


def _rescaling_summary(layer: dict) -> str:
    scale = layer["scale"]
    text = "× " + ("1/255" if abs(scale - 1 / 255) < 1e-9 else f"{scale:g}")
    return text + (f" + {layer['offset']:g}" if layer.get("offset") else "")


def _resizing_summary(layer: dict) -> str:
    return t("layers.summary.resize", size=times((layer["height"], layer["width"])))


FLIP_WORDS = {"horizontal": "layers.flip.horizontal", "vertical": "layers.flip.vertical",
              "horizontal_and_vertical": "layers.flip.horizontal_and_vertical"}


def _flip_summary(layer: dict) -> str:
    return t(FLIP_WORDS[layer.get("mode", "horizontal_and_vertical")])


def _rotation_summary(layer: dict) -> str:
    return t("layers.summary.factor", factor=layer["factor"])


def _value_range_summary(layer: dict) -> str:
    low, high = layer.get("value_range", (0, 255))
    return f"{low:g}–{high:g}"


def _shift_summary(layer: dict) -> str:
    height = layer["height_factor"]
    width = layer.get("width_factor")
    return t("layers.summary.height_width", height=height, width=height if width is None else width)


def summary(layer: dict) -> str:
    """The few settings that matter most, in words: "32 filters 3×3, same, relu" ("" when it cannot say)."""
    kind = LAYER_TYPES.get(layer.get("type")) if isinstance(layer.get("type"), str) else None
    if kind is None:
        return ""
    try:
        return kind.summarize(layer)
    except (KeyError, TypeError, ValueError, IndexError):
        return ""


def short(layer: dict) -> str:
    """A layer in a few characters, for lists of runs: "Conv2D(32,same)", "MaxPool", "Dense(24)"."""
    name = layer.get("type", "?")
    kind = LAYER_TYPES.get(name) if isinstance(name, str) else None
    return kind.short(layer) if kind else str(name)


def window(layer: dict) -> Window | None:
    """The sliding window of a Conv2D or pooling layer (size, strides, dilation, what it computes), else None."""
    kind = LAYER_TYPES.get(layer.get("type"))
    return kind.window(layer) if kind and kind.window else None


def sliding_types() -> tuple[str, ...]:
    """The layer types that slide a window over the image, where padding matters."""
    return tuple(name for name, kind in LAYER_TYPES.items() if kind.window)


def layer_label(index: int, layer: dict) -> str:
    """How a sentence names a layer: "Layer 3 (Conv2D)"."""
    kind = layer.get("type", "?")
    plain = isinstance(kind, str) and len(kind) <= 40 and kind.isprintable()
    return t("layers.label", index=index, type=kind if plain else show(kind, 40))


def new_layer(layer_type: str) -> dict:
    """A layer of the given type with the editor's starting arguments."""
    return {"type": layer_type, **LAYER_TYPES[layer_type].defaults()}


def _strides_with_dilation(layer: dict) -> str | None:
    if max(ints(layer.get("strides", 1))) > 1 and max(ints(layer.get("dilation_rate", 1))) > 1:
        return t("layers.conv2d.strides_with_dilation")
    return None


# --- the catalogue ------------------------------------------------------------------------------------------------

def _init(default: str, help_id: str) -> Arg:
    return Arg(CHOICE, default, help_id=help_id, choices=INITIALIZERS)


def _activation() -> Arg:
    return Arg(OPTIONAL_CHOICE, None, True, "layers.arg.activation", start="relu", choices=ACTIVATIONS)


def _pool_args(pool_size: Any) -> dict[str, Arg]:
    """The pooling arguments; Keras gives MaxPooling2D a default pool_size but AveragePooling2D none."""
    return {
        "pool_size": Arg(PAIR, pool_size, True, "layers.arg.pool_size", start=[2, 2]),
        "strides": Arg(OPTIONAL_PAIR, None, True, "layers.arg.pool_strides"),
        "padding": Arg(CHOICE, "valid", True, "layers.arg.pool_padding", choices=PADDINGS),
    }


def _seed() -> Arg:
    return Arg(SEED, None, help_id="layers.arg.seed")


def _value_range() -> Arg:
    return Arg(VALUE_RANGE, [0, 255], help_id="layers.arg.value_range")


def _contrast_factor_in_range(layer: dict) -> str | None:
    factor = layer.get("factor")
    items = factor if isinstance(factor, (list, tuple)) else [factor]
    if any(isinstance(v, (int, float)) and v < 0 for v in items):
        return t("layers.random_contrast.negative_factor")
    return None


def _augment_args() -> dict[str, Arg]:
    return {
        "fill_mode": Arg(CHOICE, "reflect", help_id="layers.arg.fill_mode", choices=FILL_MODES),
        "interpolation": Arg(CHOICE, "bilinear", help_id="layers.arg.interpolation", choices=INTERPOLATIONS),
        "seed": _seed(),
        "fill_value": Arg(NUMBER, 0.0, help_id="layers.arg.fill_value"),
    }


LAYER_TYPES: dict[str, LayerType] = {
    kind.name: kind
    for kind in [
        LayerType("Conv2D", {
            "filters": Arg(WHOLE, REQUIRED, True, "layers.arg.filters", start=32),
            "kernel_size": Arg(PAIR, REQUIRED, True, "layers.arg.kernel_size", start=[3, 3]),
            "strides": Arg(PAIR, [1, 1], True, "layers.arg.conv_strides"),
            "padding": Arg(CHOICE, "valid", True, "layers.arg.conv_padding", start="same", choices=PADDINGS),
            "activation": _activation(),
            "dilation_rate": Arg(PAIR, [1, 1], help_id="layers.arg.dilation_rate"),
            "use_bias": Arg(SWITCH, True, help_id="layers.arg.conv_use_bias"),
            "kernel_initializer": _init("glorot_uniform", "layers.arg.kernel_initializer"),
            "bias_initializer": _init("zeros", "layers.arg.bias_initializer"),
        }, "layers.help.conv2d", "layers.group.convolution", shape_rules.conv2d, short_args=("filters", "padding"),
            summarize=_conv_summary, window=shape_rules.conv_window, weighs_input=True,
            consistency=_strides_with_dilation, shape_id="layers.shape.conv2d", params_id="layers.params.conv2d",
            when_id="layers.when.conv2d"),
        LayerType("MaxPooling2D", _pool_args([2, 2]), "layers.help.max_pooling2d", "layers.group.pooling",
                  shape_rules.pooling(shape_rules.max_pool_window), "MaxPool", summarize=_pool_summary,
                  window=shape_rules.max_pool_window, shape_id="layers.shape.pooling",
                  when_id="layers.when.max_pooling2d"),
        LayerType("AveragePooling2D", _pool_args(REQUIRED), "layers.help.average_pooling2d", "layers.group.pooling",
                  shape_rules.pooling(shape_rules.average_pool_window), "AvgPool", summarize=_pool_summary,
                  window=shape_rules.average_pool_window, shape_id="layers.shape.pooling",
                  when_id="layers.when.average_pooling2d"),
        LayerType("GlobalAveragePooling2D", {"keepdims": Arg(SWITCH, False, help_id="layers.arg.keepdims")},
                  "layers.help.global_average_pooling2d", "layers.group.pooling",
                  shape_rules.global_average_pooling, "GlobalAvgPool", shape_id="layers.shape.global_average_pooling2d",
                  when_id="layers.when.global_average_pooling2d"),
        LayerType("Flatten", {}, "layers.help.flatten", "layers.group.core", shape_rules.flatten,
                  shape_id="layers.shape.flatten", params_id="layers.params.flatten", when_id="layers.when.flatten"),
        LayerType("Dense", {
            "units": Arg(WHOLE, REQUIRED, True, "layers.arg.units", start=64),
            "activation": _activation(),
            "use_bias": Arg(SWITCH, True, help_id="layers.arg.dense_use_bias"),
            "kernel_initializer": _init("glorot_uniform", "layers.arg.kernel_initializer"),
            "bias_initializer": _init("zeros", "layers.arg.bias_initializer"),
        }, "layers.help.dense", "layers.group.core", shape_rules.dense, short_args=("units",),
            summarize=_dense_summary, weighs_input=True, shape_id="layers.shape.dense", params_id="layers.params.dense",
            when_id="layers.when.dense"),
        LayerType("Dropout", {
            "rate": Arg(RATE, REQUIRED, True, "layers.arg.rate", start=0.2),
            "seed": _seed(),
        }, "layers.help.dropout", "layers.group.regularisation", shape_rules.unchanged, short_args=("rate",),
            summarize=_dropout_summary, keeps_picture=True, when_id="layers.when.dropout"),
        LayerType("BatchNormalization", {
            "momentum": Arg(RATE, 0.99, help_id="layers.arg.momentum"),
            "epsilon": Arg(POSITIVE, 0.001, help_id="layers.arg.epsilon"),
            "center": Arg(SWITCH, True, help_id="layers.arg.center"),
            "scale": Arg(SWITCH, True, help_id="layers.arg.batch_norm_scale"),
        }, "layers.help.batch_normalization", "layers.group.regularisation", shape_rules.batch_normalization,
            "BatchNorm", normalises=True, params_id="layers.params.batch_normalization",
            when_id="layers.when.batch_normalization"),
        LayerType("Resizing", {
            "height": Arg(WHOLE, REQUIRED, True, "layers.arg.height", start=28),
            "width": Arg(WHOLE, REQUIRED, True, "layers.arg.width", start=28),
            "interpolation": Arg(CHOICE, "bilinear", help_id="layers.arg.interpolation",
                                 choices=RESIZE_INTERPOLATIONS),
            "crop_to_aspect_ratio": Arg(SWITCH, False, help_id="layers.arg.crop_to_aspect_ratio"),
        }, "layers.help.resizing", "layers.group.preprocessing", shape_rules.resizing, summarize=_resizing_summary,
            keeps_picture=True, shape_id="layers.shape.resizing", when_id="layers.when.resizing"),
        LayerType("Rescaling", {
            "scale": Arg(NUMBER, REQUIRED, True, "layers.arg.scale", start=1 / 255),
            "offset": Arg(NUMBER, 0.0, help_id="layers.arg.offset"),
        }, "layers.help.rescaling", "layers.group.preprocessing", shape_rules.unchanged,
            summarize=_rescaling_summary, keeps_picture=True, normalises=True, when_id="layers.when.rescaling"),
        LayerType("RandomRotation", {
            "factor": Arg(RANGE, REQUIRED, True, "layers.arg.rotation_factor", start=[-0.1, 0.1]),
            **_augment_args(),
        }, "layers.help.random_rotation", "layers.group.augmentation", shape_rules.unchanged_image, "RandRotation",
            summarize=_rotation_summary, keeps_picture=True, when_id="layers.when.random_rotation"),
        LayerType("RandomFlip", {
            "mode": Arg(CHOICE, "horizontal_and_vertical", True, "layers.arg.flip_mode", choices=FLIP_MODES),
            "seed": _seed(),
        }, "layers.help.random_flip", "layers.group.augmentation", shape_rules.unchanged_image, "RandFlip",
            summarize=_flip_summary, keeps_picture=True, when_id="layers.when.random_flip"),
        LayerType("RandomTranslation", {
            "height_factor": Arg(RANGE, REQUIRED, True, "layers.arg.shift_height_factor", start=0.1),
            "width_factor": Arg(RANGE, REQUIRED, True, "layers.arg.shift_width_factor", start=0.1),
            **_augment_args(),
        }, "layers.help.random_translation", "layers.group.augmentation", shape_rules.unchanged_image,
            "RandTranslation", summarize=_shift_summary, keeps_picture=True, when_id="layers.when.random_translation"),
        LayerType("RandomZoom", {
            "height_factor": Arg(RANGE, REQUIRED, True, "layers.arg.zoom_height_factor", start=0.1),
            "width_factor": Arg(OPTIONAL_RANGE, None, help_id="layers.arg.zoom_width_factor"),
            **_augment_args(),
        }, "layers.help.random_zoom", "layers.group.augmentation", shape_rules.unchanged_image, "RandZoom",
            summarize=_shift_summary, keeps_picture=True, when_id="layers.when.random_zoom"),
        LayerType("RandomBrightness", {
            "factor": Arg(RANGE, REQUIRED, True, "layers.arg.brightness_factor", start=[-0.2, 0.2]),
            "value_range": _value_range(),
            "seed": _seed(),
        }, "layers.help.random_brightness", "layers.group.augmentation", shape_rules.unchanged_image,
            "RandBrightness", summarize=_rotation_summary, keeps_picture=True,
            when_id="layers.when.random_brightness"),
        LayerType("RandomContrast", {
            "factor": Arg(RANGE, REQUIRED, True, "layers.arg.contrast_factor", start=[0.3, 0.3]),
            "value_range": _value_range(),
            "seed": _seed(),
        }, "layers.help.random_contrast", "layers.group.augmentation", shape_rules.unchanged_image,
            "RandContrast", summarize=_rotation_summary, keeps_picture=True, consistency=_contrast_factor_in_range,
            when_id="layers.when.random_contrast"),
        LayerType("AutoContrast", {"value_range": _value_range()}, "layers.help.auto_contrast",
                  "layers.group.preprocessing", shape_rules.unchanged_image, summarize=_value_range_summary,
                  keeps_picture=True, when_id="layers.when.auto_contrast"),
    ]
}

GROUPS = tuple(dict.fromkeys(kind.group_id for kind in LAYER_TYPES.values()))
