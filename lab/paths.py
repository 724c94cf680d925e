"""Where the lab keeps things: datasets, runs and the workspace. The page and the command line both ask here.

Each folder can be moved with an environment variable; the defaults sit beside the lab's code.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def data_root() -> Path:
    """The folder of datasets: ``CNN_LAB_DATA``, else ``Data/``."""
    return Path(os.environ.get("CNN_LAB_DATA") or ROOT / "Data")


def runs_root() -> Path:
    """The folder of training runs: ``CNN_LAB_RUNS``, else ``runs/``."""
    return Path(os.environ.get("CNN_LAB_RUNS") or ROOT / "runs")


def workspace_root() -> Path:
    """The folder of saved networks and the page's last choices: ``CNN_LAB_WORKSPACE``, else ``workspace/``."""
    return Path(os.environ.get("CNN_LAB_WORKSPACE") or ROOT / "workspace")
