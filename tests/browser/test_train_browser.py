"""Train page in Chromium: choose a tiny dataset, train, and watch the live chart grow while other widgets work."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _harness import open_page, wait_for_pictures  # noqa: E402
from ui_support import make_dataset  # noqa: E402


@pytest.fixture(scope="module")
def lab_data(tmp_path_factory) -> Path:
    """The only dataset: squares vs stripes, big enough for a few seconds of batches."""
    root = tmp_path_factory.mktemp("Data")
    make_dataset(root, train=160, test=10)
    return root


def test_train_shows_a_growing_live_chart_and_stops(page, app_url, shoot):
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 1400, "height": 1500})
    open_page(page, app_url, "")  # the Dataset page (the default) picks the only dataset and a starting network
    page.get_by_text("Train images").first.wait_for(timeout=60_000)
    page.locator("[data-testid=stSidebarNav] a", has_text="Train").click()
    page.get_by_role("heading", name="Train").wait_for(timeout=30_000)
    epochs = page.get_by_label("Epochs", exact=True)
    epochs.fill("200")  # far more than the test waits for: it ends with Stop, however fast the machine
    epochs.press("Enter")
    batch = page.get_by_label("Batch size", exact=True)
    batch.fill("8")
    batch.press("Enter")
    early = page.get_by_role("switch", name="Stop when it stops improving")
    page.get_by_text("Stop when it stops improving").click()  # no early stopping: the run goes on until Stop
    expect(early).not_to_be_checked()
    start = page.get_by_role("button", name="Start training")
    expect(start).to_be_enabled(timeout=60_000)
    start.click()
    page.get_by_text("Use the rest of the page freely", exact=False).first.wait_for(timeout=60_000)
    chart = page.locator("[data-testid=stVegaLiteChart]").first
    chart.wait_for(timeout=60_000)
    progress = page.locator("[data-testid=stProgress]").first
    first_text = progress.inner_text(timeout=30_000)
    # other widgets keep working while it trains
    page.locator("[data-testid=stExpander] summary", has_text="Settings").click()
    page.get_by_label("Run name (optional)", exact=True).fill("another name")
    page.get_by_label("Run name (optional)", exact=True).press("Enter")
    page.wait_for_timeout(2500)
    assert progress.inner_text(timeout=30_000) != first_text, "the progress did not move within 2.5 s"
    epoch_three_on = re.compile(r"Epoch ([3-9]|[1-9][0-9]+)/200 · batch")
    page.get_by_text(epoch_three_on).first.wait_for(timeout=180_000)  # a few epoch points drawn
    page.wait_for_timeout(1500)
    shoot(page, "train-mid")
    page.get_by_role("button", name="Stop", exact=True).click()
    page.get_by_text(re.compile(r"Stopped by you after \d+ full epoch")).first.wait_for(timeout=60_000)
    epochs_done = int(re.search(r"after (\d+) full", page.get_by_text("Stopped by you").first.inner_text()).group(1))
    assert 2 <= epochs_done < 200
    page.get_by_text("Best validation accuracy").wait_for(timeout=60_000)
    page.get_by_role("button", name="Predict with this model →").wait_for(timeout=30_000)
    wait_for_pictures(page)
    shoot(page, "train-stopped")
    # a second tab (a new session) shows the finished job of the process too
    other = page.context.new_page()
    open_page(other, app_url, "train")
    other.get_by_text("Stopped by you", exact=False).first.wait_for(timeout=30_000)
    other.locator("[data-testid=stVegaLiteChart]").first.wait_for(timeout=30_000)
