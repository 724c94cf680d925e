"""The Architecture page in a real Chromium: the layer list, the picked layer's settings and the shape table."""

from __future__ import annotations

import re

from playwright.sync_api import expect


def conv_row(page):
    """The shape table's first Conv2D row."""
    return page.locator("table.lab-shape-table tbody tr").filter(has_text="Conv2D").first


def layer_list(page):
    return page.locator('[data-testid="stRadio"]').filter(has_text="Pick a layer")


def action(page, name: str):
    """One of the picked layer's buttons: Up, Down, Duplicate, Remove."""
    return page.locator(".st-key-arch_actions").get_by_role("button", name=name, exact=True)


def pick(page, settle, text: str):
    """Clicks the first line of the layer list that contains ``text``; its settings appear below."""
    layer_list(page).locator('[data-testid="stRadioOption"]').filter(has_text=text).first.click()
    settle(page)


def test_padding_same_to_valid_changes_28_to_26(page, app_url, shoot, settle):
    page.goto(f"{app_url}/architecture")
    settle(page)
    table = page.locator("table.lab-shape-table")
    expect(table).to_be_visible()
    expect(conv_row(page)).to_contain_text("28 × 28 × 32")
    first_row = table.locator("tbody tr").first
    expect(first_row).to_contain_text("Input")
    expect(layer_list(page).get_by_role("radio")).to_have_count(10)
    expect(page.get_by_text("Layer 3 of 10: Conv2D")).to_be_visible()  # the first Conv2D is picked
    shoot(page, "architecture_same")

    padding = page.locator('[data-testid="stRadio"]').filter(has_text="padding").first
    padding.scroll_into_view_if_needed()
    padding.get_by_text("valid", exact=True).click()
    expect(conv_row(page)).to_contain_text("26 × 26 × 32")
    expect(conv_row(page)).to_contain_text(re.compile(r"⌊\(28 − 3\) / 1⌋ \+ 1 = 26"))
    expect(layer_list(page)).to_contain_text("3 · Conv2D — 32 filters 3×3, valid, relu")
    settle(page)
    shoot(page, "architecture_valid")


def test_a_pool_that_does_not_fit_turns_red(page, app_url, shoot, settle):
    page.goto(f"{app_url}/architecture")
    settle(page)
    pick(page, settle, "MaxPooling2D")
    expect(page.get_by_text("Layer 4 of 10: MaxPooling2D")).to_be_visible()
    pool = page.locator('[data-testid="stNumberInput"]').filter(has_text="pool_size · height").first
    field = pool.locator("input")
    field.fill("30")
    field.press("Enter")
    error_row = page.locator("table.lab-shape-table tr.lab-row-error")
    expect(error_row).to_have_count(1)
    expect(error_row).to_contain_text("does not fit")
    expect(page.get_by_text("Training is off until")).to_be_visible()
    expect(page.get_by_role("button", name="Download Keras script (.py)")).to_be_disabled()
    expect(layer_list(page)).to_contain_text("⛔ 4 · MaxPooling2D — 30×2, valid")
    settle(page)
    shoot(page, "architecture_invalid")


def test_duplicate_and_move_keep_the_values_with_their_layer(page, app_url, settle):
    page.goto(f"{app_url}/architecture")
    settle(page)
    filters = page.get_by_label("filters", exact=True)
    filters.fill("7")
    filters.press("Enter")
    expect(conv_row(page)).to_contain_text("70")  # 3·3·1·7 + 7
    action(page, "Duplicate").click()
    settle(page)
    expect(page.get_by_text("Layer 4 of 11: Conv2D")).to_be_visible()  # the copy is picked
    expect(page.get_by_label("filters", exact=True)).to_have_value("7")
    rows = page.locator("table.lab-shape-table tbody tr")
    expect(rows.nth(4)).to_contain_text("28 × 28 × 7")
    expect(rows.nth(4)).to_contain_text(f"{9 * 7 * 7 + 7}")
    action(page, "Up").click()
    settle(page)
    expect(page.get_by_text("Layer 3 of 11: Conv2D")).to_be_visible()
    expect(page.get_by_label("filters", exact=True)).to_have_value("7")
    expect(layer_list(page)).to_contain_text("2 · RandomTranslation")
    action(page, "Remove").click()
    settle(page)
    expect(layer_list(page).get_by_role("radio")).to_have_count(10)
    expect(conv_row(page)).to_contain_text("70")


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


def test_a_reload_and_a_new_tab_keep_the_network(page, app_url, settle, shoot):
    page.goto(f"{app_url}/architecture")
    settle(page)
    action(page, "Duplicate").click()
    settle(page)
    filters = page.get_by_label("filters", exact=True)
    filters.fill("7")
    filters.press("Enter")
    expect(page.locator("table.lab-shape-table")).to_contain_text("28 × 28 × 7")
    expect(layer_list(page).get_by_role("radio")).to_have_count(11)
    page.wait_for_url(re.compile(r"[?&]net=[0-9a-f]{12}"))

    page.reload()
    settle(page)
    expect(layer_list(page).get_by_role("radio")).to_have_count(11)
    expect(page.locator("table.lab-shape-table")).to_contain_text("28 × 28 × 7")

    other = page.context.new_page()
    other.goto(f"{app_url}/architecture")  # a typed address: nothing in it names the network
    settle(other)
    expect(layer_list(other).get_by_role("radio")).to_have_count(11)
    expect(other.locator("table.lab-shape-table")).to_contain_text("28 × 28 × 7")
    history = other.get_by_text(re.compile(r"History: your earlier networks \(\d+\)"))
    expect(history).to_be_visible()
    history.click()
    settle(other)
    expect(other.get_by_role("button", name="Restore")).to_be_visible()
    shoot(other, "architecture_history")
    other.close()


def test_the_guides_open_beside_the_training_settings(page, app_url, settle, shoot):
    page.goto(f"{app_url}/architecture")
    settle(page)
    guide = page.get_by_text("Guide: optimizers")
    guide.scroll_into_view_if_needed()
    guide.click()
    table = page.locator("[data-testid=stExpanderDetails] table").filter(has_text="Adam").first
    expect(table).to_be_visible()
    expect(table).to_contain_text("RMSprop")
    expect(table).to_contain_text("Adadelta")
    table.scroll_into_view_if_needed()
    shoot(page, "architecture_guide_optimizers", full_page=False)


def test_train_both_shows_the_twins_progress_and_leads_to_their_comparison(page, app_url, settle, shoot):
    page.goto(f"{app_url}/padding")
    settle(page)
    page.get_by_role("button", name="Train both").click()
    expect(page.locator('[data-testid="stProgress"]').filter(has_text='padding "same"')).to_be_visible(timeout=60_000)
    expect(page.locator('[data-testid="stProgress"]').filter(has_text='padding "valid"')).to_be_visible()
    shoot(page, "padding_twins_training", full_page=False)
    expect(page.get_by_text("Both runs are done.")).to_be_visible(timeout=240_000)
    page.get_by_role("button", name="Compare them on the Runs page").click()
    settle(page)
    expect(page).to_have_url(re.compile(r"/runs"))
    expect(page.get_by_text("What differs")).to_be_visible(timeout=60_000)
    shoot(page, "padding_twins_compared")
