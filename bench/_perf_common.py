"""Small helpers shared by the bench/perf_*.py scripts: paths, medians, the summary line, machine facts."""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SIGN_MNIST = Path(__file__).resolve().parents[2] / "shared/datasets/sign_language_mnist"

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def median(values) -> float:
    return float(statistics.median(values))


def fmt_times(values, unit="s", scale=1.0) -> str:
    return ", ".join(f"{v * scale:.3f}" for v in values) + f" {unit}"


def machine() -> str:
    try:
        load = "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:
        load = "load ?"
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {load}"


def need_sign_mnist() -> Path:
    root = SIGN_MNIST
    if not (root / "Test").is_dir():
        print(f"The Sign Language MNIST images are not at {root}; put them there (Test/<letter>/*.png).")
        sys.exit(2)
    return root


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


class Stopwatch:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
        return False
