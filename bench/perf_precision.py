"""Mixed precision against float32: epoch time and final test accuracy, on Sign Language MNIST and the generated
digits, several seeds.

For each dataset and seed, the same network (same seed, same initial weights, same batch order) trains a few epochs
in float32 and in mixed_bfloat16, built as the lab builds it (``lab.build.build_model(precision=...)``, XLA and
steps per execution as a run chooses them); which policy goes first alternates from seed to seed. An epoch's time
counts from the second epoch on (the first traces the graph). Test accuracy is scored as a run is scored: by the
float32 twin of the trained model (``lab.build.as_float32``), as the Predict page and ``lab predict`` use it.

It prints, per dataset, the epoch time and the CPU time of the process each way as median (min-max) over the seeds,
the ratios of the medians, the test accuracy of each seed each way and the mean difference in points; then whether
"auto" should pick mixed_bfloat16 on this CPU (faster: a lower median epoch time and at least 5 % less CPU time;
and within 0.5 points of float32; on both datasets) against what ``lab.speed.AUTO_BFLOAT16_ON_CPU`` says.

    .venv/bin/python bench/perf_precision.py            # recommended, 5 seeds x 6 epochs, both datasets
    .venv/bin/python bench/perf_precision.py --quick    # 3 seeds x 2 epochs, fewer digits (while developing)
    .venv/bin/python bench/perf_precision.py --spec seed-improved --epochs 8
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from _perf_common import machine
from _speed_common import batches, digits, for_classes, sign_mnist, spread

FLOAT32, MIXED = "float32", "mixed_bfloat16"
PARITY_POINTS = 0.5
# Faster means a lower median epoch time, and less CPU time by more than the noise of a shared machine: with other
# work on the 2 cores, the wall time swings by half, the CPU time of the process by a few percent.
FASTER_RATIO = 0.95


def train_once(spec, data, policy: str, seed: int, epochs: int) -> dict:
    import keras

    from lab.build import as_float32, build_model
    from lab.train.pipeline import auto_steps_per_execution

    x_train, y_train, x_test, y_test = data
    train = batches(x_train, y_train, shuffle_seed=seed)
    keras.utils.set_random_seed(seed)
    model = build_model(spec, seed=seed, precision=policy,
                        steps_per_execution=auto_steps_per_execution(-(-len(y_train) // 32)))
    seconds, cpu_seconds = [], []

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.began, self.began_cpu = time.perf_counter(), time.process_time()

        def on_epoch_end(self, epoch, logs=None):
            seconds.append(time.perf_counter() - self.began)
            cpu_seconds.append(time.process_time() - self.began_cpu)

    model.fit(train, epochs=epochs, verbose=0, callbacks=[Clock()])
    scored = as_float32(model)
    scored.compile(loss=spec["compile"]["loss"], metrics=["accuracy"])
    _, accuracy = scored.evaluate(batches(x_test, y_test, batch_size=256), verbose=0)
    return {"epoch_s": statistics.median(seconds[1:] or seconds),
            "epoch_cpu_s": statistics.median(cpu_seconds[1:] or cpu_seconds), "accuracy": float(accuracy)}


def compare(name: str, spec, data, seeds, epochs: int) -> dict:
    rows = {FLOAT32: [], MIXED: []}
    for index, seed in enumerate(seeds):
        order = (FLOAT32, MIXED) if index % 2 == 0 else (MIXED, FLOAT32)
        for policy in order:
            rows[policy].append(train_once(spec, data, policy, seed, epochs))
        print(f"  {name} seed {seed}: " + ", ".join(
            f"{policy} {rows[policy][-1]['epoch_s']:.3f} s/epoch, test {rows[policy][-1]['accuracy']:.2%}"
            for policy in (FLOAT32, MIXED)), flush=True)
    times = {policy: [row["epoch_s"] for row in rows[policy]] for policy in rows}
    accuracy = {policy: [row["accuracy"] for row in rows[policy]] for policy in rows}
    ratio = statistics.median(times[MIXED]) / statistics.median(times[FLOAT32])
    cpu = {policy: [row["epoch_cpu_s"] for row in rows[policy]] for policy in rows}
    cpu_ratio = statistics.median(cpu[MIXED]) / statistics.median(cpu[FLOAT32])
    paired = [100 * (b - f) for b, f in zip(accuracy[MIXED], accuracy[FLOAT32])]
    mean_points = statistics.mean(paired)
    print(f"{name}: epoch time float32 {spread(times[FLOAT32])}, mixed_bfloat16 {spread(times[MIXED])}; "
          f"ratio of medians {ratio:.3f} (CPU time of this process: {spread(cpu[FLOAT32])} against "
          f"{spread(cpu[MIXED])}, ratio {cpu_ratio:.3f})")
    print(f"{name}: test accuracy float32 {spread(accuracy[FLOAT32], '%', 2, 100)}, mixed_bfloat16 "
          f"{spread(accuracy[MIXED], '%', 2, 100)}; mixed - float32 {mean_points:+.2f} points on average "
          f"(per seed {min(paired):+.2f} to {max(paired):+.2f})", flush=True)
    return {"ratio": ratio, "cpu_ratio": cpu_ratio, "points": mean_points, "times": times, "accuracy": accuracy}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--spec", default="recommended")
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=None)
    args = parser.parse_args()
    seeds = list(range(1, 1 + (args.seeds or (3 if args.quick else 5))))
    epochs = args.epochs or (2 if args.quick else 6)

    from lab import presets, speed

    print(f"machine: {machine()}; bfloat16 instructions: {speed.cpu_has_bfloat16()}")
    if not speed.cpu_has_bfloat16():
        print("This CPU has no bfloat16 instructions: mixed_bfloat16 is refused here, nothing to compare.")
        return 2
    datasets = {
        "Sign Language MNIST": sign_mnist(),
        "generated digits": digits(200 if args.quick else 500, 60 if args.quick else 150),
    }
    results = {}
    for name, (x_train, y_train, x_test, y_test, classes) in datasets.items():
        print(f"{name}: {len(y_train)} training and {len(y_test)} test images, {len(classes)} classes; "
              f"{args.spec}, {epochs} epochs, batch 32, seeds {seeds}", flush=True)
        spec = for_classes(presets.resolve(args.spec), len(classes))
        results[name] = compare(name, spec, (x_train, y_train, x_test, y_test), seeds, epochs)

    faster = all(r["ratio"] < 1 and r["cpu_ratio"] < FASTER_RATIO for r in results.values())
    same = all(result["points"] >= -PARITY_POINTS for result in results.values())
    should = MIXED if faster and same else FLOAT32
    picks = MIXED if speed.AUTO_BFLOAT16_ON_CPU else FLOAT32
    print(f"{MIXED} faster on both (epoch ratio < 1, CPU ratio < {FASTER_RATIO}): {faster}; within "
          f"{PARITY_POINTS} points of float32 on both: {same}; so auto should pick {should} on this CPU, and "
          f"lab.speed picks {picks}: {'agrees' if should == picks else 'DISAGREES'}")
    print(json.dumps({name: {"ratio": round(r["ratio"], 4), "cpu_ratio": round(r["cpu_ratio"], 4),
                             "points": round(r["points"], 3)} for name, r in results.items()}))
    print("SUMMARY precision: " + "; ".join(
        f"{name} {MIXED}/float32 epoch {r['ratio']:.2f}x (CPU {r['cpu_ratio']:.2f}x), accuracy {r['points']:+.2f} "
        f"points" for name, r in results.items()) + f"; auto -> {should} ({'PASS' if should == picks else 'FAIL'})")
    return 0 if should == picks else 1


if __name__ == "__main__":
    raise SystemExit(main())
