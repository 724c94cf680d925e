"""What a run's images are, recorded with its preprocessing so prediction treats new pictures the same way.

``pictures``: "drawing" (strokes on a plain background: the MNIST recipe and auto-invert apply) or "photo"
(a hand in a room: never inverted; it may be cropped around the hand). ``contrast``: "stretch" when each image
reaches the model scaled on its own so that its darkest pixel is 0 and its brightest 255, else "none": photos that
all arrive that way (Sign Language MNIST's images were published stretched) record it, and a fine-tune keeps the
contrast step of the run it starts from, so training, evaluation and prediction apply it to the new photos too.
A network that wants it for any photo says so itself, with an AutoContrast layer.
"""

from __future__ import annotations

import numpy as np

from lab import imaging


def first_images(dataset):
    """The images of the first batch of a tf.data dataset of (images, labels), as a numpy array; None if empty."""
    for images, _ in dataset.take(1):
        return images.numpy()
    return None


def facts(images, preprocessing: dict, inherited: dict) -> dict:
    """{"pictures": ..., "contrast": ...} for a run trained on ``images`` (a batch, 0..255).

    MNIST-style centering in the dataset's record means drawings; otherwise the images are judged. Photos that
    each span 0..255 already were stretched before they reached the lab; a fine-tune keeps the contrast step of the
    run it starts from.
    """
    if preprocessing.get("centering") == "mass":
        kind = imaging.DRAWING
    else:
        kind = imaging.picture_kind(images) if images is not None and len(images) else imaging.PHOTO
    contrast = inherited.get("contrast")
    if contrast not in imaging.CONTRASTS:
        contrast = imaging.STRETCH if kind == imaging.PHOTO and full_range(images) else imaging.NO_STRETCH
    return {"pictures": kind, "contrast": contrast}


def full_range(images) -> bool:
    """True when nearly every image (n, h, w, c) spans 0..255 on its own, as Sign Language MNIST's do."""
    if images is None or not len(images):
        return False
    flat = np.asarray(images, dtype=np.float32).reshape(len(images), -1)
    return float(((flat.min(axis=1) <= 2) & (flat.max(axis=1) >= 253)).mean()) >= 0.9


def stretch_each(dataset):
    """The dataset with each image's contrast stretched to 0..255 (``imaging.contrast_stretch``, in TensorFlow)."""
    import tensorflow as tf

    @tf.autograph.experimental.do_not_convert
    def stretch(images, labels):
        low = tf.reduce_min(images, axis=[1, 2, 3], keepdims=True)
        high = tf.reduce_max(images, axis=[1, 2, 3], keepdims=True)
        span = high - low
        scaled = (images - low) * (255.0 / tf.maximum(span, 1.0))
        return tf.where(span >= 1.0, scaled, images), labels

    return dataset.map(stretch, num_parallel_calls=tf.data.AUTOTUNE)
