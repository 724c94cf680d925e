"""Models of runs, loaded once per process and kept, so that a guess on the Predict page need not wait for one.

A model is known by its file's path, modification time and size: a model file written again is loaded afresh.
``get`` returns the model, waiting for a load in progress or loading it now. ``preload`` loads it in a background
thread. The model of the newest run a person may see (``lab.ownership``) is preloaded, once per person and process,
as soon as the background import of TensorFlow ends (``lab.ui.tf_loader.after_import``); the pages preload a run
that finishes and the run the Predict page opens on.
At most ``LIMIT`` models are kept, the least recently asked for leaving first.

The background loads follow the background import of TensorFlow: ``CNN_LAB_TF_PRELOAD=0`` turns both off, and
``CNN_LAB_MODEL_PRELOAD=0`` only the models (``get`` then loads on first use, and still keeps what it loads).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path

from lab import ownership
from lab.paths import runs_root
from lab.ui import tf_loader

LIMIT = 3


class _Entry:
    """One model file's load: finished when ``done`` is set, with the model or the error it raised."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.model = None
        self.error: BaseException | None = None


_lock = threading.Lock()
_entries: OrderedDict[tuple[str, int, int], _Entry] = OrderedDict()
loads = 0  # model files read so far in this process
_preloaded_for: set[str] = set()  # the people whose newest run was asked for in this process


def enabled() -> bool:
    return tf_loader.enabled() and os.environ.get("CNN_LAB_MODEL_PRELOAD", "1").strip().lower() not in (
        "0", "false", "no", "off")


def model_path(where) -> Path:
    """The model file of a run folder (model.keras, or best.weights.npz for a run killed while training), or
    ``where`` itself when it is a file."""
    from lab.train.runs import MODEL, model_file

    where = Path(where)
    return (model_file(where) or where / MODEL) if where.is_dir() else where


def _key(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return str(path.resolve()), stat.st_mtime_ns, stat.st_size


def _claim(key: tuple[str, int, int]) -> tuple[_Entry, bool]:
    """The entry for ``key`` and whether the caller must load it (a new entry, or one whose load failed)."""
    with _lock:
        entry = _entries.get(key)
        if entry is not None and not (entry.done.is_set() and entry.error is not None):
            _entries.move_to_end(key)
            return entry, False
        entry = _entries[key] = _Entry()
        _entries.move_to_end(key)
        while len(_entries) > LIMIT:
            _entries.popitem(last=False)
        return entry, True


def _load(entry: _Entry, path: Path) -> None:
    global loads
    from lab.train.runs import load_model_file

    try:
        tf_loader.wait()
        entry.model = load_model_file(path)
        _warm(entry.model)
    except BaseException as error:  # noqa: BLE001 - handed to whoever calls get()
        entry.error = error
    finally:
        with _lock:
            loads += 1
        entry.done.set()


def _warm(model) -> None:
    """One call on a blank input, so that the first real guess does not pay for Keras's first call."""
    import numpy as np

    shape = tuple(model.input_shape[1:])
    if all(isinstance(side, int) for side in shape):
        model(np.zeros((1, *shape), "float32"), training=False)


def get(where):
    """The model of a run folder or model file; loads it unless it is loaded or loading (LabError, OSError)."""
    path = model_path(where)
    entry, mine = _claim(_key(path))
    if mine:
        _load(entry, path)
    entry.done.wait()
    if entry.error is not None:
        raise entry.error
    return entry.model


def preload(where) -> bool:
    """Starts loading the model of a run folder or model file in the background; True when it is loading or
    loaded, False when background loads are off or there is no model file."""
    if not enabled():
        return False
    path = model_path(where)
    try:
        key = _key(path)
    except OSError:
        return False
    entry, mine = _claim(key)
    if mine:
        threading.Thread(target=_load, args=(entry, path), name="cnn-lab-model-preload", daemon=True).start()
    return True


def newest(root=None, viewer: str = ownership.ANYONE) -> Path | None:
    """The model file of the newest run ``viewer`` may see that has one and is not training: the run the Predict
    page opens on."""
    from lab.train.runs import list_runs
    from lab.train.status import ACTIVE

    for info in list_runs(runs_root() if root is None else root, viewer):
        if info.has_model and info.status not in ACTIVE:
            return model_path(info.path)
    return None


def preload_newest(viewer: str = ownership.ANYONE) -> bool:
    path = newest(viewer=viewer)
    return preload(path) if path is not None else False


def preload_newest_for(viewer: str) -> None:
    """Preloads the newest run ``viewer`` may see once TensorFlow is imported; once per person and process."""
    if not enabled():
        return
    with _lock:
        if viewer in _preloaded_for:
            return
        _preloaded_for.add(viewer)
    tf_loader.after_import(lambda: preload_newest(viewer))


def loaded(where) -> bool:
    """Whether the model of a run folder or model file is loaded now, as its file is now."""
    try:
        key = _key(model_path(where))
    except OSError:
        return False
    with _lock:
        entry = _entries.get(key)
    return entry is not None and entry.done.is_set() and entry.error is None


def clear() -> None:
    """Forgets every model (loads in progress finish for whoever waits on them)."""
    with _lock:
        _entries.clear()

