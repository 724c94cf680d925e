"""TrainConfig: everything a training run needs, as one dataclass passed explicitly."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, fields
from pathlib import Path

from lab import i18n
from lab.errors import LabError
from lab.i18n import t
from lab.speed import AUTO, check_precision

STRATEGIES = ("auto", "default", "mirrored", "multiworker")


def _default_early_stopping():
    return {"monitor": "val_loss", "patience": 3, "restore_best_weights": True}


def _default_checkpoint():
    return {"monitor": "val_loss", "mode": "auto", "save_best_only": True}


@dataclass
class TrainConfig:
    """Everything a training run needs.

    data_path: dataset folder (Train/ and optionally Test/ of class folders, or class folders directly).
    spec: a spec dict, a preset name or a path to a spec JSON file.
    epochs, batch_size, seed, validation_split: as in Keras; the seed fixes weights, split and shuffling.
    early_stopping: EarlyStopping arguments (monitor, patience, restore_best_weights, ...) or None for none.
    checkpoint: monitor, mode and save_best_only of the atomic model checkpoint, or None to save only at the end.
    reduce_lr: ReduceLROnPlateau arguments (e.g. {"monitor": "val_loss", "factor": 0.5, "patience": 2}) or None.
    runs_root: where run folders go; run_dir: an exact folder to use instead (created if missing, must be empty).
    name: the run's display name (default: the spec's name). image_size, color_mode: override the dataset's.
    strategy: "auto" (default: one device, Mirrored with several GPUs, MultiWorker when TF_CONFIG is set),
    "default", "mirrored" or "multiworker".
    terminate_on_nan: stop at a NaN loss. evaluate: score the best model on Test (else validation) at the end.
    steps_per_execution: batches run per call into TensorFlow; several save most of a small network's per-batch
    overhead on a CPU, at the price of live batch metrics (and a stop) every that many batches. None picks one
    from the epoch's length (up to 8; 1 for epochs of fewer than 32 batches, where every point of the chart counts).
    precision: "auto" (default: mixed_bfloat16 on a CPU with bfloat16 instructions, where ``lab.speed`` measured it
    faster to the same accuracy, else float32), "float32", "mixed_bfloat16" (such CPUs, GPUs) or "mixed_float16"
    (GPUs); the output layer stays float32, and the saved model predicts in float32.
    lang: the language of the job's messages and errors ("en" or "pt-BR"); by default the one spoken where the
    config is made. The training thread does not inherit the page's language, so the job speaks this one.
    owner: whose run it is (``lab.ownership``); None for everyone's, as with the command line.
    from_run: a run folder to fine-tune: training starts from that run's network and weights (``lab.train.finetune``)
    and loads the images at its size and colour; ``spec`` is then None. freeze: with from_run, only the layers from
    the first Flatten or GlobalAveragePooling2D on learn.
    """

    data_path: str
    spec: dict | str | None
    epochs: int = 10
    batch_size: int = 32
    seed: int | None = 1337
    validation_split: float = 0.2
    early_stopping: dict | None = field(default_factory=_default_early_stopping)
    checkpoint: dict | None = field(default_factory=_default_checkpoint)
    reduce_lr: dict | None = None
    runs_root: str = "runs"
    name: str | None = None
    image_size: tuple | list | None = None
    color_mode: str | None = None
    run_dir: str | None = None
    strategy: str = "auto"
    terminate_on_nan: bool = True
    evaluate: bool = True
    steps_per_execution: int | None = None
    precision: str = AUTO
    callbacks: list = field(default_factory=list)  # extra Keras callbacks (not stored with the run)
    lang: str = field(default_factory=i18n.language)
    owner: str | None = None
    from_run: str | None = None
    freeze: bool = False

    def check(self) -> None:
        """LabError with one sentence for a setting that cannot work."""
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise LabError(t("train.config.epochs", value=self.epochs))
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise LabError(t("train.config.batch_size", value=self.batch_size))
        if not (isinstance(self.validation_split, (int, float)) and 0 < self.validation_split < 1):
            raise LabError(t("train.config.validation_split", value=self.validation_split))
        if self.seed is not None and (not isinstance(self.seed, int) or self.seed < 0):
            raise LabError(t("train.config.seed", value=self.seed))
        if self.steps_per_execution is not None and (
                not isinstance(self.steps_per_execution, int) or self.steps_per_execution < 1):
            raise LabError(t("train.config.steps_per_execution", value=self.steps_per_execution))
        if self.strategy not in STRATEGIES:
            raise LabError(t("train.config.strategy", value=self.strategy))
        check_precision(self.precision)
        if self.from_run is not None and self.spec is not None:
            raise LabError(t("train.config.spec_and_from_run"))
        if self.from_run is None and (self.spec is None or self.freeze):
            raise LabError(t("train.config.freeze_without_run" if self.freeze else "train.config.no_spec"))
        if not Path(self.data_path).is_dir():
            raise LabError(t("train.config.no_dataset", path=self.data_path))
        if self.run_dir:
            out = Path(self.run_dir)
            if out.exists() and not out.is_dir():
                raise LabError(t("train.config.out_is_file", path=out))
            if out.is_dir() and any(out.iterdir()):
                raise LabError(t("train.config.out_not_empty", path=out))

    def summary(self) -> dict:
        """The settings as plain data for the run's meta.json (no spec, no callbacks)."""
        out = {f.name: copy.deepcopy(getattr(self, f.name)) for f in fields(self)
               if f.name not in ("spec", "callbacks")}
        if out.get("image_size") is not None:
            out["image_size"] = list(out["image_size"])
        return out
