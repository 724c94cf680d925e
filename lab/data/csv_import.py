"""Importing Kaggle's Sign Language MNIST CSV (``label,pixel1,...,pixel784``) into PNG class folders.

One image a row, 28x28, label 0 = A ... 25 = Z (J = 9 and Z = 25 never occur in the published
files). Rows are read one at a time (constant memory) and written into a hidden folder beside the
target, which replaces the target only when every row was good: an interrupted or refused import
leaves the target as it was. File names are the 0-based data row, zero-padded (``00042.png``), so
importing the same file twice gives the same result.
"""

from __future__ import annotations

import io
import math
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from lab.data.folders import swap_in
from lab.errors import LabError

SPLITS = ("Train", "Test")
LETTERS = [chr(ord("A") + i) for i in range(26)]


def letter(label: int) -> str:
    """0 -> "A", ..., 25 -> "Z"."""
    return LETTERS[label]


def import_csv(source, out, split: str = "Train", progress=None) -> dict[str, int]:
    """Write the images of a Sign Language MNIST CSV to ``<out>/<split>/<letter>/<row>.png``.

    source: a path, bytes, or a binary (or text) file-like object, such as an upload.
    progress(fraction, text) is called now and then. Returns the number of images per letter.
    Raises LabError naming the line of the first malformed row (wrong column count, a value outside
    0-255, a non-numeric cell, an unknown label); then nothing is written.
    """
    if split not in SPLITS:
        raise LabError(f"The split must be 'Train' or 'Test', not {split!r}.")
    out = Path(out)
    stream, total_bytes, name, close = _open(source)
    target = out / split
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{split}.import-", dir=out))
    counts: dict[str, int] = {}
    try:
        _write_rows(stream, tmp, name, total_bytes, counts, progress)
        swap_in(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if close:
            stream.close()
    if progress:
        progress(1.0, f"Imported {sum(counts.values()):,} images into {target}")
    return dict(sorted(counts.items()))


def _open(source):
    """(binary stream, size in bytes or None, display name, whether to close it)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(source)), len(source), "the uploaded CSV", True
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        try:
            return open(path, "rb"), path.stat().st_size, path.name, True
        except OSError as exc:
            raise LabError(f"Cannot read {path}: {exc.strerror or exc}; check the file name.") from None
    if hasattr(source, "read"):
        name = Path(getattr(source, "name", "") or "the uploaded CSV").name
        size = getattr(source, "size", None)
        if size is None:
            try:
                here = source.tell()
                size = source.seek(0, io.SEEK_END) - here
                source.seek(here)
            except (OSError, AttributeError, ValueError):
                size = None
        if isinstance(source, io.TextIOBase):
            return _Encoded(source), size, name, False
        return source, size, name, False
    raise LabError("The CSV must be given as a file path, bytes or an open file.")


class _Encoded:
    """Reads a text stream line by line as UTF-8 bytes."""

    def __init__(self, text_stream):
        self._text = text_stream

    def __iter__(self):
        for line in self._text:
            yield line.encode("utf-8")

    def close(self):
        pass


def _write_rows(stream, folder: Path, name: str, total_bytes, counts: dict, progress) -> None:
    header_seen = False
    side = None
    columns = None
    row = 0
    done_bytes = 0
    next_report = 0.0
    for line_no, raw in enumerate(stream, start=1):
        done_bytes += len(raw)
        line = raw.decode("utf-8-sig" if line_no == 1 else "utf-8", errors="replace").strip()
        if not line:
            continue
        cells = [c.strip().strip('"') for c in line.split(",")]
        if not header_seen:
            header_seen = True
            if cells[0].lower() == "label":
                columns = len(cells)
                side = _side(columns, name)
                continue
        if columns is None:
            columns = len(cells)
            side = _side(columns, name)
        if len(cells) != columns:
            raise LabError(
                f"Line {line_no} of {name} has {len(cells)} columns, but each row needs {columns} "
                f"(a label and {columns - 1} pixels); fix or remove that line."
            )
        values = _numbers(cells, line_no, name)
        label = values[0]
        if not 0 <= label <= 25:
            raise LabError(
                f"Line {line_no} of {name} has the label {label}, which is not a letter 0-25 (0 = A); fix that line."
            )
        pixels = values[1:]
        bad = np.flatnonzero((pixels < 0) | (pixels > 255))
        if bad.size:
            raise LabError(
                f"Line {line_no} of {name} has the value {pixels[bad[0]]} in pixel{bad[0] + 1}; pixels must be 0-255."
            )
        cls = letter(int(label))
        class_dir = folder / cls
        if cls not in counts:
            class_dir.mkdir(parents=True, exist_ok=True)
            counts[cls] = 0
        image = Image.fromarray(pixels.astype(np.uint8).reshape(side, side), "L")
        image.save(class_dir / f"{row:05d}.png", compress_level=6)
        counts[cls] += 1
        row += 1
        if progress and total_bytes:
            fraction = min(done_bytes / total_bytes, 1.0)
            if fraction >= next_report:
                progress(fraction * 0.99, f"{row:,} images written")
                next_report = fraction + 0.01
        elif progress and row % 1000 == 0:
            progress(0.0, f"{row:,} images written")
    if row == 0:
        raise LabError(f"{name} has no image rows; it should hold a header and one image a row.")


def _side(columns: int, name: str) -> int:
    side = math.isqrt(max(columns - 1, 0))
    if columns < 2 or side * side != columns - 1:
        raise LabError(
            f"{name} has {columns} columns; a Sign Language MNIST CSV has a label and a square number of pixels "
            "(785 columns: label, pixel1 ... pixel784)."
        )
    return side


def _numbers(cells: list[str], line_no: int, name: str) -> np.ndarray:
    try:
        return np.array([int(c) for c in cells], dtype=np.int64)
    except ValueError:
        pass
    for column, cell in enumerate(cells):
        try:
            value = float(cell)
        except ValueError:
            what = "label" if column == 0 else f"pixel{column}"
            raise LabError(
                f"Line {line_no} of {name} has {cell!r} as {what}, which is not a number; fix that line."
            ) from None
        if not value.is_integer():
            what = "label" if column == 0 else f"pixel{column}"
            raise LabError(f"Line {line_no} of {name} has {cell!r} as {what}; values must be whole numbers.") from None
    return np.array([int(float(c)) for c in cells], dtype=np.int64)


