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
from lab.speed import CPU, FLOAT32, GPU, MIXED_FLOAT16, POLICIES, XlaChoice, choose_xla

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def layer_arguments(layer: dict) -> dict:
    """The constructor arguments of a spec layer, with JSON lists turned into the tuples Keras prefers."""
    return {key: tuple(value) if isinstance(value, list) else value for key, value in layer.items() if key != "type"}


def build_layers(spec: dict, precision: str = FLOAT32) -> list:
    """The spec's layers as Keras layers. Under a mixed precision policy every layer but the last computes in 16
    bits (its weights stay float32); the last one, the output and its softmax, stays float32."""
    from tensorflow import keras

    last = len(spec["layers"]) - 1
    return [getattr(keras.layers, layer["type"])(**layer_arguments(layer), **_dtype(precision, index == last))
            for index, layer in enumerate(spec["layers"])]


def _dtype(precision: str, last: bool) -> dict:
    if precision not in POLICIES:
        raise LabError(t("speed.precision.unknown", value=repr(precision), known=", ".join(POLICIES)))
    if precision == FLOAT32 or last:
        return {}
    from tensorflow import keras

    return {"dtype": keras.DTypePolicy(precision)}


def build_model(spec: dict, seed: int | None = None, compile: bool = True, steps_per_execution: int = 1,
                precision: str = FLOAT32, jit_compile: bool | None = None):
    """A ``keras.Sequential`` with an explicit ``keras.Input``, compiled with the spec's settings.

    A seed makes the initial weights (and the augmentation draws) reproducible. precision: a Keras dtype policy
    (float32, mixed_bfloat16, mixed_float16). jit_compile: XLA on or off; None chooses as ``xla_choice`` says.
    """
    validate(spec)
    from tensorflow import keras

    if seed is not None:
        keras.utils.set_random_seed(int(seed))
    model = keras.Sequential([keras.Input(shape=tuple(spec["input_shape"])), *build_layers(spec, precision)],
                             name=model_name(spec))
    if compile:
        compile_model(model, spec, steps_per_execution=steps_per_execution, jit_compile=jit_compile)
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


def compile_model(model, spec: dict, steps_per_execution: int = 1, jit_compile: bool | None = None) -> None:
    """Compiles with the spec's optimizer, loss and metrics.

    jit_compile: XLA-compiled training steps or not; None asks ``xla_choice`` (the spec's "jit_compile" setting
    when it has one, else off on a CPU, where XLA slows these networks down, and on on a GPU).
    ``steps_per_execution`` runs several batches per call, which saves most of the per-batch dispatch cost of a
    small network on a CPU. A network in mixed_float16 gets loss scaling, as Keras gives one under that policy.
    """
    from tensorflow import keras

    settings = spec.get("compile") or {}
    loss = settings.get("loss", DEFAULT_LOSS)
    metrics = [make_metric(name, loss) for name in settings.get("metrics", DEFAULT_METRICS)]
    optimizer = make_optimizer(settings.get("optimizer", DEFAULT_OPTIMIZER))
    if any(layer.dtype_policy.name == MIXED_FLOAT16 for layer in model.layers):
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    if jit_compile is None:
        jit_compile = xla_choice(model, spec).on
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics, jit_compile=bool(jit_compile),
                  steps_per_execution=steps_per_execution)


def supports_xla(model) -> bool:
    """Whether XLA can compile every layer: Keras's own flag, and not a Resizing with "area" interpolation, which
    XLA has no kernel for (ResizeArea) although the layer does not say so."""
    return all(getattr(layer, "supports_jit", True) and not _resizes_by_area(layer) for layer in model.layers)


def _resizes_by_area(layer) -> bool:
    return type(layer).__name__ == "Resizing" and layer.get_config().get("interpolation") == "area"


def device_kind() -> str:
    """GPU when TensorFlow sees one, else CPU."""
    import tensorflow as tf

    return GPU if tf.config.list_logical_devices("GPU") else CPU


def xla_choice(model, spec: dict, measured: tuple[float, float] | None = None) -> XlaChoice:
    """XLA on or off for this model on this machine (see ``lab.speed.choose_xla``)."""
    setting = (spec.get("compile") or {}).get("jit_compile")
    return choose_xla(device_kind(), supports_xla(model), setting, measured)


def as_float32(model):
    """The same network computing in float32, with the same weights: a model trained under a mixed precision
    policy predicts this way on any machine. A model already in float32 comes back as it is."""
    if all(layer.dtype_policy.name == FLOAT32 for layer in model.layers):
        return model
    from tensorflow import keras

    def float32_twin(layer):
        return layer.__class__.from_config({**layer.get_config(), "dtype": FLOAT32})

    twin = keras.models.clone_model(model, clone_function=float32_twin)
    twin.set_weights(model.get_weights())
    return twin
