"""CNN Lab: `streamlit run streamlit_app.py`."""

import streamlit as st

from lab.i18n import LANGUAGES, t
from lab.ui import architecture, autosave, dataset, identity, padding, predict, runs, samples, session, training
from lab.ui.model_cache import preload_newest_for

st.set_page_config(page_title="CNN Lab", page_icon=":material/science:", layout="wide")
session.start()
identity.settle()  # who this is: a signed-in user, or this browser
preload_newest_for(identity.owner())  # the run their Predict page opens on, ready before they ask

pages = {
    "dataset": st.Page(dataset.render, title=t("ui_session.page.dataset"), icon=":material/folder_open:",
                       url_path="dataset", default=True),
    "architecture": st.Page(architecture.render, title=t("ui_session.page.architecture"), icon=":material/layers:",
                            url_path="architecture"),
    "padding": st.Page(padding.render, title=t("ui_session.page.padding"), icon=":material/border_outer:",
                       url_path="padding"),
    "train": st.Page(training.render, title=t("ui_session.page.train"), icon=":material/monitoring:",
                     url_path="train"),
    "runs": st.Page(runs.render, title=t("ui_session.page.runs"), icon=":material/history:", url_path="runs"),
    "predict": st.Page(predict.render, title=t("ui_session.page.predict"), icon=":material/draw:",
                       url_path="predict"),
    "samples": st.Page(samples.render, title=t("ui_session.page.samples"), icon=":material/photo_library:",
                       url_path="samples"),
}
session.register_pages(pages)
page = st.navigation(list(pages.values()))
st.session_state[session.LANGUAGE_PICK] = session.language()
st.sidebar.selectbox(t("common.language"), list(LANGUAGES), key=session.LANGUAGE_PICK, format_func=LANGUAGES.get,
                     on_change=lambda: session.choose_language(st.session_state[session.LANGUAGE_PICK]))
autosave.show_messages()
page.run()
session.save()
