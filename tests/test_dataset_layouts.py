"""Every layout the lab trains on (Train/ + Test/, Train/ only, Test/ only, bare class folders): the Dataset page
names the split of each number and says what training does with it, the exported script builds the same datasets
and runs for real, and a run's final score carries the name of the split it comes from."""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest
from ui_support import APP, CLASSES, open_page, square_image, stripes_image, tiny_spec

from lab import codegen, i18n
from lab.data import discovery, summary
from lab.errors import LabError

ROOT = Path(__file__).resolve().parents[1]
PER_CLASS, TEST_PER_CLASS = 10, 3  # 20 images to learn and validate from, 6 to test on
# layout -> the folders that hold the class folders, each with how many images per class
LAYOUTS = {
    "train_test": {"Train": PER_CLASS, "Test": TEST_PER_CLASS},
    "train_only": {"Train": PER_CLASS},
    "test_only": {"Test": PER_CLASS},
    "folders": {".": PER_CLASS},
}
# layout -> (the folder it learns from, the folder that scores it), relative to the dataset
FOLDERS = {"train_test": ("Train", "Test"), "train_only": ("Train", None), "test_only": ("Test", None),
           "folders": (".", None)}


def write_layout(folder: Path, layout: str) -> Path:
    """``folder`` in ``layout``: squares and stripes, 28×28 grayscale."""
    rng = np.random.default_rng(0)
    for split, count in LAYOUTS[layout].items():
        for cls, draw in zip(CLASSES, (square_image, stripes_image)):
            out = folder / split / cls
            out.mkdir(parents=True, exist_ok=True)
            for index in range(count):
                Image.fromarray(draw(rng), "L").save(out / f"{cls}_{index:03d}.png")
    return folder


# --- what training does with each layout ---------------------------------------------------------------------------

@pytest.mark.parametrize("layout, expected", [
    ("train_test", ("train_test", "Train", 16, 4, 6, "Test")),
    ("train_only", ("train_only", "Train", 16, 4, 0, "validation")),
    ("test_only", ("test_only", "Test", 16, 4, 0, "validation")),
    ("folders", ("folders", "All", 16, 4, 0, "validation")),
])
def test_the_plan_of_each_layout(tmp_path, layout, expected):
    plan = summary.split_plan(discovery.inspect(write_layout(tmp_path / layout, layout)), 0.2)
    assert (plan.layout, plan.source, plan.learn, plan.validate, plan.test, plan.scored_on) == expected


def test_a_plan_without_validation_images_has_no_score(tmp_path):
    info = discovery.inspect(write_layout(tmp_path / "d", "train_only"))
    assert summary.split_plan(info, 0.0).scored_on is None
    assert summary.split_plan(info, 0.04).validate == 0  # 0.8 of an image: none, as Keras rounds down
    assert summary.split_plan(info, 0.05).validate == 1


@pytest.mark.parametrize("layout", LAYOUTS)
def test_the_plan_counts_what_the_loader_loads(tmp_path, layout):
    from lab.data.loading import load

    folder = write_layout(tmp_path / layout, layout)
    for validation_split in (0.2, 0.35):
        plan = summary.split_plan(discovery.inspect(folder), validation_split)
        loaded = load(folder, validation_split=validation_split, batch_size=4)
        tested = {"test": plan.test} if plan.test else {}
        assert loaded.counts == {"train": plan.learn, "val": plan.validate, **tested}


# --- the Dataset page ----------------------------------------------------------------------------------------------

def dataset_page(lang=None):
    from lab import i18n
    from lab.ui import dataset

    i18n.use(lang)
    try:
        dataset.render()
    finally:
        i18n.use(None)


def open_dataset_page(lang=None) -> AppTest:
    app = AppTest.from_function(dataset_page, default_timeout=60, args=(lang,)).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


PAGE = {
    "train_test": ({"Train images": "20", "Test images": "6"},
                   "Training learns from 80% of Train (16 images) and validates on the other 20% (4 images); the run "
                   "is scored on Test (6 images)."),
    "train_only": ({"Train images": "20"},
                   "No Test/ folder: training learns from 80% of Train (16 images), and the run is scored on the 20% "
                   "held out for validation (4 images)."),
    "test_only": ({"Test images": "20"},
                  "No Train/ folder: 80% of Test (16 images) is used to learn and 20% (4 images) to validate; there "
                  "is no separate test, so the run is scored on those validation images."),
    "folders": ({"All images": "20"},
                "No Train/ or Test/ folder: 80% of the images (16) are used to learn and 20% (4) to validate; there "
                "is no separate test, so the run is scored on those validation images."),
}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_the_page_names_the_split_of_every_number(data_root, layout):
    write_layout(data_root / "signs", layout)
    app = open_dataset_page()
    counts, plan = PAGE[layout]
    metrics = {m.label: m.value for m in app.metric}
    assert {label: value for label, value in metrics.items() if label.endswith("images")} == counts
    assert [i.value for i in app.info if "%" in i.value] == [plan]
    shown = " ".join(e.value for kind in (app.info, app.warning, app.caption, app.markdown) for e in kind)
    assert ("No Test/" in shown) == (layout == "train_only")
    assert ("No Train/" in shown) == (layout in ("test_only", "folders"))
    assert "only a Test/ folder" not in shown  # the plan says it, with its numbers
    help_text = app.slider(key="ds_val").help
    assert help_text == {"train_test": "Fraction of the Train images held back to check the model after each epoch.",
                         "train_only": "Fraction of the Train images held back to check the model after each epoch.",
                         "test_only": "Fraction of the Test images held back to check the model after each epoch.",
                         "folders": "Fraction of the images held back to check the model after each epoch."}[layout]

    app.slider(key="ds_val").set_value(0.25).run()
    plan_now = [i.value for i in app.info if "%" in i.value]
    assert len(plan_now) == 1
    assert all(part in plan_now[0] for part in ("75%", "(15", "25%", "(5")), plan_now


def test_the_page_says_where_the_numbers_come_from_in_portuguese(data_root):
    write_layout(data_root / "signs", "test_only")
    app = open_dataset_page("pt-BR")
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Imagens de Test"] == "20" and "Imagens de Train" not in metrics
    assert [i.value for i in app.info if "%" in i.value] == [
        "Não há pasta Train/: 80% de Test (16 imagens) servem para aprender e 20% (4 imagens) para validar; não há "
        "um teste separado, então a avaliação final usa essas imagens de validação."]


def test_a_page_read_in_english_then_in_portuguese_says_everything_in_portuguese(data_root):
    """The dataset's warnings are read once per language: a reader never gets another reader's language."""
    write_layout(data_root / "signs", "test_only")
    (data_root / "signs" / "Test" / "empty").mkdir()
    english = open_dataset_page()
    assert [w.value for w in english.warning] == [i18n.t("data.warning.empty_class", folder="Test/empty", lang="en")]
    portuguese = open_dataset_page("pt-BR")
    assert [w.value for w in portuguese.warning] == [
        i18n.t("data.warning.empty_class", folder="Test/empty", lang="pt-BR")]


def test_a_validation_split_that_holds_out_no_image_is_a_warning(data_root):
    folder = data_root / "tiny"
    for cls in CLASSES:  # 3 images per class: 5 % of 6 is 0.3 of an image
        (folder / "Train" / cls).mkdir(parents=True)
        for index in range(3):
            image = Image.fromarray(square_image(np.random.default_rng(index)), "L")
            image.save(folder / "Train" / cls / f"{index}.png")
    app = open_dataset_page()
    app.slider(key="ds_val").set_value(0.05).run()
    assert not [i.value for i in app.info if "%" in i.value]
    assert [w.value for w in app.warning if "%" in w.value] == [
        "5% of the Train images (6) is less than one image, so nothing would be left to validate on and training "
        "would not start: raise validation_split or add images."]
    app.slider(key="ds_val").set_value(0.2).run()
    assert not [w.value for w in app.warning if "%" in w.value]


# --- the exported script -------------------------------------------------------------------------------------------

def export(folder: Path, lang: str = "en", **options) -> str:
    with i18n.speaking(lang):
        return codegen.to_script(tiny_spec(), data_dir=str(folder), epochs=1, batch_size=8, **options)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_the_exported_script_trains_on_the_datasets_the_lab_makes(tmp_path, monkeypatch, capsys, layout):
    from lab.data.loading import load

    folder = write_layout(tmp_path / "data" / layout, layout)
    script = tmp_path / "model_script.py"
    script.write_text(export(folder, validation_split=0.25, seed=7), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    run = runpy.run_path(str(script), run_name="__main__")  # trains for one epoch, then scores

    learn, test = FOLDERS[layout]
    assert Path(run["learn"]) == (folder / learn if learn != "." else folder)
    assert run["test"] == (folder / test if test else None)
    loaded = load(folder, validation_split=0.25, seed=7, batch_size=8)
    assert len(run["train"].file_paths) == loaded.counts["train"]
    assert len(run["val"].file_paths) == loaded.counts["val"]
    if test:
        assert {Path(p).parent.parent.name for p in run["train"].file_paths + run["val"].file_paths} == {"Train"}
    assert (tmp_path / "best.keras").is_file()
    printed = capsys.readouterr().out
    assert ("test loss" in printed) == (layout == "train_test")
    assert ("validation loss" in printed) == (layout != "train_test")


def test_the_validation_split_of_the_script_is_the_labs(tmp_path):
    """Same seed, same call: the script holds out exactly the images the lab validates on."""
    import keras

    folder = write_layout(tmp_path / "data", "train_only")
    script = export(folder, validation_split=0.25, seed=7)
    assert "VALIDATION_SPLIT = 0.25\nSEED = 7\n" in script
    lab_train, lab_val = keras.utils.image_dataset_from_directory(
        str(folder / "Train"), class_names=list(CLASSES), color_mode="grayscale", image_size=(28, 28), seed=7,
        validation_split=0.25, subset="both", shuffle=True, verbose=False)  # as lab.data.loading does
    namespace = runpy.run_path(_written(tmp_path, script), run_name="exported")
    train, val = namespace["load"](folder / "Train", validation_split=0.25, subset="both")
    assert sorted(val.file_paths) == sorted(lab_val.file_paths)
    assert sorted(train.file_paths) == sorted(lab_train.file_paths)


def _written(folder: Path, script: str) -> str:
    path = folder / "exported.py"
    path.write_text(script, encoding="utf-8")
    return str(path)


def test_the_script_exported_in_portuguese_runs_and_speaks_portuguese(tmp_path):
    folder = write_layout(tmp_path / "dados", "test_only")
    script = export(folder, "pt-BR")
    assert "# só Test/: aprende e valida com partes dela, sem teste separado" in script
    assert "        # Sem teste separado: como no CNN Lab, o modelo é avaliado com as imagens de validação." in script
    result = subprocess.run([sys.executable, _written(tmp_path, script)], capture_output=True, text=True,
                            cwd=tmp_path, timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "perda na validação" in result.stdout and "métricas na validação" in result.stdout


def test_the_script_without_its_data_folder_says_what_to_change(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stop:
        runpy.run_path(_written(tmp_path, export(tmp_path / "missing")), run_name="__main__")
    assert str(stop.value) == (f"Set DATA_DIR at the top of this script to a dataset folder; there is none at "
                               f"{tmp_path / 'missing'}")
    assert not (tmp_path / "best.keras").exists()


@pytest.mark.parametrize("value", [-0.1, 1, 1.5, float("nan"), "0.2", True, None, [0.2]])
def test_a_bad_validation_split_is_refused_in_one_sentence(value):
    with pytest.raises(LabError, match=r"^The validation split must be a number from 0 up to, but not including, "
                                       r"1, not .+\.$"):
        codegen.to_script(tiny_spec(), validation_split=value)


@pytest.mark.parametrize("value", [-1, 1.5, "7", True, None])
def test_a_bad_seed_is_refused_in_one_sentence(value):
    with pytest.raises(LabError, match=r"^The seed must be a whole number of 0 or more, not .+\.$"):
        codegen.to_script(tiny_spec(), seed=value)


def test_the_refusals_speak_portuguese():
    with i18n.speaking("pt-BR"), pytest.raises(LabError, match="^A semente \\(seed\\) deve ser"):
        codegen.to_script(tiny_spec(), seed=-1)


# --- a run's final score names its split ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def scored_runs(tmp_path_factory) -> dict[str, Path]:
    """One one-epoch run on a dataset with a Test split and one on a dataset without: layout -> run folder."""
    from lab.train.job import Job, TrainConfig

    root = tmp_path_factory.mktemp("scored")
    found = {}
    for layout in ("train_test", "test_only"):
        data = write_layout(root / "Data" / layout, layout)
        config = TrainConfig(data_path=str(data), spec=tiny_spec(), epochs=1, batch_size=8,
                             runs_root=str(root / "runs"), name=layout, early_stopping=None)
        snap = Job(config).run()
        assert snap.status == "finished", snap.error or snap.messages
        found[layout] = Path(snap.run_dir)
    return found


def test_the_final_score_carries_the_name_of_its_split(scored_runs):
    from lab.train import runs

    expected = {"train_test": ("Test", 6), "test_only": ("validation", 4)}
    for layout, run_dir in scored_runs.items():
        split, images = expected[layout]
        metrics = json.loads((run_dir / runs.METRICS).read_text())
        meta = json.loads((run_dir / runs.META).read_text())
        assert (metrics["split"], metrics["n"]) == (split, images)
        assert meta["score"] == {"split": split, "accuracy": metrics["accuracy"], "images": images}
        info = runs.run_info(run_dir)
        assert (info.score_split, info.score) == (split, metrics["accuracy"])
        if split == "Test":
            assert meta["test_accuracy"] == info.test_accuracy == metrics["accuracy"]
        else:
            assert meta["test_accuracy"] is info.test_accuracy is None


def train_summary(run_dir: str):
    from lab.train.snapshot import Snapshot
    from lab.ui import training

    training._summary(Snapshot(status="finished", epochs=1, run_dir=run_dir))


def test_the_train_page_says_validation_accuracy_when_there_is_no_test(scored_runs, monkeypatch):
    monkeypatch.setenv("CNN_LAB_TF_PRELOAD", "0")
    labels = {}
    for layout, run_dir in scored_runs.items():
        app = AppTest.from_function(train_summary, default_timeout=60, args=(str(run_dir),)).run()
        assert not app.exception, [e.value for e in app.exception]
        labels[layout] = [m.label for m in app.metric]
    assert "Test accuracy" in labels["train_test"] and "Validation accuracy" not in labels["train_test"]
    assert "Validation accuracy" in labels["test_only"] and "Test accuracy" not in labels["test_only"]


def test_the_runs_table_has_no_test_accuracy_for_a_run_scored_on_validation(scored_runs, monkeypatch):
    runs_root = next(iter(scored_runs.values())).parent
    monkeypatch.setenv("CNN_LAB_RUNS", str(runs_root))
    monkeypatch.setenv("CNN_LAB_DATA", str(runs_root.parent / "Data"))
    monkeypatch.setenv("CNN_LAB_TF_PRELOAD", "0")
    app = AppTest.from_file(APP, default_timeout=60).run()
    open_page(app, "runs")
    assert not app.exception, [e.value for e in app.exception]
    table = app.dataframe[0].value.set_index("name")
    assert table.loc["train_test", "test acc"] == pytest.approx(
        json.loads((scored_runs["train_test"] / "metrics.json").read_text())["accuracy"])
    assert table.loc["test_only", "test acc"] != table.loc["test_only", "test acc"]  # NaN: no Test split
    assert table.loc["test_only", "best val acc"] >= 0


def test_the_script_of_a_run_reads_its_dataset_and_splits_it_as_the_run_did(scored_runs, tmp_path, monkeypatch):
    from lab.train import runs
    from lab.ui.runs import script_options

    run_dir = scored_runs["test_only"]
    meta = json.loads((run_dir / runs.META).read_text())
    options = script_options(meta)
    assert options == {"epochs": 1, "batch_size": 8, "seed": 1337, "validation_split": 0.2,
                       "data_dir": meta["dataset"]["path"]}
    script = codegen.to_script(json.loads((run_dir / runs.SPEC).read_text()), **options)
    monkeypatch.chdir(tmp_path)
    run = runpy.run_path(_written(tmp_path, script), run_name="__main__")
    assert Path(run["learn"]) == Path(meta["dataset"]["path"]) / "Test"
    assert len(run["val"].file_paths) == json.loads((run_dir / runs.METRICS).read_text())["n"]  # what it scored on
    assert script_options({"config": "broken", "dataset": ["x"]}) == {}
