"""Every layer's output shape and parameter count, with the arithmetic in words.

Pure Python, no TensorFlow: the page shows this table while TensorFlow is still loading. The
arithmetic follows Keras exactly (``keras/src/ops/operation_utils.py``); a property test compares
it with real Keras models.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from lab.spec import LAYER_TYPES, ints, layer_label, times

Shape = tuple[int, ...]


@dataclass
class Row:
    index: int
    type: str
    input_shape: Shape | None
    output_shape: Shape | None
    params: int = 0
    trainable_params: int = 0
    non_trainable_params: int = 0
    shape_formula: str = ""
    params_formula: str = ""
    error: str | None = None

    @property
    def formula(self) -> str:
        return "; ".join(part for part in (self.shape_formula, self.params_formula) if part)

    def as_dict(self) -> dict:
        return {"index": self.index, "type": self.type,
                "output_shape": list(self.output_shape) if self.output_shape else None,
                "params": self.params, "trainable_params": self.trainable_params,
                "non_trainable_params": self.non_trainable_params, "formula": self.formula,
                "error": self.error}


@dataclass
class Table:
    input_shape: Shape
    rows: list[Row] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(row.error is None and row.output_shape is not None for row in self.rows)

    @property
    def trainable_params(self) -> int:
        return sum(row.trainable_params for row in self.rows)

    @property
    def non_trainable_params(self) -> int:
        return sum(row.non_trainable_params for row in self.rows)

    @property
    def total_params(self) -> int:
        return self.trainable_params + self.non_trainable_params

    @property
    def output_shape(self) -> Shape | None:
        return self.rows[-1].output_shape if self.rows else self.input_shape


class ShapeError(Exception):
    pass


def n(value: int) -> str:
    return f"{value:,}"


def _window(size: int, window: int, stride: int, padding: str, dilation: int = 1) -> tuple[int, str]:
    """One spatial axis of a convolution or pooling window: the output size and its formula."""
    span = (window - 1) * dilation + 1
    if padding == "same":
        return (size - 1) // stride + 1, f"⌈{size} / {stride}⌉ = {(size - 1) // stride + 1}"
    span_text = str(span) if dilation == 1 else f"({window} − 1)·{dilation} + 1"
    out = (size - span) // stride + 1
    return out, f"⌊({size} − {span_text}) / {stride}⌋ + 1 = {out}"


def _axes_formula(height: str, width: str) -> str:
    return f"H, W: {height}" if height == width else f"H: {height}; W: {width}"


def _needs_image(label: str, shape: Shape) -> None:
    if len(shape) != 3:
        raise ShapeError(f"{label} needs an image-shaped input (height, width, channels) but gets a flat "
                         f"vector of {n(shape[0])}; move it before Flatten or GlobalAveragePooling2D.")


def _sliding(layer: dict, label: str, shape: Shape, conv: bool) -> tuple[Shape, str, int, str]:
    _needs_image(label, shape)
    height, width, channels = shape
    padding = layer.get("padding", "valid")
    if conv:
        window = ints(layer["kernel_size"])
        strides = ints(layer.get("strides", 1))
        dilation = ints(layer.get("dilation_rate", 1))
        noun = "kernel"
    else:
        window = ints(layer.get("pool_size", 2))
        strides = ints(layer["strides"]) if layer.get("strides") is not None else window
        dilation = (1, 1)
        noun = "pool"
    out_h, text_h = _window(height, window[0], strides[0], padding, dilation[0])
    out_w, text_w = _window(width, window[1], strides[1], padding, dilation[1])
    if out_h <= 0 or out_w <= 0:
        spans = tuple((k - 1) * d + 1 for k, d in zip(window, dilation))
        spanned = "" if spans == window else f" (spanning {times(spans)} with dilation)"
        raise ShapeError(f"{label}: {noun} {times(window)}{spanned} does not fit a {times((height, width))} input "
                         f"with padding 'valid'; use padding 'same' or a smaller {noun}.")
    shape_text = _axes_formula(text_h, text_w)
    if not conv:
        return (out_h, out_w, channels), shape_text, 0, "no parameters"
    filters = layer["filters"]
    weights = window[0] * window[1] * channels * filters
    bias = filters if layer.get("use_bias", True) else 0
    params_text = f"{window[0]}·{window[1]}·{channels}·{filters}" + (f" + {filters}" if bias else "")
    return (out_h, out_w, filters), shape_text, weights + bias, f"params: {params_text} = {n(weights + bias)}"


def _row(index: int, layer: dict, shape: Shape) -> Row:
    kind = layer["type"]
    label = layer_label(index, layer)
    row = Row(index, kind, shape, None)
    if kind in ("Conv2D", "MaxPooling2D", "AveragePooling2D"):
        out, row.shape_formula, row.trainable_params, row.params_formula = _sliding(layer, label, shape,
                                                                                    kind == "Conv2D")
    elif kind == "Flatten":
        out = (math.prod(shape),)
        row.shape_formula = f"{'·'.join(str(v) for v in shape)} = {n(out[0])}" if len(shape) > 1 else "unchanged"
        row.params_formula = "no parameters"
    elif kind == "GlobalAveragePooling2D":
        _needs_image(label, shape)
        out = (1, 1, shape[2]) if layer.get("keepdims") else (shape[2],)
        row.shape_formula = f"mean of each {times(shape[:2])} map → {shape[2]} values"
        row.params_formula = "no parameters"
    elif kind == "Dense":
        units, inputs = layer["units"], shape[-1]
        out = shape[:-1] + (units,)
        bias = units if layer.get("use_bias", True) else 0
        row.trainable_params = inputs * units + bias
        row.shape_formula = f"{units} units" + ("" if len(shape) == 1 else f" at each of {times(shape[:2])} positions")
        row.params_formula = f"params: {inputs}·{units}" + (f" + {units}" if bias else "") + \
            f" = {n(row.trainable_params)}"
    elif kind == "BatchNormalization":
        channels = shape[-1]
        learned = int(layer.get("center", True)) + int(layer.get("scale", True))
        row.trainable_params, row.non_trainable_params = learned * channels, 2 * channels
        out = shape
        learned_names = [name for name, on in (("γ", layer.get("scale", True)), ("β", layer.get("center", True)))
                         if on]
        trainable = f"{', '.join(learned_names)} trainable; " if learned_names else ""
        row.shape_formula = "unchanged"
        row.params_formula = (f"params: {learned + 2}·{channels} = {n((learned + 2) * channels)} "
                              f"({trainable}moving mean, variance not)")
    elif kind == "Resizing":
        _needs_image(label, shape)
        out = (layer["height"], layer["width"], shape[2])
        row.shape_formula = f"{times(shape[:2])} → {times(out[:2])}"
        row.params_formula = "no parameters"
    elif kind in ("Dropout", "Rescaling") or kind.startswith("Random"):
        if kind.startswith("Random"):
            _needs_image(label, shape)
        out = shape
        row.shape_formula = "unchanged"
        row.params_formula = "no parameters"
    else:
        raise ShapeError(f"{label}: unknown layer type; use one of {', '.join(LAYER_TYPES)}.")
    row.output_shape = tuple(int(v) for v in out)
    row.params = row.trainable_params + row.non_trainable_params
    return row


def table(spec: dict) -> Table:
    """The shape table of a spec whose arguments are well formed (see ``lab.spec.check``).

    The first layer that cannot take its input carries the error; the layers after it have no shape.
    """
    shape: Shape | None = tuple(int(v) for v in spec["input_shape"])
    result = Table(shape)
    for index, layer in enumerate(spec["layers"], start=1):
        if shape is None:
            result.rows.append(Row(index, layer.get("type", "?"), None, None))
            continue
        try:
            row = _row(index, layer, shape)
        except ShapeError as error:
            row = Row(index, layer.get("type", "?"), shape, None, error=str(error))
        result.rows.append(row)
        shape = row.output_shape
    return result
