"""Each layer type's shape rule: the output shape and parameter count for one input shape, with the arithmetic
in words.

A rule takes the layer's (checked) arguments and the input shape, nothing else; the arithmetic follows Keras
(``keras/src/ops/operation_utils.py``) and tests/test_shapes_keras.py compares it with real Keras models. A layer
that cannot take its input raises ShapeError with the id of the sentence that says why; ``lab.shapes.table``
names the layer in it.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from lab.i18n import number, t
from lab.values import ints, times

Shape = tuple[int, ...]


class ShapeError(Exception):
    """A layer that cannot take its input: ``key`` is the sentence's id, ``params`` its placeholders but {label}."""

    def __init__(self, key: str, **params: object):
        super().__init__(key)
        self.key = key
        self.params = params

    def message(self, label: str) -> str:
        return t(self.key, label=label, **self.params)


class Outcome(NamedTuple):  # a tuple: a shape table makes one per layer on every keystroke
    shape: Shape
    shape_formula: str
    params_formula: str
    trainable: int = 0
    non_trainable: int = 0


class Window(NamedTuple):
    """How a sliding window reads its input (height, width pairs), and what it computes on each position."""

    size: tuple[int, int]
    strides: tuple[int, int]
    dilation: tuple[int, int]
    computes: str  # "convolution" (a weighted sum with learned filters), "max" or "mean"

    @property
    def span(self) -> tuple[int, int]:
        """The pixels one window position covers, dilation included."""
        return (self.size[0] - 1) * self.dilation[0] + 1, (self.size[1] - 1) * self.dilation[1] + 1

    def same_padding(self, height: int, width: int) -> tuple[tuple[int, int], tuple[int, int]]:
        """((top, bottom), (left, right)): the zeros padding "same" adds, as TensorFlow does (the odd one after)."""
        pads = []
        for size, span, stride in zip((height, width), self.span, self.strides):
            total = max(((size - 1) // stride) * stride + span - size, 0)
            pads.append((total // 2, total - total // 2))
        return pads[0], pads[1]

    def valid_dropped(self, height: int, width: int) -> tuple[int, int]:
        """(rows, columns) at the bottom and right that no window reaches with padding "valid"."""
        dropped = []
        for size, span, stride in zip((height, width), self.span, self.strides):
            dropped.append(size if size < span else (size - span) % stride)
        return dropped[0], dropped[1]


def conv_window(layer: dict) -> Window:
    return Window(ints(layer["kernel_size"]), ints(layer.get("strides", 1)), ints(layer.get("dilation_rate", 1)),
                  "convolution")


def _pool_window(layer: dict, computes: str) -> Window:
    size = ints(layer.get("pool_size", 2))
    strides = ints(layer["strides"]) if layer.get("strides") is not None else size
    return Window(size, strides, (1, 1), computes)


def max_pool_window(layer: dict) -> Window:
    return _pool_window(layer, "max")


def average_pool_window(layer: dict) -> Window:
    return _pool_window(layer, "mean")


def n(value: int) -> str:
    return number(value)


def no_params() -> str:
    return t("shapes.no_params")


def params(formula: str) -> str:
    return t("shapes.params", formula=formula)


def axis(size: int, window: int, stride: int, padding: str, dilation: int = 1) -> tuple[int, str]:
    """One spatial axis of a convolution or pooling window: the output size and its formula."""
    span = (window - 1) * dilation + 1
    if padding == "same":
        return (size - 1) // stride + 1, f"⌈{size} / {stride}⌉ = {(size - 1) // stride + 1}"
    span_text = str(span) if dilation == 1 else f"({window} − 1)·{dilation} + 1"
    out = (size - span) // stride + 1
    return out, f"⌊({size} − {span_text}) / {stride}⌋ + 1 = {out}"


def _axes_formula(height: str, width: str) -> str:
    return f"H, W: {height}" if height == width else f"H: {height}; W: {width}"


def need_image(shape: Shape) -> None:
    if len(shape) != 3:
        raise ShapeError("shapes.needs_image", size=n(shape[0]))


def _slide(window: Window, padding: str, shape: Shape, too_big: str) -> tuple[int, int, str]:
    need_image(shape)
    height, width = shape[:2]
    out_h, text_h = axis(height, window.size[0], window.strides[0], padding, window.dilation[0])
    out_w, text_w = axis(width, window.size[1], window.strides[1], padding, window.dilation[1])
    if out_h <= 0 or out_w <= 0:
        spanned = "" if window.span == window.size else t("shapes.spanning", span=times(window.span))
        raise ShapeError(too_big, window=times(window.size), spanned=spanned, input=times((height, width)))
    return out_h, out_w, _axes_formula(text_h, text_w)


def conv2d(layer: dict, shape: Shape) -> Outcome:
    window = conv_window(layer)
    out_h, out_w, formula = _slide(window, layer.get("padding", "valid"), shape, "shapes.kernel_too_big")
    channels, filters = shape[2], layer["filters"]
    weights = window.size[0] * window.size[1] * channels * filters
    bias = filters if layer.get("use_bias", True) else 0
    text = f"{window.size[0]}·{window.size[1]}·{channels}·{filters}" + (f" + {filters}" if bias else "")
    return Outcome((out_h, out_w, filters), formula, params(f"{text} = {n(weights + bias)}"), weights + bias)


def pooling(window_of):
    def rule(layer: dict, shape: Shape) -> Outcome:
        out_h, out_w, formula = _slide(window_of(layer), layer.get("padding", "valid"), shape,
                                       "shapes.pool_too_big")
        return Outcome((out_h, out_w, shape[2]), formula, no_params())
    return rule


def global_average_pooling(layer: dict, shape: Shape) -> Outcome:
    need_image(shape)
    out = (1, 1, shape[2]) if layer.get("keepdims") else (shape[2],)
    return Outcome(out, t("shapes.global_mean", size=times(shape[:2]), channels=shape[2]), no_params())


def flatten(layer: dict, shape: Shape) -> Outcome:
    out = (math.prod(shape),)
    formula = f"{'·'.join(str(v) for v in shape)} = {n(out[0])}" if len(shape) > 1 else t("shapes.unchanged")
    return Outcome(out, formula, no_params())


def dense(layer: dict, shape: Shape) -> Outcome:
    units, inputs = layer["units"], shape[-1]
    bias = units if layer.get("use_bias", True) else 0
    total = inputs * units + bias
    formula = (t("shapes.units", units=units) if len(shape) == 1
               else t("shapes.units_at_each", units=units, positions=times(shape[:2])))
    text = f"{inputs}·{units}" + (f" + {units}" if bias else "") + f" = {n(total)}"
    return Outcome(shape[:-1] + (units,), formula, params(text), total)


def batch_normalization(layer: dict, shape: Shape) -> Outcome:
    channels = shape[-1]
    learned = [name for name, on in (("γ", layer.get("scale", True)), ("β", layer.get("center", True))) if on]
    text = f"{len(learned) + 2}·{channels} = {n((len(learned) + 2) * channels)}"
    formula = (t("shapes.batch_norm_params", formula=text, learned=", ".join(learned)) if learned
               else t("shapes.batch_norm_params_fixed", formula=text))
    return Outcome(shape, t("shapes.unchanged"), formula, len(learned) * channels, 2 * channels)


def resizing(layer: dict, shape: Shape) -> Outcome:
    need_image(shape)
    out = (layer["height"], layer["width"], shape[2])
    return Outcome(out, f"{times(shape[:2])} → {times(out[:2])}", no_params())


def unchanged(layer: dict, shape: Shape) -> Outcome:
    return Outcome(shape, t("shapes.unchanged"), no_params())


def unchanged_image(layer: dict, shape: Shape) -> Outcome:
    need_image(shape)
    return unchanged(layer, shape)


# --- receptive field: which input pixels one output value can see -----------------------------------------------

class Field(NamedTuple):
    """The receptive field of one layer's output values, (height, width) pairs in input pixels.

    ``size`` is how many input pixels one value can see along each axis; ``jump`` how many input pixels apart two
    neighbouring values are. ``size`` is None once a layer mixes every position (Flatten, Dense after it,
    GlobalAveragePooling2D): from there each value sees the whole input.
    """

    size: tuple[int, int] | None
    jump: tuple[int, int]


INPUT_FIELD = Field((1, 1), (1, 1))


def receptive_field(window: Window | None, mixes_positions: bool, before: Field) -> tuple[Field, str]:
    """The field after a layer, from the field before it, and the arithmetic in words.

    A sliding window of size k, dilation d and stride s grows the field by (k − 1)·d jumps of the layer before
    and multiplies the jump by s: r_out = r_in + (k − 1)·d·j_in; j_out = j_in·s. Other layers keep it.
    """
    if before.size is None or mixes_positions:
        return Field(None, before.jump), t("shapes.receptive.whole")
    if window is None:
        return before, t("shapes.unchanged")
    sizes, jumps, parts = [], [], []
    for r_in, j_in, k, d, s in zip(before.size, before.jump, window.size, window.dilation, window.strides):
        r_out, j_out = r_in + (k - 1) * d * j_in, j_in * s
        sizes.append(r_out)
        jumps.append(j_out)
        parts.append(t("shapes.receptive.formula", r_in=r_in, k=k, d=d, j_in=j_in, r_out=r_out, s=s, j_out=j_out))
    return Field((sizes[0], sizes[1]), (jumps[0], jumps[1])), _axes_formula(parts[0], parts[1])
