"""Spec to a runnable Keras script in the style of the study notes."""

from __future__ import annotations

from lab.shapes import table
from lab.spec import validate

LOSS_CLASSES = {"sparse_categorical_crossentropy": "SparseCategoricalCrossentropy",
                "categorical_crossentropy": "CategoricalCrossentropy",
                "binary_crossentropy": "BinaryCrossentropy"}
METRIC_CLASSES = {"sparse_categorical_accuracy": "SparseCategoricalAccuracy()",
                  "categorical_accuracy": "CategoricalAccuracy()", "binary_accuracy": "BinaryAccuracy()",
                  "precision": "Precision()", "recall": "Recall()", "auc": "AUC()",
                  "f1_score": "F1Score(average='macro')"}
OPTIMIZER_CLASSES = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop", "adagrad": "Adagrad",
                     "adadelta": "Adadelta"}


def literal(value) -> str:
    if isinstance(value, list):
        return "(" + ", ".join(literal(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return repr(value)


def layer_call(layer: dict) -> str:
    args = [f"{key}={literal(value)}" for key, value in layer.items() if key != "type"]
    return f"layers.{layer['type']}({', '.join(args)})"


def metric_expression(name: str, sparse: bool) -> str:
    if name == "accuracy":
        return "'accuracy'"
    if name.startswith("top_") and name.endswith("_accuracy"):
        k = name.split("_")[1]
        cls = "SparseTopKCategoricalAccuracy" if sparse else "TopKCategoricalAccuracy"
        return f"metrics.{cls}(k={k}, name={name!r})"
    return f"metrics.{METRIC_CLASSES[name]}"


def shape_text(shape) -> str:
    return "(None, " + ", ".join(str(v) for v in shape) + ")"


def to_script(spec: dict, data_dir: str = "./Data", epochs: int = 10, batch_size: int = 32) -> str:
    """A script that builds, compiles and trains the spec's model on a folder of class folders."""
    validate(spec)
    rows = table(spec).rows
    height, width, channels = spec["input_shape"]
    color_mode = "grayscale" if channels == 1 else "rgb"
    calls = [layer_call(layer) for layer in spec["layers"]]
    width_of_call = max(len(call) for call in calls) + 1
    layer_lines = "\n".join(f"    {call + ',':<{width_of_call}}  # -> {shape_text(row.output_shape)}, "
                            f"{row.params:,} params" for call, row in zip(calls, rows))
    settings = spec.get("compile", {})
    optimizer = dict(settings.get("optimizer", {"name": "adam", "learning_rate": 0.001}))
    optimizer_class = OPTIMIZER_CLASSES[str(optimizer.pop("name", "adam")).lower()]
    optimizer_args = ", ".join(f"{key}={literal(value)}" for key, value in optimizer.items())
    loss = settings.get("loss", "sparse_categorical_crossentropy")
    sparse = loss == "sparse_categorical_crossentropy"
    metric_list = ", ".join(metric_expression(m, sparse) for m in settings.get("metrics", ["accuracy"]))
    label_mode = {"sparse_categorical_crossentropy": "int", "categorical_crossentropy": "categorical",
                  "binary_crossentropy": "binary"}[loss]
    total = sum(row.params for row in rows)
    return f'''"""{spec.get("name", "model")}: a Keras CNN exported from CNN Lab ({total:,} parameters).

Run it next to a folder laid out as DATA_DIR/Train/<class>/*.png (and optionally DATA_DIR/Test/...).
"""
from pathlib import Path

import tensorflow as tf
from tensorflow.keras import callbacks, layers, losses, metrics, models, optimizers

DATA_DIR = Path({data_dir!r})
IMAGE_SIZE = ({height}, {width})
BATCH_SIZE = {batch_size}
EPOCHS = {epochs}

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
        DATA_DIR / split, image_size=IMAGE_SIZE, color_mode={color_mode!r}, batch_size=BATCH_SIZE,
        label_mode={label_mode!r}, seed=1337, **kwargs)


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
