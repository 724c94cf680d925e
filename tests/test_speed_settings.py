"""The speed settings: XLA only where it is faster, mixed precision as a setting of the page, the command line and
the exported script; the choice logic alone, then on real Keras models, real runs and the real page."""

from __future__ import annotations

import json
import runpy

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from test_train_support import make_dataset, small_spec
from ui_support import APP, open_page, tiny_spec
from ui_support import make_dataset as make_page_dataset

from lab import codegen, i18n, presets, speed
from lab.cli import main
from lab.errors import LabError
from lab.layers import LAYER_TYPES
from lab.speed import CPU, GPU, choose_precision, choose_xla

keras = pytest.importorskip("tensorflow").keras
BFLOAT16_CPU = speed.cpu_has_bfloat16()


def without_augmentation(spec: dict) -> dict:
    spec = dict(spec)
    spec["layers"] = [layer for layer in spec["layers"]
                      if LAYER_TYPES[layer["type"]].group_id != "layers.group.augmentation"]
    return spec


def has_gpu() -> bool:
    import tensorflow as tf

    return bool(tf.config.list_logical_devices("GPU"))


# --- XLA: the choice ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("device, supported, setting, measured, on, why", [
    (CPU, True, None, None, False, "cpu"),              # auto on a CPU: off, as plain Keras
    (GPU, True, None, None, True, "gpu"),               # auto on a GPU: on, as plain Keras
    (GPU, False, None, None, False, "unsupported"),     # a layer XLA cannot compile
    (CPU, True, True, None, True, "asked"),             # "jit_compile": true is obeyed on a CPU too
    (CPU, False, True, None, False, "unsupported"),     # ... unless a layer cannot be compiled
    (GPU, True, False, None, False, "turned_off"),      # "jit_compile": false is obeyed on a GPU
    (CPU, True, None, (41.0, 120.0), False, "measured"),  # measured: the faster one wins
    (CPU, True, None, (120.0, 41.0), True, "measured"),
    (GPU, True, None, (50.0, 50.0), False, "measured"),   # a tie keeps the plain step
    (CPU, True, True, (10.0, 90.0), True, "asked"),       # a setting outranks a measurement
    (CPU, False, None, (90.0, 10.0), False, "unsupported"),
])
def test_xla_choice(device, supported, setting, measured, on, why):
    choice = choose_xla(device, supported, setting, measured)
    assert (choice.on, choice.why) == (on, why)
    assert choice.sentence().startswith("XLA on" if on else "XLA off")


def test_a_measured_choice_says_both_step_times_in_both_languages():
    choice = choose_xla(CPU, True, None, (41.04, 119.96))
    assert choice.sentence() == "XLA off: 41.0 ms a step against 120.0 ms with it."
    with i18n.speaking("pt-BR"):
        assert choice.sentence() == "XLA desligado: 41.0 ms por passo contra 120.0 ms com ele."
    assert choice.as_dict() == {"on": False, "why": "measured", "step_ms": [41.0, 120.0]}


@pytest.mark.parametrize("name", presets.names())
@pytest.mark.parametrize("augmented", [True, False])
def test_no_preset_compiles_with_xla_on_a_cpu_by_default(name, augmented):
    from lab.build import build_model, xla_choice

    if has_gpu():
        pytest.skip("XLA is on by default on a GPU")
    spec = presets.load(name) if augmented else without_augmentation(presets.load(name))
    model = build_model(spec)
    assert model.jit_compile is False
    assert xla_choice(model, spec).why in ("cpu", "unsupported")


def test_jit_compile_in_the_spec_still_turns_xla_on_and_off():
    from lab.build import build_model

    spec = without_augmentation(presets.load("recommended"))
    spec["compile"]["jit_compile"] = True
    assert build_model(spec).jit_compile is True
    spec["compile"]["jit_compile"] = False
    assert build_model(spec).jit_compile is False
    augmented = presets.load("recommended")
    augmented["compile"]["jit_compile"] = True  # RandomTranslation cannot be compiled: it runs without XLA
    assert build_model(augmented).jit_compile is False


def test_a_resizing_by_area_is_never_compiled_with_xla():
    from lab.build import build_model

    spec = small_spec()
    spec["input_shape"] = [32, 32, 1]
    spec["layers"].insert(0, {"type": "Resizing", "height": 16, "width": 16, "interpolation": "area"})
    spec["compile"]["jit_compile"] = True  # XLA has no ResizeArea: training would fail to compile
    model = build_model(spec)
    assert model.jit_compile is False
    x = np.random.default_rng(0).uniform(0, 255, (8, 32, 32, 1)).astype("float32")
    model.fit(x, np.arange(8) % 3, epochs=1, verbose=0)
    spec["layers"][0]["interpolation"] = "bilinear"
    assert build_model(spec).jit_compile is True


# --- precision: the choice ----------------------------------------------------------------------------------------


CPUINFO = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f {extra}\nbugs\t\t: spectre_v1 {bug}\n"


@pytest.mark.parametrize("extra, bug, expected", [
    ("avx512_bf16", "", True), ("amx_bf16 amx_tile", "", True), ("avx512_vnni", "", False),
    ("", "avx512_bf16", False),  # only the flags line counts
])
def test_bfloat16_support_is_read_from_the_cpu_flags(extra, bug, expected):
    assert speed.cpu_has_bfloat16(CPUINFO.format(extra=extra, bug=bug)) is expected


@pytest.mark.parametrize("setting, device, bf16, policy, why", [
    ("float32", CPU, False, "float32", "asked"),
    ("mixed_bfloat16", CPU, True, "mixed_bfloat16", "asked"),
    ("mixed_bfloat16", GPU, False, "mixed_bfloat16", "asked"),  # the GPU computes it, whatever the CPU has
    ("mixed_float16", GPU, False, "mixed_float16", "asked"),
    ("auto", GPU, True, "float32", "auto_gpu"),
    ("auto", CPU, False, "float32", "auto_cpu_no_bfloat16"),
])
def test_precision_choice(setting, device, bf16, policy, why):
    choice = choose_precision(setting, device, bf16)
    assert (choice.policy, choice.setting, choice.why) == (policy, setting, why)
    assert policy in choice.sentence()


@pytest.mark.parametrize("measured_better, policy", [(True, "mixed_bfloat16"), (False, "float32")])
def test_auto_on_a_bfloat16_cpu_follows_the_benchmark(monkeypatch, measured_better, policy):
    monkeypatch.setattr(speed, "AUTO_BFLOAT16_ON_CPU", measured_better)
    choice = choose_precision("auto", CPU, True)
    assert choice.policy == policy and choice.setting == "auto"
    assert choice.why == ("auto_bfloat16" if measured_better else "auto_cpu_measured")


@pytest.mark.parametrize("lang, float16, bfloat16, unknown", [
    ("en", "mixed_float16 needs a GPU and this machine has none; choose auto, float32 or, on a CPU with bfloat16, "
           "mixed_bfloat16.",
     "This CPU has no bfloat16 instructions (avx512_bf16 / amx_bf16), so mixed_bfloat16 would be slow; choose auto "
     "or float32.",
     "Precision 'float8' is unknown; use one of auto, float32, mixed_bfloat16, mixed_float16."),
    ("pt-BR", "mixed_float16 precisa de uma GPU e esta máquina não tem nenhuma; escolha auto, float32 ou, numa CPU "
              "com bfloat16, mixed_bfloat16.",
     "Esta CPU não tem instruções bfloat16 (avx512_bf16 / amx_bf16), então mixed_bfloat16 ficaria lento; escolha "
     "auto ou float32.",
     "A precisão 'float8' não existe; use uma destas: auto, float32, mixed_bfloat16, mixed_float16."),
])
def test_a_precision_the_machine_cannot_compute_is_refused_in_one_sentence(lang, float16, bfloat16, unknown):
    with i18n.speaking(lang):
        with pytest.raises(LabError) as error:
            choose_precision("mixed_float16", CPU, True)
        assert str(error.value) == float16
        with pytest.raises(LabError) as error:
            choose_precision("mixed_bfloat16", CPU, False)
        assert str(error.value) == bfloat16
        with pytest.raises(LabError) as error:
            choose_precision("float8", GPU, True)
        assert str(error.value) == unknown


def test_the_train_config_refuses_an_unknown_precision(tmp_path):
    from lab.train.config import TrainConfig

    with pytest.raises(LabError, match="Precision 'half' is unknown"):
        TrainConfig(str(tmp_path), "recommended", precision="half").check()
    assert TrainConfig(str(tmp_path), "recommended").precision == "auto"


# --- precision: real Keras ----------------------------------------------------------------------------------------


def test_mixed_bfloat16_computes_the_convolutions_in_bfloat16_and_the_output_in_float32():
    from lab.build import build_model

    model = build_model(presets.load("recommended"), seed=1, precision="mixed_bfloat16")
    convolutions = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(convolutions) == 2
    for layer in convolutions:
        assert layer.compute_dtype == "bfloat16" and layer.kernel.dtype == "float32"  # float32 weights
    x = np.random.default_rng(0).uniform(0, 255, (2, 28, 28, 1)).astype("float32")
    inside = keras.Model(model.inputs, convolutions[0].output)
    assert inside([x]).dtype == "bfloat16"
    last = model.layers[-1]
    assert last.dtype_policy.name == "float32" and last.get_config()["activation"] == "softmax"
    probabilities = model(x)
    assert probabilities.dtype == "float32"
    assert np.allclose(np.sum(probabilities, axis=1), 1, atol=1e-5)


def test_mixed_float16_trains_with_loss_scaling():
    from lab.build import build_model

    model = build_model(small_spec(), precision="mixed_float16", jit_compile=False)
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert model.layers[1].compute_dtype == "float16" and model.layers[-1].compute_dtype == "float32"


def test_a_float32_twin_predicts_what_the_mixed_model_predicts():
    from lab.build import as_float32, build_model

    mixed = build_model(presets.load("recommended"), seed=2, precision="mixed_bfloat16")
    twin = as_float32(mixed)
    assert {layer.dtype_policy.name for layer in twin.layers} == {"float32"}
    assert [w.dtype for w in twin.get_weights()] == [w.dtype for w in mixed.get_weights()]
    x = np.random.default_rng(1).uniform(0, 255, (16, 28, 28, 1)).astype("float32")
    assert np.allclose(twin.predict(x, verbose=0), mixed.predict(x, verbose=0), atol=0.02)
    plain = build_model(presets.load("recommended"), seed=2)
    assert as_float32(plain) is plain


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory):
    """A real run trained in mixed_bfloat16 (where the CPU has bfloat16; else on a GPU)."""
    from lab.train.job import Job, TrainConfig

    if not BFLOAT16_CPU and not has_gpu():
        pytest.skip("no bfloat16 on this machine")
    base = tmp_path_factory.mktemp("mixed")
    data = make_dataset(base / "shapes")
    config = TrainConfig(str(data), small_spec(), epochs=3, batch_size=8, seed=3, runs_root=str(base / "runs"),
                         precision="mixed_bfloat16", early_stopping=None)
    snap = Job(config).run()
    assert snap.status == "finished", snap.error or snap.messages
    return data, snap


def test_a_mixed_run_records_and_says_its_choices(mixed_run):
    from lab.train import runs

    _, snap = mixed_run
    meta = json.loads((runs.Path(snap.run_dir) / runs.META).read_text())
    assert meta["config"]["precision"] == "mixed_bfloat16"
    assert meta["speed"]["precision"] == {"policy": "mixed_bfloat16", "setting": "mixed_bfloat16", "why": "asked"}
    assert meta["speed"]["xla"]["on"] is has_gpu()
    assert "Precision mixed_bfloat16, as asked; the output layer stays float32." in snap.messages
    assert speed.sentences(meta) == [m for m in snap.messages if m.startswith(("Precision", "XLA"))]
    assert speed.trained_policy(meta) == "mixed_bfloat16" and speed.trained_policy({}) == "float32"
    assert snap.metrics["accuracy"] >= 0.9


def test_a_mixed_run_loads_and_predicts_in_float32(mixed_run, capsys):
    from lab.train import runs
    from lab.train.predicting import load_predictor

    data, snap = mixed_run
    model = runs.load_model_file(runs.Path(snap.run_dir) / runs.MODEL)
    assert {layer.dtype_policy.name for layer in model.layers} == {"float32"}
    predictor, class_names, _ = load_predictor(snap.run_dir)  # what the Predict page and `lab predict` load
    assert {layer.compute_dtype for layer in predictor.layers} == {"float32"}
    image = sorted((data / "Test" / "rows").glob("*.png"))[0]
    assert main(["predict", snap.run_dir, str(image), "--top", "2", "--json"]) == 0
    top = json.loads(capsys.readouterr().out)["predictions"][0]["top"]
    assert top[0][0] == "rows" and 0.5 < top[0][1] <= 1


# --- the command line ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang, word", [("en", "invalid choice: 'float8'"), ("pt-BR", "opção inválida: 'float8'")])
def test_an_unknown_precision_flag_is_one_sentence(tmp_path, capsys, lang, word):
    data = make_dataset(tmp_path / "shapes", train_per_class=4, test_per_class=0)
    assert main(["train", "--data", str(data), "--spec", "recommended", "--precision", "float8", "--lang", lang]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert word in error and "mixed_bfloat16" in error and "Traceback" not in error


@pytest.mark.parametrize("lang, start", [("en", "error: mixed_float16 needs a GPU"),
                                         ("pt-BR", "erro: mixed_float16 precisa de uma GPU")])
def test_mixed_float16_on_a_cpu_is_refused_before_a_run_folder_exists(tmp_path, capsys, lang, start):
    if has_gpu():
        pytest.skip("this machine has a GPU")
    data = make_dataset(tmp_path / "shapes", train_per_class=4, test_per_class=0)
    spec = tmp_path / "tiny.json"
    spec.write_text(json.dumps(small_spec()))
    runs_root = tmp_path / "runs"
    assert main(["train", "--data", str(data), "--spec", str(spec), "--precision", "mixed_float16",
                 "--runs", str(runs_root), "--lang", lang]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith(start)
    assert not runs_root.exists() or not any(runs_root.iterdir())


def test_train_json_says_the_precision_and_xla(mixed_run, tmp_path, capsys):
    data, _ = mixed_run
    spec = tmp_path / "tiny.json"
    spec.write_text(json.dumps(small_spec()))
    assert main(["train", "--data", str(data), "--spec", str(spec), "--epochs", "1", "--batch-size", "8",
                 "--precision", "float32", "--out", str(tmp_path / "run"), "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out.strip().splitlines()[-1])
    assert result["precision"] == "float32" and result["xla"] is has_gpu()
    assert "Precision float32, as asked; the output layer stays float32." in captured.err


# --- the exported script ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("policy, compute", [("mixed_bfloat16", "bfloat16"), ("mixed_float16", "float16")])
def test_an_exported_script_sets_the_policy_and_keeps_the_output_in_float32(tmp_path, policy, compute):
    spec = presets.load("recommended")
    text = codegen.to_script(spec, precision=policy)
    assert f"tf.keras.mixed_precision.set_global_policy('{policy}')" in text
    assert "layers.Dense(units=24, activation='softmax', dtype='float32')," in text
    script = tmp_path / "mixed.py"
    script.write_text(text, encoding="utf-8")
    try:
        model = runpy.run_path(str(script), run_name="exported")["model"]
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert model.layers[2].compute_dtype == compute and model.layers[-1].compute_dtype == "float32"
    if policy == "mixed_float16":
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)


def test_a_float32_script_sets_no_policy_and_an_unknown_one_is_refused():
    spec = presets.load("seed-first")
    assert "mixed_precision" not in codegen.to_script(spec)
    assert codegen.to_script(spec) == codegen.to_script(spec, precision="float32")
    with pytest.raises(LabError, match="Precision 'auto' is unknown; use one of float32, mixed_bfloat16"):
        codegen.to_script(spec, precision="auto")


def test_export_code_takes_the_precision(capsys):
    assert main(["export-code", "seed-first", "--precision", "mixed_bfloat16"]) == 0
    out = capsys.readouterr().out
    assert "tf.keras.mixed_precision.set_global_policy('mixed_bfloat16')" in out
    assert "dtype='float32')" in out


# --- the Train page -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang, label", [("en", "Precision"), ("pt-BR", "Precisão")])
def test_the_train_page_passes_the_chosen_precision(tmp_path, monkeypatch, lang, label):
    from lab.ui import session

    monkeypatch.setenv("CNN_LAB_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("CNN_LAB_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("CNN_LAB_TF_PRELOAD", "0")
    folder = make_page_dataset(tmp_path / "data")
    asked = []

    def train_config(spec=None, **settings):
        asked.append(settings)
        raise LabError("not now")

    monkeypatch.setattr(session, "train_config", train_config)
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["lang"] = lang
    at.run()
    at.session_state[session.DATASET] = str(folder)
    at.session_state[session.SPEC] = tiny_spec()
    open_page(at, "train")
    box = at.selectbox(key="train_precision")
    assert box.label == label and box.value == "auto"
    assert list(box.options) == list(speed.PRECISIONS)
    assert "mixed_bfloat16" in box.help and "float32" in box.help
    box.set_value("mixed_bfloat16").run()
    next(b for b in at.button if b.key == "train_start").click().run()
    assert not at.exception
    assert asked and asked[-1]["precision"] == "mixed_bfloat16"
    assert any("not now" in e.value for e in at.error)
