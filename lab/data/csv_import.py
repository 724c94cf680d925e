"""Importing Kaggle's Sign Language MNIST CSV (``label,pixel1,...,pixel784``) into PNG class folders.

One image a row, 28x28, label 0 = A ... 25 = Z (J = 9 and Z = 25 never occur in the published
files). Rows are read one at a time, each line with a size cap (constant memory), and written into a
hidden folder beside the target (`lab.data.folders.staged`), which replaces the target only when every
row was good and replacing was asked for: an interrupted or refused import leaves the data folder as
it was. File names are the 0-based data row, zero-padded (``00042.png``), so
importing the same file twice gives the same result.
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path

import numpy as np
from PIL import Image

from lab.data.folders import check_target, staged
from lab.errors import LabError
from lab.i18n import t

SPLITS = ("Train", "Test")
LETTERS = [chr(ord("A") + i) for i in range(26)]
# The largest image a row may hold. Sign Language MNIST is 28x28; 256x256 leaves room for any "pixels in
# columns" CSV that a small CNN trains on, and bounds the memory one row takes.
MAX_SIDE = 256
# Lines are read with this cap, so a file without newlines (or with one huge line) is refused after 1 MB
# instead of being read whole into memory. 16 bytes a cell is generous: a cell is at most "255," (4 bytes),
# or '"255.000",' with quotes and decimals; a 28x28 row is about 3 KB.
MAX_LINE_BYTES = 16 * (MAX_SIDE * MAX_SIDE + 1)


def letter(label: int) -> str:
    """0 -> "A", ..., 25 -> "Z"."""
    return LETTERS[label]


def import_csv(source, out, split: str = "Train", progress=None, replace: bool = False) -> dict[str, int]:
    """Write the images of a Sign Language MNIST CSV to ``<out>/<split>/<letter>/<row>.png``.

    source: a path, bytes, or a binary (or text) file-like object, such as an upload.
    progress(fraction, text) is called now and then. Returns the number of images per letter.
    An existing ``<out>/<split>`` with files in it is replaced only when ``replace`` is true; otherwise
    `lab.data.folders.WouldReplace` (a LabError) says how many images it holds.
    Raises LabError naming the line of the first malformed row (wrong column count, a value outside
    0-255, a non-numeric cell, an unknown label, a line over MAX_LINE_BYTES, a UTF-16 file); then
    nothing is written and no folder is left behind.
    """
    if split not in SPLITS:
        raise LabError(t("data.csv.bad_split", split=repr(split)))
    out = Path(out)
    target = out / split
    check_target(target, replace)
    stream, total_bytes, name, close = _open(source)
    counts: dict[str, int] = {}
    try:
        with staged(target, "import") as tmp:
            _write_rows(stream, tmp, name, total_bytes, counts, progress)
    finally:
        if close:
            stream.close()
    if progress:
        progress(1.0, t("data.csv.imported", count=sum(counts.values()), target=target))
    return dict(sorted(counts.items()))


def _open(source):
    """(binary stream, size in bytes or None, display name, whether to close it)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(source)), len(source), t("data.csv.uploaded"), True
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        try:
            return open(path, "rb"), path.stat().st_size, path.name, True
        except OSError as exc:
            raise LabError(t("data.csv.unreadable", path=path, error=exc.strerror or exc)) from None
    if hasattr(source, "read"):
        name = Path(getattr(source, "name", "") or "").name or t("data.csv.uploaded")
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
    raise LabError(t("data.csv.bad_source"))


class _Encoded:
    """Reads a text stream line by line as UTF-8 bytes."""

    def __init__(self, text_stream):
        self._text = text_stream

    def readline(self, limit: int = -1) -> bytes:
        return self._text.readline(limit).encode("utf-8")

    def close(self):
        pass


def _lines(stream, name: str):
    """(line number, raw bytes) of each line, each read with the MAX_LINE_BYTES cap."""
    line_no = 0
    while True:
        raw = stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        line_no += 1
        if line_no == 1 and raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise LabError(t("data.csv.utf16", name=name))
        if b"\0" in raw:
            raise LabError(t("data.csv.nul_bytes", line=line_no, name=name))
        if len(raw) > MAX_LINE_BYTES:
            raise LabError(t("data.csv.line_too_long", line=line_no, name=name, megabytes=MAX_LINE_BYTES / 2**20,
                             side=MAX_SIDE))
        yield line_no, raw


def _write_rows(stream, folder: Path, name: str, total_bytes, counts: dict, progress) -> None:
    header_seen = False
    side = None
    columns = None
    row = 0
    done_bytes = 0
    next_report = 0.0
    for line_no, raw in _lines(stream, name):
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
            raise LabError(t("data.csv.wrong_columns", line=line_no, name=name, found=len(cells), columns=columns,
                             pixels=columns - 1))
        values = _numbers(cells, line_no, name)
        label = values[0]
        if not 0 <= label <= 25:
            raise LabError(t("data.csv.bad_label", line=line_no, name=name, label=label))
        pixels = values[1:]
        bad = np.flatnonzero((pixels < 0) | (pixels > 255))
        if bad.size:
            raise LabError(t("data.csv.bad_pixel", line=line_no, name=name, value=pixels[bad[0]],
                             column=f"pixel{bad[0] + 1}"))
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
                progress(fraction * 0.99, t("data.csv.written", count=row))
                next_report = fraction + 0.01
        elif progress and row % 1000 == 0:
            progress(0.0, t("data.csv.written", count=row))
    if row == 0:
        raise LabError(t("data.csv.no_rows", name=name))


def _side(columns: int, name: str) -> int:
    side = math.isqrt(max(columns - 1, 0))
    if columns < 2 or side * side != columns - 1:
        raise LabError(t("data.csv.not_square", name=name, columns=columns))
    if side > MAX_SIDE:
        raise LabError(t("data.csv.too_wide", name=name, columns=columns, side=side, limit=MAX_SIDE))
    return side


def _short(cell: str) -> str:
    """The cell for a message: a 400-digit number is shown by its start and its length."""
    return repr(cell) if len(cell) <= 12 else t("data.csv.long_cell", start=cell[:8], length=len(cell))


def _numbers(cells: list[str], line_no: int, name: str) -> np.ndarray:
    try:
        return np.array([int(c) for c in cells], dtype=np.int64)
    except (ValueError, OverflowError):  # OverflowError: a whole number too big for 64 bits
        pass
    values = []
    for column, cell in enumerate(cells):
        what = "label" if column == 0 else f"pixel{column}"  # the CSV's column names
        try:
            value = float(cell)
        except ValueError:
            value = math.nan
        if math.isnan(value) or (math.isinf(value) and not any(ch.isdigit() for ch in cell)):
            raise LabError(t("data.csv.not_a_number", line=line_no, name=name, cell=_short(cell), column=what)) \
                from None
        if math.isinf(value) or abs(value) > 2**31:
            if column == 0:
                raise LabError(t("data.csv.bad_label", line=line_no, name=name, label=_short(cell)))
            raise LabError(t("data.csv.bad_pixel", line=line_no, name=name, value=_short(cell), column=what))
        if not value.is_integer():
            raise LabError(t("data.csv.not_whole", line=line_no, name=name, cell=_short(cell), column=what))
        values.append(int(value))
    return np.array(values, dtype=np.int64)
