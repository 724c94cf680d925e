"""Spec to a runnable Keras script in the style of the study notes.

Everything the spec holds reaches the script as data: text and numbers through ``literal`` (Python's own
repr of plain JSON values), argument names only when they are identifiers that the spec's tables know,
class names only from the tables below. A spec cannot put code into the script.
"""

from __future__ import annotations

import keyword
import math
import textwrap

from lab.compiling import (
    DEFAULT_LOSS,
    DEFAULT_METRICS,
    DEFAULT_OPTIMIZER,
    LABEL_MODES,
    LOSS_CLASSES,
    METRIC_ARGUMENTS,
    METRIC_CLASSES,
    SPARSE,
    optimizer_arguments,
    top_k,
    top_k_class,
)
from lab.errors import LabError
from lab.i18n import number, settled, t
from lab.layers import LAYER_TYPES
from lab.shapes import table
from lab.spec import validate
from lab.speed import FLOAT32, POLICIES
from lab.values import show

__all__ = ["LOSS_CLASSES", "METRIC_CLASSES", "keyword_argument", "layer_call", "literal", "metric_expression",
           "to_script"]


def literal(value) -> str:
    """Python source for a plain JSON value (lists become tuples); LabError for anything else.

    Uses the base types' own repr, so a subclass cannot change what is written.
    """
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise LabError(t("codegen.not_finite", value=float.__repr__(value)))
        return float.__repr__(value)
    if isinstance(value, str):
        return str.__repr__(value)
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(literal(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    raise LabError(t("codegen.not_data", kind=type(value).__name__))


def keyword_argument(key, value) -> str:
    """``key=value`` for a generated call; the key must be a plain Python identifier."""
    if not isinstance(key, str) or not key.isidentifier() or keyword.iskeyword(key) or not key.isascii():
        raise LabError(t("codegen.bad_argument_name", name=show(key)))
    return f"{key}={literal(value)}"


def layer_call(layer: dict) -> str:
    kind = layer.get("type")
    if not isinstance(kind, str) or kind not in LAYER_TYPES:
        raise LabError(t("codegen.bad_layer_type", type=show(kind), known=", ".join(LAYER_TYPES)))
    args = [keyword_argument(key, value) for key, value in layer.items() if key != "type"]
    return f"layers.{kind}({', '.join(args)})"


def metric_expression(name: str, sparse: bool) -> str:
    if name == "accuracy":
        return "'accuracy'"
    k = top_k(name)
    if k is not None:
        return f"metrics.{top_k_class(sparse)}(k={k}, name={literal(name)})"
    arguments = ", ".join(keyword_argument(key, value) for key, value in METRIC_ARGUMENTS.get(name, {}).items())
    return f"metrics.{METRIC_CLASSES[name]}({arguments})"  # a KeyError here means the spec was not validated


def shape_text(shape) -> str:
    return "(None, " + ", ".join(str(v) for v in shape) + ")"


def _comment(text: str) -> str:
    """Catalogue words as one comment line: nothing in them can end the comment."""
    return " ".join(text.split())


def _comment_lines(text: str, indent: str = "    ") -> str:
    """Catalogue words as ``# `` comment lines of at most 100 characters, each one line (see ``_comment``)."""
    return "\n".join(f"{indent}# {line}" for line in textwrap.wrap(_comment(text), 100 - len(indent) - 2))


def _check_loading(validation_split, seed) -> None:
    """LabError unless the script can split its data as the lab does: 0 <= validation_split < 1, seed >= 0."""
    if isinstance(validation_split, bool) or not isinstance(validation_split, (int, float)) \
            or not 0 <= validation_split < 1:
        raise LabError(t("codegen.bad_validation_split", value=show(validation_split)))
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise LabError(t("codegen.bad_seed", value=show(seed)))


def _precision_lines(precision) -> str:
    """The script's lines that set a mixed precision policy ("" for float32); LabError for an unknown policy."""
    if precision not in POLICIES:
        raise LabError(t("speed.precision.unknown", value=show(precision), known=", ".join(POLICIES)))
    if precision == FLOAT32:
        return ""
    return (f"\n\n{_comment_lines(t('codegen.script.precision', policy=precision), indent='')}\n"
            f"tf.keras.mixed_precision.set_global_policy({literal(precision)})")


@settled
def to_script(spec: dict, data_dir: str = "./Data", epochs: int = 10, batch_size: int = 32,
              validation_split: float = 0.2, seed: int = 1337, precision: str = FLOAT32) -> str:
    """A script that builds, compiles and trains the spec's model on a dataset folder of any layout the lab reads.

    Like the lab, it learns from DATA_DIR/Train (scored on DATA_DIR/Test when there is one), else from
    DATA_DIR/Test when that is the only folder, else from the class folders in DATA_DIR itself; it holds out
    ``validation_split`` of those images for validation, picked with ``seed``, and with no Test split it is scored
    on them. Its comments and printed words are in the current language; the code and the names in it are Keras's.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise LabError(t("codegen.bad_epochs", value=show(epochs)))
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise LabError(t("codegen.bad_batch_size", value=show(batch_size)))
    _check_loading(validation_split, seed)
    policy_lines = _precision_lines(precision)
    validate(spec, batch_size)
    rows = table(spec).rows
    height, width, channels = spec["input_shape"]
    color_mode = "grayscale" if channels == 1 else "rgb"
    calls = [layer_call(layer) for layer in spec["layers"]]
    if precision != FLOAT32:  # the output and its softmax stay float32
        calls[-1] = layer_call({**spec["layers"][-1], "dtype": FLOAT32})
    width_of_call = max(len(call) for call in calls) + 1
    layer_lines = "\n".join(
        f"    {call + ',':<{width_of_call}}  # -> {shape_text(row.output_shape)}, "
        + _comment(t("codegen.script.layer_params", count=number(row.params))) for call, row in zip(calls, rows))
    settings = spec.get("compile") or {}
    optimizer_class, optimizer_kwargs = optimizer_arguments(settings.get("optimizer", DEFAULT_OPTIMIZER))
    optimizer_args = ", ".join(keyword_argument(key, value) for key, value in optimizer_kwargs.items())
    loss = settings.get("loss", DEFAULT_LOSS)
    metric_list = ", ".join(metric_expression(m, loss == SPARSE) for m in settings.get("metrics", DEFAULT_METRICS))
    total = sum(row.params for row in rows)
    name = spec.get("name", "model")
    title = _comment(t("codegen.script.title", count=number(total))).replace("\\", "/").replace('"', "'")
    layout = _comment(t("codegen.script.layout")).replace("\\", "/").replace('"', "'")
    layout = "\n".join(textwrap.wrap(layout, 100))
    test_loss, test_metrics = literal(t("codegen.script.test_loss")), literal(t("codegen.script.test_metrics"))
    val_loss, val_metrics = literal(t("codegen.script.val_loss")), literal(t("codegen.script.val_metrics"))
    no_data_dir = literal(t("codegen.script.no_data_dir"))
    folders_comment = _comment_lines(t("codegen.script.folders"))
    from_train, from_test, from_folders = (_comment(t(key)) for key in (
        "codegen.script.from_train", "codegen.script.from_test", "codegen.script.from_folders"))
    validation_comment = _comment_lines(t("codegen.script.validation"))
    no_test_comment = _comment_lines(t("codegen.script.no_test"), indent="        ")
    return f'''"""{title}

{layout}
"""
# Spec: {literal(name if isinstance(name, str) else "model")}
from pathlib import Path

import tensorflow as tf
from tensorflow.keras import callbacks, layers, losses, metrics, models, optimizers{policy_lines}

DATA_DIR = Path({literal(str(data_dir))})
IMAGE_SIZE = ({literal(height)}, {literal(width)})
BATCH_SIZE = {literal(batch_size)}
EPOCHS = {literal(epochs)}
VALIDATION_SPLIT = {literal(validation_split)}
SEED = {literal(seed)}

model = models.Sequential([
    layers.Input(shape={literal(list(spec["input_shape"]))}),
{layer_lines}
])

model.compile(
    optimizer=optimizers.{optimizer_class}({optimizer_args}),
    loss=losses.{LOSS_CLASSES[loss]}(),
    metrics=[{metric_list}],
)


def load(folder, **kwargs):
    return tf.keras.utils.image_dataset_from_directory(
        folder, image_size=IMAGE_SIZE, color_mode={literal(color_mode)}, batch_size=BATCH_SIZE,
        label_mode={literal(LABEL_MODES[loss])}, seed=SEED, **kwargs)


if __name__ == "__main__":
    model.summary()
    if not DATA_DIR.is_dir():
        raise SystemExit(
            {no_data_dir} + " " + str(DATA_DIR))
{folders_comment}
    folders = sorted(p.name for p in DATA_DIR.iterdir() if p.is_dir() and not p.name.startswith("."))
    test = None
    if "Train" in folders:  # {from_train}
        learn = DATA_DIR / "Train"
        if "Test" in folders:
            test = DATA_DIR / "Test"
    elif folders == ["Test"]:  # {from_test}
        learn = DATA_DIR / "Test"
    else:  # {from_folders}
        learn = DATA_DIR
{validation_comment}
    if VALIDATION_SPLIT:
        train, val = load(learn, validation_split=VALIDATION_SPLIT, subset="both")
    else:
        train, val = load(learn), None
    monitor = "val_loss" if val is not None else "loss"
    model.fit(
        train.cache().prefetch(tf.data.AUTOTUNE),
        validation_data=val.cache().prefetch(tf.data.AUTOTUNE) if val is not None else None,
        epochs=EPOCHS,
        callbacks=[
            callbacks.EarlyStopping(monitor=monitor, patience=3, restore_best_weights=True),
            callbacks.ModelCheckpoint("best.keras", monitor=monitor, save_best_only=True),
        ],
    )
    if test is not None:
        test_loss, *test_metrics = model.evaluate(load(test, shuffle=False))
        print({test_loss}, test_loss, {test_metrics}, test_metrics)
    elif val is not None:
{no_test_comment}
        val_loss, *val_metrics = model.evaluate(val)
        print({val_loss}, val_loss, {val_metrics}, val_metrics)
'''
