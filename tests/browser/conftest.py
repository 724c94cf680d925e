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
- ``screenshot(page, name)``: saves ``test-artifacts/<name>.png`` and returns its path.
- ``write_y4m(path, rgb)``: writes a still picture as a Y4M video for the fake webcam.

Every test in this folder is marked ``browser`` and skipped, with the reason, when Chromium or Playwright
is missing.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path(os.environ.get("CNN_LAB_CHROMIUM", "/usr/bin/chromium"))
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
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

def make_tiny_dataset(folder: Path, classes=tuple("0123456789"), train: int = 8, test: int = 3) -> Path:
    """28×28 grayscale images of simple bright shapes on black: enough for the pages to have something to show."""
    rng = np.random.default_rng(0)
    for split, count in (("Train", train), ("Test", test)):
        for number, cls in enumerate(classes):
            target = folder / split / cls
            target.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                image = np.zeros((28, 28), dtype=np.uint8)
                top, left = 4 + rng.integers(0, 4), 4 + rng.integers(0, 4)
                image[top:top + 16, left + number:left + number + 4] = 255
                image[top + (number % 3) * 6:top + (number % 3) * 6 + 4, left:left + 16] = 200
                Image.fromarray(image, "L").save(target / f"{i}.png")
    return folder


@pytest.fixture(scope="module")
def lab_data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("Data")
    make_tiny_dataset(root / "tiny-digits")
    return root


@pytest.fixture(scope="module")
def lab_runs(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("runs")


# --- the server ---------------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited early with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"streamlit did not answer at {url} within {timeout:.0f} s")


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


def write_y4m(path: Path, rgb: np.ndarray, frames: int = 30) -> Path:
    """A Y4M video (4:2:0) that shows the picture ``rgb`` (H×W×3 uint8, even sizes) for ``frames`` frames."""
    rgb = np.asarray(rgb, dtype=np.float32)
    height, width = rgb.shape[:2]
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    u = (b - y) * 0.564 + 128
    v = (r - y) * 0.713 + 128
    planes = [np.clip(y, 0, 255).astype(np.uint8)]
    for chroma in (u, v):
        small = chroma.reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3))
        planes.append(np.clip(small, 0, 255).astype(np.uint8))
    frame = b"FRAME\n" + b"".join(p.tobytes() for p in planes)
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F30:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(frame)
    return path


@pytest.fixture(scope="session")
def webcam_y4m(tmp_path_factory) -> Path:
    """A 640×480 video of a bright vertical bar on black; override for another picture."""
    picture = np.zeros((480, 640, 3), dtype=np.uint8)
    picture[120:360, 290:350] = 255
    return write_y4m(tmp_path_factory.mktemp("webcam") / "webcam.y4m", picture)


@pytest.fixture(scope="session")
def webcam_browser(_playwright, webcam_y4m):
    instance = _launch(_playwright, ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                        f"--use-file-for-fake-video-capture={webcam_y4m}"])
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


def screenshot(page, name: str, full_page: bool = True) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def wait_for_app(page, timeout: float = 60_000) -> None:
    """Waits until Streamlit finished the script run: no "Running" status, no placeholder skeletons."""
    page.wait_for_selector('[data-testid="stMain"]', timeout=timeout)
    page.wait_for_timeout(300)
    page.wait_for_function(
        """() => !document.querySelector('[data-testid="stStatusWidget"] [data-testid="stStatusWidgetRunningIcon"]')
              && !document.querySelector('[data-testid="stSkeleton"]')
              && !Array.from(document.querySelectorAll('[data-testid="stStatusWidget"]'))
                    .some(e => /Running/i.test(e.innerText))""",
        timeout=timeout)
    page.wait_for_timeout(300)


@pytest.fixture
def shoot():
    """``shoot(page, name)``: a screenshot saved as test-artifacts/<name>.png (returns the path)."""
    return screenshot


@pytest.fixture
def settle():
    """``settle(page)``: waits until Streamlit finished running the script."""
    return wait_for_app
