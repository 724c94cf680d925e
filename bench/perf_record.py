"""Recording one's own samples: how long saving a snapshot takes, and what the "Add to my dataset" controls read.

1. Saving: a webcam snapshot as the square camera sends it (a PNG data URL) is decoded and saved the way the
   Predict page saves it (``lab.data.samples.add_sample``: upright, 8-bit, PNG, written beside the class, fsync,
   linked into place). Real hand photos (/work/shared/datasets/asl_hand_photos, 128x128) and 384x384 and 512x512
   camera-like frames (noise over a bright square: PNG cannot shrink them much, the worst case). Per sample, the
   median of each round and the median and min-max of the rounds; as a fraction of the burst's one-second
   interval (a burst keeps up while this is well under 1).
2. Reading: what the controls read on every run of the Predict page (the recorded datasets, the counts per class,
   the newest samples of the chosen class) for a dataset of 24 classes x 60 samples, against
   ``lab.data.discovery.inspect`` of the same folder (what the Dataset page reads) as the ratio.

    .venv/bin/python bench/perf_record.py            # 5 rounds
    .venv/bin/python bench/perf_record.py --quick    # 2 rounds, fewer samples
"""

from __future__ import annotations

import argparse
import base64
import io
import tempfile
import time
from pathlib import Path

import numpy as np
from _perf_common import REPO, machine, median, spread
from PIL import Image

from lab.data import samples
from lab.data.discovery import inspect

HAND_PHOTOS = REPO.parent / "shared/datasets/asl_hand_photos"
BURST_INTERVAL_S = 1.0


def frame(side: int, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 90, size=(side, side, 3), dtype=np.uint8)
    arr[side // 4:3 * side // 4, side // 4:3 * side // 4] += 140
    return Image.fromarray(arr, "RGB")


def as_sent(picture: Image.Image) -> str:
    """The picture as the browser sends it: an RGBA PNG in a data URL."""
    buffer = io.BytesIO()
    picture.convert("RGBA").save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def hand_photos(count: int) -> list[Image.Image]:
    files = sorted(HAND_PHOTOS.glob("*/*.jpg"))[::7][:count]
    pictures = []
    for file in files:
        with Image.open(file) as photo:
            pictures.append(photo.convert("RGB"))
    return pictures or [frame(128, seed) for seed in range(count)]


def save_round(root: Path, urls: list[str]) -> float:
    """Seconds per sample to decode and save every snapshot of ``urls`` into a fresh dataset."""
    name = f"bench-{time.perf_counter_ns()}"
    samples.new_dataset(name, ["A"], root=root)
    start = time.perf_counter()
    for url in urls:
        data = base64.b64decode(url.split(",", 1)[1])
        samples.add_sample(name, "A", data, root=root)
    return (time.perf_counter() - start) / len(urls)


def panel_reads(root: Path, name: str) -> float:
    start = time.perf_counter()
    samples.recorded_datasets(root)
    counts = samples.counts(name, root)
    samples.sample_files(name, next(iter(counts)), root)[:6]
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rounds = 2 if args.quick else 5
    per_round = 8 if args.quick else 30
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        kinds = {"hand photo 128x128": [as_sent(p) for p in hand_photos(per_round)],
                 "frame 384x384": [as_sent(frame(384, seed)) for seed in range(per_round)],
                 "frame 512x512": [as_sent(frame(512, seed)) for seed in range(per_round)]}
        print(f"1. saving one snapshot ({per_round} per round, {rounds} rounds)")
        for kind, urls in kinds.items():
            times = [save_round(root, urls) for _ in range(rounds)]
            size = len(urls[0]) * 3 // 4 // 1024
            print(f"   {kind:<20} ~{size} KB sent: {spread(times, 'ms', 1, 1000)}; "
                  f"{median(times) / BURST_INTERVAL_S:.3f} of the burst interval")

        name = "panel"
        letters = [chr(c) for c in range(ord("A"), ord("Z")) if chr(c) not in "JZ"][:24]
        samples.new_dataset(name, letters, root=root)
        photos = hand_photos(60)
        for cls in letters:
            for index, photo in enumerate(photos):
                samples.add_sample(name, cls, photo, sample_id=f"s{index:03d}", root=root)
        reads, scans = [], []
        for _ in range(rounds):
            reads.append(median([panel_reads(root, name) for _ in range(20)]))
            start = time.perf_counter()
            inspect(root / name)
            scans.append(time.perf_counter() - start)
        print(f"2. the controls' reads, 24 classes x 60 samples: {spread(reads, 'ms', 2, 1000)}; "
              f"inspect of the same folder {spread(scans, 'ms', 1, 1000)}; ratio {median(reads) / median(scans):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
