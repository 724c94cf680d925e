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


def _mb(n: int) -> str:
    return f"{n / 2**20:,.0f} MB" if n < 2**30 else f"{n / 2**30:,.1f} GB"


def _check_member(info: zipfile.ZipInfo, parts: tuple[str, ...]) -> None:
    """LabError for a member that cannot or must not be unpacked, judged from the directory alone."""
    name = info.filename
    for part in parts:
        if len(part.encode("utf-8", "surrogateescape")) > NAME_MAX_BYTES:
            raise LabError(f"The zip has a name of {len(part)} characters ('{part[:20]}…' in {name[:60]!r}); names "
                           f"must be under {NAME_MAX_BYTES} bytes, so shorten it and make the archive again.")
    if info.flag_bits & 0x1:
        raise LabError(f"The zip is encrypted ({name!r} needs a password); make the archive again without one.")
    if info.compress_type not in _METHODS:
        raise LabError(f"The zip stores {name!r} with a compression method this importer cannot read; make the "
                       "archive again with ordinary (deflate) compression.")
    if info.file_size > MAX_MEMBER_BYTES:
        raise LabError(f"The zip's {name!r} unpacks to {_mb(info.file_size)}, more than the {_mb(MAX_MEMBER_BYTES)} "
                       "allowed for one image; scale the images down or leave that file out.")
    _check_ratio(info.file_size, info.compress_size, f"The zip's {name!r}")


def _check_ratio(size: int, packed: int, what: str) -> None:
    if size > RATIO_FLOOR and size > MAX_RATIO * max(packed, 1):
        raise LabError(f"{what} unpacks to {_mb(size)} from {packed:,} bytes, more than {MAX_RATIO}:1, which "
                       "images never reach (it looks like a zip bomb); make the archive from real image files.")


def _check_clashes(members) -> None:
    """LabError when one path is both a file and a folder ('A/x.png' and 'A/x.png/y.png')."""
    files = {parts for _, parts in members}
    for info, parts in members:
        for end in range(1, len(parts)):
            if parts[:end] in files:
                clash = "/".join(parts[:end])
                raise LabError(f"The zip has both a file and a folder named {clash!r} (see {info.filename!r}); "
                               "rename one of them and make the archive again.")


def plan(source) -> list[tuple[zipfile.ZipInfo, tuple[str, ...]]]:
    """(member, target parts) of every image the archive holds, after the safety checks and limits."""
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
        raise LabError(f"This is not a readable .zip file ({error}); upload a zip of class folders.") from None
    with archive:
        members = []
        total = packed = 0
        for info in archive.infolist():
            parts = _safe_parts(info.filename)
            if info.is_dir() or not _wanted(parts):
                continue
            if len(parts) < 2:
                raise LabError(f"The zip has the image {info.filename!r} outside any class folder; put every "
                               "image in a folder named after its class.")
            _check_member(info, parts)
            total += info.file_size
            packed += info.compress_size
            members.append((info, parts))
    if not members:
        raise LabError("The zip holds no images in class folders; zip folders like A/, B/ with images inside.")
    if len(members) > MAX_FILES or total > MAX_BYTES:
        raise LabError(f"The zip is too big ({len(members):,} images, {_mb(total)} unpacked); "
                       f"keep it under {MAX_FILES:,} images and {_mb(MAX_BYTES)}.")
    _check_ratio(total, packed, "The zip")
    members = _strip_common_top(members)
    if any(parts[0] in SPLITS for _, parts in members) and not all(parts[0] in SPLITS for _, parts in members):
        raise LabError("The zip mixes Train/ or Test/ folders with class folders beside them; put every class "
                       "folder inside Train/ (and Test/).")
    _check_clashes(members)
    return members


def copy_limited(reader, writer, limit: int, name: str) -> int:
    """Copies in chunks and stops once more than ``limit`` bytes came out (the directory lied); the bytes."""
    written = 0
    while chunk := reader.read(CHUNK):
        written += len(chunk)
        if written > limit:
            raise LabError(f"The zip's {name!r} unpacks to more than the {limit:,} bytes its directory declares, so "
                           "the archive is damaged or made to mislead; make it again from the image files.")
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
        return LabError(f"The zip's {name!r} fails its checksum (the archive is damaged); make the archive again.")
    if isinstance(exc, (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError)):
        return LabError(f"The zip is damaged at {name!r} ({exc}); make the archive again.")
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return LabError(f"The disk is full while unpacking {name!r} into {where}; free some space and import again.")
    if isinstance(exc, OSError) and exc.errno == errno.ENAMETOOLONG:
        return LabError(f"The path {name!r} in the zip is too long for this file system; use shorter folder names.")
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return LabError(f"Cannot unpack {name!r} into {where} ({reason}); check that the folder is writable.")


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
        raise LabError(f"The zip unpacks to {_mb(total)} but only {_mb(free)} is free in {out.parent}; free some "
                       "space and import again.")
    with staged(out, "import") as tmp, zipfile.ZipFile(source) as archive:
        root = tmp.resolve()
        for done, (info, parts) in enumerate(members, start=1):
            target = tmp.joinpath(*parts)
            if not target.resolve().is_relative_to(root):
                raise LabError(f"The zip contains the unsafe path {info.filename!r}; make the archive again.")
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as reader, open(target, "wb") as writer:
                    copy_limited(reader, writer, info.file_size, info.filename)
            except LabError:
                raise
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, OSError) as exc:
                raise _unpack_error(exc, info, out.parent) from None
            if progress and (done % 200 == 0 or done == len(members)):
                progress(done / len(members), f"{done:,} of {len(members):,} images unpacked")
    return out
