"""Feature maps and saliency for one input, once the model is loaded: 28x28 (``recommended``) and a 128x128 photo.

For each model: the ``recommended`` spec (for the photo model adapted to 128x128x3), saved and loaded back the way
the page loads a run's model (``lab.train.runs.load_model_file``); then one request = ``lab.explain.feature_maps``
+ ``lab.explain.saliency`` for the predicted class + the pictures the page shows (one ``grid_image`` per layer and
two ``overlay``). The first request after loading (it builds the cached sub-models) is timed alone; then the
median of ``--rounds`` requests with their min-max. Targets: 300 ms at 28x28, 1 s at 128x128.

    .venv/bin/python bench/perf_explain.py              # 9 rounds
    .venv/bin/python bench/perf_explain.py --quick      # 5 rounds
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _perf_common import machine, median, verdict

TARGETS_MS = {"28x28x1": 300.0, "128x128x3": 1000.0}


def request(explain, model, x):
    maps = explain.feature_maps(model, x)
    guess = int(explain.probabilities(model, x).argmax())
    heat = explain.saliency(model, x, guess)
    for found in maps:
        explain.grid_image(found.maps, found.low, found.high)
    seen = explain.picture(x[0], 0, 255)
    explain.overlay(seen, heat.gradcam)
    explain.overlay(seen, heat.gradient)
    return maps


def measure(shape: tuple[int, int, int], rounds: int, folder: Path) -> dict:
    import numpy as np

    from lab import explain, presets
    from lab.build import build_model
    from lab.spec import adapt
    from lab.train.runs import load_model_file, save_model_atomic

    spec, _ = adapt(presets.load("recommended"), input_shape=list(shape), num_classes=24)
    path = folder / f"{shape[0]}x{shape[1]}.keras"
    save_model_atomic(build_model(spec, seed=0), path)
    began = time.perf_counter()
    model = load_model_file(path)
    load_ms = (time.perf_counter() - began) * 1000
    x = np.random.default_rng(0).uniform(0, 255, (1, *shape)).astype("float32")

    began = time.perf_counter()
    maps = request(explain, model, x)
    first_ms = (time.perf_counter() - began) * 1000
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        request(explain, model, x)
        times.append((time.perf_counter() - began) * 1000)
    return {"load": load_ms, "first": first_ms, "median": median(times), "min": min(times), "max": max(times),
            "layers": len(maps), "values": sum(m.maps.size for m in maps)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 rounds")
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args()
    rounds = max(5, args.rounds or (5 if args.quick else 9))
    print(f"machine: {machine()}")
    began = time.perf_counter()
    import tensorflow  # noqa: F401  (its import is not part of a request)

    print(f"import tensorflow: {time.perf_counter() - began:.1f} s (once per process, before any model loads)")
    results = {}
    with tempfile.TemporaryDirectory(prefix="perf-explain-") as folder:
        for shape in ((28, 28, 1), (128, 128, 3)):
            name = "x".join(map(str, shape))
            found = results[name] = measure(shape, rounds, Path(folder))
            target = TARGETS_MS[name]
            print(f"{name} recommended: model loaded in {found['load']:.0f} ms; {found['layers']} map layers "
                  f"({found['values']:,} values); first request {found['first']:.1f} ms "
                  f"({found['first'] / target:.2f} of the {target:g} ms target); median of {rounds} "
                  f"{found['median']:.1f} ms (min {found['min']:.1f}, max {found['max']:.1f}; "
                  f"{found['median'] / target:.3f} of the target)")
    ok = all(found["first"] < TARGETS_MS[name] and found["max"] < TARGETS_MS[name] for name, found in results.items())
    small, photo = results["28x28x1"], results["128x128x3"]
    print(f"SUMMARY explain: feature maps + saliency + pictures, 28x28 median {small['median']:.1f} ms (min-max "
          f"{small['min']:.1f}-{small['max']:.1f}, {rounds} rounds; first {small['first']:.0f} ms; target < 300); "
          f"128x128x3 median {photo['median']:.1f} ms (min-max {photo['min']:.1f}-{photo['max']:.1f}, {rounds} rounds; "
          f"first {photo['first']:.0f} ms; target < 1000) {verdict(ok)}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
