"""Live-metrics overhead: the lab's training job against plain ``model.fit`` with no callbacks.

Same model (the ``recommended`` preset), same pre-built tf.data datasets (lab.data.load on the Sign Language
MNIST images), same batch size and epochs, same seed. The three ways of training are interleaved, in one
process, several times, and the ratio of the medians is printed:

- plain: ``model.fit(train, validation_data=val, epochs=E, verbose=0)``, no callbacks;
- live:  the same with only the live chart's callback (``lab.train.callbacks.LiveMetrics`` feeding a Job);
- job:   ``lab.train.job.Job.run()``: LiveMetrics, TerminateOnNaN, EarlyStopping, the atomic checkpoint
         (the best weights as an .npz on every improved epoch; model.keras once, when training ends), the
         per-epoch history.csv rewrite and the append of the epoch's rows to batches.csv.

The timed span is from Keras's ``on_train_begin`` to ``on_train_end`` (a timing callback with no batch hooks,
so it changes nothing in plain fit); loading the data, building the model, the run folder's first files and
the final evaluation are one-time setup and are not in it. Epoch time is taken from the second epoch on.

    .venv/bin/python bench/perf_live_metrics.py            # 5 rounds, 3 epochs each (about 3-4 minutes)
    .venv/bin/python bench/perf_live_metrics.py --quick    # 2 rounds, 2 epochs, a quarter of the images
"""

from __future__ import annotations

import argparse
import tempfile
import time

from _perf_common import fmt_times, machine, median, need_sign_mnist, spread, verdict

TARGET = 1.03


def job_costs(jobs, cbs, spec, loaded, steps, epochs) -> dict:
    """Per-batch and per-epoch costs of the job's callbacks, each timed on its own with a real model."""
    import tempfile
    from pathlib import Path

    import keras
    import numpy as np
    from keras.src.callbacks.callback_list import CallbackList

    from lab.build import build_model
    from lab.train import diagnostics, runs

    model = build_model(spec, seed=1)
    model.fit(loaded.train.take(2), epochs=1, verbose=0)
    x, y = next(iter(loaded.train))
    tensor_logs = model.train_on_batch(x, y, return_dict=True)
    tensor_logs = {k: keras.ops.convert_to_tensor(np.float32(v)) for k, v in tensor_logs.items()}

    def per_call(callbacks, n=3000):
        sink = jobs.Job(jobs.TrainConfig(".", spec, epochs=epochs))
        sink.model = model
        cl = CallbackList([cb(sink) for cb in callbacks], add_history=True, model=model)
        cl.set_params({"epochs": epochs, "steps": steps, "verbose": 0})
        cl._async_train = False  # the work itself, in this thread (async dispatch only moves it to another one)
        cl.on_train_begin()
        began = time.perf_counter()
        for i in range(n):
            cl.on_train_batch_begin(i % steps)
            cl.on_train_batch_end(i % steps, tensor_logs)
        cl.on_train_end()
        return (time.perf_counter() - began) / n

    sync = median([per_call([cbs.LiveMetrics]) for _ in range(3)])
    plain = median([per_call([]) for _ in range(3)])

    def ms(fn, n=5):
        out = []
        for _ in range(n):
            began = time.perf_counter()
            fn()
            out.append(time.perf_counter() - began)
        return median(out) * 1000

    history = [{"epoch": e + 1, "loss": 0.5, "accuracy": 0.9, "val_loss": 0.4, "val_accuracy": 0.9,
                "learning_rate": 0.001, "seconds": 2.0} for e in range(epochs)]
    epoch_rows = [{"epoch": 1, "batch": b + 1, "loss": 0.5, "accuracy": 0.9} for b in range(steps)]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        weights = model.get_weights()
        batches = runs.CsvAppender(tmp / "b.csv", ["epoch", "batch", "loss", "accuracy"])
        epoch_ms = {
            "checkpoint save (weights)": ms(lambda: runs.save_weights_atomic(weights, tmp / runs.WEIGHTS)),
            "best weights copy": ms(model.get_weights),
            "history CSV + batches append": ms(lambda: (runs.write_csv_atomic(tmp / "h.csv", history),
                                                        batches.append(epoch_rows))),
            "diagnostics": ms(lambda: diagnostics.check_epoch(history, 24, learning_rate=0.001)),
        }
        once_ms = {"final model.keras": ms(lambda: runs.save_model_atomic(model, tmp / runs.MODEL), n=3)}
    return {"sync_us": sync * 1e6, "async_us": plain * 1e6, "per_batch_s": max(sync - plain, 0.0),
            "per_epoch_s": sum(epoch_ms.values()) / 1000, "epoch_ms": epoch_ms,
            "once_ms": once_ms}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and epochs, a quarter of the images")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    rounds = args.rounds or (2 if args.quick else 5)
    epochs = args.epochs or (2 if args.quick else 3)
    data_root = need_sign_mnist()

    import keras

    from lab import presets
    from lab.build import build_model
    from lab.data import load
    from lab.train import callbacks as cbs
    from lab.train import data_access
    from lab.train import job as jobs

    print(f"machine: {machine()}")
    loaded = load(str(data_root), batch_size=args.batch_size, validation_split=0.2, seed=1337, label_mode="int")
    if args.quick:
        loaded.train = loaded.train.take(max(1, int(loaded.train.cardinality()) // 4))
        loaded.val = loaded.val.take(max(1, int(loaded.val.cardinality()) // 4))
    steps = int(loaded.train.cardinality())
    print(f"data: {loaded.counts} images, {steps} training batches of {args.batch_size}, pipeline {loaded.pipeline}, "
          f"cached {loaded.cached}")
    spec = presets.load("recommended")

    # The job loads its data through data_access; hand it the very datasets plain fit uses.
    data_access.load_for_training = lambda *a, **k: loaded

    class Timer(keras.callbacks.Callback):
        """on_train_begin .. on_train_end and each epoch end; no batch hooks, so Keras keeps its fast path."""

        def on_train_begin(self, logs=None):
            self.marks = [time.perf_counter()]
            self.cpu = [time.process_time()]

        def on_epoch_end(self, epoch, logs=None):
            self.marks.append(time.perf_counter())
            self.cpu.append(time.process_time())

        def on_train_end(self, logs=None):
            self.end = time.perf_counter()

        def result(self):
            epoch_times = [b - a for a, b in zip(self.marks, self.marks[1:])]
            cpu_times = [b - a for a, b in zip(self.cpu, self.cpu[1:])]
            return self.end - self.marks[0], epoch_times, cpu_times

    # Plain fit runs as many steps per execution as the job picks, so that only the job's own work differs.
    per_execution = jobs.auto_steps_per_execution(steps)

    def fit_plain():
        keras.utils.set_random_seed(1337)
        model = build_model(spec, seed=1337, steps_per_execution=per_execution)
        timer = Timer()
        model.fit(loaded.train, validation_data=loaded.val, epochs=epochs, verbose=0, callbacks=[timer])
        return timer.result()

    def fit_live():
        keras.utils.set_random_seed(1337)
        model = build_model(spec, seed=1337, steps_per_execution=per_execution)
        sink = jobs.Job(jobs.TrainConfig(str(data_root), spec, epochs=epochs))
        sink.model = model
        sink.batches = steps
        timer = Timer()
        model.fit(loaded.train, validation_data=loaded.val, epochs=epochs, verbose=0,
                  callbacks=[cbs.LiveMetrics(sink), timer])
        return timer.result()

    def fit_job():
        timer = Timer()
        with tempfile.TemporaryDirectory() as runs_root:
            config = jobs.TrainConfig(str(data_root), spec, epochs=epochs, batch_size=args.batch_size, seed=1337,
                                      runs_root=runs_root, evaluate=False, callbacks=[timer],
                                      precision="float32",  # as plain model.fit computes
                                      early_stopping={"monitor": "val_loss", "patience": epochs + 1,
                                                      "restore_best_weights": True})
            job = jobs.Job(config)
            snap = job.run()
            if snap.status != "finished":
                raise SystemExit(f"the job did not finish: {snap.status} {snap.error}")
        return timer.result()

    kinds = {"plain": fit_plain, "live": fit_live, "job": fit_job}
    fit_plain()  # warm-up: first-use costs of TensorFlow and Keras land here, in none of the timed runs
    totals = {k: [] for k in kinds}
    steady = {k: [] for k in kinds}
    cpu = {k: [] for k in kinds}
    per_round = {k: [] for k in ("live", "job")}  # each round's median epoch over plain fit's, same round
    for r in range(rounds):
        order = list(kinds) if r % 2 == 0 else list(reversed(kinds))
        this_round = {}
        for kind in order:
            total, epoch_times, cpu_times = kinds[kind]()
            totals[kind].append(total)
            steady[kind].extend(epoch_times[1:] or [total])
            cpu[kind].extend(cpu_times[1:] or cpu_times)
            this_round[kind] = median(epoch_times[1:] or [total])
        for kind in per_round:
            per_round[kind].append(this_round[kind] / this_round["plain"])
        print(f"round {r + 1}/{rounds}: " + "  ".join(f"{k} {totals[k][-1]:.2f}s" for k in kinds), flush=True)

    for kind in kinds:
        print(f"{kind:5s} fit total: {fmt_times(totals[kind])}\n      epochs 2+ wall: {fmt_times(steady[kind])}"
              f"\n      epochs 2+ CPU:  {fmt_times(cpu[kind])}")
    ratios = {}
    for kind in ("live", "job"):
        ratios[kind] = median(steady[kind]) / median(steady["plain"])
        total_ratio = median(totals[kind]) / median(totals["plain"])
        cpu_ratio = median(cpu[kind]) / median(cpu["plain"])
        print(f"{kind} / plain: epoch wall ratio {ratios[kind]:.3f}, epoch CPU-time ratio {cpu_ratio:.3f}, "
              f"fit-total ratio {total_ratio:.3f}")

    # The same overhead from its parts, timed alone (far less noisy than whole epochs on a shared machine).
    parts = job_costs(jobs, cbs, spec, loaded, steps, epochs)
    epoch_seconds = median(steady["plain"])
    per_epoch_extra = parts["per_batch_s"] * steps + parts["per_epoch_s"]
    print(f"per batch: Keras's callback work with LiveMetrics {parts['sync_us']:.1f} us vs without it "
          f"{parts['async_us']:.1f} us; per epoch: "
          + ", ".join(f"{k} {v:.1f} ms" for k, v in parts["epoch_ms"].items())
          + "; once per run: " + ", ".join(f"{k} {v:.1f} ms" for k, v in parts["once_ms"].items()))
    estimate = 1 + per_epoch_extra / epoch_seconds
    print(f"estimated job/plain from the parts: {estimate:.3f} (extra {per_epoch_extra * 1000:.0f} ms on a "
          f"{epoch_seconds:.2f} s epoch of {steps} batches)")

    job_ratio = median(per_round["job"])
    ok = job_ratio <= TARGET and estimate <= TARGET  # whole epochs are noisy here: both must hold
    print(f"SUMMARY live-metrics overhead: job/plain epoch ratio {spread(per_round['job'], '', 3)} (live callback "
          f"only {spread(per_round['live'], '', 3)}; ratio of all epochs' medians {ratios['job']:.3f}; from the parts "
          f"{estimate:.3f}; target <= {TARGET}) {verdict(ok)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
