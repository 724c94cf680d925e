"""Fine-tuning: training that starts from a finished run's network and weights instead of a fresh network.

The new run keeps the old run's spec and input (its image size, colour mode and contrast step), so the new
dataset's images are loaded the way the old run's were. The dataset may have the same classes or fewer: each class
keeps the output unit of the class of the same name, and a class the old run did not know gets a fresh one.
Optionally the convolutional part (every layer before the first Flatten or GlobalAveragePooling2D) is frozen, so
only the head learns. The new run's meta.json records where it started (``from_run``).

    TrainConfig("Data/my-hands", spec=None, from_run="runs/20261127-sign-mnist", freeze=False)
    starting_points("Data/my-hands", "runs")   # for a page: every run, and why it cannot start this dataset
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lab import ownership
from lab.errors import LabError
from lab.i18n import t
from lab.train import runs
from lab.train.status import ACTIVE

FEATURE_ENDS = ("Flatten", "GlobalAveragePooling2D")  # the first of these starts the head
INHERITED = ("image_size", "color_mode", "contrast")  # how the old run's images reached its model


@dataclass(frozen=True)
class Start:
    """A run a fine-tune can start from, checked against the dataset."""

    path: Path
    name: str
    spec: dict
    class_names: list[str]
    preprocessing: dict
    model_path: Path

    def inherited(self) -> dict:
        """The loading settings the new run takes over: image size, colour mode and the contrast step."""
        return {key: self.preprocessing[key] for key in INHERITED if self.preprocessing.get(key) is not None}


def check_start(run_dir, data_path, data_classes: list[str] | None = None) -> Start:
    """The run at ``run_dir`` as a starting point for training on ``data_path`` (whose class names, when known,
    are ``data_classes``); LabError saying why it cannot be."""
    from lab.train.data_access import class_names_of

    path = Path(run_dir)
    run = runs.load_run(path)  # LabError for a folder that is not a readable run
    if run.status in ACTIVE:
        raise LabError(t("finetune.still_training", name=run.name))
    if runs.model_file(path) is None:
        raise LabError(t("finetune.no_model", name=run.name))
    if run.spec is None or not run.class_names:
        raise LabError(t("finetune.no_spec", name=run.name))
    data_classes = class_names_of(data_path) if data_classes is None else data_classes
    if len(data_classes) > len(run.class_names):
        raise LabError(t("finetune.too_many_classes", name=run.name, learned=len(run.class_names),
                         classes=len(data_classes)))
    return Start(path=path, name=run.name, spec=run.spec, class_names=run.class_names,
                 preprocessing=run.preprocessing, model_path=run.model_path)


def start_problem(run_dir, data_path, data_classes: list[str] | None = None) -> str | None:
    """Why the run cannot start training on the dataset, in one sentence; None when it can."""
    try:
        check_start(run_dir, data_path, data_classes)
    except LabError as error:
        return str(error)
    return None


def starting_points(data_path, runs_root, viewer: str = ownership.ANYONE,
                    data_classes: list[str] | None = None) -> list[tuple[runs.RunInfo, str | None]]:
    """Every run under ``runs_root`` that has a model and ``viewer`` may see, newest first, with the reason it cannot
    start training on ``data_path`` (None for the runs that can); ``data_classes``: the dataset's class names, when
    already read."""
    from lab.train.data_access import class_names_of

    infos = [info for info in runs.list_runs(runs_root, viewer) if info.has_model]
    if data_classes is None:
        data_classes = class_names_of(data_path) if infos else []  # read once: a large dataset takes a while
    return [(info, start_problem(info.path, data_path, data_classes)) for info in infos]


def head_mapping(old_classes: list[str], new_classes: list[str]) -> list[int | None]:
    """For each new class, the old run's output unit of the class with the same name (None for a new name)."""
    where = {name: index for index, name in enumerate(old_classes)}
    return [where.get(name) for name in new_classes]


def load_weights(model, start: Start, class_names: list[str]) -> int:
    """Copies the old run's weights into ``model`` (built from the same spec for ``class_names``), layer by layer;
    the head's units by class name. Returns how many classes kept their unit."""
    import numpy as np

    old = runs.load_model_file(start.model_path)
    if len(old.layers) != len(model.layers):
        raise LabError(t("finetune.model_differs", name=start.name))
    mapping = head_mapping(start.class_names, class_names)
    last = len(model.layers) - 1
    for index, (target, source) in enumerate(zip(model.layers, old.layers)):
        weights, fresh = source.get_weights(), target.get_weights()
        same = [w.shape for w in weights] == [w.shape for w in fresh] and mapping == list(range(len(mapping)))
        if index == last and not same and fresh and fresh[0].shape[-1] == len(mapping):
            weights = _mapped_head(weights, fresh, mapping, np)
        if [w.shape for w in weights] != [w.shape for w in fresh]:
            raise LabError(t("finetune.model_differs", name=start.name))
        target.set_weights(weights)
    return sum(unit is not None for unit in mapping)


def _mapped_head(old, fresh, mapping, np):
    """The head's kernel and bias: each class's column from the old head when it had the class, else fresh."""
    if any(len(o.shape) != len(f.shape) or o.shape[:-1] != f.shape[:-1] for o, f in zip(old, fresh)):
        return old  # not a Dense head of the same inputs: the caller names the mismatch
    out = [np.array(f, copy=True) for f in fresh]
    for column, unit in enumerate(mapping):
        if unit is not None and unit < old[0].shape[-1] and column < out[0].shape[-1]:
            for target, source in zip(out, old):
                target[..., column] = source[..., unit]
    return out


def freeze_features(model) -> int:
    """Freezes every layer before the first Flatten or GlobalAveragePooling2D; returns how many were frozen.

    Frozen BatchNormalization layers also keep their statistics (Keras runs them in inference mode)."""
    layers = list(model.layers)
    end = next((i for i, layer in enumerate(layers) if type(layer).__name__ in FEATURE_ENDS), 0)
    for layer in layers[:end]:
        layer.trainable = False
    return end


def record(start: Start, freeze: bool, kept: int, classes: int) -> dict:
    """The ``from_run`` entry of the new run's meta.json."""
    return {"id": start.path.name, "path": str(start.path.resolve()), "name": start.name, "freeze": bool(freeze),
            "classes_kept": int(kept), "classes": int(classes)}
