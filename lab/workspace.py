"""The workspace on disk: the network being built, the dataset chosen, and every earlier network kept.

A reload, a new tab or a server restart finds the person's work here. Networks are stored by content
(``networks/<key>.json``, the key a hash of the spec), so a link that names a key always opens that exact
network; ``state.json`` holds the current choice and the history of earlier networks, newest first.

Each person (``lab.ownership``: a browser or a signed-in user) has a state of their own,
``people/<hash of the owner id>/state.json``; the networks stay shared, so a link opens its network for anyone.
The ``state.json`` at the top is the workspace of no one in particular (the command line, scripts, and the lab as
it was before it knew people): the first person to use the lab, while nobody else has saved a state, starts from
it, so a laptop with one person finds its work where it left it. Everyone after that starts fresh.

Every write goes beside its final name and is moved into place, so a crash leaves the older complete file.
A damaged ``state.json`` is moved aside (never deleted) and the workspace starts again from empty.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.errors import LabError
from lab.i18n import t
from lab.layers import short
from lab.ownership import ANYONE
from lab.paths import workspace_root

STATE_FILE = "state.json"
NETWORKS = "networks"
PEOPLE = "people"  # people/<person_folder(owner)>/state.json
KEY_PATTERN = re.compile(r"^[0-9a-f]{12}$")
HISTORY_LIMIT = 50
# Edits closer together than this replace the newest history entry instead of adding one, so that typing a
# value digit by digit leaves one entry, not five.
COALESCE_SECONDS = 60.0
MAX_FILE_BYTES = 2_000_000  # a spec of a few hundred layers is under 100 kB


def network_key(spec: dict) -> str:
    """The content key of a spec: the same network always gets the same key."""
    text = json.dumps(spec, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()[:12]


def person_folder(owner: str) -> str:
    """The folder name of a person's state: a hash, since an owner id may hold an e-mail address."""
    return hashlib.sha256(owner.encode("utf-8")).hexdigest()[:24]


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1, ensure_ascii=False)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _read_json(path: Path) -> Any:
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ValueError(t("workspace.file_too_large", name=path.name, limit=MAX_FILE_BYTES))
    return json.loads(path.read_text(encoding="utf-8"))


@dataclass
class Entry:
    """One network in the history: its key, when it was saved, and what it looks like in one line."""

    key: str
    saved_at: float
    summary: str
    started_at: float | None = None  # when the burst of edits that this entry stands for began
    edited: bool = False  # made by editing; False for a network that was loaded (a preset, an upload, a restore)

    def as_json(self) -> dict:
        return {"key": self.key, "saved_at": self.saved_at, "summary": self.summary,
                "started_at": self.started_at if self.started_at is not None else self.saved_at,
                "edited": self.edited}


@dataclass
class State:
    """What the workspace remembers: the dataset (a folder name under the data root), its loading
    parameters, the current network's key, and the history of networks, newest first."""

    dataset: str | None = None
    load_params: dict | None = None
    network: str | None = None
    history: list[Entry] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"dataset": self.dataset, "load_params": self.load_params, "network": self.network,
                "history": [entry.as_json() for entry in self.history]}


def summary(spec: dict) -> str:
    """One line that tells networks apart in a list: name, layer count and each layer as the Runs page lists it."""
    layers = spec.get("layers") if isinstance(spec, dict) else None
    layers = layers if isinstance(layers, list) else []
    path = " → ".join(short(layer) if isinstance(layer, dict) else "?" for layer in layers)
    if len(path) > 120:
        path = path[:117] + "…"
    name = spec.get("name") if isinstance(spec, dict) else None
    head = f"{str(name)[:60]} · " if isinstance(name, str) and name else ""
    return head + t("workspace.summary", count=len(layers), path=path)


def _parse_state(data: Any) -> State:
    if not isinstance(data, dict):
        raise ValueError(t("workspace.problem.not_an_object"))
    dataset = data.get("dataset")
    params = data.get("load_params")
    network = data.get("network")
    history = []
    for item in data.get("history") or []:
        if (isinstance(item, dict) and isinstance(item.get("key"), str) and KEY_PATTERN.match(item["key"])
                and isinstance(item.get("saved_at"), (int, float))):
            started = item.get("started_at")
            history.append(Entry(item["key"], float(item["saved_at"]), str(item.get("summary", ""))[:300],
                                 float(started) if isinstance(started, (int, float)) else None,
                                 item.get("edited") is True))
    return State(dataset=dataset if isinstance(dataset, str) else None,
                 load_params=params if isinstance(params, dict) else None,
                 network=network if isinstance(network, str) and KEY_PATTERN.match(network) else None,
                 history=history[:HISTORY_LIMIT])


def _shape_problem(spec: Any) -> str | None:
    """What keeps the editor from showing a network at all (its values are the spec check's business)."""
    if not isinstance(spec, dict):
        return t("workspace.problem.not_an_object")
    layers = spec.get("layers")
    if not isinstance(layers, list) or not layers:
        return t("workspace.problem.no_layers")
    for number, layer in enumerate(layers, start=1):
        if not isinstance(layer, dict) or not isinstance(layer.get("type"), str):
            return t("workspace.problem.layer_without_type", number=number)
    return None


class Workspace:
    """The workspace folder: load and save the state of ``owner`` (None or ``ANYONE``: the state of no one in
    particular), store and fetch networks by key."""

    def __init__(self, root: Path | str | None = None, owner: str | None = None):
        self.root = Path(root) if root is not None else workspace_root()
        self.owner = None if owner == ANYONE else owner

    @property
    def state_path(self) -> Path:
        if self.owner is None:
            return self.root / STATE_FILE
        return self.root / PEOPLE / person_folder(self.owner) / STATE_FILE

    def _first_person(self) -> bool:
        """Whether nobody has a state of their own yet (the lab has had one person at most)."""
        try:
            return not any((folder / STATE_FILE).exists() for folder in (self.root / PEOPLE).iterdir())
        except OSError:
            return True

    def load(self) -> tuple[State, str | None]:
        """The saved state, and a sentence when the file was damaged (it is then moved aside, not lost).

        A person with no state of their own gets the state of no one in particular while they are the first
        person; it becomes theirs with their first save."""
        path = self.state_path
        if not path.exists():
            if self.owner is not None and self._first_person():
                return Workspace(self.root).load()
            return State(), None
        try:
            return _parse_state(_read_json(path)), None
        except (OSError, ValueError, RecursionError) as error:
            aside = path.with_name(f"{STATE_FILE}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
            try:
                os.replace(path, aside)
            except OSError:
                return State(), t("workspace.unreadable_left", path=path, error=error,
                                  folder=self.root / NETWORKS)
            return State(), t("workspace.unreadable_kept", error=error, name=aside.name)

    def save(self, state: State) -> None:
        self._write(self.state_path, state.as_json())

    def _write(self, path: Path, data: Any) -> None:
        try:
            _write_json(path, data)
        except OSError as error:
            raise LabError(t("workspace.cannot_save", root=self.root, error=error.strerror or error)) from None

    def network_path(self, key: str) -> Path:
        if not isinstance(key, str) or not KEY_PATTERN.match(key):
            raise LabError(t("workspace.bad_key", key=repr(key)))
        return self.root / NETWORKS / f"{key}.json"

    def store(self, spec: dict) -> str:
        """Stores a network (once per content) and returns its key."""
        key = network_key(spec)
        path = self.network_path(key)
        if not path.exists():
            self._write(path, spec)
        return key

    def fetch(self, key: str) -> dict:
        """The network stored under ``key``; LabError when it is not there or damaged."""
        path = self.network_path(key)
        try:
            spec = _read_json(path)
        except FileNotFoundError:
            raise LabError(t("workspace.no_such_network", key=key, folder=self.root / NETWORKS)) from None
        except (OSError, ValueError, RecursionError) as error:
            raise LabError(t("workspace.network_unreadable", key=key, error=error)) from None
        problem = _shape_problem(spec)
        if problem:
            raise LabError(t("workspace.network_damaged", key=key, problem=problem))
        return spec

    def remember(self, state: State, spec: dict, now: float | None = None, new_entry: bool = False) -> str:
        """Stores ``spec``, makes it the current network and puts it at the top of the history.

        An edit within COALESCE_SECONDS of the start of the newest entry's burst of edits replaces that entry (so a
        long session of edits leaves one entry a minute, not one per keystroke). A loaded network (``new_entry``:
        a preset, an upload, a restore, the network a session starts with) always gets an entry of its own and is
        never replaced by the edits that follow it. A network already in the history moves to the top.
        """
        now = time.time() if now is None else now
        key = self.store(spec)
        state.network = key
        entry = Entry(key, now, summary(spec), now, edited=not new_entry)
        history = [e for e in state.history if e.key != key]
        newest = state.history[0] if state.history else None
        if newest is not None and newest.key == key:
            entry.started_at = newest.started_at
            entry.edited = newest.edited and not new_entry
        elif (newest is not None and not new_entry and newest.edited
              and now - (newest.started_at or newest.saved_at) < COALESCE_SECONDS):
            history.pop(0)
            entry.started_at = newest.started_at or newest.saved_at
        state.history = [entry, *history][:HISTORY_LIMIT]
        return key
