"""Spec to Keras: the one place that turns a spec into TensorFlow objects."""

from __future__ import annotations

import os
import re

from lab.compiling import (
    DEFAULT_LOSS,
    DEFAULT_METRICS,
    DEFAULT_OPTIMIZER,
    METRIC_ARGUMENTS,
    METRIC_CLASSES,
    ONE_HOT_METRICS,
    SPARSE,
    optimizer_arguments,
    top_k,
    top_k_class,
)
from lab.errors import LabError
from lab.i18n import t
from lab.spec import validate

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
    """The Keras optimizer of a checked optimizer setting (``lab.compiling.OPTIMIZER_ARGS`` lists what it takes)."""
    from tensorflow import keras

    class_name, arguments = optimizer_arguments(settings)
    return getattr(keras.optimizers, class_name)(**arguments)


def make_metric(name: str, loss: str):
    from tensorflow import keras

    sparse = loss == SPARSE
    k = top_k(name)
    if k is not None:
        return getattr(keras.metrics, top_k_class(sparse))(k=k, name=name)
    if name in ONE_HOT_METRICS:
        if sparse:
            raise LabError(t("build.one_hot_metric", metric=repr(name)))
        return getattr(keras.metrics, METRIC_CLASSES[name])(name=name, **METRIC_ARGUMENTS.get(name, {}))
    return name


def compile_model(model, spec: dict, steps_per_execution: int = 1) -> None:
    """Compiles with the spec's optimizer, loss and metrics.

    Training steps are XLA-compiled (``jit_compile``) when every layer supports it, unless the spec's
    compile settings say ``"jit_compile": false``: Keras leaves XLA off on CPU-only machines, where it
    makes these small networks train faster. ``steps_per_execution`` runs several batches per call,
    which saves most of the per-batch dispatch cost of a small network on a CPU.
    """
    settings = spec.get("compile") or {}
    loss = settings.get("loss", DEFAULT_LOSS)
    metrics = [make_metric(name, loss) for name in settings.get("metrics", DEFAULT_METRICS)]
    model.compile(optimizer=make_optimizer(settings.get("optimizer", DEFAULT_OPTIMIZER)),
                  loss=loss, metrics=metrics,
                  jit_compile=bool(settings.get("jit_compile", True)) and supports_xla(model),
                  steps_per_execution=steps_per_execution)


def supports_xla(model) -> bool:
    return all(getattr(layer, "supports_jit", True) for layer in model.layers)
