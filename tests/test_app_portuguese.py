"""Every page opened with ``?lang=pt-BR`` speaks Portuguese: no English sentence anywhere a person reads it.

Two nets catch English: sentences of the English catalogue that Portuguese words replace, and English-only
function words ("the", "with", "your", ...) in any text of the page (labels, help, options, captions, messages,
the shape table). Code, Keras names, file paths and numbers are left out before looking.
"""

from __future__ import annotations

import html
import re
import string

import numpy as np
import pytest
from google.protobuf.json_format import MessageToDict
from streamlit.testing.v1 import AppTest
from ui_support import APP, open_page, png_bytes, square_image, use_lab

from lab.i18n import catalogue

PAGES = ["dataset", "architecture", "padding", "train", "runs", "predict", "samples"]
TEXT_KEYS = {"body", "label", "help", "options", "placeholder", "text", "caption", "title", "formattedOptions"}
ENGLISH_ONLY = {"the", "and", "with", "your", "you", "this", "that", "from", "which", "when", "into", "each",
                "every", "before", "after", "will", "would", "should", "there", "their", "has", "have", "been",
                "are", "was", "were", "not", "than", "then", "these", "those", "here", "what", "where", "how",
                "its", "of", "to", "is", "it", "on", "or", "by", "for", "at", "be", "an", "if", "can"}


def texts_of(node) -> list[str]:
    """Every string a person can read in one element or block (and its children)."""
    found = []
    proto = getattr(node, "proto", None)
    if proto is not None and hasattr(proto, "DESCRIPTOR"):
        found.extend(_strings(MessageToDict(proto)))
    for child in (getattr(node, "children", None) or {}).values():
        found.extend(texts_of(child))
    return found


def _strings(value, key: str | None = None) -> list[str]:
    if isinstance(value, dict):
        return [s for k, v in value.items() if k not in ("spec", "data", "arrowData", "id", "formId") for s in
                _strings(v, k)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item, key)]
    return [value] if isinstance(value, str) and key in TEXT_KEYS else []


def readable(text: str) -> str:
    """The words of a text without code, tags, paths, identifiers and numbers."""
    text = re.sub(r"<(style|code)[^>]*>.*?</\1>", " ", text, flags=re.S)
    text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r":material/[a-z_]+:", " ", text)
    return " ".join(w for w in text.split() if not re.search(r"[/_=(){}\[\]\\]|\.\w|\d", w))


def english_words(text: str) -> list[str]:
    words = [w.strip(string.punctuation + "“”’‘…—–·").lower() for w in readable(text).split()]
    return [w for w in words if w in ENGLISH_ONLY]


def english_sentences() -> list[str]:
    """Fixed pieces (20+ characters) of English catalogue entries whose Portuguese differs."""
    english, portuguese = catalogue("en"), catalogue("pt-BR")
    pieces = []
    for key, text in english.items():
        if portuguese.get(key, text) == text:
            continue
        for piece in re.split(r"\{[^}]*\}", text):
            piece = readable(piece).strip()
            if len(piece) >= 20 and len(english_words(piece)) >= 2:
                pieces.append(piece)
    return pieces


def english_on(at: AppTest) -> list[str]:
    shown = [t for node in (at.main, at.sidebar) for t in texts_of(node)]
    flagged = [t for t in shown if len(english_words(t)) >= 2 or "the" in english_words(t)]
    page_text = " ".join(readable(t) for t in shown)
    leaked = [piece for piece in english_sentences() if piece in page_text]
    return flagged + leaked


@pytest.fixture
def portuguese(squares_run, monkeypatch):
    use_lab(monkeypatch, squares_run[0])
    from lab.train import job
    from lab.train.manager import JobManager

    fresh = JobManager()  # no job an earlier test left in the process-wide manager shows up in English
    monkeypatch.setattr(job, "manager", lambda: fresh)
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["lang"] = "pt-BR"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("page", PAGES)
def test_every_page_speaks_portuguese(portuguese, page):
    at = open_page(portuguese, page)
    assert not at.exception, [e.value for e in at.exception]
    assert english_on(at) == []
    assert english_thousands_on(at) == []
    if page == "architecture":  # the shape table's parameter counts, in the thousands here
        table = next(t for t in texts_of(at.main) if t.startswith("<table class=\"lab-shape-table\""))
        assert re.search(r">\d{1,3}(\.\d{3})+<", table)


def test_a_guess_on_the_predict_page_speaks_portuguese(portuguese):
    from lab.ui.predict import SOURCES

    at = open_page(portuguese, "predict")
    at.radio(key="predict_source").set_value(SOURCES[1]).run()  # the upload, whatever its label says
    picture = png_bytes(square_image(np.random.default_rng(1)))
    at.get("file_uploader")[0].set_value(("quadrado.png", picture, "image/png")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert english_on(at) == []


def test_the_net_catches_english():
    assert english_words("Pick a layer to see its settings") == ["to", "its"]
    assert english_words("Escolha uma camada para ver `the_kernel` e Conv2D") == []
    assert any("image_dataset_from_directory" not in p for p in english_sentences())


ENGLISH_THOUSANDS = re.compile(r"(?<![\w.,])\d{1,3}(?:,\d{3})+(?![\d,])")  # 30,000 reads as thirty in Portuguese


def english_thousands_on(at: AppTest) -> list[str]:
    """Numbers with the English thousands mark in the page's text, outside code and tags."""
    found = []
    for text in (t for node in (at.main, at.sidebar) for t in texts_of(node)):
        text = re.sub(r"<(style|code)[^>]*>.*?</\1>", " ", text, flags=re.S)
        text = re.sub(r"`[^`]*`", " ", re.sub(r"<[^>]+>", " ", text))
        found += ENGLISH_THOUSANDS.findall(text)
    return found


def test_the_thousands_net_catches_english_numbers():
    assert ENGLISH_THOUSANDS.findall("30,000 imagens, 30.000 imagens, 1,234,567 pesos, 0,25 e (3, 28, 28)") == [
        "30,000", "1,234,567"]
