"""How well a model trained only on the generated digits reads real handwriting.

Generates the built-in dataset (timing it), trains a small conv net on its Train split, and tests
it on scikit-learn's `load_digits`: 1,797 real handwritten digits at 8x8, upscaled and normalised
the MNIST way (fit into 20x20, centred by centre of mass), exactly as the lab prepares a drawing.

    python bench/sample_digits_accuracy.py [--epochs 8] [--seed 0] [--out DIR]

Prints one summary line. Needs scikit-learn (requirements-dev.txt).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from lab import imaging  # noqa: E402
from lab.data import load, sample_digits  # noqa: E402


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


def model(num_classes: int = 10):
    import keras

    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Rescaling(1.0 / 255),
            keras.layers.Conv2D(32, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(64, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(num_classes, activation="softmax"),
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0, help="generator seed")
    parser.add_argument("--out", type=Path, default=None, help="where to generate (default: a temporary folder)")
    parser.add_argument("--spec", default=None,
                        help="train a lab preset or spec JSON (e.g. recommended) instead of the plain CNN above")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp) / sample_digits.NAME
        start = time.monotonic()
        sample_digits.make(out, seed=args.seed)
        gen_s = time.monotonic() - start

        import keras

        keras.utils.set_random_seed(1)
        data = load(out, batch_size=64, validation_split=0.1, seed=1)
        if args.spec:
            from lab.build import build_model
            from lab.presets import resolve
            from lab.spec import adapt

            spec, _ = adapt(resolve(args.spec), data.input_shape, len(data.class_names))
            net = build_model(spec, seed=1)
        else:
            net = model(len(data.class_names))
            net.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        start = time.monotonic()
        net.fit(data.train, validation_data=data.val, epochs=args.epochs, verbose=0)
        train_s = time.monotonic() - start
        test_acc = net.evaluate(data.test, verbose=0)[1]

        x, y = real_digits()
        predicted = net.predict(x, verbose=0).argmax(axis=1)
        labels = np.array([int(data.class_names[i]) for i in predicted])
        accuracy = float((labels == y).mean())
        per_class = " ".join(f"{d}:{(labels[y == d] == d).mean():.2f}" for d in range(10))
        pairs = sorted(((int(((y == t) & (labels == p)).sum()), t, p) for t in range(10) for p in range(10) if t != p),
                       reverse=True)
        confusions = ", ".join(f"{t} as {p}: {n}" for n, t, p in pairs[:5] if n)
    print(
        f"sample-digits ({args.spec or 'plain CNN'}): generated "
        f"{data.counts['train'] + data.counts['val'] + data.counts['test']:,} images "
        f"in {gen_s:.1f} s on {os.cpu_count()} cores; {args.epochs} epochs in {train_s:.0f} s; "
        f"generated-test accuracy {test_acc:.3f}; real load_digits accuracy {accuracy:.3f} "
        f"({len(y)} images; per class {per_class}; most confused {confusions})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
