"""Helpers for the page tests: a tiny two-class image dataset, a tiny model, a trained run, page switching."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")
CLASSES = ("square", "stripes")


def square_image(rng: np.random.Generator, size: int = 28) -> np.ndarray:
    """A bright filled square of random size and place on black."""
    arr = np.zeros((size, size), np.uint8)
    side = int(rng.integers(10, 18))
    top, left = (int(v) for v in rng.integers(3, size - side - 2, size=2))
    arr[top:top + side, left:left + side] = int(rng.integers(200, 256))
    return arr


def stripes_image(rng: np.random.Generator, size: int = 28) -> np.ndarray:
    """Bright horizontal stripes on black."""
    arr = np.zeros((size, size), np.uint8)
    period = int(rng.integers(4, 7))
    offset = int(rng.integers(0, period))
    for row in range(offset, size, period):
        arr[row:row + 2, 2:size - 2] = int(rng.integers(200, 256))
    return arr


def make_dataset(root: Path, name: str = "tiny", train: int = 24, test: int = 6, seed: int = 0) -> Path:
    """root/name/{Train,Test}/{square,stripes}/*.png, 28×28 grayscale, light on dark."""
    rng = np.random.default_rng(seed)
    folder = Path(root) / name
    for split, count in (("Train", train), ("Test", test)):
        for cls, draw in zip(CLASSES, (square_image, stripes_image)):
            out = folder / split / cls
            out.mkdir(parents=True, exist_ok=True)
            for index in range(count):
                Image.fromarray(draw(rng), "L").save(out / f"{cls}_{index:03d}.png")
    return folder


def tiny_spec(classes: int = 2, padding: str = "same") -> dict:
    return {
        "input_shape": [28, 28, 1],
        "layers": [
            {"type": "Rescaling", "scale": 1 / 255},
            {"type": "Conv2D", "filters": 4, "kernel_size": [3, 3], "strides": [1, 1], "padding": padding,
             "activation": "relu"},
            {"type": "MaxPooling2D", "pool_size": [2, 2]},
            {"type": "Flatten"},
            {"type": "Dense", "units": classes, "activation": "softmax"},
        ],
        "compile": {"optimizer": {"name": "adam", "learning_rate": 0.01},
                    "loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]},
    }


def train_run(data: Path, runs_root: Path, epochs: int = 1, name: str | None = None, padding: str = "same",
              batch_size: int = 8) -> Path:
    """Trains synchronously (no manager) and returns the run folder."""
    from lab.train.job import Job, TrainConfig

    config = TrainConfig(data_path=str(data), spec=tiny_spec(padding=padding), epochs=epochs, batch_size=batch_size,
                         runs_root=str(runs_root), name=name, early_stopping=None)
    snap = Job(config).run()
    assert snap.status == "finished", snap.error or snap.messages
    return Path(snap.run_dir)


def open_page(at, url_path: str):
    """Switches an AppTest of streamlit_app.py to one of its st.navigation pages and runs it.

    AppTest's public ``switch_page`` takes a page file, and the lab's pages are functions (``st.Page(render)``),
    which st.navigation registers under the hash of their ``url_path`` with no file to name; so this sets that
    hash on the AppTest the way ``switch_page`` itself does. This is the one place that reaches into AppTest.
    """
    from streamlit.navigation.page import calc_hash

    at._page_hash = calc_hash(url_path)
    return at.run()


def png_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    return buf.getvalue()


def jpeg_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).convert("RGB").save(buf, "JPEG", quality=95)
    return buf.getvalue()


def big_square(size: int = 200) -> np.ndarray:
    """A white square in the middle of a black picture."""
    arr = np.zeros((size, size), np.uint8)
    q = size // 4
    arr[q:size - q, q:size - q] = 255
    return arr


def use_lab(monkeypatch, root: Path) -> None:
    """Points the page at ``root``'s Data/ and runs/, without the background TensorFlow preload."""
    monkeypatch.setenv("CNN_LAB_DATA", str(Path(root) / "Data"))
    monkeypatch.setenv("CNN_LAB_RUNS", str(Path(root) / "runs"))
    monkeypatch.setenv("CNN_LAB_TF_PRELOAD", "0")
