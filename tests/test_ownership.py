"""Whose run is it: owner ids, runs on disk that only their owner changes, and two people on one lab (AppTest):
each sees their own jobs and runs, a shared run reaches everyone, sign-in makes the person the signed-in user."""

from __future__ import annotations

import json
import shutil
import time

import pytest
from streamlit.testing.v1 import AppTest
from test_train_support import make_dataset as make_patterns
from test_train_support import small_spec
from ui_support import APP, make_dataset, open_page, tiny_spec

from lab import ownership
from lab.errors import LabError
from lab.train import runs
from lab.train.job import Job, TrainConfig
from lab.ui import identity, session

ANA, BRUNO = "browser:ana", "browser:bruno"


def test_owner_ids_keep_no_secret_and_the_rules_are_the_same_for_everything():
    secret = "s3cr3t-" * 6
    owner = ownership.browser_owner(secret)
    assert owner.startswith("browser:") and secret not in owner and owner == ownership.browser_owner(secret)
    assert owner != ownership.browser_owner(secret + "x")
    assert ownership.user_owner(" Ana@School.org ") == "user:ana@school.org"
    assert ownership.owner_of({"owner": 5}) is None and ownership.owner_of({}) is None
    assert ownership.shared_in({"shared": "yes"}) is False and ownership.shared_in({"shared": True})
    # (owner, shared, viewer) -> (sees, changes)
    cases = {(None, False, ANA): (True, True), (ANA, False, ANA): (True, True), (ANA, False, BRUNO): (False, False),
             (ANA, True, BRUNO): (True, False), (ANA, False, ownership.ANYONE): (True, True)}
    for (owner, shared, viewer), expected in cases.items():
        assert (ownership.can_see(owner, shared, viewer), ownership.can_change(owner, viewer)) == expected


@pytest.fixture(scope="module")
def four_runs(tmp_path_factory):
    """runs/: Ana's run (trained for real), Bruno's private and shared copies of it, and one nobody owns."""
    root = tmp_path_factory.mktemp("owned")
    data = make_patterns(root / "data")
    snap = Job(TrainConfig(str(data), small_spec(), epochs=1, batch_size=8, runs_root=str(root / "runs"),
                           name="ana's", owner=ANA)).run()
    assert snap.status == "finished", snap.messages
    ana = runs.Path(snap.run_dir)
    made = {"ana": ana}
    for name, owner, shared in (("bruno", BRUNO, False), ("bruno-shared", BRUNO, True), ("nobody", None, False)):
        folder = ana.parent / name
        shutil.copytree(ana, folder)
        meta = json.loads((folder / runs.META).read_text())
        meta.pop("owner")
        meta.pop("shared")
        if owner is not None:
            meta.update(owner=owner, shared=shared)
        runs.write_json_atomic(folder / runs.META, meta)
        made[name] = folder
    return made


def test_a_run_keeps_its_owner_and_others_see_it_only_when_shared(four_runs, tmp_path):
    root = tmp_path / "runs"
    shutil.copytree(four_runs["ana"].parent, root)
    ana, bruno = root / four_runs["ana"].name, root / "bruno"
    meta = json.loads((ana / runs.META).read_text())
    assert (meta["owner"], meta["shared"], meta["config"]["owner"]) == (ANA, False, ANA)

    def seen(viewer):
        return {info.path.name for info in runs.list_runs(root, viewer)}

    assert seen(ANA) == {ana.name, "bruno-shared", "nobody"}
    assert seen(BRUNO) == {"bruno", "bruno-shared", "nobody"}
    assert seen(ownership.ANYONE) == {ana.name, "bruno", "bruno-shared", "nobody"}

    before = (bruno / runs.META).read_bytes()
    for attempt in (lambda: runs.rename_run(bruno, "mine now", ANA), lambda: runs.set_shared(bruno, True, ANA),
                    lambda: runs.delete_run(bruno, root=root, viewer=ANA)):
        with pytest.raises(LabError, match="belongs to someone else: only the person who started it"):
            attempt()
    assert (bruno / runs.META).read_bytes() == before  # nothing changed, nothing lost

    assert runs.set_shared(ana, True, ANA).shared
    assert ana.name in seen(BRUNO)
    with pytest.raises(LabError):
        runs.rename_run(ana, "bruno's now", BRUNO)  # shared to look at, not to change
    assert runs.rename_run(root / "nobody", "everyone's", BRUNO).name == "everyone's"  # a run of nobody's: anyone's
    runs.delete_run(bruno, root=root, viewer=BRUNO)
    assert not bruno.exists()


def test_a_run_of_the_command_line_belongs_to_everyone(tmp_path):
    data = make_patterns(tmp_path / "data")
    snap = Job(TrainConfig(str(data), small_spec(), epochs=1, batch_size=8, runs_root=str(tmp_path / "runs"),
                           evaluate=False)).run()
    meta = json.loads((runs.Path(snap.run_dir) / runs.META).read_text())
    assert "owner" not in meta and "shared" not in meta
    assert [info.owner for info in runs.list_runs(tmp_path / "runs", BRUNO)] == [None]


def test_the_model_preloaded_for_a_person_is_of_the_newest_run_they_may_see(four_runs, tmp_path, monkeypatch):
    from lab.ui import model_cache

    root = tmp_path / "runs"
    for name, created in (("nobody", "2026-01-01T00:00:00"), ("ana", "2026-02-01T00:00:00"),
                          ("bruno-shared", "2026-03-01T00:00:00"), ("bruno", "2026-04-01T00:00:00")):
        shutil.copytree(four_runs[name], root / name)
        meta = json.loads((root / name / runs.META).read_text())
        runs.write_json_atomic(root / name / runs.META, {**meta, "created": created})

    def newest(viewer):
        return model_cache.newest(root, viewer).parent.name

    assert [newest(BRUNO), newest(ownership.ANYONE)] == ["bruno", "bruno"]
    assert newest(ANA) == "bruno-shared"

    # Once TensorFlow is imported, each person who opened the lab gets their newest run loaded, once per process.
    hooks, loading = [], []
    monkeypatch.setenv("CNN_LAB_RUNS", str(root))
    monkeypatch.delenv("CNN_LAB_TF_PRELOAD", raising=False)
    monkeypatch.setattr(model_cache, "_preloaded_for", set())
    monkeypatch.setattr(model_cache.tf_loader, "after_import", hooks.append)
    monkeypatch.setattr(model_cache, "preload", lambda path: loading.append(path.parent.name) or True)
    for viewer in (ANA, BRUNO, ANA):
        model_cache.preload_newest_for(viewer)
    for hook in hooks:
        hook()
    assert loading == ["bruno-shared", "bruno"]

    runs.set_shared(root / "bruno-shared", False, BRUNO)
    assert newest(ANA) == "ana"


# --- two people on one page ---------------------------------------------------------------------------------------


@pytest.fixture
def lab_dirs(tmp_path, monkeypatch):
    data, runs_root = tmp_path / "data", tmp_path / "runs"
    data.mkdir()
    runs_root.mkdir()
    monkeypatch.setenv("CNN_LAB_DATA", str(data))
    monkeypatch.setenv("CNN_LAB_RUNS", str(runs_root))
    monkeypatch.setenv("CNN_LAB_TF_PRELOAD", "0")
    return make_dataset(data), runs_root


def person(folder, secret: str | None = None) -> AppTest:
    """A browser on the lab; ``secret``: the one its cookie carries (a tab of a browser seen before)."""
    at = AppTest.from_file(APP, default_timeout=60)
    if secret is not None:
        at.session_state[identity.SECRET] = secret
    at.run()
    at.session_state[session.DATASET] = str(folder)
    at.session_state[session.SPEC] = tiny_spec()
    at.session_state[session.LOAD_PARAMS] = {"batch_size": 8, "validation_split": 0.25}
    return at


def keys(at) -> set[str]:
    return {button.key for button in at.button}


def test_two_people_see_and_stop_only_their_own_training_and_share_a_run(lab_dirs):
    from lab.train.job import manager

    folder, runs_root = lab_dirs
    ana = person(folder)
    open_page(ana, "train")
    ana.number_input(key="train_epochs").set_value(500)
    ana.toggle(key="train_es_on").set_value(False)
    ana.text_input(key="train_name").set_value("ana's long run")
    next(b for b in ana.button if b.key == "train_start").click()
    ana.run()
    assert not ana.exception, ana.exception
    deadline = time.monotonic() + 180
    while not any("Training **ana's long run**" in info.value for info in ana.info):
        assert time.monotonic() < deadline, [e.value for e in ana.error]
        time.sleep(1)
        ana.run()
    assert "train_stop" in keys(ana)

    bruno = person(folder)
    open_page(bruno, "train")
    assert not bruno.exception
    assert "train_stop" not in keys(bruno)
    assert [info.value for info in bruno.info][:1] == [
        "No training yet. Open **Settings** below, then press **Start training**."]
    assert not any("ana's long run" in info.value for info in bruno.info)

    again = person(folder, secret=ana.session_state[identity.SECRET])  # Ana's browser, another tab
    open_page(again, "train")
    assert "train_stop" in keys(again) and any("ana's long run" in info.value for info in again.info)
    next(b for b in again.button if b.key == "train_stop").click()
    again.run()
    assert manager().wait_idle(120)
    ana.run()
    assert any("Stopped by you" in info.value for info in ana.info)

    open_page(bruno, "runs")
    assert [info.value for info in bruno.info] == [
        "No runs yet. Train a model on the Train page; every run is kept here."]
    open_page(ana, "runs")
    [run_dir] = list(runs_root.iterdir())
    share = ana.toggle(key=f"runs_share_{run_dir.name}")
    assert share.value is False
    share.set_value(True).run()
    assert any(s.value == "Everyone who opens this lab now sees this run." for s in ana.success)

    bruno.run()
    assert list(bruno.dataframe[0].value["name"]) == ["ana's long run"]
    assert "runs_delete" not in keys(bruno) and "runs_rename" not in keys(bruno)
    assert not [toggle for toggle in bruno.toggle if toggle.key.startswith("runs_share_")]
    assert any(c.value.startswith("Someone shared this run with everyone") for c in bruno.caption)


def test_with_sign_in_the_page_asks_first_and_the_person_is_the_user(lab_dirs, tmp_path):
    folder, runs_root = lab_dirs
    at = AppTest.from_file(APP, default_timeout=60)
    at.user = {"is_logged_in": False}
    at.run()
    assert not at.exception, at.exception
    assert [b.label for b in at.button] == ["Sign in"]
    assert [title.value for title in at.title] == ["CNN Lab"]

    data = make_patterns(tmp_path / "patterns")
    snap = Job(TrainConfig(str(data), small_spec(), epochs=1, batch_size=8, runs_root=str(runs_root),
                           name="hers", evaluate=False, owner="user:ana@school.org")).run()
    other = runs_root / "his"
    shutil.copytree(snap.run_dir, other)
    meta = json.loads((other / runs.META).read_text())
    runs.write_json_atomic(other / runs.META, {**meta, "owner": "user:bruno@school.org", "name": "his"})

    at = AppTest.from_file(APP, default_timeout=60)
    at.user = {"is_logged_in": True, "email": "Ana@School.org", "name": "Ana"}
    open_page(at, "runs")
    assert not at.exception, at.exception
    assert "Signed in as Ana" in [caption.value for caption in at.sidebar.caption]
    assert list(at.dataframe[0].value["name"]) == ["hers"]
