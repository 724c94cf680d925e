"""Fine-tuning from the Train page in AppTest: the "Start from" choice lists the runs that can start the dataset and
says why the others cannot; Start with a run trains that run's network from its weights and records where it
started; the My samples page suggests the run that already knows the classes."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest
from test_app_portuguese import english_on
from ui_support import APP, big_square, make_dataset, open_page, png_bytes, tiny_spec, use_lab

from lab.data import samples
from lab.train import runs
from lab.train.job import Job, TrainConfig
from lab.ui import session, training


def blank_image(rng: np.random.Generator, size: int = 28) -> np.ndarray:
    return rng.integers(0, 20, (size, size), dtype=np.uint8)


def train(data: Path, runs_root: Path, name: str, classes: int) -> Path:
    config = TrainConfig(data_path=str(data), spec=tiny_spec(classes=classes), epochs=2, batch_size=8,
                         runs_root=str(runs_root), name=name, early_stopping=None)
    snap = Job(config).run()
    assert snap.status == "finished", snap.error or snap.messages
    return Path(snap.run_dir)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(lab root, run "squares" of 2 classes, run "three shapes" of 3): Data/tiny has square and stripes, Data/three
    has blank, square and stripes."""
    root = tmp_path_factory.mktemp("lab")
    tiny = make_dataset(root / "Data", "tiny", train=16, test=4)
    three = make_dataset(root / "Data", "three", train=16, test=4)
    rng = np.random.default_rng(7)
    for split, count in (("Train", 16), ("Test", 4)):
        (three / split / "blank").mkdir()
        for index in range(count):
            Image.fromarray(blank_image(rng), "L").save(three / split / "blank" / f"blank_{index:03d}.png")
    squares = train(tiny, root / "runs", "squares", 2)
    shapes = train(three, root / "runs", "three shapes", 3)
    return root, squares, shapes


@pytest.fixture
def lab(trained, monkeypatch):
    root, _, _ = trained
    use_lab(monkeypatch, root)
    from lab.train import job
    from lab.train.manager import JobManager

    fresh = JobManager()  # no job of another test module shows on this Train page
    monkeypatch.setattr(job, "manager", lambda: fresh)
    return trained


def train_page(dataset: Path, lang: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    if lang:
        at.query_params["lang"] = lang
    at.run()
    at.session_state[session.DATASET] = str(dataset)
    at.session_state[session.SPEC] = tiny_spec()
    at.session_state[session.LOAD_PARAMS] = {"batch_size": 8, "validation_split": 0.25}
    open_page(at, "train")
    assert not at.exception, [e.value for e in at.exception]
    return at


def captions(at) -> str:
    return "\n".join(c.value for c in at.caption)


def test_the_choice_lists_the_runs_that_can_start_the_dataset_and_says_why_the_others_cannot(lab):
    root, squares, shapes = lab
    at = train_page(root / "Data" / "three")
    choice = at.selectbox(key=training.FROM_RUN)
    assert choice.options[0] == "A new network (the one on the Architecture page)"
    assert choice.value == training.NEW_NETWORK
    assert len(choice.options) == 2 and choice.options[1].startswith("three shapes · three · ")
    assert "Runs that cannot start this dataset (1):" in captions(at)
    assert "Run squares learned 2 classes and this dataset has 3" in captions(at)
    assert at.checkbox(key=training.FREEZE).disabled  # nothing to freeze in a new network

    at = train_page(root / "Data" / "tiny")  # fewer classes than a run learned: both runs can start it
    options = at.selectbox(key=training.FROM_RUN).options
    assert [option.split(" · ")[0] for option in options[1:]] == ["three shapes", "squares"]  # newest first
    assert "cannot start" not in captions(at)


def test_start_with_a_run_trains_its_network_from_its_weights_and_records_where_it_started(lab):
    root, _, shapes = lab
    at = train_page(root / "Data" / "tiny")
    assert any("model: **5 layers**" in c.value for c in at.caption)
    at.selectbox(key=training.FROM_RUN).set_value(str(shapes)).run()
    assert at.session_state[session.START] == str(shapes)
    assert not any("model:" in c.value for c in at.caption)  # the Architecture page's network is not trained
    note = next(i.value for i in at.info if "three shapes" in i.value)
    assert "the network on the Architecture page is not used" in note
    assert "28×28 pixels, in grayscale" in note and "2 of the 2 classes keep" in note
    at.checkbox(key=training.FREEZE).check().run()
    at.number_input(key="train_epochs").set_value(2).run()
    at.button(key="train_start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    deadline = time.monotonic() + 180
    while not any(s.value.startswith("Finished") for s in at.success):
        assert time.monotonic() < deadline, "the fine-tune did not finish within 3 minutes"
        assert not at.error, [e.value for e in at.error]
        time.sleep(1.0)
        at.run()

    tuned = next(path for path in (root / "runs").iterdir()
                 if json.loads((path / runs.META).read_text()).get("from_run"))
    meta = json.loads((tuned / runs.META).read_text())
    assert meta["from_run"]["id"] == shapes.name and meta["from_run"]["freeze"] is True
    assert meta["from_run"]["classes_kept"] == 2 and meta["class_names"] == ["square", "stripes"]
    assert meta["name"] == "three shapes fine-tuned"
    old = [layer.get_weights() for layer in runs.load_model_file(shapes / runs.MODEL).layers]
    first = runs.read_weights(tuned / runs.FIRST_WEIGHTS)  # the weights training started from
    assert np.array_equal(first[0], old[1][0]) and np.array_equal(first[1], old[1][1])  # the Conv2D
    assert np.array_equal(first[2], old[-1][0][:, [1, 2]])  # the head's square and stripes columns (blank left out)
    final = [layer.get_weights() for layer in runs.load_model_file(tuned / runs.MODEL).layers]
    assert np.array_equal(final[1][0], old[1][0])  # frozen: the convolutional part did not move
    assert not np.array_equal(final[-1][0], first[2])  # the head learned


def test_a_run_that_cannot_start_the_dataset_any_more_is_no_longer_chosen(lab):
    root, squares, _ = lab
    at = train_page(root / "Data" / "tiny")
    at.selectbox(key=training.FROM_RUN).set_value(str(squares)).run()
    at.session_state[session.DATASET] = str(root / "Data" / "three")  # two classes learned, three now
    at.run()
    assert not at.exception
    assert at.selectbox(key=training.FROM_RUN).value == training.NEW_NETWORK
    assert at.session_state[session.START] is None
    assert any("model: **5 layers**" in c.value for c in at.caption)


def test_my_samples_suggests_fine_tuning_the_run_that_knows_the_classes(lab):
    root, squares, shapes = lab
    data = root / "Data"
    if "my-shapes" not in samples.recorded_datasets(data):
        samples.new_dataset("my-shapes", ["square", "stripes"], source="tiny", root=data)
        for cls in ("square", "stripes"):
            samples.add_sample("my-shapes", cls, png_bytes(big_square(64)), root=data)
    at = AppTest.from_file(APP, default_timeout=60).run()
    open_page(at, "samples")
    assert not at.exception, [e.value for e in at.exception]
    hint = next(i.value for i in at.info if "already knows" in i.value)
    assert hint.startswith("Run **three shapes** already knows 2 of these 2 classes")  # the newest of the two
    at.button(key="samples_finetune").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state[session.DATASET] == str(data / "my-shapes")
    assert at.session_state[session.START] == str(shapes)
    open_page(at, "train")
    assert at.selectbox(key=training.FROM_RUN).value == str(shapes)


def test_the_choice_speaks_portuguese(lab):
    root, _, shapes = lab
    at = train_page(root / "Data" / "three", lang="pt-BR")
    assert at.selectbox(key=training.FROM_RUN).label == "Começar de"
    at.selectbox(key=training.FROM_RUN).set_value(str(shapes)).run()
    assert any("a rede da página Arquitetura não é usada" in i.value for i in at.info)
    assert any("Treinos que não servem de ponto de partida" in c.value for c in at.caption)
    assert english_on(at) == []
