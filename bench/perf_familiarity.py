"""Familiar or not: the cost of the verdict and how well it tells Sign Language MNIST from real hand photos.

Each round trains ``recommended`` with the lab's job on an 80/20 split of the real Sign Language MNIST images (a
training seed per round; 20 % of the training part validates), then:

1. Cost: the run's reference (``lab.familiarity.reference``: a class-balanced sample of at most 2,000 training
   images, the validation images, their features) made from nothing, and read back from ``familiarity.npz``; per
   input, ``prepare`` + ``top_k`` (what the Predict page does for a guess) and then ``familiarity.verdict`` on one
   real 28x28 PNG, each call timed in its two parts (medians over the calls).
2. Separation: the share flagged unfamiliar of the validation images (the line is drawn at their 99th percentile,
   so about 1 % by construction), of the held-out Test images (same source, never seen), of the 1,440 real hand
   photos in ../shared/datasets/asl_hand_photos (as the page prepares an upload: grayscale, 28x28), and of
   noise images; the area under the ROC curve of the distance, Test images against photos; how the model reads the
   photos (accuracy, the share guessed with 90 %+ confidence, and how many of those are flagged).
3. The choice of distance: the same shares for unit-length (cosine) features and for the 5th-nearest training image
   instead of the nearest, each with its own line at the validation images' 99th percentile; and, once, for the
   tests' two-class network (tests/ui_support.py: squares and stripes, 4 filters) against noise.

Every figure is the median of the rounds with its min-max.

    .venv/bin/python bench/perf_familiarity.py            # 5 rounds of 5 epochs (about 3 minutes on 2 quiet cores)
    .venv/bin/python bench/perf_familiarity.py --quick    # 2 rounds of 2 epochs
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from _perf_common import REPO, machine, median, need_sign_mnist, spread
from train_sign_mnist import make_split

PHOTOS = Path(__file__).resolve().parents[2] / "shared/datasets/asl_hand_photos"
CONFIDENT = 0.9
NOISE_IMAGES = 200
VARIANTS = (("euclidean", 1), ("euclidean", 5), ("cosine", 1), ("cosine", 5))  # the first is the lab's


def auroc(inside, outside) -> float:
    """The chance that an outside image is further than an inside one."""
    import numpy as np

    inside, outside = np.asarray(inside), np.asarray(outside)
    ranks = np.concatenate([inside, outside]).argsort(kind="stable").argsort() + 1.0
    return float((ranks[len(inside):].sum() - len(outside) * (len(outside) + 1) / 2) / (len(inside) * len(outside)))


def features_of(model, arrays):
    import numpy as np

    from lab import familiarity

    return np.concatenate([familiarity.embed(model, arrays[i:i + 256]) for i in range(0, len(arrays), 256)])


def prepared(paths, preprocessing):
    import numpy as np

    from lab.predict import open_image, prepare

    return np.stack([prepare(open_image(path), preprocessing).array for path in paths])


def noise_images(count: int, seed: int, preprocessing: dict):
    import numpy as np
    from PIL import Image

    from lab.predict import prepare

    rng = np.random.default_rng(seed)
    return np.stack([prepare(Image.fromarray(rng.integers(0, 256, (28, 28), dtype=np.uint8)), preprocessing).array
                     for _ in range(count)])


def kth_distance(x, sample, k: int):
    import numpy as np

    squared = (x ** 2).sum(axis=1)[:, None] + (sample ** 2).sum(axis=1)[None] - 2.0 * x @ sample.T
    return np.sort(np.sqrt(np.maximum(squared, 0.0)), axis=1)[:, k - 1]


def flagged_by_variant(sample, calibration, sets: dict) -> dict:
    """{"metric k": {set name: share flagged}} from the features of the training sample, of the calibration images
    and of each named set; each variant draws its own line at the calibration images' 99th percentile."""
    import numpy as np

    from lab import familiarity

    def unit(x):
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)

    out = {}
    for metric, k in VARIANTS:
        scale = unit if metric == "cosine" else (lambda x: x)
        line = np.percentile(kth_distance(scale(calibration), scale(sample), k), familiarity.PERCENTILE)
        out[f"{metric} k={k}"] = {name: float(np.mean(kth_distance(scale(x), scale(sample), k) > line))
                                  for name, x in sets.items()}
    return out


def sample_and_calibration(run, model, reference):
    """The features of a run's training sample and of its calibration images, as the reference was made."""
    from lab import familiarity

    calibration_files = familiarity._images(reference.dataset, run.meta, reference.class_names)[1][0]
    return (features_of(model, prepared([reference.dataset / f for f in reference.files], run.preprocessing)),
            features_of(model, prepared(calibration_files, run.preprocessing)))


def one_round(data: Path, runs_root: Path, seed: int, epochs: int, calls: int) -> dict:
    import numpy as np

    from lab import familiarity
    from lab.predict import prepare, top_k
    from lab.presets import load
    from lab.train.job import Job, TrainConfig
    from lab.train.runs import load_run

    snap = Job(TrainConfig(str(data), load("recommended"), epochs=epochs, batch_size=32, seed=seed,
                           runs_root=str(runs_root), name=f"familiar-{seed}", early_stopping=None)).run()
    assert snap.status == "finished", snap.error
    run = load_run(snap.run_dir)
    model = run.load_model()
    top_k(model, np.zeros((28, 28, 1), np.float32), run.class_names)  # the first call pays for Keras's set-up

    began = time.perf_counter()
    reference = familiarity.reference(run.path, model)
    build_s = time.perf_counter() - began
    familiarity._memory.clear()  # read back from the file, not from this process's memory
    began = time.perf_counter()
    familiarity.reference(run.path, model)
    read_ms = (time.perf_counter() - began) * 1000

    from PIL import Image

    with Image.open(sorted((data / "Test" / "B").glob("*.png"))[0]) as image:
        image.load()

    guess_times, verdict_times = [], []
    for call in range(calls + 5):  # each call timed in two parts, so both parts see the same load
        began = time.perf_counter()
        array = prepare(image, run.preprocessing).array
        top_k(model, array, run.class_names, k=5)
        guessed = time.perf_counter()
        familiarity.verdict(run.path, model, array)  # as the page asks: the reference found again each time
        if call >= 5:  # the first calls warm up
            guess_times.append((guessed - began) * 1000)
            verdict_times.append((time.perf_counter() - guessed) * 1000)
    guess_ms, extra_ms = median(guess_times), median(verdict_times)

    test_paths = sorted((data / "Test").glob("*/*.png"))
    photo_paths = sorted(PHOTOS.glob("*/*.jpg"))
    photos = prepared(photo_paths, run.preprocessing)
    sets = {"test": features_of(model, prepared(test_paths, run.preprocessing)), "photos": features_of(model, photos),
            "noise": features_of(model, noise_images(NOISE_IMAGES, seed, run.preprocessing))}
    distance = {name: np.sort(reference.distances(x), axis=1)[:, reference.k - 1] for name, x in sets.items()}
    threshold = reference.threshold
    probabilities = model.predict(photos, verbose=0, batch_size=256)
    truth = np.array([run.class_names.index(path.parent.name) for path in photo_paths])
    confident = probabilities.max(axis=1) >= CONFIDENT
    confident_wrong = confident & (probabilities.argmax(axis=1) != truth)
    return {
        "test_accuracy": (snap.metrics or {}).get("accuracy"),
        "build_s": build_s, "read_ms": read_ms, "reference": len(reference.files),
        "calibration": len(reference.calibration),
        "guess_ms": guess_ms, "extra_ms": extra_ms,
        "flag_validation": float(np.mean(reference.calibration > threshold)),
        **{f"flag_{name}": float(np.mean(d > threshold)) for name, d in distance.items()},
        "auroc": auroc(distance["test"], distance["photos"]),
        "photo_accuracy": float(np.mean(probabilities.argmax(axis=1) == truth)),
        "photo_confident": float(np.mean(confident)),
        "photo_confident_flagged": float(np.mean(distance["photos"][confident] > threshold))
        if confident.any() else float("nan"),
        "photo_confident_wrong_flagged": float(np.mean(distance["photos"][confident_wrong] > threshold))
        if confident_wrong.any() else float("nan"),
        "variants": flagged_by_variant(*sample_and_calibration(run, model, reference), sets),
        "n_test": len(test_paths), "n_photos": len(photo_paths),
    }


def small_network(work: Path) -> dict:
    """The variants on the tests' two-class network, against its own Test images and noise."""
    sys.path.insert(0, str(REPO / "tests"))
    from ui_support import make_dataset, train_run

    from lab import familiarity
    from lab.train.runs import load_run

    data = make_dataset(work / "small" / "Data", train=40)
    run = load_run(train_run(data, work / "small" / "runs", epochs=3, name="squares"))
    model = run.load_model()
    reference = familiarity.reference(run.path, model)
    sets = {"test": features_of(model, prepared(sorted((data / "Test").glob("*/*.png")), run.preprocessing)),
            "noise": features_of(model, noise_images(NOISE_IMAGES, 0, run.preprocessing))}
    return flagged_by_variant(*sample_and_calibration(run, model, reference), sets)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--calls", type=int, default=200, help="per-input timings per round (default 200)")
    args = parser.parse_args()
    rounds = args.rounds or (2 if args.quick else 5)
    epochs = args.epochs or (2 if args.quick else 5)
    source = need_sign_mnist() / "Test"
    if not PHOTOS.is_dir():
        print(f"The hand photos are not at {PHOTOS}.")
        return 2
    print(f"machine: {machine()}")
    work = Path(tempfile.mkdtemp(prefix="perf-familiarity-"))
    try:
        counts = make_split(work / "data", source)
        print(f"split: {counts['Train']} Train images (20 % of them validate), {counts['Test']} Test images; "
              f"{rounds} rounds of {epochs} epochs")
        results = []
        for seed in range(1, rounds + 1):
            r = one_round(work / "data", work / "runs", seed, epochs, args.calls)
            results.append(r)
            print(f"round {seed}: test accuracy {r['test_accuracy']:.3f}; reference made in {r['build_s']:.2f} s "
                  f"({r['reference']} training + {r['calibration']} validation images), read {r['read_ms']:.1f} ms; "
                  f"guess {r['guess_ms']:.2f} ms, verdict {r['extra_ms']:.2f} ms more; flagged: validation "
                  f"{r['flag_validation']:.1%}, Test {r['flag_test']:.1%}, photos {r['flag_photos']:.1%}, noise "
                  f"{r['flag_noise']:.1%}; AUROC Test/photos {r['auroc']:.3f}; photos read right "
                  f"{r['photo_accuracy']:.1%}, {r['photo_confident']:.1%} with 90 %+ confidence, of those flagged "
                  f"{r['photo_confident_flagged']:.1%} (of the confident wrong ones "
                  f"{r['photo_confident_wrong_flagged']:.1%}); variants {r['variants']}", flush=True)
        small = small_network(work)

        def column(key):
            return [r[key] for r in results]

        def share(key):
            return spread(column(key), "%", 1, 100)

        print()
        print(f"reference made (cold):           {spread(column('build_s'), 's', 2)}")
        print(f"reference read from the file:    {spread(column('read_ms'), 'ms', 1)}")
        print(f"guess (prepare + top_k):         {spread(column('guess_ms'), 'ms', 2)}")
        print(f"the verdict on top:              {spread(column('extra_ms'), 'ms', 2)}; verdict / guess "
              f"{spread([v / g for v, g in zip(column('extra_ms'), column('guess_ms'))], 'x', 2)}")
        print(f"flagged, validation images:      {share('flag_validation')}")
        print(f"flagged, held-out Test ({results[0]['n_test']}):   {share('flag_test')}")
        print(f"flagged, hand photos ({results[0]['n_photos']}):    {share('flag_photos')}")
        print(f"flagged, noise ({NOISE_IMAGES}):             {share('flag_noise')}")
        print(f"AUROC, Test against photos:      {spread(column('auroc'), '', 3)}")
        print(f"photos read right:               {share('photo_accuracy')}")
        print(f"photos read with 90 %+:          {share('photo_confident')}; flagged of those "
              f"{share('photo_confident_flagged')}; of the confident wrong ones "
              f"{share('photo_confident_wrong_flagged')}")
        for variant in results[0]["variants"]:
            shares = {name: spread([r["variants"][variant][name] for r in results], "%", 1, 100)
                      for name in ("test", "photos", "noise")}
            print(f"variant {variant:<13} flagged Test {shares['test']}, photos {shares['photos']}, "
                  f"noise {shares['noise']}")
        for variant, shares in small.items():
            print(f"two-class network, {variant:<13} flagged its Test {shares['test']:.1%}, "
                  f"noise {shares['noise']:.1%}")
        print(f"SUMMARY familiarity: made in {median(column('build_s')):.2f} s, +{median(column('extra_ms')):.2f} ms "
              f"per input; flagged {median(column('flag_test')):.1%} of unseen Sign MNIST images and "
              f"{median(column('flag_photos')):.1%} of hand photos (AUROC {median(column('auroc')):.3f})")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
