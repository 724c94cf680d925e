"""Command-line subcommands for datasets: `make-sample-data` and `import-csv`."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from lab.i18n import t
from lab.paths import data_root


def register(subparsers) -> None:
    """Adds the dataset commands, worded in the current language (see `lab.cli.make_parser`)."""
    from lab.data.sample_digits import LARGE_PER_CLASS, NAME, TRAIN_PER_CLASS

    make = subparsers.add_parser("make-sample-data", help=t("cli.make.help"), description=t("cli.make.description"))
    make.add_argument("--out", type=Path, default=None, help=t("cli.make.out_help", default=data_root() / NAME))
    make.add_argument("--seed", type=int, default=0, help=t("cli.make.seed_help"))
    make.add_argument("--per-class", type=int, default=TRAIN_PER_CLASS,
                      help=t("cli.make.per_class_help", default=TRAIN_PER_CLASS, large=LARGE_PER_CLASS))
    make.add_argument("--replace", action="store_true", help=t("cli.make.replace_help"))
    make.set_defaults(func=_make_sample_data)

    imp = subparsers.add_parser("import-csv", help=t("cli.import.help"), description=t("cli.import.description"))
    imp.add_argument("csv", type=Path, help=t("cli.import.csv_help"))
    imp.add_argument("--out", type=Path, required=True,
                     help=t("cli.import.out_help", example=data_root() / "sign-mnist"))
    imp.add_argument("--split", choices=["Train", "Test"], default="Train", help=t("cli.import.split_help"))
    imp.add_argument("--replace", action="store_true", help=t("cli.import.replace_help"))
    imp.set_defaults(func=_import_csv)


class ProgressBar:
    """A one-line text progress bar on stderr, for `progress(fraction, text)` callbacks."""

    def __init__(self, stream=None, width: int = 30):
        self.stream = stream or sys.stderr
        self.width = width
        self.start = time.monotonic()
        self._last = -1

    def __call__(self, fraction: float, text: str = "") -> None:
        filled = int(round(max(0.0, min(1.0, fraction)) * self.width))
        percent = int(fraction * 100)
        if percent == self._last and fraction < 1.0:
            return
        self._last = percent
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r[{bar}] {percent:3d}% {text[:60]:<60}")
        self.stream.flush()

    def close(self) -> None:
        if self._last >= 0:  # end the bar's line; nothing to end when it never drew
            self.stream.write("\n")
            self.stream.flush()


def _made_by_us(folder: Path, name: str) -> bool:
    """True when ``folder`` is a dataset the digits generator wrote (its dataset.json names it)."""
    import json

    from lab.data.discovery import METADATA_FILE

    try:
        return json.loads((folder / METADATA_FILE).read_text()).get("name") == name
    except (OSError, ValueError, AttributeError):
        return False


def _make_sample_data(args) -> int:
    from lab.data import sample_digits
    from lab.data.folders import WouldReplace, check_target
    from lab.errors import LabError

    if args.per_class < 1:
        raise LabError(t("cli.make.bad_per_class", per_class=args.per_class))
    out = args.out or data_root() / sample_digits.name_for(args.per_class)
    if not _made_by_us(out, sample_digits.NAME):  # regenerating the digits is fine; replacing other data is not
        try:
            check_target(out, args.replace)
        except WouldReplace as refusal:
            raise LabError(refusal.sentence(t("cli.replace_fix"))) from None
    bar = ProgressBar()
    start = time.monotonic()
    try:
        sample_digits.make(out, seed=args.seed, progress=bar, train_per_class=args.per_class)
    finally:
        bar.close()
    print(t("cli.make.done", out=out, seconds=time.monotonic() - start))
    return 0


def _import_csv(args) -> int:
    from lab.data.csv_import import import_csv
    from lab.data.folders import WouldReplace
    from lab.errors import LabError

    bar = ProgressBar()
    try:
        counts = import_csv(args.csv, args.out, split=args.split, progress=bar, replace=args.replace)
    except WouldReplace as refusal:
        raise LabError(refusal.sentence(t("cli.replace_fix"))) from None
    finally:
        bar.close()
    print(t("cli.import.done", count=sum(counts.values()), classes=len(counts), folder=Path(args.out) / args.split))
    return 0
