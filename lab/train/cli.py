"""`lab train`, `lab evaluate`, `lab predict`. Imports stay light; TensorFlow loads inside the handlers."""

from __future__ import annotations

import json
import math
import signal
import sys
from pathlib import Path

from lab.errors import LabError


def register(subparsers) -> None:
    train = subparsers.add_parser("train", help="train a spec or preset on a dataset folder into a run folder")
    train.add_argument("--data", required=True, help="dataset folder (Train/ and Test/ of class folders)")
    train.add_argument("--spec", required=True, help="a preset name (recommended, seed-improved, seed-first) "
                                                     "or a spec JSON file")
    train.add_argument("--epochs", type=int, default=10, help="most epochs to train (default 10)")
    train.add_argument("--batch-size", type=int, default=32, help="images per step, over all replicas (default 32)")
    train.add_argument("--seed", type=int, default=1337, help="seed for weights, split and shuffling (default 1337)")
    train.add_argument("--validation-split", type=float, default=0.2,
                       help="share of Train held out for validation (default 0.2)")
    train.add_argument("--patience", type=int, default=3,
                       help="early-stopping patience in epochs; 0 turns early stopping off (default 3)")
    train.add_argument("--reduce-lr", action="store_true", help="halve the learning rate when val_loss stalls")
    train.add_argument("--out", help="the run folder to write (default runs/<timestamp>-<name>)")
    train.add_argument("--runs", default="runs", help="where new run folders go (default runs)")
    train.add_argument("--name", help="the run's display name")
    train.add_argument("--strategy", choices=("auto", "default", "mirrored", "multiworker"), default="auto",
                       help="tf.distribute strategy; auto uses MultiWorkerMirrored when TF_CONFIG is set, Mirrored "
                            "with several GPUs, else the default")
    train.add_argument("--json", action="store_true", help="end with one JSON line describing the run")
    train.set_defaults(func=cmd_train)

    evaluate = subparsers.add_parser("evaluate", help="score a run or .keras model on a dataset split")
    evaluate.add_argument("model", metavar="RUN_DIR|MODEL.keras")
    evaluate.add_argument("--data", required=True, help="dataset folder")
    evaluate.add_argument("--split", default="Test", help="which split folder to score (default Test)")
    evaluate.add_argument("--batch-size", type=int, default=64)
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.set_defaults(func=cmd_evaluate)

    predict = subparsers.add_parser("predict", help="top classes for images, with the run's preprocessing")
    predict.add_argument("model", metavar="RUN_DIR|MODEL.keras")
    predict.add_argument("images", metavar="IMAGE", nargs="+")
    predict.add_argument("--top", type=int, default=3, help="how many classes to show per image (default 3)")
    predict.add_argument("--json", action="store_true", help="print one JSON object")
    predict.set_defaults(func=cmd_predict)


def _finite(value):
    return value if isinstance(value, (int, float)) and math.isfinite(value) else None


def cmd_train(args) -> int:
    from lab.presets import resolve
    from lab.train.job import Job, TrainConfig

    spec = resolve(args.spec)
    if args.patience < 0:
        raise LabError(f"--patience must be 0 or more, not {args.patience}.")
    config = TrainConfig(
        data_path=args.data, spec=spec, epochs=args.epochs, batch_size=args.batch_size, seed=args.seed,
        validation_split=args.validation_split,
        early_stopping={"monitor": "val_loss", "patience": args.patience, "restore_best_weights": True}
        if args.patience else None,
        reduce_lr={"monitor": "val_loss", "factor": 0.5, "patience": 2, "min_lr": 1e-5} if args.reduce_lr else None,
        runs_root=args.runs, name=args.name or (Path(args.spec).stem if Path(args.spec).is_file() else args.spec),
        run_dir=args.out, strategy=args.strategy)
    config.check()

    from lab.train.callbacks import TerminalProgress

    job = Job(config)
    previous = signal.getsignal(signal.SIGINT)

    def on_interrupt(signum, frame):
        print("\nStopping after the current batch (Ctrl-C again to abort).", file=sys.stderr)
        signal.signal(signal.SIGINT, previous)
        job.stop()

    signal.signal(signal.SIGINT, on_interrupt)
    try:
        snap = job.run(extra_callbacks=[TerminalProgress(config.epochs)])
    finally:
        signal.signal(signal.SIGINT, previous)

    for diagnosis in snap["diagnostics"]:
        print(f"{diagnosis['title']}: {diagnosis['message']}", file=sys.stderr)
    if snap["status"] == "failed":
        if args.json:
            print(json.dumps({"run_dir": snap["run_dir"], "status": "failed", "error": snap["error"]}))
        if job.user_error:
            raise LabError(snap["error"])
        print(f"error: {snap['error']}", file=sys.stderr)
        return 1
    history = snap["history"]
    val_losses = [row["val_loss"] for row in history if _finite(row.get("val_loss")) is not None]
    metrics = snap["metrics"] or {}
    result = {
        "run_dir": snap["run_dir"],
        "status": snap["status"],
        "epochs": len(history),
        "best_epoch": (snap["best"] or {}).get("epoch"),
        "best_val_loss": min(val_losses) if val_losses else None,
        "best_val_accuracy": (snap["best"] or {}).get("val_accuracy"),
        "final_loss": _finite(history[-1].get("loss")) if history else None,
        "seconds": round(snap["elapsed"], 2),
        "diagnostics": [d["code"] for d in snap["diagnostics"]],
    }
    if metrics.get("split") == "Test":
        result["test_accuracy"] = metrics.get("accuracy")
        result["test_loss"] = metrics.get("loss")
    elif metrics:
        result["val_accuracy"] = metrics.get("accuracy")
    if args.json:
        print(json.dumps(result))
    else:
        print(f"Run saved in {snap['run_dir']} ({snap['status']}, {len(history)} epochs, "
              f"{snap['elapsed']:.0f} s).")
        if "test_accuracy" in result:
            print(f"Test accuracy {result['test_accuracy']:.4f}, loss {result['test_loss']:.4f}.")
    return 0


def cmd_evaluate(args) -> int:
    from lab.train.evaluate import evaluate_path

    result = evaluate_path(args.model, args.data, split=args.split, batch_size=args.batch_size)
    if result["skipped"]:
        from lab.train.data_access import skipped_sentence

        print(skipped_sentence(result["skipped"]), file=sys.stderr)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{result['split']}: accuracy {result['accuracy']:.4f}, loss {result['loss']:.4f}, n {result['n']}")
    for name, row in result["per_class"].items():
        if row["support"]:
            precision = "—" if row["precision"] is None else f"{row['precision']:.3f}"
            print(f"  {name:>12}  precision {precision}  recall {row['recall']:.3f}  n {row['support']}")
    return 0


def cmd_predict(args) -> int:
    if args.top < 1:
        raise LabError(f"--top must be 1 or more, not {args.top}.")
    from lab.train.predicting import predict_files

    results = predict_files(args.model, args.images, k=args.top)
    if args.json:
        print(json.dumps({"model": args.model, "predictions": results}))
        return 0
    for item in results:
        print(item["image"] + (f"  ({item['message']})" if item.get("message") else ""))
        for name, prob in item["top"]:
            print(f"  {name:>12}  {prob:.4f}")
    return 0
