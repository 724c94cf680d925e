"""Padding page: what "same" and "valid" do to one real image, side by side, and a twin training to compare.

The feature maps are computed with numpy (no TensorFlow): the window, the zero border of "same" and the edge
"valid" leaves out come from the layer catalogue (``lab.layers.window``, TensorFlow's rule), the output size from
``lab.shapes``.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import streamlit as st
from PIL import Image, ImageDraw

from lab import layers
from lab.errors import LabError
from lab.i18n import t
from lab.layers import LAYER_TYPES
from lab.shape_rules import Window
from lab.ui import identity, session, tf_loader, widgets

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}
PAD_COLOUR = (255, 64, 160)
WINDOW_COLOUR = (0, 200, 255)
DROPPED_COLOUR = (255, 170, 0)
SUBMITTED = "_pad_submitted"  # the ids of the two jobs "Train both" started: same first, then valid
COMPARE = "runs_compare"  # the Runs page's comparison: the ids of the runs it overlays
SCOPES = {"layer": "ui_padding.scope.layer", "every": "ui_padding.scope.every"}


# --- what the window computes -----------------------------------------------------------------------------------------

def edge_kernels(height: int, width: int, channels: int, count: int = 4, seed: int = 0) -> list[tuple[str, np.ndarray]]:
    """A few filters to show what a Conv2D computes: edge detectors for 3×3, random ones otherwise."""
    if (height, width) == (3, 3):
        sobel_x = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32)
        named = [(t("ui_padding.kernel.vertical"), sobel_x), (t("ui_padding.kernel.horizontal"), sobel_x.T),
                 (t("ui_padding.kernel.outline"), np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float32)),
                 (t("ui_padding.kernel.blur"), np.full((3, 3), 1 / 9, dtype=np.float32))]
    else:
        rng = np.random.default_rng(seed)
        named = [(t("ui_padding.kernel.random", number=i + 1), rng.normal(size=(height, width)).astype(np.float32))
                 for i in range(count)]
    return [(name, np.repeat(kernel[:, :, None], channels, axis=2) / channels) for name, kernel in named[:count]]


def _borders(window: Window, image: np.ndarray, padding: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """((top, bottom), (left, right)) zeros the padding adds around ``image``."""
    if padding != "same":
        return (0, 0), (0, 0)
    return window.same_padding(image.shape[0], image.shape[1])


def _windows(image: np.ndarray, window: Window, padding: str, fill: float) -> np.ndarray:
    """Every window position: array (out_h, out_w, span_h, span_w, channels)."""
    rows, columns = _borders(window, image, padding)
    padded = np.pad(image, (rows, columns, (0, 0)), constant_values=fill)
    span, strides, dilation = window.span, window.strides, window.dilation
    if padded.shape[0] < span[0] or padded.shape[1] < span[1]:
        raise LabError(t("ui_padding.window_too_big", window=f"{window.size[0]}×{window.size[1]}",
                         input=f"{image.shape[0]}×{image.shape[1]}"))
    view = np.lib.stride_tricks.sliding_window_view(padded, span, axis=(0, 1))  # (H', W', C, sh, sw)
    view = view[::strides[0], ::strides[1], :, ::dilation[0], ::dilation[1]]
    return np.moveaxis(view, 2, -1)


def feature_maps(image: np.ndarray, layer: dict, padding: str) -> list[tuple[str, np.ndarray]]:
    """What the layer computes on ``image`` (H, W, C float) with the given padding: a few named 2-D maps."""
    window = layers.window(layer)
    if window.computes == "convolution":
        windows = _windows(image, window, padding, 0.0)
        return [(name, np.einsum("ijhwc,hwc->ij", windows, kernel))
                for name, kernel in edge_kernels(window.size[0], window.size[1], image.shape[2])]
    if window.computes == "max":
        windows = _windows(image, window, padding, -np.inf)
        return [(t("ui_padding.map.max"), windows.max(axis=(2, 3))[..., 0])]
    windows = _windows(image, window, padding, np.nan)
    with np.errstate(invalid="ignore"):
        return [(t("ui_padding.map.mean"), np.nanmean(windows, axis=(2, 3))[..., 0])]


# --- drawing ----------------------------------------------------------------------------------------------------

def _to_rgb(image: np.ndarray) -> np.ndarray:
    array = np.clip(image, 0, 255).astype(np.uint8)
    return np.repeat(array, 3, axis=2) if array.shape[2] == 1 else array[..., :3]


def padding_picture(image: np.ndarray, layer: dict, padding: str, target: int = 300) -> Image.Image:
    """The input upscaled, with the zero border of "same" (pink) or the unreached edge of "valid" (orange), and
    the first window (blue)."""
    window = layers.window(layer)
    height, width = image.shape[:2]
    (top, bottom), (left, right) = _borders(window, image, padding)
    full_h, full_w = height + top + bottom, width + left + right
    cell = max(2, target // max(full_h, full_w))
    canvas = np.zeros((full_h, full_w, 3), dtype=np.uint8)
    canvas[top:top + height, left:left + width] = _to_rgb(image)
    picture = Image.fromarray(canvas).resize((full_w * cell, full_h * cell), Image.Resampling.NEAREST)
    draw = ImageDraw.Draw(picture, "RGBA")
    # the zero border: hatched cells with a solid outline
    for y in range(full_h):
        for x in range(full_w):
            if top <= y < top + height and left <= x < left + width:
                continue
            x0, y0 = x * cell, y * cell
            draw.rectangle([x0, y0, x0 + cell - 1, y0 + cell - 1], fill=(*PAD_COLOUR, 70), outline=(*PAD_COLOUR, 160))
    if padding == "same" and (top or bottom or left or right):
        draw.rectangle([left * cell, top * cell, (left + width) * cell - 1, (top + height) * cell - 1],
                       outline=(255, 255, 255, 200), width=1)
    if padding == "valid":
        drop_h, drop_w = window.valid_dropped(height, width)
        if drop_h and drop_h < height:
            draw.rectangle([0, (height - drop_h) * cell, width * cell - 1, height * cell - 1],
                           fill=(*DROPPED_COLOUR, 90))
        if drop_w and drop_w < width:
            draw.rectangle([(width - drop_w) * cell, 0, width * cell - 1, height * cell - 1],
                           fill=(*DROPPED_COLOUR, 90))
    span = window.span
    draw.rectangle([0, 0, span[1] * cell - 1, span[0] * cell - 1], outline=(*WINDOW_COLOUR, 255), width=3)
    return picture


def map_picture(values: np.ndarray, target: int = 140) -> Image.Image:
    finite = np.nan_to_num(values.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    low, high = float(finite.min()), float(finite.max())
    scaled = np.zeros_like(finite) if high - low < 1e-9 else (finite - low) / (high - low)
    picture = Image.fromarray((scaled * 255).astype(np.uint8), "L")
    cell = max(1, target // max(values.shape))
    return picture.resize((values.shape[1] * cell, values.shape[0] * cell), Image.Resampling.NEAREST)


# --- the sample image -------------------------------------------------------------------------------------------

def _class_folders(dataset: Path) -> list[Path]:
    base = dataset / "Train" if (dataset / "Train").is_dir() else dataset
    return sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))


def _files(folder: Path, limit: int = 50) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[:limit]
    except OSError:
        return []


def sample_image(height: int, width: int, channels: int) -> tuple[np.ndarray, str]:
    """The chosen sample as the network's input would be (H, W, C float 0..255), and where it comes from."""
    dataset = session.dataset()
    picture = None
    source = ""
    if dataset and Path(dataset).is_dir():
        folders = _class_folders(Path(dataset))
        if folders:
            left, right = st.columns(2)
            folder = left.selectbox(t("ui_padding.sample.class"), folders, key="pad_class",
                                    format_func=lambda p: p.name)
            files = _files(folder)
            if files:
                index = right.number_input(t("ui_padding.sample.number"), 1, len(files), 1, key="pad_index") - 1
                try:
                    with Image.open(files[index]) as opened:
                        picture = opened.copy()
                    source = f"{folder.name}/{files[index].name}"
                except OSError:
                    st.warning(t("ui_padding.sample.unreadable", file=files[index].name))
    if picture is None:
        from lab.data import sample_digits

        picture = Image.fromarray(sample_digits.render_digit("3", np.random.default_rng(3)))
        source = t("ui_padding.sample.generated")
    picture = picture.convert("L" if channels == 1 else "RGB")
    if picture.size != (width, height):
        picture = picture.resize((width, height), Image.Resampling.BILINEAR)
    array = np.asarray(picture, dtype=np.float32)
    if array.ndim == 2:
        array = array[:, :, None]
    return array, source


# --- training both ----------------------------------------------------------------------------------------------

def twin(spec: dict, index: int, everywhere: bool) -> tuple[dict, dict]:
    """(same version, valid version) of the spec: the chosen layer, or every sliding layer, set to each padding."""
    sliding = layers.sliding_types()
    versions = []
    for padding in ("same", "valid"):
        version = copy.deepcopy(spec)
        for position, layer in enumerate(version["layers"]):
            if position == index or (everywhere and layer.get("type") in sliding):
                layer["padding"] = padding
        version["name"] = f"{spec.get('name') or 'cnn'}-{padding}"
        versions.append(version)
    return versions[0], versions[1]


def _train_both(same: dict, valid: dict, epochs: int) -> list:
    from lab.train.job import manager

    jobs = []
    for padding, version in (("same", same), ("valid", valid)):
        config = session.train_config(version, epochs=int(epochs), name=f"padding {padding}", owner=identity.owner())
        jobs.append(manager().submit(config))
    return jobs


def train_section(spec: dict, index: int) -> None:
    st.subheader(t("ui_padding.train.title"))
    st.caption(t("ui_padding.train.caption"))
    left, right = st.columns([2, 1])
    scopes = {scope: t(key) for scope, key in SCOPES.items()}
    everywhere = left.radio(t("ui_padding.scope.label"), list(scopes), key="pad_scope", horizontal=True,
                            format_func=scopes.get) == "every"
    epochs = right.number_input("epochs", 1, 100, 5, key="pad_epochs")
    same, valid = twin(spec, index, everywhere)
    problems = []
    for name, version in (("same", same), ("valid", valid)):
        report = session.check(version).report
        problems += [t("ui_padding.train.version_problem", padding=name, problem=p.message) for p in report.errors]
    for problem in problems:
        st.error(problem, icon="⛔")
    dataset = session.dataset()
    if not dataset:
        st.info(t("ui_padding.train.no_dataset"))
    submitted = st.button(t("ui_padding.train.button"), key="pad_train", type="primary",
                          disabled=bool(problems) or not dataset, icon=":material/compare_arrows:")
    if submitted:
        try:
            jobs = _train_both(same, valid, epochs)
        except ImportError:
            st.error(t("ui_padding.train.unavailable"))
        except LabError as error:
            st.error(str(error))
        else:
            st.session_state[SUBMITTED] = [job.id for job in jobs]
    if isinstance(st.session_state.get(SUBMITTED), list):
        twins_progress()


def _twins() -> list[tuple[str, object]]:
    """(padding, snapshot) of the two jobs "Train both" started, those the manager still knows."""
    from lab.train.job import manager

    found = []
    for padding, job_id in zip(("same", "valid"), st.session_state.get(SUBMITTED) or []):
        job = manager().get(job_id, identity.owner())
        if job is not None:
            found.append((padding, job.snapshot()))
    return found


def _progress(snap) -> tuple[float, str]:
    from lab.train.status import ACTIVE

    if snap.status == "queued":
        return 0.0, t("ui_padding.train.waiting")
    if snap.status in ACTIVE:
        within = snap.batch / snap.batches if snap.batches else 0.0
        done = ((max(snap.epoch, 1) - 1) + within) / snap.epochs if snap.epochs else 0.0
        return min(max(done, 0.0), 1.0), t("ui_padding.train.epoch", epoch=max(snap.epoch, 1), epochs=snap.epochs)
    accuracy = max((row.get("val_accuracy") for row in snap.history
                    if isinstance(row.get("val_accuracy"), (int, float))), default=None)
    words = (t("ui_padding.train.done_accuracy", accuracy=accuracy) if accuracy is not None and snap.status ==
             "finished" else t("ui_padding.train.done", status=snap.status))
    return 1.0 if snap.status == "finished" else min(len(snap.history) / max(snap.epochs, 1), 1.0), words


def _compare(run_ids: list[str]) -> None:
    st.session_state[COMPARE] = run_ids
    session.switch_to("runs")


def twins_progress() -> None:
    """Both runs' progress, every second while they train; then a way to the Runs page's comparison."""
    from lab.train.status import ACTIVE

    twins = _twins()
    active = any(snap.status in ACTIVE for _, snap in twins)

    @st.fragment(run_every=1.0 if active else None)
    def live() -> None:
        current = _twins()
        for padding, snap in current:
            fraction, words = _progress(snap)
            st.progress(fraction, text=f'padding "{padding}" · {words}')
        if any(snap.status in ACTIVE for _, snap in current):
            st.caption(t("ui_padding.train.queued"))
            if not active:
                st.rerun()
            return
        if active:
            st.rerun(scope="app")  # both ended: redraw once, without the timer
        runs = [Path(snap.run_dir).name for _, snap in current if snap.run_dir]
        if len(runs) == 2:
            st.success(t("ui_padding.train.finished"), icon="✅")
            if st.button(t("ui_padding.train.compare"), key="pad_compare", icon=":material/compare_arrows:"):
                _compare(runs)

    live()


# --- the page ---------------------------------------------------------------------------------------------------

def render() -> None:
    session.ensure_dataset()
    st.title(t("ui_padding.title"))
    st.markdown(t("ui_padding.intro"))
    spec = session.network()
    table = session.check().table
    sliding = layers.sliding_types()
    candidates = [i for i, layer in enumerate(spec["layers"]) if table is not None and layer.get("type") in sliding
                  and i < len(table.rows) and table.rows[i].input_shape is not None
                  and len(table.rows[i].input_shape) == 3]
    if not candidates:
        st.warning(t("ui_padding.no_sliding_layer"))
        tf_loader.start()
        return
    if st.session_state.get("pad_layer") not in candidates:
        st.session_state["pad_layer"] = candidates[0]
    pick_col, image_col = st.columns([1, 1])
    names = {i: f"{i + 1}. {spec['layers'][i]['type']} — {layers.summary(spec['layers'][i])}" for i in candidates}
    index = pick_col.selectbox(t("ui_padding.layer"), candidates, key="pad_layer", format_func=names.get)
    layer = spec["layers"][index]
    in_shape = table.rows[index].input_shape
    with image_col:
        first = index == candidates[0] and all(LAYER_TYPES[spec["layers"][j]["type"]].keeps_picture
                                               for j in range(index))
        height, width, channels = in_shape
        image, source = sample_image(height, width, min(channels, 3) if first else 1)
    if first:
        st.caption(t("ui_padding.input_first", number=index + 1, shape=widgets.shape_text(in_shape), source=source))
    else:
        st.caption(t("ui_padding.input_later", number=index + 1, shape=widgets.shape_text(in_shape), source=source,
                     size=f"{height} × {width}"))

    columns = st.columns(2, gap="large")
    for column, padding in zip(columns, ("same", "valid")):
        version = copy.deepcopy(layer)
        version["padding"] = padding
        trial = copy.deepcopy(spec)
        trial["layers"][index] = version
        row = session.check(trial).table.rows[index]
        with column, st.container(border=True, key=f"pad_box_{padding}"):
            current = f" :blue-badge[{t('ui_padding.yours')}]" if layer.get("padding", "valid") == padding else ""
            st.markdown(f"#### padding = \"{padding}\"{current}")
            if row.error:
                st.error(row.error, icon="⛔")
                continue
            st.markdown(t("ui_padding.output", shape=widgets.shape_text(row.output_shape))
                        + f"  \n`{row.shape_formula}`")
            st.image(padding_picture(image, layer, padding),
                     caption=t("ui_padding.picture.same" if padding == "same" else "ui_padding.picture.valid"),
                     width=320)
            try:
                maps = feature_maps(image, layer, padding)
            except LabError as error:
                st.error(str(error))
                continue
            cells = st.columns(len(maps))
            for cell, (name, values) in zip(cells, maps):
                cell.image(map_picture(values), caption=f"{name} · {values.shape[0]}×{values.shape[1]}",
                           width="stretch")
    if layers.window(layer).computes == "convolution":
        st.caption(t("ui_padding.filters_note"))
    train_section(spec, index)
    tf_loader.start()
