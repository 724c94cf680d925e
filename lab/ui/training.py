"""Train page: settings, Start/Stop, and the live view of a training job.

The job lives in ``lab.train.job.manager()`` (it trains in a worker process), not in the session: other widgets,
a reload or a second tab of the same person never stop or restart it, and they all show the same job. Each person
sees their own jobs, and the jobs someone shared; only a job's owner can stop it.
"""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from lab import ownership
from lab.errors import LabError
from lab.i18n import number, t
from lab.speed import PRECISIONS
from lab.train.snapshot import Snapshot
from lab.train.status import ACTIVE
from lab.ui import charts, identity, model_cache, session, tf_loader

MONITORS = ["val_loss", "val_accuracy", "loss", "accuracy"]
LAST_JOB = "train_last_job"  # the Job this session started most recently (an object held only for display)
WATCH = "train_watch"  # the id of the job the person chose to watch, when they see several


def _manager():
    from lab.train import job

    return job.manager()


def _snapshot(job) -> Snapshot:
    try:
        return job.snapshot()
    except Exception as error:  # a broken snapshot must not take the page down
        return Snapshot(status="failed", error=t("ui_training.snapshot_unreadable", error=error))


def _visible() -> list:
    """The jobs this person may see, newest first: their own, everyone's and the shared ones."""
    return _manager().jobs(identity.owner())


def shown_job():
    """The job to show: the one the person chose; else this session's if still waiting or training; else one of
    theirs that trains or waits; else one that someone shared while it trains; else their newest."""
    me = identity.owner()
    visible = _visible()
    chosen = st.session_state.get(WATCH)
    found = next((job for job in visible if job.id == chosen), None)
    if found is not None:
        return found
    mine = st.session_state.get(LAST_JOB)
    if mine is not None and mine in visible and _snapshot(mine).status in ACTIVE:
        return mine
    own = [job for job in visible if ownership.can_change(job.owner, me)]
    running = _manager().running(me)
    for job in [*(job for job in running if job in own), *own, *running]:
        if _snapshot(job).status in ACTIVE:
            return job
    if mine is not None and mine in visible:
        return mine
    return own[0] if own else None  # newest first


# --- settings -----------------------------------------------------------------------------------------------------


def _settings(load_params: dict) -> dict:
    """The widgets of the training settings; returns the TrainConfig keyword arguments they set."""
    left, middle, right = st.columns(3)
    with left:
        st.markdown(f"**{t('ui_training.section.run')}**")
        epochs = st.number_input(t("ui_training.epochs"), 1, 500, 8, key="train_epochs",
                                 help=t("ui_training.epochs.help"))
        batch_size = st.number_input(t("ui_training.batch_size"), 1, 4096, int(load_params.get("batch_size") or 32),
                                     step=8, key="train_batch_size", help=t("ui_training.batch_size.help"))
        seed = st.number_input(t("ui_training.seed"), 0, 2**31 - 1, int(load_params.get("seed") or 1337),
                               key="train_seed", help=t("ui_training.seed.help"))
        name = st.text_input(t("ui_training.name"), key="train_name", placeholder=t("ui_training.name.placeholder"),
                             help=t("ui_training.name.help"))
    with middle:
        st.markdown(f"**{t('ui_training.section.early_stopping')}**")
        early_on = st.toggle(t("ui_training.early.toggle"), True, key="train_es_on",
                             help=t("ui_training.early.toggle.help"))
        es_monitor = st.selectbox(t("ui_training.watch"), MONITORS, key="train_es_monitor", disabled=not early_on,
                                  help=t("ui_training.watch.help"))
        es_patience = st.number_input(t("ui_training.patience"), 1, 100, 3, key="train_es_patience",
                                      disabled=not early_on, help=t("ui_training.early.patience.help"))
        es_restore = st.checkbox(t("ui_training.early.restore"), True, key="train_es_restore",
                                 disabled=not early_on, help=t("ui_training.early.restore.help"))
        st.markdown(f"**{t('ui_training.section.checkpoint')}**")
        ck_monitor = st.selectbox(t("ui_training.checkpoint.monitor"), MONITORS, key="train_ckpt_monitor",
                                  help=t("ui_training.checkpoint.monitor.help"))
        ck_best = st.checkbox(t("ui_training.checkpoint.best_only"), True, key="train_ckpt_best_only",
                              help=t("ui_training.checkpoint.best_only.help"))
    with right:
        st.markdown(f"**{t('ui_training.section.learning_rate')}**")
        rlr_on = st.toggle(t("ui_training.reduce_lr.toggle"), False, key="train_rlr_on",
                           help=t("ui_training.reduce_lr.toggle.help"))
        rlr_monitor = st.selectbox(t("ui_training.watch"), MONITORS, key="train_rlr_monitor", disabled=not rlr_on,
                                   help=t("ui_training.watch.help"))
        rlr_factor = st.number_input(t("ui_training.reduce_lr.factor"), 0.01, 0.99, 0.5, step=0.05,
                                     key="train_rlr_factor", disabled=not rlr_on,
                                     help=t("ui_training.reduce_lr.factor.help"))
        rlr_patience = st.number_input(t("ui_training.patience"), 1, 100, 2, key="train_rlr_patience",
                                       disabled=not rlr_on, help=t("ui_training.reduce_lr.patience.help"))
        rlr_min = st.number_input(t("ui_training.reduce_lr.min"), 0.0, 1.0, 1e-5, format="%.6f",
                                  key="train_rlr_min", disabled=not rlr_on, help=t("ui_training.reduce_lr.min.help"))
        st.markdown(f"**{t('ui_training.section.speed')}**")
        precision = st.selectbox(t("ui_training.precision"), PRECISIONS, key="train_precision",
                                 help=t("ui_training.precision.help"))
    return {
        "epochs": int(epochs),
        "batch_size": int(batch_size),
        "seed": int(seed),
        "name": name.strip() or None,
        "early_stopping": {"monitor": es_monitor, "patience": int(es_patience),
                           "restore_best_weights": bool(es_restore)} if early_on else None,
        "checkpoint": {"monitor": ck_monitor, "mode": "auto", "save_best_only": bool(ck_best)},
        "reduce_lr": {"monitor": rlr_monitor, "factor": float(rlr_factor), "patience": int(rlr_patience),
                      "min_lr": float(rlr_min)} if rlr_on else None,
        "precision": precision,
    }


def blockers(dataset, spec, batch_size: int | None = None) -> list[str]:
    """Why training cannot start now, one sentence each ([] when it can); the memory check uses ``batch_size``."""
    reasons = []
    if not dataset:
        reasons.append(t("ui_training.blocker.no_dataset"))
    elif not Path(dataset).is_dir():
        reasons.append(t("ui_training.blocker.dataset_gone", path=dataset))
    if not spec:
        reasons.append(t("ui_training.blocker.no_model"))
    else:
        report = session.check(spec, batch_size).report
        for problem in report.errors:
            reasons.append(t("ui_training.blocker.layer", layer=problem.layer, message=problem.message)
                           if problem.layer else problem.message)
    return reasons


def _submit(spec: dict, settings: dict):
    return _manager().submit(session.train_config(spec, owner=identity.owner(), **settings))


# --- start from a run ---------------------------------------------------------------------------------------------

FROM_RUN = "train_from_run"  # the "Start from" choice: a run folder, or NEW_NETWORK
FREEZE = "train_freeze"
NEW_NETWORK = ""


def start_from(dataset) -> dict:
    """Where training starts: the Architecture page's network, new ({}), or a finished run's network and weights
    (fine-tuning: the TrainConfig's ``from_run`` and ``freeze``). Runs that cannot start the dataset say why."""
    from lab.paths import runs_root
    from lab.train import finetune
    from lab.ui import data_folders

    info = data_folders.info_for(dataset) if dataset and Path(dataset).is_dir() else None
    if info is None or not info.classes:
        return {}
    points = finetune.starting_points(dataset, runs_root(), identity.owner(), list(info.classes))
    if not points:
        return {}
    usable = {str(run.path): run for run, problem in points if problem is None}
    chosen = session.start_run()
    if chosen not in usable:
        chosen = NEW_NETWORK
        session.choose_start(None)
    st.session_state[FROM_RUN] = chosen
    labels = {NEW_NETWORK: t("ui_finetune.new_network"), **{path: _run_label(run) for path, run in usable.items()}}
    left, right = st.columns([2, 1], vertical_alignment="bottom")
    with left:
        st.selectbox(t("ui_finetune.start_from"), list(labels), key=FROM_RUN, format_func=labels.get,
                     help=t("ui_finetune.start_from.help"),
                     on_change=lambda: session.choose_start(st.session_state[FROM_RUN]))
    with right:
        freeze = st.checkbox(t("ui_finetune.freeze"), key=FREEZE, disabled=not chosen,
                             help=t("ui_finetune.freeze.help"))
    blocked = [problem for _, problem in points if problem]
    if blocked:
        st.caption("\n".join([t("ui_finetune.cannot_start", count=len(blocked)), *(f"- {why}" for why in blocked)]))
    if not chosen:
        return {}
    _start_note(chosen, dataset, list(info.classes))
    return {"from_run": chosen, "freeze": bool(freeze)}


def _run_label(run) -> str:
    accuracy = run.score if run.score is not None else run.best_val_accuracy
    when = (run.created or "")[:16].replace("T", " ")
    parts = [run.name, run.dataset or "?", *([_percent(accuracy)] if accuracy is not None else []), when]
    return " · ".join(part for part in parts if part)


def _start_note(run_dir: str, dataset: str, classes: list[str]) -> None:
    """What starting from the run means: its network, its image size and colour, the classes that keep their unit."""
    from lab.train import finetune

    try:
        start = finetune.check_start(run_dir, dataset, classes)
    except LabError as error:  # it changed since the list was drawn: Start then fails with this same sentence
        st.error(str(error))
        return
    loading = start.inherited()
    shape = start.spec.get("input_shape") or ["?", "?", 1]
    height, width = loading.get("image_size") or shape[:2]
    grey = loading.get("color_mode", "grayscale" if shape[-1] == 1 else "rgb") == "grayscale"
    kept = sum(unit is not None for unit in finetune.head_mapping(start.class_names, classes))
    st.info(t("ui_finetune.note", name=start.name, layers=len(start.spec["layers"]), width=width, height=height,
              colour=t("ui_finetune.grayscale" if grey else "ui_finetune.colour"), kept=kept, classes=len(classes)),
            icon=":material/model_training:")


# --- live view ----------------------------------------------------------------------------------------------------


def _duration(seconds) -> str:
    if not isinstance(seconds, (int, float)) or seconds != seconds or seconds < 0:
        return "–"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _percent(value) -> str:
    return number(value, ".1%") if isinstance(value, (int, float)) and value == value else "–"


def progress_text(snap: Snapshot) -> tuple[float, str]:
    epoch, epochs = snap.epoch, snap.epochs
    batch, batches = snap.batch, snap.batches or 0
    status = snap.status
    if status == "queued":
        return 0.0, t("ui_training.progress.waiting")
    done = 0.0
    if epochs:
        within = batch / batches if batches else 0.0
        done = min(1.0, max(0.0, ((max(epoch, 1) - 1) + within) / epochs))
        if status not in ACTIVE:
            done = 1.0 if status == "finished" else done
    parts = [t("ui_training.progress.epoch", epoch=max(epoch, 1), epochs=epochs) if epochs
             else t("ui_training.progress.starting")]
    if batches:
        parts.append(t("ui_training.progress.batch", batch=batch, batches=batches))
    if status in ACTIVE:
        parts.append(t("ui_training.progress.elapsed", time=_duration(snap.elapsed)))
        if snap.eta is not None:
            parts.append(t("ui_training.progress.left", time=_duration(snap.eta)))
    return done, " · ".join(parts)


def _diagnostics(snap: Snapshot) -> None:
    for item in snap.diagnostics:
        text = f"**{item.title}.** {item.message}"
        (st.error if item.level == "error" else st.warning)(text, icon="⚠️")


def _messages(snap: Snapshot) -> None:
    messages = [m for m in snap.messages if m]
    if messages:
        with st.expander(t("ui_training.messages", count=len(messages)), expanded=snap.status == "failed"):
            for message in messages[-20:]:
                st.markdown(f"- {message}")


def _summary(snap: Snapshot) -> None:
    from lab.train import runs

    run_dir = snap.run_dir
    info = runs.run_info(run_dir) if run_dir else None
    history = snap.history
    best_val = info.best_val_accuracy if info else None
    if best_val is None and history:
        key = charts.accuracy_key(history[-1].keys())
        values = [row.get(f"val_{key}") for row in history if isinstance(row.get(f"val_{key}"), (int, float))]
        best_val = max(values) if values else None
    cols = st.columns(4)
    cols[0].metric(t("ui_training.summary.best_val"), _percent(best_val))
    if info is not None and info.score is not None and info.test_accuracy is None:  # no Test split: validation
        cols[1].metric(t("ui_training.summary.validation"), _percent(info.score),
                       help=t("ui_training.summary.validation_help"))
    else:
        cols[1].metric(t("ui_training.summary.test"), _percent(info.test_accuracy if info else None))
    cols[2].metric(t("ui_training.epochs"), f"{len(history)}/{snap.epochs or '–'}")
    cols[3].metric(t("ui_training.summary.time"), _duration(snap.elapsed))
    if run_dir and info is not None and info.has_model:
        model_cache.preload(run_dir)  # ready before the Predict page asks
        if st.button(t("ui_training.predict"), key="train_goto_predict", type="primary"):
            session.choose_run(str(run_dir))
            session.switch_to("predict")


def _queued(place: int | None) -> str:
    if not place:
        return t("ui_training.status.queued")
    return t("ui_training.status.queued_next") if place == 1 else t("ui_training.status.queued_place", place=place,
                                                                      ahead=place - 1)


def job_view(job) -> None:
    """Status, progress, chart, diagnostics and, at the end, the summary of one job."""
    snap = _snapshot(job)
    status = snap.status
    active = status in ACTIVE
    mine = ownership.can_change(job.owner, identity.owner())
    name = snap.name or Path(snap.run_dir or "").name or t("ui_training.this_run")
    if not mine:
        st.caption(t("ui_people.train.shared_job"))
    if status == "queued":
        st.info(_queued(snap.queue_position), icon="⏳")
    elif status == "running":
        st.info(t("ui_training.status.running", name=name), icon="🏃")
    elif status == "stopping":
        st.warning(t("ui_training.status.stopping"), icon="✋")
    elif status == "stopped":
        st.info(t("ui_training.status.stopped", epochs=len(snap.history), folder=snap.run_dir), icon="✋")
    elif status == "finished":
        st.success(t("ui_training.status.finished", name=name), icon="✅")
    elif status in ("failed", "error", "interrupted"):
        st.error(snap.error or t("ui_training.status.failed"))
    else:
        st.info(t("ui_training.status.other", status=status))
    if snap.error and status not in ("failed", "error", "interrupted"):
        st.error(snap.error)

    fraction, text = progress_text(snap)
    if active or status in ("stopped", "interrupted"):
        st.progress(fraction, text=text)
    if active and mine and st.button(t("ui_training.stop"), key="train_stop", help=t("ui_training.stop.help")):
        try:
            job.stop(by=identity.owner())
        except LabError as error:
            st.error(str(error))
        else:
            st.toast(t("ui_training.stop.toast"))

    _diagnostics(snap)
    if status in ("finished", "stopped", "interrupted"):
        _summary(snap)
    frame = charts.live_frame(snap.batch_log, snap.history, snap.batches)
    if not frame.empty:
        planned = snap.epochs if active else None  # a finished run's axis ends at its last epoch
        chart = charts.training_chart(frame, epochs=planned, classes=len(snap.class_names),
                                      log=charts.log_toggle("train_log_loss"))
        st.altair_chart(charts.localized(chart), width="stretch")
    elif active:
        st.caption(t("ui_training.chart_soon"))
    _messages(snap)


def render() -> None:
    st.title(t("ui_session.page.train"))
    notice = _manager().engine_notice()  # CNN_LAB_ENGINE names a cluster the lab cannot use
    if notice:
        st.warning(notice, icon=":material/lan:")
    # Whichever page a person opens first, training starts from a dataset and a network that fit each other.
    session.ensure_dataset()
    dataset = session.dataset()
    spec = session.network()
    load_params = session.load_params()
    job = shown_job()
    active = job is not None and _snapshot(job).status in ACTIVE
    if tf_loader.enabled():
        _manager().prewarm()  # a worker loads TensorFlow now, so Start trains at once

    live_area = st.container()
    with st.expander(t("ui_training.settings"), expanded=not active):
        chosen = Path(dataset).name if dataset else t("ui_training.no_dataset_chosen")
        origin = start_from(dataset)  # a run to fine-tune: then its network is trained, not the Architecture page's
        st.caption(t("ui_training.caption.model", dataset=chosen, layers=len(spec.get("layers", [])))
                   if spec and not origin else t("ui_training.caption.dataset", dataset=chosen))
        settings = _settings(load_params)
        reasons = [] if origin else blockers(dataset, spec, settings["batch_size"])
        for reason in reasons:
            st.error(reason)
        label = t("ui_training.queue_another") if active else t("ui_training.start")
        start = st.button(label, key="train_start", type="primary", disabled=bool(reasons),
                          help=reasons[0] if reasons else t("ui_training.start.help"))
    if start and not reasons:
        try:
            new_job = _submit(spec, {**settings, **origin})
        except LabError as error:
            st.error(str(error))
        else:
            st.session_state[LAST_JOB] = new_job
            st.session_state[WATCH] = new_job.id
            time.sleep(0.2)  # the first snapshot then already says running or queued
            st.rerun()  # redraw with the settings folded and the live view ticking

    with live_area:
        if job is None:
            st.info(t("ui_training.no_job"))
            return
        _watch_picker(job)

        @st.fragment(run_every=1.0 if active else None)
        def live() -> None:
            current = shown_job()
            if current is None:
                return
            job_view(current)
            if active and _snapshot(current).status not in ACTIVE:
                st.rerun()  # the job ended: redraw the page once, without the timer

        live()


def _watch_picker(shown) -> None:
    """When the person sees several jobs (theirs and shared ones), a choice of which one to watch."""
    visible = _visible()
    if len(visible) < 2:
        return
    me = identity.owner()
    by_id = {job.id: job for job in visible}
    st.session_state[WATCH] = shown.id

    def label(job_id: str) -> str:
        job = by_id[job_id]
        whose = t("ui_people.train.watch.yours") if ownership.can_change(job.owner, me) \
            else t("ui_people.train.watch.shared")
        return t("ui_people.train.watch.option", name=_snapshot(job).name or job_id, whose=whose)

    st.selectbox(t("ui_people.train.watch"), list(by_id), key=WATCH, format_func=label)
