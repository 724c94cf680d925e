"""What the people benchmarks do in a browser: start a run on the Train page, time a change on the Architecture
page until the shape table shows it, read a run's epoch times. Used by perf_page_while_training.py and
perf_ten_people.py."""

from __future__ import annotations

import re
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from _perf_browser import CHROMIUM, FLAGS, wait_idle
from _perf_common import median
from PIL import Image


def squares_and_stripes(root: Path, per_class: int = 40, test: int = 8) -> Path:
    """root/shapes/{Train,Test}/{square,stripes}/*.png, 28×28: a small two-class dataset that trains in seconds."""
    rng = np.random.default_rng(0)
    for split, count in (("Train", per_class), ("Test", test)):
        for name in ("square", "stripes"):
            folder = root / "shapes" / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for index in range(count):
                image = np.zeros((28, 28), np.uint8)
                if name == "square":
                    side = int(rng.integers(10, 18))
                    top, left = (int(v) for v in rng.integers(3, 28 - side - 2, size=2))
                    image[top:top + side, left:left + side] = 230
                else:
                    for row in range(int(rng.integers(0, 4)), 28, 5):
                        image[row:row + 2, 2:26] = 230
                Image.fromarray(image).save(folder / f"{index}.png")
    return root / "shapes"


def start_run(page, url: str, epochs: int, name: str | None = None, early_stopping: bool = False) -> float:
    """Opens the lab as a new visitor, sets the run on the Train page and presses Start; the perf_counter then."""
    start = prepare_run(page, url, epochs, name, early_stopping)
    began = time.perf_counter()
    start.click()
    return began


def prepare_run(page, url: str, epochs: int, name: str | None = None, early_stopping: bool = False):
    """Opens the lab as a new visitor and sets the run on the Train page; the Start button, not pressed yet."""
    page.goto(f"{url}/")
    page.get_by_text("Train images").first.wait_for(timeout=120_000)
    page.locator("[data-testid=stSidebarNav] a", has_text="Train").click()
    page.get_by_role("heading", name="Train").wait_for(timeout=60_000)
    wait_idle(page)
    box = page.get_by_label("Epochs", exact=True)
    box.fill(str(epochs))
    box.press("Enter")
    wait_idle(page)
    if name:
        box = page.get_by_label("Run name (optional)", exact=True)
        box.fill(name)
        box.press("Enter")
        wait_idle(page)
    if not early_stopping:
        page.get_by_text("Stop when it stops improving").click()
        wait_idle(page)
    start = page.get_by_role("button", name="Start training")
    start.wait_for(timeout=60_000)
    return start


def wait_training(page, timeout: float = 180_000) -> None:
    """Until the page shows batches flowing (a progress line with a batch count)."""
    page.get_by_text(re.compile(r"Epoch \d+/\d+ · batch [1-9]")).first.wait_for(timeout=timeout)


def open_shape_table(page, url: str):
    page.goto(f"{url}/architecture")
    table = page.locator(".lab-shape-table")
    table.wait_for(timeout=120_000)
    wait_idle(page)
    return table


def table_latencies(page, table, changes: int) -> list[float]:
    """Milliseconds from Enter in the first ``filters`` box to the table showing the change, ``changes`` times."""
    box = page.get_by_label("filters", exact=True).first
    value = int(box.input_value())
    times = []
    for _ in range(changes):
        value = value + 1 if value < 60 else 8
        before = table.inner_text()
        box.fill(str(value))
        began = time.perf_counter()
        box.press("Enter")
        page.wait_for_function(
            "(before) => { const t = document.querySelector('.lab-shape-table'); return t && t.innerText !== before; }",
            arg=before, timeout=60_000, polling="raf")
        times.append((time.perf_counter() - began) * 1000)
        wait_idle(page)
        page.wait_for_timeout(300)
    return times


def spread(values, unit: str = "ms", digits: int = 0) -> str:
    """"median 120 ms (min 90-max 300, n=8)"; "none" for no values."""
    if not values:
        return "none"
    return (f"median {median(values):.{digits}f} {unit} (min {min(values):.{digits}f}-max {max(values):.{digits}f}, "
            f"n={len(values)})")


@contextmanager
def chromium():
    """A headless Chromium (Playwright); each ``browser.new_context()`` is another person (own cookies)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def person(browser):
    """A new person's page (a fresh context: no cookie, so the lab gives it its own)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(120_000)
    return page


def epoch_seconds(run_dir: Path) -> list[float]:
    """The run's epoch times from its history.csv, leaving out the first (tracing, warming up)."""
    from lab.train import runs

    return [row["seconds"] for row in runs.read_csv(run_dir / runs.HISTORY)[1:] if row.get("seconds")]
