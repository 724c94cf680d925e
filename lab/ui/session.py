"""The page's state, and its only owner: the dataset, its loading parameters, the network, the run and the language.

``streamlit_app.py`` calls :func:`start` at the top of every script run and :func:`save` at the end; the pages
read and write the state only through the functions here, never through each other. The network is adapted to
the chosen dataset and checked here, once per change: :func:`check` returns the report together with the shape
table, and every view draws from that one result.

The workspace on disk and the address bar (``?net=``, ``?dataset=``, ``?lang=``) are kept by ``autosave``, which
this module calls.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from lab import i18n, presets, shapes
from lab import spec as specs
from lab.paths import runs_root
from lab.ui import autosave, data_folders

if TYPE_CHECKING:
    from lab.train.job import TrainConfig

DATASET = "dataset"          # str path of the chosen dataset folder
LOAD_PARAMS = "load_params"  # dict: image_size, color_mode, batch_size, validation_split, seed, shuffle
SPEC = "spec"                # the network (a spec dict), adapted to the dataset
RUN = "run"                  # str path of the run chosen for prediction
START = "_train_start"       # str path of the run the Train page starts from (fine-tuning), or None
LANGUAGE = "language"        # "en" or "pt-BR"
LANGUAGE_PICK = "lang_pick"  # the sidebar's language selectbox
_SEEN = "_net_seen"          # the network as this module last stored it; anything else was written from outside
GENERATION = "_net_gen"     # bumps whenever the network is replaced rather than edited
_NOTES = "_net_notes"        # what adapting or replacing the network changed, for the next page to say
_CHECKED = "_net_checked"    # {(spec JSON, batch size, language): Checked}, the latest few
PAGES = "pages"              # name → the st.Page that navigation registered

DEFAULT_PRESET = "recommended"
CHECKS_KEPT = 8


# --- the language -------------------------------------------------------------------------------------------------

def _resolve() -> str | None:
    """The language of the browser session being served; None outside a script run (a training thread)."""
    if get_script_run_ctx(suppress_warning=True) is None:
        return None
    return st.session_state.get(LANGUAGE)


def language() -> str:
    return st.session_state.get(LANGUAGE) or i18n.language()


def choose_language(lang: str) -> None:
    """Speaks ``lang`` from now on in this session and keeps it in the address; nothing else changes."""
    chosen = i18n.normalize(lang)
    if chosen:
        st.session_state[LANGUAGE] = chosen
        st.session_state[LANGUAGE_PICK] = chosen
        autosave.show_in_address(lang=chosen)


def _settle_language() -> None:
    """``?lang=`` in the address wins; else the session's choice; else the browser's language, on the first visit."""
    linked = i18n.normalize(st.query_params.get("lang"))
    if linked:
        st.session_state[LANGUAGE] = linked
    elif not st.session_state.get(LANGUAGE):
        st.session_state[LANGUAGE] = i18n.normalize(st.context.locale) or i18n.language()
    autosave.show_in_address(lang=st.session_state[LANGUAGE])


# --- the whole session ----------------------------------------------------------------------------------------------

def start() -> None:
    """Once per script run, before the navigation: the language, then the workspace of an earlier visit."""
    i18n.set_resolver(_resolve)
    _settle_language()
    restored = autosave.restore(have_dataset=bool(dataset()), have_network=has_network())
    if restored.dataset:
        st.session_state[DATASET] = restored.dataset
        if restored.load_params:
            st.session_state[LOAD_PARAMS] = restored.load_params
    if restored.network is not None:
        _store(restored.network, replaced=True)
    autosave.show_in_address(**_address())


def save() -> None:
    """Keeps the network and the dataset choice in the workspace and the address (after a draw, after an edit)."""
    spec = st.session_state.get(SPEC)
    if isinstance(spec, dict):
        autosave.save(spec, dataset(), load_params(), generation())
    autosave.show_in_address(**_address())


def _address() -> dict:
    spec = st.session_state.get(SPEC)
    return {"net": autosave.network_key(spec) if isinstance(spec, dict) else None,
            "dataset": autosave.relative(dataset())}


def register_pages(pages: dict) -> None:
    """The pages navigation registered, by name, for :func:`switch_to`."""
    st.session_state[PAGES] = pages


def switch_to(name: str) -> None:
    st.switch_page(st.session_state[PAGES][name])


# --- the dataset ----------------------------------------------------------------------------------------------------

def dataset() -> str | None:
    """The chosen dataset folder, or None."""
    return st.session_state.get(DATASET)


def choose_dataset(path: str) -> None:
    """Chooses a dataset folder; its loading parameters start again from the images."""
    st.session_state[DATASET] = str(path)
    st.session_state.pop(LOAD_PARAMS, None)


def ensure_dataset() -> None:
    """Chooses the default dataset (the built-in digits if there, else the first) when none is chosen yet."""
    if dataset():
        return
    usable = [info for info in data_folders.discover() if info.classes and info.image_size and not info.errors]
    if usable:
        from lab.data.sample_digits import NAME

        preferred = next((info for info in usable if info.name == NAME), usable[0])
        choose_dataset(str(preferred.path))


def load_params() -> dict:
    """How the dataset is loaded (a copy): image_size, color_mode, batch_size, validation_split, seed, shuffle."""
    return copy.deepcopy(st.session_state.get(LOAD_PARAMS) or {})


def set_load_params(params: dict) -> None:
    st.session_state[LOAD_PARAMS] = copy.deepcopy(params)


def dataset_target() -> tuple[list[int], int] | None:
    """(input shape, class count) of the chosen dataset with its loading parameters, or None."""
    info = data_folders.info_for(dataset())
    if info is None:
        return None
    params = load_params()
    if not (params.get("image_size") or info.image_size) or not info.classes:
        return None
    height, width = params.get("image_size") or info.image_size
    mode = params.get("color_mode") or info.color_mode
    return [int(height), int(width), 1 if mode == "grayscale" else 3], len(info.classes)


# --- the network ----------------------------------------------------------------------------------------------------

def fitted(spec: dict) -> tuple[dict, list[str]]:
    """A copy of ``spec`` with its input and head following the chosen dataset, and what that changed."""
    target = dataset_target()
    if target is None:
        return copy.deepcopy(spec), []
    return specs.adapt(spec, input_shape=target[0], num_classes=target[1])


def has_network() -> bool:
    return isinstance(st.session_state.get(SPEC), dict)


def network() -> dict:
    """The session's network (a copy), adapted to the dataset; the recommended preset when there is none yet.

    A network written into the session from outside this module counts as replaced (see :func:`generation`).
    """
    spec = st.session_state.get(SPEC)
    if not isinstance(spec, dict):
        ensure_dataset()
        spec, _ = fitted(presets.load(DEFAULT_PRESET))
        _store(spec, replaced=True)
    else:
        new, notes = fitted(spec)
        if notes:
            _store(new, replaced=True, notes=notes)
        elif st.session_state.get(_SEEN) != spec:
            _store(spec, replaced=True)
    return copy.deepcopy(st.session_state[SPEC])


def replace_network(spec: dict, notes: Sequence[str] = ()) -> None:
    """Puts a network from outside the editor (a preset, a file, the history) into the session, adapted."""
    new, changed = fitted(spec)
    _store(new, replaced=True, notes=[*notes, *changed])


def edit_network(spec: dict) -> None:
    """Stores the editor's change to the network (the editor's widgets keep their values)."""
    _store(spec, replaced=False)


def generation() -> int:
    """A counter that bumps whenever the network is replaced rather than edited; the editor restarts its widgets."""
    return st.session_state.get(GENERATION, 0)


def pop_notes() -> list[str]:
    """What adapting or replacing the network changed since a page last asked, in words."""
    return st.session_state.pop(_NOTES, [])


def _store(spec: dict, replaced: bool, notes: Sequence[str] = ()) -> None:
    st.session_state[SPEC] = copy.deepcopy(spec)
    st.session_state[_SEEN] = copy.deepcopy(spec)
    if replaced:
        st.session_state[GENERATION] = generation() + 1
    if notes:
        st.session_state.setdefault(_NOTES, []).extend(notes)


@dataclass(frozen=True)
class Checked:
    """A network's check: its problems and its shape table (None while its arguments are malformed)."""

    report: specs.Report
    table: shapes.Table | None

    @property
    def ok(self) -> bool:
        return self.report.ok


def check(spec: dict | None = None, batch_size: int | None = None) -> Checked:
    """The check of ``spec`` (default: the session's network), computed once per network, batch size and language."""
    spec = network() if spec is None else spec
    key = (json.dumps(spec, sort_keys=True, default=str), batch_size, i18n.language())  # the report is in words
    kept = st.session_state.setdefault(_CHECKED, {})
    if key not in kept:
        report = specs.check(spec) if batch_size is None else specs.check(spec, batch_size=batch_size)
        table = report.table
        if table is None:
            try:
                table = shapes.table(spec)
            except Exception:  # noqa: BLE001 - malformed arguments: the report says which
                table = None
        while len(kept) >= CHECKS_KEPT:
            kept.pop(next(iter(kept)))
        kept[key] = Checked(report, table)
    return kept[key]


# --- training -------------------------------------------------------------------------------------------------------

def train_config(spec: dict | None = None, **settings) -> TrainConfig:
    """The TrainConfig of the chosen dataset, its loading parameters and ``spec`` (default: the network).

    ``settings`` (epochs, name, early_stopping, ...) override what the loading parameters say; with ``from_run``
    (and ``freeze``) the run's network is fine-tuned (``lab.train.finetune.starting_points`` says which runs can).
    """
    from lab.train.job import TrainConfig

    params = load_params()
    loading = {"batch_size": params.get("batch_size"), "seed": params.get("seed"),
               "validation_split": params.get("validation_split"), "image_size": params.get("image_size"),
               "color_mode": params.get("color_mode")}
    chosen = {key: value for key, value in loading.items() if value is not None}
    chosen.update(settings)
    if chosen.get("from_run"):  # a fine-tune trains its run's network, on the images at that run's size and colour
        spec = None
        for key in ("image_size", "color_mode"):
            chosen.pop(key, None)
    else:
        spec = network() if spec is None else spec
    return TrainConfig(data_path=str(dataset()), spec=spec, runs_root=str(runs_root()), **chosen)


def start_run() -> str | None:
    """The run whose network and weights the next training starts from, or None: the network, from scratch."""
    return st.session_state.get(START)


def choose_start(run: str | None) -> None:
    """Training on the Train page starts from ``run``'s weights (fine-tuning); None: from the network."""
    st.session_state[START] = str(run) if run else None


# --- the run chosen for prediction ------------------------------------------------------------------------------------

def run() -> str | None:
    return st.session_state.get(RUN)


def choose_run(path: str) -> None:
    st.session_state[RUN] = str(path)


def forget_run() -> None:
    st.session_state.pop(RUN, None)
