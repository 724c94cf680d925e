"""The square camera: a live camera, or a still picture, with a crop square the person sees, moves and sizes.

A Streamlit custom component (components v2, its JavaScript in ``webcam.js``). In camera mode it takes one
snapshot, or a burst of N a second apart that records into a class; each snapshot is the square's pixels as a PNG
(at most ``samples.MAX_SIDE`` a side). Snapshots reach Python in the component's state ``shots``; the browser
sends each one again with the next until Python acknowledges its id (``data.acked``), so one that arrives while a
rerun is stopped is read again, never lost, and :func:`new_shots` hands each one out once. In picture mode it
returns the square over the picture.
Every word it shows comes from the catalogue.
"""

from __future__ import annotations

import base64
import binascii
import functools
import io
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from lab.data import samples
from lab.i18n import t

NAME = "cnn_lab_square_camera"
PNG_URL = "data:image/png;base64,"
MAX_SHOT_BYTES = 8 * 2**20  # a 512×512 RGB PNG is under 1 MB, even of noise
ACKED_KEPT = 200  # ids of handled snapshots remembered per camera
PREVIEW_SIDE = 720  # pixels: a still picture is sent to the browser at most this large; the crop uses the original
INTERVAL_MS = 1000
CAMERA_FRACTION = 0.8  # the square's first side, as a fraction of the picture's shorter side
CSS = """
.sq { font-family: var(--st-font, sans-serif); color: var(--st-text-color, #262730); }
.stage { position: relative; overflow: hidden; border-radius: 0.5rem; background: #000; line-height: 0;
         max-width: 720px; touch-action: none; user-select: none; }
.media { width: 100%; height: auto; display: block; }
.square { position: absolute; box-sizing: border-box; border: 2px solid #fff; outline: 1px solid rgba(0,0,0,.6);
          box-shadow: 0 0 0 9999px rgba(0, 0, 0, 0.45); cursor: move; }
.square:focus-visible { border-color: var(--st-primary-color, #ff4b4b); }
.square.moving { border-style: dashed; }
.handle { position: absolute; right: -8px; bottom: -8px; width: 16px; height: 16px; border-radius: 50%;
          background: var(--st-primary-color, #ff4b4b); border: 2px solid #fff; cursor: nwse-resize; }
.size { position: absolute; left: 4px; top: 4px; font-size: 12px; line-height: 1.2; padding: 1px 4px;
        background: rgba(0,0,0,.6); color: #fff; border-radius: 3px; pointer-events: none; }
.flash { position: absolute; inset: 0; background: #fff; opacity: 0; pointer-events: none; }
.flash.on { animation: flash 0.25s ease-out; }
@keyframes flash { from { opacity: 0.7; } to { opacity: 0; } }
.bar { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: center; margin-top: 0.5rem; }
.bar button { font: inherit; font-size: 0.95rem; padding: 0.3rem 0.8rem; border-radius: 0.5rem; cursor: pointer;
              border: 1px solid var(--st-border-color, rgba(49, 51, 63, 0.2));
              background: var(--st-background-color, #fff); color: inherit; }
.bar button:hover:not(:disabled) { border-color: var(--st-primary-color, #ff4b4b);
                                   color: var(--st-primary-color, #ff4b4b); }
.bar button:disabled { opacity: 0.45; cursor: not-allowed; }
.status { font-size: 0.9rem; opacity: 0.8; }
.hint { font-size: 0.85rem; opacity: 0.7; margin-top: 0.35rem; }
"""


@dataclass(frozen=True)
class Shot:
    """One snapshot: its id, the PNG bytes of the square, and the (dataset, class) a burst records it into."""

    id: str
    png: bytes
    target: tuple[str, str] | None = None
    index: int | None = None  # its place in its burst, from 1
    total: int | None = None


@functools.cache
def _component():
    js = Path(__file__).with_name("webcam.js").read_text(encoding="utf-8")
    return st.components.v2.component(NAME, html='<div class="sq-root"></div>', css=CSS, js=js)


def _state(key: str) -> dict:
    value = st.session_state.get(key)
    return dict(value) if isinstance(value, dict) else {}


def _acked_key(key: str) -> str:
    return f"_{key}_acked"


def _shot(raw) -> Shot | None:
    """A Shot from what the browser sent, or None for anything malformed (an id that is no plain name, no PNG)."""
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not samples.SAMPLE_ID.match(raw["id"]):
        return None
    url = raw.get("url")
    if not isinstance(url, str) or not url.startswith(PNG_URL) or len(url) > MAX_SHOT_BYTES * 4 // 3 + 64:
        return None
    try:
        png = base64.b64decode(url[len(PNG_URL):], validate=True)
    except (binascii.Error, ValueError):
        return None
    target = raw.get("target")
    if isinstance(target, dict) and isinstance(target.get("dataset"), str) and isinstance(target.get("cls"), str):
        target = (target["dataset"], target["cls"])
    else:
        target = None
    index, total = raw.get("index"), raw.get("total")
    return Shot(raw["id"], png, target, index if isinstance(index, int) else None,
                total if isinstance(total, int) else None)


def new_shots(key: str) -> list[Shot]:
    """The snapshots of camera ``key`` not handed out before, oldest first; each is handed out once.

    Read from the session before the camera is drawn, so the same run acknowledges them to the browser.
    """
    acked = st.session_state.setdefault(_acked_key(key), [])
    fresh = []
    for raw in _state(key).get("shots") or []:
        shot = _shot(raw)
        raw_id = raw.get("id") if isinstance(raw, dict) else None
        if isinstance(raw_id, str) and raw_id not in acked:
            acked.append(raw_id)  # a malformed snapshot is acknowledged too, so the browser lets go of it
            if shot is not None:
                fresh.append(shot)
    del acked[:-ACKED_KEPT]
    return fresh


def _square(value) -> dict | None:
    if isinstance(value, dict) and all(isinstance(value.get(k), (int, float)) for k in ("x", "y", "side")):
        return {k: int(value[k]) for k in ("x", "y", "side")}
    return None


def _words(**extra: str) -> dict:
    return {"square": t("ui_webcam.square"), "size": t("ui_webcam.size", side="{side}"), **extra}


def camera(key: str, target: tuple[str, str] | None, burst: int, interval_ms: int = INTERVAL_MS) -> None:
    """Draws the live camera with its crop square, a photo button, and a burst of ``burst`` snapshots recorded
    into ``target`` (dataset, class); without a target the burst button says to pick one."""
    words = _words(
        photo=t("ui_webcam.photo"), burst=t("ui_webcam.burst", count=burst), stop=t("ui_webcam.stop"),
        progress=t("ui_webcam.progress", done="{done}", total="{total}"),
        needs_target=t("ui_webcam.needs_target"),
        burst_into=t("ui_webcam.burst_into", dataset=target[0], cls=target[1]) if target else "",
        starting=t("ui_webcam.starting"), help=t("ui_webcam.help"), insecure=t("ui_webcam.insecure"),
        denied=t("ui_webcam.denied"), no_camera=t("ui_webcam.no_camera"), failed=t("ui_webcam.failed", error="{error}"))
    data = {"mode": "camera", "words": words, "burst": int(burst), "interval_ms": int(interval_ms),
            "target": {"dataset": target[0], "cls": target[1]} if target else None,
            "acked": list(st.session_state.get(_acked_key(key), [])), "square": _square(_state(key).get("square")),
            "min_side": samples.MIN_SIDE, "max_side": samples.MAX_SIDE, "fraction": CAMERA_FRACTION}
    _component()(key=key, data=data, on_shots_change=_ignore, on_square_change=_ignore)


def centre_square(size: tuple[int, int], fraction: float = 1.0) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the centred square whose side is ``fraction`` of the shorter side."""
    width, height = size
    side = max(1, int(round(min(width, height) * fraction)))
    left, top = (width - side) // 2, (height - side) // 2
    return left, top, left + side, top + side


def square_over(key: str, image) -> tuple[int, int, int, int]:
    """Draws the still ``image`` (a PIL image) with a crop square; returns the square as (left, top, right,
    bottom) in the upright image's pixels (EXIF orientation applied): the person's, else the largest centred one."""
    from PIL import ImageOps

    image = ImageOps.exif_transpose(image) or image  # the square is in upright pixels, as every crop here
    width, height = image.size
    chosen = _square(_state(key).get("square"))
    if chosen and chosen["side"] >= 1 and 0 <= chosen["x"] <= width - chosen["side"] \
            and 0 <= chosen["y"] <= height - chosen["side"]:
        box = (chosen["x"], chosen["y"], chosen["x"] + chosen["side"], chosen["y"] + chosen["side"])
    else:
        box = centre_square(image.size)
    square = {"x": box[0], "y": box[1], "side": box[2] - box[0]}
    data = {"mode": "picture", "image": _preview(image), "natural": [width, height], "square": square,
            "words": _words(help=t("ui_webcam.help")), "min_side": samples.MIN_SIDE}
    _component()(key=key, data=data, on_square_change=_ignore)
    return box


def _preview(image) -> str:
    from lab import imaging

    picture = imaging.to_8bit(image)
    picture.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
    buffer = io.BytesIO()
    picture.convert("RGB").save(buffer, "JPEG", quality=88)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _ignore() -> None:
    """State callbacks declare which state keys the component has; the page reads the values itself."""
