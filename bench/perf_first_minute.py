"""A newcomer's first minute, in Chromium: open the lab, get the built-in digits, train the defaults, draw a digit.

Each round starts a fresh server (``streamlit run``) with empty temporary CNN_LAB_DATA, CNN_LAB_RUNS and
CNN_LAB_WORKSPACE folders, as on a first run, and does what a newcomer does, with no time spent reading:

1. opens the page: the Dataset page finds no dataset and generates the built-in digits;
2. goes to Train (once the Dataset page says the digits are made) and presses "Start training" with every
   setting at its default;
3. when the run has finished (and been scored on its Test split), presses "Predict with this model";
4. draws a digit on the canvas with the mouse and waits for the guess on screen.

The total is from opening the page to that first guess. The parts: the page drawn, the digits made (the progress
bar says done), the rest of the Dataset page, Train opened and Start pressed, Start to the end of the run (split,
from the run's own record, into waiting for a training worker, the job itself: load and build, the epochs, the
scoring; and the page noticing the end), and the first guess. Then the same page reads 20 drawn digits (0-9 in two
hands, ``bench/_drawn_digits.py``): how many it reads right is the model's figure on drawings, the one no speed-up
may lower.

    .venv/bin/python bench/perf_first_minute.py             # 5 rounds (about 6-8 minutes)
    .venv/bin/python bench/perf_first_minute.py --quick     # 1 round
    .venv/bin/python bench/perf_first_minute.py --repo DIR  # another checkout of the lab (same virtual environment)
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import tempfile
import time
from pathlib import Path

from _drawn_digits import draw, drawings
from _perf_common import REPO, machine, median, spread, verdict

TARGET_S = 30.0
GUESS = "h3:has-text('·')"  # the top guess: "7 · 98%"


def _nav(page, name: str) -> None:
    page.locator("[data-testid=stSidebarNav] a, [data-testid=stSidebarNavLink]").filter(has_text=name).first.click()


def _canvas(page):
    """The empty canvas, once the page around it has settled (strokes drawn while it moves miss it)."""
    from _perf_browser import wait_idle

    page.get_by_text("Draw something on the canvas").first.wait_for(timeout=60_000)
    component = page.locator("[data-testid=stBidiComponentIsolated]").last
    component.locator("canvas").nth(2).wait_for(timeout=60_000)  # the drawing library's three layers are up
    wait_idle(page)
    page.wait_for_timeout(300)
    return component.locator("canvas").last


def _read(page, strokes, first: bool = False) -> tuple[str, float, float, int]:
    """Draws on an empty canvas; (the top guess, seconds drawing, seconds from the pen's lift to the guess, tries).

    A drawing the page did not take (no guess within a while) is cleared and drawn again; the tries are counted.
    """
    for tries in range(1, 4):
        canvas = _canvas(page)
        began = time.perf_counter()
        draw(page, canvas, strokes)
        lifted = time.perf_counter()
        heading = page.locator(GUESS).first
        try:
            heading.wait_for(timeout=120_000 if first else 20_000)
        except Exception:  # noqa: BLE001 - Playwright's timeout: draw it again
            _clear(page)
            continue
        done = time.perf_counter()
        if len(strokes) > 1:  # the first guess may be of the first strokes alone: wait for the whole drawing's
            _settle(page, heading)
        return heading.inner_text().split("·")[0].strip(), lifted - began, done - lifted, tries
    raise RuntimeError("the page gave no guess for a drawing three times")


def _settle(page, heading) -> None:
    """Until the page has been idle, with the same guess, for a second: the last stroke's run is then shown."""
    from _perf_browser import wait_idle

    page.wait_for_timeout(1000)
    shown = None
    while True:
        wait_idle(page)
        text = heading.inner_text()
        if text == shown:
            return
        shown = text
        page.wait_for_timeout(1000)


def _clear(page) -> None:
    page.get_by_role("button", name="Clear").click()
    page.locator(GUESS).first.wait_for(state="detached", timeout=60_000)


def _run_record(runs: Path, started_at: float, shown_at: float) -> dict:
    """The run's own record; with the wall-clock times of the Start click and of the button that ends the run, also
    the wait before the job began (a worker loading TensorFlow) and after it ended (the page noticing)."""
    run = next(p for p in runs.iterdir() if (p / "meta.json").is_file())
    meta = json.loads((run / "meta.json").read_text())
    ended_at = (run / "meta.json").stat().st_mtime  # written as the job ends
    durations = meta.get("durations") or {}
    with open(run / "history.csv", newline="") as handle:
        epochs = [float(row["seconds"]) for row in csv.DictReader(handle) if row.get("seconds")]
    metrics_file = run / "metrics.json"
    metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}
    total, fit = durations.get("total_seconds", 0.0), durations.get("fit_seconds", 0.0)
    return {"job": total, "job_setup": total - fit, "epochs_run": len(epochs), "epoch_mean": sum(epochs) / len(epochs),
            "epochs_total": sum(epochs), "after_epochs": fit - sum(epochs), "test_accuracy": metrics.get("accuracy"),
            "before_job": ended_at - total - started_at, "after_job": shown_at - ended_at}


def one_round(context, repo: Path, read_all: bool, digits_only: bool = False) -> dict:
    from _perf_browser import Server, show_failure

    tmp = Path(tempfile.mkdtemp(prefix="perf-first-minute-"))
    server = Server(tmp / "Data", tmp / "runs", workspace_dir=tmp / "workspace", repo=repo)
    page = context.new_page()
    out: dict = {}
    try:
        out["server"] = server.wait_healthy()
        opened = time.perf_counter()
        page.goto(server.url)
        page.get_by_role("heading", name="Dataset", level=1).wait_for(timeout=60_000)
        out["page"] = time.perf_counter() - opened
        page.get_by_text("Done.", exact=True).first.wait_for(timeout=300_000)
        out["digits"] = time.perf_counter() - opened - out["page"]
        page.get_by_text("Made the built-in dataset").first.wait_for(timeout=300_000)
        mark = time.perf_counter()
        out["dataset_page"] = mark - opened - out["page"] - out["digits"]
        if digits_only:
            return out
        _nav(page, "Train")
        start = page.get_by_role("button", name="Start training")
        start.wait_for(timeout=60_000)
        start.click()
        started, started_at = time.perf_counter(), time.time()
        out["to_start"] = started - mark
        go = page.get_by_role("button", name="Predict with this model")
        go.wait_for(timeout=900_000)
        trained, shown_at = time.perf_counter(), time.time()
        out["train"] = trained - started
        go.click()
        first = drawings()[0]
        label, drawing, guess, tries = _read(page, first[2], first=True)
        done = time.perf_counter()
        out["predict"] = done - trained
        out["draw"], out["guess"], out["redrawn"] = drawing, guess, tries - 1
        out["total"] = done - opened
        out.update(_run_record(tmp / "runs", started_at, shown_at))
        print(f"  first guess after {out['total']:.1f}s", flush=True)
        read = [(first[0], first[1], label)]
        if read_all:
            for hand, digit, strokes in drawings()[1:]:
                _clear(page)
                label, _, _, more = _read(page, strokes)
                read.append((hand, digit, label))
                out["redrawn"] += more - 1
        out["read"] = read
        out["right"] = sum(digit == label for _, digit, label in read)
        return out
    except Exception:
        show_failure(page, server, "perf-first-minute")
        raise
    finally:
        page.close()
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


PARTS = [("page", "page drawn"), ("digits", "digits made"), ("dataset_page", "rest of the Dataset page"),
         ("to_start", "to Start"), ("train", "training"), ("predict", "to the first guess")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--repo", type=Path, default=REPO, help="the lab's checkout to run (default: this one)")
    parser.add_argument("--digits-only", action="store_true", help="stop once the Dataset page has made the digits")
    args = parser.parse_args()
    rounds = args.rounds or (1 if args.quick else 5)

    from _perf_browser import browser

    print(f"machine: {machine()}; lab: {args.repo}")
    if args.digits_only:
        with browser() as context:
            context.new_page().goto("about:blank")
            for r in range(rounds):
                result = one_round(context, args.repo, read_all=False, digits_only=True)
                print(f"round {r + 1}/{rounds}: page {result['page']:.1f}s, digits {result['digits']:.1f}s, rest of "
                      f"the Dataset page {result['dataset_page']:.1f}s; {machine()}", flush=True)
        return 0
    results = []
    with browser() as context:
        context.new_page().goto("about:blank")  # Chromium's own first page, not counted
        for r in range(rounds):
            result = one_round(context, args.repo, read_all=True)
            results.append(result)
            wrong = ", ".join(f"{hand} {digit} as {label}" for hand, digit, label in result["read"] if label != digit)
            print(f"round {r + 1}/{rounds}: total {result['total']:.1f}s = "
                  + " + ".join(f"{name} {result[key]:.1f}" for key, name in PARTS)
                  + f"; training = waiting {result['before_job']:.1f} + job {result['job']:.1f}s (setup "
                  f"{result['job_setup']:.1f}, {result['epochs_run']} epochs {result['epochs_total']:.1f}, then "
                  f"{result['after_epochs']:.1f}) + page {result['after_job']:.1f}; test accuracy "
                  f"{result['test_accuracy']:.3f}; drawn digits read right {result['right']}/{len(result['read'])}"
                  f" ({result['redrawn']} drawn again)"
                  + (f" (wrong: {wrong})" if wrong else "") + f"; {machine()}", flush=True)

    def col(key):
        return [r[key] for r in results]

    for key, name in PARTS + [("before_job", "before the job"), ("job", "the job"), ("after_job", "after the job"),
                              ("total", "total")]:
        print(f"{name:>25s}: {spread(col(key))}")
    print(f"{'epochs run':>25s}: {', '.join(str(v) for v in col('epochs_run'))}; per epoch {spread(col('epoch_mean'))}")
    print(f"{'test accuracy':>25s}: {spread(col('test_accuracy'), '%', 1, 100)}")
    right, count = col("right"), len(results[0]["read"])
    print(f"{'drawn digits right':>25s}: {', '.join(f'{v}/{count}' for v in right)}")
    total = median(col("total"))
    print(f"SUMMARY first minute: open page -> built-in digits -> default training -> first drawn digit read "
          f"{spread(col('total'), digits=1)}; drawn digits read right median {median(right):g}/{count} "
          f"(min {min(right)}); target < {TARGET_S:g} s {verdict(total < TARGET_S)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
