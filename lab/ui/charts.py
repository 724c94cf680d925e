"""Altair charts of the page: live training curves, run comparisons, confusion matrices and guesses.

The frame builders are plain pandas and can be tested without a browser; the chart builders only arrange them.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from lab.i18n import number, number_marks, t

if TYPE_CHECKING:  # imported where used: the first page draws without them
    import altair as alt
    import pandas as pd


def localized(chart):
    """The chart with its axes' numbers written the reader's way (3.000 in Portuguese): a Vega number locale."""
    thousands, decimal = number_marks()
    if (thousands, decimal) == (",", "."):  # Vega's own way
        return chart
    import altair as alt

    chart = chart.copy(deep=False)
    config = chart.config if isinstance(chart.config, alt.Config) else alt.Config()
    config.locale = alt.Locale(number=alt.NumberLocale(decimal=decimal, thousands=thousands, grouping=[3],
                                                       currency=["", ""]))
    chart.config = config
    return chart


SMOOTHING = 0.15  # weight of the newest batch in the exponential moving average

# The live chart's curves: the value a frame holds, the words of its legend, its colour.
SERIES = {"batch": "ui_charts.series.batch", "smoothed": "ui_charts.series.smoothed",
          "epoch": "ui_charts.series.epoch", "validation": "ui_charts.series.validation"}
SERIES_COLORS = ["#c6dbef", "#3182bd", "#08519c", "#e6550d"]
METRICS = {"loss": "ui_charts.metric.loss", "accuracy": "ui_charts.metric.accuracy"}
SPLITS = {"training": "ui_charts.split.training", "validation": "ui_charts.split.validation"}


def accuracy_key(keys) -> str | None:
    """The accuracy metric among log keys: "accuracy" first, else any "*accuracy" that is not a validation one."""
    keys = [k for k in keys if isinstance(k, str)]
    if "accuracy" in keys:
        return "accuracy"
    for key in keys:
        if key.endswith("accuracy") and not key.startswith("val_") and "top_" not in key:
            return key
    return None


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def ema(values, alpha: float = SMOOTHING) -> list[float | None]:
    """Exponential moving average that skips gaps (None/NaN) and restarts nowhere."""
    out, current = [], None
    for value in values:
        value = _number(value)
        if value is not None:
            current = value if current is None else alpha * value + (1 - alpha) * current
        out.append(current)
    return out


def _epoch_base(rows: list[dict]) -> int:
    """0 when the log counts epochs from 0, else 1."""
    epochs = [r.get("epoch") for r in rows if isinstance(r.get("epoch"), int)]
    return 0 if epochs and min(epochs) == 0 else 1


def live_frame(batch_log: list[dict], history: list[dict], batches: int | None = None) -> pd.DataFrame:
    """Long-form curves for the live chart: columns x (epochs, fractional for batches), metric, series, value.

    ``metric`` is "loss" or "accuracy"; ``series`` is a key of ``SERIES``: the words are added when drawing.

    ``batch_log`` rows carry ``epoch``, ``batch`` and the running logs Keras reports; ``history`` rows are the
    finished epochs with ``loss``, the accuracy metric and their ``val_`` twins.
    """
    import pandas as pd

    records = []
    batch_log = [r for r in batch_log or [] if isinstance(r, dict)]
    history = [r for r in history or [] if isinstance(r, dict)]
    keys = set().union(*(r.keys() for r in batch_log + history)) if batch_log or history else set()
    acc = accuracy_key(keys)
    metrics = [("loss", "loss")] + ([("accuracy", acc)] if acc else [])
    if batch_log:
        base = _epoch_base(batch_log)
        numbers = [r.get("batch") for r in batch_log if isinstance(r.get("batch"), int)]
        shift = 1 if numbers and min(numbers) == 0 else 0  # count batches from 1
        per_epoch = max(int(batches or max(numbers, default=0) + shift), 1)
        xs = []
        for row in batch_log:
            epoch = int(row.get("epoch", base) or 0) - base
            batch = int(row.get("batch", 0) or 0) + shift
            xs.append(epoch + batch / per_epoch)
        for metric, key in metrics:
            raw = [row.get(key) for row in batch_log]
            for x, value, smooth in zip(xs, raw, ema(raw)):
                if _number(value) is not None:
                    records.append((x, metric, "batch", float(value)))
                if smooth is not None:
                    records.append((x, metric, "smoothed", smooth))
    for index, row in enumerate(history):
        x = float(index + 1)
        for metric, key in metrics:
            for series, name in (("epoch", key), ("validation", f"val_{key}")):
                value = _number(row.get(name))
                if value is not None:
                    records.append((x, metric, series, value))
    return pd.DataFrame.from_records(records, columns=["x", "metric", "series", "value"])


def guessing_loss(classes: int | None) -> float | None:
    """The loss of a network that gives every class the same probability: ln(number of classes)."""
    return math.log(classes) if isinstance(classes, int) and classes >= 2 else None


def log_toggle(key: str) -> bool:
    """The switch between a linear and a logarithmic loss axis."""
    import streamlit as st

    return st.toggle(t("ui_charts.log_axis"), key=key, help=t("ui_charts.log_axis.help"))


def _loss_scale(log: bool) -> alt.Scale:
    import altair as alt

    return alt.Scale(type="log") if log else alt.Scale(zero=False)


def _guessing_lines(class_counts) -> list:
    """A dashed rule at ln(number of classes) for each class count, labelled as the "guessing" level."""
    import altair as alt
    import pandas as pd

    counts = sorted({count for count in class_counts if guessing_loss(count) is not None})
    if not counts:
        return []
    frame = pd.DataFrame([{"value": guessing_loss(count),
                           "label": t("ui_charts.guessing", classes=count, value=guessing_loss(count))}
                          for count in counts])
    base = alt.Chart(frame).encode(y=alt.Y("value:Q"))
    rule = base.mark_rule(color="#888888", strokeDash=[6, 4], strokeWidth=1.5)
    text = base.mark_text(align="left", baseline="bottom", dx=4, dy=-3, color="#555555", fontSize=11).encode(
        x=alt.value(0), text=alt.Text("label:N"))
    return [rule, text]


def _metric_panel(frame: pd.DataFrame, metric: str, height: int, epochs: int | None = None,
                  classes: int | None = None, log: bool = False) -> alt.LayerChart:
    import altair as alt

    names = {key: t(word) for key, word in SERIES.items()}
    title, epoch = t(METRICS[metric]), t("ui_charts.epoch")
    data = frame[frame["metric"] == metric].assign(series=lambda rows: rows["series"].map(names))
    log = log and metric == "loss"
    if log:
        data = data[data["value"] > 0]
    color = alt.Color("series:N", scale=alt.Scale(domain=list(names.values()), range=SERIES_COLORS),
                      legend=alt.Legend(title=None, orient="bottom"))
    x_scale = alt.Scale(domain=[0, int(epochs)], nice=False) if epochs else alt.Scale()
    x = alt.X("x:Q", title=epoch, scale=x_scale, axis=alt.Axis(tickMinStep=1, format="d"))
    scale = alt.Scale(domain=[0, 1]) if metric == "accuracy" else _loss_scale(log)
    y = alt.Y("value:Q", title=title, scale=scale)
    tooltip = [alt.Tooltip("series:N", title=t("ui_charts.curve")), alt.Tooltip("x:Q", title=epoch, format=".2f"),
               alt.Tooltip("value:Q", title=title, format=".4f")]
    base = alt.Chart(data).encode(x=x, y=y, color=color, tooltip=tooltip)
    batch = base.transform_filter(alt.datum.series == names["batch"]).mark_line(strokeWidth=1, opacity=0.7)
    smooth = base.transform_filter(alt.datum.series == names["smoothed"]).mark_line(strokeWidth=2.5)
    per_epoch = base.transform_filter(alt.FieldOneOfPredicate(field="series",
                                                              oneOf=[names["epoch"], names["validation"]]))
    epoch_lines = per_epoch.mark_line(strokeWidth=2, point=alt.OverlayMarkDef(size=60, filled=True))
    guessing = _guessing_lines([classes]) if metric == "loss" else []
    return alt.layer(batch, smooth, epoch_lines, *guessing).properties(title=title, height=height)


def training_chart(frame: pd.DataFrame, height: int = 260, epochs: int | None = None, classes: int | None = None,
                   log: bool = False) -> alt.HConcatChart:
    """Loss and accuracy side by side: thin per-batch line, smoothed line, and per-epoch points.

    With ``epochs`` the x axis spans the whole run, so the curves grow from left to right. With ``classes`` the
    loss panel draws ln(classes), the loss of guessing; ``log`` puts the loss on a logarithmic axis.
    """
    import altair as alt

    panels = [_metric_panel(frame, "loss", height, epochs, classes, log)]
    if (frame["metric"] == "accuracy").any():
        panels.append(_metric_panel(frame, "accuracy", height, epochs))
    return alt.hconcat(*panels).resolve_scale(color="shared")


# --- runs ---------------------------------------------------------------------------------------------------------


def history_long(history: pd.DataFrame, run: str) -> pd.DataFrame:
    """Per-epoch loss and accuracy of one run as rows (run, epoch, metric, split, value)."""
    import pandas as pd

    if history is None or history.empty:
        return pd.DataFrame(columns=["run", "epoch", "metric", "split", "value"])
    acc = accuracy_key(history.columns)
    records = []
    for index, row in enumerate(history.to_dict("records")):
        epoch = row.get("epoch")
        epoch = int(epoch) if _number(epoch) is not None else index + 1
        for metric, key in (("loss", "loss"), ("accuracy", acc)):
            if key is None:
                continue
            for split, name in (("training", key), ("validation", f"val_{key}")):
                value = _number(row.get(name))
                if value is not None:
                    records.append((run, epoch, metric, split, value))
    return pd.DataFrame.from_records(records, columns=["run", "epoch", "metric", "split", "value"])


def overlay_panels(frame: pd.DataFrame, height: int = 240, class_counts=(), log: bool = False) -> list:
    """Curves of several runs, one colour per run, dashed for training and solid for validation: the loss chart,
    then the accuracy chart when there is one (separate charts, so each can take the width of its column).

    The loss chart draws ln(classes) for each of ``class_counts`` (the loss of guessing); ``log`` puts the loss on
    a logarithmic axis.
    """
    import altair as alt

    splits = {key: t(word) for key, word in SPLITS.items()}
    epoch = t("ui_charts.epoch")
    panels = []
    for metric in ("loss", "accuracy"):
        data = frame[frame["metric"] == metric].assign(split=lambda rows: rows["split"].map(splits))
        on_log = log and metric == "loss"
        if on_log:
            data = data[data["value"] > 0]
        if data.empty:
            continue
        title = t(METRICS[metric])
        curves = (
            alt.Chart(data).mark_line(point=True).encode(
                x=alt.X("epoch:Q", title=epoch, axis=alt.Axis(tickMinStep=1, format="d")),
                y=alt.Y("value:Q", title=title, scale=_loss_scale(on_log) if metric == "loss"
                        else alt.Scale(zero=False)),
                color=alt.Color("run:N", legend=alt.Legend(orient="bottom", title=None, direction="vertical",
                                                           labelLimit=0)),
                strokeDash=alt.StrokeDash("split:N", scale=alt.Scale(domain=[splits["validation"],
                                                                             splits["training"]],
                                                                     range=[[1, 0], [5, 3]]),
                                          legend=alt.Legend(orient="bottom", title=None, direction="vertical")),
                tooltip=[alt.Tooltip("run:N", title=t("ui_charts.run")),
                         alt.Tooltip("split:N", title=t("ui_charts.curve")),
                         alt.Tooltip("epoch:Q", title=epoch), alt.Tooltip("value:Q", title=title, format=".4f")],
            )
        )
        guessing = _guessing_lines(class_counts) if metric == "loss" else []
        panels.append(alt.layer(curves, *guessing).properties(title=title, height=height))
    return panels


def confusion_frame(matrix, class_names: list[str]) -> pd.DataFrame:
    import pandas as pd

    rows = []
    for i, counts in enumerate(matrix or []):
        total = sum(counts) or 1
        for j, count in enumerate(counts):
            rows.append({"true": class_names[i] if i < len(class_names) else str(i),
                         "predicted": class_names[j] if j < len(class_names) else str(j),
                         "count": int(count), "share": count / total})
    return pd.DataFrame(rows, columns=["true", "predicted", "count", "share"])


CELL_SELECTION = "cell"  # the confusion matrix's selection: a click picks one (true, predicted) cell


def confusion_chart(frame: pd.DataFrame, class_names: list[str]) -> alt.LayerChart:
    """Heatmap of true vs predicted class; colour is the share of the true class's images. A click selects a cell
    (the selection ``CELL_SELECTION`` over the fields true and predicted) and outlines it."""
    import altair as alt

    side = max(220, min(640, 26 * len(class_names)))
    true, predicted = t("ui_charts.confusion.true"), t("ui_charts.confusion.predicted")
    share = t("ui_charts.confusion.share")
    base = alt.Chart(frame).encode(
        x=alt.X("predicted:N", sort=class_names, title=predicted),
        y=alt.Y("true:N", sort=class_names, title=true),
    )
    picked = alt.selection_point(name=CELL_SELECTION, fields=["true", "predicted"], on="click", clear="dblclick",
                                empty=False)
    cells = base.mark_rect(cursor="pointer").encode(
        color=alt.Color("share:Q", scale=alt.Scale(scheme="blues", domain=[0, 1]), title=share),
        stroke=alt.condition(picked, alt.value("#e6550d"), alt.value(None)),
        strokeWidth=alt.condition(picked, alt.value(3), alt.value(0)),
        tooltip=[alt.Tooltip("true:N", title=true), alt.Tooltip("predicted:N", title=predicted),
                 alt.Tooltip("count:Q", title=t("ui_charts.confusion.count")),
                 alt.Tooltip("share:Q", title=share, format=".1%")],
    ).add_params(picked)
    text = base.mark_text(fontSize=10).encode(
        text=alt.condition(alt.datum.count > 0, alt.Text("count:Q"), alt.value("")),
        color=alt.condition(alt.datum.share > 0.5, alt.value("white"), alt.value("black")),
    )
    return alt.layer(cells, text).properties(width=side, height=side)


def probability_chart(guesses: list[tuple[str, float]], bar: int = 30) -> alt.LayerChart:
    """Horizontal bars of the top guesses, best on top; every bar says its class and its probability."""
    import altair as alt
    import pandas as pd

    frame = pd.DataFrame([{"class": str(c), "probability": float(p), "rank": rank,
                           "label": f"{c} · {number(float(p), '.1%')}"}
                          for rank, (c, p) in enumerate(guesses, start=1)])
    probability = t("ui_charts.probability")
    bars = alt.Chart(frame).mark_bar(color="#3182bd").encode(
        x=alt.X("probability:Q", title=probability, scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
        y=alt.Y("rank:O", title=None, axis=None),
        tooltip=[alt.Tooltip("class:N", title=t("ui_charts.class")),
                 alt.Tooltip("probability:Q", title=probability, format=".2%")],
    )
    # The class and probability are one text mark per bar, so no axis can drop a label to avoid overlaps.
    # A long bar holds its words inside, in white; a short one has them just after its end.
    text = alt.Text("label:N")
    outside = bars.transform_filter(alt.datum.probability < 0.6).mark_text(
        align="left", dx=4, color="black", fontSize=13).encode(text=text)
    inside = bars.transform_filter(alt.datum.probability >= 0.6).mark_text(
        align="right", dx=-4, color="white", fontSize=13, fontWeight="bold").encode(text=text)
    return alt.layer(bars, outside, inside).properties(height=alt.Step(bar))
