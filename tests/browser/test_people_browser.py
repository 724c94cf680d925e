"""Two people on one lab, in Chromium: each browser is a person (a cookie the page sets), sees only their own
training, and only the owner gets a Stop button; the same browser finds its run again after a reload and in a new
tab; a killed worker process leaves the run interrupted, with its best model, and the page says so."""

from __future__ import annotations

import json
import os
import re
import signal
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _harness import open_page, wait_for_app  # noqa: E402
from ui_support import make_dataset  # noqa: E402

from lab.ui import identity  # noqa: E402


@pytest.fixture(scope="module")
def lab_data(tmp_path_factory) -> Path:
    """Squares vs stripes, big enough for a few seconds of batches per epoch."""
    root = tmp_path_factory.mktemp("Data")
    make_dataset(root, train=160, test=10)
    return root


def start_long_run(page, app_url: str) -> None:
    from playwright.sync_api import expect

    open_page(page, app_url, "")  # the Dataset page picks the only dataset and a starting network
    page.get_by_text("Train images").first.wait_for(timeout=60_000)
    page.locator("[data-testid=stSidebarNav] a", has_text="Train").click()
    page.get_by_role("heading", name="Train").wait_for(timeout=30_000)
    epochs = page.get_by_label("Epochs", exact=True)
    epochs.fill("200")
    epochs.press("Enter")
    batch = page.get_by_label("Batch size", exact=True)
    batch.fill("8")
    batch.press("Enter")
    page.get_by_text("Stop when it stops improving").click()
    expect(page.get_by_role("switch", name="Stop when it stops improving")).not_to_be_checked()
    start = page.get_by_role("button", name="Start training")
    expect(start).to_be_enabled(timeout=60_000)
    start.click()
    page.get_by_text("Use the rest of the page freely", exact=False).first.wait_for(timeout=120_000)


def stop_button(page):
    return page.get_by_role("button", name="Stop", exact=True)


def test_each_browser_is_a_person_and_only_the_owner_can_stop(page, browser, app_url, lab_runs, shoot):
    from playwright.sync_api import expect

    start_long_run(page, app_url)
    expect(stop_button(page)).to_be_visible()
    cookies = {cookie["name"]: cookie for cookie in page.context.cookies()}
    secret = cookies[identity.COOKIE]["value"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", secret) and cookies[identity.COOKIE]["sameSite"] == "Strict"
    assert secret not in page.url

    other = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        stranger = other.new_page()
        open_page(stranger, app_url, "train")
        wait_for_app(stranger)
        stranger.get_by_text("No training yet", exact=False).wait_for()
        expect(stop_button(stranger)).to_have_count(0)
        expect(stranger.get_by_text("Use the rest of the page freely", exact=False)).to_have_count(0)
        # The stranger's page works while the other person's run trains: a change reaches the shape table.
        open_page(stranger, app_url, "architecture")
        table = stranger.locator(".lab-shape-table")
        table.wait_for(timeout=60_000)
        wait_for_app(stranger)
        before = table.inner_text()
        filters = stranger.get_by_label("filters", exact=True).first
        filters.fill(str(int(filters.input_value()) + 1))
        filters.press("Enter")
        expect(table).not_to_have_text(before, timeout=30_000)
        shoot(stranger, "people-stranger-architecture")
    finally:
        other.close()

    page.reload()  # the same browser: its run again, with its Stop button
    page.get_by_text("Use the rest of the page freely", exact=False).first.wait_for(timeout=60_000)
    expect(stop_button(page)).to_be_visible()
    tab = page.context.new_page()
    open_page(tab, app_url, "train")
    tab.get_by_text("Use the rest of the page freely", exact=False).first.wait_for(timeout=60_000)
    expect(stop_button(tab)).to_be_visible()
    tab.close()

    # The worker process that trains the run dies: the run is interrupted, its best model kept and usable.
    [run_dir] = [path for path in lab_runs.iterdir() if (path / "meta.json").is_file()]
    page.get_by_text(re.compile(r"Epoch ([3-9]|[1-9][0-9]+)/200 · batch")).first.wait_for(timeout=180_000)
    meta = json.loads((run_dir / "meta.json").read_text())
    assert meta["owner"].startswith("browser:") and secret not in json.dumps(meta)
    os.kill(meta["pid"], signal.SIGKILL)
    page.get_by_text("The process training this run ended during epoch", exact=False).first.wait_for(
        timeout=60_000)
    page.get_by_text("which is what the system does when it runs out of memory", exact=False).first.wait_for()
    page.get_by_role("button", name="Predict with this model →").wait_for(timeout=60_000)
    expect(stop_button(page)).to_have_count(0)
    shoot(page, "people-interrupted")
    assert json.loads((run_dir / "meta.json").read_text())["status"] == "interrupted"
