"""Small datasets and specs for the training tests (imported by tests/test_train_*.py)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

CLASSES = ("blob", "cols", "rows")


def pattern(name: str, rng: np.random.Generator, size: int = 16) -> np.ndarray:
    img = rng.uniform(0, 40, (size, size))
    shift = int(rng.integers(0, 3))
    if name == "rows":
        img[shift::4, :] = rng.uniform(200, 255)
    elif name == "cols":
        img[:, shift::4] = rng.uniform(200, 255)
    else:
        c = size // 2 + int(rng.integers(-2, 3))
        img[c - 3:c + 3, c - 3:c + 3] = rng.uniform(200, 255)
    return np.clip(img, 0, 255).astype(np.uint8)


def make_dataset(root: Path, train_per_class: int = 30, test_per_class: int = 8, seed: int = 0,
                 size: int = 16, classes=CLASSES) -> Path:
    """root/Train/<class>/*.png and root/Test/<class>/*.png with easily separable patterns."""
    rng = np.random.default_rng(seed)
    for split, count in (("Train", train_per_class), ("Test", test_per_class)):
        if not count:
            continue
        for name in classes:
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                Image.fromarray(pattern(name, rng, size), "L").save(folder / f"{i:03d}.png")
    return root


def small_spec(learning_rate: float = 0.01, rescale: bool = True, head_init: str | None = None,
               units: int = 3) -> dict:
    layers = []
    if rescale:
        layers.append({"type": "Rescaling", "scale": 1 / 255})
    layers += [
        {"type": "Conv2D", "filters": 4, "kernel_size": [3, 3], "padding": "same", "activation": "relu"},
        {"type": "MaxPooling2D", "pool_size": [2, 2]},
        {"type": "Flatten"},
        {"type": "Dense", "units": units, "activation": "softmax"},
    ]
    if head_init:
        layers[-1]["kernel_initializer"] = head_init
    return {"name": "tiny", "input_shape": [16, 16, 1], "layers": layers,
            "compile": {"optimizer": {"name": "adam", "learning_rate": learning_rate},
                        "loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]}}


def test_support_dataset_layout(tmp_path):
    root = make_dataset(tmp_path / "d", train_per_class=2, test_per_class=1)
    assert sorted(p.name for p in (root / "Train").iterdir()) == list(CLASSES)
    assert len(list((root / "Test" / "rows").glob("*.png"))) == 1
