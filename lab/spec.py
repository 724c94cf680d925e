"""The model spec: a network as plain JSON data, and its validation.

A spec names Keras layer classes and their own constructor arguments, so that
``getattr(keras.layers, layer["type"])(**arguments)`` builds the same layer. Validation runs
before anything is built and needs no TensorFlow: each problem is one sentence that names the
layer, the argument and the fix. What each layer type takes lives in the catalogue (``lab.layers``),
the training settings in ``lab.compiling``.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

from lab import i18n
from lab.compiling import (
    CLIPS,
    DEFAULT_LOSS,
    DEFAULT_OPTIMIZER,
    LOSSES,
    METRICS,
    OPTIMIZER_ARGS,
    OPTIMIZER_CLASSES,
    OPTIMIZER_COMMON,
    OPTIMIZERS,
    OptimizerArg,
    optimizer_arguments,
)
from lab.errors import LabError
from lab.i18n import settled, t
from lab.layers import (
    ACTIVATIONS,
    FILL_MODES,
    FLIP_MODES,
    INITIALIZERS,
    INTERPOLATIONS,
    LAYER_TYPES,
    PADDINGS,
    REQUIRED,
    RESIZE_INTERPOLATIONS,
    Arg,
    LayerType,
    layer_label,
    new_layer,
)
from lab.shapes import DEFAULT_BATCH_SIZE, MEMORY_ENV, Table, memory_estimate, memory_limit, size_text, table
from lab.values import (
    MAX_INT,
    Check,
    boolean,
    factor,
    ints,
    is_int,
    learning_rate,
    non_negative_number,
    number,
    one_of,
    optional_count,
    optional_factor,
    optional_int,
    optional_non_negative_number,
    optional_one_of,
    optional_pair,
    optional_positive_number,
    positive_int,
    positive_number,
    positive_pair,
    rate,
    show,
    times,
)

__all__ = [  # the names other modules import from here; most are defined in lab.layers, lab.compiling, lab.values
    "ACTIVATIONS", "CLIPS", "DEFAULT_BATCH_SIZE", "DEFAULT_LOSS", "DEFAULT_OPTIMIZER", "FILL_MODES", "FLIP_MODES",
    "INITIALIZERS", "INTERPOLATIONS", "LAYER_TYPES", "LOSSES", "MAX_DEPTH", "MAX_INT", "MAX_LAYERS", "MAX_NAME",
    "MAX_SPEC_BYTES", "MAX_TEXT", "METRICS", "OPTIMIZERS", "OPTIMIZER_ARGS", "OPTIMIZER_CLASSES", "PADDINGS",
    "REQUIRED", "RESIZE_INTERPOLATIONS", "Arg", "Check", "LayerType", "OptimizerArg", "Problem", "Report", "adapt",
    "boolean", "check", "depth", "factor", "ints", "layer_label", "learning_rate", "load_text", "memory_problem",
    "new_layer", "non_negative_number", "number", "one_of", "optimizer_arguments", "optional_count",
    "optional_factor", "optional_int", "optional_non_negative_number", "optional_one_of", "optional_pair",
    "optional_positive_number", "positive_int", "positive_number", "positive_pair", "rate", "show", "times",
    "validate",
]

MAX_SPEC_BYTES = 1_000_000  # a spec file or upload; the presets are about 1 kB
MAX_DEPTH = 16  # how deeply a spec's objects and lists may nest; a real spec needs 4
MAX_LAYERS = 500
MAX_NAME = 200  # characters of a spec's name
MAX_TEXT = 5_000  # characters of a spec's description


@dataclass(frozen=True)
class Problem:
    """One error or warning; ``layer`` is the 1-based layer number, or None for the spec as a whole."""

    layer: int | None
    message: str


@dataclass
class Report:
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    table: Table | None = None  # the shape table the check computed (None when the arguments did not allow one)

    @property
    def ok(self) -> bool:
        return not self.errors

    def for_layer(self, index: int) -> list[Problem]:
        return [p for p in self.errors if p.layer == index]


def _check_args(index: int, layer: dict, report: Report) -> bool:
    """Checks one layer's own arguments; False when the layer cannot take part in the shape arithmetic."""
    label = layer_label(index, layer)
    kind = layer.get("type")
    kind = LAYER_TYPES.get(kind) if isinstance(kind, str) else None
    if kind is None:
        known = ", ".join(LAYER_TYPES)
        if "type" in layer:
            message = t("spec.arg.unknown_type", label=label, type=show(layer["type"]), known=known)
        else:
            message = t("spec.arg.no_type", label=label, known=known)
        report.errors.append(Problem(index, message))
        return False
    fine = True
    for name in layer:
        if name != "type" and name not in kind.args:
            message = (t("spec.arg.unknown", label=label, name=show(name), type=kind.name,
                         allowed=", ".join(kind.args)) if kind.args
                       else t("spec.arg.unknown_none", label=label, name=show(name), type=kind.name))
            report.errors.append(Problem(index, message))
            fine = False
    for name, arg in kind.args.items():
        if name not in layer:
            if arg.required:
                report.errors.append(Problem(index, t("spec.arg.missing", label=label, name=repr(name))))
                fine = False
            continue
        complaint = arg.check(layer[name])
        if complaint:
            report.errors.append(Problem(index, t("spec.arg.bad", label=label, name=name, complaint=complaint)))
            fine = False
    if fine and kind.consistency is not None:
        problem = kind.consistency(layer)
        if problem:
            report.errors.append(Problem(index, t("spec.arg.inconsistent", label=label, problem=problem)))
            fine = False
    return fine


def _check_optimizer(optimizer: Any, report: Report) -> None:
    if isinstance(optimizer, str):
        optimizer = {"name": optimizer}
    if not isinstance(optimizer, dict):
        report.errors.append(Problem(None, t("spec.optimizer.not_an_object", value=show(optimizer))))
        return
    name = optimizer.get("name", "adam")
    allowed = OPTIMIZER_ARGS.get(name.lower()) if isinstance(name, str) else None
    if allowed is None:
        report.errors.append(Problem(None, t("spec.optimizer.unsupported", name=show(name),
                                             known=", ".join(OPTIMIZERS))))
    for key, value in optimizer.items():
        if key == "name":
            continue
        if key not in (allowed or OPTIMIZER_COMMON):
            if allowed:
                report.errors.append(Problem(None, t("spec.optimizer.unknown_setting",
                                                     optimizer=OPTIMIZER_CLASSES[name.lower()], key=show(key),
                                                     allowed=", ".join(allowed))))
            continue
        complaint = (allowed or OPTIMIZER_COMMON)[key].check(value)
        if complaint:
            message = (t("spec.optimizer.bad_learning_rate", complaint=complaint) if key == "learning_rate"
                       else t("spec.optimizer.bad_setting", key=key, complaint=complaint))
            report.errors.append(Problem(None, message))
    clips = [key for key in CLIPS if optimizer.get(key) is not None]
    if len(clips) > 1:
        report.errors.append(Problem(None, t("spec.optimizer.clips", clips=t("spec.and").join(clips),
                                             known=", ".join(CLIPS))))


def _check_compile(spec: dict, report: Report) -> None:
    if "compile" not in spec:
        return
    settings = spec["compile"]
    if not isinstance(settings, dict):
        report.errors.append(Problem(None, t("spec.compile.not_an_object", value=show(settings))))
        return
    for key in settings:
        if key not in ("optimizer", "loss", "metrics", "jit_compile"):
            report.errors.append(Problem(None, t("spec.compile.unknown_setting", key=show(key))))
    _check_optimizer(settings.get("optimizer", DEFAULT_OPTIMIZER), report)
    if boolean(settings.get("jit_compile", True)):
        report.errors.append(Problem(None, t("spec.compile.jit_compile")))
    loss = settings.get("loss", DEFAULT_LOSS)
    if not isinstance(loss, str) or loss not in LOSSES:
        report.errors.append(Problem(None, t("spec.compile.loss", loss=show(loss), known=", ".join(LOSSES))))
    metrics = settings.get("metrics", [])
    if not isinstance(metrics, list):
        report.errors.append(Problem(None, t("spec.compile.metrics_list", value=show(metrics))))
        return
    for metric in metrics:
        if not isinstance(metric, str) or metric not in METRICS:
            report.errors.append(Problem(None, t("spec.compile.metric", metric=show(metric),
                                                 known=", ".join(METRICS))))


def _check_input(spec: dict, report: Report) -> bool:
    shape = spec.get("input_shape")
    if (not isinstance(shape, (list, tuple)) or len(shape) != 3
            or not all(is_int(v) and 0 < v <= MAX_INT for v in shape)):
        report.errors.append(Problem(None, t("spec.input_shape", value=show(shape))))
        return False
    return True


def _check_text(spec: dict, report: Report) -> None:
    for key, limit in (("name", MAX_NAME), ("description", MAX_TEXT)):
        if key not in spec:
            continue
        value = spec[key]
        if not isinstance(value, str):
            report.errors.append(Problem(None, t("spec.text.not_text", key=key, value=show(value))))
        elif len(value) > limit:
            report.errors.append(Problem(None, t("spec.text.too_long", key=key, count=i18n.number(len(value)),
                                                 limit=i18n.number(limit))))


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


@settled
def check(spec: dict, batch_size: int = DEFAULT_BATCH_SIZE) -> Report:
    """Every error and warning of a spec, without building anything.

    Takes any JSON value and never raises: what is wrong comes back as errors. A network that would not fit
    this machine's memory when trained with ``batch_size`` images per batch is an error too.
    """
    report = Report()
    if not isinstance(spec, dict):
        report.errors.append(Problem(None, t("spec.not_an_object")))
        return report
    if depth(spec) > MAX_DEPTH:
        report.errors.append(Problem(None, t("spec.too_deep", depth=MAX_DEPTH)))
        return report
    _check_text(spec, report)
    layers = spec.get("layers")
    if not isinstance(layers, list) or not layers:
        report.errors.append(Problem(None, t("spec.no_layers")))
        return report
    if len(layers) > MAX_LAYERS:
        report.errors.append(Problem(None, t("spec.too_many_layers", count=i18n.number(len(layers)), limit=MAX_LAYERS)))
        return report
    input_ok = _check_input(spec, report)
    args_ok = True
    for index, layer in enumerate(layers, start=1):
        if not isinstance(layer, dict):
            report.errors.append(Problem(index, t("spec.layer_not_an_object", index=index, value=show(layer))))
            args_ok = False
        elif not _check_args(index, layer, report):
            args_ok = False
    _check_compile(spec, report)
    if not (input_ok and args_ok):
        return report

    result = table(spec)
    report.table = result
    for row in result.rows:
        if row.error:
            report.errors.append(Problem(row.index, row.error))
            return report
    head = layers[-1]
    label = layer_label(len(layers), head)
    if head.get("type") != "Dense":
        report.errors.append(Problem(len(layers), t("spec.head_not_dense", label=label)))
    elif len(result.rows[-1].input_shape) != 1:
        shape = result.rows[-1].input_shape
        report.errors.append(Problem(len(layers), t("spec.head_not_flat", label=label, dims=len(shape),
                                                    shape=list(shape))))
    too_big = memory_problem(spec, batch_size, result)
    if too_big:
        report.errors.append(too_big)
    _warn(spec, result, report)
    return report


def memory_problem(spec: dict, batch_size: int = DEFAULT_BATCH_SIZE, result: Table | None = None) -> Problem | None:
    """The error for a network that cannot train in this machine's memory, or None when it fits."""
    try:
        limit, source = memory_limit()
    except LabError as error:
        return Problem(None, str(error))
    if not limit:
        return None  # nothing known about this machine's memory
    estimate = memory_estimate(spec, batch_size, result)
    if estimate.total_bytes <= limit:
        return None
    available = (t("spec.memory.env_allows", variable=MEMORY_ENV, size=size_text(limit)) if source == "env"
                 else t("spec.memory.machine_has", size=size_text(limit)))
    fix = t("spec.memory.fix_weights") if estimate.largest_is_weights else t("spec.memory.fix_outputs")
    cause = f" ({estimate.largest_text()})" if estimate.largest else ""
    return Problem(estimate.largest.index if estimate.largest else None,
                   t("spec.memory.too_big", size=size_text(estimate.total_bytes, about=True),
                     batch=estimate.batch_size, cause=cause, available=available, fix=fix))


def _warn(spec: dict, result: Table, report: Report) -> None:
    layers = spec["layers"]
    kinds = [LAYER_TYPES[layer["type"]] for layer in layers]
    first_weighing = next((i for i, kind in enumerate(kinds) if kind.weighs_input), None)
    if first_weighing is not None and not any(kind.normalises for kind in kinds[:first_weighing]):
        index = first_weighing + 1
        report.warnings.append(Problem(index, t("spec.warn.raw_pixels",
                                                label=layer_label(index, layers[first_weighing]))))
    for row, layer in zip(result.rows[:-1], layers[:-1]):
        if layer["type"] == "Dense" and len(row.input_shape) == 3:
            report.warnings.append(Problem(row.index, t("spec.warn.dense_per_pixel",
                                                        label=layer_label(row.index, layer),
                                                        size=times(row.input_shape[:2]))))
        if row.params > 5_000_000:
            report.warnings.append(Problem(row.index, t("spec.warn.many_params", label=layer_label(row.index, layer),
                                                        count=i18n.number(row.params))))
    head = layers[-1]
    settings = spec.get("compile") if isinstance(spec.get("compile"), dict) else {}
    loss = settings.get("loss", DEFAULT_LOSS)
    if loss != "binary_crossentropy" and head.get("activation") != "softmax":
        report.warnings.append(Problem(len(layers), t("spec.warn.head_activation",
                                                      label=layer_label(len(layers), head),
                                                      activation=repr(head.get("activation")))))


def validate(spec: dict, batch_size: int = DEFAULT_BATCH_SIZE) -> Report:
    """Raises LabError with the first error; returns the report (its warnings) when the spec is valid."""
    report = check(spec, batch_size)
    if report.errors:
        raise LabError(report.errors[0].message)
    return report


class _NotJsonNumber(ValueError):
    pass


def _reject_constant(name: str):
    raise _NotJsonNumber(name)


def load_text(data: str | bytes, source: str | None = None) -> dict:
    """A spec object from the text of a JSON file or upload: the one place specs enter from outside.

    Refuses, each with one LabError sentence that starts with ``source`` ("The spec" when None): more than
    MAX_SPEC_BYTES, text that is not UTF-8, anything that is not JSON (NaN and Infinity included), nesting deeper
    than MAX_DEPTH, and JSON that is not an object. The object's contents are left to ``check``.
    """
    source = source or t("spec.load.the_spec")
    if len(data) > MAX_SPEC_BYTES:
        raise LabError(t("spec.load.too_big", source=source, size=i18n.number(len(data))))
    if isinstance(data, (bytes, bytearray)):
        try:
            data = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise LabError(t("spec.load.not_utf8", source=source, byte=i18n.number(error.start + 1))) from None
    try:
        spec = json.loads(data, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise LabError(t("spec.load.not_json", source=source, line=error.lineno, column=error.colno,
                         reason=error.msg)) from None
    except RecursionError:
        raise LabError(t("spec.load.too_deep_to_read", source=source)) from None
    except _NotJsonNumber as error:
        raise LabError(t("spec.load.bad_number", source=source,
                         reason=t("spec.load.not_a_json_number", constant=str(error)))) from None
    except ValueError:  # an integer with thousands of digits
        raise LabError(t("spec.load.bad_number", source=source, reason=t("spec.load.huge_number"))) from None
    if not isinstance(spec, dict):
        raise LabError(t("spec.load.not_a_spec", source=source))
    if depth(spec) > MAX_DEPTH:
        raise LabError(t("spec.load.too_deep", source=source, depth=MAX_DEPTH))
    return spec


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
            notes.append(t("spec.adapt.input_shape", shape=shape, was=show(spec.get("input_shape"))))
            spec["input_shape"] = shape
    layers = spec.get("layers") if isinstance(spec.get("layers"), list) else []
    head = layers[-1] if layers else None
    if num_classes is not None and isinstance(head, dict) and head.get("type") == "Dense":
        if head.get("units") != num_classes:
            notes.append(t("spec.adapt.head_units", units=num_classes, was=show(head.get("units"))))
            head["units"] = int(num_classes)
        settings = spec.get("compile") if isinstance(spec.get("compile"), dict) else {}
        if num_classes == 2 and settings.get("loss") == "binary_crossentropy":
            head["units"] = 1
    return spec, notes
