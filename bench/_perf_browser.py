"""A streamlit server and a headless Chromium for the browser timings of bench/perf_*.py."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from _perf_common import REPO
from PIL import Image

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tiny_dataset(root: Path, classes=("a", "b"), per_class: int = 6, size: int = 28) -> Path:
    """Data/tiny/Train/<class>/*.png: a few light-on-dark squares per class, so nothing big gets generated."""
    rng = np.random.default_rng(0)
    for c, name in enumerate(classes):
        folder = root / "tiny" / "Train" / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            image = np.zeros((size, size), np.uint8)
            x = 4 + c * 10
            image[6:22, x:x + 8] = 200 + rng.integers(0, 55)
            Image.fromarray(image).save(folder / f"{i}.png")
    return root / "tiny"


class Server:
    """``streamlit run streamlit_app.py`` as a direct child; ``launched`` is the perf_counter at Popen."""

    def __init__(self, data_dir: Path, runs_dir: Path, env: dict | None = None, workspace_dir: Path | None = None,
                 repo: Path = REPO):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        full_env = dict(os.environ, CNN_LAB_DATA=str(data_dir), CNN_LAB_RUNS=str(runs_dir), TF_CPP_MIN_LOG_LEVEL="2")
        if workspace_dir is not None:
            full_env["CNN_LAB_WORKSPACE"] = str(workspace_dir)
        full_env.update(env or {})
        self.log = tempfile.NamedTemporaryFile(prefix="perf-streamlit-", suffix=".log", delete=False)
        self.launched = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(self.port), "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=repo, env=full_env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_healthy(self, timeout: float = 60) -> float:
        """Seconds from launch until /_stcore/health answers."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        return time.perf_counter() - self.launched
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start; see {self.log.name}")
            time.sleep(0.02)

    def has_tensorflow(self) -> bool:
        """Whether TensorFlow's native library is mapped into the server process."""
        try:
            return "_pywrap_tensorflow" in Path(f"/proc/{self.proc.pid}/maps").read_text()
        except OSError:
            return False

    def rss_mb(self) -> float:
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return float("nan")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


@contextmanager
def browser(args=()):
    """A headless Chromium (Playwright) with a fresh user-data-dir and ``args`` after the usual flags; yields the
    context."""
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="perf-chromium-")
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=[*FLAGS, *args],
                viewport={"width": 1400, "height": 1000})
            try:
                yield context
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def wait_idle(page, timeout: float = 60_000) -> None:
    """Until Streamlit has finished the current script run (the status widget says 'running' while it works)."""
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=stStatusWidget]') || "
        "!document.querySelector('[data-testid=stStatusWidget]').innerText.toLowerCase().includes('running')",
        timeout=timeout)


def show_failure(page, server, name: str) -> None:
    """Keep a screenshot of the page of a failed round and say where it and the server's log are."""
    shot = Path(tempfile.gettempdir()) / f"{name}-failure.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"the round failed; the page is in {shot}, the server's log in {server.log.name}")
