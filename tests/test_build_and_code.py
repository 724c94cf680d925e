"""The Keras builder, the exported script and the core command line, against real Keras models."""

import json
import math
import os
import runpy
import subprocess
import sys

import numpy as np
import pytest

from lab import build, codegen, i18n, presets
from lab.errors import LabError
from lab.shapes import table

keras = pytest.importorskip("tensorflow").keras


def describe(model):
    rows = []
    for layer in model.layers:
        config = layer.get_config()
        rows.append((type(layer).__name__, tuple(layer.output.shape[1:]), layer.count_params(),
                     {k: config[k] for k in ("filters", "kernel_size", "strides", "padding", "units", "rate",
                                             "activation", "pool_size", "factor", "height", "width", "scale",
                                             "height_factor", "width_factor") if k in config}))
    return rows


@pytest.mark.parametrize("name", presets.names())
def test_exported_script_makes_the_builders_model(name, tmp_path):
    spec = presets.load(name)
    script = tmp_path / "model_script.py"
    script.write_text(codegen.to_script(spec), encoding="utf-8")
    namespace = runpy.run_path(str(script), run_name="exported")
    exported, built = namespace["model"], build.build_model(spec)
    assert describe(exported) == describe(built)
    assert exported.count_params() == built.count_params() == table(spec).total_params
    assert type(exported.optimizer) is type(built.optimizer)
    assert math.isclose(float(exported.optimizer.learning_rate), float(built.optimizer.learning_rate))


def test_script_comments_give_each_output_shape():
    text = codegen.to_script(presets.load("seed-first"))
    assert "layers.Conv2D(filters=10, kernel_size=(3, 3), strides=(1, 1), padding='same')," in text
    assert "# -> (None, 28, 28, 10), 100 params" in text
    assert "from tensorflow.keras import callbacks, layers, losses, metrics, models, optimizers" in text


def test_seed_makes_the_model_reproducible():
    spec = presets.load("recommended")
    x = np.random.default_rng(0).uniform(0, 255, (4, 28, 28, 1)).astype("float32")
    first = build.build_model(spec, seed=7)(x, training=False).numpy()
    second = build.build_model(spec, seed=7)(x, training=False).numpy()
    third = build.build_model(spec, seed=8)(x, training=False).numpy()
    assert np.array_equal(first, second)
    assert not np.allclose(first, third)


@pytest.mark.parametrize("optimizer, cls", [
    ({"name": "sgd", "learning_rate": 0.05, "momentum": 0.9, "nesterov": True}, "SGD"),
    ({"name": "adamw", "learning_rate": 0.002, "weight_decay": 0.01}, "AdamW"),
    ({"name": "rmsprop", "learning_rate": 0.01, "momentum": 0.5}, "RMSprop"),
    ({"name": "adagrad", "learning_rate": 0.1}, "Adagrad"),
    ({"name": "adadelta", "learning_rate": 1.0}, "Adadelta"),
])
def test_optimizers_take_their_settings(optimizer, cls):
    spec = presets.load("seed-improved")
    spec["compile"]["optimizer"] = optimizer
    model = build.build_model(spec)
    assert type(model.optimizer).__name__ == cls
    assert math.isclose(float(model.optimizer.learning_rate), optimizer["learning_rate"], rel_tol=1e-6)
    if "momentum" in optimizer:
        assert math.isclose(float(model.optimizer.momentum), optimizer["momentum"])


def test_one_hot_metrics_are_built_and_sparse_ones_refused():
    spec = presets.load("seed-improved")
    spec["compile"].update(loss="categorical_crossentropy",
                           metrics=["accuracy", "precision", "recall", "auc", "f1_score", "top_3_accuracy"])
    model = build.build_model(spec)
    x = np.zeros((2, 28, 28, 1), "float32")
    y = keras.utils.to_categorical([1, 2], 24)
    names = set(model.evaluate(x, y, verbose=0, return_dict=True))
    assert {"precision", "recall", "auc", "f1_score", "top_3_accuracy"} <= names
    spec["compile"]["loss"] = "sparse_categorical_crossentropy"
    with pytest.raises(LabError, match="one-hot labels"):
        build.build_model(spec)


def test_invalid_spec_is_refused_before_building():
    spec = presets.load("seed-first")
    spec["layers"][0].update(kernel_size=[40, 3], padding="valid")
    with pytest.raises(LabError, match=r"Layer 1 \(Conv2D\): kernel 40×3 does not fit"):
        build.build_model(spec)


def run_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "lab", *args], capture_output=True, text=True, env=env)


def test_the_script_speaks_the_language_it_was_exported_in(tmp_path):
    spec = presets.load("seed-first")
    with i18n.speaking("pt-BR"):
        text = codegen.to_script(spec)
    assert "# -> (None, 28, 28, 10), 100 parâmetros" in text
    assert text.startswith('"""Uma CNN em Keras exportada do CNN Lab (')
    assert "print('perda no teste', test_loss, 'métricas no teste', test_metrics)" in text
    script = tmp_path / "modelo.py"
    script.write_text(text, encoding="utf-8")
    assert runpy.run_path(str(script), run_name="exported")["model"].count_params() == table(spec).total_params


def test_cli_shapes_json_matches_the_table(tmp_path):
    result = run_cli("shapes", "seed-improved", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    expected = table(presets.load("seed-improved")).rows
    assert [r["output_shape"] for r in rows] == [list(r.output_shape) for r in expected]
    assert rows[3] == {"index": 4, "type": "Conv2D", "output_shape": [28, 28, 10], "params": 100,
                       "trainable_params": 100, "non_trainable_params": 0,
                       "formula": "H, W: ⌈28 / 1⌉ = 28; params: 3·3·1·10 + 10 = 100", "receptive_field": [3, 3]}


def test_cli_refuses_a_bad_spec_in_one_sentence(tmp_path):
    spec = presets.load("seed-first")
    spec["layers"].insert(1, {"type": "MaxPooling2D", "pool_size": 30})
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(spec))
    result = run_cli("shapes", str(path))
    assert result.returncode == 2
    assert result.stderr.strip() == ("error: Layer 2 (MaxPooling2D): pool 30×30 does not fit a 28×28 input with "
                                     "padding 'valid'; use padding 'same' or a smaller pool.")
    portuguese = run_cli("shapes", str(path), env={**os.environ, "CNN_LAB_LANG": "pt-BR"})
    assert portuguese.returncode == 2
    assert portuguese.stderr.strip().endswith("Camada 2 (MaxPooling2D): a janela de pooling 30×30 não cabe em uma "
                                              "entrada 28×28 com padding 'valid'; use padding 'same' ou uma janela "
                                              "menor.")
    broken = tmp_path / "broken.json"
    broken.write_text("{\"layers\": [")
    result = run_cli("export-code", str(broken))
    assert result.returncode == 2 and "not valid JSON" in result.stderr and "Traceback" not in result.stderr


def test_cli_export_code_prints_a_script():
    result = run_cli("export-code", "recommended")
    assert result.returncode == 0
    compile(result.stdout, "exported.py", "exec")
    assert "models.Sequential([" in result.stdout
