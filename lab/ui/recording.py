"""Adding one's own samples: the "Add to my dataset" controls the Predict inputs share, and what was saved.

The dataset and class being recorded into are the session's, kept here under keys of their own, so every input and
the My samples page show the same choice. Saving happens in button callbacks and before the camera is drawn, so
the counts a run draws already include what it saved.

A person records into the datasets they made (and those that belong to everyone): someone else's recorded datasets
are in none of the lists here (``lab.data.samples.visible``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from lab.data import samples
from lab.errors import LabError
from lab.i18n import t
from lab.paths import data_root
from lab.ui import data_folders, identity, tf_loader

DATASET = "_record_dataset"  # name of the recorded dataset chosen
CLASS = "_record_class"      # class chosen in it
MESSAGE = "_record_message"  # the latest Message
NO_SOURCE = ""               # "start with no classes"
STRIP = 6                    # newest samples of the class shown under the controls
THUMB = 56                   # pixels


@dataclass(frozen=True)
class Message:
    kind: str  # "success", "warning" or "error"
    text: str


def say(kind: str, text: str) -> None:
    """Keeps the latest word on recording, shown under the controls (and after a rerun)."""
    st.session_state[MESSAGE] = Message(kind, text)


def own_datasets() -> list[str]:
    """The recorded datasets this person may record into."""
    return samples.recorded_datasets(viewer=identity.owner())


def chosen_dataset(names: list[str]) -> str | None:
    """The recorded dataset the session records into, if it is still there; else the first one."""
    name = st.session_state.get(DATASET)
    return name if name in names else (names[0] if names else None)


def choose_dataset(name: str | None) -> None:
    st.session_state[DATASET] = name


def choose_class(name: str | None) -> None:
    st.session_state[CLASS] = name


def dataset_picker(key: str, names: list[str]) -> str | None:
    """A selectbox of the recorded datasets, showing and changing the session's choice."""
    if not names:
        return None
    current = chosen_dataset(names)
    choose_dataset(current)
    st.session_state[key] = current
    st.selectbox(t("ui_recording.dataset"), names, key=key,
                 on_change=lambda: choose_dataset(st.session_state[key]))
    return current


# --- the controls -------------------------------------------------------------------------------------------------


def panel(where: str) -> tuple[str, str] | None:
    """The "Add to my dataset" controls: dataset, class, new ones; returns (dataset, class) or None."""
    st.markdown(f"**{t('ui_recording.title')}**")
    names = own_datasets()
    if not names:
        st.caption(t("ui_recording.none_yet"))
        new_dataset_form(where)
        show_message()
        return None
    left, right = st.columns(2)
    with left:
        dataset = dataset_picker(f"record_dataset_{where}", names)
    try:
        counts = samples.counts(dataset)
    except LabError as error:
        st.error(str(error))
        return None
    with right:
        cls = _class_picker(where, dataset, counts)
    new_class, new_dataset = st.columns(2)
    with new_class.popover(t("ui_recording.new_class"), icon=":material/add:", width="stretch"):
        new_class_form(where, dataset)
    with new_dataset.popover(t("ui_recording.new_dataset"), icon=":material/create_new_folder:", width="stretch"):
        new_dataset_form(where)
    show_message()
    if cls is None:
        st.caption(t("ui_recording.no_classes", dataset=dataset))
        return None
    _strip(dataset, cls, counts.get(cls, 0))
    return dataset, cls


def _class_picker(where: str, dataset: str, counts: dict[str, int]) -> str | None:
    if not counts:
        return None
    key = f"record_class_{where}"
    current = st.session_state.get(CLASS)
    current = current if current in counts else next(iter(counts))
    choose_class(current)
    st.session_state[key] = current
    labels = {cls: t("ui_recording.class_count", cls=cls, count=count) for cls, count in counts.items()}
    st.selectbox(t("ui_recording.class"), list(counts), key=key, format_func=labels.get,
                 on_change=lambda: choose_class(st.session_state[key]))
    return current


def _strip(dataset: str, cls: str, count: int) -> None:
    if not count:
        st.caption(t("ui_recording.empty_class", cls=cls))
        return
    files = samples.sample_files(dataset, cls)[:STRIP]
    st.image([thumbnail(str(path), mtime(path))[0] for path in files], width=THUMB)
    st.caption(t("ui_recording.in_class", count=count, cls=cls, folder=f"Data/{dataset}/{samples.SPLIT}/{cls}/"))


def mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


@st.cache_data(show_spinner=False, max_entries=512)
def thumbnail(path: str, stamp: int, side: int = 96):
    """(a small RGB copy, (width, height)) of a sample, for showing many at once; grey when it cannot be read.

    ``stamp`` (the file's modification time) keys the cache, so a file written again is read again."""
    from PIL import Image

    from lab import imaging

    try:
        with Image.open(path) as image:
            size = image.size
            small = imaging.to_8bit(image).convert("RGB")
            small.thumbnail((side, side))
            return small, size
    except Exception:  # noqa: BLE001 - a sample that went or broke shows as a grey square
        return Image.new("RGB", (side, side), (128, 128, 128)), (0, 0)


def new_class_form(where: str, dataset: str) -> None:
    key = f"record_new_class_{where}"
    st.text_input(t("ui_recording.class_name"), key=key, placeholder=t("ui_recording.class_placeholder"))
    st.button(t("ui_recording.add_class"), key=f"{key}_go", on_click=_add_class, args=(dataset, key))


def _add_class(dataset: str, key: str) -> None:
    try:
        path = samples.add_class(dataset, st.session_state.get(key), viewer=identity.owner())
    except LabError as error:
        say("error", str(error))
        return
    choose_class(path.name)
    st.session_state[key] = ""
    say("success", t("ui_recording.class_added", cls=path.name, dataset=dataset))


def source_datasets() -> list[str]:
    """The datasets under the data root whose classes a new dataset can start from (folder names, no scan)."""
    from lab.data.discovery import is_dataset

    root = data_root()
    try:
        folders = sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
                         key=lambda p: p.name.lower())
    except OSError:
        return []
    me = identity.owner()
    return [folder.name for folder in folders if is_dataset(folder) and samples.visible(folder, me)]


def new_dataset_form(where: str) -> None:
    key = f"record_new_dataset_{where}"
    st.text_input(t("ui_recording.dataset_name"), key=key, placeholder=t("ui_recording.dataset_placeholder"))
    sources = [NO_SOURCE, *source_datasets()]
    labels = {name: name or t("ui_recording.no_source") for name in sources}  # fixed while drawing
    st.selectbox(t("ui_recording.classes_from"), sources, key=f"{key}_from", format_func=labels.get,
                 help=t("ui_recording.classes_from_help"))
    st.button(t("ui_recording.create"), key=f"{key}_go", on_click=_create, args=(key,), type="primary")


def _create(key: str) -> None:
    source = st.session_state.get(f"{key}_from") or None
    try:
        classes = samples.classes_of(data_root() / source) if source else []
        path = samples.new_dataset(st.session_state.get(key), classes, source=source, owner=identity.owner())
    except LabError as error:
        say("error", str(error))
        return
    data_folders.clear()
    choose_dataset(path.name)
    choose_class(None)
    st.session_state[key] = ""
    words = "ui_recording.created_from" if source else "ui_recording.created"
    say("success", t(words, dataset=path.name, count=len(classes), source=source or ""))


def square_caption(box: tuple[int, int, int, int]) -> str:
    left, top, right, _ = box
    return t("ui_recording.square_caption", left=left, top=top, side=right - left)


def show_message() -> None:
    message = st.session_state.get(MESSAGE)
    if not isinstance(message, Message):
        return
    shown = {"success": st.success, "warning": st.warning, "error": st.error}[message.kind]
    shown(message.text)


# --- saving -------------------------------------------------------------------------------------------------------


def add_button(where: str, target: tuple[str, str] | None, picture, crop=None, sample_id: str | None = None,
               label: str = "ui_recording.add") -> None:
    """A button that saves ``picture`` (a PIL image or image bytes), cropped to ``crop``, into ``target``; none
    until there is a class to save into (the controls above say how to make one)."""
    if target is None:
        return
    st.button(t(label, cls=target[1]), key=add_key(where), icon=":material/add_a_photo:",
              disabled=picture is None, on_click=save, args=(target, picture, crop, sample_id))


def add_key(where: str) -> str:
    """The key of the "Add to" button next to the input ``where``: True in the run right after its click."""
    return f"record_add_{where}"


def save(target: tuple[str, str], picture, crop=None, sample_id: str | None = None) -> samples.Saved | None:
    """Saves one sample into ``target`` and says what was saved (or why not)."""
    dataset, cls = target
    try:
        saved = samples.add_sample(dataset, cls, picture, crop=crop, sample_id=sample_id, viewer=identity.owner())
    except LabError as error:
        say("error", str(error))
        return None
    if saved.existed:
        say("warning", t("ui_recording.already", name=saved.path.name, cls=saved.path.parent.name))
    else:
        words = "ui_recording.saved_small" if saved.small else "ui_recording.saved"
        say("success", t(words, name=saved.path.name, cls=saved.path.parent.name, width=saved.width,
                         height=saved.height, minimum=samples.RECOMMENDED_SIDE))
        tf_loader.prewarm_training()  # recording leads to fine-tuning: a worker is ready by then
    return saved


def save_burst(shots) -> None:
    """Saves each snapshot of a burst into the class it was taken for, as it arrives, and says so."""
    for shot in shots:
        if shot.target is None:
            continue
        saved = save(shot.target, shot.png, sample_id=shot.id)
        if saved is not None and not saved.existed and shot.index and shot.total:
            say("success", t("ui_recording.burst_saved", index=shot.index, total=shot.total, cls=saved.path.parent.name,
                             width=saved.width, height=saved.height))
