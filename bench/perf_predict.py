"""Prediction of one 28x28 image (warm), and peak memory (RSS) while training ``recommended`` on Sign Language MNIST.

1. Warm prediction: a saved ``recommended`` model (24 classes) loaded the way the Predict page loads it
   (``lab.train.runs.load_model_file``), then ``lab.predict.prepare`` + ``lab.predict.top_k`` on one real
   28x28 PNG from the dataset, many times after a few warm-up calls; the median per image in each of 5 rounds
   of calls, and the median and min-max of those (target < 20 ms). ``model.predict`` on the same array is timed
   beside it for reference.
2. Peak RSS: child processes, one per round, run the lab's whole training job (``lab.train.job.Job``: load the
   7,172 images, build, train, checkpoint, evaluate on Test); each reports its own peak resident memory
   (``resource.getrusage(RUSAGE_SELF).ru_maxrss``; target < 1.5 GB). A child that only imports TensorFlow and
   Keras gives what TensorFlow itself costs.

    .venv/bin/python bench/perf_predict.py             # 5 rounds, 2 training epochs each (about 2-3 minutes)
    .venv/bin/python bench/perf_predict.py --quick     # 1 round of 1 epoch, fewer prediction calls
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from _perf_common import REPO, machine, median, need_sign_mnist, spread, verdict

TARGET_MS = 20.0
TARGET_RSS_MB = 1500.0


PEAK = "import resource; print('peak', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"


def child_peak_mb(code: str) -> tuple[float, str]:
    """Runs ``code`` in a fresh interpreter; its own peak RSS in MB and what it printed before that."""
    proc = subprocess.run([sys.executable, "-c", code + "\n" + PEAK], cwd=REPO, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"child failed:\n{proc.stdout}\n{proc.stderr[-3000:]}")
    *printed, peak = proc.stdout.strip().splitlines()
    return int(peak.split()[1]) / 1024, "\n".join(printed)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--calls", type=int, default=None, help="prediction calls per round")
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args()
    epochs = args.epochs or (1 if args.quick else 2)
    calls = args.calls or (50 if args.quick else 300)
    rounds = args.rounds or (1 if args.quick else 5)
    root = need_sign_mnist()
    print(f"machine: {machine()}")

    # ---- peak RSS first, in children (the parent has not imported TensorFlow yet)
    tf_only = [child_peak_mb("import os; os.environ['TF_CPP_MIN_LOG_LEVEL']='2'; import tensorflow, keras")[0]
               for _ in range(rounds)]
    runs_root = tempfile.mkdtemp(prefix="perf-runs-")
    code = textwrap.dedent(f"""
        import os, sys, time
        os.environ['TF_CPP_MIN_LOG_LEVEL'] = '2'
        sys.path.insert(0, {str(REPO)!r})
        from lab.train.job import Job, TrainConfig
        began = time.perf_counter()
        snap = Job(TrainConfig({str(root)!r}, 'recommended', epochs={epochs}, runs_root={runs_root!r})).run()
        assert snap.status == 'finished', snap.error
        print(snap.run_dir, round(time.perf_counter() - began, 1), (snap.metrics or {{}}).get('accuracy'))
    """)
    train_peak = []
    for _ in range(rounds):
        peak, out = child_peak_mb(code)
        train_peak.append(peak)
        run_dir, seconds, accuracy = out.splitlines()[-1].split()
        print(f"peak RSS: training job 'recommended', {epochs} epoch(s) on Sign Language MNIST ({seconds}s, test "
              f"accuracy {accuracy}) {peak:.0f} MB", flush=True)
    print(f"peak RSS: import tensorflow+keras {spread(tf_only, 'MB', 0)}; training job {spread(train_peak, 'MB', 0)}")

    # ---- warm prediction with the model that job saved
    import numpy as np
    from PIL import Image

    from lab.predict import prepare, top_k
    from lab.train.runs import load_model_file, load_run

    run = load_run(run_dir)
    model = load_model_file(Path(run_dir) / "model.keras")
    image_path = sorted((root / "Test" / "B").glob("*.png"))[0]
    with Image.open(image_path) as image:
        image.load()
    for _ in range(5):
        prepared = prepare(image, run.preprocessing)
        top_k(model, prepared.array, run.class_names, k=5)

    def timed(fn, n):
        out = []
        for _ in range(n):
            began = time.perf_counter()
            fn()
            out.append((time.perf_counter() - began) * 1000)
        return median(out)

    def predict_once():
        return top_k(model, prepare(image, run.preprocessing).array, run.class_names, k=5)

    per_round = [timed(predict_once, calls) for _ in range(rounds)]
    full = median(per_round)
    prep = timed(lambda: prepare(image, run.preprocessing), calls)
    arr = prepare(image, run.preprocessing).array
    only_model = timed(lambda: top_k(model, arr, run.class_names, k=5), calls)
    batch = np.asarray(arr, dtype=np.float32)[None]
    model.predict(batch, verbose=0)
    with_predict = timed(lambda: model.predict(batch, verbose=0), max(20, calls // 5))
    guess = top_k(model, arr, run.class_names, k=1)[0]
    print(f"one 28x28 image, warm (median of {calls} calls per round): prepare+top_k {spread(per_round, 'ms')} "
          f"(prepare {prep:.2f} ms, "
          f"top_k {only_model:.2f} ms); model.predict alone {with_predict:.2f} ms; guess {guess[0]} {guess[1]:.0%} "
          f"for an image of B")
    ok = full < TARGET_MS and median(train_peak) < TARGET_RSS_MB
    print(f"SUMMARY prediction: one image warm {spread(per_round, 'ms')} (target < {TARGET_MS:g}); peak RSS training "
          f"recommended {spread(train_peak, 'MB', 0)} (TensorFlow alone {median(tf_only):.0f} MB; target < "
          f"{TARGET_RSS_MB:g}) {verdict(ok)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
