"""What the page shows about a dataset: counts per class and split, what training does with each split, and
sample images per class."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from lab import imaging
from lab.data.discovery import DatasetInfo


def count_rows(info: DatasetInfo) -> list[dict]:
    """One row per class: {"class": name, <split>: images, ...}, ready for a table."""
    return [{"class": c, **{split: info.counts[split].get(c, 0) for split in info.counts}} for c in info.classes]


@dataclass(frozen=True)
class SplitPlan:
    """What training does with a dataset's images, counted the way `lab.data.loading.load` splits them."""

    layout: str  # "train_test", "train_only", "test_only" or "folders" (class folders, no Train/ or Test/)
    source: str  # the split it learns and validates from: "Train", "Test" (a dataset with only Test/) or "All"
    learn: int  # images it learns from
    validate: int  # images of `source` held out for validation
    test: int  # images of the separate Test split that score the run; 0 when there is none

    @property
    def scored_on(self) -> str | None:
        """Where the run's final score comes from: "Test", "validation", or None when there is neither."""
        return "Test" if self.test else ("validation" if self.validate else None)


def split_plan(info: DatasetInfo, validation_split: float) -> SplitPlan:
    """The images training learns from, validates on and is scored on, for ``validation_split`` of the source."""
    source = info.learning_split
    pool = info.total(source)
    validate = int(float(validation_split or 0.0) * pool)  # image_dataset_from_directory rounds down too
    layout = ("train_test" if info.has_test else "train_only") if info.layout == "train_test" else info.layout
    return SplitPlan(layout, source, pool - validate, validate, info.total("Test") if info.has_test else 0)


def sample_paths(
    info: DatasetInfo, per_class: int = 6, split: str | None = None, seed: int = 0
) -> dict[str, list[Path]]:
    """Up to `per_class` usable image files of each class, picked reproducibly from `split` (default: the first)."""
    split = split or next(iter(info.files), None)
    by_class: dict[str, list[str]] = {c: [] for c in info.classes}
    for rel, cls in info.files.get(split, []):
        if cls in by_class:
            by_class[cls].append(rel)
    rng = np.random.default_rng(seed)
    picked = {}
    for cls, rels in by_class.items():
        if len(rels) > per_class:
            rels = [rels[i] for i in sorted(rng.choice(len(rels), per_class, replace=False))]
        picked[cls] = [info.path / rel for rel in rels]
    return picked


def sample_grid(
    samples: dict[str, list[Path]] | DatasetInfo, per_class: int = 6, cell: int = 56, label_width: int = 48
) -> Image.Image:
    """A grid image: one row per class (its name on the left), `per_class` samples across."""
    if isinstance(samples, DatasetInfo):
        samples = sample_paths(samples, per_class=per_class)
    rows = list(samples.items())
    columns = max([per_class] + [len(p) for _, p in rows]) if rows else per_class
    grid = Image.new("RGB", (label_width + columns * (cell + 2), max(1, len(rows)) * (cell + 2)), (255, 255, 255))
    draw = ImageDraw.Draw(grid)
    font = ImageFont.load_default()
    for r, (cls, paths) in enumerate(rows):
        y = r * (cell + 2)
        draw.text((4, y + cell // 2 - 6), str(cls)[:8], fill=(0, 0, 0), font=font)
        for c, path in enumerate(paths[:columns]):
            try:
                with Image.open(path) as image:
                    image.seek(0)
                    image.load()
                    tile = imaging.to_8bit(image).convert("RGB")
            except Exception:
                continue
            tile = tile.resize((cell, cell), Image.NEAREST if max(tile.size) <= cell else Image.BILINEAR)
            grid.paste(tile, (label_width + c * (cell + 2), y))
    return grid
