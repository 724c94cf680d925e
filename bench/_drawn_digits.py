"""Digits 0-9 as pen strokes a person might draw on the Predict page's canvas, in two hands.

Each digit is a list of strokes; each stroke a list of (x, y) points in a unit box (x to the right, y downwards).
``polyline`` turns a stroke into the dense mouse path that ``draw`` sends to Chromium (bench/perf_first_minute.py);
``canvas_pictures`` draws them as the canvas would, without a browser (bench/sample_digits_accuracy.py).
"""

from __future__ import annotations

import math

import numpy as np


def _ellipse(cx, cy, rx, ry, start=-90.0, turn=-370.0, n=40):
    return [(cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a)))
            for a in np.linspace(start, start + turn, n)]


# An upright, rounded hand.
ROUND = {
    "0": [_ellipse(0.5, 0.5, 0.27, 0.42)],
    "1": [[(0.36, 0.24), (0.52, 0.08), (0.52, 0.92)]],
    "2": [[(0.26, 0.28), (0.36, 0.12), (0.55, 0.08), (0.72, 0.2), (0.7, 0.38), (0.5, 0.6), (0.26, 0.9),
           (0.5, 0.89), (0.78, 0.9)]],
    "3": [[(0.28, 0.16), (0.5, 0.08), (0.7, 0.18), (0.68, 0.36), (0.47, 0.48), (0.7, 0.58), (0.73, 0.78),
           (0.52, 0.92), (0.27, 0.84)]],
    "4": [[(0.58, 0.08), (0.24, 0.62), (0.8, 0.62)], [(0.63, 0.34), (0.63, 0.92)]],
    "5": [[(0.72, 0.1), (0.36, 0.1), (0.33, 0.45), (0.55, 0.41), (0.71, 0.55), (0.7, 0.79), (0.5, 0.91),
           (0.28, 0.84)]],
    "6": [[(0.66, 0.1), (0.45, 0.25), (0.33, 0.5), (0.34, 0.76), (0.5, 0.91), (0.67, 0.79), (0.66, 0.6),
           (0.5, 0.52), (0.34, 0.63)]],
    "7": [[(0.26, 0.12), (0.74, 0.12), (0.58, 0.5), (0.46, 0.9)]],
    "8": [[(0.66, 0.2), (0.5, 0.09), (0.34, 0.2), (0.38, 0.36), (0.62, 0.6), (0.66, 0.8), (0.5, 0.91),
           (0.34, 0.8), (0.38, 0.6), (0.62, 0.36), (0.66, 0.2)]],
    "9": [[(0.66, 0.3), (0.5, 0.44), (0.34, 0.34), (0.38, 0.14), (0.55, 0.09), (0.67, 0.22), (0.66, 0.5),
           (0.63, 0.92)]],
}

# A quicker, slanted hand with other common forms: a plain 1, a closed 4, a crossed 7, a 9 with a curved tail.
QUICK = {
    "0": [_ellipse(0.52, 0.5, 0.22, 0.4, start=-100, turn=360)],
    "1": [[(0.56, 0.08), (0.5, 0.5), (0.44, 0.92)]],
    "2": [[(0.28, 0.22), (0.5, 0.08), (0.7, 0.2), (0.62, 0.45), (0.28, 0.88), (0.75, 0.86)]],
    "3": [[(0.3, 0.1), (0.72, 0.1), (0.46, 0.42), (0.68, 0.55), (0.7, 0.78), (0.5, 0.92), (0.28, 0.86)]],
    "4": [[(0.34, 0.08), (0.28, 0.55), (0.78, 0.55)], [(0.68, 0.08), (0.64, 0.92)]],
    "5": [[(0.38, 0.1), (0.34, 0.45), (0.58, 0.42), (0.72, 0.6), (0.64, 0.85), (0.44, 0.92), (0.28, 0.82)],
          [(0.38, 0.1), (0.74, 0.1)]],
    "6": [[(0.62, 0.08), (0.38, 0.38), (0.32, 0.7), (0.46, 0.91), (0.66, 0.82), (0.66, 0.6), (0.48, 0.54),
           (0.34, 0.68)]],
    "7": [[(0.26, 0.14), (0.3, 0.1), (0.76, 0.1), (0.48, 0.92)], [(0.36, 0.5), (0.72, 0.5)]],
    "8": [_ellipse(0.5, 0.27, 0.18, 0.18, start=90, turn=360, n=30),
          _ellipse(0.5, 0.7, 0.23, 0.22, start=-90, turn=360, n=30)],
    "9": [[(0.68, 0.22), (0.5, 0.1), (0.33, 0.22), (0.38, 0.4), (0.58, 0.42), (0.68, 0.22), (0.68, 0.6),
           (0.55, 0.88), (0.33, 0.86)]],
}

HANDS = {"round": ROUND, "quick": QUICK}


def drawings() -> list[tuple[str, str, list]]:
    """(hand, digit, strokes) for every hand and digit, in a fixed order."""
    return [(hand, digit, strokes) for hand, digits in HANDS.items() for digit, strokes in digits.items()]


def polyline(points, step: float = 0.02) -> list[tuple[float, float]]:
    """A smooth path through ``points`` (Catmull-Rom), about ``step`` apart, in the unit box."""
    pts = np.asarray(points, dtype=float)
    if len(pts) == 2:
        count = max(2, int(np.hypot(*(pts[1] - pts[0])) / step) + 1)
        t = np.linspace(0, 1, count)[:, None]
        return [tuple(p) for p in pts[0] * (1 - t) + pts[1] * t]
    padded = np.vstack([2 * pts[0] - pts[1], pts, 2 * pts[-1] - pts[-2]])
    out = [tuple(pts[0])]
    for i in range(1, len(padded) - 2):
        p0, p1, p2, p3 = padded[i - 1:i + 3]
        count = max(2, int(np.hypot(*(p2 - p1)) / step) + 1)
        for t in np.linspace(0, 1, count)[1:]:
            point = 0.5 * (2 * p1 + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t * t
                           + (-p0 + 3 * p1 - 3 * p2 + p3) * t ** 3)
            out.append(tuple(point))
    return out


def draw(page, canvas, strokes, margin: float = 0.15) -> None:
    """Draws ``strokes`` with the mouse on ``canvas`` (a Playwright locator), inside a margin of the box."""
    box = canvas.bounding_box()
    side = min(box["width"], box["height"]) * (1 - 2 * margin)
    left = box["x"] + (box["width"] - side) / 2
    top = box["y"] + (box["height"] - side) / 2
    for stroke in strokes:
        path = [(left + x * side, top + y * side) for x, y in polyline(stroke)]
        page.mouse.move(*path[0])
        page.mouse.down()
        for x, y in path[1:]:
            page.mouse.move(x, y)
        page.mouse.up()


def canvas_picture(strokes, width: float = 22, side: int = 280, slant: float = 0.0, scale: float = 1.0):
    """The Predict canvas's picture of ``strokes`` (white on black, round pen of ``width`` px) without a browser."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (side, side), "black")
    pen = ImageDraw.Draw(image)
    box = side * 0.7 * scale
    offset = (side - box) / 2
    radius = width / 2
    for stroke in strokes:
        path = [(offset + (x - slant * (y - 0.5)) * box, offset + y * box) for x, y in polyline(stroke)]
        pen.line(path, fill="white", width=int(round(width)), joint="curve")
        for x, y in path:
            pen.ellipse((x - radius, y - radius, x + radius, y + radius), fill="white")
    return image


def canvas_pictures():
    """(digit, picture) for every drawing in three pen widths, three slants and two sizes: 360 pictures."""
    return [(digit, canvas_picture(strokes, width, slant=slant, scale=scale))
            for _, digit, strokes in drawings()
            for width in (12, 22, 36) for slant in (-0.15, 0.0, 0.2) for scale in (0.75, 1.0)]
