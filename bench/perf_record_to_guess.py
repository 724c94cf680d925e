"""Record -> fine-tune -> predict, in Chromium with the fake webcam: from the first snapshot to a new one read.

Each round starts a fresh server (``streamlit run``) over temporary CNN_LAB_DATA, CNN_LAB_RUNS and
CNN_LAB_WORKSPACE folders holding what the fine-tuning test of tests/browser/test_record_browser.py starts from:
the square/stripes dataset ``tiny``, the finished run ``squares`` trained on it for 4 epochs (made once, copied
into every round) and an empty recorded dataset with the same two classes. The camera is Chromium's fake one,
playing a filled square on the left and stripes on the right (the test's video). Before the clock starts, the
Predict page is open on the webcam, the recorded dataset and the first class are chosen, the crop square sits on
the filled square, and the server has imported TensorFlow in the background. Then, as a person does:

1. recording: presses "Burst of 5" (the page's default burst, one a second) for "square" (the clock starts at this
   click), picks "stripes", moves the crop square onto the stripes and records a burst of 5 again, until the page
   says the last snapshot is saved;
2. training: goes to "My samples", presses "Train on this dataset", chooses "Start from" the run ``squares`` and
   presses "Start training" with every other setting at the page's default (8 epochs, batch 32, early stopping on),
   until the page says the fine-tuned run has finished;
3. predicting: presses "Predict with this model", opens the webcam, puts the crop square back on the filled square,
   takes a photo, and the clock stops when the guess is on screen.

Per round: the total, the three parts (training split into the clicks up to Start and Start to the end, that one
into waiting for a training worker, the job from its own record, and the page noticing the end), the snapshots
saved per class and the guess. The test's helpers that pick an option and place the crop square end with a fixed
0.6 s pause for the page to settle; they run five times inside the clock (3 s of the total, a quick person).

    .venv/bin/python bench/perf_record_to_guess.py             # 5 rounds (about 3 minutes)
    .venv/bin/python bench/perf_record_to_guess.py --quick     # 1 round
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from _perf_common import REPO, machine, spread

sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "browser")]

from _harness import FAKE_CAMERA, write_y4m  # noqa: E402
from test_record_browser import LEFT, RIGHT, choose, open_webcam, place_square, two_shapes  # noqa: E402

from lab.data import samples  # noqa: E402

DATASET = "fine-shapes"
CLASSES = ("square", "stripes")
BURST = 5  # the Predict page's default burst
SETTLE_S = 2.0  # after TensorFlow's library is mapped into the server: the import goes on a while


def prepare(base: Path) -> None:
    """The lab every round starts from: the square/stripes dataset and the run ``squares`` trained on it."""
    from ui_support import make_dataset, train_run

    make_dataset(base / "Data", train=40)
    train_run(base / "Data" / "tiny", base / "runs", epochs=4, name="squares")


def _nav(page, name: str) -> None:
    page.locator("[data-testid=stSidebarNav] a, [data-testid=stSidebarNavLink]").filter(has_text=name).first.click()


def _burst(page, cls: str) -> None:
    page.get_by_role("button", name=f"Burst of {BURST}, one a second").click()
    page.get_by_text(f"Burst photo {BURST} of {BURST} saved in {cls}").wait_for(timeout=60_000)


def _read_new_photo(page) -> str:
    """Takes a photo and waits for its guess. The last burst snapshot's guess is on the page already (by the new
    model): the new one is a guess drawn by a later script run than it, beside a picture the page did not show."""
    shown = page.evaluate("() => Array.from(document.querySelectorAll('[data-testid=stMain] img'), i => i.src)")
    page.get_by_role("button", name="Take photo").click()
    guess = page.wait_for_function(
        """shown => {
             const main = document.querySelector('[data-testid=stMain]');
             if (!Array.from(main.querySelectorAll('img')).some(i => !shown.includes(i.src))) return null;
             const fresh = Array.from(main.querySelectorAll('h3')).find(h => h.innerText.includes('·')
                 && h.closest('[data-testid=stElementContainer]').dataset.stale !== 'true');
             return fresh ? fresh.innerText : null;
           }""",
        arg=shown, timeout=120_000, polling="raf")
    return guess.json_value()


def _job(runs: Path, before: set[str], started_at: float, shown_at: float) -> dict:
    """The fine-tuned run's own record; with the wall-clock times of the Start click and of the page saying it
    finished, the wait before the job began (a worker loading TensorFlow) and after it ended (the page noticing)."""
    [run] = [path for path in runs.iterdir() if path.name not in before and (path / "meta.json").is_file()]
    meta = json.loads((run / "meta.json").read_text())
    ended_at = (run / "meta.json").stat().st_mtime  # written as the job ends
    job, config = meta["durations"]["total_seconds"], meta["config"]
    settings = (f"{meta['epochs_done']} of {config['epochs']} epochs, batch {config['batch_size']}, early stopping "
                f"{'on' if config['early_stopping'] else 'off'}")
    return {"job": job, "settings": settings, "before_job": ended_at - job - started_at,
            "after_job": shown_at - ended_at}


def _wait_for_tensorflow(server, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not server.has_tensorflow() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(SETTLE_S)


def one_round(base: Path, context) -> dict:
    from _perf_browser import Server, show_failure, wait_idle

    tmp = Path(tempfile.mkdtemp(prefix="perf-record-to-guess-"))
    data, runs = tmp / "Data", tmp / "runs"
    shutil.copytree(base / "Data", data)
    shutil.copytree(base / "runs", runs)
    samples.new_dataset(DATASET, CLASSES, source="tiny", root=data)
    first_runs = {path.name for path in runs.iterdir()}
    server = Server(data, runs, workspace_dir=tmp / "workspace")
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.set_viewport_size({"width": 1400, "height": 1500})  # the camera and its controls on one screen
    out: dict = {}
    try:
        server.wait_healthy()
        context.grant_permissions(["camera"], origin=server.url)
        open_webcam(page, server.url)
        choose(page, "Dataset", DATASET)
        choose(page, "Class", CLASSES[0])
        place_square(page, LEFT)
        _wait_for_tensorflow(server)

        began = time.perf_counter()
        _burst(page, CLASSES[0])
        wait_idle(page)
        choose(page, "Class", CLASSES[1])
        place_square(page, RIGHT)
        _burst(page, CLASSES[1])
        recorded = time.perf_counter()
        out["snapshots"] = samples.counts(DATASET, data)

        _nav(page, "My samples")
        page.get_by_role("heading", name="My samples").wait_for(timeout=60_000)
        wait_idle(page)
        choose(page, "Dataset", DATASET)
        page.get_by_role("button", name="Train on this dataset").click()
        page.get_by_role("heading", name="Train").wait_for(timeout=60_000)
        wait_idle(page)
        choose(page, "Start from", "squares · tiny")
        page.get_by_role("button", name="Start training").click()
        started, started_at = time.perf_counter(), time.time()
        page.get_by_text("Finished squares fine-tuned.").wait_for(timeout=600_000)
        trained, shown_at = time.perf_counter(), time.time()

        page.get_by_role("button", name="Predict with this model →").click()
        page.get_by_role("heading", name="Predict").wait_for(timeout=60_000)
        wait_idle(page)
        page.get_by_text("Webcam", exact=True).click()
        page.locator(".sq[data-ready=true]").wait_for(timeout=60_000)
        wait_idle(page)
        place_square(page, LEFT)
        guess = _read_new_photo(page)
        done = time.perf_counter()

        out.update(total=done - began, recording=recorded - began, to_start=started - recorded,
                   train=trained - started, predicting=done - trained, guess=guess,
                   **_job(runs, first_runs, started_at, shown_at))
        out["training"] = out["to_start"] + out["train"]
        return out
    except Exception:
        show_failure(page, server, "perf-record-to-guess")
        raise
    finally:
        page.close()
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


PARTS = [("recording", "recording"), ("training", "training"), ("predicting", "predicting")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args()
    rounds = args.rounds or (1 if args.quick else 5)

    from _perf_browser import browser

    print(f"machine: {machine()}")
    results = []
    with tempfile.TemporaryDirectory(prefix="perf-record-to-guess-base-") as folder:
        base = Path(folder)
        prepare(base)
        video = write_y4m(base / "shapes.y4m", two_shapes())
        with browser([*FAKE_CAMERA, f"--use-file-for-fake-video-capture={video}"]) as context:
            context.new_page().goto("about:blank")  # Chromium's own first page, not counted
            for r in range(rounds):
                result = one_round(base, context)
                results.append(result)
                print(f"round {r + 1}/{rounds}: total {result['total']:.1f}s = recording {result['recording']:.1f} "
                      f"+ training {result['training']:.1f} (to Start {result['to_start']:.1f}, Start to finished "
                      f"{result['train']:.1f} = waiting {result['before_job']:.1f} + job {result['job']:.1f} + page "
                      f"{result['after_job']:.1f}; {result['settings']}) + predicting "
                      f"{result['predicting']:.1f}; snapshots {result['snapshots']}; guess {result['guess']!r}; "
                      f"{machine()}", flush=True)

    def col(key):
        return [r[key] for r in results]

    for key, name in [*PARTS, ("to_start", "clicks up to Start"), ("train", "Start to finished"),
                      ("before_job", "before the job"), ("job", "the job"), ("after_job", "after the job"),
                      ("total", "total")]:
        print(f"{name:>20s}: {spread(col(key))}")
    per_class = sorted({count for r in results for count in r["snapshots"].values()})
    right = sum(r["guess"].startswith(CLASSES[0]) for r in results)
    print(f"SUMMARY record -> fine-tune -> predict in Chromium, first snapshot -> new snapshot read "
          f"{spread(col('total'), digits=1)}: recording {spread(col('recording'), digits=1)}, training "
          f"{spread(col('training'), digits=1)}, predicting {spread(col('predicting'), digits=1)}; "
          f"{'/'.join(map(str, per_class))} snapshots per class; new snapshot read right {right}/{len(results)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
