"""Runs on disk: one folder per training run, written so a crash never leaves a file that breaks the listing.

Layout of ``runs/<id>/``::

    meta.json          name, status, timestamps, dataset, class names, preprocessing, seed, config, versions, best
    spec.json          the spec exactly as it was built (input shape and head adapted to the dataset)
    history.csv        one row per finished epoch: loss, metrics, val_*, learning_rate, seconds
    batches.csv        the batch log: epoch, batch, running loss and metrics within the epoch
    first.weights.npz  the weights before training (written once when training begins), to show what changed
    best.weights.npz   while training: the best weights so far (written by the checkpoint after each better epoch)
    model.keras        the best model, written once when training ends (finished, stopped or failed)
    metrics.json       evaluation at the end: accuracy, loss, per-class precision/recall, confusion, misclassified
    familiarity.npz    made on the first prediction (``lab.familiarity``): training features that inputs are compared to

Every file except batches.csv is written beside its final name and moved into place with ``os.replace``, so a
process killed at any moment leaves either the previous complete file or the new one. batches.csv only grows: each
finished epoch appends its rows in one write, and ``read_csv`` ignores a last line without its newline (a kill in
the middle of an append). A run killed during training has no model.keras; ``best.weights.npz`` plus spec.json
stand in for it (``load_model_file`` rebuilds the model from them), so at most the epoch in progress is lost.

The small files are also fsynced before the rename: that only matters for a power loss or an operating-system
crash (a killed process cannot leave a half-written renamed file), and costs well under a millisecond each.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import shutil
import socket
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lab import ownership
from lab.errors import LabError
from lab.i18n import t
from lab.imaging import CONTRASTS, MAX_IMAGE_SIDE, PICTURE_KINDS
from lab.train.status import ACTIVE, is_training

META = "meta.json"
SPEC = "spec.json"
HISTORY = "history.csv"
BATCHES = "batches.csv"
MODEL = "model.keras"
WEIGHTS = "best.weights.npz"
FIRST_WEIGHTS = "first.weights.npz"
MISCLASSIFIED = "misclassified"  # the misclassified images that have no file of their own (a CSV import)
METRICS = "metrics.json"

COLOR_MODES = ("grayscale", "rgb")
POLARITIES = ("light_on_dark", "dark_on_light")
CENTERINGS = ("mass", "none")
NAME_LIMIT = 80  # characters in a run's display name
_NAME_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f/\\<>\u2028\u2029]")


# ----------------------------------------------------------------------------------------------------------------
# atomic writes


def _replace_from_temp(path: Path, write) -> None:
    """Calls ``write(temp_path)`` on a temp file in the same folder, then moves it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = "".join(path.suffixes) or ".tmp"
    fd, temp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        write(temp)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise


def write_text_atomic(path, text: str) -> None:
    def write(temp):
        with open(temp, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())

    _replace_from_temp(Path(path), write)


def write_bytes_atomic(path, data: bytes) -> None:
    def write(temp):
        with open(temp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())

    _replace_from_temp(Path(path), write)


def _clean(value: Any) -> Any:
    """JSON-safe copy: NaN/inf become None, numpy scalars become Python numbers, tuples become lists."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def write_json_atomic(path, obj: Any) -> None:
    write_text_atomic(path, json.dumps(_clean(obj), indent=2, ensure_ascii=False) + "\n")


def write_csv_atomic(path, rows: list[dict], columns: list[str] | None = None) -> None:
    if columns is None:
        columns = []
        for row in rows:
            for key in row:
                if key not in columns:
                    columns.append(key)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_value(row.get(k)) for k in columns})
    write_text_atomic(path, buffer.getvalue())


def _csv_value(value):
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ("nan" if value != value else str(value))
    return "" if value is None else value


def save_model_atomic(model, path) -> None:
    """Saves a Keras model so that a process killed mid-save leaves the previous complete file in place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.parent / f".{path.stem}-{os.getpid()}-{time.monotonic_ns()}.keras"
    try:
        model.save(temp)
        with open(temp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise


def save_weights_atomic(weights, path) -> None:
    """Writes a list of weight arrays (``model.get_weights()``) to an .npz file, atomically.

    A few milliseconds for a model whose ``model.save`` takes 50-130 ms: no Keras object walk, no optimizer state.
    """
    import numpy as np

    def write(temp):
        with open(temp, "wb") as handle:
            np.savez(handle, *weights)
            handle.flush()
            os.fsync(handle.fileno())

    _replace_from_temp(Path(path), write)


def read_weights(path) -> list:
    """The weight arrays written by ``save_weights_atomic``, in order."""
    import numpy as np

    with np.load(path, allow_pickle=False) as arrays:
        return [arrays[f"arr_{i}"] for i in range(len(arrays.files))]


class CsvAppender:
    """Grows a CSV file row by row: the header once, then each ``append`` adds its rows in one write.

    A process killed mid-append leaves at most one line without its newline, which ``read_csv`` ignores. An
    append that fails (disk full) is cut off again by the next one, which starts at the last complete size.
    """

    def __init__(self, path, columns: list[str]):
        self.path = Path(path)
        self.columns = list(columns)
        self.size = None  # bytes written so far, None before the header

    def append(self, rows: list[dict]) -> None:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=self.columns, extrasaction="ignore", lineterminator="\n")
        if self.size is None:
            writer.writeheader()
        for row in rows:
            writer.writerow({k: _csv_value(row.get(k)) for k in self.columns})
        data = buffer.getvalue().encode("utf-8")
        with open(self.path, "r+b" if self.size is not None else "wb") as handle:
            handle.seek(self.size or 0)
            handle.write(data)
            handle.truncate()
            handle.flush()
            os.fsync(handle.fileno())
        self.size = (self.size or 0) + len(data)


def read_json(path) -> dict | None:
    """The JSON object in ``path``, or None when it is missing, unreadable or not an object."""
    try:
        if not Path(path).is_file():  # a folder, a pipe or a device in its place would block or never end
            return None
        with open(path, encoding="utf-8") as handle:
            value = json.load(handle)
    except (OSError, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def read_csv(path) -> list[dict]:
    """Rows of a CSV written by ``write_csv_atomic`` with numbers parsed; [] when missing or unreadable."""
    try:
        if not Path(path).is_file():
            return []
        with open(path, encoding="utf-8", newline="") as handle:
            text = handle.read()
        if text and not text.endswith("\n"):
            text = text[: text.rfind("\n") + 1]  # a line cut short by a kill mid-append
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
    except (OSError, csv.Error, UnicodeDecodeError):
        return []
    out = []
    for row in rows:
        parsed = {}
        for key, value in row.items():
            if key is None:
                continue
            parsed[key] = _parse_number(value)
        out.append(parsed)
    return out


def _parse_number(value):
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except ValueError:
        return value
    if number.is_integer() and re.fullmatch(r"-?\d+", value.strip()):
        return int(number)
    return number


# ----------------------------------------------------------------------------------------------------------------
# ids and folders


def now_iso() -> str:
    return datetime.now(UTC).astimezone().isoformat(timespec="seconds")


def slug(text: str, limit: int = 32) -> str:
    value = re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")
    return value[:limit].strip("-") or "run"


def new_run_dir(root="runs", name: str = "run", when: float | None = None) -> Path:
    """Creates and returns an empty ``root/<YYYYmmdd-HHMMSS>-<slug>`` folder (a suffix keeps ids unique)."""
    root = Path(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise LabError(t("runs.folder_cannot_make", root=root,
                         reason=error.strerror or type(error).__name__)) from None
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(when if when is not None else time.time()))
    base = f"{stamp}-{slug(name)}"
    for attempt in range(1, 1000):
        candidate = root / (base if attempt == 1 else f"{base}-{attempt}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
        except OSError as error:
            raise LabError(t("runs.run_folder_cannot_make", root=root,
                             reason=error.strerror or type(error).__name__)) from None
    raise LabError(t("runs.no_free_name", root=root))


def versions() -> dict:
    import platform
    import sys

    out = {"python": platform.python_version()}
    for module in ("tensorflow", "keras", "numpy"):
        loaded = sys.modules.get(module)
        if loaded is None:
            try:
                from importlib.metadata import version

                out[module] = version(module)
            except Exception:
                continue
        else:
            out[module] = getattr(loaded, "__version__", None)
    return out


def process_tag() -> dict:
    return {"pid": os.getpid(), "host": socket.gethostname()}


def _process_alive(meta: dict) -> bool:
    pid, host = meta.get("pid"), meta.get("host")
    if not isinstance(pid, int) or host != socket.gethostname():
        return True  # another machine: we cannot tell, so trust the record
    if pid == os.getpid():
        return is_training(meta["run_dir"]) if meta.get("run_dir") else True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


# ----------------------------------------------------------------------------------------------------------------
# listing and loading


@dataclass
class RunInfo:
    """One line of the runs table."""

    id: str
    path: Path
    name: str
    status: str
    created: str | None = None
    finished: str | None = None
    dataset: str | None = None
    epochs_done: int = 0
    epochs: int | None = None
    best_val_loss: float | None = None
    best_val_accuracy: float | None = None
    test_accuracy: float | None = None  # the final score, only when a Test split gave it
    score: float | None = None  # the kept model's accuracy on the split it was scored on
    score_split: str | None = None  # that split: "Test", or "validation" for a dataset without one
    has_model: bool = False
    problem: str | None = None
    owner: str | None = None  # None: everyone's (``lab.ownership``)
    shared: bool = False


def _status(meta: dict, path: Path) -> str:
    status = _text(meta.get("status"), 40) or "unknown"
    if status in ACTIVE:
        meta_with_dir = dict(meta, run_dir=str(path))
        if not _process_alive(meta_with_dir):
            return "interrupted"
    return status


def run_info(path) -> RunInfo | None:
    """The summary of one run folder, or None when the folder is not a run."""
    path = Path(path)
    if not path.is_dir():
        return None
    meta = read_json(path / META)
    has_model = model_file(path) is not None
    if meta is None:
        if not (path / SPEC).is_file() and not has_model:
            return None
        return RunInfo(id=path.name, path=path, name=path.name, status="broken", has_model=has_model,
                       problem=t("runs.meta_unreadable"))
    history = read_csv(path / HISTORY)
    metrics = read_json(path / METRICS) or {}
    best = _dict(meta.get("best"))
    dataset = meta.get("dataset")
    epochs = _dict(meta.get("config")).get("epochs")
    return RunInfo(
        id=path.name,
        path=path,
        name=display_name(meta, path),
        status=_status(meta, path),
        created=_text(meta.get("created")),
        finished=_text(meta.get("finished")),
        dataset=_text(dataset.get("name") if isinstance(dataset, dict) else dataset),
        epochs_done=len(history),
        epochs=epochs if isinstance(epochs, int) and not isinstance(epochs, bool) else None,
        best_val_loss=_number(best.get("val_loss")),
        best_val_accuracy=_number(best.get("val_accuracy")),
        test_accuracy=_number(metrics.get("accuracy")) if is_test(metrics.get("split")) else None,
        score=_number(metrics.get("accuracy")),
        score_split=_text(metrics.get("split"), 40),
        has_model=has_model,
        problem=meta_problem(meta, path),
        owner=ownership.owner_of(meta),
        shared=ownership.shared_in(meta),
    )


def is_test(split) -> bool:
    """True for the name of a Test split ("Test", any case); "validation" and the rest are not one."""
    return isinstance(split, str) and split.lower() == "test"


def final_score(metrics: dict | None) -> dict:
    """The meta.json fields of a run's final score: ``score`` names its split, ``test_accuracy`` only from Test."""
    if not metrics:
        return {"score": None, "test_accuracy": None}
    split, accuracy = metrics.get("split"), metrics.get("accuracy")
    return {"score": {"split": split, "accuracy": accuracy, "images": metrics.get("n")},
            "test_accuracy": accuracy if is_test(split) else None}


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _text(value, limit: int = 200) -> str | None:
    """A short one-line string from a meta.json field of any type (None stays None)."""
    if value is None:
        return None
    return _NAME_FORBIDDEN.sub(" ", str(value))[:limit]


def display_name(meta: dict, path: Path) -> str:
    """The run's name for display: one line, at most NAME_LIMIT characters; the folder name when it has none."""
    name = _text(meta.get("name"), NAME_LIMIT)
    return name.strip() if name and name.strip() else path.name


def check_preprocessing(preprocessing, where: str | None = None) -> dict:
    """The run's preprocessing, checked: LabError (one sentence) for anything prediction could not use safely.

    Read from a meta.json that anyone can edit, so the image size is bounded before it sizes a tensor. ``where``
    names what is checked at the start of the sentence (default: "This run", in the current language).
    """
    where = where or t("runs.where.this_run")
    if not isinstance(preprocessing, dict):
        raise LabError(t("runs.preprocessing.unreadable", where=where))
    out = dict(preprocessing)
    size = out.get("image_size")
    if size is not None:
        if (not isinstance(size, (list, tuple)) or len(size) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= MAX_IMAGE_SIDE
                           for v in size)):
            raise LabError(t("runs.preprocessing.image_size", where=where, size=_short(size),
                             limit=MAX_IMAGE_SIDE))
        out["image_size"] = [int(size[0]), int(size[1])]
    for key, allowed in (("color_mode", COLOR_MODES), ("polarity", POLARITIES), ("centering", CENTERINGS),
                         ("pictures", PICTURE_KINDS), ("contrast", CONTRASTS)):
        if out.get(key) is not None and out[key] not in allowed:
            raise LabError(t("runs.preprocessing.choice", where=where, key=key, value=_short(out[key]),
                             allowed=", ".join(allowed)))
    return out


def _short(value, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def meta_problem(meta: dict, path: Path) -> str | None:
    """One sentence on what in meta.json makes the run unusable for prediction or evaluation, or None."""
    where = t("runs.where.named_run", name=path.name)
    try:
        if meta.get("preprocessing") is not None:
            check_preprocessing(meta["preprocessing"], where)
    except LabError as error:
        return str(error)
    names = meta.get("class_names")
    if names is not None and (not isinstance(names, list) or not all(isinstance(n, str) for n in names)
                              or len(set(names)) != len(names)):
        return t("runs.class_names_invalid", where=where)
    return None


def _number(value):
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def list_runs(root="runs", viewer: str = ownership.ANYONE) -> list[RunInfo]:
    """The runs under ``root`` that ``viewer`` may see (``lab.ownership``), newest first. Folders that are not
    runs are skipped; broken ones are flagged."""
    root = Path(root)
    try:
        children = list(root.iterdir()) if root.is_dir() else []
    except OSError:
        return []
    infos = []
    for child in children:
        if child.name.startswith("."):
            continue
        try:
            info = run_info(child)
        except Exception as error:  # a listing must survive any single broken folder
            reason = getattr(error, "strerror", None) or type(error).__name__
            info = RunInfo(id=child.name, path=child, name=child.name, status="broken",
                           problem=t("runs.unreadable_folder", name=child.name, reason=reason))
        if info is not None and ownership.can_see(info.owner, info.shared, viewer):
            infos.append(info)
    infos.sort(key=lambda i: (str(i.created or ""), i.id), reverse=True)
    return infos


@dataclass
class Run:
    """A run folder loaded for display or prediction."""

    path: Path
    meta: dict
    spec: dict | None
    metrics: dict | None
    history_rows: list[dict] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.path.name

    @property
    def name(self) -> str:
        return display_name(self.meta, self.path)

    @property
    def status(self) -> str:
        return _status(self.meta, self.path)

    @property
    def class_names(self) -> list[str]:
        return list(self.meta.get("class_names") or [])

    @property
    def dataset_record(self) -> dict:
        """The dataset it trained on, as recorded ({"name": ..., "path": ...}); {} when the record has none."""
        dataset = self.meta.get("dataset")
        return dict(dataset) if isinstance(dataset, dict) else {}

    @property
    def preprocessing(self) -> dict:
        """Checked by ``load_run``: image size within MAX_IMAGE_SIDE, known colour mode."""
        return dict(self.meta.get("preprocessing") or {})

    @property
    def model_path(self) -> Path:
        """model.keras; for a run killed during training, its best.weights.npz (``load_model_file`` takes both)."""
        return model_file(self.path) or self.path / MODEL

    @property
    def history(self):
        """Per-epoch history as a pandas DataFrame (empty when no epoch finished)."""
        import pandas as pd

        return pd.DataFrame(self.history_rows)

    @property
    def batch_log(self):
        """The batch log as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame(read_csv(self.path / BATCHES))

    def load_model(self):
        """The best model of the run (a Keras model); LabError when the run has none."""
        return load_model_file(self.model_path)


def load_run(run_dir) -> Run:
    """A run folder, its files checked: LabError (one sentence) when meta.json is missing or unusable.

    A damaged spec.json or metrics.json reads as None (the page then shows no summary or no evaluation).
    """
    path = Path(run_dir)
    try:
        is_dir = path.is_dir()
    except OSError:
        is_dir = False
    if not is_dir:
        raise LabError(t("runs.no_run_folder", path=path))
    meta = read_json(path / META)
    if meta is None:
        raise LabError(t("runs.not_readable", path=path))
    problem = meta_problem(meta, path)
    if problem:
        raise LabError(problem)
    return Run(path=path, meta=meta, spec=valid_spec(read_json(path / SPEC)),
               metrics=valid_metrics(read_json(path / METRICS)), history_rows=read_csv(path / HISTORY))


def valid_spec(spec: dict | None) -> dict | None:
    """The spec when its layers are a list of objects each with a type, else None (a damaged spec.json)."""
    if spec is None:
        return None
    layers = spec.get("layers")
    if not isinstance(layers, list) or not all(isinstance(layer, dict) and isinstance(layer.get("type"), str)
                                               for layer in layers):
        return None
    return spec


def valid_metrics(metrics: dict | None) -> dict | None:
    """metrics.json when its confusion matrix, class names, per-class table and misclassified list have the
    shapes ``evaluate.score`` writes, else None (a damaged or hand-edited file is shown as no evaluation)."""
    if metrics is None:
        return None
    names = metrics.get("class_names")
    confusion = metrics.get("confusion")
    if confusion is not None:
        k = len(confusion) if isinstance(confusion, list) else -1
        if (k < 1 or not all(isinstance(row, list) and len(row) == k
                             and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in row)
                             for row in confusion)):
            return None
        if names is not None and (not isinstance(names, list) or len(names) != k
                                  or not all(isinstance(n, str) for n in names)):
            return None
    per_class = metrics.get("per_class")
    if per_class is not None and (not isinstance(per_class, dict)
                                  or not all(isinstance(v, dict) for v in per_class.values())):
        return None
    wrong = metrics.get("misclassified")
    if wrong is not None and (not isinstance(wrong, list) or not all(
            isinstance(item, dict) and isinstance(item.get("true"), str) and isinstance(item.get("predicted"), str)
            and isinstance(item.get("probability", 0), (int, float)) and isinstance(item.get("file") or "", str)
            for item in wrong)):
        return None
    return metrics


def model_file(run_dir) -> Path | None:
    """The run's model: model.keras, else (a run killed during training) best.weights.npz beside spec.json."""
    path = Path(run_dir)
    if (path / MODEL).is_file():
        return path / MODEL
    if (path / WEIGHTS).is_file() and (path / SPEC).is_file():
        return path / WEIGHTS
    return None


def load_model_file(path):
    """A Keras model from a .keras file, or rebuilt from a run's spec.json and its best.weights.npz."""
    path = Path(path)
    if not path.is_file():
        raise LabError(t("runs.no_saved_model", path=path))
    if path.name.endswith(".weights.npz"):
        return _model_from_weights(path)
    import keras

    from lab.build import as_float32

    try:
        model = keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as error:
        raise LabError(t("runs.model_unloadable", path=path, kind=type(error).__name__)) from error
    return as_float32(model)  # a model trained in mixed precision predicts in float32, on any machine


def _model_from_weights(path: Path):
    spec = read_json(path.parent / SPEC)
    if spec is None:
        raise LabError(t("runs.weights_without_spec", path=path))
    from lab.build import build_model

    try:
        model = build_model(spec, compile=False)
        model.set_weights(read_weights(path))
    except LabError:
        raise
    except Exception as error:
        raise LabError(t("runs.weights_unloadable", path=path, kind=type(error).__name__)) from error
    return model


def check_name(name) -> str:
    """A run's display name, stripped; LabError for an empty, over-long or multi-line name, or one with / \\ < >."""
    name = str(name).strip()
    if not name:
        raise LabError(t("runs.name.empty"))
    if len(name) > NAME_LIMIT:
        raise LabError(t("runs.name.too_long", limit=NAME_LIMIT, length=len(name)))
    if _NAME_FORBIDDEN.search(name):
        raise LabError(t("runs.name.forbidden"))
    return name


def rename_run(run_dir, name: str, viewer: str = ownership.ANYONE) -> RunInfo:
    """Sets the run's display name (the folder keeps its id, so nothing on disk moves); only its owner may."""
    name = check_name(name)
    path = Path(run_dir)
    meta = read_json(path / META)
    if meta is None:
        raise LabError(t("runs.rename.not_readable", path=path))
    ownership.check_change(ownership.owner_of(meta), viewer)
    if _status(meta, path) in ACTIVE:
        # the training job rewrites meta.json from its own copy: a rename now would be lost, or undo its status
        raise LabError(t("runs.rename.training"))
    meta["name"] = name
    write_json_atomic(path / META, meta)
    return run_info(path)


def set_shared(run_dir, shared: bool, viewer: str = ownership.ANYONE) -> RunInfo:
    """Shows a run to everyone (``shared``) or to its owner only; only its owner may. A training run is shared
    through its job (``share``), which rewrites meta.json from its own copy."""
    path = Path(run_dir)
    meta = read_json(path / META)
    if meta is None:
        raise LabError(t("runs.rename.not_readable", path=path))
    ownership.check_change(ownership.owner_of(meta), viewer)
    meta["shared"] = bool(shared)
    write_json_atomic(path / META, meta)
    return run_info(path)


def delete_run(run_dir, root=None, viewer: str = ownership.ANYONE) -> None:
    """Removes a run folder. Refuses folders that are not runs, a run that is training now and, for ``viewer``,
    someone else's run.

    A run that is a symbolic link loses only the link: whatever it points to stays untouched. With ``root``
    (the runs folder) the run must be a direct child of it; either way nothing that resolves elsewhere than
    where the run is listed is removed.
    """
    path = Path(run_dir)
    try:
        parent = path.absolute().parent.resolve()
        if root is not None and parent != Path(root).resolve():
            raise LabError(t("runs.delete.outside_root", path=path, root=root))
        ownership.check_change(ownership.owner_of(read_json(path / META) or {}), viewer)
        if path.is_symlink():
            _refuse_active(path)
            path.unlink()  # the link only, never its target
            return
        if not path.is_dir():
            raise LabError(t("runs.delete.gone", path=path))
        if path.resolve() != parent / path.name:
            raise LabError(t("runs.delete.leads_outside", path=path))
        if not any((path / f).exists() for f in (META, SPEC, MODEL, WEIGHTS)):
            raise LabError(t("runs.delete.not_a_run", path=path))
        _refuse_active(path)
        shutil.rmtree(path)
    except OSError as error:
        raise LabError(t("runs.delete.incomplete", path=path,
                         reason=error.strerror or type(error).__name__)) from None


def _refuse_active(path: Path) -> None:
    meta = read_json(path / META)
    if is_training(path) or (meta is not None and _status(meta, path) in ACTIVE):
        raise LabError(t("runs.delete.training"))


def resolve_model(arg) -> tuple[Path, dict | None]:
    """For a run folder or a .keras file: the model path and the run's meta.json (None for a bare model)."""
    path = Path(arg)
    if path.is_dir():
        meta = _checked_meta(path)
        found = model_file(path)
        if found is None:
            raise LabError(t("runs.resolve.no_model", path=path))
        return found, meta
    if path.is_file():
        if path.suffix != ".keras":
            raise LabError(t("runs.resolve.not_keras", path=path))
        meta = _checked_meta(path.parent) if path.name == MODEL else None
        return path, meta
    raise LabError(t("runs.resolve.nothing_there", path=path))


def _checked_meta(run_dir: Path) -> dict | None:
    """meta.json of a run folder (None when missing or unreadable); LabError when its fields are unusable."""
    meta = read_json(run_dir / META)
    if meta is not None:
        problem = meta_problem(meta, run_dir)
        if problem:
            raise LabError(problem)
    return meta
