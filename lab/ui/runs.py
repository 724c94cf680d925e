"""Runs page: every past run in a table, curves of several overlaid, how their specs differ, one run's details."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from lab import i18n, layers, ownership
from lab.errors import LabError
from lab.i18n import t
from lab.paths import runs_root
from lab.train.status import ACTIVE
from lab.ui import charts, identity, model_cache, session

if TYPE_CHECKING:  # imported where used, like the charts: the first page draws without it
    import pandas as pd

CONFIRM_DELETE = "runs_confirm_delete"  # id (folder name) of the run waiting for a delete confirmation
DETAIL = "runs_detail"  # the selectbox of the run shown in detail: its value is the run's id, never a position
NOTICE = "runs_notice"  # (kind, sentence) left by a callback for the next run of the page
COMPARE = "runs_compare"  # the multiselect of the runs overlaid: their ids
LOG_LOSS = "runs_log_loss"  # the toggle of the comparison's logarithmic loss axis
CONFUSION = "runs_confusion"  # the confusion matrix chart; a click on a cell selects it
CELL = "runs_cell"  # the selectbox of the misclassified images shown: "true\x1fpredicted", or "" for all of them
INSIDE = "runs_inside"  # the file of the misclassified image looked inside, or None
SHOWN_WRONG = 30  # thumbnails shown at most
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
# A run's status as stored (English, in meta.json) → the words shown for it.
STATUS_WORDS = {"queued": "ui_runs.status.queued", "running": "ui_runs.status.running",
                "stopping": "ui_runs.status.stopping", "finished": "ui_runs.status.finished",
                "stopped": "ui_runs.status.stopped", "failed": "ui_runs.status.failed",
                "interrupted": "ui_runs.status.interrupted", "broken": "ui_runs.status.broken",
                "unknown": "ui_runs.status.unknown"}
SPLIT_WORDS = {"test": "ui_runs.split.test", "validation": "ui_runs.split.validation"}
# The runs table: its columns (stable, language-free) → the words of their headers.
COLUMNS = {"name": "ui_runs.column.name", "date": "ui_runs.column.date", "status": "ui_runs.column.status",
           "dataset": "ui_runs.column.dataset", "model": "ui_runs.column.model", "epochs": "ui_runs.column.epochs",
           "best val acc": "ui_runs.column.best_val_acc", "test acc": "ui_runs.column.test_acc",
           "duration": "ui_runs.column.duration"}


# --- plain helpers (no widgets) ------------------------------------------------------------------------------------


def status_text(status: str) -> str:
    """A status in the reader's language ("finished" → "concluído"); one the lab does not know, as stored."""
    return t(STATUS_WORDS[status]) if status in STATUS_WORDS else status


def count_text(n: int | None) -> str:
    if n is None:
        return t("ui_runs.params.unknown")
    if n >= 1_000_000:
        return t("ui_runs.params.millions", count=n / 1_000_000)
    if n >= 1_000:
        return t("ui_runs.params.thousands", count=n / 1_000)
    return t("ui_runs.params.count", count=n)


def spec_summary(spec: dict | None, limit: int = 8) -> str:
    """E.g. "Conv2D(32,same) → MaxPool → … → Dense(24) · 423k params"."""
    from lab.train.runs import valid_spec

    if not spec or valid_spec(spec) is None:
        return "–"
    parts = [layers.short(layer) for layer in spec.get("layers") or [] if layer.get("type") != "Rescaling"]
    if len(parts) > limit:
        parts = parts[: limit - 2] + ["…"] + parts[-1:]
    try:
        from lab.shapes import table

        params = table(spec).total_params
    except Exception:
        params = None
    return f"{' → '.join(parts)} · {count_text(params)}"


def flatten_settings(spec: dict | None, config: dict | None = None, with_layers: bool = True) -> dict[str, object]:
    """Spec and training settings as "where → value" pairs, for comparing runs line by line."""
    from lab.train.runs import valid_spec

    out: dict[str, object] = {}
    spec = valid_spec(spec) or {}
    config = config if isinstance(config, dict) else {}
    shape = spec.get("input_shape")
    out[t("ui_runs.setting.input_shape")] = "×".join(str(v) for v in shape) if isinstance(shape, list) else ""
    for index, layer in enumerate(spec.get("layers") or [] if with_layers else [], start=1):
        for key, value in layer.items():
            out[t("ui_runs.setting.layer", index=index, key=key)] = value

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}", inner)
        else:
            out[prefix] = value

    walk("compile", spec.get("compile") or {})
    training = t("ui_runs.setting.training")
    for key in ("epochs", "batch_size", "seed", "validation_split", "early_stopping", "checkpoint", "reduce_lr"):
        if config and key in config:
            walk(f"{training}.{key}", config[key])
    return out


def layer_slots(stacks: list[list[dict]]) -> list[list[int | None]]:
    """The layers of several networks aligned by matching their types (difflib), the first network as reference.

    Each slot lists, per network, the 0-based position of its layer there, or None where that network has no
    layer in this place: one layer inserted in the second network is one slot, and the layers after it still
    pair with their counterparts.
    """
    from difflib import SequenceMatcher

    reference = stacks[0]
    paired: list[list[int | None]] = [[i] + [None] * (len(stacks) - 1) for i in range(len(reference))]
    inserted: dict[int, list[list[int | None]]] = {}  # reference position → slots of layers placed before it
    for which, other in enumerate(stacks[1:], start=1):
        matcher = SequenceMatcher(None, [layer.get("type") for layer in reference],
                                  [layer.get("type") for layer in other], autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            together = min(i2 - i1, j2 - j1) if tag in ("equal", "replace") else 0
            for step in range(together):
                paired[i1 + step][which] = j1 + step
            for j in range(j1 + together, j2):
                slot: list[int | None] = [None] * len(stacks)
                slot[which] = j
                inserted.setdefault(i1 + together, []).append(slot)
    ordered: list[list[int | None]] = []
    for position in range(len(reference) + 1):
        ordered.extend(inserted.get(position, []))
        if position < len(reference):
            ordered.append(paired[position])
    return ordered


def _same(values: list) -> bool:
    return len({json.dumps(v, sort_keys=True, default=str) if v is not _MISSING else "∅" for v in values}) <= 1


_MISSING = object()


def _layer_rows(stacks: dict[str, list[dict]]) -> list[dict]:
    """The rows of "What differs" for the layers, aligned (``layer_slots``)."""
    names = list(stacks)
    rows = []
    for slot in layer_slots(list(stacks.values())):
        found = [stacks[name][position] if position is not None else None for name, position in zip(names, slot)]
        numbers = [str(position + 1) if position is not None else "–" for position in slot]
        index = numbers[0] if len(set(numbers)) == 1 else " / ".join(numbers)
        types = {layer.get("type") for layer in found if layer is not None}
        if None in found or len(types) > 1:  # a layer only some networks have, or different layers in one place
            shown = {name: layers.short(layer) if layer is not None else "" for name, layer in zip(names, found)}
            rows.append({"setting": t("ui_runs.setting.layer_whole", index=index), **shown})
            continue
        keys: list[str] = []
        for layer in found:
            keys.extend(key for key in layer if key not in keys)
        for key in keys:
            values = [layer.get(key, _MISSING) for layer in found]
            if not _same(values):
                rows.append({"setting": t("ui_runs.setting.layer", index=index, key=key),
                             **{name: "" if v is _MISSING else _cell(v) for name, v in zip(names, values)}})
    return rows


def spec_diff(runs: dict[str, tuple[dict | None, dict | None]]) -> pd.DataFrame:
    """Rows of the settings whose values differ between runs; one column per run (empty cell: not present).

    Layers are aligned by matching (``layer_slots``), so an inserted layer is one row, not every row after it.
    """
    import pandas as pd

    from lab.train.runs import valid_spec

    flat = {name: flatten_settings(spec, config, with_layers=False) for name, (spec, config) in runs.items()}
    stacks = {name: list((valid_spec(spec) or {}).get("layers") or []) for name, (spec, _) in runs.items()}
    keys: list[str] = []
    for values in flat.values():
        keys.extend(k for k in values if k not in keys)
    rows = []
    for number, key in enumerate(keys):
        values = [flat[name].get(key, _MISSING) for name in flat]
        if not _same(values):
            rows.append({"setting": key, **{name: "" if v is _MISSING else _cell(v) for name, v in zip(flat, values)}})
        if number == 0:  # the input shape, then the layers, then compile and training settings
            rows.extend(_layer_rows(stacks))
    return pd.DataFrame(rows, columns=["setting", *flat])


def _cell(value) -> str:
    if isinstance(value, (list, tuple)):
        return "×".join(str(v) for v in value) if all(isinstance(v, int) for v in value) else str(list(value))
    if value is None:
        return t("ui_runs.cell.none")
    return str(value)


def _date(text: str | None) -> str:
    if not text:
        return ""
    try:
        return datetime.fromisoformat(text).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return str(text)


def run_seconds(meta: dict, history: list[dict]) -> float | None:
    durations = meta.get("durations") or {}
    if isinstance(durations, dict) and isinstance(durations.get("total_seconds"), (int, float)):
        return float(durations["total_seconds"])
    for key in ("elapsed", "duration", "seconds"):
        if isinstance(meta.get(key), (int, float)):
            return float(meta[key])
    seconds = [row.get("seconds") for row in history if isinstance(row.get("seconds"), (int, float))]
    if seconds:
        return float(sum(seconds))
    try:
        return (datetime.fromisoformat(meta["finished"]) - datetime.fromisoformat(meta["created"])).total_seconds()
    except (KeyError, TypeError, ValueError):
        return None


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


@st.cache_data(show_spinner=False, max_entries=512)
def _summary_cached(path: str, stamp: float) -> dict:
    from lab.train.runs import load_run

    run = load_run(path)
    return {"spec": spec_summary(run.spec), "seconds": run_seconds(run.meta, run.history_rows)}


def _stamp(path: Path) -> float:
    stamps = []
    for name in ("meta.json", "spec.json", "history.csv", "metrics.json"):
        try:
            stamps.append((path / name).stat().st_mtime)
        except OSError:
            continue
    return max(stamps, default=0.0)


def runs_table(infos) -> pd.DataFrame:
    import pandas as pd

    rows = []
    for info in infos:
        try:
            extra = _summary_cached(str(info.path), _stamp(Path(info.path)))
        except LabError:
            extra = {"spec": "–", "seconds": None}
        rows.append({
            "name": info.name,
            "date": _date(info.created),
            "status": status_text(info.status),
            "dataset": info.dataset or "",
            "model": extra["spec"],
            "epochs": info.epochs_done,
            "best val acc": info.best_val_accuracy,
            "test acc": info.test_accuracy,
            "duration": _duration(extra["seconds"]),
            "id": info.id,
        })
    return pd.DataFrame(rows)


# --- page sections -------------------------------------------------------------------------------------------------


def _label(infos_by_id: dict, run_id: str) -> str:
    info = infos_by_id.get(run_id)
    return f"{info.name} ({run_id})" if info is not None and info.name != run_id else run_id


def _compare(infos, by_id) -> None:
    import pandas as pd

    from lab.train.runs import load_run

    st.subheader(t("ui_runs.compare"))
    ids = [info.id for info in infos]
    # The selection lives in session state only (no default= beside it): first the two newest runs, later the
    # person's choice without the runs deleted since.
    if COMPARE not in st.session_state:
        st.session_state[COMPARE] = ids[: min(2, len(ids))]
    elif any(run_id not in by_id for run_id in st.session_state[COMPARE]):
        st.session_state[COMPARE] = [run_id for run_id in st.session_state[COMPARE] if run_id in by_id]
    chosen = st.multiselect(t("ui_runs.compare.pick"), ids, key=COMPARE,
                            format_func=lambda run_id: _label(by_id, run_id), help=t("ui_runs.compare.pick.help"))
    if not chosen:
        st.caption(t("ui_runs.compare.none"))
        return
    frames, settings, classes = [], {}, set()
    for run_id in chosen:
        try:
            run = load_run(by_id[run_id].path)
        except LabError as error:
            st.warning(f"{run_id}: {error}")
            continue
        label = _label(by_id, run_id)
        frames.append(charts.history_long(run.history, label))
        settings[label] = (run.spec, run.meta.get("config"))
        if run.class_names:
            classes.add(len(run.class_names))
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if frame.empty:
        st.info(t("ui_runs.compare.no_epoch"))
    else:
        log = charts.log_toggle(LOG_LOSS)
        # One chart per column, each as wide as its column: the page never scrolls sideways.
        panels = charts.overlay_panels(frame, class_counts=classes, log=log)
        for column, panel in zip(st.columns(len(panels)), panels):
            column.altair_chart(charts.localized(panel), width="stretch")
    if len(settings) >= 2:
        diff = spec_diff(settings)
        if diff.empty:
            st.caption(t("ui_runs.compare.same"))
        else:
            st.markdown(f"**{t('ui_runs.compare.differs')}**")
            st.table(diff.set_index("setting").rename_axis(t("ui_runs.compare.setting")))


def _details(info) -> None:
    import pandas as pd

    from lab.train.runs import load_run

    try:
        run = load_run(info.path)
    except LabError as error:
        st.error(str(error))
        _manage(info, can_rename=False)  # a broken run can still be deleted from here
        return
    metrics = run.metrics or {}
    st.caption(t("ui_runs.details.caption", model=spec_summary(run.spec), status=status_text(run.status),
                 folder=str(run.path).replace("`", "'")))
    confusion = metrics.get("confusion")
    class_names = metrics.get("class_names") or run.class_names
    if confusion:
        left, right = st.columns([3, 2])
        with left:
            split = str(metrics.get("split") or "test")  # "test", "validation", or the folder's name ("Test")
            split = t(SPLIT_WORDS[split.lower()]) if split.lower() in SPLIT_WORDS else split
            st.markdown(t("ui_runs.details.confusion", split=split, count=metrics.get("n", "?")))
            chart = charts.confusion_chart(charts.confusion_frame(confusion, class_names), class_names)
            st.altair_chart(charts.localized(chart),
                            key=CONFUSION, on_select=_picked_cell, selection_mode=charts.CELL_SELECTION)
            st.caption(t("ui_runs.confusion.click"))
        with right:
            st.markdown(f"**{t('ui_runs.details.per_class')}**")
            per_class = metrics.get("per_class") or {}
            table = pd.DataFrame([{"class": name, "precision": values.get("precision"),
                                   "recall": values.get("recall"), "images": values.get("support")}
                                  for name, values in per_class.items()])
            if not table.empty:
                st.dataframe(table, hide_index=True, width="stretch", column_config={
                    "class": st.column_config.TextColumn(t("ui_runs.per_class.class")),
                    "precision": st.column_config.NumberColumn(t("ui_runs.per_class.precision"), format="%.2f"),
                    "recall": st.column_config.NumberColumn(t("ui_runs.per_class.recall"), format="%.2f"),
                    "images": st.column_config.NumberColumn(t("ui_runs.per_class.images"))})
        _misclassified(metrics, run)
    else:
        st.info(t("ui_runs.details.no_evaluation"))
    _filters(run)
    _downloads(run)
    _manage(info, can_rename=run.status not in ACTIVE)


def _filters(run) -> None:
    """The run's Conv2D filters, before and after training; loaded only once the person opens them."""
    if not run.model_path.is_file():
        return
    with st.expander(t("ui_runs.filters"), icon=":material/grid_view:", key="runs_filters",
                     on_change="rerun") as box:
        if not box.open:
            return
        model = _loaded_model(run)
        if model is not None:
            from lab.ui import inside

            inside.filters_view(run.path, model, "runs_filters")


def _cell_key(true: str, predicted: str) -> str:
    return f"{true}\x1f{predicted}"


def _picked_cell() -> None:
    """Callback of a click on the confusion matrix: show that cell's images (a click beside the cells: all)."""
    picked = st.session_state[CONFUSION].selection.get(charts.CELL_SELECTION) or []
    cell = picked[0] if picked else {}
    if "true" in cell and "predicted" in cell and cell["true"] != cell["predicted"]:
        st.session_state[CELL] = _cell_key(str(cell["true"]), str(cell["predicted"]))
    else:
        st.session_state[CELL] = ""
    st.session_state[INSIDE] = None


def _misclassified(metrics: dict, run) -> None:
    import pandas as pd

    wrong = [item for item in metrics.get("misclassified") or [] if isinstance(item, dict)]
    total = metrics.get("misclassified_total", len(wrong))
    cells: dict[str, int] = {"": len(wrong)}
    for item in wrong:
        key = _cell_key(str(item.get("true")), str(item.get("predicted")))
        cells[key] = cells.get(key, 0) + 1
    if st.session_state.get(CELL) not in cells:
        st.session_state[CELL] = ""
    opened = bool(st.session_state.get(CELL)) or st.session_state.get(INSIDE) is not None

    def cell_words(key: str) -> str:
        if not key:
            return t("ui_runs.misclassified.all", count=cells[key])
        true, predicted = key.split("\x1f")
        return t("ui_runs.misclassified.cell_option", true=true, predicted=predicted, count=cells[key])

    with st.expander(t("ui_runs.misclassified", count=total), expanded=opened):
        if not wrong:
            st.caption(t("ui_runs.misclassified.none"))
            return
        chosen = st.selectbox(t("ui_runs.misclassified.cell"), list(cells), key=CELL, format_func=cell_words,
                              help=t("ui_runs.misclassified.cell.help"))
        picked = [item for item in wrong
                  if not chosen or _cell_key(str(item.get("true")), str(item.get("predicted"))) == chosen]
        shown = [item for item in picked if _shown_image(item.get("file"))][:SHOWN_WRONG]
        if not shown:
            st.caption(t("ui_runs.misclassified.no_files"))
            headers = {"true": t("ui_runs.misclassified.true"), "predicted": t("ui_runs.misclassified.predicted"),
                       "probability": t("ui_runs.misclassified.probability")}
            st.table(pd.DataFrame(picked[:SHOWN_WRONG])[list(headers)].rename(columns=headers))
            return
        cols = st.columns(6)
        for index, item in enumerate(shown):
            with cols[index % 6]:
                chance = i18n.number(item.get("probability", 0), ".0%")
                st.image(item["file"], width=84, caption=f"{item['true']} → {item['predicted']} ({chance})")
                st.button(t("ui_runs.inside.button"), key=f"runs_inside_{index}", on_click=_look_inside,
                          args=(item["file"],), icon=":material/visibility:")
        looked = st.session_state.get(INSIDE)
        item = next((item for item in shown if item["file"] == looked), None)
        if item is not None:
            _inside(run, item)


def _look_inside(file: str) -> None:
    st.session_state[INSIDE] = file


def _loaded_model(run):
    """The run's model, loaded once per file version, or None (with the reason shown) when it cannot be."""
    path = run.model_path
    try:
        with st.spinner(t("ui_runs.inside.loading")):
            return model_cache.get(path)
    except (LabError, OSError) as error:
        st.info(t("ui_runs.inside.no_model", reason=error))
        return None


def _inside(run, item: dict) -> None:
    """Feature maps and saliency of one misclassified image, as the run's model received it."""
    from lab.data.loading import decode
    from lab.shapes import table
    from lab.ui import inside

    title = t("ui_runs.inside.title", file=Path(item["file"]).name, true=item["true"], predicted=item["predicted"])
    st.markdown(f"#### {title}")
    st.button(t("ui_runs.inside.close"), key="runs_inside_close", on_click=_look_inside, args=(None,))
    model = _loaded_model(run)
    if model is None:
        return
    size = run.preprocessing.get("image_size") or [28, 28]
    try:  # decoded exactly as training and evaluation decoded the dataset's files
        x = decode(Path(item["file"]), (int(size[0]), int(size[1])), run.preprocessing.get("color_mode", "grayscale"))
        shapes = table(run.spec) if run.spec else None
    except (LabError, OSError) as error:
        st.info(t("ui_runs.inside.unreadable", file=Path(item["file"]).name, reason=error))
        return
    maps, why = st.tabs([t("ui_runs.inside.maps"), t("ui_runs.inside.saliency")])
    with maps:
        inside.feature_maps_view(model, x.astype("float32"), shapes, "runs_wrong")
    with why:
        inside.saliency_view(model, x.astype("float32"), None, run.class_names, "runs_wrong")


def _shown_image(name) -> bool:
    """True for a readable image file of a sane size (metrics.json may name any path)."""
    if not name:
        return False
    path = Path(name)
    try:
        return path.suffix.lower() in IMAGE_SUFFIXES and path.is_file() and path.stat().st_size < 20_000_000
    except OSError:
        return False


def _downloads(run) -> None:
    cols = st.columns(3)
    from lab.train import runs as run_files
    from lab.train.status import is_training

    model_path = run.path / run_files.MODEL
    if model_path.is_file():
        cols[0].download_button("⬇ model.keras", model_path.read_bytes(), file_name=f"{run.id}.keras",
                                mime="application/octet-stream", key="runs_dl_model")
    elif run_files.model_file(run.path) is not None and not is_training(run.path):
        # A run stopped by a crash or a kill keeps its best weights; model.keras is made from them on request.
        if cols[0].button(t("ui_runs.make_model"), key="runs_make_model", help=t("ui_runs.make_model.help")):
            try:
                model = run_files.load_model_file(run.path / run_files.WEIGHTS)
                run_files.save_model_atomic(model, model_path)
            except LabError as error:
                st.error(str(error))
            except OSError as error:
                st.error(t("ui_runs.make_model.failed", folder=run.path, reason=error.strerror or error))
            else:
                st.rerun()
    history_path = run.path / "history.csv"
    if history_path.is_file():
        cols[1].download_button("⬇ history.csv", history_path.read_bytes(), file_name=f"{run.id}-history.csv",
                                mime="text/csv", key="runs_dl_history")
    if run.spec:
        try:
            from lab.codegen import to_script
            from lab.speed import trained_policy

            script = to_script(run.spec, precision=trained_policy(run.meta), **script_options(run.meta))
        except Exception as error:  # the download is a bonus; say why it is missing
            cols[2].caption(t("ui_runs.no_script", error=error))
        else:
            cols[2].download_button(t("ui_runs.download_script"), script, file_name=f"{run.id}.py",
                                    mime="text/x-python", key="runs_dl_script")


def script_options(meta: dict) -> dict:
    """The settings of a run's exported script, from its meta.json: it reads the run's dataset, split the same way
    (validation_split, seed), with the run's epochs and batch size."""
    config = meta.get("config") if isinstance(meta.get("config"), dict) else {}
    options = {key: config[key] for key in ("epochs", "batch_size", "seed") if isinstance(config.get(key), int)}
    if isinstance(config.get("validation_split"), (int, float)):
        options["validation_split"] = config["validation_split"]
    dataset = meta.get("dataset")
    if isinstance(dataset, dict) and isinstance(dataset.get("path"), str):
        options["data_dir"] = dataset["path"]
    return options


def _escape(text: str) -> str:
    """A run name shown inside Markdown: its * _ ` [ ] and the like print as themselves."""
    return "".join("\\" + c if c in "\\`*_{}[]()<>#+-.!|~$" else c for c in text)


def _rename(run_id: str) -> None:
    """Callback of the Rename button, bound to the id of the run whose panel the user saw."""
    from lab.train.runs import rename_run

    try:
        info = rename_run(runs_root() / run_id, st.session_state.get(f"runs_name_{run_id}", ""), identity.owner())
    except LabError as error:
        st.session_state[NOTICE] = ("error", str(error))
        return
    st.session_state[DETAIL] = run_id  # send the new label to the browser, which still holds the old one
    st.session_state[NOTICE] = ("success", t("ui_runs.renamed", name=_escape(info.name)))


def _ask_delete(run_id: str) -> None:
    """Callback of "Delete run…": remembers which run, by id, and keeps that run on screen."""
    st.session_state[CONFIRM_DELETE] = run_id
    st.session_state[DETAIL] = run_id


def _cancel_delete() -> None:
    st.session_state.pop(CONFIRM_DELETE, None)


def _delete(run_id: str, name: str) -> None:
    """Callback of "Yes, delete": deletes the run with this id, the one the confirmation named, or nothing."""
    from lab.train.runs import delete_run

    st.session_state.pop(CONFIRM_DELETE, None)
    root = runs_root()
    path = root / run_id
    if not path.exists() and not path.is_symlink():
        st.session_state[NOTICE] = ("warning", t("ui_runs.delete.gone", name=_escape(name), run_id=run_id, root=root))
        return
    try:
        delete_run(path, root=root, viewer=identity.owner())
    except LabError as error:
        st.session_state[NOTICE] = ("error", str(error))
        return
    if session.run() in (str(path), str(path.resolve())):
        session.forget_run()
    st.session_state[NOTICE] = ("success", t("ui_runs.deleted", name=_escape(name), run_id=run_id))


def _share(run_id: str) -> None:
    """Callback of the share toggle: a training run is shared through its job, which owns its meta.json."""
    from lab.train.job import manager
    from lab.train.runs import set_shared

    shared = bool(st.session_state.get(f"runs_share_{run_id}"))
    path = runs_root() / run_id
    try:
        job = manager().job_of_run(path)
        if job is not None and job.status in ACTIVE:
            job.share(shared, by=identity.owner())
        else:
            set_shared(path, shared, identity.owner())
    except LabError as error:
        st.session_state[NOTICE] = ("error", str(error))
        return
    words = "ui_people.runs.shared_now" if shared else "ui_people.runs.private_now"
    st.session_state[NOTICE] = ("success", t(words))


def _manage(info, can_rename: bool = True) -> None:
    """Rename, share and delete for the run's owner (anyone, for a run nobody owns); a line saying whose it is for
    everyone else."""
    run_id, name = info.id, info.name
    if not ownership.can_change(info.owner, identity.owner()):
        st.caption(t("ui_people.runs.shared_with_you"))
        return
    if info.owner is not None:
        st.toggle(t("ui_people.runs.share"), value=info.shared, key=f"runs_share_{run_id}", on_change=_share,
                  args=(run_id,), help=t("ui_people.runs.share.help"))
    left, right = st.columns([3, 2])
    with left:
        if can_rename:
            new_name = st.text_input(t("ui_runs.name"), value=name, key=f"runs_name_{run_id}")
            st.button(t("ui_runs.rename"), key="runs_rename", disabled=new_name.strip() == name, on_click=_rename,
                      args=(run_id,))
    with right:
        st.write("")
        st.write("")
        if st.session_state.get(CONFIRM_DELETE) != run_id:
            st.button(t("ui_runs.delete"), key="runs_delete", on_click=_ask_delete, args=(run_id,))
        else:
            folder = run_id.replace("`", "'")
            st.warning(t("ui_runs.delete.confirm", name=_escape(name), folder=folder))
            yes, no = st.columns(2)
            yes.button(t("ui_runs.delete.yes"), key="runs_delete_yes", type="primary", on_click=_delete,
                       args=(run_id, name))
            no.button(t("ui_runs.delete.cancel"), key="runs_delete_no", on_click=_cancel_delete)


def _notice(infos_by_id: dict) -> None:
    """What the last rename or delete did, and a confirmation whose run vanished meanwhile."""
    kind, text = st.session_state.pop(NOTICE, (None, None))
    if kind is not None:
        {"error": st.error, "warning": st.warning, "success": st.success}[kind](text)
    pending = st.session_state.get(CONFIRM_DELETE)
    if pending is not None and pending not in infos_by_id:
        st.session_state.pop(CONFIRM_DELETE, None)
        st.warning(t("ui_runs.delete.vanished", run_id=pending, root=runs_root()))


def _chose_another() -> None:
    """Picking another run drops a confirmation pending for the previous one."""
    if st.session_state.get(CONFIRM_DELETE) != st.session_state.get(DETAIL):
        st.session_state.pop(CONFIRM_DELETE, None)


def render() -> None:
    from lab.train.runs import list_runs

    st.title(t("ui_session.page.runs"))
    infos = list_runs(runs_root(), identity.owner())
    by_id = {info.id: info for info in infos}
    _notice(by_id)
    if not infos:
        st.info(t("ui_runs.no_runs"))
        return
    table = runs_table(infos)
    headers = {column: st.column_config.Column(t(words)) for column, words in COLUMNS.items()}
    headers.update({"best val acc": st.column_config.NumberColumn(t(COLUMNS["best val acc"]), format="percent"),
                    "test acc": st.column_config.NumberColumn(t(COLUMNS["test acc"]), format="percent"),
                    "model": st.column_config.TextColumn(t(COLUMNS["model"]), width="medium")})
    st.dataframe(table.drop(columns=["id"]), hide_index=True, width="stretch", column_config=headers)
    _compare(infos, by_id)
    st.subheader(t("ui_runs.one_run"))
    ids = [info.id for info in infos]
    current = st.session_state.get(DETAIL)
    if current is not None and current not in by_id:
        # A browser holding a label that changed since (the run renamed in another tab) sends that old text:
        # the id inside it still names the run. A run deleted meanwhile is simply gone: show the newest.
        found = [run_id for run_id in by_id if isinstance(current, str) and current.endswith(f"({run_id})")]
        if found:
            st.session_state[DETAIL] = found[0]
        else:
            st.session_state.pop(DETAIL, None)
    chosen = st.selectbox(t("ui_runs.run"), ids, key=DETAIL, format_func=lambda run_id: _label(by_id, run_id),
                          on_change=_chose_another)
    if chosen in by_id:
        _details(by_id[chosen])
