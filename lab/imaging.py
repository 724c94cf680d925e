"""Image helpers shared by the generated dataset, the loader and prediction.

The MNIST recipe lives here once, so the digits the lab generates for training and the drawings it
is asked to read go through exactly the same steps:

1. crop to the ink's bounding box,
2. scale it, keeping its aspect ratio, so the longer side is 20 pixels,
3. paste it into a 28x28 black canvas so that its centre of mass sits at the centre.

Arrays here are "ink high": the strokes are bright, the background is 0.

Photos (a hand in a room) are not drawings: ``picture_kind`` tells the two apart, ``hand_box`` finds a hand by
skin colour and contrast with the background, ``contrast_stretch`` scales an image to the full 0..255 range as
Sign Language MNIST's images were. None of the drawing steps (cleaning, centring, inverting) applies to a photo.

Every image a person hands the lab (a dataset file, an upload, a photo) is opened with `open_limited`,
which refuses images over MAX_PIXELS from their header, before anything is decoded.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
from PIL import Image, ImageFilter

from lab.i18n import t

LIGHT_ON_DARK = "light_on_dark"
DARK_ON_LIGHT = "dark_on_light"
# The largest image the lab decodes: 40 megapixels (a 7000x5700 photo) is 120 MB as RGB, and no small CNN
# needs more. Pillow's own decompression-bomb guard only starts at 89 megapixels.
MAX_PIXELS = 40_000_000
MAX_IMAGE_SIDE = 4096  # the largest side a network's input may have: training, evaluation and prediction alike


class TooLarge(ValueError):
    """An image whose header declares more than MAX_PIXELS; ``size`` is (width, height) or None if unknown."""

    def __init__(self, size):
        self.size = size
        super().__init__(size)

    def __str__(self) -> str:  # worded when shown, in the language of whoever reads it
        if self.size:
            return t("imaging.too_large", width=self.size[0], height=self.size[1], limit=MAX_PIXELS)
        return t("imaging.too_large_unknown", limit=MAX_PIXELS)


def declared_size(source) -> tuple[int, int] | None:
    """(width, height) that an image file's header declares, read without Pillow's size guard; None if unknown.

    ``source`` is a path or a seekable binary file. Only the header is parsed (one format after another, as
    Image.open does), nothing is decoded: this is how a decompression bomb gets described by its size.
    """
    if isinstance(source, (str, os.PathLike)):
        try:
            with open(source, "rb") as fp:
                return declared_size(fp)
        except OSError:
            return None
    Image.preinit()
    Image.init()
    try:
        source.seek(0)
        prefix = source.read(16)
    except (OSError, ValueError, AttributeError):
        return None
    for format_id in Image.ID:
        factory, accept = Image.OPEN[format_id]
        try:
            accepted = not accept or accept(prefix)
            if not accepted or isinstance(accepted, str):
                continue
            source.seek(0)
            width, height = factory(source, "").size
            return int(width), int(height)
        except Exception:  # noqa: BLE001 - a format that does not fit: try the next, as Image.open does
            continue
    return None


def open_limited(source) -> Image.Image:
    """Image.open (lazy: the header only) of a path or a binary file, refusing images over MAX_PIXELS.

    Raises TooLarge, with the declared size, for images over MAX_PIXELS (Pillow's decompression bombs
    included), and whatever Image.open raises for files that are not images.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(source)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise TooLarge(declared_size(source)) from None
    if image.width * image.height > MAX_PIXELS:
        size = image.size
        image.close()
        raise TooLarge(size)
    return image


def flatten_alpha(image: Image.Image) -> Image.Image:
    """Drop transparency by compositing onto black or white, whichever the ink stands out from.

    A canvas drawing has white strokes on a transparent background: it goes onto black. Dark ink on a
    transparent background goes onto white. Images without an alpha channel come back unchanged
    (palette images are expanded first).
    """
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode == "PA":
        image = image.convert("RGBA")
    if image.mode not in ("RGBA", "LA", "RGBa", "La"):
        return image
    rgba = image.convert("RGBA")
    arr = np.asarray(rgba, dtype=np.float32)
    alpha = arr[..., 3] / 255.0
    if alpha.min() >= 1.0:
        return rgba.convert("RGB")
    luma = arr[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    weight = alpha.sum()
    ink_brightness = float((luma * alpha).sum() / weight) if weight > 0 else 0.0
    background = 0.0 if ink_brightness >= 127.5 else 255.0
    rgb = arr[..., :3] * alpha[..., None] + background * (1.0 - alpha[..., None])
    return Image.fromarray(np.clip(np.rint(rgb), 0, 255).astype(np.uint8), "RGB")


def to_8bit(image: Image.Image) -> Image.Image:
    """Return an 8-bit "L" or "RGB" image, whatever the source mode (16-bit, CMYK, palette, alpha...)."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(image).astype(np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or arr.max() > 255 else 255.0
        return Image.fromarray(np.clip(np.rint(arr * 255.0 / top), 0, 255).astype(np.uint8), "L")
    if image.mode == "F":
        arr = np.asarray(image, dtype=np.float64)
        top = 1.0 if arr.max() <= 1.0 else 255.0
        return Image.fromarray(np.clip(np.rint(arr * 255.0 / top), 0, 255).astype(np.uint8), "L")
    image = flatten_alpha(image)
    if image.mode in ("L", "RGB"):
        return image
    if image.mode == "1":
        return image.convert("L")
    return image.convert("RGB")


def clamped_box(crop, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """A crop (left, top, right, bottom, any numbers) rounded to whole pixels and kept inside an image of ``size``;
    its width or height is 0 or less when it lies outside the image."""
    left, top, right, bottom = (int(round(value)) for value in crop)
    return max(0, left), max(0, top), min(size[0], right), min(size[1], bottom)


def is_gray(image: Image.Image) -> bool:
    """True when the image has one channel, or three equal ones (R = G = B everywhere)."""
    if image.mode == "L":
        return True
    arr = np.asarray(image)
    if arr.ndim == 2:
        return True
    return bool(np.array_equal(arr[..., 0], arr[..., 1]) and np.array_equal(arr[..., 1], arr[..., 2]))


def border(arr: np.ndarray, width: int = 2) -> np.ndarray:
    """The pixels of the outer ring of a 2-D array, flattened."""
    h, w = arr.shape[:2]
    width = max(1, min(width, h // 2, w // 2))
    return np.concatenate([arr[:width].ravel(), arr[-width:].ravel(), arr[:, :width].ravel(), arr[:, -width:].ravel()])


def polarity(gray: np.ndarray) -> str:
    """'light_on_dark' when the background (judged by the border) is dark, else 'dark_on_light'."""
    gray = np.asarray(gray, dtype=np.float32)
    if gray.ndim == 3:
        gray = gray.mean(axis=2)
    return LIGHT_ON_DARK if float(np.median(border(gray))) < 127.5 else DARK_ON_LIGHT


def ink_bbox(ink: np.ndarray, threshold: float = 0.0):
    """(top, left, bottom, right) of the pixels brighter than threshold, bottom/right exclusive; None if none."""
    mask = ink > threshold
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def center_of_mass(ink: np.ndarray) -> tuple[float, float]:
    """(row, column) of the ink's centre of mass, in pixel-centre coordinates."""
    ink = np.asarray(ink, dtype=np.float64)
    total = ink.sum()
    if total <= 0:
        return (ink.shape[0] - 1) / 2.0, (ink.shape[1] - 1) / 2.0
    rows = np.arange(ink.shape[0], dtype=np.float64)
    cols = np.arange(ink.shape[1], dtype=np.float64)
    return float(ink.sum(axis=1) @ rows / total), float(ink.sum(axis=0) @ cols / total)


def mnist_normalize(ink: np.ndarray, size: int = 28, box: int = 20, threshold: float = 0.0):
    """Fit the ink into a box x box square and centre it by its centre of mass in a size x size canvas.

    `ink` is a 2-D array, strokes bright on a 0 background, of any size. Returns a uint8 array of
    shape (size, size), or None when there is no ink above `threshold`.
    """
    ink = np.asarray(ink)
    if ink.ndim == 3:
        ink = ink.mean(axis=2)
    if ink.dtype != np.uint8:
        ink = np.clip(np.rint(ink), 0, 255).astype(np.uint8)
    bbox = ink_bbox(ink, threshold)
    if bbox is None:
        return None
    top, left, bottom, right = bbox
    crop = ink[top:bottom, left:right]
    h, w = crop.shape
    scale = box / max(h, w)
    new_h, new_w = max(1, int(round(h * scale))), max(1, int(round(w * scale)))
    fitted = np.asarray(Image.fromarray(crop, "L").resize((new_w, new_h), Image.LANCZOS))
    cy, cx = center_of_mass(fitted)
    top = int(round((size - 1) / 2.0 - cy))
    left = int(round((size - 1) / 2.0 - cx))
    top = min(max(top, 0), size - new_h)
    left = min(max(left, 0), size - new_w)
    out = np.zeros((size, size), dtype=np.uint8)
    out[top : top + new_h, left : left + new_w] = fitted
    peak = int(out.max())
    if 0 < peak < 255:  # thin strokes lose brightness when scaled down; MNIST strokes peak at 255
        out = np.clip(np.rint(out.astype(np.float32) * (255.0 / peak)), 0, 255).astype(np.uint8)
    return out


def clean_ink(gray: np.ndarray, floor: float = 0.12) -> np.ndarray:
    """Make a light-on-dark grey image "ink high": background to 0, strongest ink to 255.

    The background level is the border's median; whatever is less than `floor` of the ink's range
    above it (paper texture, shading, sensor noise) becomes 0. Returns float32.
    """
    gray = np.asarray(gray, dtype=np.float32)
    background = float(np.median(border(gray)))
    ink = gray - background
    top = float(np.percentile(ink, 99.9)) if ink.size > 1000 else float(ink.max())
    top = max(top, float(ink.max()) * 0.5)
    if top <= 0:
        return np.zeros_like(gray)
    ink = np.clip(ink / top, 0.0, 1.0)
    ink[ink < floor] = 0.0
    return ink * 255.0


# --- photos and drawings -----------------------------------------------------------------------------------------
#
# A line drawing is mostly background with a few strokes; a photo (a hand in a room) has no such background. The
# MNIST recipe above and auto-invert are for drawings only. A photo keeps its colours; it may be cropped around the
# hand and, for models trained on Sign Language MNIST style images, contrast-stretched: every image of that dataset
# was scaled on its own so that its darkest pixel is 0 and its brightest 255.

DRAWING = "drawing"
PHOTO = "photo"
PICTURE_KINDS = (DRAWING, PHOTO)
STRETCH = "stretch"
NO_STRETCH = "none"
CONTRASTS = (STRETCH, NO_STRETCH)
_NEAR_BACKGROUND = 16  # grey levels from the border's median that still count as background
_DRAWING_BACKGROUND_SHARE = 0.6  # drawings: 65-90 % of the pixels are background; photos of hands: 15-65 %
_THUMBNAIL = 28  # pixels a side: the picture size these judgements are made at


def background_share(gray: np.ndarray) -> float:
    """The share of pixels within a few grey levels of the background (the border's median) at 28x28."""
    gray = np.asarray(gray, dtype=np.float32)
    if gray.ndim == 3:
        gray = gray.mean(axis=2)
    if gray.shape != (_THUMBNAIL, _THUMBNAIL):
        thumb = Image.fromarray(np.clip(np.rint(gray), 0, 255).astype(np.uint8), "L")
        gray = np.asarray(thumb.resize((_THUMBNAIL, _THUMBNAIL), Image.BILINEAR), dtype=np.float32)
    return float(np.mean(np.abs(gray - float(np.median(border(gray)))) <= _NEAR_BACKGROUND))


def picture_kind(images) -> str:
    """DRAWING when most of the images are mostly background (strokes on paper), else PHOTO.

    ``images``: one image or a stack of them, (h, w), (h, w, c) or (n, h, w, c), values 0..255.
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim <= 3 and not (images.ndim == 3 and images.shape[-1] not in (1, 3)):
        images = images[None]
    shares = [background_share(image) for image in images]
    return DRAWING if float(np.median(shares)) >= _DRAWING_BACKGROUND_SHARE else PHOTO


def contrast_stretch(array: np.ndarray) -> np.ndarray:
    """The image scaled so that its darkest value becomes 0 and its brightest 255 (float32); flat images unchanged."""
    array = np.asarray(array, dtype=np.float32)
    low, high = float(array.min()), float(array.max())
    if high - low < 1:
        return array
    return (array - low) * (255.0 / (high - low))


def skin_mask(rgb: np.ndarray) -> np.ndarray:
    """Pixels of skin colour (bool), by the chroma ranges skin of every tone falls in (YCbCr, ITU-R BT.601)."""
    ycbcr = np.asarray(Image.fromarray(np.asarray(rgb, dtype=np.uint8), "RGB").convert("YCbCr"), dtype=np.int16)
    luma, blue, red = ycbcr[..., 0], ycbcr[..., 1], ycbcr[..., 2]
    return (red >= 135) & (red <= 175) & (blue >= 80) & (blue <= 130) & (luma > 40)


def foreground_mask(rgb: np.ndarray, distance: float = 40.0) -> np.ndarray:
    """Pixels whose colour stands out from the background (the border's median colour) by more than ``distance``."""
    rgb = np.asarray(rgb, dtype=np.float32)
    background = np.median(np.stack([border(rgb[..., c]) for c in range(3)], axis=1), axis=0)
    return np.sqrt(((rgb - background) ** 2).sum(axis=2)) > distance


def _opened(mask: np.ndarray) -> np.ndarray:
    """The mask without specks narrower than 3 pixels, small gaps closed."""
    picture = Image.fromarray(mask.astype(np.uint8) * 255, "L")
    picture = picture.filter(ImageFilter.MinFilter(3)).filter(ImageFilter.MaxFilter(5))
    return np.asarray(picture) > 127


def hand_box(rgb: np.ndarray, margin: float = 0.12, work_side: int = 160):
    """(left, top, right, bottom) of a square around the hand in an RGB photo, or None when none stands out.

    The hand is what has skin colour and differs from the background at the border; when skin colour finds
    nothing (gloves, odd light) or finds most of the picture (a skin-coloured wall), colour contrast with the
    background alone decides. The square holds the middle 98 % of those pixels plus ``margin`` on each side and
    stays inside the picture. It is found on a copy at most ``work_side`` pixels a side.
    """
    rgb = np.asarray(rgb, dtype=np.uint8)
    height, width = rgb.shape[:2]
    scale = min(1.0, work_side / max(height, width))
    small = rgb
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        small = np.asarray(Image.fromarray(rgb, "RGB").resize(size, Image.BILINEAR))
    skin, standing_out = skin_mask(small), foreground_mask(small)
    mask = None
    for candidate in (skin & standing_out, skin, standing_out):
        candidate = _opened(candidate)
        if 0.02 <= float(candidate.mean()) <= 0.85:
            mask = candidate
            break
    if mask is None:
        return None
    rows, cols = np.nonzero(mask)
    top, bottom = (float(v) / scale for v in np.percentile(rows, [1, 99]))
    left, right = (float(v) / scale for v in np.percentile(cols, [1, 99]))
    side = min(max(bottom - top, right - left) * (1 + 2 * margin), float(min(height, width)))
    side = max(side, 2.0)
    centre_y, centre_x = (top + bottom) / 2, (left + right) / 2
    box_top = int(round(min(max(centre_y - side / 2, 0.0), height - side)))
    box_left = int(round(min(max(centre_x - side / 2, 0.0), width - side)))
    side_px = int(round(side))
    return box_left, box_top, min(width, box_left + side_px), min(height, box_top + side_px)
