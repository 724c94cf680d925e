"""Turning a drawn, uploaded or webcam image into exactly the array the model was trained on.

`prepare` follows the preprocessing stored with a run (image size, colour mode, polarity, centering, whether it
learned from drawings or photos, its contrast step) and records each step as an image, so the page can show what
the model sees. Drawings and photos take different roads: a drawing may be inverted to match the training images
and, for MNIST-style runs, cleaned, fitted and centred; a photo is never inverted, may be cropped around the hand,
and gets the run's contrast stretch.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from lab import imaging
from lab.errors import LabError
from lab.i18n import t

MAX_PIXELS = imaging.MAX_PIXELS
_EMPTY_RANGE = 12  # grey levels; less contrast than this is an empty drawing


@dataclass
class Prepared:
    array: np.ndarray  # (h, w, c) float32 0..255: what the model gets
    steps: list[tuple[str, Image.Image]] = field(default_factory=list)
    inverted: bool = False
    message: str = ""
    kind: str = imaging.DRAWING  # which road it took: imaging.DRAWING or imaging.PHOTO


def open_image(source, name: str | None = None) -> Image.Image:
    """A decoded PIL image (the first frame of an animation) from a PIL image, bytes, a path or a file-like object.

    ``name`` starts the error sentences ("The drawing", a file name; default "The image"). LabError for anything
    that is not a readable image, is damaged, or is over MAX_PIXELS (checked from the header, before decoding: a
    decompression bomb is named by its size).
    """
    name = name or t("predict.the_image")
    if not isinstance(source, Image.Image):
        if isinstance(source, (bytes, bytearray, memoryview)):
            source = io.BytesIO(bytes(source))
        try:
            source = imaging.open_limited(source)
        except imaging.TooLarge as exc:
            raise LabError(t("predict.too_large", name=name, size=exc)) from None
        except (UnidentifiedImageError, ValueError):
            raise LabError(t("predict.not_an_image", name=name)) from None
        except OSError as exc:
            raise LabError(t("predict.unreadable", name=name, error=exc.strerror or exc)) from None
    width, height = source.size
    if width * height > MAX_PIXELS:
        raise LabError(t("predict.too_large", name=name, size=imaging.TooLarge(source.size)))
    try:
        source.seek(0)
        source.load()
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise LabError(t("predict.damaged", name=name, error=str(exc).strip() or type(exc).__name__)) from None
    return source


SOURCES = ("draw", "upload", "webcam", "dataset")  # where a picture comes from: the canvas, a file, the camera


def picture_kind(preprocessing: dict, source: str | None, luma: np.ndarray) -> str:
    """imaging.DRAWING or imaging.PHOTO: which road a picture takes.

    A canvas drawing is a drawing. Anything else is read as what the run learned from: its recorded "pictures",
    or drawings for an MNIST-style run; for a run that recorded neither, the picture itself is judged.
    """
    if source == "draw":
        return imaging.DRAWING
    recorded = preprocessing.get("pictures")
    if recorded in imaging.PICTURE_KINDS:
        return recorded
    if preprocessing.get("centering") == "mass":
        return imaging.DRAWING
    return imaging.picture_kind(luma)


def prepare(image, preprocessing: dict, invert="auto", crop=None, source: str | None = None,
            hand_crop: bool = False) -> Prepared:
    """Make `image` into the (h, w, c) float32 0..255 array a model trained with `preprocessing` expects.

    image: a PIL image (or bytes, path, file-like). GIFs use their first frame; EXIF orientation is
        applied; transparency is flattened onto black or white, whichever the ink stands out from.
    preprocessing: {"image_size": [h, w], "color_mode": "grayscale"|"rgb",
        "polarity": "light_on_dark"|"dark_on_light", "centering": "mass"|"none",
        "pictures": "drawing"|"photo", "contrast": "stretch"|"none"}.
    invert: "auto" inverts a drawing when its polarity (judged by its border) differs from the training
        data's, and never a photo; True or False forces it.
    crop: optional (left, top, right, bottom) box in the original image's pixels.
    source: one of SOURCES, or None (a file); a canvas drawing is always read as a drawing.
    hand_crop: for a photo, crop a square around the hand (``imaging.hand_box``) unless ``crop`` is given.
    Raises LabError for non-images, images over 40 megapixels and empty drawings.
    """
    image = open_image(image)
    size = preprocessing.get("image_size") or [28, 28]
    height, width = int(size[0]), int(size[1])
    color_mode = preprocessing.get("color_mode", "grayscale")
    target_polarity = preprocessing.get("polarity", imaging.LIGHT_ON_DARK)
    centering = preprocessing.get("centering", "none")

    steps: list[tuple[str, Image.Image]] = [(t("predict.step.original"), image.copy())]
    oriented = ImageOps.exif_transpose(image) or image
    if oriented.size != image.size or oriented is not image and _changed(oriented, image):
        steps.append((t("predict.step.upright"), oriented))
    image = oriented
    if crop is not None:
        left, top, right, bottom = imaging.clamped_box(crop, image.size)
        if right - left < 2 or bottom - top < 2:
            raise LabError(t("predict.crop_empty"))
        image = image.crop((left, top, right, bottom))
        steps.append((t("predict.step.cropped"), image))
    had_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    flat = imaging.to_8bit(image)
    if had_alpha:
        steps.append((t("predict.step.flattened"), flat))
    luma = np.asarray(flat.convert("L"), dtype=np.float32)
    if float(luma.max() - luma.min()) < _EMPTY_RANGE:
        raise LabError(t("predict.empty_picture"))
    if picture_kind(preprocessing, source, luma) == imaging.PHOTO:
        return _photo(flat, steps, preprocessing, invert, hand_crop and crop is None, height, width, color_mode)

    gray_source = image.mode in ("L", "I;16", "I", "1")
    flat = flat.convert("L") if color_mode == "grayscale" else flat.convert("RGB")
    if color_mode == "grayscale" and not gray_source:
        steps.append((t("predict.step.grayscale"), flat))
    picture_polarity = imaging.polarity(luma)
    if invert == "auto":
        inverted = picture_polarity != target_polarity
    else:
        inverted = bool(invert)
    if inverted:
        flat = ImageOps.invert(flat)
        steps.append((t("predict.step.inverted"), flat))

    if centering == "mass":
        array, more = _mass_centred(flat, inverted, picture_polarity, target_polarity, height, width, color_mode)
        steps.extend(more)
    else:
        if flat.size != (width, height):
            flat = flat.resize((width, height), Image.BILINEAR)
        array = np.asarray(flat, dtype=np.float32)
    array = _finish(array, steps, width, height)
    message = t("predict.inverted_to_match") if inverted and invert == "auto" else ""
    return Prepared(array=array, steps=steps, inverted=inverted, message=message)


def _photo(flat, steps, preprocessing, invert, hand_crop, height, width, color_mode) -> Prepared:
    """A photo's road: the hand found and cropped (optional), the model's colours and size, the contrast step."""
    message = ""
    if hand_crop:
        box = imaging.hand_box(np.asarray(flat.convert("RGB")))
        if box is None:
            message = t("predict.no_hand")
        else:
            flat = flat.crop(box)
            steps.append((t("predict.step.hand"), flat))
    if color_mode == "grayscale":
        if flat.mode != "L":
            flat = flat.convert("L")
            steps.append((t("predict.step.grayscale"), flat))
    else:
        flat = flat.convert("RGB")
    inverted = invert is True
    if inverted:
        flat = ImageOps.invert(flat)
        steps.append((t("predict.step.inverted"), flat))
    if flat.size != (width, height):
        flat = flat.resize((width, height), Image.BILINEAR)
    array = np.asarray(flat, dtype=np.float32)
    if _stretches(preprocessing, color_mode):
        array = imaging.contrast_stretch(array)
        steps.append((t("predict.step.stretched"), _picture(array)))
    array = _finish(array, steps, width, height)
    return Prepared(array=array, steps=steps, inverted=inverted, message=message, kind=imaging.PHOTO)


def _stretches(preprocessing: dict, color_mode: str) -> bool:
    """The run's contrast step; a grayscale run that recorded none learned from stretched Sign Language MNIST
    style photos."""
    contrast = preprocessing.get("contrast")
    if contrast in imaging.CONTRASTS:
        return contrast == imaging.STRETCH
    return color_mode == "grayscale"


def _picture(array: np.ndarray) -> Image.Image:
    pixels = np.clip(np.rint(array), 0, 255).astype(np.uint8)
    return Image.fromarray(pixels.squeeze(-1) if pixels.ndim == 3 and pixels.shape[-1] == 1 else pixels)


def _finish(array: np.ndarray, steps: list, width: int, height: int) -> np.ndarray:
    """The model's (h, w, c) float32 array, its picture added as the last step."""
    if array.ndim == 2:
        array = array[..., None]
    steps.append((t("predict.step.model_input", width=width, height=height), _picture(array)))
    return array.astype(np.float32)


def _changed(a: Image.Image, b: Image.Image) -> bool:
    return a.size != b.size or a.tobytes() != b.tobytes()


def _mass_centred(flat, inverted, picture_polarity, target_polarity, height, width, color_mode):
    """MNIST-style: clean the ink, fit it into 20x20, centre by centre of mass (as the generator does)."""
    steps = []
    gray = np.asarray(flat.convert("L"), dtype=np.float32)
    light_on_dark = target_polarity == imaging.LIGHT_ON_DARK
    ink_high = gray if light_on_dark else 255.0 - gray
    ink = imaging.clean_ink(ink_high)
    steps.append((t("predict.step.ink_cleaned"), Image.fromarray(ink.astype(np.uint8))))
    box = max(1, round(min(height, width) * 20 / 28))
    normalised = imaging.mnist_normalize(ink, size=min(height, width), box=box, threshold=0)
    if normalised is None:
        raise LabError(t("predict.empty_drawing"))
    steps.append((t("predict.step.fitted", box=box), Image.fromarray(normalised)))
    out = normalised.astype(np.float32)
    if (height, width) != out.shape:
        out = np.asarray(Image.fromarray(normalised).resize((width, height), Image.BILINEAR), dtype=np.float32)
    if not light_on_dark:
        out = 255.0 - out
    if color_mode == "rgb":
        out = np.repeat(out[..., None], 3, axis=2)
    return out, steps


def top_k(model, array: np.ndarray, class_names, k: int = 5) -> list[tuple[str, float]]:
    """The k most likely classes with their probabilities, most likely first."""
    batch = np.asarray(array, dtype=np.float32)[None, ...]
    output = model(batch, training=False)
    scores = np.asarray(output.numpy() if hasattr(output, "numpy") else output, dtype=np.float64).reshape(-1)
    if scores.size != len(class_names):
        raise LabError(t("predict.outputs_mismatch", outputs=scores.size, classes=len(class_names)))
    if scores.min() < 0 or abs(scores.sum() - 1.0) > 1e-3:  # logits: turn into probabilities
        shifted = np.exp(scores - scores.max())
        scores = shifted / shifted.sum()
    order = np.argsort(-scores)[: max(1, int(k))]
    return [(str(class_names[i]), float(scores[i])) for i in order]
