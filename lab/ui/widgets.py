"""Drawing helpers the pages share: the shape table, shape text, progress callbacks."""

from __future__ import annotations

import html
from collections.abc import Callable

import streamlit as st

from lab import layers
from lab.i18n import number, t
from lab.shapes import Table
from lab.spec import Report

ERROR_BG = "rgba(255, 43, 43, 0.16)"
ERROR_FG = "rgb(220, 38, 38)"
WARN_BG = "rgba(255, 189, 69, 0.20)"
WARN_FG = "rgb(180, 110, 0)"


def shape_text(shape) -> str:
    """(28, 28, 32) -> '28 × 28 × 32'."""
    if shape is None:
        return "—"
    return " × ".join(str(v) for v in shape)


def _cell(text: str, style: str = "") -> str:
    return f'<td style="padding:4px 8px;vertical-align:top;{style}">{text}</td>'


def shape_table_html(spec: dict, report: Report, result: Table | None) -> str:
    """The shape table as an HTML <table>: Input row first, one row per layer, totals at the bottom.

    ``report`` and ``result`` are the spec's check and shape table (``lab.ui.session.check``). A layer with an
    error gets a red row and its message; a layer with a warning a yellow note.
    """
    errors: dict[int, list[str]] = {}
    warnings: dict[int, list[str]] = {}
    for problem in report.errors:
        if problem.layer is not None:
            errors.setdefault(problem.layer, []).append(problem.message)
    for problem in report.warnings:
        if problem.layer is not None:
            warnings.setdefault(problem.layer, []).append(problem.message)

    receptive_help = html.escape(t("ui_widgets.table.receptive.help"), quote=True)
    head = "".join(f'<th style="text-align:{align};padding:4px 8px"{extra}>{html.escape(name)}</th>'
                   for name, align, extra in (("#", "right", ""), (t("ui_widgets.table.layer"), "left", ""),
                                              (t("ui_widgets.table.output_shape"), "left", ""),
                                              (t("ui_widgets.table.parameters"), "right", ""),
                                              (t("ui_widgets.table.how"), "left", ""),
                                              (t("ui_widgets.table.receptive"), "left",
                                               f' class="lab-receptive" title="{receptive_help}"')))
    rows = [
        "<tr>" + _cell("0", "text-align:right") + _cell(f"<b>{html.escape(t('ui_widgets.table.input'))}</b>")
        + _cell(f'<code style="white-space:nowrap">{shape_text(spec.get("input_shape"))}</code>')
        + _cell("0", "text-align:right") + _cell(html.escape(t("ui_widgets.table.input_shape")))
        + _cell('<code style="white-space:nowrap">1 × 1</code>') + "</tr>"
    ]
    for index, layer in enumerate(spec.get("layers") or [], start=1):
        row = result.rows[index - 1] if result is not None and index - 1 < len(result.rows) else None
        kind = html.escape(str(layer.get("type", "?")) if isinstance(layer, dict) else "?")
        summary = html.escape(layers.summary(layer)) if isinstance(layer, dict) else ""
        name = f"<b>{kind}</b>" + (f'<br><span style="opacity:0.7;font-size:0.85em">{summary}</span>'
                                   if summary else "")
        messages = errors.get(index, [])
        if row is not None and row.error and row.error not in messages:
            messages = [row.error, *messages]
        style = f"background:{ERROR_BG};" if messages else ""
        shape = (f'<code style="white-space:nowrap">{shape_text(row.output_shape)}</code>'
                 if row is not None and row.output_shape else "—")
        params = number(row.params) if row is not None and row.output_shape else "—"
        formula = html.escape(row.formula) if row is not None and row.output_shape else ""
        receptive = _receptive_cell(row)
        notes = "".join(f'<div class="lab-error" style="color:{ERROR_FG};font-weight:600">⛔ {html.escape(m)}</div>'
                        for m in messages)
        notes += "".join(f'<div class="lab-warning" style="color:{WARN_FG};background:{WARN_BG};padding:2px 4px;'
                         f'border-radius:4px;margin-top:2px">⚠️ {html.escape(m)}</div>'
                         for m in warnings.get(index, []))
        css_class = "lab-row-error" if messages else ("lab-row-warning" if index in warnings else "lab-row")
        rows.append(f'<tr class="{css_class}" style="{style}">' + _cell(str(index), "text-align:right")
                    + _cell(name) + _cell(shape) + _cell(params, "text-align:right")
                    + _cell(formula + notes, "font-size:0.9em") + receptive + "</tr>")
    if result is not None and result.ok:
        total = html.escape(t("ui_widgets.table.total", total=number(result.total_params)))
        split = html.escape(t("ui_widgets.table.trainable", trainable=number(result.trainable_params),
                              non_trainable=number(result.non_trainable_params)))
        totals = f"<b>{total}</b> · {split}"
    else:
        totals = f"<b>{html.escape(t('ui_widgets.table.no_totals'))}</b>"
    rows.append('<tr style="border-top:2px solid rgba(128,128,128,0.5)">' + _cell("") + _cell("")
                + _cell('<code style="white-space:nowrap">'
                        f"{shape_text(result.output_shape) if result is not None and result.ok else '—'}</code>")
                + _cell(number(result.total_params) if result is not None and result.ok else "—",
                        "text-align:right;font-weight:600")
                + _cell(totals) + _cell("") + "</tr>")
    return ('<table class="lab-shape-table" '
            'style="width:100%;border-collapse:collapse;font-size:0.85em;table-layout:auto">'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _receptive_cell(row) -> str:
    """The input pixels one output value sees, with r_out = r_in + (k − 1)·d·j_in written out beneath."""
    if row is None or row.receptive is None:
        return _cell("—")
    text = f'<code style="white-space:nowrap">{html.escape(row.receptive_text)}</code>'
    if row.receptive_formula:
        text += f'<br><span style="opacity:0.7;font-size:0.85em">{html.escape(row.receptive_formula)}</span>'
    return _cell(text, "font-size:0.9em")


def shape_table(spec: dict, report: Report, result: Table | None) -> None:
    st.markdown(shape_table_html(spec, report, result), unsafe_allow_html=True)


def progress_callback(bar) -> Callable:
    """A ``progress(fraction, text)`` callback that drives an ``st.progress`` bar.

    Also accepts ``progress(done, total)`` with whole numbers, and a bare fraction.
    """
    def update(*args) -> None:
        text = None
        if len(args) >= 2 and isinstance(args[1], str):
            fraction, text = float(args[0]), args[1]
        elif len(args) >= 2:
            fraction = float(args[0]) / max(float(args[1]), 1.0)
        else:
            fraction = float(args[0]) if args else 0.0
        bar.progress(min(max(fraction, 0.0), 1.0), text=text)

    return update


UPLOAD_ROUNDS = "_upload_rounds"  # uploader key -> batches it has handled


def uploader_key(base: str) -> str:
    """The widget key of the uploader ``base`` for the batch now starting: ``base``, then ``base_1``, ``base_2``...

    Streamlit keeps uploaded files until the person removes them one by one; after `clear_uploader` the uploader is
    drawn under the next key, empty, ready for the next batch.
    """
    rounds = st.session_state.get(UPLOAD_ROUNDS, {}).get(base, 0)
    return f"{base}_{rounds}" if rounds else base


def clear_uploader(base: str, *state: str) -> None:
    """Empties the uploader ``base`` once its batch is handled (imported, added); ``state`` names the widgets that
    belonged to that batch (its name, its replace box), which start afresh with the next one."""
    st.session_state.pop(uploader_key(base), None)
    rounds = st.session_state.setdefault(UPLOAD_ROUNDS, {})
    rounds[base] = rounds.get(base, 0) + 1
    for key in state:
        st.session_state.pop(key, None)
