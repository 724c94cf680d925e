"""Plain helpers for the Train and Predict browser tests: a streamlit server, Chromium, a fake-webcam Y4M file."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def streamlit_server(data_dir: Path, runs_dir: Path, log: Path):
    """``streamlit run streamlit_app.py`` as a direct child on a free port; yields its base URL."""
    port = free_port()
    env = dict(os.environ, CNN_LAB_DATA=str(data_dir), CNN_LAB_RUNS=str(runs_dir), TF_CPP_MIN_LOG_LEVEL="2")
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py"), "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"streamlit did not start; see {log}")
                time.sleep(0.3)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


@contextmanager
def chromium(user_data_dir: Path, fake_video: Path | None = None, viewport=(1400, 1000)):
    """A Playwright Chromium browser (headless), with a fake camera fed from ``fake_video`` when given."""
    from playwright.sync_api import sync_playwright

    args = list(CHROMIUM_FLAGS)
    if fake_video is not None:
        args += ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                 f"--use-file-for-fake-video-capture={fake_video}"]
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(user_data_dir), executable_path=CHROMIUM, headless=True, args=args,
            viewport={"width": viewport[0], "height": viewport[1]}, permissions=["camera"] if fake_video else [])
        try:
            yield context
        finally:
            context.close()


def write_y4m(path: Path, gray: np.ndarray, frames: int = 30) -> Path:
    """A 4:2:0 Y4M video of one grey picture (width and height even), for Chromium's fake camera."""
    gray = np.asarray(gray, dtype=np.uint8)
    height, width = gray.shape
    chroma = np.full((height // 2, width // 2), 128, np.uint8).tobytes()
    frame = b"FRAME\n" + gray.tobytes() + chroma + chroma
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F30:1 Ip A1:1 C420jpeg\n".encode("ascii"))
        for _ in range(frames):
            out.write(frame)
    return path


def wait_for_text(page, text: str, timeout: float = 60_000):
    page.get_by_text(text, exact=False).first.wait_for(timeout=timeout)


def open_page(page, base_url: str, url_path: str):
    page.goto(f"{base_url}/{url_path}")
    page.locator("[data-testid=stApp]").wait_for()
    page.get_by_role("heading", level=1).first.wait_for(timeout=60_000)


def wait_for_pictures(page, timeout: float = 30_000):
    """Waits until every <img> has loaded and every Vega chart has drawn, so a screenshot shows them."""
    page.wait_for_function("() => Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)",
                           timeout=timeout)
    charts = page.locator("[data-testid=stVegaLiteChart]")
    for index in range(charts.count()):
        charts.nth(index).locator("canvas, svg").first.wait_for(timeout=timeout)
    page.wait_for_timeout(500)
