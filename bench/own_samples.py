"""Own samples: how well the lab reads other people's hand photos after learning from 30 photos per letter.

Real photos of hands signing the 24 letters of Sign Language MNIST (../shared/datasets/asl_hand_photos/, 60 a
letter, 128x128 RGB JPEG) are split per letter with a seed: 30 to train on (of which 20 % validate, to choose the
epoch kept), 30 held out. The figures are accuracies on the held-out photos, as the run's own evaluation scores
them (``lab evaluate``); small-photos and the fine-tune are also read through the Predict page's preprocessing, with
and without the automatic hand crop.

    python bench/own_samples.py            # 5 seeds, every model (about 5 minutes on 2 quiet cores)
    python bench/own_samples.py --quick    # 1 seed, fewer epochs (about 3 minutes)
    python bench/own_samples.py --split sessions   # earlier shots against later ones: other sittings and rooms

Models, each trained by the lab itself (``lab.train.job.Job``), at most 40 epochs (early stopping on the
validation loss, patience 10; the best epoch is kept):
  small-photos       the preset, from scratch, on the photos as the dataset gives them (128x128 RGB)
  recommended        the recommended preset from scratch, the photos loaded at 28x28 grayscale
  recommended-128    the same on the photos as the dataset gives them (slow: only when asked for)
  fine-tune          a Sign Language MNIST run (recommended, trained here on 80 % of its images) fine-tuned on the
                     photos, which it loads at its own 28x28 grayscale
  fine-tune+freeze   the same with its convolutional part frozen
Before that, the domain gap: the Sign Language MNIST run on all 1,440 photos as they are, along the road the lab
used to take for any picture (auto-invert), and the photo road with and without the hand crop and contrast stretch.
It prints one line per seed and model, the median (min–max) over seeds, and last one JSON line with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

PHOTOS = REPO.parent / "shared" / "datasets" / "asl_hand_photos"
SIGN_MNIST = REPO.parent / "shared" / "datasets" / "sign_language_mnist" / "Test"
MODELS = ("small-photos", "recommended", "fine-tune", "fine-tune+freeze", "recommended-128")
DEFAULT_MODELS = MODELS[:4]  # recommended-128 takes about 5 minutes a training here
SETTINGS = {
    "small-photos": {"spec": "small-photos"},
    "recommended": {"spec": "recommended", "image_size": [28, 28], "color_mode": "grayscale"},
    "recommended-128": {"spec": "recommended"},
    "fine-tune": {"from_run": True},
    "fine-tune+freeze": {"from_run": True, "freeze": True},
}
_MODELS: dict = {}  # loaded models by file


def split_photos(target: Path, seed: int, train_per_letter: int = 30, sessions: bool = False) -> dict:
    """target/Train/<letter>/ and target/Test/<letter>/: symlinks to the photos, split per letter with ``seed``.

    With ``sessions`` the photos are taken in the order of their numbers, in which neighbours mostly share a
    sitting (hand, room, light): one half trains (the lower numbers for odd seeds, the higher for even ones) and
    the other half, mostly other sittings, is held out.
    """
    rng = random.Random(seed)
    counts = {"Train": 0, "Test": 0}
    for letter in sorted(p.name for p in PHOTOS.iterdir() if p.is_dir()):
        files = sorted((PHOTOS / letter).glob("*.jpg"))
        if sessions:
            files.sort(key=lambda path: int("".join(filter(str.isdigit, path.stem)) or 0), reverse=seed % 2 == 0)
        else:
            rng.shuffle(files)
        for split, chunk in (("Train", files[:train_per_letter]), ("Test", files[train_per_letter:])):
            folder = target / split / letter
            folder.mkdir(parents=True, exist_ok=True)
            for file in chunk:
                (folder / file.name).symlink_to(file)
            counts[split] += len(chunk)
    return counts


def train(data: Path, runs: Path, name: str, epochs: int, seed: int, spec=None, from_run=None,
          freeze: bool = False, image_size=None, color_mode=None) -> dict:
    from lab.train.job import Job, TrainConfig

    config = TrainConfig(str(data), spec, epochs=epochs, batch_size=32, seed=seed, runs_root=str(runs), name=name,
                         early_stopping={"monitor": "val_loss", "patience": 10, "restore_best_weights": True},
                         reduce_lr={"monitor": "val_loss", "factor": 0.5, "patience": 4, "min_lr": 1e-5},
                         from_run=str(from_run) if from_run else None, freeze=freeze, image_size=image_size,
                         color_mode=color_mode)
    started = time.perf_counter()
    snap = Job(config).run()
    if snap.status != "finished":
        raise SystemExit(f"{name}: {snap.status}: {snap.error}")
    metrics = snap.metrics or {}
    return {"accuracy": metrics.get("accuracy"), "split": metrics.get("split"), "n": metrics.get("n"),
            "epochs": len(snap.history), "best_epoch": (snap.best or {}).get("epoch"),
            "seconds": round(time.perf_counter() - started, 1), "run_dir": snap.run_dir}


def read_photos(run_dir, files: list[tuple[Path, str]], hand_crop: bool = False, preprocessing: dict | None = None):
    """Accuracy of a run on photo files through the Predict page's preprocessing (``lab.predict.prepare``)."""
    import numpy as np

    from lab.predict import prepare
    from lab.train import runs

    run = runs.load_run(run_dir)
    model = _MODELS.get(run.model_path) or _MODELS.setdefault(run.model_path, runs.load_model_file(run.model_path))
    preprocessing = preprocessing or run.preprocessing
    arrays = [prepare(path, preprocessing, source="upload", hand_crop=hand_crop).array for path, _ in files]
    guesses = np.asarray(model.predict(np.stack(arrays), batch_size=128, verbose=0)).argmax(axis=1)
    truth = np.asarray([run.class_names.index(letter) for _, letter in files])
    return float((guesses == truth).mean())


def domain_gap(sm_run: Path) -> dict:
    """The Sign Language MNIST run on all the photos: the old road, then the photo road step by step."""
    from lab.train import runs

    files = [(path, path.parent.name) for path in sorted(PHOTOS.glob("*/*.jpg"))]
    base = runs.load_run(sm_run).preprocessing
    roads = {
        "old road (read as a drawing, auto-invert)": ({**base, "pictures": "drawing"}, False),
        "photo as it is": ({**base, "pictures": "photo", "contrast": "none"}, False),
        "+ contrast stretch": ({**base, "pictures": "photo", "contrast": "stretch"}, False),
        "+ hand crop": ({**base, "pictures": "photo", "contrast": "none"}, True),
        "+ hand crop + contrast stretch": ({**base, "pictures": "photo", "contrast": "stretch"}, True),
    }
    return {name: read_photos(sm_run, files, crop, pre) for name, (pre, crop) in roads.items()}


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} ({min(values):.3f}–{max(values):.3f})"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 seed, fewer epochs")
    parser.add_argument("--seeds", type=int, nargs="+", help="split and training seeds (default 1 2 3 4 5; quick: 1)")
    parser.add_argument("--models", nargs="+", choices=MODELS,
                        help=f"which models (default: {' '.join(DEFAULT_MODELS)})")
    parser.add_argument("--epochs", type=int, help="most epochs per training (default 40; quick: 15)")
    parser.add_argument("--split", choices=("random", "sessions"), default="random",
                        help="random halves of each letter (default), or earlier against later shots")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder with the runs")
    args = parser.parse_args(argv)
    for folder in (PHOTOS, SIGN_MNIST):
        if not folder.is_dir():
            print(f"error: the dataset is not at {folder}.", file=sys.stderr)
            return 2
    seeds = args.seeds or ([1] if args.quick else [1, 2, 3, 4, 5])
    epochs = args.epochs or (15 if args.quick else 40)
    models = args.models or list(DEFAULT_MODELS)
    work = Path(tempfile.mkdtemp(prefix="lab-bench-own-samples-"))
    from _perf_common import machine
    from train_sign_mnist import make_split

    print(f"machine: {machine()}; {args.split} split; seeds {seeds}; at most {epochs} epochs; work folder {work}")
    try:
        make_split(work / "sign_mnist", source=SIGN_MNIST)
        sm = train(work / "sign_mnist", work / "runs", "sign-mnist", 8 if args.quick else 15, seed=7,
                   spec="recommended")
        print(f"Sign Language MNIST run (recommended): test accuracy {sm['accuracy']:.3f} on its own held-out "
              f"images, {sm['epochs']} epochs, {sm['seconds']} s")
        gap = domain_gap(Path(sm["run_dir"]))
        print("Sign Language MNIST run on all 1,440 hand photos:")
        for road, accuracy in gap.items():
            print(f"  {road:<40} {accuracy:.3f}")

        results: dict[str, list[dict]] = {model: [] for model in models}
        for seed in seeds:
            data = work / f"photos-{seed}"
            split_photos(data, seed, sessions=args.split == "sessions")
            held_out = [(path, path.parent.name) for path in sorted((data / "Test").glob("*/*.jpg"))]
            for model in models:
                settings = dict(SETTINGS[model])
                if settings.get("from_run"):
                    settings["from_run"] = sm["run_dir"]
                result = train(data, work / "runs", f"{model}-{seed}", epochs, seed, **settings)
                if model in ("small-photos", "fine-tune"):
                    result["predict_page"] = read_photos(result["run_dir"], held_out)
                    result["predict_page_hand_crop"] = read_photos(result["run_dir"], held_out, hand_crop=True)
                results[model].append(result)
                extra = "".join(f", {key} {result[key]:.3f}" for key in ("predict_page", "predict_page_hand_crop")
                                if key in result)
                print(f"seed {seed} {model:<17} held-out accuracy {result['accuracy']:.3f} (n={result['n']}), "
                      f"{result['epochs']} epochs (best {result['best_epoch']}), {result['seconds']} s{extra}",
                      flush=True)

        print(f"\nheld-out accuracy on other photos, median (min–max) over {len(seeds)} seed(s):")
        for model, rows in results.items():
            line = f"  {model:<17} {spread([row['accuracy'] for row in rows])}"
            for key in ("predict_page", "predict_page_hand_crop"):
                if rows and key in rows[0]:
                    line += f"; {key} {spread([row[key] for row in rows])}"
            line += f"; {statistics.median([row['seconds'] for row in rows]):.0f} s a training"
            print(line)
        print(json.dumps({"machine": machine(), "split": args.split, "seeds": seeds, "epochs": epochs, "sign_mnist": sm,
                          "domain_gap": gap, "results": results}))
        print(f"SUMMARY own photos, {args.split} split, {len(seeds)} seeds, held-out accuracy: "
              + "; ".join(f"{model} {spread([row['accuracy'] for row in rows])}" for model, rows in results.items()))
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
