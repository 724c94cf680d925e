"""Every layer type, argument, optimizer, loss and metric the page offers is explained in both languages, and the
in-page guides that show them render in English and in Portuguese."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest
from test_app_portuguese import english_on, english_words, readable
from ui_support import APP, open_page

from lab import compiling, i18n
from lab.layers import LAYER_TYPES
from lab.ui import guides

LANGS = ("en", "pt-BR")


def sentences(text: str) -> int:
    return len([s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z'])", text.strip()) if s])


@pytest.mark.parametrize("lang", LANGS)
def test_every_layer_type_says_what_it_does_to_the_shape_and_parameters_and_when(lang):
    words = i18n.catalogue(lang)
    for name, kind in LAYER_TYPES.items():
        ids = (kind.help_id, kind.shape_id, kind.params_id, kind.when_id)
        assert all(ids), name
        missing = [key for key in ids if not words.get(key, "").strip()]
        assert missing == [], (name, missing)


@pytest.mark.parametrize("lang", LANGS)
def test_every_argument_has_a_short_explanation(lang):
    words = i18n.catalogue(lang)
    for name, kind in LAYER_TYPES.items():
        for arg_name, arg in kind.args.items():
            assert arg.help_id, (name, arg_name)
            text = words.get(arg.help_id, "")
            assert text.strip(), (lang, name, arg_name)
            assert sentences(text) <= 3, (lang, arg.help_id, text)


def test_arguments_that_change_the_shape_or_the_parameters_say_how():
    with i18n.speaking("en"):
        for name, arg_name in (("Conv2D", "filters"), ("Conv2D", "kernel_size"), ("Conv2D", "padding"),
                               ("Conv2D", "strides"), ("Dense", "units"), ("MaxPooling2D", "pool_size")):
            text = LAYER_TYPES[name].args[arg_name].help
            assert re.search(r"output|parameters|halves|shrinks", text), (name, arg_name, text)
        assert "× filters" in LAYER_TYPES["Conv2D"].args["filters"].help


@pytest.mark.parametrize("lang", LANGS)
def test_every_optimizer_loss_and_metric_is_in_a_guide(lang):
    words = i18n.catalogue(lang)
    assert {row.optimizer for row in compiling.OPTIMIZER_GUIDE} == set(compiling.OPTIMIZERS)
    assert [row.loss for row in compiling.LOSS_GUIDE] == list(compiling.LOSSES)
    assert [row.metric for row in compiling.METRIC_GUIDE] == list(compiling.METRICS)
    ids = [key for row in compiling.OPTIMIZER_GUIDE for key in (row.idea_id, row.when_id)]
    ids += [key for row in compiling.LOSS_GUIDE for key in (row.labels_id, row.output_id, row.when_id)]
    ids += [key for row in compiling.METRIC_GUIDE for key in (row.what_id, row.misleads_id)]
    assert [key for key in ids if not words.get(key, "").strip()] == []


def test_top_k_names_its_k():
    with i18n.speaking("pt-BR"):
        rows = {row.metric: row.words()[0] for row in compiling.METRIC_GUIDE}
    assert "3 palpites" in rows["top_3_accuracy"] and "5 palpites" in rows["top_5_accuracy"]


def test_a_table_keeps_a_pipe_inside_a_cell():
    assert guides.table(["a", "b"], [["x|y", "z"]]).splitlines()[-1] == "| x\\|y | z |"


def _guides_app():
    from lab.ui import guides

    guides.render()


def _shown(at: AppTest) -> str:
    return "\n".join(element.value for element in at.markdown) + "\n".join(e.value for e in at.caption)


@pytest.mark.parametrize("lang", LANGS)
def test_the_guides_render_in_both_languages(lang, monkeypatch):
    monkeypatch.setenv("CNN_LAB_LANG", lang)  # the app runs in a thread of its own, which reads the environment
    at = AppTest.from_function(_guides_app, default_timeout=30)
    at.run()
    assert not at.exception
    with i18n.speaking(lang):
        titles = [i18n.t("guides.layers.title"), i18n.t("guides.optimizers.title"), i18n.t("guides.losses.title"),
                  i18n.t("guides.metrics.title")]
        adam = i18n.t("compiling.optimizer.adam.idea")
    assert [expander.label for expander in at.expander] == titles
    shown = _shown(at)
    for name in [*LAYER_TYPES, "SGD + momentum", "Adadelta", *compiling.LOSSES, *compiling.METRICS]:
        assert f"`{name}`" in shown, name
    assert adam in shown
    if lang == "pt-BR":
        english = [line for line in shown.splitlines() if len(english_words(readable(line))) >= 2]
        assert english == []


def test_the_architecture_page_shows_the_guides_in_portuguese(tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_LAB_DATA", str(tmp_path / "Data"))
    monkeypatch.setenv("CNN_LAB_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("CNN_LAB_TF_PRELOAD", "0")
    (tmp_path / "Data").mkdir()
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["lang"] = "pt-BR"
    at.run()
    open_page(at, "architecture")
    assert not at.exception, [e.value for e in at.exception]
    labels = [expander.label for expander in at.expander]
    assert "Guia: otimizadores" in labels and "Guia: métricas" in labels
    assert english_on(at) == []
