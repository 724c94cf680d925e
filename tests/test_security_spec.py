"""Hostile specs: no code gets into an exported script, every bad spec is one sentence, and a network that
cannot fit in memory is refused before TensorFlow allocates anything.

Every test builds its hostile input itself and runs the real code: real files, the real command line, real
Keras where a model is built.
"""

from __future__ import annotations

import ast
import copy
import inspect
import io
import json
import math
import os
import runpy
import subprocess
import sys
import time
import tokenize

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lab import build, codegen, i18n, presets
from lab.errors import LabError
from lab.shapes import MEMORY_ENV, memory_estimate, memory_limit, size_text, table
from lab.spec import (
    LAYER_TYPES,
    MAX_INT,
    OPTIMIZER_ARGS,
    OPTIMIZER_CLASSES,
    Report,
    adapt,
    check,
    load_text,
    new_layer,
    validate,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def _known_memory(monkeypatch):
    """The tests that need another limit set their own; the rest must not depend on the caller's setting."""
    monkeypatch.delenv(MEMORY_ENV, raising=False)


def recommended() -> dict:
    return presets.load("recommended")


def run_cli(*args, env=None, timeout=120):
    environment = {key: value for key, value in os.environ.items() if key != MEMORY_ENV}
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "lab", *args], capture_output=True, text=True, cwd=ROOT,
                          env=environment, timeout=timeout)


# --- what an exported script may contain -------------------------------------------------------------------------

ALLOWED_CALLS = ({f"layers.{name}" for name in (*LAYER_TYPES, "Input")}
                 | {f"optimizers.{name}" for name in OPTIMIZER_CLASSES.values()}
                 | {f"losses.{name}" for name in codegen.LOSS_CLASSES.values()}
                 | {f"metrics.{name.split('(')[0]}" for name in codegen.METRIC_CLASSES.values()}
                 | {"metrics.SparseTopKCategoricalAccuracy", "metrics.TopKCategoricalAccuracy",
                    "callbacks.EarlyStopping", "callbacks.ModelCheckpoint", "models.Sequential", "Path", "print",
                    "load", "model.compile", "model.evaluate", "model.fit", "model.summary",
                    "tf.keras.utils.image_dataset_from_directory", "train.cache", "val.cache", "?.prefetch",
                    "DATA_DIR.is_dir", "DATA_DIR.iterdir", "p.is_dir", "p.name.startswith", "sorted", "str",
                    "SystemExit"})
ALLOWED_NAMES = {"BATCH_SIZE", "DATA_DIR", "EPOCHS", "IMAGE_SIZE", "Path", "SEED", "SystemExit", "VALIDATION_SPLIT",
                 "__name__", "callbacks", "folder", "folders", "kwargs", "layers", "learn", "load", "losses",
                 "metrics", "model", "models", "monitor", "optimizers", "p", "print", "sorted", "str", "test",
                 "test_loss", "test_metrics", "tf", "train", "val", "val_loss", "val_metrics"}
ALLOWED_IMPORTS = {"from pathlib import Path", "import tensorflow as tf",
                   "from tensorflow.keras import callbacks, layers, losses, metrics, models, optimizers"}


def dotted(node) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{dotted(node.value)}.{node.attr}"
    return "?"


def is_data(node) -> bool:
    """A constant or a tuple/list of constants: what a JSON value becomes."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return is_data(node.operand)
    return isinstance(node, (ast.Tuple, ast.List)) and all(is_data(item) for item in node.elts)


def assert_script_is_safe(script: str) -> ast.Module:
    """The script parses, and holds only the calls, names and imports that the template itself writes."""
    tree = ast.parse(script)
    calls = {dotted(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    assert calls <= ALLOWED_CALLS, calls - ALLOWED_CALLS
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    assert names <= ALLOWED_NAMES, names - ALLOWED_NAMES
    imports = {ast.unparse(node) for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))}
    assert imports == ALLOWED_IMPORTS
    assert not [node for node in ast.walk(tree) if isinstance(node, (ast.Lambda, ast.Subscript, ast.Global))]
    assert not [node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute) and node.attr.startswith("_")]
    assert sum(isinstance(node, ast.FunctionDef) for node in ast.walk(tree)) == 1  # load()
    for node in ast.walk(tree):  # every layer and optimizer argument is plain data with a name Keras knows
        if not isinstance(node, ast.Call):
            continue
        name = dotted(node.func)
        kind = name.split(".")[-1]
        if name.startswith("layers.") and kind in LAYER_TYPES:
            assert not node.args
            assert all(k.arg in LAYER_TYPES[kind].args and is_data(k.value) for k in node.keywords), ast.unparse(node)
        if name.startswith("optimizers."):
            allowed = OPTIMIZER_ARGS[kind.lower()]
            assert not node.args
            assert all(k.arg in allowed and is_data(k.value) for k in node.keywords), ast.unparse(node)
    return tree


def spec_comment(script: str) -> str:
    """The spec name that the script's "# Spec: ..." comment holds, read back as a Python literal."""
    comments = [token.string for token in tokenize.generate_tokens(io.StringIO(script).readline)
                if token.type == tokenize.COMMENT and token.string.startswith("# Spec: ")]
    assert len(comments) == 1
    return ast.literal_eval(comments[0][len("# Spec: "):])


NAME_ATTACKS = [
    'x"""\nimport os; os.system("touch PWNED")\n"""',
    "x'''\n__import__('os').system('touch PWNED')\n'''",
    "x\r__import__('os').system('touch PWNED')",
    "x\u2028__import__('os').system('touch PWNED')",
    "x\x0c\x0b\x1c__import__('os').system('touch PWNED')",
    "trailing backslash \\",
    "\x00\ud800 lone surrogate",
]


def exported_with_name(name: str) -> str:
    """The script of `recommended` named ``name``, checked safe and holding the name as data."""
    spec = recommended()
    spec["name"] = name
    script = codegen.to_script(spec)
    assert_script_is_safe(script)
    assert spec_comment(script) == name
    return script


@pytest.mark.parametrize("name", NAME_ATTACKS)
def test_a_hostile_spec_name_stays_a_comment(name):
    exported_with_name(name).encode("utf-8")  # writable as a file, lone surrogates included


def test_the_exported_script_with_a_hostile_name_runs_nothing(tmp_path, monkeypatch):
    spec = recommended()
    spec["name"] = NAME_ATTACKS[0]
    path = tmp_path / "exported.py"
    path.write_text(codegen.to_script(spec), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    namespace = runpy.run_path(str(path), run_name="exported")  # builds and compiles the real model
    assert not (tmp_path / "PWNED").exists()
    assert namespace["model"].count_params() == table(spec).total_params


def test_the_script_in_portuguese_holds_only_data_too():
    spec = recommended()
    spec["name"] = NAME_ATTACKS[0]
    with i18n.speaking("pt-BR"):
        script = codegen.to_script(spec)
    assert "parâmetros" in script
    assert_script_is_safe(script)
    assert spec_comment(script) == NAME_ATTACKS[0]


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=80))
def test_any_name_is_exported_as_data(name):
    exported_with_name(name)


OPTIMIZER_ATTACKS = [
    {"name": "adam", "x=__import__('os').system('touch PWNED'),y": 1},
    {"name": "adam", "learning_rate": "0.001) or __import__('os').system('touch PWNED'"},
    {"name": "adam)\nimport os\n(", "learning_rate": 0.001},
    {"name": "sgd", "momentum": {"__class__": "x"}},
    {"name": "adam", "clipnorm": "abc"},
    {"name": "adam", "name ": "adam"},
]


@pytest.mark.parametrize("optimizer", OPTIMIZER_ATTACKS)
def test_hostile_optimizer_settings_are_refused_before_any_code_is_written(optimizer):
    spec = recommended()
    spec["compile"]["optimizer"] = optimizer
    found = check(spec).errors
    assert found and all(problem.layer is None for problem in found)
    assert "\n" not in found[0].message and found[0].message.endswith(".")
    with pytest.raises(LabError) as raised:
        codegen.to_script(spec)
    assert str(raised.value) == found[0].message
    with pytest.raises(LabError):
        build.build_model(spec)  # one sentence, never a TypeError from Keras


def test_an_unknown_optimizer_setting_names_what_the_optimizer_takes():
    spec = recommended()
    spec["compile"]["optimizer"] = {"name": "adam", "x=__import__('os').system('touch PWNED'),y": 1}
    message = check(spec).errors[0].message
    assert message.startswith("The Adam optimizer has no setting \"x=__import__('os')")
    assert "learning_rate, " in message and message.endswith("or remove it.")


@pytest.mark.parametrize("layer", [
    {"type": "Dense", "units": 8, "x=__import__('os').system('touch PWNED'),y": 1},
    {"type": "Dense", "units": 8, "activation": "relu'); __import__('os').system('touch PWNED'); ('"},
    {"type": "Dense)\nimport os\n(", "units": 8},
    {"type": "Dropout", "rate": "0.1"},
    {"type": "Rescaling", "scale": {"__reduce__": "os.system"}},
])
def test_hostile_layers_are_refused_before_any_code_is_written(layer):
    spec = recommended()
    spec["layers"].insert(-1, layer)
    report = check(spec)
    assert report.errors and report.errors[0].layer == len(spec["layers"]) - 1
    with pytest.raises(LabError):
        codegen.to_script(spec)


def test_literal_writes_only_data_and_keys_only_identifiers():
    class Sneaky(str):
        def __repr__(self):
            return "__import__('os').system('touch PWNED')"

    assert codegen.literal(Sneaky("same")) == "'same'"
    assert codegen.literal([1, [2.5, None], True, "a'\"b"]) == "(1, (2.5, None), True, 'a\\'\"b')"
    assert ast.literal_eval(codegen.literal(["x'''\n\"\"\"", -3, 1e-7])) == ("x'''\n\"\"\"", -3, 1e-7)
    for bad in (float("nan"), float("inf"), {"a": 1}, object(), b"bytes"):
        with pytest.raises(LabError):
            codegen.literal(bad)
    for key in ("x=1), print(1", "import", "a b", "ａ", "", 3, "__import__('os')"):
        with pytest.raises(LabError):
            codegen.keyword_argument(key, 1)
    assert codegen.keyword_argument("units", 3) == "units=3"


def test_to_script_refuses_code_in_epochs_and_batch_size():
    spec = recommended()
    with pytest.raises(LabError, match="Epochs"):
        codegen.to_script(spec, epochs="1\nimport os")
    with pytest.raises(LabError, match="batch size"):
        codegen.to_script(spec, batch_size="32; import os")
    script = codegen.to_script(spec, data_dir="x')\nimport os\n('", epochs=3, batch_size=16)
    tree = assert_script_is_safe(script)
    data_dir = next(node.value for node in tree.body if isinstance(node, ast.Assign)
                    and dotted(node.targets[0]) == "DATA_DIR")
    assert ast.literal_eval(data_dir.args[0]) == "x')\nimport os\n('"


def test_cli_export_code_writes_a_hostile_name_as_data(tmp_path):
    spec = recommended()
    spec["name"] = NAME_ATTACKS[0]
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    result = run_cli("export-code", str(path))
    assert result.returncode == 0, result.stderr
    assert_script_is_safe(result.stdout)
    assert spec_comment(result.stdout) == NAME_ATTACKS[0]


def test_cli_export_code_refuses_a_hostile_optimizer_key(tmp_path):
    spec = recommended()
    spec["compile"]["optimizer"] = OPTIMIZER_ATTACKS[0]
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    result = run_cli("export-code", str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: The Adam optimizer has no setting")
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "PWNED").exists()


def test_a_spec_name_keras_refuses_still_builds():
    spec = recommended()
    spec["name"] = "a/b " + NAME_ATTACKS[0]
    model = build.build_model(spec, compile=False)
    assert "/" not in model.name and model.count_params() == table(spec).total_params


# --- the optimizer table follows Keras ---------------------------------------------------------------------------

def test_the_optimizer_table_matches_the_real_keras_signatures():
    keras = pytest.importorskip("tensorflow").keras
    for name, class_name in OPTIMIZER_CLASSES.items():
        parameters = inspect.signature(getattr(keras.optimizers, class_name)).parameters
        real = {key for key, p in parameters.items() if p.kind is not p.VAR_KEYWORD and key != "name"}
        assert set(OPTIMIZER_ARGS[name]) == real, (class_name, set(OPTIMIZER_ARGS[name]) ^ real)
        for key, parameter in parameters.items():
            if key not in real:
                continue
            arg, default = OPTIMIZER_ARGS[name][key], parameter.default
            assert arg.check(default) is None, (class_name, key, default)  # Keras's own default passes
            if isinstance(default, float):
                assert arg.real, (class_name, key)  # Keras wants a float: ints from JSON are converted
            if isinstance(default, bool):
                assert arg.check(not default) is None and arg.check(1) is not None


@pytest.mark.parametrize("name", sorted(OPTIMIZER_ARGS))
def test_every_setting_the_table_allows_builds_in_keras(name):
    keras = pytest.importorskip("tensorflow").keras
    samples = {"learning_rate": 1, "momentum": 0, "beta_1": 0, "beta_2": 0, "rho": 0, "epsilon": 1,
               "weight_decay": 0, "initial_accumulator_value": 0, "ema_momentum": 0, "loss_scale_factor": 2,
               "gradient_accumulation_steps": 2, "ema_overwrite_frequency": 3}
    for key, arg in OPTIMIZER_ARGS[name].items():
        value = samples.get(key, True if arg.check(True) is None else 1)
        settings_ = {"name": name, key: value}
        spec = recommended()
        spec["compile"]["optimizer"] = settings_
        assert check(spec).ok, (name, key, check(spec).errors)
        optimizer = build.make_optimizer(settings_)  # ints where Keras wants floats are converted
        assert isinstance(optimizer, getattr(keras.optimizers, OPTIMIZER_CLASSES[name]))


def test_two_clipping_settings_are_one_sentence_not_a_keras_error():
    spec = recommended()
    spec["compile"]["optimizer"] = {"name": "adam", "clipnorm": 1.0, "clipvalue": 0.5}
    assert check(spec).errors[0].message == ("The optimizer sets clipnorm and clipvalue; Keras takes only one of "
                                             "clipnorm, clipvalue, global_clipnorm, so keep one.")


# --- one sentence, never a traceback -----------------------------------------------------------------------------

def _with(change):
    def make() -> bytes:
        spec = recommended()
        change(spec)
        return json.dumps(spec).encode()
    return make


def _set(path, value):
    def change(spec):
        node = spec
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return change


BAD_FILES = {
    "metrics-5": _with(_set(["compile", "metrics"], 5)),
    "compile-string": _with(_set(["compile"], "adam")),
    "compile-null": _with(_set(["compile"], None)),
    "optimizer-5": _with(_set(["compile", "optimizer"], 5)),
    "optimizer-list": _with(_set(["compile", "optimizer"], ["adam", 0.001])),
    "clipnorm-abc": _with(_set(["compile", "optimizer", "clipnorm"], "abc")),
    "type-list": _with(_set(["layers", 2, "type"], ["Conv2D"])),
    "type-object": _with(_set(["layers", 2, "type"], {"Conv2D": 1})),
    "layer-string": _with(_set(["layers", 2], "Conv2D")),
    "name-number": _with(_set(["name"], 5)),
    "name-huge": _with(_set(["name"], "x" * 300_000)),
    "units-10e12": _with(_set(["layers", 8, "units"], 10**12)),
    "deep": lambda: b"[" * 100_000 + b"]" * 100_000,
    "deep-objects": lambda: b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    "latin-1": lambda: json.dumps({**recommended(), "name": "Café"}, ensure_ascii=False).encode("latin-1"),
    "not-json": lambda: b"input_shape: [28, 28, 1]\nlayers: [Conv2D]\n",
    "empty": lambda: b"",
    "huge": lambda: b" " * 2_000_000 + json.dumps(recommended()).encode(),
    "nan": lambda: json.dumps(recommended()).replace("0.001", "NaN").encode(),
    "long-int": lambda: json.dumps(recommended()).replace('"filters": 32', '"filters": ' + "9" * 5000).encode(),
    "array": lambda: b"[1, 2, 3]",
}


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad_specs")
    paths = {}
    for name, make in BAD_FILES.items():
        paths[name] = folder / f"{name}.json"
        paths[name].write_bytes(make())
    return paths


def assert_one_sentence(message: str):
    assert "\n" not in message and "Traceback" not in message
    assert 20 < len(message) < 600, message
    assert message[0].isupper() or message.startswith(("bad.json", "/")), message


@pytest.mark.parametrize("name", sorted(BAD_FILES))
@pytest.mark.parametrize("command", ["shapes", "export-code"])
def test_cli_gives_one_sentence_for_a_bad_spec_file(bad_files, name, command):
    started = time.monotonic()
    result = run_cli(command, str(bad_files[name]))
    assert time.monotonic() - started < 30
    assert result.returncode == 2, (result.stdout[:300], result.stderr[-500:])
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr[-1500:]
    assert_one_sentence(lines[0][len("error: "):])


def test_cli_gives_one_sentence_for_a_path_too_long_for_the_file_system():
    result = run_cli("shapes", "a" * 5000)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: 'aaaa") and result.stderr.rstrip().endswith("check the name.")
    assert len(result.stderr.splitlines()) == 1 and len(result.stderr) < 300


@pytest.mark.parametrize("name", ["metrics-5", "type-list", "deep", "latin-1"])
def test_cli_train_gives_one_sentence_for_a_bad_spec_file(bad_files, name, tmp_path):
    data = tmp_path / "data"
    for label in ("a", "b"):
        (data / label).mkdir(parents=True)
    result = run_cli("train", "--spec", str(bad_files[name]), "--data", str(data), "--runs", str(tmp_path / "runs"))
    assert result.returncode == 2, result.stderr[-1500:]
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and result.stderr.strip().splitlines()[-1] == errors[0], result.stderr[-1500:]
    assert_one_sentence(errors[0][len("error: "):])
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_the_page_upload_gives_one_sentence(bad_files, name):
    from lab.ui.architecture import parse_spec

    with pytest.raises(LabError) as raised:
        parse_spec(bad_files[name].read_bytes(), "bad.json")
    assert str(raised.value).startswith("bad.json ")
    assert_one_sentence(str(raised.value))


def test_load_text_is_the_one_reader_and_keeps_good_specs():
    spec = recommended()
    text = json.dumps(spec)
    assert load_text(text) == spec
    assert load_text(text.encode()) == spec
    assert load_text(b"\xef\xbb\xbf" + text.encode()) == spec  # a UTF-8 byte-order mark is fine
    with pytest.raises(LabError, match=r"^The spec is not valid JSON \(Infinity is not a JSON number\)"):
        load_text('{"a": Infinity}')
    with pytest.raises(LabError, match=r"^mine\.json is not a text file in UTF-8 \(byte 14 "):
        load_text('{"name": "Café"}'.encode("latin-1"), "mine.json")


# --- check() takes anything ----------------------------------------------------------------------------------------

def kitchen_sink() -> dict:
    """A valid spec with every layer type, so the fuzzing reaches every argument check."""
    layers = [{"type": "Resizing", "height": 28, "width": 28}, {"type": "Rescaling", "scale": 1 / 255}]
    layers += [new_layer(name) for name in ("RandomRotation", "RandomFlip", "RandomTranslation", "RandomZoom",
                                            "Conv2D", "BatchNormalization", "MaxPooling2D", "AveragePooling2D",
                                            "Dropout")]
    layers += [{"type": "Conv2D", "filters": 4, "kernel_size": 3, "dilation_rate": 2, "padding": "same"},
               {"type": "GlobalAveragePooling2D", "keepdims": True}, {"type": "Flatten"},
               {"type": "Dense", "units": 16, "activation": "relu", "use_bias": False},
               {"type": "Dense", "units": 10, "activation": "softmax"}]
    return {"name": "sink", "description": "every layer", "input_shape": [28, 28, 1], "layers": layers,
            "compile": {"optimizer": {"name": "sgd", "learning_rate": 0.01, "momentum": 0.9, "nesterov": True},
                        "loss": "sparse_categorical_crossentropy", "metrics": ["accuracy", "top_3_accuracy"],
                        "jit_compile": False}}


BASES = [kitchen_sink(), *(presets.load(name) for name in presets.names())]
KNOWN_KEYS = sorted({"type", "name", "description", "input_shape", "layers", "compile", "optimizer", "loss",
                     "metrics", "jit_compile"} | {arg for kind in LAYER_TYPES.values() for arg in kind.args}
                    | {arg for args in OPTIMIZER_ARGS.values() for arg in args})
WORDS = sorted({*LAYER_TYPES, *OPTIMIZER_ARGS, "same", "valid", "relu", "softmax", "accuracy", "precision",
                "sparse_categorical_crossentropy", "binary_crossentropy", "horizontal", "nearest", "he_normal"})

json_leaves = (st.none() | st.booleans() | st.integers() | st.sampled_from([0, 1, 2, -1, 10**9, 2**31, 2**63,
                                                                              10**400, -(10**400)])
               | st.floats() | st.text(max_size=20) | st.sampled_from(WORDS))
json_values = st.recursive(json_leaves, lambda children: st.lists(children, max_size=4)
                           | st.dictionaries(st.text(max_size=10) | st.sampled_from(KNOWN_KEYS), children, max_size=4),
                           max_leaves=12)
POOL = [0, 1, 2, 3, 5, 0.0, 0.5, -0.5, 0.9, 1.0, 1e-3, [1, 1], [2, 3], [3, 1], [-0.2, 0.3], 0.2, True, False, None,
        "same", "valid", "relu", "softmax", "nearest", "bilinear", "horizontal", "constant", "he_normal", "zeros"]
plausible_values = (st.sampled_from(POOL) | st.sampled_from(POOL) | st.none() | st.booleans() | st.integers(-2, 40)
                    | st.floats(-1.5, 1.5) | st.sampled_from(WORDS)
                    | st.lists(st.integers(-1, 6), min_size=1, max_size=3)
                    | st.lists(st.floats(-1, 1), min_size=2, max_size=2))


def spots(spec) -> list[tuple]:
    """Every (container, key) pair of a spec, the root included as (None, None)."""
    found, stack = [(None, None)], [spec]
    while stack:
        node = stack.pop()
        pairs = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
        for key, child in pairs:
            found.append((node, key))
            stack.append(child)
    return found


@st.composite
def mutated_specs(draw, values):
    spec = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(1, 3))):
        container, key = draw(st.sampled_from(spots(spec)))
        value = draw(values)
        if container is None:
            if draw(st.integers(0, 9)) == 0:
                spec = value
            continue
        if isinstance(container, dict) and draw(st.booleans()):
            key = draw(st.sampled_from(KNOWN_KEYS) | st.text(max_size=8))
        container[key] = value
    return spec


@st.composite
def argument_changes(draw):
    """A valid base spec with one or two arguments (a layer's, the optimizer's, the compile settings') changed
    to plausible values: many of these pass check, so the build below gets exercised."""
    spec = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(1, 2))):
        where = draw(st.sampled_from(["layer", "layer", "layer", "optimizer", "compile"]))
        if where == "layer":
            layer = draw(st.sampled_from(spec["layers"]))
            names = list(LAYER_TYPES[layer["type"]].args)
            if not names:
                continue
            layer[draw(st.sampled_from(names))] = draw(plausible_values)
        elif where == "optimizer":
            optimizer = spec["compile"]["optimizer"]
            optimizer[draw(st.sampled_from(sorted(OPTIMIZER_ARGS[optimizer["name"]])))] = draw(plausible_values)
        else:
            key = draw(st.sampled_from(["loss", "metrics", "jit_compile"]))
            spec["compile"][key] = draw(st.sampled_from([
                *(["accuracy", name] for name in ("precision", "auc", "top_5_accuracy", "binary_accuracy")),
                "binary_crossentropy", "categorical_crossentropy", False]))
    return spec


@pytest.mark.parametrize("kind", ["\n", "Conv2D\n", "\x1b[31m", "tab\there"])
def test_a_layer_type_with_control_characters_is_named_on_one_line(kind):
    spec = {"name": "x", "input_shape": [28, 28, 1],
            "layers": [{"type": "Flatten"}, {"type": kind}, {"type": "Dense", "units": 10, "activation": "softmax"}],
            "compile": {"optimizer": {"name": "adam", "learning_rate": 0.001},
                        "loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]}}
    messages = [problem.message for problem in check(spec).errors]
    assert any("unknown layer type" in message for message in messages), messages
    assert all(message.isprintable() for message in messages), messages


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_specs(json_values))
def test_check_never_raises_on_any_json_anywhere(spec):
    report = check(spec)
    assert isinstance(report, Report)
    for problem in report.errors + report.warnings:
        assert isinstance(problem.message, str) and "\n" not in problem.message, problem
        assert len(problem.message) < 600, problem.message
        assert problem.layer is None or isinstance(problem.layer, int)
    try:
        validate(spec)
    except LabError as error:
        assert str(error) == report.errors[0].message
    else:
        assert report.ok
    if isinstance(spec, dict):
        adapt(spec, (32, 32, 3), 5)  # the page adapts an upload before checking it


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(argument_changes())
def test_a_spec_check_accepts_builds_in_keras_and_exports_safely(spec):
    pytest.importorskip("tensorflow")
    if not check(spec).ok:
        return
    try:
        model = build.build_model(spec)
    except LabError as error:  # the one refusal build keeps: training swaps the loss for these metrics
        assert "needs one-hot labels" in str(error)
    else:
        assert model.count_params() == table(spec).total_params
    assert_script_is_safe(codegen.to_script(spec))


# --- memory: refused with the figure, before TensorFlow allocates ---------------------------------------------------

def absurd() -> dict:
    return {"input_shape": [60000, 60000, 3],
            "layers": [{"type": "Conv2D", "filters": 10**9, "kernel_size": 3},
                       {"type": "Flatten"}, {"type": "Dense", "units": 10, "activation": "softmax"}]}


def test_absurd_sizes_are_refused_at_once_with_the_figure():
    started = time.monotonic()
    report = check(absurd())
    assert time.monotonic() - started < 1
    limit = memory_limit()[0]
    assert report.errors[0].layer == 1
    assert report.errors[0].message == (
        "The network needs more than a billion GB of memory to train with batches of 32 (Layer 1 (Conv2D) alone "
        f"outputs {59998 * 59998 * 10**9:,} values per image); this machine has {size_text(limit)}; use fewer "
        "filters, smaller images or a smaller batch size.")
    estimate = memory_estimate(absurd(), 32)
    assert estimate.total_bytes > 59998 * 59998 * 10**9 * 32 * 4  # exact integers, no overflow


def test_the_memory_refusal_speaks_portuguese(monkeypatch):
    monkeypatch.setenv(MEMORY_ENV, "1000")
    with i18n.speaking("pt-BR"):
        message = check(absurd()).errors[0].message
    assert message.startswith("A rede precisa de mais de um bilhão de GB de memória para treinar com lotes de 32 "
                              "(só a Camada 1 (Conv2D) produz ")
    assert message.endswith("; CNN_LAB_MEMORY_LIMIT_MB permite 1,0 GB; use menos filtros, imagens menores ou um "
                            "tamanho de lote (batch_size) menor.")


def test_sizes_beyond_32_bits_are_refused_by_name():
    spec = recommended()
    spec["layers"][-2]["units"] = 10**12
    assert check(spec).errors[0].message == ("Layer 9 (Dense): units must be at most 2,147,483,647, "
                                             "not 1,000,000,000,000.")
    spec = recommended()
    spec["input_shape"] = [2**40, 28, 1]
    assert check(spec).errors[0].message.startswith("The input shape must be [height, width, channels]")


def test_a_dense_layer_too_big_for_the_limit_names_its_parameters(monkeypatch):
    monkeypatch.setenv(MEMORY_ENV, "1000")
    spec = recommended()
    spec["layers"][-2]["units"] = 2_000_000
    params = 7 * 7 * 64 * 2_000_000 + 2_000_000
    assert table(spec).rows[-2].params == params
    message = check(spec).errors[0].message
    assert message.startswith("The network needs about ")
    assert f"(Layer 9 (Dense) alone has {params:,} parameters); CNN_LAB_MEMORY_LIMIT_MB allows 1.0 GB; use fewer " \
           "filters or units." in message
    needed = float(message.split("about ")[1].split(" GB")[0].replace(",", ""))
    assert needed * 1e9 >= params * 4 * 4  # weights, gradients and two optimizer slots at least
    with pytest.raises(LabError, match="memory"):
        build.build_model(spec)  # refused before Keras makes a single weight


def test_the_default_limit_is_this_machines_memory():
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    limit, whose = memory_limit()
    assert 0 < limit <= total and whose == "machine"
    spec = recommended()
    spec["layers"][-2]["units"] = min(MAX_INT, limit // (16 * 3136) * 2 + 1)
    message = check(spec).errors[0].message
    assert f"; this machine has {size_text(limit)}; use fewer filters or units." in message
    assert check(recommended()).ok


def test_the_limit_depends_on_the_batch_size(monkeypatch):
    monkeypatch.setenv(MEMORY_ENV, "200")
    spec = recommended()
    assert check(spec).ok and check(spec, batch_size=64).ok
    report = check(spec, batch_size=4096)
    assert "to train with batches of 4096" in report.errors[0].message
    assert report.errors[0].message.endswith("use fewer filters, smaller images or a smaller batch size.")
    small, large = memory_estimate(spec, 32), memory_estimate(spec, 64)
    assert large.weight_bytes == small.weight_bytes
    assert large.activation_bytes == 2 * small.activation_bytes


@pytest.mark.parametrize("value", ["abc", "-5", "0", "1.5"])
def test_a_bad_memory_override_is_one_sentence(monkeypatch, value):
    monkeypatch.setenv(MEMORY_ENV, value)
    message = check(recommended()).errors[0].message
    assert message == (f"CNN_LAB_MEMORY_LIMIT_MB must be a whole number of megabytes such as 8000, not {value!r}; "
                       "fix it or unset it.")


def test_cli_shapes_refuses_absurd_sizes_quickly(tmp_path):
    path = tmp_path / "absurd.json"
    path.write_text(json.dumps(absurd()))
    result = run_cli("shapes", str(path), timeout=30)
    assert result.returncode == 2
    assert result.stderr.startswith("error: The network needs more than a billion GB of memory")
    assert len(result.stderr.splitlines()) == 1


def test_cli_train_refuses_a_batch_that_cannot_fit_before_loading_anything(tmp_path):
    data = tmp_path / "data"
    for label in ("a", "b"):
        (data / label).mkdir(parents=True)
    result = run_cli("train", "--spec", "recommended", "--data", str(data), "--batch-size", "4096",
                     "--runs", str(tmp_path / "runs"), env={MEMORY_ENV: "200"})
    assert result.returncode == 2, result.stderr[-1500:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: The network needs about ") and "batches of 4096" in last, result.stderr[-1500:]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_memory_estimate_counts_every_layer():
    spec = recommended()
    rows = table(spec).rows
    estimate = memory_estimate(spec, 10)
    assert estimate.weight_bytes == sum(row.params for row in rows) * 16
    values = 28 * 28 * 1 + sum(math.prod(row.output_shape) for row in rows)
    assert estimate.activation_bytes == values * 10 * 12
    assert estimate.largest.type in ("Dense", "Conv2D")
