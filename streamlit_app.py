"""CNN Lab: `streamlit run streamlit_app.py`."""

import streamlit as st

from lab.ui import architecture, autosave, dataset, padding, predict, runs, training

st.set_page_config(page_title="CNN Lab", page_icon=":material/science:", layout="wide")

pages = [
    st.Page(dataset.render, title="Dataset", icon=":material/folder_open:", url_path="dataset", default=True),
    st.Page(architecture.render, title="Architecture", icon=":material/layers:", url_path="architecture"),
    st.Page(padding.render, title="Padding: same vs valid", icon=":material/border_outer:", url_path="padding"),
    st.Page(training.render, title="Train", icon=":material/monitoring:", url_path="train"),
    st.Page(runs.render, title="Runs", icon=":material/history:", url_path="runs"),
    st.Page(predict.render, title="Predict", icon=":material/draw:", url_path="predict"),
]
page = st.navigation(pages)
autosave.restore()
autosave.show_messages()
page.run()
autosave.save()
