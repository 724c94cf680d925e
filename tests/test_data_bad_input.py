"""Every kind of bad file gets a clear report; loading skips or converts it, or refuses in one sentence."""

import numpy as np
import pytest
from PIL import Image

from lab import i18n
from lab.data import inspect, load
from lab.errors import LabError
from tests.data_files import digit_like, make_dataset, tree_digest


def _problem(info, name):
    matches = [p for p in info.problems if p.path.endswith(name)]
    assert matches, f"no report for {name}: {info.problems}"
    return matches[0]


def _count(ds):
    return sum(int(x.shape[0]) for x, _ in ds)


@pytest.fixture
def messy(tmp_path):
    root = make_dataset(tmp_path / "messy", per_class=6, test_per_class=2)
    train_a = root / "Train" / "a"
    good = (root / "Train" / "a" / "000.png").read_bytes()
    (train_a / "truncated.png").write_bytes(good[: len(good) // 2])
    (train_a / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"garbage" * 20)
    (train_a / "notes.txt").write_text("not an image")
    (train_a / "fake.png").write_text("this is text with a png name")
    (train_a / "empty.png").write_bytes(b"")
    (train_a / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (train_a / "._000.png").write_bytes(b"\x00\x05\x16\x07AppleDouble")
    (root / "Train" / "b" / "cmyk.jpg").parent.mkdir(exist_ok=True)
    Image.fromarray(digit_like(1)).convert("CMYK").save(root / "Train" / "b" / "cmyk.jpg")
    Image.fromarray(digit_like(1).astype(np.uint16) * 257).save(root / "Train" / "b" / "sixteen.png")
    Image.fromarray(digit_like(1)).convert("P").save(root / "Train" / "c" / "palette.png")
    rgba = Image.fromarray(digit_like(2)).convert("RGBA")
    rgba.putalpha(Image.fromarray((digit_like(2) > 0).astype(np.uint8) * 255))
    rgba.save(root / "Train" / "c" / "rgba.png")
    Image.fromarray(digit_like(2, size=(40, 36))).save(root / "Train" / "c" / "bigger.png")
    return root


def test_each_bad_file_is_reported_with_a_reason(messy):
    info = inspect(messy, verify=True)
    assert info.ok
    assert "truncated or corrupt" in _problem(info, "truncated.png").reason
    assert (
        "truncated or corrupt" in _problem(info, "corrupt.jpg").reason
        or "not an image" in _problem(info, "corrupt.jpg").reason
    )
    assert _problem(info, "notes.txt").reason == "not an image Pillow can read"
    assert _problem(info, "fake.png").reason == "not an image Pillow can read"
    assert _problem(info, "empty.png").reason == "empty file (0 bytes)"
    assert _problem(info, ".DS_Store").reason == "hidden file"
    assert _problem(info, "._000.png").reason == "hidden file"
    for name in ("truncated.png", "corrupt.jpg", "notes.txt", "fake.png", "empty.png", ".DS_Store", "._000.png"):
        assert _problem(info, name).action == "skipped"
    assert "CMYK" in _problem(info, "cmyk.jpg").reason and _problem(info, "cmyk.jpg").action == "converted"
    assert "16-bit" in _problem(info, "sixteen.png").reason
    assert "palette" in _problem(info, "palette.png").reason
    assert "RGBA" in _problem(info, "rgba.png").reason
    bigger = _problem(info, "bigger.png")
    assert bigger.action == "resized" and "36x40" in bigger.reason
    assert info.counts["Train"] == {"a": 6, "b": 8, "c": 9}
    assert info.color_mode == "grayscale" and info.image_size == (28, 28)
    assert any("7 files are skipped" in w for w in info.warnings)
    assert str(_problem(info, "empty.png")) == "Train/a/empty.png: empty file (0 bytes) (skipped)"


def test_the_report_speaks_portuguese_even_for_files_checked_in_english_before(messy):
    inspect(messy, verify=True)  # fills the per-file cache while speaking English
    with i18n.speaking("pt-BR"):
        info = inspect(messy, verify=True)
        assert str(_problem(info, "empty.png")) == "Train/a/empty.png: arquivo vazio (0 bytes) (ignorado)"
        assert _problem(info, "notes.txt").reason == "não é uma imagem que o Pillow consiga ler"
        assert _problem(info, "truncated.png").reason.startswith("imagem truncada ou corrompida (")
        assert _problem(info, "palette.png").reason == "imagem em paleta, convertida para grayscale na memória"
        assert str(_problem(info, "bigger.png")) == "Train/c/bigger.png: 36x40 pixels, não 28x28 (redimensionado)"
        skipped = next(w for w in info.warnings if w.startswith("7 arquivos são ignorados"))
        assert "arquivo oculto: 2" in skipped and skipped.endswith("; veja a lista de problemas.")
    assert _problem(inspect(messy, verify=True), "notes.txt").reason == "not an image Pillow can read"


def test_loading_a_messy_dataset_uses_only_good_files_and_changes_nothing(messy):
    before = tree_digest(messy)
    data = load(messy, validation_split=0.25, batch_size=4, seed=3)
    assert data.pipeline == "pillow" and data.cached
    assert data.counts == {"train": 18, "val": 5, "test": 6}
    assert data.input_shape == (28, 28, 1)
    for _ in range(2):  # two full epochs: no file TensorFlow chokes on
        assert _count(data.train) == 18
    assert _count(data.val) == 5 and _count(data.test) == 6
    images = np.concatenate([x.numpy() for x, _ in data.train])
    assert images.dtype == np.float32 and images.max() <= 255 and images.min() >= 0
    assert any("skipped" in w for w in data.warnings)
    assert tree_digest(messy) == before


def test_converted_formats_decode_to_the_same_picture(tmp_path):
    from lab.data.loading import decode

    ink = digit_like(1)
    Image.fromarray(ink.astype(np.uint16) * 257).save(tmp_path / "sixteen.png")
    Image.fromarray(ink).convert("P").save(tmp_path / "palette.png")
    rgba = Image.new("RGBA", (28, 28), (0, 0, 0, 0))
    rgba.paste(Image.fromarray(ink).convert("RGBA"), mask=Image.fromarray((ink > 0).astype(np.uint8) * 255))
    rgba.save(tmp_path / "rgba.png")
    for name in ("sixteen.png", "palette.png"):
        assert np.array_equal(decode(tmp_path / name, (28, 28), "grayscale")[..., 0], ink), name
    flattened = decode(tmp_path / "rgba.png", (28, 28), "grayscale")[..., 0]
    assert flattened[0, 0] == 0 and abs(int(flattened[ink > 0].min()) - int(ink[ink > 0].min())) <= 1
    Image.fromarray(ink).convert("CMYK").save(tmp_path / "cmyk.jpg", quality=100)
    cmyk = decode(tmp_path / "cmyk.jpg", (28, 28), "grayscale")[..., 0].astype(int)
    assert np.abs(cmyk - ink).mean() < 8


def test_empty_class_folder_is_left_out_with_a_warning(tmp_path):
    root = make_dataset(tmp_path / "d", test_per_class=0)
    (root / "Train" / "empty").mkdir()
    info = inspect(root)
    assert info.classes == ["a", "b", "c"]
    assert any("Train/empty has no usable images" in w for w in info.warnings)
    data = load(root)
    assert data.class_names == ["a", "b", "c"] and data.pipeline == "image_dataset_from_directory"


def test_test_class_missing_from_train_is_refused_in_one_sentence(tmp_path):
    root = make_dataset(tmp_path / "d")
    (root / "Test" / "c").rename(root / "Test" / "z")
    info = inspect(root)
    assert not info.ok
    message = info.errors[0]
    assert "Test has class 'z' that Train lacks" in message and "Train has class 'c' that Test lacks" in message
    with pytest.raises(LabError) as error:
        load(root)
    assert str(error.value) == message and message.count(". ") == 0 and message.endswith(".")
    with i18n.speaking("pt-BR"):
        assert inspect(root).errors == [
            "Train e Test de d precisam ter as mesmas pastas de classe, mas Test tem a classe 'z', que Train não tem e "
            "Train tem a classe 'c', que Test não tem; adicione ou renomeie pastas de classe para que fiquem iguais."]


def test_no_images_and_missing_folder_are_refused(tmp_path):
    root = tmp_path / "d"
    (root / "Train" / "a").mkdir(parents=True)
    (root / "Train" / "a" / "x.txt").write_text("hi")
    with pytest.raises(LabError, match="has no usable images"):
        load(root)
    with pytest.raises(LabError, match="does not exist"):
        load(tmp_path / "nowhere")
    one = make_dataset(tmp_path / "one", classes=("only",))
    with pytest.raises(LabError, match="at least two class folders"):
        load(one)


def test_a_file_only_tensorflow_rejects_falls_back_to_pillow(tmp_path, monkeypatch):
    import lab.data.loading as loading

    root = make_dataset(tmp_path / "d")

    def broken(*args, **kwargs):
        raise RuntimeError("Input is empty.\n  [[{{node DecodeImage}}]]")

    monkeypatch.setattr(loading, "_load_keras", broken)
    data = load(root)
    assert data.pipeline == "pillow" and _count(data.train) + _count(data.val) == 18
    assert any("Input is empty." in w and "node" not in w for w in data.warnings)
