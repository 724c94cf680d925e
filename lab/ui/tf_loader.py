"""Import TensorFlow in the background, once per process, after a page has been drawn.

``import tensorflow`` takes seconds. The Dataset and Architecture pages never need it to draw, so
they call :func:`start` at the end of ``render()``; by the time someone presses "Train", the import
is usually done. Code that needs TensorFlow calls :func:`wait`.

Setting the environment variable ``CNN_LAB_TF_PRELOAD=0`` turns the background import off (the
import then happens on first use, as usual).

Work that needs TensorFlow and should be ready before anyone asks (loading the newest run's model) registers
with :func:`after_import`; it runs in a background thread once the background import has succeeded.

Once Keras is imported, Streamlit calls ``keras.backend.clear_session()`` after every script run, which
does a full garbage collection of TensorFlow's objects (about 0.2 s here) before the page's changes reach
the browser, and clears the kernel cache of a model that may be training in the background.
:func:`keep_keras_session` turns that off (with ``runner.postScriptGC = false`` in .streamlit/config.toml
for the other full collection after each run).
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
import time
from collections.abc import Callable

_lock = threading.Lock()
_done = threading.Event()
_thread: threading.Thread | None = None
_error: BaseException | None = None
_seconds: float | None = None
imported_before_start: bool | None = None  # whether something imported TensorFlow before start() was called
_hooks: list[Callable[[], None]] = []


def enabled() -> bool:
    return os.environ.get("CNN_LAB_TF_PRELOAD", "1").strip().lower() not in ("0", "false", "no", "off")


START_DELAY_S = 1.0  # lets the first page finish drawing before the import takes a core
_hurry = threading.Event()


def _load_soon() -> None:
    _hurry.wait(START_DELAY_S)
    _load()
    if _error is None:
        _run_hooks()


def _run_hooks() -> None:
    with _lock:
        hooks = list(_hooks)
    for hook in hooks:
        hook()


def after_import(hook: Callable[[], None]) -> None:
    """Runs ``hook`` in the background once the background import of TensorFlow has succeeded (now, in a thread
    of its own, when it already has); never when the background import is off or fails."""
    with _lock:
        finished = _done.is_set()
        if not finished:
            _hooks.append(hook)
    if finished and _thread is not None and _error is None:
        threading.Thread(target=hook, name="cnn-lab-after-tf-import", daemon=True).start()


def _load() -> None:
    global _error, _seconds
    began = time.perf_counter()
    try:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        importlib.import_module("tensorflow")
    except BaseException as error:  # noqa: BLE001 - reported through wait()
        _error = error
    finally:
        _seconds = time.perf_counter() - began
        _done.set()


def keep_keras_session() -> bool:
    """Stops Streamlit from clearing the Keras session after every script run; True when that is in place.

    Streamlit's own cleanup also closes matplotlib figures; that part stays.
    """
    try:
        from streamlit.runtime.scriptrunner import script_runner
    except ImportError:
        return False
    original = getattr(script_runner, "_clean_problem_modules", None)
    if original is None:
        return False
    if getattr(original, "_keeps_keras", False):
        return True

    def clean_without_keras() -> None:
        pyplot = sys.modules.get("matplotlib.pyplot")
        if pyplot is not None:
            try:
                pyplot.close("all")
            except Exception:  # noqa: BLE001 - as Streamlit does: never stop a run for this
                pass

    clean_without_keras._keeps_keras = True
    script_runner._clean_problem_modules = clean_without_keras
    return True


def start() -> bool:
    """Starts the background import unless it runs already (or is turned off); True when it is running or done."""
    global _thread, imported_before_start
    keep_keras_session()
    with _lock:
        if imported_before_start is None:
            imported_before_start = "tensorflow" in sys.modules
        if _thread is not None or _done.is_set():
            return True
        if not enabled():
            return False
        _thread = threading.Thread(target=_load_soon, name="cnn-lab-tf-import", daemon=True)
        _thread.start()
        return True


def started() -> bool:
    return _thread is not None


def ready() -> bool:
    """True once TensorFlow is imported (by this loader or by anything else)."""
    if _done.is_set():
        return _error is None
    return "tensorflow" in sys.modules and _thread is None


def seconds() -> float | None:
    """How long the background import took, once it is done."""
    return _seconds


def wait(timeout: float | None = None):
    """The tensorflow module, importing it now if the background import is off or not started."""
    keep_keras_session()
    _hurry.set()
    if _thread is None:
        with _lock:
            if _thread is None and not _done.is_set():
                _load()
    if not _done.wait(timeout):
        from lab.i18n import t

        raise TimeoutError(t("ui_loader.still_loading", seconds=timeout))
    if _error is not None:
        raise _error
    return sys.modules["tensorflow"]


def prewarm_training() -> None:
    """Someone is about to train (a first visit, or samples being recorded): a training worker starts loading
    TensorFlow now, so that Start trains at once. Nothing when the background import is off."""
    if enabled():
        from lab.train.job import manager

        manager().prewarm()
