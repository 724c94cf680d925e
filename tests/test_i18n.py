"""The word catalogues: both languages complete, the same placeholders, every id used and every used id there."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

from lab import i18n
from lab.i18n import FOLDERS, LOCALE_DIR, catalogue, normalize, parse_po, t

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [ROOT / "streamlit_app.py", *sorted((ROOT / "lab").rglob("*.py"))]


def placeholders(text: str) -> set[str]:
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(text) if name}


def string_constants() -> set[str]:
    found = set()
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.add(node.value)
    return found


def t_calls() -> list[tuple[str, str, set[str] | None]]:
    """(where, id, keyword names or None when **kwargs is passed) of every t("literal", ...) call in the code."""
    calls = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if (isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute))
                    and (node.func.id if isinstance(node.func, ast.Name) else node.func.attr) == "t"
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                names = {k.arg for k in node.keywords if k.arg is not None and k.arg != "lang"}
                spread = any(k.arg is None for k in node.keywords)
                calls.append((f"{path.relative_to(ROOT)}:{node.lineno}", node.args[0].value, None if spread else names))
    return calls


def test_both_languages_have_the_same_files_and_ids_with_the_same_placeholders():
    english = {p.name for p in i18n.catalogue_files("en")}
    assert english == {p.name for p in i18n.catalogue_files("pt-BR")}
    for name in english:
        en = parse_po((LOCALE_DIR / FOLDERS["en"] / name).read_text(encoding="utf-8"), name)
        pt = parse_po((LOCALE_DIR / FOLDERS["pt-BR"] / name).read_text(encoding="utf-8"), name)
        assert sorted(set(en) - set(pt)) == [], f"missing in pt_BR/{name}"
        assert sorted(set(pt) - set(en)) == [], f"missing in en/{name}"
        for key, text in en.items():
            assert key.startswith(name[:-3] + "."), f"{key} belongs in {key.split('.')[0]}.po, not {name}"
            assert text.strip(), f"en/{name}: {key} is empty"
            assert pt[key].strip(), f"pt_BR/{name}: {key} is empty"
            assert placeholders(text) == placeholders(pt[key]), f"{key}: placeholders differ between languages"


def test_every_id_in_the_catalogue_is_used_by_the_code():
    used = string_constants()
    unused = sorted(key for key in catalogue("en") if key not in used)
    assert unused == [], f"ids no code uses (write each id in full somewhere in lab/): {unused[:20]}"


def test_every_id_the_code_asks_for_exists_with_its_placeholders():
    english = catalogue("en")
    problems = []
    for where, key, names in t_calls():
        if key not in english:
            problems.append(f"{where}: no id {key!r}")
        elif names is not None and names != placeholders(english[key]):
            problems.append(f"{where}: {key} takes {sorted(placeholders(english[key]))}, given {sorted(names)}")
    assert problems == []


@pytest.mark.parametrize("lang", ["en", "pt-BR"])
def test_every_entry_formats_with_its_own_placeholders(lang):
    for key, text in catalogue(lang).items():
        values = {name: 1 for name in placeholders(text)}
        try:
            text.format(**values)
        except (ValueError, IndexError, TypeError) as error:
            if "format code" not in str(error) and "Unknown format" not in str(error):
                raise AssertionError(f"{lang} {key}: {error}") from None


@pytest.mark.parametrize("tag, expected", [("pt_BR.UTF-8", "pt-BR"), ("pt-br", "pt-BR"), ("pt", "pt-BR"),
                                           ("en_US.UTF-8", "en"), ("C", "en"), ("de_DE", None), ("", None),
                                           (None, None), (5, None)])
def test_locale_tags_map_to_the_lab_languages(tag, expected):
    assert normalize(tag) == expected


def test_the_language_follows_the_context_then_the_resolver_then_the_environment(monkeypatch):
    monkeypatch.setenv("LANG", "pt_BR.UTF-8")
    monkeypatch.delenv("CNN_LAB_LANG", raising=False)
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    assert t("common.language") == "Idioma"
    i18n.set_resolver(lambda: "en")
    try:
        assert t("common.language") == "Language"
        with i18n.speaking("pt-BR"):
            assert t("common.language") == "Idioma"
        assert t("common.language", lang="pt-BR") == "Idioma"
    finally:
        i18n.set_resolver(None)


def test_a_po_file_with_continued_lines_escapes_and_fuzzy_entries_reads_right():
    text = ('msgid ""\nmsgstr "Language: en\\n"\n\n'
            '# a comment\nmsgid "a.one"\nmsgstr "first "\n"second \\"quoted\\"\\n"\n\n'
            '#, fuzzy\nmsgid "a.two"\nmsgstr "not ready"\n')
    assert parse_po(text) == {"a.one": 'first second "quoted"\n'}
    with pytest.raises(ValueError, match="appears twice"):
        parse_po('msgid "a.x"\nmsgstr "1"\n\nmsgid "a.x"\nmsgstr "2"\n')


def test_an_unknown_id_is_a_mistake_in_the_code():
    with pytest.raises(KeyError):
        t("no.such.id")


def test_numbers_are_written_the_readers_way():
    import numpy as np

    assert i18n.number(30000, lang="en") == "30,000" and i18n.number(30000, lang="pt-BR") == "30.000"
    assert i18n.number(0.255, ".1%", lang="pt-BR") == "25,5%" and i18n.number(0.255, ".1%", lang="en") == "25.5%"
    assert i18n.number(1234567.891, ",.2f", lang="pt-BR") == "1.234.567,89"
    assert t("data.digits.drawing", lang="pt-BR", total=31000) == "Desenhando 31.000 dígitos"
    assert t("data.digits.drawing", lang="en", total=31000) == "Drawing 31,000 digits"
    assert t("data.digits.drawing", lang="pt-BR", total=np.int64(31000)) == "Desenhando 31.000 dígitos"
    with i18n.speaking("pt-BR"):
        assert i18n.number(2.5, ".1f") == "2,5"
        # a value the person types keeps its point, as the number boxes and Keras take it
        assert f"{i18n.Setting(0.001):g}" == "0.001" and i18n.Setting(0.25).__format__(".2f") == "0.25"
        assert t("diagnostics.nan_loss.message_with_rate", epoch=2, batch=3, rate=i18n.Setting(0.01),
                 lower=i18n.Setting(0.001)).count("0.0") == 2
        # a placeholder without a format is left as given: names, paths and shapes keep their dots and commas
        assert t("ui_dataset.exists", folder="Data/v1.2,old") == "Data/v1.2,old já existe."
