"""Inside the network in Chromium: Predict's "Look inside" (feature maps, then saliency for another class) and the
Architecture page's augmentation preview, each with a screenshot in test-artifacts/."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _harness import open_page, squares_data, squares_runs, wait_for_pictures  # noqa: E402
from ui_support import square_image  # noqa: E402

lab_data, lab_runs = squares_data, squares_runs  # this module's server gets a trained lab


def pick(page, key: str, option: str) -> None:
    """Chooses ``option`` in the selectbox with widget key ``key``."""
    page.locator(f".st-key-{key}").locator("[data-testid=stSelectbox], [role=combobox]").first.click()
    page.get_by_role("option").filter(has_text=re.compile(rf"^{re.escape(option)}")).first.click()


def test_look_inside_a_prediction(page, app_url, shoot, settle, tmp_path):
    from playwright.sync_api import expect

    picture = tmp_path / "square.png"
    Image.fromarray(square_image(np.random.default_rng(5))).save(picture)
    page.set_viewport_size({"width": 1400, "height": 1400})
    open_page(page, app_url, "predict")
    page.get_by_text("Upload", exact=True).click()
    page.locator(".st-key-predict_upload input[type=file]").set_input_files(str(picture))
    page.locator("h3").filter(has_text="·").first.wait_for(timeout=60_000)
    settle(page)

    section = page.locator(".st-key-predict_inside_0")
    section.get_by_text("Look inside: feature maps and saliency").click()
    grids = section.locator("[data-testid=stImage] img")
    expect(section.get_by_text("Layer 2 · Conv2D · 28 × 28 × 4")).to_be_visible(timeout=60_000)
    expect(section.get_by_text("Layer 3 · MaxPooling2D · 14 × 14 × 4")).to_be_visible()
    settle(page)
    wait_for_pictures(page)
    assert grids.count() >= 3  # the input, then one grid per Conv2D / pooling layer
    grid = section.locator("img").nth(1).bounding_box()
    assert grid and 200 < grid["width"] <= 520, grid  # small cells, no huge images
    section.scroll_into_view_if_needed()
    shoot(page, "inside-feature-maps")

    section.get_by_role("tab", name="Saliency: where it looked").click()
    expect(section.get_by_text(re.compile(r"^Why square\?"))).to_be_visible()
    pick(page, "predict_inside_0_class", "stripes")
    expect(section.get_by_text(re.compile(r"^Why not stripes\?"))).to_be_visible(timeout=60_000)
    settle(page)
    wait_for_pictures(page)
    overlays = section.get_by_role("tabpanel").locator("img")
    assert overlays.count() == 3  # input, Grad-CAM, gradient
    section.scroll_into_view_if_needed()
    shoot(page, "inside-saliency-why-not")


def test_augmentation_preview(page, app_url, shoot, settle):
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 1400, "height": 1200})
    open_page(page, app_url, "architecture")
    settle(page)
    pick(page, "arch_preset", "seed-improved")
    page.locator(".st-key-arch_load_preset button").click()
    settle(page)
    section = page.locator(".st-key-arch_augment")
    section.get_by_text("Augmentation preview").click()
    pictures = section.locator("[data-testid=stImage] img")
    expect(section.get_by_text("#8", exact=True)).to_be_visible(timeout=60_000)
    settle(page)
    wait_for_pictures(page)
    assert pictures.count() == 9  # the sample and eight augmented versions
    expect(section).to_contain_text("RandomRotation")
    section.scroll_into_view_if_needed()
    shoot(page, "inside-augmentation-preview")
