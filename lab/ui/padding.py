"""Padding page: what "same" and "valid" do to one real image, side by side, and a twin training to compare.

The geometry and the feature maps are computed with numpy (no TensorFlow): the output size comes from
``lab.shapes`` (the same arithmetic Keras uses), the zero border follows TensorFlow's rule (the extra
row or column of an odd padding goes at the bottom/right).
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import streamlit as st
from PIL import Image, ImageDraw

from lab import spec as specs
from lab.errors import LabError
from lab.ui import session, tf_loader, widgets

SLIDING = ("Conv2D", "MaxPooling2D", "AveragePooling2D")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}
PAD_COLOUR = (255, 64, 160)
WINDOW_COLOUR = (0, 200, 255)
DROPPED_COLOUR = (255, 170, 0)
SUBMITTED = "_pad_submitted"


# --- the arithmetic ---------------------------------------------------------------------------------------------

def geometry(layer: dict) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    """(window, strides, dilation) of a Conv2D or pooling layer, as Keras reads them."""
    if layer["type"] == "Conv2D":
        return (specs.ints(layer["kernel_size"]), specs.ints(layer.get("strides", 1)),
                specs.ints(layer.get("dilation_rate", 1)))
    window = specs.ints(layer.get("pool_size", 2))
    strides = specs.ints(layer["strides"]) if layer.get("strides") is not None else window
    return window, strides, (1, 1)


def same_padding(size: int, window: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """(before, after) zeros that "same" adds on one axis, as TensorFlow does (extra one after)."""
    span = (window - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + span - size, 0)
    return total // 2, total - total // 2


def valid_dropped(size: int, window: int, stride: int, dilation: int = 1) -> int:
    """How many trailing rows (or columns) no "valid" window reaches."""
    span = (window - 1) * dilation + 1
    if size < span:
        return size
    out = (size - span) // stride + 1
    return size - ((out - 1) * stride + span)


def edge_kernels(height: int, width: int, channels: int, count: int = 4, seed: int = 0) -> list[tuple[str, np.ndarray]]:
    """A few filters to show what a Conv2D computes: edge detectors for 3×3, random ones otherwise."""
    if (height, width) == (3, 3):
        sobel_x = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32)
        named = [("vertical edges", sobel_x), ("horizontal edges", sobel_x.T),
                 ("outline (Laplacian)", np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float32)),
                 ("blur", np.full((3, 3), 1 / 9, dtype=np.float32))]
    else:
        rng = np.random.default_rng(seed)
        named = [(f"random filter {i + 1}", rng.normal(size=(height, width)).astype(np.float32))
                 for i in range(count)]
    return [(name, np.repeat(kernel[:, :, None], channels, axis=2) / channels) for name, kernel in named[:count]]


def _pad(image: np.ndarray, layer: dict, padding: str, fill: float) -> np.ndarray:
    window, strides, dilation = geometry(layer)
    if padding != "same":
        return image
    top, bottom = same_padding(image.shape[0], window[0], strides[0], dilation[0])
    left, right = same_padding(image.shape[1], window[1], strides[1], dilation[1])
    return np.pad(image, ((top, bottom), (left, right), (0, 0)), constant_values=fill)


def _windows(image: np.ndarray, layer: dict, padding: str, fill: float) -> np.ndarray:
    """Every window position: array (out_h, out_w, span_h, span_w, channels)."""
    window, strides, dilation = geometry(layer)
    padded = _pad(image, layer, padding, fill)
    span = ((window[0] - 1) * dilation[0] + 1, (window[1] - 1) * dilation[1] + 1)
    if padded.shape[0] < span[0] or padded.shape[1] < span[1]:
        raise LabError(f"The {window[0]}×{window[1]} window does not fit a {image.shape[0]}×{image.shape[1]} "
                       "input with padding 'valid'.")
    view = np.lib.stride_tricks.sliding_window_view(padded, span, axis=(0, 1))  # (H', W', C, sh, sw)
    view = view[::strides[0], ::strides[1], :, ::dilation[0], ::dilation[1]]
    return np.moveaxis(view, 2, -1)


def feature_maps(image: np.ndarray, layer: dict, padding: str) -> list[tuple[str, np.ndarray]]:
    """What the layer computes on ``image`` (H, W, C float) with the given padding: a few named 2-D maps."""
    if layer["type"] == "Conv2D":
        window, _, _ = geometry(layer)
        windows = _windows(image, layer, padding, 0.0)
        return [(name, np.einsum("ijhwc,hwc->ij", windows, kernel))
                for name, kernel in edge_kernels(window[0], window[1], image.shape[2])]
    if layer["type"] == "MaxPooling2D":
        windows = _windows(image, layer, padding, -np.inf)
        return [("max of each window", windows.max(axis=(2, 3))[..., 0])]
    windows = _windows(image, layer, padding, np.nan)
    with np.errstate(invalid="ignore"):
        return [("mean of each window", np.nanmean(windows, axis=(2, 3))[..., 0])]


# --- drawing ----------------------------------------------------------------------------------------------------

def _to_rgb(image: np.ndarray) -> np.ndarray:
    array = np.clip(image, 0, 255).astype(np.uint8)
    return np.repeat(array, 3, axis=2) if array.shape[2] == 1 else array[..., :3]


def padding_picture(image: np.ndarray, layer: dict, padding: str, target: int = 300) -> Image.Image:
    """The input upscaled, with the zero border of "same" (pink) or the unreached edge of "valid" (orange), and
    the first window (blue)."""
    window, strides, dilation = geometry(layer)
    height, width = image.shape[:2]
    if padding == "same":
        top, bottom = same_padding(height, window[0], strides[0], dilation[0])
        left, right = same_padding(width, window[1], strides[1], dilation[1])
    else:
        top = bottom = left = right = 0
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
        drop_h = valid_dropped(height, window[0], strides[0], dilation[0])
        drop_w = valid_dropped(width, window[1], strides[1], dilation[1])
        if drop_h and drop_h < height:
            draw.rectangle([0, (height - drop_h) * cell, width * cell - 1, height * cell - 1],
                           fill=(*DROPPED_COLOUR, 90))
        if drop_w and drop_w < width:
            draw.rectangle([(width - drop_w) * cell, 0, width * cell - 1, height * cell - 1],
                           fill=(*DROPPED_COLOUR, 90))
    span = ((window[0] - 1) * dilation[0] + 1, (window[1] - 1) * dilation[1] + 1)
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
            folder = left.selectbox("Class", folders, key="pad_class", format_func=lambda p: p.name)
            files = _files(folder)
            if files:
                index = right.number_input("Image number", 1, len(files), 1, key="pad_index") - 1
                try:
                    with Image.open(files[index]) as opened:
                        picture = opened.copy()
                    source = f"{folder.name}/{files[index].name}"
                except OSError:
                    st.warning(f"Cannot read {files[index].name}; showing a generated digit instead.")
    if picture is None:
        from lab.data import sample_digits

        picture = Image.fromarray(sample_digits.render_digit("3", np.random.default_rng(3)))
        source = "a generated digit (choose a dataset for real images)"
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
    versions = []
    for padding in ("same", "valid"):
        version = copy.deepcopy(spec)
        for position, layer in enumerate(version["layers"]):
            if position == index or (everywhere and layer.get("type") in SLIDING):
                layer["padding"] = padding
        version["name"] = f"{spec.get('name') or 'cnn'}-{padding}"
        versions.append(version)
    return versions[0], versions[1]


def _train_both(same: dict, valid: dict, epochs: int) -> list:
    from lab.train.job import manager

    jobs = []
    for padding, version in (("same", same), ("valid", valid)):
        config = session.train_config(version, epochs=int(epochs), name=f"padding {padding}")
        jobs.append(manager().submit(config))
    return jobs


def train_section(spec: dict, index: int) -> None:
    st.subheader("Train both and compare")
    st.caption("Trains two copies of your network that differ only in padding, one after the other, with the "
               "same seed and data. Compare their curves on the Runs page.")
    left, right = st.columns([2, 1])
    everywhere = left.radio("Change padding in", ["this layer only", "every Conv2D and pooling layer"],
                            key="pad_scope", horizontal=True) != "this layer only"
    epochs = right.number_input("epochs", 1, 100, 5, key="pad_epochs")
    same, valid = twin(spec, index, everywhere)
    problems = []
    for name, version in (("same", same), ("valid", valid)):
        report = session.check(version).report
        problems += [f"The “{name}” version: {p.message}" for p in report.errors]
    for problem in problems:
        st.error(problem, icon="⛔")
    dataset = session.dataset()
    if not dataset:
        st.info("Choose a dataset on the Dataset page first.")
    submitted = st.button("Train both", key="pad_train", type="primary", disabled=bool(problems) or not dataset,
                          icon=":material/compare_arrows:")
    if submitted:
        try:
            jobs = _train_both(same, valid, epochs)
        except ImportError:
            st.error("Training is not available in this installation; install the requirements and restart.")
        except LabError as error:
            st.error(str(error))
        else:
            st.session_state[SUBMITTED] = len(jobs)
    if st.session_state.get(SUBMITTED):
        st.success("Both trainings are queued: watch them on the Train page and compare them on the Runs page.",
                   icon="✅")


# --- the page ---------------------------------------------------------------------------------------------------

def render() -> None:
    session.ensure_dataset()
    st.title("Padding: same vs valid")
    st.markdown("A window (a Conv2D kernel or a pooling window) slides over the image. With **valid** it only "
                "goes where it fits, so the output shrinks. With **same** a border of zeros is added first, so "
                "(with stride 1) the output keeps the input's height and width.")
    spec = session.network()
    table = session.check().table
    candidates = [i for i, layer in enumerate(spec["layers"]) if table is not None and layer.get("type") in SLIDING
                  and i < len(table.rows) and table.rows[i].input_shape is not None
                  and len(table.rows[i].input_shape) == 3]
    if not candidates:
        st.warning("The current network has no Conv2D or pooling layer with an image input; add one on the "
                   "Architecture page.")
        tf_loader.start()
        return
    if st.session_state.get("pad_layer") not in candidates:
        st.session_state["pad_layer"] = candidates[0]
    pick_col, image_col = st.columns([1, 1])
    index = pick_col.selectbox(
        "Layer of your network", candidates, key="pad_layer",
        format_func=lambda i: f"{i + 1}. {spec['layers'][i]['type']} — {widgets.layer_summary(spec['layers'][i])}")
    layer = spec["layers"][index]
    in_shape = table.rows[index].input_shape
    with image_col:
        first = index == candidates[0] and all(spec["layers"][j]["type"] in ("Rescaling", "RandomTranslation",
                                                                                "RandomRotation", "RandomFlip",
                                                                                "RandomZoom", "Dropout")
                                               for j in range(index))
        height, width, channels = in_shape
        image, source = sample_image(height, width, min(channels, 3) if first else 1)
    if first:
        st.caption(f"Input to layer {index + 1}: {widgets.shape_text(in_shape)} — {source}.")
    else:
        st.caption(f"Layer {index + 1} gets {widgets.shape_text(in_shape)} feature maps from the layers before it; "
                   f"the picture is a stand-in: {source}, scaled to {height} × {width}.")

    columns = st.columns(2, gap="large")
    for column, padding in zip(columns, ("same", "valid")):
        version = copy.deepcopy(layer)
        version["padding"] = padding
        trial = copy.deepcopy(spec)
        trial["layers"][index] = version
        row = session.check(trial).table.rows[index]
        with column, st.container(border=True, key=f"pad_box_{padding}"):
            current = " :blue-badge[your network]" if layer.get("padding", "valid") == padding else ""
            st.markdown(f"#### padding = \"{padding}\"{current}")
            if row.error:
                st.error(row.error, icon="⛔")
                continue
            st.markdown(f"Output: **{widgets.shape_text(row.output_shape)}**  \n`{row.shape_formula}`")
            st.image(padding_picture(image, layer, padding),
                     caption=("pink: the zero border “same” adds · blue: the first window"
                              if padding == "same" else
                              "blue: the first window · orange: pixels no window reaches"),
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
    if layer["type"] == "Conv2D":
        st.caption("The maps use fixed example filters (edge detectors for 3×3) so the effect of the border is "
                   "visible; a trained network learns its own filters. Look at the edges of the “same” maps: "
                   "the zeros show up as a frame.")
    train_section(spec, index)
    tf_loader.start()
