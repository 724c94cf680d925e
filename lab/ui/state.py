"""What the parts of the page share: where data and runs live, and the session's choices."""

from __future__ import annotations

import streamlit as st

from lab.paths import ROOT, data_root, runs_root  # noqa: F401  (the pages ask state for them)

DATASET = "dataset"        # str path of the chosen dataset folder
LOAD_PARAMS = "load_params"  # dict: image_size, color_mode, batch_size, validation_split, seed, shuffle
SPEC = "spec"              # the current model spec (dict), adapted to the dataset
RUN = "run"                # str path of the run chosen for prediction
SPEC_OK = "spec_ok"        # bool: the Architecture page found no errors in SPEC (Train page: also run check())




def get(key: str, default=None):
    return st.session_state.get(key, default)


def put(key: str, value) -> None:
    st.session_state[key] = value
