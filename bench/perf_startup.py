"""Start-up: ``streamlit run`` to the first page drawn in Chromium, and a click on Predict to the first prediction.

Each round starts a fresh server (a direct child: ``streamlit run streamlit_app.py ...``) with CNN_LAB_DATA and
CNN_LAB_RUNS pointing at temporary folders (a tiny dataset, so the page does not generate the built-in one, and
one finished run made before the rounds start). Chromium (Playwright, headless) is already open, so its own
start is not counted. Times are taken from the server's launch:

- first draw: the Dataset page's heading is on screen;
- page done:  the dataset picker is on screen and the first script run has finished (Streamlit's status
  widget no longer says "running");
  this is the figure the target applies to (< 4 s);
- TensorFlow: one more round with CNN_LAB_TF_PRELOAD=0 checks that the server process has no TensorFlow
  library mapped after the first page is drawn (the lab imports it in the background only after drawing).

Then, in the same round: a click on "Predict" in the navigation until that page shows the loaded run, and an
upload of a 28x28 PNG until its first guess is on screen (the model loads then, TensorFlow permitting); the sum
is "click on Predict to the first prediction". A second upload gives the warm figure.

    .venv/bin/python bench/perf_startup.py            # 5 rounds (about 2-3 minutes)
    .venv/bin/python bench/perf_startup.py --quick    # 1 round
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from _perf_common import machine, median, spread, verdict
from PIL import Image

TARGET_START_S = 4.0


def make_run(data: Path, runs: Path) -> None:
    """One finished run of a small model on the tiny dataset, written where the page looks for runs."""
    from lab.train.job import Job, TrainConfig

    spec = {"name": "tiny", "input_shape": [28, 28, 1],
            "layers": [{"type": "Rescaling", "scale": 1 / 255},
                       {"type": "Conv2D", "filters": 4, "kernel_size": [3, 3], "activation": "relu"},
                       {"type": "Flatten"}, {"type": "Dense", "units": 2, "activation": "softmax"}],
            "compile": {"optimizer": {"name": "adam", "learning_rate": 0.01},
                        "loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]}}
    snap = Job(TrainConfig(str(data), spec, epochs=1, batch_size=4, runs_root=str(runs), evaluate=False)).run()
    if snap.status != "finished":
        raise SystemExit(f"could not make a run for the Predict page: {snap.error}")


def one_round(tmp: Path, context, preload: bool, predict: bool) -> dict:
    from _perf_browser import Server, wait_idle

    out = {}
    server = Server(tmp / "Data", tmp / "runs", env={} if preload else {"CNN_LAB_TF_PRELOAD": "0"})
    page = context.new_page()
    try:
        out["healthy"] = server.wait_healthy()
        page.goto(server.url)
        page.get_by_role("heading", name="Dataset", level=1).wait_for(timeout=60_000)
        out["first_draw"] = time.perf_counter() - server.launched
        page.locator("[data-testid=stSelectbox]").first.wait_for(timeout=60_000)  # the dataset picker
        wait_idle(page)
        out["page_done"] = time.perf_counter() - server.launched
        out["tf_after_draw"] = server.has_tensorflow()
        out["rss_mb"] = server.rss_mb()
        if not predict:
            return out
        began = time.perf_counter()
        page.locator("[data-testid=stSidebarNav] a, [data-testid=stSidebarNavLink]").filter(
            has_text="Predict").first.click()
        page.get_by_role("heading", name="Predict", level=1).wait_for(timeout=60_000)
        page.get_by_text("Image from").first.wait_for(timeout=60_000)
        wait_idle(page)
        out["predict_page"] = time.perf_counter() - began
        page.get_by_text("Upload", exact=True).first.click()
        upload = page.locator("[data-testid=stFileUploaderDropzoneInput]").first
        upload.wait_for(state="attached", timeout=60_000)
        wait_idle(page)
        began = time.perf_counter()
        upload.set_input_files(str(tmp / "digit_a.png"))
        guess = page.locator("h3").filter(has_text="%").first
        guess.wait_for(timeout=120_000)
        out["first_prediction"] = time.perf_counter() - began
        wait_idle(page)
        page.wait_for_timeout(300)
        began = time.perf_counter()
        upload.set_input_files(str(tmp / "digit_b.png"))
        page.get_by_text("digit_b.png").first.wait_for(timeout=60_000)
        page.locator("h3").filter(has_text="%").first.wait_for(timeout=60_000)
        wait_idle(page)
        out["warm_prediction"] = time.perf_counter() - began
        return out
    finally:
        page.close()
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args()
    rounds = args.rounds or (1 if args.quick else 5)

    from _perf_browser import browser, tiny_dataset

    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = tiny_dataset(tmp / "Data")
        make_run(data, tmp / "runs")
        for name, x in (("digit_a.png", 4), ("digit_b.png", 14)):
            image = np.zeros((28, 28), np.uint8)
            image[6:22, x:x + 8] = 230
            Image.fromarray(image).save(tmp / name)
        results = []
        with browser() as context:
            warm = context.new_page()  # Chromium's own first page, not counted
            warm.goto("about:blank")
            check = one_round(tmp, context, preload=False, predict=False)
            print(f"TF preload off: first draw {check['first_draw']:.2f}s, page done {check['page_done']:.2f}s, "
                  f"TensorFlow in the server after the first page: {check['tf_after_draw']}, "
                  f"server RSS {check['rss_mb']:.0f} MB")
            for r in range(rounds):
                result = one_round(tmp, context, preload=True, predict=True)
                results.append(result)
                print(f"round {r + 1}/{rounds}: " + ", ".join(
                    f"{k} {v:.2f}s" for k, v in result.items() if isinstance(v, float) and k != "rss_mb"), flush=True)
    med = {k: median([r[k] for r in results]) for k in results[0] if isinstance(results[0][k], float)}
    click_to_prediction = med["predict_page"] + med["first_prediction"]
    print(f"medians: health {med['healthy']:.2f}s, first draw {med['first_draw']:.2f}s, page done "
          f"{med['page_done']:.2f}s; Predict page {med['predict_page']:.2f}s + first prediction "
          f"{med['first_prediction']:.2f}s = {click_to_prediction:.2f}s; warm prediction {med['warm_prediction']:.2f}s")
    ok = med["page_done"] < TARGET_START_S and not check["tf_after_draw"]
    page_done = [r["page_done"] for r in results]
    click = [r["predict_page"] + r["first_prediction"] for r in results]
    print(f"SUMMARY start-up: streamlit run -> first page drawn {spread(page_done)} (target < {TARGET_START_S:g}, "
          f"TensorFlow on that path: {'yes' if check['tf_after_draw'] else 'no'}); click Predict -> first "
          f"prediction {spread(click)}; warm prediction {spread([r['warm_prediction'] for r in results])} "
          f"{verdict(ok)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
