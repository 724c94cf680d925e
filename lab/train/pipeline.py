"""The fit pipeline of a job: settings checked, data loaded, model built under a strategy, ``model.fit`` with the
lab's callbacks, the best model kept and scored. Runs in the job's thread; TensorFlow is imported here, late.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from lab import imaging
from lab.errors import LabError
from lab.i18n import t
from lab.train import diagnostics, distribute, finetune, pictures, runs, status
from lab.train.config import TrainConfig

if TYPE_CHECKING:
    from lab.train.live import Job


def auto_steps_per_execution(batches: int | None) -> int:
    return min(8, max(1, (batches or 0) // 16))


def train(job: Job, extra_callbacks: list) -> None:
    """Trains ``job.config`` into a run folder, recording into ``job``; LabError for settings or data that fail."""
    config = job.config
    if not job.begin():
        return
    config.check()
    start = finetune.check_start(config.from_run, config.data_path) if config.from_run else None
    inherited = start.inherited() if start else {}
    if start and not config.name:
        job.name = t("finetune.run_name", name=start.name)
    spec = start.spec if start else config.spec
    if isinstance(spec, str):
        from lab.presets import resolve

        spec = resolve(spec)
    from lab.spec import validate

    validate(spec, batch_size=config.batch_size)  # memory too, for this batch size
    job.message(t("train.job.starting"))

    strategy = distribute.make_strategy(config.strategy)
    import keras
    import tensorflow as tf

    from lab import speed
    from lab.build import build_model, compile_model, device_kind, xla_choice
    from lab.train import callbacks as cbs
    from lab.train import data_access
    from lab.train.labels import prepare_spec

    device = device_kind()
    precision = speed.choose_precision(config.precision, device, speed.cpu_has_bfloat16())
    data_classes = data_access.class_names_of(config.data_path)
    spec_for_labels = prepare_spec(spec, spec.get("input_shape") or [28, 28, 1], max(len(data_classes), 2))
    label_mode = spec_for_labels[1]
    if config.seed is not None:
        keras.utils.set_random_seed(int(config.seed))
    loaded = data_access.load_for_training(
        config.data_path, batch_size=config.batch_size, validation_split=config.validation_split,
        seed=config.seed if config.seed is not None else 1337, label_mode=label_mode,
        image_size=inherited.get("image_size", config.image_size),
        color_mode=inherited.get("color_mode", config.color_mode))
    for warning in loaded.warnings:
        job.message(str(warning))
    class_names = list(loaded.class_names)
    spec, label_mode, notes = prepare_spec(spec, loaded.input_shape, len(class_names))
    for note in notes:
        job.message(note)
    job.learned_classes(class_names)

    train_data, val, test = loaded.train, loaded.val, loaded.test
    picture_facts = pictures.facts(pictures.first_images(train_data), loaded.preprocessing or {}, inherited)
    if picture_facts["contrast"] == imaging.STRETCH:
        train_data, val, test = (None if ds is None else pictures.stretch_each(ds) for ds in (train_data, val, test))
    if strategy.num_replicas_in_sync > 1 or distribute.is_multiworker(strategy):
        train_data, val, test = (distribute.shard_by_data(ds) for ds in (train_data, val, test))
        replicas, name = strategy.num_replicas_in_sync, distribute.strategy_name(strategy)
        job.message(t("train.job.replicas", replicas=replicas, strategy=name, batch_size=config.batch_size)
                    if replicas != 1 else t("train.job.one_replica", strategy=name, batch_size=config.batch_size))

    job.batches = _cardinality(train_data)
    steps_per_execution = config.steps_per_execution or auto_steps_per_execution(job.batches)
    with strategy.scope():
        model = build_model(spec, seed=config.seed, compile=False, precision=precision.policy)
        xla = xla_choice(model, spec)
        compile_model(model, spec, steps_per_execution=steps_per_execution, jit_compile=xla.on)
    job.model = model
    origin = {}
    if start:
        kept = finetune.load_weights(model, start, class_names)
        frozen = finetune.freeze_features(model) if config.freeze else 0
        job.message(t("finetune.started", name=start.name, kept=kept, classes=len(class_names)))
        if config.freeze:
            job.message(t("finetune.frozen", layers=frozen) if frozen else t("finetune.nothing_frozen"))
        origin = {"from_run": finetune.record(start, config.freeze, kept, len(class_names))}
    job.message(precision.sentence())
    job.message(xla.sentence())

    run_dir = _make_run_dir(config, job.name, distribute.is_chief(strategy))
    preprocessing = dict(loaded.preprocessing or {})
    preprocessing.setdefault("image_size", list(loaded.input_shape[:2]))
    preprocessing.setdefault("color_mode", "grayscale" if loaded.input_shape[2] == 1 else "rgb")
    preprocessing.update(picture_facts)
    job.open_run(run_dir, {
        "name": job.name,
        "id": run_dir.name,
        "created": runs.now_iso(),
        "finished": None,
        "status": status.RUNNING,
        "lang": config.lang,
        "dataset": {"name": Path(config.data_path).resolve().name, "path": str(Path(config.data_path).resolve())},
        "class_names": class_names,
        "input_shape": list(loaded.input_shape),
        "label_mode": label_mode,
        "preprocessing": preprocessing,
        "seed": config.seed,
        "config": _json_config(config),
        "versions": runs.versions(),
        "strategy": {"name": distribute.strategy_name(strategy), "replicas": int(strategy.num_replicas_in_sync)},
        "speed": {"device": device, "precision": precision.as_dict(), "xla": xla.as_dict()},
        **runs.process_tag(),
        **origin,
    })
    runs.write_json_atomic(run_dir / runs.SPEC, spec)
    runs.save_weights_atomic(model.get_weights(), run_dir / runs.FIRST_WEIGHTS)

    max_pixel = _max_pixel(train_data, tf)
    if max_pixel is not None:
        job.diagnose([diagnostics.check_inputs(spec, max_pixel)])

    def cut_short():
        return job.cut_short

    callback_list = [cbs.LiveMetrics(job)]  # records, stops on request and on a NaN loss
    early = None
    if config.early_stopping:
        early = keras.callbacks.EarlyStopping(**_monitor_defaults(config.early_stopping, val is not None))
        callback_list.append(cbs.FullEpochsOnly(early, cut_short))
    if config.reduce_lr:
        callback_list.append(cbs.FullEpochsOnly(
            keras.callbacks.ReduceLROnPlateau(**_monitor_defaults(config.reduce_lr, val is not None)), cut_short))
    checkpoint = None
    if config.checkpoint is not None:
        settings = _monitor_defaults(config.checkpoint, val is not None)
        checkpoint = cbs.AtomicCheckpoint(run_dir / runs.WEIGHTS, monitor=settings.get("monitor", "val_loss"),
                                          mode=settings.get("mode", "auto"),
                                          save_best_only=settings.get("save_best_only", True),
                                          on_save=job.on_checkpoint, on_message=job.message)
        callback_list.append(cbs.FullEpochsOnly(checkpoint, cut_short))
    job.checkpoint = checkpoint
    callback_list.extend(config.callbacks)
    callback_list.extend(extra_callbacks)

    if job.stop_requested:
        _finish(job, None, loaded, early, stopped=True)
        return
    job.message(t("train.job.training", classes=len(class_names), epochs=config.epochs))
    job.fit_begins()
    model.fit(train_data, validation_data=val, epochs=config.epochs, callbacks=callback_list, verbose=0,
              shuffle=False)
    _finish(job, test, loaded, early, stopped=job.stop_requested)


def _make_run_dir(config: TrainConfig, name: str | None, chief: bool) -> Path:
    if not chief:
        return Path(tempfile.mkdtemp(prefix="lab-worker-run-"))
    if config.run_dir:
        path = Path(config.run_dir)
        try:
            if path.exists() and (not path.is_dir() or any(path.iterdir())):
                raise LabError(t("train.job.out_taken", path=path))
            path.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise LabError(t("train.job.out_cannot_make", path=path,
                             reason=error.strerror or type(error).__name__)) from None
        return path
    return runs.new_run_dir(config.runs_root, name or "run")


def _finish(job: Job, test, loaded, early, stopped: bool) -> None:
    model, checkpoint, run_dir = job.model, job.checkpoint, job.run_dir
    nan = job.nan_at
    if nan is not None:
        job.diagnose([diagnostics.nan_loss(nan[0], nan[1], job.learning_rate or _spec_learning_rate(job.config))])
    kept = None
    if checkpoint is not None and checkpoint.best_weights is not None:
        job.save_final_model()
        model.set_weights(checkpoint.best_weights)
        kept = checkpoint.best_epoch
    elif nan is None and job.has_batches:
        runs.save_model_atomic(model, run_dir / runs.MODEL)
    if early is not None and getattr(early, "stopped_epoch", 0) > 0:
        job.message(t("train.job.early_stopped", monitor=early.monitor, epoch=early.stopped_epoch + 1))
    if kept is not None:
        job.message(t("train.job.kept_best", epoch=kept))

    final = status.STOPPED if stopped or nan is not None else status.FINISHED
    error = None
    if nan is not None and kept is None:
        final = status.FAILED
        error = job.diagnosis("nan_loss").message

    metrics = None
    if job.config.evaluate and final != status.FAILED and (run_dir / runs.MODEL).is_file():
        job.message(t("train.job.evaluating"))
        metrics = _evaluate(job, model, test, loaded)
        if metrics is not None:
            runs.write_json_atomic(run_dir / runs.METRICS, metrics)
    durations = job.end(final, metrics, error)
    job.write_meta(status=final, finished=runs.now_iso(), durations=durations, best=job.best, error=job.error,
                   epochs_done=durations["epochs_done"], **runs.final_score(metrics))


def _evaluate(job: Job, model, test, loaded):
    from lab.build import as_float32
    from lab.train import data_access
    from lab.train.evaluate import evaluate

    model = as_float32(model)  # scored as it will predict later, whatever precision it trained in
    config, class_names = job.config, job.class_names
    images = job.run_dir / runs.MISCLASSIFIED if job.run_dir is not None else None
    if test is not None:
        try:
            dataset, data_classes, _ = data_access.split_dataset(
                config.data_path, "Test", job.preprocessing(), batch_size=max(config.batch_size, 64))
            result = evaluate(model, dataset, data_classes, class_names, files=dataset.used, split="Test")
            if dataset.skipped:
                job.message(data_access.skipped_sentence(dataset.skipped))
            return result
        except LabError as error:
            job.message(t("train.job.evaluate_by_files_failed", error=error))
        return evaluate(model, test, class_names, class_names, split="Test", image_folder=images)
    if loaded.val is not None:
        job.message(t("train.job.scores_on_validation"))
        return evaluate(model, loaded.val, class_names, class_names, split="validation", image_folder=images)
    return None


def _cardinality(dataset) -> int | None:
    try:
        steps = int(dataset.cardinality())
    except Exception:  # a dataset of unknown length: fall back to counting as Keras reports
        return None
    return steps if steps > 0 else None


def _json_config(config: TrainConfig) -> dict:
    out = config.summary()
    out["data_path"] = str(out["data_path"])
    if isinstance(config.spec, str):
        out["spec_source"] = config.spec
    return out


def _spec_learning_rate(config: TrainConfig):
    spec = config.spec if isinstance(config.spec, dict) else {}
    optimizer = (spec.get("compile") or {}).get("optimizer") or {}
    return optimizer.get("learning_rate") if isinstance(optimizer, dict) else None


def _monitor_defaults(settings: dict, has_val: bool) -> dict:
    settings = dict(settings)
    monitor = settings.get("monitor", "val_loss")
    if not has_val and monitor.startswith("val_"):
        settings["monitor"] = monitor[4:]
    settings.setdefault("monitor", "val_loss" if has_val else "loss")
    return settings


def _max_pixel(dataset, tf):
    try:
        for images, _ in dataset.take(1):
            return float(tf.reduce_max(images))
    except Exception:
        return None
    return None
