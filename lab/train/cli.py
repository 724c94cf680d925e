"""`lab train`, `lab evaluate`, `lab predict`. Imports stay light; TensorFlow loads inside the handlers."""

from __future__ import annotations

import json
import math
import signal
import sys
from pathlib import Path

from lab.errors import LabError
from lab.i18n import number, t
from lab.paths import runs_root
from lab.speed import AUTO, PRECISIONS


def register(subparsers) -> None:
    """Adds the three commands; called when the parser is built, so the help speaks the language of that moment."""
    train = subparsers.add_parser("train", help=t("train.cli.train.help"))
    train.add_argument("--data", required=True, help=t("train.cli.train.data"))
    train.add_argument("--spec", help=t("train.cli.train.spec"))
    train.add_argument("--from", dest="from_run", metavar="RUN_DIR", help=t("train.cli.train.from_run"))
    train.add_argument("--freeze", action="store_true", help=t("train.cli.train.freeze"))
    train.add_argument("--epochs", type=int, default=10, help=t("train.cli.train.epochs"))
    train.add_argument("--batch-size", type=int, default=32, help=t("train.cli.train.batch_size"))
    train.add_argument("--seed", type=int, default=1337, help=t("train.cli.train.seed"))
    train.add_argument("--validation-split", type=float, default=0.2, help=t("train.cli.train.validation_split"))
    train.add_argument("--patience", type=int, default=3, help=t("train.cli.train.patience"))
    train.add_argument("--reduce-lr", action="store_true", help=t("train.cli.train.reduce_lr"))
    train.add_argument("--out", help=t("train.cli.train.out", default=runs_root()))
    train.add_argument("--runs", default=str(runs_root()), help=t("train.cli.train.runs", default=runs_root()))
    train.add_argument("--name", help=t("train.cli.train.name"))
    train.add_argument("--strategy", choices=("auto", "default", "mirrored", "multiworker"), default="auto",
                       help=t("train.cli.train.strategy"))
    train.add_argument("--precision", choices=PRECISIONS, default=AUTO, help=t("train.cli.train.precision"))
    train.add_argument("--json", action="store_true", help=t("train.cli.train.json"))
    train.set_defaults(func=cmd_train)

    evaluate = subparsers.add_parser("evaluate", help=t("train.cli.evaluate.help"))
    evaluate.add_argument("model", metavar="RUN_DIR|MODEL.keras")
    evaluate.add_argument("--data", required=True, help=t("train.cli.evaluate.data"))
    evaluate.add_argument("--split", default="Test", help=t("train.cli.evaluate.split"))
    evaluate.add_argument("--batch-size", type=int, default=64)
    evaluate.add_argument("--json", action="store_true", help=t("train.cli.json_object"))
    evaluate.set_defaults(func=cmd_evaluate)

    predict = subparsers.add_parser("predict", help=t("train.cli.predict.help"))
    predict.add_argument("model", metavar="RUN_DIR|MODEL.keras")
    predict.add_argument("images", metavar="IMAGE", nargs="+")
    predict.add_argument("--top", type=int, default=3, help=t("train.cli.predict.top"))
    predict.add_argument("--json", action="store_true", help=t("train.cli.json_object"))
    predict.set_defaults(func=cmd_predict)


def _finite(value):
    return value if isinstance(value, (int, float)) and math.isfinite(value) else None


def _default_name(spec_arg: str | None) -> str | None:
    if spec_arg is None:
        return None  # a fine-tune: named after its run
    return Path(spec_arg).stem if Path(spec_arg).is_file() else spec_arg


def cmd_train(args) -> int:
    from lab import speed
    from lab.presets import resolve
    from lab.train import runs, status
    from lab.train.config import TrainConfig
    from lab.train.live import Job

    spec = resolve(args.spec) if args.spec else None
    if args.patience < 0:
        raise LabError(t("train.cli.patience_negative", value=args.patience))
    config = TrainConfig(
        data_path=args.data, spec=spec, epochs=args.epochs, batch_size=args.batch_size, seed=args.seed,
        validation_split=args.validation_split,
        early_stopping={"monitor": "val_loss", "patience": args.patience, "restore_best_weights": True}
        if args.patience else None,
        reduce_lr={"monitor": "val_loss", "factor": 0.5, "patience": 2, "min_lr": 1e-5} if args.reduce_lr else None,
        runs_root=args.runs, name=args.name or _default_name(args.spec), from_run=args.from_run, freeze=args.freeze,
        run_dir=args.out, strategy=args.strategy, precision=args.precision)
    config.check()

    from lab.train.callbacks import TerminalProgress

    job = Job(config)
    previous = signal.getsignal(signal.SIGINT)

    def on_interrupt(signum, frame):
        print("\n" + t("train.cli.stopping"), file=sys.stderr)
        signal.signal(signal.SIGINT, previous)
        job.stop()

    signal.signal(signal.SIGINT, on_interrupt)
    try:
        snap = job.run(extra_callbacks=[TerminalProgress(config.epochs)])
    finally:
        signal.signal(signal.SIGINT, previous)

    for diagnosis in snap.diagnostics:
        print(f"{diagnosis.title}: {diagnosis.message}", file=sys.stderr)
    if snap.status == status.FAILED:
        if args.json:
            print(json.dumps({"run_dir": snap.run_dir, "status": status.FAILED, "error": snap.error}))
        if job.user_error:
            raise LabError(snap.error)
        print(t("train.cli.error", error=snap.error), file=sys.stderr)
        return 1
    meta = runs.read_json(Path(snap.run_dir) / runs.META) if snap.run_dir else None
    for sentence in speed.sentences(meta or {}):
        print(sentence, file=sys.stderr)
    history = snap.history
    val_losses = [row["val_loss"] for row in history if _finite(row.get("val_loss")) is not None]
    metrics = snap.metrics or {}
    best = snap.best or {}
    result = {
        "run_dir": snap.run_dir,
        "status": snap.status,
        "epochs": len(history),
        "best_epoch": best.get("epoch"),
        "best_val_loss": min(val_losses) if val_losses else None,
        "best_val_accuracy": best.get("val_accuracy"),
        "final_loss": _finite(history[-1].get("loss")) if history else None,
        "seconds": round(snap.elapsed, 2),
        "diagnostics": [d.code for d in snap.diagnostics],
        "precision": speed.trained_policy(meta or {}),
        "xla": speed.trained_with_xla(meta or {}),
    }
    if metrics.get("split") == "Test":
        result["test_accuracy"] = metrics.get("accuracy")
        result["test_loss"] = metrics.get("loss")
    elif metrics:
        result["val_accuracy"] = metrics.get("accuracy")
    if args.json:
        print(json.dumps(result))
    else:
        print(t("train.cli.saved", run_dir=snap.run_dir, status=snap.status, epochs=len(history),
                seconds=snap.elapsed))
        if "test_accuracy" in result:
            print(t("train.cli.test_scores", accuracy=result["test_accuracy"], loss=result["test_loss"]))
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
    print(t("train.cli.evaluate.scores", split=result["split"], accuracy=result["accuracy"], loss=result["loss"],
            n=result["n"]))
    for name, row in result["per_class"].items():
        if row["support"]:
            precision = "—" if row["precision"] is None else number(row["precision"], ".3f")
            print("  " + t("train.cli.evaluate.class_row", name=name, precision=precision, recall=row["recall"],
                           n=row["support"]))
    return 0


def cmd_predict(args) -> int:
    if args.top < 1:
        raise LabError(t("train.cli.top_too_small", value=args.top))
    from lab.train.predicting import predict_files

    results = predict_files(args.model, args.images, k=args.top)
    if args.json:
        print(json.dumps({"model": args.model, "predictions": results}))
        return 0
    for item in results:
        print(item["image"] + (f"  ({item['message']})" if item.get("message") else ""))
        for name, prob in item["top"]:
            print(f"  {name:>12}  {prob:.4f}")
        if item.get("familiarity"):
            print("  " + (item["familiarity"].get("sentence") or item["familiarity"]["problem"]))
    return 0
