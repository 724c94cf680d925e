"""Loading a dataset into tf.data pipelines for training.

Clean datasets go through `keras.utils.image_dataset_from_directory`, as in the notes. When some
files must be skipped or converted (corrupt, hidden, CMYK, 16-bit...), the good files are decoded
with Pillow instead, so TensorFlow never sees a bad file. Either way, when the decoded images fit
the RAM budget they are decoded once and kept in memory; each epoch then only shuffles and batches.
Larger datasets stream from disk. Nothing under the dataset folder is modified.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from lab import imaging
from lab.data.discovery import KERAS_EXTENSIONS, DatasetInfo, inspect
from lab.errors import LabError
from lab.i18n import t
from lab.imaging import MAX_IMAGE_SIDE

COLOR_MODES = ("grayscale", "rgb")
LABEL_MODES = ("int", "categorical", "binary", None)
DEFAULT_RAM_BUDGET_MB = 1024


@dataclass
class LoadedData:
    train: object  # tf.data.Dataset of (images float32 0..255, labels)
    val: object | None
    test: object | None
    class_names: list[str]
    input_shape: tuple[int, int, int]
    info: DatasetInfo
    warnings: list[str] = field(default_factory=list)
    preprocessing: dict = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # "train", "val", "test" -> images
    cached: bool = False  # decoded images are held in memory
    pipeline: str = "image_dataset_from_directory"  # or "pillow"


def load(
    path,
    image_size=None,
    color_mode=None,
    batch_size: int = 32,
    validation_split: float | None = 0.2,
    seed: int = 1337,
    shuffle: bool = True,
    label_mode: str | None = "int",
    ram_budget_mb: float = DEFAULT_RAM_BUDGET_MB,
    interpolation: str = "bilinear",
) -> LoadedData:
    """Load the dataset in `path` for training.

    image_size: (height, width); default the dataset's own (most common) size.
    color_mode: "grayscale" or "rgb"; default detected from the images (grayscale when they have one
        channel or R = G = B), so the model's input shape matches the data.
    batch_size, shuffle, seed, label_mode ("int", "categorical", "binary" or None): as in
        `keras.utils.image_dataset_from_directory`.
    validation_split: the fraction of the training images held out for validation (split with
        `seed`); 0 or None for no validation set.
    ram_budget_mb: decoded images are cached in memory when they fit this budget.
    Images arrive as float32 0..255. Raises LabError with one sentence for an unusable dataset.
    """
    path = Path(path)
    _check_arguments(batch_size, validation_split, label_mode, color_mode)
    info = inspect(path, verify=True)
    if info.errors:
        raise LabError(info.errors[0])
    color_mode = color_mode or info.color_mode
    image_size = _image_size(image_size, info)
    if label_mode == "binary" and len(info.classes) != 2:
        raise LabError(t("data.load.binary_needs_two", name=info.name, count=len(info.classes)))
    channels = 1 if color_mode == "grayscale" else 3
    train_split = info.learning_split
    n_pool = info.total(train_split)
    n_test = info.total("Test") if info.has_test else 0
    validation_split = float(validation_split or 0.0)
    if validation_split and int(validation_split * n_pool) < 1:
        raise LabError(t("data.load.too_few_for_validation", name=info.name, count=n_pool,
                         validation_split=validation_split))

    resized = (image_size != info.image_size) or len(info.sizes) > 1
    bytes_per_pixel = 4 if resized else 1
    needed_mb = (n_pool + n_test) * image_size[0] * image_size[1] * channels * bytes_per_pixel / 2**20
    cache = needed_mb <= ram_budget_mb
    warns = list(info.warnings)
    if not cache:
        warns.append(t("data.load.over_ram_budget", needed=needed_mb, budget=ram_budget_mb))
    options = dict(
        image_size=image_size,
        color_mode=color_mode,
        batch_size=int(batch_size),
        validation_split=validation_split,
        seed=seed,
        shuffle=shuffle,
        label_mode=label_mode,
        interpolation=interpolation,
    )

    pipeline = "image_dataset_from_directory"
    result = None
    # A resized dataset is read by Pillow, the same resize the Predict page and evaluation use: TensorFlow's
    # resize does not smooth when it shrinks, and a model would learn pictures it is never shown again.
    if _is_clean(info) and not resized:
        try:
            result = _load_keras(info, train_split, cache, resized, **options)
        except Exception as exc:  # a file TensorFlow cannot decode: fall back to Pillow, which skips it
            warns.append(t("data.load.pillow_fallback", error=_first_line(exc)))
            result = None
    if result is None:
        pipeline = "pillow"
        result = _load_pillow(info, train_split, cache, **options)
    train, val, test, counts = result

    preprocessing = {
        "image_size": [int(image_size[0]), int(image_size[1])],
        "color_mode": color_mode,
        "polarity": info.polarity,
        "centering": info.centering,
    }
    return LoadedData(
        train=train,
        val=val,
        test=test,
        class_names=list(info.classes),
        input_shape=(int(image_size[0]), int(image_size[1]), channels),
        info=info,
        warnings=warns,
        preprocessing=preprocessing,
        counts=counts,
        cached=cache,
        pipeline=pipeline,
    )


# ----------------------------------------------------------------------------------------------


def _check_arguments(batch_size, validation_split, label_mode, color_mode):
    if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) or batch_size < 1:
        raise LabError(t("data.load.bad_batch_size", value=repr(batch_size)))
    if validation_split is not None and not (0.0 <= float(validation_split) < 1.0):
        raise LabError(t("data.load.bad_validation_split", value=repr(validation_split)))
    if label_mode not in LABEL_MODES:
        raise LabError(t("data.load.bad_label_mode", value=repr(label_mode)))
    if color_mode is not None and color_mode not in COLOR_MODES:
        raise LabError(t("data.load.bad_color_mode", value=repr(color_mode)))


def _image_size(image_size, info: DatasetInfo) -> tuple[int, int]:
    if image_size is None:
        return tuple(info.image_size)
    try:
        h, w = (int(v) for v in image_size)
    except (TypeError, ValueError):
        raise LabError(t("data.load.bad_image_size", value=repr(image_size))) from None
    if not (1 <= h <= MAX_IMAGE_SIDE and 1 <= w <= MAX_IMAGE_SIDE):
        raise LabError(t("data.load.image_size_out_of_range", height=h, width=w, limit=MAX_IMAGE_SIDE))
    return h, w


def _is_clean(info: DatasetInfo) -> bool:
    """True when image_dataset_from_directory would read exactly the usable files, decoded correctly."""
    for problem in info.problems:
        if problem.action == "converted":
            return False
        if problem.action == "skipped" and Path(problem.path).suffix.lower() in KERAS_EXTENSIONS:
            return False
    return True


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


def _encode_labels(labels: np.ndarray, num_classes: int, label_mode):
    if label_mode == "categorical":
        return np.eye(num_classes, dtype=np.float32)[labels]
    if label_mode == "binary":
        return labels.astype(np.float32)[:, None]
    return labels.astype(np.int32)


def _from_arrays(images: np.ndarray, labels, batch_size: int, shuffle: bool, seed):
    """Batches gathered from arrays held in memory; a new order every epoch when shuffling."""
    import tensorflow as tf

    n = len(images)
    images_t = tf.constant(images)
    labels_t = tf.constant(labels) if labels is not None else None
    ds = tf.data.Dataset.range(n)
    if shuffle:
        ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)

    @tf.autograph.experimental.do_not_convert
    def take(index):
        batch = tf.cast(tf.gather(images_t, index), tf.float32)
        if labels_t is None:
            return batch
        return batch, tf.gather(labels_t, index)

    return ds.map(take, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


# ----------------------------------------------------------------------------------------------
# image_dataset_from_directory


def _load_keras(
    info,
    train_split,
    cache,
    resized,
    *,
    image_size,
    color_mode,
    batch_size,
    validation_split,
    seed,
    shuffle,
    label_mode,
    interpolation,
):
    import keras
    import tensorflow as tf

    root = info.path / info.split_dirs[train_split]
    common = dict(
        labels="inferred",
        class_names=list(info.classes),
        color_mode=color_mode,
        image_size=tuple(image_size),
        interpolation=interpolation,
        verbose=False,
    )
    quiet = contextlib.redirect_stdout(io.StringIO())  # it prints "Found N files ..." lines
    read_batch = 256 if cache else batch_size
    read_mode = "int" if cache else label_mode
    with quiet:
        if validation_split:
            train, val = keras.utils.image_dataset_from_directory(
                str(root),
                label_mode=read_mode,
                batch_size=read_batch,
                shuffle=True,
                seed=seed,
                validation_split=validation_split,
                subset="both",
                **common,
            )
        else:
            train = keras.utils.image_dataset_from_directory(
                str(root), label_mode=read_mode, batch_size=read_batch, shuffle=shuffle and not cache, seed=seed,
                **common,
            )
            val = None
        test = None
        if info.has_test:
            test = keras.utils.image_dataset_from_directory(
                str(info.path / info.split_dirs["Test"]),
                label_mode=read_mode,
                batch_size=read_batch,
                shuffle=False,
                **common,
            )
        counts = {}
        if not cache:
            out = []
            for name, ds in (("train", train), ("val", val), ("test", test)):
                if ds is not None:
                    counts[name] = len(ds.file_paths)
                    if label_mode is None:
                        ds = ds.map(lambda x, y: x)
                    ds = ds.prefetch(tf.data.AUTOTUNE)
                out.append(ds)
            return (*out, counts)

        out = []
        for name, ds, shuffle_this in (("train", train, shuffle), ("val", val, False), ("test", test, False)):
            if ds is None:
                out.append(None)
                continue
            xs, ys = [], []
            for x, y in ds:
                xs.append(x.numpy())
                ys.append(y.numpy())
            images = np.concatenate(xs) if xs else np.zeros((0, *image_size, 1), np.float32)
            labels = np.concatenate(ys) if ys else np.zeros((0,), np.int32)
            if not resized:
                images = np.clip(np.rint(images), 0, 255).astype(np.uint8)
            counts[name] = len(images)
            encoded = None if label_mode is None else _encode_labels(labels, len(info.classes), label_mode)
            out.append(_from_arrays(images, encoded, batch_size, shuffle_this, seed))
        return (*out, counts)


# ----------------------------------------------------------------------------------------------
# Pillow


def decode(file: Path, image_size, color_mode: str) -> np.ndarray:
    """One image as uint8 (h, w, c) in the dataset's colour mode, whatever its format."""
    with Image.open(file) as image:
        image.seek(0)
        image.load()
        flat = imaging.to_8bit(image)
    flat = flat.convert("L" if color_mode == "grayscale" else "RGB")
    h, w = image_size
    if flat.size != (w, h):
        flat = flat.resize((w, h), Image.BILINEAR)
    array = np.asarray(flat, dtype=np.uint8)
    return array[..., None] if array.ndim == 2 else array


def _split(files: list, labels: np.ndarray, validation_split: float, seed):
    """The same split image_dataset_from_directory makes: shuffle with the seed, the tail is validation."""
    order = np.arange(len(files))
    np.random.RandomState(seed if seed is not None else 1337).shuffle(order)
    n_val = int(validation_split * len(files))
    train_idx, val_idx = order[: len(files) - n_val], order[len(files) - n_val :]
    pick = lambda idx: ([files[i] for i in idx], labels[idx])  # noqa: E731
    return pick(train_idx), (pick(val_idx) if n_val else None)


def _load_pillow(
    info,
    train_split,
    cache,
    *,
    image_size,
    color_mode,
    batch_size,
    validation_split,
    seed,
    shuffle,
    label_mode,
    interpolation,
):
    index = {name: i for i, name in enumerate(info.classes)}
    pool = [(info.path / rel, index[c]) for rel, c in info.files.get(train_split, []) if c in index]
    files = [f for f, _ in pool]
    labels = np.array([lab for _, lab in pool], dtype=np.int64)
    parts = {}
    if validation_split:
        parts["train"], parts["val"] = _split(files, labels, validation_split, seed)
    else:
        parts["train"] = (files, labels)
    if info.has_test:
        test = [(info.path / rel, index[c]) for rel, c in info.files.get("Test", []) if c in index]
        parts["test"] = ([f for f, _ in test], np.array([lab for _, lab in test], dtype=np.int64))
    out, counts = {}, {}
    for name in ("train", "val", "test"):
        part = parts.get(name)
        if part is None:
            out[name] = None
            continue
        part_files, part_labels = part
        counts[name] = len(part_files)
        encoded = None if label_mode is None else _encode_labels(part_labels, len(info.classes), label_mode)
        shuffle_this = shuffle and name == "train"
        if cache:
            channels = 1 if color_mode == "grayscale" else 3
            images = np.zeros((len(part_files), *image_size, channels), dtype=np.uint8)
            for i, f in enumerate(part_files):
                images[i] = decode(f, image_size, color_mode)
            out[name] = _from_arrays(images, encoded, batch_size, shuffle_this, seed)
        else:
            out[name] = _stream(part_files, encoded, image_size, color_mode, batch_size, shuffle_this, seed)
    return out["train"], out["val"], out["test"], counts


def _stream(files, labels, image_size, color_mode, batch_size, shuffle, seed):
    import tensorflow as tf

    channels = 1 if color_mode == "grayscale" else 3
    paths = tf.constant([str(f) for f in files])
    ds = tf.data.Dataset.range(len(files))
    if shuffle:
        ds = ds.shuffle(min(len(files), 50_000), seed=seed, reshuffle_each_iteration=True)
    labels_t = tf.constant(labels) if labels is not None else None

    @tf.autograph.experimental.do_not_convert
    def read(i):
        path = paths[i]
        image = tf.numpy_function(
            lambda p: decode(Path(p.decode()), image_size, color_mode), [path], tf.uint8, stateful=False
        )
        image = tf.cast(tf.ensure_shape(image, (*image_size, channels)), tf.float32)
        return image if labels_t is None else (image, labels_t[i])

    ds = ds.map(read, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
