"""Small helpers shared by the Train and Predict browser tests (the fixtures live in conftest.py)."""

from __future__ import annotations

FAKE_CAMERA = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


def open_page(page, base_url: str, url_path: str):
    """Opens one page of the app in a new session and waits for its title."""
    page.goto(f"{base_url}/{url_path}")
    page.locator("[data-testid=stApp]").wait_for()
    page.get_by_role("heading", level=1).first.wait_for(timeout=60_000)


def wait_for_pictures(page, timeout: float = 30_000):
    """Waits until every <img> has loaded and every Vega chart has drawn, so a screenshot shows them."""
    page.wait_for_function("() => !document.querySelector('[data-testid=stSkeleton]')", timeout=timeout)
    page.wait_for_function("() => Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)",
                           timeout=timeout)
    charts = page.locator("[data-testid=stVegaLiteChart]")
    for index in range(charts.count()):
        charts.nth(index).locator("canvas, svg").first.wait_for(timeout=timeout)
    page.wait_for_timeout(500)
