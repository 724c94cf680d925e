"""Input pipeline: the lab's loader against the notes' plain ``image_dataset_from_directory`` pipeline.

Real data (Sign Language MNIST, 7,172 PNGs of 28x28, 24 classes), the same model (the ``recommended`` preset),
batch size 32, an 80/20 split with the same seed, ``model.fit`` with no callbacks. The notes' pipeline is
``keras.utils.image_dataset_from_directory(..., validation_split=0.2, subset="both")`` as it comes: no cache,
no prefetch, so every epoch decodes every PNG again, and one batch per call in float32. The lab's is
``lab.data.load`` (decoded once, kept in memory when it fits, shuffled and batched from there, prefetched) with the
model trained as the lab's job trains it: several batches per call and the precision the job picks on this machine
(``lab.speed``: mixed_bfloat16 on a CPU with bfloat16 instructions, else float32).

Epoch time is taken from the second epoch on (the first one traces the model and, for the lab, nothing else:
the decoding happens in ``load``, whose one-time cost is printed separately). The two pipelines alternate,
in one process, several rounds; each round gives a ratio (the lab's median epoch over the notes' in that round)
and the figure is the median of those ratios with their min-max.

Where an epoch goes (full runs): every round also trains the lab's model on its in-memory data with one batch
per call, with the whole epoch in one call (no per-batch dispatch at all) and, where the job picks another
precision, in float32, each against the notes' epoch of the same round; then each pipeline is read alone (no
model), and the model runs alone on one batch held in memory.

    .venv/bin/python bench/perf_input_pipeline.py           # 5 rounds of 5 kinds x 3 epochs (about 5 minutes)
    .venv/bin/python bench/perf_input_pipeline.py --quick   # 2 rounds of the two pipelines x 2 epochs
"""

from __future__ import annotations

import argparse
import contextlib
import io
import time

from _perf_common import fmt_times, machine, median, need_sign_mnist, spread, verdict

TARGET = 0.7


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=None)
    args = parser.parse_args()
    rounds = args.rounds or (2 if args.quick else 5)
    epochs = args.epochs or (2 if args.quick else 3)
    root = need_sign_mnist()

    import keras

    from lab import presets, speed
    from lab.build import build_model, device_kind
    from lab.data import load
    from lab.train.job import auto_steps_per_execution

    print(f"machine: {machine()}")
    spec = presets.load("recommended")

    def notes_pipeline():
        with contextlib.redirect_stdout(io.StringIO()):
            return keras.utils.image_dataset_from_directory(
                str(root / "Test"), validation_split=0.2, subset="both", seed=1337, image_size=(28, 28),
                color_mode="grayscale", batch_size=32)

    def lab_pipeline():
        loaded = load(str(root), batch_size=32, validation_split=0.2, seed=1337, label_mode="int")
        return loaded.train, loaded.val

    class Timer(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.marks = [time.perf_counter()]

        def on_epoch_end(self, epoch, logs=None):
            self.marks.append(time.perf_counter())

    def run(make, kind, steps=None, precision="float32", epochs=epochs):
        began = time.perf_counter()
        train, val = make()
        setup = time.perf_counter() - began
        keras.utils.set_random_seed(1337)
        # The lab trains as its job does (several steps per execution on long epochs); the notes as they were.
        if steps is None:
            steps = auto_steps_per_execution(int(train.cardinality())) if kind == "lab" else 1
        model = build_model(spec, seed=1337, steps_per_execution=steps, precision=precision)
        timer = Timer()
        model.fit(train, validation_data=val, epochs=epochs, verbose=0, callbacks=[timer])
        epoch_times = [b - a for a, b in zip(timer.marks, timer.marks[1:])]
        return setup, epoch_times

    # Besides the two pipelines, where the lab's epoch goes: its model on its in-memory data with one batch per
    # call, with the whole epoch in one call (no per-batch dispatch at all), and in float32. Each round runs every
    # kind (in a rotating order), so each compares with the notes' epoch of the same moment.
    n_batches = int(lab_pipeline()[0].cardinality())
    job_precision = speed.choose_precision(speed.AUTO, device_kind(), speed.cpu_has_bfloat16()).policy
    print(f"the job trains here in {job_precision}, {auto_steps_per_execution(n_batches)} batches per call")
    kinds = {"notes": (notes_pipeline, {}), "lab": (lab_pipeline, {"precision": job_precision}),
             "lab, one batch per call": (lab_pipeline, {"precision": job_precision, "steps": 1}),
             f"lab, the whole epoch ({n_batches} batches) in one call": (lab_pipeline, {"precision": job_precision,
                                                                                       "steps": n_batches})}
    if job_precision != "float32":
        kinds["lab, float32"] = (lab_pipeline, {"precision": "float32"})
    if args.quick:
        kinds = {name: kinds[name] for name in ("notes", "lab")}
    setups = {k: [] for k in kinds}
    steady = {k: [] for k in kinds}
    firsts = {k: [] for k in kinds}
    ratios = {k: [] for k in kinds}  # each round's median epoch over the notes' in the same round
    round_epochs = {k: [] for k in kinds}
    names = list(kinds)
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        this_round = {}
        for kind in order:
            make, options = kinds[kind]
            setup, epoch_times = run(make, "notes" if kind == "notes" else "lab", **options)
            setups[kind].append(setup)
            firsts[kind].append(epoch_times[0])
            steady[kind].extend(epoch_times[1:])
            this_round[kind] = median(epoch_times[1:])
        for kind in kinds:
            ratios[kind].append(this_round[kind] / this_round["notes"])
            round_epochs[kind].append(this_round[kind])
        print(f"round {r + 1}/{rounds}: " + "  ".join(f"{k} {this_round[k]:.2f}s" for k in kinds), flush=True)
    for kind in ("notes", "lab"):
        print(f"{kind:5s} setup {fmt_times(setups[kind])}; first epoch {fmt_times(firsts[kind])}; "
              f"epochs 2+ {fmt_times(steady[kind])}")
    for kind in kinds:
        if kind != "notes":
            print(f"{kind}: epoch {spread(round_epochs[kind])}, over the notes' {spread(ratios[kind], '', 3)}")
    # Reading each pipeline alone (no model), and the model alone (one batch held in memory, one batch per call).
    import tensorflow as tf

    def read_all(make, n=3):
        out = []
        for _ in range(n):
            train, val = make()
            began = time.perf_counter()
            batches = 0
            for ds in (train, val):
                for _ in ds:
                    batches += 1
            out.append(time.perf_counter() - began)
        return median(out), batches

    notes_read, batches = read_all(notes_pipeline)
    lab_read, _ = read_all(lab_pipeline)
    train, val = lab_pipeline()
    x, y = next(iter(train))
    n_train, n_val = int(train.cardinality()), int(val.cardinality())
    fixed_train = tf.data.Dataset.from_tensors((x, y)).repeat(n_train)
    fixed_val = tf.data.Dataset.from_tensors((x, y)).repeat(n_val)
    model_only = []
    for _ in range(2):
        keras.utils.set_random_seed(1337)
        model = build_model(spec, seed=1337)
        timer = Timer()
        model.fit(fixed_train, validation_data=fixed_val, epochs=3, verbose=0, callbacks=[timer])
        model_only.extend(b - a for a, b in zip(timer.marks[1:], timer.marks[2:]))
    notes_epoch = median(steady["notes"])
    print(f"one epoch's {batches} batches read with no model: notes {notes_read:.2f}s, lab {lab_read:.2f}s; "
          f"the model alone (float32) on a batch held in memory, one batch per call: "
          f"{median(model_only):.2f}s an epoch ({median(model_only) / notes_epoch:.3f} of the notes' median epoch)")
    best_kind = min((k for k in kinds if k != "notes"), key=lambda k: median(ratios[k]))
    best = median(ratios[best_kind])
    first_plus_setup = (median(setups["lab"]) + median(firsts["lab"])) / (
        median(setups["notes"]) + median(firsts["notes"]))
    print(f"setup + first epoch ratio (lab/notes): {first_plus_setup:.3f}")
    ratio = median(ratios["lab"])
    print(f"SUMMARY input pipeline: lab/notes epoch-time ratio {spread(ratios['lab'], '', 3)} (epochs 2+, median "
          f"{median(steady['lab']):.2f}s vs {notes_epoch:.2f}s; fastest kind here: {best_kind}, {best:.3f}; "
          f"target <= {TARGET}) {verdict(ratio <= TARGET)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
