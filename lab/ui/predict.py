"""Predict page: draw, upload or photograph an image and see what a trained model makes of it.

Every image is shown next to exactly the tensor the model receives (``lab.predict.prepare``), step by step.
"""

from __future__ import annotations

import base64
from pathlib import Path

import streamlit as st

from lab.errors import LabError
from lab.paths import runs_root
from lab.predict import open_image
from lab.ui import charts, session

SOURCES = ["Draw", "Upload", "Webcam"]
INVERT_CHOICES = ["auto", "invert", "keep"]
INVERT_LABELS = {"auto": "Auto", "invert": "Invert", "keep": "Don't invert"}
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


def centre_square(size: tuple[int, int], fraction: float) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the centred square whose side is ``fraction`` of the shorter side."""
    width, height = size
    side = max(2, int(round(min(width, height) * fraction)))
    left, top = (width - side) // 2, (height - side) // 2
    return left, top, left + side, top + side


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


@st.cache_resource(max_entries=4, show_spinner="Loading the model…")
def _model(path: str, mtime: float):
    from lab.train.runs import load_model_file

    return load_model_file(path)


def load_model(run) -> object:
    path = run.model_path
    return _model(str(path), path.stat().st_mtime)


def _choose_run():
    """The run picked for prediction, synchronised with the session's run; None (with a message) when there is none."""
    from lab.train.runs import list_runs, load_run
    from lab.train.status import ACTIVE

    infos = [info for info in list_runs(runs_root()) if info.has_model and info.status not in ACTIVE]
    if not infos:
        st.info("There is no trained model yet. Train one on the Train page; when a run finishes, its best model "
                "can be tried here.")
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
        accuracy = f" · test {info.test_accuracy:.0%}" if info.test_accuracy is not None else (
            f" · val {info.best_val_accuracy:.0%}" if info.best_val_accuracy is not None else "")
        status = "" if info.status == "finished" else f" · {info.status}"
        return f"{info.name} · {info.dataset or '?'}{accuracy}{status}"

    st.selectbox("Model (a trained run)", options, key="predict_run", format_func=label,
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
        stroke = st.slider("Stroke width", 4, 60, 22, key="predict_stroke")
        st.caption(f"{'White on black' if light else 'Black on white'}, like the images this model learned from.")
        if st.button("Clear", key="predict_clear"):
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
        st.info("Draw something on the canvas; the guesses appear when you lift the mouse.")
        return []
    return [("your drawing", open_image(data, "The drawing"), None)]


def _upload_input() -> list[tuple[str, object, None]]:
    files = st.file_uploader("Images", type=UPLOAD_TYPES, accept_multiple_files=True, key="predict_upload",
                             help="PNG, JPEG, BMP, WebP or GIF (the first frame); several at once.")
    if not files:
        st.info("Upload one or more images.")
        return []
    images = []
    for file in files:
        try:
            images.append((file.name, open_image(file.getvalue(), file.name), None))
        except LabError as error:
            st.error(str(error))
    return images


def _webcam_input() -> list[tuple[str, object, tuple | None]]:
    left, right = st.columns([3, 2])
    with right:
        crop_on = st.checkbox("Crop to the centre square", True, key="predict_crop_on")
        size = st.slider("Square size (% of the shorter side)", 20, 100, 80, step=5, key="predict_crop_size",
                         disabled=not crop_on)
        st.caption("Hold the sign or the drawing in the middle of the picture, filling the square.")
    with left:
        shot = st.camera_input("Take a photo", key="predict_camera")
    if shot is None:
        st.info("Allow the camera, then press **Take Photo**.")
        return []
    try:
        image = open_image(shot.getvalue(), "The photo")
    except LabError as error:
        st.error(str(error))
        return []
    crop = centre_square(image.size, size / 100) if crop_on else None
    return [("webcam photo", image, crop)]


# --- results -------------------------------------------------------------------------------------------------------


def _invert_setting():
    choice = st.radio("Colours", INVERT_CHOICES, horizontal=True, key="predict_invert",
                      format_func=INVERT_LABELS.get,
                      help="Auto turns a dark-on-light image into light-on-dark (or back) when it does not match "
                           "the training images.")
    return {"auto": "auto", "invert": True, "keep": False}[choice]


def _show(name: str, image, crop, run, model, invert) -> None:
    from lab.predict import prepare, top_k

    with st.container(border=True):
        try:
            prepared = prepare(image, run.preprocessing, invert=invert, crop=crop)
        except LabError as error:
            st.info(f"{name}: {error}")
            return
        photo, steps, guesses = st.columns([2, 5, 3])
        with photo:
            st.image(image, caption=f"{name} ({image.size[0]}×{image.size[1]})", width=160)
        with steps:
            shown = [(title, picture) for title, picture in getattr(prepared, "steps", []) or []
                     if str(title).lower() != "original"]  # the original is on the left already
            final = array_image(prepared.array)
            if shown and _same_picture(shown[-1][1], final):
                shown = shown[:-1]
            pictures = [enlarged(picture) for _, picture in shown] + [enlarged(final)]
            captions = [str(title) for title, _ in shown] + [
                f"what the model sees ({'×'.join(str(v) for v in prepared.array.shape)})"]
            st.image(pictures, caption=captions, width=SHOWN)
            if invert == "auto":
                decided = ("Auto decided: **inverted**, to match the training images." if prepared.inverted
                           else "Auto decided: **not inverted**; it already matches the training images.")
            else:
                decided = "Inverted, as you chose." if prepared.inverted else "Not inverted, as you chose."
            extra = getattr(prepared, "message", "") or ""
            st.caption(decided + ("" if not extra or extra.lower().startswith("inverted") else f" {extra}"))
        with guesses:
            try:
                top = top_k(model, prepared.array, run.class_names, k=5)
            except LabError as error:
                st.error(str(error))
                return
            if top:
                best, probability = top[0]
                st.markdown(f"### {best} · {probability:.0%}")
                st.altair_chart(charts.probability_chart(top), width="stretch")


def render() -> None:
    st.title("Predict")
    run = _choose_run()
    if run is None:
        return
    left, right = st.columns(2)
    with left:
        source = st.radio("Image from", SOURCES, horizontal=True, key="predict_source")
    with right:
        invert = _invert_setting()
    preprocessing = run.preprocessing
    if source == "Draw":
        try:
            images = _draw_input(preprocessing)
        except LabError as error:
            st.info(str(error))
            images = []
    elif source == "Upload":
        images = _upload_input()
    else:
        images = _webcam_input()
    if not images:
        return
    try:
        model = load_model(run)
    except (LabError, OSError) as error:
        st.error(str(error) if isinstance(error, LabError) else f"The model could not be read ({error}); "
                 "pick another run.")
        return
    for name, image, crop in images:
        _show(name, image, crop, run, model, invert)
    if run.path and not Path(run.path, "metrics.json").is_file():
        st.caption("This run has no test evaluation; its guesses may be less reliable.")
