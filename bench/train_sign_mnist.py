"""Train the presets on the real Sign Language MNIST images and report accuracy, epochs and wall time.

Only the Test split of the dataset is shipped, so this makes an 80/20 split of it by class with a fixed seed, as a
temporary folder of symlinks (nothing is copied into the repository):

    python bench/train_sign_mnist.py                  # recommended, then seed-first and seed-improved; 5 rounds
    python bench/train_sign_mnist.py --quick          # 1 round, 5 and 3 epochs
    python bench/train_sign_mnist.py --only recommended --epochs 30

Each round trains every preset with another seed (1337, 1338, ...). It prints one line per epoch, a table per
round, one JSON line with every figure and, last, the medians with their min-max.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

from _perf_common import REPO, machine

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SOURCE = REPO.parent / "shared" / "datasets" / "sign_language_mnist" / "Test"


def make_split(target: Path, source: Path = SOURCE, test_share: float = 0.2, seed: int = 2024) -> dict:
    """target/Train/<letter>/ and target/Test/<letter>/ of symlinks to the source images, split per class."""
    rng = random.Random(seed)
    counts = {"Train": 0, "Test": 0}
    for letter in sorted(p.name for p in source.iterdir() if p.is_dir()):
        files = sorted((source / letter).glob("*.png"))
        rng.shuffle(files)
        n_test = round(len(files) * test_share)
        for split, chunk in (("Test", files[:n_test]), ("Train", files[n_test:])):
            folder = target / split / letter
            folder.mkdir(parents=True, exist_ok=True)
            for file in chunk:
                (folder / file.name).symlink_to(file)
            counts[split] += len(chunk)
    return counts


def train(data: Path, preset: str, epochs: int, runs_root: Path, patience: int, seed: int) -> dict:
    from lab.presets import load
    from lab.train.job import Job, TrainConfig

    config = TrainConfig(str(data), load(preset), epochs=epochs, batch_size=32, seed=seed,
                         early_stopping={"monitor": "val_loss", "patience": patience, "restore_best_weights": True},
                         reduce_lr={"monitor": "val_loss", "factor": 0.5, "patience": 2, "min_lr": 1e-5}
                         if preset == "recommended" else None,
                         runs_root=str(runs_root), name=preset)
    job = Job(config)
    started = time.perf_counter()

    import threading

    def report():
        shown = 0
        while not job.wait(0.5):
            history = job.snapshot().history
            for row in history[shown:]:
                print(f"  {preset:>13} epoch {row['epoch']:>2}: loss {row['loss']:.4f} acc {row.get('accuracy', 0):.4f}"
                      f"  val_loss {row.get('val_loss', float('nan')):.4f} val_acc "
                      f"{row.get('val_accuracy', float('nan')):.4f}  {row['seconds']:.1f}s", flush=True)
            shown = len(history)

    watcher = threading.Thread(target=report, daemon=True)
    watcher.start()
    snap = job.run()
    wall = time.perf_counter() - started
    watcher.join(2)
    history = snap.history
    metrics = snap.metrics or {}
    return {
        "preset": preset,
        "status": snap.status,
        "epochs": len(history),
        "best_epoch": (snap.best or {}).get("epoch"),
        "wall_seconds": round(wall, 1),
        "fit_seconds": round(sum(r["seconds"] for r in history), 1),
        "first_epoch_loss": history[0]["loss"] if history else None,
        "last_epoch_loss": history[-1]["loss"] if history else None,
        "best_val_accuracy": (snap.best or {}).get("val_accuracy"),
        "test_accuracy": metrics.get("accuracy"),
        "test_loss": metrics.get("loss"),
        "test_n": metrics.get("n"),
        "diagnostics": [d.code for d in snap.diagnostics],
        "diagnosed_at": [f"{d.code}@{d.epoch or 0}" for d in snap.diagnosis_log],
        "diagnostic_messages": [d.message for d in snap.diagnostics],
        "run_dir": snap.run_dir,
    }


def print_table(results: list[dict]) -> None:
    print(f"{'preset':>14} {'epochs':>6} {'best':>5} {'wall s':>7} {'1st loss':>9} {'last loss':>9} "
          f"{'test acc':>8}  diagnostics at the end (made during training, @epoch)")
    for r in results:
        acc = f"{r['test_accuracy']:.4f}" if r["test_accuracy"] is not None else "—"
        print(f"{r['preset']:>14} {r['epochs']:>6} {r['best_epoch'] or '—':>5} {r['wall_seconds']:>7} "
              f"{r['first_epoch_loss']:>9.4f} {r['last_epoch_loss']:>9.4f} {acc:>8}  "
              f"{', '.join(r['diagnostics']) or '—'} ({', '.join(r['diagnosed_at']) or '—'})")


def preset_summary(preset: str, rows: list[dict]) -> str:
    """One preset's figures over the rounds: median (min-max)."""
    from _perf_common import spread

    test = spread([100 * (r["test_accuracy"] or 0.0) for r in rows], "%", 1)
    text = (f"{preset} test accuracy {test}, {spread([r['epochs'] for r in rows], 'epochs', 0)}, "
            f"{spread([r['wall_seconds'] for r in rows], 's', 1)}")
    if preset == "seed-first":
        text += f", last loss {spread([r['last_epoch_loss'] for r in rows], '', 2)} (ln 24 = {math.log(24):.2f})"
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("recommended", "seed-first", "seed-improved"), action="append")
    parser.add_argument("--epochs", type=int, default=30, help="most epochs for recommended (default 30)")
    parser.add_argument("--seed-epochs", type=int, default=10,
                        help="epochs for seed-first and seed-improved (default 10)")
    parser.add_argument("--seed", type=int, default=1337, help="the first round's seed; each round adds one")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--quick", action="store_true", help="1 round of 5 epochs (3 for the notes' presets)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder with the runs")
    args = parser.parse_args(argv)
    if not SOURCE.is_dir():
        print(f"error: the dataset is not at {SOURCE}.", file=sys.stderr)
        return 2
    presets = args.only or ["recommended", "seed-first", "seed-improved"]
    rounds = args.rounds or (1 if args.quick else 5)
    if args.quick:
        args.epochs, args.seed_epochs = min(args.epochs, 5), min(args.seed_epochs, 3)
    work = Path(tempfile.mkdtemp(prefix="lab-bench-slmnist-"))
    try:
        counts = make_split(work / "sign_mnist_split")
        print(f"split: {counts['Train']} Train images (80% of each class; 20% of those validate), "
              f"{counts['Test']} Test images, in {work}")
        import tensorflow as tf

        results = []
        for round_index in range(rounds):
            this_round = []
            for preset in presets:
                epochs = args.epochs if preset == "recommended" else args.seed_epochs
                patience = 5 if preset == "recommended" else epochs
                this_round.append(train(work / "sign_mnist_split", preset, epochs, work / "runs", patience,
                                        args.seed + round_index))
            results.extend(this_round)
            print(f"\nround {round_index + 1}/{rounds} (seed {args.seed + round_index}): {machine()}")
            print_table(this_round)
        print(f"ln 24 = {math.log(24):.4f}")
        for r in results[-len(presets):]:
            for message in r["diagnostic_messages"]:
                print(f"[{r['preset']}] {message}")
        summary = {"machine": {"cpus": os.cpu_count(), "tensorflow": tf.__version__}, "split": counts,
                   "ln_24": math.log(24), "results": [{k: v for k, v in r.items() if k != "diagnostic_messages"}
                                                      for r in results]}
        print(json.dumps(summary))
        print("SUMMARY Sign Language MNIST: " + "; ".join(preset_summary(preset, [r for r in results
                                                                                    if r["preset"] == preset])
                                                          for preset in presets))
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
