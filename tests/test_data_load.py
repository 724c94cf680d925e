"""Loading: the notes' parameters, detected colour mode, cache or stream, reshuffling, nothing modified."""

import numpy as np
import pytest

from lab.data import load
from lab.errors import LabError
from tests.data_files import make_dataset, tree_digest


def _batches(ds):
    xs, ys = [], []
    for x, y in ds:
        xs.append(x.numpy())
        ys.append(y.numpy())
    return np.concatenate(xs), np.concatenate(ys)


def test_clean_grayscale_dataset_through_keras_cached(tmp_path):
    root = make_dataset(tmp_path / "d", per_class=10, test_per_class=3)
    before = tree_digest(root)
    data = load(root, batch_size=4, validation_split=0.2, seed=5)
    assert data.pipeline == "image_dataset_from_directory" and data.cached
    assert data.input_shape == (28, 28, 1) and data.class_names == ["a", "b", "c"]
    assert data.counts == {"train": 24, "val": 6, "test": 9}
    assert data.preprocessing == {
        "image_size": [28, 28],
        "color_mode": "grayscale",
        "polarity": "light_on_dark",
        "centering": "none",
    }
    x, y = _batches(data.train)
    assert x.shape == (24, 28, 28, 1) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 255
    assert y.dtype == np.int32 and set(y) <= {0, 1, 2}
    first, second = _batches(data.train)[1], _batches(data.train)[1]
    assert sorted(first) == sorted(second) and not np.array_equal(first, second) or len(set(first)) == 1
    xt, yt = _batches(data.test)
    assert list(yt) == [0, 0, 0, 1, 1, 1, 2, 2, 2]  # test is not shuffled
    assert tree_digest(root) == before


def test_same_validation_split_as_image_dataset_from_directory(tmp_path):
    import keras

    root = make_dataset(tmp_path / "d", per_class=10, test_per_class=0)
    data = load(root, validation_split=0.3, seed=11, shuffle=False)
    plain = keras.utils.image_dataset_from_directory(
        root / "Train", color_mode="grayscale", image_size=(28, 28), validation_split=0.3, subset="validation", seed=11
    )
    ours, theirs = _batches(data.val), _batches(plain)
    order = lambda xy: sorted(zip(xy[1].tolist(), xy[0].reshape(len(xy[0]), -1).sum(1).tolist()))  # noqa: E731
    assert order(ours) == order(theirs)


def test_streams_when_over_the_ram_budget_and_pillow_path_too(tmp_path):
    root = make_dataset(tmp_path / "d", per_class=6, test_per_class=2)
    data = load(root, ram_budget_mb=0.001, batch_size=5)
    assert not data.cached and any("RAM budget" in w for w in data.warnings)
    x, _ = _batches(data.train)
    assert x.shape[1:] == (28, 28, 1) and x.dtype == np.float32
    (root / "Train" / "a" / "zero.png").write_bytes(b"")
    data = load(root, ram_budget_mb=0.001, batch_size=5)
    assert data.pipeline == "pillow" and not data.cached
    assert sum(len(b[1]) for b in data.train) + sum(len(b[1]) for b in data.val) == 18


def test_colour_mode_size_and_label_modes(tmp_path):
    root = make_dataset(tmp_path / "c", classes=("x", "y"), mode="RGB", size=(20, 30))
    data = load(root, label_mode="categorical")
    assert data.input_shape == (20, 30, 3) and data.preprocessing["color_mode"] == "rgb"
    _, y = _batches(data.train)
    assert y.shape[1] == 2 and set(y.sum(1)) == {1.0}
    gray = load(root, color_mode="grayscale", image_size=(16, 16), label_mode="binary", validation_split=0)
    assert gray.val is None and gray.input_shape == (16, 16, 1)
    x, y = _batches(gray.train)
    assert x.shape[1:] == (16, 16, 1) and y.shape[1:] == (1,)
    images_only = load(root, label_mode=None)
    assert next(iter(images_only.train)).shape[-1] == 3


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"batch_size": 0}, "batch size"),
        ({"validation_split": 1.5}, "validation split"),
        ({"color_mode": "cmyk"}, "color_mode"),
        ({"label_mode": "sparse"}, "label_mode"),
        ({"label_mode": "binary"}, "exactly 2 classes"),
        ({"image_size": "big"}, "image size"),
    ],
)
def test_bad_arguments_are_one_sentence(tmp_path, kwargs, fragment):
    root = make_dataset(tmp_path / "d")
    with pytest.raises(LabError, match=fragment):
        load(root, **kwargs)


def test_class_folders_without_train_and_test_only_are_split(tmp_path):
    root = make_dataset(tmp_path / "d", per_class=10, test_per_class=0)
    data = load(root / "Train", validation_split=0.2)
    assert data.test is None and data.counts == {"train": 24, "val": 6}
    (root / "Train").rename(root / "Test")
    data = load(root)
    assert data.counts == {"train": 24, "val": 6} and any("only a Test/" in w for w in data.warnings)


def test_real_sign_language_loads_grayscale(sign_mnist):
    data = load(sign_mnist / "Test", batch_size=128)
    assert data.input_shape == (28, 28, 1) and len(data.class_names) == 24 and data.cached
    assert data.counts["train"] + data.counts["val"] == 7172


def test_a_resized_dataset_is_shrunk_the_way_predict_shrinks_a_picture(tmp_path):
    """Training must see the smoothed shrink that Predict and evaluation apply, not TensorFlow's aliased one."""
    from PIL import Image

    root = tmp_path / "stripes" / "Train"
    for name in ("lines", "plain"):
        (root / name).mkdir(parents=True)
    stripes = np.zeros((230, 230), np.uint8)
    stripes[::12] = 255
    Image.fromarray(stripes).save(root / "lines" / "0.png")
    Image.fromarray(np.full((230, 230), 90, np.uint8)).save(root / "plain" / "0.png")

    data = load(root.parent, image_size=(28, 28), validation_split=None, shuffle=False, batch_size=2)
    images, labels = _batches(data.train)
    seen = images[list(labels).index(0), ..., 0]
    smoothed = np.asarray(Image.fromarray(stripes).resize((28, 28), Image.BILINEAR), np.float32)
    np.testing.assert_allclose(seen, smoothed, atol=1)

    import tensorflow as tf

    aliased = tf.image.resize(stripes[None, ..., None].astype(np.float32), (28, 28)).numpy()[0, ..., 0]
    assert np.abs(aliased - smoothed).mean() > 10  # the difference this test guards against
