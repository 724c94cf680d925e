"""A person's own samples: recorded datasets under Data/<name>/Train/<class>/, one PNG per sample.

A recorded dataset is a folder made here (`new_dataset`); its ``dataset.json`` says ``"recorded": true``, and
only such datasets are written to or deleted from: the lab never changes the images of a dataset it did not
make. Classes are the folders under ``Train/``; an empty folder is a class with no samples yet, so a dataset
started from the classes of another one (the 24 letters of Sign Language MNIST) lists them all at once.

Every sample is the captured picture itself (cropped, never upscaled, at most MAX_SIDE pixels a side), so it can
be preprocessed again later. A sample is written beside its class (``<dataset>/.incoming/``) and linked into
place in one step: a crash or a reload leaves either the whole file or nothing. A sample id names the file, so
saving the same snapshot twice (a rerun that saw it again) keeps one copy. Deleting moves the file to
``<dataset>/.deleted/<class>/``, from where `restore_sample` brings it back.

A recorded dataset belongs to the person who made it (``"owner"`` in dataset.json, ``lab.ownership``): only they
see it in the lists of recorded datasets and add or delete its samples and classes. One made before datasets had
owners, or from the command line, belongs to everyone.
"""

from __future__ import annotations

import io
import json
import os
import re
import secrets
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

from lab import imaging, ownership
from lab.data.folders import IMAGE_SUFFIXES, staged
from lab.errors import LabError
from lab.i18n import t
from lab.paths import data_root

SPLIT = "Train"
METADATA_FILE = "dataset.json"  # the file lab.data.discovery reads a dataset's facts from
INCOMING = ".incoming"  # samples being written, linked into their class when complete
DELETED = ".deleted"  # deleted samples, by class, until restored
MIN_SIDE = 32  # pixels: a smaller crop holds too little to learn from, and is never enlarged
RECOMMENDED_SIDE = 128  # pixels: crops under this are kept, and said to be small
MAX_SIDE = 512  # pixels: larger captures are scaled down to this, keeping their shape
NAME_MAX = 64  # characters in a dataset or class name
SAMPLE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
LEFTOVER_AFTER_S = 3600  # a file in .incoming this old belongs to a writer that died
_FORBIDDEN = '/\\:*?"<>|'
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{n}" for n in range(1, 10)), *(f"lpt{n}" for n in range(1, 10))}
_SPLITS = {"train", "test"}
_WHAT = {"dataset": "samples.what.dataset", "class": "samples.what.class"}


@dataclass(frozen=True)
class Saved:
    """A sample on disk: where, its size in pixels, and whether this call wrote it or found it there."""

    path: Path
    width: int
    height: int
    existed: bool = False

    @property
    def small(self) -> bool:
        return min(self.width, self.height) < RECOMMENDED_SIDE


@dataclass(frozen=True)
class Deleted:
    """A sample moved out of its class, and where it waits to be restored."""

    dataset: str
    cls: str
    name: str
    kept: Path


# --- names ---------------------------------------------------------------------------------------------------------


def check_name(name: object, what: str) -> str:
    """``name`` as a folder name for a ``what`` ("dataset" or "class"), or LabError with the change to make.

    Surrounding spaces are dropped and the name is put in Unicode NFC form (so "ç" typed two ways is one class).
    Refused: empty names, names over NAME_MAX characters, a path separator or a character some file systems
    forbid, control characters, a leading dot (hidden) or trailing dot, names Windows keeps for devices, and for
    datasets the split names Train and Test.
    """
    kind = t(_WHAT[what])
    text = unicodedata.normalize("NFC", name.strip()) if isinstance(name, str) else ""
    if not text:
        raise LabError(t("samples.name.empty", what=kind))
    if len(text) > NAME_MAX:
        raise LabError(t("samples.name.too_long", what=kind, length=len(text), limit=NAME_MAX))
    for char in text:
        if char in _FORBIDDEN or unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            shown = repr(char) if unicodedata.category(char)[0] in "CZ" else f"'{char}'"
            raise LabError(t("samples.name.bad_char", what=kind, char=shown))
    if text.startswith("."):
        raise LabError(t("samples.name.dot_start", what=kind))
    if text.endswith("."):
        raise LabError(t("samples.name.dot_end", what=kind))
    if text.split(".")[0].lower() in _RESERVED:
        raise LabError(t("samples.name.reserved", what=kind, name=text))
    if what == "dataset" and text.lower() in _SPLITS:
        raise LabError(t("samples.name.split", name=text))
    return text


def _root(root) -> Path:
    return Path(root) if root is not None else data_root()


def _same_name(folder: Path, name: str) -> Path | None:
    """The entry of ``folder`` named ``name``, ignoring case (a case-insensitive disk holds only one of them)."""
    try:
        return next((entry for entry in folder.iterdir() if entry.name.lower() == name.lower()), None)
    except OSError:
        return None


# --- datasets ------------------------------------------------------------------------------------------------------


def _metadata(folder) -> dict:
    try:
        data = json.loads((Path(folder) / METADATA_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def is_recorded(folder) -> bool:
    """True for a dataset folder made by `new_dataset` (its dataset.json says ``"recorded": true``)."""
    return _metadata(folder).get("recorded") is True


def owner_of(folder) -> str | None:
    """The owner id of a recorded dataset, or None when it belongs to everyone."""
    return ownership.owner_of(_metadata(folder))


def visible(folder, viewer: str = ownership.ANYONE) -> bool:
    """Whether ``viewer`` sees the dataset folder in lists: any dataset but someone else's recorded one."""
    data = _metadata(folder)
    return data.get("recorded") is not True or ownership.can_see(ownership.owner_of(data), False, viewer)


def recorded_datasets(root=None, viewer: str = ownership.ANYONE) -> list[str]:
    """The names of the recorded datasets in the data root that ``viewer`` sees, sorted."""
    folder = _root(root)
    try:
        entries = [entry for entry in folder.iterdir() if entry.is_dir() and not entry.name.startswith(".")]
    except OSError:
        return []
    return sorted((entry.name for entry in entries if is_recorded(entry) and visible(entry, viewer)), key=str.lower)


def dataset_path(name: str, root=None) -> Path:
    """The folder of the recorded dataset ``name``; LabError when there is none by that name."""
    name = check_name(name, "dataset")
    folder = _root(root) / name
    if not folder.is_dir():
        raise LabError(t("samples.dataset.missing", name=name))
    if not is_recorded(folder):
        raise LabError(t("samples.dataset.not_recorded", name=name))
    return folder


def _changeable(name: str, root, viewer: str) -> Path:
    """The folder of the recorded dataset ``name`` when ``viewer`` may add to it or delete from it; else LabError."""
    folder = dataset_path(name, root)
    if not ownership.can_change(owner_of(folder), viewer):
        raise LabError(t("samples.dataset.not_yours", name=folder.name))
    return folder


def new_dataset(name: str, classes=(), source: str | None = None, root=None, owner: str | None = None) -> Path:
    """Makes the recorded dataset ``name`` with an empty folder for each of ``classes``; returns its folder.

    ``source`` names the dataset the classes were taken from, ``owner`` the person it belongs to (None: everyone),
    both kept in dataset.json. The folder appears whole or not at all (`lab.data.folders.staged`). LabError for a
    bad or taken name, or a bad class name.
    """
    name = check_name(name, "dataset")
    root = _root(root)
    taken = _same_name(root, name) if root.is_dir() else None
    if taken is not None:
        raise LabError(t("samples.dataset.exists", name=taken.name))
    wanted = []
    for cls in classes:
        cls = check_name(cls, "class")
        if cls.lower() not in {known.lower() for known in wanted}:
            wanted.append(cls)
    metadata = {"recorded": True, "classes_from": source}
    if owner is not None and owner != ownership.ANYONE:
        metadata["owner"] = owner
    with staged(root / name, kind="build") as tmp:
        (tmp / SPLIT).mkdir()
        for cls in wanted:
            (tmp / SPLIT / cls).mkdir()
        (tmp / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
    return root / name


def classes_of(folder) -> list[str]:
    """The class names of any dataset folder: a recorded one's class folders (empty ones too), else the classes
    `lab.data.discovery.inspect` finds."""
    folder = Path(folder)
    if is_recorded(folder):
        return sorted(_class_dirs(folder))
    from lab.data.discovery import inspect

    return list(inspect(folder).classes)


def _class_dirs(folder: Path) -> dict[str, Path]:
    split = folder / SPLIT
    try:
        return {entry.name: entry for entry in split.iterdir() if entry.is_dir() and not entry.name.startswith(".")}
    except OSError:
        return {}


def add_class(dataset: str, cls: str, root=None, viewer: str = ownership.ANYONE) -> Path:
    """Makes the empty class folder ``cls`` in the recorded ``dataset``; LabError when it is there already."""
    folder = _changeable(dataset, root, viewer)
    cls = check_name(cls, "class")
    (folder / SPLIT).mkdir(exist_ok=True)
    taken = _same_name(folder / SPLIT, cls)
    if taken is not None:
        raise LabError(t("samples.class.exists", name=taken.name, dataset=folder.name))
    path = folder / SPLIT / cls
    try:
        path.mkdir()
    except OSError as exc:
        raise LabError(t("samples.cannot_write", folder=path.parent, error=exc.strerror or exc)) from None
    return path


def remove_class(dataset: str, cls: str, root=None, viewer: str = ownership.ANYONE) -> None:
    """Removes the class ``cls`` of the recorded ``dataset`` when it holds no samples; LabError otherwise."""
    _changeable(dataset, root, viewer)
    path = class_path(dataset, cls, root)
    count = len(sample_files(dataset, cls, root))
    if count:
        raise LabError(t("samples.class.not_empty", name=path.name, count=count))
    try:
        for entry in path.iterdir():  # hidden leftovers only: samples were counted above
            entry.unlink()
        path.rmdir()
    except OSError as exc:
        raise LabError(t("samples.cannot_write", folder=path, error=exc.strerror or exc)) from None


def class_path(dataset: str, cls: str, root=None) -> Path:
    """The folder of class ``cls`` in the recorded ``dataset``; LabError when it is not there."""
    folder = dataset_path(dataset, root)
    cls = check_name(cls, "class")
    path = _class_dirs(folder).get(cls)
    if path is None:
        raise LabError(t("samples.class.missing", name=cls, dataset=folder.name))
    return path


def counts(dataset: str, root=None) -> dict[str, int]:
    """{class: samples} of the recorded ``dataset``, empty classes included, sorted by class name."""
    folder = dataset_path(dataset, root)
    return {cls: len(_images(path)) for cls, path in sorted(_class_dirs(folder).items())}


def _images(folder: Path) -> list[Path]:
    try:
        return [entry for entry in folder.iterdir() if entry.is_file() and not entry.name.startswith(".")
                and entry.suffix.lower() in IMAGE_SUFFIXES]
    except OSError:
        return []


def sample_files(dataset: str, cls: str, root=None) -> list[Path]:
    """The samples of one class, newest first."""
    def newest(path: Path):
        try:
            return path.stat().st_mtime_ns, path.name
        except OSError:
            return 0, path.name

    return sorted(_images(class_path(dataset, cls, root)), key=newest, reverse=True)


# --- samples -------------------------------------------------------------------------------------------------------


def new_sample_id() -> str:
    """A sample id that sorts by time: ``20261127-153012-4f9a1c``."""
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"


def captured(image, crop=None, name: str | None = None) -> Image.Image:
    """The picture a sample keeps: ``image`` (a PIL image or the bytes of one) upright, cropped to ``crop`` (left,
    top, right, bottom in its pixels), transparency flattened, 8-bit grayscale or RGB, scaled down to at most
    MAX_SIDE pixels a side. LabError for what is not an image and for a crop under MIN_SIDE pixels a side."""
    from lab.predict import open_image

    picture = open_image(image, name)
    picture = ImageOps.exif_transpose(picture) or picture
    if crop is not None:
        left, top, right, bottom = imaging.clamped_box(crop, picture.size)
        if right - left < 1 or bottom - top < 1:
            raise LabError(t("samples.crop_outside"))
        picture = picture.crop((left, top, right, bottom))
    if min(picture.size) < MIN_SIDE:
        raise LabError(t("samples.too_small", width=picture.width, height=picture.height, minimum=MIN_SIDE))
    picture = imaging.to_8bit(picture)
    if picture.mode == "RGB" and imaging.is_gray(picture):
        picture = picture.convert("L")
    if max(picture.size) > MAX_SIDE:
        scale = MAX_SIDE / max(picture.size)
        size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
        picture = picture.resize(size, Image.LANCZOS)
    return picture


def add_sample(dataset: str, cls: str, image, crop=None, sample_id: str | None = None, root=None,
               viewer: str = ownership.ANYONE) -> Saved:
    """Saves ``image`` (see `captured`) as a PNG sample of class ``cls`` in the recorded ``dataset``.

    The class folder is made when it is new. ``sample_id`` (default: a new one) names the file; when a sample
    with that id is there already, nothing is written and the one on disk is returned (``existed=True``).
    """
    folder = _changeable(dataset, root, viewer)
    cls = check_name(cls, "class")
    sample_id = new_sample_id() if sample_id is None else str(sample_id)
    if not SAMPLE_ID.match(sample_id):
        raise LabError(t("samples.bad_id", id=sample_id[:70]))
    classes = _class_dirs(folder)
    target_dir = classes.get(cls) or _same_name(folder / SPLIT, cls) or folder / SPLIT / cls
    target = target_dir / f"{sample_id}.png"
    if target.is_file():
        with Image.open(target) as kept:
            return Saved(target, kept.width, kept.height, existed=True)
    picture = captured(image, crop)
    data = io.BytesIO()
    picture.save(data, "PNG", optimize=False)
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
        existed = not _write_new(folder / INCOMING, target, data.getvalue())
    except OSError as exc:
        raise LabError(t("samples.cannot_write", folder=target_dir, error=exc.strerror or exc)) from None
    return Saved(target, picture.width, picture.height, existed=existed)


def _write_new(incoming: Path, target: Path, data: bytes) -> bool:
    """Writes ``data`` to ``target`` whole, never over an existing file: False when ``target`` was there."""
    incoming.mkdir(exist_ok=True)
    _clean_leftovers(incoming)
    part = incoming / f"{target.stem}.{os.getpid()}-{secrets.token_hex(4)}.part"
    try:
        with open(part, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(part, target)  # fails when target exists: a second writer of the same id keeps the first
        except FileExistsError:
            return False
        except OSError:  # a file system without hard links: rename, after a last look
            if target.exists():
                return False
            os.replace(part, target)
        return True
    finally:
        part.unlink(missing_ok=True)


def _clean_leftovers(incoming: Path, now: float | None = None) -> None:
    now = now or time.time()
    try:
        for entry in incoming.iterdir():
            try:
                if now - entry.stat().st_mtime > LEFTOVER_AFTER_S:
                    entry.unlink()
            except OSError:
                continue
    except OSError:
        return


def _sample_in(dataset: str, cls: str, name: str, root=None) -> Path:
    path = class_path(dataset, cls, root)
    if not isinstance(name, str) or Path(name).name != name or name.startswith(".") or "\\" in name:
        raise LabError(t("samples.sample.missing", name=str(name)[:70], cls=path.name))
    sample = path / name
    if not sample.is_file() or sample.suffix.lower() not in IMAGE_SUFFIXES:
        raise LabError(t("samples.sample.missing", name=name, cls=path.name))
    return sample


def delete_sample(dataset: str, cls: str, name: str, root=None, viewer: str = ownership.ANYONE) -> Deleted:
    """Moves the sample ``name`` out of class ``cls`` to ``<dataset>/.deleted/<class>/``; `restore_sample` undoes
    it. LabError when there is no such sample (a name with a path in it never is one)."""
    _changeable(dataset, root, viewer)
    sample = _sample_in(dataset, cls, name, root)
    folder = sample.parents[2]
    kept_dir = folder / DELETED / sample.parent.name
    try:
        kept_dir.mkdir(parents=True, exist_ok=True)
        kept = kept_dir / name
        if kept.exists():
            kept = kept_dir / f"{sample.stem}-{secrets.token_hex(3)}{sample.suffix}"
        os.replace(sample, kept)
    except OSError as exc:
        raise LabError(t("samples.cannot_write", folder=sample.parent, error=exc.strerror or exc)) from None
    return Deleted(folder.name, sample.parent.name, name, kept)


def restore_sample(deleted: Deleted, root=None, viewer: str = ownership.ANYONE) -> Path:
    """Puts a deleted sample back in its class (the class folder is made again if it went)."""
    folder = _changeable(deleted.dataset, root, viewer)
    target_dir = folder / SPLIT / check_name(deleted.cls, "class")
    target = target_dir / deleted.name
    if not deleted.kept.is_file() or folder not in deleted.kept.parents:
        raise LabError(t("samples.sample.gone", name=deleted.name))
    if target.exists():
        raise LabError(t("samples.sample.back_already", name=deleted.name, cls=deleted.cls))
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
        os.replace(deleted.kept, target)
    except OSError as exc:
        raise LabError(t("samples.cannot_write", folder=target_dir, error=exc.strerror or exc)) from None
    return target
