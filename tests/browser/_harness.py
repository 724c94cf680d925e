"""What the browser tests share besides fixtures: the browser's flags, the tiny dataset, the server's health, the
fake webcam video, waiting for the app and its pictures, screenshots. The fixtures live in conftest.py."""

from __future__ import annotations

import os
import socket
import subprocess
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
FAKE_CAMERA = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


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


# A module that needs a trained run sets ``lab_data, lab_runs = squares_data, squares_runs``: conftest's
# fixtures of those names then serve the square/stripes lab (``squares_lab``) to that module's server.
@pytest.fixture(scope="module", name="lab_data")
def squares_data(squares_lab) -> Path:
    return squares_lab[0]


@pytest.fixture(scope="module", name="lab_runs")
def squares_runs(squares_lab) -> Path:
    """One model that tells a filled square from stripes."""
    return squares_lab[1]
