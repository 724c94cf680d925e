"""Accuracy per second: ``recommended`` and the notes' two models on the same data, epochs and wall time to 95 %.

The same data for all three: Sign Language MNIST (7,172 PNGs, 24 classes) through ``lab.data.load``, an 80/20
split with seed 1337, batch size 32. Each model trains with plain ``model.fit`` (no callbacks but a clock that
stops the run once validation accuracy reaches 95 %, or after ``--max-epochs``). Wall time counts from the start
of ``fit`` (the first epoch's tracing included) to the end of the epoch that reached 95 %.

    .venv/bin/python bench/perf_accuracy.py             # up to 8 epochs per model (about 2-3 minutes)
    .venv/bin/python bench/perf_accuracy.py --quick     # up to 3 epochs per model
"""

from __future__ import annotations

import argparse
import time

from _perf_common import machine, need_sign_mnist

GOAL = 0.95
MODELS = ("recommended", "seed-improved", "seed-first")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--max-epochs", type=int, default=None)
    args = parser.parse_args()
    max_epochs = args.max_epochs or (3 if args.quick else 8)
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

    results = {}
    for name in MODELS:
        spec = presets.load(name)
        keras.utils.set_random_seed(1337)
        model = build_model(spec, seed=1337)
        clock = Clock()
        model.fit(loaded.train, validation_data=loaded.val, epochs=max_epochs, verbose=0, callbacks=[clock])
        reached = next((row for row in clock.rows if row[2] >= GOAL), None)
        best = max(row[2] for row in clock.rows)
        per_epoch = clock.rows[-1][1] / len(clock.rows)
        results[name] = (reached, best, per_epoch, clock.rows[-1])
        trail = ", ".join(f"{acc:.3f}" for _, _, acc, _ in clock.rows)
        if reached:
            print(f"{name:14s} 95 % after {reached[0]} epoch(s), {reached[1]:.1f}s  (val accuracy by epoch: {trail}; "
                  f"{model.count_params():,} params, {per_epoch:.1f}s per epoch)", flush=True)
        else:
            print(f"{name:14s} not 95 % in {max_epochs} epochs ({clock.rows[-1][1]:.1f}s); best {best:.3f}; "
                  f"last loss {clock.rows[-1][3]:.3f}  (val accuracy by epoch: {trail})", flush=True)

    parts = []
    for name in MODELS:
        reached, best, _, last = results[name]
        parts.append(f"{name} {reached[0]} ep/{reached[1]:.0f}s" if reached else
                     f"{name} not in {last[0]} ep (best {best:.2f})")
    print(f"SUMMARY accuracy per second (to {GOAL:.0%} val accuracy): " + "; ".join(parts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
