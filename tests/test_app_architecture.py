"""The Architecture page in Streamlit's AppTest: editing layers updates the shape table at once.

The layers are listed one line each (the radio ``arch_layer``); only the picked layer's widgets are drawn,
with its actions ``arch_up`` / ``arch_down`` / ``arch_dup`` / ``arch_rm``.
"""

from __future__ import annotations

import html
import json
import re
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

from lab import presets, shapes  # noqa: E402
from lab import spec as specs  # noqa: E402
from lab.i18n import t  # noqa: E402
from lab.train.snapshot import Snapshot  # noqa: E402
from lab.ui import session  # noqa: E402


def architecture_page():
    from lab.ui import architecture

    architecture.render()


@pytest.fixture(autouse=True)
def _environment(data_root):
    """Every test here uses an empty tmp_path/Data and tmp_path/runs (conftest's ``data_root``)."""


@pytest.fixture
def at():
    app = AppTest.from_function(architecture_page, default_timeout=60)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def table_html(app) -> str:
    return next(m.value for m in app.markdown if m.value.startswith('<table class="lab-shape-table"'))


def _text(cell: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", cell)).split()


def table_rows(app) -> list[dict]:
    """The table's body rows as dicts: number, layer, shape, params, formula, css class."""
    body = table_html(app).split("<tbody>", 1)[1]
    rows = []
    for row in re.findall(r"<tr([^>]*)>(.*?)</tr>", body, flags=re.S):
        attributes, inner = row
        cells = [" ".join(_text(cell)) for cell in re.findall(r"<td[^>]*>(.*?)</td>", inner, flags=re.S)]
        css = re.search(r'class="([^"]*)"', attributes)
        rows.append({"number": cells[0], "layer": cells[1], "shape": cells[2], "params": cells[3],
                     "formula": cells[4], "class": css.group(1) if css else ""})
    return rows


def layer_list(app) -> list[str]:
    """The layer list's lines, as drawn (markdown)."""
    return list(app.radio(key="arch_layer").options)


def uids(app) -> list[str]:
    return list(app.session_state["_arch_uids"])


def spec(app) -> dict:
    return app.session_state["spec"]


def shown_valid(app) -> bool:
    """Whether the page says the network is valid (and so lets it train)."""
    return any("The network is valid" in s.value for s in app.success)


def select(app, uid: str):
    """Picks a layer in the list, which shows its settings."""
    app.radio(key="arch_layer").set_value(uid).run()
    assert not app.exception, [e.value for e in app.exception]
    assert app.radio(key="arch_layer").value == uid
    return app


def first_conv(app) -> tuple[int, str]:
    index = next(i for i, layer in enumerate(spec(app)["layers"]) if layer["type"] == "Conv2D")
    uid = uids(app)[index]
    select(app, uid)
    return index, uid


def drawn_layers(app) -> set[str]:
    """The uids whose argument widgets are on the page."""
    keys = [w.key for kind in ("number_input", "radio", "checkbox", "selectbox", "slider")
            for w in app.get(kind) if w.key]
    return {m.group(1) for m in (re.match(r"arch_(u\d+)_", k) for k in keys) if m}


def test_starts_from_the_recommended_preset_with_input_row_first(at):
    rows = table_rows(at)
    expected = shapes.table(presets.load("recommended"))
    assert rows[0]["layer"] == "Input" and rows[0]["shape"] == "28 × 28 × 1"
    assert len(rows) == len(expected.rows) + 2  # input, layers, totals
    assert rows[-1]["params"] == f"{expected.total_params:,}"
    assert f"trainable {expected.trainable_params:,}" in rows[-1]["formula"]
    assert shown_valid(at)
    lines = layer_list(at)
    assert len(lines) == len(expected.rows)
    assert lines[0] == "1 · **Rescaling** — × 1/255"
    assert lines[2] == "3 · **Conv2D** — 32 filters 3×3, same, relu"
    assert lines[-1].endswith("· classifier head")
    # the first Conv2D is picked to start with, and only its widgets are drawn
    index = next(i for i, layer in enumerate(spec(at)["layers"]) if layer["type"] == "Conv2D")
    assert at.radio(key="arch_layer").value == uids(at)[index]
    assert drawn_layers(at) == {uids(at)[index]}
    assert at.number_input(key=f"arch_{uids(at)[index]}_filters").value == 32


def test_picking_another_layer_keeps_the_values_of_the_first(at):
    index, uid = first_conv(at)
    at.number_input(key=f"arch_{uid}_filters").set_value(5).run()
    assert "5 filters 3×3" in layer_list(at)[index]
    dropout = next(i for i, layer in enumerate(spec(at)["layers"]) if layer["type"] == "Dropout")
    select(at, uids(at)[dropout])
    assert drawn_layers(at) == {uids(at)[dropout]}
    at.slider(key=f"arch_{uids(at)[dropout]}_rate").set_value(0.25).run()
    assert spec(at)["layers"][index]["filters"] == 5  # kept in the spec while its widgets are not drawn
    assert table_rows(at)[index + 1]["params"] == f"{9 * 5 + 5:,}"
    assert layer_list(at)[dropout] == f"{dropout + 1} · **Dropout** — rate 0.25"
    select(at, uid)
    assert at.number_input(key=f"arch_{uid}_filters").value == 5
    assert spec(at)["layers"][dropout]["rate"] == 0.25


def test_padding_same_to_valid_shrinks_28_to_26(at):
    index, uid = first_conv(at)
    assert table_rows(at)[index + 1]["shape"] == "28 × 28 × 32"
    at.radio(key=f"arch_{uid}_padding").set_value("valid").run()
    row = table_rows(at)[index + 1]
    assert row["shape"] == "26 × 26 × 32"
    assert "⌊(28 − 3) / 1⌋ + 1 = 26" in row["formula"]
    assert spec(at)["layers"][index]["padding"] == "valid"


def test_filters_change_the_parameter_count(at):
    index, uid = first_conv(at)
    assert table_rows(at)[index + 1]["params"] == "320"
    at.number_input(key=f"arch_{uid}_filters").set_value(16).run()
    rows = table_rows(at)
    assert rows[index + 1]["params"] == "160"
    assert rows[index + 1]["shape"] == "28 × 28 × 16"
    assert rows[-1]["params"] == f"{shapes.table(spec(at)).total_params:,}"


def test_kernel_size_and_strides_have_height_and_width(at):
    index, uid = first_conv(at)
    at.number_input(key=f"arch_{uid}_kernel_size_h").set_value(5).run()
    at.number_input(key=f"arch_{uid}_strides_w").set_value(2).run()
    layer = spec(at)["layers"][index]
    assert layer["kernel_size"] == [5, 3] and layer["strides"] == [1, 2]
    assert table_rows(at)[index + 1]["shape"] == "28 × 14 × 32"


def test_a_pool_that_does_not_fit_is_red_and_blocks_training(at):
    pool = next(i for i, layer in enumerate(spec(at)["layers"]) if layer["type"] == "MaxPooling2D")
    uid = uids(at)[pool]
    select(at, uid)
    at.number_input(key=f"arch_{uid}_pool_size_h").set_value(30).run()
    at.number_input(key=f"arch_{uid}_pool_size_w").set_value(30).run()
    row = table_rows(at)[pool + 1]
    assert row["class"] == "lab-row-error"
    assert "does not fit a 28×28 input" in row["formula"]
    assert not shown_valid(at)
    assert any("does not fit" in e.value for e in at.error)
    assert any("Training is off" in e.value for e in at.error)
    assert layer_list(at)[pool].startswith(f":red[⛔ {pool + 1} · **MaxPooling2D**")
    assert at.button(key="arch_dl_code_off").disabled
    at.number_input(key=f"arch_{uid}_pool_size_h").set_value(2).run()
    at.number_input(key=f"arch_{uid}_pool_size_w").set_value(2).run()
    assert shown_valid(at)
    assert not any("does not fit" in e.value for e in at.error)


def test_warnings_are_yellow(at):
    select(at, uids(at)[0])
    at.button(key="arch_rm").click().run()  # remove Rescaling: raw pixels warning
    assert any(r["class"] == "lab-row-warning" and "raw pixels" in r["formula"] for r in table_rows(at))
    assert shown_valid(at)


def test_add_remove_move_and_duplicate_layers(at):
    count = len(spec(at)["layers"])
    at.selectbox(key="arch_add_type").set_value("BatchNormalization")
    at.selectbox(key="arch_add_pos").set_value(1)
    at.button(key="arch_add").click().run()
    assert [layer["type"] for layer in spec(at)["layers"][:3]] == ["Rescaling", "BatchNormalization",
                                                                    "RandomTranslation"]
    assert len(table_rows(at)) == count + 3
    assert "params: 4·1" in table_rows(at)[2]["formula"]

    added = uids(at)[1]
    assert at.radio(key="arch_layer").value == added  # the new layer is picked
    at.button(key="arch_rm").click().run()
    assert len(spec(at)["layers"]) == count and added not in uids(at)
    assert [layer["type"] for layer in spec(at)["layers"][:2]] == ["Rescaling", "RandomTranslation"]

    index, uid = first_conv(at)
    at.number_input(key=f"arch_{uid}_filters").set_value(8).run()
    at.button(key="arch_up").click().run()
    assert spec(at)["layers"][index - 1]["type"] == "Conv2D"
    assert uids(at)[index - 1] == uid
    assert at.radio(key="arch_layer").value == uid  # the moved layer stays picked
    assert at.number_input(key=f"arch_{uid}_filters").value == 8  # the value moved with its layer
    assert spec(at)["layers"][index - 1]["filters"] == 8
    assert table_rows(at)[index]["params"] == f"{9 * 8 + 8:,}"
    assert layer_list(at)[index - 1].startswith(f"{index} · **Conv2D** — 8 filters")
    at.button(key="arch_down").click().run()
    assert uids(at)[index] == uid
    assert spec(at)["layers"][index]["filters"] == 8

    at.number_input(key=f"arch_{uid}_filters").set_value(12).run()
    at.button(key="arch_dup").click().run()
    layers = spec(at)["layers"]
    assert layers[index]["type"] == layers[index + 1]["type"] == "Conv2D"
    assert layers[index]["filters"] == layers[index + 1]["filters"] == 12
    copy_uid = uids(at)[index + 1]
    assert copy_uid != uid
    assert at.radio(key="arch_layer").value == copy_uid  # the copy is picked, ready to change
    assert at.number_input(key=f"arch_{copy_uid}_filters").value == 12
    at.number_input(key=f"arch_{copy_uid}_filters").set_value(20).run()
    assert spec(at)["layers"][index]["filters"] == 12 and spec(at)["layers"][index + 1]["filters"] == 20
    assert table_rows(at)[index + 2]["params"] == f"{3 * 3 * 12 * 20 + 20:,}"


def test_first_and_last_layers_cannot_move_out(at):
    select(at, uids(at)[0])
    assert at.button(key="arch_up").disabled and not at.button(key="arch_down").disabled
    select(at, uids(at)[-1])
    assert at.button(key="arch_down").disabled and not at.button(key="arch_up").disabled


def test_advanced_arguments_are_written_only_when_changed(at):
    index, uid = first_conv(at)
    assert "use_bias" not in spec(at)["layers"][index]
    at.checkbox(key=f"arch_{uid}_use_bias").uncheck().run()
    assert spec(at)["layers"][index]["use_bias"] is False
    assert table_rows(at)[index + 1]["params"] == "288"


def test_loading_a_preset_replaces_the_layers(at):
    at.selectbox(key="arch_preset").set_value("seed-first")
    at.button(key="arch_load_preset").click().run()
    assert [layer["type"] for layer in spec(at)["layers"]] == ["Conv2D", "Flatten", "Dense", "Dense"]
    assert any("seed-first" in i.value for i in at.info)
    assert any(r["class"] == "lab-row-warning" for r in table_rows(at))  # raw pixels
    uid = uids(at)[0]
    assert at.radio(key="arch_layer").value == uid  # a fresh network: its first Conv2D is picked
    assert at.radio(key=f"arch_{uid}_padding").value == "same"


def test_optimizer_settings(at):
    gen = at.session_state[session.GENERATION]
    at.selectbox(key=f"arch_g{gen}_opt").set_value("sgd").run()
    at.slider(key=f"arch_g{gen}_sgd_momentum").set_value(0.5).run()
    at.checkbox(key=f"arch_g{gen}_nesterov").check().run()
    at.number_input(key=f"arch_g{gen}_lr").set_value(0.05).run()
    optimizer = spec(at)["compile"]["optimizer"]
    assert optimizer == {"name": "sgd", "learning_rate": 0.05, "momentum": 0.5, "nesterov": True}
    at.selectbox(key=f"arch_g{gen}_opt").set_value("rmsprop").run()
    optimizer = spec(at)["compile"]["optimizer"]
    assert optimizer["name"] == "rmsprop" and "nesterov" not in optimizer and "momentum" in optimizer
    at.multiselect(key=f"arch_g{gen}_metrics").set_value(["accuracy", "top_3_accuracy"]).run()
    assert spec(at)["compile"]["metrics"] == ["accuracy", "top_3_accuracy"]


def test_uploading_a_good_spec_replaces_the_network(at):
    good = presets.load("seed-improved")
    at.file_uploader(key="arch_upload").set_value(("mine.json", json.dumps(good).encode(), "application/json"))
    at.run()
    assert [layer["type"] for layer in spec(at)["layers"]] == [layer["type"] for layer in good["layers"]]
    assert any("mine.json" in i.value for i in at.info)
    assert not at.error


@pytest.mark.parametrize("content, message", [
    (b"{not json", "not valid JSON"),
    (b"[1, 2, 3]", "not a spec"),
    (json.dumps({"input_shape": [28, 28, 1], "layers": [{"type": "MaxPooling2D", "pool_size": [30, 30]},
                                                        {"type": "Flatten"}, {"type": "Dense", "units": 24}]}
                ).encode(), "does not fit"),
    (b"\xff\xfe\x00", "not a text file"),
])
def test_a_bad_spec_upload_keeps_the_current_network(at, content, message):
    before = json.dumps(spec(at), sort_keys=True)
    at.file_uploader(key="arch_upload").set_value(("bad.json", content, "application/json"))
    at.run()
    assert not at.exception
    assert any(message in e.value and "unchanged" in e.value for e in at.error), [e.value for e in at.error]
    assert json.dumps(spec(at), sort_keys=True) == before
    index, uid = first_conv(at)
    at.number_input(key=f"arch_{uid}_filters").set_value(7).run()  # the editor still works
    assert spec(at)["layers"][index]["filters"] == 7


def two_pages():
    import streamlit as st

    from lab.ui import architecture

    if st.session_state.get("page") == "other":
        st.write("another page")
    else:
        architecture.render()


def test_spec_survives_leaving_the_page():
    app = AppTest.from_function(two_pages, default_timeout=60).run()
    index, uid = first_conv(app)
    app.radio(key=f"arch_{uid}_padding").set_value("valid").run()
    app.number_input(key=f"arch_{uid}_filters").set_value(9).run()
    app.session_state["page"] = "other"
    app.run()  # the editor's widgets are not drawn: Streamlit forgets their values
    app.session_state["page"] = "architecture"
    app.run()
    assert table_rows(app)[index + 1]["shape"] == "26 × 26 × 9"
    assert app.radio(key="arch_layer").value == uid
    assert app.radio(key=f"arch_{uids(app)[index]}_padding").value == "valid"


def test_switching_to_portuguese_keeps_the_picked_layer_its_values_and_the_network(data_root):
    from ui_support import APP, make_dataset, open_page

    make_dataset(data_root, "tiny")
    app = AppTest.from_file(APP, default_timeout=60)
    open_page(app, "architecture")
    index, uid = first_conv(app)
    app.number_input(key=f"arch_{uid}_filters").set_value(12).run()
    app.radio(key=f"arch_{uid}_padding").set_value("valid").run()
    app.number_input(key=f"arch_{uid}_kernel_size_w").set_value(5).run()
    before = json.loads(json.dumps(spec(app)))
    assert any(s.value.startswith("Layers") for s in app.subheader)

    app.selectbox(key=session.LANGUAGE_PICK).set_value("pt-BR").run()
    assert not app.exception, [e.value for e in app.exception]
    assert app.session_state[session.LANGUAGE] == "pt-BR"
    assert any(s.value == "Camadas" for s in app.subheader)  # the page speaks Portuguese now
    assert app.radio(key="arch_layer").value == uid and uids(app)[index] == uid
    assert app.number_input(key=f"arch_{uid}_filters").value == 12
    assert app.radio(key=f"arch_{uid}_padding").value == "valid"
    assert app.number_input(key=f"arch_{uid}_kernel_size_w").value == 5
    assert app.number_input(key=f"arch_{uid}_kernel_size_w").label == "kernel_size · largura"
    assert spec(app) == before
    assert table_rows(app)[index + 1]["shape"] == "26 × 24 × 12"
    assert "12 filtros 3×5, valid, relu" in layer_list(app)[index]


# --- the padding page ---------------------------------------------------------------------------------------------

def padding_page():
    from lab.ui import padding

    padding.render()


def test_padding_arithmetic_and_feature_maps():
    import numpy as np

    from lab.ui import padding

    image = np.random.default_rng(0).uniform(0, 255, (28, 28, 1)).astype(np.float32)
    conv = {"type": "Conv2D", "filters": 4, "kernel_size": [3, 3], "strides": [1, 1]}
    assert [m.shape for _, m in padding.feature_maps(image, conv, "same")] == [(28, 28)] * 4
    assert [m.shape for _, m in padding.feature_maps(image, conv, "valid")] == [(26, 26)] * 4
    pool = {"type": "MaxPooling2D", "pool_size": [3, 3], "strides": [2, 2]}
    (_, same), = padding.feature_maps(image, pool, "same")
    (_, valid), = padding.feature_maps(image, pool, "valid")
    assert same.shape == (14, 14) and valid.shape == (13, 13)
    assert same.max() == image.max() or np.isfinite(same).all()
    average = {"type": "AveragePooling2D", "pool_size": [2, 2]}
    (_, mean), = padding.feature_maps(np.ones((5, 5, 1), np.float32), average, "same")
    assert mean.shape == (3, 3) and np.allclose(mean, 1.0)  # padded zeros are not averaged in
    picture = padding.padding_picture(image, conv, "same", target=300)
    assert picture.size == (30 * 10, 30 * 10)  # one zero on each side, 10 pixels a cell
    wide = {"type": "Conv2D", "filters": 4, "kernel_size": [4, 4]}
    assert padding.padding_picture(image, wide, "same", target=300).size == (31 * 9, 31 * 9)  # the odd zero after
    assert padding.padding_picture(image, wide, "valid", target=300).size == (28 * 10, 28 * 10)
    (_, strided), = padding.feature_maps(image, {"type": "MaxPooling2D", "pool_size": [3, 3], "strides": [2, 2]},
                                         "valid")
    assert strided.shape == (13, 13)


def test_padding_page_shows_both_outputs_and_queues_twin_trainings(tmp_path, monkeypatch):
    import lab.train.job as job

    data = tmp_path / "Data" / "digits" / "Train"
    from PIL import Image

    for cls in "01":
        (data / cls).mkdir(parents=True)
        for i in range(3):
            Image.new("L", (28, 28), 40 * i).save(data / cls / f"{i}.png")
    submitted = []

    class FakeManager:
        """Takes the twins and keeps them waiting in its queue."""

        def submit(self, config):
            submitted.append(config)
            return types.SimpleNamespace(id=f"job-{len(submitted)}")

        def get(self, job_id, viewer=None):
            return types.SimpleNamespace(id=job_id, snapshot=lambda: Snapshot(status="queued"))

    monkeypatch.setattr(job, "manager", lambda: FakeManager())
    app = AppTest.from_function(padding_page, default_timeout=60).run()
    assert not app.exception, [e.value for e in app.exception]
    outputs = [m.value for m in app.markdown if m.value.startswith("Output:")]
    assert "28 × 28 × 32" in outputs[0] and "26 × 26 × 32" in outputs[1]
    assert len(app.get("image")) >= 2 + 8
    assert app.session_state["dataset"] == str(tmp_path / "Data" / "digits")
    app.radio(key="pad_scope").set_value("every").run()
    app.button(key="pad_train").click().run()
    assert not app.exception
    assert [c.name for c in submitted] == ["padding same", "padding valid"]
    same, valid = (c.spec for c in submitted)
    assert {layer.get("padding") for layer in same["layers"] if "padding" in layer} == {"same"}
    assert {layer.get("padding") for layer in valid["layers"] if "padding" in layer} == {"valid"}
    assert submitted[0].data_path == str(tmp_path / "Data" / "digits")
    assert submitted[0].runs_root == str(tmp_path / "runs")
    assert app.session_state["_pad_submitted"] == ["job-1", "job-2"]
    assert any("queued" in c.value for c in app.caption)
    assert [p.text for p in app.get("progress")][:2] == [f'padding "{p}" · ' + t("ui_padding.train.waiting")
                                                         for p in ("same", "valid")]


def test_streamlit_does_not_clear_the_keras_session_after_each_run(at, monkeypatch):
    import types

    from streamlit.runtime.scriptrunner import script_runner

    cleared = []
    fake = types.SimpleNamespace(backend=types.SimpleNamespace(clear_session=lambda: cleared.append(1)))
    monkeypatch.setitem(sys.modules, "keras", fake)
    at.run()
    script_runner._clean_problem_modules()  # what Streamlit calls after every run
    assert getattr(script_runner._clean_problem_modules, "_keeps_keras", False)
    assert cleared == []


def test_an_edit_checks_the_network_once_and_an_unchanged_rerun_not_at_all(at, monkeypatch):
    import traceback

    index, uid = first_conv(at)
    real, calls = shapes.table, []

    def counted(spec):
        if not any(frame.filename.endswith("codegen.py") for frame in traceback.extract_stack()):
            calls.append(1)  # the Keras script export validates its spec on its own; the page's views count here
        return real(spec)

    monkeypatch.setattr(shapes, "table", counted)
    monkeypatch.setattr(specs, "table", counted)  # lab.spec imports it by name
    at.number_input(key=f"arch_{uid}_filters").set_value(9).run()
    assert table_rows(at)[index + 1]["shape"].endswith("× 9")
    assert len(calls) == 1  # lab.spec.check computes it once; every view of this change draws from its report
    calls.clear()
    at.run()
    assert calls == []  # nothing changed: the session's check is reused
