"""The Streamlit page: one module per part (dataset, architecture, padding, training, runs, predict), each a thin
layer over the core. The parts never import each other: they share the page's state through ``session``."""
