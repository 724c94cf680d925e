"""Recording one's own samples in AppTest: a new dataset from another's classes, adding a drawing, an upload with its
crop square and webcam snapshots from Predict, bursts saved as they arrive (and kept across a reload), the My
samples page with its counts, thumbnails, delete and undo, and every bad input said in one sentence."""

from __future__ import annotations

import base64
import hashlib

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest
from test_app_portuguese import english_on
from ui_support import APP, big_square, make_dataset, open_page, png_bytes, use_lab

from lab import ownership
from lab.data import samples
from lab.ui import identity, session
from lab.ui import samples as samples_page


@pytest.fixture
def lab(tmp_path, monkeypatch):
    """A data root with the square/stripes dataset and no runs: recording needs no model."""
    use_lab(monkeypatch, tmp_path)
    make_dataset(tmp_path / "Data", "tiny", train=4, test=1)
    return tmp_path / "Data"


@pytest.fixture
def letters(lab):
    """A recorded dataset "letters" with the classes of "tiny" (square, stripes), both empty."""
    samples.new_dataset("letters", samples.classes_of(lab / "tiny"), source="tiny", root=lab)
    return lab / "letters"


def page(name: str, lang: str | None = None, secret: str | None = None) -> AppTest:
    """A page of the lab in a new browser, or in a browser seen before when ``secret`` is its cookie."""
    at = AppTest.from_file(APP, default_timeout=60)
    if secret is not None:
        at.session_state[identity.SECRET] = secret
    if lang:
        at.query_params["lang"] = lang
    at.run()
    open_page(at, name)
    assert not at.exception, [e.value for e in at.exception]
    return at


def messages(at) -> list[str]:
    return [m.value for kind in ("success", "warning", "error", "info") for m in getattr(at, kind)]


def png_url(arr: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(arr)).decode("ascii")


def shot(number: int, target=None, arr=None, index=None, total=None) -> dict:
    """A snapshot as the square camera sends it."""
    arr = big_square(160) if arr is None else arr
    value = {"id": f"20261127-1200{number:02d}-abc{number:03d}", "url": png_url(arr), "side": arr.shape[0],
             "target": target}
    if index:
        value.update(burst="20261127-120000-burst1", index=index, total=total)
    return value


def files_in(folder):
    return sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []


# --- datasets -----------------------------------------------------------------------------------------------------


def test_a_first_visit_offers_to_create_a_dataset_from_the_classes_of_another(lab):
    at = page("samples")
    assert any("not recorded any samples yet" in i.value for i in at.info)
    at.text_input(key="record_new_dataset_samples").set_value("my-shapes")
    at.selectbox(key="record_new_dataset_samples_from").set_value("tiny")
    at.button(key="record_new_dataset_samples_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert samples.counts("my-shapes", lab) == {"square": 0, "stripes": 0}
    assert any("Created the dataset my-shapes with the classes of tiny (2)" in s.value for s in at.success)
    assert at.selectbox(key="samples_dataset").value == "my-shapes"
    assert any("No samples yet in square, stripes" in w.value for w in at.warning)
    assert at.button(key="samples_train").disabled  # no class has samples yet
    assert not (at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart"))  # no chart of nothing


def test_a_dataset_starts_with_the_24_letters_of_sign_language_mnist(lab, sign_mnist):
    (lab / "sign-mnist").symlink_to(sign_mnist, target_is_directory=True)
    at = page("samples")
    at.text_input(key="record_new_dataset_samples").set_value("my-letters")
    at.selectbox(key="record_new_dataset_samples_from").set_value("sign-mnist")
    at.button(key="record_new_dataset_samples_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert [m.value for m in at.metric] == ["0", "24", "24"]
    classes = list(samples.counts("my-letters", lab))
    assert len(classes) == 24 and classes[:3] == ["A", "B", "C"] and "J" not in classes and "Z" not in classes
    at = page("predict", secret=at.session_state[identity.SECRET])  # the letters are there to record into, one by one
    at.radio(key="predict_source").set_value("webcam").run()
    assert at.selectbox(key="record_class_webcam").options[:2] == ["A (0)", "B (0)"]


@pytest.mark.parametrize("name, words", [("", "Type a name for the dataset"), ("../up", "cannot contain '/'"),
                                         ("tiny", "already a dataset named 'tiny'"), ("Test", "split folder")])
def test_a_bad_dataset_name_is_one_sentence_and_creates_nothing(lab, name, words):
    at = page("samples")
    before = files_in(lab)
    at.text_input(key="record_new_dataset_samples").set_value(name)
    at.button(key="record_new_dataset_samples_go").click().run()
    assert not at.exception
    assert any(words in e.value for e in at.error), [e.value for e in at.error]
    assert files_in(lab) == before and samples.recorded_datasets(lab) == []


def test_a_new_class_is_added_and_an_empty_name_is_refused(letters):
    at = page("samples")
    at.button(key="record_new_class_samples_go").click().run()
    assert any("Type a name for the class" in e.value for e in at.error)
    at.text_input(key="record_new_class_samples").set_value("circle")
    at.button(key="record_new_class_samples_go").click().run()
    assert not at.exception
    assert samples.counts("letters", letters.parent) == {"circle": 0, "square": 0, "stripes": 0}
    assert at.selectbox(key="samples_class").value == "circle"  # the new class is the one chosen


def test_two_people_record_into_their_own_datasets_and_never_see_each_other_s(lab):
    ana = page("samples")
    ana.text_input(key="record_new_dataset_samples").set_value("anas")
    ana.selectbox(key="record_new_dataset_samples_from").set_value("tiny")
    ana.button(key="record_new_dataset_samples_go").click().run()
    assert not ana.exception, [e.value for e in ana.exception]
    secret = ana.session_state[identity.SECRET]
    assert samples.owner_of(lab / "anas") == ownership.browser_owner(secret)
    saved = samples.add_sample("anas", "square", png_bytes(big_square(64)), root=lab)
    samples.new_dataset("everyones", ["square"], root=lab)  # made on the command line: everyone's
    samples.add_sample("everyones", "square", png_bytes(big_square(64)), root=lab)

    bruno = page("samples")
    assert bruno.selectbox(key="samples_dataset").options == ["everyones"]
    assert "anas" not in bruno.selectbox(key="record_new_dataset_samples_from").options
    open_page(bruno, "dataset")
    assert not bruno.exception
    assert [option.split(" ")[0] for option in bruno.selectbox(key="ds_pick").options] == ["everyones", "tiny"]
    open_page(bruno, "predict")
    assert bruno.selectbox(key="record_dataset_draw").options == ["everyones"]

    # An undo of Ana's that reached Bruno's page some other way is refused, and the sample waits where it was.
    deleted = samples.delete_sample("anas", "square", saved.path.name, lab)
    bruno.session_state[samples_page.UNDO] = deleted
    open_page(bruno, "samples")
    bruno.button(key="samples_undo").click().run()
    assert any("belongs to someone else" in e.value for e in bruno.error), messages(bruno)
    assert deleted.kept.is_file() and not saved.path.exists()

    tab = page("samples", secret=secret)  # Ana's browser, another tab: her dataset and everyone's
    assert tab.selectbox(key="samples_dataset").options == ["anas", "everyones"]
    open_page(tab, "dataset")
    assert [option.split(" ")[0] for option in tab.selectbox(key="ds_pick").options] == ["anas", "everyones", "tiny"]
    open_page(tab, "samples")
    tab.session_state[samples_page.UNDO] = deleted
    tab.run()
    tab.button(key="samples_undo").click().run()
    assert saved.path.is_file(), messages(tab)




def canvas_value(arr: np.ndarray) -> dict:
    return {"drawing": {"raw": {"objects": [{"type": "path"}]}, "data": png_url(arr)}}


def test_a_drawing_is_added_to_the_chosen_class_and_shown(letters):
    at = page("predict")
    assert any("no trained model yet" in i.value for i in at.info)  # and yet the inputs are there to record
    rgba = np.zeros((280, 280, 4), np.uint8)
    rgba[60:220, 60:220] = 255
    at.session_state["predict_canvas_0"] = canvas_value(rgba)
    at.run()
    at.selectbox(key="record_class_draw").set_value("square").run()
    assert at.button(key="record_add_draw").label == "Add to square"
    at.button(key="record_add_draw").click().run()
    assert not at.exception, [e.value for e in at.exception]
    saved = samples.sample_files("letters", "square", letters.parent)
    assert len(saved) == 1
    with Image.open(saved[0]) as kept:
        assert kept.size == (280, 280) and kept.mode == "L"
    assert any(f"Saved {saved[0].name} in square (280×280)" in s.value for s in at.success)
    assert at.selectbox(key="record_class_draw").format_func("square") == "square (1)"


def test_one_sample_is_counted_and_the_page_asks_for_more(letters):
    samples.add_sample("letters", "square", png_bytes(big_square(200)), root=letters.parent)
    at = page("samples")
    assert [m.value for m in at.metric] == ["1", "2", "1"]
    text = messages(at)
    assert any("Only one sample in square" in m for m in text) and any("No samples yet in stripes" in m for m in text)
    assert any("at least two classes" in m for m in text)
    assert len(at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")) == 1


def test_an_upload_is_cropped_by_its_square_and_added_at_the_captured_size(letters):
    picture = np.zeros((300, 400), np.uint8)
    picture[50:250, 20:220] = 255  # a square on the left of a wider picture
    data = png_bytes(picture)
    at = page("predict")
    at.radio(key="predict_source").set_value("upload").run()
    at.file_uploader(key="predict_upload").set_value(("wide.png", data, "image/png"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("(50, 0), 300 × 300" in c.value for c in at.caption)  # the largest centred square first
    at.session_state["predict_square_" + hashlib.sha1(data).hexdigest()[:16]] = {"square": {"x": 10, "y": 40,
                                                                                         "side": 220}}
    at.run()
    assert any("(10, 40), 220 × 220" in c.value for c in at.caption)
    at.button(key="record_add_upload").click().run()
    assert not at.exception
    saved = samples.sample_files("letters", "square", letters.parent)
    with Image.open(saved[0]) as kept:
        assert kept.size == (220, 220)
        assert np.array_equal(np.asarray(kept), picture[40:260, 10:230])


def test_a_tiny_upload_is_refused_with_its_size(letters):
    at = page("predict")
    at.radio(key="predict_source").set_value("upload").run()
    at.file_uploader(key="predict_upload").set_value(("mnist.png", png_bytes(big_square(28)), "image/png"))
    at.run()
    at.button(key="record_add_upload").click().run()
    assert not at.exception
    assert any("28×28 pixels, under the 32×32" in e.value for e in at.error)
    assert samples.counts("letters", letters.parent) == {"square": 0, "stripes": 0}


def test_a_webcam_photo_is_added_once_however_often_it_is_clicked(letters):
    at = page("predict")
    at.radio(key="predict_source").set_value("webcam").run()
    assert any("Take photo" in i.value for i in at.info)
    at.session_state["predict_webcam"] = {"shots": [shot(1)]}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    for _ in range(2):
        at.button(key="record_add_webcam").click().run()
    assert len(samples.sample_files("letters", "square", letters.parent)) == 1
    assert any("already in square" in w.value for w in at.warning)


def test_a_burst_is_saved_as_it_arrives_into_the_class_it_was_taken_for(letters):
    at = page("predict")
    at.radio(key="predict_source").set_value("webcam").run()
    target = {"dataset": "letters", "cls": "stripes"}
    at.session_state["predict_webcam"] = {"shots": [shot(n, target, index=n, total=5) for n in (1, 2)]}
    at.run()  # no click: each snapshot is saved in the run that sees it
    assert not at.exception, [e.value for e in at.exception]
    folder = letters / "Train" / "stripes"
    assert files_in(folder) == ["20261127-120001-abc001.png", "20261127-120002-abc002.png"]
    assert any("Burst photo 2 of 5 saved in stripes (160×160)" in s.value for s in at.success)
    assert set(at.session_state["_predict_webcam_acked"]) >= {shot(1)["id"], shot(2)["id"]}
    at.session_state["predict_webcam"] = {"shots": [shot(n, target, index=n, total=5) for n in (2, 3)]}
    at.run()  # the browser had not heard about 2 yet: it comes again, and is kept once
    assert len(files_in(folder)) == 3


def test_each_new_sample_starts_a_training_worker_loading_and_a_repeat_does_not(letters, monkeypatch):
    from lab.ui import tf_loader

    calls = []
    monkeypatch.setattr(tf_loader, "prewarm_training", lambda: calls.append(1))
    at = page("predict")
    at.radio(key="predict_source").set_value("webcam").run()
    target = {"dataset": "letters", "cls": "square"}
    at.session_state["predict_webcam"] = {"shots": [shot(n, target, index=n, total=3) for n in (1, 2)]}
    at.run()
    assert len(calls) == 2
    at.session_state["predict_webcam"] = {"shots": [shot(2, target, index=2, total=3)]}
    at.run()  # the same snapshot again: kept once, nothing new to train on
    assert len(calls) == 2


def test_the_worker_is_warmed_only_where_tensorflow_may_load_in_the_background(monkeypatch):
    import lab.train.job
    from lab.ui import tf_loader

    warmed = []

    class Manager:
        def prewarm(self):
            warmed.append(1)

    monkeypatch.setattr(lab.train.job, "manager", lambda: Manager())
    monkeypatch.setenv("CNN_LAB_TF_PRELOAD", "0")
    tf_loader.prewarm_training()
    assert warmed == []
    monkeypatch.setenv("CNN_LAB_TF_PRELOAD", "1")
    tf_loader.prewarm_training()
    assert warmed == [1]


def test_a_burst_interrupted_by_a_reload_keeps_every_snapshot_already_sent(letters):
    at = page("predict")
    at.radio(key="predict_source").set_value("webcam").run()
    target = {"dataset": "letters", "cls": "square"}
    at.session_state["predict_webcam"] = {"shots": [shot(n, target, index=n, total=10) for n in (1, 2, 3)]}
    at.run()
    again = page("samples")  # a reload: a new session, nothing in memory
    assert [m.value for m in again.metric] == ["3", "2", "1"]
    assert samples.counts("letters", letters.parent)["square"] == 3
    assert not list((letters / samples.INCOMING).iterdir())  # no half-written file anywhere
    captions = [picture.caption for element in again.main if type(element).__name__ == "Image"
                for picture in element.proto.imgs]
    assert captions.count("160×160") == 3


@pytest.mark.parametrize("bad", [
    {"id": "../../evil", "url": png_url(big_square(64)), "target": {"dataset": "letters", "cls": "square"}},
    {"id": "20261127-120000-aaaaaa", "url": "data:text/html;base64,PGI+", "target": None},
    {"id": "20261127-120000-bbbbbb", "url": "data:image/png;base64,not base64!", "target": None},
    "just a string",
])
def test_malformed_snapshots_are_dropped_without_a_trace(letters, bad):
    at = page("predict")
    at.radio(key="predict_source").set_value("webcam").run()
    at.session_state["predict_webcam"] = {"shots": [bad]}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert samples.counts("letters", letters.parent) == {"square": 0, "stripes": 0}
    assert files_in(letters.parent) == ["letters", "tiny"]


@pytest.mark.parametrize("target, words", [({"dataset": "letters", "cls": "../up"}, "cannot contain '/'"),
                                           ({"dataset": "tiny", "cls": "square"}, "never changes a dataset"),
                                           ({"dataset": "gone", "cls": "A"}, "no dataset named 'gone'")])
def test_a_burst_into_a_bad_target_is_one_sentence_and_writes_nothing(letters, target, words):
    before = sorted(str(p) for p in letters.parent.rglob("*"))
    at = page("predict")
    at.radio(key="predict_source").set_value("webcam").run()
    at.session_state["predict_webcam"] = {"shots": [shot(1, target, index=1, total=3)]}
    at.run()
    assert not at.exception
    assert any(words in e.value for e in at.error), [e.value for e in at.error]
    assert sorted(str(p) for p in letters.parent.rglob("*")) == before


# --- looking at and deleting samples --------------------------------------------------------------------------------


def test_a_sample_is_deleted_from_its_thumbnail_and_undo_brings_it_back(letters):
    kept = [samples.add_sample("letters", "square", png_bytes(big_square(100 + 20 * n)), root=letters.parent).path
            for n in range(3)]
    at = page("samples")
    captions = [picture.caption for element in at.main if type(element).__name__ == "Image"
                for picture in element.proto.imgs]
    assert sorted(c for c in captions if "×" in c) == ["100×100", "120×120", "140×140"]
    at.button(key=f"samples_delete_square_{kept[1].name}").click().run()
    assert not at.exception
    assert not kept[1].exists() and samples.counts("letters", letters.parent)["square"] == 2
    assert any(f"Deleted {kept[1].name} from square" in s.value for s in at.success)
    at.button(key="samples_undo").click().run()
    assert kept[1].exists() and samples.counts("letters", letters.parent)["square"] == 3
    assert any(f"{kept[1].name} is back in square" in s.value for s in at.success)


def test_an_empty_class_can_be_removed_and_training_opens_on_a_ready_dataset(letters):
    samples.add_class("letters", "circle", letters.parent)
    for cls in ("square", "stripes"):
        samples.add_sample("letters", cls, png_bytes(big_square(64)), root=letters.parent)
    at = page("samples")
    at.selectbox(key="samples_class").set_value("circle").run()
    at.button(key="samples_remove_class").click().run()
    assert not at.exception
    assert samples.counts("letters", letters.parent) == {"square": 1, "stripes": 1}
    assert not at.button(key="samples_train").disabled
    at.button(key="samples_train").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state[session.DATASET] == str(letters)


def test_the_recording_words_are_portuguese(letters):
    samples.add_sample("letters", "square", png_bytes(big_square(64)), root=letters.parent)
    at = page("samples", lang="pt-BR")
    assert at.title[0].value == "Minhas amostras"
    assert english_on(at) == []
    at = page("predict", lang="pt-BR")
    at.radio(key="predict_source").set_value("webcam").run()
    assert not at.exception
    assert any("Adicionar ao meu conjunto" in m.value for m in at.markdown)
    assert english_on(at) == []
