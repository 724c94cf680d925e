"""The "Start from" choice of the Train page: how long listing the runs that can start a dataset takes.

``lab.train.finetune.starting_points`` runs on every draw of the Train page (and of My samples): it reads every run
with a model and checks it against the chosen dataset. The dataset's class names are read once for all runs; the
comparison is the same check reading them once per run, as each run's own ``check_start`` would; the Train page
passes the names it already holds (its cached dataset info), so it reads none. Runs: one small
trained run copied RUNS times. Dataset: the Sign Language MNIST test split (7,172 images, 24 classes), else the
built-in digits. Median and min-max of the rounds, and the ratio of the medians.

    .venv/bin/python bench/perf_starting_points.py            # 20 runs, 5 rounds
    .venv/bin/python bench/perf_starting_points.py --runs 50
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from _perf_common import REPO, SIGN_MNIST, machine, median, spread

sys.path.insert(0, str(REPO / "tests"))

from lab.train import finetune, runs  # noqa: E402
from lab.train.data_access import class_names_of  # noqa: E402


def dataset() -> Path:
    if (SIGN_MNIST / "Test").is_dir():
        return SIGN_MNIST
    from lab.data.sample_digits import NAME
    from lab.paths import data_root

    return data_root() / NAME


def make_runs(root: Path, count: int) -> Path:
    from ui_support import make_dataset, train_run

    data = make_dataset(root / "Data", train=8, test=2)
    first = train_run(data, root / "runs", epochs=1, name="base")
    for index in range(1, count):
        shutil.copytree(first, root / "runs" / f"{first.name}-{index:03d}")
    return root / "runs"


def per_run_scan(data: Path, runs_root: Path) -> list:
    return [(info, finetune.start_problem(info.path, data)) for info in runs.list_runs(runs_root) if info.has_model]


def timed(function, rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    data = dataset()
    with tempfile.TemporaryDirectory() as folder:
        runs_root = make_runs(Path(folder), args.runs)
        classes = class_names_of(data)
        known = lambda: finetune.starting_points(data, runs_root, data_classes=classes)  # noqa: E731
        once = lambda: finetune.starting_points(data, runs_root)  # noqa: E731
        each = lambda: per_run_scan(data, runs_root)  # noqa: E731
        assert [reason for _, reason in once()] == [reason for _, reason in each()]
        once(), each()  # the files' headers are in the page cache for both
        cached, now, before = timed(known, args.rounds), timed(once, args.rounds), timed(each, args.rounds)
    print(f"machine: {machine()}")
    print(f"dataset: {data.name}; {args.runs} runs")
    print(f"classes known (the page's cache):   {spread(cached, 'ms', 1, 1000)}")
    print(f"starting_points, classes read once: {spread(now, 'ms', 1, 1000)}")
    print(f"classes read once per run:          {spread(before, 'ms', 1, 1000)}")
    print(f"ratio known / per run: {median(cached) / median(before):.3f}; once / per run: "
          f"{median(now) / median(before):.3f}")


if __name__ == "__main__":
    main()
