"""How far an input is from the images a run's model was trained on, judged by the model's own features.

A model answers every input with confident probabilities, even a photo unlike anything it has seen. What it makes
of an input before it decides is the input of its head (its last layer with weights): the features the classifier
reads. An input's distance is the Euclidean distance from its features to those of the nearest training image
(nearest-neighbour distance in feature space, as in Sun et al., 2022, "Out-of-distribution detection with deep
nearest neighbors"). What counts as far comes from the run's validation images, drawn like the training images but
never trained on: an input further away than PERCENTILE % of them is unfamiliar.

Unit-length (cosine) features and a further neighbour (K = 5) were measured too (bench/perf_familiarity.py): each
lets through hand photos or noise that the plain distance to the nearest image flags. Noise lights every feature a
little and differs from the training images mostly in how strongly, which unit length hides.

The training side is a class-balanced sample of at most REFERENCE_LIMIT training images (the run's own split of its
dataset); the calibration side at most CALIBRATION_LIMIT validation images (the Test split when the run kept none, else
a held-out part of the training images). Both are computed on first use and kept in the run folder as
``familiarity.npz``, written atomically and known by the model file it was made with; after that an input costs one
forward pass to its features (one compiled function) and one product with the
sample.
"""

from __future__ import annotations

import json
import math
import threading
import weakref
import zipfile
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lab.errors import LabError
from lab.i18n import t

CACHE = "familiarity.npz"
FORMAT = 1  # the cache's layout; a cache of another layout is made again
REFERENCE_LIMIT = 2000  # training images compared against
CALIBRATION_LIMIT = 2000  # validation images that set the line
K = 1  # the distance is to the K-th nearest training image
NEAREST = 5  # training images shown beside an input
PERCENTILE = 99.0  # an input further than this share of the validation images is unfamiliar
HELD_OUT = 0.2  # without validation or test images: the share of the training images kept aside to calibrate
BATCH = 256
SKETCH = 512  # the most features kept per image (see ``sketch``)
SOURCES = {"validation": "familiarity.source.validation", "test": "familiarity.source.test",
           "training": "familiarity.source.training"}


@dataclass
class Reference:
    """What ``familiarity.npz`` holds: the sample's features, their classes and files (relative to
    ``dataset``), and the calibration images' distances, sorted."""

    embeddings: np.ndarray  # (n, d) float32
    labels: np.ndarray  # (n,) int, indices into class_names
    files: list[str]
    dataset: Path
    class_names: list[str]
    calibration: np.ndarray  # (m,) float32, ascending
    source: str  # "validation", "test" or "training": where the calibration images came from
    k: int
    square_norms: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.square_norms = (self.embeddings ** 2).sum(axis=1)

    def distances(self, features: np.ndarray) -> np.ndarray:
        """(m, n) Euclidean distances from features (m, d) to the sample's."""
        squared = (features ** 2).sum(axis=1)[:, None] + self.square_norms[None] - 2.0 * features @ self.embeddings.T
        return np.sqrt(np.maximum(squared, 0.0))

    @property
    def threshold(self) -> float:
        return float(np.percentile(self.calibration, PERCENTILE))

    @property
    def typical(self) -> float:
        return max(float(np.median(self.calibration)), 1e-6)


@dataclass
class Neighbour:
    path: Path
    class_name: str
    distance: float


@dataclass
class Verdict:
    """One input against the training images: its distance, the line, and the nearest training images."""

    distance: float
    threshold: float
    typical: float  # the median validation image's distance
    further_than: float  # the share (0..1) of validation images closer to the training images than this input
    nearest: list[Neighbour]
    source: str
    dataset: Path

    @property
    def familiar(self) -> bool:
        return self.distance <= self.threshold

    def sentence(self) -> str:
        share = math.floor(self.further_than * 100) / 100  # 99.6 % is "further than 99 %", never "100 %"
        images = t(SOURCES[self.source])
        ratio = self.distance / self.typical
        if self.familiar:
            return t("familiarity.familiar", share=share, images=images, ratio=ratio)
        return t("familiarity.unfamiliar", share=share, images=images, ratio=ratio)

    def as_dict(self) -> dict:
        return {"familiar": self.familiar, "distance": self.distance, "threshold": self.threshold,
                "further_than": self.further_than, "calibrated_on": self.source, "sentence": self.sentence(),
                "nearest": [{"file": str(n.path), "class": n.class_name, "distance": n.distance}
                            for n in self.nearest]}


def judge(reference: Reference, model, array) -> Verdict:
    """How far ``array`` (one (H, W, C) input as ``lab.predict.prepare`` makes it) is from the training images."""
    distances = reference.distances(embed(model, np.asarray(array, dtype=np.float32)[None]))[0]
    shown = max(reference.k, min(NEAREST, len(distances)))
    nearest = np.argpartition(distances, shown - 1)[:shown]
    nearest = nearest[np.argsort(distances[nearest], kind="stable")]
    distance = float(distances[nearest[reference.k - 1]])
    further_than = float(np.searchsorted(reference.calibration, distance, side="left")) / len(reference.calibration)
    return Verdict(
        distance=distance, threshold=reference.threshold, typical=reference.typical, further_than=further_than,
        nearest=[Neighbour(reference.dataset / reference.files[i], reference.class_names[int(reference.labels[i])],
                           float(distances[i])) for i in nearest],
        source=reference.source, dataset=reference.dataset)


def verdict(run_dir, model, array, on_progress=None) -> Verdict:
    """``judge`` against the run's reference, which is made first when the run has none yet (see ``reference``)."""
    return judge(reference(run_dir, model, on_progress), model, array)


def run_folder(model_arg) -> Path | None:
    """The run folder behind a command line's model argument (a run folder, or the model.keras inside one); None
    for a model file on its own, which has no training images to compare with."""
    from lab.train import runs

    path = Path(model_arg)
    folder = path if path.is_dir() else path.parent if path.name == runs.MODEL else None
    return folder if folder is not None and (folder / runs.META).is_file() else None


# --- the model's features ----------------------------------------------------------------------------------------

_feature_models: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_feature_lock = threading.Lock()


def head_index(model) -> int:
    """The position in ``model.layers`` of its head: the last layer with weights (an Activation after it is not)."""
    for index in range(len(model.layers) - 1, -1, -1):
        if model.layers[index].weights:
            return index
    raise LabError(t("familiarity.no_head"))


def _feature_model(model):
    """The model up to its head as one compiled TensorFlow function (a plain Keras call spends most of its time in
    Python, layer by layer). The layers are called afresh on a new input so that their output is a node of one
    graph (as ``lab.explain`` does: a model loaded from a file may keep its layers' first calls in another graph)."""
    with _feature_lock:
        found = _feature_models.get(model)
        if found is None:
            import keras
            import tensorflow as tf

            inputs = keras.Input(shape=tuple(model.inputs[0].shape[1:]), dtype=model.inputs[0].dtype)
            tensor = inputs
            for layer in model.layers[:head_index(model)]:
                tensor = layer(tensor)
            features = keras.Model(inputs, tensor)
            found = _feature_models[model] = tf.function(lambda images: features(images, training=False),
                                                         reduce_retracing=True)
        return found


def embed(model, images: np.ndarray) -> np.ndarray:
    """The features (n, d) float32 that ``model``'s head reads for a batch of images (n, H, W, C), at most SKETCH
    of them (see ``sketch``)."""
    import tensorflow as tf

    output = _feature_model(model)(tf.convert_to_tensor(images, dtype=tf.float32))
    features = np.asarray(output.numpy(), dtype=np.float32)
    return sketch(features.reshape(len(images), -1))


def sketch(features: np.ndarray, width: int = SKETCH) -> np.ndarray:
    """Features wider than ``width`` (a photo model whose head reads a whole Flatten) folded into ``width``
    buckets: each feature, with a fixed random sign, added into one bucket (a count sketch), which keeps lengths
    and distances close to the full features' at a fraction of the size."""
    n, d = features.shape
    if d <= width:
        return features
    order, signs = _sketch_plan(d)
    per_bucket = -(-d // width)
    folded = np.zeros((n, width * per_bucket), np.float32)
    folded[:, :d] = features[:, order] * signs
    return folded.reshape(n, width, per_bucket).sum(axis=2)


_plans: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _sketch_plan(d: int) -> tuple[np.ndarray, np.ndarray]:
    if d not in _plans:
        rng = np.random.default_rng(d)
        _plans[d] = rng.permutation(d), rng.choice(np.array([-1.0, 1.0], np.float32), d)
    return _plans[d]


# --- the reference: made once, kept in the run folder ------------------------------------------------------------

# references read (by file, modification time, size and key) or made where they could not be saved (by run and key)
_memory: OrderedDict[tuple, Reference] = OrderedDict()
_memory_lock = threading.Lock()
_MEMORY_LIMIT = 4


def reference(run_dir, model, on_progress=None) -> Reference:
    """The run's reference: read from its ``familiarity.npz`` when that was made with this model file, else made
    now from the run's dataset and kept there. While it is made, ``on_progress(done, total)`` hears of each batch
    of images, and first ``on_progress(0, None)`` while the dataset's files are listed.

    LabError (one sentence) when the run's dataset folder is gone or holds too few images to judge by.
    """
    from lab.train import runs

    run_dir = Path(run_dir)
    meta = runs.read_json(run_dir / runs.META)
    if meta is None:
        raise LabError(t("runs.not_readable", path=run_dir))
    key = _key(run_dir, meta)
    unsaved = (str(run_dir), key)
    found = _read(run_dir / CACHE, key) or _recall(unsaved)
    if found is not None:
        return found
    made = _make(run_dir, meta, model, on_progress)
    try:
        _write(run_dir / CACHE, made, key)
    except OSError:
        _remember(unsaved, made)  # a run folder that cannot be written to: kept in this process only
    return made


def _key(run_dir: Path, meta: dict) -> str:
    from lab.train import runs

    model_path = runs.model_file(run_dir)
    if model_path is None:
        raise LabError(t("runs.resolve.no_model", path=run_dir))
    stat = model_path.stat()
    return json.dumps({"format": FORMAT, "model": model_path.name, "mtime_ns": stat.st_mtime_ns, "size": stat.st_size,
                       "dataset": _dataset_path(meta), "limits": [REFERENCE_LIMIT, CALIBRATION_LIMIT, K, SKETCH]})


def _dataset_path(meta: dict) -> str:
    dataset = meta.get("dataset")
    path = dataset.get("path") if isinstance(dataset, dict) else None
    return str(path or (meta.get("config") or {}).get("data_path") or "")


def _read(path: Path, key: str) -> Reference | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    memo = (str(path), stat.st_mtime_ns, stat.st_size, key)
    found = _recall(memo)
    if found is not None:
        return found
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["key"]) != key:
                return None
            found = Reference(embeddings=data["embeddings"].astype(np.float32), labels=data["labels"],
                              files=[str(f) for f in data["files"]], dataset=Path(str(data["dataset"])),
                              class_names=[str(c) for c in data["class_names"]],
                              calibration=data["calibration"].astype(np.float32), source=str(data["source"]),
                              k=int(data["k"]))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None  # damaged or from another layout: made again
    _remember(memo, found)
    return found


def _recall(memo: tuple) -> Reference | None:
    with _memory_lock:
        found = _memory.get(memo)
        if found is not None:
            _memory.move_to_end(memo)
        return found


def _remember(memo: tuple, found: Reference) -> None:
    with _memory_lock:
        _memory[memo] = found
        while len(_memory) > _MEMORY_LIMIT:
            _memory.popitem(last=False)


def _write(path: Path, found: Reference, key: str) -> None:
    import io

    from lab.train import runs

    buffer = io.BytesIO()
    np.savez(buffer, key=np.array(key), embeddings=found.embeddings.astype(np.float16), labels=found.labels,
             files=np.array(found.files), dataset=np.array(str(found.dataset)),
             class_names=np.array(found.class_names), calibration=found.calibration,
             source=np.array(found.source), k=np.array(found.k))
    runs.write_bytes_atomic(path, buffer.getvalue())


def _make(run_dir: Path, meta: dict, model, on_progress) -> Reference:
    root = Path(_dataset_path(meta))
    if not _dataset_path(meta) or not root.is_dir():
        raise LabError(t("familiarity.no_dataset", path=_dataset_path(meta) or run_dir))
    class_names = [str(c) for c in meta.get("class_names") or []]
    if on_progress is not None:
        on_progress(0, None)  # listing the dataset's files comes first, before their number is known
    sample, calibration, source = _images(root, meta, class_names)
    preprocessing = meta.get("preprocessing") or {}
    size = preprocessing.get("image_size") or list(model.input_shape[1:3])
    color_mode = preprocessing.get("color_mode") or ("grayscale" if model.input_shape[-1] == 1 else "rgb")
    total = len(sample[0]) + len(calibration[0])
    done = 0

    def features(files, labels):
        nonlocal done
        from lab.train.data_access import SplitBatches

        batches = SplitBatches(files, labels, size, color_mode, BATCH)
        parts, kept = [], []
        for images, batch_labels in batches:
            parts.append(embed(model, images))
            kept.append(batch_labels)
            done += len(images)
            if on_progress is not None:
                on_progress(done, total)
        width = parts[0].shape[1] if parts else 0
        return (np.concatenate(parts) if parts else np.zeros((0, width), np.float32),
                np.concatenate(kept) if kept else np.zeros((0,), np.int64), batches.used)

    embeddings, labels, used = features(*sample)
    embeddings = embeddings.astype(np.float16).astype(np.float32)  # as the cache keeps them
    held_out, _, _ = features(*calibration)
    if len(embeddings) <= K or not len(held_out):
        raise LabError(t("familiarity.too_few", name=root.name, count=len(embeddings) + len(held_out)))
    made = Reference(embeddings=embeddings, labels=labels.astype(np.int32),
                     files=[str(Path(f).relative_to(root)) for f in used], dataset=root, class_names=class_names,
                     calibration=np.zeros((0,), np.float32), source=source, k=K)
    kth = np.partition(made.distances(held_out), K - 1, axis=1)[:, K - 1]
    made.calibration = np.sort(kth).astype(np.float32)
    return made


def _images(root: Path, meta: dict, class_names: list[str]):
    """((files, labels) of the training sample, (files, labels) to calibrate on, where the latter came from).

    The training images are the run's own: its dataset's pool split with the run's validation split and seed, as
    ``lab.data.loading`` splits them.
    """
    from lab.data import inspect
    from lab.data.loading import _split

    info = inspect(root)
    if info.errors:
        raise LabError(info.errors[0])
    index = {name: i for i, name in enumerate(class_names)}
    pool_split = info.learning_split
    pool = [(info.path / rel, index[c]) for rel, c in info.files.get(pool_split, []) if c in index]
    files = [f for f, _ in pool]
    labels = np.array([label for _, label in pool], dtype=np.int64)
    config = meta.get("config") if isinstance(meta.get("config"), dict) else {}
    seed = config.get("seed") if isinstance(config.get("seed"), int) else 1337
    validation_split = config.get("validation_split") or 0.0
    train, held, source = (files, labels), None, "validation"
    if validation_split and files:
        train, held = _split(files, labels, float(validation_split), seed)
    if held is None and pool_split != "Test" and info.files.get("Test"):
        test = [(info.path / rel, index[c]) for rel, c in info.files["Test"] if c in index]
        held, source = ([f for f, _ in test], np.array([label for _, label in test], dtype=np.int64)), "test"
    if held is None:
        train, held = _split(files, labels, HELD_OUT, seed) if len(files) > 1 else (train, None)
        source = "training"
    held = held or ([], np.zeros((0,), np.int64))
    return _balanced(*train, REFERENCE_LIMIT), _balanced(*held, CALIBRATION_LIMIT), source


def _balanced(files: list, labels: np.ndarray, limit: int) -> tuple[list, list[int]]:
    """At most ``limit`` of the files, the same number from each class where the classes have them, in a fixed
    order: the classes take turns, each drawing from its own files shuffled with a fixed seed."""
    rng = np.random.default_rng(0)
    by_class = [rng.permutation(np.flatnonzero(labels == label)) for label in np.unique(labels)]
    turns: list[int] = []
    for position in range(max((len(c) for c in by_class), default=0)):
        turns.extend(int(c[position]) for c in by_class if position < len(c))
    chosen = sorted(turns[:limit])
    return [files[i] for i in chosen], [int(labels[i]) for i in chosen]
