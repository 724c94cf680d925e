"""Import a .zip of class folders (optionally under Train/ and Test/) as a dataset folder.

Everything the archive's directory says is checked before a byte is written: paths that would land
outside the target, names the file system cannot hold, a file and a folder with the same name, and
the sizes (see the limits below). The archive is then unpacked into a hidden folder next to the
target (`lab.data.folders.staged`) and renamed into place, so a failed import leaves nothing
half-written; while unpacking, each member's bytes are counted, so an archive whose directory lies
about a size is stopped there.
"""

from __future__ import annotations

import errno
import shutil
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from lab.data.folders import IMAGE_SUFFIXES, check_target, staged
from lab.errors import LabError
from lab.i18n import number, t

SPLITS = ("Train", "Test")
# Limits, checked from the zip's directory before anything is written (ZipInfo.file_size, compress_size):
# - MAX_MEMBER_BYTES: one image file. A 16-megapixel RGB photo stored uncompressed (BMP, TIFF) is 48 MB;
#   nothing a small CNN trains on is bigger, and a 64 MB file is read into memory whole when decoded.
# - MAX_BYTES, MAX_FILES: the whole dataset unpacked; 4 GB and half a million images is far beyond the
#   datasets of the notes (Sign Language MNIST is 34,627 images; its 7,172 Test PNGs take 5 MB).
# - MAX_RATIO above RATIO_FLOOR: PNG, JPEG, GIF and WebP are compressed already and zip to about 1:1; even
#   BMP and TIFF photos rarely pass 10:1. More than 100:1 is a nearly empty file or a zip bomb (1 MB that
#   inflates to 1 GB is 1000:1), so it is refused for any member, or the archive as a whole, that would
#   unpack to more than 16 MB. Below that any ratio is fine: a black 1000x1000 BMP (3 MB) zips 1000:1.
MAX_MEMBER_BYTES = 64 * 2**20
MAX_BYTES = 4 * 2**30
MAX_FILES = 500_000
MAX_RATIO = 100
RATIO_FLOOR = 16 * 2**20
NAME_MAX_BYTES = 255  # one file or folder name, in UTF-8 bytes: the limit of ext4, APFS, NTFS
CHUNK = 1 << 20
_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}


def _safe_parts(name: str) -> tuple[str, ...]:
    """The member's path parts; LabError for absolute paths, '..', or drive letters."""
    if "\\" in name:
        name = name.replace("\\", "/")
    path = PurePosixPath(name)
    if path.is_absolute() or any(part == ".." for part in path.parts) or (path.parts and ":" in path.parts[0]):
        raise LabError(t("data.zip.unsafe_path", name=repr(name)))
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


def _mb(n: int) -> str:
    return f"{number(n / 2**20, ',.0f')} MB" if n < 2**30 else f"{number(n / 2**30, ',.1f')} GB"


def _check_member(info: zipfile.ZipInfo, parts: tuple[str, ...]) -> None:
    """LabError for a member that cannot or must not be unpacked, judged from the directory alone."""
    name = info.filename
    for part in parts:
        if len(part.encode("utf-8", "surrogateescape")) > NAME_MAX_BYTES:
            raise LabError(t("data.zip.long_name", length=len(part), start=part[:20], name=repr(name[:60]),
                             limit=NAME_MAX_BYTES))
    if info.flag_bits & 0x1:
        raise LabError(t("data.zip.encrypted", name=repr(name)))
    if info.compress_type not in _METHODS:
        raise LabError(t("data.zip.unknown_method", name=repr(name)))
    if info.file_size > MAX_MEMBER_BYTES:
        raise LabError(t("data.zip.member_too_big", name=repr(name), size=_mb(info.file_size),
                         limit=_mb(MAX_MEMBER_BYTES)))
    _check_ratio(info.file_size, info.compress_size, t("data.zip.the_member", name=repr(name)))


def _check_ratio(size: int, packed: int, what: str) -> None:
    if size > RATIO_FLOOR and size > MAX_RATIO * max(packed, 1):
        raise LabError(t("data.zip.bomb", what=what, size=_mb(size), packed=packed, ratio=MAX_RATIO))


def _check_clashes(members) -> None:
    """LabError when one path is both a file and a folder ('A/x.png' and 'A/x.png/y.png')."""
    files = {parts for _, parts in members}
    for info, parts in members:
        for end in range(1, len(parts)):
            if parts[:end] in files:
                clash = "/".join(parts[:end])
                raise LabError(t("data.zip.file_and_folder", clash=repr(clash), name=repr(info.filename)))


def plan(source) -> list[tuple[zipfile.ZipInfo, tuple[str, ...]]]:
    """(member, target parts) of every image the archive holds, after the safety checks and limits."""
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
        raise LabError(t("data.zip.unreadable", error=error)) from None
    with archive:
        members = []
        total = packed = 0
        for info in archive.infolist():
            parts = _safe_parts(info.filename)
            if info.is_dir() or not _wanted(parts):
                continue
            if len(parts) < 2:
                raise LabError(t("data.zip.outside_class_folder", name=repr(info.filename)))
            _check_member(info, parts)
            total += info.file_size
            packed += info.compress_size
            members.append((info, parts))
    if not members:
        raise LabError(t("data.zip.no_images"))
    if len(members) > MAX_FILES or total > MAX_BYTES:
        raise LabError(t("data.zip.too_big", count=len(members), size=_mb(total), max_count=MAX_FILES,
                         max_size=_mb(MAX_BYTES)))
    _check_ratio(total, packed, t("data.zip.the_archive"))
    members = _strip_common_top(members)
    if any(parts[0] in SPLITS for _, parts in members) and not all(parts[0] in SPLITS for _, parts in members):
        raise LabError(t("data.zip.mixed_layout"))
    _check_clashes(members)
    return members


def copy_limited(reader, writer, limit: int, name: str) -> int:
    """Copies in chunks and stops once more than ``limit`` bytes came out (the directory lied); the bytes."""
    written = 0
    while chunk := reader.read(CHUNK):
        written += len(chunk)
        if written > limit:
            raise LabError(t("data.zip.lying_size", name=repr(name), limit=limit))
        writer.write(chunk)
    return written


def _free_bytes(folder: Path) -> int | None:
    for path in (folder, *folder.parents):
        if path.is_dir():
            try:
                return shutil.disk_usage(path).free
            except OSError:
                return None
    return None


def _unpack_error(exc: BaseException, info: zipfile.ZipInfo, where: Path) -> LabError:
    name = info.filename
    if isinstance(exc, zipfile.BadZipFile) and "CRC" in str(exc):
        return LabError(t("data.zip.bad_checksum", name=repr(name)))
    if isinstance(exc, (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError)):
        return LabError(t("data.zip.damaged", name=repr(name), error=exc))
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return LabError(t("data.zip.disk_full", name=repr(name), folder=where))
    if isinstance(exc, OSError) and exc.errno == errno.ENAMETOOLONG:
        return LabError(t("data.zip.path_too_long", name=repr(name)))
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return LabError(t("data.zip.cannot_unpack", name=repr(name), folder=where, error=reason))


def import_zip(source, out, replace: bool = False, progress=None) -> Path:
    """Unpacks the zip of class folders at ``source`` (a path or a binary file) into the folder ``out``.

    An ``out`` with files in it is replaced only when ``replace`` is true; otherwise
    `lab.data.folders.WouldReplace` (a LabError) says how many images it holds. ``progress(fraction,
    text)`` is called as files are written. Returns ``out``. Any failure leaves the parent folder as it was.
    """
    out = Path(out)
    check_target(out, replace)
    members = plan(source)
    total = sum(info.file_size for info, _ in members)
    free = _free_bytes(out.parent)
    if free is not None and total > free:
        raise LabError(t("data.zip.no_space", size=_mb(total), free=_mb(free), folder=out.parent))
    with staged(out, "import") as tmp, zipfile.ZipFile(source) as archive:
        root = tmp.resolve()
        for done, (info, parts) in enumerate(members, start=1):
            target = tmp.joinpath(*parts)
            if not target.resolve().is_relative_to(root):
                raise LabError(t("data.zip.unsafe_link", name=repr(info.filename)))
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as reader, open(target, "wb") as writer:
                    copy_limited(reader, writer, info.file_size, info.filename)
            except LabError:
                raise
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, OSError) as exc:
                raise _unpack_error(exc, info, out.parent) from None
            if progress and (done % 200 == 0 or done == len(members)):
                progress(done / len(members), t("data.zip.unpacked", done=done, total=len(members)))
    return out
