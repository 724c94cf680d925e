"""Putting a finished folder in place, so that no reader ever sees half a dataset."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def swap_in(tmp: Path, target: Path) -> None:
    """Moves the finished folder ``tmp`` to ``target`` by rename, replacing an older ``target``.

    The older folder is moved aside first and put back if the rename fails, so ``target`` is always
    either the old complete folder or the new one.
    """
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.replace(target, old / target.name)
    try:
        os.replace(tmp, target)
    except OSError:
        if old is not None:
            os.replace(old / target.name, target)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
