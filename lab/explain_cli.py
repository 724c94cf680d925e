"""`lab explain RUN IMAGE --out DIR`: a run's feature maps and saliency for one image, as PNG files.

Imports stay light; TensorFlow loads inside the handler.
"""

from __future__ import annotations

import json
from pathlib import Path

from lab.errors import LabError
from lab.i18n import t

INPUT_FILE = "input.png"
SALIENCY_FILE = "saliency.png"
GRADIENT_FILE = "gradient.png"


def register(subparsers) -> None:
    """Adds `lab explain`; called when the parser is built, so the help speaks the language of that moment."""
    explain = subparsers.add_parser("explain", help=t("explain.cli.help"))
    explain.add_argument("run", metavar="RUN", help=t("explain.cli.run"))
    explain.add_argument("image", metavar="IMAGE", help=t("explain.cli.image"))
    explain.add_argument("--out", required=True, metavar="DIR", help=t("explain.cli.out"))
    explain.add_argument("--layer", type=int, metavar="N", help=t("explain.cli.layer"))
    explain.add_argument("--class", dest="class_", metavar="C", help=t("explain.cli.class"))
    explain.add_argument("--json", action="store_true", help=t("explain.cli.json"))
    explain.set_defaults(func=cmd_explain)


def maps_file(index: int, kind: str) -> str:
    return f"layer-{index:02d}-{kind.lower()}.png"


def cmd_explain(args) -> int:
    if not Path(args.run).is_dir():
        raise LabError(t("explain.no_run", path=args.run))
    if not Path(args.image).is_file():
        raise LabError(t("explain.no_image", path=args.image))

    from lab import explain
    from lab.predict import open_image, prepare
    from lab.train.predicting import load_predictor

    model, class_names, preprocessing = load_predictor(args.run)
    if args.layer is not None:
        explain.map_layer(model, args.layer)
    chosen = explain.class_index(args.class_, class_names) if args.class_ is not None else None
    prepared = prepare(open_image(Path(args.image), str(args.image)), preprocessing)
    x = prepared.array[None]

    probabilities = explain.probabilities(model, x)
    predicted = int(probabilities.argmax())
    target = predicted if chosen is None else chosen
    layers = [found for found in explain.feature_maps(model, x) if args.layer in (None, found.index)]
    heat = explain.saliency(model, x, target)

    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        seen = explain.picture(prepared.array, 0, 255)
        explain.enlarge(seen).save(out / INPUT_FILE)
        rows = []
        for found in layers:
            path = out / maps_file(found.index, found.type)
            explain.grid_image(found.maps, found.low, found.high).save(path)
            rows.append({"index": found.index, "type": found.type, "output_shape": list(found.output_shape),
                         "maps": str(path)})
        explain.enlarge(explain.overlay(seen, heat.gradcam)).save(out / SALIENCY_FILE)
        explain.enlarge(explain.overlay(seen, heat.gradient)).save(out / GRADIENT_FILE)
    except OSError as error:
        raise LabError(t("explain.cannot_write", path=out, reason=error.strerror or type(error).__name__)) from None

    result = {
        "prediction": class_names[predicted],
        "probabilities": {name: float(p) for name, p in zip(class_names, probabilities)},
        "layers": rows,
        "saliency": str(out / SALIENCY_FILE),
        "saliency_class": class_names[target],
        "saliency_layer": heat.layer_index,
        "gradient": str(out / GRADIENT_FILE),
        "input": str(out / INPUT_FILE),
    }
    if args.json:
        print(json.dumps(result))
        return 0
    print(t("explain.cli.prediction", name=class_names[predicted], probability=float(probabilities[predicted])))
    for row in rows:
        print("  " + t("explain.cli.layer_row", index=row["index"], type=row["type"],
                       shape=tuple(row["output_shape"]), path=row["maps"]))
    if heat.layer_index is None:
        print(t("explain.cli.saliency_no_conv", name=class_names[target], path=result["saliency"]))
    else:
        print(t("explain.cli.saliency", name=class_names[target], layer=heat.layer_index, path=result["saliency"]))
    print(t("explain.cli.gradient", path=result["gradient"]))
    return 0
