import subprocess
import sys

import numpy as np
from PIL import Image

from lab.data import discover, inspect
from lab.data.summary import count_rows, sample_grid, sample_paths
from tests.conftest import ROOT
from tests.data_files import make_dataset

SIGN_COUNTS = {
    "A": 331,
    "B": 432,
    "C": 310,
    "D": 245,
    "E": 498,
    "F": 247,
    "G": 348,
    "H": 436,
    "I": 288,
    "K": 331,
    "L": 209,
    "M": 394,
    "N": 291,
    "O": 246,
    "P": 347,
    "Q": 164,
    "R": 144,
    "S": 246,
    "T": 248,
    "U": 266,
    "V": 346,
    "W": 206,
    "X": 267,
    "Y": 332,
}


def test_train_test_layout_counts_size_and_mode(tmp_path):
    make_dataset(tmp_path / "shapes", per_class=5, test_per_class=2, size=(32, 24))
    info = inspect(tmp_path / "shapes")
    assert info.ok and info.layout == "train_test" and info.has_test
    assert info.classes == ["a", "b", "c"]
    assert info.counts == {"Train": {"a": 5, "b": 5, "c": 5}, "Test": {"a": 2, "b": 2, "c": 2}}
    assert info.image_size == (32, 24)
    assert (info.color_mode, info.channels, info.polarity) == ("grayscale", 1, "light_on_dark")
    assert info.problems == []


def test_rgb_with_equal_channels_is_grayscale_and_colour_is_rgb(tmp_path):
    assert inspect(make_dataset(tmp_path / "g", mode="RGB-gray")).color_mode == "grayscale"
    colour = inspect(make_dataset(tmp_path / "c", mode="RGB"))
    assert (colour.color_mode, colour.channels) == ("rgb", 3)
    assert inspect(tmp_path / "c", verify=True).color_mode == "rgb"
    assert inspect(tmp_path / "g", verify=True).color_mode == "grayscale"


def test_dark_on_light_polarity(tmp_path):
    root = tmp_path / "paper"
    for cls in ("x", "y"):
        (root / "Train" / cls).mkdir(parents=True)
        for i in range(3):
            array = np.full((28, 28), 250, np.uint8)
            array[10:18, 5 + i : 9 + i] = 20
            Image.fromarray(array).save(root / "Train" / cls / f"{i}.png")
    assert inspect(root).polarity == "dark_on_light"


def test_discover_lists_root_and_named_datasets_and_class_folder_datasets(tmp_path):
    make_dataset(tmp_path)  # Data/ itself has Train/
    make_dataset(tmp_path / "two", classes=("x", "y"))
    flat = tmp_path / "flat"
    make_dataset(tmp_path / "tmpflat", classes=("p", "q"), test_per_class=0)
    (tmp_path / "tmpflat" / "Train").rename(flat)
    (tmp_path / "tmpflat").rmdir()
    (tmp_path / ".hidden-build").mkdir()
    (tmp_path / "notes").mkdir()  # a folder without images is not a dataset
    found = {info.name: info for info in discover(tmp_path)}
    assert set(found) == {tmp_path.name, "two", "flat"}
    assert found["flat"].layout == "folders" and found["flat"].counts == {"All": {"p": 6, "q": 6}}
    assert not found["flat"].has_test
    assert found["two"].classes == ["x", "y"]


def test_real_sign_language_test_split(sign_mnist):
    info = inspect(sign_mnist)
    assert info.layout == "test_only" and info.ok
    assert len(info.classes) == 24 and "J" not in info.classes and "Z" not in info.classes
    assert info.counts == {"Test": SIGN_COUNTS}
    assert info.total() == 7172
    assert (info.image_size, info.color_mode, info.channels) == ((28, 28), "grayscale", 1)
    direct = inspect(sign_mnist / "Test")  # the class folders themselves
    assert direct.counts == {"All": SIGN_COUNTS}


def test_summary_counts_samples_and_grid(tmp_path):
    info = inspect(make_dataset(tmp_path / "d", per_class=7))
    assert count_rows(info)[0] == {"class": "a", "Train": 7, "Test": 2}
    samples = sample_paths(info, per_class=4)
    assert set(samples) == {"a", "b", "c"} and all(
        len(p) == 4 and all(f.is_file() for f in p) for p in samples.values()
    )
    assert sample_paths(info, per_class=4) == samples  # reproducible
    grid = sample_grid(samples, per_class=4, cell=20)
    assert grid.mode == "RGB" and grid.height == 3 * 22


def test_discovery_does_not_import_tensorflow(tmp_path):
    make_dataset(tmp_path / "d")
    code = (
        "import sys; from lab.data import discover, inspect; "
        f"assert discover({str(tmp_path)!r}); inspect({str(tmp_path / 'd')!r}, verify=True); "
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
