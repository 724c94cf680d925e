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


def test_train_shows_a_growing_live_chart(page, app_url, shoot):
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 1400, "height": 1500})
    open_page(page, app_url, "")  # the Dataset page (the default) picks the only dataset and a starting network
    page.get_by_text("Train images").first.wait_for(timeout=60_000)
    page.locator("[data-testid=stSidebarNav] a", has_text="Train").click()
    page.get_by_role("heading", name="Train").wait_for(timeout=30_000)
    epochs = page.get_by_label("Epochs", exact=True)
    epochs.fill("3")
    epochs.press("Enter")
    batch = page.get_by_label("Batch size", exact=True)
    batch.fill("8")
    batch.press("Enter")
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
    page.get_by_label("Run name (optional)").fill("another name")
    page.get_by_label("Run name (optional)").press("Enter")
    page.wait_for_timeout(2500)
    second_text = progress.inner_text(timeout=30_000) if progress.count() else "done"
    assert first_text != second_text, "the progress did not move within 2.5 s"
    page.get_by_text(re.compile(r"Epoch [23]/3 · batch")).first.wait_for(timeout=120_000)  # an epoch point drawn
    page.wait_for_timeout(1500)
    shoot(page, "train-mid")
    page.get_by_text("Best validation accuracy").wait_for(timeout=180_000)
    page.get_by_role("button", name="Predict with this model →").wait_for(timeout=30_000)
    wait_for_pictures(page)
    shoot(page, "train-finished")
    assert page.get_by_text("Finished", exact=False).count() >= 1
    # a second tab (a new session) shows the finished job of the process too
    other = page.context.new_page()
    open_page(other, app_url, "train")
    other.get_by_text("Finished", exact=False).first.wait_for(timeout=30_000)
    other.locator("[data-testid=stVegaLiteChart]").first.wait_for(timeout=30_000)
