"""Finding datasets under Data/ and checking every file in them, with Pillow only (no TensorFlow).

A dataset is a folder with ``Train/`` (and optionally ``Test/``), each holding one folder per class
with the images inside. A folder that holds class folders directly (no ``Train/``) is a dataset too;
its validation part is split off when loading. A folder with only ``Test/`` is listed as well.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from lab import imaging
from lab.data import folders
from lab.i18n import number, t
from lab.paths import data_root

# The extensions keras.utils.image_dataset_from_directory reads; anything else it silently ignores.
KERAS_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
METADATA_FILE = "dataset.json"
_SAMPLE = 24  # images decoded to judge colour mode and polarity when not verifying every file
# The image modes the loader converts in memory: named as every language writes them, or in words.
_MODE_NAMES = {"CMYK": "CMYK", "RGBA": "RGBA", "YCbCr": "YCbCr", "LAB": "Lab", "HSV": "HSV"}
_MODE_WORDS = {
    "I;16": "data.mode.16_bit",
    "I;16B": "data.mode.16_bit",
    "I;16L": "data.mode.16_bit",
    "I;16N": "data.mode.16_bit",
    "I": "data.mode.32_bit_integer",
    "F": "data.mode.floating_point",
    "P": "data.mode.palette",
    "PA": "data.mode.palette_alpha",
    "LA": "data.mode.grayscale_alpha",
    "1": "data.mode.1_bit",
}
_CONVERTED_MODES = _MODE_NAMES.keys() | _MODE_WORDS.keys()
ACTIONS = {"skipped": "data.action.skipped", "converted": "data.action.converted", "resized": "data.action.resized"}
# Why a file is skipped: the short words (for counting problems by kind) and, where a detail follows, the whole
# reason with its detail.
_SKIPPED = {
    "unreadable": ("data.problem.kind.unreadable", "data.problem.unreadable"),
    "empty": ("data.problem.kind.empty", "data.problem.empty"),
    "not_an_image": ("data.problem.not_an_image", "data.problem.not_an_image"),
    "too_large": ("data.problem.kind.too_large", "data.problem.too_large"),
    "corrupt": ("data.problem.kind.corrupt", "data.problem.corrupt"),
    "hidden": ("data.problem.hidden", "data.problem.hidden"),
    "stray": ("data.problem.stray", "data.problem.stray"),
}


def default_root() -> Path:
    """The folder of datasets (`lab.paths.data_root`: $CNN_LAB_DATA, else the repository's Data/)."""
    return data_root()


@dataclass
class FileProblem:
    """One file the loader will not use as it is: `action` is "skipped", "converted" or "resized"."""

    path: str  # relative to the dataset folder
    reason: str
    action: str
    kind: str = ""  # the catalogue id of the reason's short words, for counting skipped files by kind

    def __str__(self) -> str:
        return t("data.problem.line", path=self.path, reason=self.reason, action=t(ACTIONS[self.action]))


def _skipped(rel: str, why: str, **detail) -> FileProblem:
    kind, reason = _SKIPPED[why]
    return FileProblem(rel, t(reason, **detail), "skipped", kind)


def _mode_text(mode: str) -> str:
    return t(_MODE_WORDS[mode]) if mode in _MODE_WORDS else _MODE_NAMES[mode]


@dataclass
class DatasetInfo:
    name: str
    path: Path
    classes: list[str]
    counts: dict[str, dict[str, int]]  # split ("Train", "Test" or "All") -> class -> usable images
    image_size: tuple[int, int] | None  # (height, width), the most common size
    channels: int
    color_mode: str  # "grayscale" or "rgb"
    polarity: str  # "light_on_dark" or "dark_on_light"
    has_test: bool
    problems: list[FileProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # reasons the dataset cannot be used
    centering: str = "none"  # "mass" for MNIST-style datasets (fit to 20x20, centre of mass)
    layout: str = "train_test"  # "train_test", "folders" (class folders, no Train/) or "test_only"
    verified: bool = False  # every file was decoded, not just its header read
    files: dict[str, list[tuple[str, str]]] = field(default_factory=dict, repr=False)  # split -> (relpath, class)
    split_dirs: dict[str, str] = field(default_factory=dict, repr=False)  # split -> folder relative to path
    sizes: dict[tuple[int, int], int] = field(default_factory=dict, repr=False)  # (h, w) -> images

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def splits(self) -> list[str]:
        return list(self.counts)

    @property
    def learning_split(self) -> str:
        """The split training learns and validates from: Train, else the bare class folders ("All"), else Test."""
        return "Train" if "Train" in self.counts else ("All" if "All" in self.counts else "Test")

    def total(self, split: str | None = None) -> int:
        splits = [split] if split else list(self.counts)
        return sum(sum(self.counts.get(s, {}).values()) for s in splits)

    def summary(self) -> str:
        """One line: name, classes, images per split, size and colour mode."""
        parts = ", ".join(f"{s} {number(self.total(s))}" for s in self.counts)
        size = f"{self.image_size[0]}x{self.image_size[1]}" if self.image_size else "?"
        return t("data.info.summary", name=self.name, classes=len(self.classes), counts=parts, size=size,
                 color_mode=self.color_mode)


# ----------------------------------------------------------------------------------------------
# Per-file checks, cached by (path, size, modification time).

_cache: dict[tuple, dict] = {}


def _check_file(path: Path, verify: bool) -> dict:
    """{"ok": bool, "why": (skip kind, detail), "size": (h, w), "mode": str, "gray": bool|None, "border": float|None}.

    The cache keeps why a file is skipped, not the words, so each reader gets them in their own language.
    """
    try:
        stat = path.stat()
    except OSError as exc:
        return {"ok": False, "why": ("unreadable", {"error": exc.strerror or exc})}
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    cached = _cache.get(key)
    if cached is not None and (cached.get("verified") or not verify or not cached["ok"]):
        return cached
    result = _inspect_file(path, stat.st_size, verify)
    _cache[key] = result
    return result


def _inspect_file(path: Path, nbytes: int, verify: bool) -> dict:
    if nbytes == 0:
        return {"ok": False, "why": ("empty", {})}
    try:
        with imaging.open_limited(path) as image:
            size = (image.height, image.width)
            mode = image.mode
            if not verify:
                return {"ok": True, "size": size, "mode": mode, "verified": False}
            image.seek(0)
            image.load()
            return {"ok": True, "size": size, "mode": mode, "verified": True, **_pixels_facts(image)}
    except UnidentifiedImageError:
        return {"ok": False, "why": ("not_an_image", {})}
    except imaging.TooLarge as exc:
        return {"ok": False, "why": ("too_large", {"size": exc})}
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, MemoryError) as exc:
        text = str(exc).strip().rstrip(".") or type(exc).__name__
        return {"ok": False, "why": ("corrupt", {"error": text})}


def _pixels_facts(image: Image.Image) -> dict:
    flat = imaging.to_8bit(image)
    gray = imaging.is_gray(flat)
    luma = np.asarray(flat if flat.mode == "L" else flat.convert("L"))
    return {"gray": gray, "border": float(np.median(imaging.border(luma)))}


def _decode_facts(path: Path) -> dict | None:
    try:
        with Image.open(path) as image:
            image.seek(0)
            image.load()
            return _pixels_facts(image)
    except Exception:  # a broken sample only weakens the guess; the verifying pass reports it
        return None


# ----------------------------------------------------------------------------------------------
# Folder layout.


def _visible_dirs(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return []


def _has_images(folder: Path) -> bool:
    for class_dir in _visible_dirs(folder):
        try:
            if any(f.is_file() and not f.name.startswith(".") for f in class_dir.iterdir()):
                return True
        except OSError:
            continue
    return False


def _layout(path: Path) -> tuple[str, dict[str, Path]] | None:
    if (path / "Train").is_dir():
        splits = {"Train": path / "Train"}
        if (path / "Test").is_dir():
            splits["Test"] = path / "Test"
        return "train_test", splits
    if (path / "Test").is_dir() and not [d for d in _visible_dirs(path) if d.name != "Test"]:
        return "test_only", {"Test": path / "Test"}
    if _has_images(path):
        return "folders", {"All": path}
    return None


def is_dataset(path) -> bool:
    path = Path(path)
    return path.is_dir() and _layout(path) is not None


# ----------------------------------------------------------------------------------------------


def inspect(path, verify: bool = False) -> DatasetInfo:
    """Describe the dataset in `path`: classes, image counts per split and class, size, colour mode.

    With `verify=False` only headers are read (fast, for listing); with `verify=True` every image is
    decoded, so truncated and corrupt files are found too. Nothing on disk is changed.
    """
    path = Path(path)
    name = path.name
    layout = _layout(path) if path.is_dir() else None
    if layout is None:
        missing = "data.error.no_folder" if not path.exists() else "data.error.no_class_folders"
        return DatasetInfo(
            name=name,
            path=path,
            classes=[],
            counts={},
            image_size=None,
            channels=1,
            color_mode="grayscale",
            polarity=imaging.LIGHT_ON_DARK,
            has_test=False,
            layout="none",
            verified=verify,
            errors=[t(missing, path=path)],
        )
    kind, split_dirs = layout
    problems: list[FileProblem] = []
    warns: list[str] = []
    errors: list[str] = []
    counts: dict[str, dict[str, int]] = {}
    files: dict[str, list[tuple[str, str]]] = {}
    facts: list[tuple[str, dict]] = []  # (relpath, file facts) of usable files

    for split, split_dir in split_dirs.items():
        class_dirs = _visible_dirs(split_dir)
        split_counts: dict[str, int] = {}
        split_files: list[tuple[str, str]] = []
        if split != "All":
            for stray in sorted(split_dir.iterdir()):
                if stray.is_file():
                    problems.append(_skipped(_rel(stray, path), "hidden" if stray.name.startswith(".") else "stray"))
        for class_dir in class_dirs:
            n = 0
            for file in _walk(class_dir):
                rel = _rel(file, path)
                if file.name.startswith("."):
                    problems.append(_skipped(rel, "hidden"))
                    continue
                result = _check_file(file, verify)
                if not result["ok"]:
                    why, detail = result["why"]
                    problems.append(_skipped(rel, why, **detail))
                    continue
                n += 1
                split_files.append((rel, class_dir.name))
                facts.append((rel, result))
            if n == 0:
                warns.append(t("data.warning.empty_class", folder=_rel(class_dir, path)))
            else:
                split_counts[class_dir.name] = n
        counts[split] = split_counts
        files[split] = split_files

    classes = sorted(set().union(*[set(c) for c in counts.values()])) if counts else []
    if "Train" in counts and "Test" in counts and counts["Test"]:
        train, test = set(counts["Train"]), set(counts["Test"])
        if train != test:
            parts = []
            if test - train:
                parts.append(t("data.error.test_has_more", classes=_names(test - train)))
            if train - test:
                parts.append(t("data.error.train_has_more", classes=_names(train - test)))
            difference = t("data.both", first=parts[0], second=parts[1]) if len(parts) == 2 else parts[0]
            errors.append(t("data.error.class_mismatch", name=name, difference=difference))
        classes = sorted(train)
    elif "Train" in counts:
        classes = sorted(counts["Train"])
    if "Test" in counts and not counts["Test"]:
        counts.pop("Test")
        files.pop("Test", None)
    if not facts:
        errors.append(t("data.error.no_usable_images", name=name))
    elif kind != "test_only" and len(classes) < 2:
        errors.append(t("data.error.one_class", name=name, count=len(classes)))
    if kind == "test_only":
        warns.append(t("data.warning.test_only", name=name))

    sizes = Counter(r["size"] for _, r in facts)
    image_size = sizes.most_common(1)[0][0] if sizes else None
    if len(sizes) > 1:
        odd = [(rel, r["size"]) for rel, r in facts if r["size"] != image_size]
        for rel, (h, w) in odd:
            problems.append(FileProblem(rel, t("data.problem.other_size", width=w, height=h,
                                                 expected_width=image_size[1], expected_height=image_size[0]),
                                        "resized"))
        warns.append(t("data.warning.other_sizes", count=len(odd), width=image_size[1], height=image_size[0]))

    color_mode, polarity = _colour_and_polarity(path, facts, verify)
    for rel, r in facts:
        if r["mode"] in _CONVERTED_MODES:
            problems.append(FileProblem(rel, t("data.problem.converted_mode", mode=_mode_text(r["mode"]),
                                                 color_mode=color_mode), "converted"))
        elif Path(rel).suffix.lower() not in KERAS_EXTENSIONS:
            problems.append(FileProblem(rel, t("data.problem.other_format", suffix=Path(rel).suffix), "converted"))

    skipped = [p for p in problems if p.action == "skipped"]
    if skipped:
        kinds = Counter(p.kind for p in skipped)
        detail = ", ".join(t("data.problem.kind_count", count=n, kind=t(k)) for k, n in kinds.most_common())
        warns.append(t("data.warning.skipped", count=len(skipped), detail=detail))
    converted = [p for p in problems if p.action == "converted"]
    if converted:
        warns.append(t("data.warning.converted", count=len(converted), color_mode=color_mode))

    metadata = _metadata(path)
    centering = metadata.get("centering", "none") if metadata.get("centering") in ("mass", "none") else "none"
    return DatasetInfo(
        name=name,
        path=path,
        classes=classes,
        counts=counts,
        image_size=image_size,
        channels=1 if color_mode == "grayscale" else 3,
        color_mode=color_mode,
        polarity=polarity,
        has_test=kind == "train_test" and "Test" in counts,
        problems=problems,
        warnings=warns,
        errors=errors,
        centering=centering,
        layout=kind,
        verified=verify,
        files=files,
        split_dirs={s: _rel(d, path) if d != path else "." for s, d in split_dirs.items()},
        sizes=dict(sizes),
    )


def discover(root=None, verify: bool = False) -> list[DatasetInfo]:
    """Every dataset in `root` (default: the repository's Data/): `root` itself when it has Train/,
    and each `root/<name>/` shaped like a dataset. Sorted by name; hidden folders are ignored.

    Abandoned staging folders of killed imports in `root` and its datasets are removed on the way
    (`lab.data.folders.clean_stale`); nothing else on disk is changed."""
    root = Path(root) if root is not None else default_root()
    folders.clean_stale(root)  # what killed imports left behind: staging folders, and datasets to put back
    found = []
    if (root / "Train").is_dir():
        found.append(inspect(root, verify=verify))
    for folder in _visible_dirs(root):
        folders.clean_stale(folder)  # a CSV import stages <dataset>/.Train.import-*
        if folder.name in ("Train", "Test"):
            continue
        if is_dataset(folder):
            found.append(inspect(folder, verify=verify))
    return sorted(found, key=lambda info: info.name.lower())


# ----------------------------------------------------------------------------------------------


def _colour_and_polarity(path: Path, facts: list[tuple[str, dict]], verify: bool) -> tuple[str, str]:
    if not facts:
        return "grayscale", imaging.LIGHT_ON_DARK
    single = {"L", "1", "I;16", "I;16B", "I;16L", "I;16N", "I", "F", "LA"}
    if verify:
        gray = all(r.get("gray", r["mode"] in single) for _, r in facts)
        borders = [r["border"] for _, r in facts if r.get("border") is not None]
    else:
        step = max(1, len(facts) // _SAMPLE)
        sample = [path / rel for rel, _ in facts[::step][:_SAMPLE]]
        decoded = [d for d in (_decode_facts(p) for p in sample) if d]
        needs_pixels = any(r["mode"] not in single for _, r in facts)
        gray = not needs_pixels or (bool(decoded) and all(d["gray"] for d in decoded))
        if needs_pixels and gray:
            # Headers say colour: decode a few more of the colour ones before calling it grayscale.
            colour = [path / rel for rel, r in facts if r["mode"] not in single]
            step = max(1, len(colour) // _SAMPLE)
            more = [d for d in (_decode_facts(p) for p in colour[::step][:_SAMPLE]) if d]
            gray = all(d["gray"] for d in more)
        borders = [d["border"] for d in decoded]
    polarity = imaging.LIGHT_ON_DARK
    if borders and float(np.median(borders)) >= 127.5:
        polarity = imaging.DARK_ON_LIGHT
    return ("grayscale" if gray else "rgb"), polarity


def _walk(folder: Path):
    for current, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            yield Path(current) / name


def _rel(file: Path, base: Path) -> str:
    try:
        return file.relative_to(base).as_posix()
    except ValueError:
        return str(file)


def _names(items) -> str:
    items = sorted(items)
    return t("data.names.class" if len(items) == 1 else "data.names.classes", names=", ".join(repr(i) for i in items))


def _metadata(path: Path) -> dict:
    try:
        data = json.loads((path / METADATA_FILE).read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}
