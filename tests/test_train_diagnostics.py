"""Diagnostics and label/loss matching: pure Python, no TensorFlow."""

import math
import sys

import pytest
from test_train_support import small_spec

from lab.errors import LabError
from lab.train import diagnostics as dx
from lab.train.labels import prepare_spec


def test_guessing_fires_at_ln_24_like_the_notes_first_model():
    found = dx.check_guessing(3.17, 24, epoch=1, learning_rate=0.001)
    assert found is not None and found.code == "guessing"
    assert "ln(24) = 3.18" in found.message and "Rescaling" in found.message


def test_guessing_quiet_when_learning():
    assert dx.check_guessing(1.2, 24) is None
    assert dx.check_guessing(0.3, 3) is None
    assert dx.check_guessing(float("nan"), 3) is None
    assert dx.check_epoch([{"loss": 0.5, "val_loss": 0.6}], 3) == []


def test_inputs_unscaled_and_double_scaled():
    raw = small_spec(rescale=False)
    found = dx.check_inputs(raw, 255.0)
    assert found.code == "unscaled_inputs" and "Rescaling(1/255)" in found.message
    assert dx.check_inputs(small_spec(rescale=True), 255.0) is None
    assert dx.check_inputs(small_spec(rescale=True), 1.0).code == "double_scaling"
    assert dx.check_inputs(raw, 1.0) is None


def test_overfitting_and_diverging():
    history = [{"loss": 1.0, "val_loss": 0.8}, {"loss": 0.7, "val_loss": 0.9}, {"loss": 0.5, "val_loss": 1.1}]
    codes = [d.code for d in dx.check_epoch(history, 3)]
    assert codes == ["overfitting"]
    rising = [{"loss": 0.5}, {"loss": 0.9}]
    assert dx.check_diverging(rising, 0.1).code == "diverging"
    assert dx.check_overfitting(history[:2]) is None


def test_nan_message_names_a_lower_rate():
    found = dx.nan_loss(2, 17, 0.1)
    assert found.level == "error" and "epoch 2, batch 17" in found.message and "0.01" in found.message


def test_prepare_spec_adapts_head_and_input_with_notes():
    spec = small_spec(units=24)
    new, mode, notes = prepare_spec(spec, (16, 16, 1), 3)
    assert mode == "int" and new["layers"][-1]["units"] == 3
    assert any("3 units" in n for n in notes)
    assert spec["layers"][-1]["units"] == 24  # the caller's spec is untouched


def test_prepare_spec_loss_follows_labels():
    spec = small_spec()
    spec["compile"]["metrics"] = ["accuracy", "precision", "top_5_accuracy"]
    new, mode, notes = prepare_spec(spec, (16, 16, 1), 3)
    assert mode == "categorical" and new["compile"]["loss"] == "categorical_crossentropy"
    assert new["compile"]["metrics"] == ["accuracy", "precision"]
    binary = small_spec()
    binary["compile"]["loss"] = "binary_crossentropy"
    new, mode, _ = prepare_spec(binary, (16, 16, 1), 2)
    assert mode == "binary" and new["layers"][-1]["units"] == 1 and new["layers"][-1]["activation"] == "sigmoid"
    with pytest.raises(LabError, match="two classes"):
        prepare_spec(binary, (16, 16, 1), 3)
    categorical = small_spec()
    categorical["compile"].update(loss="categorical_crossentropy", metrics=["sparse_categorical_accuracy"])
    new, mode, _ = prepare_spec(categorical, (16, 16, 1), 3)
    assert mode == "categorical" and new["compile"]["metrics"] == ["categorical_accuracy"]


def test_chance_loss():
    assert dx.chance_loss(24) == pytest.approx(math.log(24))


def test_train_modules_do_not_import_tensorflow():
    import subprocess
    from pathlib import Path

    code = ("import sys, lab.train.job, lab.train.cli, lab.train.runs, lab.train.diagnostics, lab.train.labels; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])


def test_diagnoses_and_errors_speak_the_readers_language():
    from lab import i18n

    found = dx.nan_loss(2, 17, learning_rate=0.01)
    assert found.title == "The loss became NaN" and "epoch 2, batch 17" in found.message
    with i18n.speaking("pt-BR"):
        assert found.title == "A perda virou NaN"
        assert "época 2, lote 17" in found.message and "taxa de aprendizado 0.01" in found.message
        assert "está chutando" in dx.check_guessing(3.17, 24, epoch=1).title
        with pytest.raises(LabError, match="duas classes"):
            prepare_spec(dict(small_spec(), compile={"loss": "binary_crossentropy"}), [16, 16, 1], 3)
    assert found.to_dict()["message"].startswith("The loss became NaN at epoch 2")


def test_every_diagnosis_has_words_in_both_languages():
    from lab import i18n

    history = [{"loss": 1.0, "val_loss": 0.5}, {"loss": 0.8, "val_loss": 0.6}, {"loss": 0.6, "val_loss": 0.7}]
    found = [dx.check_guessing(math.log(3), 3, 1), dx.check_guessing(math.log(3), 3, 1, learning_rate=0.1),
             dx.check_inputs(small_spec(rescale=False), 255.0), dx.check_inputs({"layers": [
                 {"type": "Rescaling", "scale": 1 / 255}, {"type": "Dense", "units": 2}]}, 1.0),
             dx.nan_loss(1, 1), dx.nan_loss(1, 1, 0.1), dx.check_overfitting(history),
             dx.check_diverging([{"loss": 1.0}, {"loss": 2.0}]),
             dx.check_diverging([{"loss": 1.0}, {"loss": 2.0}], learning_rate=0.1)]
    assert None not in found and {d.code for d in found} == set(dx.TITLES)
    said = {}
    for lang in ("en", "pt-BR"):
        with i18n.speaking(lang):
            said[lang] = [(d.title, d.message) for d in found] + [dx.resolved_message(code, 3) for code in dx.RESOLVED]
    assert all(said["en"]) and all(said["pt-BR"])
    assert [en != pt for en, pt in zip(said["en"], said["pt-BR"])] == [True] * len(said["en"])


def test_the_run_store_does_not_import_the_job():
    import subprocess
    from pathlib import Path

    code = ("import sys, lab.train.runs; job_side = {'lab.train.job', 'lab.train.live', 'lab.train.manager', "
            "'lab.train.pipeline'}; assert not job_side & set(sys.modules), job_side & set(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])
