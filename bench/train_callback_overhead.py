"""What the live-metrics callback costs: the same fit with and without it, as a ratio (target <= 1.03).

Both runs use the same in-memory data, the same compiled model (traced once, outside the timing) and verbose=0;
the timed part is ``model.fit`` only, over several interleaved repeats. The ratio of medians is the figure; the
ratio of the fastest runs and of the process CPU time are printed too, since on a shared machine wall time swings
with other people's work:

Each repeat gives a ratio (with the callback over without, back to back); the summary is their median and min-max.

    python bench/train_callback_overhead.py [--repeats 9] [--epochs 1]
    python bench/train_callback_overhead.py --quick    # 5 repeats
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

from _perf_common import machine, spread, verdict

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=None, help="default 9 (5 with --quick)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--images", type=int, default=2048)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args(argv)
    args.repeats = args.repeats or (5 if args.quick else 9)

    import numpy as np
    import tensorflow as tf

    from lab.build import build_model
    from lab.presets import load
    from lab.train.callbacks import LiveMetrics
    from lab.train.job import Job, TrainConfig

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (args.images, 28, 28, 1)).astype("float32")
    y = rng.integers(0, 24, args.images).astype("int64")
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(args.batch_size).cache().prefetch(2)
    spec = load("recommended")

    model = build_model(spec, seed=1)
    model.fit(data.take(2), epochs=1, verbose=0)  # trace and warm up outside the timing

    def fit(with_callback: bool) -> float:
        job = Job(TrainConfig(".", {}, epochs=args.epochs)) if with_callback else None
        callbacks = [LiveMetrics(job)] if job else []
        start, start_cpu = time.perf_counter(), time.process_time()
        model.fit(data, epochs=args.epochs, verbose=0, callbacks=callbacks, shuffle=False)
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - start_cpu
        if job is not None:
            assert len(job.snapshot().batch_log) == args.epochs * len(data)
        (live_cpu if with_callback else plain_cpu).append(cpu_seconds)
        return seconds

    plain, live, plain_cpu, live_cpu = [], [], [], []
    for i in range(args.repeats):
        order = (False, True) if i % 2 == 0 else (True, False)
        for flag in order:
            (live if flag else plain).append(fit(flag))
    ratio = statistics.median(live) / statistics.median(plain)
    fastest = min(live) / min(plain)
    batches = args.epochs * -(-args.images // args.batch_size)
    print(f"plain model.fit: median {statistics.median(plain):.3f}s  {[round(v, 3) for v in plain]}")
    print(f"with LiveMetrics: median {statistics.median(live):.3f}s  {[round(v, 3) for v in live]}")
    print(f"ratio of medians {ratio:.4f}, of fastest runs {fastest:.4f}, over {batches} batches a fit "
          f"(target <= 1.03); {machine()}")
    cpu_ratio = statistics.median(live_cpu) / statistics.median(plain_cpu)
    print(f"CPU time (all threads of this process): ratio of medians {cpu_ratio:.4f}")
    print(json.dumps({"plain_s": statistics.median(plain), "live_s": statistics.median(live), "ratio": ratio,
                      "ratio_fastest": fastest, "cpu_ratio": cpu_ratio, "batches": batches,
                      "repeats": args.repeats}))

    per_repeat = [with_it / without for with_it, without in zip(live, plain)]
    print(f"SUMMARY live-metrics callback: with/without fit ratio {spread(per_repeat, '', 3)} (ratio of medians "
          f"{ratio:.3f}; CPU time {cpu_ratio:.3f}; target <= 1.03) {verdict(statistics.median(per_repeat) <= 1.03)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
