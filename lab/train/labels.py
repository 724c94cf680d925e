"""Matching the loss, the labels and the head to the dataset. Pure Python, no TensorFlow."""

from __future__ import annotations

import copy

from lab.compiling import BINARY, CATEGORICAL, LABEL_MODES, ONE_HOT_METRICS, SPARSE
from lab.errors import LabError
from lab.i18n import t
from lab.spec import adapt


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
        raise LabError(t("train.labels.one_class", classes=num_classes))
    spec = copy.deepcopy(spec)
    settings = spec.setdefault("compile", {})
    loss = settings.get("loss") or SPARSE
    metrics = list(settings.get("metrics") or ["accuracy"])
    notes: list[str] = []

    if loss == BINARY and num_classes != 2:
        raise LabError(t("train.labels.binary_needs_two", classes=num_classes))
    if loss == SPARSE and any(m in ONE_HOT_METRICS for m in metrics):
        loss = CATEGORICAL
        notes.append(t("train.labels.one_hot_for_metrics"))
    top_k = [m for m in metrics if m.startswith("top_") and m.endswith("_accuracy")]
    for name in top_k:
        k = int(name.split("_")[1])
        if loss == BINARY or k >= num_classes:
            metrics.remove(name)
            notes.append(t("train.labels.top_k_dropped", metric=name, classes=num_classes))
    swaps = {SPARSE: {"categorical_accuracy": "sparse_categorical_accuracy", "binary_accuracy": "accuracy"},
             CATEGORICAL: {"sparse_categorical_accuracy": "categorical_accuracy", "binary_accuracy": "accuracy"},
             BINARY: {"sparse_categorical_accuracy": "binary_accuracy", "categorical_accuracy": "binary_accuracy"}}
    for index, name in enumerate(metrics):
        if name in swaps[loss]:
            metrics[index] = swaps[loss][name]
            notes.append(t("train.labels.metric_swapped", metric=name, label_mode=LABEL_MODES[loss],
                           now=metrics[index]))
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
                notes.append(t("train.labels.binary_head"))
                head["units"] = 1
                head["activation"] = "sigmoid"
        elif head.get("activation") == "sigmoid":
            notes.append(t("train.labels.softmax_head"))
            head["activation"] = "softmax"
    return spec, LABEL_MODES[loss], notes
