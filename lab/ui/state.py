"""What the parts of the page share: where data and runs live, and the session's choices."""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

DATASET = "dataset"        # str path of the chosen dataset folder
LOAD_PARAMS = "load_params"  # dict: image_size, color_mode, batch_size, validation_split, seed, shuffle
SPEC = "spec"              # the current model spec (dict), adapted to the dataset
RUN = "run"                # str path of the run chosen for prediction
SPEC_OK = "spec_ok"        # bool: the Architecture page found no errors in SPEC (Train page: also run check())


ROOT = Path(__file__).resolve().parents[2]


def data_root() -> Path:
    return Path(os.environ.get("CNN_LAB_DATA") or ROOT / "Data")


def runs_root() -> Path:
    return Path(os.environ.get("CNN_LAB_RUNS") or ROOT / "runs")


def get(key: str, default=None):
    return st.session_state.get(key, default)


def put(key: str, value) -> None:
    st.session_state[key] = value
