"""The session's network and dataset, kept on disk and in the address bar; ``lab.ui.session`` calls it.

``restore()`` runs once per browser session before any page: the address's ``?dataset=…&net=…`` wins (a reload,
a shared link), else the last saved workspace (a new tab, a server restart). ``save()`` runs after every page
draw and after every editor change: it stores a changed network and dataset choice. ``show_in_address()``
writes the choices into the address so that a reload brings back exactly this network.

The saved state is the person's own (``lab.ui.identity``): another browser starts fresh, while a link still opens
its network for anyone.
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from lab.errors import LabError
from lab.i18n import t
from lab.paths import data_root
from lab.ui import identity
from lab.workspace import Workspace, network_key

RESTORED = "_ws_restored"
SAVED = "_ws_saved"        # (network key, dataset, load params) as last written
SAVED_GEN = "_ws_gen"      # the network's replacement counter at the last save
MESSAGES = "_ws_messages"  # (kind, text) pairs for the page to show once



@dataclass(frozen=True)
class Restored:
    """What an earlier visit or the address brings back (None: nothing to change)."""

    dataset: str | None = None
    load_params: dict | None = None
    network: dict | None = None


def relative(path: str | None) -> str | None:
    """The dataset folder as a path under the data root ("sketch-digits"), or None when it is elsewhere."""
    if not path:
        return None
    root = data_root().resolve()
    try:
        return Path(path).resolve().relative_to(root).as_posix()
    except (ValueError, OSError):
        return None


def _dataset_folder(name: object) -> Path | None:
    """The dataset folder a saved or linked name points to, when it is a folder under the data root."""
    if not isinstance(name, str) or not name or len(name) > 500 or "\x00" in name:
        return None
    root = data_root().resolve()
    try:
        folder = (root / name).resolve()
        folder.relative_to(root)
    except (ValueError, OSError):
        return None
    return folder if folder != root and folder.is_dir() else None


def _own() -> Workspace:
    """The workspace with this person's state."""
    return Workspace(owner=identity.owner())


def _say(kind: str, text: str) -> None:
    st.session_state.setdefault(MESSAGES, []).append((kind, text))


def restore(have_dataset: bool, have_network: bool) -> Restored:
    """The network and dataset of this address or of the last session, once per session; after that, nothing."""
    if st.session_state.get(RESTORED):
        return Restored()
    st.session_state[RESTORED] = True
    workspace = _own()
    saved, damage = workspace.load()
    if damage:
        _say("warning", damage)
    params = st.query_params

    linked = params.get("dataset")
    folder = _dataset_folder(linked) if linked else None
    if linked and folder is None:
        _say("warning", t("ui_autosave.dataset_not_here", name=linked[:80], root=data_root()))
    if folder is None and not linked:
        folder = _dataset_folder(saved.dataset)
    dataset = load_params = network = None
    if folder is not None and not have_dataset:
        dataset = str(folder)
        if saved.dataset == relative(dataset) and saved.load_params:
            load_params = copy.deepcopy(saved.load_params)

    key = params.get("net") or saved.network
    if key and not have_network:
        try:
            network = workspace.fetch(key)
        except LabError as error:
            _say("warning", t("ui_autosave.default_network", error=error))
        else:
            back = "ui_autosave.back_from_link" if params.get("net") else "ui_autosave.back_from_last_session"
            _say("toast", t(back, count=len(network.get("layers") or [])))
    return Restored(dataset, load_params, network)


def save(spec: dict, dataset: str | None, load_params: dict | None, generation: int) -> None:
    """Stores the network and dataset choice when they changed; ``generation`` tells a replaced network from an
    edited one (a replaced one gets its own history entry)."""
    folder = relative(dataset)
    key = network_key(spec)
    mark = (key, folder, json.dumps(load_params, sort_keys=True, default=str))
    if st.session_state.get(SAVED) == mark:
        return
    replaced = st.session_state.get(SAVED_GEN) != generation  # loaded (or first seen in this session), not edited
    workspace = _own()
    current, _ = workspace.load()
    current.dataset = folder
    current.load_params = copy.deepcopy(load_params) if load_params else None
    try:
        workspace.remember(current, spec, new_entry=replaced)
        workspace.save(current)
    except LabError as error:
        _say("warning", str(error))
        return
    st.session_state[SAVED] = mark
    st.session_state[SAVED_GEN] = generation


def show_in_address(**values: str | None) -> None:
    """Writes each value that is not None into the address (``?net=…&dataset=…&lang=…``)."""
    for name, value in values.items():
        if value is not None and st.query_params.get(name) != value:
            st.query_params[name] = value


def history() -> list:
    """The saved networks, newest first (``lab.workspace.Entry``)."""
    saved, _ = _own().load()
    return saved.history


def fetch(key: str) -> dict:
    return Workspace().fetch(key)


def show_messages() -> None:
    """Shows what restore() or save() had to say, once."""
    for kind, text in st.session_state.pop(MESSAGES, []):
        if kind == "toast":
            st.toast(text, icon=":material/restore:")
        else:
            st.warning(text, icon="⚠️")


def when(saved_at: float, now: float | None = None) -> str:
    """A short, human time for a history entry: "just now", "5 min ago", "14:02", "3 Nov 14:02"."""
    now = time.time() if now is None else now
    age = now - saved_at
    if age < 60:
        return t("ui_autosave.just_now")
    if age < 3600:
        return t("ui_autosave.minutes_ago", minutes=int(age // 60))
    saved = time.localtime(saved_at)
    clock = time.strftime("%H:%M", saved)
    if saved[:3] == time.localtime(now)[:3]:
        return clock
    month = t("ui_autosave.months").split()[saved.tm_mon - 1]
    return f"{saved.tm_mday:02d} {month} {clock}"
