"""CNN Lab: `streamlit run streamlit_app.py`."""

import streamlit as st

from lab.ui import architecture, dataset, padding, predict, runs, training

st.set_page_config(page_title="CNN Lab", page_icon="🧪", layout="wide")

pages = [
    st.Page(dataset.render, title="Dataset", icon="🗂️", url_path="dataset", default=True),
    st.Page(architecture.render, title="Architecture", icon="🧱", url_path="architecture"),
    st.Page(padding.render, title="Padding: same vs valid", icon="🔲", url_path="padding"),
    st.Page(training.render, title="Train", icon="📈", url_path="train"),
    st.Page(runs.render, title="Runs", icon="🗃️", url_path="runs"),
    st.Page(predict.render, title="Predict", icon="🔮", url_path="predict"),
]
st.navigation(pages).run()
