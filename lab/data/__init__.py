"""Datasets: finding them under Data/, loading them for training, the built-in digits, CSV import.

`discover` and `inspect` use Pillow only; TensorFlow is imported when `load` runs.
"""

from lab.data.discovery import DatasetInfo, FileProblem, default_root, discover, inspect, is_dataset


def load(path, **kwargs):
    """Load a dataset for training; see `lab.data.loading.load`."""
    from lab.data.loading import load as _load

    return _load(path, **kwargs)


__all__ = ["DatasetInfo", "FileProblem", "default_root", "discover", "inspect", "is_dataset", "load"]
