"""Runs page in Chromium at 1400 × 1000: nothing cut off at the right, and a confusion-matrix cell shows its images."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _harness import open_page, wait_for_pictures  # noqa: E402
from ui_support import make_dataset, train_run  # noqa: E402

WIDTH = 1400


@pytest.fixture(scope="module")
def lab_data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("Data")
    make_dataset(root)
    return root


@pytest.fixture(scope="module")
def lab_runs(tmp_path_factory, lab_data) -> Path:
    """Two trained runs whose evaluations name three misclassified test images (real files)."""
    root = tmp_path_factory.mktemp("runs")
    data = lab_data / "tiny"
    for name, padding in (("with same", "same"), ("with valid", "valid")):
        run_dir = train_run(data, root, name=name, padding=padding)
        metrics = json.loads((run_dir / "metrics.json").read_text())
        squares = sorted((data / "Test" / "square").glob("*.png"))[:2]
        stripes = sorted((data / "Test" / "stripes").glob("*.png"))[:1]
        metrics["misclassified"] = (
            [{"file": str(f), "true": "square", "predicted": "stripes", "probability": 0.7} for f in squares]
            + [{"file": str(f), "true": "stripes", "predicted": "square", "probability": 0.6} for f in stripes])
        metrics["misclassified_total"] = 3
        metrics["confusion"] = [[4, 2], [1, 5]]
        (run_dir / "metrics.json").write_text(json.dumps(metrics))
    return root


def right_edges(page) -> dict[str, float]:
    """The right edge, in pixels, of the page's content, the runs table and every chart."""
    return page.evaluate("""() => {
        const edge = (el) => el.getBoundingClientRect().right;
        const out = {page: document.documentElement.scrollWidth};
        document.querySelectorAll('[data-testid=stDataFrame]').forEach((el, i) => out['table' + i] = edge(el));
        document.querySelectorAll('[data-testid=stVegaLiteChart]').forEach((el, i) => out['chart' + i] = edge(el));
        return out;
    }""")


def test_runs_page_fits_and_a_confusion_cell_shows_its_images(page, app_url, shoot):
    from playwright.sync_api import expect

    page.set_viewport_size({"width": WIDTH, "height": 1000})
    open_page(page, app_url, "runs")
    page.get_by_text("What differs").wait_for(timeout=60_000)
    charts = page.locator("[data-testid=stVegaLiteChart]")
    expect(charts).to_have_count(3, timeout=30_000)  # loss, accuracy, confusion matrix
    edges = right_edges(page)
    assert all(right <= WIDTH for right in edges.values()), edges
    shoot(page, "runs_page_1400")

    confusion = charts.nth(2)
    confusion.scroll_into_view_if_needed()
    cells = confusion.locator("g.mark-rect path")
    if cells.count() == 0:  # drawn on a canvas: click where the cell is, from the plot's own size
        box = confusion.locator("canvas").bounding_box()
        pytest.skip(f"the confusion matrix is a canvas ({box}); no cell to click by locator")
    # the cells are drawn row by row (true square: square, stripes; true stripes: square, stripes)
    cells.nth(2).click(position={"x": 6, "y": 6})  # beside the count written in the cell's middle
    expander = page.get_by_text("Misclassified images (3)")
    expect(page.get_by_text("square → stripes (70%)")).to_have_count(0, timeout=30_000)  # the other cell's
    expect(page.get_by_text("stripes → square (60%)")).to_be_visible()
    page.mouse.move(0, 0)  # the cell's tooltip off the picture
    wait_for_pictures(page)
    captions = page.locator("[data-testid=stImageCaption]").all_inner_texts()
    assert [c for c in captions if "→" in c] == ["stripes → square (60%)"], captions
    expander.scroll_into_view_if_needed()
    shoot(page, "runs_confusion_cell_images")

    page.get_by_role("button", name="Look inside").first.click()
    page.get_by_role("tab", name="Feature maps").wait_for(timeout=90_000)
    expect(page.get_by_text("Loading the run's model…")).to_have_count(0, timeout=90_000)
    wait_for_pictures(page)
    page.get_by_text("Inside the network:").first.scroll_into_view_if_needed()
    shoot(page, "runs_look_inside")


def test_filters_before_and_after_training(page, app_url, shoot):
    from playwright.sync_api import expect

    page.set_viewport_size({"width": WIDTH, "height": 1000})
    open_page(page, app_url, "runs")
    section = page.get_by_text("Filters before and after training")
    section.wait_for(timeout=60_000)
    section.click()
    expect(page.get_by_text("Loading the run's model…")).to_have_count(0, timeout=90_000)
    wait_for_pictures(page)
    pictures = page.locator("[data-testid=stExpander]").filter(has_text="Filters before and after training") \
        .locator("[data-testid=stImage]")
    expect(pictures.first).to_be_visible(timeout=60_000)
    assert pictures.count() >= 2  # the first Conv2D's filters before training and after it
    section.scroll_into_view_if_needed()
    shoot(page, "runs_filters_before_after")


def test_the_model_and_its_history_download_when_clicked(page, app_url, tmp_path):
    open_page(page, app_url, "runs")
    page.get_by_text("What differs").wait_for(timeout=60_000)
    for label, suffix in (("⬇ model.keras", ".keras"), ("⬇ history.csv", "-history.csv")):
        with page.expect_download(timeout=60_000) as download:
            page.get_by_role("button", name=label).click()
        saved = tmp_path / download.value.suggested_filename
        download.value.save_as(saved)
        assert saved.name.endswith(suffix) and saved.stat().st_size > 100
    assert saved.read_text(encoding="utf-8").startswith("epoch")
