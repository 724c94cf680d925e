"""Beside a guess: whether the input is like the images the model was trained on, and the nearest of them.

``show(run, model, array)`` draws into the current container one sentence from ``lab.familiarity`` (a warning when
the input is unlike the training images) and the nearest training images with their classes, so a student sees the
gap between a confident guess and what the model knows. The first input of a run makes the run's reference from its
dataset; a progress bar stands in the place while that lasts.
"""

from __future__ import annotations

import streamlit as st

from lab.errors import LabError
from lab.i18n import t

NEAREST_SHOWN = 42  # pixels per nearest training image: five fit in a row beside the guess


def show(run, model, array) -> None:
    """The verdict for ``array`` (as ``lab.predict.prepare`` makes it) against ``run``'s training images."""
    from lab import familiarity

    bar = None

    def progress(done: int, total: int | None) -> None:
        nonlocal bar
        if bar is None:
            bar = st.empty()
        if total is None:
            bar.progress(0.0, text=t("ui_familiarity.listing"))
        else:
            bar.progress(done / total, text=t("ui_familiarity.making", done=done, total=total))

    try:
        verdict = familiarity.verdict(run.path, model, array, on_progress=progress)
    except LabError as error:
        st.caption(str(error))
        return
    finally:
        if bar is not None:
            bar.empty()
    how = t("ui_familiarity.how", percentile=familiarity.PERCENTILE / 100)
    if verdict.familiar:
        st.caption(verdict.sentence(), help=how)
    else:
        st.warning(verdict.sentence(), icon=":material/warning:")
    pictures, captions = [], []
    for neighbour in verdict.nearest:
        picture = _thumbnail(neighbour.path)
        if picture is not None:
            pictures.append(picture)
            captions.append(neighbour.class_name)
    if pictures:
        st.caption(t("ui_familiarity.nearest"), help=None if verdict.familiar else how)
        st.image(pictures, caption=captions, width=NEAREST_SHOWN)
    else:
        st.caption(t("ui_familiarity.nearest_gone", path=verdict.dataset))


def _thumbnail(path):
    """A training image enlarged pixel by pixel to at least NEAREST_SHOWN (sharp when the page shrinks it to that),
    or None when its file is gone or unreadable."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.load()
            picture = image.convert("L" if image.mode in ("L", "I;16", "I", "1") else "RGB")
    except (OSError, ValueError, SyntaxError):
        return None
    factor = max(1, -(-NEAREST_SHOWN // max(picture.size)))
    return picture.resize((picture.width * factor, picture.height * factor), Image.NEAREST) if factor > 1 else picture
