"""Putting a finished folder in place, so that no reader ever sees half a dataset.

Every dataset writer (CSV import, zip import, the built-in digits) goes through `staged`: it writes into
a hidden staging folder beside the target, named ``.<target>.<kind>-<pid>-<random>``, and `swap_in`
renames it into place at the end. A failure removes the staging folder and any folder the writer made
for it, so the data root is left exactly as it was. A writer that is killed cannot clean up after
itself: `clean_stale` removes such leftovers later (the next import, the next scan of the data root).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from lab.errors import LabError
from lab.i18n import t

KINDS = ("import", "tmp", "build", "old")  # the staging folders the dataset writers make
# A staging folder whose writer has done nothing for this long is abandoned, even when its process id is
# taken (process ids are reused) or unknown (folders made before the id was part of the name). A live writer
# adds a file every few milliseconds, so an hour of silence is not one.
STALE_AFTER_S = 3600
_STAGING = re.compile(r"^\.(?P<name>.+)\.(?P<kind>" + "|".join(KINDS) + r")-(?:(?P<pid>\d+)-)?[^-]*$")
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"})


class WouldReplace(LabError):
    """Writing ``target`` would replace files that are there; ``sentence(fix)`` words it with a fix."""

    def __init__(self, target: Path, images: int, classes: int, others: int):
        self.target, self.images, self.classes, self.others = Path(target), images, classes, others
        super().__init__(self.sentence(t("data.replace.fix_argument")))

    def sentence(self, fix: str) -> str:
        """The refusal with ``fix`` (words already in the reader's language) as its last part."""
        held = held_text(self.images, self.classes, self.others)
        return t("data.replace.refused", target=self.target, held=held, fix=fix)


def held_text(images: int, classes: int, others: int) -> str:
    """ "300 images in 3 classes", "1 image in 1 class and 2 other files", "4 files", "nothing" (see `holdings`)."""
    held = []
    if images:
        held.append(t("data.held.images_in_classes",
                      images=t("data.count.image" if images == 1 else "data.count.images", count=images),
                      classes=t("data.count.class" if classes == 1 else "data.count.classes", count=classes)))
    if others and images:
        held.append(t("data.count.other_file" if others == 1 else "data.count.other_files", count=others))
    elif others:
        held.append(t("data.count.file" if others == 1 else "data.count.files", count=others))
    if len(held) == 2:
        return t("data.both", first=held[0], second=held[1])
    return held[0] if held else t("data.held.nothing")


def holdings(folder: Path) -> tuple[int, int, int]:
    """(images, classes, other files) under ``folder``: a class is the name of a folder that holds images
    (Train/A and Test/A are one class); hidden files count as others."""
    images, others, classes = 0, 0, set()
    for current, _dirs, names in os.walk(folder):
        for name in names:
            if Path(name).suffix.lower() in IMAGE_SUFFIXES and not name.startswith("."):
                images += 1
                classes.add(os.path.basename(current))
            else:
                others += 1
    return images, len(classes), others


def check_target(target: Path, replace: bool) -> None:
    """LabError when ``target`` cannot be written: it is a file, or it holds files and ``replace`` is false."""
    target = Path(target)
    _check_folder_path(target.parent)
    if target.exists() and not target.is_dir():
        raise LabError(t("data.folder.target_is_a_file", target=target))
    if target.is_dir() and not replace:
        images, classes, others = holdings(target)
        if images or others:
            raise WouldReplace(target, images, classes, others)


def _check_folder_path(folder: Path) -> None:
    """LabError when ``folder`` or one of its parents is a file, so no folder can be made there."""
    for path in (folder, *folder.parents):
        if path.exists() or path.is_symlink():
            if not path.is_dir():
                raise LabError(t("data.folder.parent_is_a_file", path=path))
            return


def _make_folders(folder: Path) -> list[Path]:
    """Makes ``folder`` and its missing parents; the ones it made, innermost first."""
    made = []
    for path in (folder, *folder.parents):
        if path.exists():
            break
        made.append(path)
    _check_folder_path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _remove_empty(made)
        raise LabError(t("data.folder.cannot_make", folder=folder, error=exc.strerror or exc)) from None
    return made


def _remove_empty(folders: list[Path]) -> None:
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


def staging_dir(parent: Path, name: str, kind: str) -> Path:
    """A new hidden folder in ``parent`` for writing ``name``, named so `clean_stale` knows its owner."""
    return Path(tempfile.mkdtemp(prefix=f".{name}.{kind}-{os.getpid()}-", dir=parent))


@contextmanager
def staged(target, kind: str = "import"):
    """Yields an empty staging folder beside ``target``; on success it replaces ``target`` (see `swap_in`).

    On any failure (an error, Ctrl-C) the staging folder and the parent folders made for it are removed.
    Stale staging folders beside ``target`` are cleaned up first.
    """
    target = Path(target)
    made = _make_folders(target.parent)
    clean_stale(target.parent)
    try:
        tmp = staging_dir(target.parent, target.name, kind)
    except OSError as exc:
        _remove_empty(made)
        raise LabError(t("data.folder.cannot_write", folder=target.parent, error=exc.strerror or exc)) from None
    try:
        yield tmp
        swap_in(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        _remove_empty(made)
        raise


def swap_in(tmp: Path, target: Path) -> None:
    """Moves the finished folder ``tmp`` to ``target`` by rename, replacing an older ``target``.

    The older folder is moved aside first and put back if the rename fails, so ``target`` is always
    either the old complete folder or the new one (a kill between the two renames leaves the old one in
    ``.<target>.old-*``, which `clean_stale` puts back).
    """
    old = None
    if target.exists() or target.is_symlink():
        old = staging_dir(target.parent, target.name, "old")
        os.replace(target, old / target.name)
    try:
        os.replace(tmp, target)
    except OSError:
        if old is not None:
            os.replace(old / target.name, target)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's process, or a platform that cannot tell: assume it is alive
    return True


def _last_activity(folder: Path) -> float:
    """The latest modification time of the folder and the folders two levels down (where files are added)."""
    latest = folder.stat().st_mtime
    for child in _subdirs(folder):
        for sub in (child, *_subdirs(child)):
            try:
                latest = max(latest, sub.stat().st_mtime)
            except OSError:
                continue
    return latest


def _subdirs(folder: Path) -> list[Path]:
    try:
        return [p for p in folder.iterdir() if p.is_dir() and not p.is_symlink()]
    except OSError:
        return []


def is_stale(folder: Path, now: float | None = None) -> bool:
    """True for a staging folder whose writer is gone: its process has ended, or it has been idle an hour."""
    match = _STAGING.match(folder.name)
    if not match or not folder.is_dir() or folder.is_symlink():
        return False
    pid = match.group("pid")
    if pid is not None and not _pid_alive(int(pid)):
        return True
    try:
        return (now or time.time()) - _last_activity(folder) > STALE_AFTER_S
    except OSError:
        return False


def clean_stale(parent) -> list[Path]:
    """Removes the abandoned staging folders in ``parent``; returns them. Never raises.

    An abandoned ``.<name>.old-*`` folder holds the previous ``<name>`` when a writer was killed between its
    two renames: it is put back when ``<name>`` is missing, and removed otherwise.
    """
    parent = Path(parent)
    removed = []
    try:
        candidates = [p for p in parent.iterdir() if p.name.startswith(".")]
    except OSError:
        return removed
    for folder in candidates:
        try:
            if not is_stale(folder):
                continue
            match = _STAGING.match(folder.name)
            if match.group("kind") == "old":
                kept, target = folder / match.group("name"), parent / match.group("name")
                if kept.exists() and not (target.exists() or target.is_symlink()):
                    os.replace(kept, target)
            shutil.rmtree(folder)
            removed.append(folder)
        except OSError:
            continue
    return removed
