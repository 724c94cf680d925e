"""The training settings a spec may name: losses, the labels each loss needs, metrics and optimizers.

Pure Python: ``lab.spec`` checks a spec's compile settings against these tables, ``lab.build`` turns them into
Keras objects, ``lab.codegen`` writes them into a script, and training loads the labels ``LABEL_MODES`` names.
tests/test_security_spec.py compares the optimizer table with the real Keras signatures. The guides at the end
explain each optimizer, loss and metric in words (ids of lab/locale/*/compiling.po).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lab.errors import LabError
from lab.i18n import t
from lab.values import (
    Check,
    boolean,
    learning_rate,
    non_negative_number,
    optional_count,
    optional_non_negative_number,
    optional_positive_number,
    positive_number,
    rate,
    show,
)

SPARSE = "sparse_categorical_crossentropy"
CATEGORICAL = "categorical_crossentropy"
BINARY = "binary_crossentropy"
LOSSES = (SPARSE, CATEGORICAL, BINARY)
DEFAULT_LOSS = SPARSE
LOSS_CLASSES = {SPARSE: "SparseCategoricalCrossentropy", CATEGORICAL: "CategoricalCrossentropy",
                BINARY: "BinaryCrossentropy"}
# The ``label_mode`` of ``keras.utils.image_dataset_from_directory`` that each loss needs.
LABEL_MODES = {SPARSE: "int", CATEGORICAL: "categorical", BINARY: "binary"}

METRICS = ("accuracy", "sparse_categorical_accuracy", "categorical_accuracy", "binary_accuracy", "precision",
           "recall", "auc", "f1_score", "top_3_accuracy", "top_5_accuracy")
DEFAULT_METRICS = ("accuracy",)
ONE_HOT_METRICS = ("precision", "recall", "auc", "f1_score")  # they need one-hot labels, not class numbers
METRIC_CLASSES = {"sparse_categorical_accuracy": "SparseCategoricalAccuracy",
                  "categorical_accuracy": "CategoricalAccuracy", "binary_accuracy": "BinaryAccuracy",
                  "precision": "Precision", "recall": "Recall", "auc": "AUC", "f1_score": "F1Score"}
METRIC_ARGUMENTS = {"f1_score": {"average": "macro"}}


def top_k(metric: str) -> int | None:
    """k of a "top_<k>_accuracy" metric, else None."""
    parts = metric.split("_")
    if len(parts) == 3 and parts[0] == "top" and parts[2] == "accuracy" and parts[1].isdigit():
        return int(parts[1])
    return None


def top_k_class(sparse: bool) -> str:
    return "SparseTopKCategoricalAccuracy" if sparse else "TopKCategoricalAccuracy"


@dataclass(frozen=True)
class OptimizerArg:
    """One keyword argument of a Keras optimizer: its check, and whether Keras wants it as a float."""

    check: Check
    real: bool = False  # Keras refuses an int where it wants a float (learning_rate=1 raises ValueError)

    def convert(self, value: Any) -> Any:
        return float(value) if self.real and value is not None else value


def _real(check: Check) -> OptimizerArg:
    return OptimizerArg(check, real=True)


# Every keyword argument of each optimizer's constructor (the optimizer's own ``name`` aside: in a spec,
# "name" picks the optimizer).
OPTIMIZER_COMMON = {
    "learning_rate": _real(learning_rate),
    "weight_decay": _real(optional_non_negative_number),
    "clipnorm": _real(optional_positive_number),
    "clipvalue": _real(optional_positive_number),
    "global_clipnorm": _real(optional_positive_number),
    "use_ema": OptimizerArg(boolean),
    "ema_momentum": _real(rate),
    "ema_overwrite_frequency": OptimizerArg(optional_count(1)),
    "loss_scale_factor": _real(optional_positive_number),
    "gradient_accumulation_steps": OptimizerArg(optional_count(2)),
}
_ADAM = {"beta_1": _real(rate), "beta_2": _real(rate), "epsilon": _real(positive_number),
         "amsgrad": OptimizerArg(boolean)}
OPTIMIZER_ARGS: dict[str, dict[str, OptimizerArg]] = {
    "sgd": {**OPTIMIZER_COMMON, "momentum": _real(rate), "nesterov": OptimizerArg(boolean)},
    "adam": {**OPTIMIZER_COMMON, **_ADAM},
    "adamw": {**OPTIMIZER_COMMON, **_ADAM, "weight_decay": _real(non_negative_number)},
    "rmsprop": {**OPTIMIZER_COMMON, "rho": _real(rate), "momentum": _real(rate), "epsilon": _real(positive_number),
                "centered": OptimizerArg(boolean)},
    "adagrad": {**OPTIMIZER_COMMON, "initial_accumulator_value": _real(non_negative_number),
                "epsilon": _real(positive_number)},
    "adadelta": {**OPTIMIZER_COMMON, "rho": _real(rate), "epsilon": _real(positive_number)},
}
OPTIMIZER_CLASSES = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop", "adagrad": "Adagrad",
                     "adadelta": "Adadelta"}
OPTIMIZERS = tuple(OPTIMIZER_CLASSES)
CLIPS = ("clipnorm", "clipvalue", "global_clipnorm")
DEFAULT_OPTIMIZER = {"name": "adam", "learning_rate": 0.001}


def optimizer_arguments(settings: Any) -> tuple[str, dict[str, Any]]:
    """The Keras class name and keyword arguments of a checked optimizer setting (a name or an object)."""
    settings = {"name": settings} if isinstance(settings, str) else dict(settings)
    name = settings.pop("name", "adam")
    if not isinstance(name, str) or name.lower() not in OPTIMIZER_CLASSES:
        raise LabError(t("spec.optimizer.unsupported", name=show(name), known=", ".join(OPTIMIZERS)))
    name = name.lower()
    allowed = OPTIMIZER_ARGS[name]
    unknown = [key for key in settings if key not in allowed]
    if unknown:
        raise LabError(t("spec.optimizer.unknown_setting", optimizer=OPTIMIZER_CLASSES[name], key=show(unknown[0]),
                         allowed=", ".join(allowed)))
    return OPTIMIZER_CLASSES[name], {key: allowed[key].convert(value) for key, value in settings.items()}


# --- the guides: each optimizer, loss and metric explained ---------------------------------------------------------

@dataclass(frozen=True)
class OptimizerGuide:
    label: str  # how the guide names it: "SGD + momentum"
    optimizer: str  # its name in a spec
    idea_id: str
    learning_rate: str  # the usual starting values
    when_id: str


OPTIMIZER_GUIDE = (
    OptimizerGuide("SGD", "sgd", "compiling.optimizer.sgd.idea", "0.01–0.1", "compiling.optimizer.sgd.when"),
    OptimizerGuide("SGD + momentum", "sgd", "compiling.optimizer.sgd_momentum.idea", "0.01–0.1",
                   "compiling.optimizer.sgd_momentum.when"),
    OptimizerGuide("Adam", "adam", "compiling.optimizer.adam.idea", "0.001", "compiling.optimizer.adam.when"),
    OptimizerGuide("AdamW", "adamw", "compiling.optimizer.adamw.idea", "0.001", "compiling.optimizer.adamw.when"),
    OptimizerGuide("RMSprop", "rmsprop", "compiling.optimizer.rmsprop.idea", "0.001",
                   "compiling.optimizer.rmsprop.when"),
    OptimizerGuide("Adagrad", "adagrad", "compiling.optimizer.adagrad.idea", "0.01",
                   "compiling.optimizer.adagrad.when"),
    OptimizerGuide("Adadelta", "adadelta", "compiling.optimizer.adadelta.idea", "1.0",
                   "compiling.optimizer.adadelta.when"),
)


@dataclass(frozen=True)
class LossGuide:
    loss: str
    labels_id: str  # what its labels look like
    output_id: str  # the last layer it needs
    when_id: str


LOSS_GUIDE = (
    LossGuide(SPARSE, "compiling.loss.sparse.labels", "compiling.loss.output.softmax", "compiling.loss.sparse.when"),
    LossGuide(CATEGORICAL, "compiling.loss.categorical.labels", "compiling.loss.output.softmax",
              "compiling.loss.categorical.when"),
    LossGuide(BINARY, "compiling.loss.binary.labels", "compiling.loss.output.sigmoid", "compiling.loss.binary.when"),
)


@dataclass(frozen=True)
class MetricGuide:
    metric: str
    what_id: str  # what it tells
    misleads_id: str  # when it misleads

    def words(self) -> tuple[str, str]:
        k = top_k(self.metric)
        return t(self.what_id, k=k) if k else t(self.what_id), t(self.misleads_id)


_ACCURACY_MISLEADS = "compiling.metric.accuracy.misleads"
METRIC_GUIDE = (
    MetricGuide("accuracy", "compiling.metric.accuracy.what", _ACCURACY_MISLEADS),
    MetricGuide("sparse_categorical_accuracy", "compiling.metric.sparse_categorical_accuracy.what",
                _ACCURACY_MISLEADS),
    MetricGuide("categorical_accuracy", "compiling.metric.categorical_accuracy.what", _ACCURACY_MISLEADS),
    MetricGuide("binary_accuracy", "compiling.metric.binary_accuracy.what",
                "compiling.metric.binary_accuracy.misleads"),
    MetricGuide("precision", "compiling.metric.precision.what", "compiling.metric.precision.misleads"),
    MetricGuide("recall", "compiling.metric.recall.what", "compiling.metric.recall.misleads"),
    MetricGuide("auc", "compiling.metric.auc.what", "compiling.metric.auc.misleads"),
    MetricGuide("f1_score", "compiling.metric.f1_score.what", "compiling.metric.f1_score.misleads"),
    MetricGuide("top_3_accuracy", "compiling.metric.top_k.what", "compiling.metric.top_k.misleads"),
    MetricGuide("top_5_accuracy", "compiling.metric.top_k.what", "compiling.metric.top_k.misleads"),
)
