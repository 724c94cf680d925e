"""How familiar an input is to a trained run: real Keras models trained on the squares-and-stripes dataset, their
reference kept in the run folder, the command line's verdict and the Predict page's."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from ui_support import open_page, png_bytes, square_image, stripes_image, use_lab

from lab import familiarity, i18n
from lab.cli import main
from lab.errors import LabError
from lab.predict import prepare
from lab.train.runs import load_run


@pytest.fixture(scope="module")
def trained(squares_run):
    """(dataset folder, run folder, its model, its preprocessing)."""
    root, run = squares_run
    loaded = load_run(run)
    return root / "Data" / "tiny", run, loaded.load_model(), loaded.preprocessing


def noise(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (28, 28), dtype=np.uint8)


def seen(arr: np.ndarray, preprocessing: dict) -> np.ndarray:
    return prepare(Image.fromarray(arr), preprocessing).array


def copy_run(run: Path, tmp_path: Path, **meta_changes) -> Path:
    copy = tmp_path / run.name
    shutil.copytree(run, copy, ignore=shutil.ignore_patterns(familiarity.CACHE))
    meta = json.loads((copy / "meta.json").read_text())
    meta.update(meta_changes)
    (copy / "meta.json").write_text(json.dumps(meta))
    return copy


def test_test_images_are_familiar_and_their_nearest_training_images_share_their_class(trained):
    """The line sits at the 99th percentile of 16 validation images, about their largest, so an image drawn like
    them lands beyond it about once in 17: most, not all, of the 12 Test images are familiar."""
    data, run, model, preprocessing = trained
    familiar, same_class, shown = 0, 0, 0
    for path in sorted((data / "Test").glob("*/*.png")):
        verdict = familiarity.verdict(run, model, prepare(Image.open(path), preprocessing).array)
        familiar += verdict.familiar
        assert verdict.sentence().startswith("Like the training images" if verdict.familiar else "Unlike")
        assert len(verdict.nearest) == familiarity.NEAREST and all(n.path.is_file() for n in verdict.nearest)
        assert all(n.class_name == n.path.parent.name for n in verdict.nearest)
        assert verdict.nearest[0].class_name == path.parent.name
        assert verdict.nearest[0].distance == verdict.distance  # the distance is to the nearest one shown first
        same_class += sum(n.class_name == path.parent.name for n in verdict.nearest)
        shown += len(verdict.nearest)
    assert familiar >= 9 and same_class >= 0.9 * shown


def test_noise_is_unfamiliar_in_one_sentence(trained):
    _, run, model, preprocessing = trained
    for seed in range(5):
        verdict = familiarity.verdict(run, model, seen(noise(seed), preprocessing))
        assert not verdict.familiar and verdict.further_than == 1.0, (verdict.distance, verdict.threshold)
        sentence = verdict.sentence()
        assert sentence.startswith("Unlike the training images") and "100% of the validation images" in sentence
        assert sentence.count(".") == 1 + sentence.count("×")  # one sentence; "1.2×" has a point of its own


def test_freshly_drawn_images_are_familiar_and_nearest_to_their_own_class(trained):
    _, run, model, preprocessing = trained
    rng = np.random.default_rng(11)
    verdicts = [(cls, familiarity.verdict(run, model, seen(draw(rng), preprocessing)))
                for _ in range(5) for cls, draw in (("square", square_image), ("stripes", stripes_image))]
    assert sum(v.familiar for _, v in verdicts) >= 8
    assert all(v.nearest[0].class_name == cls for cls, v in verdicts)


def test_the_reference_is_kept_in_the_run_folder_and_made_again_only_for_another_model(trained, tmp_path):
    _, run, model, preprocessing = trained
    copy = copy_run(run, tmp_path)
    calls = []
    first = familiarity.reference(copy, model, on_progress=lambda done, total: calls.append((done, total)))
    cache = copy / familiarity.CACHE
    assert cache.is_file() and calls[0] == (0, None)  # listing the files, then each batch
    assert calls[-1][0] == calls[-1][1] == len(first.files) + len(first.calibration)
    assert first.source == "validation" and len(first.calibration) == 16 and len(first.files) == 64
    assert not list(copy.glob(".familiarity*"))  # no temporary file left beside it
    calls.clear()
    again = familiarity.reference(copy, model, on_progress=lambda done, total: calls.append((done, total)))
    assert calls == [] and again.files == first.files
    np.testing.assert_allclose(again.calibration, first.calibration)
    x = seen(noise(3), preprocessing)
    assert familiarity.judge(again, model, x).distance == pytest.approx(familiarity.judge(first, model, x).distance,
                                                                          rel=1e-5)

    model_file = copy / "model.keras"
    stat = model_file.stat()
    os.utime(model_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # the model written again
    familiarity.reference(copy, model, on_progress=lambda done, total: calls.append((done, total)))
    assert calls, "a reference made with another model file is made again"

    cache.write_bytes(b"not an npz file")
    calls.clear()
    assert familiarity.reference(copy, model, on_progress=lambda done, total: calls.append(done)).files == first.files
    assert calls and np.load(cache)["files"].size == 64


def test_a_run_folder_that_cannot_be_written_to_still_gets_a_verdict_made_once(trained, tmp_path, monkeypatch):
    from lab.train import runs

    _, run, model, preprocessing = trained
    copy = copy_run(run, tmp_path)

    def disk_full(path, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(runs, "write_bytes_atomic", disk_full)
    calls = []
    first = familiarity.verdict(copy, model, seen(noise(1), preprocessing), on_progress=lambda *a: calls.append(a))
    assert calls and not (copy / familiarity.CACHE).exists() and not first.familiar
    calls.clear()
    assert familiarity.verdict(copy, model, seen(noise(1), preprocessing),
                               on_progress=lambda *a: calls.append(a)).distance == first.distance
    assert calls == []


def test_the_training_sample_is_balanced_between_classes(trained, tmp_path, monkeypatch):
    _, run, model, _ = trained
    monkeypatch.setattr(familiarity, "REFERENCE_LIMIT", 10)
    found = familiarity.reference(copy_run(run, tmp_path), model)
    assert sorted(np.bincount(found.labels).tolist()) == [5, 5]
    validation = {Path(f).name for f in familiarity._images(found.dataset, load_run(run).meta, found.class_names)[1][0]}
    assert validation.isdisjoint(Path(f).name for f in found.files)


def test_a_run_without_validation_images_calibrates_on_its_test_images(trained, tmp_path):
    _, run, model, _ = trained
    meta = json.loads((run / "meta.json").read_text())
    copy = copy_run(run, tmp_path, config={**meta["config"], "validation_split": 0.0})
    found = familiarity.reference(copy, model)
    assert found.source == "test" and len(found.calibration) == 12 and len(found.files) == 80
    verdict = familiarity.judge(found, model, np.zeros((28, 28, 1), np.float32) + 128)
    assert "of the test images" in verdict.sentence()


def test_a_gone_dataset_is_one_sentence_and_a_kept_reference_still_judges(trained, tmp_path):
    data, run, model, preprocessing = trained
    gone = tmp_path / "moved-away"
    copy = copy_run(run, tmp_path, dataset={"name": "tiny", "path": str(gone)})
    with pytest.raises(LabError) as refused:
        familiarity.verdict(copy, model, seen(noise(1), preprocessing))
    message = str(refused.value)
    assert str(gone) in message and "is gone" in message and message.count(". ") == 0 and message.endswith(".")
    assert not (copy / familiarity.CACHE).exists()

    moved = tmp_path / "tiny"
    shutil.copytree(data, moved)
    copy = copy_run(run, tmp_path / "second", dataset={"name": "tiny", "path": str(moved)})
    familiarity.reference(copy, model)
    shutil.rmtree(moved)
    verdict = familiarity.verdict(copy, model, seen(noise(1), preprocessing))
    assert not verdict.familiar and not any(n.path.exists() for n in verdict.nearest)


def test_wide_features_are_folded_keeping_their_distances():
    rng = np.random.default_rng(0)
    features = np.maximum(rng.normal(size=(12, 6000)), 0).astype(np.float32)  # like a ReLU layer's
    folded = familiarity.sketch(features)
    assert folded.shape == (12, familiarity.SKETCH)
    full = np.linalg.norm(features[:, None] - features[None], axis=2)
    kept = np.linalg.norm(folded[:, None] - folded[None], axis=2)
    off_diagonal = ~np.eye(12, dtype=bool)
    assert np.abs(kept[off_diagonal] / full[off_diagonal] - 1).max() < 0.2
    narrow = features[:, :100]
    assert familiarity.sketch(narrow) is narrow  # narrow features are kept as they are


def test_the_sentence_speaks_portuguese(trained):
    _, run, model, preprocessing = trained
    verdict = familiarity.verdict(run, model, seen(noise(2), preprocessing))
    with i18n.speaking("pt-BR"):
        sentence = verdict.sentence()
    assert sentence.startswith("Diferente das imagens de treino") and "das imagens de validação" in sentence


def test_lab_predict_prints_the_verdict(trained, tmp_path, capsys):
    data, run, _, _ = trained
    picture = tmp_path / "noise.png"
    Image.fromarray(noise(4)).save(picture)
    square = sorted((data / "Test" / "square").glob("*.png"))[0]
    assert main(["predict", str(run), str(square), str(picture)]) == 0
    out = capsys.readouterr().out
    assert "Like the training images" in out and "Unlike the training images" in out
    assert main(["predict", str(run), str(picture), "--json"]) == 0
    judged = json.loads(capsys.readouterr().out)["predictions"][0]["familiarity"]
    assert judged["familiar"] is False and judged["calibrated_on"] == "validation"
    assert len(judged["nearest"]) == familiarity.NEAREST and Path(judged["nearest"][0]["file"]).is_file()

    alone = tmp_path / "alone.keras"  # a model file without its run: nothing to compare with, nothing said
    shutil.copy(run / "model.keras", alone)
    assert main(["predict", str(alone), str(picture), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["predictions"][0]["familiarity"] is None

    copy = copy_run(run, tmp_path, dataset={"name": "tiny", "path": str(tmp_path / "gone")})
    assert main(["predict", str(copy), str(picture)]) == 0
    assert f"The dataset this run was trained on is gone ({tmp_path / 'gone'})" in capsys.readouterr().out


def test_the_predict_page_shows_the_verdict_and_the_nearest_training_images(squares_run, trained, monkeypatch):
    from streamlit.testing.v1 import AppTest
    from ui_support import APP

    root, _ = squares_run
    _, run, model, _ = trained
    learned = familiarity.reference(run, model)
    trained_on = learned.dataset / learned.files[0]  # an image the model learned from: its own nearest
    use_lab(monkeypatch, root)
    at = AppTest.from_file(APP, default_timeout=60).run()
    open_page(at, "predict")
    at.radio(key="predict_source").set_value("upload").run()
    upload = at.file_uploader(key="predict_upload")
    upload.set_value([(trained_on.name, trained_on.read_bytes(), "image/png"),
                      ("noise.png", png_bytes(noise(6)), "image/png")])
    at.run()
    assert not at.exception, at.exception
    warnings = [w.value for w in at.warning]
    captions = [c.value for c in at.caption]
    assert any(w.startswith("Unlike the training images") for w in warnings), warnings
    assert any(c.startswith("Like the training images") for c in captions), captions
    assert sum(c.startswith("The nearest training images") for c in captions) == 2
