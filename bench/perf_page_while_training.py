"""The page while someone trains: a change on the Architecture page until the shape table shows it, with and
without a run training, in one streamlit server, with two browsers (two people).

For each way of training, one server: person B times ``--changes`` changes of the first Conv2D's filters (Enter
to the table in the DOM showing the new parameters) while nothing trains; person A starts the built-in digits
(``recommended`` preset, 200 epochs, no early stopping) on the Train page; B times the same changes while it
trains; A stops it once it has ``--epochs`` full epochs; B times them again with nothing training. The ratio is
the median while training over the median of both idle sets. The run's own epoch times (history.csv, first
epoch left out) show what each way costs the training.

Ways of training (the server's environment):

- thread:  CNN_LAB_WORKERS=0, the job in a thread of the server (how the lab trained before worker processes);
- worker, nice 0: one worker process on every core (TensorFlow's own thread count), the server's priority;
- worker, one core free, nice 0: one TensorFlow thread, so a core stays free for the page;
- worker, one core free, nice 5: the same at a lower priority;
- worker, default: the lab's default (every core shared among the workers, nice 5).

    .venv/bin/python bench/perf_page_while_training.py                 # every way (about 20 minutes here)
    .venv/bin/python bench/perf_page_while_training.py --ways thread "worker, default"
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _perf_common import REPO, machine, median, verdict

TARGET_RATIO = 1.5
WAYS = {
    "thread": {"CNN_LAB_WORKERS": "0"},
    "worker, nice 0": {"CNN_LAB_WORKERS": "1", "CNN_LAB_WORKER_THREADS": "0", "CNN_LAB_WORKER_NICE": "0"},
    "worker, one core free, nice 0": {"CNN_LAB_WORKERS": "1", "CNN_LAB_WORKER_THREADS": "1",
                                      "CNN_LAB_WORKER_NICE": "0"},
    "worker, one core free, nice 5": {"CNN_LAB_WORKERS": "1", "CNN_LAB_WORKER_THREADS": "1",
                                      "CNN_LAB_WORKER_NICE": "5"},
    "worker, default": {"CNN_LAB_WORKERS": "1"},
}


def measure(way: str, env: dict, data: Path, changes: int, epochs: int) -> dict:
    from _perf_browser import Server, wait_idle
    from _perf_people import (
        chromium,
        epoch_seconds,
        open_shape_table,
        person,
        start_run,
        table_latencies,
        wait_training,
    )

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "runs").mkdir()
        server = Server(data, tmp / "runs", env={**env, "CNN_LAB_WORKSPACE": str(tmp / "workspace")})
        try:
            server.wait_healthy()
            with chromium() as browser:
                editor, trainer = person(browser), person(browser)
                table = open_shape_table(editor, server.url)
                table_latencies(editor, table, 2)  # first-use code paths
                idle = table_latencies(editor, table, changes)
                start_run(trainer, server.url, epochs=200)
                wait_training(trainer)
                busy = table_latencies(editor, table, changes)
                [run_dir] = list((tmp / "runs").iterdir())
                trainer.wait_for_function(
                    "(n) => Array.from(document.querySelectorAll('[data-testid=stProgress]'))"
                    ".some(e => { const m = e.innerText.match(/Epoch (\\d+)\\//); return m && +m[1] > n; })",
                    arg=epochs, timeout=1_200_000, polling=1000)
                trainer.get_by_role("button", name="Stop", exact=True).click()
                trainer.get_by_text("Stopped by you", exact=False).first.wait_for(timeout=300_000)
                wait_idle(trainer)
                idle += table_latencies(editor, table, changes)
                seconds = epoch_seconds(run_dir)
        finally:
            server.stop()
    return {"idle": idle, "busy": busy, "ratio": median(busy) / median(idle), "epoch": seconds}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ways", nargs="+", default=list(WAYS), choices=list(WAYS))
    parser.add_argument("--changes", type=int, default=6, help="timed changes per set (three sets)")
    parser.add_argument("--epochs", type=int, default=3, help="full epochs before the run is stopped")
    parser.add_argument("--data", type=Path, default=REPO / "Data", help="a data folder holding sketch-digits")
    args = parser.parse_args()
    if not (args.data / "sketch-digits").is_dir():
        print(f"No {args.data / 'sketch-digits'}: run .venv/bin/python -m lab make-sample-data first.")
        return 2
    from _perf_people import spread

    print(f"machine: {machine()}")
    results = {}
    for way in args.ways:
        found = results[way] = measure(way, WAYS[way], args.data, args.changes, args.epochs)
        print(f"{way}:\n  idle     {spread(found['idle'])}\n  training {spread(found['busy'])}\n"
              f"  ratio {found['ratio']:.2f}; epoch time {spread(found['epoch'], 's', 1)}  ({machine()})", flush=True)
    default = results.get("worker, default")
    parts = [f"{way} {found['ratio']:.2f}x" for way, found in results.items()]
    ok = default is not None and default["ratio"] <= TARGET_RATIO
    print(f"SUMMARY page while training, change -> table, training/idle: {'; '.join(parts)} "
          f"(target <= {TARGET_RATIO:g}x for the default) {verdict(ok)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
