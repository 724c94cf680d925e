"""Evaluating a trained model: accuracy, loss, per-class precision and recall, confusion matrix, misclassified files.

Classes are matched by name, so a dataset whose classes are a subset of the model's, or in another order, is
scored correctly.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

from lab.errors import LabError
from lab.i18n import t

EPSILON = 1e-7  # the clipping Keras uses in cross-entropy


def as_probabilities(outputs):
    """Model outputs as an (n, classes) probability array: a single sigmoid unit becomes [1 - p, p]."""
    import numpy as np

    out = np.asarray(outputs, dtype="float64")
    if out.ndim == 1:
        out = out[:, None]
    if out.shape[1] == 1:
        return np.concatenate([1.0 - out, out], axis=1)
    sums = out.sum(axis=1)
    if out.size and ((out < 0).any() or not np.allclose(sums, 1.0, atol=1e-3)):
        shifted = out - out.max(axis=1, keepdims=True)  # logits: apply softmax
        exp = np.exp(shifted)
        out = exp / exp.sum(axis=1, keepdims=True)
    return out


def as_labels(y):
    """Integer labels from int, one-hot or binary-float label arrays."""
    import numpy as np

    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return y.argmax(axis=1).astype("int64")
    return np.rint(y.reshape(-1)).astype("int64")


def predict_dataset(model, dataset, keep_wrong: int = 0):
    """(probabilities, true labels, kept) over a batched tf.data dataset of (images, labels), in dataset order.

    ``kept`` maps the position of up to ``keep_wrong`` misclassified images to the image itself, as the model
    received it: a dataset that reshuffles on every pass (a validation split) cannot be read again to find them.
    """
    import numpy as np

    probs, labels, kept = [], [], {}
    seen = 0
    for x, y in dataset:
        batch_probs = as_probabilities(model(x, training=False))
        batch_labels = as_labels(y.numpy() if hasattr(y, "numpy") else y)
        if len(kept) < keep_wrong:
            images = x.numpy() if hasattr(x, "numpy") else np.asarray(x)
            for offset in np.flatnonzero(batch_probs.argmax(axis=1) != batch_labels):
                if len(kept) >= keep_wrong:
                    break
                kept[seen + int(offset)] = images[offset]
        probs.append(batch_probs)
        labels.append(batch_labels)
        seen += len(batch_labels)
    if not probs:
        raise LabError(t("evaluate.split_empty"))
    return np.concatenate(probs), np.concatenate(labels), kept


def save_misclassified(result: dict, kept: dict, folder) -> None:
    """Writes the misclassified images that have no file of their own as PNGs in ``folder`` and names them."""
    import numpy as np
    from PIL import Image

    from lab.train.runs import write_bytes_atomic

    folder = Path(folder)
    for item in result.get("misclassified", []):
        image = kept.get(item["index"])
        if item.get("file") or image is None:
            continue
        pixels = np.clip(np.asarray(image, dtype="float32"), 0, 255).astype("uint8")
        picture = Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels)
        buffer = io.BytesIO()
        picture.save(buffer, "PNG")
        path = folder / f"{item['index']:06d}.png"
        write_bytes_atomic(path, buffer.getvalue())
        item["file"] = str(path)


def class_mapping(data_classes: list[str], model_classes: list[str]) -> list[int]:
    """For each dataset class index, the model's output index of the class with the same name."""
    missing = [name for name in data_classes if name not in model_classes]
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        known = ", ".join(model_classes[:8]) + (" ..." if len(model_classes) > 8 else "")
        raise LabError(t("evaluate.unknown_classes", shown=shown, known=known))
    return [model_classes.index(name) for name in data_classes]


def score(probs, labels, class_names: list[str], files: list[str] | None = None,
          max_misclassified: int = 200) -> dict:
    """Metrics for probabilities over ``class_names`` and labels already in the model's class indices."""
    import numpy as np

    probs = np.asarray(probs, dtype="float64")
    labels = np.asarray(labels, dtype="int64")
    n = int(labels.shape[0])
    k = len(class_names)
    if probs.shape != (n, k):
        raise LabError(t("evaluate.outputs_mismatch_run", outputs=probs.shape[1], classes=k))
    predicted = probs.argmax(axis=1)
    chosen = probs[np.arange(n), labels]
    loss = float(-np.log(np.clip(chosen, EPSILON, 1.0)).mean()) if n else float("nan")
    confusion = np.zeros((k, k), dtype="int64")
    np.add.at(confusion, (labels, predicted), 1)
    per_class = {}
    for index, name in enumerate(class_names):
        support = int(confusion[index].sum())
        predicted_as = int(confusion[:, index].sum())
        hits = int(confusion[index, index])
        per_class[name] = {
            "precision": hits / predicted_as if predicted_as else None,
            "recall": hits / support if support else None,
            "support": support,
        }
    wrong = np.flatnonzero(predicted != labels)
    wrong = wrong[np.argsort(-probs[wrong, predicted[wrong]], kind="stable")][:max_misclassified]
    misclassified = [
        {
            "file": files[i] if files is not None and i < len(files) else None,
            "index": int(i),
            "true": class_names[labels[i]],
            "predicted": class_names[predicted[i]],
            "probability": float(probs[i, predicted[i]]),
        }
        for i in wrong
    ]
    return {
        "accuracy": float((predicted == labels).mean()) if n else float("nan"),
        "loss": loss if math.isfinite(loss) else None,
        "n": n,
        "class_names": list(class_names),
        "per_class": per_class,
        "confusion": confusion.tolist(),
        "misclassified": misclassified,
        "misclassified_total": int((predicted != labels).sum()),
    }


def evaluate(model, dataset, data_classes: list[str], model_classes: list[str] | None = None,
             files: list[str] | None = None, split: str | None = None, max_misclassified: int = 200,
             image_folder=None) -> dict:
    """Scores ``model`` on ``dataset`` (batched (images, labels)); see ``score`` for the keys.

    Without ``files`` (images that came from a CSV import, a validation split), ``image_folder`` receives the
    misclassified images as PNGs so that they can be shown; ``dataset`` may then be shuffled.
    """
    import numpy as np

    keep = max_misclassified * 4 if files is None and image_folder is not None else 0
    probs, labels, kept = predict_dataset(model, dataset, keep_wrong=keep)
    if model_classes is None:
        if probs.shape[1] != len(data_classes):
            raise LabError(t("evaluate.outputs_mismatch_data", outputs=probs.shape[1], classes=len(data_classes)))
        model_classes = list(data_classes)
    mapping = np.asarray(class_mapping(list(data_classes), list(model_classes)))
    result = score(probs, mapping[labels], list(model_classes), files=files, max_misclassified=max_misclassified)
    if keep:
        save_misclassified(result, kept, image_folder)
    if split:
        result["split"] = split
    return result


def model_preprocessing(model, meta: dict | None) -> dict:
    """The preprocessing a model expects: from its run when known, else read off the model's input.

    LabError when the run's meta.json disagrees with the model's input (an edited or mixed-up file) or the images
    would be larger than ``imaging.MAX_IMAGE_SIDE`` on a side.
    """
    from lab.train.runs import check_preprocessing

    shape = tuple(model.input_shape[1:]) if isinstance(model.input_shape, tuple) else ()
    fixed = len(shape) == 3 and all(isinstance(v, int) for v in shape)
    if meta and meta.get("preprocessing"):
        preprocessing = check_preprocessing(meta["preprocessing"], t("runs.where.the_run"))
        size = preprocessing.get("image_size")
        if fixed and size is not None and list(size) != [shape[0], shape[1]]:
            raise LabError(t("evaluate.size_mismatch", height=size[0], width=size[1], model_height=shape[0],
                             model_width=shape[1]))
        mode = preprocessing.get("color_mode")
        if fixed and mode is not None and (mode == "grayscale") != (shape[2] == 1):
            raise LabError(t("evaluate.mode_mismatch", mode=mode, channels=shape[2]))
        return preprocessing
    if not fixed or shape[2] not in (1, 3):
        raise LabError(t("evaluate.not_an_image_model"))
    return check_preprocessing({"image_size": [int(shape[0]), int(shape[1])],
                                "color_mode": "grayscale" if shape[2] == 1 else "rgb"}, t("runs.where.this_model"))


def evaluate_path(model_arg, data_path, split: str = "Test", batch_size: int = 64) -> dict:
    """``lab evaluate``: a run folder or .keras file scored on one split of a dataset folder.

    Images that cannot be decoded (truncated, corrupt) are skipped like training skips them; ``skipped`` lists
    them as "path: reason".
    """
    from lab.train import data_access, runs

    data_access.check_batch_size(batch_size)  # before the model loads, so a typo costs no time
    model_path, meta = runs.resolve_model(model_arg)
    model = runs.load_model_file(model_path)
    preprocessing = model_preprocessing(model, meta)
    model_classes = list(meta.get("class_names") or []) if meta else None
    dataset, data_classes, _ = data_access.split_dataset(data_path, split, preprocessing, batch_size=batch_size)
    # dataset.used fills while the batches are read: the files scored, in order, without the skipped ones
    try:
        result = evaluate(model, dataset, data_classes, model_classes or None, files=dataset.used, split=split)
    except LabError:
        if dataset.skipped and not dataset.used:
            raise LabError(t("evaluate.all_unreadable", split=split, first=dataset.skipped[0])) from None
        raise
    result["skipped"] = list(dataset.skipped)
    result["model"] = str(Path(model_path))
    result["data"] = str(Path(data_path))
    return result
