"""My samples page: the datasets a person recorded, the samples per class, and every sample to look at and delete.

Recording itself happens next to the Predict inputs (`lab.ui.recording`); this page shows what is on disk, so a
reload or a restarted server shows exactly what was saved. It lists only the datasets this person may change (their
own and everyone's), so every delete button here is one the core accepts.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from lab.data import samples as recorded
from lab.errors import LabError
from lab.i18n import number, t
from lab.paths import data_root
from lab.ui import charts, data_folders, identity, recording, session

PER_PAGE = 24  # thumbnails shown at once
COLUMNS = 6
UNDO = "_samples_undo"  # the last lab.data.samples.Deleted, for "Undo"
FEW = 1  # a class with this many samples or fewer is said to need more


def render() -> None:
    st.title(t("ui_samples.title"))
    st.caption(t("ui_samples.intro", folder=f"Data/…/{recorded.SPLIT}/…/"))
    names = recording.own_datasets()
    if not names:
        st.info(t("ui_samples.none"))
        with st.container(border=True):
            recording.new_dataset_form("samples")
            recording.show_message()
        return
    left, middle, right = st.columns([2, 1, 1], vertical_alignment="bottom")
    with left:
        dataset = recording.dataset_picker("samples_dataset", names)
    with middle.popover(t("ui_recording.new_class"), icon=":material/add:", width="stretch"):
        recording.new_class_form("samples", dataset)
    with right.popover(t("ui_recording.new_dataset"), icon=":material/create_new_folder:", width="stretch"):
        recording.new_dataset_form("samples")
    recording.show_message()
    _undo_offer()
    try:
        counts = recorded.counts(dataset)
    except LabError as error:
        st.error(str(error))
        return
    _summary(dataset, counts)
    _browse(dataset, counts)


# --- the counts ---------------------------------------------------------------------------------------------------


def _summary(dataset: str, counts: dict[str, int]) -> None:
    total, empty = sum(counts.values()), [cls for cls, count in counts.items() if not count]
    few = [cls for cls, count in counts.items() if 0 < count <= FEW]
    ready = len(counts) - len(empty) >= 2
    first, second, third = st.columns(3)
    first.metric(t("ui_samples.metric.samples"), number(total))
    second.metric(t("ui_samples.metric.classes"), number(len(counts)))
    third.metric(t("ui_samples.metric.empty"), number(len(empty)))
    if total:
        st.altair_chart(charts.localized(_counts_chart(counts)), width="stretch")
    st.caption(t("ui_samples.where", folder=f"Data/{dataset}/{recorded.SPLIT}/"))
    if empty:
        st.warning(t("ui_samples.empty_classes", names=", ".join(empty)))
    if few:
        st.info(t("ui_samples.few", names=", ".join(few)))
    if ready:
        st.success(t("ui_samples.ready"))
    else:
        st.info(t("ui_samples.not_ready"))
    suggested = _suggested_start(dataset) if ready else None
    if suggested:
        st.info(t("ui_finetune.suggest", name=suggested.name, kept=suggested.kept, classes=suggested.classes),
                icon=":material/lightbulb:")
    with st.container(horizontal=True):
        st.button(t("ui_samples.train"), key="samples_train", icon=":material/model_training:", disabled=not ready,
                  help=t("ui_samples.train_help"), on_click=_train_on, args=(dataset,))
        if suggested:
            st.button(t("ui_finetune.suggest.button", name=suggested.name), key="samples_finetune", type="primary",
                      icon=":material/tune:", help=t("ui_finetune.suggest.help", name=suggested.name),
                      on_click=_train_on, args=(dataset, suggested.path))
        record = st.button(t("ui_samples.record"), key="samples_record", icon=":material/photo_camera:")
    if record:
        session.switch_to("predict")


def _counts_chart(counts: dict[str, int]):
    import altair as alt
    import pandas as pd

    frame = pd.DataFrame([{"class": cls, "samples": count} for cls, count in counts.items()])
    titles = {"class": t("ui_samples.chart.class"), "samples": t("ui_samples.chart.samples")}
    return (alt.Chart(frame)
            .mark_bar()
            .encode(x=alt.X("class:N", sort=list(counts), title=titles["class"], axis=alt.Axis(labelAngle=0)),
                    y=alt.Y("samples:Q", title=titles["samples"], axis=alt.Axis(tickMinStep=1, format="d")),
                    tooltip=[alt.Tooltip("class:N", title=titles["class"]),
                             alt.Tooltip("samples:Q", title=titles["samples"])])
            .properties(height=220))


def _train_on(dataset: str, start: str | None = None) -> None:
    """Opens the Train page on the dataset; from the run ``start`` (fine-tuning) when given."""
    data_folders.clear()
    session.choose_dataset(str(data_root() / dataset))
    if start:
        session.choose_start(start)
    session.switch_to("train")


@dataclass(frozen=True)
class Suggestion:
    path: str
    name: str
    kept: int  # the dataset's classes the run learned, by name
    classes: int


def _suggested_start(dataset: str) -> Suggestion | None:
    """The run to fine-tune on the dataset: of the runs that can start it, the one that learned most of its classes
    (by name), the newest of those; None when no run learned any of them."""
    from lab.paths import runs_root
    from lab.train import finetune

    folder = data_root() / dataset
    info = data_folders.info_for(folder)
    if info is None or not info.classes:
        return None
    classes = list(info.classes)
    points = finetune.starting_points(folder, runs_root(), identity.owner(), classes)
    usable = [run for run, problem in points if problem is None]
    best = None
    for run in usable:  # newest first: an older run takes its place only by knowing more of the classes
        try:
            start = finetune.check_start(run.path, folder, classes)
        except LabError:
            continue
        kept = sum(unit is not None for unit in finetune.head_mapping(start.class_names, classes))
        if kept and (best is None or kept > best.kept):
            best = Suggestion(str(run.path), run.name, kept, len(classes))
    return best


# --- the samples --------------------------------------------------------------------------------------------------


def _browse(dataset: str, counts: dict[str, int]) -> None:
    if not counts:
        st.caption(t("ui_recording.no_classes", dataset=dataset))
        return
    st.subheader(t("ui_samples.look"))
    key = "samples_class"
    current = st.session_state.get(recording.CLASS)
    st.session_state[key] = current if current in counts else next(iter(counts))
    labels = {cls: t("ui_recording.class_count", cls=cls, count=count) for cls, count in counts.items()}
    cls = st.selectbox(t("ui_recording.class"), list(counts), key=key, format_func=labels.get,
                       on_change=lambda: recording.choose_class(st.session_state[key]))
    recording.choose_class(cls)
    files = recorded.sample_files(dataset, cls)
    if not files:
        st.info(t("ui_samples.empty_class", cls=cls))
        st.button(t("ui_samples.remove_class", cls=cls), key="samples_remove_class", icon=":material/delete:",
                  on_click=_remove_class, args=(dataset, cls))
        return
    pages = (len(files) + PER_PAGE - 1) // PER_PAGE
    page = st.number_input(t("ui_samples.page_number", pages=pages), 1, pages, 1, key=f"samples_page_{cls}") \
        if pages > 1 else 1
    first = (int(page) - 1) * PER_PAGE
    shown = files[first:first + PER_PAGE]
    st.caption(t("ui_samples.shown", first=first + 1, last=first + len(shown), count=len(files)))
    for row in range(0, len(shown), COLUMNS):
        for column, path in zip(st.columns(COLUMNS), shown[row:row + COLUMNS]):
            with column:
                picture, size = recording.thumbnail(str(path), recording.mtime(path))
                st.image(picture, caption=f"{size[0]}×{size[1]}", width="stretch")
                st.button(t("ui_samples.delete"), key=f"samples_delete_{cls}_{path.name}", icon=":material/delete:",
                          help=t("ui_samples.delete_help", name=path.name), on_click=_delete,
                          args=(dataset, cls, path.name))


def _delete(dataset: str, cls: str, name: str) -> None:
    try:
        st.session_state[UNDO] = recorded.delete_sample(dataset, cls, name, viewer=identity.owner())
    except LabError as error:
        recording.say("error", str(error))
        return
    data_folders.clear()
    recording.say("success", t("ui_samples.deleted", name=name, cls=cls))


def _undo_offer() -> None:
    deleted = st.session_state.get(UNDO)
    if isinstance(deleted, recorded.Deleted):
        st.button(t("ui_samples.undo", name=deleted.name), key="samples_undo", icon=":material/undo:",
                  on_click=_undo, args=(deleted,))


def _undo(deleted) -> None:
    st.session_state.pop(UNDO, None)
    try:
        recorded.restore_sample(deleted, viewer=identity.owner())
    except LabError as error:
        recording.say("error", str(error))
        return
    data_folders.clear()
    recording.say("success", t("ui_samples.restored", name=deleted.name, cls=deleted.cls))


def _remove_class(dataset: str, cls: str) -> None:
    try:
        recorded.remove_class(dataset, cls, viewer=identity.owner())
    except LabError as error:
        recording.say("error", str(error))
        return
    data_folders.clear()
    recording.choose_class(None)
    recording.say("success", t("ui_samples.removed_class", cls=cls, dataset=dataset))
