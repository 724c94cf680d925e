"""Who is using this page: the person the runs and jobs belong to (``lab.ownership``).

Without sign-in a person is their browser. On a first visit the lab makes a secret (``secrets.token_urlsafe``)
and the page keeps it in a cookie, so every tab of that browser, and a reload, is the same person; runs keep
only a hash of it. The secret never goes into the address, so a link someone shares does not carry it. Nothing
to sign in to: on a laptop the one browser owns the runs it starts, and runs of the command line stay everyone's.

With sign-in (an ``[auth]`` section in ``.streamlit/secrets.toml``, which turns on Streamlit's ``st.login``), a
person is the signed-in user, on any browser, and the page asks them to sign in before anything else.
"""

from __future__ import annotations

import re
import secrets

import streamlit as st

from lab import ownership
from lab.i18n import t

COOKIE = "cnn_lab_person"
SECRET = "_person_secret"  # session state: this browser's secret, once known
COOKIE_DAYS = 400  # the longest a browser keeps a cookie
_SECRET_SHAPE = re.compile(r"[A-Za-z0-9_-]{32,64}")


def _sign_in_asked() -> bool:
    """Whether the server has sign-in: Streamlit then always tells whether the person is signed in."""
    return "is_logged_in" in st.user


def _signed_in() -> bool:
    return st.user.get("is_logged_in") is True


def settle() -> None:
    """Once per script run, before the pages: with sign-in, asks for it (and stops the page until then);
    without, gives a new browser its cookie."""
    if _sign_in_asked():
        if not _signed_in():
            _sign_in_page()
            st.stop()
        name = st.user.get("name") or st.user.get("email") or ""
        st.sidebar.caption(t("ui_people.signed_in", name=name))
        st.sidebar.button(t("ui_people.sign_out"), key="person_sign_out", on_click=st.logout)
        return
    secret = _secret()
    if st.context.cookies.get(COOKIE) != secret:
        _keep_in_browser(secret)


def owner() -> str:
    """The owner id of the person using this page (``lab.ownership``)."""
    if _signed_in():
        who = st.user.get("email") or st.user.get("sub")
        if isinstance(who, str) and who.strip():
            return ownership.user_owner(who)
    return ownership.browser_owner(_secret())


def _secret() -> str:
    found = st.session_state.get(SECRET)
    if found:
        return found
    cookie = st.context.cookies.get(COOKIE)
    secret = cookie if isinstance(cookie, str) and _SECRET_SHAPE.fullmatch(cookie) else secrets.token_urlsafe(32)
    st.session_state[SECRET] = secret
    return secret


def _keep_in_browser(secret: str) -> None:
    """Sets the cookie from the page itself (a tiny script): the next tab and the next reload send it back."""
    seconds = COOKIE_DAYS * 24 * 3600
    st.sidebar.html(
        "<script>document.cookie = '" + COOKIE + "=" + secret + "; Max-Age=" + str(seconds)
        + "; Path=/; SameSite=Strict' + (location.protocol === 'https:' ? '; Secure' : '');</script>",
        unsafe_allow_javascript=True, width=1)


def _sign_in_page() -> None:
    st.title("CNN Lab")
    st.write(t("ui_people.sign_in.why"))
    st.button(t("ui_people.sign_in"), key="person_sign_in", type="primary", on_click=st.login)
