"""`lab predict`: image files through the page's preprocessing (lab.predict.prepare) into a run's model."""

from __future__ import annotations

from pathlib import Path

from lab import familiarity
from lab.errors import LabError
from lab.i18n import t


def load_predictor(model_arg):
    """(model, class names, preprocessing) for a run folder or a .keras file."""
    from lab.train import runs
    from lab.train.evaluate import model_preprocessing

    model_path, meta = runs.resolve_model(model_arg)
    model = runs.load_model_file(model_path)
    preprocessing = model_preprocessing(model, meta)
    class_names = list((meta or {}).get("class_names") or [])
    outputs = int(model.output_shape[-1])
    if not class_names:
        class_names = [str(i) for i in range(max(outputs, 2))]
    return model, class_names, preprocessing


def predict_files(model_arg, images, k: int = 3) -> list[dict]:
    """Top-k classes per image file: [{"image", "top": [[class, probability], ...], "inverted", "message"}]."""
    for name in images:
        if not Path(name).is_file():
            raise LabError(t("evaluate.no_image", path=name))
    from lab.predict import open_image, prepare, top_k

    model, class_names, preprocessing = load_predictor(model_arg)
    reference, familiarity_problem = _familiarity_reference(model_arg, model)
    results = []
    for name in images:
        path = Path(name)
        prepared = prepare(open_image(path, str(path)), preprocessing)
        top = top_k(model, prepared.array, class_names, k=min(k, len(class_names)))
        results.append({"image": str(path), "top": [[str(c), float(p)] for c, p in top],
                        "inverted": bool(getattr(prepared, "inverted", False)),
                        "message": getattr(prepared, "message", None),
                        "familiarity": familiarity.judge(reference, model, prepared.array).as_dict()
                        if reference is not None else familiarity_problem})
    return results


def _familiarity_reference(model_arg, model):
    """(the run's familiarity reference or None, None or {"problem": sentence}) for ``predict_files``."""
    run_dir = familiarity.run_folder(model_arg)
    if run_dir is None:
        return None, None
    try:
        return familiarity.reference(run_dir, model), None
    except LabError as error:
        return None, {"problem": str(error)}
