"""The training side's view of a dataset folder: lab.data.load for training, one split with its files for scoring."""

from __future__ import annotations

from pathlib import Path

from lab import imaging
from lab.errors import LabError
from lab.i18n import t


def load_for_training(data_path, batch_size: int, validation_split: float, seed: int, label_mode: str,
                      image_size=None, color_mode=None):
    """``lab.data.load`` with the training settings (a LoadedData: train, val, test, class_names, ...)."""
    from lab.data import load

    return load(str(data_path), image_size=image_size, color_mode=color_mode, batch_size=batch_size,
                validation_split=validation_split, seed=seed, shuffle=True, label_mode=label_mode)


def class_names_of(data_path) -> list[str]:
    """Class names of a dataset folder without decoding images (sorted, like the loader)."""
    from lab.data import inspect

    if not Path(data_path).is_dir():
        raise LabError(t("train.config.no_dataset", path=data_path))
    return list(inspect(str(data_path)).classes)


class SplitBatches:
    """Batches of (images float32 0..255, int labels) of one split, in file order, decoded like the loader does
    (and each image contrast-stretched when ``contrast`` is "stretch", as training fed them).

    A file that cannot be decoded (truncated, corrupt, gone) is skipped, as training skips it: ``skipped`` says
    which and why ("path: reason"), ``used`` lists the files actually batched. Both fill while iterating.
    """

    def __init__(self, files: list[Path], labels: list[int], image_size, color_mode: str, batch_size: int,
                 contrast: str | None = None):
        self.files, self.labels, self.contrast = files, labels, contrast
        self.image_size, self.color_mode, self.batch_size = tuple(image_size), color_mode, batch_size
        self.used: list[str] = []
        self.skipped: list[str] = []

    def __len__(self) -> int:
        return -(-len(self.files) // self.batch_size)

    def __iter__(self):
        import numpy as np

        self.used.clear()
        self.skipped.clear()
        for start in range(0, len(self.files), self.batch_size):
            images, labels = [], []
            for file, label in zip(self.files[start:start + self.batch_size],
                                   self.labels[start:start + self.batch_size]):
                image = self._decode(file)
                if image is not None:
                    images.append(image)
                    labels.append(label)
                    self.used.append(str(file))
            if images:
                yield np.stack(images).astype("float32"), np.asarray(labels, dtype="int64")

    def _decode(self, file: Path):
        from lab.data.loading import decode

        try:
            image = decode(file, self.image_size, self.color_mode)
        except (OSError, SyntaxError, ValueError, EOFError, IndexError, MemoryError) as error:
            reason = str(error).strip().rstrip(".") or type(error).__name__
            self.skipped.append(f"{file}: {reason}")
            return None
        if self.contrast == imaging.STRETCH:  # the run's own contrast step (lab.train.pictures)
            return imaging.contrast_stretch(image)
        return image


def check_batch_size(batch_size) -> int:
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise LabError(t("train.config.batch_size", value=batch_size))
    return batch_size


def skipped_sentence(skipped: list[str]) -> str:
    """"Skipped 1 unreadable image: Test/a/1.png: image file is truncated." (the first three named)."""
    shown = "; ".join(skipped[:3]) + ("; ..." if len(skipped) > 3 else "")
    if len(skipped) == 1:
        return t("evaluate.skipped_one", shown=shown)
    return t("evaluate.skipped_many", count=len(skipped), shown=shown)


def split_dataset(data_path, split: str, preprocessing: dict, batch_size: int = 64):
    """(batches of one split, the dataset's class names, file paths in batch order).

    ``split`` is a folder name such as Test or Train; a dataset of bare class folders has the one split "All".
    Files the loader would skip (corrupt, not images) are skipped here too: those whose header is broken now,
    those that fail to decode while the batches are read (see ``SplitBatches.skipped``).
    """
    from lab.data import inspect

    check_batch_size(batch_size)
    root = Path(data_path)
    if not root.is_dir():
        raise LabError(t("evaluate.no_dataset", path=root))
    info = inspect(str(root))
    if info.errors:
        raise LabError(info.errors[0])
    names = {key.lower(): key for key in info.files}
    key = names.get(split.lower())
    if key is None and set(names) == {"all"}:
        key = names["all"]
    if key is None or not info.files.get(key):
        if not info.files:
            raise LabError(t("evaluate.no_splits", name=info.name, split=split))
        raise LabError(t("evaluate.no_such_split", name=info.name, split=split, have=", ".join(sorted(info.files))))
    classes = list(info.classes)
    index = {name: i for i, name in enumerate(classes)}
    pairs = [(info.path / rel, index[c]) for rel, c in info.files[key] if c in index]
    files = [p for p, _ in pairs]
    labels = [label for _, label in pairs]
    size = preprocessing.get("image_size") or list(info.image_size)
    color_mode = preprocessing.get("color_mode") or info.color_mode
    return (SplitBatches(files, labels, size, color_mode, batch_size, preprocessing.get("contrast")), classes,
            [str(f) for f in files])
