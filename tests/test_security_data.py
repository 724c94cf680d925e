"""Hostile and careless input to the dataset writers and image readers: each is refused in one sentence,
nothing a person already has is replaced without being asked, and nothing is left behind.

Every test builds its bad input itself, in tmp_path.
"""

from __future__ import annotations

import io
import os
import struct
import time
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from lab import imaging
from lab.cli import main
from lab.data import discover, folders, inspect, zip_import
from lab.data.csv_import import MAX_LINE_BYTES, import_csv
from lab.errors import LabError
from lab.predict import open_image
from tests.data_files import make_dataset, tree_digest

HEADER = "label," + ",".join(f"pixel{i}" for i in range(1, 785)) + "\n"
DEAD_PID = 999_999_999  # above any pid_max: no such process


def _row(label, value=0):
    return f"{label}," + ",".join(str((value + i) % 256) for i in range(784)) + "\n"


def _csv(tmp_path, rows, name="small.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "".join(rows))
    return path


def listing(root: Path) -> list[str]:
    """Every file and folder under root, hidden ones included."""
    return sorted(p.relative_to(root).as_posix() + ("/" if p.is_dir() else "") for p in root.rglob("*"))


def png_bytes(value=200, size=(8, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full(size, value, dtype=np.uint8), "L").save(buffer, format="PNG")
    return buffer.getvalue()


def zip_bytes(entries: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def images_in(folder: Path, classes=3, per_class=100) -> Path:
    for c in range(classes):
        (folder / f"class{c}").mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            (folder / f"class{c}" / f"{i:03d}.png").write_bytes(png_bytes(i))
    return folder


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares width x height (a decompression bomb as Pillow sees one)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + \
        chunk(b"IEND", b"")


# --- 1. an existing split is never replaced without being asked -------------------------------------------------

def test_csv_import_refuses_to_replace_a_split_and_says_how_many_images(tmp_path):
    split = images_in(tmp_path / "Data" / "mine" / "Train")
    before = tree_digest(tmp_path / "Data")
    csv = _csv(tmp_path, [_row(i % 4) for i in range(7)])
    with pytest.raises(folders.WouldReplace) as refusal:
        import_csv(csv, tmp_path / "Data" / "mine", split="Train")
    assert str(refusal.value).startswith(f"{split} already holds 300 images in 3 classes; importing would "
                                         "replace them.")
    assert tree_digest(tmp_path / "Data") == before
    assert import_csv(csv, tmp_path / "Data" / "mine", split="Train", replace=True) == {"A": 2, "B": 2, "C": 2,
                                                                                       "D": 1}
    assert len(list(split.rglob("*.png"))) == 7


def test_cli_refuses_to_replace_with_one_line_that_names_the_flag(tmp_path, capsys):
    data = tmp_path / "Data"
    images_in(data / "Train")  # the notes' own Data/Train
    images_in(data / "mine" / "Train", classes=2, per_class=5)
    before = tree_digest(data)
    csv = _csv(tmp_path, [_row(i % 4) for i in range(7)])
    capsys.readouterr()
    for out in (data, data / "mine"):
        assert main(["import-csv", str(csv), "--out", str(out), "--split", "Train"]) == 2
        err = capsys.readouterr().err
        held = "300 images in 3 classes" if out == data else "10 images in 2 classes"
        assert err == (f"error: {out / 'Train'} already holds {held}; importing would replace them. Pass --replace "
                       "to replace them, or choose another --out.\n")
    assert tree_digest(data) == before
    assert main(["import-csv", str(csv), "--out", str(data / "mine"), "--split", "Train", "--replace"]) == 0
    assert len(list((data / "mine" / "Train").rglob("*.png"))) == 7
    assert len(list((data / "Train").rglob("*.png"))) == 300


def test_zip_import_refuses_to_replace_a_dataset_and_says_how_many_images(tmp_path):
    images_in(tmp_path / "Data" / "shapes" / "Train", classes=2, per_class=3)
    before = tree_digest(tmp_path / "Data")
    source = tmp_path / "new.zip"
    source.write_bytes(zip_bytes({"round/1.png": png_bytes(), "square/1.png": png_bytes()}))
    with pytest.raises(folders.WouldReplace, match=r"shapes already holds 6 images in 2 classes; importing would"):
        zip_import.import_zip(source, tmp_path / "Data" / "shapes")
    assert tree_digest(tmp_path / "Data") == before
    zip_import.import_zip(source, tmp_path / "Data" / "shapes", replace=True)
    assert sorted(p.name for p in (tmp_path / "Data" / "shapes").iterdir()) == ["round", "square"]


def test_make_sample_data_does_not_replace_other_data(tmp_path, capsys):
    images_in(tmp_path / "Data" / "Train", classes=1, per_class=2)
    before = tree_digest(tmp_path / "Data")
    capsys.readouterr()
    assert main(["make-sample-data", "--out", str(tmp_path / "Data")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already holds 2 images in 1 class" in err and "--replace" in err
    assert tree_digest(tmp_path / "Data") == before


def test_page_replace_checkbox_is_wired_to_the_api(data_root):
    images_in(data_root / "sign" / "Train", classes=3, per_class=2)
    csv = (HEADER + "".join(_row(0, v) for v in range(5))).encode()
    app = AppTest.from_function(_dataset_page, default_timeout=60).run()
    app.file_uploader(key="ds_csv_file").set_value(("sign_train.csv", csv, "text/csv")).run()
    assert app.text_input(key="ds_csv_name").value == "sign"
    assert any("exists already and holds 6 images in 3 classes" in w.value for w in app.warning)
    assert app.button(key="ds_csv_go").disabled
    app.checkbox(key="ds_csv_replace").check().run()
    app.button(key="ds_csv_go").click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert sorted(p.relative_to(data_root / "sign" / "Train").as_posix()
                  for p in (data_root / "sign" / "Train").rglob("*.png")) == [f"A/{i:05d}.png" for i in range(5)]


# --- 2. CSV files that are not what they claim ------------------------------------------------------------------

@pytest.mark.parametrize("column, message", [
    (5, "Line 3 of small.csv has the value '11111111…' (400 characters) in pixel5; pixels must be 0-255."),
    (0, "Line 3 of small.csv has the label '11111111…' (400 characters), which is not a letter 0-25"),
])
def test_a_400_digit_value_is_refused_in_one_sentence(tmp_path, column, message):
    cells = ["1"] + ["0"] * 784
    cells[column] = "1" * 400
    csv = _csv(tmp_path, [_row(1), ",".join(cells) + "\n"])
    with pytest.raises(LabError) as error:
        import_csv(csv, tmp_path / "Data" / "d")
    assert str(error.value).startswith(message)
    assert not (tmp_path / "Data").exists()


@pytest.mark.parametrize("encoding, message", [
    ("utf-16", "big.csv is saved as UTF-16 text; save it as UTF-8 CSV"),
    ("utf-16-le", "Line 1 of big.csv contains NUL bytes, so it is not UTF-8 text (a UTF-16 or binary file); save "
                  "it as UTF-8 CSV"),
])
def test_a_utf16_csv_is_named_and_the_fix_given(tmp_path, encoding, message):
    path = tmp_path / "big.csv"
    path.write_text(HEADER + _row(1) + _row(2), encoding=encoding)
    with pytest.raises(LabError) as error:
        import_csv(path, tmp_path / "Data" / "d")
    assert str(error.value).startswith(message)
    assert not (tmp_path / "Data").exists()


def test_a_huge_line_is_refused_without_reading_it_into_memory(tmp_path):
    path = tmp_path / "big.csv"
    with open(path, "w") as out:
        out.write(HEADER + _row(1))
        for _ in range(32):  # one 32 MB line: "0,0,0,..." with no newline
            out.write("0," * (2**19))
    tracemalloc.start()
    try:
        with pytest.raises(LabError) as error:
            import_csv(path, tmp_path / "Data" / "d")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(error.value).startswith("Line 3 of big.csv is longer than 1 MB, far more than a row of a 256×256 "
                                       "image needs")
    assert MAX_LINE_BYTES < 2**21 and peak < 8 * MAX_LINE_BYTES + 2**20, peak
    assert not (tmp_path / "Data").exists()


def test_an_image_wider_than_the_importer_takes_is_refused(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("label," + ",".join(f"p{i}" for i in range(257 * 257)) + "\n")
    with pytest.raises(LabError, match=r"wide.csv has 66,050 columns, a 257×257 image a row; the importer takes "
                                       r"images up to 256×256"):
        import_csv(path, tmp_path / "d")


def test_out_naming_a_file_is_one_sentence(tmp_path, capsys):
    csv = _csv(tmp_path, [_row(1)])
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(LabError, match=r"notes.txt is a file, not a folder; choose another place for the dataset"):
        import_csv(csv, tmp_path / "notes.txt")
    with pytest.raises(LabError, match=r"notes.txt is a file, not a folder"):
        import_csv(csv, tmp_path / "notes.txt" / "deeper")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "Train").write_text("a file where the split goes")
    capsys.readouterr()
    assert main(["import-csv", str(csv), "--out", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Train is a file, not a folder" in err
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d", "notes.txt", "small.csv"]


# --- 3. zips ----------------------------------------------------------------------------------------------------

def bad_crc_zip() -> bytes:
    payload = bytearray(zip_bytes({"A/1.png": png_bytes(10), "B/1.png": png_bytes(20)}, zipfile.ZIP_STORED))
    start = bytes(payload).index(png_bytes(20))
    payload[start + 20] ^= 0xFF  # one flipped byte in the stored data of B/1.png
    return bytes(payload)


HOSTILE_ZIPS = {
    "bad-crc": (bad_crc_zip, "The zip's 'B/1.png' fails its checksum (the archive is damaged); make the archive "
                             "again."),
    "file-and-folder": (lambda: zip_bytes({"A/x.png": png_bytes(), "A/x.png/y.png": png_bytes(),
                                           "B/1.png": png_bytes()}),
                        "The zip has both a file and a folder named 'A/x.png'"),
    "long-name": (lambda: zip_bytes({"F" * 300 + "/1.png": png_bytes(), "B/1.png": png_bytes()}),
                  "The zip has a name of 300 characters ('FFFFFFFFFFFFFFFFFFFF…'"),
}


@pytest.mark.parametrize("kind", list(HOSTILE_ZIPS))
def test_a_damaged_or_impossible_zip_is_one_sentence_and_leaves_nothing(tmp_path, kind):
    build, message = HOSTILE_ZIPS[kind]
    source = tmp_path / "x.zip"
    source.write_bytes(build())
    (tmp_path / "Data").mkdir()
    make_dataset(tmp_path / "Data" / "kept")
    before = listing(tmp_path / "Data")
    with pytest.raises(LabError) as error:
        zip_import.import_zip(source, tmp_path / "Data" / "new")
    assert str(error.value).startswith(message), str(error.value)
    assert str(error.value).count(". ") == 0
    assert listing(tmp_path / "Data") == before


def _deflated_zeros(path: Path, name: str, megabytes: int) -> None:
    """A zip with one member of `megabytes` MB of zeros (about 1000:1) and one ordinary image."""
    block = bytes(2**20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("B/1.png", png_bytes())
        info = zipfile.ZipInfo(name)
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w", force_zip64=True) as member:
            for _ in range(megabytes):
                member.write(block)


@pytest.fixture
def opened(monkeypatch):
    """The members zipfile opens for reading (nothing must be inflated before the checks)."""
    calls = []
    real = zipfile.ZipFile.open

    def spy(self, name, mode="r", *args, **kwargs):
        if mode == "r":
            calls.append(getattr(name, "filename", name))
        return real(self, name, mode, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    return calls


def test_a_zip_bomb_is_refused_from_its_directory_before_anything_is_written(tmp_path, opened):
    source = tmp_path / "bomb.zip"
    _deflated_zeros(source, "A/huge.png", 80)
    assert source.stat().st_size < 2**20  # 80 MB of "png" in well under 1 MB
    (tmp_path / "Data").mkdir()
    opened.clear()
    with pytest.raises(LabError) as error:
        zip_import.import_zip(source, tmp_path / "Data" / "bomb")
    assert str(error.value).startswith("The zip's 'A/huge.png' unpacks to 80 MB, more than the 64 MB allowed for "
                                       "one image")
    assert opened == [] and listing(tmp_path / "Data") == []

    # a directory that claims 1.1 GB for one member: refused on the claim alone, nothing opened
    source.write_bytes(_lying_zip(1_100_000_000))
    with pytest.raises(LabError, match=r"The zip's 'A/1.png' unpacks to 1.0 GB, more than the 64 MB allowed"):
        zip_import.import_zip(source, tmp_path / "Data" / "bomb")
    assert opened == [] and listing(tmp_path / "Data") == []


def test_a_member_that_inflates_far_beyond_its_size_is_refused_by_ratio(tmp_path, opened):
    source = tmp_path / "ratio.zip"
    _deflated_zeros(source, "A/flat.png", 20)  # under the 64 MB per image, but 1000:1
    with pytest.raises(LabError, match=r"The zip's 'A/flat.png' unpacks to 20 MB from [\d,]+ bytes, more than "
                                       r"100:1, which images never reach"):
        zip_import.import_zip(source, tmp_path / "Data" / "flat")
    assert opened == [] and not (tmp_path / "Data").exists()


def _lying_zip(declared: int) -> bytes:
    """One member whose directory says `declared` bytes while its data inflates to 2 MB."""
    payload = bytearray(zip_bytes({"A/1.png": bytes(2 * 2**20), "B/1.png": png_bytes()}))
    real = (2 * 2**20).to_bytes(4, "little")
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # local header, central directory
        at = bytes(payload).index(signature)
        assert payload[at + offset:at + offset + 4] == real
        payload[at + offset:at + offset + 4] = declared.to_bytes(4, "little")
    return bytes(payload)


def test_a_directory_that_lies_about_a_size_is_stopped_while_unpacking(tmp_path):
    source = tmp_path / "liar.zip"
    source.write_bytes(_lying_zip(1000))
    with zipfile.ZipFile(source) as archive:
        assert archive.getinfo("A/1.png").file_size == 1000  # the directory's claim passes every check
    (tmp_path / "Data").mkdir()
    with pytest.raises(LabError, match=r"'A/1.png'.*(checksum|declares)"):
        zip_import.import_zip(source, tmp_path / "Data" / "liar")
    assert listing(tmp_path / "Data") == []


def test_the_unpacking_counter_stops_a_stream_past_its_limit(tmp_path):
    class Endless:
        def read(self, n):
            return b"\0" * n

    written = io.BytesIO()
    with pytest.raises(LabError, match=r"'A/x.png' unpacks to more than the 3,000,000 bytes its directory "):
        zip_import.copy_limited(Endless(), written, 3_000_000, "A/x.png")
    assert len(written.getvalue()) <= 3_000_000
    assert zip_import.copy_limited(io.BytesIO(b"x" * 10), io.BytesIO(), 10, "ok") == 10


# --- 4. decompression bombs are named by their size -------------------------------------------------------------

@pytest.mark.parametrize("width, height", [(60000, 60000), (10000, 10000), (8000, 6000)])
def test_an_image_over_the_pixel_limit_is_named_by_its_size(tmp_path, width, height):
    # 60000² trips Pillow's DecompressionBombError, 10000² its warning, 8000x6000 only the lab's own limit
    data = png_declaring(width, height)
    expected = (f"bomb.png is {width}×{height} pixels, larger than the {imaging.MAX_PIXELS:,}-pixel limit, too "
                "large to read here; use a smaller image")
    with pytest.raises(LabError) as error:
        open_image(data, "bomb.png")
    assert str(error.value).startswith(expected)
    (tmp_path / "bomb.png").write_bytes(data)
    with pytest.raises(LabError) as error:
        open_image(tmp_path / "bomb.png", "bomb.png")
    assert str(error.value).startswith(expected)


def test_a_bomb_in_a_dataset_is_skipped_with_its_size_and_loading_goes_on(tmp_path):
    root = make_dataset(tmp_path / "d", per_class=4, test_per_class=1)
    (root / "Train" / "a" / "bomb.png").write_bytes(png_declaring(60000, 60000))
    info = inspect(root, verify=True)
    problem = next(p for p in info.problems if p.path == "Train/a/bomb.png")
    assert problem.action == "skipped"
    assert problem.reason == (f"60000×60000 pixels, larger than the {imaging.MAX_PIXELS:,}-pixel limit (could be a "
                              "decompression bomb)")
    from lab.data import load

    data = load(root, validation_split=0.25, batch_size=4)
    assert data.pipeline == "pillow" and sum(data.counts.values()) == 4 * 3 + 3


# --- 5. nothing left behind -------------------------------------------------------------------------------------

def test_a_failing_csv_import_leaves_the_data_root_exactly_as_before(tmp_path):
    root = tmp_path / "Data"
    make_dataset(root / "kept")
    (root / "mine").mkdir()
    before = listing(root)
    bad = _csv(tmp_path, [_row(1), _row(2), "99," + ",".join(["0"] * 784) + "\n"])
    for out in (root / "new", root / "deep" / "er" / "new", root / "mine", root / "kept"):
        with pytest.raises(LabError, match="label 99"):
            import_csv(bad, out, split="Test" if out.name == "kept" else "Train", replace=out.name == "kept")
        assert listing(root) == before, out

    def stop(fraction, text):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        import_csv(_csv(tmp_path, [_row(1)] * 5), root / "new", progress=stop)
    assert listing(root) == before


def _staging(parent: Path, name: str, idle_s: float = 0.0) -> Path:
    folder = parent / name
    (folder / "A").mkdir(parents=True)
    (folder / "A" / "00000.png").write_bytes(png_bytes())
    when = time.time() - idle_s
    for path in (folder / "A" / "00000.png", folder / "A", folder):
        os.utime(path, (when, when))
    return folder


def test_stale_staging_folders_are_removed_by_the_next_import_and_the_next_scan(tmp_path):
    root = tmp_path / "Data"
    make_dataset(root / "mine")
    dead = _staging(root / "mine", f".Train.import-{DEAD_PID}-k2j4h5g6")  # its process was killed
    old_style = _staging(root, ".shapes.import-a1b2c3d4", idle_s=2 * 3600)  # no pid, idle two hours
    idle = _staging(root, f".other.tmp-{os.getpid()}-q1w2e3r4", idle_s=2 * 3600)  # pid reused, idle two hours
    live = _staging(root, f".busy.import-{os.getpid()}-z9y8x7w6")  # an import running now
    fresh = _staging(root, ".recent.import-m5n6b7v8", idle_s=60)  # no pid, busy a minute ago
    user = root / ".my-notes"
    user.mkdir()

    import_csv(_csv(tmp_path, [_row(1)]), root / "new")  # stages in Data/new: cleans Data/new only
    assert dead.exists() and old_style.exists()
    import_csv(_csv(tmp_path, [_row(1)]), root / "mine", split="Test", replace=True)  # stages in Data/mine
    assert not dead.exists() and old_style.exists()

    names = [info.name for info in discover(root)]
    assert names == ["mine", "new"]
    assert not old_style.exists() and not idle.exists()
    assert live.exists() and fresh.exists() and user.exists()


def test_a_killed_swap_puts_the_old_dataset_back(tmp_path):
    root = tmp_path / "Data"
    kept = make_dataset(root / f".mine.old-{DEAD_PID}-p0o9i8u7" / "mine")
    digest = tree_digest(kept)
    assert [info.name for info in discover(root)] == ["mine"]
    assert tree_digest(root / "mine") == digest
    assert not [p for p in root.iterdir() if p.name.startswith(".")]


# --- the Dataset page: every refusal above is an error message, never a traceback --------------------------------

def _dataset_page():
    from lab.ui import dataset

    dataset.render()


def test_the_page_shows_each_refusal_as_an_error_and_writes_nothing(data_root):
    make_dataset(data_root / "kept")
    before = listing(data_root)
    app = AppTest.from_function(_dataset_page, default_timeout=60).run()
    assert not app.exception, [e.value for e in app.exception]
    uploads = [(name, build(), message) for name, (build, message) in HOSTILE_ZIPS.items()]
    for name, payload, message in uploads:
        app.file_uploader(key="ds_zip_file").set_value((f"{name}.zip", payload, "application/zip")).run()
        app.button(key="ds_zip_go").click().run()
        assert not app.exception, (name, [e.value for e in app.exception])
        assert any(e.value.startswith(message) for e in app.error), (name, [e.value for e in app.error])
        assert listing(data_root) == before, name
    csvs = [
        ("wide.csv", (HEADER + ",".join(["1", "1" * 400] + ["0"] * 783) + "\n").encode(), "(400 characters)"),
        ("utf16.csv", (HEADER + _row(1)).encode("utf-16"), "save it as UTF-8 CSV"),
    ]
    for name, payload, message in csvs:
        app.file_uploader(key="ds_csv_file").set_value((name, payload, "text/csv")).run()
        app.button(key="ds_csv_go").click().run()
        assert not app.exception, (name, [e.value for e in app.exception])
        assert any(message in e.value for e in app.error), (name, [e.value for e in app.error])
        assert listing(data_root) == before, name
