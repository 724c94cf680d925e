"""What training in a worker process costs: the lab's job in a worker process against plain ``model.fit`` here.

Same data (the built-in digits, Data/sketch-digits, loaded by ``lab.train.data_access`` as the job loads it), same
network (the ``recommended`` preset), batch size, seed and steps per execution. Interleaved, ``--rounds`` times:

- plain:  ``model.fit`` in this process, TensorFlow's own thread count, no callbacks but a timer (Keras's
          session cleared before each round, as the worker clears it after each job);
- worker: the lab's job (live metrics, checkpoints, logs) submitted to a ``JobManager`` whose worker process
          also uses TensorFlow's own thread count at this process's priority: the isolation alone;
- worker, default: the same with the lab's default worker settings (threads: the cores less one on small
          machines; nice 5), which leave room for the page.

Epoch time is the median over rounds of each run's epochs after the first (epoch begin to epoch end, validation
included, as the job's history.csv records it). Start-up (a worker loading TensorFlow) is printed apart.

    .venv/bin/python bench/perf_worker_overhead.py            # 5 rounds of 3 epochs (about 10-15 minutes here)
    .venv/bin/python bench/perf_worker_overhead.py --quick    # 2 rounds of 2 epochs
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _perf_common import REPO, machine, median, verdict

TARGET = 1.05


def plain_epochs(data: Path, epochs: int, batch_size: int) -> list[float]:
    import gc

    import keras

    from lab import presets
    from lab.build import build_model
    from lab.train import data_access
    from lab.train.labels import prepare_spec
    from lab.train.pipeline import auto_steps_per_execution

    keras.backend.clear_session()  # what the worker does between jobs: no earlier round's graphs or pipelines
    gc.collect()
    keras.utils.set_random_seed(1337)
    loaded = data_access.load_for_training(str(data), batch_size=batch_size, validation_split=0.2, seed=1337,
                                           label_mode="int")
    spec, _, _ = prepare_spec(presets.load("recommended"), loaded.input_shape, len(loaded.class_names))
    steps = auto_steps_per_execution(int(loaded.train.cardinality()))
    model = build_model(spec, seed=1337, steps_per_execution=steps)
    seconds = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.began = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds.append(time.perf_counter() - self.began)

    model.fit(loaded.train, validation_data=loaded.val, epochs=epochs, callbacks=[Timer()], verbose=0, shuffle=False)
    return seconds[1:]


def worker_epochs(manager, data: Path, epochs: int, batch_size: int, runs_root: Path) -> list[float]:
    from lab.train.config import TrainConfig

    job = manager.submit(TrainConfig(str(data), "recommended", epochs=epochs, batch_size=batch_size, seed=1337,
                                     early_stopping=None, evaluate=False, runs_root=str(runs_root)))
    assert job.wait(3600)
    snap = job.snapshot()
    assert snap.status == "finished", snap.messages
    return [row["seconds"] for row in snap.history[1:]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--data", type=Path, default=REPO / "Data" / "sketch-digits")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.epochs = 2, 2
    if not args.data.is_dir():
        print(f"No dataset at {args.data}: run .venv/bin/python -m lab make-sample-data first.")
        return 2
    from lab.train import pool
    from lab.train.manager import JobManager
    from lab.train.worker import WorkerSettings

    print(f"machine: {machine()}")
    managers = {"worker": JobManager(workers=1, settings=WorkerSettings(threads=None, niceness=0)),
                "worker, default": JobManager(workers=1, settings=pool.worker_settings(1))}
    print(f"default worker settings here: {pool.worker_settings(1)}")
    for name, manager in managers.items():
        began = time.perf_counter()
        assert manager.prewarm(timeout=600)
        print(f"{name}: worker process ready (TensorFlow loaded) in {time.perf_counter() - began:.1f} s")
    per_round: dict[str, list[float]] = {"plain": [], **{name: [] for name in managers}}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            for way in per_round:
                if way == "plain":
                    seconds = plain_epochs(args.data, args.epochs, args.batch_size)
                else:
                    seconds = worker_epochs(managers[way], args.data, args.epochs, args.batch_size, Path(tmp))
                per_round[way].append(median(seconds))
                print(f"round {round_ + 1} {way:16s} epochs {', '.join(f'{s:.2f}' for s in seconds)} s  ({machine()})",
                      flush=True)
    for manager in managers.values():
        manager.shutdown()
    plain = median(per_round["plain"])
    for way, values in per_round.items():
        print(f"{way:16s} epoch median {median(values):.2f} s (min {min(values):.2f}-max {max(values):.2f}), "
              f"ratio to plain {median(values) / plain:.3f}")
    ratio = median(per_round["worker"]) / plain
    default = median(per_round["worker, default"]) / plain
    print(f"SUMMARY worker overhead: job in a worker process / plain model.fit, epoch time {ratio:.3f} "
          f"(target <= {TARGET:g}); with the default worker settings {default:.3f} {verdict(ratio <= TARGET)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
