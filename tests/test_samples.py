"""Recorded samples on real files: names, datasets from another's classes, atomic and idempotent saving, listing,
deleting and restoring, and every bad input refused with one sentence that leaves the disk as it was."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from ui_support import big_square, make_dataset, png_bytes

from lab.data import samples
from lab.data.discovery import inspect
from lab.errors import LabError
from lab.i18n import speaking


def photo(width: int = 320, height: int = 240, seed: int = 0) -> Image.Image:
    """A colour picture with a bright square, like a webcam frame."""
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 60, size=(height, width, 3), dtype=np.uint8)
    arr[height // 4:3 * height // 4, width // 3:2 * width // 3] = (230, 180, 150)
    return Image.fromarray(arr, "RGB")


def tree(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


@pytest.fixture
def letters(tmp_path) -> Path:
    root = tmp_path / "Data"
    samples.new_dataset("letters", ["A", "B", "C"], root=root)
    return root


# --- names ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["A", "my letters", "ç-ã_1", "sinal Ñ", "x" * samples.NAME_MAX])
def test_good_names_pass_trimmed(name):
    assert samples.check_name(f"  {name} ", "class") == name


@pytest.mark.parametrize("name, words", [
    ("", "Type a name"), ("   ", "Type a name"), (None, "Type a name"),
    ("../evil", "cannot contain '/'"), ("a/b", "cannot contain '/'"), ("a\\b", "cannot contain '\\'"),
    ("..", "cannot start with a dot"), (".hidden", "cannot start with a dot"), ("end.", "cannot end with a dot"),
    ("a:b", "cannot contain ':'"), ("tab\there", "cannot contain '\\t'"), ("nul\x00", "cannot contain '\\x00'"),
    ("CON", "Windows keeps"), ("lpt1.txt", "Windows keeps"), ("x" * 65, "at most 64 characters"),
])
def test_bad_names_are_refused_with_one_sentence(name, words):
    with pytest.raises(LabError) as caught:
        samples.check_name(name, "class")
    text = str(caught.value)
    assert words in text and text.endswith(".") and text.count(". ") == 0, text


def test_split_names_are_not_dataset_names_but_are_class_names():
    with pytest.raises(LabError, match="split folder"):
        samples.check_name("Train", "dataset")
    assert samples.check_name("Test", "class") == "Test"


def test_the_same_letter_typed_two_ways_is_one_name():
    composed, decomposed = "ç", "c\u0327"
    assert samples.check_name(decomposed, "class") == composed


def test_names_are_refused_in_portuguese_too():
    with speaking("pt-BR"), pytest.raises(LabError, match="Um nome de classe não pode conter '/'"):
        samples.check_name("a/b", "class")


# --- datasets ------------------------------------------------------------------------------------------------------


def test_a_new_dataset_has_an_empty_folder_per_class_and_says_it_was_recorded(letters):
    folder = letters / "letters"
    assert tree(folder) == ["Train", "Train/A", "Train/B", "Train/C", "dataset.json"]
    assert json.loads((folder / "dataset.json").read_text())["recorded"] is True
    assert samples.recorded_datasets(letters) == ["letters"]
    assert samples.counts("letters", letters) == {"A": 0, "B": 0, "C": 0}


def test_a_new_dataset_starts_from_the_24_letters_of_sign_language_mnist(tmp_path, sign_mnist):
    classes = samples.classes_of(sign_mnist)
    assert len(classes) == 24 and "J" not in classes and "Z" not in classes
    samples.new_dataset("my-signs", classes, source="sign-mnist", root=tmp_path)
    assert list(samples.counts("my-signs", tmp_path)) == classes
    assert json.loads((tmp_path / "my-signs" / "dataset.json").read_text())["classes_from"] == "sign-mnist"


def test_a_new_dataset_can_start_from_a_recorded_one_with_its_empty_classes(letters):
    samples.new_dataset("more", samples.classes_of(letters / "letters"), root=letters)
    assert samples.counts("more", letters) == {"A": 0, "B": 0, "C": 0}


def test_a_dataset_name_that_is_taken_is_refused_whatever_its_case(letters):
    before = tree(letters)
    for name in ("letters", "LETTERS"):
        with pytest.raises(LabError, match="already a dataset named 'letters'"):
            samples.new_dataset(name, ["A"], root=letters)
    assert tree(letters) == before


def test_a_bad_class_name_leaves_no_dataset_behind(tmp_path):
    with pytest.raises(LabError, match="cannot contain '/'"):
        samples.new_dataset("fresh", ["A", "../B"], root=tmp_path)
    assert not (tmp_path / "fresh").exists() and [p.name for p in tmp_path.iterdir()] == []


def test_datasets_the_lab_did_not_make_are_never_written_to(tmp_path):
    make_dataset(tmp_path, "tiny", train=2, test=1)
    before = tree(tmp_path)
    with pytest.raises(LabError, match="never changes a dataset it did not make"):
        samples.add_sample("tiny", "square", photo(), root=tmp_path)
    with pytest.raises(LabError, match="never changes"):
        samples.delete_sample("tiny", "square", "square_000.png", root=tmp_path)
    assert tree(tmp_path) == before
    assert samples.recorded_datasets(tmp_path) == []
    assert samples.classes_of(tmp_path / "tiny") == ["square", "stripes"]


def test_a_missing_dataset_is_one_sentence(tmp_path):
    with pytest.raises(LabError, match="no dataset named 'nothing'"):
        samples.counts("nothing", tmp_path)


def test_classes_are_added_once_and_removed_only_when_empty(letters):
    samples.add_class("letters", "D", letters)
    with pytest.raises(LabError, match="already has a class 'D'"):
        samples.add_class("letters", "d", letters)
    samples.add_sample("letters", "D", photo(), root=letters)
    with pytest.raises(LabError, match=r"still holds samples \(1\)"):
        samples.remove_class("letters", "D", letters)
    samples.remove_class("letters", "C", letters)
    assert samples.counts("letters", letters) == {"A": 0, "B": 0, "D": 1}


# --- samples -------------------------------------------------------------------------------------------------------


def test_a_sample_is_the_captured_crop_as_a_png_at_its_own_size(letters):
    picture = photo(640, 480)
    saved = samples.add_sample("letters", "A", picture, crop=(100, 50, 340, 290), root=letters)
    assert saved.path.parent == letters / "letters" / "Train" / "A" and saved.path.suffix == ".png"
    assert (saved.width, saved.height, saved.existed, saved.small) == (240, 240, False, False)
    with Image.open(saved.path) as kept:
        assert kept.format == "PNG" and kept.mode == "RGB" and kept.size == (240, 240)
        assert np.array_equal(np.asarray(kept), np.asarray(picture.crop((100, 50, 340, 290))))  # lossless
    assert samples.counts("letters", letters)["A"] == 1
    assert not list((letters / "letters" / samples.INCOMING).iterdir())  # nothing half-written left


def test_large_captures_are_scaled_down_to_the_limit_and_small_ones_are_never_enlarged(letters):
    big = samples.add_sample("letters", "A", photo(1600, 1200), crop=(0, 0, 1200, 1200), root=letters)
    assert (big.width, big.height) == (samples.MAX_SIDE, samples.MAX_SIDE)
    small = samples.add_sample("letters", "A", photo(100, 80), crop=(10, 10, 74, 74), root=letters)
    assert (small.width, small.height, small.small) == (64, 64, True)


def test_a_crop_under_32_pixels_is_refused_and_nothing_is_written(letters):
    before = tree(letters)
    with pytest.raises(LabError, match=r"31×31 pixels, under the 32×32"):
        samples.add_sample("letters", "A", photo(), crop=(0, 0, 31, 31), root=letters)
    with pytest.raises(LabError, match="outside the picture"):
        samples.add_sample("letters", "A", photo(), crop=(400, 400, 500, 500), root=letters)
    with pytest.raises(LabError, match=r"28×28 pixels"):
        samples.add_sample("letters", "A", Image.new("L", (28, 28)), root=letters)
    assert tree(letters) == before


def test_a_drawing_is_kept_as_the_model_would_see_it_before_resizing(letters):
    rgba = np.zeros((280, 280, 4), np.uint8)
    rgba[70:210, 120:160] = 255  # white strokes, opaque, on a transparent canvas
    saved = samples.add_sample("letters", "B", png_bytes(rgba), root=letters)
    with Image.open(saved.path) as kept:
        arr = np.asarray(kept)
    assert kept.mode == "L" and kept.size == (280, 280)
    assert arr[0, 0] == 0 and arr[140, 140] == 255  # flattened onto black, the ink stays white


def test_broken_uploads_are_refused_with_the_file_name(letters):
    with pytest.raises(LabError, match="notes.png"):
        samples.captured(b"plain text", name="notes.png")
    with pytest.raises(LabError):
        samples.add_sample("letters", "A", b"plain text", root=letters)
    assert samples.counts("letters", letters)["A"] == 0


def test_the_same_snapshot_saved_twice_is_kept_once(letters):
    first = samples.add_sample("letters", "A", photo(), sample_id="20261127-120000-abc123", root=letters)
    again = samples.add_sample("letters", "A", photo(seed=1), sample_id="20261127-120000-abc123", root=letters)
    assert first.path == again.path and again.existed and not first.existed
    assert samples.counts("letters", letters)["A"] == 1


@pytest.mark.parametrize("bad_id", ["../x", "a/b", ".hidden", "", "x" * 80, "semi;colon"])
def test_sample_ids_that_are_not_plain_names_are_refused(letters, bad_id):
    with pytest.raises(LabError, match="cannot name a sample"):
        samples.add_sample("letters", "A", photo(), sample_id=bad_id, root=letters)
    assert samples.counts("letters", letters)["A"] == 0


def test_a_new_class_name_makes_the_class_and_an_empty_name_is_refused(letters):
    samples.add_sample("letters", "Olá", photo(), root=letters)
    assert samples.counts("letters", letters)["Olá"] == 1
    with pytest.raises(LabError, match="Type a name for the class"):
        samples.add_sample("letters", "  ", photo(), root=letters)


def test_one_sample_is_listed_and_counted(letters):
    saved = samples.add_sample("letters", "B", photo(), root=letters)
    assert samples.sample_files("letters", "B", letters) == [saved.path]
    assert samples.counts("letters", letters) == {"A": 0, "B": 1, "C": 0}
    info = inspect(letters / "letters")  # what training will see: one class with a sample, two empty ones
    assert info.classes == ["B"] and any("one class" in error or "1 class" in error for error in info.errors)


def test_samples_are_listed_newest_first(letters):
    paths = []
    for index in range(3):
        paths.append(samples.add_sample("letters", "A", photo(seed=index), root=letters).path)
        os.utime(paths[-1], ns=(10**18 + index, 10**18 + index))
    assert samples.sample_files("letters", "A", letters) == paths[::-1]


def test_delete_moves_a_sample_aside_and_restore_brings_it_back(letters):
    saved = samples.add_sample("letters", "A", photo(), root=letters)
    content = saved.path.read_bytes()
    deleted = samples.delete_sample("letters", "A", saved.path.name, letters)
    assert not saved.path.exists() and samples.counts("letters", letters)["A"] == 0
    assert deleted.kept.read_bytes() == content and samples.DELETED in deleted.kept.parts
    assert inspect(letters / "letters").problems == []  # the kept copy is out of the dataset's sight
    assert samples.restore_sample(deleted, letters) == saved.path and saved.path.read_bytes() == content
    with pytest.raises(LabError, match="no longer kept"):
        samples.restore_sample(deleted, letters)


@pytest.mark.parametrize("name", ["../A/x.png", "/etc/passwd", "..", ".incoming", "missing.png", "x\\y.png"])
def test_delete_refuses_anything_but_a_sample_of_the_class(letters, name):
    samples.add_sample("letters", "A", photo(), root=letters)
    (letters / "letters" / "Train" / "B" / "keep.png").write_bytes(png_bytes(big_square(64)))
    before = tree(letters)
    with pytest.raises(LabError, match="no sample"):
        samples.delete_sample("letters", "A", name, letters)
    assert tree(letters) == before


def test_a_writer_killed_mid_sample_leaves_no_half_file_in_the_class(letters):
    """A process that dies while writing (here: killed after writing part of a sample) leaves at most a part file in
    .incoming, never a sample in the class; the next save removes old parts."""
    script = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from lab.data import samples\n"
        "incoming = Path(sys.argv[1]) / 'letters' / samples.INCOMING\n"
        "incoming.mkdir(exist_ok=True)\n"
        "real_open = open\n"
        "def dying_open(path, mode='r', *args, **kwargs):\n"
        "    handle = real_open(path, mode, *args, **kwargs)\n"
        "    if str(path).endswith('.part'):\n"
        "        handle.write(b'\\x89PNG half')\n"
        "        handle.flush()\n"
        "        os._exit(9)\n"
        "    return handle\n"
        "import builtins\n"
        "builtins.open = dying_open\n"
        "from PIL import Image\n"
        "samples.add_sample('letters', 'A', Image.new('RGB', (64, 64), 'white'), root=sys.argv[1])\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(letters)], cwd=Path(__file__).resolve().parents[1],
                            capture_output=True, timeout=120)
    assert result.returncode == 9, result.stderr.decode()[-2000:]
    parts = list((letters / "letters" / samples.INCOMING).iterdir())
    assert len(parts) == 1 and parts[0].name.endswith(".part")
    assert samples.counts("letters", letters)["A"] == 0 and inspect(letters / "letters").problems == []
    old = 10**9  # 2001: long abandoned
    os.utime(parts[0], (old, old))
    samples.add_sample("letters", "A", photo(), root=letters)
    assert not list((letters / "letters" / samples.INCOMING).iterdir())
    assert samples.counts("letters", letters)["A"] == 1


def test_a_sample_written_by_the_module_reads_back_in_the_loader_s_eyes(letters):
    for index in range(2):
        samples.add_sample("letters", "A", photo(seed=index), root=letters)
        samples.add_sample("letters", "B", photo(seed=10 + index), root=letters)
    info = inspect(letters / "letters", verify=True)
    assert info.classes == ["A", "B"] and info.counts == {"Train": {"A": 2, "B": 2}} and info.ok
    assert info.color_mode == "rgb" and info.image_size == (240, 320)  # (height, width)


def test_png_bytes_round_trip_through_captured():
    buffer = io.BytesIO()
    photo(200, 200).save(buffer, "PNG")
    assert samples.captured(buffer.getvalue()).size == (200, 200)


# --- whose samples -------------------------------------------------------------------------------------------------

ANA, BRUNO = "browser:ana", "user:bruno@school.org"


def test_a_recorded_dataset_belongs_to_its_maker_and_only_they_change_it(tmp_path):
    root = tmp_path / "Data"
    samples.new_dataset("anas", ["A", "B"], root=root, owner=ANA)
    assert json.loads((root / "anas" / samples.METADATA_FILE).read_text())["owner"] == ANA
    assert samples.owner_of(root / "anas") == ANA
    saved = samples.add_sample("anas", "A", photo(), root=root, viewer=ANA)
    gone = samples.add_sample("anas", "A", photo(seed=1), root=root, viewer=ANA)
    deleted = samples.delete_sample("anas", "A", gone.path.name, root, viewer=ANA)
    samples.restore_sample(deleted, root, viewer=ANA)
    deleted = samples.delete_sample("anas", "A", gone.path.name, root, viewer=ANA)

    before = tree(root)
    for attempt in (lambda: samples.add_sample("anas", "A", photo(seed=2), root=root, viewer=BRUNO),
                    lambda: samples.delete_sample("anas", "A", saved.path.name, root, viewer=BRUNO),
                    lambda: samples.restore_sample(deleted, root, viewer=BRUNO),
                    lambda: samples.add_class("anas", "C", root, viewer=BRUNO),
                    lambda: samples.remove_class("anas", "B", root, viewer=BRUNO)):
        with pytest.raises(LabError, match="^The dataset 'anas' belongs to someone else: only the person who made"):
            attempt()
    assert tree(root) == before  # nothing changed, nothing lost
    with speaking("pt-BR"), pytest.raises(LabError, match="^O conjunto 'anas' é de outra pessoa"):
        samples.add_class("anas", "C", root, viewer=BRUNO)


def test_people_see_their_own_recorded_datasets_and_everyone_s(tmp_path):
    root = tmp_path / "Data"
    samples.new_dataset("anas", ["A"], root=root, owner=ANA)
    samples.new_dataset("brunos", ["A"], root=root, owner=BRUNO)
    samples.new_dataset("everyones", ["A"], root=root)  # the command line, or made before datasets had owners
    make_dataset(root, "tiny", train=2, test=1)
    assert "owner" not in json.loads((root / "everyones" / samples.METADATA_FILE).read_text())
    assert samples.recorded_datasets(root, viewer=ANA) == ["anas", "everyones"]
    assert samples.recorded_datasets(root, viewer=BRUNO) == ["brunos", "everyones"]
    assert samples.recorded_datasets(root) == ["anas", "brunos", "everyones"]  # the command line sees them all
    assert [name for name in ("anas", "brunos", "everyones", "tiny") if samples.visible(root / name, BRUNO)] == [
        "brunos", "everyones", "tiny"]
    samples.add_class("everyones", "B", root, viewer=BRUNO)  # everyone's: anyone records into it
    samples.add_sample("everyones", "B", photo(), root=root, viewer=ANA)
    assert samples.counts("everyones", root) == {"A": 0, "B": 1}
