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

from lab import presets
from lab import spec as specs
from lab.errors import LabError
from lab.spec import LAYER_TYPES, Arg
from lab.ui import autosave, session, tf_loader, widgets

UIDS = "_arch_uids"      # list[str], one per layer of the session's network
UIDS_GEN = "_arch_uids_gen"  # the session's network generation the uids were made for
COUNTER = "_arch_counter"
NOTES = "_arch_notes"    # what a layer action did, to say once at the top
UPLOADED = "_arch_uploaded"  # file_id of the last spec upload handled
SELECTED = "_arch_selected"  # uid of the layer whose settings are shown
PICK = "arch_layer"          # the layer list (a radio); SELECTED is the value that counts

NONE = "(none)"

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
    layers = session.network()["layers"]
    uid = next((u for u, layer in zip(uids, layers) if layer.get("type") == "Conv2D"), uids[0] if uids else None)
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
    st.session_state.setdefault(NOTES, []).append(f"Removed layer {index + 1} ({removed.get('type')}).")


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
    spec["layers"].insert(position, specs.new_layer(kind))
    uids.insert(position, _new_uid())
    _commit(spec, uids)
    _select(uids[position])
    st.session_state.setdefault(NOTES, []).append(f"Added a {kind} layer as layer {position + 1}.")


def _load_preset() -> None:
    name = st.session_state.get("arch_preset", session.DEFAULT_PRESET)
    session.replace_network(presets.load(name), [f"Loaded the preset “{name}”."])


def _handle_upload() -> None:
    upload = st.session_state.get("arch_upload")
    if upload is None or st.session_state.get(UPLOADED) == upload.file_id:
        return
    st.session_state[UPLOADED] = upload.file_id
    _replace_from(lambda: parse_spec(upload.getvalue(), upload.name), f"Loaded the spec from {upload.name}.")


def _restore_earlier() -> None:
    key = st.session_state.get("arch_history")
    if key:
        _replace_from(lambda: autosave.fetch(key),
                      f"Restored your earlier network {key}. The one you had before is kept in History.")


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
    with st.expander(f"History: your earlier networks ({len(earlier)})", icon=":material/history:"):
        if not earlier:
            st.caption("Every network you build is saved as you go; earlier ones will be listed here.")
            return
        labels = {entry.key: f"{autosave.when(entry.saved_at)} · {entry.summary}" for entry in earlier}
        stale = st.session_state.get("_arch_history_for") != current_key
        if stale or st.session_state.get("arch_history") not in labels:
            st.session_state["arch_history"] = earlier[0].key  # the network just before this one
            st.session_state["_arch_history_for"] = current_key
        pick, go = st.columns([5, 1], vertical_alignment="bottom")
        pick.selectbox("Go back to", list(labels), key="arch_history", format_func=labels.get,
                       help="Saved automatically as you edit (one entry per minute of editing, up to 50).")
        go.button("Restore", key="arch_history_restore", on_click=_restore_earlier, width="stretch",
                  help="Replaces the layers below; the current network stays in this list.")


def parse_spec(data: bytes, name: str = "the file") -> dict:
    """A spec from uploaded JSON bytes; LabError with the reason when it is not a usable spec."""
    spec = specs.load_text(data, name)
    if "layers" not in spec:
        raise LabError(f"{name} is JSON but not a spec: it needs an object with input_shape, layers and compile.")
    spec, _ = session.fitted(spec)
    report = session.check(spec).report
    if report.errors:
        more = f" (and {len(report.errors) - 1} more problem(s))" if len(report.errors) > 1 else ""
        raise LabError(f"{name} is not a valid spec: {report.errors[0].message}{more}")
    return spec


# --- one argument, one widget -----------------------------------------------------------------------------------

def _choices(check) -> tuple[str, ...] | None:
    """The allowed values of a one_of / optional_one_of check, read from its closure."""
    for cell in getattr(check, "__closure__", None) or ():
        value = cell.cell_contents
        if isinstance(value, tuple) and value and all(isinstance(v, str) for v in value):
            return value
        if callable(value):
            found = _choices(value)
            if found:
                return found
    return None


def _kind(arg: Arg) -> str:
    check = arg.check
    for name in ("positive_int", "positive_pair", "optional_pair", "boolean", "number", "rate", "positive_number",
                 "optional_int", "factor", "optional_factor"):
        if check is getattr(specs, name):
            return name
    if _choices(check):
        return "optional_choice" if arg.check(None) is None else "choice"
    return "json"


def _as_range(value) -> tuple[float, float]:
    if isinstance(value, (list, tuple)):
        return float(value[0]), float(value[-1])
    return -abs(float(value)), abs(float(value))


def _same(kind: str, a, b) -> bool:
    """Whether two argument values mean the same to Keras (3 and [3, 3]; 0.1 and [-0.1, 0.1])."""
    if a is None or b is None:
        return a is None and b is None
    try:
        if kind in ("positive_pair", "optional_pair"):
            return specs.ints(a) == specs.ints(b)
        if kind in ("factor", "optional_factor"):
            return all(math.isclose(x, y, abs_tol=1e-9) for x, y in zip(_as_range(a), _as_range(b)))
        if kind in ("number", "rate", "positive_number"):
            return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-15)
    except (TypeError, ValueError, IndexError):
        return False
    return a == b


def _init(key: str, value) -> None:
    if key not in st.session_state:
        st.session_state[key] = value


def _label(name: str) -> str:
    return name


def _pair(key: str, name: str, arg: Arg, value) -> list[int]:
    h, w = specs.ints(value)
    _init(f"{key}_h", min(max(h, 1), PAIR_LIMIT))
    _init(f"{key}_w", min(max(w, 1), PAIR_LIMIT))
    left, right = st.columns(2)
    with left:
        h = st.number_input(f"{_label(name)} · height", 1, PAIR_LIMIT, step=1, key=f"{key}_h", help=arg.help)
    with right:
        w = st.number_input(f"{_label(name)} · width", 1, PAIR_LIMIT, step=1, key=f"{key}_w", help=arg.help)
    return [int(h), int(w)]


def _range(key: str, name: str, arg: Arg, value) -> list[float]:
    low, high = _as_range(value)
    _init(key, (max(-1.0, min(low, 1.0)), max(-1.0, min(high, 1.0))))
    low, high = st.slider(_label(name) + " (low, high)", -1.0, 1.0, step=0.01, key=key, help=arg.help)
    return [round(float(low), 4), round(float(high), 4)]


def arg_widget(uid: str, layer_type: str, name: str, arg: Arg, value) -> Any:
    """Draws the widget for one constructor argument and returns its current value (spec form)."""
    key = f"arch_{uid}_{name}"
    kind = _kind(arg)
    helptext = arg.help or None
    if kind == "positive_int":
        _init(key, int(value) if isinstance(value, int) and value > 0 else 1)
        return int(st.number_input(_label(name), 1, max(LIMITS.get(name, 4096), int(st.session_state[key])),
                                   step=1, key=key, help=helptext))
    if kind == "positive_pair":
        return _pair(key, name, arg, value)
    if kind == "optional_pair":
        _init(f"{key}_auto", value is None)
        auto = st.checkbox(f"{_label(name)}: same as the pool size", key=f"{key}_auto",
                           help="Keras default: the window moves by its own size, so windows do not overlap.")
        if auto:
            return None
        return _pair(key, name, arg, value if value is not None else [2, 2])
    if kind in ("choice", "optional_choice"):
        choices = list(_choices(arg.check))
        options = ([NONE] if kind == "optional_choice" else []) + choices
        current = NONE if value is None else value
        _init(key, current if current in options else options[0])
        if name == "padding":
            picked = st.radio(_label(name), options, horizontal=True, key=key, help=helptext)
        else:
            picked = st.selectbox(_label(name), options, key=key, help=helptext)
        return None if picked == NONE else picked
    if kind == "boolean":
        _init(key, bool(value))
        return bool(st.checkbox(_label(name), key=key, help=helptext))
    if kind == "rate":
        _init(key, float(value) if isinstance(value, (int, float)) else 0.0)
        return float(st.slider(_label(name), 0.0, 0.99, step=0.01, key=key, help=helptext))
    if kind == "number":
        _init(key, float(value))
        return float(st.number_input(_label(name), step=0.001, format="%.6f", key=key, help=helptext))
    if kind == "positive_number":
        _init(key, float(value))
        return float(st.number_input(_label(name), min_value=1e-12, step=1e-4, format="%.6f", key=key,
                                     help=helptext))
    if kind == "optional_int":
        _init(key, value)
        picked = st.number_input(_label(name), min_value=0, step=1, value=None, key=key,
                                 help=(helptext or "") + " Empty means a new random draw each run.",
                                 placeholder="random")
        return None if picked is None else int(picked)
    if kind == "factor":
        return _range(key, name, arg, value)
    if kind == "optional_factor":
        _init(f"{key}_auto", value is None)
        if st.checkbox(f"{_label(name)}: same as height_factor", key=f"{key}_auto", help=helptext):
            return None
        return _range(key, name, arg, value if value is not None else 0.1)
    text = st.text_input(f"{_label(name)} (JSON)", json.dumps(value), key=key, help=helptext, max_chars=2000)
    try:
        return json.loads(text, parse_constant=lambda constant: value)
    except (ValueError, RecursionError):
        st.error(f"{name}: not valid JSON; keeping {json.dumps(value)}.")
        return value


def edit_layer(uid: str, layer: dict) -> dict:
    """Widgets for every argument of one layer (shown ones first, the rest under "Advanced")."""
    kind = LAYER_TYPES.get(layer.get("type"))
    if kind is None:
        st.error(f"Unknown layer type {layer.get('type')!r}; remove this layer.")
        return layer
    new = {"type": kind.name}
    shown = [(n, a) for n, a in kind.args.items() if a.shown]
    hidden = [(n, a) for n, a in kind.args.items() if not a.shown]

    def value_of(name: str, arg: Arg):
        if name in layer:
            return layer[name]
        return arg.initial() if arg.required else copy.deepcopy(arg.default)

    def store(name: str, arg: Arg, value) -> None:
        argkind = _kind(arg)
        if name in layer:
            new[name] = layer[name] if _same(argkind, layer[name], value) else value
        elif arg.required or not _same(argkind, value, arg.default):
            new[name] = value

    wide = [(n, a) for n, a in shown if _kind(a) in ("positive_pair", "optional_pair", "factor", "optional_factor")]
    narrow = [(n, a) for n, a in shown if (n, a) not in wide]
    if narrow:
        columns = st.columns(2 if len(narrow) > 1 else 1)
        for position, (name, arg) in enumerate(narrow):
            with columns[position % len(columns)]:
                store(name, arg, arg_widget(uid, kind.name, name, arg, value_of(name, arg)))
    for name, arg in wide:
        store(name, arg, arg_widget(uid, kind.name, name, arg, value_of(name, arg)))
    if hidden:
        with st.expander("Advanced settings"):
            for name, arg in hidden:
                store(name, arg, arg_widget(uid, kind.name, name, arg, value_of(name, arg)))
    for name in layer:  # keep unknown arguments so that check() can name them
        if name not in new and name != "type" and name not in kind.args:
            new[name] = layer[name]
    return new


# --- compile settings -----------------------------------------------------------------------------------------

OPTIMIZER_HELP = {
    "sgd": "Plain gradient descent; momentum smooths the steps, Nesterov looks one step ahead.",
    "adam": "Adapts each weight's step size; a good default (learning rate 0.001).",
    "adamw": "Adam with decoupled weight decay, which keeps weights small.",
    "rmsprop": "Divides each step by a running average of recent gradient sizes.",
    "adagrad": "Steps shrink for weights that have had large gradients.",
    "adadelta": "Adagrad without a hand-set learning rate schedule; usually needs a learning rate near 1.",
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
                              help="How the weights are updated from the gradients.")
        st.caption(OPTIMIZER_HELP.get(picked, ""))
        lr = st.number_input("learning_rate", min_value=1e-6, max_value=10.0, step=0.0001, format="%.5f",
                             key=key + "lr", help="Size of each update step. Adam: 0.001; SGD: 0.01–0.1.")
        # Another optimizer keeps only the settings it takes (Adam's beta_1 means nothing to SGD).
        takes = specs.OPTIMIZER_ARGS.get(picked, {})
        new_opt = {k: v for k, v in optimizer.items() if k in takes} if picked == name else {}
        new_opt.update({"name": picked, "learning_rate": float(lr)})
        if picked in ("sgd", "rmsprop"):
            start = 0.9 if picked == "sgd" else 0.0
            _init(key + f"{picked}_momentum",
                  _within(optimizer.get("momentum"), start, 0.0, 0.99) if picked == name else start)
            new_opt["momentum"] = float(st.slider("momentum", 0.0, 0.99, step=0.01, key=key + f"{picked}_momentum",
                                                  help="How much of the previous step carries into the next."))
        if picked == "sgd":
            _init(key + "nesterov", optimizer.get("nesterov") is True if picked == name else False)
            new_opt["nesterov"] = bool(st.checkbox("nesterov", key=key + "nesterov",
                                                   help="Nesterov momentum: the gradient is taken one step ahead."))
        if picked == "adamw":
            _init(key + "wd", _within(optimizer.get("weight_decay"), 0.004, 0.0, 1.0) if picked == name else 0.004)
            new_opt["weight_decay"] = float(st.number_input("weight_decay", 0.0, 1.0, step=0.001, format="%.4f",
                                                            key=key + "wd",
                                                            help="How strongly weights are pulled towards 0."))
    with right:
        new_loss = st.selectbox("loss", specs.LOSSES, key=key + "loss",
                                help="sparse_categorical_crossentropy for integer labels (what the loader gives).")
        metrics = st.multiselect("metrics", specs.METRICS, key=key + "metrics",
                                 help="Reported each epoch; they do not change the training.")
    settings.update({"optimizer": new_opt, "loss": new_loss, "metrics": list(metrics)})
    return settings


# --- the page ---------------------------------------------------------------------------------------------------

def _add_controls(spec: dict) -> None:
    layers = spec["layers"]
    groups = {}
    for kind in LAYER_TYPES.values():
        groups.setdefault(kind.group, []).append(kind.name)
    ordered = [name for group in groups.values() for name in group]
    positions = list(range(len(layers) + 1))

    def where(position: int) -> str:
        if position == len(layers):
            return f"{position + 1} · at the end"
        return f"{position + 1} · before {layers[position].get('type')}"

    default = max(len(layers) - 1, 0)
    if st.session_state.get("arch_add_pos") not in positions:
        st.session_state["arch_add_pos"] = default
    type_col, pos_col, button_col = st.columns([3, 3, 1], vertical_alignment="bottom")
    with type_col:
        st.selectbox("Layer type", ordered, key="arch_add_type",
                     format_func=lambda n: f"{n} — {LAYER_TYPES[n].group}",
                     help="Every layer the lab can build; the note below says what it does.")
    with pos_col:
        st.selectbox("Position", positions, key="arch_add_pos", format_func=where)
    with button_col:
        st.button("Add", key="arch_add", on_click=_add, type="primary", icon=":material/add:")
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
    summary = widgets.layer_summary(layer).replace("[", "(").replace("]", ")")
    head = " · classifier head" if number == count and kind == "Dense" else ""
    text = f"{number} · **{kind}**" + (f" — {summary}" if summary else "") + head
    if error:
        return f":red[⛔ {text}]"
    return f"⚠️ {text}" if warned else text


def _layer_list(spec: dict, selected: str | None, errors: dict[int, list[str]], warned: set[int]) -> None:
    """Every layer as one line; picking one shows its settings below."""
    uids = st.session_state[UIDS]
    if not uids:
        st.info("No layers yet: add one below.", icon="ℹ️")
        return
    count = len(uids)
    labels = {uid: _list_label(n, layer, count, n in errors, n in warned)
              for n, (uid, layer) in enumerate(zip(uids, spec["layers"]), start=1)}
    st.session_state[PICK] = selected  # the labels change with the settings; the selection follows the uid
    st.radio("Pick a layer to see and change its settings", uids, key=PICK, format_func=labels.__getitem__,
             on_change=_on_pick, width="stretch",
             help="Only the picked layer's settings are shown; every other layer keeps its values.")


def _layer_panel(spec: dict, uid: str) -> tuple[dict, Any]:
    """The selected layer in full: title, its actions, every argument. Returns the edited layer and an
    empty slot for its error messages."""
    uids = st.session_state[UIDS]
    index = uids.index(uid)
    count = len(uids)
    layer = spec["layers"][index]
    kind = LAYER_TYPES.get(layer.get("type"))
    with st.container(border=True, key="arch_panel"):
        head = " · classifier head" if index == count - 1 and layer.get("type") == "Dense" else ""
        st.markdown(f"**Layer {index + 1} of {count}: {layer.get('type')}**{head}"
                    + (f"  \n<span style='opacity:0.7;font-size:0.9em'>{kind.help}</span>" if kind else ""),
                    unsafe_allow_html=True)
        with st.container(horizontal=True, gap="small", key="arch_actions"):
            st.button("Up", key="arch_up", icon=":material/arrow_upward:", help="Move this layer up one place",
                      on_click=_move, args=(index, -1), disabled=index == 0)
            st.button("Down", key="arch_down", icon=":material/arrow_downward:",
                      help="Move this layer down one place", on_click=_move, args=(index, 1),
                      disabled=index == count - 1)
            st.button("Duplicate", key="arch_dup", icon=":material/content_copy:",
                      help="Insert a copy with the same settings right after it", on_click=_duplicate,
                      args=(index,))
            st.button("Remove", key="arch_rm", icon=":material/delete:", help="Remove this layer",
                      on_click=_remove, args=(index,))
        edited = edit_layer(uid, layer)
        slot = st.empty()
    return edited, slot


def _downloads(spec: dict, ok: bool) -> None:
    left, right = st.columns(2)
    left.download_button("Download spec (JSON)", json.dumps(spec, indent=2) + "\n", file_name="cnn_spec.json",
                         mime="application/json", key="arch_dl_spec", icon=":material/download:",
                         width="stretch")
    try:
        from lab import codegen
    except ImportError:
        right.info("The Keras script export is not available in this version.")
        return
    if not ok:
        right.button("Download Keras script (.py)", disabled=True, key="arch_dl_code_off",
                     help="Fix the red layers first.", width="stretch")
        return
    try:
        script = codegen.to_script(spec)
    except LabError as error:
        right.warning(str(error))
        return
    right.download_button("Download Keras script (.py)", script, file_name="cnn_model.py", mime="text/x-python",
                          key="arch_dl_code", icon=":material/code:", width="stretch",
                          help="A runnable script that builds, trains and saves this model with Keras.")


def render() -> None:
    st.title("Architecture")
    st.markdown(
        '<style>div[data-testid="stColumn"]:has(.lab-shape-table){position:sticky;top:3.75rem;'
        "align-self:flex-start;max-height:calc(100vh - 4.5rem);overflow-y:auto;overflow-x:hidden}"
        ".st-key-arch_actions{gap:0.35rem}.st-key-arch_actions button{padding:0.1rem 0.45rem;min-height:2rem}"
        ".st-key-arch_actions button p{font-size:0.9rem}</style>",
        unsafe_allow_html=True)
    session.ensure_dataset()
    _handle_upload()
    spec = _network()

    target = session.dataset_target()
    if target is None:
        st.info("No dataset chosen yet: the input is "
                f"{widgets.shape_text(spec.get('input_shape'))}. Pick one on the Dataset page and the input and "
                "the head follow it.", icon="ℹ️")
    else:
        st.caption(f"Input {widgets.shape_text(target[0])} and {target[1]} classes come from the dataset "
                   f"**{session.dataset()}**.")
    if st.session_state.get("_arch_upload_error"):
        st.error(st.session_state["_arch_upload_error"] + " Your current network is unchanged.", icon="⛔")

    with st.container(border=True):
        preset_col, upload_col = st.columns([3, 2])
        with preset_col:
            names = presets.names()
            if st.session_state.get("arch_preset") not in names:
                st.session_state["arch_preset"] = (session.DEFAULT_PRESET if session.DEFAULT_PRESET in names
                                                   else names[0])
            pick, load = st.columns([3, 1], vertical_alignment="bottom")
            pick.selectbox("Start from a preset", names, key="arch_preset",
                           help="Loading a preset replaces the layers below.")
            load.button("Load", key="arch_load_preset", on_click=_load_preset, width="stretch")
            st.caption(presets.describe(st.session_state["arch_preset"]))
        with upload_col:
            st.file_uploader("…or load a spec (JSON)", type=["json"], key="arch_upload",
                             help="A spec downloaded from this page. The current network stays if the file is bad.")
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

    editor, table_col = st.columns([4, 5], gap="medium")
    with editor:
        st.subheader("Layers")
        st.caption("Pick a layer, change a value, and the table beside updates at once. "
                   "Keras argument names are used throughout.")
        list_box = st.container()
        layers = copy.deepcopy(spec["layers"])
        slot = None
        if uid is not None:
            index = st.session_state[UIDS].index(uid)
            layers[index], slot = _layer_panel(spec, uid)
        st.markdown("**Add a layer**")
        _add_controls(spec)
        st.subheader("Training settings")
        compile_settings = edit_compile(spec)

    edited = copy.deepcopy(spec)
    edited["layers"] = layers
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

    with table_col:
        st.subheader("Shapes and parameters")
        for message in (p.message for p in report.errors if p.layer is None):
            st.error(message, icon="⛔")
        widgets.shape_table(edited, report, checked.table)
        for warning in (p.message for p in report.warnings if p.layer is None):
            st.warning(warning)
        if report.ok:
            st.success("The network is valid: train it on the **Train** page.", icon="✅")
        else:
            st.error(f"Training is off until the {len(report.errors)} problem(s) marked in red are fixed.",
                     icon="🚫")
        _downloads(edited, report.ok)
        st.caption("See what padding does to a real image on the **Padding** page.")
    session.save()
