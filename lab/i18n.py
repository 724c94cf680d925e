"""Words: every sentence a person reads comes from one catalogue per language.

The catalogues are gettext ``.po`` files with stable ids, one folder per language and one file per part of the
lab (``lab/locale/en/spec.po``, ``lab/locale/pt_BR/spec.po``): ``msgid`` is the id (``spec.unknown_layer``) and
``msgstr`` the words, with named placeholders in ``str.format`` style (``{layer}``, ``{count:,}``). Poedit and
Weblate open them as monolingual catalogues, with English as the source. A number given a format is written the
language's way (30,000 and 2.5 s in English, 30.000 and 2,5 s in Portuguese); code that writes a number itself
uses ``number``.

    from lab.i18n import t
    raise LabError(t("spec.unknown_layer", label=label, known=known))

``t`` speaks the current language: the one set with ``use``/``speaking`` in this thread or context, else the one
the page's resolver gives (the browser session's choice), else ``CNN_LAB_LANG`` / ``LC_ALL`` / ``LC_MESSAGES`` /
``LANG``, else English. An id missing from a language falls back to English; an id missing from English is a
mistake in the code and raises KeyError (a test reads every id the code uses).
"""

from __future__ import annotations

import contextlib
import functools
import numbers
import os
import re
import string
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from functools import cache, lru_cache
from pathlib import Path

LANGUAGES = {"en": "English", "pt-BR": "Português (Brasil)"}
DEFAULT = "en"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
FOLDERS = {"en": "en", "pt-BR": "pt_BR"}  # gettext's folder names

_language: ContextVar[str | None] = ContextVar("lab_language", default=None)
_resolver: Callable[[], str | None] | None = None


def normalize(tag: object) -> str | None:
    """The lab's language for a locale tag ("pt", "pt_BR.UTF-8", "pt-br", "en-US"), or None when it has none."""
    if tag in FOLDERS:
        return tag
    if not isinstance(tag, str) or not tag.strip():
        return None
    return _normalize(tag)


@lru_cache(maxsize=256)
def _normalize(tag: str) -> str | None:
    base = re.split(r"[.@]", tag.strip())[0].replace("_", "-").lower()
    if base.startswith("pt"):
        return "pt-BR"
    if base.startswith("en") or base in ("c", "posix"):
        return "en"
    return None


def use(lang: str | None) -> None:
    """Sets the language of this thread or context (None: back to the resolver and the environment)."""
    _language.set(normalize(lang) if lang else None)


@contextlib.contextmanager
def speaking(lang: str | None) -> Iterator[None]:
    """Speaks ``lang`` inside the block, e.g. in a training thread started for a person who reads Portuguese."""
    token = _language.set(normalize(lang) if lang else None)
    try:
        yield
    finally:
        _language.reset(token)


def settled(function: Callable) -> Callable:
    """Resolves the language once for a whole call that asks for many words (a check, a shape table)."""

    @functools.wraps(function)
    def speaking_once(*args, **kwargs):
        if _language.get():
            return function(*args, **kwargs)
        token = _language.set(language())
        try:
            return function(*args, **kwargs)
        finally:
            _language.reset(token)

    return speaking_once


def set_resolver(resolver: Callable[[], str | None] | None) -> None:
    """Installs the page's way of knowing the language of the person being served (their session's choice)."""
    global _resolver
    _resolver = resolver


ENVIRONMENT = ("CNN_LAB_LANG", "LC_ALL", "LC_MESSAGES", "LANG")
_environment: tuple[tuple, str | None] = ((), None)


def _from_environment() -> str | None:
    """The environment's language; re-read only when one of its variables changed (t() runs thousands of times)."""
    global _environment
    values = tuple(map(os.environ.get, ENVIRONMENT))
    if values != _environment[0]:
        _environment = (values, next((found for found in map(normalize, values) if found), None))
    return _environment[1]


def language() -> str:
    """The language to speak now: "en" or "pt-BR"."""
    chosen = _language.get()
    if chosen:
        return chosen
    if _resolver is not None:
        resolved = normalize(_resolver())
        if resolved:
            return resolved
    return _from_environment() or DEFAULT


# --- the catalogues ---------------------------------------------------------------------------------------------

_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}


def _unquote(text: str, where: str) -> str:
    text = text.strip()
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise ValueError(f"{where}: expected a quoted string, found {text[:40]!r}")
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), text[1:-1])


def parse_po(text: str, source: str = "catalogue") -> dict[str, str]:
    """The id → words pairs of a ``.po`` file (the header entry and fuzzy entries left out)."""
    entries: dict[str, str] = {}
    msgid = msgstr = None
    field = None
    fuzzy = False

    def close() -> None:
        nonlocal msgid, msgstr, field, fuzzy
        if msgid is not None and msgstr is not None and msgid and not fuzzy:
            if msgid in entries:
                raise ValueError(f"{source}: {msgid!r} appears twice")
            entries[msgid] = msgstr
        msgid = msgstr = field = None
        fuzzy = False

    for number, line in enumerate(text.splitlines(), start=1):
        where = f"{source}:{number}"
        stripped = line.strip()
        if not stripped:
            close()
        elif stripped.startswith("#"):
            if msgstr is not None:
                close()
            if stripped.startswith("#,") and "fuzzy" in stripped:
                fuzzy = True
        elif stripped.startswith("msgid "):
            if msgid is not None:
                close()
            msgid, field = _unquote(stripped[6:], where), "id"
        elif stripped.startswith("msgstr "):
            if msgid is None:
                raise ValueError(f"{where}: msgstr without msgid")
            msgstr, field = _unquote(stripped[7:], where), "str"
        elif stripped.startswith('"'):
            if field == "id":
                msgid += _unquote(stripped, where)
            elif field == "str":
                msgstr += _unquote(stripped, where)
            else:
                raise ValueError(f"{where}: a continued string outside an entry")
        else:
            raise ValueError(f"{where}: cannot read {stripped[:40]!r}")
    close()
    return entries


def catalogue_files(lang: str) -> list[Path]:
    return sorted((LOCALE_DIR / FOLDERS[lang]).glob("*.po"))


@cache
def catalogue(lang: str) -> dict[str, str]:
    """Every id → words pair of one language, from all of its ``.po`` files."""
    words: dict[str, str] = {}
    for path in catalogue_files(lang):
        for key, text in parse_po(path.read_text(encoding="utf-8"), str(path)).items():
            if key in words:
                raise ValueError(f"{path}: {key!r} is also in another file")
            words[key] = text
    return words


def _speaking(lang: str | None) -> str:
    return (lang if lang in FOLDERS else normalize(lang)) if lang else (_language.get() or language())


def t(key: str, /, lang: str | None = None, **params: object) -> str:
    """The words for ``key`` in the current language (or ``lang``), with the named placeholders filled in.

    A number with a format (``{count:,}``, ``{loss:.2f}``) is written the language's way (see `number`).
    """
    lang = _speaking(lang)
    words = _loaded.get(lang) or _load(lang)
    text = words.get(key)
    if not text:
        text = (_loaded.get(DEFAULT) or _load(DEFAULT)).get(key)
        if text is None:
            raise KeyError(f"no words for {key!r} in {LOCALE_DIR / FOLDERS[DEFAULT]}")
    if params or "{" in text or "}" in text:
        marks = _MARK_TABLES.get(lang)
        return _LocalNumbers(marks).vformat(text, (), params) if marks else text.format(**params)
    return text


# The thousands and decimal marks of each language that does not write them as English does ("," and ".").
NUMBER_MARKS = {"pt-BR": (".", ",")}
_MARK_TABLES = {lang: str.maketrans({",": thousands, ".": decimal}) for lang, (thousands, decimal) in
                NUMBER_MARKS.items()}


def number_marks(lang: str | None = None) -> tuple[str, str]:
    """(thousands, decimal) as the current language (or ``lang``) writes them."""
    return NUMBER_MARKS.get(_speaking(lang), (",", "."))


def number(value: float, spec: str = ",", lang: str | None = None) -> str:
    """``value`` formatted with ``spec``, the reader's way: 30,000 and 0.25 in English, 30.000 and 0,25 in
    Portuguese."""
    text = format(value, spec)
    marks = _MARK_TABLES.get(_speaking(lang))
    return text.translate(marks) if marks else text


class Setting:
    """A value the person types (a learning rate, a fraction): written with a point in every language, the way the
    lab's number boxes and Keras take it, where a measurement (a loss, a count) gets the language's marks."""

    __slots__ = ("value",)

    def __init__(self, value: float):
        self.value = value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    def __str__(self) -> str:
        return str(self.value)


class _LocalNumbers(string.Formatter):
    """str.format, but a number given a format gets the language's marks (a plain ``{value}`` is left as it is)."""

    def __init__(self, marks: dict):
        self.marks = marks

    def format_field(self, value, format_spec):
        text = super().format_field(value, format_spec)
        if format_spec and isinstance(value, numbers.Real) and not isinstance(value, bool):
            return text.translate(self.marks)
        return text


_loaded: dict[str, dict[str, str]] = {}


def _load(lang: str) -> dict[str, str]:
    _loaded[lang] = catalogue(lang)
    return _loaded[lang]


def has(key: str) -> bool:
    return key in catalogue(DEFAULT)
