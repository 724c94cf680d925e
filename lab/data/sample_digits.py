"""The built-in dataset: handwritten-looking digits 0-9, generated offline from a seed.

Each digit follows one of a few hand-made stroke templates, or is built from random choices of the
ways people write it (a loop or a corner, an open or a closed top). Every sample then gets its own
hand: the control points wander, the pen slants, rotates and stretches the digit, two smooth random
displacement fields, a broad and a fine one, bend the strokes (elastic distortion), and the pen's
thickness varies along the stroke. Strokes are rendered at four times the final resolution and
brought to 28x28 the MNIST way by `lab.imaging.mnist_normalize`, the same function prediction uses.

The output is the notes' layout: ``<out>/Train/<digit>/*.png`` and ``<out>/Test/<digit>/*.png``,
white strokes on black, 8-bit grayscale.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import shutil
import threading
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from lab import imaging
from lab.data.folders import staged, staging_dir
from lab.i18n import t

NAME = "sketch-digits"
CLASSES = [str(d) for d in range(10)]
TRAIN_PER_CLASS = 500  # the quick set that a first visit makes
LARGE_PER_CLASS = 3000  # the large set: six times the variety, reads real handwriting better
TEST_PER_CLASS = 100
GENERATOR_VERSION = 4
METADATA_FILE = "dataset.json"

_RENDER = 112  # render canvas side, 4x the final 28
_SPLIT_IDS = {"Train": 1, "Test": 2}


# ----------------------------------------------------------------------------------------------
# Templates. Coordinates are in a unit box, x to the right, y downwards. A stroke is a list of
# segments; each segment is a smooth curve through its points, and consecutive segments meet at a
# sharp corner. A template is a list of strokes (pen lifts between them).


def _arc(cx, cy, rx, ry, start_deg, end_deg, n=9):
    angles = np.radians(np.linspace(start_deg, end_deg, n))
    return [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in angles]


TEMPLATES: dict[str, list[list[list[tuple[float, float]]]]] = {
    "0": [
        [[_arc(0.5, 0.5, 0.34, 0.5, -90, 275, 13)]],
        [[_arc(0.5, 0.5, 0.3, 0.5, -100, 250, 13)]],
        [[_arc(0.5, 0.5, 0.4, 0.48, -80, 290, 13)]],
    ],
    "1": [
        [[[(0.5, 0.0), (0.5, 1.0)]]],
        [[[(0.25, 0.22), (0.52, 0.0)], [(0.52, 0.0), (0.5, 1.0)]]],
        [[[(0.25, 0.22), (0.52, 0.0)], [(0.52, 0.0), (0.5, 1.0)]], [[(0.25, 1.0), (0.75, 1.0)]]],
        [[[(0.1, 0.35), (0.55, 0.0)], [(0.55, 0.0), (0.55, 1.0)]]],
        [[[(0.55, 0.0), (0.48, 0.5), (0.42, 1.0)]]],
    ],
    "2": [
        [
            [
                [(0.12, 0.28), (0.3, 0.04), (0.62, 0.0), (0.86, 0.22), (0.78, 0.48), (0.45, 0.76), (0.08, 1.0)],
                [(0.08, 1.0), (0.5, 0.97), (0.94, 1.0)],
            ]
        ],
        [
            [
                [(0.1, 0.2), (0.45, 0.0), (0.85, 0.15), (0.75, 0.5), (0.3, 0.85), (0.1, 1.0)],
                [(0.1, 1.0), (0.2, 0.9), (0.35, 0.9), (0.55, 1.0), (0.9, 0.95)],
            ]
        ],
        [
            [
                [(0.15, 0.15), (0.45, 0.0), (0.78, 0.1), (0.72, 0.3)],
                [(0.72, 0.3), (0.08, 1.0)],
                [(0.08, 1.0), (0.9, 0.98)],
            ]
        ],
        [
            [
                [(0.15, 0.25), (0.5, 0.0), (0.85, 0.25), (0.7, 0.55), (0.15, 0.95)],
                [(0.15, 0.95), (0.35, 0.82), (0.3, 1.0)],
                [(0.3, 1.0), (0.9, 1.0)],
            ]
        ],
    ],
    "3": [
        [
            [
                [(0.12, 0.15), (0.45, 0.0), (0.82, 0.12), (0.78, 0.36), (0.42, 0.48)],
                [(0.42, 0.48), (0.85, 0.6), (0.86, 0.88), (0.5, 1.0), (0.1, 0.88)],
            ]
        ],
        [
            [
                [(0.12, 0.02), (0.88, 0.0)],
                [(0.88, 0.0), (0.42, 0.42)],
                [(0.42, 0.42), (0.85, 0.58), (0.84, 0.88), (0.48, 1.0), (0.1, 0.86)],
            ]
        ],
        [
            [
                [
                    (0.15, 0.12),
                    (0.5, 0.0),
                    (0.8, 0.2),
                    (0.55, 0.46),
                    (0.4, 0.5),
                    (0.55, 0.52),
                    (0.85, 0.7),
                    (0.7, 0.95),
                    (0.4, 1.0),
                    (0.12, 0.85),
                ]
            ]
        ],
    ],
    "4": [
        [[[(0.58, 0.0), (0.05, 0.68)], [(0.05, 0.68), (0.95, 0.68)]], [[(0.72, 0.25), (0.72, 1.0)]]],
        [[[(0.72, 1.0), (0.72, 0.0)], [(0.72, 0.0), (0.05, 0.66)], [(0.05, 0.66), (0.95, 0.66)]]],
        [[[(0.15, 0.0), (0.1, 0.58)], [(0.1, 0.58), (0.92, 0.58)]], [[(0.72, 0.0), (0.72, 1.0)]]],
        [[[(0.2, 0.0), (0.12, 0.52), (0.5, 0.55), (0.9, 0.48)]], [[(0.75, 0.05), (0.72, 0.6), (0.7, 1.0)]]],
    ],
    "5": [
        [
            [[(0.85, 0.0), (0.22, 0.02)]],
            [
                [(0.22, 0.02), (0.16, 0.45)],
                [(0.16, 0.45), (0.5, 0.36), (0.85, 0.55), (0.82, 0.86), (0.45, 1.0), (0.1, 0.88)],
            ],
        ],
        [
            [
                [(0.22, 0.0), (0.16, 0.45)],
                [(0.16, 0.45), (0.5, 0.36), (0.85, 0.55), (0.82, 0.86), (0.45, 1.0), (0.1, 0.88)],
            ],
            [[(0.22, 0.0), (0.88, 0.0)]],
        ],
        [
            [
                [(0.88, 0.02), (0.25, 0.0)],
                [(0.25, 0.0), (0.2, 0.42)],
                [(0.2, 0.42), (0.6, 0.4), (0.85, 0.68), (0.6, 0.98), (0.12, 0.9)],
            ]
        ],
    ],
    "6": [
        [
            [
                [
                    (0.75, 0.0),
                    (0.4, 0.2),
                    (0.16, 0.6),
                    (0.25, 0.94),
                    (0.6, 0.98),
                    (0.82, 0.74),
                    (0.62, 0.5),
                    (0.3, 0.54),
                    (0.18, 0.72),
                ]
            ]
        ],
        [[[(0.65, 0.0), (0.3, 0.35), (0.18, 0.75), (0.4, 1.0), (0.75, 0.88), (0.72, 0.6), (0.4, 0.55), (0.2, 0.75)]]],
        [[[(0.8, 0.05), (0.5, 0.0), (0.22, 0.3), (0.15, 0.7), (0.45, 1.0), (0.8, 0.8), (0.6, 0.5), (0.2, 0.65)]]],
    ],
    "7": [
        [[[(0.05, 0.0), (0.95, 0.0)], [(0.95, 0.0), (0.4, 1.0)]]],
        [[[(0.05, 0.0), (0.95, 0.0)], [(0.95, 0.0), (0.45, 1.0)]], [[(0.35, 0.5), (0.85, 0.48)]]],
        [
            [[(0.05, 0.2), (0.1, 0.0)], [(0.1, 0.0), (0.92, 0.0)], [(0.92, 0.0), (0.7, 0.4), (0.45, 1.0)]],
            [[(0.25, 0.48), (0.95, 0.45)]],
        ],
        [[[(0.05, 0.05), (0.95, 0.0)], [(0.95, 0.0), (0.62, 0.45), (0.5, 1.0)]]],
        [[[(0.08, 0.15), (0.08, 0.0)], [(0.08, 0.0), (0.92, 0.02)], [(0.92, 0.02), (0.35, 1.0)]]],
        [
            [[(0.08, 0.18), (0.1, 0.0)], [(0.1, 0.0), (0.9, 0.02)], [(0.9, 0.02), (0.62, 0.5), (0.55, 1.0)]],
            [[(0.3, 0.52), (0.88, 0.5)]],
        ],
    ],
    "8": [
        [
            [
                [
                    (0.8, 0.12),
                    (0.5, 0.0),
                    (0.2, 0.14),
                    (0.3, 0.38),
                    (0.7, 0.6),
                    (0.82, 0.86),
                    (0.5, 1.0),
                    (0.18, 0.86),
                    (0.3, 0.6),
                    (0.7, 0.38),
                    (0.8, 0.14),
                    (0.52, 0.0),
                ]
            ]
        ],
        [[_arc(0.5, 0.24, 0.26, 0.24, 90, 450, 11)], [_arc(0.5, 0.73, 0.32, 0.27, -90, 270, 11)]],
        [
            [
                [
                    (0.55, 0.48),
                    (0.2, 0.3),
                    (0.35, 0.03),
                    (0.7, 0.05),
                    (0.78, 0.28),
                    (0.5, 0.48),
                    (0.18, 0.72),
                    (0.4, 1.0),
                    (0.8, 0.9),
                    (0.78, 0.65),
                    (0.5, 0.48),
                ]
            ]
        ],
    ],
    "9": [
        [[_arc(0.45, 0.27, 0.33, 0.27, 0, 360, 11), [(0.78, 0.27), (0.74, 1.0)]]],
        [[_arc(0.45, 0.27, 0.32, 0.27, -10, 350, 11), [(0.77, 0.22), (0.75, 0.7), (0.5, 1.0)]]],
        [[_arc(0.45, 0.2, 0.3, 0.2, 0, 360, 11), [(0.75, 0.2), (0.74, 1.0)]]],
        [[_arc(0.45, 0.24, 0.3, 0.24, 0, 360, 11), [(0.75, 0.24), (0.74, 0.7), (0.5, 0.98), (0.2, 0.88)]]],
        [
            [
                [(0.3, 0.42), (0.12, 0.22), (0.35, 0.02), (0.7, 0.04), (0.8, 0.3)],
                [(0.8, 0.3), (0.45, 0.45), (0.25, 0.35)],
            ],
            [[(0.8, 0.2), (0.72, 0.65), (0.45, 1.0)]],
        ],
        [
            [
                [(0.82, 0.3), (0.5, 0.42), (0.2, 0.3), (0.3, 0.05), (0.65, 0.02), (0.82, 0.3)],
                [(0.82, 0.3), (0.78, 0.75), (0.55, 0.98), (0.25, 0.9)],
            ]
        ],
        [[_arc(0.5, 0.22, 0.28, 0.22, 20, 380, 11), [(0.76, 0.3), (0.7, 0.65), (0.55, 1.0)]]],
        [
            [
                [(0.8, 0.1), (0.45, 0.0), (0.15, 0.2), (0.3, 0.5), (0.7, 0.4), (0.8, 0.1)],
                [(0.8, 0.1), (0.75, 0.55), (0.7, 1.0)],
            ]
        ],
        [
            [
                [(0.85, 0.02), (0.2, 0.0)],
                [(0.2, 0.0), (0.18, 0.35), (0.5, 0.45), (0.82, 0.35)],
                [(0.82, 0.35), (0.8, 0.02)],
                [(0.8, 0.02), (0.78, 1.0)],
            ]
        ],
    ],
}


# ----------------------------------------------------------------------------------------------
# Every digit is also built from a few random choices, so that the forms mix freely (a 1 with or
# without its flag and foot, a 2 with a loop, a round turn or a sharp corner, a 4 open or closed, an
# 8 as one figure-eight stroke, two loops, or an S with a stroke back up).


def _one(rng: np.random.Generator):
    top_x = 0.5 + rng.uniform(-0.05, 0.1)
    bottom = (0.5 + rng.uniform(-0.12, 0.04), 1.0)
    bend = rng.normal(0.0, 0.03)
    stem = [(top_x, 0.0), ((top_x + bottom[0]) / 2 + bend, 0.5), bottom]
    strokes = []
    flag = rng.random() < 0.7
    length = rng.uniform(0.12, 0.45)
    if flag:  # the upstroke into the top: short tick to long diagonal, straight or bowed
        drop = length * rng.uniform(0.6, 1.4)  # steeper than a 7's bar
        start = (top_x - length, drop)
        if rng.random() < 0.4:
            mid = (top_x - length * 0.45, drop * 0.45 + rng.uniform(-0.08, 0.02))
            flag_seg = [start, mid, (top_x, 0.0)]
        else:
            flag_seg = [start, (top_x, 0.0)]
        stroke = [flag_seg, stem]
    else:
        stroke = [stem]
    foot = rng.random() < 0.2 and (not flag or length < 0.25)
    if foot:  # the stem turns right at the bottom, as in a quick L-like 1
        stroke[-1] = stem[:2] + [(bottom[0] + 0.02, 0.92)]
        stroke.append([(bottom[0] + 0.02, 0.92), (bottom[0] + rng.uniform(0.15, 0.4), 1.0 - rng.uniform(0.0, 0.1))])
    strokes.append(stroke)
    # A base serif; not under a long flag, where the pair reads as a 2.
    if not foot and (not flag or length < 0.3) and rng.random() < 0.35:
        left, right = rng.uniform(0.1, 0.35), rng.uniform(0.1, 0.35)
        strokes.append([[(bottom[0] - left, 1.0), (bottom[0] + right, 1.0)]])
    return strokes


def _five(rng: np.random.Generator):
    stem_x = rng.uniform(0.12, 0.38)
    waist = (stem_x + rng.uniform(-0.08, 0.04), rng.uniform(0.32, 0.52))
    bar_end = (rng.uniform(0.6, 0.98), rng.uniform(-0.04, 0.06))
    reach = rng.uniform(0.72, 0.95)  # how far right the belly swells
    belly = [
        waist,
        ((waist[0] + reach) / 2, waist[1] - rng.uniform(0.02, 0.1)),
        (reach, (waist[1] + 1.0) / 2 + rng.uniform(-0.05, 0.05)),
        ((reach + 0.3) / 2, 1.0),
        (rng.uniform(0.05, 0.35), rng.uniform(0.78, 0.95)),
    ]
    stem = [(stem_x, 0.0), waist]
    order = rng.random()
    if order < 0.5:  # the bar first, then the stem and the belly
        return [[[(stem_x, 0.0), bar_end]], [stem, belly]]
    if order < 0.8:  # one stroke: the bar from the right, down the stem, round the belly
        return [[[bar_end, (stem_x, 0.0)], stem, belly]]
    return [[stem, belly], [[(stem_x + rng.uniform(-0.02, 0.06), 0.0), bar_end]]]


def _six(rng: np.random.Generator):
    loop_top = rng.uniform(0.4, 0.66)  # a small loop low down, or a big one reaching the middle
    half = rng.uniform(0.18, 0.32)  # the loop's half-width
    cx = rng.uniform(0.42, 0.55)
    cy = (loop_top + 1.0) / 2
    ry = (1.0 - loop_top) / 2
    start = (rng.uniform(0.5, 0.8), rng.uniform(-0.02, 0.08))
    bow = rng.uniform(-0.06, 0.12)  # the back: straight, or bowed out to the left
    back = [start, ((start[0] + cx - half) / 2 - bow, loop_top * 0.55), (cx - half, cy)]
    sweep = rng.uniform(280, 370)  # down, round and up: the loop stops short of the back, meets it, or crosses it
    loop = _arc(cx, cy, half, ry, 180, 180 - sweep, 11)
    return [[back[:-1] + loop]]


def _seven(rng: np.random.Generator):
    left = rng.uniform(0.0, 0.2) if rng.random() < 0.7 else rng.uniform(0.2, 0.45)
    right = rng.uniform(0.8, 1.0)
    top = [(left, rng.uniform(-0.04, 0.06)), (right, 0.0)]
    if rng.random() < 0.25:  # the bar bows upwards
        top = [top[0], ((left + right) / 2, rng.uniform(-0.08, -0.02)), top[1]]
    foot_x = rng.uniform(0.25, 0.6)
    if rng.random() < 0.5:
        stem = [(right, 0.0), (foot_x, 1.0)]
    else:  # steep at first or at the end
        mid_x = (right + foot_x) / 2 + rng.uniform(-0.12, 0.12)
        stem = [(right, 0.0), (mid_x, 0.5), (foot_x, 1.0)]
    stroke = [top, stem]
    if rng.random() < 0.08:  # a short downward hook where the pen starts
        stroke.insert(0, [(left - 0.02, rng.uniform(0.12, 0.25)), top[0]])
    strokes = [stroke]
    if rng.random() < 0.45:  # the crossbar through the middle of the stem
        y = rng.uniform(0.4, 0.6)
        x = right + (foot_x - right) * y
        width_left, width_right = rng.uniform(0.15, 0.35), rng.uniform(0.1, 0.3)
        strokes.append([[(x - width_left, y + rng.uniform(-0.03, 0.03)), (x + width_right, y)]])
    return strokes


def _eight(rng: np.random.Generator):
    cx = 0.5
    waist = rng.uniform(0.36, 0.55)  # where the loops meet: a small upper loop sits higher
    upper = rng.uniform(0.13, 0.36)  # half-widths of the loops
    lower = rng.uniform(max(upper, 0.2), 0.42)
    tilt = rng.normal(0.0, 0.05)  # the upper loop leans left or right of the lower one
    if rng.random() < 0.3:  # an S from the top right, then a straight stroke back up
        start = (rng.uniform(0.6, 0.85), rng.uniform(0.02, 0.12))
        s_curve = [start, (0.45, 0.0), (0.2, 0.2), (0.5, 0.5), (0.82, 0.75), (0.5, 1.0), (0.18, 0.82)]
        back = [(0.18, 0.82), (0.5, 0.5), (start[0] + rng.uniform(-0.05, 0.05), start[1] + rng.uniform(-0.02, 0.05))]
        return [[s_curve, back]]
    if rng.random() < 0.35:  # two separate loops, stacked
        ry_top, ry_bottom = waist / 2, (1.0 - waist) / 2
        first = _arc(cx + tilt, ry_top, upper, ry_top, 90, 450, 11)
        second = _arc(cx, waist + ry_bottom, lower, ry_bottom, -90, 270, 11)
        return [[first], [second]]
    u, lo = waist / 2, waist + (1.0 - waist) / 2
    gap = rng.uniform(0.0, 0.15) if rng.random() < 0.6 else rng.uniform(0.15, 0.3)  # open or closed top
    points = [
        (cx + tilt + upper * 0.85, 0.12 + gap * 0.5),
        (cx + tilt, 0.0),
        (cx + tilt - upper, u),
        (cx, waist),
        (cx + lower, lo),
        (cx, 1.0),
        (cx - lower, lo),
        (cx, waist),
        (cx + tilt + upper, u - gap),
        (cx + tilt + upper * 0.55, 0.02 + gap),
    ]
    if rng.random() < 0.5:  # drawn the other way round: mirror
        points = [(1.0 - x, y) for x, y in points]
    return [[points]]


def _two(rng: np.random.Generator):
    start = (rng.uniform(0.02, 0.25), rng.uniform(0.1, 0.4))
    top = (rng.uniform(0.35, 0.6), rng.uniform(-0.02, 0.04))
    shoulder = (rng.uniform(0.78, 1.0), rng.uniform(0.15, 0.38))
    corner = (rng.uniform(0.0, 0.18), rng.uniform(0.92, 1.0))
    end = (rng.uniform(0.6, 1.0), rng.uniform(0.9, 1.04))
    bow = rng.uniform(-0.05, 0.15)  # the neck bows out, or in a little
    head = [start, ((start[0] + top[0]) / 2, top[1] + 0.06), top, shoulder]
    style = rng.random()
    if style < 0.35:  # a loop at the bottom left: down its right side, round, and out along the base
        r = rng.uniform(0.09, 0.19)
        cx, cy = corner[0] + r, corner[1] - r
        loop = _arc(cx, cy, r * rng.uniform(0.8, 1.4), r, 0, rng.uniform(300, 340), 7)
        neck = ((shoulder[0] + cx + r) / 2 + bow * 0.5, (shoulder[1] + cy) / 2)
        return [[head + [neck] + loop + [(cx + r * 1.5, corner[1] - 0.01), end]]]
    head.append(((shoulder[0] + corner[0]) / 2 + bow, (shoulder[1] + corner[1]) / 2 - bow * 0.6))
    if style < 0.55:  # a rounded turn into the base
        return [[head + [corner, (corner[0] + 0.25, corner[1] + 0.01), end]]]
    if style < 0.7:  # a wavy base
        return [[head + [corner]], [[corner, (corner[0] + 0.15, corner[1] - 0.08), (0.5, corner[1] - 0.03), end]]]
    return [[head + [corner], [corner, end]]]  # a sharp corner and a straight base


def _zero(rng: np.random.Generator):
    rx = rng.uniform(0.26, 0.46)
    start = rng.uniform(-130, -60)  # the pen starts near the top
    sweep = rng.uniform(330, 400)  # and stops short of its start, meets it, or runs past it
    pinch = rng.uniform(0.0, 0.12)  # a pointed top, as many write it
    points = _arc(0.5, 0.5, rx, 0.5, start, start + sweep, 13)
    return [[[(x + (0.5 - x) * pinch * max(0.0, (0.5 - y) / 0.5) ** 2, y) for x, y in points]]]


def _three(rng: np.random.Generator):
    mid = (rng.uniform(0.3, 0.5), rng.uniform(0.42, 0.52))
    start = (rng.uniform(0.05, 0.25), rng.uniform(0.02, 0.25))
    upper = rng.uniform(0.7, 0.9)  # how far right each bowl reaches: the lower one about as far or further
    lower = rng.uniform(max(upper - 0.05, 0.72), 0.95)
    end = (rng.uniform(0.02, 0.25), rng.uniform(0.75, 0.92))
    if rng.random() < 0.2:  # a flat top and a diagonal down to the middle
        first = [[(start[0], rng.uniform(-0.02, 0.04)), (upper, 0.0)], [(upper, 0.0), mid]]
    else:
        first = [[start, ((start[0] + upper) / 2, 0.0), (upper, mid[1] * 0.45), mid]]
    bowl = [mid, (lower, (mid[1] + 1.0) / 2 + rng.uniform(-0.05, 0.05)), ((lower + end[0]) / 2 + 0.05, 1.0), end]
    if rng.random() < 0.45:  # a sharp corner in the middle
        return [first + [bowl]]
    # a smooth middle: the pen goes in a little and out again
    return [first[:-1] + [first[-1][:-1] + [(mid[0] - rng.uniform(0.0, 0.08), mid[1] + 0.02)] + bowl[1:]]]


def _four(rng: np.random.Generator):
    top_x = rng.uniform(0.55, 0.8)
    bar_y = rng.uniform(0.5, 0.72)
    left = rng.uniform(0.0, 0.2)
    right = rng.uniform(max(top_x + 0.1, 0.8), 1.0)
    foot = (top_x + rng.uniform(-0.08, 0.02), 1.0)
    if rng.random() < 0.5:  # closed: the slanted side runs up to where the upright starts
        side = [[(top_x, 0.0), (left, bar_y)], [(left, bar_y), (right, bar_y - rng.uniform(0.0, 0.05))]]
        return [side, [[(top_x, 0.0), foot]]]
    # open: a short upright, then the bar; the long upright starts at the top or lower down
    side = [[(rng.uniform(0.05, 0.35), 0.0), (left + rng.uniform(0.0, 0.1), bar_y)],
            [(left + 0.05, bar_y), (right, bar_y - rng.uniform(0.0, 0.06))]]
    upright_top = rng.uniform(0.0, bar_y * 0.6) if rng.random() < 0.6 else 0.0
    return [side, [[(top_x + rng.uniform(-0.05, 0.05), upright_top), foot]]]


def _nine(rng: np.random.Generator):
    ry, rx = rng.uniform(0.16, 0.3), rng.uniform(0.22, 0.38)
    cx, cy = 0.5, ry
    right = cx + rx
    if rng.random() < 0.6:  # a straight or gently bent tail
        foot = (right + rng.uniform(-0.2, 0.02), 1.0)
        tail = [(right, cy), ((right + foot[0]) / 2 + rng.uniform(-0.03, 0.03), 0.6), foot]
    else:  # the tail curls to the left at the bottom
        tail = [(right, cy), (right - 0.02, 0.7), (right - 0.2, 0.98), (right - rng.uniform(0.35, 0.5), 0.9)]
    start = rng.uniform(-20, 20)
    loop = _arc(cx, cy, rx, ry, start, start - rng.uniform(340, 380), 11)  # anticlockwise, from the right
    if rng.random() < 0.5:  # one stroke: round the loop, then down
        return [[loop, tail]]
    return [[loop], [[(right, cy - ry * rng.uniform(0.3, 1.0))] + tail[1:]]]


BUILDERS = {
    "0": _zero, "1": _one, "2": _two, "3": _three, "4": _four, "5": _five, "6": _six, "7": _seven, "8": _eight,
    "9": _nine,
}
BUILT_SHARE = 0.6  # share of the digits that come from the builders instead of the fixed templates


# ----------------------------------------------------------------------------------------------
# Geometry.


def _catmull_rom(points: np.ndarray, per_segment: int = 10) -> np.ndarray:
    """A smooth curve through `points` (shape (n, 2)); straight line for two points."""
    if len(points) == 2:
        t = np.linspace(0.0, 1.0, per_segment + 1)[:, None]
        return points[0] * (1 - t) + points[1] * t
    padded = np.vstack([2 * points[0] - points[1], points, 2 * points[-1] - points[-2]])
    # Every segment at once: p0..p3 are (segments, 1, 2), t is (1, per_segment, 1).
    p0, p1, p2, p3 = padded[:-3, None], padded[1:-2, None], padded[2:-1, None], padded[3:, None]
    t = np.linspace(0.0, 1.0, per_segment, endpoint=False)[None, :, None]
    t2, t3 = t * t, t * t * t
    curve = 0.5 * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t2 + (-p0 + 3 * p1 - 3 * p2 + p3) * t3)
    return np.vstack([curve.reshape(-1, 2), points[-1:]])


def _elastic(points: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Move points by a displacement field given on a coarse grid over [-0.25, 1.25]^2 (bilinear)."""
    n = grid.shape[0] - 1
    u = np.clip((points + 0.25) / 1.5 * n, 0, n - 1e-6)
    i, j = u[:, 1].astype(int), u[:, 0].astype(int)
    fy, fx = (u[:, 1] - i)[:, None], (u[:, 0] - j)[:, None]
    d = (
        grid[i, j] * (1 - fy) * (1 - fx)
        + grid[i, j + 1] * (1 - fy) * fx
        + grid[i + 1, j] * fy * (1 - fx)
        + grid[i + 1, j + 1] * fy * fx
    )
    return points + d


def _point_noise(rng: np.random.Generator, count: int, jitter: float) -> np.ndarray:
    """How far each of a segment's `count` control points wanders.

    Up to POINTS_AT_FULL_JITTER points wander independently. On longer runs (arcs, loops) only every
    third point draws its own offset and the points between follow smoothly, so a loop bends and
    stretches as a whole instead of breaking into kinks.
    """
    if count <= POINTS_AT_FULL_JITTER:
        return rng.normal(0.0, jitter, size=(count, 2))
    anchors = round(count / 3) + 1
    knots = rng.normal(0.0, jitter, size=(anchors, 2))
    where = np.linspace(0.0, anchors - 1, count)
    return np.stack([np.interp(where, np.arange(anchors), knots[:, k]) for k in range(2)], axis=1)


def _stretch_table(top: int) -> list[int]:
    top = max(int(top), 1)
    return [min(255, round(v * 255 / top)) for v in range(256)]


def render_digit(digit: str, rng: np.random.Generator) -> np.ndarray:
    """One handwritten-looking digit as a 28x28 uint8 array (white on black, MNIST-normalised)."""
    if digit in BUILDERS and rng.random() < BUILT_SHARE:
        template = BUILDERS[digit](rng)
    else:
        variants = TEMPLATES[digit]
        template = variants[int(rng.integers(len(variants)))]

    jitter = rng.uniform(*JITTER)
    angle = math.radians(rng.normal(0.0, ROTATION_SD))
    slant = rng.normal(*SLANT)
    sx = rng.uniform(*WIDTH) * (1.0 if digit != "1" else rng.uniform(0.6, 1.6))
    sy = rng.uniform(0.9, 1.1)
    grid = rng.normal(0.0, rng.uniform(*ELASTIC), size=(4, 4, 2))
    fine = rng.normal(0.0, rng.uniform(*ELASTIC_FINE), size=(7, 7, 2))  # and a finer one: local waver
    cos_a, sin_a = math.cos(angle), math.sin(angle)

    strokes = []
    for stroke in template:
        pieces = []
        shared_end = None
        for segment in stroke:
            pts = np.asarray(segment, dtype=np.float64).copy()
            noise = _point_noise(rng, len(pts), jitter)
            if shared_end is not None:
                noise[0] = shared_end  # keep the corner joined to the previous segment
            shared_end = noise[-1]
            pts += noise
            pieces.append(_catmull_rom(pts, 8))
        curve = np.vstack(pieces)
        curve = _elastic(_elastic(curve, grid), fine)
        x, y = curve[:, 0] - 0.5, curve[:, 1] - 0.5
        x = x * sx - slant * y
        y = y * sy
        curve = np.stack([x * cos_a - y * sin_a, x * sin_a + y * cos_a], axis=1)
        strokes.append(curve)

    # Pen radius at 4x (the digit is about 80 px tall): mostly medium, some fine pens (a thin brush on
    # the drawing canvas), some markers.
    kind = rng.random()
    pen = next(rng.uniform(*radii) for share, radii in PENS if kind < share)
    image = Image.new("L", (_RENDER, _RENDER), 0)
    draw = ImageDraw.Draw(image)
    scale = 80.0
    for curve in strokes:
        pts = curve * scale + _RENDER / 2.0
        seg = np.diff(pts, axis=0)
        lengths = np.hypot(seg[:, 0], seg[:, 1])
        total = float(lengths.sum())
        step = max(1.0, pen * 0.35)
        count = max(2, int(total / step) + 1)
        cum = np.concatenate([[0.0], np.cumsum(lengths)])
        s = np.linspace(0.0, total, count)
        xs = np.interp(s, cum, pts[:, 0])
        ys = np.interp(s, cum, pts[:, 1])
        phase, wobble = rng.uniform(0, 2 * math.pi), rng.uniform(0.0, 0.3)
        radii = pen * (1.0 + wobble * np.sin(phase + s / max(total, 1.0) * 2 * math.pi))
        taper = rng.uniform(0.6, 1.0)
        ends = np.minimum(s, total - s) / max(pen * 2.0, 1e-6)
        radii = radii * (taper + (1 - taper) * np.clip(ends, 0, 1))
        for box in np.stack([xs - radii, ys - radii, xs + radii, ys + radii], axis=1).tolist():
            draw.ellipse(box, fill=255)
    if rng.random() < BLUR_SHARE:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(1.0, 3.0)))
        image = image.point(_stretch_table(image.getextrema()[1]))
    out = imaging.mnist_normalize(np.asarray(image), threshold=8)
    if out is None:  # cannot happen with these templates, but stay total
        return np.zeros((28, 28), dtype=np.uint8)
    if rng.random() < LOW_RES_SHARE:
        out = _low_resolution(out, rng)
    return out


LOW_RES_SHARE = 0.1
POINTS_AT_FULL_JITTER = 5
PENS = ((0.1, (1.0, 2.6)), (0.8, (2.6, 7.5)), (1.0, (7.5, 11.0)))  # (cumulative share, radius range at 4x)
BLUR_SHARE = 0.1
ROTATION_SD = 10.0
SLANT = (0.15, 0.22)
WIDTH = (0.65, 1.3)
JITTER = (0.04, 0.13)
ELASTIC = (0.04, 0.12)
ELASTIC_FINE = (0.03, 0.07)


def _low_resolution(out: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The same digit as a coarse scan would give it: averaged down to a few pixels and back."""
    side = int(rng.integers(6, 15))
    bbox = imaging.ink_bbox(out, 0)
    top, left, bottom, right = bbox
    crop = Image.fromarray(out[top:bottom, left:right], "L")
    if rng.random() < 0.15:  # scanners that fill the whole cell stretch narrow digits to a square
        small = crop.resize((side, side), Image.BOX)
    else:
        h, w = bottom - top, right - left
        f = side / max(h, w)
        small = crop.resize((max(1, round(w * f)), max(1, round(h * f))), Image.BOX)
    up = np.asarray(small.resize((small.width * 8, small.height * 8), Image.BILINEAR))
    again = imaging.mnist_normalize(up, threshold=0)
    return out if again is None else again


# ----------------------------------------------------------------------------------------------
# Writing the dataset.


def _rng(seed: int, split: str, digit: str, index: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), _SPLIT_IDS[split], int(digit), int(index)])


def _write_chunk(folder: str, split: str, digit: str, start: int, stop: int, seed: int) -> int:
    target = Path(folder) / split / digit
    target.mkdir(parents=True, exist_ok=True)
    for index in range(start, stop):
        array = render_digit(digit, _rng(seed, split, digit, index))
        Image.fromarray(array, "L").save(target / f"{index:05d}.png", compress_level=1)
    return stop - start


def _chunks(train_per_class: int, test_per_class: int, size: int = 250):
    for split, per_class in (("Train", train_per_class), ("Test", test_per_class)):
        for digit in CLASSES:
            for start in range(0, per_class, size):
                yield split, digit, start, min(per_class, start + size)


def make(
    out,
    seed: int = 0,
    progress=None,
    train_per_class: int = TRAIN_PER_CLASS,
    test_per_class: int = TEST_PER_CLASS,
    workers: int | None = None,
) -> Path:
    """Write the digits dataset to `out` (replacing what is there), deterministically from `seed`.

    The images are written into a hidden folder beside `out` and moved into place at the end, so an
    interrupted run leaves nothing half-made. `progress(fraction, text)` is called as chunks finish.
    Returns the dataset folder.
    """
    out = Path(out)
    with staged(out, "tmp") as tmp:
        chunks = list(_chunks(train_per_class, test_per_class))
        total = sum(stop - start for _, _, start, stop in chunks)
        done = 0
        if progress:
            progress(0.0, t("data.digits.drawing", total=total))
        workers = workers or min(len(chunks), os.cpu_count() or 1)
        if workers > 1:
            context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
            with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
                futures = [pool.submit(_write_chunk, str(tmp), *chunk, seed) for chunk in chunks]
                for future in as_completed(futures):
                    done += future.result()
                    if progress:
                        progress(done / total, t("data.digits.drawn", done=done, total=total))
        else:
            for chunk in chunks:
                done += _write_chunk(str(tmp), *chunk, seed)
                if progress:
                    progress(done / total, t("data.digits.drawn", done=done, total=total))
        metadata = {
            "name": NAME,
            "description": "Handwritten-style digits generated by CNN Lab, MNIST format: white on black, 28x28, "
            "fitted into 20x20 and centred by centre of mass.",
            "generator_version": GENERATOR_VERSION,
            "seed": int(seed),
            "train_per_class": train_per_class,
            "test_per_class": test_per_class,
            "centering": "mass",
            "polarity": imaging.LIGHT_ON_DARK,
        }
        (tmp / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n")
    return out


def name_for(train_per_class: int) -> str:
    """The folder name of the set with this many Train digits per class: sketch-digits, or sketch-digits-3000."""
    return NAME if train_per_class == TRAIN_PER_CLASS else f"{NAME}-{int(train_per_class)}"


_ensure_lock = threading.Lock()


def ensure(root=None, progress=None, train_per_class: int | None = None) -> Path:
    """Return `<root>/<name_for(train_per_class)>`, generating it first if it is not there yet.

    With no size, the quick default set `<root>/sketch-digits`.
    """
    from lab.data.discovery import default_root

    root = Path(root) if root is not None else default_root()
    per_class = TRAIN_PER_CLASS if train_per_class is None else int(train_per_class)
    name = name_for(per_class)
    out = root / name
    with _ensure_lock:
        if (out / "Train").is_dir():
            return out
        root.mkdir(parents=True, exist_ok=True)
        tmp_out = staging_dir(root, name, "build") / name
        try:
            make(tmp_out, seed=0, progress=progress, train_per_class=per_class)
            try:
                os.replace(tmp_out, out)
            except OSError:
                if not (out / "Train").is_dir():  # another process finished first, or a stale folder
                    raise
        finally:
            shutil.rmtree(tmp_out.parent, ignore_errors=True)
    return out
