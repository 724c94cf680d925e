"""Architecture page: start from a preset, edit the layers and the training settings, watch the shapes.

The network lives in the session (``lab.ui.session``) as plain JSON, so every page sees the same one.
Each layer has a hidden uid (``_arch_uids``, parallel to ``spec["layers"]``) that names its widgets,
so moving a layer moves its widgets' values with it. When the network is replaced rather than edited
(a preset, an upload, the dataset changing its input), the session's generation bumps, every layer gets a
fresh uid and the widgets start again from the network.

The layers are listed one line each (type and key settings); only the selected layer's widgets are drawn,
the others keep their values in the spec. The editor and the table are one ``st.fragment``, so a changed
value reruns and redraws only them, not the navigation or the preset/upload box.
"""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import streamlit as st

from lab import codegen, layers, presets
from lab import spec as specs
from lab.errors import LabError
from lab.i18n import t
from lab.layers import LAYER_TYPES, Arg
from lab.ui import autosave, guides, inside, session, tf_loader, widgets

UIDS = "_arch_uids"      # list[str], one per layer of the session's network
UIDS_GEN = "_arch_uids_gen"  # the session's network generation the uids were made for
COUNTER = "_arch_counter"
NOTES = "_arch_notes"    # what a layer action did, to say once at the top
UPLOADED = "_arch_uploaded"  # file_id of the last spec upload handled
SELECTED = "_arch_selected"  # uid of the layer whose settings are shown
PICK = "arch_layer"          # the layer list (a radio); SELECTED is the value that counts

NONE = "(none)"  # the option value of an empty choice; shown in words

LIMITS = {"filters": 1024, "units": 8192, "height": 1024, "width": 1024}
PAIR_LIMIT = 64


# --- the spec in session state --------------------------------------------------------------------------------

def _new_uid() -> str:
    st.session_state[COUNTER] = st.session_state.get(COUNTER, 0) + 1
    return f"u{st.session_state[COUNTER]}"


def _network() -> dict:
    """The session's network, with one uid per layer; a replaced network gets fresh uids."""
    spec = session.network()
    uids = st.session_state.get(UIDS) or []
    if st.session_state.get(UIDS_GEN) != session.generation() or len(uids) != len(spec["layers"]):
        st.session_state[UIDS] = [_new_uid() for _ in spec["layers"]]
        st.session_state[UIDS_GEN] = session.generation()
        st.session_state.pop(SELECTED, None)
    return spec


def _commit(spec: dict, uids: list[str]) -> None:
    session.edit_network(spec)
    st.session_state[UIDS] = uids


# --- layer actions (button callbacks: they run before the page is drawn) --------------------------------------

def _select(uid: str) -> None:
    st.session_state[SELECTED] = uid


def _on_pick() -> None:
    picked = st.session_state.get(PICK)
    if picked is not None:
        _select(picked)


def selected_uid() -> str | None:
    """The selected layer's uid; the first Conv2D (or the first layer) when none is or it has gone."""
    uids = st.session_state.get(UIDS) or []
    uid = st.session_state.get(SELECTED)
    if uid in uids:
        return uid
    stack = session.network()["layers"]
    uid = next((u for u, layer in zip(uids, stack) if layer.get("type") == "Conv2D"), uids[0] if uids else None)
    if uid is not None:
        _select(uid)
    return uid


def _layers() -> tuple[dict, list[str]]:
    return _network(), list(st.session_state[UIDS])


def _move(index: int, step: int) -> None:
    spec, uids = _layers()
    other = index + step
    if 0 <= other < len(uids):
        spec["layers"][index], spec["layers"][other] = spec["layers"][other], spec["layers"][index]
        uids[index], uids[other] = uids[other], uids[index]
        _commit(spec, uids)


def _remove(index: int) -> None:
    spec, uids = _layers()
    removed = spec["layers"].pop(index)
    uids.pop(index)
    _commit(spec, uids)
    if uids:
        _select(uids[min(index, len(uids) - 1)])
    st.session_state.setdefault(NOTES, []).append(
        t("ui_architecture.note.removed", number=index + 1, type=removed.get("type")))


def _duplicate(index: int) -> None:
    spec, uids = _layers()
    uid = _new_uid()
    spec["layers"].insert(index + 1, copy.deepcopy(spec["layers"][index]))
    prefix = f"arch_{uids[index]}_"
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(prefix)]:
        st.session_state[f"arch_{uid}_{key[len(prefix):]}"] = copy.deepcopy(st.session_state[key])
    uids.insert(index + 1, uid)
    _commit(spec, uids)
    _select(uid)


def _add() -> None:
    spec, uids = _layers()
    kind = st.session_state.get("arch_add_type", "Conv2D")
    position = int(st.session_state.get("arch_add_pos", len(uids)))
    position = max(0, min(position, len(uids)))
    spec["layers"].insert(position, layers.new_layer(kind))
    uids.insert(position, _new_uid())
    _commit(spec, uids)
    _select(uids[position])
    st.session_state.setdefault(NOTES, []).append(t("ui_architecture.note.added", type=kind, number=position + 1))


def _load_preset() -> None:
    name = st.session_state.get("arch_preset", session.DEFAULT_PRESET)
    session.replace_network(presets.load(name), [t("ui_architecture.note.preset", name=name)])


def _handle_upload() -> None:
    upload = st.session_state.get("arch_upload")
    if upload is None or st.session_state.get(UPLOADED) == upload.file_id:
        return
    st.session_state[UPLOADED] = upload.file_id
    _replace_from(lambda: parse_spec(upload.getvalue(), upload.name),
                  t("ui_architecture.note.uploaded", file=upload.name))


def _restore_earlier() -> None:
    key = st.session_state.get("arch_history")
    if key:
        _replace_from(lambda: autosave.fetch(key), t("ui_architecture.note.restored", key=key))


def _replace_from(load, note: str) -> None:
    """Replaces the network with what ``load`` gives, adapted to the dataset; on a LabError keeps it and says why."""
    try:
        spec = load()
    except LabError as error:
        st.session_state["_arch_upload_error"] = str(error)
        return
    st.session_state.pop("_arch_upload_error", None)
    session.replace_network(spec, [note])


def history_box() -> None:
    """Every network of this workspace, newest first, with a button to go back to one."""
    entries = autosave.history()
    current_key = autosave.network_key(session.network())
    earlier = [entry for entry in entries if entry.key != current_key]
    with st.expander(t("ui_architecture.history.title", count=len(earlier)), icon=":material/history:"):
        if not earlier:
            st.caption(t("ui_architecture.history.empty"))
            return
        labels = {entry.key: f"{autosave.when(entry.saved_at)} · {entry.summary}" for entry in earlier}
        stale = st.session_state.get("_arch_history_for") != current_key
        if stale or st.session_state.get("arch_history") not in labels:
            st.session_state["arch_history"] = earlier[0].key  # the network just before this one
            st.session_state["_arch_history_for"] = current_key
        pick, go = st.columns([5, 1], vertical_alignment="bottom")
        pick.selectbox(t("ui_architecture.history.pick"), list(labels), key="arch_history", format_func=labels.get,
                       help=t("ui_architecture.history.pick_help"))
        go.button(t("ui_architecture.history.restore"), key="arch_history_restore", on_click=_restore_earlier,
                  width="stretch", help=t("ui_architecture.history.restore_help"))


def parse_spec(data: bytes, name: str) -> dict:
    """A spec from uploaded JSON bytes; LabError with the reason when it is not a usable spec."""
    spec = specs.load_text(data, name)
    if "layers" not in spec:
        raise LabError(t("ui_architecture.upload.not_a_spec", file=name))
    spec, _ = session.fitted(spec)
    report = session.check(spec).report
    if report.errors:
        if len(report.errors) > 1:
            raise LabError(t("ui_architecture.upload.invalid_more", file=name, problem=report.errors[0].message,
                             more=len(report.errors) - 1))
        raise LabError(t("ui_architecture.upload.invalid", file=name, problem=report.errors[0].message))
    return spec


# --- one argument, one widget -----------------------------------------------------------------------------------

def _as_range(value) -> tuple[float, float]:
    if isinstance(value, (list, tuple)):
        return float(value[0]), float(value[-1])
    return -abs(float(value)), abs(float(value))


def _same(kind: str, a, b) -> bool:
    """Whether two argument values mean the same to Keras (3 and [3, 3]; 0.1 and [-0.1, 0.1])."""
    if a is None or b is None:
        return a is None and b is None
    try:
        if kind in (layers.PAIR, layers.OPTIONAL_PAIR):
            return specs.ints(a) == specs.ints(b)
        if kind in (layers.RANGE, layers.OPTIONAL_RANGE):
            return all(math.isclose(x, y, abs_tol=1e-9) for x, y in zip(_as_range(a), _as_range(b)))
        if kind in (layers.NUMBER, layers.RATE, layers.POSITIVE):
            return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-15)
    except (TypeError, ValueError, IndexError):
        return False
    return a == b


def _init(key: str, value) -> None:
    if key not in st.session_state:
        st.session_state[key] = value


def _pair(key: str, name: str, arg: Arg, value) -> list[int]:
    h, w = specs.ints(value)
    _init(f"{key}_h", min(max(h, 1), PAIR_LIMIT))
    _init(f"{key}_w", min(max(w, 1), PAIR_LIMIT))
    left, right = st.columns(2)
    with left:
        h = st.number_input(t("ui_architecture.arg.height", name=name), 1, PAIR_LIMIT, step=1, key=f"{key}_h",
                            help=arg.help)
    with right:
        w = st.number_input(t("ui_architecture.arg.width", name=name), 1, PAIR_LIMIT, step=1, key=f"{key}_w",
                            help=arg.help)
    return [int(h), int(w)]


def _range(key: str, name: str, arg: Arg, value) -> list[float]:
    low, high = _as_range(value)
    _init(key, (max(-1.0, min(low, 1.0)), max(-1.0, min(high, 1.0))))
    low, high = st.slider(t("ui_architecture.arg.range", name=name), -1.0, 1.0, step=0.01, key=key,
                          help=arg.help)
    return [round(float(low), 4), round(float(high), 4)]


def _value_range(key: str, name: str, arg: Arg, value) -> list[float]:
    low, high = (float(v) for v in value) if arg.check(value) is None else (0.0, 255.0)
    _init(f"{key}_low", low)
    _init(f"{key}_high", high)
    left, right = st.columns(2)
    with left:
        low = st.number_input(t("ui_architecture.arg.low", name=name), step=1.0, key=f"{key}_low", help=arg.help)
    with right:
        high = st.number_input(t("ui_architecture.arg.high", name=name), step=1.0, key=f"{key}_high", help=arg.help)
    return [float(low), float(high)]


def arg_widget(uid: str, layer_type: str, name: str, arg: Arg, value) -> Any:
    """Draws the widget for one constructor argument and returns its current value (spec form)."""
    key = f"arch_{uid}_{name}"
    kind = arg.widget
    helptext = arg.help or None
    if kind == layers.WHOLE:
        _init(key, int(value) if isinstance(value, int) and value > 0 else 1)
        return int(st.number_input(name, 1, max(LIMITS.get(name, 4096), int(st.session_state[key])),
                                   step=1, key=key, help=helptext))
    if kind == layers.PAIR:
        return _pair(key, name, arg, value)
    if kind == layers.OPTIONAL_PAIR:
        _init(f"{key}_auto", value is None)
        auto = st.checkbox(t("ui_architecture.arg.same_as_pool", name=name), key=f"{key}_auto",
                           help=t("ui_architecture.arg.same_as_pool_help"))
        if auto:
            return None
        return _pair(key, name, arg, value if value is not None else [2, 2])
    if kind in (layers.CHOICE, layers.OPTIONAL_CHOICE):
        options = ([NONE] if kind == layers.OPTIONAL_CHOICE else []) + list(arg.choices)
        current = NONE if value is None else value
        _init(key, current if current in options else options[0])
        # the words are fixed while drawing: a format_func may also be called outside the page's run
        words = {option: t("ui_architecture.arg.none") if option == NONE else option for option in options}
        if name == "padding":
            picked = st.radio(name, options, horizontal=True, key=key, help=helptext, format_func=words.get)
        else:
            picked = st.selectbox(name, options, key=key, help=helptext, format_func=words.get)
        return None if picked == NONE else picked
    if kind == layers.SWITCH:
        _init(key, bool(value))
        return bool(st.checkbox(name, key=key, help=helptext))
    if kind == layers.RATE:
        _init(key, float(value) if isinstance(value, (int, float)) else 0.0)
        return float(st.slider(name, 0.0, 0.99, step=0.01, key=key, help=helptext))
    if kind == layers.NUMBER:
        _init(key, float(value))
        return float(st.number_input(name, step=0.001, format="%.6f", key=key, help=helptext))
    if kind == layers.POSITIVE:
        _init(key, float(value))
        return float(st.number_input(name, min_value=1e-12, step=1e-4, format="%.6f", key=key, help=helptext))
    if kind == layers.SEED:
        _init(key, value)
        picked = st.number_input(name, min_value=0, step=1, value=None, key=key,
                                 help=t("ui_architecture.arg.seed_help", help=arg.help),
                                 placeholder=t("ui_architecture.arg.seed_placeholder"))
        return None if picked is None else int(picked)
    if kind == layers.RANGE:
        return _range(key, name, arg, value)
    if kind == layers.VALUE_RANGE:
        return _value_range(key, name, arg, value)
    _init(f"{key}_auto", value is None)  # layers.OPTIONAL_RANGE
    if st.checkbox(t("ui_architecture.arg.same_as_height", name=name), key=f"{key}_auto", help=helptext):
        return None
    return _range(key, name, arg, value if value is not None else 0.1)


def edit_layer(uid: str, layer: dict) -> dict:
    """Widgets for every argument of one layer (shown ones first, the rest under "Advanced")."""
    kind = LAYER_TYPES.get(layer.get("type"))
    if kind is None:
        st.error(t("ui_architecture.unknown_type", type=repr(layer.get("type"))))
        return layer
    new = {"type": kind.name}
    shown = [(n, a) for n, a in kind.args.items() if a.shown]
    hidden = [(n, a) for n, a in kind.args.items() if not a.shown]

    def value_of(name: str, arg: Arg):
        if name in layer:
            return layer[name]
        return arg.initial() if arg.required else copy.deepcopy(arg.default)

    def store(name: str, arg: Arg, value) -> None:
        if name in layer:
            new[name] = layer[name] if _same(arg.widget, layer[name], value) else value
        elif arg.required or not _same(arg.widget, value, arg.default):
            new[name] = value

    wide = [(n, a) for n, a in shown
            if a.widget in (layers.PAIR, layers.OPTIONAL_PAIR, layers.RANGE, layers.OPTIONAL_RANGE)]
    narrow = [(n, a) for n, a in shown if (n, a) not in wide]
    if narrow:
        columns = st.columns(2 if len(narrow) > 1 else 1)
        for position, (name, arg) in enumerate(narrow):
            with columns[position % len(columns)]:
                store(name, arg, arg_widget(uid, kind.name, name, arg, value_of(name, arg)))
    for name, arg in wide:
        store(name, arg, arg_widget(uid, kind.name, name, arg, value_of(name, arg)))
    if hidden:
        with st.expander(t("ui_architecture.advanced")):
            for name, arg in hidden:
                store(name, arg, arg_widget(uid, kind.name, name, arg, value_of(name, arg)))
    for name in layer:  # keep unknown arguments so that check() can name them
        if name not in new and name != "type" and name not in kind.args:
            new[name] = layer[name]
    return new


# --- compile settings -----------------------------------------------------------------------------------------

OPTIMIZER_HELP = {
    "sgd": "ui_architecture.optimizer.sgd",
    "adam": "ui_architecture.optimizer.adam",
    "adamw": "ui_architecture.optimizer.adamw",
    "rmsprop": "ui_architecture.optimizer.rmsprop",
    "adagrad": "ui_architecture.optimizer.adagrad",
    "adadelta": "ui_architecture.optimizer.adadelta",
}


def _within(value, default: float, low: float, high: float) -> float:
    """A saved setting as the widget can show it: the default when it is not a number in the widget's range."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return default
    return float(value) if low <= value <= high else default


def edit_compile(spec: dict) -> dict:
    gen = session.generation()
    settings = spec.get("compile")
    settings = copy.deepcopy(settings) if isinstance(settings, dict) else {}
    optimizer = settings.get("optimizer", dict(specs.DEFAULT_OPTIMIZER))
    if isinstance(optimizer, str):
        optimizer = {"name": optimizer}
    if not isinstance(optimizer, dict):
        optimizer = dict(specs.DEFAULT_OPTIMIZER)
    key = f"arch_g{gen}_"
    name = str(optimizer.get("name", "adam")).lower()
    _init(key + "opt", name if name in specs.OPTIMIZERS else "adam")
    _init(key + "lr", _within(optimizer.get("learning_rate"), 0.001, 1e-6, 10.0))
    loss = settings.get("loss", "sparse_categorical_crossentropy")
    _init(key + "loss", loss if isinstance(loss, str) and loss in specs.LOSSES else specs.LOSSES[0])
    metrics = settings.get("metrics", ["accuracy"])
    _init(key + "metrics", [m for m in metrics if isinstance(m, str) and m in specs.METRICS]
          if isinstance(metrics, list) else ["accuracy"])

    left, right = st.columns(2)
    with left:
        picked = st.selectbox("optimizer", specs.OPTIMIZERS, key=key + "opt",
                              help=t("ui_architecture.compile.optimizer_help"))
        st.caption(t(OPTIMIZER_HELP[picked]))
        lr = st.number_input("learning_rate", min_value=1e-6, max_value=10.0, step=0.0001, format="%.5f",
                             key=key + "lr", help=t("ui_architecture.compile.learning_rate_help"))
        # Another optimizer keeps only the settings it takes (Adam's beta_1 means nothing to SGD).
        takes = specs.OPTIMIZER_ARGS.get(picked, {})
        new_opt = {k: v for k, v in optimizer.items() if k in takes} if picked == name else {}
        new_opt.update({"name": picked, "learning_rate": float(lr)})
        if picked in ("sgd", "rmsprop"):
            start = 0.9 if picked == "sgd" else 0.0
            _init(key + f"{picked}_momentum",
                  _within(optimizer.get("momentum"), start, 0.0, 0.99) if picked == name else start)
            new_opt["momentum"] = float(st.slider("momentum", 0.0, 0.99, step=0.01, key=key + f"{picked}_momentum",
                                                  help=t("ui_architecture.compile.momentum_help")))
        if picked == "sgd":
            _init(key + "nesterov", optimizer.get("nesterov") is True if picked == name else False)
            new_opt["nesterov"] = bool(st.checkbox("nesterov", key=key + "nesterov",
                                                   help=t("ui_architecture.compile.nesterov_help")))
        if picked == "adamw":
            _init(key + "wd", _within(optimizer.get("weight_decay"), 0.004, 0.0, 1.0) if picked == name else 0.004)
            new_opt["weight_decay"] = float(st.number_input("weight_decay", 0.0, 1.0, step=0.001, format="%.4f",
                                                            key=key + "wd",
                                                            help=t("ui_architecture.compile.weight_decay_help")))
    with right:
        new_loss = st.selectbox("loss", specs.LOSSES, key=key + "loss",
                                help=t("ui_architecture.compile.loss_help"))
        metrics = st.multiselect("metrics", specs.METRICS, key=key + "metrics",
                                 help=t("ui_architecture.compile.metrics_help"))
    settings.update({"optimizer": new_opt, "loss": new_loss, "metrics": list(metrics)})
    return settings


# --- the page ---------------------------------------------------------------------------------------------------

def _add_controls(spec: dict) -> None:
    stack = spec["layers"]
    ordered = [kind.name for group in layers.GROUPS for kind in LAYER_TYPES.values() if kind.group_id == group]
    positions = list(range(len(stack) + 1))

    where = {position: t("ui_architecture.add.before", number=position + 1, type=stack[position].get("type"))
             for position in positions[:-1]}
    where[len(stack)] = t("ui_architecture.add.at_the_end", number=len(stack) + 1)
    kinds = {name: f"{name} — {LAYER_TYPES[name].group}" for name in ordered}

    default = max(len(stack) - 1, 0)
    if st.session_state.get("arch_add_pos") not in positions:
        st.session_state["arch_add_pos"] = default
    type_col, pos_col, button_col = st.columns([3, 3, 1], vertical_alignment="bottom")
    with type_col:
        st.selectbox(t("ui_architecture.add.type"), ordered, key="arch_add_type",
                     format_func=kinds.get, help=t("ui_architecture.add.type_help"))
    with pos_col:
        st.selectbox(t("ui_architecture.add.position"), positions, key="arch_add_pos", format_func=where.get)
    with button_col:
        st.button(t("ui_architecture.add.button"), key="arch_add", on_click=_add, type="primary",
                  icon=":material/add:")
    st.caption(LAYER_TYPES[st.session_state.get("arch_add_type", "Conv2D")].help)


def _layer_messages(spec: dict, report, table) -> tuple[dict[int, list[str]], set[int]]:
    """Error messages per 1-based layer number (the table's own first), and the numbers with a warning."""
    errors: dict[int, list[str]] = {}
    for position in range(1, len(spec["layers"]) + 1):
        messages = [p.message for p in report.errors if p.layer == position]
        row_error = table.rows[position - 1].error if table is not None and position <= len(table.rows) else None
        if row_error and row_error not in messages:
            messages.insert(0, row_error)
        if messages:
            errors[position] = messages
    warned = {p.layer for p in report.warnings if p.layer is not None}
    return errors, warned


def _list_label(number: int, layer: dict, count: int, error: bool, warned: bool) -> str:
    """One line of the layer list: number, type and key settings; red with ⛔ when the layer is invalid."""
    kind = str(layer.get("type", "?"))
    summary = layers.summary(layer).replace("[", "(").replace("]", ")")
    head = " · " + t("ui_architecture.classifier_head") if number == count and kind == "Dense" else ""
    text = f"{number} · **{kind}**" + (f" — {summary}" if summary else "") + head
    if error:
        return f":red[⛔ {text}]"
    return f"⚠️ {text}" if warned else text


def _layer_list(spec: dict, selected: str | None, errors: dict[int, list[str]], warned: set[int]) -> None:
    """Every layer as one line; picking one shows its settings below."""
    uids = st.session_state[UIDS]
    if not uids:
        st.info(t("ui_architecture.list.empty"), icon="ℹ️")
        return
    count = len(uids)
    labels = {uid: _list_label(n, layer, count, n in errors, n in warned)
              for n, (uid, layer) in enumerate(zip(uids, spec["layers"]), start=1)}
    st.session_state[PICK] = selected  # the labels change with the settings; the selection follows the uid
    st.radio(t("ui_architecture.list.pick"), uids, key=PICK, format_func=labels.__getitem__, on_change=_on_pick,
             width="stretch", help=t("ui_architecture.list.pick_help"))


def _layer_panel(spec: dict, uid: str) -> tuple[dict, Any]:
    """The selected layer in full: title, its actions, every argument. Returns the edited layer and an
    empty slot for its error messages."""
    uids = st.session_state[UIDS]
    index = uids.index(uid)
    count = len(uids)
    layer = spec["layers"][index]
    kind = LAYER_TYPES.get(layer.get("type"))
    with st.container(border=True, key="arch_panel"):
        head = " · " + t("ui_architecture.classifier_head") if index == count - 1 and layer.get("type") == "Dense" \
            else ""
        title = t("ui_architecture.panel.title", number=index + 1, count=count, type=layer.get("type"))
        st.markdown(f"**{title}**{head}"
                    + (f"  \n<span style='opacity:0.7;font-size:0.9em'>{kind.help}</span>" if kind else ""),
                    unsafe_allow_html=True)
        with st.container(horizontal=True, gap="small", key="arch_actions"):
            st.button(t("ui_architecture.panel.up"), key="arch_up", icon=":material/arrow_upward:",
                      help=t("ui_architecture.panel.up_help"), on_click=_move, args=(index, -1), disabled=index == 0)
            st.button(t("ui_architecture.panel.down"), key="arch_down", icon=":material/arrow_downward:",
                      help=t("ui_architecture.panel.down_help"), on_click=_move, args=(index, 1),
                      disabled=index == count - 1)
            st.button(t("ui_architecture.panel.duplicate"), key="arch_dup", icon=":material/content_copy:",
                      help=t("ui_architecture.panel.duplicate_help"), on_click=_duplicate, args=(index,))
            st.button(t("ui_architecture.panel.remove"), key="arch_rm", icon=":material/delete:",
                      help=t("ui_architecture.panel.remove_help"), on_click=_remove, args=(index,))
        edited = edit_layer(uid, layer)
        slot = st.empty()
    return edited, slot


def _downloads(spec: dict, ok: bool) -> None:
    left, right = st.columns(2)
    left.download_button(t("ui_architecture.download.spec"), json.dumps(spec, indent=2) + "\n",
                         file_name="cnn_spec.json", mime="application/json", key="arch_dl_spec",
                         icon=":material/download:", width="stretch")
    if not ok:
        right.button(t("ui_architecture.download.script"), disabled=True, key="arch_dl_code_off",
                     help=t("ui_architecture.download.fix_first"), width="stretch")
        return
    try:
        script = codegen.to_script(spec)
    except LabError as error:
        right.warning(str(error))
        return
    right.download_button(t("ui_architecture.download.script"), script, file_name="cnn_model.py",
                          mime="text/x-python", key="arch_dl_code", icon=":material/code:", width="stretch",
                          help=t("ui_architecture.download.script_help"))


def render() -> None:
    st.title(t("ui_architecture.title"))
    st.markdown(
        '<style>div[data-testid="stColumn"]:has(.lab-shape-table){position:sticky;top:3.75rem;'
        "align-self:flex-start;max-height:calc(100vh - 4.5rem);overflow-y:auto;overflow-x:auto}"
        ".st-key-arch_actions{gap:0.35rem}.st-key-arch_actions button{padding:0.1rem 0.45rem;min-height:2rem}"
        ".st-key-arch_actions button p{font-size:0.9rem}</style>",
        unsafe_allow_html=True)
    session.ensure_dataset()
    _handle_upload()
    spec = _network()

    target = session.dataset_target()
    if target is None:
        st.info(t("ui_architecture.no_dataset", shape=widgets.shape_text(spec.get("input_shape"))), icon="ℹ️")
    else:
        st.caption(t("ui_architecture.from_dataset", shape=widgets.shape_text(target[0]), classes=target[1],
                     dataset=session.dataset()))
    if st.session_state.get("_arch_upload_error"):
        st.error(t("ui_architecture.upload.unchanged", problem=st.session_state["_arch_upload_error"]), icon="⛔")

    with st.container(border=True):
        preset_col, upload_col = st.columns([3, 2])
        with preset_col:
            names = presets.names()
            if st.session_state.get("arch_preset") not in names:
                st.session_state["arch_preset"] = (session.DEFAULT_PRESET if session.DEFAULT_PRESET in names
                                                   else names[0])
            pick, load = st.columns([3, 1], vertical_alignment="bottom")
            pick.selectbox(t("ui_architecture.preset.pick"), names, key="arch_preset",
                           help=t("ui_architecture.preset.pick_help"))
            load.button(t("ui_architecture.preset.load"), key="arch_load_preset", on_click=_load_preset,
                        width="stretch")
            st.caption(presets.describe(st.session_state["arch_preset"]))
        with upload_col:
            st.file_uploader(t("ui_architecture.upload.label"), type=["json"], key="arch_upload",
                             help=t("ui_architecture.upload.help"))
        history_box()

    editor_and_table()
    tf_loader.start()


@st.fragment
def editor_and_table() -> None:
    """The layer editor, the training settings and the shape table: a change here reruns only this part."""
    spec = _network()
    for note in [*session.pop_notes(), *st.session_state.pop(NOTES, [])]:
        st.info(note, icon="🔁")
    uid = selected_uid()

    editor, table_col = st.columns([4, 6], gap="medium")
    with editor:
        st.subheader(t("ui_architecture.layers.title"))
        st.caption(t("ui_architecture.layers.caption"))
        list_box = st.container()
        edited_layers = copy.deepcopy(spec["layers"])
        slot = None
        if uid is not None:
            index = st.session_state[UIDS].index(uid)
            edited_layers[index], slot = _layer_panel(spec, uid)
        augment_box = st.container()
        st.markdown(f"**{t('ui_architecture.add.title')}**")
        _add_controls(spec)
        st.subheader(t("ui_architecture.compile.title"))
        compile_settings = edit_compile(spec)

    edited = copy.deepcopy(spec)
    edited["layers"] = edited_layers
    edited["compile"] = compile_settings
    _commit(edited, list(st.session_state[UIDS]))
    checked = session.check(edited)
    report = checked.report
    errors, warned = _layer_messages(edited, report, checked.table)
    with list_box:
        _layer_list(edited, uid, errors, warned)
    if slot is not None:
        messages = errors.get(st.session_state[UIDS].index(uid) + 1)
        if messages:
            slot.error("\n\n".join(messages), icon="⛔")
    if report.ok and inside.augmenting_layers(edited):
        with augment_box:
            inside.augmentation_section(edited, key="arch_augment")

    with table_col:
        st.subheader(t("ui_architecture.table.title"))
        for message in (p.message for p in report.errors if p.layer is None):
            st.error(message, icon="⛔")
        widgets.shape_table(edited, report, checked.table)
        for warning in (p.message for p in report.warnings if p.layer is None):
            st.warning(warning)
        if report.ok:
            st.success(t("ui_architecture.valid"), icon="✅")
        else:
            st.error(t("ui_architecture.invalid", count=len(report.errors)), icon="🚫")
        _downloads(edited, report.ok)
        st.caption(t("ui_architecture.padding_hint"))
    guides.render()  # full width: the guides' tables have four or five columns of sentences
    session.save()
