"""The Dataset page in Streamlit's AppTest: discovery, loading parameters, imports, the built-in digits."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from lab.data import zip_import
from lab.errors import LabError

ROOT = Path(__file__).resolve().parents[1]


def dataset_page():
    from lab.ui import dataset

    dataset.render()


def make_dataset(folder: Path, classes=("cat", "dog", "owl"), train=4, test=2, size=(16, 16), mode="RGB"):
    rng = np.random.default_rng(0)
    for split, count in (("Train", train), ("Test", test)):
        if not count:
            continue
        for cls in classes:
            (folder / split / cls).mkdir(parents=True, exist_ok=True)
            for i in range(count):
                shape = (size[0], size[1], 3) if mode == "RGB" else size
                Image.fromarray(rng.integers(0, 255, shape, dtype=np.uint8), mode).save(
                    folder / split / cls / f"{i}.png")
    return folder


def png_bytes(size=(8, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full(size, 200, dtype=np.uint8), "L").save(buffer, format="PNG")
    return buffer.getvalue()


def csv_bytes(labels=(0, 1, 2, 1)) -> bytes:
    header = "label," + ",".join(f"pixel{i}" for i in range(1, 785))
    rows = [f"{label}," + ",".join(str((label * 40 + i) % 256) for i in range(784)) for label in labels]
    return ("\n".join([header, *rows]) + "\n").encode()


def run_page() -> AppTest:
    app = AppTest.from_function(dataset_page, default_timeout=60)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def texts(elements) -> list[str]:
    return [e.value for e in elements]


def uploader(app: AppTest, base: str):
    """The uploader of the batch now starting: once a batch is imported it is drawn anew, under a new key."""
    found = [u for u in app.get("file_uploader") if u.key == base or u.key.startswith(f"{base}_")]
    assert len(found) == 1, [u.key for u in found]
    return found[0]


def test_discovers_datasets_and_adapts_the_network(data_root):
    make_dataset(data_root / "animals")
    make_dataset(data_root / "letters", classes=tuple("ABCDE"), size=(28, 28), mode="L", test=0)
    app = run_page()
    assert app.selectbox(key="ds_pick").options == [str(data_root / "animals") + "  ·  3 classes",
                                                    str(data_root / "letters") + "  ·  5 classes"] or \
        len(app.selectbox(key="ds_pick").options) == 2
    assert app.session_state["dataset"] == str(data_root / "animals")
    spec = app.session_state["spec"]
    assert spec["input_shape"] == [16, 16, 3] and spec["layers"][-1]["units"] == 3
    assert app.session_state["load_params"] == {"image_size": [16, 16], "color_mode": "rgb", "batch_size": 32,
                                                "validation_split": 0.2, "seed": 1337, "shuffle": True}
    assert any(m.label == "Classes" and m.value == "3" for m in app.metric)
    assert app.get("vega_lite_chart"), "the per-class bar chart"
    assert len(app.get("image")) == 3

    app.selectbox(key="ds_pick").set_value(str(data_root / "letters")).run()
    assert app.session_state["dataset"] == str(data_root / "letters")
    spec = app.session_state["spec"]
    assert spec["input_shape"] == [28, 28, 1] and spec["layers"][-1]["units"] == 5
    assert any("5 units" in text for text in texts(app.info))


def test_loading_parameters_change_the_input_shape(data_root):
    make_dataset(data_root / "animals")
    app = run_page()
    app.checkbox(key="ds_native").uncheck().run()
    app.number_input(key="ds_h").set_value(32).run()
    app.number_input(key="ds_w").set_value(24).run()
    app.radio(key="ds_color").set_value("grayscale").run()
    app.select_slider(key="ds_batch").set_value(64).run()
    app.slider(key="ds_val").set_value(0.3).run()
    params = app.session_state["load_params"]
    assert params["image_size"] == [32, 24] and params["color_mode"] == "grayscale"
    assert params["batch_size"] == 64 and params["validation_split"] == pytest.approx(0.3)
    assert app.session_state["spec"]["input_shape"] == [32, 24, 1]
    assert any("32 × 24 × 1" in c.value for c in app.caption)


def test_problems_of_a_dataset_are_shown(data_root):
    folder = make_dataset(data_root / "animals")
    (folder / "Train" / "cat" / "broken.png").write_bytes(b"not an image at all")
    app = run_page()
    assert any("broken.png" in e.value for e in app.markdown) or any("broken.png" in e.value for e in app.warning)


def test_generates_the_built_in_digits_when_there_is_no_data(data_root, monkeypatch):
    from lab.data import sample_digits

    calls = []

    def fake_ensure(root=None, progress=None, train_per_class=None):
        calls.append(root)
        if progress:
            progress(0.5, "half")
        return make_dataset(Path(root) / "sketch-digits", classes=tuple("0123456789"), train=1, test=1,
                            size=(28, 28), mode="L")

    monkeypatch.setattr(sample_digits, "ensure", fake_ensure)
    app = run_page()
    assert len(calls) == 1
    assert app.session_state["dataset"] == str(data_root / "sketch-digits")
    assert any("built-in dataset" in s.value for s in app.success)
    assert app.session_state["spec"]["layers"][-1]["units"] == 10
    app.run()
    assert len(calls) == 1


def test_the_large_built_in_digits_go_into_their_own_folder(data_root, monkeypatch):
    from lab.data import sample_digits

    make_dataset(data_root / "sketch-digits", classes=tuple("0123456789"), train=1, test=1, size=(28, 28), mode="L")
    asked = []

    def fake_ensure(root=None, progress=None, train_per_class=None):
        asked.append(train_per_class)
        progress(1.0, "done")
        return make_dataset(Path(root) / sample_digits.name_for(train_per_class), classes=tuple("0123456789"),
                            train=2, test=1, size=(28, 28), mode="L")

    monkeypatch.setattr(sample_digits, "ensure", fake_ensure)
    app = run_page()
    make = app.button(key="ds_make_digits")
    assert make.disabled and make.label == "Make sketch-digits"  # the quick set is there already
    app.radio(key="ds_digits_size").set_value(sample_digits.LARGE_PER_CLASS).run()
    assert any("about 95 %" in c.value for c in app.caption)
    make = app.button(key="ds_make_digits")
    assert not make.disabled and make.label == "Make sketch-digits-3000"
    make.click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert asked == [3000]
    assert app.session_state["dataset"] == str(data_root / "sketch-digits-3000")
    assert (data_root / "sketch-digits" / "Train" / "0" / "0.png").is_file()  # the quick set is left as it was
    assert app.button(key="ds_make_digits").disabled


def test_import_a_kaggle_csv(data_root):
    make_dataset(data_root / "animals")
    app = run_page()
    app.file_uploader(key="ds_csv_file").set_value(("sign_mnist_train.csv", csv_bytes(), "text/csv"))
    app.run()
    assert app.text_input(key="ds_csv_name").value == "sign_mnist"
    assert app.radio(key="ds_csv_split").value == "Train"
    app.button(key="ds_csv_go").click().run()
    assert not app.exception
    target = data_root / "sign_mnist" / "Train"
    assert sorted(p.name for p in target.iterdir()) == ["A", "B", "C"]
    assert app.session_state["dataset"] == str(data_root / "sign_mnist")
    assert app.session_state["spec"]["layers"][-1]["units"] == 3
    assert any("Imported 4 images" in s.value for s in app.success)

    # a second import into the same split needs an explicit confirmation
    uploader(app, "ds_csv_file").set_value(("sign_mnist_train.csv", csv_bytes((0, 0)), "text/csv"))
    app.run()
    assert app.button(key="ds_csv_go").disabled
    assert any("exists already" in w.value for w in app.warning)
    assert sorted(p.name for p in target.iterdir()) == ["A", "B", "C"]
    app.checkbox(key="ds_csv_replace").check().run()
    app.button(key="ds_csv_go").click().run()
    assert sorted(p.name for p in target.iterdir()) == ["A"]


def test_a_bad_csv_says_why_and_writes_nothing(data_root):
    make_dataset(data_root / "animals")
    app = run_page()
    app.file_uploader(key="ds_csv_file").set_value(("broken.csv", b"label,pixel1\n0,1,2,3\n", "text/csv"))
    app.run()
    app.button(key="ds_csv_go").click().run()
    assert not app.exception
    assert app.error, "a clear error"
    assert not (data_root / "broken" / "Train").exists()


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_import_a_zip_of_class_folders(data_root):
    make_dataset(data_root / "animals")
    app = run_page()
    payload = zip_bytes({"shapes/round/1.png": png_bytes(), "shapes/round/2.png": png_bytes(),
                         "shapes/square/1.png": png_bytes(), "__MACOSX/._x.png": b"junk",
                         "shapes/readme.txt": b"hello"})
    app.file_uploader(key="ds_zip_file").set_value(("shapes.zip", payload, "application/zip"))
    app.run()
    assert app.text_input(key="ds_zip_name").value == "shapes"
    app.button(key="ds_zip_go").click().run()
    assert not app.exception
    assert sorted(p.name for p in (data_root / "shapes").iterdir()) == ["round", "square"]
    assert app.session_state["dataset"] == str(data_root / "shapes")
    assert app.session_state["spec"]["input_shape"] == [8, 8, 1]
    assert not [p for p in data_root.iterdir() if p.name.startswith(".")]


def test_zip_import_refuses_path_traversal_and_keeps_existing_folders(tmp_path):
    evil = tmp_path / "evil.zip"
    evil.write_bytes(zip_bytes({"A/1.png": png_bytes(), "../../escape/A/2.png": png_bytes()}))
    with pytest.raises(LabError, match="unsafe path"):
        zip_import.import_zip(evil, tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path.parent / "escape").exists()

    good = tmp_path / "good.zip"
    good.write_bytes(zip_bytes({"Train/A/1.png": png_bytes(), "Train/B/1.png": png_bytes()}))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    with pytest.raises(LabError, match="out already holds 1 file; importing would replace them"):
        zip_import.import_zip(good, tmp_path / "out")
    assert (tmp_path / "out" / "keep.txt").read_text() == "mine"
    zip_import.import_zip(good, tmp_path / "out", replace=True)
    assert sorted(p.name for p in (tmp_path / "out" / "Train").iterdir()) == ["A", "B"]
    assert not (tmp_path / "out" / "keep.txt").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []

    (tmp_path / "junk.zip").write_bytes(b"this is not a zip")
    with pytest.raises(LabError, match="not a readable .zip"):
        zip_import.import_zip(tmp_path / "junk.zip", tmp_path / "other")


def test_pages_do_not_import_tensorflow_on_first_draw(tmp_path):
    make_dataset(tmp_path / "Data" / "animals")
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from streamlit.testing.v1 import AppTest

        for page in ("dataset", "architecture"):
            app = AppTest.from_string(f"from lab.ui import {{page}}\\n{{page}}.render()", default_timeout=60).run()
            assert not app.exception, [e.value for e in app.exception]
        import json
        from lab.ui import tf_loader
        facts = {{"before_start": tf_loader.imported_before_start, "started": tf_loader.started()}}
        tf = tf_loader.wait(300)
        facts["ready"] = tf_loader.ready() and hasattr(tf, "keras")
        print(json.dumps(facts))
    """)
    env = {**os.environ, "CNN_LAB_DATA": str(tmp_path / "Data"), "CNN_LAB_RUNS": str(tmp_path / "runs"),
           "CNN_LAB_TF_PRELOAD": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=400,
                            cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    # the first draw ended before anything imported TensorFlow; then the background import finished
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"before_start": False, "started": True,
                                                                  "ready": True}


def test_tf_loader_records_that_tensorflow_was_not_imported_before_start(monkeypatch):
    from lab.ui import tf_loader

    monkeypatch.setenv("CNN_LAB_TF_PRELOAD", "0")
    assert tf_loader.enabled() is False
    monkeypatch.setenv("CNN_LAB_TF_PRELOAD", "1")
    assert tf_loader.enabled() is True


def dataset_page_in_portuguese():
    from lab import i18n
    from lab.ui import dataset

    i18n.use("pt-BR")
    try:
        dataset.render()
    finally:
        i18n.use(None)


def test_the_import_speaks_portuguese(data_root):
    make_dataset(data_root / "animals")
    make_dataset(data_root / "sign_mnist", classes=("A", "B", "C"), size=(28, 28), mode="L", test=0)
    app = AppTest.from_function(dataset_page_in_portuguese, default_timeout=60).run()
    assert not app.exception, [e.value for e in app.exception]
    assert app.title[0].value == "Conjunto de dados"
    app.file_uploader(key="ds_csv_file").set_value(("sign_mnist_train.csv", csv_bytes(), "text/csv")).run()
    assert texts(app.warning) == [f"{data_root / 'sign_mnist' / 'Train'} já existe e contém 12 imagens em 3 classes."]
    assert app.checkbox(key="ds_csv_replace").label == "Substituir as imagens de Train que já existem"
    app.checkbox(key="ds_csv_replace").check().run()
    app.button(key="ds_csv_go").click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert texts(app.success) == [f"Importação concluída: 4 imagens em 3 classes, de sign_mnist_train.csv para "
                                  f"{data_root / 'sign_mnist' / 'Train'}."]


def test_a_refused_zip_import_names_the_checkbox_in_the_readers_language(data_root):
    from lab import i18n
    from lab.ui import dataset

    make_dataset(data_root / "shapes")
    before = sorted(p.relative_to(data_root).as_posix() for p in data_root.rglob("*"))

    class Upload(io.BytesIO):
        name = "shapes.zip"

    class Place:
        """Where the page draws the progress bar."""

        def progress(self, *args, **kwargs):
            return self

    payload = zip_bytes({"A/1.png": png_bytes()})
    refusals = {}
    for lang in ("en", "pt-BR"):
        with i18n.speaking(lang), pytest.raises(LabError) as refusal:
            dataset._import_zip(Upload(payload), "shapes", False, Place())
        refusals[lang] = str(refusal.value)
    assert refusals["en"].endswith("18 images in 3 classes; importing would replace them. Tick “Replace the "
                                   "existing dataset” to replace them, or pick another name.")
    assert refusals["pt-BR"].endswith("18 imagens em 3 classes; importar substituiria esse conteúdo. Marque "
                                      "“Substituir o conjunto de dados que já existe” para substituir esse "
                                      "conteúdo, ou escolha outro nome.")
    assert sorted(p.relative_to(data_root).as_posix() for p in data_root.rglob("*")) == before


def test_two_uploads_in_a_row_leave_the_uploader_empty_after_each(data_root):
    make_dataset(data_root / "animals")
    app = run_page()
    first = uploader(app, "ds_csv_file")
    first.set_value(("sign_mnist_train.csv", csv_bytes((0, 1, 2, 1)), "text/csv")).run()
    app.button(key="ds_csv_go").click().run()
    assert not app.exception, [e.value for e in app.exception]
    emptied = uploader(app, "ds_csv_file")
    assert emptied.key != first.key and emptied.value is None
    assert not [w for w in app.text_input if w.key == "ds_csv_name"], "the batch's own settings went with it"
    assert texts(app.success) == [f"Imported 4 images in 3 classes from sign_mnist_train.csv into "
                                  f"{data_root / 'sign_mnist' / 'Train'}."]

    # the next batch starts empty, is suggested its own split and is not replaced without asking
    emptied.set_value(("sign_mnist_test.csv", csv_bytes((0, 1, 2)), "text/csv")).run()
    assert app.radio(key="ds_csv_split").value == "Test"
    assert not [c for c in app.checkbox if c.key == "ds_csv_replace"]
    app.button(key="ds_csv_go").click().run()
    assert not app.exception, [e.value for e in app.exception]
    second = uploader(app, "ds_csv_file")
    assert second.key not in (first.key, emptied.key) and second.value is None
    assert texts(app.success) == [f"Imported 3 images in 3 classes from sign_mnist_test.csv into "
                                  f"{data_root / 'sign_mnist' / 'Test'}."]
    assert {m.label: m.value for m in app.metric}["Train images"] == "4"
    assert {m.label: m.value for m in app.metric}["Test images"] == "3"

    # a zip goes the same way, and says what it brought
    payload = zip_bytes({"round/1.png": png_bytes(), "round/2.png": png_bytes(), "square/1.png": png_bytes()})
    for round_, name in enumerate(("shapes", "blocks")):
        before = uploader(app, "ds_zip_file")
        before.set_value((f"{name}.zip", payload, "application/zip")).run()
        app.button(key="ds_zip_go").click().run()
        assert not app.exception, [e.value for e in app.exception]
        after = uploader(app, "ds_zip_file")
        assert after.key != before.key and after.value is None, round_
        assert texts(app.success) == [f"Imported {name}.zip into {data_root / name}: 3 images in 2 classes."]


def test_a_failed_import_keeps_the_upload_for_another_try(data_root):
    make_dataset(data_root / "animals")
    app = run_page()
    uploader(app, "ds_csv_file").set_value(("signs.csv", csv_bytes(), "text/csv")).run()
    app.text_input(key="ds_csv_name").set_value("../outside").run()
    app.button(key="ds_csv_go").click().run()
    assert texts(app.error) == ["Use a dataset name of letters, digits, '-', '_' or '.', starting with a letter or "
                                "digit."]
    kept = uploader(app, "ds_csv_file")
    assert kept.key == "ds_csv_file" and kept.value.name == "signs.csv"
    assert sorted(p.name for p in data_root.iterdir()) == ["animals"]
    app.text_input(key="ds_csv_name").set_value("signs").run()
    app.button(key="ds_csv_go").click().run()
    assert sorted(p.name for p in (data_root / "signs" / "Train").iterdir()) == ["A", "B", "C"]
    assert uploader(app, "ds_csv_file").value is None


def test_an_import_that_leaves_the_dataset_unusable_says_both(data_root):
    make_dataset(data_root / "signs", classes=("A", "B", "C"), size=(28, 28), mode="L", test=0)
    app = run_page()
    uploader(app, "ds_csv_file").set_value(("signs_test.csv", csv_bytes((0, 1, 1)), "text/csv")).run()
    app.button(key="ds_csv_go").click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert texts(app.success) == [f"Imported 3 images in 2 classes from signs_test.csv into "
                                  f"{data_root / 'signs' / 'Test'}."]
    assert any("Train has class 'C' that Test lacks" in e.value for e in app.error), texts(app.error)
    assert uploader(app, "ds_csv_file").value is None


def test_the_kaggle_test_csv_alone_makes_a_dataset_that_learns_from_test(data_root, sign_mnist):
    make_dataset(data_root / "animals")  # a dataset is there already, so the built-in digits are not made
    app = run_page()
    csv = (sign_mnist / "sign_mnist_test.csv").read_bytes()
    uploader(app, "ds_csv_file").set_value(("sign_mnist_test.csv", csv, "text/csv")).run()
    assert app.radio(key="ds_csv_split").value == "Test"
    app.button(key="ds_csv_go").click().run()
    assert not app.exception, [e.value for e in app.exception]
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Test images"] == "7,172" and "Train images" not in metrics and metrics["Classes"] == "24"
    shown = [e.value for kind in (app.info, app.warning, app.caption) for e in kind]
    assert "No Train/ folder: 80% of Test (5,738 images) is used to learn and 20% (1,434 images) to validate; " \
           "there is no separate test, so the run is scored on those validation images." in shown
    assert not [text for text in shown if "No Test/" in text or "of Train" in text]
    assert uploader(app, "ds_csv_file").value is None
