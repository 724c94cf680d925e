"""Accuracy per second: ``recommended`` and the notes' two models on the same data, epochs and wall time to 95 %.

The same data for all three: Sign Language MNIST (7,172 PNGs, 24 classes) through ``lab.data.load``, an 80/20
split with seed 1337, batch size 32. Each model trains with plain ``model.fit`` (no callbacks but a clock that
stops the run once validation accuracy reaches 95 %, or after ``--max-epochs``). Wall time counts from the start
of ``fit`` (the first epoch's tracing included) to the end of the epoch that reached 95 %.

Each round trains all three with another seed (1337, 1338, ...); the figures are medians with min-max.

    .venv/bin/python bench/perf_accuracy.py             # 5 rounds, up to 8 epochs per model (about 6-8 minutes)
    .venv/bin/python bench/perf_accuracy.py --quick     # 1 round, up to 3 epochs per model
"""

from __future__ import annotations

import argparse
import time

from _perf_common import machine, need_sign_mnist, spread

GOAL = 0.95
MODELS = ("recommended", "seed-improved", "seed-first")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--max-epochs", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args()
    max_epochs = args.max_epochs or (3 if args.quick else 8)
    rounds = args.rounds or (1 if args.quick else 5)
    root = need_sign_mnist()

    import keras

    from lab import presets
    from lab.build import build_model
    from lab.data import load

    print(f"machine: {machine()}")
    loaded = load(str(root), batch_size=32, validation_split=0.2, seed=1337, label_mode="int")
    print(f"data: {loaded.counts}, {len(loaded.class_names)} classes")

    class Clock(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.began = time.perf_counter()
            self.rows = []

        def on_epoch_end(self, epoch, logs=None):
            acc = float(logs.get("val_accuracy", 0.0))
            self.rows.append((epoch + 1, time.perf_counter() - self.began, acc, float(logs.get("loss", 0.0))))
            if acc >= GOAL:
                self.model.stop_training = True

    results = {name: [] for name in MODELS}
    for r in range(rounds):
        for name in MODELS:
            spec = presets.load(name)
            seed = 1337 + r
            keras.utils.set_random_seed(seed)
            model = build_model(spec, seed=seed)
            clock = Clock()
            model.fit(loaded.train, validation_data=loaded.val, epochs=max_epochs, verbose=0, callbacks=[clock])
            reached = next((row for row in clock.rows if row[2] >= GOAL), None)
            best = max(row[2] for row in clock.rows)
            per_epoch = clock.rows[-1][1] / len(clock.rows)
            results[name].append({"reached": reached, "best": best, "last": clock.rows[-1]})
            trail = ", ".join(f"{acc:.3f}" for _, _, acc, _ in clock.rows)
            if reached:
                print(f"round {r + 1}/{rounds} {name:14s} 95 % after {reached[0]} epoch(s), {reached[1]:.1f}s  (val "
                      f"accuracy by epoch: {trail}; {model.count_params():,} params, {per_epoch:.1f}s per epoch)",
                      flush=True)
            else:
                print(f"round {r + 1}/{rounds} {name:14s} not 95 % in {max_epochs} epochs ({clock.rows[-1][1]:.1f}s); "
                      f"best {best:.3f}; last loss {clock.rows[-1][3]:.3f}  (val accuracy by epoch: {trail})",
                      flush=True)

    parts = []
    for name in MODELS:
        rows = results[name]
        reached = [row["reached"] for row in rows if row["reached"]]
        if len(reached) == len(rows):
            parts.append(f"{name} epochs {spread([row[0] for row in reached], '', 0)}, seconds "
                         f"{spread([row[1] for row in reached], '', 1)}")
        else:
            parts.append(f"{name} reached it in {len(reached)} of {len(rows)} rounds within {max_epochs} epochs, best "
                         f"val accuracy {spread([row['best'] for row in rows], '', 3)}")
    print(f"SUMMARY accuracy per second (to {GOAL:.0%} val accuracy): " + "; ".join(parts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
