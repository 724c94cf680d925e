"""Spotting the usual training failures and explaining them in plain words. Pure Python, no TensorFlow.

Each check returns ``Diagnosis`` objects; a job keeps the latest one per ``code`` so the page shows one card per
problem, updated as training goes on.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

# How close to ln(classes) the epoch loss must be to count as guessing (relative).
STUCK_TOLERANCE = 0.04


# Epoch diagnostics that go away when they stop holding, and what the messages say then.
RESOLVED = {
    "guessing": "the loss has moved away from ln(classes); the model has started to learn.",
    "overfitting": "the validation loss is no longer rising.",
    "diverging": "the training loss is no longer above where it started.",
}


@dataclass
class Diagnosis:
    code: str  # "guessing", "unscaled_inputs", "double_scaling", "nan_loss", "overfitting", "diverging"
    level: str  # "warning" or "error"
    title: str
    message: str
    epoch: int | None = None  # 1-based epoch the diagnosis was made at; None for checks before training

    def to_dict(self) -> dict:
        return asdict(self)


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
    rate = f" (now {learning_rate:g})" if _finite(learning_rate) else ""
    return Diagnosis(
        code="guessing",
        level="warning",
        title="The model is guessing",
        message=(f"The loss is {loss:.2f}, about ln({num_classes}) = {chance:.2f}, the loss of a model that gives "
                 f"every class the same probability: it is not learning yet. Check that the inputs are rescaled "
                 f"to 0–1 (a Rescaling(1/255) layer first), then the learning rate{rate}: too high makes the "
                 f"units die and the output collapse, too low barely moves the weights; 0.001 with Adam is a "
                 f"safe start."),
        epoch=epoch,
    )


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
        return Diagnosis(
            code="unscaled_inputs",
            level="warning",
            title="Raw pixels reach the first layer",
            message=(f"Pixels reach the first layer with values up to {max_pixel:.0f} and the model has no "
                     f"Rescaling layer: large inputs make the first updates huge and the model often ends up "
                     f"guessing. Add Rescaling(1/255) as the first layer so inputs are 0–1."),
        )
    reaching = max_pixel * input_scale(spec)
    if 0 < max_pixel <= 1.0 and reaching < 0.05:
        return Diagnosis(
            code="double_scaling",
            level="warning",
            title="Inputs are scaled twice",
            message=(f"The images are already 0–1 and the Rescaling layer shrinks them again to at most "
                     f"{reaching:.3f}: remove the Rescaling layer or load the images as 0–255."),
        )
    return None


def nan_loss(epoch: int, batch: int, learning_rate: float | None = None) -> Diagnosis:
    rate = f"{learning_rate:g}" if _finite(learning_rate) else "the learning rate"
    lower = f" (try {learning_rate / 10:g})" if _finite(learning_rate) else ""
    return Diagnosis(
        code="nan_loss",
        level="error",
        title="The loss became NaN",
        message=(f"The loss became NaN at epoch {epoch}, batch {batch}, so training stopped: the weights blew up. "
                 f"Lower {rate} about ten times{lower} and check that the inputs are rescaled to 0–1."),
        epoch=epoch,
    )


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
        return Diagnosis(
            code="overfitting",
            level="warning",
            title="Overfitting",
            message=(f"Validation loss has risen for two epochs ({val[0]:.3f} → {val[2]:.3f}, best {best:.3f}) "
                     f"while training loss keeps falling: the model is memorising the training images. Add "
                     f"Dropout, data augmentation (RandomRotation, RandomZoom, RandomTranslation) or keep early "
                     f"stopping on so the best epoch is kept."),
            epoch=len(history),
        )
    return None


def check_diverging(history: list[dict], learning_rate: float | None = None) -> Diagnosis | None:
    """Training loss clearly above where it started after two or more epochs."""
    if len(history) < 2:
        return None
    first, last = history[0].get("loss"), history[-1].get("loss")
    if not (_finite(first) and _finite(last)):
        return None
    if last > first * 1.25 and last > history[-2].get("loss", last) * 1.0:
        rate = f" ({learning_rate:g})" if _finite(learning_rate) else ""
        return Diagnosis(
            code="diverging",
            level="warning",
            title="The loss is rising",
            message=(f"The training loss went up from {first:.3f} to {last:.3f}: the steps overshoot. Lower the "
                     f"learning rate{rate} about ten times."),
            epoch=len(history),
        )
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
