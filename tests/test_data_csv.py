"""Kaggle CSV import: pixel-exact, streaming, atomic, repeatable, and strict about malformed rows."""

import argparse
import io

import numpy as np
import pytest
from PIL import Image

from lab import i18n
from lab.data import inspect
from lab.data.cli import register
from lab.data.csv_import import import_csv
from lab.errors import LabError
from tests.data_files import tree_digest

HEADER = "label," + ",".join(f"pixel{i}" for i in range(1, 785)) + "\n"


def _row(label, value=0):
    return f"{label}," + ",".join(str((value + i) % 256) for i in range(784)) + "\n"


def _csv(tmp_path, rows, name="small.csv"):
    path = tmp_path / name
    path.write_text(HEADER + "".join(rows))
    return path


def test_real_csv_reproduces_the_folder_images_pixel_for_pixel(tmp_path, sign_mnist):
    calls = []
    counts = import_csv(
        sign_mnist / "sign_mnist_test.csv", tmp_path / "sign", split="Test", progress=lambda f, t: calls.append(f)
    )
    assert sum(counts.values()) == 7172 and len(counts) == 24 and "J" not in counts
    source = sorted((sign_mnist / "Test").rglob("*.png"))
    for original in source[::7]:
        copy = tmp_path / "sign" / "Test" / original.relative_to(sign_mnist / "Test")
        assert np.array_equal(np.asarray(Image.open(original)), np.asarray(Image.open(copy))), copy
    assert len(list((tmp_path / "sign" / "Test").rglob("*.png"))) == len(source)
    assert inspect(tmp_path / "sign").counts["Test"] == inspect(sign_mnist).counts["Test"]
    assert calls and calls[-1] == 1.0 and calls == sorted(calls)
    assert [p.name for p in (tmp_path / "sign").iterdir()] == ["Test"]  # no temporary folder left


def test_letters_file_names_and_twice_gives_the_same_result(tmp_path):
    csv = _csv(tmp_path, [_row(0, 1), _row(24, 2), _row(0, 3), _row(25, 4)])
    out = tmp_path / "d"
    assert import_csv(csv, out) == {"A": 2, "Y": 1, "Z": 1}
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png")) == [
        "Train/A/00000.png",
        "Train/A/00002.png",
        "Train/Y/00001.png",
        "Train/Z/00003.png",
    ]
    first = tree_digest(out)
    expected = (np.arange(784) + 3) % 256
    assert np.array_equal(np.asarray(Image.open(out / "Train/A/00002.png")).ravel(), expected)
    import_csv(csv, out, replace=True)
    assert tree_digest(out) == first


def test_file_like_and_bytes_uploads(tmp_path):
    text = HEADER + _row(3, 7)
    assert import_csv(text.encode(), tmp_path / "b", split="Test") == {"D": 1}
    assert import_csv(io.BytesIO(text.encode()), tmp_path / "f") == {"D": 1}
    assert import_csv(io.StringIO(text), tmp_path / "s") == {"D": 1}
    assert tree_digest(tmp_path / "b" / "Test") == tree_digest(tmp_path / "f" / "Train")


@pytest.mark.parametrize(
    "bad_row, message",
    [
        ("3," + ",".join(["0"] * 783) + "\n", "Line 4 of small.csv has 784 columns, but each row needs 785"),
        (
            "3," + ",".join(["0"] * 783) + ",256\n",
            "Line 4 of small.csv has the value 256 in pixel784; pixels must be 0-255.",
        ),
        ("3," + ",".join(["0"] * 783) + ",-1\n", "has the value -1 in pixel784"),
        ("3,0,x" + ",0" * 782 + "\n", "Line 4 of small.csv has 'x' as pixel2, which is not a number"),
        ("26," + ",".join(["0"] * 784) + "\n", "Line 4 of small.csv has the label 26, which is not a letter"),
        ("B," + ",".join(["0"] * 784) + "\n", "has 'B' as label, which is not a number"),
    ],
)
def test_malformed_rows_are_refused_with_the_line_number_and_nothing_changes(tmp_path, bad_row, message):
    out = tmp_path / "d"
    import_csv(_csv(tmp_path, [_row(1)], name="good.csv"), out)
    before = tree_digest(out)
    with pytest.raises(LabError) as error:
        import_csv(_csv(tmp_path, [_row(0), _row(2), bad_row, _row(4)]), out, replace=True)
    assert message in str(error.value)
    assert tree_digest(out) == before
    assert sorted(p.name for p in out.iterdir()) == ["Train"]


def test_a_malformed_row_is_refused_in_portuguese_and_nothing_is_written(tmp_path):
    csv = _csv(tmp_path, [_row(0), "3," + ",".join(["0"] * 783) + ",256\n"])
    with i18n.speaking("pt-BR"), pytest.raises(LabError) as error:
        import_csv(csv, tmp_path / "d")
    assert str(error.value) == ("A linha 3 do arquivo small.csv tem o valor 256 em pixel784; os pixels precisam estar "
                                "entre 0 e 255.")
    with i18n.speaking("pt-BR"), pytest.raises(LabError) as error:
        import_csv(HEADER.encode() + b"1,2\n", tmp_path / "d")
    assert str(error.value).startswith("A linha 2 do arquivo enviado tem 2 colunas, mas cada linha precisa de 785")
    assert not (tmp_path / "d").exists()


def test_interrupted_import_leaves_no_half_dataset(tmp_path):
    csv = _csv(tmp_path, [_row(i % 3) for i in range(30)])

    def stop(fraction, text):
        if fraction > 0.3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        import_csv(csv, tmp_path / "d", progress=stop)
    assert not (tmp_path / "d").exists()  # not even the folder the import made for itself


def test_wrong_header_width_is_refused(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("label,a,b\n1,2,3\n")
    with pytest.raises(LabError, match="x.csv has 3 columns"):
        import_csv(path, tmp_path / "d")


def test_cli_import_csv(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    csv = _csv(tmp_path, [_row(0), _row(1)])
    args = parser.parse_args(["import-csv", str(csv), "--out", str(tmp_path / "d"), "--split", "Test"])
    assert args.func(args) == 0
    out = capsys.readouterr()
    assert "Wrote 2 images in 2 classes" in out.out and "100%" in out.err
    assert inspect(tmp_path / "d").counts == {"Test": {"A": 1, "B": 1}}
