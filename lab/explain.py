"""Inside a trained network: what each Conv2D and pooling layer makes of an input, what the filters learned, which
pixels decided a guess, and what the spec's augmentation does to a picture.

Layers are numbered as the shape table numbers them (``lab shapes``): 1 is the spec's first layer. The pictures
(``grid_image``, ``filters_image``, ``overlay``, ``picture``) are numpy and Pillow only; the functions that run a
model import TensorFlow when called.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from lab.errors import LabError
from lab.i18n import t
from lab.layers import LAYER_TYPES

MAP_TYPES = ("Conv2D", "MaxPooling2D", "AveragePooling2D")  # the layers whose outputs are still pictures
PICTURE_TYPES = ("Rescaling", "Resizing", "AutoContrast", "RandomRotation", "RandomFlip", "RandomTranslation",
                 "RandomZoom", "RandomBrightness", "RandomContrast")
SEPARATOR = 96  # grey level of the lines between the cells of a grid


@dataclass
class LayerMaps:
    """One Conv2D or pooling layer's output for one input: ``maps`` (H, W, C), its lowest and highest value."""

    index: int
    type: str
    output_shape: tuple[int, ...]
    maps: np.ndarray
    low: float
    high: float


@dataclass
class LayerFilters:
    """One Conv2D layer's kernels, (kh, kw, in_channels, filters)."""

    index: int
    kernels: np.ndarray


@dataclass
class Saliency:
    """Where the network looked for ``class_index``: Grad-CAM on the last Conv2D (``layer_index``; None and all
    zeros when the network has none) and the size of the input gradient, both (H, W) in 0..1 at the input's size."""

    class_index: int
    gradcam: np.ndarray
    gradient: np.ndarray
    layer_index: int | None


# --- running the model ------------------------------------------------------------------------------------------

@dataclass
class _Probes:
    """The sub-models of one model, built once: every map layer's output; the last Conv2D's output and the score."""

    map_layers: list[tuple[int, object]]
    maps: object | None
    last_conv: int | None
    scores: object
    head: object | None  # a Dense softmax/sigmoid head whose pre-activation is the score


_probes: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _probes_of(model) -> _Probes:
    found = _probes.get(model)
    if found is None:
        found = _probes[model] = _build_probes(model)
    return found


def _build_probes(model) -> _Probes:
    """Calls the layers once more on a fresh input, so every output below is a node of one graph (a model loaded
    from a file may hold its layers' first calls in another graph than the one its outputs come from)."""
    import keras

    inputs = keras.Input(shape=tuple(model.inputs[0].shape[1:]), dtype=model.inputs[0].dtype)
    outputs, tensor = [], inputs
    for layer in model.layers:
        tensor = layer(tensor)
        outputs.append(tensor)
    map_layers = [(index, layer) for index, layer in enumerate(model.layers, start=1)
                  if type(layer).__name__ in MAP_TYPES]
    maps = keras.Model(inputs, [outputs[index - 1] for index, _ in map_layers]) if map_layers else None
    convs = [index for index, layer in map_layers if type(layer).__name__ == "Conv2D"]
    last = model.layers[-1]
    head = last if (type(last).__name__ == "Dense" and len(outputs) > 1
                    and getattr(last.activation, "__name__", "") in ("softmax", "sigmoid")) else None
    score = outputs[-2] if head is not None else outputs[-1]
    conv_output = outputs[convs[-1] - 1] if convs else inputs
    return _Probes(map_layers, maps, convs[-1] if convs else None, keras.Model(inputs, [conv_output, score]), head)


def _batch(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x[None] if x.ndim == 3 else x


def feature_maps(model, x) -> list[LayerMaps]:
    """Every Conv2D and pooling layer's output for the first image of ``x`` (1, H, W, C), in one forward pass."""
    probes = _probes_of(model)
    if probes.maps is None:
        return []
    outputs = probes.maps(_batch(x), training=False)
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    found = []
    for (index, layer), output in zip(probes.map_layers, outputs):
        maps = np.asarray(output)[0].astype(np.float32, copy=False)
        found.append(LayerMaps(index, type(layer).__name__, tuple(int(v) for v in maps.shape), maps,
                               float(maps.min()), float(maps.max())))
    return found


def filters(model) -> list[LayerFilters]:
    """Every Conv2D layer's kernels."""
    return [LayerFilters(index, np.asarray(layer.kernel, dtype=np.float32))
            for index, layer in enumerate(model.layers, start=1) if type(layer).__name__ == "Conv2D"]


def first_filters(run_dir) -> list[LayerFilters] | None:
    """The run's Conv2D kernels before training, when the run kept its first weights; else None."""
    from lab.train import runs

    path = Path(run_dir) / runs.FIRST_WEIGHTS
    if not path.is_file():
        return None
    return filters(runs.load_model_file(path))


def probabilities(model, x) -> np.ndarray:
    """One probability per class for the first image of ``x``; a one-unit sigmoid head gives two (0 and 1)."""
    scores = np.asarray(model(_batch(x), training=False), dtype=np.float64)[0].reshape(-1)
    if scores.size == 1:
        return np.array([1.0 - scores[0], scores[0]])
    if scores.min() < 0 or abs(scores.sum() - 1.0) > 1e-3:  # logits
        scores = np.exp(scores - scores.max())
        scores /= scores.sum()
    return scores


def saliency(model, x, class_index: int) -> Saliency:
    """Grad-CAM on the last Conv2D and the input-gradient map for ``class_index`` (both (H, W) in 0..1).

    The score is the class's value before the head's softmax or sigmoid (a probability near 1 has almost no
    gradient left); a one-unit sigmoid head scores class 1 by its logit and class 0 by minus it.
    """
    import tensorflow as tf

    probes = _probes_of(model)
    x = tf.convert_to_tensor(_batch(x)[:1])
    with tf.GradientTape() as tape:
        tape.watch(x)
        conv, score = probes.scores(x, training=False)
        if probes.head is not None:
            score = tf.matmul(score, probes.head.kernel)
            if probes.head.bias is not None:
                score = score + probes.head.bias
        score = score[:, 0] * (1.0 if class_index else -1.0) if score.shape[-1] == 1 else score[:, class_index]
    conv_gradient, input_gradient = tape.gradient(score, [conv, x])
    height, width = int(x.shape[1]), int(x.shape[2])
    gradient = _unit(np.abs(np.asarray(input_gradient)[0]).max(axis=-1))
    if probes.last_conv is None:
        return Saliency(class_index, np.zeros((height, width), np.float32), gradient, None)
    weights = tf.reduce_mean(conv_gradient, axis=(1, 2), keepdims=True)
    cam = tf.nn.relu(tf.reduce_sum(conv * weights, axis=-1, keepdims=True))
    cam = tf.image.resize(cam, (height, width), method="bilinear")
    return Saliency(class_index, _unit(np.asarray(cam)[0, ..., 0]), gradient, probes.last_conv)


def _unit(values: np.ndarray) -> np.ndarray:
    """``values`` (none negative) divided by their largest, as float32; all zeros stay zeros."""
    values = np.asarray(values, dtype=np.float32)
    top = float(values.max()) if values.size else 0.0
    return values / top if top > 0 and math.isfinite(top) else np.zeros_like(values)


def augment(spec: dict, image, count: int = 8, seed: int = 0) -> list[np.ndarray]:
    """``count`` versions of ``image`` (H, W, C, as the network's input receives it) after the spec's leading
    Rescaling, Resizing and Random* layers in training mode, drawn from ``seed``: each is what the first
    layer after them receives (values as those layers leave them, e.g. 0..1 after ``Rescaling(1/255)``).
    """
    import keras

    from lab.build import layer_arguments

    layers = []
    for position, layer in enumerate(spec["layers"]):
        kind = LAYER_TYPES.get(layer.get("type"))
        if kind is None or not kind.keeps_picture:
            break
        if kind.name in PICTURE_TYPES:
            arguments = layer_arguments(layer)
            if "seed" in kind.args:
                arguments["seed"] = seed + position
            layers.append(getattr(keras.layers, kind.name)(**arguments))
    image = np.asarray(image, dtype=np.float32)
    batch = np.repeat((image[..., None] if image.ndim == 2 else image)[None], max(1, int(count)), axis=0)
    for layer in layers:
        batch = layer(batch, training=True)
    return list(np.asarray(batch, dtype=np.float32))


# --- pictures ---------------------------------------------------------------------------------------------------

def _levels(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """``values`` from low..high to grey levels 0..255 (uint8); a flat range is black."""
    if not high > low:
        return np.zeros(values.shape, np.uint8)
    return np.clip((values - low) * (255.0 / (high - low)), 0, 255).astype(np.uint8)


def _zoom(size: int, cell: int) -> int:
    """The whole-number nearest-neighbour scale that brings ``size`` pixels closest to ``cell``, at least 1."""
    return max(1, round(cell / max(1, size)))


def _tile(cells: list[np.ndarray], columns: int, gap: int = 2, fill=SEPARATOR) -> np.ndarray:
    """Cells of one size, ``columns`` to a row, separated by ``gap`` pixels of ``fill``."""
    height, width = cells[0].shape[:2]
    rows = math.ceil(len(cells) / columns)
    shape = (rows * height + (rows + 1) * gap, columns * width + (columns + 1) * gap, *cells[0].shape[2:])
    out = np.empty(shape, np.uint8)
    out[...] = fill
    for number, cell in enumerate(cells):
        row, column = divmod(number, columns)
        top, left = gap + row * (height + gap), gap + column * (width + gap)
        out[top:top + height, left:left + width] = cell
    return out


def default_columns(count: int) -> int:
    """Columns for ``count`` cells: a near-square grid of at most 8 columns."""
    return max(1, min(count, 8, math.ceil(math.sqrt(count))))


def grid_image(maps, low: float | None = None, high: float | None = None, columns: int | None = None,
               cell: int = 48) -> Image.Image:
    """The channels of ``maps`` (H, W, C) side by side in grey, all on one scale (``low``..``high``, by default
    the layer's own range), each enlarged by a whole factor towards ``cell`` pixels so every value stays a square."""
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim == 2:
        maps = maps[..., None]
    low = float(maps.min()) if low is None else float(low)
    high = float(maps.max()) if high is None else float(high)
    zoom = _zoom(max(maps.shape[:2]), cell)
    levels = _levels(maps, low, high).repeat(zoom, axis=0).repeat(zoom, axis=1)
    cells = [levels[..., channel] for channel in range(maps.shape[-1])]
    return Image.fromarray(_tile(cells, columns or default_columns(len(cells))), "L")


# A perceptual ramp from dark violet through blue and green to yellow (the viridis colours at nine stops).
RAMP = np.array([(68, 1, 84), (71, 44, 122), (59, 81, 139), (44, 113, 142), (33, 144, 141), (39, 173, 129),
                 (92, 200, 99), (170, 220, 50), (253, 231, 37)], dtype=np.float32)
# A diverging ramp for weights: blue for negative, near white for zero, red for positive.
DIVERGING = np.array([(33, 102, 172), (103, 169, 207), (209, 229, 240), (247, 247, 247), (253, 219, 199),
                      (239, 138, 98), (178, 24, 43)], dtype=np.float32)


def colour(values, ramp: np.ndarray = RAMP) -> np.ndarray:
    """Values in 0..1 (any shape) as RGB colours of ``ramp`` (shape + (3,), uint8)."""
    values = np.clip(np.nan_to_num(np.asarray(values, dtype=np.float32)), 0.0, 1.0)
    position = values * (len(ramp) - 1)
    below = np.minimum(position.astype(np.int64), len(ramp) - 2)
    share = (position - below)[..., None]
    return np.rint(ramp[below] * (1 - share) + ramp[below + 1] * share).astype(np.uint8)


def filters_image(kernels, cell: int = 24) -> Image.Image:
    """A Conv2D's kernels (kh, kw, in_channels, filters): one column per filter, one row per input channel when
    there are at most four (a first layer's grey or colour channels), else one row of their mean. Blue is
    negative, red positive, on one scale for the whole layer."""
    kernels = np.asarray(kernels, dtype=np.float32)
    kh, kw, channels, count = kernels.shape
    rows = kernels if channels <= 4 else kernels.mean(axis=2, keepdims=True)
    reach = float(np.abs(rows).max()) or 1.0
    zoom = _zoom(max(kh, kw), cell)
    painted = colour((rows / reach + 1) / 2, DIVERGING).repeat(zoom, axis=0).repeat(zoom, axis=1)
    tiles = []
    for number in range(count):
        parts = [painted[:, :, channel, number] for channel in range(rows.shape[2])]
        tiles.append(_tile(parts, 1, gap=1, fill=255)[1:-1, 1:-1] if len(parts) > 1 else parts[0])
    return Image.fromarray(_tile(tiles, min(count, 16)), "RGB")


def picture(array, low: float | None = None, high: float | None = None) -> Image.Image:
    """One image (H, W, 1 or 3) as a PIL picture, ``low``..``high`` (default: 0..1 when it fits, else 0..255)
    stretched to black..white."""
    array = np.asarray(array, dtype=np.float32)
    if low is None or high is None:
        fits_unit = array.size and float(array.min()) >= 0 and float(array.max()) <= 1
        low, high = (0.0, 1.0) if fits_unit else (0.0, 255.0)
    levels = _levels(array, float(low), float(high))
    return Image.fromarray(levels[..., 0] if levels.ndim == 3 and levels.shape[-1] == 1 else levels)


def overlay(image, heat, alpha: float = 0.6) -> Image.Image:
    """``heat`` (H, W) in 0..1 as colours over ``image`` in grey (RGB, the image's size): the warmer a place,
    the more of the colour covers it, so the cold parts show the picture itself."""
    if not isinstance(image, Image.Image):
        image = picture(image)
    grey = np.asarray(image.convert("L"), dtype=np.float32)[..., None]
    heat = np.asarray(heat, dtype=np.float32)
    if heat.shape != grey.shape[:2]:
        heat = np.asarray(Image.fromarray(heat, "F").resize(image.size, Image.BILINEAR))
    heat = np.clip(np.nan_to_num(heat), 0.0, 1.0)
    share = (0.15 + (alpha - 0.15) * heat)[..., None]
    blended = grey * (1 - share) + colour(heat).astype(np.float32) * share
    return Image.fromarray(np.rint(blended).astype(np.uint8), "RGB")


def enlarge(image: Image.Image, at_least: int = 224) -> Image.Image:
    """``image`` scaled up by a whole factor (nearest neighbour) until its longer side is ``at_least`` pixels."""
    zoom = max(1, math.ceil(at_least / max(image.size)))
    return image.resize((image.width * zoom, image.height * zoom), Image.NEAREST) if zoom > 1 else image


# --- choosing -----------------------------------------------------------------------------------------------------

def class_index(choice: str, class_names: list[str]) -> int:
    """The index of a class given by its name or its number; LabError naming the classes for anything else."""
    text = str(choice).strip()
    if text in class_names:
        return class_names.index(text)
    if text.lstrip("-").isdigit() and 0 <= int(text) < len(class_names):
        return int(text)
    raise LabError(t("explain.unknown_class", choice=repr(text), classes=", ".join(class_names),
                     last=len(class_names) - 1))


def map_layer(model, index: int) -> int:
    """``index`` when it numbers a Conv2D or pooling layer of ``model``; LabError saying which ones do."""
    count = len(model.layers)
    if not 1 <= index <= count:
        raise LabError(t("explain.no_such_layer", index=index, count=count))
    kind = type(model.layers[index - 1]).__name__
    if kind not in MAP_TYPES:
        choices = [str(number) for number, layer in enumerate(model.layers, start=1)
                   if type(layer).__name__ in MAP_TYPES]
        if not choices:
            raise LabError(t("explain.not_a_map_layer_none", index=index, type=kind))
        raise LabError(t("explain.not_a_map_layer", index=index, type=kind, choices=", ".join(choices)))
    return index
