"""Real-browser harness: the app under `streamlit run`, driven by Playwright in the system Chromium.

Fixtures
- ``lab_data`` / ``lab_runs`` (module scope): the folders the server uses as CNN_LAB_DATA / CNN_LAB_RUNS.
  ``lab_data`` holds a small 28×28 grayscale dataset ``tiny-digits`` (10 classes); override the fixture in a
  test module to provide other data.
- ``lab_workspace`` (module scope): the server's CNN_LAB_WORKSPACE, emptied before every test, so each test
  starts like a first visit.
- ``app_url`` (module scope): base URL of a fresh ``streamlit run streamlit_app.py`` child process.
- ``browser`` (session scope): headless Chromium; ``webcam_browser``: one whose camera plays ``webcam_y4m``.
- ``page``: a new page (1400×1000) in ``browser``; ``webcam_page``: the same in ``webcam_browser``.
- ``shoot(page, name)``: saves ``test-artifacts/<name>.png`` and returns its path; ``settle(page)`` waits until
  Streamlit finished running the script.

The plain helpers these fixtures use (the tiny dataset, the fake webcam video, waiting for the app) live in
``_harness.py``, which tests import too.

Every test in this folder is marked ``browser`` and skipped, with the reason, when Chromium or Playwright
is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _harness import (
    ARTIFACTS,
    CHROMIUM,
    FAKE_CAMERA,
    FLAGS,
    ROOT,
    free_port,
    make_tiny_dataset,
    screenshot,
    wait_for_app,
    wait_healthy,
    write_y4m,
)

HERE = Path(__file__).resolve().parent


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed"
    return None


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives the app in a real Chromium (slow; needs /usr/bin/chromium)")


def pytest_collection_modifyitems(config, items):
    reason = _missing()
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.browser)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


# --- data -------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def lab_data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("Data")
    make_tiny_dataset(root / "tiny-digits")
    return root


@pytest.fixture(scope="module")
def lab_runs(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("runs")


# --- the server ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def squares_lab(tmp_path_factory) -> tuple[Path, Path]:
    """(data root, runs root): the square/stripes dataset and one model trained on it for 4 epochs. A module that
    needs a trained run imports ``squares_data`` / ``squares_runs`` from _harness as its ``lab_data`` /
    ``lab_runs``."""
    from ui_support import make_dataset, train_run

    data = tmp_path_factory.mktemp("Data")
    make_dataset(data, train=40)
    runs = tmp_path_factory.mktemp("runs")
    train_run(data / "tiny", runs, epochs=4, name="squares")
    return data, runs


@pytest.fixture(scope="module")
def lab_workspace(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("workspace")


@pytest.fixture(autouse=True)
def _fresh_workspace(request):
    """Each test starts like a first visit: no network saved by an earlier test is restored."""
    if "app_url" in request.fixturenames:
        folder = request.getfixturevalue("lab_workspace")
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()


@pytest.fixture(scope="module")
def app_url(lab_data, lab_runs, lab_workspace, tmp_path_factory):
    if _missing():
        pytest.skip(_missing())
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "streamlit.log"
    env = {**os.environ, "CNN_LAB_DATA": str(lab_data), "CNN_LAB_RUNS": str(lab_runs),
           "CNN_LAB_WORKSPACE": str(lab_workspace),
           "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py"),
               "--server.headless", "true", "--server.address", "127.0.0.1", "--server.port", str(port),
               "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    with open(log, "wb") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if os.environ.get("CNN_LAB_KEEP_SERVER_LOG"):
            ARTIFACTS.mkdir(exist_ok=True)
            shutil.copy(log, ARTIFACTS / f"streamlit-{port}.log")
    warned = [line for line in log.read_text(errors="replace").splitlines() if "Session State API" in line]
    assert not warned, f"widget warnings in the server log: {warned}"


# --- the browser --------------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def _playwright():
    if _missing():
        pytest.skip(_missing())
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


def _launch(playwright, extra: list[str]):
    """Chromium with the flags that work here; Playwright gives every launch a fresh temporary profile."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=[*FLAGS, *extra])


@pytest.fixture(scope="session")
def browser(_playwright):
    instance = _launch(_playwright, [])
    yield instance
    instance.close()


@pytest.fixture(scope="session")
def webcam_y4m(tmp_path_factory) -> Path:
    """A 640×480 video of a bright vertical bar on black; override for another picture."""
    picture = np.zeros((480, 640, 3), dtype=np.uint8)
    picture[120:360, 290:350] = 255
    return write_y4m(tmp_path_factory.mktemp("webcam") / "webcam.y4m", picture)


@pytest.fixture(scope="session")
def webcam_browser(_playwright, webcam_y4m):
    instance = _launch(_playwright, [*FAKE_CAMERA, f"--use-file-for-fake-video-capture={webcam_y4m}"])
    yield instance
    instance.close()


def _new_page(instance, url: str):
    from playwright.sync_api import expect

    expect.set_options(timeout=30_000)  # a shared 2-core machine can take seconds per rerun
    context = instance.new_context(viewport={"width": 1400, "height": 1000})
    context.grant_permissions(["camera"], origin=url)
    page = context.new_page()
    page.set_default_timeout(30_000)
    return context, page


@pytest.fixture
def page(browser, app_url):
    context, page = _new_page(browser, app_url)
    yield page
    context.close()


@pytest.fixture
def webcam_page(webcam_browser, app_url):
    context, page = _new_page(webcam_browser, app_url)
    yield page
    context.close()


@pytest.fixture
def shoot():
    """``shoot(page, name)``: a screenshot saved as test-artifacts/<name>.png (returns the path)."""
    return screenshot


@pytest.fixture
def settle():
    """``settle(page)``: waits until Streamlit finished running the script."""
    return wait_for_app
