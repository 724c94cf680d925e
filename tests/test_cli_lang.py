"""`python -m lab` speaks the language of `--lang` (before or after the command) or of the environment."""

import argparse
import os
import subprocess
import sys

import pytest

from lab import i18n, presets
from lab.cli import main
from lab.data import sample_digits
from lab.errors import LabError
from tests.conftest import ROOT

CSV = "label," + ",".join(f"pixel{i}" for i in range(1, 785)) + "\n" + "".join(
    f"{label}," + ",".join(["7"] * 784) + "\n" for label in (0, 1))


def run_cli(*args, **env):
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("CNN_LAB_LANG", "LC_ALL", "LC_MESSAGES", "LANG")}
    return subprocess.run([sys.executable, "-m", "lab", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**environment, **env}, timeout=120)


def refusal(lang: str) -> str:
    with i18n.speaking(lang), pytest.raises(LabError) as error:
        presets.resolve("no-such-preset")
    return str(error.value)


def test_a_refusal_speaks_portuguese_with_lang_before_or_after_the_command_or_with_lang_env():
    portuguese = refusal("pt-BR")
    assert portuguese != refusal("en")
    for result in (run_cli("shapes", "no-such-preset", "--lang", "pt-BR"),
                   run_cli("--lang=pt-BR", "shapes", "no-such-preset"),
                   run_cli("shapes", "no-such-preset", LANG="pt_BR.UTF-8")):
        assert result.returncode == 2 and result.stdout == ""
        assert result.stderr == f"erro: {portuguese}\n"
    english = run_cli("shapes", "no-such-preset", "--lang", "en", LANG="pt_BR.UTF-8")
    assert english.returncode == 2 and english.stderr == f"error: {refusal('en')}\n"


def test_an_unknown_language_is_one_sentence_naming_the_choices(capsys):
    assert main(["shapes", "recommended", "--lang", "xx"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == "error: --lang must be one of en, pt-BR, not 'xx'.\n"
    assert main(["--lang"]) == 2
    assert capsys.readouterr().err == "error: --lang must be one of en, pt-BR, not ''.\n"


def test_help_and_argparse_errors_in_portuguese_and_english_again_afterwards(capsys):
    with pytest.raises(SystemExit) as done:
        main(["import-csv", "--help", "--lang", "pt-BR"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("uso: lab import-csv") and "\nopções:\n" in out and "\nargumentos posicionais:\n" in out
    assert "o arquivo CSV" in out and "mostra esta ajuda e sai" in out and "--lang {en,pt-BR}" in out

    assert main(["import-csv", "--lang", "pt-BR"]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "erro: Faltam argumentos obrigatórios: csv, --out; veja `python -m lab import-csv --help`.")
    assert main(["--lang", "pt-BR", "import-csv", "x.csv", "--out", "d", "--split", "Nope"]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "erro: Argumento --split: opção inválida: 'Nope' (as opções são 'Train', 'Test'); veja "
        "`python -m lab import-csv --help`.")

    assert i18n.language() == "en" and argparse._("usage: ") == "usage: "  # nothing stays switched
    assert main(["import-csv"]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "error: The following arguments are required: csv, --out; see `python -m lab import-csv --help`.")


def test_a_csv_import_refusal_and_its_fix_in_portuguese(tmp_path, capsys):
    csv = tmp_path / "small.csv"
    csv.write_text(CSV)
    out = tmp_path / "d"
    assert main(["import-csv", str(csv), "--out", str(out), "--lang", "pt-BR"]) == 0
    captured = capsys.readouterr()
    assert captured.out == f"2 imagens gravadas em {out / 'Train'}, em 2 classes.\n" and "100%" in captured.err
    assert main(["import-csv", str(csv), "--out", str(out), "--lang", "pt-BR"]) == 2
    assert capsys.readouterr().err == (
        f"erro: {out / 'Train'} já contém 2 imagens em 2 classes; importar substituiria esse conteúdo. Use --replace "
        "para substituir o conteúdo, ou escolha outro --out.\n")


def test_make_sample_data_writes_into_the_data_root_by_default(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CNN_LAB_DATA", str(tmp_path / "elsewhere"))
    written = []
    monkeypatch.setattr(sample_digits, "make",
                        lambda out, seed=0, progress=None, train_per_class=None: written.append(out))
    assert main(["make-sample-data"]) == 0
    assert written == [tmp_path / "elsewhere" / "sketch-digits"]
    assert capsys.readouterr().out.startswith(f"Wrote {tmp_path / 'elsewhere' / 'sketch-digits'} in ")
