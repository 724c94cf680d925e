"""Predict page: draw, upload or photograph an image and see what a trained model makes of it.

Every image is shown next to exactly the tensor the model receives (``lab.predict.prepare``), step by step.
"""

from __future__ import annotations

import base64
from pathlib import Path

import streamlit as st

from lab.errors import LabError
from lab.i18n import number, t
from lab.paths import runs_root
from lab.predict import open_image
from lab.ui import charts, familiarity_view, identity, inside, model_cache, session

SOURCES = ["draw", "upload", "webcam", "dataset"]
RECORDING_SOURCES = ["draw", "upload", "webcam"]  # the inputs offered before any model is trained
DATASET_SHOWN = 24  # images of a class offered to pick from
SOURCE_LABELS = {"draw": "ui_predict.source.draw", "upload": "ui_predict.source.upload",
                 "webcam": "ui_predict.source.webcam", "dataset": "ui_predict.source.dataset"}
INVERT_CHOICES = ["auto", "invert", "keep"]
INVERT_LABELS = {"auto": "ui_predict.invert.auto", "invert": "ui_predict.invert.invert",
                 "keep": "ui_predict.invert.keep"}
STATUS_LABELS = {"stopped": "ui_predict.run.stopped", "failed": "ui_predict.run.failed"}
CAMERA = "predict_webcam"  # the square camera's key
PHOTO = "predict_photo"  # the latest webcam snapshot (a lab.ui.webcam.Shot)
CANVAS_ROUND = "predict_canvas_round"  # bumped by "Clear" so the canvas gets a new key and starts empty
UPLOAD_TYPES = ["png", "jpg", "jpeg", "bmp", "webp", "gif"]
SHOWN = 112  # pixels: small images are enlarged to about this size, pixel by pixel


def canvas_key() -> str:
    return f"predict_canvas_{st.session_state.get(CANVAS_ROUND, 0)}"


# --- images --------------------------------------------------------------------------------------------------------


def canvas_data_url(value) -> str | None:
    """The PNG data URL in a canvas value: ``{"drawing": {"raw": ..., "data": url}}`` (or ``data`` at the top)."""
    if not isinstance(value, dict):
        return None
    drawing = value.get("drawing")
    for holder in (drawing if isinstance(drawing, dict) else {}, value):
        url = holder.get("data")
        if isinstance(url, str) and ";base64," in url:
            return url
    return None


def decode_data_url(url: str) -> bytes:
    return base64.b64decode(url.split(";base64,", 1)[1])


def enlarged(image, target: int = SHOWN):
    """Small images scaled up by a whole factor with nearest-neighbour, so each pixel shows as a square."""
    from PIL import Image

    width, height = image.size
    factor = max(1, target // max(width, height, 1))
    return image.resize((width * factor, height * factor), Image.NEAREST) if factor > 1 else image


def array_image(array):
    """A PIL image of a HxWxC float array of 0..255 values."""
    import numpy as np
    from PIL import Image

    arr = np.clip(np.rint(np.asarray(array, dtype="float32")), 0, 255).astype("uint8")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    return Image.fromarray(arr)


def _same_picture(a, b) -> bool:
    import numpy as np

    try:
        return a.size == b.size and np.array_equal(np.asarray(a.convert(b.mode)), np.asarray(b))
    except Exception:
        return False


# --- model ---------------------------------------------------------------------------------------------------------


def load_model(run) -> object:
    with st.spinner(t("ui_predict.loading_model")):  # shown only when it takes a while
        return model_cache.get(run.model_path)


def _choose_run():
    """The run picked for prediction, synchronised with the session's run; None (with a message) when there is none."""
    from lab.train.runs import list_runs, load_run
    from lab.train.status import ACTIVE

    infos = [info for info in list_runs(runs_root(), identity.owner()) if info.has_model and info.status not in ACTIVE]
    if not infos:
        st.info(t("ui_predict.no_model"))
        return None
    by_path = {str(info.path): info for info in infos}
    options = list(by_path)
    chosen = session.run()
    if chosen not in by_path:
        chosen = options[0]
        session.choose_run(chosen)
    if st.session_state.get("predict_run") != chosen:
        st.session_state["predict_run"] = chosen

    def label(path: str) -> str:
        info = by_path[path]
        parts = [info.name, info.dataset or "?"]
        if info.test_accuracy is not None:
            parts.append(t("ui_predict.run.test", accuracy=info.test_accuracy))
        elif info.best_val_accuracy is not None:
            parts.append(t("ui_predict.run.val", accuracy=info.best_val_accuracy))
        if info.status != "finished":
            parts.append(t(STATUS_LABELS[info.status]) if info.status in STATUS_LABELS else info.status)
        return " · ".join(parts)

    labels = {path: label(path) for path in options}  # fixed while drawing, like every format_func here
    st.selectbox(t("ui_predict.run.pick"), options, key="predict_run", format_func=labels.get,
                 on_change=lambda: session.choose_run(st.session_state["predict_run"]))
    try:
        return load_run(chosen)
    except LabError as error:
        st.error(str(error))
        return None


# --- inputs --------------------------------------------------------------------------------------------------------


def _draw_input(preprocessing: dict) -> list[tuple[str, object, None]]:
    from streamlit_drawable_canvas import st_canvas

    light = preprocessing.get("polarity", "light_on_dark") != "dark_on_light"
    ink, paper = ("#FFFFFF", "#000000") if light else ("#000000", "#FFFFFF")
    left, right = st.columns([3, 2])
    with right:
        stroke = st.slider(t("ui_predict.draw.stroke"), 4, 60, 22, key="predict_stroke")
        st.caption(t("ui_predict.draw.white_on_black" if light else "ui_predict.draw.black_on_white"))
        if st.button(t("ui_predict.draw.clear"), key="predict_clear"):
            st.session_state.pop(canvas_key(), None)
            st.session_state[CANVAS_ROUND] = st.session_state.get(CANVAS_ROUND, 0) + 1
    with left:
        st.write("")  # room for the canvas toolbar, which floats above it
        key = canvas_key()
        result = st_canvas(stroke_width=stroke, stroke_color=ink, background_color=paper, height=280, width=280,
                           drawing_mode="freedraw", return_image_data=True, key=key)
    data = None
    try:
        data = result.image_bytes
    except Exception:
        data = None
    if not data:
        url = canvas_data_url(st.session_state.get(key))
        data = decode_data_url(url) if url else None
    if not data:
        st.info(t("ui_predict.draw.hint"))
        with right:
            _record("draw", None)
        return []
    drawing = open_image(data, t("ui_predict.draw.the_drawing"))
    with right:
        _record("draw", data)  # the canvas image itself, as the model gets it before resizing
    return [(t("ui_predict.draw.name"), drawing, None)]


def _record(where: str, picture, crop=None, sample_id: str | None = None) -> tuple[str, str] | None:
    """The "Add to my dataset" controls next to an input; returns the (dataset, class) chosen."""
    from lab.ui import recording

    with st.container(border=True):
        target = recording.panel(where)
        recording.add_button(where, target, picture, crop=crop, sample_id=sample_id)
    return target


UPLOAD = "predict_upload"  # the uploader; its key for the batch now is widgets.uploader_key(UPLOAD)
UPLOAD_ADDED = "_predict_upload_added"  # digests of the batch's pictures added to a dataset
UPLOAD_DONE = "_predict_upload_done"  # how many pictures the batch just emptied from the uploader added


def _upload_input() -> list[tuple[str, object, None]]:
    from lab.ui import recording, widgets

    files = st.file_uploader(t("ui_predict.upload.label"), type=UPLOAD_TYPES, accept_multiple_files=True,
                             key=widgets.uploader_key(UPLOAD), help=t("ui_predict.upload.help"))
    if not files:
        if st.session_state.get(UPLOAD_DONE):
            recording.show_message()  # what the last picture was saved as
            st.success(t("ui_predict.upload.batch_added", count=st.session_state.pop(UPLOAD_DONE)))
        st.info(t("ui_predict.upload.hint"))
        return []
    st.session_state.pop(UPLOAD_DONE, None)
    images = []
    for file in files:
        try:
            images.append((file.name, open_image(file.getvalue(), file.name), None))
        except LabError as error:
            st.error(str(error))
    if not images:
        return []
    return _crop_upload(images, {file.name: file.getvalue() for file in files})


def _crop_upload(images: list, data: dict[str, bytes]) -> list:
    """The crop square over one uploaded picture (picked when there are several): it applies to that picture's
    guess and to the sample added from it."""
    import hashlib

    from lab.ui import recording, webcam

    left, right = st.columns([3, 2])
    with left:
        names = [name for name, _, _ in images]
        picked = st.selectbox(t("ui_recording.which_file"), names, key="predict_square_file") \
            if len(names) > 1 else names[0]
        picked = picked if picked in names else names[0]
        place = names.index(picked)
        name, image, _ = images[place]
        key = "predict_square_" + hashlib.sha1(data.get(name, b"")).hexdigest()[:16]
        box = webcam.square_over(key, image)
    with right:
        _record("upload", data.get(name), crop=box)
    _batch_added(data, names, name)
    st.caption(recording.square_caption(box))
    images[place] = (name, image, box)
    return images


def _batch_added(data: dict[str, bytes], names: list[str], added: str) -> None:
    """Notes that the picture ``added`` was just added to a dataset; once every picture of the batch was, the
    uploader empties for the next batch (rather than piling the next one on top)."""
    import hashlib

    from lab.ui import recording, widgets

    message = st.session_state.get(recording.MESSAGE)
    if not st.session_state.get(recording.add_key("upload")) or message is None or message.kind == "error":
        return
    digest = {name: hashlib.sha1(data.get(name, b"")).hexdigest() for name in names}
    done = st.session_state.setdefault(UPLOAD_ADDED, set())
    done.add(digest[added])
    if set(digest.values()) <= done:
        widgets.clear_uploader(UPLOAD, UPLOAD_ADDED, "predict_square_file")
        st.session_state[UPLOAD_DONE] = len(names)
        st.rerun()


def _webcam_input() -> list[tuple[str, object, tuple | None]]:
    """The live camera with its crop square. Burst snapshots are saved to their class before anything is drawn,
    so a reload loses none already sent; the latest snapshot is the one the model reads."""
    from lab.data import samples
    from lab.ui import recording, webcam

    shots = webcam.new_shots(CAMERA)
    recording.save_burst(shots)
    if shots:
        st.session_state[PHOTO] = shots[-1]
    photo = st.session_state.get(PHOTO)
    left, right = st.columns([3, 2])
    with right:
        with st.container(border=True):
            target = recording.panel("webcam")
            burst = st.number_input(t("ui_recording.burst_count"), 1, 30, 5, key="predict_burst",
                                    help=t("ui_recording.burst_help"))
            recording.add_button("webcam", target, photo.png if photo else None,
                                 sample_id=photo.id if photo else None, label="ui_recording.add_photo")
    with left:
        webcam.camera(CAMERA, target, int(burst))
        st.caption(t("ui_predict.webcam.hold"))
    if photo is None:
        st.info(t("ui_predict.webcam.hint"))
        return []
    try:  # the snapshot as a sample keeps it: the browser's PNG is RGBA, opaque, and that is no step to show
        image = samples.captured(photo.png, name=t("ui_predict.webcam.the_photo"))
    except LabError as error:
        st.error(str(error))
        return []
    return [(t("ui_predict.webcam.name"), image, None)]  # cropped by the square already


def _dataset_input(run) -> list[tuple[str, object, None]]:
    """One image of the chosen dataset (else the run's own), picked by class and number."""
    from lab.data import summary
    from lab.ui import data_folders

    info = data_folders.info_for(session.dataset()) or data_folders.info_for(run.dataset_record.get("path"))
    if info is None or not info.classes:
        st.info(t("ui_predict.dataset.none"))
        return []
    left, right = st.columns([3, 2])
    split = left.selectbox(t("ui_predict.dataset.split"), list(info.files), key="predict_ds_split")
    cls = right.selectbox(t("ui_predict.dataset.class"), list(info.classes), key="predict_ds_class")
    files = summary.sample_paths(info, per_class=DATASET_SHOWN, split=split).get(cls) or []
    if not files:
        st.info(t("ui_predict.dataset.empty", name=cls, split=split))
        return []
    number = st.slider(t("ui_predict.dataset.number"), 1, len(files), 1, key="predict_ds_number") \
        if len(files) > 1 else 1
    path = files[number - 1]
    try:
        return [(f"{cls}/{path.name}", open_image(path.read_bytes(), path.name), None)]
    except (LabError, OSError) as error:
        st.error(str(error))
        return []


# --- results -------------------------------------------------------------------------------------------------------


def _invert_setting():
    choice = st.radio(t("ui_predict.invert.label"), INVERT_CHOICES, horizontal=True, key="predict_invert",
                      format_func={choice: t(INVERT_LABELS[choice]) for choice in INVERT_CHOICES}.get,
                      help=t("ui_predict.invert.help"))
    return {"auto": "auto", "invert": True, "keep": False}[choice]


def _hand_crop_setting(run, source: str) -> bool:
    """The automatic hand crop, offered for uploads and webcam photos read by a model that learned from photos."""
    if source not in ("upload", "webcam") or run.preprocessing.get("pictures") != "photo":
        return False
    return st.checkbox(t("ui_predict.hand_crop"), False, key="predict_hand_crop", help=t("ui_predict.hand_crop_help"))


def _show(name: str, image, crop, run, model, invert, place: int, table, source: str | None = None,
          hand_crop: bool = False) -> None:
    from lab.imaging import PHOTO
    from lab.predict import prepare, top_k

    with st.container(border=True):
        try:
            prepared = prepare(image, run.preprocessing, invert=invert, crop=crop, source=source, hand_crop=hand_crop)
        except LabError as error:
            st.info(f"{name}: {error}")
            return
        photo, steps, guesses = st.columns([2, 5, 3])
        with photo:
            st.image(image, caption=f"{name} ({image.size[0]}×{image.size[1]})", width=160)
        with steps:
            shown = list(prepared.steps[1:])  # the first step, the original, is on the left already
            final = array_image(prepared.array)
            if shown and _same_picture(shown[-1][1], final):
                shown = shown[:-1]
            pictures = [enlarged(picture) for _, picture in shown] + [enlarged(final)]
            captions = [str(title) for title, _ in shown] + [
                t("ui_predict.sees", shape="×".join(str(v) for v in prepared.array.shape))]
            st.image(pictures, caption=captions, width=SHOWN)
            if invert == "auto" and prepared.kind == PHOTO:
                decided = t("ui_predict.photo_kept")
            elif invert == "auto":
                decided = t("ui_predict.auto_inverted" if prepared.inverted else "ui_predict.auto_kept")
            else:
                decided = t("ui_predict.chose_inverted" if prepared.inverted else "ui_predict.chose_kept")
            extra = prepared.message
            st.caption(decided if not extra or extra == t("predict.inverted_to_match") else f"{decided} {extra}")
        with guesses:
            try:
                top = top_k(model, prepared.array, run.class_names, k=5)
            except LabError as error:
                st.error(str(error))
                return
            if top:
                best, probability = top[0]
                st.markdown(f"### {best} · {number(probability, '.0%')}")
                st.altair_chart(charts.localized(charts.probability_chart(top)), width="stretch")
            familiarity_view.show(run, model, prepared.array)
        inside.look_inside(model, prepared.array, table, run.class_names, key=f"predict_inside_{place}")


def _quick_digits_note(run) -> None:
    """Real writing, read by a model of the quick built-in digits: where a better reader comes from."""
    from lab.data import sample_digits

    if run.dataset_record.get("name") == sample_digits.NAME:
        st.caption(t("ui_predict.quick_digits", name=sample_digits.name_for(sample_digits.LARGE_PER_CLASS)))


def render() -> None:
    st.title(t("ui_predict.title"))
    run = _choose_run()
    if run is not None:
        model_cache.preload(run.model_path)  # loads while the person draws
    sources = SOURCES if run is not None else RECORDING_SOURCES  # samples can be recorded before any model
    left, right = st.columns(2)
    with left:
        source = st.radio(t("ui_predict.source.label"), sources, horizontal=True, key="predict_source",
                          format_func={source: t(SOURCE_LABELS[source]) for source in SOURCES}.get)
    with right:
        invert = _invert_setting() if run is not None else "auto"
        hand_crop = _hand_crop_setting(run, source) if run is not None else False
    preprocessing = run.preprocessing if run is not None else {}
    if source == "draw":
        try:
            images = _draw_input(preprocessing)
        except LabError as error:
            st.info(str(error))
            images = []
    elif source == "upload":
        images = _upload_input()
    elif source == "dataset":
        images = _dataset_input(run)
    else:
        images = _webcam_input()
    if not images or run is None:
        return
    try:
        model = load_model(run)
    except (LabError, OSError) as error:
        st.error(str(error) if isinstance(error, LabError) else t("ui_predict.model_unreadable", error=error))
        return
    table = session.check(run.spec).table if run.spec else None
    for place, (name, image, crop) in enumerate(images):
        _show(name, image, crop, run, model, invert, place, table, source=source, hand_crop=hand_crop)
    if source in ("upload", "webcam"):
        _quick_digits_note(run)
    if run.path and not Path(run.path, "metrics.json").is_file():
        st.caption(t("ui_predict.no_test"))
