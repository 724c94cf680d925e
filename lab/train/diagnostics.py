"""Spotting the usual training failures and explaining them in plain words. Pure Python, no TensorFlow.

Each check returns ``Diagnosis`` objects; a job keeps the latest one per ``code`` so the page shows one card per
problem, updated as training goes on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from lab.i18n import Setting, t

# How close to ln(classes) the epoch loss must be to count as guessing (relative).
STUCK_TOLERANCE = 0.04

TITLES = {
    "guessing": "diagnostics.guessing.title",
    "unscaled_inputs": "diagnostics.unscaled_inputs.title",
    "double_scaling": "diagnostics.double_scaling.title",
    "nan_loss": "diagnostics.nan_loss.title",
    "overfitting": "diagnostics.overfitting.title",
    "diverging": "diagnostics.diverging.title",
}

# Epoch diagnostics that go away when they stop holding, and the message that says so ({epoch} is when).
RESOLVED = {
    "guessing": "diagnostics.guessing.resolved",
    "overfitting": "diagnostics.overfitting.resolved",
    "diverging": "diagnostics.diverging.resolved",
}


SETTINGS = ("rate", "lower")  # params that are values the person types: the learning rate, and one to try


@dataclass(frozen=True)
class Diagnosis:
    """One problem found in training, kept as ids and numbers: its words come in the language of whoever reads.

    code: "guessing", "unscaled_inputs", "double_scaling", "nan_loss", "overfitting" or "diverging".
    level: "warning" or "error". message_id and params: the catalogue id of the explanation and its numbers.
    epoch: the 1-based epoch the diagnosis was made at; None for checks before training.
    """

    code: str
    level: str
    message_id: str
    params: dict = field(default_factory=dict)
    epoch: int | None = None

    @property
    def title(self) -> str:
        return t(TITLES[self.code])

    @property
    def message(self) -> str:
        return t(self.message_id, **{key: Setting(value) if key in SETTINGS else value
                                     for key, value in self.params.items()})

    def to_dict(self) -> dict:
        """code, level, title, message (words in the current language), epoch and the ids' params."""
        return {"code": self.code, "level": self.level, "title": self.title, "message": self.message,
                "epoch": self.epoch, "params": dict(self.params)}


def resolved_message(code: str, epoch: int) -> str:
    return t(RESOLVED[code], epoch=epoch)


def chance_loss(num_classes: int) -> float:
    """Cross-entropy of a model that gives every class the same probability: ln(number of classes)."""
    return math.log(max(int(num_classes), 2))


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def check_guessing(loss: float, num_classes: int, epoch: int | None = None,
                   learning_rate: float | None = None) -> Diagnosis | None:
    """Loss sitting at ln(classes): the model outputs the same probabilities for every image."""
    if not _finite(loss):
        return None
    chance = chance_loss(num_classes)
    if abs(loss - chance) > STUCK_TOLERANCE * chance:
        return None
    params = {"loss": loss, "classes": num_classes, "chance": chance}
    if _finite(learning_rate):
        return Diagnosis("guessing", "warning", "diagnostics.guessing.message_with_rate",
                         {**params, "rate": learning_rate}, epoch)
    return Diagnosis("guessing", "warning", "diagnostics.guessing.message", params, epoch)


def first_weighted_index(spec: dict) -> int | None:
    for index, layer in enumerate(spec.get("layers") or []):
        if layer.get("type") in ("Conv2D", "Dense"):
            return index
    return None


def input_scale(spec: dict) -> float:
    """The product of the Rescaling scales applied before the first Conv2D/Dense layer (1.0 when none)."""
    stop = first_weighted_index(spec)
    layers = (spec.get("layers") or [])[: stop if stop is not None else None]
    scale = 1.0
    for layer in layers:
        if layer.get("type") == "Rescaling":
            try:
                scale *= float(layer.get("scale", 1.0))
            except (TypeError, ValueError):
                continue
    return scale


def has_normalizer(spec: dict) -> bool:
    stop = first_weighted_index(spec)
    layers = (spec.get("layers") or [])[: stop if stop is not None else None]
    return any(layer.get("type") in ("Rescaling", "BatchNormalization") for layer in layers)


def check_inputs(spec: dict, max_pixel: float) -> Diagnosis | None:
    """Pixels that reach the first weighted layer above 1 (no Rescaling), or squashed twice."""
    if not _finite(max_pixel):
        return None
    if max_pixel > 1.5 and not has_normalizer(spec):
        return Diagnosis("unscaled_inputs", "warning", "diagnostics.unscaled_inputs.message",
                         {"max_pixel": max_pixel})
    reaching = max_pixel * input_scale(spec)
    if 0 < max_pixel <= 1.0 and reaching < 0.05:
        return Diagnosis("double_scaling", "warning", "diagnostics.double_scaling.message", {"reaching": reaching})
    return None


def nan_loss(epoch: int, batch: int, learning_rate: float | None = None) -> Diagnosis:
    params = {"epoch": epoch, "batch": batch}
    if _finite(learning_rate):
        return Diagnosis("nan_loss", "error", "diagnostics.nan_loss.message_with_rate",
                         {**params, "rate": learning_rate, "lower": learning_rate / 10}, epoch)
    return Diagnosis("nan_loss", "error", "diagnostics.nan_loss.message", params, epoch)


def check_overfitting(history: list[dict]) -> Diagnosis | None:
    """Validation loss rising for two epochs in a row while the training loss keeps falling."""
    if len(history) < 3:
        return None
    last = history[-3:]
    loss = [row.get("loss") for row in last]
    val = [row.get("val_loss") for row in last]
    if not all(_finite(v) for v in loss + val):
        return None
    if val[0] < val[1] < val[2] and loss[0] > loss[1] > loss[2]:
        best = min(row["val_loss"] for row in history if _finite(row.get("val_loss")))
        return Diagnosis("overfitting", "warning", "diagnostics.overfitting.message",
                         {"first": val[0], "last": val[2], "best": best}, len(history))
    return None


def check_diverging(history: list[dict], learning_rate: float | None = None) -> Diagnosis | None:
    """Training loss clearly above where it started after two or more epochs."""
    if len(history) < 2:
        return None
    first, last = history[0].get("loss"), history[-1].get("loss")
    if not (_finite(first) and _finite(last)):
        return None
    if last > first * 1.25 and last > history[-2].get("loss", last) * 1.0:
        params = {"first": first, "last": last}
        if _finite(learning_rate):
            return Diagnosis("diverging", "warning", "diagnostics.diverging.message_with_rate",
                             {**params, "rate": learning_rate}, len(history))
        return Diagnosis("diverging", "warning", "diagnostics.diverging.message", params, len(history))
    return None


def check_epoch(history: list[dict], num_classes: int, learning_rate: float | None = None) -> list[Diagnosis]:
    """Every diagnosis that holds after the latest finished epoch in ``history``."""
    if not history:
        return []
    found = []
    guessing = check_guessing(history[-1].get("loss"), num_classes, epoch=len(history), learning_rate=learning_rate)
    if guessing is not None:
        found.append(guessing)
    for check in (check_overfitting(history), check_diverging(history, learning_rate)):
        if check is not None:
            found.append(check)
    return found
