"""Matching the loss, the labels and the head to the dataset. Pure Python, no TensorFlow."""

from __future__ import annotations

import copy

from lab.errors import LabError
from lab.spec import adapt

SPARSE = "sparse_categorical_crossentropy"
CATEGORICAL = "categorical_crossentropy"
BINARY = "binary_crossentropy"

LABEL_MODES = {SPARSE: "int", CATEGORICAL: "categorical", BINARY: "binary"}
ONE_HOT_METRICS = ("precision", "recall", "auc", "f1_score")


def prepare_spec(spec: dict, input_shape, num_classes: int) -> tuple[dict, str, list[str]]:
    """The spec to build for a dataset, the label mode to load it with, and notes on what changed.

    - the input shape follows the dataset and the head gets one unit per class (``lab.spec.adapt``);
    - the loss decides the labels: integer labels for sparse categorical cross-entropy, one-hot for categorical,
      0/1 for binary (two classes only, one sigmoid unit);
    - precision, recall, AUC and F1 need one-hot labels, so with them the sparse loss becomes its one-hot twin;
    - accuracy metrics that do not fit the labels are swapped for the matching one.
    Raises LabError when the spec and the labels cannot agree (binary loss with more than two classes).
    """
    if num_classes < 2:
        raise LabError(f"The dataset has {num_classes} class; a classifier needs at least two class folders.")
    spec = copy.deepcopy(spec)
    settings = spec.setdefault("compile", {})
    loss = settings.get("loss") or SPARSE
    metrics = list(settings.get("metrics") or ["accuracy"])
    notes: list[str] = []

    if loss == BINARY and num_classes != 2:
        raise LabError(f"Binary cross-entropy works with two classes but this dataset has {num_classes}; use "
                       f"sparse_categorical_crossentropy.")
    if loss == SPARSE and any(m in ONE_HOT_METRICS for m in metrics):
        loss = CATEGORICAL
        notes.append("Precision, recall, AUC and F1 need one-hot labels, so this run uses one-hot labels with "
                     "categorical_crossentropy (the same loss as sparse_categorical_crossentropy).")
    top_k = [m for m in metrics if m.startswith("top_") and m.endswith("_accuracy")]
    for name in top_k:
        k = int(name.split("_")[1])
        if loss == BINARY or k >= num_classes:
            metrics.remove(name)
            notes.append(f"{name} was dropped: with {num_classes} classes it is always 1.")
    swaps = {SPARSE: {"categorical_accuracy": "sparse_categorical_accuracy", "binary_accuracy": "accuracy"},
             CATEGORICAL: {"sparse_categorical_accuracy": "categorical_accuracy", "binary_accuracy": "accuracy"},
             BINARY: {"sparse_categorical_accuracy": "binary_accuracy", "categorical_accuracy": "binary_accuracy"}}
    for index, name in enumerate(metrics):
        if name in swaps[loss]:
            metrics[index] = swaps[loss][name]
            notes.append(f"The metric {name} does not fit {LABEL_MODES[loss]} labels; it is now {metrics[index]}.")
    deduped = []
    for name in metrics:
        if name not in deduped:
            deduped.append(name)
    settings["loss"] = loss
    settings["metrics"] = deduped

    spec, adapt_notes = adapt(spec, input_shape=list(input_shape), num_classes=None if loss == BINARY
                              else num_classes)
    notes.extend(adapt_notes)
    head = spec["layers"][-1] if spec.get("layers") else None
    if head is not None and head.get("type") == "Dense":
        if loss == BINARY:
            if head.get("units") != 1 or head.get("activation") != "sigmoid":
                notes.append("Binary cross-entropy needs one sigmoid unit: the head is now Dense(1, "
                             "activation='sigmoid').")
                head["units"] = 1
                head["activation"] = "sigmoid"
        elif head.get("activation") == "sigmoid":
            notes.append("The head's sigmoid is now softmax, so the outputs are class probabilities.")
            head["activation"] = "softmax"
    return spec, LABEL_MODES[loss], notes
