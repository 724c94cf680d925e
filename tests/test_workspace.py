"""The workspace: a reload, a new tab, a shared link or a server restart brings back the person's network and
dataset, and every earlier network can be restored; each person has a workspace of their own, and a lab with one
person finds the workspace it kept before it knew people. Unit tests of ``lab.workspace`` and the whole app in
AppTest."""

from __future__ import annotations

import json
import os

import pytest
from streamlit.testing.v1 import AppTest
from ui_support import APP, make_dataset, open_page, tiny_spec

from lab import ownership, presets
from lab.errors import LabError
from lab.ui import identity, session
from lab.workspace import COALESCE_SECONDS, HISTORY_LIMIT, PEOPLE, STATE_FILE, State, Workspace, network_key

ANA, BRUNO = "browser:ana", "user:bruno@school.org"


@pytest.fixture
def data(data_root):
    make_dataset(data_root, "tiny")
    make_dataset(data_root, "other", train=4, test=2)
    return data_root


def thirteen_layers() -> dict:
    """A network nobody would want to build twice."""
    spec = tiny_spec()
    conv = {"type": "Conv2D", "filters": 6, "kernel_size": [3, 3], "strides": [1, 1], "padding": "same",
            "activation": "relu"}
    spec["layers"][2:2] = [dict(conv, filters=6 + i) for i in range(8)]
    spec["name"] = "my thirteen"
    assert len(spec["layers"]) == 13
    return spec


def start(secret: str | None = None, **query) -> AppTest:
    """A visit to the lab: a browser seen before when ``secret`` is its cookie, else a new one."""
    at = AppTest.from_file(APP, default_timeout=60)
    if secret is not None:
        at.session_state[identity.SECRET] = secret
    for name, value in query.items():
        at.query_params[name] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def build_in_session(at: AppTest, spec: dict, dataset) -> AppTest:
    """What the editor does when a person builds a network: the spec lands in the session and the page redraws."""
    at.session_state[session.DATASET] = str(dataset)
    at.session_state[session.SPEC] = spec
    open_page(at, "architecture")
    assert not at.exception, [e.value for e in at.exception]
    return at


def session_spec(at: AppTest) -> dict:
    return at.session_state[session.SPEC]


# --- the store --------------------------------------------------------------------------------------------------

def test_networks_are_stored_by_content_and_written_whole(tmp_path):
    workspace = Workspace(tmp_path / "ws")
    key = workspace.store(thirteen_layers())
    assert key == network_key(thirteen_layers())
    assert workspace.store(json.loads(json.dumps(thirteen_layers()))) == key
    assert workspace.fetch(key) == thirteen_layers()
    assert [p.name for p in (tmp_path / "ws" / "networks").iterdir()] == [f"{key}.json"]


@pytest.mark.parametrize("key", ["../../etc/passwd", "..", "ABCDEF012345", "0123456789abc", "", "a" * 500, "12/45"])
def test_a_key_that_is_not_a_key_never_reaches_the_disk(tmp_path, key):
    with pytest.raises(LabError, match="not a network key"):
        Workspace(tmp_path).fetch(key)


def test_a_missing_or_damaged_network_is_one_sentence(tmp_path):
    workspace = Workspace(tmp_path)
    with pytest.raises(LabError, match="No saved network 0123456789ab"):
        workspace.fetch("0123456789ab")
    key = workspace.store(tiny_spec())
    (tmp_path / "networks" / f"{key}.json").write_text('{"layers": [', encoding="utf-8")
    with pytest.raises(LabError, match="cannot be read"):
        workspace.fetch(key)
    (tmp_path / "networks" / f"{key}.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(LabError, match="cannot be read"):
        workspace.fetch(key)
    (tmp_path / "networks" / f"{key}.json").write_text('{"layers": ["Conv2D"]}', encoding="utf-8")
    with pytest.raises(LabError, match="layer 1 is not an object"):
        workspace.fetch(key)


def test_edits_close_together_make_one_history_entry_and_a_new_network_keeps_the_old(tmp_path):
    workspace = Workspace(tmp_path)
    current = State()
    first = tiny_spec()
    workspace.remember(current, first, now=1000.0)
    edited = [tiny_spec() for _ in range(5)]
    for step, spec in enumerate(edited):
        spec["layers"][1]["filters"] = 5 + step
        workspace.remember(current, spec, now=1000.0 + COALESCE_SECONDS * 3 + step)
    assert [e.key for e in current.history] == [network_key(edited[-1]), network_key(first)]
    preset = presets.load("recommended")
    workspace.remember(current, preset, now=1000.0 + COALESCE_SECONDS * 3 + 10, new_entry=True)
    assert [e.key for e in current.history] == [network_key(preset), network_key(edited[-1]), network_key(first)]
    # Going back to an earlier network moves it to the top; it never appears twice.
    workspace.remember(current, first, now=1000.0 + COALESCE_SECONDS * 5, new_entry=True)
    assert [e.key for e in current.history] == [network_key(first), network_key(preset), network_key(edited[-1])]


def test_edits_never_replace_the_network_they_started_from(tmp_path):
    workspace = Workspace(tmp_path)
    current = State()
    loaded = presets.load("recommended")
    workspace.remember(current, loaded, now=0.0, new_entry=True)
    edited = presets.load("recommended")
    edited["layers"][2]["filters"] = 7
    workspace.remember(current, edited, now=5.0)
    edited["layers"][2]["filters"] = 8
    workspace.remember(current, edited, now=9.0)
    assert [e.key for e in current.history] == [network_key(edited), network_key(loaded)]
    assert [e.edited for e in current.history] == [True, False]


def test_a_long_session_of_edits_keeps_one_entry_a_minute_and_at_most_the_limit(tmp_path):
    workspace = Workspace(tmp_path)
    current = State()
    for minute in range(HISTORY_LIMIT + 20):
        for second in (0, 20, 40):
            spec = tiny_spec()
            spec["layers"][1]["filters"] = 1 + minute * 3 + second // 20
            workspace.remember(current, spec, now=minute * COALESCE_SECONDS + second)
    assert len(current.history) == HISTORY_LIMIT
    assert len({e.key for e in current.history}) == HISTORY_LIMIT
    assert workspace.fetch(current.history[-1].key)["layers"][1]["filters"] > 1


def test_a_damaged_state_file_is_moved_aside_not_lost(tmp_path):
    workspace = Workspace(tmp_path)
    workspace.save(State(dataset="tiny"))
    (tmp_path / "state.json").write_text("{not json", encoding="utf-8")
    loaded, message = workspace.load()
    assert loaded.dataset is None and loaded.history == []
    assert "could not be read" in message
    kept = [p for p in tmp_path.iterdir() if p.name.startswith("state.json.damaged-")]
    assert len(kept) == 1 and kept[0].read_text(encoding="utf-8") == "{not json"


def test_a_crash_while_saving_leaves_the_older_state_whole(tmp_path, monkeypatch):
    workspace = Workspace(tmp_path)
    workspace.save(State(dataset="before"))

    def crash(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(LabError, match="No space left on device"):
        workspace.save(State(dataset="after"))
    monkeypatch.undo()
    assert Workspace(tmp_path).load()[0].dataset == "before"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_each_person_has_a_state_of_their_own_and_the_networks_are_shared(tmp_path):
    ana, bruno = Workspace(tmp_path, ANA), Workspace(tmp_path, BRUNO)
    mine = State(dataset="tiny")
    ana.remember(mine, thirteen_layers())
    ana.save(mine)
    assert ana.state_path.parent.parent == tmp_path / PEOPLE
    assert "bruno" not in str(bruno.state_path) and bruno.state_path != ana.state_path  # no e-mail in a file name
    assert bruno.load() == (State(), None)  # someone else's state is not Bruno's
    assert bruno.fetch(mine.network) == thirteen_layers()  # a link opens the network for anyone
    assert ana.load()[0].history[0].key == network_key(thirteen_layers())
    assert not (tmp_path / STATE_FILE).exists()  # the state of no one in particular stays as it was: absent
    assert Workspace(tmp_path, ownership.ANYONE).state_path == Workspace(tmp_path).state_path == tmp_path / STATE_FILE


def test_the_first_person_starts_from_the_lab_s_earlier_state_and_everyone_after_starts_fresh(tmp_path):
    lab = Workspace(tmp_path)  # the lab before it knew people: one state.json for everyone
    before = State(dataset="tiny")
    lab.remember(before, thirteen_layers())
    lab.save(before)
    kept = (tmp_path / STATE_FILE).read_bytes()

    ana = Workspace(tmp_path, ANA)
    found, damage = ana.load()
    assert damage is None and (found.dataset, found.network) == ("tiny", network_key(thirteen_layers()))
    assert not ana.state_path.exists()  # nothing written by looking
    ana.remember(found, tiny_spec(), new_entry=True)
    ana.save(found)  # now it is Ana's
    assert [entry.key for entry in ana.load()[0].history] == [network_key(tiny_spec()), network_key(thirteen_layers())]

    assert Workspace(tmp_path, BRUNO).load() == (State(), None)
    assert (tmp_path / STATE_FILE).read_bytes() == kept  # never changed, never lost
    assert lab.load()[0].network == network_key(thirteen_layers())


# --- the page -----------------------------------------------------------------------------------------------------


def test_two_browsers_keep_separate_workspaces_and_a_link_still_opens_a_network_for_anyone(data):
    ana = build_in_session(start(), thirteen_layers(), data / "tiny")
    key = network_key(session_spec(ana))

    bruno = start()  # another browser: nothing of Ana's, no greeting
    assert not bruno.toast
    assert session_spec(bruno) != session_spec(ana) and len(session_spec(bruno)["layers"]) != 13
    assert bruno.session_state[session.DATASET] == str(data / "other")  # the first dataset, not Ana's choice
    open_page(bruno, "architecture")
    assert not bruno.exception
    his = Workspace(owner=ownership.browser_owner(bruno.session_state[identity.SECRET])).load()[0]
    assert his.network == network_key(session_spec(bruno)) and key not in [entry.key for entry in his.history]

    linked = start(net=key)  # a link Ana shared
    assert network_key(session_spec(linked)) == key

    tab = start(secret=ana.session_state[identity.SECRET])  # Ana again, in a new tab
    assert session_spec(tab) == session_spec(ana)
    assert any("from your last session is back" in toast.value for toast in tab.toast)
    tab.session_state[session.SPEC] = tiny_spec()
    open_page(tab, "architecture")
    assert start(secret=bruno.session_state[identity.SECRET]).session_state[session.SPEC] == session_spec(bruno)


def test_one_person_on_a_laptop_finds_the_workspace_kept_before_the_lab_knew_people(data):
    lab = Workspace()
    before = State(dataset="other")
    lab.remember(before, thirteen_layers())
    lab.save(before)
    at = start()
    assert session_spec(at) == thirteen_layers()
    assert at.session_state[session.DATASET] == str((data / "other").resolve())
    assert any("from your last session is back (13 layers)" in toast.value for toast in at.toast)
    again = start(secret=at.session_state[identity.SECRET])
    assert session_spec(again) == thirteen_layers()
    assert not start().toast  # a second browser is a second person: a fresh start


def test_a_reload_brings_back_the_network_and_the_dataset(data):
    spec = thirteen_layers()
    at = build_in_session(start(), spec, data / "other")
    key = network_key(session_spec(at))
    assert at.query_params["net"] == key
    assert at.query_params["dataset"] == "other"

    # A reload: a new session with the same address.
    again = start(net=key, dataset="other")
    assert again.session_state[session.DATASET] == str((data / "other").resolve())
    assert [layer["type"] for layer in session_spec(again)["layers"]] == [layer["type"] for layer in spec["layers"]]
    assert session_spec(again)["name"] == "my thirteen"
    assert any("is back" in t.value for t in again.toast)


def test_a_new_tab_or_a_server_restart_brings_back_the_last_network(data):
    at = build_in_session(start(), thirteen_layers(), data / "other")
    expected = session_spec(at)
    # A typed address with nothing in it, in a new session of the same browser (a restarted server reads the same
    # files).
    fresh = start(secret=at.session_state[identity.SECRET])
    assert session_spec(fresh) == expected
    assert fresh.session_state[session.DATASET] == str((data / "other").resolve())
    open_page(fresh, "architecture")
    assert not fresh.exception
    assert len(session_spec(fresh)["layers"]) == 13


def test_a_shared_link_opens_its_network_even_after_other_edits(data):
    at = build_in_session(start(), thirteen_layers(), data / "tiny")
    shared = network_key(session_spec(at))
    build_in_session(at, tiny_spec(), data / "tiny")
    assert network_key(session_spec(at)) != shared
    linked = start(net=shared, dataset="tiny")
    assert network_key(session_spec(linked)) == shared


@pytest.mark.parametrize("query", [{"net": "../../../../etc/passwd"}, {"net": "0123456789ab"},
                                   {"dataset": "../../etc"}, {"dataset": "nope", "net": "x" * 5000}])
def test_a_bad_link_says_so_and_starts_from_the_default(data, query):
    at = start(**query)
    warnings = " ".join(w.value for w in at.warning)
    open_page(at, "architecture")
    assert not at.exception, [e.value for e in at.exception]
    assert "not a network key" in warnings or "No saved network" in warnings or "is not in" in warnings
    assert session_spec(at)["layers"]  # the default network
    assert session.DATASET not in at.session_state or ".." not in at.session_state[session.DATASET]


def test_loading_a_preset_keeps_the_built_network_in_history_and_it_can_be_restored(data):
    at = build_in_session(start(), thirteen_layers(), data / "tiny")
    built = session_spec(at)
    at.selectbox(key="arch_preset").set_value("seed-first")
    at.button(key="arch_load_preset").click().run()
    assert not at.exception
    assert len(session_spec(at)["layers"]) != 13

    history = at.selectbox(key="arch_history")
    assert history.value == network_key(built)
    assert "13 layers" in history.format_func(history.value)
    at.button(key="arch_history_restore").click().run()
    assert not at.exception
    assert session_spec(at) == built
    assert any("Restored your earlier network" in i.value for i in at.info)


def test_a_damaged_workspace_is_reported_and_the_page_still_works(data, tmp_path):
    root = Workspace().root
    root.mkdir(parents=True, exist_ok=True)
    (root / "state.json").write_bytes(b"\xff\xfe garbage")
    at = start()
    assert any("could not be read" in w.value for w in at.warning)
    open_page(at, "architecture")
    assert not at.exception
    assert any(p.name.startswith("state.json.damaged-") for p in root.iterdir())


def test_a_workspace_that_cannot_be_written_is_one_warning_and_the_page_keeps_working(data, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the workspace folder should be", encoding="utf-8")
    monkeypatch.setenv("CNN_LAB_WORKSPACE", str(blocker))
    at = start()
    open_page(at, "architecture")
    assert not at.exception, [e.value for e in at.exception]
    assert any("Cannot save the workspace" in w.value and "CNN_LAB_WORKSPACE" in w.value for w in at.warning)
    assert session_spec(at)["layers"]
    assert blocker.read_text(encoding="utf-8") == "a file where the workspace folder should be"


@pytest.mark.parametrize("damage", [
    {"compile": "adam"},
    {"compile": {"optimizer": [1, 2], "loss": 5, "metrics": 5}},
    {"compile": {"optimizer": {"name": "sgd", "learning_rate": "fast", "momentum": 7, "nesterov": "yes"}}},
    {"compile": {"optimizer": {"name": "adamw", "weight_decay": -1e308, "beta_1": 0.5}}},
    {"layers": ["Conv2D", {"type": ["Dense"]}, {"type": "Dense", "units": 2, "activation": "softmax"}]},
    {"input_shape": "28x28", "name": ["not", "text"]},
])
def test_a_tampered_saved_network_opens_without_a_traceback(data, damage):
    spec = {**tiny_spec(), **damage}
    workspace = Workspace()
    current = State(dataset="tiny")
    workspace.remember(current, spec)
    workspace.save(current)
    at = start()
    damaged = any("is damaged" in w.value for w in at.warning)
    open_page(at, "train")
    assert not at.exception, [e.value for e in at.exception]
    assert damaged or at.button(key="train_start").disabled
    for page in ("architecture", "padding", "runs", "predict", "dataset"):
        open_page(at, page)
        assert not at.exception, (page, [e.value for e in at.exception])


def test_switching_the_optimizer_keeps_only_the_settings_it_takes(data):
    spec = tiny_spec()
    spec["compile"]["optimizer"] = {"name": "adam", "learning_rate": 0.01, "beta_1": 0.8, "amsgrad": True}
    at = build_in_session(start(), spec, data / "tiny")
    optimizer = next(s for s in at.selectbox if s.label == "optimizer")
    optimizer.set_value("sgd").run()
    assert not at.exception
    settings = session_spec(at)["compile"]["optimizer"]
    assert settings["name"] == "sgd" and "beta_1" not in settings and "amsgrad" not in settings
    assert any("The network is valid" in s.value for s in at.success)
