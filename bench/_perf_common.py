"""Small helpers shared by the bench/perf_*.py scripts: paths, medians, the summary line, machine facts."""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
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


def spread(values, unit: str = "s", digits: int = 2, scale: float = 1.0) -> str:
    """"median (min-max, n rounds)": how every figure of the benchmarks is reported."""
    values = [v * scale for v in values]
    f = f"{{:.{digits}f}}"
    sep = "" if unit in ("", "%", "x") else " "
    return (f"{f.format(median(values))}{sep}{unit} (min-max {f.format(min(values))}-{f.format(max(values))}, "
            f"{len(values)} rounds)")


def fmt_times(values, unit="s", scale=1.0) -> str:
    return ", ".join(f"{v * scale:.3f}" for v in values) + f" {unit}"


def machine() -> str:
    try:
        load = "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:
        load = "load ?"
    return f"{platform.machine()}, {os.cpu_count()} cores, {gpu()}, Python {platform.python_version()}, {load}"


def gpu() -> str:
    """The GPUs that ``nvidia-smi`` lists ("no GPU" without one), asked without importing TensorFlow."""
    if not shutil.which("nvidia-smi"):
        return "no GPU"
    try:
        names = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                               text=True, timeout=20).stdout.split("\n")
    except (OSError, subprocess.SubprocessError):
        return "GPU unknown"
    names = [name.strip() for name in names if name.strip()]
    return f"GPU {', '.join(names)}" if names else "no GPU"


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
