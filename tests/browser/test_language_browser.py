"""The lab in Portuguese in a real Chromium: ``/?lang=pt-BR`` shows every page and the navigation in Portuguese,
and the sidebar's language box switches every visible string without losing the network."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from lab.i18n import t

PAGES = ["dataset", "architecture", "padding", "train", "runs", "predict", "samples"]


def nav(page):
    return page.locator('[data-testid="stSidebarNav"]')


def layer_options(page):
    return page.locator('[data-testid="stRadio"]').filter(has_text=re.compile("Layer|camada", re.I)).first \
        .locator('[data-testid="stRadioOption"]')


def test_every_page_and_the_navigation_speak_portuguese(page, app_url, settle, shoot):
    page.goto(f"{app_url}/?lang=pt-BR")
    settle(page)
    for name in PAGES:
        expect(nav(page)).to_contain_text(t(f"ui_session.page.{name}", lang="pt-BR"))
    expect(nav(page)).not_to_contain_text("Dataset")
    expect(page.locator('[data-testid="stSidebar"]')).to_contain_text("Idioma")
    for name in PAGES:
        nav(page).get_by_text(t(f"ui_session.page.{name}", lang="pt-BR"), exact=True).click()
        settle(page)
        expect(page).to_have_url(re.compile(r"lang=pt-BR"))
        body = page.locator('[data-testid="stMain"]').inner_text()
        english = [w for w in (" the ", " with ", " your ", " and the ") if w in f" {body.lower()} "]
        assert english == [], f"{name}: English on the page: {english}"
        if name == "architecture":
            shoot(page, "architecture_pt_BR")


def test_switching_the_language_keeps_the_network(page, app_url, settle, shoot):
    page.goto(f"{app_url}/architecture?lang=pt-BR")
    settle(page)
    page.locator(".st-key-arch_dup button").first.click()
    settle(page)
    layers = layer_options(page).count()
    assert layers == 11
    table = page.locator("table.lab-shape-table").inner_text()

    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.locator('[data-testid="stSelectbox"]').filter(has_text="Idioma").click()
    page.get_by_role("option", name="English").click()
    settle(page)
    expect(nav(page)).to_contain_text("Architecture")
    expect(sidebar).to_contain_text("Language")
    expect(page).to_have_url(re.compile(r"lang=en"))
    expect(layer_options(page)).to_have_count(layers)
    numbers = re.findall(r"\d[\d,.]*", page.locator("table.lab-shape-table").inner_text())
    portuguese = re.findall(r"\d[\d,.]*", table)
    assert any(re.fullmatch(r"\d{1,3}(\.\d{3})+", n) for n in portuguese)  # thousands the Portuguese way: 9.248

    def plain(number: str, thousands: str) -> str:  # 9,248 or 9.248 -> 9248; settings such as 0.08 stay
        number = number.rstrip(".,")
        return number.replace(thousands, "") if re.fullmatch(rf"\d{{1,3}}(\{thousands}\d{{3}})+", number) else number

    # the same shapes and parameter counts
    assert [plain(n, ",") for n in numbers] == [plain(n, ".") for n in portuguese]
    shoot(page, "architecture_back_in_english")
