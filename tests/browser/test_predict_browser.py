"""Predict page in Chromium: mouse strokes on the canvas, and a fake-webcam photo of a known picture."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _harness import (ARTIFACTS, CHROMIUM, chromium, open_page, streamlit_server, wait_for_pictures,  # noqa: E402
                      write_y4m)
from ui_support import make_dataset, train_run  # noqa: E402

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs /usr/bin/chromium")]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """A server whose runs folder holds one model that tells a filled square from stripes."""
    root = tmp_path_factory.mktemp("predict-browser")
    data = make_dataset(root / "data", train=40)
    train_run(data, root / "runs", epochs=4, name="squares")
    with streamlit_server(root / "data", root / "runs", ARTIFACTS / "predict-browser-server.log") as url:
        yield url, root


def webcam_picture() -> np.ndarray:
    """640×480: a white filled square in the middle of a black frame."""
    frame = np.zeros((480, 640), np.uint8)
    frame[140:340, 220:420] = 255
    return frame


def guess_heading(page):
    heading = page.locator("h3").filter(has_text="·").first
    heading.wait_for(timeout=60_000)
    return heading.inner_text()


def test_draw_a_square_with_the_mouse(app, tmp_path):
    url, _ = app
    with chromium(tmp_path / "profile") as context:
        page = context.new_page()
        open_page(page, url, "predict")
        canvas = page.locator("[data-testid=stBidiComponentIsolated] canvas").last
        canvas.wait_for(timeout=60_000)
        box = canvas.bounding_box()
        assert box and box["width"] > 100
        left, top = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.3
        side = box["width"] * 0.4
        for row in range(0, 9):  # fill a square with horizontal strokes, one drag each
            y = top + side * row / 8
            page.mouse.move(left, y)
            page.mouse.down()
            page.mouse.move(left + side, y, steps=8)
            page.mouse.up()
        text = guess_heading(page)
        wait_for_pictures(page)
        page.screenshot(path=str(ARTIFACTS / "predict-canvas.png"), full_page=True)
        assert text.startswith("square"), text


def test_webcam_photo_of_a_square(app, tmp_path):
    url, _ = app
    video = write_y4m(tmp_path / "square.y4m", webcam_picture())
    with chromium(tmp_path / "profile", fake_video=video) as context:
        page = context.new_page()
        open_page(page, url, "predict")
        page.get_by_text("Webcam", exact=True).click()
        camera = page.locator("[data-testid=stCameraInput]")
        camera.wait_for(timeout=30_000)
        page.wait_for_function(
            """() => { const v = document.querySelector('[data-testid=stCameraInput] video');
                      return v && v.readyState >= 2 && v.videoWidth > 0; }""", timeout=30_000)
        page.get_by_role("button", name="Take Photo").click()
        text = guess_heading(page)
        wait_for_pictures(page)
        page.screenshot(path=str(ARTIFACTS / "predict-webcam.png"), full_page=True)
        assert text.startswith("square"), text
