"""Every layer's output shape and parameter count, with the arithmetic in words.

Pure Python, no TensorFlow: the page shows this table while TensorFlow is still loading. The
arithmetic follows Keras exactly (``keras/src/ops/operation_utils.py``); a property test compares
it with real Keras models.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from lab.spec import DEFAULT_BATCH_SIZE, LAYER_TYPES, Problem, ints, layer_label, times

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


# --- memory: refuse a network that cannot train here before TensorFlow allocates anything -----------------------

BYTES_PER_VALUE = 4      # float32
WEIGHT_COPIES = 4        # the weights, their gradients and an optimizer's two slots (Adam's m and v)
ACTIVATION_COPIES = 3    # each layer's output, its gradient and working space, for every image of a batch
MEMORY_ENV = "CNN_LAB_MEMORY_LIMIT_MB"
CGROUP_LIMIT = Path("/sys/fs/cgroup/memory.max")


@dataclass(frozen=True)
class MemoryEstimate:
    """About how many bytes training needs: weights (with gradients and optimizer slots) and activations."""

    weight_bytes: int
    activation_bytes: int
    batch_size: int
    largest: Row | None  # the layer that needs the most memory
    largest_is_weights: bool  # whether that layer's weights (not its outputs) are what weighs

    @property
    def total_bytes(self) -> int:
        return self.weight_bytes + self.activation_bytes

    def largest_text(self) -> str:
        """The biggest single cause, in words: "Layer 3 (Dense) alone has 1,000 parameters"."""
        row = self.largest
        if row is None:
            return ""
        label = f"Layer {row.index} ({row.type})"
        if self.largest_is_weights:
            return f"{label} alone has {n(row.params)} parameters"
        return f"{label} alone outputs {n(math.prod(row.output_shape))} values per image"


def memory_estimate(spec: dict, batch_size: int = DEFAULT_BATCH_SIZE, result: Table | None = None) -> MemoryEstimate:
    """The memory needed to train a spec whose arguments ``check`` accepts, in batches of ``batch_size``.

    Pure integer arithmetic on the shape table (no TensorFlow, no allocation, no overflow).
    """
    result = result or table(spec)
    batch = max(int(batch_size), 1)
    weights = activations = 0
    largest, largest_bytes, largest_is_weights = None, -1, False
    per_image = math.prod(result.input_shape) * batch * BYTES_PER_VALUE * ACTIVATION_COPIES
    activations += per_image
    for row in result.rows:
        if row.output_shape is None:
            continue
        weight_bytes = row.params * BYTES_PER_VALUE * WEIGHT_COPIES
        output_bytes = math.prod(row.output_shape) * batch * BYTES_PER_VALUE * ACTIVATION_COPIES
        weights += weight_bytes
        activations += output_bytes
        if max(weight_bytes, output_bytes) > largest_bytes:
            largest, largest_bytes = row, max(weight_bytes, output_bytes)
            largest_is_weights = weight_bytes >= output_bytes
    return MemoryEstimate(weights, activations, batch, largest, largest_is_weights)


def memory_limit() -> tuple[int, str]:
    """The bytes of memory training may use and where that figure comes from, in words.

    CNN_LAB_MEMORY_LIMIT_MB when set, else this machine's memory (or its container's limit, when lower);
    0 when nothing is known. LabError when the variable is not a whole number of megabytes.
    """
    from lab.errors import LabError

    override = os.environ.get(MEMORY_ENV, "").strip()
    if override:
        if not override.isdigit() or int(override) <= 0:
            raise LabError(f"{MEMORY_ENV} must be a whole number of megabytes such as 8000, not {override[:40]!r}; "
                           "fix it or unset it.")
        return int(override) * 1024 * 1024, f"{MEMORY_ENV} allows"
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = _meminfo_bytes()
    try:
        cgroup = CGROUP_LIMIT.read_text().strip()
    except OSError:
        cgroup = ""
    if cgroup.isdigit() and int(cgroup) > 0:
        total = min(total, int(cgroup)) if total else int(cgroup)
    return total or 0, "this machine has"


def _meminfo_bytes() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def size_text(count: int, about: str = "") -> str:
    """Bytes in words: 512 MB, 12.3 GB, 4,096.0 GB, or "more than a billion GB"; ``about`` goes before a figure."""
    if count < 1e9:
        return f"{about}{max(count / 1e6, 1):,.0f} MB"
    if count < 1e18:
        return f"{about}{count / 1e9:,.1f} GB"
    return "more than a billion GB"


def memory_problem(spec: dict, batch_size: int = DEFAULT_BATCH_SIZE, result: Table | None = None) -> Problem | None:
    """The error for a network that cannot train in this machine's memory, or None when it fits."""
    from lab.errors import LabError

    try:
        limit, whose = memory_limit()
    except LabError as error:
        return Problem(None, str(error))
    if not limit:
        return None  # nothing known about this machine's memory
    estimate = memory_estimate(spec, batch_size, result)
    if estimate.total_bytes <= limit:
        return None
    fix = "use fewer filters or units" if estimate.largest_is_weights else \
        "use fewer filters, smaller images or a smaller batch size"
    cause = f" ({estimate.largest_text()})" if estimate.largest else ""
    return Problem(estimate.largest.index if estimate.largest else None,
                   f"The network needs {size_text(estimate.total_bytes, 'about ')} of memory to train with batches of "
                   f"{estimate.batch_size}{cause}; {whose} {size_text(limit)}; {fix}.")
