"""Hostile and unlucky inputs around runs: the Runs page, runs on disk, and `lab train | evaluate | predict`.

Every test builds its own bad input (real runs trained with Keras, real files, symlinks, other processes) and
checks that no run the user did not pick is lost and that the user gets one sentence, never a traceback.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.testing.v1 import AppTest
from ui_support import APP, make_dataset, open_page, train_run

from lab.cli import main
from lab.errors import LabError
from lab.train import runs

# --- fixtures: one real trained run, copied into as many runs as a test needs -----------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    base = tmp_path_factory.mktemp("security-runs")
    data = make_dataset(base / "data")
    run = train_run(data, base / "runs", name="template")
    return data, run


def copy_run(template: Path, root: Path, run_id: str, name: str, created: str, **meta_changes) -> Path:
    """A real run folder (trained model and all) under another id, name and creation time."""
    target = root / run_id
    shutil.copytree(template, target)
    meta = json.loads((target / runs.META).read_text())
    meta.update(name=name, created=created, id=run_id, **meta_changes)
    (target / runs.META).write_text(json.dumps(meta))
    return target


@pytest.fixture
def three_runs(trained, tmp_path, monkeypatch):
    """runs/ with alpha (oldest), beta and gamma (newest), and the page pointed at it."""
    data, template = trained
    root = tmp_path / "runs"
    root.mkdir()
    for day, name in enumerate(("alpha", "beta", "gamma"), start=1):
        copy_run(template, root, f"2026010{day}-120000-{name}", name, f"2026-01-0{day}T12:00:00+00:00")
    monkeypatch.setenv("CNN_LAB_RUNS", str(root))
    monkeypatch.setenv("CNN_LAB_DATA", str(data.parent))
    return root


ALPHA, BETA, GAMMA = "20260101-120000-alpha", "20260102-120000-beta", "20260103-120000-gamma"


def runs_page():
    at = AppTest.from_file(APP, default_timeout=60).run()
    open_page(at, "runs")
    assert not at.exception, at.exception
    return at


def button(at, key):
    return next(b for b in at.button if b.key == key)


def browser_sends(selectbox, label: str) -> None:
    """Makes the next run receive ``label`` for this selectbox, as a browser does that still holds that label.

    After a rename the browser keeps the option text it showed (or falls back to the first option); AppTest
    itself always sends the current text, so this reproduces what a real browser sends.
    """
    class Stale(type(selectbox)):
        @property
        def _widget_state(self):
            state = WidgetState()
            state.id = self.id
            state.string_value = label
            return state

    selectbox.__class__ = Stale


def select(at, run_id):
    at.selectbox(key="runs_detail").set_value(run_id)
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key="runs_detail").value == run_id


def left(root: Path) -> set[str]:
    return {p.name for p in root.iterdir()}


# --- 1. the run deleted must be the run the user picked ---------------------------------------------------------


@pytest.mark.parametrize("browser_label", ["old label", "first option"])
def test_rename_then_delete_deletes_the_renamed_run(three_runs, browser_label):
    at = runs_page()
    select(at, ALPHA)
    at.text_input(key=f"runs_name_{ALPHA}").set_value("alpha renamed")
    at.run()
    old_labels = list(at.selectbox(key="runs_detail").options)
    button(at, "runs_rename").click()
    at.run()
    assert not at.exception, at.exception
    assert json.loads((three_runs / ALPHA / runs.META).read_text())["name"] == "alpha renamed"
    assert at.selectbox(key="runs_detail").value == ALPHA
    # the browser still shows "alpha (id)" (or fell back to the newest) when the user presses Delete
    label = next(o for o in old_labels if ALPHA in o) if browser_label == "old label" else old_labels[0]
    browser_sends(at.selectbox(key="runs_detail"), label)
    button(at, "runs_delete").click()
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key="runs_detail").value == ALPHA
    warning = " ".join(w.value for w in at.warning)
    assert "alpha renamed" in warning and ALPHA in warning and "gamma" not in warning
    button(at, "runs_delete_yes").click()
    at.run()
    assert not at.exception, at.exception
    assert left(three_runs) == {BETA, GAMMA}


def test_a_new_run_appearing_before_the_confirmation_is_not_deleted(three_runs, trained):
    at = runs_page()
    select(at, BETA)
    button(at, "runs_delete").click()
    at.run()
    # another run finishes meanwhile and sorts to the top of the list
    newest = copy_run(trained[1], three_runs, "20270101-000000-fresh", "fresh", "2027-01-01T00:00:00+00:00")
    button(at, "runs_delete_yes").click()
    at.run()
    assert not at.exception, at.exception
    assert left(three_runs) == {ALPHA, GAMMA, newest.name}


def test_a_new_run_appearing_before_delete_is_pressed(three_runs, trained):
    at = runs_page()
    select(at, ALPHA)
    copy_run(trained[1], three_runs, "20270101-000000-fresh", "fresh", "2027-01-01T00:00:00+00:00")
    button(at, "runs_delete").click()  # the panel the user saw was alpha's
    at.run()
    assert ALPHA in " ".join(w.value for w in at.warning)
    button(at, "runs_delete_yes").click()
    at.run()
    assert not at.exception, at.exception
    assert left(three_runs) == {BETA, GAMMA, "20270101-000000-fresh"}


def test_a_run_deleted_elsewhere_before_the_confirmation_deletes_nothing(three_runs):
    at = runs_page()
    select(at, BETA)
    button(at, "runs_delete").click()
    at.run()
    shutil.rmtree(three_runs / BETA)  # another tab, or a file manager
    button(at, "runs_delete_yes").click()
    at.run()
    assert not at.exception, at.exception
    assert left(three_runs) == {ALPHA, GAMMA}
    said = " ".join(w.value for w in at.warning)
    assert "no longer" in said and "nothing was deleted" in said
    assert not any(b.key == "runs_delete_yes" for b in at.button)  # no confirmation passed on to another run


def test_a_run_deleted_elsewhere_while_its_confirmation_shows(three_runs):
    at = runs_page()
    select(at, GAMMA)
    button(at, "runs_delete").click()
    at.run()
    shutil.rmtree(three_runs / GAMMA)
    at.run()  # any rerun: the confirmation for the vanished run is dropped with one sentence
    assert not at.exception, at.exception
    assert any("nothing was deleted" in w.value for w in at.warning)
    assert not any(b.key == "runs_delete_yes" for b in at.button)
    assert left(three_runs) == {ALPHA, BETA}


def test_choosing_another_run_drops_the_pending_confirmation(three_runs):
    at = runs_page()
    select(at, ALPHA)
    button(at, "runs_delete").click()
    at.run()
    select(at, BETA)
    assert not any(b.key == "runs_delete_yes" for b in at.button)
    assert left(three_runs) == {ALPHA, BETA, GAMMA}


# --- 2. symlinks, paths outside the runs folder, names -----------------------------------------------------------


def test_deleting_a_symlinked_run_on_the_page_keeps_its_target(three_runs, trained, tmp_path):
    outside = copy_run(trained[1], tmp_path, "precious", "precious", "2030-01-01T00:00:00+00:00")
    before = sorted(p.name for p in outside.iterdir())
    (three_runs / "20300101-000000-link").symlink_to(outside, target_is_directory=True)
    at = runs_page()
    select(at, "20300101-000000-link")
    button(at, "runs_delete").click()
    at.run()
    button(at, "runs_delete_yes").click()
    at.run()
    assert not at.exception, at.exception
    assert not (three_runs / "20300101-000000-link").exists()
    assert sorted(p.name for p in outside.iterdir()) == before and (outside / runs.MODEL).is_file()
    assert left(three_runs) == {ALPHA, BETA, GAMMA}


def test_delete_run_never_removes_what_lies_outside_the_runs_folder(trained, tmp_path):
    root = tmp_path / "runs"
    root.mkdir()
    outside = copy_run(trained[1], tmp_path, "outside", "outside", "2026-01-01")
    # a path that walks out of the runs folder
    with pytest.raises(LabError, match="not in the runs folder"):
        runs.delete_run(root / ".." / "outside", root=root)
    # a run whose parent folder is a link to elsewhere
    (root / "sub").symlink_to(tmp_path, target_is_directory=True)
    with pytest.raises(LabError, match="not in the runs folder"):
        runs.delete_run(root / "sub" / "outside", root=root)
    # a run that is itself a link: only the link goes
    link = root / "link"
    link.symlink_to(outside, target_is_directory=True)
    runs.delete_run(link, root=root)
    assert not link.is_symlink() and (outside / runs.MODEL).is_file()
    # a run with a link inside pointing at a precious file: the file stays
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me")
    inner = copy_run(trained[1], root, "inner", "inner", "2026-01-02")
    (inner / "history.csv").unlink()
    (inner / "history.csv").symlink_to(precious)
    runs.delete_run(inner, root=root)
    assert not inner.exists() and precious.read_text() == "keep me"
    assert (outside / runs.META).is_file()


@pytest.mark.parametrize("name", ["../../evil", "a/b", "back\\slash", "nul\x00byte", "two\nlines",
                                  "x" * 500, "<img src=x onerror=alert(1)>", "   "])
def test_rename_refuses_names_that_could_escape_or_mislead(trained, tmp_path, name):
    run = copy_run(trained[1], tmp_path, "r", "plain", "2026-01-01")
    with pytest.raises(LabError) as error:
        runs.rename_run(run, name)
    assert "\n" not in str(error.value) and str(error.value).endswith(".")
    assert json.loads((run / runs.META).read_text())["name"] == "plain"
    assert left(tmp_path) == {"r"}


def test_rename_on_the_page_shows_one_sentence_for_a_bad_name(three_runs):
    at = runs_page()
    select(at, ALPHA)
    at.text_input(key=f"runs_name_{ALPHA}").set_value("../" * 40)
    at.run()
    button(at, "runs_rename").click()
    at.run()
    assert not at.exception, at.exception
    assert any("run name" in e.value for e in at.error)
    assert json.loads((three_runs / ALPHA / runs.META).read_text())["name"] == "alpha"
    assert left(three_runs) == {ALPHA, BETA, GAMMA}


def test_a_markdown_name_is_shown_as_typed_in_the_confirmation(three_runs):
    meta_path = three_runs / ALPHA / runs.META
    meta = json.loads(meta_path.read_text())
    meta["name"] = "**gamma** [x](javascript:alert(1))"
    meta_path.write_text(json.dumps(meta))
    at = runs_page()
    select(at, ALPHA)
    button(at, "runs_delete").click()
    at.run()
    warning = next(w.value for w in at.warning if "for good" in w.value)
    assert "\\*\\*gamma\\*\\*" in warning and "](" not in warning


# --- a run that is training elsewhere ---------------------------------------------------------------------------


@pytest.fixture
def live_pid():
    """The id of a real process on this machine that outlives the test's checks."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield process.pid
    process.kill()
    process.wait()


def test_a_run_training_in_another_process_is_neither_deleted_nor_renamed(trained, tmp_path, live_pid):
    run = copy_run(trained[1], tmp_path, "busy", "busy", "2026-01-01", status="running", pid=live_pid,
                   host=socket.gethostname())
    with pytest.raises(LabError, match="still training"):
        runs.delete_run(run, root=tmp_path)
    with pytest.raises(LabError, match="still training"):
        runs.rename_run(run, "new name")
    assert (run / runs.MODEL).is_file()
    assert json.loads((run / runs.META).read_text())["status"] == "running"


# --- 3. a meta.json, spec.json, metrics.json or history.csv that lies ------------------------------------------


BAD_SIZES = [[60000, 60000], [-28, 28], ["28", "28"], [28], [True, 28], "28x28", [0, 0], [1e9, 1e9]]


@pytest.mark.parametrize("size", BAD_SIZES)
def test_a_giant_or_nonsense_image_size_is_one_sentence_everywhere(trained, tmp_path, size, capsys):
    data, template = trained
    run = copy_run(template, tmp_path, "liar", "liar", "2026-01-01",
                   preprocessing={"image_size": size, "color_mode": "grayscale"})
    info = runs.list_runs(tmp_path)[0]
    assert info.problem and "image size" in info.problem
    with pytest.raises(LabError, match="image size"):
        runs.load_run(run)
    image = next((data / "Test" / "square").glob("*.png"))
    for argv in (["predict", str(run), str(image)], ["evaluate", str(run), "--data", str(data)],
                 ["evaluate", str(run / runs.MODEL), "--data", str(data)]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and "image size" in err[0], (argv, err)


def test_meta_that_disagrees_with_the_model_is_refused(trained, tmp_path, capsys):
    data, template = trained
    run = copy_run(template, tmp_path, "mixed", "mixed", "2026-01-01",
                   preprocessing={"image_size": [64, 64], "color_mode": "rgb"})
    assert main(["evaluate", str(run), "--data", str(data)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "64×64" in err[0] and "28×28" in err[0]


def test_a_model_made_for_giant_images_is_refused_before_any_image_is_sized(tmp_path, trained, capsys):
    import keras

    inputs = keras.Input((60000, 60000, 1))
    x = keras.layers.GlobalAveragePooling2D()(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x))
    path = tmp_path / "giant.keras"
    model.save(path)
    data, _ = trained
    image = next((data / "Test" / "square").glob("*.png"))
    assert main(["predict", str(path), str(image)]) == 2
    assert "60000" in capsys.readouterr().err
    assert main(["evaluate", str(path), "--data", str(data)]) == 2
    assert "60000" in capsys.readouterr().err


def write_hostile_runs(template: Path, root: Path) -> dict[str, Path]:
    """Runs whose files were damaged or edited by hand in every way that once broke a page or a command."""
    made = {}
    made["giant"] = copy_run(template, root, "20260201-000000-giant", "giant", "2026-02-01",
                             preprocessing={"image_size": [60000, 60000]})
    made["types"] = copy_run(template, root, "20260202-000000-types", {"not": "a string"}, 12345,
                             config=[1, 2], best="best", dataset=["x"], status=["running"], class_names="ab")
    made["corrupt-meta"] = copy_run(template, root, "20260203-000000-corrupt", "c", "2026-02-03")
    (made["corrupt-meta"] / runs.META).write_bytes(b'{"name": "c", "sta\xff\xfe')
    made["no-meta"] = copy_run(template, root, "20260204-000000-nometa", "n", "2026-02-04")
    (made["no-meta"] / runs.META).unlink()
    made["bad-files"] = copy_run(template, root, "20260205-000000-badfiles", "# **bad** files\nsecond line",
                                 "2026-02-05")
    bad = made["bad-files"]
    (bad / runs.SPEC).write_text(json.dumps({"input_shape": "big", "layers": [1, "two", {"no": "type"}]}))
    (bad / runs.METRICS).write_text(json.dumps({"accuracy": "high", "confusion": [[1, 2], [3]],
                                                "per_class": ["a"], "misclassified": [{"file": "/etc/passwd"}]}))
    (bad / runs.HISTORY).write_bytes(b"epoch,loss,val_loss\n1,abc,\x00\xff\n2,,\nthree,1e999,-1\n")
    made["metrics-paths"] = copy_run(template, root, "20260206-000000-paths", "paths", "2026-02-06")
    metrics = json.loads((made["metrics-paths"] / runs.METRICS).read_text())
    metrics["misclassified"] = [{"file": "/etc/passwd", "true": "square", "predicted": "stripes",
                                 "probability": 0.9}]
    (made["metrics-paths"] / runs.METRICS).write_text(json.dumps(metrics))
    return made


def test_listing_survives_every_hostile_run(trained, tmp_path):
    made = write_hostile_runs(trained[1], tmp_path)
    infos = {info.id: info for info in runs.list_runs(tmp_path)}
    assert set(infos) == {path.name for path in made.values()}
    assert "image size" in infos[made["giant"].name].problem
    assert "\n" not in infos[made["bad-files"].name].name
    assert infos[made["types"].name].status not in runs.ACTIVE
    for name in ("corrupt-meta", "no-meta"):
        assert infos[made[name].name].status == "broken"
    loaded = runs.load_run(made["bad-files"])
    assert loaded.spec is None and loaded.metrics is None


def test_the_runs_page_shows_every_hostile_run_without_a_traceback(trained, tmp_path, monkeypatch):
    data, template = trained
    root = tmp_path / "runs"
    root.mkdir()
    made = write_hostile_runs(template, root)
    monkeypatch.setenv("CNN_LAB_RUNS", str(root))
    monkeypatch.setenv("CNN_LAB_DATA", str(data.parent))
    at = runs_page()
    assert len(at.dataframe[0].value) == len(made)
    for path in made.values():
        select(at, path.name)
        assert not at.exception, (path.name, at.exception)
    select(at, made["giant"].name)
    assert any("image size" in e.value for e in at.error)
    # a run that cannot be opened can still be deleted from the page
    select(at, made["corrupt-meta"].name)
    button(at, "runs_delete").click()
    at.run()
    button(at, "runs_delete_yes").click()
    at.run()
    assert not at.exception, at.exception
    assert not made["corrupt-meta"].exists() and made["giant"].exists()
    # the compare section with every run overlaid
    at.multiselect(key="runs_compare").set_value([p.name for p in made.values() if p.exists()])
    at.run()
    assert not at.exception, at.exception


def test_the_predict_page_refuses_a_run_with_a_giant_image_size(trained, tmp_path, monkeypatch):
    data, template = trained
    root = tmp_path / "runs"
    root.mkdir()
    copy_run(template, root, "20260201-000000-giant", "giant", "2026-02-01",
             preprocessing={"image_size": [60000, 60000]})
    monkeypatch.setenv("CNN_LAB_RUNS", str(root))
    monkeypatch.setenv("CNN_LAB_DATA", str(data.parent))
    at = AppTest.from_file(APP, default_timeout=60).run()
    open_page(at, "predict")
    assert not at.exception, at.exception
    assert any("image size" in e.value for e in at.error)


# --- 4. a truncated image in the evaluated split; batch sizes -------------------------------------------------


def truncate_png(path: Path, cut: int = 40) -> None:
    """Keeps the header (Pillow still opens it and reads its size) but cuts the pixel data short."""
    data = path.read_bytes()
    path.write_bytes(data[:-cut])
    with Image.open(path) as image:
        assert image.size == (28, 28)  # the header still reads fine
    with pytest.raises(OSError):
        with Image.open(path) as image:
            image.load()


def test_evaluate_skips_a_truncated_png_and_says_so(trained, tmp_path, capsys):
    data, run = trained
    copy = tmp_path / "data"
    shutil.copytree(data, copy)
    victim = sorted((copy / "Test" / "stripes").glob("*.png"))[0]
    noise = np.random.default_rng(0).integers(0, 255, (28, 28)).astype("uint8")
    Image.fromarray(noise, "L").save(victim)  # noisy pixels: a PNG large enough to cut into its data
    truncate_png(victim)
    total = len(list((copy / "Test").rglob("*.png")))
    assert main(["evaluate", str(run), "--data", str(copy), "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert result["n"] == total - 1
    assert len(result["skipped"]) == 1 and victim.name in result["skipped"][0]
    assert "skipped 1 unreadable image" in captured.err.lower() and victim.name in captured.err
    assert all(item["file"] != str(victim) for item in result["misclassified"])


@pytest.mark.parametrize("value", ["0", "-3"])
def test_batch_size_below_one_is_one_sentence(trained, tmp_path, capsys, value):
    data, run = trained
    image = next((data / "Test" / "square").glob("*.png"))
    for argv in (["evaluate", str(run), "--data", str(data), "--batch-size", value],
                 ["train", "--data", str(data), "--spec", "recommended", "--batch-size", value,
                  "--out", str(tmp_path / "out")],
                 ["predict", str(run), str(image), "--batch-size", value]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith("error: ") and "Traceback" not in "\n".join(err), (argv, err)
        assert "batch" in err[-1] or "unrecognized" in err[-1], (argv, err)
    assert not (tmp_path / "out").exists()


# --- 5. --out naming a file -------------------------------------------------------------------------------------


def test_train_out_naming_an_existing_file_is_one_sentence(trained, tmp_path, capsys):
    data, _ = trained
    target = tmp_path / "notes.txt"
    target.write_text("my notes")
    assert main(["train", "--data", str(data), "--spec", "recommended", "--epochs", "1", "--out", str(target)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(target) in err[0] and "--out" in err[0]
    assert target.read_text() == "my notes"
    nonempty = tmp_path / "full"
    nonempty.mkdir()
    (nonempty / "keep.txt").write_text("x")
    assert main(["train", "--data", str(data), "--spec", "recommended", "--epochs", "1", "--out", str(nonempty)]) == 2
    assert "not empty" in capsys.readouterr().err and (nonempty / "keep.txt").read_text() == "x"


def test_training_with_a_truncated_test_image_finishes_and_skips_it(tmp_path):
    data = make_dataset(tmp_path / "data", train=12, test=4)
    victim = sorted((data / "Test" / "square").glob("*.png"))[0]
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (28, 28)).astype("uint8"), "L").save(victim)
    truncate_png(victim)
    run = train_run(data, tmp_path / "runs", name="with a truncated file")
    metrics = json.loads((run / runs.METRICS).read_text())
    assert metrics["n"] == 7 and all(item["file"] != str(victim) for item in metrics["misclassified"])


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every folder whatever its permissions")
def test_a_run_folder_without_permissions_is_listed_as_broken(trained, tmp_path):
    run = copy_run(trained[1], tmp_path, "locked", "locked", "2026-01-01")
    run.chmod(0)
    try:
        infos = runs.list_runs(tmp_path)
        assert [info.status for info in infos] == ["broken"]
        with pytest.raises(LabError):
            runs.load_run(run)
    finally:
        run.chmod(0o755)


def test_a_rename_in_another_tab_does_not_move_the_selection(three_runs):
    at = runs_page()
    select(at, ALPHA)
    old_label = next(o for o in at.selectbox(key="runs_detail").options if ALPHA in o)
    meta_path = three_runs / ALPHA / runs.META
    meta = json.loads(meta_path.read_text())
    meta["name"] = "renamed elsewhere"
    meta_path.write_text(json.dumps(meta))
    at.run()  # the page learns the new name; this browser still shows the old label
    browser_sends(at.selectbox(key="runs_detail"), old_label)
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key="runs_detail").value == ALPHA
    button(at, "runs_delete").click()
    at.run()
    assert "renamed elsewhere" in " ".join(w.value for w in at.warning)


def test_a_pipe_in_place_of_meta_json_does_not_hang_the_listing(trained, tmp_path):
    run = copy_run(trained[1], tmp_path, "piped", "piped", "2026-01-01")
    (run / runs.META).unlink()
    os.mkfifo(run / runs.META)  # opening it for reading would wait forever for a writer
    (run / runs.HISTORY).unlink()
    os.mkfifo(run / runs.HISTORY)
    infos = runs.list_runs(tmp_path)
    assert [info.status for info in infos] == ["broken"]
    with pytest.raises(LabError, match="meta.json"):
        runs.load_run(run)


def test_train_runs_folder_that_is_a_file_is_one_sentence(trained, tmp_path, capsys):
    data, _ = trained
    target = tmp_path / "runs"
    target.write_text("not a folder")
    assert main(["train", "--data", str(data), "--spec", "recommended", "--epochs", "1", "--runs", str(target)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and str(target) in err[-1]
    assert target.read_text() == "not a folder"
