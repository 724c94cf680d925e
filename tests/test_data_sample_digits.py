"""The built-in digits dataset: layout, determinism, MNIST format, speed, command line."""

import argparse
import time

import numpy as np
from PIL import Image

from lab import imaging
from lab.data import inspect, sample_digits
from lab.data.cli import register
from tests.data_files import tree_digest


def test_small_dataset_layout_format_and_determinism(tmp_path):
    calls = []
    out = sample_digits.make(
        tmp_path / "a",
        seed=3,
        progress=lambda f, t: calls.append((f, t)),
        train_per_class=12,
        test_per_class=3,
        workers=1,
    )
    info = inspect(out, verify=True)
    assert info.classes == [str(d) for d in range(10)]
    assert info.counts == {"Train": {str(d): 12 for d in range(10)}, "Test": {str(d): 3 for d in range(10)}}
    assert (info.image_size, info.color_mode, info.polarity, info.centering) == (
        (28, 28),
        "grayscale",
        "light_on_dark",
        "mass",
    )
    assert info.problems == [] and info.ok
    assert calls[0][0] == 0.0 and calls[-1][0] == 1.0
    again = sample_digits.make(tmp_path / "b", seed=3, train_per_class=12, test_per_class=3, workers=2)
    assert tree_digest(again) == tree_digest(out)
    other = sample_digits.make(tmp_path / "c", seed=4, train_per_class=12, test_per_class=3, workers=1)
    assert tree_digest(other) != tree_digest(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "c"]  # no temporary folders left


def test_digits_are_mnist_normalised(tmp_path):
    rng = np.random.default_rng(0)
    for digit in sample_digits.CLASSES:
        for _ in range(5):
            array = sample_digits.render_digit(digit, rng)
            assert array.shape == (28, 28) and array.dtype == np.uint8
            top, left, bottom, right = imaging.ink_bbox(array)
            assert max(bottom - top, right - left) <= 21  # fits the 20x20 box (plus resampling fringe)
            cy, cx = imaging.center_of_mass(array)
            assert abs(cy - 13.5) <= 1.0 and abs(cx - 13.5) <= 1.0
            assert array.max() >= 200 and array[0].max() == 0  # white strokes on black


def test_full_dataset_size_and_time(tmp_path):
    start = time.monotonic()
    out = sample_digits.make(tmp_path / sample_digits.NAME, seed=0)
    elapsed = time.monotonic() - start
    info = inspect(out)
    assert info.counts["Train"] == {d: sample_digits.TRAIN_PER_CLASS for d in sample_digits.CLASSES}
    assert info.counts["Test"] == {d: sample_digits.TEST_PER_CLASS for d in sample_digits.CLASSES}
    assert sample_digits.TRAIN_PER_CLASS >= 500 and sample_digits.TEST_PER_CLASS >= 100  # what the accuracy needs
    assert elapsed < 60, f"generation took {elapsed:.1f} s"  # about 3 s on 2 idle cores; loaded CI is slower


def test_digits_of_a_class_stay_varied():
    """Forty digits of each class differ from each other as much as the generator's hands make them (the mean
    distance between two of them, on a 0..1 scale, was 7.0 to 8.9 per class when this was written)."""
    for digit in sample_digits.CLASSES:
        images = np.stack([sample_digits.render_digit(digit, sample_digits._rng(0, "Train", digit, i))
                           for i in range(40)]).reshape(40, -1).astype(np.float64) / 255
        distances = np.sqrt(((images[:, None] - images[None]) ** 2).sum(-1))[np.triu_indices(40, 1)]
        assert distances.mean() > 6.0, (digit, distances.mean())
        assert distances.min() > 0.5, digit  # no two alike


def test_smooth_strokes_pass_through_their_points():
    rng = np.random.default_rng(5)
    for count in (2, 3, 6, 11):
        points = rng.uniform(0, 1, (count, 2))
        curve = sample_digits._catmull_rom(points, 8)
        assert curve.shape == ((count - 1) * 8 + 1, 2)
        np.testing.assert_allclose(curve[::8], points, atol=1e-12)


def test_ensure_makes_it_once(tmp_path, monkeypatch):
    made = []
    real_make = sample_digits.make
    monkeypatch.setattr(sample_digits, "TRAIN_PER_CLASS", 5)
    monkeypatch.setattr(sample_digits, "TEST_PER_CLASS", 2)

    def small(out, seed=0, progress=None, train_per_class=None):
        made.append((out.name, train_per_class))
        return real_make(out, seed=seed, progress=progress, train_per_class=train_per_class, test_per_class=2,
                         workers=1)

    monkeypatch.setattr(sample_digits, "make", small)
    path = sample_digits.ensure(tmp_path)
    assert path == tmp_path / "sketch-digits" and (path / "Train" / "9").is_dir()
    assert sample_digits.ensure(tmp_path) == path and made == [("sketch-digits", 5)]
    assert [p.name for p in tmp_path.iterdir()] == ["sketch-digits"]
    large = sample_digits.ensure(tmp_path, train_per_class=7)  # another size: its own folder, the first left alone
    assert large == tmp_path / "sketch-digits-7" and made[1:] == [("sketch-digits-7", 7)]
    assert inspect(large).counts["Train"] == {str(d): 7 for d in range(10)}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sketch-digits", "sketch-digits-7"]
    assert inspect(path).counts["Train"] == {str(d): 5 for d in range(10)}


def test_cli_make_sample_data(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sample_digits, "TRAIN_PER_CLASS", 3)
    monkeypatch.setattr(sample_digits, "TEST_PER_CLASS", 1)
    real_make = sample_digits.make
    monkeypatch.setattr(
        sample_digits,
        "make",
        lambda out, seed=0, progress=None, train_per_class=3: real_make(
            out, seed=seed, progress=progress, train_per_class=train_per_class, test_per_class=1, workers=1
        ),
    )
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["make-sample-data", "--out", str(tmp_path / "digits"), "--seed", "7"])
    assert args.func(args) == 0
    assert "100%" in capsys.readouterr().err
    assert inspect(tmp_path / "digits").total("Train") == 30
    assert Image.open(next((tmp_path / "digits" / "Train" / "4").iterdir())).mode == "L"


def test_cli_per_class_makes_its_own_folder_and_refuses_zero(tmp_path, capsys, monkeypatch):
    from lab.cli import main

    monkeypatch.setenv("CNN_LAB_DATA", str(tmp_path))
    real_make = sample_digits.make
    monkeypatch.setattr(sample_digits, "make", lambda out, seed=0, progress=None, train_per_class=0: real_make(
        out, seed=seed, progress=progress, train_per_class=train_per_class, test_per_class=1, workers=1))
    assert main(["make-sample-data", "--per-class", "4"]) == 0
    assert inspect(tmp_path / "sketch-digits-4").counts["Train"] == {str(d): 4 for d in range(10)}
    assert main(["make-sample-data", "--per-class", "0"]) != 0
    err = capsys.readouterr().err
    assert "--per-class is 0" in err and "1 or more" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sketch-digits-4"]
