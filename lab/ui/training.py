import streamlit as st


def render() -> None:
    st.title("Training")
