"""The language of the page: ``?lang=`` in the address, the browser's language on a first visit, the sidebar's
choice; switching keeps the network and the address follows."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest
from ui_support import APP, make_dataset, open_page, tiny_spec

from lab import i18n
from lab.ui import autosave, session

PORTUGUESE_TITLES = {"dataset": "Conjunto de dados", "architecture": "Arquitetura", "train": "Treinar"}


@pytest.fixture
def data(data_root):
    make_dataset(data_root, "tiny")
    return data_root


def start(query: dict | None = None, locale: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(query or {})
    if locale:
        at.context["locale"] = locale
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def picker(at: AppTest):
    return at.sidebar.selectbox(key=session.LANGUAGE_PICK)


def titles(at: AppTest) -> dict[str, str]:
    return {name: page.title for name, page in at.session_state[session.PAGES].items()}


def test_lang_in_the_address_shows_the_navigation_and_the_sidebar_in_portuguese(data):
    at = start({"lang": "pt-BR"})
    assert picker(at).label == "Idioma" and picker(at).value == "pt-BR"
    assert titles(at).items() >= PORTUGUESE_TITLES.items()
    assert at.query_params["lang"] == "pt-BR"
    english = start({"lang": "en"})
    assert picker(english).label == "Language" and titles(english)["dataset"] == "Dataset"


def test_a_first_visit_follows_the_browser_and_the_address_wins_over_it(data):
    assert picker(start(locale="pt-BR")).value == "pt-BR"
    assert titles(start(locale="pt-PT"))["architecture"] == "Arquitetura"
    assert picker(start(locale="en-US")).value == "en"
    assert picker(start(locale="de-DE")).value == "en"  # a language the lab does not speak: the default
    at = start({"lang": "en"}, locale="pt-BR")
    assert picker(at).value == "en" and titles(at)["dataset"] == "Dataset"
    assert start(locale="pt-BR").query_params["lang"] == "pt-BR"  # the address names it, so a link keeps it


def test_switching_the_language_keeps_the_network_and_the_page(data):
    at = start()
    at.session_state[session.DATASET] = str(data / "tiny")
    at.session_state[session.SPEC] = tiny_spec(padding="valid")
    open_page(at, "architecture")
    assert not at.exception, [e.value for e in at.exception]
    at.session_state[session.RUN] = str(data.parent / "runs" / "watched")
    network = at.session_state[session.SPEC]
    generation = at.session_state[session.GENERATION]

    picker(at).set_value("pt-BR").run()
    assert not at.exception, [e.value for e in at.exception]
    assert picker(at).label == "Idioma" and titles(at)["architecture"] == "Arquitetura"
    assert at.query_params["lang"] == "pt-BR"
    assert at.session_state[session.SPEC] == network
    assert at.session_state[session.GENERATION] == generation  # not replaced: the editor keeps its widgets
    assert at.session_state[session.RUN] == str(data.parent / "runs" / "watched")
    assert any(box.key == "arch_preset" for box in at.selectbox)  # still on the Architecture page

    # AppTest formats the options of the page it holds in the test's own thread, where no session speaks: that
    # thread speaks the language the page was drawn in.
    with i18n.speaking("pt-BR"):
        picker(at).set_value("en").run()
    assert not at.exception, [e.value for e in at.exception]
    assert picker(at).label == "Language"
    assert at.session_state[session.SPEC] == network and at.query_params["lang"] == "en"


def test_a_thread_without_a_page_speaks_the_environments_language(data):
    start({"lang": "pt-BR"})  # installs the page's resolver
    assert i18n.language() == "en"  # CNN_LAB_LANG of the tests: no session answers outside a script run
    assert i18n.t("common.language") == "Language"


def test_the_workspace_messages_speak_the_pages_language(data):
    key = start().query_params["net"]  # the first visit saves the default network
    again = start({"lang": "pt-BR", "net": key})
    layers = len(again.session_state[session.SPEC]["layers"])
    assert [toast.value for toast in again.toast] == [
        f"A rede deste link está de volta ({layers} camadas). As anteriores estão em Arquitetura → Histórico."]
    lost = start({"lang": "pt-BR", "dataset": "sumiu"})
    said = [w.value for w in lost.warning]
    assert any(text.startswith("O conjunto de dados “sumiu” indicado no endereço não está em ") for text in said)


def test_history_times_speak_the_current_language():
    now = time.mktime((2026, 11, 27, 15, 0, 0, 0, 0, -1))
    march = time.mktime((2026, 3, 3, 14, 2, 0, 0, 0, -1))
    assert [autosave.when(now - 10, now), autosave.when(now - 300, now), autosave.when(march, now)] == [
        "just now", "5 min ago", "03 Mar 14:02"]
    with i18n.speaking("pt-BR"):
        assert [autosave.when(now - 10, now), autosave.when(now - 300, now), autosave.when(march, now)] == [
            "agora mesmo", "há 5 min", "03 mar 14:02"]
