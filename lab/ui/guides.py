"""The in-page guides: layer types, optimizers, losses and metrics, each a table in a folded expander.

The words come from the catalogues (``lab.layers.LAYER_TYPES`` and the guides of ``lab.compiling``), so the
guides list exactly what the editor offers, in the reader's language.
"""

from __future__ import annotations

import streamlit as st

from lab import compiling, layers
from lab.i18n import t


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table(columns: list[str], rows: list[list[str]]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(_cell(c) for c in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def layer_rows() -> list[list[str]]:
    rows = []
    for group in layers.GROUPS:
        for kind in layers.LAYER_TYPES.values():
            if kind.group_id == group:
                rows.append([f"`{kind.name}`", kind.help, *kind.guide()])
    return rows


def optimizer_rows() -> list[list[str]]:
    return [[f"`{row.label}`", t(row.idea_id), row.learning_rate, t(row.when_id)]
            for row in compiling.OPTIMIZER_GUIDE]


def loss_rows() -> list[list[str]]:
    return [[f"`{row.loss}`", t(row.labels_id), t(row.output_id), t(row.when_id)] for row in compiling.LOSS_GUIDE]


def metric_rows() -> list[list[str]]:
    return [[f"`{row.metric}`", *row.words()] for row in compiling.METRIC_GUIDE]


def render_layers() -> None:
    with st.expander(t("guides.layers.title"), icon=":material/menu_book:"):
        st.markdown(table([t("guides.column.layer"), t("guides.column.what"), t("guides.column.shape"),
                           t("guides.column.params"), t("guides.column.when")], layer_rows()))


def render_training() -> None:
    """The optimizer, loss and metric guides, for beside the training settings."""
    with st.expander(t("guides.optimizers.title"), icon=":material/menu_book:"):
        st.markdown(table([t("guides.column.optimizer"), t("guides.column.idea"), t("guides.column.learning_rate"),
                           t("guides.column.when")], optimizer_rows()))
    with st.expander(t("guides.losses.title"), icon=":material/menu_book:"):
        st.markdown(table([t("guides.column.loss"), t("guides.column.labels"), t("guides.column.output"),
                           t("guides.column.when")], loss_rows()))
        st.caption(t("guides.losses.note"))
    with st.expander(t("guides.metrics.title"), icon=":material/menu_book:"):
        st.markdown(table([t("guides.column.metric"), t("guides.column.says"), t("guides.column.misleads")],
                          metric_rows()))


def render() -> None:
    """Every guide: the layer types, then the training settings."""
    render_layers()
    render_training()
