"""Inside the network: feature maps, filters, saliency and the augmentation preview, drawn from ``lab.explain``.

Shared by the pages. Each view draws into the current container; its TensorFlow work is cached per model and input,
so a rerun of the page redraws it without computing again. The public functions:

    look_inside(model, x, table, class_names, key)      a closed expander; opened, feature maps and saliency in tabs
    feature_maps_view(model, x, table, key)             the input as the model receives it, then one grid per
                                                        Conv2D / pooling layer headed by its output shape and range
    filters_view(run_dir, model, key)                   every Conv2D's filters; before and after training when the
                                                        run kept its first weights
    saliency_view(model, x, image, class_names, key)    Grad-CAM and the input gradient, overlaid on the image, for
                                                        the guess or for a class the person picks ("why not 3?")
    augmentation_view(spec, sample, key)                the spec's Random* / Rescaling / Resizing layers applied to
                                                        one sample eight times
    augmentation_section(spec, key)                     a closed expander with a dataset sample picker around
                                                        ``augmentation_view`` (the Architecture page)

``model`` is a Keras model; ``x`` the array it receives, (1, H, W, C) or (H, W, C), values as
``lab.predict.prepare`` gives them (0..255); ``table`` the run spec's shape table (``lab.shapes.table(spec)``) or
None, whose output shapes head the layers; ``key`` a prefix that keeps the widget keys of each place apart
("predict_inside_0", "runs_wrong_3"). The views themselves open no expander, so a caller may put them in its own:
``with st.expander(label, key=k, on_change="rerun") as box:`` and draw only ``if box.open``, which keeps the page
free of TensorFlow work until the person asks.
"""

from __future__ import annotations

import json
import math

import numpy as np
import streamlit as st

from lab import i18n
from lab.errors import LabError
from lab.explain import picture
from lab.i18n import t
from lab.ui import session, widgets

MAX_CHANNELS = 32  # channels shown per layer; the caption says when there are more
COLUMNS = 8        # small images per row of a feature-map grid
CELL = 48          # pixels per feature map in a grid
WIDEST = 560       # pixels: a grid of large maps (a photo model's) is shown no wider than this
SHOWN = 168        # pixels: the saliency pictures are enlarged to about this size
INPUT_SHOWN = 112  # pixels: the input above the feature maps
AUGMENTED = 8      # pictures in the augmentation preview
AUGMENT_SHOWN = 84  # pixels per augmented picture: four to a row in the layer editor
FRAME = 3          # pixels of transparent margin around each augmented picture
AUGMENTING = ("RandomRotation", "RandomFlip", "RandomTranslation", "RandomZoom", "RandomBrightness", "RandomContrast")
LAYER_WORDS = {"Conv2D": "ui_inside.maps.conv", "MaxPooling2D": "ui_inside.maps.max_pool",
               "AveragePooling2D": "ui_inside.maps.average_pool"}


# --- pictures ----------------------------------------------------------------------------------------------------


def batch(x) -> np.ndarray:
    """``x`` as the (1, H, W, C) float32 batch a model takes."""
    array = np.asarray(x, dtype=np.float32)
    return array[None] if array.ndim == 3 else array


def enlarged(image, target: int = SHOWN):
    """A small picture scaled up by a whole factor to about ``target`` pixels, pixel by pixel."""
    from PIL import Image

    width, height = image.size
    factor = max(1, target // max(width, height, 1))
    if factor == 1:
        return image
    return image.resize((width * factor, height * factor), Image.NEAREST)


def framed(image, margin: int = FRAME):
    """``image`` with a transparent margin, so pictures shown side by side keep a gap between them."""
    from PIL import Image

    out = Image.new("RGBA", (image.width + 2 * margin, image.height + 2 * margin), (0, 0, 0, 0))
    out.paste(image.convert("RGBA"), (margin, margin))
    return out


def _model_key(model) -> str:
    """What tells cached results of two models apart: the object (kept by the pages' model cache) and its name."""
    return f"{id(model)}:{getattr(model, 'name', '')}"


def _shape_text(shape) -> str:
    return widgets.shape_text(tuple(int(v) for v in shape))


def _range_text(low: float, high: float) -> str:
    return t("ui_inside.range", low=_number(low), high=_number(high))


def _number(value: float) -> str:
    value = float(value)
    if value == 0 or not math.isfinite(value):
        return "0" if value == 0 else str(value)
    return i18n.number(value, ".3g" if 1e-3 <= abs(value) < 1e4 else ".2e")


def _table_shape(table, index: int, fallback) -> tuple[int, ...]:
    """The output shape of layer ``index`` (1-based) in the shape table, or ``fallback`` when the table has none."""
    rows = getattr(table, "rows", None) or []
    if 0 < index <= len(rows) and rows[index - 1].output_shape:
        return tuple(int(v) for v in rows[index - 1].output_shape)
    return tuple(int(v) for v in fallback)


# --- cached work (TensorFlow runs only here) -------------------------------------------------------------------


@st.cache_data(max_entries=16, show_spinner=False)
def _feature_maps(_model, model_key: str, x: np.ndarray) -> list:
    from lab import explain

    return explain.feature_maps(_model, x)


@st.cache_data(max_entries=32, show_spinner=False)
def _saliency(_model, model_key: str, x: np.ndarray, class_index: int):
    from lab import explain

    return explain.saliency(_model, x, class_index)


@st.cache_data(max_entries=16, show_spinner=False)
def _probabilities(_model, model_key: str, x: np.ndarray, classes: int) -> list[float]:
    from lab import explain

    found = [float(value) for value in explain.probabilities(_model, x)]
    if len(found) != classes:
        raise LabError(t("predict.outputs_mismatch", outputs=len(found), classes=classes))
    return found


@st.cache_data(max_entries=8, show_spinner=False)
def _filters(_model, model_key: str) -> list:
    from lab import explain

    return explain.filters(_model)


@st.cache_data(max_entries=8, show_spinner=False)
def _first_filters(run_dir: str, model_key: str) -> list | None:
    from lab import explain

    return explain.first_filters(run_dir)


@st.cache_data(max_entries=16, show_spinner=False)
def _augmented(spec_json: str, sample: np.ndarray, count: int, seed: int) -> list:
    from lab import explain

    return explain.augment(json.loads(spec_json), sample, count=count, seed=seed)


# --- feature maps -----------------------------------------------------------------------------------------------


def feature_maps_view(model, x, table, key: str) -> None:
    """The input as ``model`` receives it, then every Conv2D / pooling layer's outputs as a grid of small images.

    Each layer is headed by its number and output shape from ``table`` (the spec's shape table, as ``lab shapes``
    numbers and writes it) and by its activation range; all maps of one layer share that range, black to white.
    """
    from lab import explain

    x = batch(x)
    try:
        with st.spinner(t("ui_inside.working")):
            layers = _feature_maps(model, _model_key(model), x)
    except LabError as error:
        st.info(str(error))
        return
    st.caption(t("ui_inside.maps.intro"))
    seen = x[0]
    low, high = float(seen.min()), float(seen.max())
    left, right = st.columns([1, 3], vertical_alignment="center")
    left.markdown(f"**{t('ui_inside.maps.input')}**  \n`{_shape_text(seen.shape)}`")
    left.caption(_range_text(low, high))
    shown = enlarged(picture(seen), INPUT_SHOWN)
    right.image(shown, width=min(shown.width, INPUT_SHOWN))
    if not layers:
        st.info(t("ui_inside.maps.none"))
        return
    for layer in layers:
        shape = _table_shape(table, layer.index, layer.output_shape)
        channels = layer.maps.shape[-1]
        maps = layer.maps[:, :, :MAX_CHANNELS]
        grid = explain.grid_image(maps, layer.low, layer.high, columns=min(COLUMNS, maps.shape[-1]), cell=CELL)
        left, right = st.columns([1, 3], vertical_alignment="top")
        with left:
            st.markdown(f"**{layer.index} · {layer.type}**  \n`{_shape_text(shape)}`")
            st.caption(_range_text(layer.low, layer.high))
            st.caption(t(LAYER_WORDS.get(layer.type, "ui_inside.maps.conv")))
        caption = t("ui_inside.maps.caption", number=layer.index, type=layer.type, shape=_shape_text(shape))
        if channels > MAX_CHANNELS:
            caption += " · " + t("ui_inside.maps.first_channels", shown=MAX_CHANNELS, count=channels)
        right.image(grid, caption=caption, width=min(grid.width, WIDEST))


# --- filters ----------------------------------------------------------------------------------------------------


def filters_view(run_dir, model, key: str) -> None:
    """Every Conv2D's filters as small images (per input channel for the first), before and after training when
    the run in ``run_dir`` kept its first weights (``run_dir`` None: after only)."""
    from lab import explain

    try:
        with st.spinner(t("ui_inside.working")):
            after = _filters(model, _model_key(model))
            before = _first_filters(str(run_dir), _model_key(model)) if run_dir else None
    except LabError as error:
        st.info(str(error))
        return
    if not after:
        st.info(t("ui_inside.filters.none"))
        return
    st.caption(t("ui_inside.filters.intro"))
    if not before:
        st.caption(t("ui_inside.filters.no_first"))
    first = {item.index: item.kernels for item in before or []}
    for item in after:
        kh, kw, channels, count = item.kernels.shape
        st.markdown(f"**{item.index} · Conv2D** · "
                    + t("ui_inside.filters.heading", count=count, height=kh, width=kw, channels=channels))
        if item.index in first:
            old, new = st.columns(2)
            for column, kernels, caption in ((old, first[item.index], "ui_inside.filters.before"),
                                             (new, item.kernels, "ui_inside.filters.after")):
                drawn = explain.filters_image(kernels)
                column.image(drawn, caption=t(caption), width=min(drawn.width, WIDEST // 2))
        else:
            drawn = explain.filters_image(item.kernels)
            st.image(drawn, caption=t("ui_inside.filters.after"), width=min(drawn.width, WIDEST))


# --- saliency ---------------------------------------------------------------------------------------------------


def _class_pick(key: str, x: np.ndarray, guess: int, count: int) -> int:
    """The class to explain: the guess, until the person picks another for this input."""
    pick, stamp = f"{key}_class", f"{key}_class_for"
    fingerprint = hash(x.tobytes())
    if st.session_state.get(stamp) != fingerprint or st.session_state.get(pick) not in range(count):
        st.session_state[pick] = guess
        st.session_state[stamp] = fingerprint
    return st.session_state[pick]


def saliency_view(model, x, image, class_names, key: str) -> None:
    """Where the network looked: Grad-CAM on the last Conv2D and the gradient of a class's probability over the
    input, overlaid on ``image`` (None: the input as the model receives it), for the guess or a class the person
    picks ("why not …?")."""
    from PIL import Image

    from lab import explain

    x = batch(x)
    names = [str(name) for name in class_names]
    try:
        probabilities = _probabilities(model, _model_key(model), x, len(names))
    except LabError as error:
        st.info(str(error))
        return
    guess = int(np.argmax(probabilities))
    _class_pick(key, x, guess, len(names))
    labels = {number: (t("ui_inside.saliency.option_guess", name=name, probability=probabilities[number])
                       if number == guess else
                       t("ui_inside.saliency.option", name=name, probability=probabilities[number]))
              for number, name in enumerate(names)}
    choose, words = st.columns([2, 3], vertical_alignment="bottom")
    picked = int(choose.selectbox(t("ui_inside.saliency.pick"), list(labels), key=f"{key}_class",
                                  format_func=labels.get, help=t("ui_inside.saliency.pick_help")))
    name = names[picked]
    if picked == guess:
        words.caption(t("ui_inside.saliency.why", name=name, probability=probabilities[guess]))
    else:
        words.caption(t("ui_inside.saliency.why_not", name=name, probability=probabilities[picked],
                        guess=names[guess]))
    try:
        with st.spinner(t("ui_inside.working")):
            found = _saliency(model, _model_key(model), x, picked)
    except LabError as error:
        st.info(str(error))
        return
    height, width = found.gradient.shape
    base = x[0] if image is None else image
    if not isinstance(base, Image.Image):
        base = picture(base)
    if base.size != (width, height):
        base = base.resize((width, height))
    shown = [(base.convert("RGB"), t("ui_inside.saliency.input"))]
    if found.layer_index is not None:
        shown.append((explain.overlay(base, found.gradcam), t("ui_inside.saliency.gradcam", number=found.layer_index)))
    shown.append((explain.overlay(base, found.gradient), t("ui_inside.saliency.gradient")))
    for column, (overlaid, caption) in zip(st.columns(3), shown):
        overlaid = enlarged(overlaid, SHOWN)
        column.image(overlaid, caption=caption, width=min(overlaid.width, SHOWN))
    st.caption(t("ui_inside.saliency.no_conv" if found.layer_index is None else "ui_inside.saliency.how"))


# --- both, for one input ----------------------------------------------------------------------------------------


def look_inside(model, x, table, class_names, key: str, image=None) -> None:
    """A closed expander; opened, the feature maps and the saliency of ``x`` in two tabs. No TensorFlow work while
    it stays closed."""
    with st.expander(t("ui_inside.look_inside"), icon=":material/visibility:", key=key, on_change="rerun") as box:
        if not box.open:
            return
        maps, why = st.tabs([t("ui_inside.tab.maps"), t("ui_inside.tab.saliency")])
        with maps:
            feature_maps_view(model, x, table, key)
        with why:
            saliency_view(model, x, image, class_names, key)


# --- augmentation -----------------------------------------------------------------------------------------------


def picture_layers(spec: dict) -> list[tuple[int, dict]]:
    """(1-based number, layer) of the spec's leading Rescaling / Resizing / Random* layers: the ones the preview
    applies (``lab.explain.augment`` stops at the first layer that no longer keeps a picture)."""
    from lab import layers as catalogue
    from lab.explain import PICTURE_TYPES

    found = []
    for number, layer in enumerate(spec.get("layers") or [], start=1):
        kind = catalogue.LAYER_TYPES.get(layer.get("type")) if isinstance(layer, dict) else None
        if kind is None or not kind.keeps_picture:
            break
        if kind.name in PICTURE_TYPES:
            found.append((number, layer))
    return found


def augmenting_layers(spec: dict) -> list[tuple[int, dict]]:
    """(1-based number, layer) of the Random* layers the preview applies."""
    return [(number, layer) for number, layer in picture_layers(spec) if layer["type"] in AUGMENTING]


def augmentation_view(spec: dict, sample, key: str) -> None:
    """The spec's Random* layers (with its Rescaling / Resizing) applied to ``sample`` eight times, as training
    would: ``sample`` is one (H, W, C) image as the network's input receives it (0..255). "Roll again" draws new
    random values."""
    from lab import layers as catalogue

    if not augmenting_layers(spec):
        st.info(t("ui_inside.augment.none"))
        return
    seed_key = f"{key}_seed"
    seed = int(st.session_state.get(seed_key, 0))
    sample = np.asarray(sample, dtype=np.float32)
    try:
        with st.spinner(t("ui_inside.working")):
            images = _augmented(json.dumps(spec, sort_keys=True), sample, AUGMENTED, seed)
    except LabError as error:
        st.info(str(error))
        return
    low = min(float(image.min()) for image in images)
    high = max(float(image.max()) for image in images)
    scale_high = 1.0 if high <= 1.0 + 1e-6 and low >= -1e-6 else max(high, 255.0)
    scale_low = min(low, 0.0)
    named = ", ".join(f"{number} · {layer['type']}" + (f" ({summary})" if (summary := catalogue.summary(layer))
                                                        else "") for number, layer in picture_layers(spec))
    original, words = st.columns([1, 2], vertical_alignment="top")
    first = enlarged(picture(sample), AUGMENT_SHOWN)
    original.image(first, width=min(first.width, AUGMENT_SHOWN),
                   caption=t("ui_inside.augment.original", shape=_shape_text(sample.shape)))
    words.caption(t("ui_inside.augment.intro", layers=named))
    words.caption(t("ui_inside.augment.values", shape=_shape_text(images[0].shape), range=_range_text(low, high)))
    versions = [framed(enlarged(picture(image, scale_low, scale_high), AUGMENT_SHOWN)) for image in images]
    st.image(versions, caption=[t("ui_inside.augment.one", number=number) for number in range(1, len(images) + 1)],
             width=min(versions[0].width, AUGMENT_SHOWN + 2 * FRAME))
    st.button(t("ui_inside.augment.again"), key=f"{key}_again", icon=":material/casino:",
              on_click=lambda: st.session_state.__setitem__(seed_key, seed + 1),
              help=t("ui_inside.augment.again_help"))


def dataset_sample(info, cls: str, params: dict) -> np.ndarray | None:
    """The first training image of class ``cls`` as the network's input receives it (the dataset's loading
    parameters: image size and colour mode), or None when the class has no readable image."""
    from lab.data import summary
    from lab.data.loading import decode

    split = next(iter(info.files), None)
    files = summary.sample_paths(info, per_class=1, split=split).get(cls) or []
    size = params.get("image_size") or info.image_size
    mode = params.get("color_mode") or info.color_mode
    for file in files:
        try:
            return decode(file, size, mode).astype(np.float32)
        except (OSError, ValueError):
            continue
    return None


def augmentation_section(spec: dict, key: str) -> None:
    """A closed expander; opened, ``augmentation_view`` on a sample of the chosen dataset (the class picked)."""
    from lab.ui import data_folders

    with st.expander(t("ui_inside.augment.title"), icon=":material/auto_awesome_motion:", key=key,
                     on_change="rerun") as box:
        if not box.open:
            return
        if not augmenting_layers(spec):
            st.info(t("ui_inside.augment.none"))
            return
        info = data_folders.info_for(session.dataset())
        if info is None or not info.classes:
            st.info(t("ui_inside.augment.no_dataset"))
            return
        classes = list(info.classes)
        if st.session_state.get(f"{key}_class") not in classes:
            st.session_state[f"{key}_class"] = classes[0]
        cls = st.selectbox(t("ui_inside.augment.class"), classes, key=f"{key}_class")
        sample = dataset_sample(info, cls, session.load_params())
        if sample is None:
            st.info(t("ui_inside.augment.no_sample", cls=cls))
            return
        augmentation_view(spec, sample, key)
