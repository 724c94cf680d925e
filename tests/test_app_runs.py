"""The Runs page in AppTest: the table, overlaid curves with the spec diff, details, rename and delete."""

from __future__ import annotations

import shutil

import pytest
from streamlit.testing.v1 import AppTest
from ui_support import APP, make_dataset, open_page, tiny_spec, train_run

from lab.ui import runs as runs_page

pd = pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Two one-epoch runs that differ only in padding ('same' vs 'valid')."""
    root = tmp_path_factory.mktemp("runs-page")
    data = make_dataset(root / "data")
    first = train_run(data, root / "runs", name="with same", padding="same")
    second = train_run(data, root / "runs", name="with valid", padding="valid")
    return root / "runs", data, first, second


@pytest.fixture
def runs_dir(trained, tmp_path, monkeypatch):
    """A private copy of the trained runs, so a test may rename or delete them."""
    source, data, *_ = trained
    target = tmp_path / "runs"
    shutil.copytree(source, target)
    monkeypatch.setenv("CNN_LAB_RUNS", str(target))
    monkeypatch.setenv("CNN_LAB_DATA", str(data.parent))
    return target


def page(runs_dir):
    at = AppTest.from_file(APP, default_timeout=60).run()
    open_page(at, "runs")
    assert not at.exception, at.exception
    return at


def test_spec_summary_reads_like_the_architecture():
    text = runs_page.spec_summary(tiny_spec())
    assert text.startswith("Conv2D(4,same) → MaxPool → Flatten → Dense(2)")
    assert text.endswith("params")


def test_spec_diff_lists_only_what_differs():
    diff = runs_page.spec_diff({"a": (tiny_spec(padding="same"), {"epochs": 1}),
                                "b": (tiny_spec(padding="valid"), {"epochs": 2})})
    assert set(diff["setting"]) == {"layer 2 · padding", "training.epochs"}
    row = diff.set_index("setting").loc["layer 2 · padding"]
    assert (row["a"], row["b"]) == ("same", "valid")


def test_table_lists_every_run(runs_dir):
    at = page(runs_dir)
    table = at.dataframe[0].value
    assert sorted(table["name"]) == ["with same", "with valid"]
    assert set(table["status"]) == {"finished"}
    assert all("params" in text for text in table["model"])
    assert table["best val acc"].notna().all() and table["test acc"].notna().all()


def test_overlay_and_diff_of_same_vs_valid(runs_dir):
    at = page(runs_dir)
    chosen = at.multiselect(key="runs_compare")
    assert len(chosen.value) == 2
    assert any("What differs" in m.value for m in at.markdown)
    diff = at.table[0].value
    assert "layer 2 · padding" in list(diff.index)
    assert {"same", "valid"} == set(diff.loc["layer 2 · padding"])


def test_details_show_confusion_and_per_class(runs_dir):
    at = page(runs_dir)
    assert any("Confusion matrix" in m.value for m in at.markdown)
    per_class = at.dataframe[1].value
    assert sorted(per_class["class"]) == ["square", "stripes"]


def test_rename_a_run(runs_dir):
    at = page(runs_dir)
    run_id = at.selectbox(key="runs_detail").value
    at.text_input(key=f"runs_name_{run_id}").set_value("renamed run")
    at.run()
    next(b for b in at.button if b.key == "runs_rename").click()
    at.run()
    assert not at.exception
    assert "renamed run" in list(at.dataframe[0].value["name"])


def test_delete_a_run_after_confirming(runs_dir):
    at = page(runs_dir)
    run_id = at.selectbox(key="runs_detail").value
    next(b for b in at.button if b.key == "runs_delete").click()
    at.run()
    assert (runs_dir / run_id).exists()  # not deleted before confirming
    assert any("for good" in w.value for w in at.warning)
    next(b for b in at.button if b.key == "runs_delete_yes").click()
    at.run()
    assert not at.exception
    assert not (runs_dir / run_id).exists()
    assert len(at.dataframe[0].value) == 1


def test_a_run_killed_before_its_model_file_gets_one_from_its_best_weights(runs_dir):
    from lab.train import runs as run_files

    at = page(runs_dir)
    run_dir = runs_dir / at.selectbox(key="runs_detail").value
    model = run_files.load_model_file(run_dir / run_files.MODEL)
    run_files.save_weights_atomic(model.get_weights(), run_dir / run_files.WEIGHTS)
    (run_dir / run_files.MODEL).unlink()  # what a kill after the last better epoch leaves
    at = page(runs_dir)
    assert not any(b.key == "runs_dl_model" for b in at.get("download_button"))
    next(b for b in at.button if b.key == "runs_make_model").click()
    at.run()
    assert not at.exception
    remade = run_files.load_model_file(run_dir / run_files.MODEL)
    assert all((a == b).all() for a, b in zip(remade.get_weights(), model.get_weights()))
    assert any(b.key == "runs_dl_model" for b in at.get("download_button"))


def test_spec_diff_aligns_an_inserted_layer_on_one_row():
    wider = tiny_spec(padding="valid")
    wider["layers"].insert(3, {"type": "Dropout", "rate": 0.25})  # after the pooling: Flatten and Dense shift
    diff = runs_page.spec_diff({"a": (tiny_spec(), {"epochs": 1}), "b": (wider, {"epochs": 1})})
    assert list(diff["setting"]) == ["layer 2 · padding", "layer – / 4"]
    assert list(diff.iloc[1][["a", "b"]]) == ["", "Dropout(0.25)"]
    slots = runs_page.layer_slots([tiny_spec()["layers"], wider["layers"]])
    assert slots == [[0, 0], [1, 1], [2, 2], [None, 3], [3, 4], [4, 5]]


def chart_specs(at) -> list[dict]:
    import json

    return [json.loads(chart.proto.spec) for chart in at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")]


def marks(spec) -> list[str]:
    return [layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"]
            for layer in spec.get("layer", [])]


def test_comparison_draws_guessing_level_and_a_log_axis_without_a_widget_warning(runs_dir):
    at = page(runs_dir)
    loss, accuracy = chart_specs(at)[:2]  # one chart per column, each as wide as its column
    assert marks(loss) == ["line", "rule", "text"] and marks(accuracy) == ["line"]
    assert '"type": "log"' not in json_text(loss)
    at.toggle(key="runs_log_loss").set_value(True).run()
    assert not at.exception
    assert '"type": "log"' in json_text(chart_specs(at)[0])


def test_guessing_line_is_labelled_with_ln_of_the_classes():
    from lab import i18n
    from lab.ui import charts

    frame = charts.history_long(pd.DataFrame([{"epoch": 1, "loss": 120.0, "val_loss": 3.2, "accuracy": 0.1,
                                               "val_accuracy": 0.04}]), "run")
    loss, _ = charts.overlay_panels(frame, class_counts={24}, log=True)
    text = json_text(loss.to_dict())
    assert "guessing: ln 24 = 3.18" in text and '"type": "log"' in text
    with i18n.speaking("pt-BR"):
        assert "chute: ln 24 = 3,18" in json_text(charts.overlay_panels(frame, class_counts={24})[0].to_dict())


def json_text(spec) -> str:
    import json

    return json.dumps(spec)


def _with_mistakes(run_dir, data):
    """The run's metrics.json with three misclassified test images (real files of the dataset)."""
    import json

    metrics = json.loads((run_dir / "metrics.json").read_text())
    squares = sorted((data / "Test" / "square").glob("*.png"))[:2]
    stripes = sorted((data / "Test" / "stripes").glob("*.png"))[:1]
    metrics["misclassified"] = ([{"file": str(f), "true": "square", "predicted": "stripes", "probability": 0.7}
                                 for f in squares]
                                + [{"file": str(f), "true": "stripes", "predicted": "square", "probability": 0.6}
                                   for f in stripes])
    metrics["misclassified_total"] = 3
    metrics["confusion"] = [[4, 2], [1, 5]]
    (run_dir / "metrics.json").write_text(json.dumps(metrics))


def test_misclassified_images_by_cell_and_look_inside(runs_dir, trained):
    _, data, *_ = trained
    for run_dir in runs_dir.iterdir():
        _with_mistakes(run_dir, data)
    at = page(runs_dir)
    cell = at.selectbox(key=runs_page.CELL)
    assert cell.options == ["every cell (3 images kept)", "true square, predicted stripes (2)",
                            "true stripes, predicted square (1)"]
    assert thumbnails(at) == ["square → stripes (70%)", "square → stripes (70%)", "stripes → square (60%)"]
    cell.set_value(runs_page._cell_key("stripes", "square")).run()
    assert not at.exception
    assert thumbnails(at) == ["stripes → square (60%)"]
    at.button(key="runs_inside_0").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Inside the network" in m.value and "a stripes taken for square" in m.value for m in at.markdown)
    assert [tab.label for tab in at.tabs][:2] == ["Feature maps", "Where it looked"]
    assert len(at.image) > 3  # the thumbnail, then the feature maps and the saliency pictures


def thumbnails(at) -> list[str]:
    return [caption for image in at.image for caption in image.captions if "→" in caption]


def test_chart_axes_write_numbers_the_readers_way():
    import pandas as pd

    from lab import i18n
    from lab.ui import charts

    chart = charts.probability_chart([("A", 0.75), ("B", 0.25)])
    assert "locale" not in charts.localized(chart).to_dict().get("config", {})
    with i18n.speaking("pt-BR"):
        localized = charts.localized(chart).to_dict()
        panels = charts.overlay_panels(pd.DataFrame({"run": ["r"] * 2, "epoch": [1, 2], "metric": ["loss"] * 2,
                                                     "split": ["training"] * 2, "value": [2.0, 1.0]}))
        panel = charts.localized(panels[0]).to_dict()
    assert localized["config"]["locale"]["number"]["thousands"] == "."
    assert localized["config"]["locale"]["number"]["decimal"] == ","
    assert panel["config"]["locale"]["number"]["thousands"] == "."
    assert "locale" not in chart.to_dict().get("config", {})  # the chart itself is left as it was
