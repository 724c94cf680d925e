"""The Architecture page in a real Chromium: switching padding changes the shape table at once."""

from __future__ import annotations

import re

from playwright.sync_api import expect


def conv_row(page):
    """The shape table's first Conv2D row."""
    return page.locator("table.lab-shape-table tbody tr").filter(has_text="Conv2D").first


def test_padding_same_to_valid_changes_28_to_26(page, app_url, shoot, settle):
    page.goto(f"{app_url}/architecture")
    settle(page)
    table = page.locator("table.lab-shape-table")
    expect(table).to_be_visible()
    expect(conv_row(page)).to_contain_text("28 × 28 × 32")
    first_row = table.locator("tbody tr").first
    expect(first_row).to_contain_text("Input")
    shoot(page, "architecture_same")

    padding = page.locator('[data-testid="stRadio"]').filter(has_text="padding").first
    padding.scroll_into_view_if_needed()
    padding.get_by_text("valid", exact=True).click()
    expect(conv_row(page)).to_contain_text("26 × 26 × 32")
    expect(conv_row(page)).to_contain_text(re.compile(r"⌊\(28 − 3\) / 1⌋ \+ 1 = 26"))
    settle(page)
    shoot(page, "architecture_valid")


def test_a_pool_that_does_not_fit_turns_red(page, app_url, shoot, settle):
    page.goto(f"{app_url}/architecture")
    settle(page)
    pool = page.locator('[data-testid="stNumberInput"]').filter(has_text="pool_size · height").first
    field = pool.locator("input")
    field.fill("30")
    field.press("Enter")
    error_row = page.locator("table.lab-shape-table tr.lab-row-error")
    expect(error_row).to_have_count(1)
    expect(error_row).to_contain_text("does not fit")
    expect(page.get_by_text("Training is off until")).to_be_visible()
    settle(page)
    shoot(page, "architecture_invalid")


def test_dataset_and_padding_pages_draw(page, app_url, shoot, settle):
    page.goto(f"{app_url}/")
    settle(page)
    expect(page.get_by_text("Images per class")).to_be_visible()
    expect(page.locator('[data-testid="stMetric"]').filter(has_text="Classes")).to_contain_text("10")
    shoot(page, "dataset")
    page.goto(f"{app_url}/padding")
    settle(page)
    expect(page.get_by_text('padding = "same"')).to_be_visible()
    expect(page.get_by_text('padding = "valid"')).to_be_visible()
    shoot(page, "padding")
