"""Train page: settings, Start/Stop, and the live view of the process-wide training job.

The job lives in ``lab.train.job.manager()``, not in the session: other widgets, a reload or a second tab never
stop or restart it, and they all show the same job.
"""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from lab.errors import LabError
from lab.train.snapshot import Snapshot
from lab.train.status import ACTIVE
from lab.ui import charts, session

MONITORS = ["val_loss", "val_accuracy", "loss", "accuracy"]
LAST_JOB = "train_last_job"  # the Job this session started most recently (an object held only for display)


def _manager():
    from lab.train import job

    return job.manager()


def _snapshot(job) -> Snapshot:
    try:
        return job.snapshot()
    except Exception as error:  # a broken snapshot must not take the page down
        return Snapshot(status="failed", error=f"The job's progress could not be read: {error}")


def shown_job():
    """The job to show: this session's if still waiting or training, else the one training, else the newest."""
    manager = _manager()
    mine = st.session_state.get(LAST_JOB)
    if mine is not None and _snapshot(mine).status in ACTIVE:
        return mine
    current = manager.current()
    if current is not None:
        return current
    if mine is not None:
        return mine
    jobs = list(manager.jobs())
    return jobs[0] if jobs else None  # newest first


# --- settings -----------------------------------------------------------------------------------------------------


def _settings(load_params: dict) -> dict:
    """The widgets of the training settings; returns the TrainConfig keyword arguments they set."""
    left, middle, right = st.columns(3)
    with left:
        st.markdown("**Run**")
        epochs = st.number_input("Epochs", 1, 500, 10, key="train_epochs")
        batch_size = st.number_input("Batch size", 1, 4096, int(load_params.get("batch_size") or 32), step=8,
                                     key="train_batch_size")
        seed = st.number_input("Seed", 0, 2**31 - 1, int(load_params.get("seed") or 1337), key="train_seed",
                               help="The same seed, data and settings give the same weights and the same curves.")
        name = st.text_input("Run name (optional)", key="train_name", placeholder="e.g. same-padding")
    with middle:
        st.markdown("**Early stopping**")
        early_on = st.toggle("Stop when it stops improving", True, key="train_es_on")
        es_monitor = st.selectbox("Watch", MONITORS, key="train_es_monitor", disabled=not early_on)
        es_patience = st.number_input("Patience (epochs)", 1, 100, 3, key="train_es_patience", disabled=not early_on)
        es_restore = st.checkbox("Restore the best weights at the end", True, key="train_es_restore",
                                 disabled=not early_on)
        st.markdown("**Checkpoint**")
        ck_monitor = st.selectbox("Save by", MONITORS, key="train_ckpt_monitor")
        ck_best = st.checkbox("Save only when it improves", True, key="train_ckpt_best_only")
    with right:
        st.markdown("**Learning rate**")
        rlr_on = st.toggle("Lower it on a plateau (ReduceLROnPlateau)", False, key="train_rlr_on")
        rlr_monitor = st.selectbox("Watch ", MONITORS, key="train_rlr_monitor", disabled=not rlr_on)
        rlr_factor = st.number_input("Multiply by", 0.01, 0.99, 0.5, step=0.05, key="train_rlr_factor",
                                     disabled=not rlr_on)
        rlr_patience = st.number_input("Patience (epochs) ", 1, 100, 2, key="train_rlr_patience",
                                       disabled=not rlr_on)
        rlr_min = st.number_input("Lowest rate", 0.0, 1.0, 1e-5, format="%.6f", key="train_rlr_min",
                                  disabled=not rlr_on)
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
    }


def blockers(dataset, spec, batch_size: int | None = None) -> list[str]:
    """Why training cannot start now, one sentence each ([] when it can); the memory check uses ``batch_size``."""
    reasons = []
    if not dataset:
        reasons.append("Choose a dataset on the Dataset page first.")
    elif not Path(dataset).is_dir():
        reasons.append(f"The dataset folder {dataset} is gone; choose a dataset again on the Dataset page.")
    if not spec:
        reasons.append("Choose or build a model on the Architecture page first.")
    else:
        report = session.check(spec, batch_size).report
        for problem in report.errors:
            where = f"Layer {problem.layer}: " if problem.layer else ""
            reasons.append(f"{where}{problem.message}")
    return reasons


def _submit(spec: dict, settings: dict):
    return _manager().submit(session.train_config(spec, **settings))


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
    return f"{value:.1%}" if isinstance(value, (int, float)) and value == value else "–"


def progress_text(snap: Snapshot) -> tuple[float, str]:
    epoch, epochs = snap.epoch, snap.epochs
    batch, batches = snap.batch, snap.batches or 0
    status = snap.status
    if status == "queued":
        return 0.0, "Waiting for the job ahead to finish"
    done = 0.0
    if epochs:
        within = batch / batches if batches else 0.0
        done = min(1.0, max(0.0, ((max(epoch, 1) - 1) + within) / epochs))
        if status not in ACTIVE:
            done = 1.0 if status == "finished" else done
    parts = [f"Epoch {max(epoch, 1)}/{epochs}" if epochs else "Starting"]
    if batches:
        parts.append(f"batch {batch}/{batches}")
    if status in ACTIVE:
        parts.append(f"elapsed {_duration(snap.elapsed)}")
        if snap.eta is not None:
            parts.append(f"about {_duration(snap.eta)} left")
    return done, " · ".join(parts)


def _diagnostics(snap: Snapshot) -> None:
    for item in snap.diagnostics:
        text = f"**{item.title}.** {item.message}"
        (st.error if item.level == "error" else st.warning)(text, icon="⚠️")


def _messages(snap: Snapshot) -> None:
    messages = [m for m in snap.messages if m]
    if messages:
        with st.expander(f"Messages ({len(messages)})", expanded=snap.status == "failed"):
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
    cols[0].metric("Best validation accuracy", _percent(best_val))
    cols[1].metric("Test accuracy", _percent(info.test_accuracy if info else None))
    cols[2].metric("Epochs", f"{len(history)}/{snap.epochs or '–'}")
    cols[3].metric("Time", _duration(snap.elapsed))
    if run_dir and info is not None and info.has_model:
        if st.button("Predict with this model →", key="train_goto_predict", type="primary"):
            session.choose_run(str(run_dir))
            session.switch_to("predict")


def job_view(job) -> None:
    """Status, progress, chart, diagnostics and, at the end, the summary of one job."""
    snap = _snapshot(job)
    status = snap.status
    active = status in ACTIVE
    name = snap.name or Path(snap.run_dir or "").name or "this run"
    if status == "queued":
        place = snap.queue_position
        st.info(f"Queued{f' (place {place} in the queue)' if place else ''}: another run is training; this one "
                "starts when it ends.", icon="⏳")
    elif status == "running":
        st.info(f"Training **{name}** in the background. Use the rest of the page freely; reloading the page "
                "or opening it in another tab shows this run again.", icon="🏃")
    elif status == "stopping":
        st.warning("Stopping after the current batch…", icon="✋")
    elif status == "stopped":
        st.info(f"Stopped by you after {len(snap.history)} full epoch(s). The best model so far was "
                f"kept in {snap.run_dir}.", icon="✋")
    elif status == "finished":
        st.success(f"Finished **{name}**.", icon="✅")
    elif status in ("failed", "error"):
        st.error(snap.error or "Training failed; see the messages below.")
    else:
        st.info(f"Status: {status}.")
    if snap.error and status not in ("failed", "error"):
        st.error(snap.error)

    fraction, text = progress_text(snap)
    if active or status == "stopped":
        st.progress(fraction, text=text)
    if active and st.button("Stop", key="train_stop", help="Ends after the current batch and keeps the best model."):
        job.stop()
        st.toast("Stopping after the current batch; the best model so far is kept.")

    _diagnostics(snap)
    if status in ("finished", "stopped"):
        _summary(snap)
    frame = charts.live_frame(snap.batch_log, snap.history, snap.batches)
    if not frame.empty:
        planned = snap.epochs if active else None  # a finished run's axis ends at its last epoch
        st.altair_chart(charts.training_chart(frame, epochs=planned), width="stretch")
    elif active:
        st.caption("The chart appears after the first batch.")
    _messages(snap)


def render() -> None:
    st.title("Train")
    # Whichever page a person opens first, training starts from a dataset and a network that fit each other.
    session.ensure_dataset()
    dataset = session.dataset()
    spec = session.network()
    load_params = session.load_params()
    job = shown_job()
    active = job is not None and _snapshot(job).status in ACTIVE

    live_area = st.container()
    with st.expander("Settings", expanded=not active):
        st.caption(f"Dataset: **{Path(dataset).name if dataset else 'none chosen'}**"
                   + (f" · model: **{len(spec.get('layers', []))} layers**" if spec else ""))
        settings = _settings(load_params)
        reasons = blockers(dataset, spec, settings["batch_size"])
        for reason in reasons:
            st.error(reason)
        label = "Queue another run" if active else "Start training"
        start = st.button(label, key="train_start", type="primary", disabled=bool(reasons),
                          help=reasons[0] if reasons else "Trains in the background; the page stays usable.")
    if start and not reasons:
        try:
            new_job = _submit(spec, settings)
        except LabError as error:
            st.error(str(error))
        else:
            st.session_state[LAST_JOB] = new_job
            time.sleep(0.2)  # the first snapshot then already says running or queued
            st.rerun()  # redraw with the settings folded and the live view ticking

    with live_area:
        if job is None:
            st.info("No training yet. Open **Settings** below, then press **Start training**.")
            return

        @st.fragment(run_every=1.0 if active else None)
        def live() -> None:
            current = shown_job()
            job_view(current)
            if active and _snapshot(current).status not in ACTIVE:
                st.rerun()  # the job ended: redraw the page once, without the timer

        live()
