"""Spec to Keras: the one place that turns a spec into TensorFlow objects."""

from __future__ import annotations

import os
import re

from lab.errors import LabError
from lab.spec import DEFAULT_OPTIMIZER, OPTIMIZER_CLASSES, optimizer_arguments, validate

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def layer_arguments(layer: dict) -> dict:
    """The constructor arguments of a spec layer, with JSON lists turned into the tuples Keras prefers."""
    return {key: tuple(value) if isinstance(value, list) else value for key, value in layer.items() if key != "type"}


def build_layers(spec: dict) -> list:
    from tensorflow import keras

    return [getattr(keras.layers, layer["type"])(**layer_arguments(layer)) for layer in spec["layers"]]


def build_model(spec: dict, seed: int | None = None, compile: bool = True, steps_per_execution: int = 1):
    """A ``keras.Sequential`` with an explicit ``keras.Input``, compiled with the spec's settings.

    A seed makes the initial weights (and the augmentation draws) reproducible.
    """
    validate(spec)
    from tensorflow import keras

    if seed is not None:
        keras.utils.set_random_seed(int(seed))
    model = keras.Sequential([keras.Input(shape=tuple(spec["input_shape"])), *build_layers(spec)],
                             name=model_name(spec))
    if compile:
        compile_model(model, spec, steps_per_execution=steps_per_execution)
    return model


def model_name(spec: dict) -> str:
    """The spec's name as a Keras model name: Keras refuses '/' and other names that are not plain words."""
    name = spec.get("name")
    name = re.sub(r"[^\w.-]+", "_", name, flags=re.ASCII).strip("_")[:64] if isinstance(name, str) else ""
    return name or "cnn_lab"


def make_optimizer(settings):
    """The Keras optimizer of a checked optimizer setting (``lab.spec.OPTIMIZER_ARGS`` lists what it takes)."""
    from tensorflow import keras

    name = settings.get("name", "adam") if isinstance(settings, dict) else settings
    if not isinstance(name, str) or name.lower() not in OPTIMIZER_CLASSES:
        raise LabError(f"Optimizer {name!r} is not supported; use one of {', '.join(OPTIMIZER_CLASSES)}.")
    class_name, arguments = optimizer_arguments(settings)
    return getattr(keras.optimizers, class_name)(**arguments)


def make_metric(name: str, loss: str):
    from tensorflow import keras

    sparse = loss == "sparse_categorical_crossentropy"
    if name == "accuracy":
        return "accuracy"
    if name.startswith("top_") and name.endswith("_accuracy"):
        k = int(name.split("_")[1])
        cls = keras.metrics.SparseTopKCategoricalAccuracy if sparse else keras.metrics.TopKCategoricalAccuracy
        return cls(k=k, name=name)
    if name in ("precision", "recall", "auc", "f1_score") and sparse:
        raise LabError(f"Metric {name!r} needs one-hot labels; set label_mode to 'categorical' with the "
                       "categorical_crossentropy loss, or remove the metric.")
    if name == "precision":
        return keras.metrics.Precision(name="precision")
    if name == "recall":
        return keras.metrics.Recall(name="recall")
    if name == "auc":
        return keras.metrics.AUC(name="auc")
    if name == "f1_score":
        return keras.metrics.F1Score(average="macro", name="f1_score")
    return name


def compile_model(model, spec: dict, steps_per_execution: int = 1) -> None:
    """Compiles with the spec's optimizer, loss and metrics.

    Training steps are XLA-compiled (``jit_compile``) when every layer supports it, unless the spec's
    compile settings say ``"jit_compile": false``: Keras leaves XLA off on CPU-only machines, where it
    makes these small networks train faster. ``steps_per_execution`` runs several batches per call,
    which saves most of the per-batch dispatch cost of a small network on a CPU.
    """
    settings = spec.get("compile") or {}
    loss = settings.get("loss", "sparse_categorical_crossentropy")
    metrics = [make_metric(name, loss) for name in settings.get("metrics", ["accuracy"])]
    model.compile(optimizer=make_optimizer(settings.get("optimizer", DEFAULT_OPTIMIZER)),
                  loss=loss, metrics=metrics,
                  jit_compile=bool(settings.get("jit_compile", True)) and supports_xla(model),
                  steps_per_execution=steps_per_execution)


def supports_xla(model) -> bool:
    return all(getattr(layer, "supports_jit", True) for layer in model.layers)


def make_strategy():
    """The default strategy on one device; MirroredStrategy across several visible GPUs."""
    import tensorflow as tf

    if os.environ.get("TF_CONFIG"):
        return tf.distribute.MultiWorkerMirroredStrategy()
    if len(tf.config.list_logical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()
