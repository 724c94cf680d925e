"""Every layer's output shape and parameter count, with the arithmetic in words, and the memory training needs.

Pure Python, no TensorFlow: the page shows this table while TensorFlow is still loading. Each layer type's rule
lives in its catalogue entry (``lab.layers``, rules in ``lab.shape_rules``); a property test compares the table
with real Keras models.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from lab.errors import LabError
from lab.i18n import number, settled, t
from lab.layers import LAYER_TYPES, layer_label
from lab.shape_rules import INPUT_FIELD, Field, Shape, ShapeError, n, receptive_field

DEFAULT_BATCH_SIZE = 32  # the batch size the memory estimate assumes when none is given

MIXES_POSITIONS = ("Flatten", "GlobalAveragePooling2D")  # each output value sees every input position
RESTARTS_FIELD = ("Resizing",)  # the fields after it are counted in the resized image's pixels

__all__ = ["DEFAULT_BATCH_SIZE", "Field", "Row", "Shape", "ShapeError", "Table", "memory_estimate", "memory_limit", "n",
           "size_text", "table"]


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
    receptive: Field | None = None  # which input pixels one of its output values sees (None while it has no shape)
    receptive_formula: str = ""

    @property
    def receptive_text(self) -> str:
        """"7 × 7", or the words for "the whole input"; "" while the layer has no shape."""
        if self.receptive is None:
            return ""
        if self.receptive.size is None:
            return t("shapes.receptive.whole_input")
        height, width = self.receptive.size
        return f"{height} × {width}"

    @property
    def formula(self) -> str:
        return "; ".join(part for part in (self.shape_formula, self.params_formula) if part)

    def as_dict(self) -> dict:
        return {"index": self.index, "type": self.type,
                "output_shape": list(self.output_shape) if self.output_shape else None,
                "params": self.params, "trainable_params": self.trainable_params,
                "non_trainable_params": self.non_trainable_params, "formula": self.formula,
                "receptive_field": (list(self.receptive.size) if self.receptive and self.receptive.size
                                    else None),
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


def _row(index: int, layer: dict, shape: Shape) -> Row:
    kind = LAYER_TYPES.get(layer["type"])
    if kind is None:
        raise ShapeError("shapes.unknown_type", known=", ".join(LAYER_TYPES))
    outcome = kind.rule(layer, shape)
    return Row(index, kind.name, shape, tuple(int(v) for v in outcome.shape),
               outcome.trainable + outcome.non_trainable, outcome.trainable, outcome.non_trainable,
               outcome.shape_formula, outcome.params_formula)


@settled
def table(spec: dict) -> Table:
    """The shape table of a spec whose arguments are well formed (see ``lab.spec.check``).

    The first layer that cannot take its input carries the error; the layers after it have no shape.
    """
    shape: Shape | None = tuple(int(v) for v in spec["input_shape"])
    result = Table(shape)
    seen = INPUT_FIELD
    for index, layer in enumerate(spec["layers"], start=1):
        if shape is None:
            result.rows.append(Row(index, layer.get("type", "?"), None, None))
            continue
        try:
            row = _row(index, layer, shape)
        except ShapeError as error:
            row = Row(index, layer.get("type", "?"), shape, None, error=error.message(layer_label(index, layer)))
        else:
            seen, row.receptive_formula = _field(layer, seen)
            row.receptive = seen
        result.rows.append(row)
        shape = row.output_shape
    return result


def _field(layer: dict, before: Field) -> tuple[Field, str]:
    """The receptive field after ``layer`` (r_out = r_in + (k − 1)·d·j_in; j_out = j_in·s) and its words."""
    if layer["type"] in RESTARTS_FIELD and before.size is not None:
        return INPUT_FIELD, t("shapes.receptive.restart")
    kind = LAYER_TYPES[layer["type"]]
    window = kind.window(layer) if kind.window is not None else None
    return receptive_field(window, layer["type"] in MIXES_POSITIONS, before)


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
        label = layer_label(row.index, {"type": row.type})
        if self.largest_is_weights:
            return t("shapes.memory.largest_weights", label=label, count=n(row.params))
        return t("shapes.memory.largest_outputs", label=label, count=n(math.prod(row.output_shape)))


@settled
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
    """The bytes of memory training may use, and where that figure comes from: "env" or "machine".

    CNN_LAB_MEMORY_LIMIT_MB when set, else this machine's memory (or its container's limit, when lower);
    0 when nothing is known. LabError when the variable is not a whole number of megabytes.
    """
    override = os.environ.get(MEMORY_ENV, "").strip()
    if override:
        if not override.isdigit() or int(override) <= 0:
            raise LabError(t("shapes.memory.bad_limit", variable=MEMORY_ENV, value=repr(override[:40])))
        return int(override) * 1024 * 1024, "env"
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
    return total or 0, "machine"


def _meminfo_bytes() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def size_text(count: int, about: bool = False) -> str:
    """Bytes in words: 512 MB, about 12.3 GB, 4,096.0 GB, or "more than a billion GB"."""
    if count >= 1e18:
        return t("shapes.memory.beyond")
    figure = f"{number(max(count / 1e6, 1), ',.0f')} MB" if count < 1e9 else f"{number(count / 1e9, ',.1f')} GB"
    return t("shapes.memory.about", size=figure) if about else figure
