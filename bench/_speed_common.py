"""Data and figures shared by bench/perf_xla.py and bench/perf_precision.py.

Both datasets come as numpy arrays (float32 0..255, int labels), so the timed part is the network alone:
the generated digits (``lab.data.sample_digits``, written to a temporary folder and read back) and Sign Language
MNIST (its Test split, split 80/20 per class with a fixed seed).
"""

from __future__ import annotations

import copy
import statistics
import tempfile
from pathlib import Path

import numpy as np
from _perf_common import need_sign_mnist
from PIL import Image

AUGMENTATION_GROUP = "layers.group.augmentation"


def spread(values, unit: str = "s", digits: int = 3, scale: float = 1.0) -> str:
    """``median (min-max, n rounds)``."""
    values = [v * scale for v in values]
    f = f"{{:.{digits}f}}"
    return (f"{f.format(statistics.median(values))} {unit} (min-max {f.format(min(values))}-{f.format(max(values))}, "
            f"{len(values)} rounds)")


def without_augmentation(spec: dict) -> dict:
    """The spec with its Random* layers removed (what a person gets by deleting them in the editor)."""
    from lab.layers import LAYER_TYPES

    out = copy.deepcopy(spec)
    out["layers"] = [layer for layer in out["layers"] if LAYER_TYPES[layer["type"]].group_id != AUGMENTATION_GROUP]
    return out


def has_augmentation(spec: dict) -> bool:
    return without_augmentation(spec)["layers"] != spec["layers"]


def for_classes(spec: dict, classes: int) -> dict:
    """The spec with its last Dense layer sized for ``classes``."""
    out = copy.deepcopy(spec)
    out["layers"][-1]["units"] = classes
    return out


def _read_folder(folder: Path, classes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    images, labels = [], []
    for index, name in enumerate(classes):
        for file in sorted((folder / name).glob("*.png")):
            images.append(np.asarray(Image.open(file).convert("L"), np.float32))
            labels.append(index)
    return np.stack(images)[..., None], np.asarray(labels, np.int64)


def digits(train_per_class: int, test_per_class: int, seed: int = 0):
    """(x_train, y_train, x_test, y_test, classes) of freshly generated digits."""
    from lab.data import sample_digits

    with tempfile.TemporaryDirectory(prefix="lab-bench-digits-") as tmp:
        out = sample_digits.make(Path(tmp) / "digits", seed=seed, train_per_class=train_per_class,
                                 test_per_class=test_per_class)
        classes = list(sample_digits.CLASSES)
        return (*_read_folder(out / "Train", classes), *_read_folder(out / "Test", classes), classes)


def sign_mnist(test_share: float = 0.2, seed: int = 2024):
    """(x_train, y_train, x_test, y_test, classes): the Test split's images, 80/20 per class, shuffled with ``seed``."""
    source = need_sign_mnist() / "Test"
    classes = sorted(p.name for p in source.iterdir() if p.is_dir())
    x, y = _read_folder(source, classes)
    rng = np.random.default_rng(seed)
    test = np.zeros(len(y), bool)
    for label in range(len(classes)):
        members = rng.permutation(np.flatnonzero(y == label))
        test[members[:round(len(members) * test_share)]] = True
    return x[~test], y[~test], x[test], y[test], classes


def shaped(x: np.ndarray, input_shape) -> np.ndarray:
    """Grey 0..255 images resized to a network's input (height, width, channels), kept as uint8 to spare memory."""
    import tensorflow as tf

    height, width, channels = input_shape
    if x.shape[1:] == (height, width, channels):
        return x
    out = tf.image.resize(x, (height, width)).numpy()
    return np.repeat(np.clip(out, 0, 255).astype(np.uint8), channels, axis=-1)


def batches(x, y, batch_size: int = 32, shuffle_seed: int | None = None):
    """A tf.data pipeline of the arrays (float32 0..255 batches, as the lab's loader gives), reshuffled every epoch
    when ``shuffle_seed`` is given."""
    import tensorflow as tf

    data = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle_seed is not None:
        data = data.shuffle(len(y), seed=shuffle_seed, reshuffle_each_iteration=True)
    return data.batch(batch_size).map(lambda images, labels: (tf.cast(images, tf.float32), labels)).prefetch(
        tf.data.AUTOTUNE)
