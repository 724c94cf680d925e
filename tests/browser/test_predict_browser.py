"""Predict page in Chromium: mouse strokes on the canvas, and a fake-webcam photo of a known picture."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _harness import (
    CHROMIUM,
    FAKE_CAMERA,
    FLAGS,
    open_page,
    squares_data,
    squares_runs,
    wait_for_pictures,
    write_y4m,  # noqa: E402
)

lab_data, lab_runs = squares_data, squares_runs  # this module's server gets a trained lab


def guess_heading(page) -> str:
    heading = page.locator("h3").filter(has_text="·").first
    heading.wait_for(timeout=60_000)
    return heading.inner_text()


def test_draw_a_square_with_the_mouse(page, app_url, shoot, settle):
    page.set_viewport_size({"width": 1400, "height": 1100})
    open_page(page, app_url, "predict")
    canvas = page.locator("[data-testid=stBidiComponentIsolated] canvas").last
    canvas.wait_for(timeout=60_000)
    box = canvas.bounding_box()
    assert box and box["width"] > 100
    left, top = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.3
    side = box["width"] * 0.4
    page.mouse.move(left, top)
    page.mouse.down()
    for row in range(0, 9):  # fill a square with one zig-zag stroke
        y = top + side * row / 8
        page.mouse.move(left + side if row % 2 == 0 else left, y, steps=8)
        page.mouse.move(left + side if row % 2 == 0 else left, y + side / 16, steps=2)
    page.mouse.up()
    text = guess_heading(page)
    settle(page)
    wait_for_pictures(page)
    shoot(page, "predict-canvas")
    assert text.startswith("square"), text


@pytest.fixture
def square_camera_page(_playwright, app_url, tmp_path):
    """A page whose fake camera films a white filled square in the middle of a black 640×480 frame."""
    frame = np.zeros((480, 640, 3), np.uint8)
    frame[140:340, 220:420] = 255
    video = write_y4m(tmp_path / "square.y4m", frame)
    instance = _playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                           args=[*FLAGS, *FAKE_CAMERA, f"--use-file-for-fake-video-capture={video}"])
    context = instance.new_context(viewport={"width": 1400, "height": 1100})
    context.grant_permissions(["camera"], origin=app_url)
    yield context.new_page()
    context.close()
    instance.close()


def test_webcam_photo_of_a_square(square_camera_page, app_url, shoot, settle):
    page = square_camera_page
    open_page(page, app_url, "predict")
    page.get_by_text("Webcam", exact=True).click()
    page.locator(".sq[data-ready=true]").wait_for(timeout=30_000)  # the square camera has a frame to take
    settle(page)
    page.get_by_role("button", name="Take photo").click()
    text = guess_heading(page)
    settle(page)
    wait_for_pictures(page)
    shoot(page, "predict-webcam")
    assert text.startswith("square"), text
