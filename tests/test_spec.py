"""Validation: every error names the layer, the argument and the fix; suspicious choices only warn."""

import copy
import subprocess
import sys

import pytest

from lab import i18n, presets
from lab.errors import LabError
from lab.shapes import table
from lab.spec import LAYER_TYPES, adapt, check, load_text, new_layer, validate


def base(*layers, input_shape=(28, 28, 1)):
    head = {"type": "Dense", "units": 24, "activation": "softmax"}
    return {"input_shape": list(input_shape), "layers": [*layers, head],
            "compile": {"optimizer": {"name": "adam", "learning_rate": 0.001},
                        "loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]}}


RESCALE = {"type": "Rescaling", "scale": 1 / 255}
FLAT = {"type": "Flatten"}


def errors(spec):
    return [problem.message for problem in check(spec).errors]


def test_presets_are_valid():
    for name in presets.names():
        assert check(presets.load(name)).ok, name


def test_the_pool_that_does_not_fit_is_named_with_its_fix():
    spec = base(RESCALE, {"type": "Conv2D", "filters": 4, "kernel_size": 3, "padding": "valid"},
                {"type": "MaxPooling2D", "pool_size": 13}, {"type": "MaxPooling2D", "pool_size": 3}, FLAT)
    assert errors(spec) == ["Layer 4 (MaxPooling2D): pool 3×3 does not fit a 2×2 input with padding 'valid'; "
                            "use padding 'same' or a smaller pool."]
    spec["layers"][3]["padding"] = "same"
    assert errors(spec) == []


@pytest.mark.parametrize("layer, words", [
    ({"type": "Conv2D", "filters": 0, "kernel_size": 3}, ["Layer 2 (Conv2D)", "filters", "1 or more"]),
    ({"type": "Conv2D", "filters": 8, "kernel_size": 3, "strides": 0}, ["Layer 2 (Conv2D)", "strides"]),
    ({"type": "Conv2D", "filters": 8, "kernel_size": [3, 0]}, ["kernel_size"]),
    ({"type": "Conv2D", "filters": 8, "kernel_size": 29}, ["kernel 29×29 does not fit a 28×28 input"]),
    ({"type": "Conv2D", "filters": 8, "kernel_size": 3, "padding": "full"}, ["padding", "'valid', 'same'"]),
    ({"type": "Conv2D", "filters": 8}, ["'kernel_size' is missing"]),
    ({"type": "Conv2D", "filters": 8, "kernel_size": 3, "kernal": 3}, ["unknown argument 'kernal'"]),
    ({"type": "Dropout", "rate": 1.0}, ["Layer 2 (Dropout)", "rate", "up to (but not including) 1"]),
    ({"type": "Dropout", "rate": -0.1}, ["rate"]),
    ({"type": "Dense", "units": 0}, ["Layer 2 (Dense)", "units"]),
    ({"type": "Conv3D", "filters": 3}, ["unknown layer type 'Conv3D'"]),
    ({"type": "RandomRotation", "factor": 2}, ["factor", "−1 and 1"]),
])
def test_bad_arguments_are_refused_by_name(layer, words):
    spec = base(RESCALE, layer, FLAT)
    found = errors(spec)
    assert found, f"{layer} was accepted"
    assert all(word in found[0] for word in words), found[0]
    with pytest.raises(LabError) as raised:
        validate(spec)
    assert str(raised.value) == found[0]


def test_image_layer_after_flatten_is_an_error():
    spec = base(RESCALE, FLAT, {"type": "Conv2D", "filters": 8, "kernel_size": 3})
    assert "move it before Flatten" in errors(spec)[0]


def test_head_on_a_3d_tensor_needs_flatten():
    spec = base(RESCALE, {"type": "Conv2D", "filters": 8, "kernel_size": 3})
    assert errors(spec) == ["Layer 3 (Dense): the head gets a 3-D tensor [26, 26, 8]; add Flatten or "
                            "GlobalAveragePooling2D before it."]


def test_head_must_be_dense():
    spec = base(RESCALE, FLAT)
    spec["layers"].append({"type": "Dropout", "rate": 0.1})
    assert "must be Dense" in errors(spec)[0]


def test_compile_settings_are_checked():
    spec = base(RESCALE, FLAT)
    spec["compile"]["optimizer"] = {"name": "nadamax", "learning_rate": -1}
    spec["compile"]["metrics"] = ["accuracy", "kappa"]
    found = errors(spec)
    assert any("Optimizer 'nadamax'" in message for message in found)
    assert any("learning rate" in message for message in found)
    assert any("Metric 'kappa'" in message for message in found)


def test_suspicious_choices_warn_but_pass():
    spec = base({"type": "Conv2D", "filters": 8, "kernel_size": 3},
                {"type": "Dense", "units": 4, "activation": "relu"}, FLAT)
    report = check(spec)
    assert report.ok
    messages = [w.message for w in report.warnings]
    assert any("raw pixels" in m and m.startswith("Layer 1 (Conv2D)") for m in messages)
    assert any(m.startswith("Layer 2 (Dense) is applied to every pixel") for m in messages)


def test_rescaling_silences_the_raw_pixel_warning():
    spec = base(RESCALE, {"type": "Conv2D", "filters": 8, "kernel_size": 3}, FLAT)
    assert not check(spec).warnings


def test_every_layer_type_starts_valid():
    for name in LAYER_TYPES:
        layer = new_layer(name)
        spec = base(RESCALE, layer, FLAT) if name != "Flatten" else base(RESCALE, FLAT)
        if name == "GlobalAveragePooling2D":
            spec = base(RESCALE, layer)
        assert check(spec).ok, (name, errors(spec))


def test_adapt_follows_the_dataset_and_says_so():
    spec = presets.load("recommended")
    original = copy.deepcopy(spec)
    adapted, notes = adapt(spec, input_shape=(32, 32, 3), num_classes=10)
    assert spec == original
    assert adapted["input_shape"] == [32, 32, 3]
    assert adapted["layers"][-1]["units"] == 10
    assert len(notes) == 2 and "10 units" in notes[1]
    assert adapt(adapted, (32, 32, 3), 10)[1] == []


def test_core_modules_do_not_import_tensorflow():
    code = ("import sys, lab.spec, lab.shapes, lab.presets, lab.codegen, lab.cli;"
            "from lab import presets, shapes, codegen; s = presets.load('recommended');"
            "shapes.table(s); codegen.to_script(s); assert 'tensorflow' not in sys.modules, 'tf imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_problems_come_out_in_portuguese():
    pool = base(RESCALE, {"type": "Conv2D", "filters": 4, "kernel_size": 3, "padding": "valid"},
                {"type": "MaxPooling2D", "pool_size": 13}, {"type": "MaxPooling2D", "pool_size": 3}, FLAT)
    zero = base(RESCALE, {"type": "Conv2D", "filters": 0, "kernel_size": 3}, FLAT)
    raw = base({"type": "Conv2D", "filters": 8, "kernel_size": 3}, FLAT)
    with i18n.speaking("pt-BR"):
        assert errors(pool) == ["Camada 4 (MaxPooling2D): a janela de pooling 3×3 não cabe em uma entrada 2×2 com "
                                "padding 'valid'; use padding 'same' ou uma janela menor."]
        assert errors(zero) == ["Camada 2 (Conv2D): o argumento filters deve ser um número inteiro de 1 ou mais, "
                                "não 0."]
        assert [w.message for w in check(raw).warnings] == [
            "Camada 1 (Conv2D) recebe os pixels brutos (0–255): adicione Rescaling(1/255) antes dela, senão o "
            "modelo pode não aprender."]
        with pytest.raises(LabError, match="^Camada 2 \\(Conv2D\\): o argumento filters deve ser"):
            validate(zero)
        with pytest.raises(LabError, match="^A especificação não é um JSON válido \\(linha 1, coluna 2"):
            load_text("{oops")
        _, notes = adapt(presets.load("recommended"), input_shape=(32, 32, 3), num_classes=10)
        assert notes[1] == "A camada de saída agora tem 10 neurônios, um por classe do conjunto de dados (antes: 24)."
    assert errors(zero)[0].startswith("Layer 2 (Conv2D): filters must be")  # and back in English outside


def test_shape_formulas_come_out_in_portuguese():
    spec = base(RESCALE, {"type": "Conv2D", "filters": 10, "kernel_size": 3}, FLAT)
    with i18n.speaking("pt-BR"):
        rows = table(spec).rows
    assert rows[0].formula == "não muda; sem parâmetros"
    assert rows[1].formula == "H, W: ⌊(28 − 3) / 1⌋ + 1 = 26; parâmetros: 3·3·1·10 + 10 = 100"
    assert rows[3].shape_formula == "24 neurônios"
    assert table(spec).rows[0].formula == "unchanged; no parameters"


def test_preset_descriptions_follow_the_language():
    english = presets.describe("seed-first")
    assert english.startswith("The notes' first model") and presets.load("seed-first")["description"] == english
    with i18n.speaking("pt-BR"):
        assert presets.describe("seed-first").startswith("O primeiro modelo das notas")
        assert presets.load("recommended")["description"].startswith("Uma CNN pequena")
        with pytest.raises(LabError, match="^Não existe um preset chamado 'nope'"):
            presets.load("nope")
