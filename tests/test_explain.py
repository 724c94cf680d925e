"""Inside the network (lab.explain, `lab explain`): feature maps, filters, saliency and augmentation on real Keras
models and real runs trained here on a tiny dataset."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image
from ui_support import CLASSES, make_dataset, square_image, stripes_image, tiny_spec, train_run

from lab import explain, i18n, presets
from lab.build import build_model
from lab.cli import main
from lab.errors import LabError
from lab.shapes import table
from lab.train import runs
from lab.train.job import Job, TrainConfig

PRESETS = ("seed-first", "seed-improved", "recommended")


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("explain"), train=16, test=4)


@pytest.fixture(scope="module")
def tiny_run(data, tmp_path_factory) -> Path:
    return train_run(data, tmp_path_factory.mktemp("runs"), epochs=2, name="tiny")


@pytest.fixture(scope="module")
def preset_runs(data, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("preset-runs")
    found = {}
    for name in PRESETS:
        config = TrainConfig(data_path=str(data), spec=presets.load(name), epochs=1, batch_size=8,
                             runs_root=str(root), name=name, early_stopping=None)
        snap = Job(config).run()
        assert snap.status == "finished", snap.error or snap.messages
        found[name] = Path(snap.run_dir)
    return found


@pytest.fixture
def image_file(tmp_path) -> Path:
    path = tmp_path / "stripes.png"
    Image.fromarray(stripes_image(np.random.default_rng(5))).save(path)
    return path


def shape_rows(spec: dict) -> dict[int, tuple]:
    return {row.index: (row.type, row.output_shape) for row in table(spec).rows
            if row.type in explain.MAP_TYPES}


def test_feature_maps_cover_every_conv_and_pooling_layer_with_the_shape_tables_shapes():
    spec = presets.load("recommended")
    model = build_model(spec, seed=3, compile=False)
    x = np.random.default_rng(0).uniform(0, 255, (1, 28, 28, 1)).astype("float32")
    found = explain.feature_maps(model, x)
    assert {m.index: (m.type, m.output_shape) for m in found} == shape_rows(spec)
    assert [m.index for m in found] == [3, 4, 5, 6]
    for maps in found:
        plain = keras.Model(model.inputs[0], model.layers[maps.index - 1].output)
        expected = np.asarray(plain(x, training=False))[0]
        assert maps.maps.shape == maps.output_shape == expected.shape and maps.maps.dtype == np.float32
        np.testing.assert_allclose(maps.maps, expected, rtol=1e-5, atol=1e-6)
        assert maps.low == pytest.approx(float(expected.min())) and maps.high == pytest.approx(float(expected.max()))
        assert maps.high > maps.low


def test_feature_maps_of_a_trained_run_follow_its_spec(tiny_run):
    model = runs.load_run(tiny_run).load_model()
    spec = runs.read_json(tiny_run / runs.SPEC)
    x = stripes_image(np.random.default_rng(1))[None, ..., None].astype("float32")
    found = explain.feature_maps(model, x)
    assert {m.index: (m.type, m.output_shape) for m in found} == shape_rows(spec) == {
        2: ("Conv2D", (28, 28, 4)), 3: ("MaxPooling2D", (14, 14, 4))}
    np.testing.assert_allclose(found[1].maps, found[0].maps.reshape(14, 2, 14, 2, 4).max(axis=(1, 3)), rtol=1e-6)


def test_filters_are_each_conv2d_kernel():
    model = build_model(presets.load("recommended"), seed=3, compile=False)
    found = explain.filters(model)
    assert [(f.index, f.kernels.shape) for f in found] == [(3, (3, 3, 1, 32)), (5, (3, 3, 32, 64))]
    np.testing.assert_array_equal(found[1].kernels, np.asarray(model.layers[4].kernel))


def test_a_run_keeps_its_first_weights_and_they_differ_from_the_trained_ones(tiny_run):
    assert (tiny_run / runs.FIRST_WEIGHTS).is_file()
    first = explain.first_filters(tiny_run)
    trained = explain.filters(runs.load_run(tiny_run).load_model())
    assert [(f.index, f.kernels.shape) for f in first] == [(f.index, f.kernels.shape) for f in trained]
    assert [f.index for f in first] == [2]
    assert not np.allclose(first[0].kernels, trained[0].kernels)
    assert np.abs(first[0].kernels - trained[0].kernels).max() > 1e-3


def test_first_filters_is_none_for_a_run_without_first_weights(tiny_run, tmp_path):
    (tmp_path / runs.SPEC).write_text((tiny_run / runs.SPEC).read_text())
    assert explain.first_filters(tmp_path) is None


# --- saliency ---------------------------------------------------------------------------------------------------

def half_detector():
    """A hand-set network: filter 0 answers horizontal stripes, filter 1 the inside of a bright square; the head
    reads "stripes" from filter 0 and "square" from filter 1, wherever in the picture they are."""
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Rescaling(1 / 255),
                              keras.layers.Conv2D(2, 3, padding="same", activation="relu"),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(2, activation="softmax")])
    kernel = np.zeros((3, 3, 1, 2), np.float32)
    kernel[:, :, 0, 0] = [[-1, -1, -1], [2, 2, 2], [-1, -1, -1]]
    kernel[:, :, 0, 1] = 1 / 9
    model.layers[1].set_weights([kernel, np.array([0.0, -0.7], np.float32)])
    model.layers[3].set_weights([np.array([[0, 20], [20, 0]], np.float32), np.zeros(2, np.float32)])
    return model  # class 0 is "square", class 1 "stripes"


def two_halves(square_left: bool) -> np.ndarray:
    rng = np.random.default_rng(2)
    square, stripes = square_image(rng)[:, 7:21], stripes_image(rng)[:, 7:21]
    halves = (square, stripes) if square_left else (stripes, square)
    return np.concatenate(halves, axis=1)[None, ..., None].astype("float32")


@pytest.mark.parametrize("square_left", [True, False])
def test_gradcam_points_to_the_half_that_decides_the_class(square_left):
    model = half_detector()
    x = two_halves(square_left)
    square_half, stripes_half = (slice(0, 14), slice(14, 28)) if square_left else (slice(14, 28), slice(0, 14))
    for class_index, decisive, other in ((0, square_half, stripes_half), (1, stripes_half, square_half)):
        found = explain.saliency(model, x, class_index)
        assert found.class_index == class_index and found.layer_index == 2
        assert found.gradcam.shape == (28, 28) and found.gradcam.max() == pytest.approx(1.0)
        assert found.gradcam.min() >= 0
        assert found.gradcam[:, decisive].sum() > 3 * found.gradcam[:, other].sum()


def test_the_gradient_map_is_nonzero_exactly_where_the_input_matters():
    model = half_detector()
    x = two_halves(square_left=True)
    found = explain.saliency(model, x, 0)  # "square": only the square's inside moves its score
    assert found.gradient.shape == (28, 28) and found.gradient.max() == pytest.approx(1.0)
    inside = np.argwhere(x[0, :, :14, 0] > 0)
    top, left = inside.min(axis=0)
    bottom, right = inside.max(axis=0)
    assert found.gradient[top + 2:bottom - 1, left + 2:right - 1].min() > 0
    assert found.gradient[:, 16:].max() == 0


def test_saliency_without_a_conv2d_has_no_gradcam_but_a_gradient():
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(3)])
    found = explain.saliency(model, np.ones((1, 8, 8, 1), np.float32), 2)
    assert found.layer_index is None and not found.gradcam.any() and found.gradient.max() == pytest.approx(1.0)


# --- augmentation -----------------------------------------------------------------------------------------------

def test_augment_rotates_differently_each_time_and_repeats_with_the_seed():
    spec = presets.load("seed-improved")  # Resizing, Rescaling, RandomRotation(±0.2)
    image = square_image(np.random.default_rng(3))[..., None].astype("float32")
    drawn = explain.augment(spec, image, count=6, seed=4)
    assert len(drawn) == 6 and all(a.shape == (28, 28, 1) for a in drawn)
    assert all(0 <= a.min() and a.max() <= 1.0 + 1e-6 for a in drawn)
    assert all(not np.allclose(a, b) for i, a in enumerate(drawn) for b in drawn[i + 1:])
    assert all(np.allclose(a, b) for a, b in zip(drawn, explain.augment(spec, image, count=6, seed=4)))
    assert not np.allclose(drawn[0], explain.augment(spec, image, count=1, seed=5)[0])


def test_augment_without_random_layers_gives_the_same_picture_every_time():
    image = stripes_image(np.random.default_rng(3))[..., None].astype("float32")
    drawn = explain.augment(tiny_spec(), image, count=4)
    assert len(drawn) == 4
    for picture in drawn:
        np.testing.assert_allclose(picture, image / 255, rtol=1e-6)
    resized = explain.augment({"input_shape": [28, 28, 1], "layers": [
        {"type": "Resizing", "height": 14, "width": 14}, {"type": "Flatten"},
        {"type": "RandomFlip", "mode": "horizontal"}]}, image, count=2)
    assert [a.shape for a in resized] == [(14, 14, 1)] * 2 and np.allclose(resized[0], resized[1])


# --- pictures ---------------------------------------------------------------------------------------------------

def test_grid_image_tiles_channels_on_one_scale_and_keeps_pixels_square():
    maps = np.zeros((7, 7, 3), np.float32)
    maps[..., 1] = 2.0
    maps[0, 0, 2] = 4.0
    grid = np.asarray(explain.grid_image(maps, low=0, high=4, columns=3, cell=28))
    assert grid.shape == (2 + 28 + 2, 2 + 3 * (28 + 2))  # 7 px × 4, three cells, 2-px lines
    first, second, third = (grid[2:30, 2 + i * 30: 30 + i * 30] for i in range(3))
    assert (first == 0).all() and (second == 127).all()
    assert (third[:4, :4] == 255).all() and (third[4:, :] == 0).all()


def test_filters_image_shows_one_row_per_input_channel_of_a_first_layer():
    kernels = np.random.default_rng(0).normal(size=(3, 3, 3, 5)).astype("float32")
    image = explain.filters_image(kernels, cell=24)
    assert image.mode == "RGB" and image.size == (2 + 5 * (24 + 2), 2 + 3 * 24 + 2 + 2)
    deep = explain.filters_image(np.ones((3, 3, 32, 20), np.float32), cell=24)
    assert deep.size == (2 + 16 * 26, 2 + 2 * 26)


def test_overlay_colours_the_hot_places_and_leaves_the_cold_ones_grey():
    image = np.full((10, 10, 1), 128, np.float32)
    heat = np.zeros((10, 10), np.float32)
    heat[:, 5:] = 1.0
    out = np.asarray(explain.overlay(image, heat)).astype(int)
    assert out.shape == (10, 10, 3)
    cold, hot = out[0, 0], out[0, 9]
    assert abs(cold[0] - cold[2]) < 20 and hot[1] > hot[2] + 40  # yellow at the top of the ramp


# --- the command line -------------------------------------------------------------------------------------------

def shapes_json(spec_path: Path, capsys) -> dict[int, dict]:
    assert main(["shapes", str(spec_path), "--json"]) == 0
    return {row["index"]: row for row in json.loads(capsys.readouterr().out)}


@pytest.mark.parametrize("preset", PRESETS)
def test_lab_explain_on_a_run_of_every_preset_matches_lab_shapes(preset, preset_runs, image_file, tmp_path, capsys):
    run = preset_runs[preset]
    out = tmp_path / "out"
    assert main(["explain", str(run), str(image_file), "--out", str(out), "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert result["prediction"] in CLASSES and set(result["probabilities"]) == set(CLASSES)
    assert sum(result["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
    rows = shapes_json(run / runs.SPEC, capsys)
    expected = [index for index, row in rows.items() if row["type"] in explain.MAP_TYPES]
    assert [layer["index"] for layer in result["layers"]] == expected and expected
    for layer in result["layers"]:
        row = rows[layer["index"]]
        assert layer["type"] == row["type"] and layer["output_shape"] == row["output_shape"]
        with Image.open(layer["maps"]) as picture:
            assert picture.width > row["output_shape"][1] and picture.height >= row["output_shape"][0]
    with Image.open(result["saliency"]) as picture:
        assert picture.mode == "RGB" and min(picture.size) >= 224
    assert Path(result["gradient"]).is_file() and Path(result["input"]).is_file()


def test_lab_explain_one_layer_a_chosen_class_and_the_text_output(tiny_run, image_file, tmp_path, capsys):
    out = tmp_path / "one"
    assert main(["explain", str(tiny_run), str(image_file), "--out", str(out), "--layer", "3", "--class",
                 "square", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [layer["index"] for layer in result["layers"]] == [3] and result["saliency_class"] == "square"
    assert sorted(p.name for p in out.iterdir()) == ["gradient.png", "input.png", "layer-03-maxpooling2d.png",
                                                     "saliency.png"]
    assert main(["explain", str(tiny_run), str(image_file), "--out", str(out), "--class", "0"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("Prediction: ") and "layer 2 Conv2D (28, 28, 4): " in text
    assert "Saliency for square (Grad-CAM on layer 2): " in text


@pytest.mark.parametrize("arguments, message", [
    (["--layer", "9"], "There is no layer 9: this network's layers are numbered 1 to 5, as in `lab shapes`."),
    (["--layer", "4"], "Layer 4 (Flatten) has no feature maps; choose a Conv2D or pooling layer: 2, 3."),
    (["--class", "circle"], "There is no class 'circle' in this run; give one of its classes (square, stripes) or "
                            "a number from 0 to 1."),
])
def test_lab_explain_refuses_in_one_sentence(arguments, message, tiny_run, image_file, tmp_path, capsys):
    assert main(["explain", str(tiny_run), str(image_file), "--out", str(tmp_path / "o"), *arguments]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == f"error: {message}\n"
    assert not (tmp_path / "o").exists()


def test_lab_explain_without_a_run_or_an_image(tiny_run, image_file, tmp_path, capsys):
    assert main(["explain", str(tmp_path / "nothing"), str(image_file), "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (f"error: There is no run folder at {tmp_path / 'nothing'}; give a folder "
                                       "under runs/ (see `lab train`).\n")
    assert main(["explain", str(tiny_run), str(tmp_path / "no.png"), "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"error: There is no image at {tmp_path / 'no.png'}; check the file name.\n"


def test_lab_explain_speaks_portuguese(tiny_run, image_file, tmp_path, capsys):
    assert main(["explain", str(tiny_run), str(image_file), "--out", str(tmp_path), "--layer", "4",
                 "--lang", "pt-BR"]) == 2
    assert capsys.readouterr().err == ("erro: A camada 4 (Flatten) não tem mapas de ativação; escolha uma camada "
                                       "Conv2D ou de pooling: 2, 3.\n")
    assert main(["explain", str(tiny_run), str(image_file), "--out", str(tmp_path), "--class", "x",
                 "--lang", "pt-BR"]) == 2
    assert "Não há a classe 'x' neste treino" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["explain", "--help", "--lang", "pt-BR"])
    assert "a classe cuja saliência mostrar" in capsys.readouterr().out
    with i18n.speaking("pt-BR"):
        with pytest.raises(LabError, match="não tem nenhuma camada Conv2D"):
            explain.map_layer(keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten()]), 1)
