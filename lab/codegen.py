"""Spec to a runnable Keras script in the style of the study notes.

Everything the spec holds reaches the script as data: text and numbers through ``literal`` (Python's own
repr of plain JSON values), argument names only when they are identifiers that the spec's tables know,
class names only from the tables below. A spec cannot put code into the script.
"""

from __future__ import annotations

import keyword
import math

from lab.errors import LabError
from lab.shapes import table
from lab.spec import DEFAULT_OPTIMIZER, LAYER_TYPES, optimizer_arguments, show, validate

LOSS_CLASSES = {"sparse_categorical_crossentropy": "SparseCategoricalCrossentropy",
                "categorical_crossentropy": "CategoricalCrossentropy",
                "binary_crossentropy": "BinaryCrossentropy"}
METRIC_CLASSES = {"sparse_categorical_accuracy": "SparseCategoricalAccuracy()",
                  "categorical_accuracy": "CategoricalAccuracy()", "binary_accuracy": "BinaryAccuracy()",
                  "precision": "Precision()", "recall": "Recall()", "auc": "AUC()",
                  "f1_score": "F1Score(average='macro')"}


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
            raise LabError(f"The value {float.__repr__(value)} cannot be written into a script; use a finite number.")
        return float.__repr__(value)
    if isinstance(value, str):
        return str.__repr__(value)
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(literal(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    raise LabError(f"A {type(value).__name__} cannot be written into a script; use numbers, text, true/false or "
                   "lists.")


def keyword_argument(key, value) -> str:
    """``key=value`` for a generated call; the key must be a plain Python identifier."""
    if not isinstance(key, str) or not key.isidentifier() or keyword.iskeyword(key) or not key.isascii():
        raise LabError(f"The argument name {show(key)} cannot be written into a script; use the names Keras takes.")
    return f"{key}={literal(value)}"


def layer_call(layer: dict) -> str:
    kind = layer.get("type")
    if not isinstance(kind, str) or kind not in LAYER_TYPES:
        raise LabError(f"The layer type {show(kind)} cannot be written into a script; use one of "
                       f"{', '.join(LAYER_TYPES)}.")
    args = [keyword_argument(key, value) for key, value in layer.items() if key != "type"]
    return f"layers.{kind}({', '.join(args)})"


def metric_expression(name: str, sparse: bool) -> str:
    if name == "accuracy":
        return "'accuracy'"
    if name.startswith("top_") and name.endswith("_accuracy"):
        k = int(name.split("_")[1])
        cls = "SparseTopKCategoricalAccuracy" if sparse else "TopKCategoricalAccuracy"
        return f"metrics.{cls}(k={k}, name={name!r})"
    return f"metrics.{METRIC_CLASSES[name]}"  # a KeyError here means the spec was not validated


def shape_text(shape) -> str:
    return "(None, " + ", ".join(str(v) for v in shape) + ")"


def to_script(spec: dict, data_dir: str = "./Data", epochs: int = 10, batch_size: int = 32) -> str:
    """A script that builds, compiles and trains the spec's model on a folder of class folders."""
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise LabError(f"Epochs must be a whole number of 1 or more, not {show(epochs)}.")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise LabError(f"The batch size must be a whole number of 1 or more, not {show(batch_size)}.")
    validate(spec, batch_size)
    rows = table(spec).rows
    height, width, channels = spec["input_shape"]
    color_mode = "grayscale" if channels == 1 else "rgb"
    calls = [layer_call(layer) for layer in spec["layers"]]
    width_of_call = max(len(call) for call in calls) + 1
    layer_lines = "\n".join(f"    {call + ',':<{width_of_call}}  # -> {shape_text(row.output_shape)}, "
                            f"{row.params:,} params" for call, row in zip(calls, rows))
    settings = spec.get("compile") or {}
    optimizer_class, optimizer_kwargs = optimizer_arguments(settings.get("optimizer", DEFAULT_OPTIMIZER))
    optimizer_args = ", ".join(keyword_argument(key, value) for key, value in optimizer_kwargs.items())
    loss = settings.get("loss", "sparse_categorical_crossentropy")
    sparse = loss == "sparse_categorical_crossentropy"
    metric_list = ", ".join(metric_expression(m, sparse) for m in settings.get("metrics", ["accuracy"]))
    label_mode = {"sparse_categorical_crossentropy": "int", "categorical_crossentropy": "categorical",
                  "binary_crossentropy": "binary"}[loss]
    total = sum(row.params for row in rows)
    name = spec.get("name", "model")
    return f'''"""A Keras CNN exported from CNN Lab ({total:,} parameters).

Run it next to a folder laid out as DATA_DIR/Train/<class>/*.png (and optionally DATA_DIR/Test/...).
"""
# Spec: {literal(name if isinstance(name, str) else "model")}
from pathlib import Path

import tensorflow as tf
from tensorflow.keras import callbacks, layers, losses, metrics, models, optimizers

DATA_DIR = Path({literal(str(data_dir))})
IMAGE_SIZE = ({literal(height)}, {literal(width)})
BATCH_SIZE = {literal(batch_size)}
EPOCHS = {literal(epochs)}

model = models.Sequential([
    layers.Input(shape={literal(list(spec["input_shape"]))}),
{layer_lines}
])

model.compile(
    optimizer=optimizers.{optimizer_class}({optimizer_args}),
    loss=losses.{LOSS_CLASSES[loss]}(),
    metrics=[{metric_list}],
)


def load(split, **kwargs):
    return tf.keras.utils.image_dataset_from_directory(
        DATA_DIR / split, image_size=IMAGE_SIZE, color_mode={literal(color_mode)}, batch_size=BATCH_SIZE,
        label_mode={literal(label_mode)}, seed=1337, **kwargs)


if __name__ == "__main__":
    model.summary()
    train = load("Train", validation_split=0.2, subset="training")
    val = load("Train", validation_split=0.2, subset="validation")
    model.fit(
        train.cache().prefetch(tf.data.AUTOTUNE),
        validation_data=val.cache().prefetch(tf.data.AUTOTUNE),
        epochs=EPOCHS,
        callbacks=[
            callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True),
            callbacks.ModelCheckpoint("best.keras", monitor="val_loss", save_best_only=True),
        ],
    )
    if (DATA_DIR / "Test").is_dir():
        test_loss, *test_metrics = model.evaluate(load("Test", shuffle=False))
        print("test loss", test_loss, "test metrics", test_metrics)
'''
