"""Import a .zip of class folders (optionally under Train/ and Test/) as a dataset folder.

The archive is unpacked next to the target and renamed into place, so a failed import leaves
nothing half-written. Paths that would land outside the target are refused.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from lab.data.folders import swap_in
from lab.errors import LabError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
SPLITS = ("Train", "Test")
MAX_BYTES = 4 * 1024**3
MAX_FILES = 500_000
CHUNK = 1 << 20


def _safe_parts(name: str) -> tuple[str, ...]:
    """The member's path parts; LabError for absolute paths, '..', or drive letters."""
    if "\\" in name:
        name = name.replace("\\", "/")
    path = PurePosixPath(name)
    if path.is_absolute() or any(part == ".." for part in path.parts) or (path.parts and ":" in path.parts[0]):
        raise LabError(f"The zip contains the unsafe path {name!r} (outside its own folder); "
                       "make the archive again from the dataset folder.")
    return tuple(part for part in path.parts if part not in ("", "."))


def _wanted(parts: tuple[str, ...]) -> bool:
    if not parts or any(part.startswith(".") or part == "__MACOSX" for part in parts):
        return False
    return PurePosixPath(parts[-1]).suffix.lower() in IMAGE_SUFFIXES


def _strip_common_top(members: list[tuple[zipfile.ZipInfo, tuple[str, ...]]]):
    """Drops one shared top folder at a time (e.g. 'letters/A/1.png' -> 'A/1.png')."""
    while members:
        tops = {parts[0] for _, parts in members}
        if len(tops) != 1 or next(iter(tops)) in SPLITS or any(len(parts) < 3 for _, parts in members):
            break
        members = [(info, parts[1:]) for info, parts in members]
    return members


def plan(source) -> list[tuple[zipfile.ZipInfo, tuple[str, ...]]]:
    """(member, target parts) of every image the archive holds, after safety checks."""
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as error:
        raise LabError(f"This is not a readable .zip file ({error}); upload a zip of class folders.") from None
    with archive:
        members = []
        total = 0
        for info in archive.infolist():
            parts = _safe_parts(info.filename)
            if info.is_dir() or not _wanted(parts):
                continue
            if len(parts) < 2:
                raise LabError(f"The zip has the image {info.filename!r} outside any class folder; put every "
                               "image in a folder named after its class.")
            total += info.file_size
            members.append((info, parts))
    if not members:
        raise LabError("The zip holds no images in class folders; zip folders like A/, B/ with images inside.")
    if len(members) > MAX_FILES or total > MAX_BYTES:
        raise LabError(f"The zip is too big ({len(members):,} images, {total / 1024**3:.1f} GB unpacked); "
                       f"keep it under {MAX_FILES:,} images and {MAX_BYTES // 1024**3} GB.")
    members = _strip_common_top(members)
    if any(parts[0] in SPLITS for _, parts in members) and not all(parts[0] in SPLITS for _, parts in members):
        raise LabError("The zip mixes Train/ or Test/ folders with class folders beside them; put every class "
                       "folder inside Train/ (and Test/).")
    return members


def import_zip(source, out, replace: bool = False, progress=None) -> Path:
    """Unpacks the zip of class folders at ``source`` (a path or a binary file) into the folder ``out``.

    ``out`` must not exist unless ``replace`` is true. ``progress(fraction, text)`` is called as files
    are written. Returns ``out``.
    """
    out = Path(out)
    if out.exists() and not replace:
        raise LabError(f"{out} exists already; choose another name or confirm that it may be replaced.")
    members = plan(source)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.import-", dir=out.parent))
    try:
        with zipfile.ZipFile(source) as archive:
            for done, (info, parts) in enumerate(members, start=1):
                target = tmp.joinpath(*parts)
                if not target.resolve().is_relative_to(tmp.resolve()):
                    raise LabError(f"The zip contains the unsafe path {info.filename!r}; make the archive again.")
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as reader, open(target, "wb") as writer:
                    shutil.copyfileobj(reader, writer, CHUNK)
                if progress and (done % 200 == 0 or done == len(members)):
                    progress(done / len(members), f"{done:,} of {len(members):,} images unpacked")
        swap_in(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


