"""Dataset page: choose a dataset under Data/, see what is in it, set how it is loaded, import new ones.

With no dataset at all, the built-in ``sketch-digits`` set is generated on the first visit, so that a
person can go from opening the page to a trained model without reading anything.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import streamlit as st

from lab.errors import LabError
from lab.i18n import number, t
from lab.paths import data_root
from lab.ui import charts, data_folders, session, tf_loader, widgets

AUTOGEN_TRIED = "_ds_autogen_tried"
MESSAGES = "_ds_messages"      # (kind, text) pairs to show once at the top
SAMPLE_DIGITS = "sketch-digits"
BATCH_SIZES = [8, 16, 32, 64, 128, 256, 512]
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

LOAD_DEFAULTS = {"batch_size": 32, "validation_split": 0.2, "seed": 1337, "shuffle": True}
SPLITS = ["Train", "Test", "All"]  # "All": a dataset without Train/ and Test/ folders
POLARITIES = {"light_on_dark": "ui_dataset.polarity.light_on_dark",
              "dark_on_light": "ui_dataset.polarity.dark_on_light"}
# What training does with each layout's images (lab.data.summary.split_plan counts them).
PLANS = {"train_test": "ui_dataset.plan.train_test", "train_only": "ui_dataset.plan.train_only",
         "test_only": "ui_dataset.plan.test_only", "folders": "ui_dataset.plan.folders"}
# The images that validation_split is a fraction of, by the split training learns from.
SOURCES = {"Train": "ui_dataset.source.train", "Test": "ui_dataset.source.test", "All": "ui_dataset.source.all"}


def split_name(split: str) -> str:
    """Train and Test are folder names and stay as they are; "All" is said in words."""
    return t("ui_dataset.split.all") if split == "All" else split


# --- choosing ---------------------------------------------------------------------------------------------------

def _say(kind: str, text: str) -> None:
    st.session_state.setdefault(MESSAGES, []).append((kind, text))


def follow_dataset() -> None:
    """The network follows the chosen dataset (the session adapts it); says what changed."""
    fresh = not session.has_network()
    spec = session.network()
    notes = session.pop_notes()
    if fresh:
        _say("info", t("ui_dataset.network_starts", preset=session.DEFAULT_PRESET,
                       shape=widgets.shape_text(spec.get("input_shape")), classes=spec["layers"][-1].get("units")))
        return
    for note in notes:
        _say("info", t("ui_dataset.network_note", note=note))


def clear_caches() -> None:
    data_folders.clear()
    _strip.clear()


def choose(path: str) -> None:
    session.choose_dataset(path)
    for key in ("ds_native", "ds_h", "ds_w", "ds_color"):
        st.session_state.pop(key, None)


def _on_pick() -> None:
    picked = st.session_state.get("ds_pick")
    if picked:
        choose(picked)


# --- generating and importing ---------------------------------------------------------------------------------

def make_sample_digits(place, per_class: int | None = None) -> Path | None:
    """Generates Data/sketch-digits (or the set with ``per_class`` Train digits per class) with a progress bar in
    ``place``; the path, or None after an error."""
    from lab.data import sample_digits

    per_class = per_class or sample_digits.TRAIN_PER_CLASS
    with place.container():
        st.info(t("ui_dataset.digits.making", name=sample_digits.name_for(per_class),
                  count=(per_class + sample_digits.TEST_PER_CLASS) * len(sample_digits.CLASSES)), icon="✏️")
        bar = st.progress(0.0, text=t("ui_dataset.digits.starting"))
        try:
            path = sample_digits.ensure(data_root(), progress=widgets.progress_callback(bar), train_per_class=per_class)
        except LabError as error:
            st.error(str(error))
            return None
        except OSError as error:
            st.error(t("ui_dataset.digits.cannot_write", root=data_root(), error=error.strerror or error))
            return None
        bar.progress(1.0, text=t("ui_dataset.digits.done"))
    clear_caches()
    return Path(path)


def safe_name(name: str) -> str:
    name = name.strip()
    if not NAME_PATTERN.match(name) or name in (".", ".."):
        raise LabError(t("ui_dataset.bad_name"))
    return name


def _suggest(filename: str) -> str:
    stem = Path(filename).stem
    stem = re.sub(r"[_-]?(train|test|training|testing)$", "", stem, flags=re.IGNORECASE) or stem
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-._")
    return stem or "imported"


def _exists_note(folder: Path, name: str) -> str:
    """“<folder> exists already.”, with what it holds when ``name`` is a valid dataset name (inside Data/)."""
    from lab.data.folders import held_text, holdings

    if NAME_PATTERN.match(name):
        return t("ui_dataset.exists_holding", folder=folder, held=held_text(*holdings(folder)))
    return t("ui_dataset.exists", folder=folder)


def _csv_replace_label(split: str) -> str:
    return t("ui_dataset.csv.replace", split=split)


def _save_upload(upload, suffix: str) -> Path:
    handle, name = tempfile.mkstemp(suffix=suffix, prefix="cnn-lab-upload-")
    with os.fdopen(handle, "wb") as out:
        out.write(upload.getbuffer())
    return Path(name)


def _import_csv(upload, name: str, split: str, replace: bool, place) -> None:
    from lab.data import csv_import
    from lab.data.folders import WouldReplace

    out = data_root() / safe_name(name)
    bar = place.progress(0.0, text=t("ui_dataset.csv.reading"))
    upload.seek(0)
    try:
        counts = csv_import.import_csv(upload, out, split=split, progress=widgets.progress_callback(bar),
                                       replace=replace)
    except WouldReplace as refusal:
        raise LabError(refusal.sentence(t("ui_dataset.replace_fix", checkbox=_csv_replace_label(split)))) from None
    clear_caches()
    choose(str(out))
    widgets.clear_uploader("ds_csv_file", "_ds_csv_for", "ds_csv_name", "ds_csv_split", "ds_csv_replace")
    images = sum(counts.values())
    _say("success", t("ui_dataset.csv.imported",
                      images=t("data.count.image" if images == 1 else "data.count.images", count=images),
                      classes=t("data.count.class" if len(counts) == 1 else "data.count.classes", count=len(counts)),
                      name=upload.name, target=out / split))


def _import_zip(upload, name: str, replace: bool, place) -> None:
    from lab.data import zip_import
    from lab.data.folders import WouldReplace, held_text, holdings

    out = data_root() / safe_name(name)
    bar = place.progress(0.0, text=t("ui_dataset.zip.unpacking"))
    try:
        source = _save_upload(upload, ".zip")
    except OSError as error:
        raise LabError(t("ui_dataset.zip.cannot_keep", name=upload.name, error=error.strerror or error)) from None
    try:
        zip_import.import_zip(source, out, replace=replace, progress=widgets.progress_callback(bar))
    except WouldReplace as refusal:
        raise LabError(refusal.sentence(t("ui_dataset.replace_fix", checkbox=t("ui_dataset.zip.replace")))) from None
    finally:
        source.unlink(missing_ok=True)
    bar.progress(1.0, text=t("ui_dataset.zip.done"))
    clear_caches()
    choose(str(out))
    widgets.clear_uploader("ds_zip_file", "_ds_zip_for", "ds_zip_name", "ds_zip_replace")
    _say("success", t("ui_dataset.zip.imported", name=upload.name, target=out, held=held_text(*holdings(out))))


def import_section() -> None:
    st.subheader(t("ui_dataset.add.title"))
    csv_tab, zip_tab, built_in_tab = st.tabs([t("ui_dataset.add.csv_tab"), t("ui_dataset.add.zip_tab"),
                                              t("ui_dataset.add.digits_tab")])
    root = data_root()
    with csv_tab:
        st.caption(t("ui_dataset.csv.about"))
        upload = st.file_uploader(t("ui_dataset.csv.file"), type=["csv"], key=widgets.uploader_key("ds_csv_file"))
        if upload is not None:
            if st.session_state.get("_ds_csv_for") != upload.file_id:
                st.session_state["_ds_csv_for"] = upload.file_id
                st.session_state["ds_csv_name"] = _suggest(upload.name)
                st.session_state["ds_csv_split"] = "Test" if "test" in upload.name.lower() else "Train"
            name_col, split_col = st.columns([2, 1])
            name = name_col.text_input(t("ui_dataset.add.name"), key="ds_csv_name")
            split = split_col.radio(t("ui_dataset.csv.split"), ["Train", "Test"], key="ds_csv_split",
                                    horizontal=True, help=t("ui_dataset.csv.split_help"))
            exists = bool(name) and (root / name / split).exists()
            replace = False
            if exists:
                st.warning(_exists_note(root / name / split, name))
                replace = st.checkbox(_csv_replace_label(split), key="ds_csv_replace")
            place = st.empty()
            if st.button(t("ui_dataset.csv.go"), key="ds_csv_go", type="primary", disabled=exists and not replace):
                try:
                    _import_csv(upload, name, split, replace, place)
                except LabError as error:
                    place.error(str(error), icon="⛔")
                else:
                    st.rerun()
    with zip_tab:
        st.caption(t("ui_dataset.zip.about"))
        upload = st.file_uploader(t("ui_dataset.zip.file"), type=["zip"], key=widgets.uploader_key("ds_zip_file"))
        if upload is not None:
            if st.session_state.get("_ds_zip_for") != upload.file_id:
                st.session_state["_ds_zip_for"] = upload.file_id
                st.session_state["ds_zip_name"] = _suggest(upload.name)
            name = st.text_input(t("ui_dataset.add.name"), key="ds_zip_name")
            exists = bool(name) and (root / name).exists()
            replace = False
            if exists:
                st.warning(_exists_note(root / name, name))
                replace = st.checkbox(t("ui_dataset.zip.replace"), key="ds_zip_replace")
            place = st.empty()
            if st.button(t("ui_dataset.zip.go"), key="ds_zip_go", type="primary", disabled=exists and not replace):
                try:
                    _import_zip(upload, name, replace, place)
                except LabError as error:
                    place.error(str(error), icon="⛔")
                else:
                    st.rerun()
    with built_in_tab:
        built_in_digits(root)


def built_in_digits(root: Path) -> None:
    """The quick set (the one a first visit makes) or the large one, each in its own folder."""
    from lab.data import sample_digits

    st.caption(t("ui_dataset.digits.about"))
    sizes = {sample_digits.TRAIN_PER_CLASS: ("ui_dataset.digits.quick", "ui_dataset.digits.quick_about"),
             sample_digits.LARGE_PER_CLASS: ("ui_dataset.digits.large", "ui_dataset.digits.large_about")}
    labels = {n: t(label, per_class=n, name=sample_digits.name_for(n)) for n, (label, _) in sizes.items()}
    per_class = st.radio(t("ui_dataset.digits.size"), list(sizes), key="ds_digits_size", format_func=labels.get)
    st.caption(t(sizes[per_class][1]))
    name = sample_digits.name_for(per_class)
    exists = (root / name).exists()
    place = st.empty()
    if st.button(t("ui_dataset.digits.go", name=name), key="ds_make_digits", disabled=exists,
                 help=t("ui_dataset.digits.there") if exists else None):
        path = make_sample_digits(place, per_class)
        if path is not None:
            choose(str(path))
            st.rerun()


# --- showing a dataset ------------------------------------------------------------------------------------------

@st.cache_data(show_spinner=False, max_entries=512)
def _strip(files: tuple[str, ...], count: int = 6, cell: int = 56):
    """A row of sample images of one class, each upscaled (pixelated) or shrunk to ``cell`` pixels."""
    from PIL import Image

    from lab import imaging

    if not files:
        return None
    strip = Image.new("RGB", (count * (cell + 4) - 4, cell), (128, 128, 128))
    for position, file in enumerate(files[:count]):
        try:
            with Image.open(file) as image:
                image.seek(0)
                image = imaging.to_8bit(image).convert("RGB")
        except Exception:  # noqa: BLE001 - a broken sample is left grey; the problems list names it
            continue
        scale = cell / max(image.size)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.NEAREST if scale >= 1 else Image.Resampling.LANCZOS)
        strip.paste(image, (position * (cell + 4) + (cell - size[0]) // 2, (cell - size[1]) // 2))
    return strip


def _counts_chart(info):
    import altair as alt
    import pandas as pd

    rows = [{"class": str(cls), "split": split_name(split), "images": int(n)}
            for split, counts in info.counts.items() for cls, n in counts.items()]
    if not rows:
        return None
    frame = pd.DataFrame(rows)
    order = [str(c) for c in info.classes]
    splits = [split_name(split) for split in SPLITS]
    titles = {"class": t("ui_dataset.chart.class"), "split": t("ui_dataset.chart.split"),
              "images": t("ui_dataset.chart.images")}
    return (alt.Chart(frame)
            .mark_bar()
            .encode(x=alt.X("class:N", sort=order, title=titles["class"], axis=alt.Axis(labelAngle=0)),
                    xOffset=alt.XOffset("split:N", sort=splits),
                    y=alt.Y("images:Q", title=titles["images"]),
                    color=alt.Color("split:N", sort=splits, title=titles["split"], legend=alt.Legend(orient="top")),
                    tooltip=[alt.Tooltip(f"{field}:{kind}", title=titles[field])
                             for field, kind in (("class", "N"), ("split", "N"), ("images", "Q"))])
            .properties(height=260))


def _problem_text(problem) -> str:
    if isinstance(problem, dict):
        where = problem.get("path") or problem.get("file")
        what = problem.get("message") or problem.get("reason") or problem
        return f"{where}: {what}" if where else str(what)
    return str(problem)


def show_info(info) -> None:
    for error in getattr(info, "errors", []) or []:
        st.error(error, icon="⛔")
    if not info.classes or not info.image_size:
        return
    cells = st.columns(5)
    cells[0].metric(t("ui_dataset.metric.classes"), len(info.classes))
    for cell, split in zip(cells[1:3], [split for split in SPLITS if split in info.counts]):
        label = t("ui_dataset.metric.all_images") if split == "All" else t("ui_dataset.metric.split_images",
                                                                             split=split)
        cell.metric(label, number(info.total(split)))
    cells[3].metric(t("ui_dataset.metric.image_size"), f"{info.image_size[0]} × {info.image_size[1]}")
    polarity = POLARITIES.get(info.polarity)
    cells[4].metric(t("ui_dataset.metric.colour"), f"{info.color_mode}",
                    help=t("ui_dataset.metric.polarity", polarity=t(polarity) if polarity else info.polarity))
    said_by_the_plan = t("data.warning.test_only", name=info.name)  # the plan under the loading settings says more
    for warning in getattr(info, "warnings", []) or []:
        if warning != said_by_the_plan:
            st.warning(_problem_text(warning), icon="⚠️")
    problems = list(getattr(info, "problems", []) or [])
    if problems:
        with st.expander(t("ui_dataset.problems", count=len(problems)), expanded=len(problems) <= 5):
            st.markdown("\n".join(f"- {_problem_text(p)}" for p in problems[:200]))
            if len(problems) > 200:
                st.caption(t("ui_dataset.problems_more", count=len(problems) - 200))


def show_samples(info) -> None:
    from lab.data import summary

    splits = list(info.counts)
    split = splits[0] if splits else "All"
    if len(splits) > 1:
        names = {name: split_name(name) for name in splits}  # fixed while drawing, like every format_func here
        split = st.radio(t("ui_dataset.samples.from"), splits, horizontal=True, key="ds_sample_split",
                         format_func=names.get)
    picked = summary.sample_paths(info, per_class=6, split=split)
    per_row = 4
    classes = list(info.classes)
    for start in range(0, len(classes), per_row):
        columns = st.columns(per_row)
        for column, cls in zip(columns, classes[start:start + per_row]):
            strip = _strip(tuple(str(p) for p in picked.get(cls, [])))
            count = info.counts.get(split, {}).get(cls, 0)
            if strip is None:
                column.caption(t("ui_dataset.samples.none", cls=cls, split=split_name(split)))
            else:
                images = t("data.count.image" if count == 1 else "data.count.images", count=count)
                column.image(strip, caption=f"{cls} · {images}", width="stretch")


def load_params(info) -> dict:
    """The loading parameter widgets; stores the resolved values in the session."""
    saved = session.load_params()
    native_h, native_w = (int(v) for v in info.image_size)
    saved_size = saved.get("image_size") or [native_h, native_w]

    def init(key, value):
        if key not in st.session_state:
            st.session_state[key] = value

    init("ds_native", list(saved_size) == [native_h, native_w])
    init("ds_h", int(saved_size[0]))
    init("ds_w", int(saved_size[1]))
    saved_mode = saved.get("color_mode")
    init("ds_color", "auto" if saved_mode in (None, info.color_mode) else saved_mode)
    init("ds_batch", int(saved.get("batch_size", LOAD_DEFAULTS["batch_size"])))
    init("ds_val", float(saved.get("validation_split", LOAD_DEFAULTS["validation_split"])))
    init("ds_seed", int(saved.get("seed", LOAD_DEFAULTS["seed"])))
    init("ds_shuffle", bool(saved.get("shuffle", LOAD_DEFAULTS["shuffle"])))

    native = st.checkbox(t("ui_dataset.load.native", height=native_h, width=native_w), key="ds_native",
                         help=t("ui_dataset.load.native_help"))
    if native:
        size = [native_h, native_w]
    else:
        left, right = st.columns(2)
        size = [int(left.number_input(t("ui_dataset.load.height"), 8, 512, step=1, key="ds_h")),
                int(right.number_input(t("ui_dataset.load.width"), 8, 512, step=1, key="ds_w"))]
    modes = {"auto": t("ui_dataset.load.auto", mode=info.color_mode), "grayscale": "grayscale", "rgb": "rgb"}
    mode = st.radio(t("ui_dataset.load.colour_mode"), list(modes), key="ds_color", horizontal=True,
                    format_func=modes.get, help=t("ui_dataset.load.colour_mode_help"))
    batch = st.select_slider("batch_size", BATCH_SIZES, key="ds_batch", help=t("ui_dataset.load.batch_help"))
    val = st.slider("validation_split", 0.05, 0.5, step=0.05, key="ds_val",
                    help=t("ui_dataset.load.validation_help", source=t(SOURCES[info.learning_split])))
    left, right = st.columns(2)
    seed = left.number_input("seed", 0, 2**31 - 1, step=1, key="ds_seed", help=t("ui_dataset.load.seed_help"))
    right.markdown("&nbsp;")
    shuffle = right.toggle("shuffle", key="ds_shuffle", help=t("ui_dataset.load.shuffle_help"))
    params = {"image_size": size, "color_mode": info.color_mode if mode == "auto" else mode,
              "batch_size": int(batch), "validation_split": float(round(val, 4)), "seed": int(seed),
              "shuffle": bool(shuffle)}
    channels = 1 if params["color_mode"] == "grayscale" else 3
    st.caption(t("ui_dataset.load.input_shape", shape=f"{size[0]} × {size[1]} × {channels}"))
    show_plan(info, params["validation_split"])
    session.set_load_params(params)
    return params


def show_plan(info, validation_split: float) -> None:
    """Which images training learns from, validates on and is scored on, each number naming its split; a warning
    when the validation split would hold out no image at all (training would refuse to start)."""
    from lab.data import summary

    plan = summary.split_plan(info, validation_split)
    validate_percent = int(round(100 * validation_split))
    if plan.validate < 1:
        st.warning(t("ui_dataset.plan.too_few", validate_percent=validate_percent, count=plan.learn,
                     source=t(SOURCES[plan.source])), icon="⚠️")
        return
    st.info(t(PLANS[plan.layout], learn=plan.learn, validate=plan.validate, test=plan.test,
              learn_percent=100 - validate_percent, validate_percent=validate_percent), icon=":material/call_split:")


def render() -> None:
    st.title(t("ui_dataset.title"))
    st.caption(t("ui_dataset.intro", root=data_root()))
    messages = st.container()
    datasets = data_folders.discover()
    if not datasets and not st.session_state.get(AUTOGEN_TRIED):
        st.session_state[AUTOGEN_TRIED] = True
        tf_loader.prewarm_training()  # a first visit trains next: a worker loads TensorFlow while the digits are drawn
        path = make_sample_digits(messages)
        if path is not None:
            choose(str(path))
            datasets = data_folders.discover()
            _say("success", t("ui_dataset.digits.made", path=path))
    if not datasets:
        st.warning(t("ui_dataset.none_yet", root=data_root()))
        import_section()
        _show_messages(messages)
        tf_loader.start()
        return

    paths = [str(info.path) for info in datasets]
    by_path = {str(info.path): info for info in datasets}
    chosen = session.dataset()
    if chosen not in by_path:
        preferred = next((p for p in paths if Path(p).name == SAMPLE_DIGITS), paths[0]) if chosen is None else paths[0]
        if chosen is not None:
            _say("warning", t("ui_dataset.gone", chosen=chosen, instead=Path(preferred).name))
        choose(preferred)
    st.session_state["ds_pick"] = session.dataset()
    names = {path: t("ui_dataset.pick_option", name=info.name, classes=len(info.classes))
             for path, info in by_path.items()}
    st.selectbox(t("ui_dataset.pick"), paths, key="ds_pick", on_change=_on_pick, format_func=names.get,
                 help=t("ui_dataset.pick_help", root=data_root()))
    info = by_path[session.dataset()]
    show_info(info)
    if getattr(info, "errors", None) or not info.classes or not info.image_size:
        st.divider()
        import_section()
        _show_messages(messages)
        tf_loader.start()
        return

    chart_col, params_col = st.columns([3, 2], gap="large")
    with chart_col:
        st.subheader(t("ui_dataset.chart.title"))
        chart = _counts_chart(info)
        if chart is not None:
            st.altair_chart(charts.localized(chart), width="stretch")
        if any(counts and min(counts.values()) * 2 < max(counts.values()) for counts in info.counts.values()):
            st.warning(t("ui_dataset.imbalanced"), icon="⚖️")
    with params_col:
        st.subheader(t("ui_dataset.load.title"))
        load_params(info)
    follow_dataset()

    st.subheader(t("ui_dataset.samples.title"))
    show_samples(info)
    st.divider()
    import_section()

    _show_messages(messages)
    tf_loader.start()


def _show_messages(place) -> None:
    """What the last action did (an import, a dataset that went away), shown once at the top of the page."""
    with place:
        for kind, text in st.session_state.pop(MESSAGES, []):
            getattr(st, kind)(text)
