"""The datasets under the data root, read once and cached until their folders change."""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from lab.data import samples
from lab.errors import LabError
from lab.i18n import language, t
from lab.paths import data_root
from lab.ui import identity


def signature(folder: Path, depth: int = 2) -> tuple:
    """Modification times of a folder tree down to class folders: cheap, and changes when files come or go."""
    items = []
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return ()
    for entry in entries:
        if entry.is_dir():
            try:
                items.append((entry.name, entry.stat().st_mtime_ns,
                              signature(Path(entry.path), depth - 1) if depth > 1 else ()))
            except OSError:
                continue
    return tuple(items)


# The infos hold sentences (warnings, problems) in the language they were read in: each language has its own entry.
@st.cache_data(show_spinner=False, max_entries=8)
def _discover(root: str, stamp: tuple, lang: str) -> list:
    from lab import data

    return list(data.discover(root))


@st.cache_data(show_spinner=False, max_entries=16)
def _inspect(path: str, stamp: tuple, lang: str):
    from lab import data

    return data.inspect(path)


def discover() -> list:
    """The DatasetInfo of every dataset under the data root but someone else's recorded ones."""
    root = data_root()
    if not root.is_dir():
        return []
    with st.spinner(t("ui_dataset.looking")):  # shown only when it takes a while
        found = _discover(str(root), signature(root, depth=3), language())
    me = identity.owner()
    return [info for info in found if samples.visible(info.path, me)]


def info_for(path: str | Path | None):
    """The DatasetInfo of a dataset folder, or None when it is gone or unreadable."""
    if not path or not Path(path).is_dir():
        return None
    try:
        with st.spinner(t("ui_dataset.reading")):
            return _inspect(str(path), signature(Path(path)), language())
    except LabError:
        return None


def clear() -> None:
    _discover.clear()
    _inspect.clear()
