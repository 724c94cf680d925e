"""The Train page in AppTest: Start is blocked with reasons; a real one-epoch run finishes and shows up in Runs."""

from __future__ import annotations

import json
import time

import pytest
from streamlit.testing.v1 import AppTest
from ui_support import APP, make_dataset, open_page, tiny_spec

from lab.ui import session, training


@pytest.fixture
def dirs(tmp_path, monkeypatch):
    data, runs = tmp_path / "data", tmp_path / "runs"
    data.mkdir()
    runs.mkdir()
    monkeypatch.setenv("CNN_LAB_DATA", str(data))
    monkeypatch.setenv("CNN_LAB_RUNS", str(runs))
    return data, runs


def start_button(at):
    return next(b for b in at.button if b.key == "train_start")


def test_start_is_disabled_when_the_dataset_is_gone(dirs):
    data, _ = dirs
    make_dataset(data)
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.session_state[session.DATASET] = str(data / "deleted")
    at.session_state[session.SPEC] = tiny_spec()
    open_page(at, "train")
    assert not at.exception
    assert start_button(at).disabled
    assert any("is gone" in e.value for e in at.error)


def test_blockers_name_what_is_missing():
    assert training.blockers(None, None) == ["Choose a dataset on the Dataset page first.",
                                             "Choose or build a model on the Architecture page first."]


def test_start_is_disabled_with_an_invalid_spec_and_says_why(dirs):
    data, _ = dirs
    folder = make_dataset(data)
    spec = tiny_spec()
    spec["layers"][1]["filters"] = 0
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.session_state[session.DATASET] = str(folder)
    at.session_state[session.SPEC] = spec
    open_page(at, "train")
    assert not at.exception
    assert start_button(at).disabled
    errors = " ".join(e.value for e in at.error)
    assert "filters" in errors and "Layer 2" in errors


def test_a_short_training_finishes_and_appears_in_runs(dirs):
    from lab.train.job import manager

    data, runs = dirs
    folder = make_dataset(data)
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.session_state[session.DATASET] = str(folder)
    at.session_state[session.SPEC] = tiny_spec()
    at.session_state[session.LOAD_PARAMS] = {"batch_size": 8, "validation_split": 0.25}
    open_page(at, "train")
    assert not start_button(at).disabled
    at.number_input(key="train_epochs").set_value(2)
    at.text_input(key="train_name").set_value("tiny square vs stripes")
    start_button(at).click()
    at.run()
    assert not at.exception
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if any("Finished" in s.value for s in at.success):
            break
        assert not any("failed" in e.value.lower() for e in at.error), [e.value for e in at.error]
        time.sleep(1.0)
        at.run()
    else:
        pytest.fail("training did not finish within 3 minutes")
    assert manager().wait_idle(30)
    at.run()
    labels = [m.label for m in at.metric]
    assert "Best validation accuracy" in labels and "Test accuracy" in labels
    epochs = next(m for m in at.metric if m.label == "Epochs")
    assert epochs.value == "2/2"
    assert any(b.key == "train_goto_predict" for b in at.button)
    assert len(at.get("arrow_vega_lite_chart")) >= 1 or len(at.get("vega_lite_chart")) >= 1

    open_page(at, "runs")
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["name"]) == ["tiny square vs stripes"]
    assert table["epochs"].iloc[0] == 2
    assert "Conv2D(4,same)" in table["model"].iloc[0]
    assert table["dataset"].iloc[0] == folder.name


def test_train_opened_first_starts_from_the_dataset_and_the_recommended_network(dirs):
    data, _ = dirs
    folder = make_dataset(data)
    at = AppTest.from_file(APP, default_timeout=60)
    open_page(at, "train")
    assert not at.exception
    assert at.session_state[session.DATASET] == str(folder)
    spec = at.session_state[session.SPEC]
    assert spec["input_shape"] == [28, 28, 1] and spec["layers"][-1]["units"] == 2
    assert not start_button(at).disabled


def test_a_finished_run_speaks_portuguese_in_its_status_summary_and_chart(dirs):
    from test_app_portuguese import english_on

    from lab.train.job import manager

    data, _ = dirs
    folder = make_dataset(data)
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["lang"] = "pt-BR"
    open_page(at, "train")
    at.session_state[session.DATASET] = str(folder)
    at.session_state[session.SPEC] = tiny_spec()
    at.session_state[session.LOAD_PARAMS] = {"batch_size": 8, "validation_split": 0.25}
    at.run()
    at.text_input(key="train_name").set_value("quadrados")
    at.number_input(key="train_epochs").set_value(1)
    start_button(at).click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert manager().wait_idle(180), "training did not finish within 3 minutes"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [s.value for s in at.success] == ["**quadrados** terminou."]
    assert {"Melhor acurácia de validação", "Acurácia de teste", "Épocas", "Tempo"} <= {m.label for m in at.metric}
    assert any(b.label == "Prever com este modelo →" for b in at.button)
    charts = at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")
    titles, legend = chart_words(json.loads(charts[0].proto.spec))
    assert titles >= {"perda", "acurácia", "época", "curva"} and not titles & {"loss", "accuracy", "epoch"}
    assert legend == {"treino (por lote)", "treino (suavizado)", "treino (por época)", "validação (por época)"}
    assert english_on(at) == []


def chart_words(spec) -> tuple[set[str], set[str]]:
    """The titles (axes, panels, tooltips) and the colour legend's names in a Vega-Lite spec."""
    titles, legend = set(), set()
    nodes = [spec]
    while nodes:
        node = nodes.pop()
        if isinstance(node, list):
            nodes.extend(node)
        elif isinstance(node, dict):
            if isinstance(node.get("title"), str):
                titles.add(node["title"])
            if node.get("field") == "series" and isinstance(node.get("scale"), dict):
                legend.update(node["scale"].get("domain") or [])
            nodes.extend(node.values())
    return titles, legend
