"""The Streamlit page: one module per part, each a thin layer over the core."""
