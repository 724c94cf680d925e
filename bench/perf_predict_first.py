"""The first guess after opening the Predict page, with and without the background model load, in Chromium.

Each round starts a fresh server (``streamlit run``) over a tiny dataset and one finished run, opens the lab on its
first page, and waits until TensorFlow is imported in the background and a few seconds more (a person reading the
page). Then it clicks "Predict", picks "Upload" and uploads a 28x28 PNG, and times the click to the first guess on
screen (and, inside that, the upload to the guess).

- before: ``CNN_LAB_MODEL_PRELOAD=0``: the model loads when the first guess asks for it (the old path);
- after:  the newest run's model was loaded in the background once TensorFlow was in (lab.ui.model_cache).

The two paths alternate round by round on the same machine. Target: click Predict -> first guess < 1 s (after).

    .venv/bin/python bench/perf_predict_first.py             # 5 rounds of each
    .venv/bin/python bench/perf_predict_first.py --quick     # 1 round of each
    .venv/bin/python bench/perf_predict_first.py --rounds 7
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from _perf_common import machine, median, spread, verdict
from perf_startup import make_run
from PIL import Image

TARGET_S = 1.0
SETTLE_S = 4.0  # after TensorFlow's library is mapped: the import itself ends about 3 s later


def one_round(tmp: Path, context, preload: bool) -> dict:
    from _perf_browser import Server, wait_idle

    server = Server(tmp / "Data", tmp / "runs", env={} if preload else {"CNN_LAB_MODEL_PRELOAD": "0"})
    page = context.new_page()
    try:
        server.wait_healthy()
        page.goto(server.url)
        page.get_by_role("heading", name="Dataset", level=1).wait_for(timeout=60_000)
        wait_idle(page)
        deadline = time.monotonic() + 60
        while not server.has_tensorflow():
            if time.monotonic() > deadline:
                raise RuntimeError("TensorFlow was not imported in the background")
            time.sleep(0.1)
        time.sleep(SETTLE_S)
        began = time.perf_counter()
        page.locator("[data-testid=stSidebarNav] a, [data-testid=stSidebarNavLink]").filter(
            has_text="Predict").first.click()
        page.get_by_role("heading", name="Predict", level=1).wait_for(timeout=60_000)
        page.get_by_text("Upload", exact=True).first.click()
        upload = page.locator("[data-testid=stFileUploaderDropzoneInput]").first
        upload.wait_for(state="attached", timeout=60_000)
        uploaded = time.perf_counter()
        upload.set_input_files(str(tmp / "digit.png"))
        page.locator("h3").filter(has_text="%").first.wait_for(timeout=120_000)
        done = time.perf_counter()
        return {"click_to_guess": done - began, "upload_to_guess": done - uploaded}
    finally:
        page.close()
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args()
    args.rounds = args.rounds or (1 if args.quick else 5)

    from _perf_browser import browser, tiny_dataset

    print(f"machine: {machine()}")
    results: dict[str, list[dict]] = {"before": [], "after": []}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        make_run(tiny_dataset(tmp / "Data"), tmp / "runs")
        image = np.zeros((28, 28), np.uint8)
        image[6:22, 4:12] = 230
        Image.fromarray(image).save(tmp / "digit.png")
        with browser() as context:
            context.new_page().goto("about:blank")  # Chromium's own first page, not counted
            for r in range(args.rounds):
                for name, preload in (("before", False), ("after", True)):
                    result = one_round(tmp, context, preload)
                    results[name].append(result)
                    print(f"round {r + 1}/{args.rounds} {name}: click -> guess {result['click_to_guess']:.2f}s, "
                          f"upload -> guess {result['upload_to_guess']:.2f}s", flush=True)
    for name, rows in results.items():
        print(f"{name}: click Predict -> first guess {spread([r['click_to_guess'] for r in rows])}; "
              f"upload -> guess {spread([r['upload_to_guess'] for r in rows])}")
    after = [r["click_to_guess"] for r in results["after"]]
    before = [r["click_to_guess"] for r in results["before"]]
    print(f"SUMMARY first guess after opening Predict: model loaded in the background {spread(after)}, loaded on "
          f"demand {spread(before)} (target < {TARGET_S:g}) {verdict(median(after) < TARGET_S)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
