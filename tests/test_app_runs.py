"""The Runs page in AppTest: the table, overlaid curves with the spec diff, details, rename and delete."""

from __future__ import annotations

import shutil

import pytest
from streamlit.testing.v1 import AppTest
from ui_support import APP, make_dataset, open_page, tiny_spec, train_run

from lab.ui import runs as runs_page


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
