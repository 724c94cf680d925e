"""Helpers for the data tests: small image datasets written to temporary folders."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from PIL import Image


def digit_like(value: int, size=(28, 28), seed: int = 0) -> np.ndarray:
    """A light-on-dark grey image with a bright blob whose position depends on `value`."""
    rng = np.random.default_rng(seed)
    h, w = size
    image = np.zeros((h, w), dtype=np.uint8)
    top, left = 4 + (value * 5) % max(1, h - 12), 4 + (value * 3) % max(1, w - 12)
    image[top : top + 8, left : left + 8] = 200 + rng.integers(0, 55)
    return image


def make_dataset(root: Path, classes=("a", "b", "c"), per_class=6, test_per_class=2, size=(28, 28), mode="L") -> Path:
    for split, n in (("Train", per_class), ("Test", test_per_class)):
        if n == 0:
            continue
        for ci, cls in enumerate(classes):
            folder = root / split / cls
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                array = digit_like(ci, size, seed=i)
                image = Image.fromarray(array, "L")
                if mode == "RGB":
                    image = Image.merge("RGB", (image, Image.fromarray(array // 2), Image.fromarray(255 - array)))
                elif mode == "RGB-gray":
                    image = image.convert("RGB")
                image.save(folder / f"{i:03d}.png")
    return root


def tree_digest(root: Path) -> dict[str, str]:
    """Every file under root with the hash of its bytes (to show nothing was changed)."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
