"""The Padding page's "Train both", for real: two runs that differ only in padding, side by side in Runs."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest
from ui_support import APP, make_dataset, open_page, tiny_spec

from lab.train import runs
from lab.train.job import manager
from lab.ui import session


def test_train_both_trains_the_same_and_valid_twins_and_runs_compares_them(tmp_path, monkeypatch):
    data, runs_root = tmp_path / "data", tmp_path / "runs"
    folder = make_dataset(data)
    monkeypatch.setenv("CNN_LAB_DATA", str(data))
    monkeypatch.setenv("CNN_LAB_RUNS", str(runs_root))
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[session.DATASET] = str(folder)
    at.session_state[session.SPEC] = tiny_spec(padding="same")
    at.session_state[session.LOAD_PARAMS] = {"batch_size": 8, "validation_split": 0.25, "seed": 3}
    open_page(at, "padding")
    assert not at.exception
    at.number_input(key="pad_epochs").set_value(2)
    at.button(key="pad_train").click().run()
    assert not at.exception
    bars = [bar.proto.text for bar in at.get("progress")]
    assert [text.split(" · ")[0] for text in bars] == ['padding "same"', 'padding "valid"']
    assert manager().wait_idle(240)
    at.run()
    assert not at.exception
    bars = [bar.proto.text for bar in at.get("progress")]
    assert len(bars) == 2 and all("finished, best validation accuracy" in text for text in bars), bars
    assert [s.value for s in at.success] == ["Both runs are done."]

    found = {info.name: info for info in runs.list_runs(runs_root)}
    assert set(found) == {"padding same", "padding valid"}
    for padding, info in found.items():
        assert info.status == "finished" and info.epochs_done == 2 and info.has_model
        spec = json.loads((info.path / "spec.json").read_text())
        conv = next(layer for layer in spec["layers"] if layer["type"] == "Conv2D")
        assert conv["padding"] == padding.split()[1]
    same_meta = json.loads((found["padding same"].path / "meta.json").read_text())
    valid_meta = json.loads((found["padding valid"].path / "meta.json").read_text())
    assert same_meta["seed"] == valid_meta["seed"] == 3

    at.button(key="pad_compare").click().run()  # to the Runs page, with these two runs compared
    assert not at.exception
    assert at.title[0].value == "Runs"
    assert at.multiselect(key="runs_compare").value == [found["padding same"].id, found["padding valid"].id]
    diff = at.table[0].value  # the settings that differ between the compared runs: padding and nothing else
    assert list(diff.index) == ["layer 2 · padding"]
    assert sorted(diff.iloc[0]) == ["same", "valid"]
