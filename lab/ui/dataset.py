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
from lab.paths import data_root
from lab.ui import data_folders, session, tf_loader, widgets

AUTOGEN_TRIED = "_ds_autogen_tried"
MESSAGES = "_ds_messages"      # (kind, text) pairs to show once at the top
SAMPLE_DIGITS = "sketch-digits"
BATCH_SIZES = [8, 16, 32, 64, 128, 256, 512]
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

LOAD_DEFAULTS = {"batch_size": 32, "validation_split": 0.2, "seed": 1337, "shuffle": True}


# --- choosing ---------------------------------------------------------------------------------------------------

def _say(kind: str, text: str) -> None:
    st.session_state.setdefault(MESSAGES, []).append((kind, text))


def follow_dataset() -> None:
    """The network follows the chosen dataset (the session adapts it); says what changed."""
    fresh = not session.has_network()
    spec = session.network()
    notes = session.pop_notes()
    if fresh:
        _say("info", f"The network starts from the “{session.DEFAULT_PRESET}” preset, with input "
                     f"{widgets.shape_text(spec.get('input_shape'))} and {spec['layers'][-1].get('units')} "
                     "output classes to match this dataset.")
        return
    for note in notes:
        _say("info", "Network: " + note)


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

def make_sample_digits(place) -> Path | None:
    """Generates Data/sketch-digits with a progress bar in ``place``; the path, or None after an error."""
    from lab.data import sample_digits

    with place.container():
        st.info("Making the built-in **sketch-digits** dataset: handwritten-style digits 0–9, 28 × 28 grey images, "
                "ready to train on. This takes a moment, once.", icon="✏️")
        bar = st.progress(0.0, text="Starting…")
        try:
            path = sample_digits.ensure(data_root(), progress=widgets.progress_callback(bar))
        except LabError as error:
            st.error(str(error))
            return None
        except OSError as error:
            st.error(f"Cannot write the dataset into {data_root()}: {error.strerror or error}; "
                     "check that the folder is writable.")
            return None
        bar.progress(1.0, text="Done.")
    clear_caches()
    return Path(path)


def safe_name(name: str) -> str:
    name = name.strip()
    if not NAME_PATTERN.match(name) or name in (".", ".."):
        raise LabError("Use a dataset name of letters, digits, '-', '_' or '.', starting with a letter or digit.")
    return name


def _suggest(filename: str) -> str:
    stem = Path(filename).stem
    stem = re.sub(r"[_-]?(train|test|training|testing)$", "", stem, flags=re.IGNORECASE) or stem
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-._")
    return stem or "imported"


def _exists_note(folder: Path, name: str) -> str:
    """“<folder> exists already.”, with what it holds when ``name`` is a valid dataset name (inside Data/)."""
    from lab.data.folders import held_text, holdings

    text = f"{folder} exists already"
    if NAME_PATTERN.match(name):
        text += f" and holds {held_text(*holdings(folder))}"
    return text + "."


def _save_upload(upload, suffix: str) -> Path:
    handle, name = tempfile.mkstemp(suffix=suffix, prefix="cnn-lab-upload-")
    with os.fdopen(handle, "wb") as out:
        out.write(upload.getbuffer())
    return Path(name)


def _import_csv(upload, name: str, split: str, replace: bool, place) -> None:
    from lab.data import csv_import
    from lab.data.folders import WouldReplace

    out = data_root() / safe_name(name)
    bar = place.progress(0.0, text="Reading the CSV…")
    upload.seek(0)
    try:
        counts = csv_import.import_csv(upload, out, split=split, progress=widgets.progress_callback(bar),
                                       replace=replace)
    except WouldReplace as refusal:
        raise LabError(refusal.sentence(f"Tick “Replace the existing {split} images” to replace them, or pick "
                                        "another name.")) from None
    clear_caches()
    choose(str(out))
    _say("success", f"Imported {sum(counts.values()):,} images in {len(counts)} classes from {upload.name} "
                    f"into {out / split}.")


def _import_zip(upload, name: str, replace: bool, place) -> None:
    from lab.data import zip_import
    from lab.data.folders import WouldReplace

    out = data_root() / safe_name(name)
    bar = place.progress(0.0, text="Unpacking…")
    try:
        source = _save_upload(upload, ".zip")
    except OSError as error:
        raise LabError(f"Cannot keep the upload {upload.name} in the temporary folder ({error.strerror or error}); "
                       "free some disk space and try again.") from None
    try:
        zip_import.import_zip(source, out, replace=replace, progress=widgets.progress_callback(bar))
    except WouldReplace as refusal:
        raise LabError(refusal.sentence("Tick “Replace the existing dataset” to replace them, or pick another "
                                        "name.")) from None
    finally:
        source.unlink(missing_ok=True)
    bar.progress(1.0, text="Imported.")
    clear_caches()
    choose(str(out))
    _say("success", f"Imported {upload.name} into {out}.")


def import_section() -> None:
    st.subheader("Add a dataset")
    csv_tab, zip_tab, built_in_tab = st.tabs(["Kaggle CSV", "Zip of class folders", "Built-in digits"])
    root = data_root()
    with csv_tab:
        st.caption("A CSV like Kaggle's Sign Language MNIST: a `label` column, then one column per pixel "
                   "(784 for 28 × 28). Import the train file as **Train** and the test file as **Test** "
                   "under the same name.")
        upload = st.file_uploader("CSV file", type=["csv"], key="ds_csv_file")
        if upload is not None:
            if st.session_state.get("_ds_csv_for") != upload.file_id:
                st.session_state["_ds_csv_for"] = upload.file_id
                st.session_state["ds_csv_name"] = _suggest(upload.name)
                st.session_state["ds_csv_split"] = "Test" if "test" in upload.name.lower() else "Train"
            name_col, split_col = st.columns([2, 1])
            name = name_col.text_input("Dataset name (folder under Data/)", key="ds_csv_name")
            split = split_col.radio("Split", ["Train", "Test"], key="ds_csv_split", horizontal=True,
                                    help="Train images are for learning (and validation); Test images are "
                                         "kept apart for the final check.")
            exists = bool(name) and (root / name / split).exists()
            replace = False
            if exists:
                st.warning(_exists_note(root / name / split, name))
                replace = st.checkbox(f"Replace the existing {split} images", key="ds_csv_replace")
            place = st.empty()
            if st.button("Import CSV", key="ds_csv_go", type="primary", disabled=exists and not replace):
                try:
                    _import_csv(upload, name, split, replace, place)
                except LabError as error:
                    place.error(str(error), icon="⛔")
                else:
                    st.rerun()
    with zip_tab:
        st.caption("A .zip whose folders are the classes (`A/`, `B/`, … with images inside), optionally under "
                   "`Train/` and `Test/`.")
        upload = st.file_uploader("Zip file", type=["zip"], key="ds_zip_file")
        if upload is not None:
            if st.session_state.get("_ds_zip_for") != upload.file_id:
                st.session_state["_ds_zip_for"] = upload.file_id
                st.session_state["ds_zip_name"] = _suggest(upload.name)
            name = st.text_input("Dataset name (folder under Data/)", key="ds_zip_name")
            exists = bool(name) and (root / name).exists()
            replace = False
            if exists:
                st.warning(_exists_note(root / name, name))
                replace = st.checkbox("Replace the existing dataset", key="ds_zip_replace")
            place = st.empty()
            if st.button("Import zip", key="ds_zip_go", type="primary", disabled=exists and not replace):
                try:
                    _import_zip(upload, name, replace, place)
                except LabError as error:
                    place.error(str(error), icon="⛔")
                else:
                    st.rerun()
    with built_in_tab:
        st.caption("Handwritten-style digits 0–9 drawn by the lab itself: a quick dataset to try everything, "
                   "and to test your own drawings on the Predict page.")
        exists = (root / SAMPLE_DIGITS).exists()
        place = st.empty()
        if st.button("Make sketch-digits", key="ds_make_digits", disabled=exists,
                     help="Already there." if exists else None):
            path = make_sample_digits(place)
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

    rows = [{"class": str(cls), "split": split, "images": int(n)}
            for split, counts in info.counts.items() for cls, n in counts.items()]
    if not rows:
        return None
    frame = pd.DataFrame(rows)
    order = [str(c) for c in info.classes]
    return (alt.Chart(frame)
            .mark_bar()
            .encode(x=alt.X("class:N", sort=order, title="class", axis=alt.Axis(labelAngle=0)),
                    xOffset=alt.XOffset("split:N", sort=["Train", "Test", "All"]),
                    y=alt.Y("images:Q", title="images"),
                    color=alt.Color("split:N", sort=["Train", "Test", "All"], title="split",
                                    legend=alt.Legend(orient="top")),
                    tooltip=["class", "split", "images"])
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
    splits = {split: sum(counts.values()) for split, counts in info.counts.items()}
    cells = st.columns(5)
    cells[0].metric("Classes", len(info.classes))
    for position, split in enumerate(["Train", "Test", "All"]):
        if split in splits:
            cells[1 + min(position, 1)].metric(f"{split} images", f"{splits[split]:,}")
    cells[3].metric("Image size", f"{info.image_size[0]} × {info.image_size[1]}")
    cells[4].metric("Colour", f"{info.color_mode}", help=f"Polarity: {info.polarity.replace('_', ' ')}")
    if not getattr(info, "has_test", "Test" in splits):
        st.caption("No Test/ folder: the final check will use part of the training images only through "
                   "validation.")
    for warning in getattr(info, "warnings", []) or []:
        st.warning(_problem_text(warning), icon="⚠️")
    problems = list(getattr(info, "problems", []) or [])
    if problems:
        with st.expander(f"⛔ {len(problems)} file(s) cannot be used", expanded=len(problems) <= 5):
            st.markdown("\n".join(f"- {_problem_text(p)}" for p in problems[:200]))
            if len(problems) > 200:
                st.caption(f"… and {len(problems) - 200} more.")


def show_samples(info) -> None:
    from lab.data import summary

    splits = list(info.counts)
    split = splits[0] if splits else "All"
    if len(splits) > 1:
        split = st.radio("Samples from", splits, horizontal=True, key="ds_sample_split")
    picked = summary.sample_paths(info, per_class=6, split=split)
    per_row = 4
    classes = list(info.classes)
    for start in range(0, len(classes), per_row):
        columns = st.columns(per_row)
        for column, cls in zip(columns, classes[start:start + per_row]):
            strip = _strip(tuple(str(p) for p in picked.get(cls, [])))
            count = info.counts.get(split, {}).get(cls, 0)
            if strip is None:
                column.caption(f"**{cls}** · no images in {split}")
            else:
                column.image(strip, caption=f"{cls} · {count:,} images", width="stretch")


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

    native = st.checkbox(f"Use the images' own size ({native_h} × {native_w})", key="ds_native",
                         help="Every image is resized to one size before it enters the network.")
    if native:
        size = [native_h, native_w]
    else:
        left, right = st.columns(2)
        size = [int(left.number_input("image height", 8, 512, step=1, key="ds_h")),
                int(right.number_input("image width", 8, 512, step=1, key="ds_w"))]
    mode = st.radio("colour mode", ["auto", "grayscale", "rgb"], key="ds_color", horizontal=True,
                    format_func=lambda m: f"auto ({info.color_mode})" if m == "auto" else m,
                    help="grayscale gives 1 channel, rgb 3; auto keeps what the images are.")
    batch = st.select_slider("batch_size", BATCH_SIZES, key="ds_batch",
                             help="Images per training step. Larger batches are faster per epoch but use more "
                                  "memory; 32 is a good start.")
    val = st.slider("validation_split", 0.05, 0.5, step=0.05, key="ds_val",
                    help="Fraction of the Train images held back to check the model after each epoch.")
    left, right = st.columns(2)
    seed = left.number_input("seed", 0, 2**31 - 1, step=1, key="ds_seed",
                             help="Fixes the shuffle and the validation split, so runs can be compared.")
    right.markdown("&nbsp;")
    shuffle = right.toggle("shuffle", key="ds_shuffle", help="Shuffle the training images each epoch.")
    params = {"image_size": size, "color_mode": info.color_mode if mode == "auto" else mode,
              "batch_size": int(batch), "validation_split": float(round(val, 4)), "seed": int(seed),
              "shuffle": bool(shuffle)}
    st.caption(f"The network gets **{size[0]} × {size[1]} × {1 if params['color_mode'] == 'grayscale' else 3}** "
               f"inputs; {int(round(100 * (1 - val)))}% of Train is used to learn, "
               f"{int(round(100 * val))}% to validate.")
    session.set_load_params(params)
    return params


def render() -> None:
    st.title("Dataset")
    st.caption("Pick the images to learn from. Folders under "
               f"`{data_root()}/` are datasets: `Train/<class>/*.png` (and `Test/<class>/*.png`).")
    messages = st.container()
    datasets = data_folders.discover()
    if not datasets and not st.session_state.get(AUTOGEN_TRIED):
        st.session_state[AUTOGEN_TRIED] = True
        path = make_sample_digits(messages)
        if path is not None:
            choose(str(path))
            datasets = data_folders.discover()
            _say("success", f"Made the built-in dataset in {path}. It is chosen below; the Architecture and "
                            "Train pages are ready to use it.")
    if not datasets:
        st.warning(f"No dataset in `{data_root()}/` yet. Import one below, or make the built-in digits.")
        import_section()
        tf_loader.start()
        return

    paths = [str(info.path) for info in datasets]
    by_path = {str(info.path): info for info in datasets}
    chosen = session.dataset()
    if chosen not in by_path:
        preferred = next((p for p in paths if Path(p).name == SAMPLE_DIGITS), paths[0]) if chosen is None else paths[0]
        if chosen is not None:
            _say("warning", f"The dataset {chosen} is gone; using {Path(preferred).name} instead.")
        choose(preferred)
    st.session_state["ds_pick"] = session.dataset()
    st.selectbox("Dataset", paths, key="ds_pick", on_change=_on_pick,
                 format_func=lambda p: f"{by_path[p].name}  ·  {len(by_path[p].classes)} classes",
                 help=f"Every folder of class folders under {data_root()}/.")
    info = by_path[session.dataset()]
    show_info(info)
    if getattr(info, "errors", None) or not info.classes or not info.image_size:
        st.divider()
        import_section()
        tf_loader.start()
        return

    chart_col, params_col = st.columns([3, 2], gap="large")
    with chart_col:
        st.subheader("Images per class")
        chart = _counts_chart(info)
        if chart is not None:
            st.altair_chart(chart, width="stretch")
        if any(counts and min(counts.values()) * 2 < max(counts.values()) for counts in info.counts.values()):
            st.warning("Some classes have less than half the images of others; the model may favour the big "
                       "classes. Consider adding images to the small ones.", icon="⚖️")
    with params_col:
        st.subheader("Loading parameters")
        load_params(info)
    follow_dataset()

    st.subheader("Samples")
    show_samples(info)
    st.divider()
    import_section()

    with messages:
        for kind, text in st.session_state.pop(MESSAGES, []):
            getattr(st, kind)(text)
    tf_loader.start()
